import { describe, expect, it } from "vitest";
import { type System } from "dmasim";
import { PAGE, fillMovable, onBoth } from "../helpers.ts";

// 512 pages, pageblocks of 32 (order 5), blocks up to order 6, no watermark
// reserve. Two zones: DMA [0,64) and Normal [64,512), so Normal does not start at
// pfn 0 and its first compaction round is not a "finish the pageblock" round
// (last_migrated_pfn 0 is in another pageblock than migrate_pfn 64).
// Buddy-level rules: the per-cpu lists would hold the order-0 pages these tests place.
const OPTIONS = {
  pcp: false,
  ramBytes: 512 * PAGE,
  pageblockOrder: 5,
  maxOrder: 6,
  minFreeKbytes: 0,
  zones: [
    { name: "DMA" as const, endBytes: 64 * PAGE },
    { name: "Normal" as const, endBytes: 512 * PAGE },
  ],
};

/**
 * Every page held (Normal fills first, pfn 64 upwards, then DMA), each holding
 * its own pfn as data; then [128,136) (one order-3 block in pageblock [128,160))
 * and the odd pfns of [384,512) (64 order-0 blocks; freed in pfn order, each to
 * its list's head: 511 first, 385 last) are freed.
 */
function fragment(sys: System) {
  const pages = fillMovable(sys);
  expect(pages.slice(0, 448).every((p, i) => p.pfn === 64 + i)).toBe(true);
  for (const p of pages) p.write(new Uint8Array([p.pfn & 0xff, p.pfn >> 8]));
  for (const p of pages) if ((p.pfn >= 128 && p.pfn < 136) || (p.pfn >= 384 && p.pfn % 2 === 1)) p.free();
  return pages.filter((p) => p.alive);
}

/** Moved pages: [pfn they were allocated at, pfn now]. */
function moves(pages: ReturnType<typeof fragment>): [number, number][] {
  return pages
    .map((p) => [p.read()[0]! | (p.read()[1]! << 8), p.pfn] as [number, number])
    .filter(([from, to]) => from !== to);
}

describe("compaction's free-list shortcuts (fast_find_migrateblock(), fast_isolate_freepages())", () => {
  it("jumps the migration scanner to a partly free pageblock and takes targets from the top quarter", async () => {
    // An order-5 movable request (costly): the fast path fails, the slow path
    // compacts Normal at COMPACT_PRIO_ASYNC first. compaction_suitable(): 72 free >
    // low 0 + compact_gap(5) = 64; fragmentation index 1000 - (1000 + 72000 / 32) / 65
    // = 950 > extfrag_threshold 500. Cached positions: migrate 64 (zone start), free
    // pageblock_start_pfn(511) = 480.
    //
    // fast_find_migrateblock(): migrate_pfn is the zone start, the order is costly,
    // the request movable; distance = (480 - 64) / 2 = 208 (not divided by 4 at the
    // zone start), high_pfn = pageblock_start_pfn(64 + 208) = 256. Order 4 has no
    // free block; order 3's movable list holds 128 < 256, no skip hint: the scanner
    // jumps to pageblock 128 (1 entry scanned), skipping [64,128) entirely. Its 24
    // held pages 136..159 are isolated (32 pfns scanned, the free 128..135 counted
    // whole): migrate scanned 1 + 32 = 33.
    //
    // compaction_alloc() for 159 (newest first): fast_isolate_freepages(), the scan's
    // start (free_pfn 480 >= compact_init_free_pfn 0): limit 32 / 2 = 16; distance
    // 480 - 160 = 320, low_pfn = pageblock_start_pfn(480 - 80) = 384, min_pfn =
    // pageblock_start_pfn(480 - 160) = 320; search_order = min(5 - 1, 5) = 4. Order 4
    // empty; order 3: 128 (below min_pfn); order 2, 1 empty; order 0 from its tail:
    // 385 >= low_pfn: isolated, search_order 0. No isolation around it (async direct
    // compaction), and a target in hand skips the linear scan. Each later source
    // finds the next odd page at the list's tail the same way: 159→385, 158→387, ...,
    // 136→431. Free scanned: 2 + 23 + 6, the 6 being freed sources that
    // buddy_merge_likely() queued at the order-0 tail (157, 153, 149, 145, 141, 137),
    // each seen once before the next odd page.
    //
    // The last source freed, 136, completes [128,160) as an order-5 block in a
    // movable pageblock: compaction_capture() takes it, the request gets pfn 128.
    await onBoth(OPTIONS, (sys) => {
      const pages = fragment(sys);
      expect(sys.allocPages(5, "movable")).toBe(128);
      expect(moves(pages)).toEqual(Array.from({ length: 24 }, (_, k) => [136 + k, 431 - 2 * k]));
      expect(sys.lastCompactResult).toBe("success");
      const s = sys.stats();
      expect([s.compactStall, s.compactSuccess, s.compactFail]).toEqual([1, 1, 0]);
      expect([s.compactMigrateScanned, s.compactFreeScanned, s.compactIsolated, s.pgmigrateSuccess]).toEqual([
        33, 31, 48, 24,
      ]);
      // test_and_set_skip() marked pageblock 128 when its first page was isolated;
      // the fast search never moved the cached free pfn (the highest block seen, 384,
      // is below it).
      expect([64, 96, 128, 384, 480].map((pfn) => sys.pageblockSkip(pfn))).toEqual([false, false, true, false, false]);
      expect(sys.compactionState("Normal")).toMatchObject({ cachedFreePfn: 480, orderFailed: 6 });
      return sys.readFile("/proc/buddyinfo");
    });
  });
});
