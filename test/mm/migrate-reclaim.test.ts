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

// 256 pages, no pcp lists, one zone (Normal); watermarks min 32, low 40, high 48.
const SMALL: SystemOptions = { ramBytes: 256 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 128, pcp: false };

/** Owner ids on `lru` whose pfn is in [startPfn, endPfn), in pfn order (the batch order of isolate_migratepages_range()). */
function idsInRange(sys: System, ids: number[], startPfn: number, endPfn: number): number[] {
  const e = internals(sys).engine;
  return ids
    .map((id) => ({ id, pfn: e.ownerPfn(id) }))
    .filter(({ pfn }) => pfn >= startPfn && pfn < endPfn)
    .sort((a, b) => a.pfn - b.pfn)
    .map(({ id }) => id);
}

describe("LRU positions after migration (folio_add_lru(dst), folio_putback_lru())", () => {
  const OPTIONS: SystemOptions = { ...SMALL, cma: [{ name: "c", bytes: 64 * PAGE }] };

  it("cma_alloc(): migrated folios go to the head of their lists, newest migration first, flags kept", async () => {
    await onBoth(OPTIONS, (sys) => {
      const area = sys.cma("c");
      const end = area.basePfn + area.count;
      for (let i = 0; i < 150; i++) sys.allocMovable(0);
      const f = sys.pageCache.createFile("f");
      f.write(0, 6); // dirty: reclaim_clean_pages_from_list() leaves them to migration
      f.add(6, 4); // clean: dropped
      f.read(1, 1);
      f.read(2, 1); // (a read that ends elsewhere, so that the next read of 1 counts: pos_same_folio())
      f.read(1, 1); // index 1 activated: active_file, dirty
      const lists = [LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE].map((lru) => lruList(sys, lru));
      const dropped = [6, 7, 8, 9].filter((i) => inArea(sys, "c", f.pageState(i)!.pfn));
      expect(inArea(sys, "c", f.pageState(1)!.pfn)).toBe(true);
      // Expected: each list's members in the area, migrated in pfn order, each
      // folio_add_lru() at the head, so they lead in descending old pfn; the
      // rest keep their order behind them. Dropped clean pages leave the lists.
      const droppedIds = new Set(dropped.map((i) => f.page(i)!.id));
      const expected = lists.map((ids) => {
        const moved = idsInRange(sys, ids, area.basePfn, end).filter((id) => !droppedIds.has(id));
        const movedSet = new Set(moved);
        return [...moved.reverse(), ...ids.filter((id) => !movedSet.has(id) && !droppedIds.has(id))];
      });
      expect(lists[0]!.length - expected[0]!.length).toBe(0);
      expect(idsInRange(sys, lists[0]!, area.basePfn, end).length).toBeGreaterThan(1);
      expect(dropped.length).toBeGreaterThan(0);
      expect(area.alloc(area.count)).toBe(area.basePfn);
      expect([LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE].map((lru) => lruList(sys, lru))).toEqual(expected);
      // folio_migrate_flags(): the active dirty page is still both.
      expect(f.pageState(1)).toMatchObject({ lru: "active_file", dirty: true });
      for (const i of dropped) expect(f.has(i)).toBe(false);
      sys.check();
      return { expected, dropped };
    });
  });

  it("a failed cma_alloc() puts the isolated folio back at the head (putback_movable_pages())", async () => {
    await onBoth(OPTIONS, (sys) => {
      const area = sys.cma("c");
      const end = area.basePfn + area.count;
      const anon: MovablePage[] = [];
      for (let i = 0; i < 150; i++) anon.push(sys.allocMovable(0)!);
      const before = lruList(sys, LRU_INACTIVE_ANON);
      const inArea0 = idsInRange(sys, before, area.basePfn, end);
      // A short-term pin on the first: every pass fails it with -EAGAIN; after
      // 5 passes __alloc_contig_migrate_range() gives up (-EBUSY). The other
      // members of its batch (all in the first 32 pages) migrated in pass 1.
      const pinned = anon.find((p) => p.id === inArea0[0])!;
      pinned.pin();
      const pfnsBefore = new Map(before.map((id) => [id, internals(sys).engine.ownerPfn(id)]));
      expect(area.alloc(area.count)).toBeNull();
      expect(area.lastError).toBe(-16); // -EBUSY
      const moved = inArea0.filter((id) => internals(sys).engine.ownerPfn(id) !== pfnsBefore.get(id));
      expect(moved).toEqual(inArea0.slice(1));
      // Migrated ones were added at the head after pass 1 (descending pfn); the
      // pinned one was put back last, at the very head.
      const movedSet = new Set(moved);
      const expected = [
        pinned.id,
        ...[...moved].reverse(),
        ...before.filter((id) => id !== pinned.id && !movedSet.has(id)),
      ];
      expect(lruList(sys, LRU_INACTIVE_ANON)).toEqual(expected);
      pinned.unpin();
      sys.check();
      return expected;
    });
  });

  it("migrateOwner(): the folio leaves its place and lands at the head", async () => {
    await onBoth(SMALL, (sys) => {
      const anon: MovablePage[] = [];
      for (let i = 0; i < 8; i++) anon.push(sys.allocMovable(0)!);
      // New anonymous folios go to the head: anon[0] is the tail.
      expect(lruList(sys, LRU_INACTIVE_ANON)).toEqual(anon.map((p) => p.id).reverse());
      const pfn = anon[0]!.migrate();
      expect(pfn).not.toBe(0);
      const rest = anon
        .slice(1)
        .map((p) => p.id)
        .reverse();
      expect(lruList(sys, LRU_INACTIVE_ANON)).toEqual([anon[0]!.id, ...rest]);
      // A failed migration (pinned: -EAGAIN → EBUSY) puts it back at the head too.
      anon[3]!.pin();
      expect(() => anon[3]!.migrate()).toThrow();
      expect(lruList(sys, LRU_INACTIVE_ANON)[0]).toBe(anon[3]!.id);
      anon[3]!.unpin();
      sys.check();
      return pfn;
    });
  });
});

