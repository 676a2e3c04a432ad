// Memory compaction (mm/compaction.c and the slow path of mm/page_alloc.c, as of
// Linux 6.12): move movable pages from the bottom of a zone to free pages at its
// top until a free block of the requested order forms.
//
//   zone start                                                          zone end
//   │ migrate scanner ──▶ (pageblock by pageblock, up)  (down) ◀── free scanner │
//   │ isolates owned, unpinned blocks                   isolates free blocks   │
//   │ (COMPACT_CLUSTER_MAX pages a batch)               as migration targets   │
//
// Each batch of sources is migrated (contents copied, owners retargeted, old
// frames freed) to targets taken from the isolated free pages (compaction_alloc()),
// until the scanners meet or, for an allocation, a suitable free block exists
// (__compact_finished()). Unused targets go back to the free lists at the end.
//
// Entry points: compactMemory() (/proc/sys/vm/compact_memory: order -1, every
// zone whole, MIGRATE_SYNC, skip hints ignored), kcompactdCompactZone() and
// compactNodeProactive() (kcompactd, driven by the simulated clock of
// kcompactd.ts) and allocPagesSlowpath() (the
// page allocator: direct compaction at COMPACT_PRIO_ASYNC, SYNC_LIGHT, then
// SYNC_FULL as should_compact_retry() decides, with capture of the freed block,
// see buddy.ts).
//
// Modelled as in 6.12: per-zone cached scanner positions, pageblock skip hints
// and their reset (when compaction restarts after deferral, and when kswapd goes
// to sleep: reset_isolation_suitable(), kswapd.ts), deferral
// (compact_considered, compact_defer_shift, compact_order_failed), the order-0
// watermark and fragmentation-index checks (compaction_suitable()), async
// direct compaction's restriction to pageblocks of the request's type and its
// skip of an order-aligned block on the first failure, the free scanner's stride
// in async mode, the rescan that finishes a pageblock, high-order targets split
// in compaction_alloc(), and the free-list shortcuts: fast_isolate_freepages()
// (orders above 0: a movable free block high in the zone, found from the free
// lists, and the rest of its pageblock) and fast_find_migrateblock() (costly
// orders, kcompactd and movable direct compaction: the migration scanner jumps
// to a pageblock that already has free blocks), with their list rotations,
// search order and failure counts. Allocated blocks of order > 0 count as
// compound pages (folios), as __GFP_COMP allocations are. Watermarks include
// the zone's boost (watermark-boost.ts) except in __isolate_free_page().
//
// The slow path interleaves direct compaction with direct reclaim (vmscan.ts) as
// 6.12's __alloc_pages_slowpath() does; should_compact_retry() runs only after a
// round whose reclaim made progress.
//
// Not modelled: splitting of a large folio that finds no target, lock
// contention (COMPACT_CONTENDED only for -ENOMEM before the scanners meet).

import {
  COMPACT_COMPLETE, COMPACT_CONTENDED, COMPACT_CONTINUE, COMPACT_DEFERRED, COMPACT_NOT_SUITABLE_ZONE,
  COMPACT_PARTIAL_SKIPPED, COMPACT_PRIO_ASYNC, COMPACT_PRIO_SYNC_FULL, COMPACT_PRIO_SYNC_LIGHT, COMPACT_SKIPPED,
  COMPACT_STATE_BLOCKSKIP_FLUSH, COMPACT_STATE_CACHED_FREE, COMPACT_STATE_CACHED_MIGRATE_ASYNC,
  COMPACT_STATE_CACHED_MIGRATE_SYNC, COMPACT_STATE_CONSIDERED, COMPACT_STATE_COUNT, COMPACT_STATE_DEFER_SHIFT,
  COMPACT_STATE_ORDER_FAILED,
  COMPACT_SUCCESS, ENOMEM, EV_COMPACT_FAIL, EV_COMPACT_FREE_SCANNED, EV_COMPACT_ISOLATED,
  EV_COMPACT_MIGRATE_SCANNED, EV_COMPACT_STALL, EV_COMPACT_SUCCESS, EV_PGMIGRATE_FAIL, EV_PGMIGRATE_SUCCESS,
  GFP_NOBLOCK, GFP_NOCOMPACT, GFP_NO_HIGHMEM, GFP_NORETRY, GFP_RETRY_MAYFAIL, KIND_ALLOC, KIND_BUDDY, MAX_NR_ZONES,
  MIGRATE_CMA, MIGRATE_ISOLATE,
  MIGRATE_MOVABLE, MIGRATE_TYPES, WMARK_HIGH, WMARK_LOW, WMARK_MIN, ZONE_MOVABLE, ZONE_NORMAL,
} from "./abi.ts";
import { NONE, migratetypeIsMergeable } from "./constants.ts";
import {
  ALLOC_CMA, ALLOC_NOFRAGMENT, armCapture, capturedPfn, defragMode, countAllocFail, disarmCapture, findBlockHead, freeBlocks, freeListHead,
  freeListTail, getPageFast, getPageFromFreelist, listIndex, moveFreepagesBlock, prepNewPage, rotateFreeList,
  setLastAllocZone, stealableFallbackExists, takeFreeBlock, zoneWatermarkOk, zoneWatermarkOkFree,
} from "./buddy.ts";
import {
  getOrder, link0, link1, longPins, maxOrder, nrPageblocks, pageKind, pageShift, pageMt, pageOwnerId, pageblockIndex, pageblockNrPages,
  pageblockOrder, pageblockStartPfn, setAllocated, setPageOwnerId, shortPins,
} from "./memmap.ts";
import { ownerSetPfn } from "./owner.ts";
import {
  LRU_NONE, PG_WRITEBACK, folioEndWriteback, lruMigrated, lruOf, lruvecAddFolio, lruvecDelFolio, testFlag,
} from "./lru.ts";
import { getPageblockMt } from "./pageblock.ts";
import { ramCopyPages } from "./ram.ts";
import { countEvent } from "./vmevents.ts";
import { wakeupKcompactd } from "./kcompactd.ts";
import { wakeupKswapd } from "./kswapd.ts";
import { unreserveHighatomicPageblock } from "./highatomic.ts";
import { drainAllPages, drainLocalPages, freeUnrefPage } from "./pcp.ts";
import { MAX_RECLAIM_RETRIES, tryToFreePages, zoneReclaimablePages } from "./vmscan.ts";
import {
  EV_COMPACT_DAEMON_FREE_SCANNED, EV_COMPACT_DAEMON_MIGRATE_SCANNED, EV_COMPACT_DAEMON_MIGRATED, EV_COMPACT_MIGRATED,
  MIGRATE_UNMOVABLE,
} from "./abi.ts";
import {
  zoneEnd, zoneFreePages, zoneFreePagesBlocks, zoneOf, zonePopulated, zoneStart, zoneWatermark, zoneWatermarkRaw,
} from "./zone.ts";

// ---- the rules (one place, so a kernel-version profile can vary them) -----------------

/** COMPACT_CLUSTER_MAX (= SWAP_CLUSTER_MAX): pages isolated per migration batch. */
// @ts-ignore: decorator
@inline export const COMPACT_CLUSTER_MAX: i32 = 32;
/** Compaction is skipped at most 1 << COMPACT_MAX_DEFER_SHIFT times in a row. */
// @ts-ignore: decorator
@inline const COMPACT_MAX_DEFER_SHIFT: i32 = 6;
/** PAGE_ALLOC_COSTLY_ORDER: orders above it are "costly". */
// @ts-ignore: decorator
@inline export const PAGE_ALLOC_COSTLY_ORDER: i32 = 3;
/** MAX_COMPACT_RETRIES: retries of a compaction that reported success but whose allocation failed. */
// @ts-ignore: decorator
@inline const MAX_COMPACT_RETRIES: i32 = 16;
/** INIT_COMPACT_PRIORITY / DEF_COMPACT_PRIORITY / MIN_COMPACT_(COSTLY_)PRIORITY. */
// @ts-ignore: decorator
@inline const INIT_COMPACT_PRIORITY: i32 = COMPACT_PRIO_ASYNC;
// @ts-ignore: decorator
@inline const DEF_COMPACT_PRIORITY: i32 = COMPACT_PRIO_SYNC_LIGHT;
// @ts-ignore: decorator
@inline const MIN_COMPACT_PRIORITY: i32 = COMPACT_PRIO_SYNC_FULL;
// @ts-ignore: decorator
@inline const MIN_COMPACT_COSTLY_PRIORITY: i32 = COMPACT_PRIO_SYNC_LIGHT;
/** The sysctl_extfrag_threshold default: compact a costly order only when its fragmentation index exceeds it. */
// @ts-ignore: decorator
@inline export const EXTFRAG_THRESHOLD_DEFAULT: i32 = 500;
/** compact_gap(): free pages beyond the watermark that migration needs as targets. */
// @ts-ignore: decorator
@inline function compactGap(order: i32): i32 {
  return 2 << order;
}

// enum migrate_mode
// @ts-ignore: decorator
@inline const MIGRATE_ASYNC: i32 = 0;
// @ts-ignore: decorator
@inline const MIGRATE_SYNC_LIGHT: i32 = 1;
// @ts-ignore: decorator
@inline const MIGRATE_SYNC: i32 = 2;

// ---- knobs -------------------------------------------------------------------------------
/** vm.extfrag_threshold (0..1000). */
export let extfragThreshold: i32 = EXTFRAG_THRESHOLD_DEFAULT;
/** CONFIG_COMPACTION as a switch: off, the slow path never compacts (compact_memory still works). */
export let compactionEnabled: bool = true;
/** The result of the last direct compaction (enum compact_result), for inspection. */
export let lastCompactResult: i32 = COMPACT_SKIPPED;
/** vm.compaction_proactiveness (0..100, default 20): 0 turns proactive compaction off. */
export let compactionProactiveness: i32 = 20;
/** The sysctl_compaction_proactiveness default. */
// @ts-ignore: decorator
@inline export const COMPACTION_PROACTIVENESS_DEFAULT: i32 = 20;

export function setExtfragThreshold(v: i32): void {
  extfragThreshold = v;
}
export function setCompaction(on: bool): void {
  compactionEnabled = on;
}
export function setProactivenessValue(v: i32): void {
  compactionProactiveness = v;
}

// ---- per-zone state (struct zone's compaction fields) --------------------------------------
/** zone * COMPACT_STATE_COUNT + COMPACT_STATE_*. */
export const zoneCompactState: Int32Array = new Int32Array(MAX_NR_ZONES * COMPACT_STATE_COUNT);
/** compact_init_migrate_pfn / compact_init_free_pfn: where __reset_isolation_suitable() left the scanners. */
const initMigratePfn: Int32Array = new Int32Array(MAX_NR_ZONES);
const initFreePfn: Int32Array = new Int32Array(MAX_NR_ZONES);
/** PB_migrate_skip per pageblock. */
export let pageblockSkip: Uint8Array = new Uint8Array(0);

