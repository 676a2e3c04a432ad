import { describe, expect, it } from "vitest";
import { createSystem, type System, type SystemOptions } from "dmasim";
import { BACKENDS, PAGE, expectUntouched, fillMovable, onBoth } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

// Small machines whose compaction can be followed page by page: pageblocks of
// 8 pages (pageblock order 3), and no watermark reserve (min_free_kbytes 0,
// so min = low = 0 pages).
const TINY: SystemOptions = { ramBytes: 64 * PAGE, pageblockOrder: 3, maxOrder: 3, minFreeKbytes: 0 };
const SMALL: SystemOptions = { ramBytes: 128 * PAGE, pageblockOrder: 3, maxOrder: 4, minFreeKbytes: 0 };

type Page = NonNullable<ReturnType<System["allocMovable"]>>;

/**
 * Every page allocated as an order-0 movable page, each holding its first pfn
 * as data; then the odd pfns freed. No two free pages are buddies: the zone holds
 * nrPages / 2 free order-0 blocks and nothing larger.
 */
function evenPagesHeld(sys: System): Page[] {
  const pages = fillMovable(sys);
  expect(pages.map((p) => p.pfn).sort((a, b) => a - b)).toEqual(pages.map((_, i) => i));
  for (const p of pages) p.write(new Uint8Array([p.pfn & 0xff, 0x5a]));
  for (const p of pages) if (p.pfn % 2 === 1) p.free();
  return pages.filter((p) => p.alive);
}

/** Where each held page (by its first pfn) is now. */
function placement(pages: Page[]): Record<number, number> {
  return Object.fromEntries(pages.map((p) => [p.read()[0]!, p.pfn]));
}

function vmstatLines(sys: System, prefix: string): string[] {
  return sys
    .readFile("/proc/vmstat")
    .split("\n")
    .filter((l) => l.startsWith(prefix));
}

