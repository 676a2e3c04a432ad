import { describe, it, expect } from "vitest";
import {
  MIGRATETYPE_NAMES,
  fragmentationIndex,
  unusableFreeIndex,
  formatBuddyinfo,
  formatPagetypeinfo,
  formatExtfragIndex,
  formatUnusableIndex,
  formatVmstat,
  type ZoneFreeInfo,
} from "../../bindings/fs/vmstat.ts";

// Expected text below was worked out from the kernel's format strings in
// mm/vmstat.c (e.g. "Node %d, zone %8s " then "%6lu "), not by calling
// these formatters.

/** An 11-entry (orders 0..10) row with the given [order, count] pairs set. */
function row(...set: [number, number][]): number[] {
  const r = new Array<number>(11).fill(0);
  for (const [order, count] of set) r[order] = count;
  return r;
}

// nr_free per order = [12, 4, 2, 1, 0...]: 36 free pages in 19 blocks.
const dma32: ZoneFreeInfo = {
  node: 0,
  zone: "DMA32",
  freeBlocks: [row([0, 8], [1, 2], [2, 1]), row([0, 4], [1, 2], [2, 1], [3, 1]), row(), row(), row(), row()],
  pageblocksByType: [3, 10, 1, 0, 0, 0],
};

// Big lists to hit the pagetypeinfo walk cap; nr_free per order =
// [200000, 1234568, 2, 5, 0, 0, 0, 0, 0, 0, 3].
const normal0: ZoneFreeInfo = {
  node: 0,
  zone: "Normal",
  freeBlocks: [
    row([0, 99999], [1, 1]),
    row([0, 100000], [1, 1234567], [2, 2], [10, 1]),
    row([0, 1]),
    row(),
    row([3, 5]),
    row([10, 2]),
  ],
  pageblocksByType: [120, 3400, 56, 2, 512, 0],
};

// Populated but with nothing free.
const normal1: ZoneFreeInfo = {
  node: 1,
  zone: "Normal",
  freeBlocks: [row(), row(), row(), row(), row(), row()],
  pageblocksByType: [0, 0, 0, 0, 0, 0],
};

// A single free order-0 page: drives __fragmentation_index() negative.
const movable2: ZoneFreeInfo = {
  node: 2,
  zone: "Movable",
  freeBlocks: [row(), row([0, 1]), row(), row(), row(), row()],
  pageblocksByType: [0, 1, 0, 0, 0, 0],
};

describe("MIGRATETYPE_NAMES", () => {
  it("matches migratetype_names[] with CMA and isolation configured", () => {
    expect(MIGRATETYPE_NAMES).toEqual(["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"]);
  });
});

describe("fragmentationIndex (__fragmentation_index)", () => {
  const nrFree = [12, 4, 2, 1, 0, 0, 0, 0, 0, 0, 0];

  it("is -1000 while a block of the order (or a larger one) is free", () => {
    expect(fragmentationIndex(nrFree, 0)).toBe(-1000);
    expect(fragmentationIndex(nrFree, 3)).toBe(-1000);
  });

  it("follows the u64 formula with truncating divisions", () => {
    // free_pages = 36, total = 19.
    // order 4: 36000/16 = 2250; 3250/19 = 171; 1000 - 171
    expect(fragmentationIndex(nrFree, 4)).toBe(829);
    // order 5: 36000/32 = 1125; 2125/19 = 111
    expect(fragmentationIndex(nrFree, 5)).toBe(889);
    // order 6: 36000/64 = 562 (562.5); 1562/19 = 82
    expect(fragmentationIndex(nrFree, 6)).toBe(918);
    // order 8: 36000/256 = 140; 1140/19 = 60 exactly
    expect(fragmentationIndex(nrFree, 8)).toBe(940);
    // order 10: 36000/1024 = 35; 1035/19 = 54
    expect(fragmentationIndex(nrFree, 10)).toBe(946);
  });

  it("is 0 when nothing is free", () => {
    expect(fragmentationIndex([0, 0, 0, 0], 0)).toBe(0);
    expect(fragmentationIndex([0, 0, 0, 0], 2)).toBe(0);
  });

  it("is 0 above the maximum order (the WARN_ON_ONCE path)", () => {
    expect(fragmentationIndex([5, 0, 0], 3)).toBe(0);
  });

  it("goes negative for a lone small block, like the kernel", () => {
    // free_pages = 1, total = 1, order 1: 1000 - (1000 + 1000/2) / 1
    expect(fragmentationIndex([1, 0, 0, 0], 1)).toBe(-500);
    // order 3: 1000/8 = 125
    expect(fragmentationIndex([1, 0, 0, 0], 3)).toBe(-125);
  });

  it("rejects invalid orders and counts", () => {
    expect(() => fragmentationIndex([1], -1)).toThrow(expect.objectContaining({ code: "EINVAL", errno: -22 }));
    expect(() => fragmentationIndex([1], 0.5)).toThrow(expect.objectContaining({ code: "EINVAL", errno: -22 }));
    expect(() => fragmentationIndex([-1], 0)).toThrow(expect.objectContaining({ code: "EINVAL", errno: -22 }));
  });
});