// @ts-ignore: decorator
@inline function zs(zone: i32, field: i32): i32 {
  return unchecked(zoneCompactState[zone * COMPACT_STATE_COUNT + field]);
}
// @ts-ignore: decorator
@inline function setZs(zone: i32, field: i32, v: i32): void {
  unchecked(zoneCompactState[zone * COMPACT_STATE_COUNT + field] = v);
}

export function compactionInit(): void {
  zoneCompactState.fill(0);
  initMigratePfn.fill(0);
  initFreePfn.fill(0);
  pageblockSkip = new Uint8Array(nrPageblocks);
  migrateList = new Int32Array(pageblockNrPages);
  migrateLru = new Int32Array(pageblockNrPages);
  failedList = new Int32Array(pageblockNrPages);
  migrateLen = 0;
  freeLists = new Array<Int32Array>(maxOrder + 1);
  for (let o = 0; o <= maxOrder; o++) freeLists[o] = new Int32Array(16);
  freeListStart = new Int32Array(maxOrder + 1);
  freeListLen = new Int32Array(maxOrder + 1);
  extfragThreshold = EXTFRAG_THRESHOLD_DEFAULT;
  compactionEnabled = true;
  lastCompactResult = COMPACT_SKIPPED;
  compactionProactiveness = COMPACTION_PROACTIVENESS_DEFAULT;
}

/**
 * Boot, once the zones are known: the scanners' cached positions start where
 * reset_cached_positions() puts them. (The kernel leaves them zero-filled; on a
 * zone that starts at pfn 0, as every zone here may, its first compaction would
 * then find the scanners met at once and do nothing but this reset.)
 */
export function compactionBoot(): void {
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (zonePopulated(z)) resetCachedPositions(z);
  }
}

/** A field of the zone's compaction state (COMPACT_STATE_* of abi.ts). */
export function compactionZoneState(zone: i32, field: i32): i32 {
  return zs(zone, field);
}

// ---- deferral -------------------------------------------------------------------------------

/** defer_compaction(): compaction failed at `order`; skip the next 1 << shift attempts. */
export function deferCompaction(zone: i32, order: i32): void {
  setZs(zone, COMPACT_STATE_CONSIDERED, 0);
  let shift = zs(zone, COMPACT_STATE_DEFER_SHIFT) + 1;
  if (order < zs(zone, COMPACT_STATE_ORDER_FAILED)) setZs(zone, COMPACT_STATE_ORDER_FAILED, order);
  if (shift > COMPACT_MAX_DEFER_SHIFT) shift = COMPACT_MAX_DEFER_SHIFT;
  setZs(zone, COMPACT_STATE_DEFER_SHIFT, shift);
}

/** compaction_deferred(): true when this attempt should be skipped (and counts it). */
export function compactionDeferred(zone: i32, order: i32): bool {
  const limit = 1 << zs(zone, COMPACT_STATE_DEFER_SHIFT);
  if (order < zs(zone, COMPACT_STATE_ORDER_FAILED)) return false;
  const considered = zs(zone, COMPACT_STATE_CONSIDERED) + 1;
  if (considered >= limit) {
    setZs(zone, COMPACT_STATE_CONSIDERED, limit);
    return false;
  }
  setZs(zone, COMPACT_STATE_CONSIDERED, considered);
  return true;
}

/** compaction_defer_reset(): compaction at `order` succeeded (or is expected to). */
export function compactionDeferReset(zone: i32, order: i32, allocSuccess: bool): void {
  if (allocSuccess) {
    setZs(zone, COMPACT_STATE_CONSIDERED, 0);
    setZs(zone, COMPACT_STATE_DEFER_SHIFT, 0);
  }
  if (order >= zs(zone, COMPACT_STATE_ORDER_FAILED)) setZs(zone, COMPACT_STATE_ORDER_FAILED, order + 1);
}

/** compaction_restarting(): the deferral ran its longest course; skip hints are stale. */
function compactionRestarting(zone: i32, order: i32): bool {
  if (order < zs(zone, COMPACT_STATE_ORDER_FAILED)) return false;
  return zs(zone, COMPACT_STATE_DEFER_SHIFT) == COMPACT_MAX_DEFER_SHIFT &&
    zs(zone, COMPACT_STATE_CONSIDERED) >= 1 << COMPACT_MAX_DEFER_SHIFT;
}

// ---- skip hints and cached scanner positions ---------------------------------------------------

// @ts-ignore: decorator
@inline function getSkip(pfn: i32): bool {
  return unchecked(pageblockSkip[pageblockIndex(pfn)]) != 0;
}
// @ts-ignore: decorator
@inline function setSkip(pfn: i32, on: bool): void {
  unchecked(pageblockSkip[pageblockIndex(pfn)] = on ? 1 : 0);
}
/** pageblock_end_pfn() */
// @ts-ignore: decorator
@inline function pageblockEndPfn(pfn: i32): i32 {
  return pageblockStartPfn(pfn) + pageblockNrPages;
}
// @ts-ignore: decorator
@inline function pageblockAligned(pfn: i32): bool {
  return (pfn & (pageblockNrPages - 1)) == 0;
}

/** reset_cached_positions(): the next compaction starts anew. */
function resetCachedPositions(zone: i32): void {
  setZs(zone, COMPACT_STATE_CACHED_MIGRATE_ASYNC, unchecked(zoneStart[zone]));
  setZs(zone, COMPACT_STATE_CACHED_MIGRATE_SYNC, unchecked(zoneStart[zone]));
  setZs(zone, COMPACT_STATE_CACHED_FREE, pageblockStartPfn(unchecked(zoneEnd[zone]) - 1));
}

/**
 * __reset_isolation_pfn(): clears the block's skip hint when a sample of its
 * pages (every 1 << PAGE_ALLOC_COSTLY_ORDER-th) finds a movable page (source)
 * or a free one (target).
 */
function resetIsolationPfn(zone: i32, pfn: i32, checkSource: bool, checkTarget: bool): bool {
  if (checkSource && checkTarget && !getSkip(pfn)) return true;
  if (!checkSource && checkTarget && getPageblockMt(pfn) != MIGRATE_MOVABLE) return false;
  let p = pageblockStartPfn(pfn);
  if (p < unchecked(zoneStart[zone])) p = unchecked(zoneStart[zone]);
  let last = pageblockEndPfn(pfn) - 1;
  if (last > unchecked(zoneEnd[zone]) - 1) last = unchecked(zoneEnd[zone]) - 1;
  while (p <= last) {
    if (checkSource) {
      // PageLRU(): the page belongs to an owned (movable, on-LRU) block.
      const head = findBlockHead(p);
      if (
        head != NONE && pageKind(head) == KIND_ALLOC && pageOwnerId(head) != NONE &&
        lruOf(pageOwnerId(head)) != LRU_NONE
      ) {
        setSkip(p, false);
        return true;
      }
    }
    if (checkTarget && pageKind(p) == KIND_BUDDY) {
      setSkip(p, false);
      return true;
    }
    p += 1 << PAGE_ALLOC_COSTLY_ORDER;
  }
  return false;
}

/** reset_isolation_suitable() (kswapd going to sleep): every populated zone whose direct compaction asked for it. */
export function resetIsolationSuitableNode(): void {
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (zonePopulated(z)) resetIsolationSuitable(z);
  }
}

/** __reset_isolation_suitable(): clears skip hints from both ends and sets restart points. */
function resetIsolationSuitable(zone: i32): void {
  if (zs(zone, COMPACT_STATE_BLOCKSKIP_FLUSH) == 0) return;
  setZs(zone, COMPACT_STATE_BLOCKSKIP_FLUSH, 0);
  let migratePfn = unchecked(zoneStart[zone]);
  let freePfn = unchecked(zoneEnd[zone]) - 1;
  let resetMigrate = freePfn;
  let resetFree = migratePfn;
  let sourceSet = false;
  let freeSet = false;
  for (; migratePfn < freePfn; migratePfn += pageblockNrPages, freePfn -= pageblockNrPages) {
    if (resetIsolationPfn(zone, migratePfn, true, sourceSet) && migratePfn < resetMigrate) {
      sourceSet = true;
      resetMigrate = migratePfn;
      unchecked(initMigratePfn[zone] = resetMigrate);
      setZs(zone, COMPACT_STATE_CACHED_MIGRATE_ASYNC, resetMigrate);
      setZs(zone, COMPACT_STATE_CACHED_MIGRATE_SYNC, resetMigrate);
    }
    if (resetIsolationPfn(zone, freePfn, freeSet, true) && freePfn > resetFree) {
      freeSet = true;
      resetFree = freePfn;
      unchecked(initFreePfn[zone] = resetFree);
      setZs(zone, COMPACT_STATE_CACHED_FREE, resetFree);
    }
  }
  // Leave no distance if no suitable block was reset.
  if (resetMigrate >= resetFree) {
    setZs(zone, COMPACT_STATE_CACHED_MIGRATE_ASYNC, migratePfn);
    setZs(zone, COMPACT_STATE_CACHED_MIGRATE_SYNC, migratePfn);
    setZs(zone, COMPACT_STATE_CACHED_FREE, freePfn);
  }
}

// ---- struct compact_control (one compaction at a time) ---------------------------------------------
let ccZone: i32 = 0;
/** -1: the whole zone (compact_memory), else the requested order. */
let ccOrder: i32 = -1;
let ccMode: i32 = MIGRATE_SYNC;
/** gfp_migratetype() of the request. */
let ccMigratetype: i32 = MIGRATE_MOVABLE;
let ccAllocFlags: i32 = 0;
let ccHighestZone: i32 = 0;
let ccDirect: bool = false;
/** cc->proactive_compaction: stop once the zone's fragmentation score is at most the low watermark. */
let ccProactive: bool = false;
/** kcompactd's work (kcompactd_do_work() or proactive): its moves count in EV_COMPACT_DAEMON_MIGRATED. */
let ccDaemon: bool = false;
let ccWholeZone: bool = false;
let ccIgnoreSkipHint: bool = false;
let ccIgnoreBlockSuitable: bool = false;
let ccFinishPageblock: bool = false;
let ccMigratePfn: i32 = 0;
let ccFreePfn: i32 = 0;
let ccNrMigratepages: i32 = 0;
let ccNrFreepages: i32 = 0;
let ccTotalMigrateScanned: i32 = 0;
let ccTotalFreeScanned: i32 = 0;
/** cc->search_order: where fast_isolate_freepages() starts its round of the orders. */
let ccSearchOrder: i32 = 0;
/** cc->fast_search_fail: failed free-list searches in a row (they shrink freelist_scan_limit()). */
let ccFastSearchFail: i32 = 0;
/** cc->fast_start_pfn: the lowest block fast_find_migrateblock() chose (0: none; FAST_START_USED: used). */
let ccFastStartPfn: i32 = 0;
/** ULONG_MAX of cc->fast_start_pfn: the linear scan already restarted from it. */
// @ts-ignore: decorator
@inline const FAST_START_USED: i32 = 0x7fffffff;

