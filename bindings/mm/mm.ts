/**
 * Mm: the memory-management core of one machine: RAM and its struct pages,
 * the page allocator with zones and watermarks, owners and pins, isolation,
 * contiguous ranges and CMA areas, over one engine instance. System extends it
 * with devices, dma-buf and processes; every layer above mm is built on it.
 */
import {
  EV_ALLOC_FAIL,
  EV_CMA_ALLOC_FAIL,
  EV_COMPACT_DAEMON_FREE_SCANNED,
  EV_COMPACT_DAEMON_MIGRATED,
  EV_COMPACT_MIGRATED,
  EV_COMPACT_DAEMON_MIGRATE_SCANNED,
  EV_COMPACT_DAEMON_WAKE,
  EV_COMPACT_FAIL,
  EV_COMPACT_FREE_SCANNED,
  EV_COMPACT_ISOLATED,
  EV_COMPACT_MIGRATE_SCANNED,
  EV_COMPACT_STALL,
  EV_COMPACT_SUCCESS,
  EV_CMA_ALLOC_SUCCESS,
  EV_CONTIG_FAIL,
  EV_CONTIG_MIGRATE_PASSES,
  EV_CONTIG_SUCCESS,
  EV_COUNT,
  EV_PGACTIVATE,
  EV_PGDEACTIVATE,
  EV_PGREFILL,
  EV_PGROTATED,
  EV_PGSTEAL_KSWAPD,
  EV_PGSTEAL_DIRECT,
  EV_PGSCAN_KSWAPD,
  EV_PGSCAN_DIRECT,
  EV_PGSCAN_ANON,
  EV_PGSCAN_FILE,
  EV_PGSTEAL_ANON,
  EV_PGSTEAL_FILE,
  EV_PGSKIP_DMA,
  EV_PGSKIP_DMA32,
  EV_PGSKIP_NORMAL,
  EV_PGSKIP_MOVABLE,
  EV_ALLOCSTALL_DMA,
  EV_ALLOCSTALL_DMA32,
  EV_ALLOCSTALL_NORMAL,
  EV_ALLOCSTALL_MOVABLE,
  EV_KSWAPD_LOW_WMARK_HIT_QUICKLY,
  EV_KSWAPD_HIGH_WMARK_HIT_QUICKLY,
  EV_DROP_PAGECACHE,
  EV_DROP_SLAB,
  EV_EXTFRAG,
  EV_EXTFRAG_CLAIMED,
  EV_LONGTERM_MIGRATED,
  EV_PGALLOC,
  EV_PGFREE,
  EV_PGMIGRATE_FAIL,
  EV_PGMIGRATE_SUCCESS,
  GFP_HIGH,
  GFP_NOBLOCK,
  GFP_NOCOMPACT,
  GFP_NORETRY,
  KIND_ALLOC,
  KIND_BUDDY,
  KIND_NONE,
  KIND_PCP,
  MIGRATE_CMA,
  MIGRATE_MOVABLE,
  MAX_NR_ZONES,
  WMARK_HIGH,
  WMARK_LOW,
  WMARK_MIN,
  WMARK_PROMO,
  ZONE_DEVICE,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_MOVABLE,
  ZONE_NORMAL,
  byIndex,
  decodePagePins,
  decodePageState,
  pageStateOrder,
} from "../core/abi.ts";
import type { Backend, Engine, EngineInstance } from "../core/backend.ts";
import { DmaSimError, ERRNO, engineOutOfMemory } from "../core/errors.ts";
import {
  optionalBoolean,
  requireBoolean,
  requireBytes,
  requireInt,
  requireObject,
  requireOneOf,
  show,
} from "../core/validate.ts";
import { createRandom, type Random } from "../core/random.ts";
import { Registry } from "../core/registry.ts";
import { FaultInjection, type FaultInjectionOptions } from "../core/fault-inject.ts";
import { Bitmap } from "../lib/bitmap.ts";
import { CmaArea } from "./cma.ts";
import { CpuCache } from "./cache.ts";
import {
  MIGRATETYPES,
  allocMigratetype,
  contigMigratetype,
  type ContigMigratetype,
  type Migratetype,
  type MigratetypeName,
} from "./migratetype.ts";
import { MovablePage } from "./page.ts";
import { PageCache } from "./page-cache.ts";
import { PageHolds } from "./page-holds.ts";
import {
  COMPACT_RESULTS,
  EXTFRAG_THRESHOLD_MAX,
  compactionZoneState,
  type CompactResult,
  type CompactionZoneState,
} from "./compaction.ts";

/** Counters and free-memory figures (the /proc/vmstat items dmasim models, and more). */
export interface SystemStats {
  /** NR_FREE_PAGES: free pages outside isolated pageblocks. */
  nrFreePages: number;
  /** NR_FREE_CMA_PAGES */
  nrFreeCmaPages: number;
  /** pgalloc_normal, in pages. */
  pgalloc: number;
  /** pgfree, in pages. */
  pgfree: number;
  pgmigrateSuccess: number;
  pgmigrateFail: number;
  /** cma_alloc() calls that succeeded / failed (cma_alloc_success, cma_alloc_fail). */
  cmaAllocSuccess: number;
  cmaAllocFail: number;
  /** Fallback allocations from another migratetype (mm_page_alloc_extfrag events). */
  extfragEvents: number;
  /** ... of which claimed the whole pageblock. */
  extfragClaimed: number;
  /** Buddy allocations that returned NULL. */
  allocFail: number;
  /** Failures per order (index = order). */
  allocFailByOrder: number[];
  contigSuccess: number;
  contigFail: number;
  /** migrate_pages() passes run inside alloc_contig_range(). */
  contigMigratePasses: number;
  /** Pages moved out of CMA by long-term pins. */
  longtermMigrated: number;
  /** compact_migrate_scanned: pages the migration scanner looked at. */
  compactMigrateScanned: number;
  /** compact_free_scanned: pages the free scanner looked at. */
  compactFreeScanned: number;
  /** compact_isolated: pages isolated by either scanner (sources and targets). */
  compactIsolated: number;
  /** compact_stall: direct compactions that ran (or were deferred) in the allocation slow path. */
  compactStall: number;
  /** compact_fail: ... after which the allocation still failed. */
  compactFail: number;
  /** compact_success: ... after which it succeeded. */
  compactSuccess: number;
  /**
   * compact_daemon_wake: kcompactd_do_work() runs (kcompactd woken for an order);
   * compact_daemon_migrate_scanned, compact_daemon_free_scanned: the scanners'
   * pages in kcompactd's and proactive compaction (also counted in
   * compactMigrateScanned / compactFreeScanned).
   */
  compactDaemonWake: number;
  compactDaemonMigrateScanned: number;
  compactDaemonFreeScanned: number;
  /**
   * Pages compaction moved (the nr_migrated of mm_compaction_migratepages,
   * summed; not a /proc/vmstat line): all of them (direct, kcompactd,
   * compact_memory), and kcompactd's (woken or proactive).
   */
  compactMigrated: number;
  compactDaemonMigrated: number;
  /** pgactivate / pgdeactivate: pages moved to an active / an inactive LRU list; pgrefill: pages shrink_active_list() scanned. */
  pgactivate: number;
  pgdeactivate: number;
  pgrefill: number;
  /** pgrotated: written-back folios reclaim had tagged, moved to the inactive tail. */
  pgrotated: number;
  /** pgsteal_kswapd / pgsteal_direct: pages reclaimed by kswapd / by direct reclaim. */
  pgstealKswapd: number;
  pgstealDirect: number;
  /** pgscan_kswapd / pgscan_direct: pages shrink_inactive_list() scanned. */
  pgscanKswapd: number;
  pgscanDirect: number;
  pgscanAnon: number;
  pgscanFile: number;
  pgstealAnon: number;
  pgstealFile: number;
  /** pgskip_<zone>: pages isolate_lru_folios() passed over above the reclaim's highest zone. */
  pgskipDma: number;
  pgskipDma32: number;
  pgskipNormal: number;
  pgskipMovable: number;
  /** allocstall_<zone>: direct reclaim entries by the request's highest zone (movable requests: Movable). */
  allocstallDma: number;
  allocstallDma32: number;
  allocstallNormal: number;
  allocstallMovable: number;
  /** kswapd_low_wmark_hit_quickly / kswapd_high_wmark_hit_quickly (kswapd_try_to_sleep()). */
  kswapdLowWmarkHitQuickly: number;
  kswapdHighWmarkHitQuickly: number;
  /** drop_pagecache / drop_slab: writes to /proc/sys/vm/drop_caches with bit 0 / bit 1. */
  dropPagecache: number;
  dropSlab: number;
  /** pswpin / pswpout: pages read from / written to swap (zero-filled pages are neither, 6.12's zeromap). */
  pswpin: number;
  pswpout: number;
  /** pgmajfault: faults that read a page from swap (do_swap_page()). */
  pgmajfault: number;
}

