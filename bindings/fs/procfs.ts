/**
 * mm's virtual files, in the kernel's formats (dma-buf registers its bufinfo):
 *
 *   /proc/buddyinfo, /proc/pagetypeinfo, /proc/vmstat, /proc/zoneinfo
 *   /sys/kernel/debug/extfrag/extfrag_index, /sys/kernel/debug/extfrag/unusable_index
 *   /sys/kernel/mm/cma/<name>/{alloc_pages_success,alloc_pages_fail,release_pages_success,
 *                               total_pages,available_pages}            (mm/cma_sysfs.c)
 *   /sys/kernel/debug/cma/<name>/{base_pfn,count,order_per_bit,used,maxchunk}  (mm/cma_debug.c)
 *   /proc/sys/vm/compact_memory (write-only: "1" compacts every zone), /proc/sys/vm/extfrag_threshold,
 *   /proc/sys/vm/compaction_proactiveness, /proc/sys/vm/watermark_boost_factor,
 *   /proc/sys/vm/percpu_pagelist_high_fraction, /proc/sys/vm/drop_caches (write-only),
 *   /proc/sys/vm/defrag_mode (6.18 profile only: the sysctl came with v6.15),
 *   /proc/meminfo (fs/proc/meminfo.c, meminfo.ts), /proc/swaps (swap_show()),
 *   /proc/sys/vm/swappiness (0..200)
 *
 * One line or block per populated zone of node 0.
 */
import { WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, ZONE_DMA, ZONE_DMA32, ZONE_NORMAL } from "../core/abi.ts";
import { DmaSimError } from "../core/errors.ts";
import { EXTFRAG_THRESHOLD_MAX, parseSysctlInt } from "../mm/compaction.ts";
import { MIN_PERCPU_PAGELIST_HIGH_FRACTION, type Mm } from "../mm/mm.ts";
import { formatMeminfo, meminfo } from "./meminfo.ts";
import {
  ZONEINFO_ZONE_NAMES,
  ZONE_STAT_ITEMS,
  ZONE_STAT_ITEMS_6_18,
  defaultPageset,
  formatZoneinfo,
  type ZoneinfoZone,
} from "./zoneinfo.ts";
import {
  formatBuddyinfo,
  formatExtfragIndex,
  formatPagetypeinfo,
  formatUnusableIndex,
  formatVmstat,
  type ZoneFreeInfo,
} from "./vmstat.ts";

/** Every populated zone, lowest first, as the vmstat walkers visit them. */
function zones(sys: Mm): ZoneFreeInfo[] {
  return sys.zones().map((z) => ({
    node: 0,
    zone: z.name,
    freeBlocks: sys.freeArea(z.name),
    pageblocksByType: sys.pageblockCounts(z.name),
  }));
}

/** The LRU, page cache and reclaim lines of /proc/vmstat (node items and vm events). */
function lruVmstat(sys: Mm): Record<string, number> {
  const s = sys.stats();
  const l = sys.pageCache.lruStats();
  return {
    nr_zone_inactive_anon: l.inactiveAnon,
    nr_zone_active_anon: l.activeAnon,
    nr_zone_inactive_file: l.inactiveFile,
    nr_zone_active_file: l.activeFile,
    nr_zone_unevictable: 0,
    nr_zone_write_pending: l.dirty + l.writeback,
    nr_inactive_anon: l.inactiveAnon,
    nr_active_anon: l.activeAnon,
    nr_inactive_file: l.inactiveFile,
    nr_active_file: l.activeFile,
    nr_unevictable: 0,
    nr_anon_pages: l.inactiveAnon + l.activeAnon,
    nr_file_pages: l.filePages,
    nr_dirty: l.dirty,
    nr_writeback: l.writeback,
    allocstall_dma: s.allocstallDma,
    allocstall_dma32: s.allocstallDma32,
    allocstall_normal: s.allocstallNormal,
    allocstall_movable: s.allocstallMovable,
    pgskip_dma: s.pgskipDma,
    pgskip_dma32: s.pgskipDma32,
    pgskip_normal: s.pgskipNormal,
    pgskip_movable: s.pgskipMovable,
    pgactivate: s.pgactivate,
    pgdeactivate: s.pgdeactivate,
    pgrefill: s.pgrefill,
    pgsteal_kswapd: s.pgstealKswapd,
    pgsteal_direct: s.pgstealDirect,
    pgscan_kswapd: s.pgscanKswapd,
    pgscan_direct: s.pgscanDirect,
    pgscan_anon: s.pgscanAnon,
    pgscan_file: s.pgscanFile,
    pgsteal_anon: s.pgstealAnon,
    pgsteal_file: s.pgstealFile,
    kswapd_low_wmark_hit_quickly: s.kswapdLowWmarkHitQuickly,
    kswapd_high_wmark_hit_quickly: s.kswapdHighWmarkHitQuickly,
    pgrotated: s.pgrotated,
    drop_pagecache: s.dropPagecache,
    drop_slab: s.dropSlab,
    nr_swapcached: sys.swap.cachedPages,
    pswpin: s.pswpin,
    pswpout: s.pswpout,
    pgmajfault: s.pgmajfault,
  };
}

