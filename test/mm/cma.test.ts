import { describe, expect, it } from "vitest";
import { createSystem } from "dmasim";
import { MIB, expectUntouched, fillMovable, onBoth } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

// 64 MiB of RAM (16384 pages) with a 16 MiB area placed top-down: pfns 12288..16383.
const LENDING = { ramBytes: 64 * MIB, minFreeKbytes: 0, cma: [{ name: "reserved", bytes: 16 * MIB }] };
const AREA_BASE = 12288;
const AREA_PAGES = 4096;

/** A tag written into each movable page so moved contents can be recognised. */
function tag(id: number): Uint8Array {
  return new Uint8Array([id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, 0xa5]);
}

describe("CMA lends its memory to movable pages and wins it back", () => {
  it("migrates borrowed pages out, contents intact, and hands the range out", async () => {
    const summary = await onBoth({ ...BUDDY_ONLY, ...LENDING }, (sys) => {
      const area = sys.cma("reserved");
      expect([area.basePfn, area.count]).toEqual([AREA_BASE, AREA_PAGES]);
      const pages = fillMovable(sys);
      expect(pages.length).toBe(16384); // movable pages filled CMA too
      for (const p of pages) p.write(tag(p.id));
      const borrowed = pages.filter((p) => p.pfn >= AREA_BASE);
      expect(borrowed.length).toBe(AREA_PAGES);
      // Room to migrate to: free 3800 pages outside the area.
      pages
        .filter((p) => p.pfn < AREA_BASE)
        .slice(0, 3800)
        .forEach((p) => p.free());

      const want = 3584;
      const pfn = area.alloc(want, 0);
      expect(pfn).toBe(AREA_BASE);
      expect(area.lastError).toBe(0);
      for (const p of borrowed) {
        if (p.pfn >= AREA_BASE && p.pfn < AREA_BASE + want) throw new Error(`page ${p.id} still in the range`);
        expect(p.read(0, 4)).toEqual(tag(p.id));
      }
      const moved = borrowed.filter((p) => p.pfn < AREA_BASE).length;
      expect(moved).toBe(want);
      expect(sys.pageInfo(AREA_BASE + 17)).toMatchObject({ state: "allocated", order: 0, cma: true, owner: null });
      expect(area.stats).toMatchObject({
        pagesSucceeded: want,
        allocsSucceeded: 1,
        pagesMigrated: want,
        busyRetries: 0,
      });
      expect(sys.stats()).toMatchObject({ cmaAllocSuccess: 1, pgmigrateSuccess: want });
      expect(area.available).toBe(AREA_PAGES - want);
      sys.check();

      expect(area.release(pfn!, want)).toBe(true);
      expect(area.available).toBe(AREA_PAGES);
      expect(area.stats.pagesReleased).toBe(want);
      expect(sys.pageblockMigratetype(AREA_BASE)).toBe("cma");
      return {
        pfn,
        moved,
        hash: pages
          .filter((p) => p.alive)
          .map((p) => p.pfn)
          .join(",").length,
      };
    });
    expect(summary.pfn).toBe(AREA_BASE);
  });

  it("fails with EBUSY on a short-term pinned page, after 5 migration passes, leaking nothing", async () => {
    await onBoth({ ...BUDDY_ONLY, ...LENDING }, (sys) => {
      const area = sys.cma("reserved");
      const pages = fillMovable(sys);
      pages
        .filter((p) => p.pfn < AREA_BASE)
        .slice(0, 5000)
        .forEach((p) => p.free());
      const victim = pages.find((p) => p.alive && p.pfn === AREA_BASE + 100)!;
      victim.pin();
      const before = sys.stats();
      // The whole area: no other place to try.
      expect(area.alloc(AREA_PAGES, 0)).toBeNull();
      expect(area.lastError).toBe(-16);
      const after = sys.stats();
      // The batch holding the pinned page failed 5 passes, one page each time.
      expect(after.pgmigrateFail - before.pgmigrateFail).toBe(5);
      expect(after.cmaAllocFail).toBe(1);
      expect(area.available).toBe(AREA_PAGES);
      expect(area.stats).toMatchObject({ allocsFailed: 1, pagesFailed: AREA_PAGES });
      expect(victim.pfn).toBe(AREA_BASE + 100);
      expect(sys.pageblockCounts()[5]).toBe(0); // no pageblock left isolated
      sys.check();
      // Once unpinned, the same allocation succeeds.
      victim.unpin();
      expect(area.alloc(AREA_PAGES, 0)).toBe(AREA_BASE);
      expect(victim.pfn).toBeLessThan(AREA_BASE);
    });
  });

  it("fails with EBUSY on a long-term pinned page outside CMA without migration passes", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 64 * MIB, minFreeKbytes: 0 }, (sys) => {
      const pages = fillMovable(sys);
      pages.slice(2048, 8192).forEach((p) => p.free());
      const pinned = pages[10]!;
      expect(pinned.pinLongterm()).toBe(10); // not CMA: pinned where it is
      const before = sys.stats();
      expect(sys.allocContigRange(0, 512, "movable")).toBe(-16);
      const after = sys.stats();
      // Compaction skips the pinned page; the rest were migrated before the range was found busy.
      expect(after.pgmigrateFail).toBe(before.pgmigrateFail);
      expect(after.pgmigrateSuccess - before.pgmigrateSuccess).toBe(511);
      expect(sys.pageblockMigratetype(0)).toBe("movable");
    });
  });

  it("a long-term pin first moves a page out of CMA", async () => {
    await onBoth({ ...BUDDY_ONLY, ...LENDING }, (sys) => {
      const pages = fillMovable(sys);
      pages
        .filter((p) => p.pfn < AREA_BASE)
        .slice(0, 100)
        .forEach((p) => p.free());
      const inCma = pages.find((p) => p.alive && p.pfn === AREA_BASE + 7)!;
      inCma.write(tag(4242));
      const pfn = inCma.pinLongterm();
      expect(pfn).toBeLessThan(AREA_BASE);
      expect(inCma.pfn).toBe(pfn);
      expect(inCma.read(0, 4)).toEqual(tag(4242));
      expect(inCma.pins).toEqual({ shortTerm: 0, longTerm: 1 });
      // GFP_USER without __GFP_MOVABLE: the new frame is an unmovable allocation.
      expect(sys.pageInfo(pfn)).toMatchObject({ migratetype: "unmovable", longPins: 1 });
      expect(sys.stats().longtermMigrated).toBe(1);
      expect(sys.pageInfo(AREA_BASE + 7).state).toBe("free");
    });
  });
});

