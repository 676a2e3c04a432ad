import { describe, expect, it } from "vitest";
import type { System, SystemOptions } from "dmasim";
import { PAGE, onBoth } from "../helpers.ts";

// 256 pages, one Normal zone, no pcp lists (NR_FREE_PAGES is all free memory).
// min_free_kbytes 128: min = 128 kB >> 2 = 32 pages; the watermark step is
// max(min / 4, managed * scale_factor 10 / 10000) = max(8, 0) = 8: low 40, high 48.
const OPTIONS: SystemOptions = { ramBytes: 256 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 128, pcp: false };

function reclaimCounters(sys: System): Record<string, number> {
  const s = sys.stats();
  return {
    pgscanKswapd: s.pgscanKswapd,
    pgstealKswapd: s.pgstealKswapd,
    pgscanDirect: s.pgscanDirect,
    pgstealDirect: s.pgstealDirect,
    allocstallMovable: s.allocstallMovable,
    allocstallNormal: s.allocstallNormal,
    pgactivate: s.pgactivate,
  };
}

/** The cached indexes of `f` among 0..n-1. */
function cached(f: ReturnType<System["pageCache"]["createFile"]>, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => f.has(i));
}

describe("kswapd (balance_pgdat(), 6.12)", () => {
  it("is woken below the low watermark and reclaims from the inactive tail until the high watermark holds", async () => {
    // 224 page cache pages from 256 free: the fast path (low 40) serves the first
    // 216; the 217th finds free 40 <= low, wakes kswapd (not balanced: 40 <= high
    // 48) and takes the min watermark, as do the rest down to free 32.
    // advanceTime(0): balance_pgdat(order 0): nr_to_reclaim = max(high 48,
    // SWAP_CLUSTER_MAX 32) = 48 per priority; get_scan_count() (no swap: SCAN_FILE)
    // scans inactive_file >> priority: 224 >> 12..8 = 0; priority 7: 1 page
    // (index 0, the oldest, at the tail); 6: 223 >> 6 = 3; 5: 220 >> 5 = 6;
    // 4: 214 >> 4 = 13. kswapd_shrink_node() never scanned 48 (1, 4, 10, 23 in
    // all), so the priority rises each time; at priority 3 the loop's check finds
    // 32 + 23 = 55 free > 48: balanced, out. 23 pages, indexes 0..22, reclaimed.
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("data");
      f.add(0, 224);
      expect(sys.stats().nrFreePages).toBe(32);
      expect(sys.kswapdState()).toMatchObject({ woken: true, order: 0, highestZone: "Normal" });
      sys.advanceTime(0);
      expect(sys.kswapdState()).toMatchObject({
        woken: false,
        ranLastAdvance: true,
        passesLastAdvance: 1,
        failures: 0,
      });
      expect(sys.stats().nrFreePages).toBe(55);
      expect(sys.stats().nrFreePages).toBeGreaterThan(sys.zones()[0]!.watermarks.high);
      expect(reclaimCounters(sys)).toMatchObject({ pgscanKswapd: 23, pgstealKswapd: 23, pgscanDirect: 0 });
      expect(cached(f, 224)).toEqual(Array.from({ length: 201 }, (_, i) => 23 + i));
      expect(sys.readFile("/proc/vmstat")).toContain("\npageoutrun 1\n");
      // Balanced: kswapd_try_to_sleep() sleeps at once.
      expect(sys.stats().kswapdHighWmarkHitQuickly).toBe(0);
      return f.nrPages;
    });
  });

  it("for a high-order waker, drops to order 0 after compact_gap() pages and wakes kcompactd for the order", async () => {
    // 224 cached pages, free 32. An order-2 GFP_NOWAIT-like request (no direct
    // reclaim or compaction) fails: 32 - 3 <= low 40 and <= min 32; it wakes kswapd
    // for order 2 (pgdat_balanced(2): 29 <= high 48).
    // balance_pgdat(2): priorities 12..8 scan nothing. From priority 7 on (below
    // DEF_PRIORITY - 2, order 2: in_reclaim_compaction()), shrink_node() repeats
    // while should_continue_reclaim(): progress, no zone passes the min watermark
    // at order 2 nor compaction_suitable() (free >= min 32 + compact_gap 8), and
    // the inactive file list holds more than 8. Priority 7: 1 page each round,
    // free 33 (30 <= 32, 33 < 40), 34, 35, 36 (33 > 32 with order-2 blocks free:
    // stop): 4 pages. Priority 6: 220 >> 6 = 3 (7 in all, free 39: stop).
    // Priority 5: 217 >> 5 = 6: 13 >= compact_gap(2) = 8, so kswapd_shrink_node()
    // sets sc.order 0. Priority 4, checked at order 0: 45 <= 48, 211 >> 4 = 13
    // more: 26 in all, free 58; at 3 the node is balanced. balance_pgdat()
    // returns 0 < 2, so kswapd() goes to kswapd_try_sleep with alloc_order 2,
    // reclaim_order 0: balanced, wakeup_kcompactd(2) records kcompactd_max_order 2
    // and checks kcompactd_node_suitable(): order 2 already passes the min
    // watermark (58 - 3 > 32, blocks of order >= 2 free): not woken.
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("data");
      f.add(0, 224);
      expect(sys.allocPages(2, "unmovable", { compact: false })).toBeNull();
      expect(sys.kswapdState()).toMatchObject({ woken: true, order: 2 });
      sys.advanceTime(0);
      expect(reclaimCounters(sys)).toMatchObject({ pgstealKswapd: 26, pgscanKswapd: 26 });
      expect(sys.stats().nrFreePages).toBe(58);
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 2, woken: false });
      expect(sys.allocPages(2, "unmovable", { compact: false })).not.toBeNull();
      return sys.stats().nrFreePages;
    });
  });

  it("gives up after MAX_RECLAIM_RETRIES passes without progress: a hopeless node", async () => {
    // Anonymous pages only (no swap): nothing is reclaimable. Filling memory wakes
    // kswapd; its passes reclaim nothing, each adds a failure, and it cannot sleep
    // (free 32 <= high 48: kswapd_high_wmark_hit_quickly) until the 16th makes the
    // node hopeless. zoneinfo then says node_unreclaimable 1.
    await onBoth(OPTIONS, (sys) => {
      for (let i = 0; i < 224; i++) expect(sys.allocMovable(0)).not.toBeNull();
      expect(sys.stats().nrFreePages).toBe(32);
      sys.advanceTime(0);
      expect(sys.kswapdState()).toMatchObject({ passesLastAdvance: 16, failures: 16 });
      expect(sys.stats().kswapdHighWmarkHitQuickly).toBe(15);
      expect(sys.readFile("/proc/zoneinfo")).toContain("node_unreclaimable:  1");
      // A hopeless node is not woken again (wakeup_kswapd() returns for it).
      expect(sys.allocMovable(0)).toBeNull();
      expect(sys.kswapdState().woken).toBe(false);
      return sys.stats().allocstallMovable;
    });
  });
});