/** A fresh struct compact_control's search state (zero-filled, search_order = order). */
export function compactControlInit(order: i32): void {
  ccSearchOrder = order;
  ccFastSearchFail = 0;
  ccFastStartPfn = 0;
}

/** cc->migratepages, in isolation order (the kernel's list_add() makes the last one first). */
let migrateList: Int32Array = new Int32Array(0);
/** The LRU list each isolated folio left (folio_isolate_lru()), to go back on. */
let migrateLru: Int32Array = new Int32Array(0);
/** Indexes into migrateList of the folios migrate_pages() gave up on (ret_folios), in failure order. */
let failedList: Int32Array = new Int32Array(0);
let failedLen: i32 = 0;
let migrateLen: i32 = 0;

// cc->freepages[order]: isolated free blocks (heads marked allocated, no owner),
// one deque per order: isolation appends, compaction_alloc() takes from the
// front and pushes split-off halves back at the front.
let freeLists: Array<Int32Array> = new Array<Int32Array>(0);
let freeListStart: Int32Array = new Int32Array(0);
let freeListLen: Int32Array = new Int32Array(0);

function freeListGrow(order: i32): void {
  const old = unchecked(freeLists[order]);
  const cap = old.length;
  const grown = new Int32Array(cap << 1);
  const start = unchecked(freeListStart[order]);
  for (let i = 0; i < cap; i++) unchecked(grown[i] = old[(start + i) & (cap - 1)]);
  unchecked(freeLists[order] = grown);
  unchecked(freeListStart[order] = 0);
}
function freeListPushTail(order: i32, pfn: i32): void {
  if (unchecked(freeListLen[order]) == unchecked(freeLists[order]).length) freeListGrow(order);
  const list = unchecked(freeLists[order]);
  const at = (unchecked(freeListStart[order]) + unchecked(freeListLen[order])) & (list.length - 1);
  unchecked(list[at] = pfn);
  unchecked(freeListLen[order]++);
}
function freeListPushHead(order: i32, pfn: i32): void {
  if (unchecked(freeListLen[order]) == unchecked(freeLists[order]).length) freeListGrow(order);
  const list = unchecked(freeLists[order]);
  const at = (unchecked(freeListStart[order]) - 1) & (list.length - 1);
  unchecked(list[at] = pfn);
  unchecked(freeListStart[order] = at);
  unchecked(freeListLen[order]++);
}
function freeListPopHead(order: i32): i32 {
  const list = unchecked(freeLists[order]);
  const at = unchecked(freeListStart[order]);
  unchecked(freeListStart[order] = (at + 1) & (list.length - 1));
  unchecked(freeListLen[order]--);
  return unchecked(list[at]);
}

/** compact_scanners_met(): the scanners are in the same pageblock, or have crossed. */
// @ts-ignore: decorator
@inline function scannersMet(): bool {
  return ccFreePfn >> pageblockOrder <= ccMigratePfn >> pageblockOrder;
}

// @ts-ignore: decorator
@inline function isolationSuitable(pfn: i32): bool {
  return ccIgnoreSkipHint || !getSkip(pfn);
}

/** test_and_set_skip(): returns the old hint, setting it. */
function testAndSetSkip(pfn: i32): bool {
  if (ccIgnoreSkipHint) return false;
  const skip = getSkip(pfn);
  if (!skip) setSkip(pfn, true);
  return skip;
}

/** update_cached_migrate(): where async and sync compaction restart. */
function updateCachedMigrate(pfn: i32): void {
  pfn = pageblockEndPfn(pfn);
  if (pfn > zs(ccZone, COMPACT_STATE_CACHED_MIGRATE_ASYNC)) setZs(ccZone, COMPACT_STATE_CACHED_MIGRATE_ASYNC, pfn);
  if (ccMode != MIGRATE_ASYNC && pfn > zs(ccZone, COMPACT_STATE_CACHED_MIGRATE_SYNC)) {
    setZs(ccZone, COMPACT_STATE_CACHED_MIGRATE_SYNC, pfn);
  }
}

/** update_pageblock_skip(): nothing isolated from the block at `blockPfn`. */
function updatePageblockSkip(blockPfn: i32, pfn: i32): void {
  setSkip(blockPfn, true);
  if (pfn < zs(ccZone, COMPACT_STATE_CACHED_FREE)) setZs(ccZone, COMPACT_STATE_CACHED_FREE, pfn);
}

// ---- the free scanner ----------------------------------------------------------------------------

/**
 * __isolate_free_page(): takes the free block at `pfn` off its list if the zone
 * stays above its min watermark; a block of half a pageblock or more makes its
 * mergeable pageblocks movable. Returns the pages taken (0: refused).
 */
function isolateFreePage(pfn: i32, order: i32): i32 {
  const zone = ccZone;
  if (pageMt(pfn) != MIGRATE_ISOLATE) {
    // zone->_watermark[WMARK_MIN]: the boost does not count here.
    const mark = zoneWatermarkRaw(zone, WMARK_MIN) + (1 << order);
    if (!zoneWatermarkOk(zone, 0, mark, 0, ALLOC_CMA)) return 0;
  }
  takeFreeBlock(pfn);
  setAllocated(pfn, order, MIGRATE_MOVABLE);
  if (order >= pageblockOrder - 1) {
    const endPfn = pfn + (1 << order) - 1;
    for (let p = pfn; p < endPfn; p += pageblockNrPages) {
      if (migratetypeIsMergeable(getPageblockMt(p))) moveFreepagesBlock(p, MIGRATE_MOVABLE);
    }
  }
  return 1 << order;
}

/** Where isolateFreepagesBlock() stopped (its *start_pfn out-parameter). */
let freeBlockStopPfn: i32 = 0;

/**
 * isolate_freepages_block() (not strict): isolates free blocks from `startPfn`,
 * every `stride`-th page, until the batch has targets enough. Returns pages isolated.
 */
function isolateFreepagesBlock(startPfn: i32, endPfn: i32, stride: i32): i32 {
  let nrScanned = 0;
  let total = 0;
  let pfn = startPfn;
  for (; pfn < endPfn; pfn += stride) {
    nrScanned++;
    const kind = pageKind(pfn);
    if (kind == KIND_ALLOC) {
      // A compound page: skip it whole when it ends inside the block.
      const order = getOrder(pfn);
      if (order > 0 && pfn + (1 << order) <= endPfn) {
        pfn += (1 << order) - 1;
        nrScanned += (1 << order) - 1;
      }
      continue;
    }
    if (kind != KIND_BUDDY) continue;
    const order = getOrder(pfn);
    const isolated = isolateFreePage(pfn, order);
    if (isolated == 0) break;
    nrScanned += isolated - 1;
    total += isolated;
    ccNrFreepages += isolated;
    freeListPushTail(order, pfn);
    if (ccNrMigratepages <= ccNrFreepages) {
      pfn += isolated;
      break;
    }
    pfn += isolated - 1;
  }
  if (pfn > endPfn) pfn = endPfn;
  freeBlockStopPfn = pfn;
  ccTotalFreeScanned += nrScanned;
  if (total != 0) countEvent(EV_COMPACT_ISOLATED, total);
  return total;
}

/** suitable_migration_target(): may the free scanner take pages from the pageblock at `pfn`? */
function suitableMigrationTarget(pfn: i32): bool {
  // A large free block is what compaction is trying to create: leave it.
  if (pageKind(pfn) == KIND_BUDDY) {
    const order = ccOrder > 0 ? ccOrder : pageblockOrder;
    if (getOrder(pfn) >= order) return false;
  }
  if (ccIgnoreBlockSuitable) return true;
  // is_migrate_movable(): movable and CMA pageblocks.
  const mt = getPageblockMt(pfn);
  return mt == MIGRATE_MOVABLE || mt == MIGRATE_CMA;
}

/**
 * isolate_freepages(): walks pageblocks down from cc->free_pfn to the block
 * above the migration scanner, isolating free pages until there are as many
 * as pages to migrate.
 */
function isolateFreepages(): void {
  const zone = ccZone;
  // Try a small search of the free lists for a candidate first.
  fastIsolateFreepages();
  if (ccNrFreepages != 0) return;
  let isolateStartPfn = ccFreePfn;
  let blockStartPfn = pageblockStartPfn(isolateStartPfn);
  let blockEndPfn = blockStartPfn + pageblockNrPages;
  if (blockEndPfn > unchecked(zoneEnd[zone])) blockEndPfn = unchecked(zoneEnd[zone]);
  const lowPfn = pageblockEndPfn(ccMigratePfn);
  let stride = ccMode == MIGRATE_ASYNC ? COMPACT_CLUSTER_MAX : 1;
  while (blockStartPfn >= lowPfn) {
    if (suitableMigrationTarget(blockStartPfn) && isolationSuitable(blockStartPfn)) {
      const nrIsolated = isolateFreepagesBlock(isolateStartPfn, blockEndPfn, stride);
      isolateStartPfn = freeBlockStopPfn;
      // The whole block was scanned: skip it next time.
      if (isolateStartPfn == blockEndPfn) updatePageblockSkip(blockStartPfn, blockStartPfn - pageblockNrPages);
      if (ccNrFreepages >= ccNrMigratepages) {
        // Restart at the block below when this one is done.
        if (isolateStartPfn >= blockEndPfn) isolateStartPfn = blockStartPfn - pageblockNrPages;
        break;
      } else if (isolateStartPfn < blockEndPfn) {
        break; // isolation failed early (watermark)
      }
      if (nrIsolated != 0) {
        stride = 1;
      } else {
        stride = stride << 1;
        if (stride > COMPACT_CLUSTER_MAX) stride = COMPACT_CLUSTER_MAX;
      }
    }
    blockEndPfn = blockStartPfn;
    blockStartPfn -= pageblockNrPages;
    isolateStartPfn = blockStartPfn;
  }
  ccFreePfn = isolateStartPfn;
}

// ---- the free-list shortcuts (fast_isolate_freepages(), fast_find_migrateblock()) ------------------

/** freelist_scan_limit(): fewer list entries after each failed fast search. */
function freelistScanLimit(): i32 {
  const shift = ccFastSearchFail < 31 ? ccFastSearchFail : 31;
  return (COMPACT_CLUSTER_MAX >> shift) + 1;
}

