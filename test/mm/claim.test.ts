import { describe, expect, it } from "vitest";
import {
  claimCmaRange,
  claimFreeBlock,
  ownerPfn,
  peekCmaAlloc,
  unclaimCmaRange,
  createRandom,
  peekRmqueue,
  releaseHeldBlock,
  rmqueueInZone,
  setPageblockMigratetype,
  type Migratetype,
} from "dmasim";
import { MIB, dmaSimErrorOf, onBoth } from "../helpers.ts";

// 16 MiB: 4096 pages, four order-10 blocks, eight pageblocks.
const RAM = 16 * MIB;

describe("claim.ts: named-block primitives for the twin", () => {
  it("claims a block inside a larger free block, splitting it as expand() does", async () => {
    await onBoth({ ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(claimFreeBlock(sys, 5, 0, "unmovable")).toBe(true);
      // 0..1023 split around pfn 5: free 0-3 (order 2), 4 (order 0), 6-7 (order 1), 8.. (orders 3..9).
      expect(sys.nrFreeByOrder()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3]);
      expect(sys.pageInfo(5)).toMatchObject({ state: "allocated", order: 0, migratetype: "unmovable" });
      expect(sys.pageInfo(0)).toMatchObject({ state: "free", order: 2 });
      expect(sys.pageInfo(4)).toMatchObject({ state: "free", order: 0 });
      expect(claimFreeBlock(sys, 5, 0, "unmovable")).toBe(false); // not free any more
      expect(claimFreeBlock(sys, 4, 1, "unmovable")).toBe(false); // half of it is not free
      expect(claimFreeBlock(sys, 0, 3, "movable")).toBe(false);
      expect(dmaSimErrorOf(() => claimFreeBlock(sys, 3, 1, "movable")).code).toBe("EINVAL");
      return sys.freeArea();
    });
  });

  it("claims a range made of several free blocks, and releases parts of a held block", async () => {
    await onBoth({ ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      expect(claimFreeBlock(sys, 1, 0, "unmovable")).toBe(true);
      expect(releaseHeldBlock(sys, 1, 0)).toBe(true);
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
      expect(claimFreeBlock(sys, 0, 10, "movable")).toBe(true);
      // Give back the middle order-2 block of 0..1023, then one page of it.
      expect(releaseHeldBlock(sys, 8, 2)).toBe(true);
      expect(sys.pageInfo(8)).toMatchObject({ state: "free", order: 2 });
      expect(sys.pageInfo(12)).toMatchObject({ state: "allocated", order: 2, migratetype: "movable" });
      expect(releaseHeldBlock(sys, 8, 0)).toBe(false); // already free
      expect(releaseHeldBlock(sys, 0, 10)).toBe(false); // partly free: nothing changes
      expect(sys.pageInfo(12)).toMatchObject({ state: "allocated" });
      // Claim 8..11 back and release the whole order-10 block as one.
      expect(claimFreeBlock(sys, 8, 2, "movable")).toBe(true);
      expect(releaseHeldBlock(sys, 0, 10)).toBe(true);
      expect(sys.nrFreeByOrder()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
      return sys.freeArea();
    });
  });

  it("peekRmqueue names the block allocPages then takes, fallbacks included (random workload)", async () => {
    await onBoth({ ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      const rnd = createRandom(7);
      const held: [number, number][] = [];
      const types: Migratetype[] = ["unmovable", "movable", "reclaimable"];
      let fallbacks = 0;
      let claims = 0;
      for (let i = 0; i < 6000; i++) {
        if (held.length > 0 && rnd.float() < (i < 3000 ? 0.25 : 0.55)) {
          const [pfn, order] = held.splice(rnd.int(held.length), 1)[0]!;
          expect(releaseHeldBlock(sys, pfn, order)).toBe(true);
          continue;
        }
        const order = rnd.float() < 0.8 ? 0 : rnd.int(6);
        const mt = types[rnd.int(3)]!;
        const peek = peekRmqueue(sys, "Normal", order, mt);
        const pfn = rmqueueInZone(sys, "Normal", order, mt);
        expect(pfn).toBe(peek?.pfn ?? null);
        if (peek?.fallback) fallbacks++;
        if (peek?.fallback?.claimsPageblock) claims++;
        if (pfn !== null) held.push([pfn, order]);
      }
      expect(fallbacks).toBeGreaterThan(10);
      expect(claims).toBeGreaterThan(3);
      return [fallbacks, claims, sys.freeArea()];
    });
  });

  it("retypes a pageblock with its free pages, and a free block spanning two pageblocks whole", async () => {
    await onBoth({ ramBytes: RAM, minFreeKbytes: 0 }, (sys) => {
      setPageblockMigratetype(sys, 512, "reclaimable");
      expect(sys.pageblockMigratetype(0)).toBe("reclaimable");
      expect(sys.pageblockMigratetype(512)).toBe("reclaimable");
      expect(sys.freeArea()[2]![10]).toBe(1);
      expect(claimFreeBlock(sys, 2048, 0, "unmovable")).toBe(true);
      setPageblockMigratetype(sys, 2048, "unmovable");
      expect(sys.pageblockMigratetype(2048)).toBe("unmovable");
      expect(sys.pageblockMigratetype(2560)).toBe("movable");
      expect(sys.freeArea()[0]![0]).toBe(1);
      expect(dmaSimErrorOf(() => setPageblockMigratetype(sys, 0, "isolate")).code).toBe("EINVAL");
      return sys.freeArea();
    });
  });
});

