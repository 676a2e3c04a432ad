import { describe, expect, it } from "vitest";
import { createSystem, type System, type SystemOptions } from "dmasim";
import { BACKENDS, PAGE, expectUntouched, fillMovable, onBoth } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

// The machine of test/mm/compaction.test.ts: 64 pages in one Normal zone,
// pageblocks of 8 pages (order 3), maxOrder 3, no watermark reserve (min =
// low = 0). COMPACTION_HPAGE_ORDER is the pageblock order, 3.
const TINY: SystemOptions = { ramBytes: 64 * PAGE, pageblockOrder: 3, maxOrder: 3, minFreeKbytes: 0 };

type Page = NonNullable<ReturnType<System["allocMovable"]>>;

/** Every page allocated as order-0 movable, each holding its pfn; then the odd pfns freed: 32 free order-0 pages. */
function evenPagesHeld(sys: System): Page[] {
  const pages = fillMovable(sys);
  for (const p of pages) p.write(new Uint8Array([p.pfn & 0xff]));
  for (const p of pages) if (p.pfn % 2 === 1) p.free();
  return pages.filter((p) => p.alive);
}

function placement(pages: Page[]): Record<number, number> {
  return Object.fromEntries(pages.map((p) => [p.read()[0]!, p.pfn]));
}

function daemonCounters(sys: System): number[] {
  const s = sys.stats();
  return [s.compactDaemonWake, s.compactDaemonMigrateScanned, s.compactDaemonFreeScanned];
}

describe("the simulated clock", () => {
  it("starts at 0, advances by whole ms, and refuses anything else untouched", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      expect(sys.timeMs).toBe(0);
      expect(sys.advanceTime(250)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.timeMs).toBe(250);
      for (const bad of [-1, 1.5, NaN, Infinity, "1" as unknown as number, 2e15])
        expectUntouched(sys, "EINVAL", () => sys.advanceTime(bad));
      // kcompactd's first wait began at boot with HPAGE_FRAG_CHECK_INTERVAL_MSEC.
      expect(sys.kcompactdState()).toEqual({
        maxOrder: 0,
        highestZone: "Normal", // pgdat->nr_zones - 1
        nextTimeoutMs: 500,
        woken: false,
        proactiveTrigger: false,
      });
      sys.check();
      return sys.stateHash();
    });
  });
});

