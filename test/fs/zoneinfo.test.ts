import { describe, it, expect } from "vitest";
import {
  ZONE_STAT_ITEMS,
  NODE_STAT_ITEMS,
  formatZoneinfo,
  defaultPageset,
  type ZoneinfoNode,
  type ZoneinfoZone,
} from "../../bindings/fs/zoneinfo.ts";

// The expected /proc/zoneinfo text below was produced outside this code base:
// a small Python script applied the C format strings of v6.12
// mm/vmstat.c zoneinfo_show_print() ("Node %d, zone %8s", "\n      %-12s %lu",
// "\n  pages free     %lu", "\n        protection: (%ld", ", %ld", ")",
// "\n    cpu: %i", "\n              count: %i", "\n              high:  %i",
// "\n              batch: %i", "\n  vm stats threshold: %d",
// "\n  node_unreclaimable:  %u", "\n  start_pfn:           %lu") with Python's
// % operator to the same numbers, and the output was pasted here verbatim.

const ZONE_NAMES = ["DMA", "DMA32", "Normal", "Movable", "Device"] as const;

/** A zone with nothing present: zoneinfo prints it up to the protection line only. */
function emptyZone(name: string): ZoneinfoZone {
  return {
    name,
    freePages: 0,
    boost: 0,
    min: 0,
    low: 0,
    high: 0,
    promo: 0,
    spanned: 0,
    present: 0,
    managed: 0,
    cma: 0,
    protection: [0, 0, 0, 0, 0],
    zoneStats: {},
    startPfn: 0,
    pagesets: [],
    statThreshold: 0,
  };
}

/** All five zones, with the given ones replaced. */
function zones(over: Partial<Record<(typeof ZONE_NAMES)[number], Partial<ZoneinfoZone>>>): ZoneinfoZone[] {
  return ZONE_NAMES.map((name) => ({ ...emptyZone(name), ...over[name] }));
}

// A 2-cpu, ~5 GiB box: DMA, DMA32 and Normal populated, Movable and Device empty.
const threeZones: ZoneinfoNode = {
  node: 0,
  nodeUnreclaimable: false,
  nodeStats: {
    nr_inactive_anon: 40211,
    nr_active_anon: 118034,
    nr_inactive_file: 210455,
    nr_active_file: 98765,
    nr_unevictable: 3072,
    nr_slab_reclaimable: 21877,
    nr_slab_unreclaimable: 30112,
    nr_isolated_anon: 0,
    nr_isolated_file: 2,
    workingset_nodes: 411,
    workingset_refault_anon: 17,
    workingset_refault_file: 5521,
    workingset_activate_anon: 3,
    workingset_activate_file: 1402,
    workingset_restore_anon: 1,
    workingset_restore_file: 977,
    workingset_nodereclaim: 64,
    nr_anon_pages: 150003,
    nr_mapped: 61230,
    nr_file_pages: 320012,
    nr_dirty: 88,
    nr_writeback: 0,
    nr_writeback_temp: 0,
    nr_shmem: 9810,
    // THP items, already divided by HPAGE_PMD_NR as the kernel prints them.
    nr_shmem_hugepages: 1,
    nr_shmem_pmdmapped: 0,
    nr_file_hugepages: 2,
    nr_file_pmdmapped: 0,
    nr_anon_transparent_hugepages: 37,
    nr_vmscan_write: 12,
    nr_vmscan_immediate_reclaim: 5,
    nr_dirtied: 1234567,
    nr_written: 1200001,
    nr_throttled_written: 0,
    nr_kernel_misc_reclaimable: 0,
    nr_foll_pin_acquired: 8123,
    nr_foll_pin_released: 8120,
    nr_kernel_stack: 14560,
    nr_page_table_pages: 4521,
    nr_sec_page_table_pages: 0,
    nr_iommu_pages: 96,
    nr_swapcached: 310,
    pgdemote_kswapd: 0,
    pgdemote_direct: 0,
    pgdemote_khugepaged: 0,
  },
  zones: zones({
    DMA: {
      freePages: 3584,
      min: 15,
      low: 18,
      high: 21,
      promo: 24,
      spanned: 4095,
      present: 3998,
      managed: 3840,
      cma: 0,
      protection: [0, 2922, 4862, 4862, 4862],
      zoneStats: { nr_free_pages: 3584 },
      startPfn: 1,
      pagesets: [
        { count: 0, high: 0, batch: 1 },
        { count: 0, high: 0, batch: 1 },
      ],
      statThreshold: 4,
    },
    DMA32: {
      freePages: 695000,
      boost: 0,
      min: 3865,
      low: 4831,
      high: 5797,
      promo: 6763,
      spanned: 1044480,
      present: 782303,
      managed: 757712,
      cma: 0,
      protection: [0, 0, 1940, 1940, 1940],
      zoneStats: {
        nr_free_pages: 695000,
        nr_zone_inactive_anon: 1024,
        nr_zone_active_anon: 2048,
        nr_zone_inactive_file: 40000,
        nr_zone_active_file: 12000,
        nr_zone_unevictable: 16,
        nr_zone_write_pending: 3,
        nr_mlock: 16,
        nr_zspages: 7,
      },
      startPfn: 4096,
      pagesets: [
        { count: 35, high: 2415, batch: 63 },
        { count: 12, high: 2415, batch: 63 },
      ],
      statThreshold: 24,
    },
    Normal: {
      freePages: 301234,
      boost: 2048,
      min: 2535,
      low: 3168,
      high: 3801,
      promo: 4434,
      spanned: 524288,
      present: 524288,
      managed: 496932,
      cma: 16384,
      protection: [0, 0, 0, 0, 0],
      zoneStats: {
        nr_free_pages: 301234,
        nr_zone_inactive_anon: 39187,
        nr_zone_active_anon: 115986,
        nr_zone_inactive_file: 170455,
        nr_zone_active_file: 86765,
        nr_zone_unevictable: 3056,
        nr_zone_write_pending: 85,
        nr_mlock: 3056,
        nr_bounce: 0,
        nr_zspages: 1203,
        nr_free_cma: 16000,
        nr_unaccepted: 0,
      },
      startPfn: 1048576,
      pagesets: [
        { count: 120, high: 1584, batch: 63 },
        { count: 7, high: 1584, batch: 63 },
      ],
      statThreshold: 20,
    },
  }),
};