/** @internal The SystemStats counters of engine.swapEvent(index) (swap.ts). */
export const SWAP_EVENT_KEYS = ["pswpin", "pswpout", "pgmajfault"] as const;

/** The swap device (createSystem's `swapBytes`), as /proc/swaps and /proc/meminfo show it. */
export interface SwapInfo {
  /** si->pages: the device's pages less the header page (SwapTotal); 0 without swap. */
  totalPages: number;
  /** Free slots (SwapFree). */
  freePages: number;
  /** si->inuse_pages (/proc/swaps' Used). */
  usedPages: number;
  /** Pages in the swap cache (SwapCached): 0, see assembly/swap.ts. */
  cachedPages: number;
  /** The priority swapon gave the device: -2 (the first without a priority). */
  priority: number;
}

/** @internal The SystemStats counter of each engine event, vmEvent(index) (EV_* of assembly/abi.ts). */
export const EVENT_KEYS = byIndex<
  Exclude<keyof SystemStats, "nrFreePages" | "nrFreeCmaPages" | "allocFailByOrder" | (typeof SWAP_EVENT_KEYS)[number]>
>("EVENT_KEYS", EV_COUNT, {
  [EV_PGALLOC]: "pgalloc",
  [EV_PGFREE]: "pgfree",
  [EV_PGMIGRATE_SUCCESS]: "pgmigrateSuccess",
  [EV_PGMIGRATE_FAIL]: "pgmigrateFail",
  [EV_CMA_ALLOC_SUCCESS]: "cmaAllocSuccess",
  [EV_CMA_ALLOC_FAIL]: "cmaAllocFail",
  [EV_EXTFRAG]: "extfragEvents",
  [EV_EXTFRAG_CLAIMED]: "extfragClaimed",
  [EV_ALLOC_FAIL]: "allocFail",
  [EV_CONTIG_SUCCESS]: "contigSuccess",
  [EV_CONTIG_FAIL]: "contigFail",
  [EV_CONTIG_MIGRATE_PASSES]: "contigMigratePasses",
  [EV_LONGTERM_MIGRATED]: "longtermMigrated",
  [EV_COMPACT_MIGRATE_SCANNED]: "compactMigrateScanned",
  [EV_COMPACT_FREE_SCANNED]: "compactFreeScanned",
  [EV_COMPACT_ISOLATED]: "compactIsolated",
  [EV_COMPACT_STALL]: "compactStall",
  [EV_COMPACT_FAIL]: "compactFail",
  [EV_COMPACT_SUCCESS]: "compactSuccess",
  [EV_COMPACT_DAEMON_WAKE]: "compactDaemonWake",
  [EV_COMPACT_DAEMON_MIGRATE_SCANNED]: "compactDaemonMigrateScanned",
  [EV_COMPACT_DAEMON_FREE_SCANNED]: "compactDaemonFreeScanned",
  [EV_COMPACT_MIGRATED]: "compactMigrated",
  [EV_COMPACT_DAEMON_MIGRATED]: "compactDaemonMigrated",
  [EV_PGACTIVATE]: "pgactivate",
  [EV_PGDEACTIVATE]: "pgdeactivate",
  [EV_PGREFILL]: "pgrefill",
  [EV_PGROTATED]: "pgrotated",
  [EV_PGSTEAL_KSWAPD]: "pgstealKswapd",
  [EV_PGSTEAL_DIRECT]: "pgstealDirect",
  [EV_PGSCAN_KSWAPD]: "pgscanKswapd",
  [EV_PGSCAN_DIRECT]: "pgscanDirect",
  [EV_PGSCAN_ANON]: "pgscanAnon",
  [EV_PGSCAN_FILE]: "pgscanFile",
  [EV_PGSTEAL_ANON]: "pgstealAnon",
  [EV_PGSTEAL_FILE]: "pgstealFile",
  [EV_PGSKIP_DMA]: "pgskipDma",
  [EV_PGSKIP_DMA32]: "pgskipDma32",
  [EV_PGSKIP_NORMAL]: "pgskipNormal",
  [EV_PGSKIP_MOVABLE]: "pgskipMovable",
  [EV_ALLOCSTALL_DMA]: "allocstallDma",
  [EV_ALLOCSTALL_DMA32]: "allocstallDma32",
  [EV_ALLOCSTALL_NORMAL]: "allocstallNormal",
  [EV_ALLOCSTALL_MOVABLE]: "allocstallMovable",
  [EV_KSWAPD_LOW_WMARK_HIT_QUICKLY]: "kswapdLowWmarkHitQuickly",
  [EV_KSWAPD_HIGH_WMARK_HIT_QUICKLY]: "kswapdHighWmarkHitQuickly",
  [EV_DROP_PAGECACHE]: "dropPagecache",
  [EV_DROP_SLAB]: "dropSlab",
});

/** Policy knobs that differ between kernels or configurations. */
export interface Policy {
  /** __rmqueue()'s rule: movable requests use CMA first when CMA holds over half the free pages. Default true. */
  cmaFirstBalance?: boolean;
  /**
   * ALLOC_NOFRAGMENT: a Normal-zone request first tries the lower zones' own
   * free lists before splitting another migratetype's pageblock. Default true.
   */
  allocNoFragment?: boolean;
  /**
   * Stealing threshold: a fallback allocation claims the whole pageblock when
   * its free plus alike pages reach this many. Default half a pageblock
   * (1 << (pageblock_order - 1)), as steal_suitable_fallback() decides.
   */
  claimThresholdPages?: number;
  /**
   * Direct compaction in the allocation slow path and kcompactd
   * (CONFIG_COMPACTION). Off, an allocation the free lists cannot serve fails at
   * once and kcompactd does nothing; compactMemory() still works. Default true.
   */
  compaction?: boolean;
  /**
   * vm.extfrag_threshold, 0..1000: a costly order (above 3) is compacted only
   * when its fragmentation index exceeds it. Default 500.
   */
  extfragThreshold?: number;
  /**
   * vm.compaction_proactiveness, 0..100: set as writing the sysctl does (a
   * non-zero value wakes kcompactd for a proactive check at the next
   * advanceTime()). Default 20; 0 turns proactive compaction off.
   */
  compactionProactiveness?: number;
  /**
   * vm.defrag_mode, 0 or 1; 1 needs kernel "6.18" (EINVAL on others: the
   * sysctl came with Linux 6.15). 1: alloc_flags_nofragment() and
   * gfp_to_alloc_flags() set ALLOC_NOFRAGMENT for every allocation, dropped
   * only when reclaim and compaction have failed; kswapd is woken for at least
   * pageblock_order, and kswapd and kcompactd count the high watermark in
   * whole free pageblocks (NR_FREE_PAGES_BLOCKS). Default 0.
   */
  defragMode?: number;
  /**
   * vm.watermark_boost_factor, 0..2147483647 (ten-thousandths of the high
   * watermark): how far a fragmenting fallback may raise a zone's watermarks
   * (boost_watermark()). Default 15000; 0 turns boosting off.
   */
  watermarkBoostFactor?: number;
}

/** A zone's watermark boost and highatomic reserve (struct zone's fields, mm/page_alloc.c). */
export interface ZoneReserves {
  /** zone->watermark_boost, in pages: added to min, low, high and promo (wmark_pages()). */
  boostPages: number;
  /** The largest boost under the current factor: mult_frac(high, factor, 10000), at least a pageblock; 0: no boosting in this zone. */
  maxBoostPages: number;
  /** ZONE_BOOSTED_WATERMARK: set by a boosting fallback, cleared (waking kswapd) by the next allocation from the zone. */
  boostedFlag: boolean;
  /** zone->nr_reserved_highatomic, in pages. */
  reservedHighatomicPages: number;
  /** zone->nr_free_highatomic: free pages on the MIGRATE_HIGHATOMIC lists. */
  freeHighatomicPages: number;
  /** The reserve's limit (6.12: 1% of the zone rounded up to pageblocks, 0 below a pageblock). */
  highatomicLimitPages: number;
}

/** kswapd's per-node state (pg_data_t; assembly/kswapd.ts). */
export interface KswapdState {
  /** kswapd_order: the highest order a waker asked for. */
  order: number;
  /** kswapd_highest_zoneidx, null when no waker set it (MAX_NR_ZONES). */
  highestZone: ZoneName | null;
  /** Woken and due to run at the next advanceTime(). */
  woken: boolean;
  /** Whether the last advanceTime() ran it. */
  ranLastAdvance: boolean;
  /** balance_pgdat() passes the last advanceTime() made. */
  passesLastAdvance: number;
  /** kswapd_failures: passes in a row that reclaimed nothing (MAX_RECLAIM_RETRIES = 16 makes the node hopeless). */
  failures: number;
}