describe("kcompactd woken by a high-order allocation (wakeup_kcompactd(), kcompactd_do_work())", () => {
  it("compacts for the failed order at the next advanceTime(), counting compact_daemon_*", async () => {
    // 32 free order-0 pages at the odd pfns. An order-2 request that may not
    // compact directly (compact: false) fails the fast path: the slow path's
    // wake_all_kswapds() point calls wakeup_kcompactd(2, ZONE_NORMAL):
    // kcompactd_max_order = 2; kcompactd_node_suitable(): zone_watermark_ok(order 2)
    // fails (no free block of order >= 2), __compaction_suitable(): 32 free pages
    // >= min 0 + compact_gap(2) = 8, order 2 not costly → COMPACT_CONTINUE: woken.
    // The request itself fails (allocFail 1).
    //
    // advanceTime(0): kcompactd_do_work(): compact_daemon_wake 1; the zone is not
    // deferred (compact_order_failed 0, defer_shift 0: considered reaches the
    // limit 1), still suitable; compact_zone(order 2, MIGRATE_SYNC_LIGHT, skip
    // hints honoured, GFP_KERNEL = unmovable for __compact_finished()). The
    // cached migrate pfn 0 <= compact_init_migrate_pfn 0: whole_zone. Round 1
    // finishes block [0,8): sources 0, 2, 4, 6 (8 pages scanned). Targets:
    // fast_isolate_freepages() first (order 2 > 0): limit 4 at the scan's start,
    // low_pfn 40 and min_pfn 32 (distance 56 - 8); the order-0 list walked from
    // its tail finds 1, 3, 5, 7, nothing at or above 32 (4 entries scanned); not
    // direct compaction, so free_pfn stays 56 and the linear scan takes 57, 59,
    // 61, 63 from [56,64) (8 pages scanned, stride 1); 6→57, 4→59, 2→61,
    // 0→63 and [0,8) becomes one free order-3 block. __compact_finished() at
    // migrate_pfn 8 (pageblock-aligned): no unmovable block of order 2 or 3 is
    // free, but find_suitable_fallback() finds the movable order-3 block (an
    // unmovable request may steal it): COMPACT_SUCCESS, so
    // compaction_defer_reset(zone, 2, false): compact_order_failed = 3.
    // compact_daemon_migrate_scanned 8, compact_daemon_free_scanned 4 + 8 = 12 (also in
    // compact_migrate_scanned / compact_free_scanned); compact_isolated 4 + 4;
    // no stall (not direct). kcompactd_max_order back to 0; its next wait ends
    // at 0 + 500 ms.
    // With reclaim (6.12): the request cannot direct-reclaim, so wakeup_kswapd()
    // would wake kcompactd only for a balanced node; the node is not balanced at
    // order 2 (no free order-2 block), so kswapd is woken instead. kswapd's pass
    // reclaims nothing (no page cache): balance_pgdat(2) returns order 2, not
    // below the waker's, and kswapd_try_to_sleep() runs with kswapd_order 0:
    // wakeup_kcompactd(0) returns at once. kcompactd is only reached through
    // reclaim here; with page cache for kswapd to reclaim, the next test makes
    // the wake-up and checks the pass above.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      evenPagesHeld(sys);
      expect(sys.allocPages(2, "unmovable", { compact: false })).toBeNull();
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 0, woken: false });
      expect(sys.kswapdState()).toMatchObject({ woken: true, order: 2 });
      expect(sys.advanceTime(0)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.kswapdState()).toMatchObject({ ranLastAdvance: true, failures: 1 });
      expect(daemonCounters(sys)).toEqual([0, 0, 0]);
      return sys.stateHash();
    });
  });

  it("compacts for the waker's order once kswapd has reclaimed page cache and balanced at order 0", async () => {
    // Set-up: all 64 pages taken as order-0 movable (ascending pfns, no failed
    // call, so kswapd stays asleep), the odd pfns freed in ascending order: each
    // goes to the head of the order-0 list (buddy_merge_likely() false), so
    // the head is 63. 32 page cache pages (filemap_add_folio(), one at a time
    // from that head) take index k at pfn 63 - 2k: the oldest cache pages sit
    // at the top of the zone. Free 0; the last allocation found free 1 > min 0.
    //
    // An order-2 unmovable request that may neither reclaim nor compact
    // (compact: false) fails; wake_all_kswapds(): wakeup_kswapd(order 2):
    // kswapd_order 2; pgdat_balanced(2) fails (0 free), so kswapd is woken,
    // not kcompactd.
    //
    // advanceTime(0), kswapd first: balance_pgdat(order 2), nr_to_reclaim
    // max(high 0, SWAP_CLUSTER_MAX 32) = 32. inactive_file 32 >> priority is 0
    // for priorities 12..6 (no progress, priority raised). Priority 5 (in
    // reclaim/compaction mode: order 2 and below DEF_PRIORITY - 2): 32 >> 5 = 1,
    // index 0 (pfn 63, the inactive tail) freed; should_continue_reclaim():
    // order 2 fails the min watermark (no free block of order >= 2),
    // compaction_suitable() fails (1 <= min 0 + compact_gap(2) 8), inactive 31
    // > 8: again; 31 >> 5 = 0 reclaimed: stop. 1 scanned < 32: priority 4.
    // There one page per round (31..24 >> 4 = 1): indexes 1..8, pfns 61..47,
    // until free 9 > 8 makes compaction_suitable() true. nr_reclaimed 9 >=
    // compact_gap(2) = 8: kswapd_shrink_node() sets sc.order 0; 8 scanned < 32:
    // priority 3, where pgdat_balanced(0) holds (9 > high 0): out, returning
    // order 0. No pfn merges (every even pfn is held).
    // 0 < alloc_order 2, so kswapd() goes to kswapd_try_to_sleep(alloc 2,
    // reclaim 0): prepare_kswapd_sleep(0) is true: reset_isolation_suitable(),
    // then wakeup_kcompactd(2): kcompactd_max_order 2; kcompactd_node_suitable():
    // order 2 still fails the min watermark, compaction_suitable() passes (9 > 8):
    // kcompactd is woken and runs in the same advanceTime(0).
    //
    // kcompactd_do_work(): compact_daemon_wake 1; compaction_deferred(): order
    // 2 >= compact_order_failed 0, considered 1 reaches the limit 1 << 0: not
    // deferred; still suitable; compact_zone(order 2, MIGRATE_SYNC_LIGHT,
    // GFP_KERNEL): migrate_pfn 0 (whole_zone), free_pfn 56. Order 2 <=
    // PAGE_ALLOC_COSTLY_ORDER: fast_find_migrateblock() keeps pfn 0; the block
    // [0,8) has 8 LRU pages (0, 2, 4, 6 anon; 1, 3, 5, 7 cache indexes 31..28):
    // 8 scanned, 8 isolated, each list_add()ed: the source order is 7, 6, ..., 0.
    // compaction_alloc() for 7 finds cc->freepages empty: isolate_freepages()
    // tries fast_isolate_freepages(): compact_init_free_pfn 0 <= free_pfn 56, a
    // scan start: limit pageblock_nr_pages >> 1 = 4; distance 56 - 8 = 48:
    // low_pfn pageblock_start(56 - 12) = 40. search_order min(1, 2) = 1: the
    // order-1 list is empty; order 0 (freed head-first: 47 ... 63 from the
    // head), walked from the tail: 63 >= 40, taken at the first entry (1
    // scanned); move_freelist_head(); highest 56 >= compact_cached_free_pfn 56:
    // that becomes 48. fast_isolate_around(63) scans [56,64) at stride 1 (8
    // scanned) and takes 57, 59, 61: cc->freepages 63, 57, 59, 61 (in isolation
    // order), so 7→63, 6→57, 5→59, 4→61. For 3 the lists are empty again:
    // search_order 0 now, the tail is 55 (>= 40, 1 scanned), cached free pfn
    // 40; around it [48,56) (8 scanned) gives 49, 51, 53: 3→55, 2→49, 1→51,
    // 0→53. Free scanned 1 + 8 + 1 + 8 = 18; compact_isolated 8 + 8 = 16.
    // [0,8) coalesces into one free order-3 block; 47 stays free (free 9).
    // __compact_finished() at migrate_pfn 8 (pageblock-aligned; free_pfn still
    // 56, the scanners apart): no unmovable block of order >= 2 free, but
    // find_suitable_fallback() accepts the movable order-3 block (order >=
    // pageblock_order may be stolen): COMPACT_SUCCESS, compaction_defer_reset(
    // zone, 2, false): compact_order_failed 3. update_cached_migrate(8) stores
    // pageblock_end_pfn(8) = 16. kcompactd_max_order back to 0; its next wait
    // ends at 0 + 500 ms.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const anon = Array.from({ length: sys.nrPages }, () => sys.allocMovable(0)!);
      expect(anon.map((p) => p.pfn)).toEqual(Array.from({ length: 64 }, (_, pfn) => pfn));
      for (const p of anon) p.write(new Uint8Array([p.pfn]));
      for (const p of anon) if (p.pfn % 2 === 1) p.free();
      const f = sys.pageCache.createFile("data");
      f.add(0, 32);
      const cachePfns = (): (number | null)[] =>
        Array.from({ length: 32 }, (_, index) => f.pageState(index)?.pfn ?? null);
      expect(cachePfns()).toEqual(Array.from({ length: 32 }, (_, index) => 63 - 2 * index));
      for (let index = 0; index < 32; index++) f.page(index)!.write(new Uint8Array([100 + index]));
      expect(sys.stats().nrFreePages).toBe(0);
      expect(sys.kswapdState().woken).toBe(false);

      expect(sys.allocPages(2, "unmovable", { compact: false })).toBeNull();
      expect(sys.kswapdState()).toMatchObject({ woken: true, order: 2 });
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 0, woken: false });

      expect(sys.advanceTime(0)).toEqual({ kcompactd: 1, proactive: 0 });
      const s = sys.stats();
      expect(sys.kswapdState()).toMatchObject({ ranLastAdvance: true, passesLastAdvance: 1, failures: 0 });
      expect([s.pgscanKswapd, s.pgstealKswapd, s.nrFreePages]).toEqual([9, 9, 9]);
      expect(daemonCounters(sys)).toEqual([1, 8, 18]);
      expect([s.compactMigrateScanned, s.compactFreeScanned, s.compactIsolated]).toEqual([8, 18, 16]);
      expect([s.compactStall, s.compactSuccess, s.compactFail, s.pgmigrateSuccess]).toEqual([0, 0, 0, 8]);
      expect([s.compactMigrated, s.compactDaemonMigrated]).toEqual([8, 8]);
      // Reclaimed: indexes 0..8; moved: indexes 28..31 (pfns 7, 5, 3, 1).
      expect(cachePfns()).toEqual([
        ...Array.from({ length: 9 }, () => null),
        ...Array.from({ length: 19 }, (_, i) => 45 - 2 * i),
        63,
        59,
        55,
        51,
      ]);
      const anonPlacement = Object.fromEntries(anon.filter((p) => p.alive).map((p) => [p.read()[0]!, p.pfn]));
      expect(anonPlacement).toMatchObject({ 0: 53, 2: 49, 4: 61, 6: 57, 8: 8 });
      for (let index = 28; index < 32; index++) expect(f.page(index)!.read()[0]).toBe(100 + index);
      expect(sys.readFile("/proc/buddyinfo")).toBe("Node 0, zone   Normal      1      0      0      1 \n");
      expect(sys.compactionState()).toMatchObject({
        considered: 1,
        deferShift: 0,
        orderFailed: 3,
        cachedMigratePfn: [16, 16],
        cachedFreePfn: 40,
      });
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 0, nextTimeoutMs: 500, woken: false });
      expect(sys.readFile("/proc/vmstat")).toContain(
        "compact_daemon_wake 1\ncompact_daemon_migrate_scanned 8\ncompact_daemon_free_scanned 18\n",
      );
      // Now the request succeeds from the fast path (the free order-3 block is split).
      expect(sys.allocPages(2, "unmovable", { compact: false })).not.toBeNull();
      sys.check();
      return sys.stateHash();
    });
  });

  it("is not woken when compaction would not help (order 0, enough free blocks, or compaction off)", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      fillMovable(sys); // the last, failing order-0 request: wakeup_kcompactd() returns at once for order 0
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 0, woken: false });
      // A full machine: order 1 fails; the node is unbalanced (no free page at
      // all), so the waker wakes kswapd, not kcompactd: kcompactd_max_order stays 0.
      expect(sys.allocPages(1, "unmovable", { compact: false })).toBeNull();
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 0, woken: false });
      // kswapd finds nothing to reclaim at order 1; it then tries to sleep at
      // order 0 with the watermarks at 0 and no free page: 0 > 0 fails, so it
      // cannot sleep (kswapd_high_wmark_hit_quickly) and goes round at order 0
      // until kswapd_failures reaches MAX_RECLAIM_RETRIES (16 passes): hopeless,
      // it sleeps, and wakeup_kcompactd(0) returns at once. kcompactd's wait
      // times out at 500 ms with no work requested: nothing runs.
      expect(sys.advanceTime(499)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.kswapdState()).toMatchObject({ passesLastAdvance: 16, failures: 16 });
      expect(sys.stats().kswapdHighWmarkHitQuickly).toBe(15);
      expect(sys.advanceTime(1)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(daemonCounters(sys)).toEqual([0, 0, 0]);
      return sys.stateHash();
    });
    await onBoth({ ...BUDDY_ONLY, ...TINY, compaction: false }, (sys) => {
      evenPagesHeld(sys);
      expect(sys.allocPages(2, "unmovable", { atomic: true })).toBeNull();
      expect(sys.kcompactdState()).toMatchObject({ maxOrder: 0, woken: false });
      expect(sys.advanceTime(5000)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(daemonCounters(sys)).toEqual([0, 0, 0]);
      return sys.stateHash();
    });
  });
});

