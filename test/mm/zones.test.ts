import { describe, expect, it } from "vitest";
import { createSystem, type System } from "dmasim";
import { MIB, onBoth } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

const GIB = 1024 * MIB;
const PAGES_PER_MIB = 256;

/** Allocates order-0 pages of `type` with `flags` until the allocator says no; returns how many. */
function drain(
  sys: System,
  flags: Parameters<System["allocPages"]>[2] = {},
  type: "unmovable" | "movable" = "unmovable",
): number {
  let n = 0;
  while (sys.allocPages(0, type, flags) !== null) n++;
  return n;
}

describe("zones: layout, watermarks and lowmem_reserve", () => {
  it("x86_64 preset on 8 GiB: DMA, DMA32, Normal with the kernel's watermarks and protection", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 8 * GIB, storeContents: false, zones: "x86_64" }, (sys) => {
      // min_free_kbytes = int_sqrt(8 GiB in kB * 16) = 11585; pages_min = 2896, shared by managed pages.
      expect(sys.minFreeKbytes).toBe(11585);
      const zones = sys
        .zones()
        .map((z) => ({ name: z.name, start: z.startPfn, end: z.endPfn, w: z.watermarks, p: z.protection }));
      expect(zones).toEqual([
        {
          name: "DMA",
          start: 0,
          end: 4096,
          w: { min: 5, low: 9, high: 13, promo: 17 },
          p: [0, 4080, 8176, 8176, 8176],
        },
        {
          name: "DMA32",
          start: 4096,
          end: 1048576,
          w: { min: 1442, low: 2486, high: 3530, promo: 4574 },
          p: [0, 0, 4096, 4096, 4096],
        },
        {
          name: "Normal",
          start: 1048576,
          end: 2097152,
          w: { min: 1448, low: 2496, high: 3544, promo: 4592 },
          p: [0, 0, 0, 0, 0],
        },
      ]);
    });
  });

  it("omits empty zones: x86_64 preset on 2 GiB has no Normal zone", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 2 * GIB, storeContents: false, zones: "x86_64" }, (sys) => {
      expect(sys.zones().map((z) => z.name)).toEqual(["DMA", "DMA32"]);
      expect(sys.readFile("/proc/buddyinfo").split("\n")[1]).toMatch(/^Node 0, zone {4}DMA32 /);
      // A Normal request is served from DMA32: the zonelist starts at the highest populated zone.
      const pfn = sys.allocPages(0, "unmovable")!;
      expect(sys.lastAllocZone).toBe("DMA32");
      expect(sys.zoneOf(pfn)).toBe("DMA32");
    });
  });

  it("a 32-bit-mask request on an 8 GiB machine gets memory below 4 GiB", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 8 * GIB, storeContents: false, zones: "x86_64" }, (sys) => {
      const normal = sys.allocPages(3, "unmovable")!;
      expect(normal * 4096).toBeGreaterThanOrEqual(4 * GIB);
      const low = sys.allocPages(3, "unmovable", { zone: "DMA32" })!;
      expect(sys.lastAllocZone).toBe("DMA32");
      expect((low + 8) * 4096).toBeLessThanOrEqual(4 * GIB);
      const isa = sys.allocPages(0, "unmovable", { zone: "DMA" })!;
      expect(isa * 4096).toBeLessThan(16 * MIB);
      expect(sys.pageInfo(isa).zone).toBe("DMA");
      expect(sys.zones().map((z) => z.pgalloc)).toEqual([1, 8, 8]);
    });
  });

  it("falls back Normal → DMA32 → DMA, never upwards", async () => {
    const zones = [
      { name: "DMA", endBytes: 16 * MIB },
      { name: "DMA32", endBytes: 32 * MIB },
      { name: "Normal", endBytes: 64 * MIB },
    ] as const;
    await onBoth(
      { ...BUDDY_ONLY, ramBytes: 64 * MIB, zones: [...zones], minFreeKbytes: 0, lowmemReserveRatio: [0, 0, 0, 0] },
      (sys) => {
        const served: string[] = [];
        for (let pfn = sys.allocPages(10, "unmovable"); pfn !== null; pfn = sys.allocPages(10, "unmovable"))
          served.push(sys.lastAllocZone!);
        // The fast path walks the zonelist at the low watermark: each zone's last
        // block would leave it below "low", so the walk moves on; the slow path
        // (min watermark) then takes those last blocks, again Normal first.
        expect(served).toEqual([
          ...Array(7).fill("Normal"),
          ...Array(3).fill("DMA32"),
          ...Array(3).fill("DMA"),
          "Normal",
          "DMA32",
          "DMA",
        ]);
        const fresh = sys.zones();
        expect(fresh.map((z) => z.freePages)).toEqual([0, 0, 0]);
      },
    );
    await onBoth(
      { ...BUDDY_ONLY, ramBytes: 64 * MIB, zones: [...zones], minFreeKbytes: 0, lowmemReserveRatio: [0, 0, 0, 0] },
      (sys) => {
        // A DMA32 request never uses Normal, even when DMA32 and DMA are full.
        expect(drain(sys, { zone: "DMA32" })).toBe(32 * PAGES_PER_MIB);
        expect(sys.zones()[2]!.freePages).toBe(32 * PAGES_PER_MIB);
      },
    );
  });

  it("lowmem_reserve keeps DMA32 pages from requests that could have used Normal", async () => {
    const options = {
      ramBytes: 128 * MIB,
      minFreeKbytes: 0,
      zones: [
        { name: "DMA32" as const, endBytes: 64 * MIB },
        { name: "Normal" as const, endBytes: 128 * MIB },
      ],
    };
    await onBoth({ ...BUDDY_ONLY, ...options }, (sys) => {
      // lowmem_reserve[DMA32][Normal] = 16384 Normal pages / 256.
      expect(sys.zones()[0]!.protection.slice(0, 3)).toEqual([0, 0, 64]);
      const normalReq = drain(sys);
      expect(normalReq).toBe(32768 - 64);
      expect(sys.zones().map((z) => z.freePages)).toEqual([64, 0]);
      // A request limited to DMA32 is not held back by a reserve against itself.
      expect(drain(sys, { zone: "DMA32" })).toBe(64);
      return normalReq;
    });
  });

  it("min watermark: ordinary requests stop there, __GFP_HIGH gets half, GFP_ATOMIC a further quarter", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 16 * MIB }, (sys) => {
      // 16 MiB: min_free_kbytes = int_sqrt(16384 * 16) = 512, so min = 128 pages; low = 128 + 32.
      expect(sys.minFreeKbytes).toBe(512);
      expect(sys.zones()[0]!.watermarks).toEqual({ min: 128, low: 160, high: 192, promo: 224 });
      expect(drain(sys)).toBe(4096 - 128);
      expect(drain(sys, { high: true })).toBe(64);
      expect(drain(sys, { atomic: true })).toBe(16);
      expect(sys.stats().nrFreePages).toBe(48);
      expect(sys.stats().allocFail).toBe(3);
    });
  });

  it("ALLOC_NOFRAGMENT: a Normal request takes a lower zone's own free pages before fragmenting Normal", async () => {
    const run = (noFragment: boolean) =>
      onBoth(
        {
          ...BUDDY_ONLY,
          ramBytes: 32 * MIB,
          minFreeKbytes: 0,
          lowmemReserveRatio: [0, 0, 0, 0],
          zones: [
            { name: "DMA32", endBytes: 16 * MIB },
            { name: "Normal", endBytes: 32 * MIB },
          ],
        },
        (sys) => {
          sys.setPolicy({ allocNoFragment: noFragment });
          // DMA32 gets an unmovable free block; Normal is left with small movable holes only.
          sys.freePages(sys.allocPages(0, "unmovable", { zone: "DMA32" })!, 0);
          const normal: number[] = [];
          for (;;) {
            const p = sys.allocPages(0, "movable")!;
            if (sys.zoneOf(p) !== "Normal") {
              sys.freePages(p, 0);
              break;
            }
            normal.push(p);
          }
          normal.filter((_, i) => i % 2 === 0).forEach((p) => sys.freePages(p, 0));
          const pfn = sys.allocPages(0, "unmovable")!;
          return { zone: sys.zoneOf(pfn), extfrag: sys.stats().extfragEvents };
        },
      );
    expect(await run(true)).toEqual({ zone: "DMA32", extfrag: 1 });
    expect(await run(false)).toEqual({ zone: "Normal", extfrag: 2 });
  });
});