describe("compact_memory (compact_nodes(): order -1, MIGRATE_SYNC, whole zone, skip hints ignored)", () => {
  it("moves the lowest movable pages to the highest free ones until the scanners meet", async () => {
    // 64 pages, pageblocks [0,8) ... [56,64); pages at even pfns, odd pfns free.
    //
    // compact_zone(): migrate_pfn = 0, free_pfn = pageblock_start_pfn(63) = 56.
    // Round 1: last_migrated_pfn starts at 0, in the same pageblock as migrate_pfn,
    //   so finish_pageblock is set and block [0,8) is isolated whole: 0, 2, 4, 6
    //   (8 pages scanned). cc->migratepages is built with list_add(), so 6 is
    //   migrated first. compaction_alloc() finds no targets and isolate_freepages()
    //   scans block [56,64) from its start (stride 1 in sync mode): 57, 59, 61, 63,
    //   stopping when nr_freepages (4) reaches nr_migratepages (4); the block was
    //   scanned to its end, so it gets its skip hint and free_pfn = 48.
    //   Targets go in isolation order: 6→57, 4→59, 2→61, 0→63. Each old frame
    //   merges with its free odd buddy; 0's merge makes [0,8) one order-3 block.
    // Round 2: [8,16): 14→49, 12→51, 10→53, 8→55 (targets from [48,56), free_pfn = 40).
    // Round 3: [16,24): 22→41, 20→43, 18→45, 16→47 (targets from [40,48), free_pfn = 32).
    // Round 4: [24,32) isolates 24..30; isolate_freepages() may scan down only to
    //   pageblock_end_pfn(migrate_pfn = 32) = 40 > 32: nothing. migrate_pages() is
    //   -ENOMEM at its first folio (30: pgmigrate_fail 1), but the scanners have
    //   met (free_pfn >> 3 = 4 <= migrate_pfn >> 3 = 4), so not COMPACT_CONTENDED.
    // Round 5: __compact_finished(): scanners met → COMPACT_COMPLETE, cached
    //   positions reset (migrate 0, free 56).
    // Counters: migrate scanned 4 × 8 = 32, free scanned 3 × 8 = 24, isolated
    // 16 sources + 12 targets = 28, pgmigrate_success 12, pgmigrate_fail 1.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = evenPagesHeld(sys);
      expect(sys.nrFreeByOrder()).toEqual([32, 0, 0, 0]);
      sys.compactMemory();
      const moved = placement(pages);
      expect(moved).toEqual({
        ...Object.fromEntries(pages.map((p) => [p.read()[0]!, p.read()[0]!])),
        6: 57,
        4: 59,
        2: 61,
        0: 63,
        14: 49,
        12: 51,
        10: 53,
        8: 55,
        22: 41,
        20: 43,
        18: 45,
        16: 47,
      });
      for (const p of pages) expect(p.read()[1]).toBe(0x5a); // contents travelled with the pages
      expect(sys.readFile("/proc/buddyinfo")).toBe("Node 0, zone   Normal      8      0      0      3 \n");
      expect(sys.freeArea()[1]).toEqual([8, 0, 0, 3]); // all on the Movable lists
      expect(sys.readFile("/proc/pagetypeinfo")).toContain(
        "Node    0, zone   Normal, type      Movable      8      0      0      3 \n",
      );
      expect(vmstatLines(sys, "compact_")).toEqual([
        "compact_migrate_scanned 32",
        "compact_free_scanned 24",
        "compact_isolated 28",
        "compact_stall 0",
        "compact_fail 0",
        "compact_success 0",
        "compact_daemon_wake 0",
        "compact_daemon_migrate_scanned 0",
        "compact_daemon_free_scanned 0",
      ]);
      expect(vmstatLines(sys, "pgmigrate_")).toEqual(["pgmigrate_success 12", "pgmigrate_fail 1"]);
      // The free scanner marks each block it scanned to the end (even with the
      // hints ignored); the migrate scanner isolated in every block it finished.
      expect([0, 8, 16, 24, 32, 40, 48, 56].map((pfn) => sys.pageblockSkip(pfn))).toEqual([
        false,
        false,
        false,
        false,
        false,
        true,
        true,
        true,
      ]);
      expect(sys.compactionState()).toMatchObject({ cachedMigratePfn: [0, 0], cachedFreePfn: 56 });
      return moved;
    });
  });

  it("takes CMA pageblocks as migration targets (is_migrate_movable())", async () => {
    // The same layout with the top two pageblocks a CMA area: suitable_migration_target()
    // accepts MIGRATE_CMA blocks, so the moves are those of the test above and the
    // area ends up full of movable pages.
    await onBoth({ ...BUDDY_ONLY, ...TINY, cma: [{ name: "c", bytes: 16 * PAGE }] }, (sys) => {
      expect([sys.pageblockMigratetype(48), sys.pageblockMigratetype(56)]).toEqual(["cma", "cma"]);
      const pages = evenPagesHeld(sys);
      expect(sys.stats().nrFreeCmaPages).toBe(8);
      sys.compactMemory();
      expect(placement(pages)).toMatchObject({ 0: 63, 6: 57, 8: 55, 14: 49 });
      expect(sys.stats().nrFreeCmaPages).toBe(0);
      expect(sys.nrFreeByOrder()).toEqual([8, 0, 0, 3]);
    });
  });

  it("leaves pinned pages where they are", async () => {
    // Page 2 pinned: isolate_migratepages_block() skips an anonymous folio with
    // more references than mappings, so [0,8) yields 0, 4, 6. The free scanner
    // stops at 61 (three targets for three pages): 6→57, 4→59, 0→61. 6 and 7
    // merge to an order-1 block, 4 and 5 with it to order 2 at 4; 0 merges with
    // 1 only, its order-1 buddy being the pinned page.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = evenPagesHeld(sys);
      const pinned = pages.find((p) => p.pfn === 2)!;
      pinned.pin();
      sys.compactMemory();
      expect(pinned.pfn).toBe(2);
      expect(placement(pages)).toMatchObject({ 0: 61, 2: 2, 4: 59, 6: 57 });
      expect([0, 2, 3, 4].map((pfn) => [sys.pageInfo(pfn).state, sys.pageInfo(pfn).order])).toEqual([
        ["free", 1],
        ["allocated", 0],
        ["free", 0],
        ["free", 2],
      ]);
      pinned.unpin();
      return placement(pages);
    });
  });

  it("is what writing 1 to /proc/sys/vm/compact_memory does", async () => {
    const hashes: string[] = [];
    for (const backend of BACKENDS) {
      for (const how of ["call", "file"] as const) {
        const sys = await createSystem({ ...BUDDY_ONLY, ...TINY, backend });
        evenPagesHeld(sys);
        if (how === "call") sys.compactMemory();
        else sys.writeFile("/proc/sys/vm/compact_memory", "1\n");
        sys.check();
        hashes.push(sys.stateHash());
      }
    }
    expect(new Set(hashes).size).toBe(1);
  });

  it("refuses bad writes with EINVAL and changes nothing", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      evenPagesHeld(sys);
      // sysctl_compaction_handler(): proc_dointvec() then "only 1".
      for (const text of ["0", "2", "-1", "", "one", "1x", "99999999999"])
        expectUntouched(sys, "EINVAL", () => sys.writeFile("/proc/sys/vm/compact_memory", text));
      // proc_dointvec_minmax(0, 1000)
      for (const text of ["1001", "-1", "", "abc"])
        expectUntouched(sys, "EINVAL", () => sys.writeFile("/proc/sys/vm/extfrag_threshold", text));
      expectUntouched(sys, "EACCES", () => sys.writeFile("/proc/vmstat", "1"));
      expectUntouched(sys, "EACCES", () => sys.readFile("/proc/sys/vm/compact_memory")); // mode 0200
      expectUntouched(sys, "ENOENT", () => sys.writeFile("/proc/sys/vm/compact_unevictable_allowed", "1"));
      expectUntouched(sys, "EINVAL", () => sys.writeFile("/proc/sys/vm/compact_memory", 1 as unknown as string));
      // Base 0 as the kernel reads it, and what follows a blank is ignored.
      sys.writeFile("/proc/sys/vm/extfrag_threshold", "0x2bc\n");
      expect(sys.readFile("/proc/sys/vm/extfrag_threshold")).toBe("700\n");
      sys.writeFile("/proc/sys/vm/extfrag_threshold", " 0764 junk"); // octal 764 = 500
      expect(sys.extfragThreshold).toBe(500);
    });
  });
});