describe("a folio being migrated is off the LRU: reclaim in its target allocation cannot take it", () => {
  // CMA 160 pages [96, 256): the page cache fills CMA first (free CMA pages are
  // more than half the free pages, __rmqueue()), so index 0, the oldest page
  // and the tail of the inactive file list, is in the area.
  const OPTIONS: SystemOptions = { ...SMALL, cma: [{ name: "c", bytes: 160 * PAGE }] };

  it("pin_user_pages(FOLL_LONGTERM) of the reclaim tail: direct reclaim frees others, the page moves intact", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("f");
      f.add(0, 200);
      const page = f.page(0)!;
      const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      page.write(bytes);
      expect(inArea(sys, "c", page.pfn)).toBe(true);
      expect(lruList(sys, LRU_INACTIVE_FILE).at(-1)).toBe(page.id);
      const s0 = sys.stats();
      const normal = sys.zones()[0]!;
      // The target is GFP_USER (MIGRATE_UNMOVABLE, no ALLOC_CMA): the watermark
      // check subtracts free CMA pages, free - freeCma <= min fails, so the
      // allocation must direct-reclaim.
      expect(normal.freePages - normal.freeCmaPages).toBeLessThanOrEqual(normal.watermarks.min);
      const pfn = page.pinLongterm();
      const s1 = sys.stats();
      const stolen = s1.pgstealDirect - s0.pgstealDirect;
      expect(stolen).toBeGreaterThan(0);
      expect(s1.allocstallNormal - s0.allocstallNormal).toBeGreaterThan(0);
      // Reclaim took other pages from the tail, never index 0: it is still cached,
      // moved out of the area with its contents, at the head of its list.
      expect(inArea(sys, "c", pfn)).toBe(false);
      expect(f.pageState(0)).toMatchObject({ pfn, lru: "inactive_file", dirty: false });
      expect(f.page(0)!.id).toBe(page.id);
      expect(page.read(0, 8)).toEqual(bytes);
      expect(lruList(sys, LRU_INACTIVE_FILE)[0]).toBe(page.id);
      expect(f.nrPages).toBe(200 - stolen);
      expect(s1.longtermMigrated - s0.longtermMigrated).toBe(1);
      page.unpinLongterm();
      sys.check();
      return { pfn, stolen };
    });
  });
});

describe("alloc_contig_range() migrates MIGRATE_SYNC: it waits for writeback", () => {
  // CMA 160 pages [96, 256): the page cache fills CMA first (see above).
  const OPTIONS: SystemOptions = { ...SMALL, cma: [{ name: "c", bytes: 160 * PAGE }] };

  it("cma_alloc() over a folio under writeback: the I/O completes (folio_wait_writeback()) and the folio moves", async () => {
    await onBoth(OPTIONS, (sys) => {
      const area = sys.cma("c");
      const f = sys.pageCache.createFile("f");
      f.write(0, 8);
      expect(f.writeback(0, 8, { wait: false })).toBe(8);
      const inArea0 = [...Array(8).keys()].filter((i) => inArea(sys, "c", f.pageState(i)!.pfn));
      expect(inArea0.length).toBe(8);
      expect(area.alloc(area.count)).toBe(area.basePfn);
      // Under writeback the folios are neither clean nor droppable (reclaim_clean_pages_from_list()
      // skips them): each was migrated, its writeback ended first.
      for (const i of inArea0) {
        expect(f.pageState(i)).toMatchObject({ writeback: false, dirty: false });
        expect(inArea(sys, "c", f.pageState(i)!.pfn)).toBe(false);
      }
      expect(sys.readFile("/proc/meminfo")).toMatch(/^Writeback:\s+0 kB$/m);
      sys.check();
      return inArea0.map((i) => f.pageState(i)!.pfn);
    });
  });
});

