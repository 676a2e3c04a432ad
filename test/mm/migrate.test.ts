import { describe, expect, it } from "vitest";
import { MIB, expectUntouched, fillMovable, onBoth } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

const RAM = 16 * MIB; // 4096 pages, pageblocks of 512
const ISOLATE = 5; // index of "isolate" in MIGRATETYPES

describe("owners and migration", () => {
  it("the owner's pfn follows the page, with its contents", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const page = sys.allocMovable(1)!;
      expect([page.pfn, page.order]).toEqual([0, 1]);
      const bytes = new Uint8Array(8192).map((_, i) => (i * 7) & 0xff);
      page.write(bytes);
      const to = page.migrate();
      expect(to).not.toBe(0);
      expect(page.pfn).toBe(to);
      expect(page.read()).toEqual(bytes);
      expect(sys.ownerOf(to)).toBe(page);
      expect(sys.ownerOf(0)).toBeNull();
      expect(sys.pageInfo(0).state).toBe("free");
      expect(sys.stats().pgmigrateSuccess).toBe(2);
      return to;
    });
  });

  it("pinned pages neither migrate nor free", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const page = sys.allocMovable(0)!;
      expect(page.pin()).toBe(page.pfn);
      expectUntouched(sys, "EBUSY", () => page.migrate());
      expectUntouched(sys, "EBUSY", () => page.free());
      page.unpin();
      expectUntouched(sys, "EINVAL", () => page.unpin());
      expectUntouched(sys, "EINVAL", () => page.unpinLongterm());
      page.free();
      expect(page.alive).toBe(false);
      expect(() => page.pfn).toThrow(expect.objectContaining({ code: "EINVAL" }));
      expect(sys.nrFreeByOrder()[10]).toBe(4);
    });
  });

  it("unmovable allocations have no owner", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const pfn = sys.allocPages(2, "unmovable")!;
      expect(sys.ownerOf(pfn)).toBeNull();
      expect(sys.pageInfo(pfn)).toMatchObject({ state: "allocated", order: 2, migratetype: "unmovable", owner: null });
    });
  });
});

describe("pageblock isolation", () => {
  it("isolates free pageblocks, hides their pages from the allocator, and gives them back", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.isolatePageRange(1024, 2048)).toBe(0);
      expect(sys.pageblockMigratetype(1024)).toBe("isolate");
      expect(sys.pageblockMigratetype(1536)).toBe("isolate");
      expect(sys.stats().nrFreePages).toBe(3072);
      expect(sys.testPagesIsolated(1024, 2048)).toBe(0);
      // Nothing can be allocated from there.
      const got = [];
      for (let pfn = sys.allocPages(10, "movable"); pfn !== null; pfn = sys.allocPages(10, "movable")) got.push(pfn);
      expect(got).toEqual([0, 2048, 3072]);
      // Isolating again is -EBUSY.
      expect(sys.isolatePageRange(1024, 1100)).toBe(-16);
      sys.undoIsolatePageRange(1024, 2048);
      expect(sys.pageblockMigratetype(1024)).toBe("movable");
      expect(sys.pageInfo(1024)).toMatchObject({ state: "free", order: 10, migratetype: "movable" });
      expect(sys.stats().nrFreePages).toBe(1024);
    });
  });

  it("splits a free block that spans more than the isolated pageblock", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.isolatePageRange(1536, 1600)).toBe(0); // only the upper half of 1024/o10
      expect(sys.pageInfo(1024)).toMatchObject({ state: "free", order: 9, migratetype: "movable" });
      expect(sys.pageInfo(1536)).toMatchObject({ state: "free", order: 9, migratetype: "isolate" });
      expect(sys.stats().nrFreePages).toBe(4096 - 512);
      sys.undoIsolatePageRange(1536, 1600);
      expect(sys.pageInfo(1024)).toMatchObject({ state: "free", order: 10, migratetype: "movable" });
    });
  });

  it("leaves isolated free pageblocks unmerged, as move_freepages_block_isolate() does, and merges them on undo", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      // 2048/o10 is split into its pageblocks as the first is isolated (split_large_buddy()
      // frees 2048 as ISOLATE and 2560 still MOVABLE, which may not merge); 2560 is then
      // moved to the isolate list whole. 3072/o10 splits the same way; 3584 stays movable.
      expect(sys.isolatePageRange(2048, 3584)).toBe(0);
      for (const pfn of [2048, 2560, 3072])
        expect(sys.pageInfo(pfn)).toMatchObject({ state: "free", order: 9, migratetype: "isolate" });
      expect(sys.pageInfo(3584)).toMatchObject({ state: "free", order: 9, migratetype: "movable" });
      sys.check(); // two free isolated buddies side by side are a kernel state, not a broken invariant
      sys.undoIsolatePageRange(2048, 3584);
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
      sys.check();
    });
  });

  it("refuses a range with unmovable pages, isolating nothing", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      sys.allocPages(0, "unmovable"); // pfn 0, pageblocks 0-1 turn unmovable
      const before = sys.stateHash();
      expect(sys.isolatePageRange(0, 4096)).toBe(-16);
      expect(sys.stateHash()).toBe(before);
      expect(sys.pageblockCounts()[ISOLATE]).toBe(0);
      // test_pages_isolated() of a range that is not isolated is -EBUSY.
      expect(sys.testPagesIsolated(2048, 4096)).toBe(-16);
    });
  });

  it("test_pages_isolated() is -EBUSY while an isolated range still holds pages", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const page = sys.allocMovable(0)!; // pfn 0
      expect(sys.isolatePageRange(0, 512)).toBe(0); // movable pages do not stop isolation
      expect(sys.testPagesIsolated(0, 512)).toBe(-16);
      page.migrate();
      expect(page.pfn).toBeGreaterThanOrEqual(512);
      expect(sys.testPagesIsolated(0, 512)).toBe(0);
      sys.undoIsolatePageRange(0, 512);
    });
  });
});