/** Free blocks of `order` in the zone, all types (free_area[order].nr_free). */
function areaNrFree(zone: i32, order: i32): i32 {
  let n = 0;
  for (let mt = 0; mt < MIGRATE_TYPES; mt++) n += unchecked(freeBlocks[listIndex(zone, order, mt)]);
  return n;
}

/** move_freelist_head(): `pfn` first, the blocks before it (not scanned yet, scanning backwards) to the tail. */
function moveFreelistHead(order: i32, pfn: i32): void {
  rotateFreeList(ccZone, order, MIGRATE_MOVABLE, pfn);
}

/** move_freelist_tail(): `pfn` and the blocks before it (scanned, scanning forwards) to the tail. */
function moveFreelistTail(order: i32, pfn: i32): void {
  const next = link0(pfn);
  if (next != NONE) rotateFreeList(ccZone, order, MIGRATE_MOVABLE, next);
}

/** next_search_order(): the orders below cc->order round-robin; -1 once the round is complete. */
function nextSearchOrder(order: i32): i32 {
  order--;
  if (order < 0) order = ccOrder - 1;
  if (order == ccSearchOrder) {
    ccSearchOrder--;
    if (ccSearchOrder < 0) ccSearchOrder = ccOrder - 1;
    return -1;
  }
  return order;
}

/**
 * fast_isolate_around(): after a free-list hit, isolate the rest of its
 * pageblock (not for async direct compaction, nor when there are targets
 * enough); a block scanned to its end gets the skip hint.
 */
function fastIsolateAround(pfn: i32): void {
  if (ccNrFreepages >= ccNrMigratepages) return;
  if (ccDirect && ccMode == MIGRATE_ASYNC) return;
  let startPfn = pageblockStartPfn(pfn);
  if (startPfn < unchecked(zoneStart[ccZone])) startPfn = unchecked(zoneStart[ccZone]);
  let endPfn = pageblockEndPfn(pfn);
  if (endPfn > unchecked(zoneEnd[ccZone])) endPfn = unchecked(zoneEnd[ccZone]);
  isolateFreepagesBlock(startPfn, endPfn, 1);
  if (freeBlockStopPfn == endPfn) setSkip(startPfn, true);
}

/**
 * fast_isolate_freepages(): for an order > 0, walks the movable free lists
 * below the order (from cc->search_order, round-robin, each list from its
 * tail) for a block in the top quarter of the space between the scanners
 * (else the highest one in the top half), isolates it and the rest of its
 * pageblock. Lists are rotated so that the next search starts with blocks
 * not looked at yet. At the start of a zone's scan, a miss moves the free
 * scanner to the highest pageblock seen (or, for direct compaction, to the
 * middle of the space).
 */
function fastIsolateFreepages(): void {
  if (ccOrder <= 0) return;
  const zone = ccZone;
  let limit = freelistScanLimit() >> 1;
  if (limit < 1) limit = 1;
  let nrScanned = 0;
  let highest = 0;
  let page = NONE;
  let scanStart = false;
  // Starting the scan: search deeper, and keep the highest pfn seen.
  if (ccFreePfn >= unchecked(initFreePfn[zone])) {
    limit = pageblockNrPages >> 1;
    scanStart = true;
  }
  // Preferred: the top quarter of the scan space; acceptable: the top half.
  const distance = ccFreePfn - ccMigratePfn;
  let lowPfn = pageblockStartPfn(ccFreePfn - (distance >> 2));
  const minPfn = pageblockStartPfn(ccFreePfn - (distance >> 1));
  if (minPfn > lowPfn) lowPfn = minPfn;
  // From the last successful order, or the one after a previous failure.
  if (ccOrder - 1 < ccSearchOrder) ccSearchOrder = ccOrder - 1;
  let order = ccSearchOrder;
  while (page == NONE && order >= 0) {
    if (areaNrFree(zone, order) != 0) {
      let orderScanned = 0;
      let highPfn = 0;
      let freepage = freeListTail(zone, order, MIGRATE_MOVABLE);
      while (freepage != NONE) {
        orderScanned++;
        nrScanned++;
        const pfn = freepage;
        if (pfn >= highest) {
          highest = pageblockStartPfn(pfn);
          if (highest < unchecked(zoneStart[zone])) highest = unchecked(zoneStart[zone]);
        }
        if (pfn >= lowPfn) {
          ccFastSearchFail = 0;
          ccSearchOrder = order;
          page = freepage;
          break;
        }
        if (pfn >= minPfn && pfn > highPfn) {
          highPfn = pfn;
          limit >>= 1; // a candidate: shorten the scan
        }
        if (orderScanned >= limit) break;
        freepage = link1(freepage);
      }
      // The maximum candidate when no preferred block was found.
      if (page == NONE && highPfn != 0) {
        page = highPfn;
        freepage = page;
      }
      // A walk that ran off the list's start leaves it as it was.
      if (freepage != NONE) moveFreelistHead(order, freepage);
      if (page != NONE) {
        const isolated = isolateFreePage(page, order);
        if (isolated != 0) {
          nrScanned += isolated - 1;
          ccNrFreepages += isolated;
          freeListPushTail(order, page);
          countEvent(EV_COMPACT_ISOLATED, isolated);
        } else {
          // Isolation failed (watermark): abort the search.
          order = ccSearchOrder + 1;
          page = NONE;
        }
      }
      if (ccNrFreepages >= ccNrMigratepages) break;
      // A smaller scan on the next order, so the total stays near the limit.
      if (orderScanned >= limit) {
        limit >>= 1;
        if (limit < 1) limit = 1;
      }
    }
    if (page != NONE) break;
    order = nextSearchOrder(order);
  }
  if (page == NONE) {
    ccFastSearchFail++;
    if (scanStart) {
      if (highest >= minPfn) {
        // The highest pageblock seen above the minimum: the linear scan starts there.
        page = highest;
        ccFreePfn = highest;
      } else if (ccDirect) {
        // Be pessimistic for direct compaction: the minimum mark.
        page = suitableMigrationTarget(minPfn) ? minPfn : NONE;
        ccFreePfn = minPfn;
      }
    }
  }
  if (highest != 0 && highest >= zs(zone, COMPACT_STATE_CACHED_FREE)) {
    setZs(zone, COMPACT_STATE_CACHED_FREE, highest - pageblockNrPages);
  }
  ccTotalFreeScanned += nrScanned;
  if (page == NONE) return;
  fastIsolateAround(page);
}

/** update_fast_start_pfn(): the lowest block the fast search chose. */
function updateFastStartPfn(pfn: i32): void {
  if (ccFastStartPfn == FAST_START_USED) return;
  if (ccFastStartPfn == 0 || pfn < ccFastStartPfn) ccFastStartPfn = pfn;
}

/** reinit_migrate_pfn(): after a failed fast search, the linear scan restarts at the lowest block chosen so far, once. */
function reinitMigratePfn(): i32 {
  if (ccFastStartPfn == 0 || ccFastStartPfn == FAST_START_USED) return ccMigratePfn;
  ccMigratePfn = ccFastStartPfn;
  ccFastStartPfn = FAST_START_USED;
  return ccMigratePfn;
}

/**
 * fast_find_migrateblock(): for costly orders (kcompactd, and direct
 * compaction of movable requests) at the start of a pageblock, a movable free
 * block of order cc->order - 1 down to PAGE_ALLOC_COSTLY_ORDER in the first
 * half of the scan space (the first eighth once the scanner has moved) names
 * a pageblock that is already partly free: the migration scanner jumps there.
 * Returns where the migration scanner starts.
 */
function fastFindMigrateblock(): i32 {
  const limit = freelistScanLimit();
  let nrScanned = 0;
  let pfn = ccMigratePfn;
  const zone = ccZone;
  const zoneStartPfn = unchecked(zoneStart[zone]);
  // Skip hints keep the fast search from repeating itself: none without them.
  if (ccIgnoreSkipHint) return pfn;
  // A pageblock to finish keeps the scanner where it is.
  if (ccFinishPageblock) return pfn;
  // Inside a pageblock: a scan restarted after COMPACT_CLUSTER_MAX pages.
  if (pfn != zoneStartPfn && pfn != pageblockStartPfn(pfn)) return pfn;
  // Small orders: a linear scan moves few pages anyway.
  if (ccOrder <= PAGE_ALLOC_COSTLY_ORDER) return pfn;
  // Do not free a movable pageblock for a small unmovable or reclaimable request.
  if (ccDirect && ccMigratetype != MIGRATE_MOVABLE) return pfn;
  let distance = (ccFreePfn - ccMigratePfn) >> 1;
  if (ccMigratePfn != zoneStartPfn) distance >>= 2;
  const highPfn = pageblockStartPfn(ccMigratePfn + distance);
  let found = false;
  for (let order = ccOrder - 1; order >= PAGE_ALLOC_COSTLY_ORDER && !found && nrScanned < limit; order--) {
    if (areaNrFree(zone, order) == 0) continue;
    let freepage = freeListHead(zone, order, MIGRATE_MOVABLE);
    while (freepage != NONE) {
      if (nrScanned++ >= limit) {
        moveFreelistTail(order, freepage);
        break;
      }
      const freePfn = freepage;
      if (freePfn < highPfn) {
        // Skipped recently: leave it where it is.
        if (getSkip(freePfn)) {
          freepage = link0(freepage);
          continue;
        }
        // The next search skips the blocks seen now.
        moveFreelistTail(order, freepage);
        updateFastStartPfn(freePfn);
        pfn = pageblockStartPfn(freePfn);
        if (pfn < zoneStartPfn) pfn = zoneStartPfn;
        ccFastSearchFail = 0;
        found = true;
        break;
      }
      freepage = link0(freepage);
    }
  }
  ccTotalMigrateScanned += nrScanned;
  if (!found) {
    ccFastSearchFail++;
    pfn = reinitMigratePfn();
  }
  return pfn;
}

/**
 * compaction_alloc(): the migration target for a block of `order`: the first
 * isolated free block of that order or above (isolating more when there is
 * none), split down with the upper halves kept for later. NONE: no target.
 */
function compactionAlloc(order: i32): i32 {
  let hasIsolated = false;
  for (;;) {
    let startOrder = order;
    while (startOrder <= maxOrder && unchecked(freeListLen[startOrder]) == 0) startOrder++;
    if (startOrder > maxOrder) {
      if (hasIsolated) return NONE;
      isolateFreepages();
      hasIsolated = true;
      continue;
    }
    const pfn = freeListPopHead(startOrder);
    let size = 1 << startOrder;
    while (startOrder > order) {
      startOrder--;
      size >>= 1;
      setAllocated(pfn + size, startOrder, MIGRATE_MOVABLE);
      freeListPushHead(startOrder, pfn + size);
    }
    ccNrFreepages -= 1 << order;
    return pfn;
  }
}