function vmstat(sys: Mm): string {
  const s = sys.stats();
  return formatVmstat({
    nr_free_pages: s.nrFreePages,
    // NR_FREE_PAGES_BLOCKS (v6.15+): in 6.18's vmstat_text[] right after nr_free_pages.
    ...(sys.kernel === "6.18" ? { nr_free_pages_blocks: sumZones(sys, (z) => sys.engine.zoneFreeBlocksPages(z)) } : {}),
    nr_free_cma: s.nrFreeCmaPages,
    ...Object.fromEntries(
      (
        [
          [ZONE_DMA, "dma"],
          [ZONE_DMA32, "dma32"],
          [ZONE_NORMAL, "normal"],
        ] as const
      ).map(([z, name]) => [`pgalloc_${name}`, sys.engine.zonePgallocPages(z)]),
    ),
    pgalloc_movable: 0,
    pgalloc_device: 0,
    pgfree: s.pgfree,
    pgmigrate_success: s.pgmigrateSuccess,
    pgmigrate_fail: s.pgmigrateFail,
    compact_migrate_scanned: s.compactMigrateScanned,
    compact_free_scanned: s.compactFreeScanned,
    compact_isolated: s.compactIsolated,
    compact_stall: s.compactStall,
    compact_fail: s.compactFail,
    compact_success: s.compactSuccess,
    compact_daemon_wake: s.compactDaemonWake,
    compact_daemon_migrate_scanned: s.compactDaemonMigrateScanned,
    compact_daemon_free_scanned: s.compactDaemonFreeScanned,
    pageoutrun: sys.engine.boostHighatomicEvents(4),
    ...lruVmstat(sys),
    cma_alloc_success: s.cmaAllocSuccess,
    cma_alloc_fail: s.cmaAllocFail,
  });
}

/**
 * /proc/zoneinfo for node 0 with all five zones. Only the counters dmasim
 * models are non-zero. Each online cpu's pageset shows its pcp lists as they
 * are: count, pcp->high (0, BOOT_PAGESET_HIGH, until the cpu first uses the
 * zone's lists; then auto-tuned between high_min and high_max) and batch.
 */
/** struct per_cpu_pages fields as engine.pcpState() numbers them (PCP_* of assembly/pcp.ts). */
const PCP_FIELD = { count: 0, high: 1, highMin: 2, highMax: 3, batch: 4 } as const;

/** A per-zone counter summed over the populated zones (global_zone_page_state()). */
function sumZones(sys: Mm, count: (z: number) => number): number {
  let n = 0;
  for (let z = ZONE_DMA; z <= ZONE_NORMAL; z++)
    if (sys.engine.zoneEndPfn(z) > sys.engine.zoneStartPfn(z)) n += count(z);
  return n;
}

