import { describe, expect, it } from "vitest";
import { MIGRATETYPES } from "dmasim";
import { MIB, expectUntouched, onBoth } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

// A 16 MiB machine: 4096 pages, four order-10 blocks, eight pageblocks of 512 pages.
const RAM = 16 * MIB;
const BLOCK10 = 1024;
const PAGEBLOCK = 512;
const MT = Object.fromEntries(MIGRATETYPES.map((name, i) => [name, i])) as Record<
  (typeof MIGRATETYPES)[number],
  number
>;

describe("buddy allocator: split and merge", () => {
  it("boots with every page free in max-order blocks, lowest pfn first", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
      expect(sys.stats().nrFreePages).toBe(4096);
      expect(sys.pageInfo(0)).toMatchObject({ state: "free", order: 10, migratetype: "movable" });
      expect(sys.pageInfo(1)).toMatchObject({ state: "tail" });
    });
  });

  it("splits the smallest fitting block and hands out its lowest part", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const a = sys.allocPages(0, "movable");
      const b = sys.allocPages(0, "movable");
      const c = sys.allocPages(1, "movable");
      expect([a, b, c]).toEqual([0, 1, 2]);
      // Splitting 0..1023 for pfn 0 left one free block at each order 0..9; pfn 1
      // took the order-0 one, pfn 2 the order-1 one.
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
      expect(sys.pageInfo(4)).toMatchObject({ state: "free", order: 2 });
      expect(sys.pageInfo(BLOCK10 / 2)).toMatchObject({ state: "free", order: 9 });
      return [a, b, c];
    });
  });

  it("merges freed buddies back up to the largest order", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const a = sys.allocPages(0, "unmovable")!;
      const b = sys.allocPages(0, "unmovable")!;
      sys.freePages(a, 0);
      // b still holds the buddy of a: no merge yet.
      expect(sys.pageInfo(a)).toMatchObject({ state: "free", order: 0 });
      sys.freePages(b, 0);
      expect(sys.pageInfo(0)).toMatchObject({ state: "free", order: 10 });
      expect(sys.nrFreeByOrder()[10]).toBe(4);
      expect(sys.stats()).toMatchObject({ pgalloc: 2, pgfree: 4096 + 2, nrFreePages: 4096 }); // boot frees count
    });
  });
});