/** compaction_free(): a target migration did not use goes back to the head of its list. */
function compactionFree(pfn: i32, order: i32): void {
  setAllocated(pfn, order, MIGRATE_MOVABLE);
  freeListPushHead(order, pfn);
  ccNrFreepages += 1 << order;
}

/** release_free_list(): unused targets back to the buddy allocator; returns the highest pfn. */
function releaseFreeList(): i32 {
  let highPfn = 0;
  for (let order = 0; order <= maxOrder; order++) {
    while (unchecked(freeListLen[order]) != 0) {
      const pfn = freeListPopHead(order);
      freeUnrefPage(pfn, order); // __free_pages(): through the pcp lists
      if (pfn > highPfn) highPfn = pfn;
    }
  }
  return highPfn;
}

// ---- the migration scanner -----------------------------------------------------------------------

/** skip_isolation_on_order(): folios at or above the target order, or a pageblock, stay. */
// @ts-ignore: decorator
@inline function skipIsolationOnOrder(order: i32): bool {
  if (ccOrder >= 0 && order >= ccOrder) return true;
  return order >= pageblockOrder;
}

/** block_end_pfn(pfn, order) */
// @ts-ignore: decorator
@inline function blockEndPfn(pfn: i32, order: i32): i32 {
  return (pfn + 1 + (1 << order) - 1) & ~((1 << order) - 1);
}

/**
 * isolate_migratepages_block(): isolates owned, unpinned blocks in [lowPfn,
 * endPfn) until a batch of COMPACT_CLUSTER_MAX pages (the whole block when
 * finishing it). Pinned pages are left: migration would fail on their extra
 * references (the kernel's check for pinned anonymous folios).
 */
function isolateMigratepagesBlock(lowPfn: i32, endPfn: i32): void {
  const zoneStartPfn = unchecked(zoneStart[ccZone]);
  let nrScanned = 0;
  let nrIsolated = 0;
  let validPage = NONE;
  let skipUpdated = false;
  let aborted = false;
  // Async direct compaction gives up on an order-aligned block at its first
  // failure: the block could not become free anyway.
  const skipOnFailure = ccDirect && ccMode == MIGRATE_ASYNC;
  let nextSkipPfn = skipOnFailure ? blockEndPfn(lowPfn, ccOrder) : 0;
  for (; lowPfn < endPfn; lowPfn++) {
    if (skipOnFailure && lowPfn >= nextSkipPfn) {
      // The previous order-aligned block is isolated whole: migrate it now.
      if (nrIsolated != 0) break;
      nextSkipPfn = blockEndPfn(lowPfn, ccOrder);
    }
    nrScanned++;
    if (validPage == NONE && (pageblockAligned(lowPfn) || lowPfn == zoneStartPfn)) {
      if (!isolationSuitable(lowPfn)) {
        lowPfn = endPfn;
        aborted = true;
        break;
      }
      validPage = lowPfn;
    }
    const kind = pageKind(lowPfn);
    if (kind == KIND_BUDDY) {
      const order = getOrder(lowPfn);
      if (order > 0) {
        lowPfn += (1 << order) - 1;
        nrScanned += (1 << order) - 1;
      }
      continue;
    }
    if (kind == KIND_ALLOC) {
      const order = getOrder(lowPfn);
      if (order > 0 && skipIsolationOnOrder(order)) {
        lowPfn += (1 << order) - 1;
        nrScanned += (1 << order) - 1;
      } else if (
        pageOwnerId(lowPfn) != NONE && shortPins(lowPfn) == 0 && longPins(lowPfn) == 0 &&
        lruOf(pageOwnerId(lowPfn)) != LRU_NONE && // !PageLRU: isolated by a migration in progress
        // ISOLATE_ASYNC_MIGRATE: a folio under writeback would block.
        !(ccMode == MIGRATE_ASYNC && testFlag(pageOwnerId(lowPfn), PG_WRITEBACK))
      ) {
        // The first isolation in a pageblock marks it skipped for other compactors.
        if (validPage != NONE && !skipUpdated) {
          skipUpdated = true;
          if (testAndSetSkip(validPage) && !ccFinishPageblock) {
            lowPfn = endPfn;
            aborted = true;
            break;
          }
        }
        // folio_isolate_lru(): off its list while it migrates.
        const id = pageOwnerId(lowPfn);
        unchecked(migrateLru[migrateLen] = lruOf(id));
        lruvecDelFolio(id);
        unchecked(migrateList[migrateLen++] = lowPfn);
        const n = 1 << order;
        ccNrMigratepages += n;
        nrIsolated += n;
        nrScanned += n - 1;
        lowPfn += n - 1;
        if (ccNrMigratepages >= COMPACT_CLUSTER_MAX && !ccFinishPageblock) {
          ++lowPfn;
          break;
        }
        continue;
      }
    }
    // isolate_fail: an unmovable, pinned or too large block, or a tail page.
    if (!skipOnFailure) continue;
    if (nrIsolated != 0) {
      putbackMovablePages(migrateLen);
      ccNrMigratepages = 0;
      nrIsolated = 0;
    }
    if (lowPfn < nextSkipPfn) {
      lowPfn = nextSkipPfn - 1;
      nextSkipPfn += 1 << ccOrder;
    }
  }
  if (!aborted && lowPfn > endPfn) lowPfn = endPfn;
  // A block scanned to its end with nothing isolated (or finished) is skipped next time.
  if (lowPfn == endPfn && (nrIsolated == 0 || ccFinishPageblock)) {
    if (validPage != NONE && !skipUpdated) setSkip(validPage, true);
    updateCachedMigrate(lowPfn);
  }
  ccTotalMigrateScanned += nrScanned;
  if (nrIsolated != 0) countEvent(EV_COMPACT_ISOLATED, nrIsolated);
  ccMigratePfn = lowPfn;
}

/** pageblock_skip_persistent(): the block is covered by an allocation of pageblock order or more. */
function pageblockSkipPersistent(pfn: i32): bool {
  const head = findBlockHead(pfn);
  return head != NONE && pageKind(head) == KIND_ALLOC && getOrder(head) >= pageblockOrder;
}

/** suitable_migration_source() */
function suitableMigrationSource(pfn: i32): bool {
  if (pageblockSkipPersistent(pfn)) return false;
  if (ccMode != MIGRATE_ASYNC || !ccDirect) return true;
  // Async direct compaction only empties pageblocks of the request's own type.
  const mt = getPageblockMt(pfn);
  if (ccMigratetype == MIGRATE_MOVABLE) return mt == MIGRATE_MOVABLE || mt == MIGRATE_CMA;
  return mt == ccMigratetype;
}

/** isolate_migratepages(): the next pageblock with something to migrate. True: a batch is isolated. */
function isolateMigratepages(): bool {
  const zoneStartPfn = unchecked(zoneStart[ccZone]);
  let lowPfn = fastFindMigrateblock();
  let blockStartPfn = pageblockStartPfn(lowPfn);
  if (blockStartPfn < zoneStartPfn) blockStartPfn = zoneStartPfn;
  // A block the fast search chose was checked for its skip hint already.
  let fastFindBlock = lowPfn != ccMigratePfn && ccFastSearchFail == 0;
  let blockEndPfn = pageblockEndPfn(lowPfn);
  while (blockEndPfn <= ccFreePfn) {
    const recentlyFailed = (pageblockAligned(lowPfn) || lowPfn == zoneStartPfn) && !fastFindBlock &&
      !isolationSuitable(blockStartPfn);
    if (!recentlyFailed) {
      if (suitableMigrationSource(blockStartPfn)) {
        isolateMigratepagesBlock(lowPfn, blockEndPfn);
        break;
      }
      updateCachedMigrate(blockEndPfn);
    }
    fastFindBlock = false;
    ccMigratePfn = lowPfn = blockEndPfn;
    blockStartPfn = blockEndPfn;
    blockEndPfn += pageblockNrPages;
  }
  return ccNrMigratepages != 0;
}

// ---- migration ----------------------------------------------------------------------------------

/** folio_putback_lru() of isolation `i`: the head of the list it left. */
// @ts-ignore: decorator
@inline function putbackOne(i: i32): void {
  lruvecAddFolio(pageOwnerId(unchecked(migrateList[i])), unchecked(migrateLru[i]));
}

/**
 * putback_movable_pages() after migrate_pages(): the failed folios (spliced at
 * the head of cc->migratepages) in failure order, then the first `n`
 * isolations not tried, newest first (the kernel's list order). Each goes to
 * the head of its list, so the last one put back leads.
 */
function putbackMovablePages(n: i32): void {
  for (let k = 0; k < failedLen; k++) putbackOne(unchecked(failedList[k]));
  for (let i = n - 1; i >= 0; i--) putbackOne(i);
  failedLen = 0;
  migrateLen = 0;
}

/**
 * Moves the owned block at `src`, isolated off list `lru`, to the isolated
 * target `dst` (move_to_new_folio() and the rmap walk).
 */
function migrateToTarget(src: i32, dst: i32, lru: i32): void {
  const order = getOrder(src);
  const id = pageOwnerId(src);
  setAllocated(dst, order, pageMt(src));
  ramCopyPages(dst, src, 1 << order);
  setPageOwnerId(dst, id);
  ownerSetPfn(id, dst);
  lruMigrated(id, dst); // folio_migrate_flags(): active, referenced, dirty stay
  lruvecAddFolio(id, lru); // folio_add_lru(dst): the head of the list it left
  freeUnrefPage(src, order); // the old folio goes through the pcp lists
  countEvent(EV_PGMIGRATE_SUCCESS, 1 << order);
  countEvent(EV_COMPACT_MIGRATED, 1 << order);
  if (ccDaemon) countEvent(EV_COMPACT_DAEMON_MIGRATED, 1 << order);
}

/**
 * migrate_pages(cc->migratepages, compaction_alloc): newest isolation first.
 * A folio under writeback is waited for only by MIGRATE_SYNC
 * (migrate_folio_unmap()); the other modes give up on it with -EBUSY, its
 * target going back (compaction_free()). Returns 0, the number of folios given
 * up on, or -ENOMEM (a block found no target; it and the rest are put back).
 */
function migratePages(): i32 {
  failedLen = 0;
  for (let i = migrateLen - 1; i >= 0; i--) {
    const src = unchecked(migrateList[i]);
    const order = getOrder(src);
    const dst = compactionAlloc(order);
    if (dst == NONE) {
      countEvent(EV_PGMIGRATE_FAIL, 1 << order);
      putbackMovablePages(i + 1); // this block and the older isolations
      return -ENOMEM;
    }
    const id = pageOwnerId(src);
    if (testFlag(id, PG_WRITEBACK)) {
      if (ccMode != MIGRATE_SYNC) {
        compactionFree(dst, order);
        countEvent(EV_PGMIGRATE_FAIL, 1 << order);
        unchecked(failedList[failedLen++] = i);
        continue;
      }
      folioEndWriteback(id); // folio_wait_writeback(): isolated, so PG_reclaim is just cleared
    }
    migrateToTarget(src, dst, unchecked(migrateLru[i]));
  }
  const failed = failedLen;
  putbackMovablePages(0);
  return failed;
}

