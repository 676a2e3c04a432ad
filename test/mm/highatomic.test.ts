import { describe, expect, it } from "vitest";
import { MIB, fillMovable, onBoth } from "../helpers.ts";

// A 16 MiB machine (4096 pages) with pageblocks of 32 pages (order 5) and the
// default min_free_kbytes: int_sqrt(16384 kB * 16) = 512 kB, so min 128 pages;
// the step is max(128 / 4, 4096 * 10 / 10000) = 32: low 160, high 192.
// reserve_highatomic_pageblock() (6.12): 1% of the zone is 4096 / 100 = 40 >= 32,
// so the limit is ALIGN(40, 32) = 64 pages: two pageblocks.
// Buddy-level rules: the per-cpu lists would hold the order-0 pages these tests place.
const OPTIONS = { pcp: false, ramBytes: 16 * MIB, pageblockOrder: 5 };
const HIGHATOMIC = 3; // MIGRATE_HIGHATOMIC

/**
 * Fills RAM with order-0 movable pages until the slow path's min watermark
 * stops them: 4096 - 128 = 3968 pages (pfns 0..3967), leaving one free
 * order-7 block at 3968 (the tail of the last order-10 block).
 */
function fillToMin(sys: import("dmasim").System): void {
  expect(sys.zones()[0]!.watermarks).toMatchObject({ min: 128, low: 160, high: 192 });
  expect(fillMovable(sys).length).toBe(3968);
  expect(sys.pageInfo(3968)).toMatchObject({ state: "free", order: 7, migratetype: "movable" });
}

/** The pagetypeinfo row of `type` in zone Normal, as numbers per order. */
function pagetypeRow(sys: import("dmasim").System, type: string): number[] {
  const line = sys
    .readFile("/proc/pagetypeinfo")
    .split("\n")
    .find((l) => l.includes("zone   Normal, type") && l.includes(` ${type} `))!;
  return line.trim().split(/\s+/).slice(6).map(Number);
}