// One cpu, only ZONE_NORMAL populated (DMA and DMA32 come first and are empty),
// kswapd has given up on the node, and most stats are missing (they print 0).
const normalOnly: ZoneinfoNode = {
  node: 0,
  nodeUnreclaimable: true,
  nodeStats: {
    nr_inactive_anon: 5,
    nr_active_file: 700,
    nr_file_pages: 1400,
    nr_kernel_stack: 832,
    nr_page_table_pages: 90,
    nr_anon_transparent_hugepages: 1,
    pgdemote_khugepaged: 4,
  },
  zones: zones({
    Normal: {
      freePages: 60000,
      min: 363,
      low: 453,
      high: 543,
      promo: 633,
      spanned: 65536,
      present: 65536,
      managed: 63210,
      cma: 0,
      protection: [0, 0, 0, 0, 0],
      zoneStats: { nr_free_pages: 60000, nr_zone_active_file: 700, nr_free_cma: 0 },
      startPfn: 1048576,
      pagesets: [{ count: 31, high: 453, batch: 15 }],
      statThreshold: 4,
    },
  }),
};

const THREE_ZONES_TEXT = `Node 0, zone      DMA
  per-node stats
      nr_inactive_anon 40211
      nr_active_anon 118034
      nr_inactive_file 210455
      nr_active_file 98765
      nr_unevictable 3072
      nr_slab_reclaimable 21877
      nr_slab_unreclaimable 30112
      nr_isolated_anon 0
      nr_isolated_file 2
      workingset_nodes 411
      workingset_refault_anon 17
      workingset_refault_file 5521
      workingset_activate_anon 3
      workingset_activate_file 1402
      workingset_restore_anon 1
      workingset_restore_file 977
      workingset_nodereclaim 64
      nr_anon_pages 150003
      nr_mapped    61230
      nr_file_pages 320012
      nr_dirty     88
      nr_writeback 0
      nr_writeback_temp 0
      nr_shmem     9810
      nr_shmem_hugepages 1
      nr_shmem_pmdmapped 0
      nr_file_hugepages 2
      nr_file_pmdmapped 0
      nr_anon_transparent_hugepages 37
      nr_vmscan_write 12
      nr_vmscan_immediate_reclaim 5
      nr_dirtied   1234567
      nr_written   1200001
      nr_throttled_written 0
      nr_kernel_misc_reclaimable 0
      nr_foll_pin_acquired 8123
      nr_foll_pin_released 8120
      nr_kernel_stack 14560
      nr_page_table_pages 4521
      nr_sec_page_table_pages 0
      nr_iommu_pages 96
      nr_swapcached 310
      pgdemote_kswapd 0
      pgdemote_direct 0
      pgdemote_khugepaged 0
  pages free     3584
        boost    0
        min      15
        low      18
        high     21
        promo    24
        spanned  4095
        present  3998
        managed  3840
        cma      0
        protection: (0, 2922, 4862, 4862, 4862)
      nr_free_pages 3584
      nr_zone_inactive_anon 0
      nr_zone_active_anon 0
      nr_zone_inactive_file 0
      nr_zone_active_file 0
      nr_zone_unevictable 0
      nr_zone_write_pending 0
      nr_mlock     0
      nr_bounce    0
      nr_zspages   0
      nr_free_cma  0
      nr_unaccepted 0
  pagesets
    cpu: 0
              count: 0
              high:  0
              batch: 1
  vm stats threshold: 4
    cpu: 1
              count: 0
              high:  0
              batch: 1
  vm stats threshold: 4
  node_unreclaimable:  0
  start_pfn:           1
Node 0, zone    DMA32
  pages free     695000
        boost    0
        min      3865
        low      4831
        high     5797
        promo    6763
        spanned  1044480
        present  782303
        managed  757712
        cma      0
        protection: (0, 0, 1940, 1940, 1940)
      nr_free_pages 695000
      nr_zone_inactive_anon 1024
      nr_zone_active_anon 2048
      nr_zone_inactive_file 40000
      nr_zone_active_file 12000
      nr_zone_unevictable 16
      nr_zone_write_pending 3
      nr_mlock     16
      nr_bounce    0
      nr_zspages   7
      nr_free_cma  0
      nr_unaccepted 0
  pagesets
    cpu: 0
              count: 35
              high:  2415
              batch: 63
  vm stats threshold: 24
    cpu: 1
              count: 12
              high:  2415
              batch: 63
  vm stats threshold: 24
  node_unreclaimable:  0
  start_pfn:           4096
Node 0, zone   Normal
  pages free     301234
        boost    2048
        min      2535
        low      3168
        high     3801
        promo    4434
        spanned  524288
        present  524288
        managed  496932
        cma      16384
        protection: (0, 0, 0, 0, 0)
      nr_free_pages 301234
      nr_zone_inactive_anon 39187
      nr_zone_active_anon 115986
      nr_zone_inactive_file 170455
      nr_zone_active_file 86765
      nr_zone_unevictable 3056
      nr_zone_write_pending 85
      nr_mlock     3056
      nr_bounce    0
      nr_zspages   1203
      nr_free_cma  16000
      nr_unaccepted 0
  pagesets
    cpu: 0
              count: 120
              high:  1584
              batch: 63
  vm stats threshold: 20
    cpu: 1
              count: 7
              high:  1584
              batch: 63
  vm stats threshold: 20
  node_unreclaimable:  0
  start_pfn:           1048576
Node 0, zone  Movable
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        promo    0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
Node 0, zone   Device
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        promo    0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
`;