describe("alloc_contig_range", () => {
  it("migrates the range's movable pages and hands it out as order-0 pages", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const pages = fillMovable(sys);
      pages.slice(2048).forEach((p) => p.free()); // free room above 2048
      expect(sys.allocContigRange(100, 700)).toBe(0);
      for (const pfn of [100, 355, 699])
        expect(sys.pageInfo(pfn)).toMatchObject({ state: "allocated", order: 0, owner: null });
      expect(sys.pageInfo(99).owner).not.toBeNull(); // outside the range: untouched
      expect(sys.stats()).toMatchObject({ pgmigrateSuccess: 600, contigSuccess: 1 });
      expect(sys.pageblockCounts()[ISOLATE]).toBe(0);
      sys.check();
      sys.freeContigRange(100, 600);
      expect(sys.pageInfo(100).state).toBe("free");
    });
  });

  it("takes a range from the middle of a free block and gives the rest back", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.allocContigRange(1030, 1040)).toBe(0);
      expect(sys.stats().nrFreePages).toBe(4096 - 10);
      sys.freeContigRange(1030, 10);
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
    });
  });

  it("is -EBUSY at once on unmovable pages and -ENOMEM with nowhere to migrate", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      sys.allocPages(0, "unmovable");
      expect(sys.allocContigRange(0, 10)).toBe(-16);
      expect(sys.stats().contigMigratePasses).toBe(0);
      // Movable pages fill pageblocks 2..7 (3072), then claim pageblock 1 whole (an
      // order-9 unmovable block, no boost: 512 more), then fall back to an order-8
      // unmovable block of pageblock 0 (claimed: 511 free >= 256) and boost the
      // watermarks by a pageblock (max(512, mult_frac(high 8, 15000, 10000))):
      // 3072 + 512 + 1 = 3585 pages, and the 510 left are below min 0 + boost 512.
      const pages = fillMovable(sys);
      expect(pages.length).toBe(3585);
      expect(sys.zoneReserves().boostPages).toBe(512);
      // kswapd clears the boost (nothing to reclaim); kcompactd, woken for
      // pageblock_order, finds 510 free pages too few (low 4 + compact_gap 1024).
      sys.advanceTime(0);
      expect(sys.zoneReserves().boostPages).toBe(0);
      pages.push(...fillMovable(sys));
      expect(pages.length).toBe(4095);
      expect(sys.allocContigRange(2048, 2560)).toBe(-12);
      expect(sys.pageblockCounts()[ISOLATE]).toBe(0);
      expect(sys.stats().contigFail).toBe(2);
    });
  });

  it("does not migrate a block whose head lies before the range: -EBUSY", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const page = sys.allocMovable(2)!; // pfns 0..3
      expect(page.pfn).toBe(0);
      expect(sys.allocContigRange(2, 10)).toBe(-16);
      expect(page.pfn).toBe(0);
      expect(sys.stats().pgmigrateSuccess).toBe(0);
      expect(sys.allocContigRange(0, 10)).toBe(0); // from its head, it moves
      expect(page.pfn).not.toBe(0);
    });
  });

  it("checks whole pageblocks at the ends of the range for unmovable pages", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.allocPages(0, "unmovable")).toBe(0);
      expect(sys.allocContigRange(100, 200)).toBe(-16); // pfn 0 shares the pageblock
      expect(sys.allocContigRange(600, 700)).toBe(0);
    });
  });

  it("refuses to isolate half of an in-use block that straddles the pageblock boundary", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const big = sys.allocMovable(10)!; // pfns 0..1023: two pageblocks
      expect(sys.allocContigRange(0, 100)).toBe(-16);
      expect(sys.allocContigRange(600, 700)).toBe(-16);
      expect(big.pfn).toBe(0);
      expect(sys.stats().pgmigrateSuccess).toBe(0);
      expect(sys.allocContigRange(0, 1024)).toBe(0); // the whole block: it moves
      expect(big.pfn).toBe(1024);
    });
  });

  it("rejects bad ranges and migratetypes without touching anything", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expectUntouched(sys, "EINVAL", () => sys.allocContigRange(10, 10));
      expectUntouched(sys, "EINVAL", () => sys.allocContigRange(10, 4097));
      expectUntouched(sys, "EINVAL", () => sys.allocContigRange(-1, 5));
      expectUntouched(sys, "EINVAL", () => sys.allocContigRange(0, 5, "unmovable" as never));
      expectUntouched(sys, "EINVAL", () => sys.isolatePageRange(5, 1));
      expectUntouched(sys, "EINVAL", () => sys.testPagesIsolated(0, Number.NaN));
      expectUntouched(sys, "EINVAL", () => sys.freeContigRange(0, 1)); // free page
      const page = sys.allocMovable(0)!;
      expectUntouched(sys, "EINVAL", () => sys.freeContigRange(page.pfn, 1)); // owned page
    });
  });
});