/** What one advanceTime() ran. */
export interface AdvanceResult {
  /** kcompactd_do_work() passes (kcompactd woken for an order: compact_daemon_wake). */
  kcompactd: number;
  /** Proactive compactions (compact_node(pgdat, true)): the node's score was above the high watermark. */
  proactive: number;
}

/** kcompactd's per-node state (pg_data_t) and its sleep. */
export interface KcompactdState {
  /** kcompactd_max_order: the order it was last asked for (0: none pending). */
  maxOrder: number;
  /** kcompactd_highest_zoneidx */
  highestZone: ZoneName;
  /** Simulated time (ms) at which its wait times out; null: it sleeps until woken (proactiveness 0). */
  nextTimeoutMs: number | null;
  /** Woken and due to run at the next advanceTime(), whatever its length (0 included). */
  woken: boolean;
  /** proactive_compact_trigger: a write to vm.compaction_proactiveness asked for a proactive check. */
  proactiveTrigger: boolean;
}

export type ZoneName = "DMA" | "DMA32" | "Normal";

/** The kernel versions whose page-allocator rules dmasim can follow (createSystem's `kernel`). */
export const KERNEL_VERSIONS = ["6.1", "6.12", "6.18"] as const;
/** The most CPUs a machine may have (the engine's PCP_MAX_CPUS). */
export const MAX_CPUS = 256;
/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: the smallest non-zero vm.percpu_pagelist_high_fraction. */
export const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

/** One CPU's struct per_cpu_pages for one zone. */
export interface PcpInfo {
  cpu: number;
  /** Pages on its lists. */
  count: number;
  /** pcp->high: a free that brings count to it returns pages to the buddy lists (0 until first use). */
  high: number;
  /** pcp->batch: blocks per refill, and what a drain leaves at least. */
  batch: number;
  highMin: number;
  highMax: number;
}
export type KernelVersion = (typeof KERNEL_VERSIONS)[number];
/** gfpArgs() of a call without flags: ZONE_NORMAL, no reserves. */
const NORMAL_NO_RESERVES: readonly [number, number] = [ZONE_NORMAL, 0];
/** @internal Zone names by engine zone index (ZONE_* of assembly/abi.ts). */
export const ZONE_NAMES = byIndex<ZoneName | "Movable" | "Device">("ZONE_NAMES", MAX_NR_ZONES, {
  [ZONE_DMA]: "DMA",
  [ZONE_DMA32]: "DMA32",
  [ZONE_NORMAL]: "Normal",
  [ZONE_MOVABLE]: "Movable",
  [ZONE_DEVICE]: "Device",
});
/** The zones a request may name and the allocator populates: DMA..Normal. */
const ALLOC_ZONES: readonly number[] = [ZONE_DMA, ZONE_DMA32, ZONE_NORMAL];

/** gfp flags for alloc_pages(): the zone modifier and the right to dip into reserves. */
export interface AllocFlags {
  /** The highest zone the caller can use: "DMA" (GFP_DMA), "DMA32" (GFP_DMA32) or "Normal" (neither). Default "Normal". */
  zone?: ZoneName;
  /** __GFP_HIGH: may use half of the min watermark's reserve. Default false. */
  high?: boolean;
  /** GFP_ATOMIC (__GFP_HIGH, cannot sleep): may use a further quarter, and never compacts. Default false. */
  atomic?: boolean;
  /**
   * __GFP_NORETRY: one round of direct compaction at most (for a costly order,
   * none when that round was deferred or skipped), no escalation. Default false.
   */
  noretry?: boolean;
  /**
   * Direct reclaim and compaction allowed when the free lists cannot serve the
   * request (false: GFP_NOCOMPACT, as a gfp without __GFP_DIRECT_RECLAIM such as
   * GFP_NOWAIT: it only wakes kswapd). Default true.
   */
  compact?: boolean;
  /** The CPU the allocation runs on, whose per-cpu page lists it uses (0..cpus-1). Default 0. */
  cpu?: number;
}

/** Where a free runs (__free_pages() on some CPU). */
export interface FreeOptions {
  /** The CPU whose per-cpu page lists take the freed block (0..cpus-1). Default 0. */
  cpu?: number;
}

/** One populated zone. */
export interface ZoneInfo {
  index: number;
  name: ZoneName;
  startPfn: number;
  endPfn: number;
  /** present_pages = managed_pages here (no memblock reservations besides CMA, which is managed). */
  managedPages: number;
  freePages: number;
  freeCmaPages: number;
  /** CMA pages in the zone (zone->cma_pages). */
  cmaPages: number;
  watermarks: { min: number; low: number; high: number; promo: number };
  /** lowmem_reserve[]: pages kept from requests whose highest zone is each index (DMA..Device). */
  protection: number[];
  /** pgalloc_<zone>: pages allocated from this zone. */
  pgalloc: number;
}

/** What a pfn holds, for inspection. */
export interface PageInfo {
  /**
   * "free": head of a free block on the buddy lists; "pcp": head of a free block
   * on a per-cpu page list (free, but not in NR_FREE_PAGES); "allocated": head
   * of an allocation; "tail": inside a block.
   */
  state: "free" | "pcp" | "allocated" | "tail";
  order: number;
  /** Free list (free), pcp list (pcp) or requested migratetype (allocated); null for tails. */
  migratetype: MigratetypeName | null;
  /** The zone the page belongs to. */
  zone: ZoneName;
  /** Allocated by a CMA area. */
  cma: boolean;
  /** Owner id of an owned allocation, else null. */
  owner: number | null;
  shortPins: number;
  longPins: number;
}

/** @internal What createSystem() decided about the machine's shape. */
export interface Geometry {
  ramBytes: number;
  pageSize: number;
  maxOrder: number;
  pageblockOrder: number;
  storeContents: boolean;
  seed: number;
  /** Whose rules the engine follows (createSystem's `kernel`). */
  kernel: KernelVersion;
  /** Line size of the CPU cache model; 0: no cache model. */
  cacheLineBytes: number;
  /** Failure points armed at boot (validated). */
  faultInjection?: FaultInjectionOptions;
}

export class Mm {
  readonly backend: Backend;
  /** The kernel version whose page-allocator rules this machine follows (createSystem's `kernel`). */
  readonly kernel: KernelVersion;
  readonly ramBytes: number;
  readonly pageSize: number;
  readonly nrPages: number;
  /** MAX_PAGE_ORDER: the highest order, inclusive. */
  readonly maxOrder: number;
  readonly pageblockOrder: number;
  readonly pageblockNrPages: number;
  readonly storeContents: boolean;
  readonly seed: number;
  /** The machine's deterministic random source (seeded by `seed`). */
  readonly random: Random;
  /** @internal */
  readonly engine: Engine;
  /** @internal */
  readonly inst: EngineInstance;
  private readonly areas: CmaArea[];
  /** @internal Pages kernel-side owners hold (dma-bufs, coherent buffers, pools): not freeable by other paths. */
  readonly pageHolds: PageHolds;
  private readonly handles = new Map<number, MovablePage>();
  /** The CPU cache of the non-coherent DMA model, when enabled with `cacheModel`. */
  readonly cpuCache: CpuCache | null;
  /** The page cache: files of movable pages on the file LRU lists, reclaimed under pressure (mm/page-cache.ts). */
  readonly pageCache: PageCache;
  /** @internal The processes allowed to open each CMA area's heap (its `heapUsers`); absent: everyone. */
  readonly cmaHeapUsers = new Map<string, readonly string[]>();
  /** @internal What each subsystem adds: files, invariants, hashed state. */
  readonly registry = new Registry();
  /** Fault injection (fail_page_alloc, failslab, fail_iommu, ...; core/fault-inject.ts). */
  readonly faultInjection: FaultInjection;
  /** @internal Sees every CPU load and store (dma-debug's ownership checks), when set. */
  cpuAccessObserver: ((phys: number, length: number, write: boolean) => void) | null = null;

