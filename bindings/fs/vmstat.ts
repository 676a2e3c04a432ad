/**
 * Text renderers for the kernel's memory-statistics files, driven by plain data.
 *
 * Output follows Linux mm/vmstat.c byte for byte (widths, padding, trailing
 * spaces, newlines). The seq_printf formats used here are unchanged from v6.6
 * through v6.15: v6.6/v6.7 loop `order <= MAX_ORDER` and v6.8+ loop
 * `order < NR_PAGE_ORDERS`, which print the same columns. The /proc/vmstat
 * name order is v6.12's vmstat_text[] (see VMSTAT_ORDER below).
 *
 * The index arithmetic runs on BigInt so the kernel's unsigned 64-bit
 * div_u64() truncation is reproduced exactly rather than approximated with
 * floating point.
 */

import {
  MIGRATE_CMA,
  MIGRATE_HIGHATOMIC,
  MIGRATE_ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  byIndex,
} from "../core/abi.ts";
import { requireCount, requireName } from "../core/validate.ts";

/** migratetype_names[] (mm/page_alloc.c) with CONFIG_CMA and CONFIG_MEMORY_ISOLATION on, indexed by enum migratetype. */
export const MIGRATETYPE_NAMES: readonly string[] = byIndex("MIGRATETYPE_NAMES", MIGRATE_TYPES, {
  [MIGRATE_UNMOVABLE]: "Unmovable",
  [MIGRATE_MOVABLE]: "Movable",
  [MIGRATE_RECLAIMABLE]: "Reclaimable",
  [MIGRATE_HIGHATOMIC]: "HighAtomic",
  [MIGRATE_CMA]: "CMA",
  [MIGRATE_ISOLATE]: "Isolate",
});

/** One populated zone's snapshot. */
export interface ZoneFreeInfo {
  /** NUMA node id, e.g. 0. */
  node: number;
  /** Zone name as zone->name spells it, e.g. "Normal", "DMA32", "DMA". */
  zone: string;
  /** freeBlocks[mt][order]: free buddy blocks of that order on migratetype mt's free list; orders 0..maxOrder inclusive. */
  freeBlocks: number[][];
  /** pageblocksByType[mt]: number of pageblocks whose migratetype is mt. */
  pageblocksByType: number[];
}

// pagetypeinfo_showfree_print() stops walking a free list at this many
// entries, because it walks the list under zone->lock.
const FREELIST_WALK_CAP = 100000;

// ---------------------------------------------------------------------------
// printf helpers (C semantics)
// ---------------------------------------------------------------------------

/** "%<width>d" / "%<width>s" / "%<width>lu": right-justify, never truncate. */
function padLeft(text: string, width: number): string {
  return text.padStart(width, " ");
}

/** "%-<width>s": left-justify, never truncate. */
function padRight(text: string, width: number): string {
  return text.padEnd(width, " ");
}

/** "%0<width>d": C puts the zero padding after the sign, and the sign counts toward the width. */
function zeroPadSigned(value: number, width: number): string {
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.abs(value));
  return sign + digits.padStart(width - sign.length, "0");
}

/**
 * Split a thousandths index the way "%d.%03d" with `index / 1000, index % 1000`
 * does: C's int division truncates toward zero and % keeps the dividend's
 * sign, which is exactly Math.trunc and JS %.
 */
function splitThousandths(index: number): [whole: number, frac: number] {
  return [Math.trunc(index / 1000), index % 1000];
}

// ---------------------------------------------------------------------------
// input checks
// ---------------------------------------------------------------------------

const checkCount = (value: number, what: string) => requireCount("vmstat", what, value);
const checkOrder = (order: number) => requireCount("vmstat", "order", order);

function checkZone(z: ZoneFreeInfo): void {
  checkCount(z.node, "node");
  requireName("vmstat", "zone", z.zone);
  z.freeBlocks.forEach((row, mt) =>
    row.forEach((n, order) => checkCount(n, `freeBlocks[${mt}][${order}] of node ${z.node} zone ${z.zone}`)),
  );
  z.pageblocksByType.forEach((n, mt) => checkCount(n, `pageblocksByType[${mt}] of node ${z.node} zone ${z.zone}`));
}