// ---- compaction_suitable() --------------------------------------------------------------------

/**
 * fragmentation_index() of `zone` at `order`, in thousandths: 0 towards "lack of
 * memory", 1000 towards "external fragmentation", -1000 when a block of the
 * order is free. u64 arithmetic of the kernel, in f64 (exact below 2^53).
 */
export function fragmentationIndex(zone: i32, order: i32): i32 {
  let freePages: f64 = 0;
  let blocksTotal: f64 = 0;
  let blocksSuitable: f64 = 0;
  for (let o = 0; o <= maxOrder; o++) {
    let blocks: f64 = 0;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) blocks += f64(unchecked(freeBlocks[listIndex(zone, o, mt)]));
    blocksTotal += blocks;
    freePages += blocks * f64(1 << o);
    if (o >= order) blocksSuitable += blocks * f64(1 << (o - order));
  }
  if (order > maxOrder || blocksTotal == 0) return 0;
  if (blocksSuitable != 0) return -1000;
  const requested = f64(1 << order);
  return 1000 - i32(Math.floor((1000 + Math.floor((freePages * 1000) / requested)) / blocksTotal));
}

/**
 * __compaction_suitable(): order-0 pages above the watermark (min, or low for
 * costly orders) plus compact_gap(), free CMA pages counted (ALLOC_CMA).
 */
function compactionSuitableWatermark(zone: i32, order: i32, highestZone: i32): bool {
  let mark = order > PAGE_ALLOC_COSTLY_ORDER ? zoneWatermark(zone, WMARK_LOW) : zoneWatermark(zone, WMARK_MIN);
  mark += compactGap(order);
  return zoneWatermarkOk(zone, 0, mark, highestZone, ALLOC_CMA);
}

/**
 * compaction_suitable() as a result: COMPACT_CONTINUE, COMPACT_SKIPPED (too few
 * free pages) or COMPACT_NOT_SUITABLE_ZONE (a costly order whose failure is
 * rather a lack of memory than fragmentation: index in 0..extfrag_threshold).
 */
export function compactionSuitableResult(zone: i32, order: i32, highestZone: i32): i32 {
  if (!compactionSuitableWatermark(zone, order, highestZone)) return COMPACT_SKIPPED;
  if (order > PAGE_ALLOC_COSTLY_ORDER) {
    const fragindex = fragmentationIndex(zone, order);
    if (fragindex >= 0 && fragindex <= extfragThreshold) return COMPACT_NOT_SUITABLE_ZONE;
  }
  return COMPACT_CONTINUE;
}

/**
 * compaction_suit_allocation_order(): `kcompactd` for kcompactd's checks
 * (kcompactd_node_suitable(), kcompactd_do_work(), and compact_zone() of a
 * compaction that is not direct). Under vm.defrag_mode kcompactd's alloc_flags
 * are ALLOC_WMARK_HIGH and its free pages NR_FREE_PAGES_BLOCKS: done only when
 * the high watermark is met in whole free pageblocks (v6.15 "defrag_mode
 * kswapd/kcompactd watermarks").
 */
export function compactionSuitAllocationOrder(zone: i32, order: i32, highestZone: i32, allocFlags: i32, kcompactd: bool): i32 {
  if (kcompactd && defragMode) {
    const blocks = unchecked(zoneFreePagesBlocks[zone]);
    if (zoneWatermarkOkFree(zone, order, zoneWatermark(zone, WMARK_HIGH), highestZone, allocFlags, blocks)) {
      return COMPACT_SUCCESS;
    }
  } else if (zoneWatermarkOk(zone, order, zoneWatermark(zone, WMARK_MIN), highestZone, allocFlags)) {
    return COMPACT_SUCCESS;
  }
  if (compactionSuitableResult(zone, order, highestZone) != COMPACT_CONTINUE) return COMPACT_SKIPPED;
  return COMPACT_CONTINUE;
}

// ---- compact_zone() ------------------------------------------------------------------------------

/** __compact_finished() (with COMPACT_NO_SUITABLE_PAGE read as COMPACT_CONTINUE). */
function compactFinished(): i32 {
  const zone = ccZone;
  if (scannersMet()) {
    resetCachedPositions(zone);
    // kswapd clears the skip hints when it next goes to sleep (kswapd.ts), as
    // does a restart after the longest deferral.
    if (ccDirect) setZs(zone, COMPACT_STATE_BLOCKSKIP_FLUSH, 1);
    return ccWholeZone ? COMPACT_COMPLETE : COMPACT_PARTIAL_SKIPPED;
  }
  if (ccProactive) {
    // kswapd_is_running() is false: kswapd is not modelled.
    return fragmentationScoreZone(zone) > fragmentationScoreWmark(true) ? COMPACT_CONTINUE : COMPACT_SUCCESS;
  }
  if (ccOrder < 0) return COMPACT_CONTINUE;
  // Finish the pageblock first: fewer fallbacks later.
  if (!pageblockAligned(ccMigratePfn)) return COMPACT_CONTINUE;
  // vm.defrag_mode: kcompactd works until the high watermark is met in whole
  // free pageblocks (NR_FREE_PAGES_BLOCKS); those are claimed whole, so no
  // fallback test follows.
  if (defragMode && !ccDirect) {
    const blocks = unchecked(zoneFreePagesBlocks[zone]);
    const met = zoneWatermarkOkFree(zone, ccOrder, zoneWatermark(zone, WMARK_HIGH), ccHighestZone, ccAllocFlags, blocks);
    return met ? COMPACT_SUCCESS : COMPACT_CONTINUE;
  }
  for (let order = ccOrder; order <= maxOrder; order++) {
    if (freeListHead(zone, order, ccMigratetype) != NONE) return COMPACT_SUCCESS;
    if (ccMigratetype == MIGRATE_MOVABLE && freeListHead(zone, order, MIGRATE_CMA) != NONE) return COMPACT_SUCCESS;
    if (stealableFallbackExists(zone, order, ccMigratetype)) return COMPACT_SUCCESS;
  }
  return COMPACT_CONTINUE;
}

/** compact_zone() for the compact_control set up in the cc* variables. */
function compactZone(): i32 {
  const zone = ccZone;
  const startPfn = unchecked(zoneStart[zone]);
  const endPfn = unchecked(zoneEnd[zone]);
  const sync = ccMode != MIGRATE_ASYNC;
  ccTotalMigrateScanned = 0;
  ccTotalFreeScanned = 0;
  ccNrMigratepages = 0;
  ccNrFreepages = 0;
  migrateLen = 0;
  if (ccOrder >= 0) {
    const ret = compactionSuitAllocationOrder(zone, ccOrder, ccHighestZone, ccAllocFlags, !ccDirect);
    if (ret != COMPACT_CONTINUE) return ret;
  }
  if (compactionRestarting(zone, ccOrder)) resetIsolationSuitable(zone);
  ccFastStartPfn = 0;
  if (ccWholeZone) {
    ccMigratePfn = startPfn;
    ccFreePfn = pageblockStartPfn(endPfn - 1);
  } else {
    ccMigratePfn = zs(zone, sync ? COMPACT_STATE_CACHED_MIGRATE_SYNC : COMPACT_STATE_CACHED_MIGRATE_ASYNC);
    ccFreePfn = zs(zone, COMPACT_STATE_CACHED_FREE);
    if (ccFreePfn < startPfn || ccFreePfn >= endPfn) {
      ccFreePfn = pageblockStartPfn(endPfn - 1);
      setZs(zone, COMPACT_STATE_CACHED_FREE, ccFreePfn);
    }
    if (ccMigratePfn < startPfn || ccMigratePfn >= endPfn) {
      ccMigratePfn = startPfn;
      setZs(zone, COMPACT_STATE_CACHED_MIGRATE_ASYNC, ccMigratePfn);
      setZs(zone, COMPACT_STATE_CACHED_MIGRATE_SYNC, ccMigratePfn);
    }
    if (ccMigratePfn <= unchecked(initMigratePfn[zone])) ccWholeZone = true;
  }
  let updateCached = ccOrder >= 0 && !sync &&
    zs(zone, COMPACT_STATE_CACHED_MIGRATE_ASYNC) == zs(zone, COMPACT_STATE_CACHED_MIGRATE_SYNC);
  let lastMigratedPfn = 0;
  let ret = COMPACT_CONTINUE;
  for (;;) {
    ret = compactFinished();
    if (ret != COMPACT_CONTINUE) break;
    // A block migrated from in the last round is finished in one go this time.
    ccFinishPageblock = pageblockStartPfn(lastMigratedPfn) == pageblockStartPfn(ccMigratePfn);
    let stop = false;
    for (;;) { // rescan:
      if (!isolateMigratepages()) {
        if (updateCached) setZs(zone, COMPACT_STATE_CACHED_MIGRATE_SYNC, zs(zone, COMPACT_STATE_CACHED_MIGRATE_ASYNC));
        break;
      }
      updateCached = false;
      lastMigratedPfn = pageblockStartPfn(ccMigratePfn - 1);
      if (lastMigratedPfn < startPfn) lastMigratedPfn = startPfn;
      const err = migratePages();
      ccNrMigratepages = 0;
      if (err != 0) {
        if (err == -ENOMEM && !scannersMet()) {
          ret = COMPACT_CONTENDED;
          stop = true;
          break;
        }
        // A failed batch inside a pageblock: scan the rest of it and mark it skipped.
        if (!pageblockAligned(ccMigratePfn) && !ccIgnoreSkipHint && !ccFinishPageblock && ccMode < MIGRATE_SYNC) {
          ccFinishPageblock = true;
          if (ccOrder == pageblockOrder) lastMigratedPfn = 0;
          continue;
        }
      }
      if (ccDirect && capturedPfn != NONE) {
        ret = COMPACT_SUCCESS;
        stop = true;
      }
      break;
    }
    if (stop) break;
    // check_drain: once the migration scanner has left the cc->order-aligned
    // block it migrated from, the pages freed there (on this CPU's pcp lists)
    // go back to the buddy lists so that they can merge, and be captured
    // (lru_add_drain_cpu_zone() → drain_local_pages()).
    if (ccOrder > 0 && lastMigratedPfn != 0) {
      const currentBlockStart = ccMigratePfn & ~((1 << ccOrder) - 1);
      if (lastMigratedPfn < currentBlockStart) {
        drainLocalPages(zone);
        lastMigratedPfn = 0;
      }
    }
  }
  if (ccNrFreepages > 0) {
    let freePfn = releaseFreeList();
    ccNrFreepages = 0;
    // The cached free pfn only goes back up, to the block of the highest unused target.
    freePfn = pageblockStartPfn(freePfn);
    if (freePfn > zs(zone, COMPACT_STATE_CACHED_FREE)) setZs(zone, COMPACT_STATE_CACHED_FREE, freePfn);
  }
  countEvent(EV_COMPACT_MIGRATE_SCANNED, ccTotalMigrateScanned);
  countEvent(EV_COMPACT_FREE_SCANNED, ccTotalFreeScanned);
  return ret;
}

