import { describe, expect, it } from "vitest";
import type { MovablePage, System, SystemOptions } from "dmasim";
import { PAGE, freeMemory, internals, onBoth } from "../helpers.ts";

// Migration targets that may reclaim (Linux 6.12):
//   __alloc_contig_migrate_range() isolates a batch off the LRU
//   (isolate_migratepages_range()), drops its clean page cache
//   (reclaim_clean_pages_from_list()) and migrates the rest with
//   alloc_migration_target() and GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL: a
//   blocking allocation that direct-reclaims when the free lists cannot give the
//   target. Long-term pins migrate with GFP_USER | __GFP_NOWARN (the same).
//   A migrated folio goes to the head of its list (migrate_folio_move() →
//   folio_add_lru(dst)), a failed one back to the head too (putback_movable_pages()).

const MIB = 1024 * 1024;
const LRU_INACTIVE_ANON = 0;
const LRU_INACTIVE_FILE = 2;
const LRU_ACTIVE_FILE = 3;

/** The owner ids of LRU list `lru`, head first (reclaim takes from the tail). */
function lruList(sys: System, lru: number): number[] {
  const out: number[] = [];
  for (let pos = 0; ; pos++) {
    const id = internals(sys).engine.lruListAt(lru, pos);
    if (id < 0) return out;
    out.push(id);
  }
}

function inArea(sys: System, name: string, pfn: number): boolean {
  const area = sys.cma(name);
  return pfn >= area.basePfn && pfn < area.basePfn + area.count;
}

describe("cma_alloc() reclaims for its migration targets (512 MiB, 64 MiB CMA)", () => {
  // Page cache first: while free CMA pages are at most half the free pages
  // (__rmqueue()'s CMA balancing) it stays out of the area. Then anonymous
  // memory, which goes into the area as the rest fills, until reclaim keeps
  // the zone near its watermarks.
  const OPTIONS: SystemOptions = { ramBytes: 512 * MIB, cma: [{ name: "c", bytes: 64 * MIB }] };
  const COUNT = 2048; // 8 MiB

  it("the free lists alone could not give the targets; direct reclaim frees page cache and cma_alloc succeeds", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("x");
      f.add(0, 100_000);
      const anon: MovablePage[] = [];
      for (let i = 0; i < 31_000; i++) anon.push(sys.allocMovable(0)!);
      sys.advanceTime(1000);
      const base = sys.cma("c").basePfn;
      const anonInRange = anon.filter((p) => p.pfn >= base && p.pfn < base + COUNT);
      const before = sys.stats();
      const normal = sys.zones().find((z) => z.name === "Normal")!;
      // Without reclaim the targets could only come from the free pages (buddy
      // and pcp) above the min watermark: fewer than the anonymous pages of the
      // range (clean page cache there is dropped, not migrated), so targets taken
      // from the free lists alone run out and cma_alloc() fails with -ENOMEM.
      let freeInRange = 0;
      for (let p = base; p < base + COUNT; p++) if (sys.pageInfo(p).state !== "allocated") freeInRange++;
      expect(freeMemory(sys) - freeInRange - normal.watermarks.min).toBeLessThan(anonInRange.length);
      const ids = anonInRange.map((p) => p.id);
      const pfn = sys.cma("c").alloc(COUNT);
      expect(pfn).toBe(base);
      const after = sys.stats();
      // Every anonymous page of the range moved out of it, and direct reclaim ran:
      // allocstall counted in Normal (gfp_zone(GFP_USER | __GFP_MOVABLE) is
      // ZONE_NORMAL, not ZONE_MOVABLE), pgsteal_direct grew.
      for (const p of anonInRange) expect(p.pfn < base || p.pfn >= base + COUNT).toBe(true);
      expect(after.allocstallNormal).toBeGreaterThan(before.allocstallNormal);
      expect(after.allocstallMovable).toBe(before.allocstallMovable);
      expect(after.pgstealDirect).toBeGreaterThan(before.pgstealDirect);
      sys.check();
      return {
        ids,
        steal: after.pgstealDirect - before.pgstealDirect,
        stall: after.allocstallNormal - before.allocstallNormal,
      };
    });
  });
});
