// The engine's ABI: every number the engine and the TypeScript bindings must
// agree on (errno values, enum indexes, codes passed in, bit layouts of packed
// results), defined once. The engine imports these constants;
// scripts/gen-abi.mjs turns this file into bindings/core/abi.generated.ts when
// the bindings are built, so the bindings read the very same values.
//
// Rules (gen-abi.mjs enforces them): exported `const NAME: i32 = <expr>` only,
// where <expr> uses integer literals, earlier constants and the operators
// + - * | & ^ ~ << >> >>>; no imports, functions or variables. A
// `// @group NAME` comment collects the constants after it (up to the next
// section rule `// ----` or group) into one object NAME in the generated file.
// Adding a constant is free; changing a value changes both sides at once.

// ---- errno (returned negated, as the kernel does) ---------------------------
// include/uapi/asm-generic/errno-base.h and errno.h: the codes the engine
// returns and the bindings report (DmaSimError).
// @group ERRNO
// @ts-ignore: decorator
@inline export const EPERM: i32 = 1;
// @ts-ignore: decorator
@inline export const ENOENT: i32 = 2;
// @ts-ignore: decorator
@inline export const ESRCH: i32 = 3;
// @ts-ignore: decorator
@inline export const EIO: i32 = 5;
// @ts-ignore: decorator
@inline export const ENXIO: i32 = 6;
// @ts-ignore: decorator
@inline export const EBADF: i32 = 9;
// @ts-ignore: decorator
@inline export const EAGAIN: i32 = 11;
// @ts-ignore: decorator
@inline export const ENOMEM: i32 = 12;
// @ts-ignore: decorator
@inline export const EACCES: i32 = 13;
// @ts-ignore: decorator
@inline export const EFAULT: i32 = 14;
// @ts-ignore: decorator
@inline export const EBUSY: i32 = 16;
// @ts-ignore: decorator
@inline export const EEXIST: i32 = 17;
// @ts-ignore: decorator
@inline export const ENODEV: i32 = 19;
// @ts-ignore: decorator
@inline export const EINVAL: i32 = 22;
// @ts-ignore: decorator
@inline export const EMFILE: i32 = 24;
// @ts-ignore: decorator
@inline export const ENOSPC: i32 = 28;
// @ts-ignore: decorator
@inline export const ESPIPE: i32 = 29;
// @ts-ignore: decorator
@inline export const ERANGE: i32 = 34;
// @ts-ignore: decorator
@inline export const ENOTTY: i32 = 25;
// @ts-ignore: decorator
@inline export const EOVERFLOW: i32 = 75;
// @ts-ignore: decorator
@inline export const EUCLEAN: i32 = 117;

// ---- migratetypes (enum migratetype, CONFIG_CMA and CONFIG_MEMORY_ISOLATION on)
// allocPages() takes MIGRATE_UNMOVABLE..MIGRATE_RECLAIMABLE; isolation and
// alloc_contig_range() take MIGRATE_MOVABLE or MIGRATE_CMA; pageState() and
// pageblockMigratetype() report any of them.
// @ts-ignore: decorator
@inline export const MIGRATE_UNMOVABLE: i32 = 0;
// @ts-ignore: decorator
@inline export const MIGRATE_MOVABLE: i32 = 1;
// @ts-ignore: decorator
@inline export const MIGRATE_RECLAIMABLE: i32 = 2;
/** Types with per-cpu lists and fallbacks between them. */
// @ts-ignore: decorator
@inline export const MIGRATE_PCPTYPES: i32 = 3;
// @ts-ignore: decorator
@inline export const MIGRATE_HIGHATOMIC: i32 = 3;
// @ts-ignore: decorator
@inline export const MIGRATE_CMA: i32 = 4;
// @ts-ignore: decorator
@inline export const MIGRATE_ISOLATE: i32 = 5;
// @ts-ignore: decorator
@inline export const MIGRATE_TYPES: i32 = 6;

// ---- kernel-version profiles: setKernelProfile(profile) -------------------------
// The rules where Linux versions differ (assembly/profile.ts). 6.12 is the
// default and the engine's rules before profiles existed.
// @ts-ignore: decorator
@inline export const KERNEL_6_12: i32 = 0;
// @ts-ignore: decorator
@inline export const KERNEL_6_1: i32 = 1;
// @ts-ignore: decorator
@inline export const KERNEL_6_18: i32 = 2;