/** A zone's stat items: free pages and the zone's LRU sizes and write-pending pages. */
function zoneStats(sys: Mm, z: number): Record<string, number> {
  const e = sys.engine;
  const l = sys.pageCache.lruStats(z);
  return {
    nr_free_pages: e.zoneFree(z),
    nr_free_pages_blocks: e.zoneFreeBlocksPages(z),
    nr_zone_inactive_anon: l.inactiveAnon,
    nr_zone_active_anon: l.activeAnon,
    nr_zone_inactive_file: l.inactiveFile,
    nr_zone_active_file: l.activeFile,
    nr_zone_write_pending: l.dirty + l.writeback,
    nr_free_cma: e.zoneFreeCma(z),
  };
}

function zoneinfo(sys: Mm): string {
  const e = sys.engine;
  const zones: ZoneinfoZone[] = ZONEINFO_ZONE_NAMES.map((name, z) => {
    // The engine populates DMA..Normal; Movable and Device are always empty.
    const populated = z <= ZONE_NORMAL;
    const present = populated ? e.zoneEndPfn(z) - e.zoneStartPfn(z) : 0;
    const low = populated ? e.zoneWmarkPages(z, WMARK_LOW) : 0;
    const pcp = defaultPageset(present, low, sys.pageSize, sys.cpus);
    // zone->watermark_boost, and min/low/high/promo as wmark_pages(): boost included.
    const boost = populated ? e.zoneBoostPages(z) : 0;
    return {
      name,
      freePages: populated ? e.zoneFree(z) : 0,
      boost,
      min: populated ? e.zoneWmarkPages(z, WMARK_MIN) + boost : 0,
      low: low + boost,
      high: populated ? e.zoneWmarkPages(z, WMARK_HIGH) + boost : 0,
      promo: populated ? e.zoneWmarkPages(z, WMARK_PROMO) + boost : 0,
      spanned: present,
      present,
      managed: present,
      cma: populated ? e.zoneCma(z) : 0,
      protection: ZONEINFO_ZONE_NAMES.map((_, j) => (populated ? e.zoneProtection(z, j) : 0)),
      zoneStats: (populated ? zoneStats(sys, z) : {}) as Record<string, number>,
      startPfn: populated ? e.zoneStartPfn(z) : 0,
      pagesets: Array.from({ length: populated ? sys.cpus : 0 }, (_, cpu) => ({
        count: e.pcpState(cpu, z, PCP_FIELD.count),
        high: e.pcpState(cpu, z, PCP_FIELD.high),
        batch: e.pcpState(cpu, z, PCP_FIELD.batch),
      })),
      statThreshold: pcp.statThreshold,
    };
  });
  const l = sys.pageCache.lruStats();
  const nodeStats = {
    nr_inactive_anon: l.inactiveAnon,
    nr_active_anon: l.activeAnon,
    nr_inactive_file: l.inactiveFile,
    nr_active_file: l.activeFile,
    nr_anon_pages: l.inactiveAnon + l.activeAnon,
    nr_file_pages: l.filePages,
    nr_dirty: l.dirty,
    nr_writeback: l.writeback,
  };
  // pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES: "node_unreclaimable: 1".
  const unreclaimable = sys.kswapdState().failures >= 16;
  // 6.18 prints nr_free_pages_blocks after nr_free_pages (enum zone_stat_item of v6.15+).
  const zoneStatItems = sys.kernel === "6.18" ? ZONE_STAT_ITEMS_6_18 : ZONE_STAT_ITEMS;
  return formatZoneinfo([{ node: 0, nodeStats, nodeUnreclaimable: unreclaimable, zones }], { zoneStatItems });
}

/** The swap device's path in /proc/swaps. */
export const SWAP_DEVICE = "/dev/zram0";

/**
 * /proc/swaps (swap_show(), mm/swapfile.c): a header line, then per device its
 * path padded with spaces to 40 columns (at least one), the type ("partition"
 * for a block device), Size and Used in kB each followed by a tab and one more
 * below 10000000, then the priority.
 */