// ---------------------------------------------------------------------------
// contig_page_info and the two indices
// ---------------------------------------------------------------------------

/** struct contig_page_info, in u64 arithmetic. */
interface ContigPageInfo {
  freePages: bigint;
  blocksTotal: bigint;
  blocksSuitable: bigint;
}

/** fill_contig_page_info(): tally free pages/blocks and the blocks big enough for `suitableOrder`. */
function fillContigPageInfo(nrFree: readonly number[], suitableOrder: number): ContigPageInfo {
  let freePages = 0n;
  let blocksTotal = 0n;
  let blocksSuitable = 0n;
  for (let order = 0; order < nrFree.length; order++) {
    const blocks = BigInt(nrFree[order] ?? 0);
    blocksTotal += blocks;
    freePages += blocks << BigInt(order);
    // A larger block can be split into 2^(order - suitableOrder) suitable ones.
    if (order >= suitableOrder) blocksSuitable += blocks << BigInt(order - suitableOrder);
  }
  return { freePages, blocksTotal, blocksSuitable };
}

/** __fragmentation_index() on an already-filled info; maxOrder plays MAX_PAGE_ORDER. */
function fragmentationFromInfo(order: number, maxOrder: number, info: ContigPageInfo): number {
  // The kernel WARNs and answers 0 for orders the buddy allocator cannot hold.
  if (order > maxOrder) return 0;
  if (info.blocksTotal === 0n) return 0;
  // The index only means something when the request would fail.
  if (info.blocksSuitable !== 0n) return -1000;
  const requestedPages = 1n << BigInt(order);
  const scaled = (1000n + (info.freePages * 1000n) / requestedPages) / info.blocksTotal;
  // 1000 - u64 wraps and is then stored in an int; the quotient stays far
  // below 2^31, so plain signed subtraction gives the same value (it can be
  // negative, e.g. -500 for a lone order-0 block asked about at order 1).
  return 1000 - Number(scaled);
}

/** unusable_free_index() on an already-filled info. */
function unusableFromInfo(order: number, info: ContigPageInfo): number {
  // The kernel treats "no free memory" as "all of it unusable".
  if (info.freePages === 0n) return 1000;
  const unusablePages = info.freePages - (info.blocksSuitable << BigInt(order));
  return Number((unusablePages * 1000n) / info.freePages);
}

/**
 * __fragmentation_index() (via fragmentation_index()): for a request of
 * `order`, given nrFree[o] free blocks at each order o (0..maxOrder, with
 * maxOrder = nrFree.length - 1). Thousandths: 0 when nothing is free, -1000
 * when a block of `order` or larger exists, 0 for order > maxOrder (the
 * kernel's WARN_ON_ONCE path), otherwise 1000 - (1000 + freePages*1000/2^order)
 * / totalBlocks in u64 integer division. That can go negative when very few
 * blocks are free, exactly as in the kernel.
 */
export function fragmentationIndex(nrFree: readonly number[], order: number): number {
  checkOrder(order);
  nrFree.forEach((n, o) => checkCount(n, `nrFree[${o}]`));
  return fragmentationFromInfo(order, nrFree.length - 1, fillContigPageInfo(nrFree, order));
}

/**
 * unusable_free_index(): thousandths of the free pages that sit in blocks
 * smaller than 2^order. Note the kernel returns 1000 (not 0) when there is no
 * free memory at all: "no free memory is interpreted as all free memory is
 * unusable".
 */
export function unusableFreeIndex(nrFree: readonly number[], order: number): number {
  checkOrder(order);
  nrFree.forEach((n, o) => checkCount(n, `nrFree[${o}]`));
  return unusableFromInfo(order, fillContigPageInfo(nrFree, order));
}