describe("CMA bitmap allocation", () => {
  // Pageblocks of 16 pages so that an area can start off a larger alignment.
  const SMALL = { ramBytes: 4 * MIB, pageblockOrder: 4 };
  const BASE = 48; // pageblock-aligned, not aligned to order 6 (64 pages)

  it("aligns to the requested order in an area whose base is not aligned to it", async () => {
    await onBoth({ ...BUDDY_ONLY, ...SMALL, cma: [{ name: "a", bytes: 512 * 4096, base: BASE * 4096 }] }, (sys) => {
      const area = sys.cma("a");
      expect(area.basePfn).toBe(BASE);
      const p1 = area.alloc(4, 6);
      const p2 = area.alloc(4, 6);
      const p3 = area.alloc(3, 0);
      expect([p1, p2, p3]).toEqual([64, 128, 48]);
      expect(area.debugShowAreas()).toBe(
        "cma: number of available pages: 13@3+60@20+428@84=> 501 free of 512 total pages\n",
      );
      return [p1, p2, p3];
    });
  });

  it("uses the bit granularity for offsets and sizes (orderPerBit 2)", async () => {
    await onBoth(
      { ...BUDDY_ONLY, ...SMALL, cma: [{ name: "a", bytes: 512 * 4096, base: BASE * 4096, orderPerBit: 2 }] },
      (sys) => {
        const area = sys.cma("a");
        expect(area.alloc(4, 6)).toBe(64); // offset 48 >> 2 = 12 bits, mask 15
        expect(area.alloc(1, 0)).toBe(48); // one page still takes a 4-page bit
        expect(area.alloc(1, 0)).toBe(52);
        expect(area.available).toBe(512 - 6);
        // Releasing 1 page of the first bit clears a bit that covers only it: fine.
        expect(area.release(48, 1)).toBe(true);
        expect(area.alloc(5, 0)).toBe(56); // 2 bits: bit 0 alone is too short, bits 2-3 fit
        expect(area.debugShowAreas()).toBe("cma: number of available pages: 4@0+492@5=> 502 free of 512 total pages\n");
      },
    );
  });

  it("retries further on when the first candidate range is busy", async () => {
    await onBoth({ ...BUDDY_ONLY, ...SMALL, cma: [{ name: "a", bytes: 512 * 4096, base: BASE * 4096 }] }, (sys) => {
      const area = sys.cma("a");
      const pages = [];
      for (;;) {
        const p = sys.allocMovable(0);
        if (!p) break;
        pages.push(p);
      }
      pages.filter((p) => p.pfn < BASE).forEach((p) => p.free());
      pages.filter((p) => p.alive && p.pfn >= 600 && p.pfn < 800).forEach((p) => p.free());
      pages.find((p) => p.alive && p.pfn === 66)!.pin();
      // 64..67 is busy: the next try starts at bitmap_no + mask + 1, i.e. pfn 128.
      expect(area.alloc(4, 6)).toBe(128);
      expect(area.stats.busyRetries).toBe(1);
    });
  });

  it("returns null for count 0, a request larger than the area, or a full area", async () => {
    await onBoth({ ...BUDDY_ONLY, ...SMALL, cma: [{ name: "a", bytes: 64 * 4096 }] }, (sys) => {
      const area = sys.cma("a");
      expect(area.alloc(0)).toBeNull();
      expect(area.alloc(65)).toBeNull();
      expect(area.alloc(64)).not.toBeNull();
      expect(area.alloc(1)).toBeNull();
      expect(area.lastError).toBe(-12);
      expect(sys.stats().cmaAllocFail).toBe(2); // count 0 is not counted, as in the kernel
    });
  });
});