export function formatSwaps(
  swap: { totalPages: number; usedPages: number; priority: number },
  pageSize: number,
): string {
  const header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  if (swap.totalPages === 0) return header;
  const kb = (pages: number): number => (pages * pageSize) / 1024;
  const bytes = kb(swap.totalPages);
  const inuse = kb(swap.usedPages);
  const pad = " ".repeat(SWAP_DEVICE.length < 40 ? 40 - SWAP_DEVICE.length : 1);
  return (
    header +
    `${SWAP_DEVICE}${pad}partition\t${bytes}\t${bytes < 10000000 ? "\t" : ""}` +
    `${inuse}\t${inuse < 10000000 ? "\t" : ""}${swap.priority}\n`
  );
}

function cmaFile(sys: Mm, dir: "mm" | "debug", name: string, file: string): string | undefined {
  const area = sys.cmaAreas.find((a) => a.name === name);
  if (!area) return undefined;
  const st = area.stats;
  const value: Record<string, number> =
    dir === "mm"
      ? {
          alloc_pages_success: st.pagesSucceeded,
          alloc_pages_fail: st.pagesFailed,
          release_pages_success: st.pagesReleased,
          total_pages: area.count,
          available_pages: area.available,
        }
      : {
          base_pfn: area.basePfn,
          count: area.count,
          order_per_bit: area.orderPerBit,
          used: area.count - area.freeRuns().reduce((n, r) => n + r.pages, 0),
          maxchunk: area.freeRuns().reduce((m, r) => Math.max(m, r.pages), 0),
        };
  const v = value[file];
  return v === undefined ? undefined : `${v}\n`;
}

const DEFRAG_MODE = "/proc/sys/vm/defrag_mode";

/** Files a kernel profile does not have: vm.defrag_mode before 6.15 (the 6.1 and 6.12 profiles). */
function absentInProfile(sys: Mm, path: string): boolean {
  return path === DEFRAG_MODE && sys.kernel !== "6.18";
}

/**
 * The writable /proc/sys/vm files (kernel/sysctl.c, mm/compaction.c): each
 * parses as proc_dointvec() does and checks its range before anything changes.
 */
const SYSCTL_WRITES: Record<string, (sys: Mm, path: string, text: string) => void> = {
  // sysctl_compaction_handler(): mode 0200; only 1 is accepted, and compacts every node.
  "/proc/sys/vm/compact_memory": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value !== 1) throw new DmaSimError("EINVAL", `write ${path}: only 1 is accepted, got ${value}`);
    sys.compactMemory();
  },
  // proc_dointvec_minmax() with extra1 = 0, extra2 = 1000.
  "/proc/sys/vm/extfrag_threshold": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 0 || value > EXTFRAG_THRESHOLD_MAX)
      throw new DmaSimError("EINVAL", `write ${path}: ${value} is outside 0..${EXTFRAG_THRESHOLD_MAX}`);
    sys.setPolicy({ extfragThreshold: value });
  },
  // compaction_proactiveness_sysctl_handler(): proc_dointvec_minmax() with 0 and 100
  // (SYSCTL_ONE_HUNDRED); a non-zero value wakes kcompactd for a proactive check.
  "/proc/sys/vm/compaction_proactiveness": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 0 || value > 100) throw new DmaSimError("EINVAL", `write ${path}: ${value} is outside 0..100`);
    sys.setPolicy({ compactionProactiveness: value });
  },
  // mm/page_alloc.c: proc_dointvec_minmax() with extra1 = SYSCTL_ZERO and no extra2 (up to INT_MAX).
  "/proc/sys/vm/watermark_boost_factor": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 0) throw new DmaSimError("EINVAL", `write ${path}: ${value} is below 0`);
    sys.setPolicy({ watermarkBoostFactor: value });
  },
  // percpu_pagelist_high_fraction_sysctl_handler(): proc_dointvec_minmax() with
  // extra1 = 0, then 0 or >= MIN_PERCPU_PAGELIST_HIGH_FRACTION (8); a change
  // re-sizes every zone's pagesets (zone_set_pageset_high_and_batch()), nothing drains.
  // drop_caches_sysctl_handler(): proc_dointvec_minmax() with range 1..4; bit 0
  // drops clean page cache, bit 1 slab, bit 2 only silences the log line.
  "/proc/sys/vm/drop_caches": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 1 || value > 4) throw new DmaSimError("EINVAL", `write ${path}: ${value} is outside 1..4`);
    sys.pageCache.dropCaches(value);
  },
  // vm_swappiness: proc_dointvec_minmax() with extra1 = SYSCTL_ZERO, extra2 = SYSCTL_TWO_HUNDRED.
  "/proc/sys/vm/swappiness": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 0 || value > 200) throw new DmaSimError("EINVAL", `write ${path}: ${value} is outside 0..200`);
    sys.setSwappiness(value);
  },
  "/proc/sys/vm/percpu_pagelist_high_fraction": (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 0 || (value !== 0 && value < MIN_PERCPU_PAGELIST_HIGH_FRACTION))
      throw new DmaSimError(
        "EINVAL",
        `write ${path}: ${value} must be 0 or at least ${MIN_PERCPU_PAGELIST_HIGH_FRACTION}`,
      );
    sys.setPercpuPagelistHighFraction(value);
  },
  // mm/page_alloc.c (v6.15+): proc_dointvec_minmax() with extra1 = SYSCTL_ZERO, extra2 = SYSCTL_ONE.
  [DEFRAG_MODE]: (sys, path, text) => {
    const value = parseSysctlInt(path, text);
    if (value < 0 || value > 1) throw new DmaSimError("EINVAL", `write ${path}: ${value} is outside 0..1`);
    sys.setPolicy({ defragMode: value });
  },
};

