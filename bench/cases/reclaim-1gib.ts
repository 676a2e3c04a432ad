import { createSystem, type CachedFile } from "dmasim";
import type { Case } from "../case.ts";
import { GIB, SEED } from "../constants.ts";

/** Files the page cache is spread over, each filled by one add() call. */
const NR_FILES = 4;
/** Pressure rounds per op; kswapd runs (advanceTime) between them. */
const ROUNDS = 16;
/** Pages each round allocates: one in 16 unmovable (GFP_KERNEL), the rest movable (GFP_HIGHUSER_MOVABLE). */
const PAGES_PER_ROUND = 8192;
const UNMOVABLE_PER_ROUND = PAGES_PER_ROUND / 16;

/**
 * Reclaim under allocation pressure on a 1 GiB machine: the set-up (unmeasured)
 * fills free memory with clean page cache over a few files, leaving the high
 * watermarks and 1024 pages free; each op allocates half of memory as order-0 pages in rounds, so the
 * allocations fall below the watermarks and direct reclaim
 * (try_to_free_pages()) drops cache, and kswapd (balance_pgdat()) reclaims at
 * the advanceTime() between rounds. The next set-up frees what the op took and
 * refills the cache.
 */
export const reclaim1gib: Case = {
  name: "reclaim-1gib",
  description:
    "a 1 GiB machine full of clean page cache: half of memory allocated, kswapd and direct reclaim drop the cache",
  replayOps: 2,
  bench: { time: 3000, warmupTime: 0, warmupIterations: 1, iterations: 8 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: GIB, seed: SEED, storeContents: false });
    let files: CachedFile[] = [];
    let held: Int32Array[] = [];
    let dirty = true;
    const refill = (): void => {
      for (const pfns of held) sys.freePagesBatch(pfns.filter((pfn) => pfn >= 0));
      held = [];
      for (const f of files) f.delete();
      // Let kswapd finish whatever the last op woke it for before measuring free memory.
      sys.advanceTime(1000);
      const high = sys.zones().reduce((sum, z) => sum + z.watermarks.high, 0);
      const perFile = Math.floor((sys.stats().nrFreePages - high - 1024) / NR_FILES);
      files = Array.from({ length: NR_FILES }, (_, i) => {
        const f = sys.pageCache.createFile(`file${i}`);
        f.add(0, perFile);
        return f;
      });
      dirty = false;
    };
    let ops = 0;
    let reclaimed = 0;
    let sum = 0;
    const stolen = (): number => {
      const s = sys.stats();
      return s.pgstealKswapd + s.pgstealDirect;
    };
    return {
      sys,
      prep() {
        if (dirty) refill();
      },
      op() {
        const before = stolen();
        for (let r = 0; r < ROUNDS; r++) {
          held.push(sys.allocPagesBatch(PAGES_PER_ROUND - UNMOVABLE_PER_ROUND, 0, "movable"));
          held.push(sys.allocPagesBatch(UNMOVABLE_PER_ROUND, 0, "unmovable"));
          sys.advanceTime(1);
        }
        ops++;
        reclaimed += stolen() - before;
        sum = (sum + sys.stats().nrFreePages) >>> 0;
        dirty = true;
      },
      checksum: () => sum,
      pagesPerOp: () => reclaimed / Math.max(ops, 1),
      info(res) {
        const s = sys.stats();
        const perOp = reclaimed / Math.max(ops, 1);
        return [
          `ops run: ${ops}, pages reclaimed per op: ${perOp.toFixed(0)} ` +
            `(${ROUNDS * PAGES_PER_ROUND} allocated per op); so far kswapd stole ${s.pgstealKswapd}, ` +
            `direct reclaim ${s.pgstealDirect} (allocstall_movable ${s.allocstallMovable}, allocstall_normal ${s.allocstallNormal})`,
          `median op: ${(1000 / res.throughput.p50).toFixed(1)} ms`,
        ];
      },
    };
  },
};