describe("proactive compaction (should_proactive_compact_node(), compact_node(pgdat, true))", () => {
  // With 32 free order-0 pages and nothing larger, extfrag_for_order(zone, 3) =
  // (32 - 0) * 100 / 32 = 100; the node score weights it by present pages:
  // 64 * 100 / (64 + 1) = 98. The thresholds: low = max(100 - p, 5), high =
  // min(low + 10, 100).

  it("triggers when the node's score exceeds the high watermark, and not at it", async () => {
    // p = 12: low 88, high 98: 98 > 98 is false, nothing at 500 ms or later.
    await onBoth({ ...BUDDY_ONLY, ...TINY, compactionProactiveness: 12 }, (sys) => {
      evenPagesHeld(sys);
      expect(sys.fragmentationScore()).toBe(98);
      expect(sys.fragmentationScore("Normal")).toBe(100);
      expect(sys.fragmentationScoreWatermarks()).toEqual({ low: 88, high: 98 });
      expect(sys.advanceTime(2000)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.stats().compactMigrateScanned).toBe(0);
      expect(sys.kcompactdState().nextTimeoutMs).toBe(2500);
      return sys.stateHash();
    });
    // p = 13: low 87, high 97: 98 > 97, so at the 500 ms timeout kcompactd
    // compacts the zone whole (order -1, MIGRATE_SYNC_LIGHT, skip hints
    // ignored). Round 1 is compact_memory's: [0,8) moved to 57..63 and freed as
    // one order-3 block. __compact_finished() then takes the proactive branch:
    // fragmentation_score_zone() = (32 - 8) * 100 / 32 = 75 <= low 87:
    // COMPACT_SUCCESS. Node score 64 * 75 / 65 = 73 < 98: progress, the next
    // wait is the default 500 ms (at 1000 ms: 73 <= 97, nothing).
    await onBoth({ ...BUDDY_ONLY, ...TINY, compactionProactiveness: 13 }, (sys) => {
      const pages = evenPagesHeld(sys);
      expect(sys.advanceTime(499)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.advanceTime(1)).toEqual({ kcompactd: 0, proactive: 1 });
      expect(placement(pages)).toMatchObject({ 0: 63, 2: 61, 4: 59, 6: 57, 8: 8 });
      expect(sys.fragmentationScore("Normal")).toBe(75);
      expect(sys.fragmentationScore()).toBe(73);
      // compact_daemon_wake counts kcompactd_do_work() only.
      expect(daemonCounters(sys)).toEqual([0, 8, 8]);
      expect(sys.stats()).toMatchObject({ compactMigrateScanned: 8, compactMigrated: 4, compactDaemonMigrated: 4 });
      expect(sys.kcompactdState().nextTimeoutMs).toBe(1000);
      expect(sys.advanceTime(10_000)).toEqual({ kcompactd: 0, proactive: 0 });
      sys.check();
      return sys.stateHash();
    });
  });

  it("backs off 32 s (500 ms << COMPACT_MAX_DEFER_SHIFT) after a pass that did not lower the score", async () => {
    // Every held page pinned: nothing can move; the scanners meet (COMPACT_COMPLETE)
    // and the node score stays 98 >= 98, so the next wait is 500 << 6 = 32000 ms.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = evenPagesHeld(sys);
      for (const p of pages) p.pin();
      expect(sys.advanceTime(500)).toEqual({ kcompactd: 0, proactive: 1 });
      expect(sys.fragmentationScore()).toBe(98);
      expect(sys.kcompactdState().nextTimeoutMs).toBe(32_500);
      expect(sys.advanceTime(31_999)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.advanceTime(1)).toEqual({ kcompactd: 0, proactive: 1 });
      expect(sys.kcompactdState().nextTimeoutMs).toBe(64_500);
      for (const p of pages) p.unpin();
      return sys.stateHash();
    });
  });

  it("is off with proactiveness 0; writing a non-zero value wakes kcompactd for a check at once", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY, compactionProactiveness: 0 }, (sys) => {
      evenPagesHeld(sys);
      expect(sys.readFile("/proc/sys/vm/compaction_proactiveness")).toBe("0\n");
      // MAX_SCHEDULE_TIMEOUT: no wait ends.
      expect(sys.kcompactdState().nextTimeoutMs).toBeNull();
      expect(sys.advanceTime(60_000)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.stats().compactMigrateScanned).toBe(0);
      // compaction_proactiveness_sysctl_handler(): proactive_compact_trigger, wake_up.
      sys.writeFile("/proc/sys/vm/compaction_proactiveness", "20\n");
      expect(sys.kcompactdState()).toMatchObject({ proactiveTrigger: true, woken: true });
      expect(sys.advanceTime(0)).toEqual({ kcompactd: 0, proactive: 1 }); // 98 > high 90
      expect(sys.kcompactdState()).toMatchObject({ proactiveTrigger: false, nextTimeoutMs: 60_500 });
      // Back to 0: no wake-up; the current wait still ends at 60500, then none.
      sys.setPolicy({ compactionProactiveness: 0 });
      expect(sys.kcompactdState()).toMatchObject({ proactiveTrigger: false, nextTimeoutMs: 60_500 });
      expect(sys.advanceTime(1000)).toEqual({ kcompactd: 0, proactive: 0 });
      expect(sys.kcompactdState().nextTimeoutMs).toBeNull();
      sys.check();
      return sys.stateHash();
    });
  });
});