  /** @internal */
  constructor(inst: EngineInstance, areaNames: string[], g: Geometry) {
    this.inst = inst;
    this.engine = inst.engine;
    this.backend = inst.backend;
    this.kernel = g.kernel;
    this.ramBytes = g.ramBytes;
    this.pageSize = g.pageSize;
    this.nrPages = g.ramBytes / g.pageSize;
    this.maxOrder = g.maxOrder;
    this.pageblockOrder = g.pageblockOrder;
    this.pageblockNrPages = 2 ** g.pageblockOrder;
    this.storeContents = g.storeContents;
    this.seed = g.seed;
    this.random = createRandom(g.seed);
    this.pageHolds = new PageHolds(g.ramBytes / g.pageSize);
    const faults = new FaultInjection(g.seed, g.faultInjection);
    this.faultInjection = faults;
    this.areas = areaNames.map((name, id) => new CmaArea(inst.engine, g.pageSize, id, name, this.pageHolds, faults));
    this.pageCache = new PageCache(this);
    const cache =
      g.cacheLineBytes > 0 ? new CpuCache((phys, length) => inst.ramView(phys, length), g.cacheLineBytes) : null;
    this.cpuCache = cache;
    if (cache)
      this.registry.add({ name: "cpu-cache", check: () => cache.checkState(), hash: (h) => cache.hashState(h) });
    this.registry.add({ name: "page-holds", check: () => this.checkPageHolds() });
    this.registry.add({
      name: "fault-injection",
      readFile: (path) => faults.readFile(path),
      writeFile: (path, text) => faults.writeFile(path, text),
    });
  }

  /** Held pages: the running count matches the map, and no held page is a free buddy block. */
  private checkPageHolds(): string {
    const holds = this.pageHolds;
    if (holds.countHeld() !== holds.count)
      return `page holds: ${holds.countHeld()} pages held, count says ${holds.count}`;
    if (holds.count === 0) return "";
    for (let pfn = 0; pfn < this.nrPages; pfn++) {
      const holder = holds.holderAt(pfn);
      if (holder !== null && decodePageState(this.engine.pageState(pfn)).kind === KIND_BUDDY)
        return `page holds: pfn ${pfn} is free but held by a ${holder}`;
    }
    return "";
  }

  /** A zeroed bitmap of `nbits` bits in the engine (lib/bitmap.c primitives). */
  bitmap(nbits: number): Bitmap {
    requireInt("bitmap", "nbits", nbits, 1, 2 ** 30);
    const id = this.engine.bitmapCreate(nbits);
    return new Bitmap(this.engine, id, nbits);
  }

  /** Reads physical memory [phys, phys + length), across pages (like /dev/mem). */
  readPhys(phys: number, length: number): Uint8Array {
    requireInt("readPhys", "phys", phys, 0, this.ramBytes - 1);
    requireInt("readPhys", "length", length, 0, this.ramBytes - phys);
    if (!this.storeContents)
      throw new DmaSimError("EINVAL", "readPhys: this machine keeps no page contents (storeContents: false)");
    return this.cpuRead(phys, length);
  }

  /** Writes physical memory at `phys`, across pages. */
  writePhys(phys: number, bytes: Uint8Array): void {
    requireInt("writePhys", "phys", phys, 0, this.ramBytes - 1);
    requireBytes("writePhys", "bytes", bytes);
    requireInt("writePhys", "length", bytes.length, 0, this.ramBytes - phys);
    if (!this.storeContents)
      throw new DmaSimError("EINVAL", "writePhys: this machine keeps no page contents (storeContents: false)");
    this.cpuWrite(phys, bytes);
  }

  // ---- argument checks ----------------------------------------------------------------

  private pfnArg(where: string, pfn: unknown): number {
    return requireInt(where, "pfn", pfn, 0, this.nrPages - 1);
  }

  private orderArg(where: string, order: unknown): number {
    return requireInt(where, "order", order, 0, this.maxOrder);
  }

  private rangeArgs(where: string, startPfn: unknown, endPfn: unknown): void {
    requireInt(where, "startPfn", startPfn, 0, this.nrPages - 1);
    requireInt(where, "endPfn", endPfn, 1, this.nrPages);
    if ((endPfn as number) <= (startPfn as number)) {
      throw new DmaSimError("EINVAL", `${where}: endPfn (${show(endPfn)}) must be above startPfn (${show(startPfn)})`);
    }
  }

  /**
   * The migratetype of a contiguous-range operation. MIGRATE_CMA is what
   * cma_alloc() passes for its own area: a range outside every CMA area would
   * leave CMA pageblocks on memory no area manages, so it is EINVAL.
   */
  private contigType(where: string, migratetype: unknown, startPfn: number, endPfn: number): number {
    const mt = contigMigratetype(where, migratetype);
    if (mt === MIGRATE_CMA) {
      // Isolation works on whole pageblocks: the rounded range must lie in one area.
      const first = startPfn - (startPfn % this.pageblockNrPages);
      const end = Math.ceil(endPfn / this.pageblockNrPages) * this.pageblockNrPages;
      if (!this.areas.some((a) => first >= a.basePfn && end <= a.basePfn + a.count))
        throw new DmaSimError(
          "EINVAL",
          `${where}: migratetype "cma" needs pageblocks ${first}..${end - 1} inside one CMA area`,
        );
    }
    return mt;
  }

  // ---- the page allocator --------------------------------------------------------------

  /**
   * alloc_pages(): a block of 2^order pages. Movable blocks get an owner (see
   * allocMovable). Returns the head pfn, or null as the kernel returns NULL.
   */
  allocPages(order: number, migratetype: Migratetype = "unmovable", flags?: AllocFlags): number | null {
    this.orderArg("allocPages", order);
    const mt = allocMigratetype("allocPages", migratetype);
    // The common call (no flags) skips building and checking a flags object.
    const [highestZone, gfp] = flags === undefined ? NORMAL_NO_RESERVES : this.gfpArgs("allocPages", flags);
    // should_fail_alloc_page(), at the top of __alloc_pages(): NULL with nothing changed.
    // Movable requests are GFP_HIGHUSER_MOVABLE (__GFP_HIGHMEM); non-atomic ones may sleep.
    if (
      this.faultInjection.enabled &&
      this.faultInjection.shouldFail("failPageAlloc", {
        size: 2 ** order,
        order,
        mayWait: (gfp & GFP_NOBLOCK) === 0,
        highmem: mt === MIGRATE_MOVABLE,
      })
    )
      return null;
    const cpu = flags === undefined ? 0 : this.cpuArg("allocPages", flags.cpu);
    let ret: number;
    try {
      if (cpu !== 0) this.engine.setCpu(cpu);
      ret = this.engine.allocPages(order, mt, highestZone, gfp);
    } catch (err) {
      throw engineOutOfMemory("allocPages", err);
    } finally {
      if (cpu !== 0) this.engine.setCpu(0);
    }
    return ret < 0 ? null : ret;
  }

  /**
   * `count` alloc_pages() calls in one engine call (no boundary crossing per
   * page). Returns the pfns, -12 (-ENOMEM) where an allocation returned NULL.
   */
  allocPagesBatch(
    count: number,
    order: number,
    migratetype: Migratetype = "unmovable",
    flags: AllocFlags = {},
  ): Int32Array {
    requireInt("allocPagesBatch", "count", count, 0, 2 ** 26);
    this.orderArg("allocPagesBatch", order);
    const mt = allocMigratetype("allocPagesBatch", migratetype);
    const [highestZone, gfp] = this.gfpArgs("allocPagesBatch", flags);
    const cpu = this.cpuArg("allocPagesBatch", flags.cpu);
    if (this.faultInjection.enabled) {
      // One allocPages() per page, so each meets its failure point in order.
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = this.allocPages(order, migratetype, flags) ?? -ERRNO.ENOMEM;
      return out;
    }
    const e = this.engine;
    e.batchReserve(count);
    if (cpu !== 0) e.setCpu(cpu);
    try {
      e.allocPagesBatch(count, order, mt, highestZone, gfp);
    } finally {
      if (cpu !== 0) e.setCpu(0);
    }
    return this.inst
      .bufferView(
        Int32Array,
        () => e.batchPtr(),
        () => e.batchArray(),
        count,
      )
      .slice();
  }

