/**
 * /proc/zoneinfo, rendered from plain data.
 *
 * The text follows mm/vmstat.c zoneinfo_show() / zoneinfo_show_print() of
 * mainline v6.12 byte for byte, for x86_64 with CONFIG_SMP, CONFIG_NUMA off,
 * CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32, CONFIG_ZONE_DEVICE (so MAX_NR_ZONES = 5:
 * DMA, DMA32, Normal, Movable, Device), CONFIG_CMA, CONFIG_MEMORY_ISOLATION,
 * CONFIG_TRANSPARENT_HUGEPAGE, CONFIG_SWAP, CONFIG_IOMMU_SUPPORT,
 * CONFIG_ZSMALLOC and CONFIG_UNACCEPTED_MEMORY on. CONFIG_NUMA_BALANCING
 * depends on NUMA and CONFIG_SHADOW_CALL_STACK is arm64/riscv only, so their
 * items are absent.
 *
 * What differs inside v6.10..v6.12 (this module renders v6.12):
 *  - the "        promo    %lu" watermark line first appears in v6.12
 *    ("mm: print the promo watermark in zoneinfo", merged for 6.12-rc1);
 *    v6.10 and v6.11 go straight from "high" to "spanned". In v6.12 it is
 *    printed unconditionally, NUMA balancing or not.
 *  - "nr_iommu_pages" (node stat, CONFIG_IOMMU_SUPPORT) first appears in
 *    v6.11; v6.10 has no such line.
 *  - "nr_memmap"/"nr_memmap_boot" were node stats only during the 6.11 merge
 *    window; a 6.11-rc fix made them system-wide vm_stat_item counters
 *    ("nr_memmap_pages", "nr_memmap_boot_pages"), which zoneinfo never prints.
 * Later kernels differ again and are NOT rendered here (patches posted after
 * 6.12-rc1, so v6.13 at the earliest): the node item "nr_hugetlb"; the
 * pageset lines "high_min:"/"high_max:", which also re-pad
 * "count:"/"high:"/"batch:" to "count:    " etc.; and, about v6.15, the node
 * item "pgdemote_proactive". The one later line rendered on request is v6.15's
 * zone item "nr_free_pages_blocks" (ZONE_STAT_ITEMS_6_18, for the 6.18 profile).
 *
 * Values are printed exactly as given: the kernel's own adjustments are the
 * caller's job (THP node items divided by HPAGE_PMD_NR, see
 * NODE_STAT_ITEMS_PRINTED_IN_THP; negative node counters clamped to 0;
 * "nr_kernel_stack" in KiB; slab items in pages).
 */

import { MAX_NR_ZONES, ZONE_DEVICE, ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL, byIndex } from "../core/abi.ts";
import { DmaSimError } from "../core/errors.ts";
import { requireCount, requireInt, show } from "../core/validate.ts";

/** One zone of a node, populated or not (zoneinfo prints unpopulated zones too, shortened). */
export interface ZoneinfoZone {
  name: string; // "DMA", "DMA32", "Normal", "Movable", "Device"
  freePages: number;
  boost: number;
  min: number;
  low: number;
  high: number;
  promo: number;
  spanned: number;
  present: number;
  managed: number;
  cma: number;
  /** lowmem_reserve[] — one entry per zone of the node (MAX_NR_ZONES). */
  protection: number[];
  /** Zone stat items by kernel name (e.g. "nr_free_pages", "nr_zone_inactive_anon", "nr_free_cma", "nr_mlock", "nr_bounce", "nr_zspages"); missing items print 0. */
  zoneStats: Record<string, number>;
  startPfn: number;
  /** Per-cpu pageset of each online cpu: count, high, batch; and the zone's vm stats threshold. */
  pagesets: { count: number; high: number; batch: number }[];
  statThreshold: number;
}

export interface ZoneinfoNode {
  node: number;
  /** Node stat items by kernel name; missing items print 0. */
  nodeStats: Record<string, number>;
  nodeUnreclaimable: boolean;
  zones: ZoneinfoZone[]; // in zone index order, all MAX_NR_ZONES of them
}