const NORMAL_ONLY_TEXT = `Node 0, zone      DMA
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        promo    0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
Node 0, zone    DMA32
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        promo    0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
Node 0, zone   Normal
  per-node stats
      nr_inactive_anon 5
      nr_active_anon 0
      nr_inactive_file 0
      nr_active_file 700
      nr_unevictable 0
      nr_slab_reclaimable 0
      nr_slab_unreclaimable 0
      nr_isolated_anon 0
      nr_isolated_file 0
      workingset_nodes 0
      workingset_refault_anon 0
      workingset_refault_file 0
      workingset_activate_anon 0
      workingset_activate_file 0
      workingset_restore_anon 0
      workingset_restore_file 0
      workingset_nodereclaim 0
      nr_anon_pages 0
      nr_mapped    0
      nr_file_pages 1400
      nr_dirty     0
      nr_writeback 0
      nr_writeback_temp 0
      nr_shmem     0
      nr_shmem_hugepages 0
      nr_shmem_pmdmapped 0
      nr_file_hugepages 0
      nr_file_pmdmapped 0
      nr_anon_transparent_hugepages 1
      nr_vmscan_write 0
      nr_vmscan_immediate_reclaim 0
      nr_dirtied   0
      nr_written   0
      nr_throttled_written 0
      nr_kernel_misc_reclaimable 0
      nr_foll_pin_acquired 0
      nr_foll_pin_released 0
      nr_kernel_stack 832
      nr_page_table_pages 90
      nr_sec_page_table_pages 0
      nr_iommu_pages 0
      nr_swapcached 0
      pgdemote_kswapd 0
      pgdemote_direct 0
      pgdemote_khugepaged 4
  pages free     60000
        boost    0
        min      363
        low      453
        high     543
        promo    633
        spanned  65536
        present  65536
        managed  63210
        cma      0
        protection: (0, 0, 0, 0, 0)
      nr_free_pages 60000
      nr_zone_inactive_anon 0
      nr_zone_active_anon 0
      nr_zone_inactive_file 0
      nr_zone_active_file 700
      nr_zone_unevictable 0
      nr_zone_write_pending 0
      nr_mlock     0
      nr_bounce    0
      nr_zspages   0
      nr_free_cma  0
      nr_unaccepted 0
  pagesets
    cpu: 0
              count: 31
              high:  453
              batch: 15
  vm stats threshold: 4
  node_unreclaimable:  1
  start_pfn:           1048576
Node 0, zone  Movable
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        promo    0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
Node 0, zone   Device
  pages free     0
        boost    0
        min      0
        low      0
        high     0
        promo    0
        spanned  0
        present  0
        managed  0
        cma      0
        protection: (0, 0, 0, 0, 0)
`;