describe("CMA release", () => {
  it("returns false outside the area and refuses pages it never handed out", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 16 * MIB, cma: [{ name: "a", bytes: 4 * MIB }] }, (sys) => {
      const area = sys.cma("a");
      const pfn = area.alloc(10)!;
      expect(area.release(0, 10)).toBe(false);
      expectUntouched(sys, "EINVAL", () => area.release(pfn + 10, 1)); // never allocated
      expectUntouched(sys, "EINVAL", () => area.release(pfn, 11)); // runs past the allocation
      expectUntouched(sys, "EINVAL", () => area.release(area.basePfn + area.count - 1, 2)); // past the area
      expect(area.release(pfn, 10)).toBe(true);
      expectUntouched(sys, "EINVAL", () => area.release(pfn, 10)); // double release
    });
  });

  it("refuses a release that would clear a bit still covering allocated pages", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 16 * MIB, cma: [{ name: "a", bytes: 4 * MIB, orderPerBit: 1 }] }, (sys) => {
      const area = sys.cma("a");
      const pfn = area.alloc(4)!;
      expectUntouched(sys, "EINVAL", () => area.release(pfn + 1, 1));
      expect(area.release(pfn, 2)).toBe(true);
      expect(area.release(pfn + 2, 2)).toBe(true);
    });
  });

  it("pages of an area are not freed through freePages", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 16 * MIB, cma: [{ name: "a", bytes: 4 * MIB }] }, (sys) => {
      const pfn = sys.cma("a").alloc(1)!;
      expectUntouched(sys, "EINVAL", () => sys.freePages(pfn, 0));
      expectUntouched(sys, "EINVAL", () => sys.freeContigRange(pfn, 1));
    });
  });
});