describe("direct reclaim (__alloc_pages_direct_reclaim(), try_to_free_pages())", () => {
  it("steals SWAP_CLUSTER_MAX-sized batches from the inactive tail and counts the stall", async () => {
    // 224 cached pages, free 32 (kswapd woken but not run). An anonymous order-0
    // request: the fast path (32 <= low 40) and the min watermark (32 <= 32) fail;
    // direct reclaim with nr_to_reclaim 32, reclaim_idx ZONE_MOVABLE
    // (GFP_HIGHUSER_MOVABLE): allocstall_movable 1. Priorities 12..8 scan nothing
    // (224 >> p = 0), then 7: 1 (index 0), 6: 223 >> 6 = 3, 5: 220 >> 5 = 6,
    // 4: 214 >> 4 = 13 (23 in all), 3: 201 >> 3 = 25, one bite below 32: 48 >= 32,
    // the loop stops. Free 32 + 48 = 80, and the request takes one: 79.
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("data");
      f.add(0, 224);
      const page = sys.allocMovable(0);
      expect(page).not.toBeNull();
      expect(reclaimCounters(sys)).toEqual({
        pgscanKswapd: 0,
        pgstealKswapd: 0,
        pgscanDirect: 48,
        pgstealDirect: 48,
        allocstallMovable: 1,
        allocstallNormal: 0,
        pgactivate: 0,
      });
      expect(sys.stats().nrFreePages).toBe(79);
      expect(cached(f, 224)).toEqual(Array.from({ length: 176 }, (_, i) => 48 + i));
      expect(sys.readFile("/proc/vmstat")).toContain("\nallocstall_movable 1\n");
      // An unmovable request is GFP_KERNEL: reclaim_idx Normal.
      f.add(224, 31); // down to free 48
      expect(sys.stats().nrFreePages).toBe(48);
      return sys.stats().pgstealDirect;
    });
  });

  it("leaves dirty pages until they are written back, then finds them first", async () => {
    // The 10 oldest pages are dirty. Direct reclaim as above: priority 7 takes
    // index 0, 6 takes 1..3, 5 takes 4..9: all dirty, so shrink_folio_list() tags
    // them PG_reclaim and activates them (pgactivate 10; no ->writepage, the
    // flushers are not modelled), reclaiming none. Priority 4: the inactive list
    // has 214: 13 pages, 10..22; 3: 201 >> 3 = 25, 23..47: 38 >= 32. The active
    // list (10) is never scanned: 10 >> p = 0, and inactive_is_low() is false
    // (214 * 1 >= 10).
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("data");
      f.add(0, 10, { dirty: true });
      f.add(10, 214);
      expect(sys.allocMovable(0)).not.toBeNull();
      expect(reclaimCounters(sys)).toMatchObject({ pgstealDirect: 38, pgscanDirect: 48, pgactivate: 10 });
      for (let i = 0; i < 10; i++) {
        expect(f.pageState(i)).toMatchObject({ lru: "active_file", dirty: true, reclaim: true });
      }
      expect(cached(f, 48)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Writeback ends at once: folio_end_writeback() rotates each PG_reclaim page
      // to the inactive tail (lru_move_tail(), clearing PG_active): pgrotated 10.
      expect(f.writeback()).toBe(10);
      expect(sys.stats().pgrotated).toBe(10);
      expect(f.pageState(0)).toMatchObject({ lru: "inactive_file", dirty: false, reclaim: false });
      // drop_caches now frees every page (all clean).
      expect(sys.pageCache.dropCaches(1)).toBe(10 + 176);
      return sys.stats().nrFreePages;
    });
  });
});