describe("formatZoneinfo", () => {
  it("renders a DMA/DMA32/Normal node with empty Movable and Device zones", () => {
    expect(formatZoneinfo([threeZones])).toBe(THREE_ZONES_TEXT);
  });

  it("puts the per-node stats under the first populated zone, not under the empty zones before it", () => {
    const text = formatZoneinfo([normalOnly]);
    expect(text).toBe(NORMAL_ONLY_TEXT);
    expect(text.indexOf("per-node stats")).toBeGreaterThan(text.indexOf("zone   Normal"));
  });

  it("prints the per-node stats exactly once per node", () => {
    const text = formatZoneinfo([threeZones]);
    expect(text.split("\n  per-node stats\n").length).toBe(2);
    expect(text.startsWith("Node 0, zone      DMA\n  per-node stats\n      nr_inactive_anon 40211\n")).toBe(true);
  });

  it("prints no per-node stats for a node without populated zones", () => {
    const node: ZoneinfoNode = { node: 0, nodeUnreclaimable: false, nodeStats: { nr_mapped: 1 }, zones: zones({}) };
    const text = formatZoneinfo([node]);
    expect(text).not.toContain("per-node stats");
    expect(text).not.toContain("pagesets");
    expect(text.split("\n").length - 1).toBe(5 * 12);
  });

  it("concatenates nodes in the order given, and an empty list is an empty file", () => {
    const two = formatZoneinfo([normalOnly, { ...normalOnly, node: 1 }]);
    expect(two).toBe(NORMAL_ONLY_TEXT + NORMAL_ONLY_TEXT.replaceAll("Node 0,", "Node 1,"));
    expect(formatZoneinfo([])).toBe("");
  });

  it("ignores stat names this kernel does not print", () => {
    const node: ZoneinfoNode = {
      ...normalOnly,
      nodeStats: { ...normalOnly.nodeStats, nr_hugetlb: 9, pgpromote_success: 3 },
      zones: normalOnly.zones.map((z) => ({ ...z, zoneStats: { ...z.zoneStats, nr_free_pages_blocks: 5 } })),
    };
    expect(formatZoneinfo([node])).toBe(NORMAL_ONLY_TEXT);
  });

  it("lists the v6.12 items", () => {
    expect(ZONE_STAT_ITEMS.length).toBe(12);
    expect(ZONE_STAT_ITEMS[0]).toBe("nr_free_pages");
    expect(ZONE_STAT_ITEMS.slice(-3)).toEqual(["nr_zspages", "nr_free_cma", "nr_unaccepted"]);
    expect(NODE_STAT_ITEMS.length).toBe(45);
    expect(NODE_STAT_ITEMS.slice(38, 42)).toEqual([
      "nr_page_table_pages",
      "nr_sec_page_table_pages",
      "nr_iommu_pages",
      "nr_swapcached",
    ]);
    expect(NODE_STAT_ITEMS.at(-1)).toBe("pgdemote_khugepaged");
    expect(NODE_STAT_ITEMS).not.toContain("nr_shadow_call_stack");
    expect(NODE_STAT_ITEMS).not.toContain("pgpromote_success");
    expect(NODE_STAT_ITEMS).not.toContain("nr_hugetlb");
  });
});