describe("direct compaction (__alloc_pages_direct_compact())", () => {
  it("makes a failing order-2 allocation succeed, capturing the block it frees", async () => {
    // Order-2 movable request, nothing free above order 0. Not costly and movable,
    // so no initial async round: the first compaction runs at DEF_COMPACT_PRIORITY
    // (SYNC_LIGHT). compaction_suitable(): 32 free > min 0 + compact_gap(2) = 8.
    // Round 1 finishes block [0,8) (finish_pageblock, as for compact_memory):
    // sources 0, 2, 4, 6 (migrate_pfn is then 8). The targets come from
    // fast_isolate_freepages() (order 2 > 0): free_pfn 56 >= compact_init_free_pfn
    // (0, never reset) is the start of the scan, so limit = pageblock_nr_pages / 2
    // = 4; distance = 56 - 8 = 48, low_pfn = pageblock_start_pfn(56 - 12) = 40,
    // min_pfn = pageblock_start_pfn(56 - 24) = 32; search_order = min(2 - 1, 2) = 1.
    // Order 1 has no free block; order 0's movable list (odd pfns freed in order,
    // each to the head: 63 ... 3, 1) is walked from its tail: 1, 3, 5, 7, none at or
    // above min_pfn; the limit stops the walk at 7, which move_freelist_head()
    // rotates to the front. No page: fast_search_fail 1, and since the scan was
    // starting and the highest pageblock seen (0) is below min_pfn, direct
    // compaction takes min_pfn: free_pfn = 32 (a movable block), and
    // fast_isolate_around() isolates the rest of [32,40): 33, 35, 37, 39, scanned to
    // its end (skip hint on 32). Targets in isolation order: 6→33, 4→35, 2→37, 0→39.
    // 6→33 frees 6, which merges with 7 (order 1). 4→35 frees 4: with 5 and then
    // [6,8) it becomes an order-2 block, exactly the order asked for, in a movable
    // pageblock for a movable request: compaction_capture() takes it (pfn 4). The
    // batch goes on: 2→37, 0→39 leave [0,4) free as one order-2 block.
    // compact_zone() stops at once with COMPACT_SUCCESS; the allocation gets pfn 4.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = evenPagesHeld(sys);
      const got = sys.allocMovable(2)!;
      expect(got.pfn).toBe(4);
      expect(placement(pages)).toMatchObject({ 0: 39, 2: 37, 4: 35, 6: 33, 8: 8 });
      expect(sys.readFile("/proc/buddyinfo")).toBe("Node 0, zone   Normal     24      0      1      0 \n");
      expect(sys.lastCompactResult).toBe("success");
      const s = sys.stats();
      expect([s.compactStall, s.compactSuccess, s.compactFail]).toEqual([1, 1, 0]);
      // Free scanned: 4 list entries (1, 3, 5, 7) + the 8 pages of [32,40).
      expect([s.compactMigrateScanned, s.compactFreeScanned, s.compactIsolated]).toEqual([8, 12, 8]);
      expect([s.pgmigrateSuccess, s.allocFail]).toEqual([4, 1]); // 1: the order-0 request that found the machine full
      // compaction_defer_reset(order 2, success): considered and shift 0, order_failed 3.
      // Both cached migrate pfns were moved on to pageblock_end_pfn(8) = 16 by the
      // finished block; the fast search saw no pageblock above 0 (highest 0) and
      // fast_isolate_around() sets the skip hint without moving the cached free pfn: 56.
      expect(sys.compactionState()).toEqual({
        considered: 0,
        deferShift: 0,
        orderFailed: 3,
        cachedMigratePfn: [16, 16],
        cachedFreePfn: 56,
        blockskipFlush: false,
      });
      expect([0, 8, 32, 56].map((pfn) => sys.pageblockSkip(pfn))).toEqual([true, false, true, false]);
      return got.pfn;
    });
  });

  it("a folio under writeback: SYNC_LIGHT gives up on it (-EBUSY), its target going back to the free list", async () => {
    // The order-2 case above, with pfn 4 a page cache page under writeback
    // (writeback({ wait: false })). Direct reclaim runs first and frees nothing
    // (the folio is under writeback: tagged PG_reclaim and activated). The
    // SYNC_LIGHT round isolates [0,8) as before (only ISOLATE_ASYNC_MIGRATE
    // skips writeback folios) and takes the same targets from [32,40): 33, 35,
    // 37, 39. migrate_pages(): 6→33 frees 6 ([6,8) order 1); 4 is under
    // writeback and the mode is not MIGRATE_SYNC: -EBUSY (migrate_folio_unmap()),
    // pgmigrate_fail 1, and compaction_free() puts 35 back at the head of
    // cc->freepages[0]; 2→35 frees 2 ([2,4)); 0→37 frees 0, which merges with 1
    // and [2,4) into the order-2 block [0,4), captured (4 is still in use, so no
    // order-3 block). The allocation gets pfn 0; 39 goes back unused.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = fillMovable(sys);
      pages[4]!.free();
      const f = sys.pageCache.createFile("f");
      f.write(0, 1);
      expect(f.pageState(0)!.pfn).toBe(4);
      expect(f.writeback(0, 1, { wait: false })).toBe(1);
      for (const p of pages) if (p.alive && p.pfn % 2 === 1) p.free();
      const held = pages.filter((p) => p.alive);
      const before = new Map(held.map((p) => [p.id, p.pfn]));
      const got = sys.allocMovable(2)!;
      expect(got.pfn).toBe(0);
      const moved = Object.fromEntries(
        held.filter((p) => p.pfn !== before.get(p.id)).map((p) => [before.get(p.id), p.pfn]),
      );
      expect(moved).toEqual({ 0: 37, 2: 35, 6: 33 });
      expect(f.pageState(0)).toMatchObject({ pfn: 4, writeback: true });
      const s = sys.stats();
      expect([s.pgmigrateSuccess, s.pgmigrateFail, s.compactSuccess]).toEqual([3, 1, 1]);
      sys.check();
      return got.pfn;
    });
  });

  it("a folio under writeback: MIGRATE_SYNC (compact_memory) waits for it and moves it", async () => {
    // compact_memory is MIGRATE_SYNC: migrate_folio_unmap() waits for the
    // writeback (folio_wait_writeback(): the I/O completes) and the folio moves
    // like any other; the first round's targets are those of the compact_memory
    // case above (6→57, 4→59, 2→61, 0→63), so the page cache page lands on 59,
    // clean, and NR_WRITEBACK is back to 0.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = fillMovable(sys);
      pages[4]!.free();
      const f = sys.pageCache.createFile("f");
      f.write(0, 1);
      f.writeback(0, 1, { wait: false });
      for (const p of pages) if (p.alive && p.pfn % 2 === 1) p.free();
      expect(vmstatLines(sys, "nr_writeback ")).toEqual(["nr_writeback 1"]);
      sys.compactMemory();
      expect(f.pageState(0)).toMatchObject({ pfn: 59, writeback: false, dirty: false });
      expect(vmstatLines(sys, "nr_writeback ")).toEqual(["nr_writeback 0"]);
      expect(sys.stats().pgmigrateFail).toBe(1); // round 4's -ENOMEM, as above
      sys.check();
      return f.pageState(0)!.pfn;
    });
  });

  it("an unmovable order-1 request: async skips movable pageblocks, then a sync round frees a block to steal", async () => {
    // Not movable, so the slow path compacts at COMPACT_PRIO_ASYNC first. Async
    // direct compaction takes sources only from pageblocks of the request's type
    // (suitable_migration_source()): every block is movable, none is scanned, the
    // scanners meet: COMPACT_COMPLETE, one stall, one failure, no deferral (async).
    // SYNC_LIGHT then scans every type: block [0,8) is finished as in the tests
    // above, its targets found as in the order-2 test (fast_isolate_freepages()
    // with search_order min(1 - 1, 1) = 0 walks 1, 3, 5, 7, then takes min_pfn 32:
    // 6→33, 4→35, 2→37, 0→39). Its order-1 and order-2 blocks are not
    // captured: compaction_capture() keeps an unmovable request out of a movable
    // pageblock below pageblock order. When 0 merges, [0,8) is one free order-3
    // block; at the next pageblock boundary __compact_finished() sees that an
    // unmovable request could steal it (find_suitable_fallback(), can_steal for
    // unmovable) and reports COMPACT_SUCCESS. The retried freelist takes it through
    // __rmqueue_fallback(): the whole pageblock becomes unmovable, pfn 0 is returned.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = evenPagesHeld(sys);
      expect(sys.allocPages(1, "unmovable")).toBe(0);
      expect(placement(pages)).toMatchObject({ 0: 39, 2: 37, 4: 35, 6: 33 });
      expect(sys.pageblockMigratetype(0)).toBe("unmovable");
      expect([sys.pageInfo(2).state, sys.pageInfo(2).order, sys.pageInfo(4).order]).toEqual(["free", 1, 2]);
      const s = sys.stats();
      expect([s.compactStall, s.compactSuccess, s.compactFail]).toEqual([2, 1, 1]);
      expect([s.compactMigrateScanned, s.compactFreeScanned, s.compactIsolated, s.pgmigrateSuccess]).toEqual([
        8, 12, 8, 4,
      ]);
      expect([s.extfragEvents, s.extfragClaimed]).toEqual([1, 1]);
      expect(sys.compactionState()).toMatchObject({ deferShift: 0, considered: 0, orderFailed: 2 });
    });
  });

  it("does nothing with compaction off (createSystem, setPolicy, or the request's compact: false)", async () => {
    for (const how of ["option", "policy", "flag"] as const) {
      await onBoth({ ...BUDDY_ONLY, ...TINY, compaction: how !== "option" }, (sys) => {
        evenPagesHeld(sys);
        if (how === "policy") sys.setPolicy({ compaction: false });
        const pfn =
          how === "flag" ? sys.allocPages(2, "movable", { compact: false }) : (sys.allocMovable(2)?.pfn ?? null);
        expect(pfn).toBeNull();
        const s = sys.stats();
        // allocFail: the order-0 request that found the machine full, and this one.
        expect([s.compactStall, s.compactMigrateScanned, s.pgmigrateSuccess, s.allocFail]).toEqual([0, 0, 0, 2]);
        expect(sys.stats().allocFailByOrder[2]).toBe(1);
      });
    }
  });

  it("never compacts for GFP_ATOMIC requests or order 0", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      evenPagesHeld(sys);
      expect(sys.allocPages(2, "movable", { atomic: true })).toBeNull();
      expect(sys.stats().compactStall).toBe(0);
    });
  });

  it("backs off by deferral: a failing costly order compacts at 1, 2, 4, 8 ... attempts", async () => {
    // 128 pages, MAX_PAGE_ORDER 4; pages at even pfns, all pinned: nothing can move.
    // Order 4 is costly: an async round first, then one at SYNC_LIGHT, then the
    // slow path gives up (no __GFP_RETRY_MAYFAIL).
    // Allocation 1: async: each pageblock fails at its first page (pinned) and
    //   async direct compaction skips to the next order-4-aligned pfn, past the
    //   block: 1 page scanned per block, 15 blocks below free_pfn 120, each marked
    //   skip. Scanners meet: COMPACT_COMPLETE, not deferred (async). SYNC_LIGHT:
    //   every block's skip hint is set: nothing scanned; COMPLETE → defer_compaction():
    //   shift 1, considered 0. Two stalls, two failures.
    // Then each attempt counts compact_considered twice (async, then SYNC_LIGHT);
    // compaction runs when it reaches 1 << shift, and defers further:
    //   alloc 2: 1 (deferred), 2 ≥ 2 runs → shift 2       alloc 5: 1, 2 → (3, 2)
    //   alloc 3: 1, 2 deferred → (2, 2)                     alloc 6: 3, 4 → (3, 4)
    //   alloc 4: 3 deferred, 4 runs → shift 3               alloc 7: 5, 6 → (3, 6)
    //                                                       alloc 8: 7, 8 runs → shift 4
    // A deferred round is still a stall (__alloc_pages_direct_compact() counts all
    // but COMPACT_SKIPPED).
    await onBoth({ ...BUDDY_ONLY, ...SMALL }, (sys) => {
      const pages = evenPagesHeld(sys);
      for (const p of pages) p.pin();
      const states: [number, number][] = [];
      for (let i = 0; i < 8; i++) {
        expect(sys.allocPages(4, "movable")).toBeNull();
        const st = sys.compactionState();
        states.push([st.deferShift, st.considered]);
      }
      expect(states).toEqual([
        [1, 0],
        [2, 0],
        [2, 2],
        [3, 0],
        [3, 2],
        [3, 4],
        [3, 6],
        [4, 0],
      ]);
      const s = sys.stats();
      expect([s.compactStall, s.compactFail, s.compactSuccess]).toEqual([16, 16, 0]);
      expect([s.compactMigrateScanned, s.compactFreeScanned, s.compactIsolated]).toEqual([15, 0, 0]);
      expect(sys.compactionState().blockskipFlush).toBe(true);
      // The slow path woke kswapd (the node is not balanced: no free order-4 block).
      // Its pass at the next advanceTime() ends in kswapd_try_to_sleep():
      // reset_isolation_suitable() finds compact_blockskip_flush set and walks the
      // zone from both ends, a pageblock a side, until they meet (blocks 0..56 as
      // sources, 120..64 as targets). __reset_isolation_pfn() samples every
      // 1 << PAGE_ALLOC_COSTLY_ORDER = 8th page, here each block's first, an even,
      // held pfn: PageLRU clears the source side's hints; the target side (free_set
      // never set) looks for PageBuddy only and clears none.
      // With reclaim (6.12's kswapd() loop): balance_pgdat(order 4) finds nothing to
      // reclaim at any priority (no page cache), kswapd_failures 1, and returns
      // sc.order 4, not below alloc_order, so kswapd() goes round to its top and
      // tries to sleep with kswapd_order, reset to 0 meanwhile: balanced at order 0,
      // it resets the skip hints and calls wakeup_kcompactd(order 0), which returns
      // at once. kcompactd stays asleep; the zone's deferral is untouched (considered 0).
      expect(sys.kswapdState()).toMatchObject({ woken: true, order: 4 });
      expect(sys.pageblockSkip(0)).toBe(true);
      sys.advanceTime(0);
      expect(sys.kswapdState()).toMatchObject({ ranLastAdvance: true, passesLastAdvance: 1, failures: 1 });
      expect(sys.kcompactdState().woken).toBe(false);
      expect(sys.compactionState()).toMatchObject({ blockskipFlush: false, deferShift: 4, considered: 0 });
      expect([0, 56, 64, 112].map((pfn) => sys.pageblockSkip(pfn))).toEqual([false, false, true, true]);
      for (const p of pages) p.unpin();
      return states;
    });
  });

  it("__GFP_NORETRY: a costly order stops after a deferred async round", async () => {
    await onBoth({ ...BUDDY_ONLY, ...SMALL }, (sys) => {
      const pages = evenPagesHeld(sys);
      for (const p of pages) p.pin();
      expect(sys.allocPages(4, "movable")).toBeNull(); // deferral shift 1, considered 0
      expect(sys.allocPages(4, "movable", { noretry: true })).toBeNull();
      // Async round deferred (considered 1 < 2): no SYNC_LIGHT round follows.
      expect(sys.lastCompactResult).toBe("deferred");
      expect(sys.compactionState()).toMatchObject({ deferShift: 1, considered: 1 });
      expect(sys.stats().compactStall).toBe(3);
      for (const p of pages) p.unpin();
    });
  });
});