/** zone_names[] for the configuration above, indexed by enum zone_type (the engine's ZONE_*). */
export const ZONEINFO_ZONE_NAMES: readonly string[] = byIndex("ZONEINFO_ZONE_NAMES", MAX_NR_ZONES, {
  [ZONE_DMA]: "DMA",
  [ZONE_DMA32]: "DMA32",
  [ZONE_NORMAL]: "Normal",
  [ZONE_MOVABLE]: "Movable",
  [ZONE_DEVICE]: "Device",
});

/**
 * Zone stat item names in enum zone_stat_item order (v6.12), i.e. what
 * zoneinfo prints for a populated zone: NR_FREE_PAGES, the five NR_ZONE_LRU
 * items, NR_ZONE_WRITE_PENDING, NR_MLOCK, NR_BOUNCE, NR_ZSPAGES
 * (CONFIG_ZSMALLOC), NR_FREE_CMA_PAGES, NR_UNACCEPTED
 * (CONFIG_UNACCEPTED_MEMORY).
 */
export const ZONE_STAT_ITEMS: readonly string[] = Object.freeze([
  "nr_free_pages",
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
]);

/**
 * ZONE_STAT_ITEMS of a 6.18 kernel as dmasim renders it: NR_FREE_PAGES_BLOCKS
 * (v6.15, "mm: page_alloc: defrag_mode kswapd/kcompactd watermarks") follows
 * NR_FREE_PAGES. (Other items 6.13–6.18 changed are not rendered.)
 */
export const ZONE_STAT_ITEMS_6_18: readonly string[] = Object.freeze([
  ZONE_STAT_ITEMS[0]!,
  "nr_free_pages_blocks",
  ...ZONE_STAT_ITEMS.slice(1),
]);

/** formatZoneinfo()'s options. */
export interface ZoneinfoOptions {
  /** The zone stat items printed, in order (default ZONE_STAT_ITEMS, v6.12's). */
  zoneStatItems?: readonly string[];
}

/**
 * Node stat item names in enum node_stat_item order (v6.12), as
 * node_stat_name() spells them (vmstat_text[] after the zone and NUMA items).
 * Conditional items kept: nr_iommu_pages (CONFIG_IOMMU_SUPPORT),
 * nr_swapcached (CONFIG_SWAP). Dropped: nr_shadow_call_stack
 * (CONFIG_SHADOW_CALL_STACK, not on x86_64), pgpromote_success /
 * pgpromote_candidate (CONFIG_NUMA_BALANCING, needs NUMA).
 */
export const NODE_STAT_ITEMS: readonly string[] = Object.freeze([
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
  "nr_page_table_pages",
  "nr_sec_page_table_pages",
  "nr_iommu_pages",
  "nr_swapcached",
  "pgdemote_kswapd",
  "pgdemote_direct",
  "pgdemote_khugepaged",
]);

/**
 * The node items vmstat_item_print_in_thp() picks (NR_ANON_THPS,
 * NR_FILE_THPS, NR_SHMEM_THPS, NR_SHMEM_PMDMAPPED, NR_FILE_PMDMAPPED): the
 * kernel counts them in pages and prints pages / HPAGE_PMD_NR (512 on x86_64
 * with 4 KiB pages). formatZoneinfo() prints what it is given, so callers pass
 * these already divided.
 */
export const NODE_STAT_ITEMS_PRINTED_IN_THP: readonly string[] = Object.freeze([
  "nr_shmem_hugepages",
  "nr_shmem_pmdmapped",
  "nr_file_hugepages",
  "nr_file_pmdmapped",
  "nr_anon_transparent_hugepages",
]);

// ---------------------------------------------------------------------------
// input checks
// ---------------------------------------------------------------------------

const INT_MAX = 2 ** 31 - 1;
const S8_MAX = 127;

function fail(message: string): never {
  throw new DmaSimError("EINVAL", message);
}

/** A counter printed with %lu / %ld: a non-negative safe integer. */
const checkCount = (value: unknown, what: string): number => requireCount("zoneinfo", what, value);