describe("/proc/sys/vm/compaction_proactiveness", () => {
  it("reads the value in force; bad writes are EINVAL and change nothing", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      evenPagesHeld(sys);
      expect(sys.readFile("/proc/sys/vm/compaction_proactiveness")).toBe("20\n");
      for (const text of ["101", "-1", "", "abc", "20x", "99999999999"])
        expectUntouched(sys, "EINVAL", () => sys.writeFile("/proc/sys/vm/compaction_proactiveness", text));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ compactionProactiveness: 101 }));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ extfragThreshold: 500, compactionProactiveness: -1 }));
      sys.writeFile("/proc/sys/vm/compaction_proactiveness", "0x64"); // proc_dointvec's base 0
      expect(sys.compactionProactiveness).toBe(100);
      expect(sys.fragmentationScoreWatermarks()).toEqual({ low: 5, high: 15 });
      return sys.readFile("/proc/sys/vm/compaction_proactiveness");
    });
    await expect(createSystem({ ...BUDDY_ONLY, ...TINY, compactionProactiveness: 101 })).rejects.toMatchObject({
      code: "EINVAL",
    });
  });

  it("is part of stateHash(): machines differing only in it or in the clock hash apart", async () => {
    for (const backend of BACKENDS) {
      const a = await createSystem({ ...BUDDY_ONLY, ...TINY, backend });
      const b = await createSystem({ ...BUDDY_ONLY, ...TINY, backend, compactionProactiveness: 30 });
      const c = await createSystem({ ...BUDDY_ONLY, ...TINY, backend });
      c.advanceTime(1);
      expect(new Set([a.stateHash(), b.stateHash(), c.stateHash()]).size).toBe(3);
    }
  });
});

