import { createSystem } from "dmasim";
import type { Case } from "../case.ts";
import { MIB, SEED } from "../constants.ts";

export const bitmapScan: Case = {
  name: "bitmap-scan",
  description:
    "Bitmap.findNextZeroArea(0, 8) on a 1 Mi-bit bitmap 99% full: 1% of the bits clear as scattered single-bit holes, " +
    "the only run of 8 near the end; one op scans the whole 128 KiB",
  replayOps: 100,
  limit: "read-in-cache",
  bench: { time: 2000, warmupTime: 300, warmupIterations: 100, iterations: 64 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: 16 * MIB, seed: SEED, storeContents: false });
    const rnd = sys.random;
    const NBITS = 1 << 20;
    const RUN = 8;
    const RUN_AT = NBITS - 4096 + 13; // 99.6% of the way in, not word-aligned
    const bm = sys.bitmap(NBITS);
    bm.set(0, NBITS);
    // ~1% of the bits cleared at random places, none within 2 bits of the run.
    // Two holes side by side (a run of 2) happen about once per 100 holes; a
    // run of 8 never does (checked below).
    const HOLES = Math.round(NBITS / 100);
    for (let i = 0; i < HOLES; i++) {
      const bit = rnd.int(NBITS);
      if (bit >= RUN_AT - 2 && bit < RUN_AT + RUN + 2) continue;
      bm.clear(bit, 1);
    }
    bm.clear(RUN_AT, RUN);
    // The holes as they came out: walk the clear bits once.
    let clear = 0;
    let runs2 = 0;
    let longest = 0;
    for (let b = bm.findNextZeroBit(0); b < NBITS;) {
      const end = Math.min(bm.findNextBit(b), NBITS);
      clear += end - b;
      if (end - b >= 2) runs2++;
      if (b !== RUN_AT) longest = Math.max(longest, end - b);
      b = end < NBITS ? bm.findNextZeroBit(end) : NBITS;
    }
    if (longest >= RUN) throw new Error(`bitmap-scan: a random run of ${longest} clear bits`);
    const firstFit = bm.findNextZeroArea(0, RUN);
    if (firstFit !== RUN_AT) throw new Error(`bitmap-scan: first ${RUN}-bit run at ${firstFit}, planted at ${RUN_AT}`);
    let sum = 0;
    let ops = 0;
    let last = -1;
    return {
      sys,
      op() {
        ops++;
        last = bm.findNextZeroArea(0, RUN);
        sum = (sum + last) >>> 0;
      },
      verify() {
        if (last !== RUN_AT) throw new Error(`bitmap-scan: found ${last}, the run is at ${RUN_AT}`);
      },
      checksum: () => sum,
      // The bitmap bytes up to the end of the run found: what one op reads.
      bytesPerOp: () => (RUN_AT + RUN) / 8,
      info() {
        return [
          `setup: ${NBITS} bits, ${clear} clear (${((100 * clear) / NBITS).toFixed(2)}%) in ${HOLES} draws; ${runs2} runs of 2 or more ` +
            `(longest random run ${longest}); the ${RUN}-bit run at bit ${RUN_AT}`,
          `per op: ${(RUN_AT + RUN) / 8} bytes of bitmap scanned; ops run (replay + warm-up + measured): ${ops}`,
        ];
      },
    };
  },
};