// ---------------------------------------------------------------------------
// zone walking
// ---------------------------------------------------------------------------

/** NR_PAGE_ORDERS is global, so every zone prints as many columns as the widest input row. */
function orderCount(zones: readonly ZoneFreeInfo[]): number {
  let count = 0;
  for (const z of zones) for (const row of z.freeBlocks) count = Math.max(count, row.length);
  return count;
}

/** zone->free_area[order].nr_free: blocks on every migratetype's list. */
function nrFreeByOrder(z: ZoneFreeInfo, nrOrders: number): number[] {
  const nrFree = new Array<number>(nrOrders).fill(0);
  for (const row of z.freeBlocks) {
    for (let order = 0; order < nrOrders; order++) nrFree[order] = (nrFree[order] ?? 0) + (row[order] ?? 0);
  }
  return nrFree;
}

/**
 * The seq_file walkers visit online nodes in id order and, within a node,
 * zones in zone-index order. Callers give only populated zones, in
 * zone-index order; this groups them by ascending node id and keeps the
 * given order inside a node.
 */
function groupByNode(zones: readonly ZoneFreeInfo[]): ZoneFreeInfo[][] {
  const byNode = new Map<number, ZoneFreeInfo[]>();
  for (const z of zones) {
    checkZone(z);
    const list = byNode.get(z.node);
    if (list) list.push(z);
    else byNode.set(z.node, [z]);
  }
  return [...byNode.keys()].sort((a, b) => a - b).map((node) => byNode.get(node) ?? []);
}

// ---------------------------------------------------------------------------
// /proc/buddyinfo, /proc/pagetypeinfo
// ---------------------------------------------------------------------------

/** frag_show() / frag_show_print() for /proc/buddyinfo. */
export function formatBuddyinfo(zones: readonly ZoneFreeInfo[]): string {
  const nrOrders = orderCount(zones);
  let out = "";
  for (const nodeZones of groupByNode(zones)) {
    for (const z of nodeZones) {
      out += `Node ${z.node}, zone ${padLeft(z.zone, 8)} `;
      for (const blocks of nrFreeByOrder(z, nrOrders)) out += `${padLeft(String(blocks), 6)} `;
      out += "\n";
    }
  }
  return out;
}

/**
 * pagetypeinfo_show() for /proc/pagetypeinfo: per node, the pageblock header,
 * pagetypeinfo_showfree() and pagetypeinfo_showblockcount(). The
 * CONFIG_PAGE_OWNER "Number of mixed blocks" table is left out.
 */