describe("compaction_suitable() and the fragmentation index", () => {
  it("compacts a costly order only when its fragmentation index exceeds vm.extfrag_threshold", async () => {
    // 64 free order-0 blocks of 128 pages. fragmentation_index(order 4) =
    // 1000 - (1000 + 64 * 1000 / 16) / 64 = 1000 - 5000 / 64 = 1000 - 78 = 922;
    // order 3: 1000 - (1000 + 8000) / 64 = 1000 - 140 = 860; order 0: a block is free, -1000.
    await onBoth({ ...BUDDY_ONLY, ...SMALL }, (sys) => {
      evenPagesHeld(sys);
      expect([0, 3, 4].map((o) => sys.fragmentationIndex(o))).toEqual([-1000, 860, 922]);
      expect(sys.compactionSuitable(4)).toBe("continue");
      sys.writeFile("/proc/sys/vm/extfrag_threshold", "950\n");
      expect(sys.readFile("/proc/sys/vm/extfrag_threshold")).toBe("950\n");
      expect(sys.compactionSuitable(4)).toBe("not_suitable_zone");
      // Non-costly orders ignore the index (the alternative would be the OOM killer).
      expect(sys.compactionSuitable(3)).toBe("continue");
      // So an order-4 request is not compacted at all: COMPACT_SKIPPED, no stall.
      expect(sys.allocPages(4, "movable")).toBeNull();
      expect(sys.lastCompactResult).toBe("skipped");
      expect(sys.stats().compactStall).toBe(0);
    });
  });

  it("skips a zone without order-0 pages to migrate into (watermark + compact_gap())", async () => {
    // 64 pages, 4 free after freeing pfns 1, 3, 5, 7: min 0 + compact_gap(1) = 4, and
    // __zone_watermark_ok() needs free > mark: 4 is not enough for order 1.
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      const pages = fillMovable(sys);
      for (const p of pages) if (p.pfn < 8 && p.pfn % 2 === 1) p.free();
      expect(sys.compactionSuitable(1)).toBe("skipped");
      expect(sys.compactionSuitable(0)).toBe("continue");
      expect(sys.allocMovable(1)).toBeNull();
      expect(sys.stats().compactStall).toBe(0);
    });
  });

  it("rejects bad arguments without touching the machine", async () => {
    await onBoth({ ...BUDDY_ONLY, ...TINY }, (sys) => {
      expectUntouched(sys, "EINVAL", () => sys.compactionSuitable(4));
      expectUntouched(sys, "EINVAL", () => sys.fragmentationIndex(-1));
      expectUntouched(sys, "EINVAL", () => sys.compactionState("DMA"));
      expectUntouched(sys, "EINVAL", () => sys.pageblockSkip(64));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ compaction: "no" as unknown as boolean }));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ extfragThreshold: 1001 }));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ compaction: false, extfragThreshold: -1 }));
      expectUntouched(sys, "EINVAL", () => sys.allocPages(1, "movable", { noretry: 1 as unknown as boolean }));
      expectUntouched(sys, "EINVAL", () => sys.allocPages(1, "movable", { compact: "no" as unknown as boolean }));
    });
    await expect(
      createSystem({ ...BUDDY_ONLY, ...TINY, compaction: "no" as unknown as boolean }),
    ).rejects.toMatchObject({
      code: "EINVAL",
    });
  });
});