describe("CMA declaration", () => {
  const declare = (cma: object[], extra: object = {}) =>
    createSystem({ ...BUDDY_ONLY, ramBytes: 64 * MIB, cma: cma as never, ...extra });

  it("places areas top-down below their limit, each pageblock MIGRATE_CMA", async () => {
    await onBoth(
      {
        ...BUDDY_ONLY,
        ramBytes: 64 * MIB,
        cma: [
          { name: "a", bytes: 8 * MIB },
          { name: "b", bytes: 3 * MIB, limit: 32 * MIB },
          { name: "c", bytes: 4 * MIB, alignment: 16 * MIB },
        ],
      },
      (sys) => {
        const [a, b, c] = sys.cmaAreas;
        expect([a!.basePfn, a!.count]).toEqual([14336, 2048]);
        expect([b!.basePfn, b!.count]).toEqual([7168, 1024]); // 3 MiB rounds up to 2 pageblocks
        // Size rounds up to the alignment too (cma_declare_contiguous()); below a and b.
        expect([c!.basePfn, c!.count]).toEqual([8192, 4096]);
        expect(sys.pageblockCounts()).toEqual([0, 32 - 14, 0, 0, 14, 0]);
        expect(sys.stats().nrFreeCmaPages).toBe(2048 + 1024 + 4096);
        return sys.cmaAreas.map((x) => x.basePfn);
      },
    );
  });

  it("places an area bottom-up from 4 GiB when the machine has room above it", async () => {
    await onBoth(
      {
        ...BUDDY_ONLY,
        ramBytes: 8 * 1024 * MIB,
        storeContents: false,
        cma: [
          { name: "hi", bytes: 64 * MIB },
          { name: "low", bytes: 64 * MIB, limit: 1024 * MIB },
        ],
      },
      (sys) => {
        expect(sys.cma("hi").basePfn).toBe(1 << 20); // 4 GiB
        expect(sys.cma("low").basePfn).toBe((1024 - 64) * 256); // top-down below its limit
      },
    );
  });

  it("refuses bad areas with the kernel's codes", async () => {
    await expect(declare([{ name: "x", bytes: MIB, base: 4096 }])).rejects.toMatchObject({ code: "EINVAL" }); // base not pageblock-aligned
    await expect(declare([{ name: "x", bytes: MIB, alignment: 3 * MIB }])).rejects.toMatchObject({ code: "EINVAL" });
    await expect(declare([{ name: "x", bytes: MIB, orderPerBit: 10 }])).rejects.toMatchObject({ code: "EINVAL" });
    await expect(
      declare([
        { name: "x", bytes: 4 * MIB, base: 8 * MIB },
        { name: "y", bytes: 4 * MIB, base: 10 * MIB },
      ]),
    ).rejects.toMatchObject({ code: "EBUSY" });
    await expect(
      declare([
        { name: "x", bytes: 40 * MIB },
        { name: "y", bytes: 30 * MIB },
      ]),
    ).rejects.toMatchObject({ code: "ENOMEM" });
    await expect(declare([{ name: "x", bytes: 128 * MIB }])).rejects.toMatchObject({ code: "EINVAL" }); // size exceeds the limit
    await expect(declare([{ name: "x", bytes: 8 * MIB, limit: 4 * MIB }])).rejects.toMatchObject({ code: "EINVAL" });
    const nine = Array.from({ length: 9 }, (_, i) => ({ name: `a${i}`, bytes: 2 * MIB }));
    await expect(declare(nine)).rejects.toMatchObject({ code: "ENOSPC", errno: -28 });
    await expect(
      declare([
        { name: "x", bytes: MIB },
        { name: "x", bytes: MIB },
      ]),
    ).rejects.toMatchObject({ code: "EINVAL" });
    const sys = await declare([{ name: "x", bytes: MIB }]);
    expect(() => sys.cma("nope")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