describe("highatomic reserves (reserve_highatomic_pageblock())", () => {
  it("reserves the pageblock of a high-order atomic allocation from the slow path", async () => {
    await onBoth(OPTIONS, (sys) => {
      fillToMin(sys);
      expect(sys.zoneReserves()).toMatchObject({ reservedHighatomicPages: 0, highatomicLimitPages: 64 });
      // 128 free <= low 160: the fast path fails; the slow path's flags have
      // ALLOC_HIGHATOMIC (order 2, no __GFP_DIRECT_RECLAIM) and pass the min
      // watermark: 128 - 3 > 128 - 64 - 16 = 48. No unmovable block: the fallback
      // takes the order-7 movable block whole (>= pageblock_order, no boost) and
      // splits it: 3968 for the request, 3972/o2, 3976/o3, 3984/o4, 4000/o5, 4032/o6 free.
      expect(sys.allocPages(2, "unmovable", { atomic: true })).toBe(3968);
      // reserve_highatomic_pageblock(): pageblock 3968..3999 becomes HighAtomic with
      // its free pages 4 + 8 + 16 = 28; nr_reserved_highatomic += 32.
      expect(sys.pageblockMigratetype(3968)).toBe("highatomic");
      expect(sys.pageblockMigratetype(4000)).toBe("unmovable");
      expect(sys.zoneReserves()).toMatchObject({ reservedHighatomicPages: 32, freeHighatomicPages: 28 });
      expect(pagetypeRow(sys, "HighAtomic")).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
      expect(sys.pageblockCounts()[HIGHATOMIC]).toBe(1);
      expect(sys.readFile("/proc/pagetypeinfo")).toMatch(/Node 0, zone {3}Normal +\d+ +\d+ +\d+ +1 /);
      expect(sys.boostHighatomicCounts()).toMatchObject({ highatomicReserved: 1, boosts: 0 });
    });
  });

  it("serves later atomic requests from the reserve and stops at the limit", async () => {
    await onBoth(OPTIONS, (sys) => {
      fillToMin(sys);
      sys.allocPages(2, "unmovable", { atomic: true }); // reserves 3968..3999
      // rmqueue_buddy(): ALLOC_HIGHATOMIC takes the highatomic lists first: 3972/o2.
      // Its pageblock is HighAtomic already (not mergeable): nothing more reserved.
      expect(sys.allocPages(2, "unmovable", { atomic: true })).toBe(3972);
      expect(sys.zoneReserves()).toMatchObject({ reservedHighatomicPages: 32, freeHighatomicPages: 24 });
      // Order 5: the reserve has no block that large; the unmovable 4000/o5 is taken
      // and its pageblock reserved (32 < 64): nr_reserved_highatomic 64, no free pages in it.
      expect(sys.allocPages(5, "unmovable", { atomic: true })).toBe(4000);
      expect(sys.pageblockMigratetype(4000)).toBe("highatomic");
      expect(sys.zoneReserves()).toMatchObject({ reservedHighatomicPages: 64, freeHighatomicPages: 24 });
      // Order 5 again: 4032/o6 is split (4064/o5 stays free); 64 >= the limit 64:
      // its pageblock stays unmovable.
      expect(sys.allocPages(5, "unmovable", { atomic: true })).toBe(4032);
      expect(sys.pageblockMigratetype(4032)).toBe("unmovable");
      expect(sys.zoneReserves().reservedHighatomicPages).toBe(64);
      // A GFP_KERNEL request of order 2 does not see the reserve's blocks:
      // __zone_watermark_ok() counts them only with ALLOC_HIGHATOMIC.
      return sys.boostHighatomicCounts();
    });
  });

  it("keeps the reserve out of other requests' free pages, and gives it back under pressure", async () => {
    await onBoth(OPTIONS, (sys) => {
      fillToMin(sys);
      sys.allocPages(2, "unmovable", { atomic: true }); // 124 free, 28 of them highatomic
      for (let pfn = 0; pfn < 20; pfn++) sys.freePages(pfn, 0); // 144 free: 0/o4, 16/o2
      // GFP_KERNEL order 0: the fast path needs 144 - 28 > low 160; the slow path
      // 144 - 28 = 116 > min 128 (nr_free_highatomic subtracted: no ALLOC_RESERVES):
      // both fail, and without the subtraction the slow path would pass (144 > 128).
      // should_reclaim_retry() (no reclaim progress, watermark not met) exhausts the
      // reserve: unreserve_highatomic_pageblock(force) gives pageblock 3968 back to
      // the request's type (movable), nr_reserved_highatomic 32 - max(32, 4) = 0,
      // and the retry passes (144 > 128) and takes the smallest movable block:
      // 16/o2 (on the list's head; the moved 3972/o2 went to its tail).
      expect(sys.allocPages(0, "movable")).toBe(16);
      expect(sys.pageblockMigratetype(3968)).toBe("movable");
      expect(sys.zoneReserves()).toMatchObject({ reservedHighatomicPages: 0, freeHighatomicPages: 0 });
      expect(sys.boostHighatomicCounts()).toMatchObject({ highatomicReserved: 1, highatomicUnreserved: 1 });
    });
  });

  it("sizes the limit per kernel: none under a pageblock (6.12), 1% plus a pageblock (6.1)", async () => {
    // Pageblocks of 512 pages: 4096 / 100 = 40 < 512, so 6.12 reserves nothing.
    await onBoth({ pcp: false, ramBytes: 16 * MIB }, (sys) => {
      expect(sys.zoneReserves().highatomicLimitPages).toBe(0);
      fillMovable(sys); // down to min 128 free, the tail of the last block
      expect(sys.allocPages(2, "unmovable", { atomic: true })).not.toBeNull();
      expect(sys.zoneReserves().reservedHighatomicPages).toBe(0);
      expect(sys.pageblockCounts()[HIGHATOMIC]).toBe(0);
    });
    // 6.1: max_managed = 4096 / 100 + 32 = 72 pages, so a third pageblock still fits.
    await onBoth({ ...OPTIONS, kernel: "6.1" }, (sys) => {
      expect(sys.zoneReserves().highatomicLimitPages).toBe(72);
    });
  });

  it("lets a GFP_HIGH request count the reserve as free, and an atomic one take it last", async () => {
    await onBoth(OPTIONS, (sys) => {
      fillToMin(sys);
      sys.allocPages(2, "unmovable", { atomic: true });
      for (let pfn = 0; pfn < 20; pfn++) sys.freePages(pfn, 0);
      // __GFP_HIGH (ALLOC_MIN_RESERVE is one of ALLOC_RESERVES): 144 > 128 - 64 = 64,
      // the reserve not subtracted; the block is 16/o2's lowest page.
      expect(sys.allocPages(0, "movable", { high: true })).toBe(16);
      expect(sys.zoneReserves().reservedHighatomicPages).toBe(32);
    });
  });
});
