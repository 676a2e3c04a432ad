import { fragmentationIndex, type System, unusableFreeIndex } from "../index.ts";
/**
 * Fragmentation metrics of a machine at one moment, as the Lab samples them over
 * a run: the kernel's extfrag and unusable indexes per order, free pages per
 * migratetype, pageblocks per type, CMA success and cost, migrations, failures.
 */

export interface CmaSample {
  name: string;
  allocsSucceeded: number;
  allocsFailed: number;
  pagesMigrated: number;
  busyRetries: number;
  /** Pages not handed out. */
  available: number;
}

/** A dma-buf heap at one moment (runs with `heap` operations only). */
export interface HeapSample {
  /** The heap's name: "system" or a CMA area's. */
  name: string;
  /** Bytes of its live buffers. */
  liveBytes: number;
  /** The scenario's allocations from it so far that succeeded, and that failed. */
  allocs: number;
  failed: number;
  /** System heap: blocks handed out so far per order of SYSTEM_HEAP_ORDERS (8, 4, 0); [] for a CMA heap. */
  chunks: number[];
}

export interface MetricsSample {
  /** Position in the run: operations (run) or events (replay) so far. */
  t: number;
  nrFreePages: number;
  nrFreeCmaPages: number;
  /** Free pages on each migratetype's lists (index = MIGRATETYPES). */
  freePagesByMigratetype: number[];
  /** Pageblocks of each migratetype (index = MIGRATETYPES). */
  pageblocksByMigratetype: number[];
  /** Free blocks per order, all migratetypes (the buddyinfo row). */
  nrFreeByOrder: number[];
  /** extfrag_index per order, thousandths (-1000: a block of that order is free). */
  extfragIndex: number[];
  /** unusable_index per order, thousandths. */
  unusableIndex: number[];
  pgmigrateSuccess: number;
  pgmigrateFail: number;
  /** Buddy allocations that returned NULL, per order. */
  allocFailByOrder: number[];
  extfragEvents: number;
  cma: CmaSample[];
  /** The dma-buf heaps the scenario's `heap` operations use; absent when it has none. */
  heaps?: HeapSample[];
  /** Compaction so far (cumulative) and the clock; see CompactionSample. */
  compaction: CompactionSample;
  /** Memory by use now, and reclaim so far (cumulative); see ReclaimSample. */
  reclaim: ReclaimSample;
}

/**
 * Memory by use and reclaim at one moment, read from /proc/vmstat under the
 * kernel's names: page-cache and anonymous pages now, and cumulative pages
 * scanned and reclaimed ("stolen") by kswapd and by direct reclaim in the
 * allocation slow path, with the allocations that stalled to reclaim.
 */
export interface ReclaimSample {
  /** nr_file_pages, nr_dirty, nr_writeback: the page cache now. */
  filePages: number;
  dirtyPages: number;
  writebackPages: number;
  /** nr_inactive_anon + nr_active_anon: anonymous pages on the LRU now. */
  anonPages: number;
  /** pgscan_kswapd, pgscan_direct. */
  scannedKswapd: number;
  scannedDirect: number;
  /** pgsteal_kswapd, pgsteal_direct. */
  stolenKswapd: number;
  stolenDirect: number;
  /** allocstall_* summed over the zones: direct reclaim entries. */
  allocstalls: number;
  /** pageoutrun: kswapd's balance_pgdat() runs. */
  kswapdRuns: number;
}

/** /proc/vmstat as name → value. */
export function readVmstat(sys: System): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of sys.readFile("/proc/vmstat").split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export function sampleReclaim(sys: System, vmstat = readVmstat(sys)): ReclaimSample {
  const v = (name: string): number => vmstat.get(name) ?? 0;
  return {
    filePages: v("nr_file_pages"),
    dirtyPages: v("nr_dirty"),
    writebackPages: v("nr_writeback"),
    anonPages: v("nr_inactive_anon") + v("nr_active_anon"),
    scannedKswapd: v("pgscan_kswapd"),
    scannedDirect: v("pgscan_direct"),
    stolenKswapd: v("pgsteal_kswapd"),
    stolenDirect: v("pgsteal_direct"),
    allocstalls: v("allocstall_dma") + v("allocstall_dma32") + v("allocstall_normal") + v("allocstall_movable"),
    kswapdRuns: v("pageoutrun"),
  };
}