// ---- zones (enum zone_type) --------------------------------------------------
// Movable and Device are never populated; they exist so that lowmem_reserve[]
// and /proc/zoneinfo have the kernel's MAX_NR_ZONES. Zone arguments
// (zoneFree(z), allocPages()'s highest zone, ...) and zoneOfPfn()/lastZone()
// results are these indexes.
// @ts-ignore: decorator
@inline export const ZONE_DMA: i32 = 0;
// @ts-ignore: decorator
@inline export const ZONE_DMA32: i32 = 1;
// @ts-ignore: decorator
@inline export const ZONE_NORMAL: i32 = 2;
// @ts-ignore: decorator
@inline export const ZONE_MOVABLE: i32 = 3;
// @ts-ignore: decorator
@inline export const ZONE_DEVICE: i32 = 4;
// @ts-ignore: decorator
@inline export const MAX_NR_ZONES: i32 = 5;

// ---- watermarks (enum zone_watermarks): zoneWmarkPages(z, which) ------------
// @ts-ignore: decorator
@inline export const WMARK_MIN: i32 = 0;
// @ts-ignore: decorator
@inline export const WMARK_LOW: i32 = 1;
// @ts-ignore: decorator
@inline export const WMARK_HIGH: i32 = 2;
// @ts-ignore: decorator
@inline export const WMARK_PROMO: i32 = 3;
// @ts-ignore: decorator
@inline export const NR_WMARK: i32 = 4;

// ---- gfp bits of allocPages() / allocPagesBatch() -----------------------------
/** __GFP_HIGH: may use part of the min watermark's reserve. */
// @ts-ignore: decorator
@inline export const GFP_HIGH: i32 = 1;
/** No __GFP_DIRECT_RECLAIM (GFP_ATOMIC with GFP_HIGH): may use a further part. */
// @ts-ignore: decorator
@inline export const GFP_NOBLOCK: i32 = 2;
/** __GFP_NORETRY: the slow path gives up after its first round of direct compaction. */
// @ts-ignore: decorator
@inline export const GFP_NORETRY: i32 = 4;
/**
 * The gfp cannot direct-reclaim or direct-compact: it lacks __GFP_DIRECT_RECLAIM
 * (GFP_NOWAIT, the system heap's high-order gfp). (A GFP_NOIO request, which
 * could reclaim but not compact, is not distinguished.)
 */
// @ts-ignore: decorator
@inline export const GFP_NOCOMPACT: i32 = 8;
/**
 * __GFP_RETRY_MAYFAIL: costly orders keep retrying (should_reclaim_retry(),
 * should_compact_retry()) instead of giving up after the first round. Engine-
 * internal (migration targets, alloc_migration_target()); not in GFP_VALID_MASK.
 */
// @ts-ignore: decorator
@inline export const GFP_RETRY_MAYFAIL: i32 = 16;
/**
 * __GFP_MOVABLE without __GFP_HIGHMEM (GFP_USER | __GFP_MOVABLE): gfp_zone() is
 * ZONE_NORMAL, so direct reclaim's reclaim_idx is Normal, not ZONE_MOVABLE as for
 * GFP_HIGHUSER_MOVABLE. Engine-internal, like GFP_RETRY_MAYFAIL.
 */
// @ts-ignore: decorator
@inline export const GFP_NO_HIGHMEM: i32 = 32;
/** Every gfp bit the engine knows. */
// @ts-ignore: decorator
@inline export const GFP_VALID_MASK: i32 = GFP_HIGH | GFP_NOBLOCK | GFP_NORETRY | GFP_NOCOMPACT;

// ---- pageState(pfn): kind | mt << 2 | order << 8 | CMA bit 16 | reserved bit 17
// Page kinds (the same values as in the memory map's flag byte, memmap.ts).
/** Neither head: a tail of a block, or never set. */
// @ts-ignore: decorator
@inline export const KIND_NONE: i32 = 0;
/** Head of a free block (PageBuddy). */
// @ts-ignore: decorator
@inline export const KIND_BUDDY: i32 = 1;
/** Head of an allocation. */
// @ts-ignore: decorator
@inline export const KIND_ALLOC: i32 = 2;
/** Head of a block on a per-cpu page list (free, but not PageBuddy and not in NR_FREE_PAGES; pcp.ts). */
// @ts-ignore: decorator
@inline export const KIND_PCP: i32 = 3;
// @ts-ignore: decorator
@inline export const PAGE_STATE_KIND_MASK: i32 = 0x3;
/** Free list (buddy) or requested migratetype (allocated): (state >>> shift) & mask. */
// @ts-ignore: decorator
@inline export const PAGE_STATE_MT_SHIFT: i32 = 2;
// @ts-ignore: decorator
@inline export const PAGE_STATE_MT_MASK: i32 = 0x7;
/** Order of a head page: (state >>> shift) & mask. */
// @ts-ignore: decorator
@inline export const PAGE_STATE_ORDER_SHIFT: i32 = 8;
// @ts-ignore: decorator
@inline export const PAGE_STATE_ORDER_MASK: i32 = 0xff;
/** Allocated by a CMA area. */
// @ts-ignore: decorator
@inline export const PAGE_STATE_CMA: i32 = 1 << 16;
/** PG_reserved: memblock memory that never reached the allocator (the swiotlb pool). */
// @ts-ignore: decorator
@inline export const PAGE_STATE_RESERVED: i32 = 1 << 17;