  /** `count` __free_pages() calls in one engine call; all are checked first, so a bad pfn frees none. */
  freePagesBatch(pfns: ArrayLike<number>, order = 0, options?: FreeOptions): void {
    this.orderArg("freePagesBatch", order);
    const cpu = this.freeCpuArg("freePagesBatch", options);
    if (typeof pfns !== "object" || pfns === null)
      throw new DmaSimError("EINVAL", "freePagesBatch: pfns must be an array");
    requireInt("freePagesBatch", "pfns.length", pfns.length, 0, 2 ** 26);
    for (let i = 0; i < pfns.length; i++) this.pfnArg("freePagesBatch", pfns[i]);
    for (let i = 0; i < pfns.length; i++) this.pageHolds.refuseHeld("freePagesBatch", pfns[i]!, 2 ** order);
    const e = this.engine;
    e.batchReserve(pfns.length);
    // Owners whose handles must die with their pages (a crossing per page only when handles exist).
    const ids = this.handles.size > 0 ? Array.from(pfns, (pfn) => e.ownerOf(pfn)) : [];
    this.inst
      .bufferView(
        Int32Array,
        () => e.batchPtr(),
        () => e.batchArray(),
        pfns.length,
      )
      .set(pfns);
    if (cpu !== 0) e.setCpu(cpu);
    let ret: number;
    try {
      ret = e.freePagesBatch(pfns.length, order);
    } finally {
      if (cpu !== 0) e.setCpu(0);
    }
    if (ret < 0)
      throw DmaSimError.fromErrno(
        ret,
        `freePagesBatch: a pfn is not an allocation of order ${order}, is pinned, or is listed twice; nothing was freed`,
      );
    for (const id of ids) {
      if (id < 0) continue;
      const handle = this.handles.get(id);
      if (handle) handle.alive = false;
      this.handles.delete(id);
    }
  }

  /** Online CPUs (createSystem's `cpus`). */
  get cpus(): number {
    return this.engine.cpuCount();
  }

  /** Whether freed pages go through per-cpu page lists (createSystem's `pcp`). */
  get pcpEnabled(): boolean {
    return Boolean(this.engine.pcpListsEnabled());
  }

  /** vm.percpu_pagelist_high_fraction in force (0: pcp->high follows the low watermark). */
  get percpuPagelistHighFraction(): number {
    return this.engine.percpuPagelistHighFractionValue();
  }

  /**
   * Sets vm.percpu_pagelist_high_fraction as the sysctl does: 0 or at least 8
   * (else EINVAL, nothing changed); a change re-sizes every zone's pagesets
   * (high_min = high_max = managed / fraction / cpus, at least 4 * batch).
   */
  setPercpuPagelistHighFraction(value: number): void {
    requireInt("setPercpuPagelistHighFraction", "value", value, 0, 2 ** 31 - 1);
    if (this.engine.setPercpuPagelistHighFractionValue(value) < 0)
      throw new DmaSimError(
        "EINVAL",
        `setPercpuPagelistHighFraction: ${value} must be 0 or at least ${MIN_PERCPU_PAGELIST_HIGH_FRACTION}`,
      );
  }

  /** The swap device: sizes in pages (all 0 without `swapBytes`). */
  get swap(): SwapInfo {
    const e = this.engine;
    return {
      totalPages: e.swapState(0),
      freePages: e.swapState(1),
      usedPages: e.swapState(2),
      cachedPages: 0,
      priority: -2,
    };
  }

  /** vm.swappiness (default 60): the relative IO cost of swapping anon vs reloading file pages, 0..200. */
  get swappiness(): number {
    return this.engine.swapState(3);
  }

  /** Sets vm.swappiness as the sysctl does (proc_dointvec_minmax(), 0..200; else EINVAL, nothing changed). */
  setSwappiness(value: number): void {
    requireInt("setSwappiness", "value", value, 0, 200);
    if (this.engine.setSwappinessValue(value) < 0)
      throw new DmaSimError("EINVAL", `setSwappiness: ${value} is outside 0..200`);
  }

  /** @internal The last get_scan_count()'s balance, the last SCAN_FRACT's ap/fp, the lruvec's anon_cost/file_cost. */
  scanBalance(): {
    balance: "equal" | "fract" | "anon" | "file";
    ap: number;
    fp: number;
    anonCost: number;
    fileCost: number;
  } {
    const e = this.engine;
    const names = ["equal", "fract", "anon", "file"] as const;
    return {
      balance: names[e.lastScanCount(0)]!,
      ap: e.lastScanCount(1),
      fp: e.lastScanCount(2),
      anonCost: e.swapState(4),
      fileCost: e.swapState(5),
    };
  }

  /** Each CPU's pageset in `zone` (default Normal): count, high, batch, high_min, high_max. */
  pcp(zone: ZoneName = "Normal"): PcpInfo[] {
    const z = ZONE_NAMES.indexOf(requireOneOf("pcp", "zone", zone, ZONE_NAMES.slice(0, ZONE_NORMAL + 1)));
    const e = this.engine;
    return Array.from({ length: e.cpuCount() }, (_, cpu) => ({
      cpu,
      count: e.pcpState(cpu, z, 0),
      high: e.pcpState(cpu, z, 1),
      batch: e.pcpState(cpu, z, 4),
      highMin: e.pcpState(cpu, z, 2),
      highMax: e.pcpState(cpu, z, 3),
    }));
  }

  /**
   * Per-cpu list traffic since boot, in pages: moved onto the lists by
   * rmqueue_bulk() refills (the kernel traces each block as
   * mm_page_alloc_zone_locked with percpu_refill=1) and returned by
   * free_pcppages_bulk() (mm_page_pcpu_drain).
   */
  get pcpTraffic(): { refillPages: number; drainPages: number } {
    return { refillPages: this.engine.pcpTraffic(0), drainPages: this.engine.pcpTraffic(1) };
  }

  /** Pages on all CPUs' per-cpu page lists (free, but not in nrFreePages). */
  get pcpPages(): number {
    return this.engine.pcpPages(-1);
  }

  /**
   * drain_all_pages(): every CPU's per-cpu page lists of `zone` (all zones when
   * omitted) back to the buddy lists; with `cpu`, drain_local_pages() on that CPU only.
   */
  drainPages(options: { zone?: ZoneName; cpu?: number } = {}): void {
    const o = requireObject("drainPages", "options", options) as { zone?: ZoneName; cpu?: number };
    const zone = o.zone;
    const z =
      zone === undefined
        ? -1
        : ZONE_NAMES.indexOf(requireOneOf("drainPages", "zone", zone, ZONE_NAMES.slice(0, ZONE_NORMAL + 1)));
    const cpu = o.cpu === undefined ? -1 : this.cpuArg("drainPages", o.cpu);
    if (cpu < 0) {
      this.engine.drainPages(z, false);
      return;
    }
    this.engine.setCpu(cpu);
    try {
      this.engine.drainPages(z, true);
    } finally {
      this.engine.setCpu(0);
    }
  }

  private cpuArg(where: string, cpu: unknown): number {
    if (cpu === undefined) return 0;
    return requireInt(where, "cpu", cpu, 0, this.engine.cpuCount() - 1);
  }

  private freeCpuArg(where: string, options: FreeOptions | undefined): number {
    if (options === undefined) return 0;
    const o = requireObject(where, "options", options) as FreeOptions;
    return this.cpuArg(where, o.cpu);
  }

  private gfpArgs(where: string, flags: AllocFlags): [number, number] {
    const f = requireObject(where, "flags", flags) as AllocFlags;
    // Each field read once: a getter cannot answer differently to the check and to the use.
    const zone = f.zone ?? "Normal";
    const high = optionalBoolean(where, "flags.high", f.high, false);
    const atomic = optionalBoolean(where, "flags.atomic", f.atomic, false);
    const noretry = optionalBoolean(where, "flags.noretry", f.noretry, false);
    const compact = optionalBoolean(where, "flags.compact", f.compact, true);
    const highestZone = ZONE_NAMES.indexOf(
      requireOneOf(where, "flags.zone", zone, ZONE_NAMES.slice(0, ZONE_NORMAL + 1)),
    );
    const reserves = atomic ? GFP_HIGH | GFP_NOBLOCK : high ? GFP_HIGH : 0;
    return [highestZone, reserves | (noretry ? GFP_NORETRY : 0) | (compact ? 0 : GFP_NOCOMPACT)];
  }

  /** The zone that served the last successful allocation (page allocator or migration target). */
  get lastAllocZone(): ZoneName | null {
    const z = this.engine.lastZone();
    return z < 0 ? null : (ZONE_NAMES[z] as ZoneName);
  }

  /** The zone `pfn` belongs to. */
  zoneOf(pfn: number): ZoneName {
    this.pfnArg("zoneOf", pfn);
    return ZONE_NAMES[this.engine.zoneOfPfn(pfn)] as ZoneName;
  }

  /** The populated zones, lowest first. */
  zones(): ZoneInfo[] {
    const e = this.engine;
    const out: ZoneInfo[] = [];
    for (const z of ALLOC_ZONES) {
      const startPfn = e.zoneStartPfn(z);
      const endPfn = e.zoneEndPfn(z);
      if (endPfn <= startPfn) continue;
      out.push({
        index: z,
        name: ZONE_NAMES[z] as ZoneName,
        startPfn,
        endPfn,
        managedPages: endPfn - startPfn,
        freePages: e.zoneFree(z),
        freeCmaPages: e.zoneFreeCma(z),
        cmaPages: e.zoneCma(z),
        watermarks: {
          min: e.zoneWmarkPages(z, WMARK_MIN),
          low: e.zoneWmarkPages(z, WMARK_LOW),
          high: e.zoneWmarkPages(z, WMARK_HIGH),
          promo: e.zoneWmarkPages(z, WMARK_PROMO),
        },
        protection: ZONE_NAMES.map((_, j) => e.zoneProtection(z, j)),
        pgalloc: e.zonePgallocPages(z),
      });
    }
    return out;
  }

