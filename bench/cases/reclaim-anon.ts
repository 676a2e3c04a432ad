import { createSystem, type MovablePage } from "dmasim";
import type { Case } from "../case.ts";
import { MIB, SEED } from "../constants.ts";

/** Pressure rounds per op; kswapd runs (advanceTime) between them. */
const ROUNDS = 8;
/** Anonymous pages each round allocates (allocMovable: GFP_HIGHUSER_MOVABLE). */
const PAGES_PER_ROUND = 4096;

/**
 * Anonymous reclaim with swap on a 256 MiB machine with 256 MiB of swap
 * (metadata only): the set-up (unmeasured) frees what the last op took and
 * fills free memory with anonymous pages, leaving the high watermark and 1024
 * pages free; each op allocates 32768 more in rounds, so direct reclaim and
 * kswapd (at the advanceTime() between rounds) swap the oldest out: get_scan_count()
 * (file_is_tiny: SCAN_ANON), the young-pte second trip, add_to_swap().
 */
export const reclaimAnon: Case = {
  name: "reclaim-anon",
  description:
    "256 MiB full of anonymous pages with 256 MiB of swap: 128 MiB more allocated, kswapd and direct reclaim swap out",
  replayOps: 2,
  bench: { time: 3000, warmupTime: 0, warmupIterations: 1, iterations: 8 },
  async make(backend) {
    const sys = await createSystem({
      backend,
      ramBytes: 256 * MIB,
      swapBytes: 256 * MIB,
      seed: SEED,
      storeContents: false,
    });
    let held: MovablePage[] = [];
    let dirty = true;
    const refill = (): void => {
      for (const page of held) page.free();
      held = [];
      sys.advanceTime(1000);
      const high = sys.zones().reduce((sum, z) => sum + z.watermarks.high, 0);
      const fill = sys.stats().nrFreePages + sys.pcpPages - high - 1024;
      for (let i = 0; i < fill; i++) held.push(sys.allocMovable(0)!);
      dirty = false;
    };
    let ops = 0;
    let swapped = 0;
    let sum = 0;
    return {
      sys,
      prep() {
        if (dirty) refill();
      },
      op() {
        const before = sys.stats().pswpout;
        for (let r = 0; r < ROUNDS; r++) {
          for (let i = 0; i < PAGES_PER_ROUND; i++) {
            const page = sys.allocMovable(0);
            if (page) held.push(page);
          }
          sys.advanceTime(1);
        }
        ops++;
        swapped += sys.stats().pswpout - before;
        sum = (sum + sys.swap.usedPages + sys.stats().nrFreePages) >>> 0;
        dirty = true;
      },
      checksum: () => sum,
      pagesPerOp: () => swapped / Math.max(ops, 1),
      info(res) {
        const s = sys.stats();
        return [
          `ops run: ${ops}, pages swapped out per op: ${(swapped / Math.max(ops, 1)).toFixed(0)} ` +
            `(${ROUNDS * PAGES_PER_ROUND} allocated per op); so far kswapd stole ${s.pgstealKswapd}, ` +
            `direct reclaim ${s.pgstealDirect} (allocstall_movable ${s.allocstallMovable}), pswpout ${s.pswpout}`,
          `median op: ${(1000 / res.throughput.p50).toFixed(1)} ms`,
        ];
      },
    };
  },
};