describe("compaction puts migrated folios at the head of their lists (6.12)", () => {
  // isolate_migratepages_block() takes each folio off its list
  // (lruvec_del_folio()) into cc->migratepages with list_add(), one pageblock's
  // batch at a time; migrate_pages() moves the newest isolation (highest pfn)
  // first and migrate_folio_move() re-adds each at the head (folio_add_lru()).
  // So within a batch the lowest old pfn ends up first, and the last batch (the
  // highest pageblock) leads the list. A batch that finds no target goes back
  // whole, at the head too (putback_movable_pages() → folio_putback_lru()).
  it("compactMemory(): moved folios lead, by pageblock descending then old pfn ascending; the rest keep their order", async () => {
    await onBoth(SMALL, (sys) => {
      const anon: MovablePage[] = [];
      for (let i = 0; i < 96; i++) anon.push(sys.allocMovable(0)!);
      // Holes: every third page goes, so the migrate scanner has sources and the free scanner targets.
      for (let i = 0; i < anon.length; i += 3) anon[i]!.free();
      const live = anon.filter((_, i) => i % 3 !== 0);
      const before = lruList(sys, LRU_INACTIVE_ANON);
      const pfnBefore = new Map(live.map((p) => [p.id, p.pfn]));
      sys.compactMemory();
      const moved = live.filter((p) => p.pfn !== pfnBefore.get(p.id)).map((p) => p.id);
      expect(moved.length).toBeGreaterThan(4);
      const pb = (id: number): number => Math.floor(pfnBefore.get(id)! / sys.pageblockNrPages);
      const lead = [...moved].sort((a, b) => pb(b) - pb(a) || pfnBefore.get(a)! - pfnBefore.get(b)!);
      const movedSet = new Set(moved);
      // The last batch, where the scanners met, found no targets (compaction_alloc() → -ENOMEM) and
      // went back at the head (putback_movable_pages(), newest first: ascending pfn), unmoved.
      const after = lruList(sys, LRU_INACTIVE_ANON);
      const putBack = after.slice(
        0,
        after.findIndex((id) => movedSet.has(id)),
      );
      expect(putBack.length).toBeGreaterThan(0); // here: the 4 pages left in the meeting pageblock
      expect(putBack.length).toBeLessThanOrEqual(32); // COMPACT_CLUSTER_MAX
      expect(new Set(putBack.map(pb)).size).toBeLessThanOrEqual(1);
      expect(putBack).toEqual([...putBack].sort((a, b) => pfnBefore.get(a)! - pfnBefore.get(b)!));
      const putBackSet = new Set(putBack);
      expect(after).toEqual([...putBack, ...lead, ...before.filter((id) => !movedSet.has(id) && !putBackSet.has(id))]);
      sys.check();
      return { lead, putBack };
    });
  });
});

describe("no reclaimable memory: cma_alloc() still fails with -ENOMEM", () => {
  it("anonymous memory only (no swap): the targets cannot be found, nothing leaks", async () => {
    await onBoth({ ...SMALL, cma: [{ name: "c", bytes: 64 * PAGE }] }, (sys) => {
      const area = sys.cma("c");
      const anon: MovablePage[] = [];
      for (;;) {
        const p = sys.allocMovable(0);
        if (p === null) break;
        anon.push(p);
      }
      const inArea0 = anon.filter((p) => inArea(sys, "c", p.pfn)).length;
      expect(inArea0).toBeGreaterThan(0);
      const free = freeMemory(sys);
      const s0 = sys.stats();
      const anonList = lruList(sys, LRU_INACTIVE_ANON).length;
      expect(area.alloc(area.count)).toBeNull();
      expect(area.lastError).toBe(-12); // -ENOMEM
      const s1 = sys.stats();
      // Reclaim found nothing to free (anonymous folios are not reclaimed without swap).
      expect(s1.pgstealDirect).toBe(s0.pgstealDirect);
      // Every page is accounted: migrated ones swapped a frame for a frame, the
      // batch went back on the LRU, the range's pages back to the allocator.
      expect(freeMemory(sys)).toBe(free);
      expect(lruList(sys, LRU_INACTIVE_ANON).length).toBe(anonList);
      expect(area.available).toBe(area.count);
      sys.check();
      return { inArea0, free };
    });
  });
});