describe("claim.ts: a traced kernel's CMA ranges", () => {
  // 16 MiB with a 4 MiB area at 8 MiB: pfns 2048..3071, one bit per page.
  const CMA_BASE = 2048;
  const options = { ramBytes: RAM, minFreeKbytes: 0, cma: [{ name: "cam", bytes: 4 * MIB, base: 8 * MIB }] };

  it("peeks cma_alloc()'s first candidate, takes and gives back exactly the traced ranges", async () => {
    await onBoth(options, (sys) => {
      const area = sys.cma("cam");
      expect(peekCmaAlloc(sys, "cam", 256, 8)).toBe(CMA_BASE);
      expect(claimCmaRange(sys, "cam", CMA_BASE + 512, 256)).toBe(true);
      expect(area.available).toBe(1024 - 256);
      expect(sys.pageInfo(CMA_BASE + 512)).toMatchObject({ state: "allocated", order: 0, cma: true });
      expect(sys.stats().nrFreePages).toBe(4096 - 256);
      // The first clear run of 512 pages aligned to 512 is [2048, 2560); none holds 768.
      expect(peekCmaAlloc(sys, "cam", 512, 9)).toBe(CMA_BASE);
      expect(peekCmaAlloc(sys, "cam", 768, 0)).toBeNull();
      expect(claimCmaRange(sys, "cam", CMA_BASE + 512, 16)).toBe(false); // its bits are set
      // A page the twin still holds inside a traced range is let go, then taken with the rest.
      expect(claimFreeBlock(sys, CMA_BASE, 0, "movable")).toBe(true);
      expect(claimCmaRange(sys, "cam", CMA_BASE, 16)).toBe(true);
      expect(sys.stats().nrFreePages).toBe(4096 - 256 - 16);
      expect(sys.pageInfo(CMA_BASE)).toMatchObject({ state: "allocated", cma: true, owner: null });
      // cma_release(): the bits clear, the pages stay held until their per-cpu drains.
      expect(unclaimCmaRange(sys, "cam", CMA_BASE + 512, 256)).toBe(true);
      expect(area.available).toBe(1024 - 16);
      expect(sys.stats().nrFreePages).toBe(4096 - 256 - 16);
      expect(sys.pageInfo(CMA_BASE + 512)).toMatchObject({ state: "allocated", order: 0, cma: false });
      expect(unclaimCmaRange(sys, "cam", CMA_BASE + 512, 1)).toBe(false); // not the area's any more
      expect(releaseHeldBlock(sys, CMA_BASE + 512, 0)).toBe(true);
      expect(sys.stats().nrFreePages).toBe(4096 - 256 - 16 + 1);
      return { free: sys.freeArea(), available: area.available };
    });
  });

  it("refuses ranges outside the area, misaligned or empty, and unknown areas, changing nothing", async () => {
    await onBoth(options, (sys) => {
      const before = sys.stateHash();
      expect(dmaSimErrorOf(() => claimCmaRange(sys, "cam", CMA_BASE - 1, 4)).code).toBe("EINVAL");
      expect(dmaSimErrorOf(() => claimCmaRange(sys, "cam", CMA_BASE + 1020, 8)).code).toBe("EINVAL");
      expect(dmaSimErrorOf(() => claimCmaRange(sys, "cam", CMA_BASE, 0)).code).toBe("EINVAL");
      expect(dmaSimErrorOf(() => unclaimCmaRange(sys, "cam", 0.5, 1)).code).toBe("EINVAL");
      expect(dmaSimErrorOf(() => peekCmaAlloc(sys, "nope", 1, 0)).code).toBe("ENOENT");
      expect(sys.stateHash()).toBe(before);
      return before;
    });
  });
});

describe("claim.ts: ownerPfn()", () => {
  it("follows a movable block's owner through migration, and is null once it is freed", async () => {
    await onBoth({ ramBytes: RAM, minFreeKbytes: 0, pcp: false }, (sys) => {
      const page = sys.allocMovable(0)!;
      const owner = sys.pageInfo(page.pfn).owner!;
      expect(ownerPfn(sys, owner)).toBe(page.pfn);
      const to = page.migrate();
      expect(to).not.toBe(0);
      expect(ownerPfn(sys, owner)).toBe(to);
      page.free();
      expect(ownerPfn(sys, owner)).toBeNull();
      expect(dmaSimErrorOf(() => ownerPfn(sys, -1)).code).toBe("EINVAL");
      return to;
    });
  });
});