describe("compaction under a random workload", () => {
  it("keeps every invariant and every page accounted for, on both backends alike", async () => {
    // Seeded mixes of movable and unmovable blocks, frees, pins, compact_memory and
    // high-order requests that compact directly. After every step the free pages
    // plus the pages the test holds make up the machine: an isolated free page
    // left behind by compaction would be missing from both.
    // With reclaim (6.12's slow path), compaction is retried at higher priorities
    // only after a round whose direct reclaim made progress: the workload keeps a
    // file's pages in the page cache (reads of 1..4 pages) for reclaim to take.
    const OPTIONS: SystemOptions = { ramBytes: 1024 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 16 };
    await onBoth({ ...BUDDY_ONLY, ...OPTIONS }, (sys) => {
      const rnd = sys.random;
      const movable: Page[] = [];
      const unmovable: [number, number][] = [];
      const pinned = new Set<Page>();
      const file = sys.pageCache.createFile("data");
      const held = () =>
        movable.reduce((n, p) => n + 2 ** p.order, 0) +
        unmovable.reduce((n, [, order]) => n + 2 ** order, 0) +
        sys.pageCache.lruStats().filePages;
      let granted = 0;
      for (let step = 0; step < 3000; step++) {
        const r = rnd.int(100);
        if (r < 8) {
          const index = rnd.int(512);
          try {
            file.read(index, 1 + rnd.int(4));
          } catch (e) {
            expect(e).toMatchObject({ code: "ENOMEM" });
          }
        } else if (r < 40) {
          const page = sys.allocMovable(rnd.int(3));
          if (page) movable.push(page);
        } else if (r < 55) {
          const order = rnd.int(2);
          const pfn = sys.allocPages(order, rnd.int(2) ? "unmovable" : "reclaimable");
          if (pfn !== null) unmovable.push([pfn, order]);
        } else if (r < 85) {
          if (movable.length > 0) {
            const i = rnd.int(movable.length);
            const page = movable[i]!;
            if (pinned.has(page)) {
              page.unpin();
              pinned.delete(page);
            }
            page.free();
            movable.splice(i, 1);
          }
        } else if (r < 90) {
          if (unmovable.length > 0) {
            const [pfn, order] = unmovable.splice(rnd.int(unmovable.length), 1)[0]!;
            sys.freePages(pfn, order);
          }
        } else if (r < 93) {
          if (movable.length > 0) {
            const page = movable[rnd.int(movable.length)]!;
            if (!pinned.has(page)) {
              page.pin();
              pinned.add(page);
            }
          }
        } else if (r < 95) {
          sys.compactMemory();
        } else {
          const order = 3 + rnd.int(4);
          const movableRequest = rnd.int(2) === 0;
          const pfn = movableRequest
            ? (sys.allocMovable(order)?.pfn ?? null)
            : sys.allocPages(order, "unmovable", rnd.int(4) === 0 ? { noretry: true } : {});
          if (pfn !== null) {
            granted++;
            if (movableRequest) movable.push(sys.ownerOf(pfn)!);
            else unmovable.push([pfn, order]);
          }
        }
        expect(sys.stats().nrFreePages + held()).toBe(sys.nrPages);
        if (step % 250 === 0) sys.check();
      }
      for (const page of pinned) expect(sys.pageInfo(page.pfn).shortPins).toBe(1);
      const s = sys.stats();
      // The workload did exercise compaction.
      expect(s.compactStall).toBeGreaterThan(0);
      expect(s.compactSuccess).toBeGreaterThan(0);
      expect(s.compactMigrateScanned).toBeGreaterThan(0);
      return { granted, ...s };
    });
  });
});
