import { createSystem } from "dmasim";
import type { Case } from "../case.ts";
import { MIB, SEED } from "../constants.ts";
import { halfFull } from "../fill.ts";

export const buddyOrder0Batch: Case = {
  name: "buddy-order0-batch",
  description:
    "allocPagesBatch(256, 0, unmovable) + freePagesBatch() of the same pages: one boundary crossing per 256 ops, 50% full 256 MiB",
  replayOps: 20,
  bench: { time: 3000, warmupTime: 500, warmupIterations: 50, iterations: 64 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: 256 * MIB, seed: SEED, storeContents: false });
    const { blocks, used } = halfFull(sys);
    const BATCH = 256;
    let sum = 0;
    let ops = 0;
    return {
      sys,
      op() {
        ops++;
        const pfns = sys.allocPagesBatch(BATCH, 0, "unmovable");
        for (let i = 0; i < BATCH; i++) sum = (sum + pfns[i]!) >>> 0;
        sys.freePagesBatch(pfns, 0);
      },
      checksum: () => sum,
      pagesPerOp: () => BATCH,
      info() {
        return [
          `setup: ${blocks.length / 2} blocks of order 0-3 (${used} pages); per op ${BATCH} allocations and ${BATCH} frees in two engine calls`,
          `ops run (replay + warm-up + measured): ${ops}; compare its pages/s with buddy-order0's ops/s`,
        ];
      },
    };
  },
};