/** The block captured by the last compact_zone_order(), or NONE. */
let capturedSoFar: i32 = NONE;

/**
 * compact_node() for every populated zone, as writing 1 to
 * /proc/sys/vm/compact_memory does: order -1, MIGRATE_SYNC, whole zones, skip
 * hints ignored, GFP_KERNEL.
 */
export function compactMemory(): i32 {
  compactControlInit(-1); // one struct compact_control for the node's zones
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (!zonePopulated(z)) continue;
    ccZone = z;
    ccOrder = -1;
    ccMode = MIGRATE_SYNC;
    ccMigratetype = 0; // gfp_migratetype(GFP_KERNEL): unmovable
    ccAllocFlags = 0;
    ccHighestZone = 0;
    ccDirect = false;
    ccProactive = false;
    ccDaemon = false;
    ccWholeZone = true;
    ccIgnoreSkipHint = true;
    ccIgnoreBlockSuitable = false;
    compactZone();
  }
  return 0;
}

// ---- direct compaction (mm/page_alloc.c) ----------------------------------------------------------

/** compact_zone_order(): one zone at priority `prio`, capturing a freed block of `order`. */
function compactZoneOrder(zone: i32, order: i32, mt: i32, prio: i32, allocFlags: i32, highestZone: i32): i32 {
  ccZone = zone;
  ccOrder = order;
  ccMode = prio == COMPACT_PRIO_ASYNC ? MIGRATE_ASYNC : MIGRATE_SYNC_LIGHT;
  ccMigratetype = mt;
  ccAllocFlags = allocFlags;
  ccHighestZone = highestZone;
  ccDirect = true;
  ccProactive = false;
  ccDaemon = false;
  ccWholeZone = prio == MIN_COMPACT_PRIORITY;
  ccIgnoreSkipHint = prio == MIN_COMPACT_PRIORITY;
  ccIgnoreBlockSuitable = prio == MIN_COMPACT_PRIORITY;
  compactControlInit(order);
  armCapture(zone, order, mt);
  capturedSoFar = NONE;
  let ret = compactZone();
  capturedSoFar = disarmCapture();
  if (capturedSoFar != NONE) ret = COMPACT_SUCCESS;
  return ret;
}

/**
 * try_to_compact_pages(): the zonelist from `highestZone` down; a deferred zone
 * is passed over below COMPACT_PRIO_SYNC_FULL. The highest result is returned.
 */
function tryToCompactPages(order: i32, mt: i32, highestZone: i32, allocFlags: i32, prio: i32): i32 {
  let rc = COMPACT_SKIPPED;
  for (let z = highestZone; z >= 0; z--) {
    if (!zonePopulated(z)) continue;
    if (prio > MIN_COMPACT_PRIORITY && compactionDeferred(z, order)) {
      if (rc < COMPACT_DEFERRED) rc = COMPACT_DEFERRED;
      continue;
    }
    const status = compactZoneOrder(z, order, mt, prio, allocFlags, highestZone);
    if (status > rc) rc = status;
    if (status == COMPACT_SUCCESS) {
      // Expected to succeed; the caller confirms with compactionDeferReset(..., true).
      compactionDeferReset(z, order, false);
      break;
    }
    if (prio != COMPACT_PRIO_ASYNC && (status == COMPACT_COMPLETE || status == COMPACT_PARTIAL_SKIPPED)) {
      deferCompaction(z, order);
    }
  }
  return rc;
}

/**
 * __alloc_pages_direct_compact(): compacts, then takes the captured block or
 * tries the free lists again. Returns the pfn (not yet prepared) or NONE;
 * lastCompactResult holds the compaction's result.
 */
function allocPagesDirectCompact(order: i32, mt: i32, highestZone: i32, allocFlags: i32, prio: i32): i32 {
  if (order == 0) return NONE;
  capturedSoFar = NONE;
  const result = tryToCompactPages(order, mt, highestZone, allocFlags, prio);
  lastCompactResult = result;
  if (result == COMPACT_SKIPPED) return NONE;
  // Compaction ran (or was deferred) in at least one zone: a stall.
  countEvent(EV_COMPACT_STALL, 1);
  let pfn = capturedSoFar;
  capturedSoFar = NONE;
  if (pfn != NONE) {
    // prep_new_page() of the captured block: it never went through rmqueue(),
    // so no pgalloc is counted for it.
    setLastAllocZone(zoneOf(pfn));
    setAllocated(pfn, order, mt);
  } else {
    pfn = getPageFromFreelist(order, mt, highestZone, allocFlags, WMARK_MIN);
    if (pfn != NONE) prepNewPage(pfn, order, mt);
  }
  if (pfn != NONE) {
    const zone = zoneOf(pfn);
    setZs(zone, COMPACT_STATE_BLOCKSKIP_FLUSH, 0);
    compactionDeferReset(zone, order, true);
    countEvent(EV_COMPACT_SUCCESS, 1);
    return pfn;
  }
  countEvent(EV_COMPACT_FAIL, 1);
  return NONE;
}

/**
 * should_compact_retry() (6.12): after a failed round, whether to compact again
 * and at which priority (`retryPriority`). A skipped compaction (too few free
 * order-0 targets) is retried when reclaim could help:
 * compaction_zonelist_suitable().
 */
let retryPriority: i32 = DEF_COMPACT_PRIORITY;
let compactionRetries: i32 = 0;
function shouldCompactRetry(order: i32, result: i32, highestZone: i32): bool {
  if (order == 0) return false;
  if (result == COMPACT_SKIPPED) return compactionZonelistSuitable(order, highestZone);
  if (result == COMPACT_SUCCESS) {
    // Compaction made a block but someone else took it: retry a few times.
    let maxRetries = MAX_COMPACT_RETRIES;
    if (order > PAGE_ALLOC_COSTLY_ORDER) maxRetries = i32(maxRetries / 4);
    if (++compactionRetries <= maxRetries) return true;
  }
  const minPriority = order > PAGE_ALLOC_COSTLY_ORDER ? MIN_COMPACT_COSTLY_PRIORITY : MIN_COMPACT_PRIORITY;
  if (retryPriority > minPriority) {
    retryPriority--;
    compactionRetries = 0;
    return true;
  }
  return false;
}

/**
 * compaction_zonelist_suitable(): some zone would pass __compaction_suitable()
 * at the min watermark with its free pages plus zone_reclaimable_pages() / order.
 */
function compactionZonelistSuitable(order: i32, highestZone: i32): bool {
  for (let z = highestZone; z >= 0; z--) {
    if (!zonePopulated(z)) continue;
    const available = i32(zoneReclaimablePages(z) / order) + unchecked(zoneFreePages[z]);
    const mark = zoneWatermark(z, WMARK_MIN) + compactGap(order);
    if (zoneWatermarkOkFree(z, 0, mark, highestZone, ALLOC_CMA, available)) return true;
  }
  return false;
}

/**
 * should_reclaim_retry() (6.12): no_progress_loops counts rounds without
 * reclaim progress (every round for a costly order); up to MAX_RECLAIM_RETRIES
 * of them, retry while some zone would pass the min watermark for the order
 * with all its reclaimable pages freed. Before giving up, the highatomic
 * reserve is exhausted a pageblock at a time (unreserve_highatomic_pageblock(ac,
 * true)): a released pageblock means one more round.
 */
let noProgressLoops: i32 = 0;
function shouldReclaimRetry(order: i32, mt: i32, highestZone: i32, allocFlags: i32, didProgress: bool): bool {
  if (didProgress && order <= PAGE_ALLOC_COSTLY_ORDER) noProgressLoops = 0;
  else noProgressLoops++;
  let ret = false;
  if (noProgressLoops <= MAX_RECLAIM_RETRIES) {
    for (let z = highestZone; z >= 0; z--) {
      if (!zonePopulated(z)) continue;
      const available = zoneReclaimablePages(z) + unchecked(zoneFreePages[z]);
      if (zoneWatermarkOkFree(z, order, zoneWatermark(z, WMARK_MIN), highestZone, allocFlags, available)) {
        ret = true;
        break;
      }
    }
  }
  if (!ret) return unreserveHighatomicPageblock(highestZone, mt, true);
  return ret;
}

/**
 * __alloc_pages_direct_reclaim(): try_to_free_pages() (SWAP_CLUSTER_MAX pages,
 * vmscan.ts) then the free lists; when reclaim made progress but the allocation
 * still fails, one more try after unreserve_highatomic_pageblock(ac, false) and
 * drain_all_pages(). Returns the pfn (prepared) or NONE; `lastReclaimProgress`
 * holds did_some_progress.
 */
let lastReclaimProgress: i32 = 0;
function allocPagesDirectReclaim(
  order: i32, mt: i32, highestZone: i32, allocFlags: i32, canCompact: bool, noHighmem: bool,
): i32 {
  // sc->reclaim_idx = gfp_zone(): a movable request is GFP_HIGHUSER_MOVABLE, ZONE_MOVABLE
  // (a migration target's GFP_USER | __GFP_MOVABLE stays at ZONE_NORMAL).
  const reclaimIdx = mt == MIGRATE_MOVABLE && highestZone == ZONE_NORMAL && !noHighmem ? ZONE_MOVABLE : highestZone;
  lastReclaimProgress = tryToFreePages(order, reclaimIdx, pageShift, canCompact);
  if (lastReclaimProgress == 0) return NONE;
  let drained = false;
  for (;;) {
    const pfn = getPageFromFreelist(order, mt, highestZone, allocFlags, WMARK_MIN);
    if (pfn != NONE) {
      prepNewPage(pfn, order, mt);
      return pfn;
    }
    if (drained) return NONE;
    unreserveHighatomicPageblock(highestZone, mt, false);
    drainAllPages(-1);
    drained = true;
  }
  return NONE;
}