describe("formatZoneinfo input checks", () => {
  const bad = (mutate: (n: ZoneinfoNode) => void): (() => string) => {
    const node = structuredClone(threeZones);
    mutate(node);
    return () => formatZoneinfo([node]);
  };
  const einval = expect.objectContaining({ code: "EINVAL", errno: -22 });

  it("rejects negative and fractional counters", () => {
    expect(
      bad((n) => {
        n.zones[2]!.freePages = -1;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[1]!.managed = 1.5;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[0]!.protection[3] = -4;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.startPfn = Number.NaN;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.nodeStats.nr_dirty = -1;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.zoneStats.nr_mlock = 0.5;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.pagesets[1]!.count = -3;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.pagesets[0]!.batch = 2.5;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.statThreshold = -1;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.statThreshold = 128;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.node = -1;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.low = Number.POSITIVE_INFINITY;
      }),
    ).toThrow(einval);
  });

  it("rejects a malformed node", () => {
    expect(
      bad((n) => {
        n.zones.pop();
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[1]!.name = "Normal";
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[0]!.protection = [0, 0, 0];
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        (n as { nodeUnreclaimable: unknown }).nodeUnreclaimable = 1;
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[2]!.pagesets = [];
      }),
    ).toThrow(einval);
    expect(
      bad((n) => {
        n.zones[1]!.pagesets.pop();
      }),
    ).toThrow(einval);
    expect(() => formatZoneinfo("nope" as unknown as ZoneinfoNode[])).toThrow(einval);
  });
});