export function formatPagetypeinfo(zones: readonly ZoneFreeInfo[], pageblockOrder: number): string {
  checkOrder(pageblockOrder);
  const nrOrders = orderCount(zones);
  const pagesPerBlock = 1n << BigInt(pageblockOrder);
  let out = "";
  // The whole report repeats for each node that has memory.
  for (const nodeZones of groupByNode(zones)) {
    out += `Page block order: ${pageblockOrder}\n`;
    out += `Pages per block:  ${pagesPerBlock}\n`;
    out += "\n";

    // pagetypeinfo_showfree(): header, then a row per zone per migratetype.
    out += `${padRight("Free pages count per migrate type at order", 43)} `;
    for (let order = 0; order < nrOrders; order++) out += `${padLeft(String(order), 6)} `;
    out += "\n";
    for (const z of nodeZones) {
      MIGRATETYPE_NAMES.forEach((name, mt) => {
        out += `Node ${padLeft(String(z.node), 4)}, zone ${padLeft(z.zone, 8)}, type ${padLeft(name, 12)} `;
        const row = z.freeBlocks[mt] ?? [];
        for (let order = 0; order < nrOrders; order++) {
          const blocks = row[order] ?? 0;
          // The walk stops once it has counted FREELIST_WALK_CAP entries, so a
          // list of exactly 100000 already prints as ">100000".
          out +=
            blocks >= FREELIST_WALK_CAP
              ? `>${padLeft(String(FREELIST_WALK_CAP), 6)} `
              : `${padLeft(String(blocks), 6)} `;
        }
        out += "\n";
      });
    }

    // pagetypeinfo_showblockcount(): its format starts with the blank line.
    out += `\n${padRight("Number of blocks type ", 23)}`;
    for (const name of MIGRATETYPE_NAMES) out += `${padLeft(name, 12)} `;
    out += "\n";
    for (const z of nodeZones) {
      out += `Node ${z.node}, zone ${padLeft(z.zone, 8)} `;
      MIGRATETYPE_NAMES.forEach((_name, mt) => {
        out += `${padLeft(String(z.pageblocksByType[mt] ?? 0), 12)} `;
      });
      out += "\n";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// debugfs extfrag/
// ---------------------------------------------------------------------------

/** One line per zone, one cell per order: the walk extfrag_show() and unusable_show() share. */
function formatPerOrderIndex(
  zones: readonly ZoneFreeInfo[],
  cell: (nrFree: number[], order: number) => string,
): string {
  const nrOrders = orderCount(zones);
  let out = "";
  for (const nodeZones of groupByNode(zones)) {
    for (const z of nodeZones) {
      const nrFree = nrFreeByOrder(z, nrOrders);
      out += `Node ${z.node}, zone ${padLeft(z.zone, 8)} `;
      for (let order = 0; order < nrOrders; order++) out += `${cell(nrFree, order)} `;
      out += "\n";
    }
  }
  return out;
}

/** extfrag_show() / extfrag_show_print() for debugfs extfrag/extfrag_index ("%2d.%03d "). */
export function formatExtfragIndex(zones: readonly ZoneFreeInfo[]): string {
  const maxOrder = orderCount(zones) - 1;
  return formatPerOrderIndex(zones, (nrFree, order) => {
    // No special case for negatives: -1000 prints "-1.000" and -500
    // prints " 0.-500", just as the kernel's int arithmetic does.
    const [whole, frac] = splitThousandths(fragmentationFromInfo(order, maxOrder, fillContigPageInfo(nrFree, order)));
    return `${padLeft(String(whole), 2)}.${zeroPadSigned(frac, 3)}`;
  });
}

/**
 * unusable_show() / unusable_show_print() for debugfs extfrag/unusable_index
 * ("%d.%03d "). The walker skips only unpopulated zones and memoryless
 * nodes, never zones that merely have no free pages: those print 1.000 for
 * every order. Every zone passed in is taken to be populated.
 */
export function formatUnusableIndex(zones: readonly ZoneFreeInfo[]): string {
  return formatPerOrderIndex(zones, (nrFree, order) => {
    const [whole, frac] = splitThousandths(unusableFromInfo(order, fillContigPageInfo(nrFree, order)));
    return `${whole}.${zeroPadSigned(frac, 3)}`;
  });
}

// ---------------------------------------------------------------------------
// /proc/vmstat
// ---------------------------------------------------------------------------

/** TEXTS_FOR_ZONES(): one name per zone type, in zone-index order. */
function perZone(prefix: string): string[] {
  return ["dma", "dma32", "normal", "high", "movable", "device"].map((zone) => `${prefix}_${zone}`);
}

/**
 * vmstat_text[] order for v6.12. The list was taken from mainline
 * mm/vmstat.c at a v6.15-era revision, which only adds names to v6.12
 * (nr_free_pages_blocks, pg*_proactive, nr_balloon_pages, ...) without
 * reordering any. Since only the counters you pass are printed, any v6.12
 * subset comes out in v6.12 order. Names that depend on a config option
 * (zones, NUMA, CMA, THP, ...) are all listed; leaving a counter out is how
 * you turn its option off. The zone counter is spelled "nr_free_cma".
 * "nr_unstable" goes last: the kernel prints "nr_unstable 0" after the final
 * item for old userspace.
 */
const VMSTAT_ORDER: readonly string[] = [
  // enum zone_stat_item
  "nr_free_pages",
  "nr_free_pages_blocks",
  "nr_zone_inactive_anon",
  "nr_zone_active_anon",
  "nr_zone_inactive_file",
  "nr_zone_active_file",
  "nr_zone_unevictable",
  "nr_zone_write_pending",
  "nr_mlock",
  "nr_bounce",
  "nr_zspages",
  "nr_free_cma",
  "nr_unaccepted",
  // enum numa_stat_item
  "numa_hit",
  "numa_miss",
  "numa_foreign",
  "numa_interleave",
  "numa_local",
  "numa_other",
  // enum node_stat_item
  "nr_inactive_anon",
  "nr_active_anon",
  "nr_inactive_file",
  "nr_active_file",
  "nr_unevictable",
  "nr_slab_reclaimable",
  "nr_slab_unreclaimable",
  "nr_isolated_anon",
  "nr_isolated_file",
  "workingset_nodes",
  "workingset_refault_anon",
  "workingset_refault_file",
  "workingset_activate_anon",
  "workingset_activate_file",
  "workingset_restore_anon",
  "workingset_restore_file",
  "workingset_nodereclaim",
  "nr_anon_pages",
  "nr_mapped",
  "nr_file_pages",
  "nr_dirty",
  "nr_writeback",
  "nr_writeback_temp",
  "nr_shmem",
  "nr_shmem_hugepages",
  "nr_shmem_pmdmapped",
  "nr_file_hugepages",
  "nr_file_pmdmapped",
  "nr_anon_transparent_hugepages",
  "nr_vmscan_write",
  "nr_vmscan_immediate_reclaim",
  "nr_dirtied",
  "nr_written",
  "nr_throttled_written",
  "nr_kernel_misc_reclaimable",
  "nr_foll_pin_acquired",
  "nr_foll_pin_released",
  "nr_kernel_stack",
  "nr_shadow_call_stack",
  "nr_page_table_pages",
  "nr_sec_page_table_pages",
  "nr_iommu_pages",
  "nr_swapcached",
  "pgpromote_success",
  "pgpromote_candidate",
  "pgdemote_kswapd",
  "pgdemote_direct",
  "pgdemote_khugepaged",
  "pgdemote_proactive",
  "nr_hugetlb",
  "nr_balloon_pages",
  // enum vm_stat_item (system-wide)
  "nr_dirty_threshold",
  "nr_dirty_background_threshold",
  "nr_memmap_pages",
  "nr_memmap_boot_pages",
  // enum vm_event_item
  "pgpgin",
  "pgpgout",
  "pswpin",
  "pswpout",
  ...perZone("pgalloc"),
  ...perZone("allocstall"),
  ...perZone("pgskip"),
  "pgfree",
  "pgactivate",
  "pgdeactivate",
  "pglazyfree",
  "pgfault",
  "pgmajfault",
  "pglazyfreed",
  "pgrefill",
  "pgreuse",
  "pgsteal_kswapd",
  "pgsteal_direct",
  "pgsteal_khugepaged",
  "pgsteal_proactive",
  "pgscan_kswapd",
  "pgscan_direct",
  "pgscan_khugepaged",
  "pgscan_proactive",
  "pgscan_direct_throttle",
  "pgscan_anon",
  "pgscan_file",
  "pgsteal_anon",
  "pgsteal_file",
  "zone_reclaim_success",
  "zone_reclaim_failed",
  "pginodesteal",
  "slabs_scanned",
  "kswapd_inodesteal",
  "kswapd_low_wmark_hit_quickly",
  "kswapd_high_wmark_hit_quickly",
  "pageoutrun",
  "pgrotated",
  "drop_pagecache",
  "drop_slab",
  "oom_kill",
  "numa_pte_updates",
  "numa_huge_pte_updates",
  "numa_hint_faults",
  "numa_hint_faults_local",
  "numa_pages_migrated",
  "pgmigrate_success",
  "pgmigrate_fail",
  "thp_migration_success",
  "thp_migration_fail",
  "thp_migration_split",
  "compact_migrate_scanned",
  "compact_free_scanned",
  "compact_isolated",
  "compact_stall",
  "compact_fail",
  "compact_success",
  "compact_daemon_wake",
  "compact_daemon_migrate_scanned",
  "compact_daemon_free_scanned",
  "htlb_buddy_alloc_success",
  "htlb_buddy_alloc_fail",
  "cma_alloc_success",
  "cma_alloc_fail",
  "unevictable_pgs_culled",
  "unevictable_pgs_scanned",
  "unevictable_pgs_rescued",
  "unevictable_pgs_mlocked",
  "unevictable_pgs_munlocked",
  "unevictable_pgs_cleared",
  "unevictable_pgs_stranded",
  "thp_fault_alloc",
  "thp_fault_fallback",
  "thp_fault_fallback_charge",
  "thp_collapse_alloc",
  "thp_collapse_alloc_failed",
  "thp_file_alloc",
  "thp_file_fallback",
  "thp_file_fallback_charge",
  "thp_file_mapped",
  "thp_split_page",
  "thp_split_page_failed",
  "thp_deferred_split_page",
  "thp_underused_split_page",
  "thp_split_pmd",
  "thp_scan_exceed_none_pte",
  "thp_scan_exceed_swap_pte",
  "thp_scan_exceed_share_pte",
  "thp_split_pud",
  "thp_zero_page_alloc",
  "thp_zero_page_alloc_failed",
  "thp_swpout",
  "thp_swpout_fallback",
  "balloon_inflate",
  "balloon_deflate",
  "balloon_migrate",
  "nr_tlb_remote_flush",
  "nr_tlb_remote_flush_received",
  "nr_tlb_local_flush_all",
  "nr_tlb_local_flush_one",
  "swap_ra",
  "swap_ra_hit",
  "swpin_zero",
  "swpout_zero",
  "ksm_swpin_copy",
  "cow_ksm",
  "zswpin",
  "zswpout",
  "zswpwb",
  "direct_map_level2_splits",
  "direct_map_level3_splits",
  "direct_map_level2_collapses",
  "direct_map_level3_collapses",
  "vma_lock_success",
  "vma_lock_abort",
  "vma_lock_retry",
  "vma_lock_miss",
  "kstack_1k",
  "kstack_2k",
  "kstack_4k",
  "kstack_8k",
  "kstack_16k",
  "kstack_32k",
  "kstack_64k",
  "kstack_rest",
  // deprecated, appended by vmstat_show() after the last item
  "nr_unstable",
];

const VMSTAT_RANK: ReadonlyMap<string, number> = new Map(VMSTAT_ORDER.map((name, rank) => [name, rank]));

/**
 * vmstat_show() for /proc/vmstat: "name value\n" per counter
 * (seq_puts + seq_put_decimal_ull(" ", v)), in vmstat_text[] order; names
 * the table does not know follow in insertion order. Values are printed as
 * given: the kernel's own adjustments (pgpgin/pgpgout halved from sectors,
 * THP counters divided by HPAGE_PMD_NR, negative stats clamped to 0) are the
 * caller's job.
 */
export function formatVmstat(counters: ReadonlyMap<string, number> | Record<string, number>): string {
  const entries: [string, number][] =
    counters instanceof Map ? [...counters.entries()] : Object.entries(counters as Record<string, number>);
  const known: [number, string, number][] = [];
  const unknown: [string, number][] = [];
  for (const [name, value] of entries) {
    checkCount(value, `counter ${name}`);
    const rank = VMSTAT_RANK.get(name);
    if (rank === undefined) unknown.push([name, value]);
    else known.push([rank, name, value]);
  }
  known.sort((a, b) => a[0] - b[0]);
  let out = "";
  for (const [, name, value] of known) out += `${name} ${value}\n`;
  for (const [name, value] of unknown) out += `${name} ${value}\n`;
  return out;
}