/**
 * Compaction at one moment: the simulated clock, the node's fragmentation
 * score, and cumulative counters of direct compaction (the allocation slow
 * path) and of background compaction (kcompactd woken for an order, and
 * proactive compaction). "Direct" work is everything compaction did but
 * kcompactd's (compact_memory included, which the Lab does not use).
 */
export interface CompactionSample {
  /** The simulated clock, ms since boot. */
  timeMs: number;
  /** fragmentation_score_node(), 0..100. */
  fragmentationScore: number;
  /** compact_stall, compact_success, compact_fail. */
  stalls: number;
  successes: number;
  failures: number;
  /** compact_daemon_wake: kcompactd_do_work() runs. */
  kcompactdWakes: number;
  /** Pages the migration scanner looked at: direct (compact_migrate_scanned − daemon) and kcompactd's. */
  directMigrateScanned: number;
  daemonMigrateScanned: number;
  /** Pages the free scanner looked at, likewise. */
  directFreeScanned: number;
  daemonFreeScanned: number;
  /** Pages compaction moved, likewise. */
  directMigrated: number;
  daemonMigrated: number;
  /** watermark_boost summed over the zones now, in pages (kswapd's pass on the clock clears it). */
  boostPages: number;
  /** boost_watermark() raises (fragmenting fallbacks) and kswapd passes that cleared a boost. */
  boosts: number;
  boostResets: number;
  /** nr_reserved_highatomic summed over the zones now, in pages; pageblocks reserved and given back so far. */
  highatomicReservedPages: number;
  highatomicReserved: number;
  highatomicUnreserved: number;
}

export function sampleCompaction(sys: System): CompactionSample {
  const s = sys.stats();
  return {
    timeMs: sys.timeMs,
    fragmentationScore: sys.fragmentationScore(),
    stalls: s.compactStall,
    successes: s.compactSuccess,
    failures: s.compactFail,
    kcompactdWakes: s.compactDaemonWake,
    directMigrateScanned: s.compactMigrateScanned - s.compactDaemonMigrateScanned,
    daemonMigrateScanned: s.compactDaemonMigrateScanned,
    directFreeScanned: s.compactFreeScanned - s.compactDaemonFreeScanned,
    daemonFreeScanned: s.compactDaemonFreeScanned,
    directMigrated: s.compactMigrated - s.compactDaemonMigrated,
    daemonMigrated: s.compactDaemonMigrated,
    ...boostAndHighatomic(sys),
  };
}

function boostAndHighatomic(sys: System) {
  const zones = sys.zones().map((z) => sys.zoneReserves(z.name));
  const counts = sys.boostHighatomicCounts();
  return {
    boostPages: zones.reduce((n, r) => n + r.boostPages, 0),
    boosts: counts.boosts,
    boostResets: counts.boostResets,
    highatomicReservedPages: zones.reduce((n, r) => n + r.reservedHighatomicPages, 0),
    highatomicReserved: counts.highatomicReserved,
    highatomicUnreserved: counts.highatomicUnreserved,
  };
}

export function sampleMetrics(sys: System, t: number): MetricsSample {
  const area = sys.freeArea();
  // nr_free per order from the same snapshot (sys.nrFreeByOrder() would read it again).
  const nrFreeByOrder = area[0]!.map((_, order) => area.reduce((sum, row) => sum + row[order]!, 0));
  const stats = sys.stats();
  const orders = nrFreeByOrder.map((_, order) => order);
  return {
    t,
    nrFreePages: stats.nrFreePages,
    nrFreeCmaPages: stats.nrFreeCmaPages,
    freePagesByMigratetype: area.map((row) => row.reduce((sum, blocks, order) => sum + blocks * 2 ** order, 0)),
    pageblocksByMigratetype: sys.pageblockCounts(),
    nrFreeByOrder,
    extfragIndex: orders.map((order) => fragmentationIndex(nrFreeByOrder, order)),
    unusableIndex: orders.map((order) => unusableFreeIndex(nrFreeByOrder, order)),
    pgmigrateSuccess: stats.pgmigrateSuccess,
    pgmigrateFail: stats.pgmigrateFail,
    allocFailByOrder: stats.allocFailByOrder,
    extfragEvents: stats.extfragEvents,
    cma: sys.cmaAreas.map((a) => {
      const s = a.stats;
      return {
        name: a.name,
        allocsSucceeded: s.allocsSucceeded,
        allocsFailed: s.allocsFailed,
        pagesMigrated: s.pagesMigrated,
        busyRetries: s.busyRetries,
        available: a.available,
      };
    }),
    compaction: sampleCompaction(sys),
    reclaim: sampleReclaim(sys),
  };
}
