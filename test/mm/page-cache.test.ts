import { describe, expect, it } from "vitest";
import type { SystemOptions } from "dmasim";
import { PAGE, dmaSimErrorOf, onBoth } from "../helpers.ts";

// 256 pages, no pcp lists; watermarks min 32, low 40, high 48 (see reclaim.test.ts).
const OPTIONS: SystemOptions = { ramBytes: 256 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 128, pcp: false };

describe("the page cache (filemap_add_folio(), folio_mark_accessed())", () => {
  it("adds pages on the inactive file list; the second access activates", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("a");
      f.add(0, 4);
      expect(f.nrPages).toBe(4);
      expect(f.pageState(0)).toMatchObject({ lru: "inactive_file", referenced: false, dirty: false });
      // First access: PG_referenced.
      expect(f.read(0)).toBe(1);
      expect(f.pageState(0)).toMatchObject({ lru: "inactive_file", referenced: true });
      // The same page again at once is not a second access: filemap_read() marks a read's first
      // folio only when the file's previous read did not end in it (pos_same_folio() against
      // ra->prev_pos - 1, here the last byte of page 0).
      expect(f.read(0)).toBe(1);
      expect(f.pageState(0)).toMatchObject({ lru: "inactive_file", referenced: true });
      expect(sys.stats().pgactivate).toBe(0);
      // After a read that ended elsewhere (page 2), page 0 again is the second access:
      // folio_activate() to the active list, PG_referenced cleared, pgactivate 1.
      f.read(2);
      expect(f.read(0)).toBe(1);
      expect(f.pageState(0)).toMatchObject({ lru: "active_file", referenced: false });
      expect(sys.stats().pgactivate).toBe(1);
      // A third access only sets PG_referenced again.
      f.read(3);
      f.read(0);
      expect(f.pageState(0)).toMatchObject({ lru: "active_file", referenced: true });
      // A miss reads the page in, then marks it accessed (filemap_read()): referenced.
      expect(f.read(10, 2)).toBe(0);
      expect(f.pageState(10)).toMatchObject({ lru: "inactive_file", referenced: true });
      // A write dirties without marking accessed (FGP_WRITEBEGIN has no FGP_ACCESSED).
      expect(f.write(1, 2)).toBe(2);
      expect(f.write(20)).toBe(0);
      expect(f.pageState(1)).toMatchObject({ dirty: true, referenced: false });
      expect(f.pageState(20)).toMatchObject({ dirty: true, lru: "inactive_file" });
      expect(sys.pageCache.lruStats()).toEqual({
        inactiveAnon: 0,
        activeAnon: 0,
        inactiveFile: 6,
        activeFile: 1,
        filePages: 7,
        dirty: 3,
        writeback: 0,
      });
      // Anonymous movable pages go on the inactive anon list, a folio counting 1 << order.
      sys.allocMovable(2);
      expect(sys.pageCache.lruStats()).toMatchObject({ inactiveAnon: 4, activeAnon: 0 });
      return sys.pageCache.lruStats();
    });
  });

  it("a read's first page is not marked again when the previous read ended in it (pos_same_folio())", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("a");
      f.add(0, 4);
      f.read(2);
      f.read(3);
      f.read(0);
      f.read(1);
      f.read(0);
      // Page 0 active (second access after a read that ended in 1), 1..3 referenced; the last read ended in 0.
      expect(f.pageState(0)).toMatchObject({ lru: "active_file", referenced: false });
      expect(sys.stats().pgactivate).toBe(1);
      // A read of 0..3 skips 0 (still not referenced), activates 1, 2 and 3; a read of 3..4 then
      // skips 3 and reads 4 in (referenced). Only a read's first page is ever skipped.
      f.read(0, 4);
      expect(f.pageState(0)).toMatchObject({ lru: "active_file", referenced: false });
      expect([1, 2, 3].map((i) => f.pageState(i)!.lru)).toEqual(["active_file", "active_file", "active_file"]);
      expect(f.read(3, 2)).toBe(1);
      expect(f.pageState(3)).toMatchObject({ lru: "active_file", referenced: false });
      expect(f.pageState(4)).toMatchObject({ lru: "inactive_file", referenced: true });
      expect(sys.stats().pgactivate).toBe(4);
      return sys.pageCache.lruStats();
    });
  });

  it("writes back at once, or under writeback until the clock moves", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("log");
      f.write(0, 8);
      expect(f.writeback(0, 4, { wait: false })).toBe(4);
      expect(sys.pageCache.lruStats()).toMatchObject({ dirty: 4, writeback: 4 });
      expect(f.pageState(0)).toMatchObject({ dirty: false, writeback: true });
      expect(sys.readFile("/proc/meminfo")).toContain("Dirty:                16 kB\nWriteback:            16 kB\n");
      // Pages under writeback are not written again.
      expect(f.writeback(0, 4)).toBe(0);
      sys.advanceTime(0); // folio_end_writeback() of the I/O in flight
      expect(sys.pageCache.lruStats()).toMatchObject({ dirty: 4, writeback: 0 });
      expect(f.writeback()).toBe(4);
      expect(sys.pageCache.lruStats()).toMatchObject({ dirty: 0, writeback: 0 });
      return sys.stateHash();
    });
  });

  it("truncates and deletes in index order; pinned pages refuse it", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("t");
      f.add(0, 10);
      const free = sys.stats().nrFreePages;
      expect(f.truncate(6)).toBe(4);
      expect(f.nrPages).toBe(6);
      expect(sys.stats().nrFreePages).toBe(free + 4);
      const page = f.page(2)!;
      page.pin();
      const before = sys.stateHash();
      expect(dmaSimErrorOf(() => f.truncate(0)).code).toBe("EBUSY");
      expect(dmaSimErrorOf(() => f.delete()).code).toBe("EBUSY");
      expect(sys.stateHash()).toBe(before);
      page.unpin();
      // A page cache page is freed only through its file.
      expect(dmaSimErrorOf(() => page.free()).code).toBe("EINVAL");
      expect(f.delete()).toBe(6);
      expect(f.alive).toBe(false);
      expect(sys.stats().nrFreePages).toBe(free + 10);
      expect(dmaSimErrorOf(() => page.pfn).code).toBe("EINVAL");
      expect(dmaSimErrorOf(() => f.read(0)).code).toBe("EINVAL");
      return sys.stateHash();
    });
  });

  it("refuses bad arguments with EINVAL (EEXIST for a cached index) and changes nothing", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("x");
      f.add(5, 2);
      const before = sys.stateHash();
      const bad: [() => unknown, string][] = [
        [() => f.add(-1), "EINVAL"],
        [() => f.add(0, 0), "EINVAL"],
        [() => f.add(1.5), "EINVAL"],
        [() => f.add(2 ** 31 - 2, 2), "EINVAL"],
        [() => f.add(0, 1, { dirty: "yes" as never }), "EINVAL"],
        [() => f.add(4, 2), "EEXIST"],
        [() => f.read(0, -1), "EINVAL"],
        [() => f.write(NaN), "EINVAL"],
        [() => f.writeback(0, 1, { wait: 1 as never }), "EINVAL"],
        [() => f.truncate(-3), "EINVAL"],
        [() => sys.pageCache.dropCaches(0), "EINVAL"],
        [() => sys.pageCache.dropCaches(5), "EINVAL"],
        [() => sys.pageCache.createFile(3 as never), "EINVAL"],
      ];
      for (const [fn, code] of bad) expect(dmaSimErrorOf(fn).code).toBe(code);
      expect(sys.stateHash()).toBe(before);
      expect(f.nrPages).toBe(2);
      return before;
    });
  });

  it("fails a range with ENOMEM, removing what the call added", async () => {
    await onBoth(OPTIONS, (sys) => {
      // Anonymous memory (no swap) down to the min watermark: nothing reclaimable.
      while (sys.allocMovable(0)) {
        /* fill */
      }
      const f = sys.pageCache.createFile("big");
      const err = dmaSimErrorOf(() => f.add(0, 10));
      expect(err.code).toBe("ENOMEM");
      expect(f.nrPages).toBe(0);
      expect(sys.pageCache.lruStats().filePages).toBe(0);
      expect(dmaSimErrorOf(() => f.read(0, 3)).code).toBe("ENOMEM");
      expect(f.nrPages).toBe(0);
      return sys.stats().allocFail;
    });
  });
});