// ---- pins of an allocated head: pagePins(pfn), and the memory map's link word
// short-term pins in bits 0..15, long-term pins in bits 16..31.
// @ts-ignore: decorator
@inline export const PAGE_PINS_SHORT_MASK: i32 = 0xffff;
// @ts-ignore: decorator
@inline export const PAGE_PINS_LONG_SHIFT: i32 = 16;

// ---- event counters: vmEvent(index) ------------------------------------------
// As /proc/vmstat's vm_event_item and the tracepoints count them.
// @ts-ignore: decorator
@inline export const EV_PGALLOC: i32 = 0;            // pgalloc_* over all zones, in pages
// @ts-ignore: decorator
@inline export const EV_PGFREE: i32 = 1;             // pgfree, in pages
// @ts-ignore: decorator
@inline export const EV_PGMIGRATE_SUCCESS: i32 = 2;  // in pages
// @ts-ignore: decorator
@inline export const EV_PGMIGRATE_FAIL: i32 = 3;     // in pages, per failed pass
// @ts-ignore: decorator
@inline export const EV_CMA_ALLOC_SUCCESS: i32 = 4;  // cma_alloc() calls
// @ts-ignore: decorator
@inline export const EV_CMA_ALLOC_FAIL: i32 = 5;
// @ts-ignore: decorator
@inline export const EV_EXTFRAG: i32 = 6;            // mm_page_alloc_extfrag events
// @ts-ignore: decorator
@inline export const EV_EXTFRAG_CLAIMED: i32 = 7;    // ... of which claimed the whole pageblock
// @ts-ignore: decorator
@inline export const EV_ALLOC_FAIL: i32 = 8;         // buddy allocations that returned NULL
// @ts-ignore: decorator
@inline export const EV_CONTIG_SUCCESS: i32 = 9;     // alloc_contig_range() == 0
// @ts-ignore: decorator
@inline export const EV_CONTIG_FAIL: i32 = 10;
// @ts-ignore: decorator
@inline export const EV_CONTIG_MIGRATE_PASSES: i32 = 11; // migrate_pages() passes in contig ranges
// @ts-ignore: decorator
@inline export const EV_LONGTERM_MIGRATED: i32 = 12; // pages moved out of CMA by long-term pins
// The compact_* items of vm_event_item, in /proc/vmstat order.
// @ts-ignore: decorator
@inline export const EV_COMPACT_MIGRATE_SCANNED: i32 = 13; // pages the migration scanner looked at
// @ts-ignore: decorator
@inline export const EV_COMPACT_FREE_SCANNED: i32 = 14;    // pages the free scanner looked at
// @ts-ignore: decorator
@inline export const EV_COMPACT_ISOLATED: i32 = 15;        // pages isolated by either scanner
// @ts-ignore: decorator
@inline export const EV_COMPACT_STALL: i32 = 16;           // direct compactions that ran (not skipped)
// @ts-ignore: decorator
@inline export const EV_COMPACT_FAIL: i32 = 17;            // ... after which the allocation still failed
// @ts-ignore: decorator
@inline export const EV_COMPACT_SUCCESS: i32 = 18;         // ... after which it succeeded
// @ts-ignore: decorator
@inline export const EV_COMPACT_DAEMON_WAKE: i32 = 19;     // kcompactd_do_work() runs
// @ts-ignore: decorator
@inline export const EV_COMPACT_DAEMON_MIGRATE_SCANNED: i32 = 20;
// @ts-ignore: decorator
@inline export const EV_COMPACT_DAEMON_FREE_SCANNED: i32 = 21;
// Not in /proc/vmstat (mm_compaction_migratepages' nr_migrated, summed): pages
// compaction moved, all of them and kcompactd's (its own and proactive).
// @ts-ignore: decorator
@inline export const EV_COMPACT_MIGRATED: i32 = 22;
// @ts-ignore: decorator
@inline export const EV_COMPACT_DAEMON_MIGRATED: i32 = 23;
// Reclaim (mm/vmscan.c) and the page cache, in pages unless said.
// @ts-ignore: decorator
@inline export const EV_PGACTIVATE: i32 = 24; // pgactivate: folios moved to an active list, in pages
// @ts-ignore: decorator
@inline export const EV_PGDEACTIVATE: i32 = 25; // pgdeactivate: shrink_active_list() moves to an inactive list
// @ts-ignore: decorator
@inline export const EV_PGREFILL: i32 = 26; // pgrefill: pages shrink_active_list() scanned
// @ts-ignore: decorator
@inline export const EV_PGROTATED: i32 = 27; // pgrotated: written-back PG_reclaim folios moved to the inactive tail
// @ts-ignore: decorator
@inline export const EV_PGSTEAL_KSWAPD: i32 = 28; // pgsteal_kswapd: pages kswapd reclaimed
// @ts-ignore: decorator
@inline export const EV_PGSTEAL_DIRECT: i32 = 29; // pgsteal_direct
// @ts-ignore: decorator
@inline export const EV_PGSCAN_KSWAPD: i32 = 30; // pgscan_kswapd: pages shrink_inactive_list() scanned for kswapd
// @ts-ignore: decorator
@inline export const EV_PGSCAN_DIRECT: i32 = 31; // pgscan_direct
// @ts-ignore: decorator
@inline export const EV_PGSCAN_ANON: i32 = 32; // pgscan_anon
// @ts-ignore: decorator
@inline export const EV_PGSCAN_FILE: i32 = 33; // pgscan_file
// @ts-ignore: decorator
@inline export const EV_PGSTEAL_ANON: i32 = 34; // pgsteal_anon
// @ts-ignore: decorator
@inline export const EV_PGSTEAL_FILE: i32 = 35; // pgsteal_file
// @ts-ignore: decorator
@inline export const EV_PGSKIP_DMA: i32 = 36; // pgskip_<zone>: pages isolate_lru_folios() passed over above reclaim_idx (DMA, DMA32, NORMAL, MOVABLE)
// @ts-ignore: decorator
@inline export const EV_PGSKIP_DMA32: i32 = 37;
// @ts-ignore: decorator
@inline export const EV_PGSKIP_NORMAL: i32 = 38;
// @ts-ignore: decorator
@inline export const EV_PGSKIP_MOVABLE: i32 = 39;
// @ts-ignore: decorator
@inline export const EV_ALLOCSTALL_DMA: i32 = 40; // allocstall_<zone>: direct reclaim entries by reclaim_idx (DMA, DMA32, NORMAL, MOVABLE)
// @ts-ignore: decorator
@inline export const EV_ALLOCSTALL_DMA32: i32 = 41;
// @ts-ignore: decorator
@inline export const EV_ALLOCSTALL_NORMAL: i32 = 42;
// @ts-ignore: decorator
@inline export const EV_ALLOCSTALL_MOVABLE: i32 = 43;
// @ts-ignore: decorator
@inline export const EV_KSWAPD_LOW_WMARK_HIT_QUICKLY: i32 = 44; // kswapd woken during its short nap
// @ts-ignore: decorator
@inline export const EV_KSWAPD_HIGH_WMARK_HIT_QUICKLY: i32 = 45; // kswapd could not go to sleep after balance_pgdat()
// @ts-ignore: decorator
@inline export const EV_DROP_PAGECACHE: i32 = 46; // drop_pagecache: drop_caches writes with bit 0
// @ts-ignore: decorator
@inline export const EV_DROP_SLAB: i32 = 47; // drop_slab: drop_caches writes with bit 1
// @ts-ignore: decorator
@inline export const EV_COUNT: i32 = 48;