describe("defaultPageset", () => {
  // Worked by hand from zone_batchsize(), zone_highsize() and
  // calculate_normal_threshold() (v6.12 mm/page_alloc.c, mm/vmstat.c).
  it("sizes a small DMA zone (batch floor of 1)", () => {
    // batch: min(3840>>10 = 3, 256) / 4 = 0 -> 1; rounddown_pow_of_two(1) - 1 = 0 -> max(1, 0) = 1
    // high:  max(18 / 2 = 9, 1 * 4) = 9;   high_max: max(3840 / 8 / 2 = 240, 4) = 240
    // threshold: mem = 3840 >> 15 = 0; 2 * fls(2) * (1 + fls(0)) = 2 * 2 * 1 = 4
    expect(defaultPageset(3840, 18, 4096, 2)).toEqual({ batch: 1, high: 9, statThreshold: 4, highMax: 240 });
  });

  it("sizes a 2.9 GiB DMA32 zone on 2 cpus", () => {
    // batch: min(757712>>10 = 739, 256) / 4 = 64; rounddown_pow_of_two(96) - 1 = 63
    // high:  max(4831 / 2 = 2415, 252) = 2415;  high_max: 757712 / 8 = 94714, / 2 = 47357
    // threshold: mem = 757712 >> 15 = 23; 2 * fls(2) * (1 + fls(23)) = 2 * 2 * 6 = 24
    expect(defaultPageset(757712, 4831, 4096, 2)).toEqual({ batch: 63, high: 2415, statThreshold: 24, highMax: 47357 });
  });

  it("sizes a 15 GiB Normal zone on 8 cpus", () => {
    // batch 63; high: max(16000 / 8 = 2000, 252) = 2000; high_max: 4000000 / 8 / 8 = 62500
    // threshold: mem = 4000000 >> 15 = 122; 2 * fls(8) * (1 + fls(122)) = 2 * 4 * 8 = 64
    expect(defaultPageset(4_000_000, 16000, 4096, 8)).toEqual({
      batch: 63,
      high: 2000,
      statThreshold: 64,
      highMax: 62500,
    });
  });

  it("sizes a 247 MiB zone on one cpu (batch 15)", () => {
    // batch: 63210>>10 = 61, / 4 = 15; rounddown_pow_of_two(15 + 7 = 22) - 1 = 15
    // high: max(453, 60) = 453; high_max: 63210 / 8 = 7901
    // threshold: mem = 63210 >> 15 = 1; 2 * fls(1) * (1 + fls(1)) = 2 * 1 * 2 = 4
    expect(defaultPageset(63210, 453, 4096, 1)).toEqual({ batch: 15, high: 453, statThreshold: 4, highMax: 7901 });
  });

  it("uses batch * 4 as the floor of high", () => {
    // batch 1 (100>>10 = 0); high: max(0 / 3 = 0, 4) = 4; high_max: max(100 / 8 = 12, / 3 = 4, 4) = 4
    // threshold: 2 * fls(3) * (1 + fls(0)) = 2 * 2 * 1 = 4
    expect(defaultPageset(100, 0, 4096, 3)).toEqual({ batch: 1, high: 4, statThreshold: 4, highMax: 4 });
  });

  it("caps the threshold at 125", () => {
    // 64 GiB zone, 64 cpus: mem = 16777216 >> 15 = 512; 2 * fls(64) * (1 + fls(512)) = 2 * 7 * 11 = 154 -> 125
    // high: max(65536 / 64 = 1024, 252) = 1024; high_max: 16777216 / 8 / 64 = 32768
    expect(defaultPageset(16_777_216, 65536, 4096, 64)).toEqual({
      batch: 63,
      high: 1024,
      statThreshold: 125,
      highMax: 32768,
    });
  });

  it("scales with 64 KiB pages", () => {
    // batch: min(100000>>10 = 97, SZ_1M / 64K = 16) / 4 = 4; rounddown_pow_of_two(4 + 2) - 1 = 3
    // high: max(500, 12) = 500; high_max: 100000 / 8 = 12500
    // threshold: mem = 100000 >> (27 - 16) = 48; 2 * fls(1) * (1 + fls(48)) = 2 * 1 * 7 = 14
    expect(defaultPageset(100_000, 500, 65536, 1)).toEqual({ batch: 3, high: 500, statThreshold: 14, highMax: 12500 });
  });

  it("agrees with the pagesets in the rendered example", () => {
    for (const zone of threeZones.zones.filter((z) => z.present > 0)) {
      const d = defaultPageset(zone.managed, zone.low, 4096, zone.pagesets.length);
      expect(d.statThreshold).toBe(zone.statThreshold);
      expect(d.batch).toBe(zone.pagesets[0]!.batch);
    }
  });

  it("rejects bad input", () => {
    const einval = expect.objectContaining({ code: "EINVAL" });
    expect(() => defaultPageset(-1, 0, 4096, 1)).toThrow(einval);
    expect(() => defaultPageset(1000.5, 0, 4096, 1)).toThrow(einval);
    expect(() => defaultPageset(1000, -2, 4096, 1)).toThrow(einval);
    expect(() => defaultPageset(1000, 0, 5000, 1)).toThrow(einval);
    expect(() => defaultPageset(1000, 0, 2048, 1)).toThrow(einval);
    expect(() => defaultPageset(1000, 0, 4096, 0)).toThrow(einval);
    expect(() => defaultPageset(1000, 0, 4096, 1.5)).toThrow(einval);
  });
});