/**
 * __alloc_pages() with the slow path of 6.12 (__alloc_pages_slowpath()): the fast
 * path at the low watermark; kswapd woken (wake_all_kswapds()) and the min
 * watermark tried. A request that may block then, for a costly order or a
 * non-movable high order, compacts at COMPACT_PRIO_ASYNC first; then the retry
 * loop: kswapd woken again, the free lists, direct reclaim, direct compaction
 * at the current priority; __GFP_NORETRY and costly orders stop there (a costly
 * order with __GFP_RETRY_MAYFAIL goes on: every round counts as no progress in
 * should_reclaim_retry(), so it gets MAX_RECLAIM_RETRIES rounds at most before
 * should_compact_retry() alone decides); should_reclaim_retry() and, after reclaim progress,
 * should_compact_retry() decide another round. There is no OOM killer: the
 * allocation fails. GFP_NOBLOCK and GFP_NOCOMPACT requests (GFP_ATOMIC,
 * GFP_NOWAIT) never reclaim or compact. Marks the head allocated; NONE when
 * nothing fits.
 */
export function allocPagesSlowpath(order: i32, mt: i32, highestZone: i32, allocFlags: i32, gfp: i32): i32 {
  // gfp_to_alloc_flags() (6.15+): vm.defrag_mode adds ALLOC_NOFRAGMENT to the slow path's flags.
  if (defragMode) allocFlags |= ALLOC_NOFRAGMENT;
  let pfn = getPageFast(order, mt, highestZone, allocFlags);
  if (pfn == NONE) {
    wakeAllKswapds((gfp & (GFP_NOBLOCK | GFP_NOCOMPACT)) == 0, order, highestZone);
    pfn = getPageFromFreelist(order, mt, highestZone, allocFlags, WMARK_MIN);
  }
  if (pfn != NONE) {
    prepNewPage(pfn, order, mt);
    return pfn;
  }
  const canDirectReclaim = (gfp & (GFP_NOBLOCK | GFP_NOCOMPACT)) == 0;
  // A request that cannot reclaim goes to nopage, under vm.defrag_mode with
  // ALLOC_NOFRAGMENT still set: 6.18 has no fallback for it. (Later kernels
  // retry such a request without ALLOC_NOFRAGMENT first; that rule is in the
  // 7.2 sources but could not be found in 6.15-6.18 code, so it is left out.)
  if (canDirectReclaim) {
    pfn = slowpathRetryLoop(order, mt, highestZone, allocFlags, (gfp & GFP_NORETRY) != 0,
      (gfp & GFP_RETRY_MAYFAIL) != 0, (gfp & GFP_NO_HIGHMEM) != 0);
  }
  if (pfn == NONE) countAllocFail(order);
  return pfn;
}

function slowpathRetryLoop(
  order: i32, mt: i32, highestZone: i32, allocFlags: i32, noretry: bool, retryMayfail: bool, noHighmem: bool,
): i32 {
  const costly = order > PAGE_ALLOC_COSTLY_ORDER;
  // gfp_compaction_allowed() holds here (the request may do I/O); CONFIG_COMPACTION as the switch.
  const canCompact = compactionEnabled;
  retryPriority = DEF_COMPACT_PRIORITY;
  compactionRetries = 0;
  noProgressLoops = 0;
  lastCompactResult = COMPACT_SKIPPED;
  let pfn = NONE;
  if (canCompact && (costly || (order > 0 && mt != MIGRATE_MOVABLE))) {
    pfn = allocPagesDirectCompact(order, mt, highestZone, allocFlags, INIT_COMPACT_PRIORITY);
    if (pfn != NONE) return pfn;
    if (costly && noretry) {
      // Deferred or skipped: reclaim would not make whole pageblocks free.
      if (lastCompactResult == COMPACT_SKIPPED || lastCompactResult == COMPACT_DEFERRED) return NONE;
      retryPriority = INIT_COMPACT_PRIORITY; // keep it cheap
    }
  }
  for (;;) { // retry:
    // Ensure kswapd doesn't accidentally go to sleep as long as we loop.
    wakeAllKswapds(true, order, highestZone);
    pfn = getPageFromFreelist(order, mt, highestZone, allocFlags, WMARK_MIN);
    if (pfn != NONE) {
      prepNewPage(pfn, order, mt);
      return pfn;
    }
    pfn = allocPagesDirectReclaim(order, mt, highestZone, allocFlags, canCompact, noHighmem);
    if (pfn != NONE) return pfn;
    const didProgress = lastReclaimProgress > 0;
    if (canCompact) {
      pfn = allocPagesDirectCompact(order, mt, highestZone, allocFlags, retryPriority);
      if (pfn != NONE) return pfn;
    }
    if (noretry) return NONE;
    // Costly orders stop here unless __GFP_RETRY_MAYFAIL (and compaction) lets them retry.
    if (costly && !(retryMayfail && canCompact)) return NONE;
    if (shouldReclaimRetry(order, mt, highestZone, allocFlags, didProgress)) continue;
    if (didProgress && canCompact && shouldCompactRetry(order, lastCompactResult, highestZone)) continue;
    // vm.defrag_mode: reclaim and compaction failed to prevent the fallback;
    // once more from the top without ALLOC_NOFRAGMENT (the retry counters
    // carry on), where the kernel would otherwise go to the OOM killer.
    if (defragMode && (allocFlags & ALLOC_NOFRAGMENT) != 0) {
      allocFlags &= ~ALLOC_NOFRAGMENT;
      continue;
    }
    return NONE;
  }
  return NONE;
}

/**
 * wake_all_kswapds() (one node: one wakeup_kswapd()). Under vm.defrag_mode for
 * reclaim_order = max(order, pageblock_order): the failed request needs a
 * whole pageblock to claim, and kswapd hands that order on to kcompactd.
 */
function wakeAllKswapds(canDirectReclaim: bool, order: i32, highestZone: i32): void {
  const reclaimOrder = defragMode && order < pageblockOrder ? pageblockOrder : order;
  wakeupKswapd(canDirectReclaim, reclaimOrder, highestZone);
}

/** Pageblock skip hint of the block of `pfn` (for inspection). */
export function pageblockSkipOf(pfn: i32): i32 {
  return getSkip(pfn) ? 1 : 0;
}

// ---- kcompactd and proactive compaction (the loop and the clock: kcompactd.ts) -----------------

/** The scanners' totals of the last compact_zone() (cc->total_migrate_scanned / total_free_scanned). */
export function lastTotalMigrateScanned(): i32 {
  return ccTotalMigrateScanned;
}
export function lastTotalFreeScanned(): i32 {
  return ccTotalFreeScanned;
}

/**
 * kcompactd_do_work()'s compact_zone(): order `order`, MIGRATE_SYNC_LIGHT, skip
 * hints honoured, GFP_KERNEL (an unmovable request for __compact_finished()),
 * not direct (no capture, no compact_blockskip_flush). Returns the status.
 */
export function kcompactdCompactZone(zone: i32, order: i32, highestZone: i32): i32 {
  ccZone = zone;
  ccOrder = order;
  ccMode = MIGRATE_SYNC_LIGHT;
  ccMigratetype = MIGRATE_UNMOVABLE; // gfp_migratetype(GFP_KERNEL)
  ccAllocFlags = 0; // ALLOC_WMARK_MIN
  ccHighestZone = highestZone;
  ccDirect = false;
  ccProactive = false;
  ccDaemon = true;
  ccWholeZone = false;
  ccIgnoreSkipHint = false;
  ccIgnoreBlockSuitable = false;
  return compactZone();
}

/**
 * compact_node(pgdat, true), as kcompactd's proactive step runs it: every
 * populated zone whole, order -1, MIGRATE_SYNC_LIGHT, skip hints ignored,
 * each zone until its fragmentation score is at most the low watermark;
 * kcompactd's counters take the scanners' work.
 */
export function compactNodeProactive(): void {
  compactControlInit(-1); // one struct compact_control for the node's zones
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (!zonePopulated(z)) continue;
    ccZone = z;
    ccOrder = -1;
    ccMode = MIGRATE_SYNC_LIGHT;
    ccMigratetype = MIGRATE_UNMOVABLE;
    ccAllocFlags = 0;
    ccHighestZone = 0;
    ccDirect = false;
    ccProactive = true;
    ccDaemon = true;
    ccWholeZone = true;
    ccIgnoreSkipHint = true;
    ccIgnoreBlockSuitable = false;
    compactZone();
    ccProactive = false;
    countEvent(EV_COMPACT_DAEMON_MIGRATE_SCANNED, ccTotalMigrateScanned);
    countEvent(EV_COMPACT_DAEMON_FREE_SCANNED, ccTotalFreeScanned);
  }
}

/**
 * COMPACTION_HPAGE_ORDER: HPAGE_PMD_ORDER on a THP kernel, which is also
 * pageblock_order there; here the machine's pageblock order (9 by default).
 */
export function compactionHpageOrder(): i32 {
  return pageblockOrder < maxOrder ? pageblockOrder : maxOrder;
}

/**
 * extfrag_for_order() (mm/vmstat.c): the percentage of free pages in blocks
 * smaller than 1 << order, 0..100 (0 with no free page).
 */
export function extfragForOrder(zone: i32, order: i32): i32 {
  let freePages: f64 = 0;
  let suitable: f64 = 0;
  for (let o = 0; o <= maxOrder; o++) {
    let blocks: f64 = 0;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) blocks += f64(unchecked(freeBlocks[listIndex(zone, o, mt)]));
    freePages += blocks * f64(1 << o);
    if (o >= order) suitable += blocks * f64(1 << (o - order));
  }
  if (freePages == 0) return 0;
  return i32(Math.floor(((freePages - suitable * f64(1 << order)) * 100) / freePages));
}

/** fragmentation_score_zone(): extfrag_for_order() at COMPACTION_HPAGE_ORDER. */
export function fragmentationScoreZone(zone: i32): i32 {
  return extfragForOrder(zone, compactionHpageOrder());
}

/** node_present_pages: every zone's pages (no holes here). */
function nodePresentPages(): f64 {
  let n: f64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (zonePopulated(z)) n += f64(unchecked(zoneEnd[z]) - unchecked(zoneStart[z]));
  return n;
}

/** fragmentation_score_zone_weighted(): the zone's score scaled by its share of the node. */
export function fragmentationScoreZoneWeighted(zone: i32): i32 {
  const present = f64(unchecked(zoneEnd[zone]) - unchecked(zoneStart[zone]));
  return i32(Math.floor((present * f64(fragmentationScoreZone(zone))) / (nodePresentPages() + 1)));
}

/** fragmentation_score_node(): the weighted scores of the populated zones, summed. */
export function fragmentationScoreNode(): i32 {
  let score = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (zonePopulated(z)) score += fragmentationScoreZoneWeighted(z);
  return score;
}

/**
 * fragmentation_score_wmark(): low = max(100 - proactiveness, 5), high =
 * min(low + 10, 100).
 */
export function fragmentationScoreWmark(low: bool): i32 {
  let wmarkLow = 100 - compactionProactiveness;
  if (wmarkLow < 5) wmarkLow = 5;
  if (low) return wmarkLow;
  return wmarkLow + 10 < 100 ? wmarkLow + 10 : 100;
}
