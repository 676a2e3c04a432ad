import { createSystem, type MovablePage } from "dmasim";
import type { Case } from "../case.ts";
import { GIB, SEED } from "../constants.ts";

/**
 * compact_memory on a 1 GiB zone that movable order-0 pages fill, half of them
 * freed at random: the migration scanner walks up from the bottom, the free
 * scanner down from the top, and about a quarter of the pages move. The
 * set-up before each op (unmeasured) fills the zone again and frees a new
 * random half.
 */
export const compactMemory1gib: Case = {
  name: "compact-memory-1gib",
  description: "compactMemory() of a 1 GiB zone of order-0 movable pages, a seeded random half freed (metadata only)",
  replayOps: 2,
  bench: { time: 3000, warmupTime: 0, warmupIterations: 1, iterations: 8 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: GIB, seed: SEED, storeContents: false });
    const rnd = sys.random;
    let held: MovablePage[] = [];
    let dirty = true;
    const refill = (): void => {
      // Every free page as an order-0 movable page (one engine call), then a random half back.
      const pfns = sys.allocPagesBatch(sys.nrPages, 0, "movable");
      for (const pfn of pfns) if (pfn >= 0) held.push(sys.ownerOf(pfn)!);
      const kept: MovablePage[] = [];
      for (const p of held) {
        if (rnd.int(2) === 0) p.free();
        else kept.push(p);
      }
      held = kept;
      dirty = false;
    };
    let ops = 0;
    let moved = 0;
    let sum = 0;
    return {
      sys,
      prep() {
        if (dirty) refill();
      },
      op() {
        const before = sys.stats().pgmigrateSuccess;
        sys.compactMemory();
        ops++;
        moved += sys.stats().pgmigrateSuccess - before;
        sum = (sum + sys.nrFreeByOrder()[sys.maxOrder]!) >>> 0;
        dirty = true;
      },
      checksum: () => sum,
      pagesPerOp: () => moved / Math.max(ops, 1),
      info(res) {
        const perOp = moved / Math.max(ops, 1);
        return [
          `ops run: ${ops}, pages migrated per op: ${perOp.toFixed(0)} of ${held.length} held; ` +
            `free order-${sys.maxOrder} blocks after the last op: ${sys.nrFreeByOrder()[sys.maxOrder]}`,
          `median op: ${(1000 / res.throughput.p50).toFixed(1)} ms`,
        ];
      },
    };
  },
};