describe("unusableFreeIndex (unusable_free_index)", () => {
  const nrFree = [12, 4, 2, 1, 0, 0, 0, 0, 0, 0, 0];

  it("counts the free pages in blocks too small for the order", () => {
    expect(unusableFreeIndex(nrFree, 0)).toBe(0);
    // order 1: suitable = 4 + 2*2 + 1*4 = 12 -> 24 usable pages; 12000/36
    expect(unusableFreeIndex(nrFree, 1)).toBe(333);
    // order 2: suitable = 2 + 1*2 = 4 -> 16 usable; 20000/36
    expect(unusableFreeIndex(nrFree, 2)).toBe(555);
    // order 3: 8 usable; 28000/36
    expect(unusableFreeIndex(nrFree, 3)).toBe(777);
    expect(unusableFreeIndex(nrFree, 4)).toBe(1000);
  });

  it("is 1000 (all unusable) when nothing is free, as the kernel returns", () => {
    expect(unusableFreeIndex([0, 0, 0], 0)).toBe(1000);
    expect(unusableFreeIndex([0, 0, 0], 2)).toBe(1000);
  });
});

describe("formatBuddyinfo (frag_show_print)", () => {
  it("prints nr_free per order, summed over migratetypes, with trailing spaces", () => {
    expect(formatBuddyinfo([dma32])).toBe(
      "Node 0, zone    DMA32     12      4      2      1      0      0      0      0      0      0      0 \n",
    );
  });

  it("prints several zones and nodes, widening past %6lu without truncation", () => {
    expect(formatBuddyinfo([dma32, normal0, normal1, movable2])).toBe(
      "Node 0, zone    DMA32     12      4      2      1      0      0      0      0      0      0      0 \n" +
        "Node 0, zone   Normal 200000 1234568      2      5      0      0      0      0      0      0      3 \n" +
        "Node 1, zone   Normal      0      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node 2, zone  Movable      1      0      0      0      0      0      0      0      0      0      0 \n",
    );
  });

  it("visits nodes in id order, keeping zone order within a node", () => {
    expect(formatBuddyinfo([normal1, dma32, normal0])).toBe(
      "Node 0, zone    DMA32     12      4      2      1      0      0      0      0      0      0      0 \n" +
        "Node 0, zone   Normal 200000 1234568      2      5      0      0      0      0      0      0      3 \n" +
        "Node 1, zone   Normal      0      0      0      0      0      0      0      0      0      0      0 \n",
    );
  });

  it("prints nothing for no zones", () => {
    expect(formatBuddyinfo([])).toBe("");
  });
});

