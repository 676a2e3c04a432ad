import { createSystem, type Migratetype } from "dmasim";
import type { Case } from "../case.ts";
import { MIB, SEED } from "../constants.ts";
import { halfFull } from "../fill.ts";

export const buddyOrder0: Case = {
  name: "buddy-order0",
  description: "allocPages(0, movable|unmovable) + freePages(oldest of a 1024-page ring), 50% full 256 MiB",
  replayOps: 1000,
  // One op is a few hundred ns, close to the timer's resolution: each tinybench
  // iteration times a batch of ops and reports the per-op mean as its sample.
  batch: 256,
  bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: 256 * MIB, seed: SEED, storeContents: false });
    const rnd = sys.random;
    const { blocks, used } = halfFull(sys);
    // The ring of recent order-0 pages and the seeded migratetype sequence.
    const RING = 1024;
    const ring = new Int32Array(RING);
    const mts = Array.from({ length: 4096 }, (): Migratetype => (rnd.int(2) === 0 ? "movable" : "unmovable"));
    for (let i = 0; i < RING; i++) {
      const pfn = sys.allocPages(0, mts[i]!);
      if (pfn === null) throw new Error("buddy-order0: ring pre-fill failed");
      ring[i] = pfn;
    }
    // Free memory: the buddy lists' NR_FREE_PAGES plus the pages on per-cpu lists.
    const freeMemory = () => sys.stats().nrFreePages + sys.pcpPages;
    const setupFree = freeMemory();
    let head = 0;
    let k = RING;
    let sum = 0;
    let ops = 0;
    let failed = 0;
    return {
      sys,
      op() {
        ops++;
        const pfn = sys.allocPages(0, mts[k++ & 4095]!);
        if (pfn === null) {
          failed++;
          return;
        }
        sum = (sum + pfn) >>> 0;
        sys.freePages(ring[head]!, 0);
        ring[head] = pfn;
        head = (head + 1) & (RING - 1);
      },
      checksum: () => sum,
      info() {
        const free = freeMemory();
        return [
          `setup: ${blocks.length / 2} blocks of order 0-3 (${used} pages) + ${RING}-page ring, ` +
            `${setupFree}/${sys.nrPages} pages free`,
          `ops run (replay + warm-up + measured): ${ops}, failed allocs: ${failed}, free pages now ${free} ` +
            `(${free === setupFree ? "steady" : "DRIFTED"})`,
        ];
      },
    };
  },
};