describe("page cache pages move", () => {
  it("with compaction: lookups and contents follow the page", async () => {
    // As compaction.test.ts's machines: 128 pages, pageblocks of 8, no watermarks.
    const small = { ramBytes: 128 * PAGE, pageblockOrder: 3, maxOrder: 4, minFreeKbytes: 0, pcp: false };
    await onBoth(small, (sys) => {
      // Two files interleaved page by page; deleting one leaves holes.
      const a = sys.pageCache.createFile("a");
      const b = sys.pageCache.createFile("b");
      for (let i = 0; i < 64; i++) {
        a.add(i);
        b.add(i);
      }
      for (let i = 0; i < 64; i++) a.page(i)!.write(new Uint8Array([i, 0xa5]));
      b.delete();
      const before = Array.from({ length: 64 }, (_, i) => a.pageState(i)!.pfn);
      sys.compactMemory();
      const after = Array.from({ length: 64 }, (_, i) => a.pageState(i)!.pfn);
      expect(after).not.toEqual(before);
      expect(sys.stats().pgmigrateSuccess).toBeGreaterThan(0);
      for (let i = 0; i < 64; i++) {
        expect(Array.from(a.page(i)!.read(0, 2))).toEqual([i, 0xa5]);
        expect(a.pageState(i)).toMatchObject({ lru: "inactive_file" });
      }
      // The LRU order survived: reclaim still takes index 0 first (drop_caches aside).
      return after;
    });
  });

  it("with CMA: cma_alloc() drops clean cached pages of its range and migrates dirty ones", async () => {
    // __alloc_contig_migrate_range() runs reclaim_clean_pages_from_list() on each
    // isolated batch before migrate_pages(): clean, unpinned page cache folios are
    // freed (they leave the mapping), dirty ones cannot be and are migrated out.
    await onBoth({ ...OPTIONS, cma: [{ name: "c", bytes: 64 * PAGE }] }, (sys) => {
      const f = sys.pageCache.createFile("c");
      f.add(0, 150);
      const inCma = (pfn: number) => pfn >= sys.cma("c").basePfn && pfn < sys.cma("c").basePfn + 64;
      const cachedInCma = Array.from({ length: 150 }, (_, i) => i).filter((i) => inCma(f.pageState(i)!.pfn));
      expect(cachedInCma.length).toBeGreaterThan(1);
      const dirty = cachedInCma.filter((_, k) => k % 2 === 0);
      for (const i of dirty) f.write(i);
      const clean = cachedInCma.filter((i) => !dirty.includes(i));
      const pfn = sys.cma("c").alloc(64);
      expect(pfn).not.toBeNull();
      for (const i of dirty) expect(inCma(f.pageState(i)!.pfn)).toBe(false);
      for (const i of clean) expect(f.pageState(i)).toBeNull();
      expect(f.nrPages).toBe(150 - clean.length);
      sys.check();
      return cachedInCma.length;
    });
  });

  it("across zones: the zone's LRU size follows the page", async () => {
    // DMA32 [0, 128), Normal [128, 256). The cached page starts in Normal (the
    // zonelist's first); anonymous pages then fill Normal down to its min
    // watermark, so migrating the page (alloc_migration_target(): Normal and
    // below) lands it in DMA32, and lru_zone_size moves with it.
    const zones = [
      { name: "DMA32", endBytes: 128 * PAGE },
      { name: "Normal", endBytes: 256 * PAGE },
    ] as const;
    await onBoth({ ...OPTIONS, zones: [...zones] }, (sys) => {
      const f = sys.pageCache.createFile("z");
      f.add(0);
      expect(f.pageState(0)!.pfn).toBeGreaterThanOrEqual(128);
      expect([sys.pageCache.lruStats(1).inactiveFile, sys.pageCache.lruStats(2).inactiveFile]).toEqual([0, 1]);
      for (;;) {
        const p = sys.allocMovable(0)!;
        if (p.pfn < 128) break;
      }
      const pfn = f.page(0)!.migrate();
      expect(pfn).toBeLessThan(128);
      expect(f.pageState(0)!.pfn).toBe(pfn);
      expect([sys.pageCache.lruStats(1).inactiveFile, sys.pageCache.lruStats(2).inactiveFile]).toEqual([1, 0]);
      expect(sys.readFile("/proc/zoneinfo")).toMatch(/zone\s+DMA32[\s\S]*nr_zone_inactive_file 1\n/);
      return pfn;
    });
  });
});