/** A field printed with %i / %d from a C int (or s8): 0..max. */
const checkInt = (value: unknown, what: string, max: number): number => requireInt("zoneinfo", what, value, 0, max);

function checkRecord(value: unknown, what: string): Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`${what} must be an object mapping stat names to counts`);
  }
  return value as Record<string, number>;
}

/** The value of `name` in `stats` (0 when absent); names the kernel does not print are ignored. */
function statValue(stats: Record<string, number>, name: string, what: string): number {
  if (!Object.prototype.hasOwnProperty.call(stats, name)) return 0;
  const value = stats[name];
  if (value === undefined) return 0;
  return checkCount(value, `${what} ${name}`);
}

function checkZone(zone: unknown, index: number, where: string): ZoneinfoZone {
  if (typeof zone !== "object" || zone === null) fail(`${where}: zones[${index}] must be an object`);
  const z = zone as ZoneinfoZone;
  const expected = ZONEINFO_ZONE_NAMES[index];
  if (z.name !== expected) {
    fail(`${where}: zones[${index}] must be named ${show(expected)}, got ${show(z.name)}`);
  }
  const at = `${where} zone ${z.name}`;
  for (const key of [
    "freePages",
    "boost",
    "min",
    "low",
    "high",
    "promo",
    "spanned",
    "present",
    "managed",
    "cma",
    "startPfn",
  ] as const) {
    checkCount(z[key], `${at} ${key}`);
  }
  if (!Array.isArray(z.protection) || z.protection.length !== MAX_NR_ZONES) {
    fail(`${at}: protection must have ${MAX_NR_ZONES} entries (one per zone)`);
  }
  z.protection.forEach((v, i) => checkCount(v, `${at} protection[${i}]`));
  const stats = checkRecord(z.zoneStats, `${at} zoneStats`);
  for (const name of ZONE_STAT_ITEMS) statValue(stats, name, `${at} zone stat`);
  if (!Array.isArray(z.pagesets)) fail(`${at}: pagesets must be an array`);
  z.pagesets.forEach((p, cpu) => {
    if (typeof p !== "object" || p === null) fail(`${at}: pagesets[${cpu}] must be an object`);
    checkInt(p.count, `${at} cpu ${cpu} count`, INT_MAX);
    checkInt(p.high, `${at} cpu ${cpu} high`, INT_MAX);
    checkInt(p.batch, `${at} cpu ${cpu} batch`, INT_MAX);
  });
  // stat_threshold is an s8 in struct per_cpu_zonestat.
  checkInt(z.statThreshold, `${at} statThreshold`, S8_MAX);
  return z;
}

function checkNodes(nodes: unknown): readonly ZoneinfoNode[] {
  if (!Array.isArray(nodes)) fail("nodes must be an array");
  let cpus: number | undefined;
  for (const n of nodes as unknown[]) {
    if (typeof n !== "object" || n === null) fail("each node must be an object");
    const node = n as ZoneinfoNode;
    checkInt(node.node, "node id", INT_MAX);
    const where = `node ${node.node}`;
    const stats = checkRecord(node.nodeStats, `${where} nodeStats`);
    for (const name of NODE_STAT_ITEMS) statValue(stats, name, `${where} node stat`);
    if (typeof node.nodeUnreclaimable !== "boolean") fail(`${where}: nodeUnreclaimable must be a boolean`);
    if (!Array.isArray(node.zones) || node.zones.length !== MAX_NR_ZONES) {
      fail(`${where}: zones must list all ${MAX_NR_ZONES} zones (${ZONEINFO_ZONE_NAMES.join(", ")})`);
    }
    node.zones.forEach((z, i) => {
      const zone = checkZone(z, i, where);
      if (zone.present === 0) return;
      // Every populated zone has a pageset on every online cpu.
      if (zone.pagesets.length === 0)
        fail(`${where} zone ${zone.name}: a populated zone needs one pageset per online cpu`);
      if (cpus === undefined) cpus = zone.pagesets.length;
      else if (zone.pagesets.length !== cpus) {
        fail(
          `${where} zone ${zone.name}: ${zone.pagesets.length} pagesets, but other populated zones have ${cpus} (online cpus)`,
        );
      }
    });
  }
  return nodes as readonly ZoneinfoNode[];
}