const FILES: Record<string, (sys: Mm) => string> = {
  [DEFRAG_MODE]: (sys) => `${sys.defragMode}\n`,
  "/proc/sys/vm/extfrag_threshold": (sys) => `${sys.extfragThreshold}\n`,
  "/proc/sys/vm/compaction_proactiveness": (sys) => `${sys.compactionProactiveness}\n`,
  "/proc/sys/vm/watermark_boost_factor": (sys) => `${sys.watermarkBoostFactor}\n`,
  "/proc/sys/vm/percpu_pagelist_high_fraction": (sys) => `${sys.percpuPagelistHighFraction}\n`,
  "/proc/sys/vm/swappiness": (sys) => `${sys.swappiness}\n`,
  "/proc/swaps": (sys) => formatSwaps(sys.swap, sys.pageSize),
  "/proc/buddyinfo": (sys) => formatBuddyinfo(zones(sys)),
  "/proc/pagetypeinfo": (sys) => formatPagetypeinfo(zones(sys), sys.pageblockOrder),
  "/proc/vmstat": vmstat,
  "/proc/meminfo": (sys) => formatMeminfo(meminfo(sys)),
  "/proc/zoneinfo": zoneinfo,
  "/sys/kernel/debug/extfrag/extfrag_index": (sys) => formatExtfragIndex(zones(sys)),
  "/sys/kernel/debug/extfrag/unusable_index": (sys) => formatUnusableIndex(zones(sys)),
};

/** @internal Boot: mm's files (vmstat, zoneinfo, buddyinfo, pagetypeinfo, extfrag, CMA sysfs and debugfs). */
export function registerProcFiles(sys: Mm): void {
  sys.registry.add({
    name: "mm-files",
    readFile(path) {
      // Mode 0200: sysctl's permission check (test_perm()) refuses reads even to root.
      if (path === "/proc/sys/vm/compact_memory" || path === "/proc/sys/vm/drop_caches")
        throw new DmaSimError("EACCES", `readFile: ${path}: permission denied (write-only)`);
      if (absentInProfile(sys, path)) return undefined;
      const file = Object.hasOwn(FILES, path) ? FILES[path] : undefined;
      if (file) return file(sys);
      const m = /^\/sys\/kernel\/(mm|debug)\/cma\/([^/]+)\/([a-z_]+)$/.exec(path);
      return m ? cmaFile(sys, m[1] as "mm" | "debug", m[2]!, m[3]!) : undefined;
    },
    writeFile(path, text) {
      if (absentInProfile(sys, path)) return undefined;
      const write = Object.hasOwn(SYSCTL_WRITES, path) ? SYSCTL_WRITES[path] : undefined;
      if (!write) return undefined;
      write(sys, path, text);
      return true;
    },
  });
}