describe("zones and CMA", () => {
  it("refuses an area spanning two zones at activation", async () => {
    await expect(
      createSystem({
        ...BUDDY_ONLY,
        ramBytes: 64 * MIB,
        zones: "x86_64",
        cma: [{ name: "x", bytes: 16 * MIB, base: 8 * MIB }],
      }),
    ).rejects.toMatchObject({ code: "EINVAL", message: expect.stringMatching(/could not be activated/) });
  });

  it("places an area below its limit, inside one zone, and counts it per zone", async () => {
    await onBoth(
      { ...BUDDY_ONLY, ramBytes: 64 * MIB, zones: "x86_64", cma: [{ name: "isa", bytes: 4 * MIB, limit: 16 * MIB }] },
      (sys) => {
        const area = sys.cma("isa");
        expect(area.basePfn).toBe(3072);
        expect(sys.zones().map((z) => [z.name, z.cmaPages, z.freeCmaPages])).toEqual([
          ["DMA", 1024, 1024],
          ["DMA32", 0, 0],
        ]);
        expect(area.alloc(256)).toBe(3072);
      },
    );
  });
});

describe("zone options", () => {
  it("rejects bad zone lists", async () => {
    const bad: object[] = [
      { zones: "arm64" },
      { zones: [] },
      { zones: [{ name: "HighMem", endBytes: 16 * MIB }] },
      {
        zones: [
          { name: "DMA32", endBytes: 8 * MIB },
          { name: "DMA", endBytes: 16 * MIB },
        ],
      },
      { zones: [{ name: "DMA", endBytes: 1000 }] },
      { zones: [{ name: "DMA", endBytes: 8 * MIB }] }, // does not reach the end of RAM
      { minFreeKbytes: -1 },
      { watermarkScaleFactor: 0 },
      { lowmemReserveRatio: [1, 2] },
    ];
    for (const options of bad) {
      await expect(
        createSystem({ ...BUDDY_ONLY, ramBytes: 16 * MIB, ...options } as never),
        JSON.stringify(options),
      ).rejects.toMatchObject({ code: "EINVAL" });
    }
  });

  it("prints one line per populated zone in the /proc files", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 64 * MIB, zones: "x86_64", minFreeKbytes: 0 }, (sys) => {
      expect(sys.readFile("/proc/buddyinfo")).toBe(
        "Node 0, zone      DMA      0      0      0      0      0      0      0      0      0      0      4 \n" +
          "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n",
      );
      expect(sys.readFile("/sys/kernel/debug/extfrag/unusable_index").split("\n").length).toBe(3);
      expect(sys.readFile("/proc/pagetypeinfo")).toMatch(/Node 0, zone {4}DMA32 {12}0 {11}24 {12}0/);
    });
  });
});