// ---------------------------------------------------------------------------
// zoneinfo_show()
// ---------------------------------------------------------------------------

/** "%8s": right-justify to 8 columns, never truncate. */
function pad8(text: string): string {
  return text.padStart(8, " ");
}

/** "\n      %-12s %lu": a stat line, name left-justified in 12 columns (longer names overflow). */
function statLine(name: string, value: number): string {
  return `\n      ${name.padEnd(12, " ")} ${value}`;
}

/** populated_zone(): the zone has present pages. */
function populated(zone: ZoneinfoZone): boolean {
  return zone.present !== 0;
}

/** zoneinfo_show_print() for one zone; `first` is is_zone_first_populated(). */
function zoneText(node: ZoneinfoNode, zone: ZoneinfoZone, first: boolean, zoneStatItems: readonly string[]): string {
  const out: string[] = [`Node ${node.node}, zone ${pad8(zone.name)}`];
  if (first) {
    out.push("\n  per-node stats");
    for (const name of NODE_STAT_ITEMS) out.push(statLine(name, statValue(node.nodeStats, name, "node stat")));
  }
  out.push(
    `\n  pages free     ${zone.freePages}`,
    `\n        boost    ${zone.boost}`,
    `\n        min      ${zone.min}`,
    `\n        low      ${zone.low}`,
    `\n        high     ${zone.high}`,
    `\n        promo    ${zone.promo}`,
    `\n        spanned  ${zone.spanned}`,
    `\n        present  ${zone.present}`,
    `\n        managed  ${zone.managed}`,
    `\n        cma      ${zone.cma}`,
  );
  out.push(`\n        protection: (${zone.protection.join(", ")})`);
  // The kernel stops here for an unpopulated zone: "no other information is useful".
  if (!populated(zone)) {
    out.push("\n");
    return out.join("");
  }
  for (const name of zoneStatItems) out.push(statLine(name, statValue(zone.zoneStats, name, "zone stat")));
  // (CONFIG_NUMA would print the numa_* event items here.)
  out.push("\n  pagesets");
  zone.pagesets.forEach((p, cpu) => {
    out.push(
      `\n    cpu: ${cpu}`,
      `\n              count: ${p.count}`,
      `\n              high:  ${p.high}`,
      `\n              batch: ${p.batch}`,
      // CONFIG_SMP: printed once per cpu, inside the loop.
      `\n  vm stats threshold: ${zone.statThreshold}`,
    );
  });
  out.push(
    `\n  node_unreclaimable:  ${node.nodeUnreclaimable ? 1 : 0}`,
    `\n  start_pfn:           ${zone.startPfn}`,
    "\n",
  );
  return out.join("");
}

/**
 * zoneinfo_show(): /proc/zoneinfo for the given nodes, in the order given.
 * Every node lists all five zones; an unpopulated zone (present == 0) stops
 * after its protection line. The per-node stats block is printed once, under
 * the node's first populated zone (is_zone_first_populated()); a node with no
 * populated zone prints none. pagesets[i] is online cpu i (cpu ids 0..n-1).
 * Zone/node stat names the kernel does not print are ignored; missing ones
 * print 0 (nr_free_pages is a separate stat from freePages, as in the kernel,
 * so it is not filled in from freePages).
 */
export function formatZoneinfo(nodes: readonly ZoneinfoNode[], options: ZoneinfoOptions = {}): string {
  const checked = checkNodes(nodes);
  const zoneStatItems = options.zoneStatItems ?? ZONE_STAT_ITEMS;
  const out: string[] = [];
  for (const node of checked) {
    const firstPopulated = node.zones.findIndex(populated);
    node.zones.forEach((zone, i) => out.push(zoneText(node, zone, i === firstPopulated, zoneStatItems)));
  }
  return out.join("");
}