  /** vm.min_free_kbytes in force. */
  get minFreeKbytes(): number {
    return this.engine.minFreeKbytesInForce();
  }

  /** __free_pages(): frees the block allocated at `pfn` with `order`. Pinned pages cannot be freed (EBUSY). */
  freePages(pfn: number, order = 0, options?: FreeOptions): void {
    this.pfnArg("freePages", pfn);
    this.orderArg("freePages", order);
    const cpu = this.freeCpuArg("freePages", options);
    this.pageHolds.refuseHeld(`freePages(${pfn}, ${order})`, pfn, 2 ** order);
    // Only a page with a live MovablePage handle needs its owner id (one more crossing).
    const id = this.handles.size > 0 ? this.engine.ownerOf(pfn) : -1;
    if (cpu !== 0) this.engine.setCpu(cpu);
    let ret: number;
    try {
      ret = this.engine.freePages(pfn, order);
    } finally {
      if (cpu !== 0) this.engine.setCpu(0);
    }
    if (ret < 0) {
      const why =
        ret === -ERRNO.EBUSY
          ? "the page is pinned"
          : `no allocation of order ${order} starts there (double free, wrong order, or a CMA page: use CmaArea.release)`;
      throw DmaSimError.fromErrno(ret, `freePages(${pfn}, ${order}): ${why}`);
    }
    if (id >= 0) {
      const handle = this.handles.get(id);
      if (handle) handle.alive = false;
      this.handles.delete(id);
    }
  }

  /** alloc_pages(GFP_HIGHUSER_MOVABLE): a movable block and its owner, or null. */
  allocMovable(order = 0, options?: FreeOptions): MovablePage | null {
    const cpu = this.freeCpuArg("allocMovable", options);
    const pfn = this.allocPages(order, "movable", cpu === 0 ? undefined : { cpu });
    return pfn === null ? null : this.ownerOf(pfn);
  }

  /** The owner of the block headed at `pfn`, or null when it has none. */
  ownerOf(pfn: number): MovablePage | null {
    this.pfnArg("ownerOf", pfn);
    const id = this.engine.ownerOf(pfn);
    if (id < 0) return null;
    const order = pageStateOrder(this.engine.pageState(pfn));
    let handle = this.handles.get(id);
    // A handle of a page cache page that reclaim freed may name a reused id: a new one then.
    if (!handle || handle.order !== order) {
      handle = new MovablePage(this, id, order);
      this.handles.set(id, handle);
    }
    return handle;
  }

  /** What `pfn` holds. */
  pageInfo(pfn: number): PageInfo {
    this.pfnArg("pageInfo", pfn);
    const s = decodePageState(this.engine.pageState(pfn));
    const { shortPins, longPins } = decodePagePins(this.engine.pagePins(pfn));
    const owner = s.kind === KIND_ALLOC ? this.engine.ownerOf(pfn) : -1;
    return {
      state:
        s.kind === KIND_BUDDY ? "free" : s.kind === KIND_ALLOC ? "allocated" : s.kind === KIND_PCP ? "pcp" : "tail",
      order: s.kind === KIND_NONE ? 0 : s.order,
      migratetype: s.kind === KIND_NONE ? null : MIGRATETYPES[s.migratetype]!,
      zone: ZONE_NAMES[this.engine.zoneOfPfn(pfn)] as ZoneName,
      cma: s.cma,
      owner: owner >= 0 ? owner : null,
      shortPins,
      longPins,
    };
  }

  // ---- page contents --------------------------------------------------------------------

  /** @internal */
  readBlock(pfn: number, order: number, offset: number, length: number | undefined, where: string): Uint8Array {
    const size = this.pageSize * 2 ** order;
    const len = length ?? size - (Number.isInteger(offset) ? offset : 0);
    this.contentsArgs(where, offset, len, size);
    return this.cpuRead(pfn * this.pageSize + offset, len);
  }

  /** @internal */
  writeBlock(pfn: number, order: number, bytes: Uint8Array, offset: number, where: string): void {
    requireBytes(where, "bytes", bytes);
    this.contentsArgs(where, offset, bytes.length, this.pageSize * 2 ** order);
    this.cpuWrite(pfn * this.pageSize + offset, bytes);
  }

  /** @internal A CPU load: through the cache model when on; the DMA-API checker sees it. */
  cpuRead(phys: number, length: number): Uint8Array {
    this.cpuAccessObserver?.(phys, length, false);
    return this.kernelRead(phys, length);
  }

  /** @internal A CPU store. */
  cpuWrite(phys: number, bytes: Uint8Array): void {
    this.cpuAccessObserver?.(phys, bytes.length, true);
    this.kernelWrite(phys, bytes);
  }

  /** @internal A kernel load (a memcpy's source): through the cache model, unseen by the DMA-API checker. */
  kernelRead(phys: number, length: number): Uint8Array {
    return this.cpuCache ? this.cpuCache.read(phys, length) : this.inst.ramView(phys, length).slice();
  }

  /** @internal A kernel store (a memcpy's destination). */
  kernelWrite(phys: number, bytes: Uint8Array): void {
    if (this.cpuCache) this.cpuCache.write(phys, bytes);
    else this.inst.ramView(phys, bytes.length).set(bytes);
  }

  /** @internal A kernel memset(0) (__GFP_ZERO): RAM zeroed and stale cached lines dropped, so no earlier owner's bytes survive. */
  kernelZero(phys: number, bytes: number): void {
    if (!this.storeContents) return;
    this.inst.ramView(phys, bytes).fill(0);
    this.cpuCache?.invalidate(phys, bytes);
  }

  /** @internal RAM itself, as a device or an uncached mapping sees it. */
  ramRead(phys: number, length: number): Uint8Array {
    return this.inst.ramView(phys, length).slice();
  }

  /** @internal */
  ramWrite(phys: number, bytes: Uint8Array): void {
    this.inst.ramView(phys, bytes.length).set(bytes);
  }

  /** @internal A block access's arguments, checked before a swapped-out page faults in. */
  checkBlockAccess(
    order: number,
    offset: number,
    length: number | undefined,
    bytes: Uint8Array | undefined,
    where: string,
  ): void {
    const size = this.pageSize * 2 ** order;
    if (bytes !== undefined) {
      requireBytes(where, "bytes", bytes);
      this.contentsArgs(where, offset, bytes.length, size);
    } else {
      this.contentsArgs(where, offset, length ?? size - (Number.isInteger(offset) ? offset : 0), size);
    }
  }

  /** Whether the machine has swap (createSystem's `swapBytes`). */
  get swapEnabled(): boolean {
    return this.engine.swapState(0) > 0;
  }

  /** @internal free_swap_and_cache_nr() for a swapped-out page: its slot and owner freed, its handle dead. */
  freeSwappedPage(id: number): void {
    if (this.engine.freeSwappedOwner(id) < 0)
      throw new DmaSimError("EINVAL", "MovablePage.free: the page is not swapped out");
    const handle = this.handles.get(id);
    if (handle) handle.alive = false;
    this.handles.delete(id);
  }

  private contentsArgs(where: string, offset: number, length: number, size: number): void {
    if (!this.storeContents)
      throw new DmaSimError("EINVAL", `${where}: this machine keeps no page contents (storeContents: false)`);
    requireInt(where, "offset", offset, 0, size);
    requireInt(where, "length", length, 0, size - offset);
  }

  /** Copies bytes out of the page at `pfn` (a physical read, whatever the page's state). */
  readPage(pfn: number, offset = 0, length?: number): Uint8Array {
    this.pfnArg("readPage", pfn);
    return this.readBlock(pfn, 0, offset, length, "readPage");
  }

  /** Writes bytes into the page at `pfn`. */
  writePage(pfn: number, bytes: Uint8Array, offset = 0): void {
    this.pfnArg("writePage", pfn);
    this.writeBlock(pfn, 0, bytes, offset, "writePage");
  }

  // ---- pageblocks, isolation, contiguous ranges --------------------------------------------

  /** get_pageblock_migratetype() */
  pageblockMigratetype(pfn: number): MigratetypeName {
    this.pfnArg("pageblockMigratetype", pfn);
    return MIGRATETYPES[this.engine.pageblockMigratetype(pfn)]!;
  }