describe("kcompactd under a random workload", () => {
  it("keeps every invariant and every page accounted for with the clock running, on both backends alike", async () => {
    // Seeded allocations (high orders among them, some not allowed to compact
    // directly so that kcompactd has work), frees, pins, and clock advances of
    // 0..999 ms, with proactiveness changed now and then. After every step the
    // free pages plus the held ones make up the machine.
    const OPTIONS: SystemOptions = { ramBytes: 1024 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 16 };
    await onBoth({ ...BUDDY_ONLY, ...OPTIONS }, (sys) => {
      const rnd = sys.random;
      const movable: Page[] = [];
      const unmovable: [number, number][] = [];
      const held = () =>
        movable.reduce((n, p) => n + 2 ** p.order, 0) + unmovable.reduce((n, [, order]) => n + 2 ** order, 0);
      const ran = { kcompactd: 0, proactive: 0 };
      for (let step = 0; step < 3000; step++) {
        const r = rnd.int(100);
        if (r < 35) {
          const page = sys.allocMovable(rnd.int(2) ? rnd.int(3) : 3 + rnd.int(3));
          if (page) movable.push(page);
        } else if (r < 50) {
          const order = rnd.int(4);
          const pfn = sys.allocPages(order, rnd.int(2) ? "unmovable" : "reclaimable", { compact: rnd.int(2) === 0 });
          if (pfn !== null) unmovable.push([pfn, order]);
        } else if (r < 80) {
          if (movable.length > 0) movable.splice(rnd.int(movable.length), 1)[0]!.free();
        } else if (r < 88) {
          if (unmovable.length > 0) {
            const [pfn, order] = unmovable.splice(rnd.int(unmovable.length), 1)[0]!;
            sys.freePages(pfn, order);
          }
        } else if (r < 98) {
          const done = sys.advanceTime(rnd.int(1000));
          ran.kcompactd += done.kcompactd;
          ran.proactive += done.proactive;
        } else {
          sys.writeFile("/proc/sys/vm/compaction_proactiveness", String(rnd.int(101)));
        }
        expect(sys.stats().nrFreePages + held()).toBe(sys.nrPages);
        if (step % 100 === 0) sys.check();
      }
      const s = sys.stats();
      expect(ran.kcompactd).toBe(s.compactDaemonWake);
      expect(ran.kcompactd).toBeGreaterThan(0);
      expect(ran.proactive).toBeGreaterThan(0);
      expect(s.compactDaemonMigrateScanned).toBeLessThanOrEqual(s.compactMigrateScanned);
      return { ran, time: sys.timeMs, stats: s, buddyinfo: sys.readFile("/proc/buddyinfo") };
    });
  });
});