describe("buddy allocator: fallback and stealing", () => {
  it("an unmovable request claims a whole max-order movable block and its pageblocks", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.allocPages(0, "unmovable")).toBe(0);
      expect(sys.pageblockMigratetype(0)).toBe("unmovable");
      expect(sys.pageblockMigratetype(PAGEBLOCK)).toBe("unmovable");
      expect(sys.pageblockMigratetype(BLOCK10)).toBe("movable");
      expect(sys.stats()).toMatchObject({ extfragEvents: 1, extfragClaimed: 1 });
      // The next unmovable request finds its own list and does not fall back.
      expect(sys.allocPages(0, "unmovable")).toBe(1);
      expect(sys.stats().extfragEvents).toBe(1);
    });
  });

  // Fill RAM with order-0 movable pages (pfn i is page i), then free the first `n`.
  function fillThenFree(sys: import("dmasim").System, n: number): void {
    for (let i = 0; i < 4096; i++) expect(sys.allocPages(0, "movable")).toBe(i);
    for (let pfn = 0; pfn < n; pfn++) sys.freePages(pfn, 0);
  }

  it("claims a pageblock when free + alike pages reach half of it", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      fillThenFree(sys, 300); // free blocks 0/o8, 256/o5, 288/o3, 296/o2 in pageblock 0
      const pfn = sys.allocPages(0, "unmovable");
      // 300 free >= 256: the block turns unmovable, then the smallest unmovable block is split.
      expect(pfn).toBe(296);
      expect(sys.pageblockMigratetype(0)).toBe("unmovable");
      expect(sys.freeArea()[MT.unmovable]!.slice(0, 9)).toEqual([1, 1, 0, 1, 0, 1, 0, 0, 1]);
      expect(sys.stats()).toMatchObject({ extfragEvents: 1, extfragClaimed: 1 });
      // The fallback took an order-8 block (< pageblock_order): boost_watermark()
      // raised the watermarks by a pageblock (max_boost = max(512, mult_frac(high 8,
      // 15000, 10000) = 12) = 512), more than the 299 free pages: every further
      // request would fail. kswapd's pass (advanceTime) clears the boost.
      expect(sys.zoneReserves().boostPages).toBe(512);
      sys.advanceTime(0);
      expect(sys.zoneReserves().boostPages).toBe(0);
      // A movable request now falls back too; order 3 < pageblock_order / 2 cannot
      // steal, so it splits the smallest unmovable block instead of the largest.
      sys.allocPages(8, "unmovable");
      sys.allocPages(5, "unmovable");
      expect(sys.allocPages(0, "movable")).toBe(297);
      expect(sys.pageblockMigratetype(0)).toBe("unmovable");
      return pfn;
    });
  });

  it("claims with 100 free pages once the stealing threshold is lowered to 64", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      sys.setPolicy({ claimThresholdPages: 64 });
      fillThenFree(sys, 100);
      sys.allocPages(0, "unmovable");
      expect(sys.pageblockMigratetype(0)).toBe("unmovable");
      expect(sys.stats().extfragClaimed).toBe(1);
      expect(() => sys.setPolicy({ claimThresholdPages: -1 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    });
  });

  it("takes a single block without claiming when too little of the pageblock is free", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      fillThenFree(sys, 100); // 0/o6, 64/o5, 96/o2
      expect(sys.allocPages(0, "unmovable")).toBe(0); // the largest fallback block, split
      expect(sys.pageblockMigratetype(0)).toBe("movable");
      expect(sys.stats()).toMatchObject({ extfragEvents: 1, extfragClaimed: 0 });
      // The rest of the split block stays on the movable lists.
      expect(sys.freeArea()[MT.movable]!.slice(0, 7)).toEqual([1, 1, 2, 1, 1, 2, 0]);
    });
  });

  it("looks for the largest order first, then reclaimable tries unmovable before movable", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(sys.allocPages(0, "unmovable")).toBe(0); // pfns 0..1023 turn unmovable
      // The largest fallback block wins over the fallback order: movable 1024/o10
      // beats unmovable 512/o9.
      expect(sys.allocPages(0, "reclaimable")).toBe(BLOCK10);
      sys.freePages(BLOCK10, 0);
      expect(sys.allocPages(10, "reclaimable")).toBe(BLOCK10); // its own list again, whole
      sys.freePages(0, 0);
      // Now unmovable 0/o10 and movable blocks share the top order: unmovable comes first.
      expect(sys.pageInfo(0)).toMatchObject({ state: "free", order: 10, migratetype: "unmovable" });
      expect(sys.allocPages(0, "reclaimable")).toBe(0);
      expect(sys.pageblockMigratetype(PAGEBLOCK)).toBe("reclaimable");
    });
  });
});