  /**
   * The physical memory map, one entry per pageblock: its migratetype (index into
   * MIGRATETYPES) and how many of its pages are free.
   */
  memoryMap(): { migratetypes: Uint8Array; freePages: Uint32Array; pageblockNrPages: number } {
    const n = this.nrPages / this.pageblockNrPages;
    const migratetypes = new Uint8Array(n);
    const freePages = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const pfn = i * this.pageblockNrPages;
      migratetypes[i] = this.engine.pageblockMigratetype(pfn);
      freePages[i] = this.engine.pageblockFreePages(pfn);
    }
    return { migratetypes, freePages, pageblockNrPages: this.pageblockNrPages };
  }

  /** Pageblocks per migratetype, indexed like MIGRATETYPES (in one zone, or all). */
  pageblockCounts(zone?: ZoneName): number[] {
    const counts = new Array<number>(MIGRATETYPES.length).fill(0);
    const [start, end] = this.zoneRange("pageblockCounts", zone);
    for (let pfn = start; pfn < end; pfn += this.pageblockNrPages) counts[this.engine.pageblockMigratetype(pfn)]!++;
    return counts;
  }

  private zoneRange(where: string, zone: ZoneName | undefined): [number, number] {
    if (zone === undefined) return [0, this.nrPages];
    const z = ZONE_NAMES.indexOf(zone);
    if (z < 0 || z > ZONE_NORMAL)
      throw new DmaSimError("EINVAL", `${where}: zone must be "DMA", "DMA32" or "Normal", got ${show(zone)}`);
    return [this.engine.zoneStartPfn(z), this.engine.zoneEndPfn(z)];
  }

  /**
   * start_isolate_page_range(): marks every pageblock touching [startPfn, endPfn)
   * MIGRATE_ISOLATE. Returns 0, or -EBUSY (unmovable pages, or already isolated)
   * having isolated nothing.
   */
  isolatePageRange(startPfn: number, endPfn: number, migratetype: ContigMigratetype = "movable"): number {
    this.rangeArgs("isolatePageRange", startPfn, endPfn);
    return this.engine.isolateRange(
      startPfn,
      endPfn,
      this.contigType("isolatePageRange", migratetype, startPfn, endPfn),
    );
  }

  /** undo_isolate_page_range(): gives isolated pageblocks back as `migratetype`. */
  undoIsolatePageRange(startPfn: number, endPfn: number, migratetype: ContigMigratetype = "movable"): void {
    this.rangeArgs("undoIsolatePageRange", startPfn, endPfn);
    this.engine.undoIsolateRange(
      startPfn,
      endPfn,
      this.contigType("undoIsolatePageRange", migratetype, startPfn, endPfn),
    );
  }

  /** test_pages_isolated(): 0 when the range is isolated and entirely free, else -EBUSY. */
  testPagesIsolated(startPfn: number, endPfn: number): number {
    this.rangeArgs("testPagesIsolated", startPfn, endPfn);
    return this.engine.testIsolated(startPfn, endPfn);
  }

  /**
   * alloc_contig_range(): isolates, migrates what is in use, and takes
   * [startPfn, endPfn) as order-0 pages. Returns the kernel's code: 0, -EBUSY
   * (unmovable or pinned pages, or still busy after 5 migration passes) or
   * -ENOMEM (no frame to migrate to). Isolation is undone on every path.
   */
  allocContigRange(startPfn: number, endPfn: number, migratetype: ContigMigratetype = "movable"): number {
    this.rangeArgs("allocContigRange", startPfn, endPfn);
    return this.engine.allocContigRange(
      startPfn,
      endPfn,
      this.contigType("allocContigRange", migratetype, startPfn, endPfn),
    );
  }

  /** free_contig_range(): frees `count` pages from `pfn` that alloc_contig_range() handed out. */
  freeContigRange(pfn: number, count: number): void {
    this.pfnArg("freeContigRange", pfn);
    requireInt("freeContigRange", "count", count, 0, this.nrPages - pfn);
    const ret = this.engine.freeContig(pfn, count);
    if (ret < 0)
      throw DmaSimError.fromErrno(
        ret,
        `freeContigRange(${pfn}, ${count}): not all pages are unowned order-0 allocations outside CMA areas`,
      );
  }

  // ---- CMA ------------------------------------------------------------------------------------

  /** The CMA area named `name`. */
  cma(name: string): CmaArea {
    const area = this.areas.find((a) => a.name === name);
    if (!area)
      throw new DmaSimError(
        "ENOENT",
        `cma: no CMA area named ${show(name)} (have: ${this.areas.map((a) => a.name).join(", ") || "none"})`,
      );
    return area;
  }

  /** All CMA areas; the first is the default global area. */
  get cmaAreas(): readonly CmaArea[] {
    return this.areas;
  }

  // ---- statistics ------------------------------------------------------------------------------

  /** free_area[order].free_list[mt] lengths: result[mt][order], in blocks (of one zone, or summed over zones). */
  freeArea(zone?: ZoneName): number[][] {
    this.zoneRange("freeArea", zone);
    const zones = zone === undefined ? ALLOC_ZONES : [ZONE_NAMES.indexOf(zone)];
    return MIGRATETYPES.map((_, mt) => {
      const row: number[] = [];
      for (let order = 0; order <= this.maxOrder; order++) {
        row.push(zones.reduce((sum, z) => sum + this.engine.freeBlocksOf(z, order, mt), 0));
      }
      return row;
    });
  }

  /** nr_free per order, summed over migratetypes (the buddyinfo numbers), of one zone or all. */
  nrFreeByOrder(zone?: ZoneName): number[] {
    const area = this.freeArea(zone);
    return area[0]!.map((_, order) => area.reduce((sum, row) => sum + row[order]!, 0));
  }

  stats(): SystemStats {
    const e = this.engine;
    const out = { nrFreePages: e.freePagesCount(), nrFreeCmaPages: e.freeCmaPagesCount() } as SystemStats;
    EVENT_KEYS.forEach((key, i) => (out[key] = e.vmEvent(i)));
    SWAP_EVENT_KEYS.forEach((key, i) => (out[key] = e.swapEvent(i)));
    out.allocFailByOrder = Array.from({ length: this.maxOrder + 1 }, (_, order) => e.allocFailures(order));
    return out;
  }

  // ---- compaction ------------------------------------------------------------------------------

  /**
   * compact_nodes(): compacts every populated zone whole, as writing 1 to
   * /proc/sys/vm/compact_memory does (order -1, MIGRATE_SYNC, skip hints
   * ignored). The compact_* counters of /proc/vmstat record the work.
   */
  compactMemory(): void {
    this.engine.compactMemory();
  }

  /** The compaction fields of a zone's struct zone (deferral, cached scanner positions). */
  compactionState(zone: ZoneName = "Normal"): CompactionZoneState {
    const [z] = this.populatedZone("compactionState", zone);
    return compactionZoneState(this.engine, z);
  }

  /**
   * compaction_suitable() for `order` in `zone`: "continue" (worth compacting),
   * "skipped" (too few free pages to migrate into: the order-0 watermark plus
   * 2 << order) or "not_suitable_zone" (a costly order whose fragmentation index
   * is within vm.extfrag_threshold: a lack of memory rather than fragmentation).
   */
  compactionSuitable(order: number, zone: ZoneName = "Normal"): CompactResult {
    this.orderArg("compactionSuitable", order);
    const [z] = this.populatedZone("compactionSuitable", zone);
    return COMPACT_RESULTS[this.engine.compactionSuitable(z, order, z)]!;
  }

  /** fragmentation_index() of `zone` at `order`, in thousandths (-1000: a block of the order is free). */
  fragmentationIndex(order: number, zone: ZoneName = "Normal"): number {
    this.orderArg("fragmentationIndex", order);
    const [z] = this.populatedZone("fragmentationIndex", zone);
    return this.engine.zoneFragmentationIndex(z, order);
  }

  /** The result of the last direct compaction of the allocation slow path. */
  get lastCompactResult(): CompactResult {
    return COMPACT_RESULTS[this.engine.lastCompaction()]!;
  }

  /** PB_migrate_skip of the pageblock holding `pfn`: compaction passes the block over. */
  pageblockSkip(pfn: number): boolean {
    this.pfnArg("pageblockSkip", pfn);
    return this.engine.pageblockSkipOf(pfn) !== 0;
  }

  /** vm.extfrag_threshold in force. */
  get extfragThreshold(): number {
    return this.engine.compactionExtfragThreshold();
  }

  // ---- the simulated clock and kcompactd -------------------------------------------------------

  /**
   * Advances the simulated clock by `ms` (a whole number, 0 or more) and runs
   * the background daemons that come due on the way: in-flight writeback
   * completes, kswapd (woken by an allocation that fell below the low
   * watermark, or by a boosted zone) reclaims and, going back to sleep, wakes
   * kcompactd for the waker's order (wakeup_kcompactd(); a write to
   * vm.compaction_proactiveness wakes it too), and every 500 ms
   * (HPAGE_FRAG_CHECK_INTERVAL_MSEC; 32 s after a proactive compaction that
   * made no progress) its proactive check. Nothing runs between calls: a
   * wake-up takes effect at the next advanceTime(), advanceTime(0) included.
   */
  advanceTime(ms: number): AdvanceResult {
    requireInt("advanceTime", "ms", ms, 0, 1e15);
    this.engine.advanceTime(ms);
    return { kcompactd: this.engine.kcompactdState(4), proactive: this.engine.kcompactdState(5) };
  }

  /** The simulated clock: ms since boot. */
  get timeMs(): number {
    return this.engine.clockNow();
  }

  /** kcompactd's state (pg_data_t's kcompactd fields and its wait). */
  kcompactdState(): KcompactdState {
    const e = this.engine;
    const deadline = e.kcompactdDeadline();
    return {
      maxOrder: e.kcompactdState(0),
      highestZone: ZONE_NAMES[e.kcompactdState(1)] as ZoneName,
      nextTimeoutMs: deadline < 0 ? null : deadline,
      woken: e.kcompactdState(2) !== 0,
      proactiveTrigger: e.kcompactdState(3) !== 0,
    };
  }

  /** vm.compaction_proactiveness in force. */
  get compactionProactiveness(): number {
    return this.engine.compactionProactivenessValue();
  }

  /**
   * fragmentation_score_node() (no zone), 0..100: each zone's
   * extfrag_for_order() at COMPACTION_HPAGE_ORDER (the pageblock order here)
   * weighted by its share of the node's pages; or fragmentation_score_zone()
   * of `zone`, unweighted.
   */
  fragmentationScore(zone?: ZoneName): number {
    if (zone === undefined) return this.engine.fragmentationScore(-1);
    const [z] = this.populatedZone("fragmentationScore", zone);
    return this.engine.fragmentationScore(z);
  }

  /** fragmentation_score_wmark(): the proactive thresholds for the proactiveness in force. */
  fragmentationScoreWatermarks(): { low: number; high: number } {
    return {
      low: this.engine.fragmentationScoreWatermark(true),
      high: this.engine.fragmentationScoreWatermark(false),
    };
  }

  private populatedZone(where: string, zone: ZoneName): [number] {
    const z = ZONE_NAMES.indexOf(zone);
    if (z < 0 || z > ZONE_NORMAL || this.engine.zoneEndPfn(z) <= this.engine.zoneStartPfn(z))
      throw new DmaSimError(
        "EINVAL",
        `${where}: zone must be a populated zone of "DMA", "DMA32", "Normal", got ${show(zone)}`,
      );
    return [z];
  }

  /** Sets policy knobs (see Policy). All are checked before any is set. */
  setPolicy(policy: Policy): void {
    // Every knob is read once and validated before any is applied, so a bad one changes nothing.
    const p = requireObject("setPolicy", "policy", policy) as Policy;
    const {
      cmaFirstBalance,
      allocNoFragment,
      claimThresholdPages,
      compaction,
      extfragThreshold,
      compactionProactiveness,
      watermarkBoostFactor,
      defragMode,
    } = p;
    if (cmaFirstBalance !== undefined) requireBoolean("setPolicy", "cmaFirstBalance", cmaFirstBalance);
    if (allocNoFragment !== undefined) requireBoolean("setPolicy", "allocNoFragment", allocNoFragment);
    if (compaction !== undefined) requireBoolean("setPolicy", "compaction", compaction);
    if (claimThresholdPages !== undefined)
      requireInt("setPolicy", "claimThresholdPages", claimThresholdPages, 0, this.pageblockNrPages + 1);
    if (extfragThreshold !== undefined)
      requireInt("setPolicy", "extfragThreshold", extfragThreshold, 0, EXTFRAG_THRESHOLD_MAX);
    if (compactionProactiveness !== undefined)
      requireInt("setPolicy", "compactionProactiveness", compactionProactiveness, 0, 100);
    if (watermarkBoostFactor !== undefined)
      requireInt("setPolicy", "watermarkBoostFactor", watermarkBoostFactor, 0, WATERMARK_BOOST_FACTOR_MAX);
    if (defragMode !== undefined) this.requireDefragMode("setPolicy", defragMode);
    if (cmaFirstBalance !== undefined) this.engine.setCmaBalance(cmaFirstBalance);
    if (compaction !== undefined) this.engine.setCompaction(compaction);
    if (extfragThreshold !== undefined) this.engine.setExtfragThreshold(extfragThreshold);
    if (compactionProactiveness !== undefined) this.engine.setCompactionProactiveness(compactionProactiveness, true);
    if (allocNoFragment !== undefined) this.engine.setNoFragment(allocNoFragment);
    if (claimThresholdPages !== undefined) this.engine.setClaimThreshold(claimThresholdPages);
    if (watermarkBoostFactor !== undefined) this.engine.setWatermarkBoostFactor(watermarkBoostFactor);
    if (defragMode !== undefined) this.engine.setDefragMode(defragMode);
  }

  /** vm.defrag_mode in force (0 on profiles without it). */
  get defragMode(): number {
    return this.engine.defragModeValue();
  }

  /** NR_FREE_PAGES_BLOCKS of a zone: its free pages in buddy blocks of pageblock order or more (isolated ones left out). */
  freePagesBlocks(zone: ZoneName): number {
    const [z] = this.populatedZone("freePagesBlocks", zone);
    return this.engine.zoneFreeBlocksPages(z);
  }

  /** vm.defrag_mode's checks: 0..1, and 1 only on a 6.18 machine (0 is what older kernels do). */
  private requireDefragMode(where: string, v: unknown): void {
    requireInt(where, "defragMode", v, 0, 1);
    if (v === 1 && this.kernel !== "6.18")
      throw new DmaSimError(
        "EINVAL",
        `${where}: defragMode needs kernel "6.18" (vm.defrag_mode came with Linux 6.15), this machine follows ${this.kernel}`,
      );
  }

  // ---- watermark boosting, highatomic reserves, kswapd --------------------------------------------

  /** vm.watermark_boost_factor in force. */
  get watermarkBoostFactor(): number {
    return this.engine.watermarkBoostFactorValue();
  }

  /** The watermark boost and highatomic reserve of `zone` (default: the highest populated zone). */
  zoneReserves(zone?: ZoneName): ZoneReserves {
    const [z] = this.populatedZone("zoneReserves", zone ?? this.zones().at(-1)!.name);
    const e = this.engine;
    return {
      boostPages: e.zoneBoostPages(z),
      maxBoostPages: e.zoneMaxBoostPages(z),
      boostedFlag: e.zoneBoostedWatermark(z) !== 0,
      reservedHighatomicPages: e.zoneReservedHighatomicPages(z),
      freeHighatomicPages: e.zoneFreeHighatomic(z),
      highatomicLimitPages: e.zoneHighatomicLimitPages(z),
    };
  }

  /** kswapd's state: what it was asked for and whether it is due to run. */
  kswapdState(): KswapdState {
    const e = this.engine;
    const zone = e.kswapdState(1);
    return {
      order: e.kswapdState(0),
      highestZone: zone <= ZONE_NORMAL ? (ZONE_NAMES[zone] as ZoneName) : null,
      woken: e.kswapdState(2) !== 0,
      ranLastAdvance: e.kswapdState(3) !== 0,
      passesLastAdvance: e.kswapdState(3),
      failures: e.kswapdState(4),
    };
  }

  /**
   * Totals since boot: boost_watermark() raises, kswapd passes that cleared a
   * boost, pageblocks reserved for and given back from highatomic reserves.
   */
  boostHighatomicCounts(): {
    boosts: number;
    boostResets: number;
    highatomicReserved: number;
    highatomicUnreserved: number;
  } {
    const e = this.engine;
    return {
      boosts: e.boostHighatomicEvents(0),
      boostResets: e.boostHighatomicEvents(1),
      highatomicReserved: e.boostHighatomicEvents(2),
      highatomicUnreserved: e.boostHighatomicEvents(3),
    };
  }
}

/** vm.watermark_boost_factor's upper bound: proc_dointvec_minmax() has none but INT_MAX. */
export const WATERMARK_BOOST_FACTOR_MAX = 2147483647;