describe("/proc/zoneinfo", () => {
  it("prints every zone of the node, the unpopulated ones short", async () => {
    await onBoth(
      { ...BUDDY_ONLY, ramBytes: 64 * MIB, zones: "x86_64", cma: [{ name: "r", bytes: 8 * MIB }] },
      (sys) => {
        const text = sys.readFile("/proc/zoneinfo");
        const headers = text.split("\n").filter((l) => l.startsWith("Node "));
        expect(headers).toEqual([
          "Node 0, zone      DMA",
          "Node 0, zone    DMA32",
          "Node 0, zone   Normal",
          "Node 0, zone  Movable",
          "Node 0, zone   Device",
        ]);
        // 64 MiB: min_free_kbytes 1024 → 256 pages shared 1:3 between DMA and DMA32.
        const dma32 = text.slice(text.indexOf("zone    DMA32"), text.indexOf("zone   Normal"));
        expect(dma32).toContain(
          "\n  pages free     12288\n        boost    0\n        min      192\n        low      240\n        high     288\n" +
            "        promo    336\n        spanned  12288\n        present  12288\n        managed  12288\n        cma      2048\n" +
            "        protection: (0, 0, 0, 0, 0)\n      nr_free_pages 12288\n",
        );
        expect(dma32).toContain("\n      nr_free_cma  2048\n");
        expect(dma32).toContain("\n  start_pfn:           4096\n");
        // Normal is empty on 64 MiB: it stops after its protection line.
        expect(text).toContain("Node 0, zone   Normal\n  pages free     0\n");
        expect(text.slice(text.indexOf("zone   Normal"))).toMatch(
          /protection: \(0, 0, 0, 0, 0\)\nNode 0, zone {2}Movable/,
        );
        expect(text.indexOf("per-node stats")).toBeLessThan(text.indexOf("zone    DMA32"));
      },
    );
  });
});

describe("reserve arithmetic", () => {
  it("divides the min watermark in integers on both backends (min 5: __GFP_HIGH leaves 3)", async () => {
    await onBoth({ ...BUDDY_ONLY, ramBytes: 16 * MIB, minFreeKbytes: 20 }, (sys) => {
      expect(sys.zones()[0]!.watermarks.min).toBe(5);
      expect(drain(sys)).toBe(4096 - 5);
      expect(drain(sys, { high: true })).toBe(2);
      expect(drain(sys, { atomic: true })).toBe(0);
    });
  });
});