// ---- compaction: enum compact_result, enum compact_priority -----------------------
// Returned by compactionSuitable() and lastCompactResult(); COMPACT_PRIO_* name
// the priorities of direct compaction (lower is more thorough).
// @ts-ignore: decorator
@inline export const COMPACT_NOT_SUITABLE_ZONE: i32 = 0;
// @ts-ignore: decorator
@inline export const COMPACT_SKIPPED: i32 = 1;
// @ts-ignore: decorator
@inline export const COMPACT_DEFERRED: i32 = 2;
// @ts-ignore: decorator
@inline export const COMPACT_NO_SUITABLE_PAGE: i32 = 3;
// @ts-ignore: decorator
@inline export const COMPACT_CONTINUE: i32 = 4;
// @ts-ignore: decorator
@inline export const COMPACT_COMPLETE: i32 = 5;
// @ts-ignore: decorator
@inline export const COMPACT_PARTIAL_SKIPPED: i32 = 6;
// @ts-ignore: decorator
@inline export const COMPACT_CONTENDED: i32 = 7;
// @ts-ignore: decorator
@inline export const COMPACT_SUCCESS: i32 = 8;
// @ts-ignore: decorator
@inline export const COMPACT_PRIO_SYNC_FULL: i32 = 0;
// @ts-ignore: decorator
@inline export const COMPACT_PRIO_SYNC_LIGHT: i32 = 1;
// @ts-ignore: decorator
@inline export const COMPACT_PRIO_ASYNC: i32 = 2;
/** compactionZoneState(zone, field): the zone's deferral and scanner state. */
// @ts-ignore: decorator
@inline export const COMPACT_STATE_CONSIDERED: i32 = 0;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_DEFER_SHIFT: i32 = 1;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_ORDER_FAILED: i32 = 2;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_CACHED_MIGRATE_ASYNC: i32 = 3;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_CACHED_MIGRATE_SYNC: i32 = 4;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_CACHED_FREE: i32 = 5;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_BLOCKSKIP_FLUSH: i32 = 6;
// @ts-ignore: decorator
@inline export const COMPACT_STATE_COUNT: i32 = 7;

