import { createSystem, type MovablePage } from "dmasim";
import type { Case } from "../case.ts";
import { MIB, SEED } from "../constants.ts";

export const cmaAllocRelease: Case = {
  name: "cma-alloc-release",
  description: "CmaArea.alloc(16, 0) + release() on a fragmented 256 MiB area (512 MiB RAM)",
  replayOps: 1000,
  // About a microsecond an op: timed in batches (see buddy-order0).
  batch: 32,
  bench: { time: 3000, warmupTime: 500, warmupIterations: 2000, iterations: 64 },
  async make(backend) {
    const sys = await createSystem({
      backend,
      ramBytes: 512 * MIB,
      seed: SEED,
      cma: [{ name: "bench", bytes: 256 * MIB }],
    });
    const area = sys.cma("bench");
    // Fragment: movable pages fill RAM (borrowing the CMA area), two thirds of
    // them go away; then drivers fill the area with allocations of 1-24 pages
    // and release a seeded half of the small ones, leaving a bitmap riddled with
    // holes mostly too small for 16 pages: each op must scan past them.
    const pages: MovablePage[] = [];
    for (let p = sys.allocMovable(0); p !== null; p = sys.allocMovable(0)) pages.push(p);
    let inArea = 0;
    for (const p of pages) {
      if (p.pfn >= area.basePfn && p.pfn < area.basePfn + area.count) inArea++;
      if (sys.random.int(3) !== 0) p.free();
    }
    const held: [pfn: number, n: number][] = [];
    for (;;) {
      const n = 1 + sys.random.int(24);
      const pfn = area.alloc(n, 0);
      if (pfn === null) break;
      held.push([pfn, n]);
    }
    let holes = 0;
    for (const [pfn, n] of held) {
      if (n < 12 && sys.random.int(2) === 0) {
        area.release(pfn, n);
        holes++;
      }
    }
    const setup = {
      movable: pages.length,
      inArea,
      held: held.length,
      holes,
      areaPages: area.count,
      available: area.available,
      firstFit: (() => {
        const p = area.alloc(16, 0);
        if (p !== null) area.release(p, 16);
        return p === null ? -1 : p - area.basePfn;
      })(),
      migratedBefore: area.stats.pagesMigrated,
    };
    let sum = 0;
    let ops = 0;
    let failed = 0;
    return {
      sys,
      op() {
        ops++;
        const pfn = area.alloc(16, 0);
        if (pfn === null) {
          failed++;
          return;
        }
        sum = (sum + pfn) >>> 0;
        area.release(pfn, 16);
      },
      checksum: () => sum,
      info() {
        const st = area.stats;
        return [
          `setup: ${setup.movable} movable pages filled RAM (${setup.inArea} in the area); ${setup.held} CMA allocations, ` +
            `${setup.holes} released as holes; ${setup.available}/${setup.areaPages} pages free; first 16-page fit at bit ${setup.firstFit}`,
          `ops run (replay + warm-up + measured): ${ops}, failed allocs: ${failed}, ` +
            `busy retries: ${st.busyRetries}, pages migrated out of the area: ${st.pagesMigrated - setup.migratedBefore} ` +
            `(${((st.pagesMigrated - setup.migratedBefore) / Math.max(ops, 1)).toFixed(4)}/op)`,
        ];
      },
    };
  },
};