describe("formatPagetypeinfo (pagetypeinfo_show)", () => {
  it("prints both tables, capping list walks at >100000", () => {
    expect(formatPagetypeinfo([dma32, normal0], 9)).toBe(
      "Page block order: 9\n" +
        "Pages per block:  512\n" +
        "\n" +
        "Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n" +
        "Node    0, zone    DMA32, type    Unmovable      8      2      1      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone    DMA32, type      Movable      4      2      1      1      0      0      0      0      0      0      0 \n" +
        "Node    0, zone    DMA32, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone    DMA32, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone    DMA32, type          CMA      0      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone    DMA32, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone   Normal, type    Unmovable  99999      1      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone   Normal, type      Movable >100000 >100000      2      0      0      0      0      0      0      0      1 \n" +
        "Node    0, zone   Normal, type  Reclaimable      1      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 \n" +
        "Node    0, zone   Normal, type          CMA      0      0      0      5      0      0      0      0      0      0      0 \n" +
        "Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      2 \n" +
        "\n" +
        "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n" +
        "Node 0, zone    DMA32            3           10            1            0            0            0 \n" +
        "Node 0, zone   Normal          120         3400           56            2          512            0 \n",
    );
  });

  it("repeats the whole report per node and takes the order count from the rows", () => {
    const e: ZoneFreeInfo = {
      node: 0,
      zone: "Normal",
      freeBlocks: [
        [3, 0, 0, 0],
        [0, 2, 0, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      pageblocksByType: [1, 2, 0, 0, 0, 0],
    };
    const f: ZoneFreeInfo = {
      node: 1,
      zone: "Normal",
      freeBlocks: [
        [0, 0, 0, 0],
        [0, 0, 7, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
      ],
      pageblocksByType: [0, 4, 0, 0, 0, 1],
    };
    expect(formatPagetypeinfo([f, e], 2)).toBe(
      "Page block order: 2\n" +
        "Pages per block:  4\n" +
        "\n" +
        "Free pages count per migrate type at order       0      1      2      3 \n" +
        "Node    0, zone   Normal, type    Unmovable      3      0      0      0 \n" +
        "Node    0, zone   Normal, type      Movable      0      2      0      1 \n" +
        "Node    0, zone   Normal, type  Reclaimable      0      0      0      0 \n" +
        "Node    0, zone   Normal, type   HighAtomic      0      0      0      0 \n" +
        "Node    0, zone   Normal, type          CMA      0      0      0      0 \n" +
        "Node    0, zone   Normal, type      Isolate      0      0      0      0 \n" +
        "\n" +
        "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n" +
        "Node 0, zone   Normal            1            2            0            0            0            0 \n" +
        "Page block order: 2\n" +
        "Pages per block:  4\n" +
        "\n" +
        "Free pages count per migrate type at order       0      1      2      3 \n" +
        "Node    1, zone   Normal, type    Unmovable      0      0      0      0 \n" +
        "Node    1, zone   Normal, type      Movable      0      0      7      0 \n" +
        "Node    1, zone   Normal, type  Reclaimable      0      0      0      0 \n" +
        "Node    1, zone   Normal, type   HighAtomic      0      0      0      0 \n" +
        "Node    1, zone   Normal, type          CMA      0      0      0      0 \n" +
        "Node    1, zone   Normal, type      Isolate      1      0      0      0 \n" +
        "\n" +
        "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n" +
        "Node 1, zone   Normal            0            4            0            0            0            1 \n",
    );
  });

  it("treats missing migratetype rows and entries as zero", () => {
    const sparse: ZoneFreeInfo = { node: 0, zone: "DMA", freeBlocks: [[1, 2]], pageblocksByType: [] };
    expect(formatPagetypeinfo([sparse], 1)).toBe(
      "Page block order: 1\n" +
        "Pages per block:  2\n" +
        "\n" +
        "Free pages count per migrate type at order       0      1 \n" +
        "Node    0, zone      DMA, type    Unmovable      1      2 \n" +
        "Node    0, zone      DMA, type      Movable      0      0 \n" +
        "Node    0, zone      DMA, type  Reclaimable      0      0 \n" +
        "Node    0, zone      DMA, type   HighAtomic      0      0 \n" +
        "Node    0, zone      DMA, type          CMA      0      0 \n" +
        "Node    0, zone      DMA, type      Isolate      0      0 \n" +
        "\n" +
        "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n" +
        "Node 0, zone      DMA            0            0            0            0            0            0 \n",
    );
  });
});

describe("formatExtfragIndex (extfrag_show_print)", () => {
  it("prints %2d.%03d per order, including the kernel's odd negative fractions", () => {
    expect(formatExtfragIndex([dma32, normal0, normal1, movable2])).toBe(
      "Node 0, zone    DMA32 -1.000 -1.000 -1.000 -1.000  0.829  0.889  0.918  0.933  0.940  0.944  0.946 \n" +
        "Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 \n" +
        "Node 1, zone   Normal  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000 \n" +
        // -500 / 1000 == 0 and -500 % 1000 == -500 in C, so "%2d.%03d" gives " 0.-500";
        // "%03d" of -7 is "-07".
        "Node 2, zone  Movable -1.000  0.-500  0.-250  0.-125  0.-62  0.-31  0.-15  0.-07  0.-03  0.-01  0.000 \n",
    );
  });
});

describe("formatUnusableIndex (unusable_show_print)", () => {
  it("prints %d.%03d per order and keeps zones with nothing free (1.000)", () => {
    expect(formatUnusableIndex([dma32, normal0, normal1, movable2])).toBe(
      "Node 0, zone    DMA32 0.000 0.333 0.555 0.777 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n" +
        // free_pages = 2672256; order 1 leaves the 200000 order-0 pages unusable
        "Node 0, zone   Normal 0.000 0.074 0.998 0.998 0.998 0.998 0.998 0.998 0.998 0.998 0.998 \n" +
        "Node 1, zone   Normal 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n" +
        "Node 2, zone  Movable 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n",
    );
  });
});

describe("formatVmstat (vmstat_show)", () => {
  it("orders counters as vmstat_text[] does and puts unknown names last", () => {
    const counters = new Map<string, number>([
      ["pgfree", 10],
      ["custom_x", 5],
      ["cma_alloc_fail", 1],
      ["nr_free_cma", 2048],
      ["nr_free_pages", 123456],
      ["pgmigrate_fail", 3],
      ["pgalloc_normal", 99],
      ["nr_unstable", 0],
      ["pgmigrate_success", 7],
      ["cma_alloc_success", 4],
      ["compact_isolated", 8],
      ["pgalloc_dma32", 5],
      ["custom_a", 1],
    ]);
    expect(formatVmstat(counters)).toBe(
      "nr_free_pages 123456\n" +
        "nr_free_cma 2048\n" +
        "pgalloc_dma32 5\n" +
        "pgalloc_normal 99\n" +
        "pgfree 10\n" +
        "pgmigrate_success 7\n" +
        "pgmigrate_fail 3\n" +
        "compact_isolated 8\n" +
        "cma_alloc_success 4\n" +
        "cma_alloc_fail 1\n" +
        "nr_unstable 0\n" +
        "custom_x 5\n" +
        "custom_a 1\n",
    );
  });

  it("accepts a plain record and keeps the kernel's section order", () => {
    expect(
      formatVmstat({
        pgpgin: 2,
        nr_dirty_threshold: 40,
        numa_hit: 9,
        nr_inactive_anon: 11,
        nr_zone_inactive_anon: 12,
        nr_free_pages: 1,
      }),
    ).toBe(
      "nr_free_pages 1\n" +
        "nr_zone_inactive_anon 12\n" +
        "numa_hit 9\n" +
        "nr_inactive_anon 11\n" +
        "nr_dirty_threshold 40\n" +
        "pgpgin 2\n",
    );
  });

  it("prints nothing for no counters and rejects non-integer values", () => {
    expect(formatVmstat({})).toBe("");
    expect(() => formatVmstat({ pgfree: -1 })).toThrow(expect.objectContaining({ code: "EINVAL", errno: -22 }));
    expect(() => formatVmstat({ pgfree: 1.5 })).toThrow(expect.objectContaining({ code: "EINVAL", errno: -22 }));
  });
});