// ---- CMA area counters: cmaStat(id, index) --------------------------------------
// The sysfs alloc_pages_success/fail and release_pages_success, plus the cost of
// winning memory back.
// @ts-ignore: decorator
@inline export const CMA_STAT_PAGES_SUCCEEDED: i32 = 0;
// @ts-ignore: decorator
@inline export const CMA_STAT_PAGES_FAILED: i32 = 1;
// @ts-ignore: decorator
@inline export const CMA_STAT_PAGES_RELEASED: i32 = 2;
// @ts-ignore: decorator
@inline export const CMA_STAT_ALLOCS_SUCCEEDED: i32 = 3;
// @ts-ignore: decorator
@inline export const CMA_STAT_ALLOCS_FAILED: i32 = 4;
// @ts-ignore: decorator
@inline export const CMA_STAT_BUSY_RETRIES: i32 = 5;
// @ts-ignore: decorator
@inline export const CMA_STAT_PAGES_MIGRATED: i32 = 6;
// @ts-ignore: decorator
@inline export const CMA_STAT_COUNT: i32 = 7;

// ---- IOMMU: iommuMap() prot bits, iovaProt() results, page-size codes ------------
// @ts-ignore: decorator
@inline export const IOMMU_READ: i32 = 1;
// @ts-ignore: decorator
@inline export const IOMMU_WRITE: i32 = 2;
// IOMMU page sizes of the ARM short-descriptor format, as codes: the `c` of
// domainPtes(d, c) and lastMapPtes(c).
// @ts-ignore: decorator
@inline export const IOMMU_PGSIZE_4K: i32 = 0;
// @ts-ignore: decorator
@inline export const IOMMU_PGSIZE_64K: i32 = 1;
// @ts-ignore: decorator
@inline export const IOMMU_PGSIZE_1M: i32 = 2;
// @ts-ignore: decorator
@inline export const IOMMU_PGSIZE_16M: i32 = 3;
// @ts-ignore: decorator
@inline export const IOMMU_NR_PGSIZES: i32 = 4;

// ---- trace scanner: the kind of each line scanned (assembly/trace-scan.ts) --------
// The hot kmem events of a text ftrace capture; 0: a line the byte scanner
// leaves to the bindings' parser. Same values as FAST_* of bindings/lab/ftrace.ts.
// @ts-ignore: decorator
@inline export const TRACE_LINE_OTHER: i32 = 0;
// @ts-ignore: decorator
@inline export const TRACE_PAGE_ALLOC: i32 = 1;
// @ts-ignore: decorator
@inline export const TRACE_PAGE_FREE: i32 = 2;
// @ts-ignore: decorator
@inline export const TRACE_PAGE_FREE_BATCHED: i32 = 3;
// @ts-ignore: decorator
@inline export const TRACE_ZONE_LOCKED: i32 = 5;
// @ts-ignore: decorator
@inline export const TRACE_PCPU_DRAIN: i32 = 6;