describe("buddy allocator and CMA pageblocks", () => {
  // CMA area of 12 MiB: pfns 1024..4095, placed top-down.
  const options = { ramBytes: RAM, minFreeKbytes: 0, cma: [{ name: "reserved", bytes: 12 * MIB }] };

  it("movable requests use CMA first while CMA holds over half the free pages", async () => {
    await onBoth({ ...BUDDY_ONLY, ...options }, (sys) => {
      expect(sys.cma("reserved").basePfn).toBe(1024);
      expect(sys.stats()).toMatchObject({ nrFreePages: 4096, nrFreeCmaPages: 3072 });
      // 3072 > 4096 / 2: the first movable page comes from the newest CMA block.
      expect(sys.allocPages(0, "movable")).toBe(3072);
      expect(sys.pageblockMigratetype(3072)).toBe("cma");
    });
  });

  it("without the balance rule, movable requests use CMA only when their own lists are empty", async () => {
    await onBoth({ ...BUDDY_ONLY, ...options }, (sys) => {
      sys.setPolicy({ cmaFirstBalance: false });
      expect(sys.allocPages(0, "movable")).toBe(0);
      sys.freePages(0, 0);
      expect(sys.allocPages(10, "movable")).toBe(0);
      expect(sys.allocPages(0, "movable")).toBe(3072);
    });
  });

  it("never serves unmovable or reclaimable requests from CMA", async () => {
    await onBoth({ ...BUDDY_ONLY, ...options }, (sys) => {
      let got = 0;
      while (sys.allocPages(0, got % 2 ? "unmovable" : "reclaimable") !== null) got++;
      expect(got).toBe(1024);
      expect(sys.stats().nrFreeCmaPages).toBe(3072);
      expect(sys.stats().allocFailByOrder[0]).toBe(1);
    });
  });

  it("does not merge a CMA pageblock with a neighbour of another type", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, cma: [{ name: "one", bytes: 2 * MIB, base: 2 * MIB }] }, (sys) => {
      // pfns 0..511 movable and 512..1023 CMA are buddies at order 9, yet stay apart.
      expect(sys.pageInfo(0)).toMatchObject({ state: "free", order: 9, migratetype: "movable" });
      expect(sys.pageInfo(512)).toMatchObject({ state: "free", order: 9, migratetype: "cma" });
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3]);
      // Freeing a page back into either block merges only within it.
      const p = sys.allocPages(0, "unmovable")!;
      sys.freePages(p, 0);
      expect(sys.nrFreeByOrder()[9]).toBe(2);
    });
  });
});

describe("other geometries", () => {
  it("64 KiB pages with pageblock order equal to MAX_PAGE_ORDER", async () => {
    await onBoth(
      {
        ...BUDDY_ONLY,
        ramBytes: 64 * MIB,
        pageSize: 65536,
        maxOrder: 5,
        pageblockOrder: 5,
        cma: [{ name: "r", bytes: 16 * MIB }],
      },
      (sys) => {
        expect(sys.nrPages).toBe(1024);
        expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 32]);
        const area = sys.cma("r");
        expect([area.basePfn, area.count]).toEqual([768, 256]);
        const page = sys.allocMovable(0)!;
        page.write(new Uint8Array(65536).fill(9));
        expect(sys.isolatePageRange(0, 32)).toBe(0);
        expect(sys.testPagesIsolated(0, 32)).toBe(-16); // page is in use
        sys.undoIsolatePageRange(0, 32);
        const pfn = area.alloc(100, 5)!;
        expect(pfn % 32).toBe(0);
        expect(page.read()).toEqual(new Uint8Array(65536).fill(9));
        return pfn;
      },
    );
  });
});

describe("batched entry points", () => {
  it("allocate and free N blocks in one engine call, with the same result as N calls", async () => {
    const batched = await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const pfns = sys.allocPagesBatch(5000, 0, "movable");
      expect(pfns.filter((p) => p >= 0).length).toBe(4096);
      expect(pfns[4096]).toBe(-12);
      expect(sys.ownerOf(pfns[7]!)).not.toBeNull();
      expectUntouched(sys, "EINVAL", () => sys.freePagesBatch([pfns[0]!, pfns[0]!])); // listed twice
      expectUntouched(sys, "EINVAL", () => sys.freePagesBatch([pfns[1]!, pfns[2]!, pfns[3]!, pfns[2]!])); // marks of the checked ones undone
      expectUntouched(sys, "EINVAL", () => sys.freePagesBatch([pfns[0]!, 5000]));
      sys.freePagesBatch(pfns.slice(0, 4096));
      return sys.stateHash();
    });
    const single = await onBoth({ ...BUDDY_ONLY, ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const pfns: number[] = [];
      for (let i = 0; i < 5000; i++) pfns.push(sys.allocPages(0, "movable") ?? -12);
      for (const pfn of pfns.slice(0, 4096)) sys.freePages(pfn, 0);
      return sys.stateHash();
    });
    expect(batched).toBe(single);
  });
});