describe("drop_caches (fs/drop_caches.c)", () => {
  it("drops clean, idle page cache only; dirty, writeback and pinned pages stay", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("d");
      f.add(0, 10);
      f.write(2, 2); // dirty 2, 3
      f.write(4);
      f.writeback(4, 1, { wait: false }); // 4 under writeback
      const pinned = f.page(6)!;
      pinned.pin();
      sys.writeFile("/proc/sys/vm/drop_caches", "1");
      expect(Array.from({ length: 10 }, (_, i) => i).filter((i) => f.has(i))).toEqual([2, 3, 4, 6]);
      expect(sys.stats()).toMatchObject({ dropPagecache: 1, dropSlab: 0 });
      // 2: slab only (nothing to drop here), counted; 4: the quiet bit alone.
      sys.writeFile("/proc/sys/vm/drop_caches", "2");
      sys.writeFile("/proc/sys/vm/drop_caches", "4");
      expect(f.nrPages).toBe(4);
      expect(sys.stats()).toMatchObject({ dropPagecache: 1, dropSlab: 1 });
      // Mode 0200: reads are refused; values outside 1..4 are EINVAL.
      expect(dmaSimErrorOf(() => sys.readFile("/proc/sys/vm/drop_caches")).code).toBe("EACCES");
      for (const v of ["0", "5", "-1", "x"])
        expect(dmaSimErrorOf(() => sys.writeFile("/proc/sys/vm/drop_caches", v)).code).toBe("EINVAL");
      pinned.unpin();
      f.writeback();
      sys.advanceTime(0);
      sys.writeFile("/proc/sys/vm/drop_caches", "3");
      expect(f.nrPages).toBe(0);
      expect(sys.readFile("/proc/vmstat")).toContain("\ndrop_pagecache 2\ndrop_slab 2\n");
      return sys.stateHash();
    });
  });
});
