import { createSystem, type Migratetype } from "dmasim";
import type { Case } from "../case.ts";
import { GIB, SEED } from "../constants.ts";
import { halfFull } from "../fill.ts";

export const buddyMixed: Case = {
  name: "buddy-mixed",
  description:
    "allocPages(order 0-10, unmovable|movable|reclaimable) + freePages(oldest block of the same order, one ring per order), " +
    "seeded mix weighted toward small orders, 50% full 1 GiB",
  replayOps: 1000,
  // Most ops are order 0-3 and take well under a microsecond: timed in batches (see buddy-order0).
  batch: 256,
  bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: GIB, seed: SEED, storeContents: false });
    const rnd = sys.random;
    const MTS: readonly Migratetype[] = ["unmovable", "movable", "reclaimable"];
    // Order k is drawn with ORDER_WEIGHTS[k] percent: 80% of the ops are order 0-3,
    // 1 in 100 is order 10 (4 MiB). A block's page count grows faster than its
    // weight falls, so the large orders hold most of the pages.
    const ORDER_WEIGHTS = [40, 20, 12, 8, 5, 4, 3, 3, 2, 2, 1];
    const CUM = ORDER_WEIGHTS.map((_, k) => ORDER_WEIGHTS.slice(0, k + 1).reduce((a, b) => a + b, 0));
    if (CUM.at(-1) !== 100 || ORDER_WEIGHTS.length !== sys.maxOrder + 1)
      throw new Error("buddy-mixed: bad order weights");
    const drawOrder = (): number => {
      const r = rnd.int(100);
      let k = 0;
      while (r >= CUM[k]!) k++;
      return k;
    };
    // One ring of recent blocks per order; an op replaces the oldest block of its
    // order, so the pages in use stay constant (while allocations succeed).
    const RING = ORDER_WEIGHTS.map((_, k) => Math.max(4, 256 >> k));
    const ringPages = RING.reduce((s, n, k) => s + n * 2 ** k, 0);
    // Background: the same mix of orders and migratetypes up to 62.5% of RAM,
    // then random blocks freed down to 50% less the rings, so the free space is holed.
    const { blocks, used } = halfFull(sys, drawOrder, sys.nrPages / 2 - ringPages);
    // The seeded op sequence (order, migratetype), then the rings' pre-fill.
    const SEQ = 4096;
    const seqOrder = Uint8Array.from({ length: SEQ }, drawOrder);
    const seqMt = Array.from({ length: SEQ }, () => MTS[rnd.int(3)]!);
    const rings = RING.map((n) => new Int32Array(n));
    const heads = new Int32Array(RING.length);
    for (let k = 0; k < RING.length; k++) {
      for (let i = 0; i < RING[k]!; i++) {
        const pfn = sys.allocPages(k, MTS[rnd.int(3)]!);
        if (pfn === null) throw new Error(`buddy-mixed: ring pre-fill failed at order ${k}`);
        rings[k]![i] = pfn;
      }
    }
    // Free memory: the buddy lists' NR_FREE_PAGES plus the pages on per-cpu lists.
    const freeMemory = () => sys.stats().nrFreePages + sys.pcpPages;
    const setupFree = freeMemory();
    const opsByOrder: number[] = new Array(RING.length).fill(0);
    const failedByOrder: number[] = new Array(RING.length).fill(0);
    let k = 0;
    let sum = 0;
    let ops = 0;
    return {
      sys,
      op() {
        ops++;
        const i = k++ & (SEQ - 1);
        const order = seqOrder[i]!;
        opsByOrder[order]!++;
        const pfn = sys.allocPages(order, seqMt[i]!);
        if (pfn === null) {
          failedByOrder[order]!++;
          return;
        }
        sum = (sum + pfn) >>> 0;
        const ring = rings[order]!;
        const h = heads[order]!;
        sys.freePages(ring[h]!, order);
        ring[h] = pfn;
        heads[order] = (h + 1) & (ring.length - 1);
      },
      verify() {
        const free = freeMemory();
        if (free !== setupFree) throw new Error(`buddy-mixed: ${free} pages free after the op, ${setupFree} at set-up`);
      },
      checksum: () => sum,
      info() {
        const free = freeMemory();
        const failed = failedByOrder.reduce((a, b) => a + b, 0);
        const st = sys.stats();
        return [
          `setup: ${blocks.length / 2} background blocks of order 0-10 (${used} pages) + rings of ${RING.join("/")} blocks ` +
            `per order (${ringPages} pages); ${setupFree}/${sys.nrPages} pages free`,
          `ops run (replay + warm-up + measured): ${ops}, by order ${opsByOrder.join("/")}; failed allocs: ${failed}` +
            (failed ? ` (by order ${failedByOrder.join("/")})` : "") +
            `; free pages now ${free} (${free === setupFree ? "steady" : "DRIFTED"}); extfrag events: ${st.extfragEvents}`,
        ];
      },
    };
  },
};