// ---------------------------------------------------------------------------
// default pageset sizing (mm/page_alloc.c, mm/vmstat.c)
// ---------------------------------------------------------------------------

/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: the fraction used for pcp->high_max. */
const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;
const SZ_1M = 1 << 20;

/** fls(): 1-based index of the most significant set bit, 0 for 0. */
function fls(x: number): number {
  let bits = 0;
  while (x >= 1) {
    x = Math.floor(x / 2);
    bits++;
  }
  return bits;
}

/** rounddown_pow_of_two() for x >= 1. */
function rounddownPowOfTwo(x: number): number {
  return 2 ** (fls(x) - 1);
}

/**
 * Default per-cpu pageset sizes and vmstat threshold of a zone, as v6.12
 * computes them (the formulas are the same from v6.7 through v6.12):
 *
 *   zone_batchsize():  b = min(managed >> 10, SZ_1M / pageSize) / 4, at least 1;
 *                      batch = rounddown_pow_of_two(b + b / 2) - 1
 *                      then zone_set_pageset_high_and_batch() uses max(1, batch).
 *   zone_highsize(zone, batch, 0, fraction):
 *                      total = fraction ? managed / fraction : low watermark;
 *                      high = max(total / nr_split_cpus, batch * 4),
 *                      nr_split_cpus = cpus (with CONFIG_NUMA off,
 *                      cpumask_of_node() is cpu_online_mask).
 *     high    = zone_highsize(.., 0): pcp->high_min, with the default
 *               percpu_pagelist_high_fraction of 0;
 *     highMax = zone_highsize(.., MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8):
 *               pcp->high_max.
 *   calculate_normal_threshold():
 *                      mem = managed >> (27 - PAGE_SHIFT)  (128 MiB units);
 *                      min(125, 2 * fls(cpus) * (1 + fls(mem))).
 * All divisions truncate, as in C.
 *
 * Since v6.7 the pcp->high that zoneinfo prints is auto-tuned at run time:
 * it starts at 0, is clamped into [high_min, high_max] whenever the cpu frees
 * into the list, and decays back toward high_min. `high` here is high_min,
 * the value an idle pageset settles at.
 *
 * `pageSize` must be a power of two from 4 KiB to 256 KiB; `cpus` is
 * num_online_cpus() (at least 1); `lowWatermark` is low_wmark_pages(zone).
 */
export function defaultPageset(
  managedPages: number,
  lowWatermark: number,
  pageSize: number,
  cpus: number,
): { batch: number; high: number; statThreshold: number; highMax: number } {
  checkCount(managedPages, "managedPages");
  checkCount(lowWatermark, "lowWatermark");
  if (
    typeof pageSize !== "number" ||
    !Number.isInteger(pageSize) ||
    pageSize < 4096 ||
    pageSize > 262144 ||
    (pageSize & (pageSize - 1)) !== 0
  ) {
    fail(`pageSize must be a power of two from 4096 to 262144, got ${show(pageSize)}`);
  }
  if (typeof cpus !== "number" || !Number.isSafeInteger(cpus) || cpus < 1) {
    fail(`cpus must be a positive integer, got ${show(cpus)}`);
  }
  const pageShift = fls(pageSize) - 1;

  // zone_batchsize()
  let b = Math.min(Math.floor(managedPages / 1024), SZ_1M / pageSize);
  b = Math.floor(b / 4);
  if (b < 1) b = 1;
  const batch = Math.max(1, rounddownPowOfTwo(b + Math.floor(b / 2)) - 1);

  // zone_highsize()
  const highsize = (totalPages: number): number => Math.max(Math.floor(totalPages / cpus), batch * 4);
  const high = highsize(lowWatermark);
  const highMax = highsize(Math.floor(managedPages / MIN_PERCPU_PAGELIST_HIGH_FRACTION));

  // calculate_normal_threshold()
  const mem = Math.floor(managedPages / 2 ** (27 - pageShift));
  const statThreshold = Math.min(125, 2 * fls(cpus) * (1 + fls(mem)));

  return { batch, high, statThreshold, highMax };
}
