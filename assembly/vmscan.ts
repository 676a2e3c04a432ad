// Reclaim (mm/vmscan.c of Linux 6.12, the classic LRU; no MGLRU): the shared
// part of kswapd (kswapd.ts) and direct reclaim (compaction.ts's slow path).
//
//   shrink_node()            prepare_scan_control() (may_deactivate from
//                            inactive_is_low(), cache_trim_mode), shrink_lruvec(),
//                            should_continue_reclaim() for reclaim/compaction,
//                            kswapd_failures reset on progress, PGDAT_DIRTY /
//                            PGDAT_WRITEBACK for kswapd
//   shrink_lruvec()          get_scan_count() → nr[lru] = size >> priority in
//                            SWAP_CLUSTER_MAX bites over the evictable lists
//   shrink_active_list()     deactivation; folio_referenced() clears an anon
//                            folio's young pte bit (referenced executable file
//                            folios are not modelled: no file page is mapped)
//   shrink_inactive_list()   isolate_lru_folios() from the tail (honouring
//                            reclaim_idx: folios of higher zones go back to the
//                            head, pgskip_*), shrink_folio_list(), putback
//   do_try_to_free_pages()   direct reclaim's priority loop and its retries
//
// Without swap (createSystem's `swapBytes` 0, the default) anonymous folios are
// never reclaimed: get_scan_count() is SCAN_FILE, and can_age_anon_pages() is
// false, so the anon lists are not aged either. With swap (swap.ts):
//   get_scan_count()         SCAN_FILE without free swap, SCAN_EQUAL at priority
//                            0, SCAN_ANON when file_is_tiny, SCAN_FILE in
//                            cache_trim_mode, else SCAN_FRACT from anon_cost /
//                            file_cost (lru_note_cost()) and vm_swappiness
//   prepare_scan_control()   file_is_tiny; no workingset refaults are modelled,
//                            so may_deactivate follows inactive_is_low() alone
//                            and refaults never add to the costs
//   shrink_folio_list()      anon folios: folio_check_references() on the pte's
//                            young bit (young + PG_referenced → activate, young
//                            → PG_referenced and keep, old → reclaim); long-term
//                            pinned → kept (folio_maybe_dma_pinned() before
//                            add_to_swap()); no free slot → activated; swapped
//                            out synchronously and freed in the same pass
//   shrink_lruvec()          the proportional scan adjustment between types;
//                            anon aging (shrink_active_list() of SWAP_CLUSTER_MAX)
//                            when the inactive anon list is low
// Simplified: large anon folios are activated instead of split (split_folio_to_list()
// is not modelled); a short-term pinned anon folio is kept before add_to_swap()
// (the kernel would take a slot, unmap it and fail in pageout()'s
// is_page_cache_freeable(), leaving it in the swap cache).
//
// The "6.1" profile: shrink_folio_list() frees a bite's folios newest first
// (list_add() onto free_folios, free_unref_page_list()), lru_note_cost() adds
// nr_pageout alone (6.12: nr_pageout * SWAP_CLUSTER_MAX + the pages scanned
// but not reclaimed), and
// do_try_to_free_pages() has no memcg_full_walk retry (v6.11); kswapd has no
// cache-trim restart (kswapd.ts). The rest of 6.1's classic LRU reclaim is the
// same as far as it is modelled here.
//
// Writeback: reclaim never writes a dirty page cache folio (as with filesystems
// without ->writepage, pageout() would answer PAGE_ACTIVATE; the flusher threads
// that reclaim wakes are not modelled): dirty folios are tagged PG_reclaim and
// activated, and the API's writeback() is what cleans them.

import {
  EV_ALLOCSTALL_DMA, EV_PGACTIVATE, EV_PGDEACTIVATE, EV_PGREFILL, EV_PGSCAN_ANON, EV_PGSCAN_DIRECT, EV_PGSCAN_KSWAPD,
  EV_PGSKIP_DMA, EV_PGSTEAL_ANON, EV_PGSTEAL_DIRECT, EV_PGSTEAL_KSWAPD, MAX_NR_ZONES, WMARK_HIGH, WMARK_MIN,
  COMPACT_CONTINUE, COMPACT_SUCCESS, KERNEL_6_1, ZONE_MOVABLE,
} from "./abi.ts";
import { NONE } from "./constants.ts";
import { zoneWatermarkOk } from "./buddy.ts";
import { longPins, pageOwnerId, setPageOwnerId, shortPins } from "./memmap.ts";
import { ownerDestroy, ownerGetPfn } from "./owner.ts";
import { freeUnrefPage } from "./pcp.ts";
import { countEvent } from "./vmevents.ts";
import {
  LRU_ACTIVE_ANON, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, NR_LRU_LISTS, PG_DIRTY, PG_RECLAIM,
  PG_REFERENCED, PG_WORKINGSET, PG_WRITEBACK, PTE_YOUNG, folioNrPages, folioZone, lruForget, lruTail, lruPrev,
  lruZoneSize, lruvecAddFolio, lruvecDelFolio, setFlag, testFlag, lruOf, isFileFolio,
} from "./lru.ts";
import { zoneFreePages, zonePopulated, zoneWatermark } from "./zone.ts";
import {
  MAX_SWAPPINESS, lruAnonCost, lruFileCost, lruNoteCost, nrSwapPages, swapOutFolio, swapTotalPages, vmSwappiness,
} from "./swap.ts";
import { compactionSuitableResult } from "./compaction.ts";
import { kernelProfile } from "./profile.ts";

/** SWAP_CLUSTER_MAX: the reclaim batch. */
// @ts-ignore: decorator
@inline export const SWAP_CLUSTER_MAX: i32 = 32;
/** DEF_PRIORITY: a first pass scans size >> 12 of each list. */
// @ts-ignore: decorator
@inline export const DEF_PRIORITY: i32 = 12;
/** MAX_RECLAIM_RETRIES: kswapd's hopeless-node limit and should_reclaim_retry()'s. */
// @ts-ignore: decorator
@inline export const MAX_RECLAIM_RETRIES: i32 = 16;
// @ts-ignore: decorator
@inline const PAGE_ALLOC_COSTLY_ORDER: i32 = 3;
// sc->may_deactivate bits
// @ts-ignore: decorator
@inline const DEACTIVATE_ANON: i32 = 1;
// @ts-ignore: decorator
@inline const DEACTIVATE_FILE: i32 = 2;

// ---- struct scan_control (one reclaimer at a time) ------------------------------------------

export let scNrToReclaim: i32 = 0;
export let scNrReclaimed: i32 = 0;
export let scNrScanned: i32 = 0;
export let scPriority: i32 = DEF_PRIORITY;
export let scReclaimIdx: i32 = 0;
export let scOrder: i32 = 0;
let scKswapd: bool = false;
let scMayDeactivate: i32 = 0;
let scForceDeactivate: bool = false;
let scSkippedDeactivate: bool = false;
export let scCacheTrimMode: bool = false;
export let scCacheTrimModeFailed: bool = false;
export let scNoCacheTrimMode: bool = false;
export let scCompactionReady: bool = false;
// sc->nr of one shrink_node()
let nrDirty: i32 = 0;
let nrUnqueuedDirty: i32 = 0;
let nrWriteback: i32 = 0;
let nrImmediate: i32 = 0;
let nrTaken: i32 = 0;
let nrFileTaken: i32 = 0;
/** stat->nr_pageout of the last shrink_folio_list() */
let nrPageout: i32 = 0;
let scFileIsTiny: bool = false;
/** sc->anon_cost / file_cost: prepare_scan_control()'s snapshot of the lruvec's. */
let scAnonCost: i32 = 0;
let scFileCost: i32 = 0;

/** pgdat->kswapd_failures: balance_pgdat() passes in a row that reclaimed nothing. */
export let kswapdFailures: i32 = 0;
/** PGDAT_DIRTY / PGDAT_WRITEBACK: kswapd saw a whole batch dirty / under writeback. */
export let pgdatDirty: bool = false;
export let pgdatWriteback: bool = false;

export function vmscanInit(): void {
  kswapdFailures = 0;
  pgdatDirty = false;
  pgdatWriteback = false;
  isolated = new Int32Array(64);
  skipped = new Int32Array(64);
}

export function setKswapdFailures(n: i32): void {
  kswapdFailures = n;
}

/** clear_pgdat_congested(): kswapd found the node balanced. */
export function clearPgdatCongested(): void {
  pgdatDirty = false;
  pgdatWriteback = false;
}

/** Starts a scan_control: kswapd's (balance_pgdat()) or a direct reclaimer's (try_to_free_pages()). */
export function scInit(kswapd: bool, order: i32, reclaimIdx: i32, nrToReclaim: i32): void {
  scKswapd = kswapd;
  scOrder = order;
  scReclaimIdx = reclaimIdx;
  scNrToReclaim = nrToReclaim;
  scNrReclaimed = 0;
  scNrScanned = 0;
  scPriority = DEF_PRIORITY;
  scMayDeactivate = 0;
  scForceDeactivate = false;
  scSkippedDeactivate = false;
  scCacheTrimMode = false;
  scCacheTrimModeFailed = false;
  scNoCacheTrimMode = false;
  scCompactionReady = false;
}

export function setScPriority(p: i32): void { scPriority = p; }
export function setScNrToReclaim(n: i32): void { scNrToReclaim = n; }
export function setScOrder(o: i32): void { scOrder = o; }
export function setScReclaimIdx(z: i32): void { scReclaimIdx = z; }
export function setScNoCacheTrimMode(): void { scNoCacheTrimMode = true; }
export function resetScNrScanned(): void { scNrScanned = 0; }

// ---- sizes -----------------------------------------------------------------------------------

/** lruvec_lru_size(lruvec, lru, zone_idx): pages on `lru` in zones up to `zoneIdx`. */
export function lruvecLruSize(lru: i32, zoneIdx: i32): i32 {
  let n = 0;
  for (let z = 0; z <= zoneIdx && z < MAX_NR_ZONES; z++) n += unchecked(lruZoneSize[z * NR_LRU_LISTS + lru]);
  return n;
}

/** node_page_state(NR_LRU_BASE + lru) */
export function nodeLruPages(lru: i32): i32 {
  return lruvecLruSize(lru, MAX_NR_ZONES - 1);
}

/** can_reclaim_anon_pages() for global reclaim: a free swap slot exists. */
export function canReclaimAnonPages(): bool {
  return nrSwapPages() > 0;
}

/** can_age_anon_pages(): swap is present (no demotion here). */
export function canAgeAnonPages(): bool {
  return swapTotalPages() > 0;
}

/**
 * zone_reclaimable_pages(): the zone's file LRU pages, and its anon ones while
 * swap has a free slot.
 */
export function zoneReclaimablePages(z: i32): i32 {
  let n = unchecked(lruZoneSize[z * NR_LRU_LISTS + LRU_INACTIVE_FILE]) +
    unchecked(lruZoneSize[z * NR_LRU_LISTS + LRU_ACTIVE_FILE]);
  if (canReclaimAnonPages()) {
    n += unchecked(lruZoneSize[z * NR_LRU_LISTS + LRU_INACTIVE_ANON]) +
      unchecked(lruZoneSize[z * NR_LRU_LISTS + LRU_ACTIVE_ANON]);
  }
  return n;
}

/** pgdat_reclaimable_pages(): summed over the node's zones. */
export function nodeReclaimablePages(): i32 {
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) n += zoneReclaimablePages(z);
  return n;
}

/** int_sqrt() */
function intSqrt(x: i32): i32 {
  return i32(Math.floor(Math.sqrt(f64(x))));
}

/**
 * inactive_is_low(): the inactive list is too small against the active one:
 * inactive * inactive_ratio < active, the ratio int_sqrt(10 * GiB of both) (1
 * under a GiB). `pageShift` from memmap.
 */
export function inactiveIsLow(inactiveLru: i32, pageShift: i32): bool {
  const inactive = nodeLruPages(inactiveLru);
  const active = nodeLruPages(inactiveLru + 1);
  const gb = (inactive + active) >>> (30 - pageShift);
  const ratio = gb != 0 ? intSqrt(10 * gb) : 1;
  return f64(inactive) * f64(ratio) < f64(active);
}

// ---- isolation -----------------------------------------------------------------------------

/** isolate_lru_folios()'s catch, in isolation order (the LRU's oldest first). */
let isolated: Int32Array = new Int32Array(64);
let isolatedLen: i32 = 0;
let skipped: Int32Array = new Int32Array(64);
/** *nr_scanned of the last isolation (total_scan: skipped folios included). */
let isoScanned: i32 = 0;

function pushTo(buf: Int32Array, len: i32, id: i32): Int32Array {
  if (len == buf.length) {
    const b = new Int32Array(len << 1);
    b.set(buf);
    buf = b;
  }
  unchecked(buf[len] = id);
  return buf;
}

/**
 * isolate_lru_folios(nr_to_scan, lru): folios from the tail of `lru` until
 * nr_to_scan pages of eligible zones were looked at. Folios of zones above
 * sc->reclaim_idx are skipped (not counted towards nr_to_scan, but in
 * nr_scanned) and spliced back at the head in their order. Returns nr_taken.
 */
function isolateLruFolios(nrToScan: i32, lru: i32): i32 {
  isolatedLen = 0;
  let skippedLen = 0;
  let scan = 0;
  let totalScan = 0;
  let taken = 0;
  let id = unchecked(lruTail[lru]);
  const skipPerZone = skipCount;
  skipPerZone.fill(0);
  while (scan < nrToScan && id != NONE) {
    const prev = unchecked(lruPrev[id]);
    const n = folioNrPages(id);
    totalScan += n;
    const z = folioZone(id);
    lruvecDelFolio(id);
    if (z > scReclaimIdx) {
      unchecked(skipPerZone[z] += n);
      skipped = pushTo(skipped, skippedLen, id);
      skippedLen++;
    } else {
      scan += n;
      taken += n;
      isolated = pushTo(isolated, isolatedLen, id);
      isolatedLen++;
    }
    id = prev;
  }
  // list_splice(&folios_skipped, src): the skipped batch at the head, its
  // first-skipped (oldest) folio last.
  for (let i = skippedLen - 1; i >= 0; i--) lruvecAddFolio(unchecked(skipped[i]), lru);
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    const n = unchecked(skipPerZone[z]);
    if (n != 0 && z <= ZONE_MOVABLE) countEvent(EV_PGSKIP_DMA + z, n);
  }
  isoScanned = totalScan;
  return taken;
}
const skipCount: Int32Array = new Int32Array(MAX_NR_ZONES);

/** move_folios_to_lru(): the batch back, oldest first, each to the head of its list. */
function putbackIsolated(): void {
  for (let i = 0; i < isolatedLen; i++) {
    const id = unchecked(isolated[i]);
    if (id == NONE) continue; // freed
    lruvecAddFolio(id, unchecked(targetLru[i]));
  }
}
let targetLru: Int32Array = new Int32Array(64);
function setTarget(i: i32, lru: i32): void {
  if (targetLru.length <= i) {
    const b = new Int32Array(isolated.length);
    b.set(targetLru);
    targetLru = b;
  }
  unchecked(targetLru[i] = lru);
}

// ---- shrink_active_list() ------------------------------------------------------------------------

/**
 * shrink_active_list(): up to nr_to_scan pages from the active list's tail go to
 * the head of the inactive list (PG_workingset set; PGREFILL counts the scan,
 * PGDEACTIVATE the moves). folio_referenced() clears an anon folio's young pte
 * bit, but only referenced executable file folios stay active: none here.
 */
function shrinkActiveList(nrToScan: i32, lru: i32): void {
  isolateLruFolios(nrToScan, lru);
  countEvent(EV_PGREFILL, isoScanned);
  let deactivated = 0;
  for (let i = 0; i < isolatedLen; i++) {
    const id = unchecked(isolated[i]);
    setFlag(id, PTE_YOUNG, false);
    setFlag(id, PG_WORKINGSET, true);
    setTarget(i, lru - 1);
    deactivated += folioNrPages(id);
  }
  putbackIsolated();
  countEvent(EV_PGDEACTIVATE, deactivated);
}

// ---- shrink_inactive_list() and shrink_folio_list() ------------------------------------------------

/** Frees a reclaimed folio: out of its mapping (__remove_mapping()), the owner gone, the frame to the pcp lists. */
function freeReclaimed(id: i32): void {
  const pfn = forgetReclaimed(id);
  freeUnrefPage(pfn, 0);
}

/** A reclaimed order-0 folio leaves its mapping and LRU; returns its pfn, still to be freed. */
function forgetReclaimed(id: i32): i32 {
  const pfn = ownerGetPfn(id);
  lruForget(id);
  ownerDestroy(id);
  setPageOwnerId(pfn, NONE);
  return pfn;
}

/**
 * A swapped-out anon folio leaves the swap cache (__remove_mapping() →
 * __delete_from_swap_cache()): the owner keeps its id and slot (its pte holds
 * the swap entry); returns the pfn, still to be freed.
 */
function forgetSwappedOut(id: i32, pfn: i32): i32 {
  lruForget(id);
  setPageOwnerId(pfn, NONE);
  return pfn;
}

/** 6.1: shrink_folio_list()'s free_folios list, freed head first at the end (free_unref_page_list()). */
let deferredFree: Int32Array = new Int32Array(64);


/**
 * shrink_folio_list() over the isolated batch, oldest first (6.12; anon folios
 * in shrinkAnonFolio()). Unmapped page cache folios:
 *   writeback    → PG_reclaim set, activated (nr_writeback; kswapd with
 *                  PGDAT_WRITEBACK and PG_reclaim already set: nr_immediate)
 *   folio_check_references(): PG_referenced is tested and cleared; an unmapped
 *                  file folio is reclaimed either way (FOLIOREF_RECLAIM_CLEAN
 *                  when it was referenced)
 *   long-term pinned (folio_maybe_dma_pinned()) → activated
 *   dirty        → PG_reclaim set and activated, unless kswapd meets a folio
 *                  already tagged while PGDAT_DIRTY is set: kept if it was
 *                  referenced, else activated (no ->writepage: PAGE_ACTIVATE)
 *   short-term pinned (an extra reference: __remove_mapping()'s freeze fails) → kept
 *   else         → removed from the mapping and freed
 * Returns the pages reclaimed.
 */
function shrinkFolioList(): i32 {
  let reclaimed = 0;
  let nrDeferred = 0;
  let activated = 0;
  nrPageout = 0;
  for (let i = 0; i < isolatedLen; i++) {
    const id = unchecked(isolated[i]);
    const n = folioNrPages(id);
    scNrScanned += n;
    if (!isFileFolio(id)) {
      const verdict = shrinkAnonFolio(id, n);
      if (verdict == ANON_ACTIVATE) {
        setTarget(i, LRU_ACTIVE_ANON);
        activated += n;
      } else if (verdict == ANON_KEEP) {
        setTarget(i, LRU_INACTIVE_ANON);
      } else {
        // Swapped out: the frame is freed as a page cache folio's would be.
        const pfn = ownerGetPfn(id);
        unchecked(isolated[i] = NONE);
        nrPageout += n;
        swapOutFolio(id, pfn);
        if (kernelProfile == KERNEL_6_1) {
          deferredFree = pushTo(deferredFree, nrDeferred, forgetSwappedOut(id, pfn));
          nrDeferred++;
        } else {
          freeUnrefPage(forgetSwappedOut(id, pfn), 0);
        }
        reclaimed += n;
      }
      continue;
    }
    const lru = LRU_INACTIVE_FILE;
    const dirty = testFlag(id, PG_DIRTY);
    const writeback = testFlag(id, PG_WRITEBACK);
    if (dirty || writeback) nrDirty += n;
    if (dirty && !writeback) nrUnqueuedDirty += n;
    if (writeback) {
      if (scKswapd && testFlag(id, PG_RECLAIM) && pgdatWriteback) nrImmediate += n;
      else {
        setFlag(id, PG_RECLAIM, true);
        nrWriteback += n;
      }
      setTarget(i, lru + 1);
      activated += n;
      continue;
    }
    // folio_check_references(): no ptes map it; PG_referenced is consumed.
    const referenced = testFlag(id, PG_REFERENCED);
    setFlag(id, PG_REFERENCED, false);
    const pfn = ownerGetPfn(id);
    if (longPins(pfn) != 0) {
      setTarget(i, lru + 1);
      activated += n;
      continue;
    }
    if (dirty) {
      if (!scKswapd || !testFlag(id, PG_RECLAIM) || !pgdatDirty) {
        setFlag(id, PG_RECLAIM, true);
        setTarget(i, lru + 1);
        activated += n;
        continue;
      }
      if (referenced) {
        setTarget(i, lru);
        continue;
      }
      // pageout() without ->writepage: PAGE_ACTIVATE.
      setTarget(i, lru + 1);
      activated += n;
      continue;
    }
    if (shortPins(pfn) != 0) {
      setTarget(i, lru);
      continue;
    }
    unchecked(isolated[i] = NONE);
    // 6.12 frees through a folio_batch, in reclaim order (free_unref_folios());
    // 6.1 gathers them on a list with list_add() and frees the newest first.
    if (kernelProfile == KERNEL_6_1) {
      deferredFree = pushTo(deferredFree, nrDeferred, forgetReclaimed(id));
      nrDeferred++;
    } else {
      freeReclaimed(id);
    }
    reclaimed += n;
  }
  for (let i = nrDeferred - 1; i >= 0; i--) freeUnrefPage(unchecked(deferredFree[i]), 0);
  if (activated != 0) countEvent(EV_PGACTIVATE, activated);
  return reclaimed;
}

// shrinkAnonFolio()'s verdicts
// @ts-ignore: decorator
@inline const ANON_ACTIVATE: i32 = 0;
// @ts-ignore: decorator
@inline const ANON_KEEP: i32 = 1;
// @ts-ignore: decorator
@inline const ANON_SWAP: i32 = 2;

/**
 * shrink_folio_list() for one anon folio (6.12), mapped by one pte:
 *   folio_check_references(): folio_referenced() tests and clears the pte's
 *     young bit, PG_referenced is tested and cleared; a young pte sets
 *     PG_referenced again and keeps the folio (FOLIOREF_KEEP), or activates it
 *     when PG_referenced was set too (FOLIOREF_ACTIVATE); an old pte: reclaim
 *   folio_maybe_dma_pinned() (long-term pins) → keep_locked
 *   a short-term pin → kept (simplified: see the header)
 *   large → activated (no split here)
 *   add_to_swap() without a free slot → activate_locked_split
 *   else swap_writepage() and the free (ANON_SWAP; the caller does both)
 */
function shrinkAnonFolio(id: i32, n: i32): i32 {
  const young = testFlag(id, PTE_YOUNG);
  setFlag(id, PTE_YOUNG, false);
  const referenced = testFlag(id, PG_REFERENCED);
  setFlag(id, PG_REFERENCED, false);
  if (young) {
    setFlag(id, PG_REFERENCED, true);
    return referenced ? ANON_ACTIVATE : ANON_KEEP;
  }
  const pfn = ownerGetPfn(id);
  if (longPins(pfn) != 0) return ANON_KEEP;
  if (shortPins(pfn) != 0) return ANON_KEEP;
  if (n > 1) return ANON_ACTIVATE;
  if (!canReclaimAnonPages()) return ANON_ACTIVATE;
  return ANON_SWAP;
}

/**
 * shrink_inactive_list(): isolate up to nr_to_scan pages, count the scan
 * (pgscan_kswapd/direct, pgscan_anon/file), reclaim, put the rest back, count
 * the steal, and note the cost (lru_note_cost()). Returns the pages reclaimed.
 */
function shrinkInactiveList(nrToScan: i32, lru: i32): i32 {
  const taken = isolateLruFolios(nrToScan, lru);
  const file = lru >= LRU_INACTIVE_FILE ? 1 : 0;
  const scanned = isoScanned;
  countEvent(scKswapd ? EV_PGSCAN_KSWAPD : EV_PGSCAN_DIRECT, scanned);
  countEvent(EV_PGSCAN_ANON + file, scanned);
  if (taken == 0) return 0;
  const reclaimed = shrinkFolioList();
  putbackIsolated();
  countEvent(scKswapd ? EV_PGSTEAL_KSWAPD : EV_PGSTEAL_DIRECT, reclaimed);
  countEvent(EV_PGSTEAL_ANON + file, reclaimed);
  // 6.12: IO weighs SWAP_CLUSTER_MAX, each page scanned but kept 1; 6.1: nr_pageout alone.
  // Only SCAN_FRACT reads the costs, and only with swap: without it they are not kept.
  if (canAgeAnonPages()) {
    const cost = kernelProfile == KERNEL_6_1 ? nrPageout : nrPageout * SWAP_CLUSTER_MAX + scanned - reclaimed;
    lruNoteCost(file != 0, cost, nodeLruPages(LRU_INACTIVE_ANON) + nodeLruPages(LRU_ACTIVE_ANON) +
      nodeLruPages(LRU_INACTIVE_FILE) + nodeLruPages(LRU_ACTIVE_FILE));
  }
  nrTaken += taken;
  if (file != 0) nrFileTaken += taken;
  return reclaimed;
}

/** shrink_list() */
function shrinkList(lru: i32, nrToScan: i32): i32 {
  if ((lru & 1) != 0) {
    const bit = lru >= LRU_INACTIVE_FILE ? DEACTIVATE_FILE : DEACTIVATE_ANON;
    if ((scMayDeactivate & bit) != 0) shrinkActiveList(nrToScan, lru);
    else scSkippedDeactivate = true;
    return 0;
  }
  return shrinkInactiveList(nrToScan, lru);
}

// ---- shrink_lruvec() -------------------------------------------------------------------------------

const nrScan: Int32Array = new Int32Array(NR_LRU_LISTS);
/** shrink_lruvec()'s targets[]: get_scan_count()'s answer. */
const scanTargets: Int32Array = new Int32Array(NR_LRU_LISTS);

// enum scan_balance
// @ts-ignore: decorator
@inline export const SCAN_EQUAL: i32 = 0;
// @ts-ignore: decorator
@inline export const SCAN_FRACT: i32 = 1;
// @ts-ignore: decorator
@inline export const SCAN_ANON: i32 = 2;
// @ts-ignore: decorator
@inline export const SCAN_FILE: i32 = 3;
/** The last get_scan_count()'s balance, and the last SCAN_FRACT's fractions (for tests through the engine). */
export let lastScanBalance: i32 = SCAN_FILE;
export let lastScanFractionAnon: f64 = 0;
export let lastScanFractionFile: f64 = 0;

/**
 * get_scan_count(): each list's size (zones up to reclaim_idx) >> priority,
 * shared out by the balance: SCAN_FILE without a free swap slot; SCAN_EQUAL at
 * priority 0 (unless swappiness is 0); SCAN_ANON when file_is_tiny; SCAN_FILE
 * in cache_trim_mode; else SCAN_FRACT: with total = anon_cost + file_cost,
 * a = total + anon_cost, f = total + file_cost, ap = swappiness * (a + f + 1) /
 * (a + 1), fp = (200 - swappiness) * (a + f + 1) / (f + 1), and each list's
 * scan * fraction / (ap + fp), all in integers.
 */
function getScanCount(): void {
  const swappiness = vmSwappiness;
  let balance = SCAN_FRACT;
  let ap: f64 = 0;
  let fp: f64 = 0;
  if (!canReclaimAnonPages()) balance = SCAN_FILE;
  else if (scPriority == 0 && swappiness != 0) balance = SCAN_EQUAL;
  else if (scFileIsTiny) balance = SCAN_ANON;
  else if (scCacheTrimMode) balance = SCAN_FILE;
  else {
    const totalCost = f64(scAnonCost) + f64(scFileCost);
    const anonCost = totalCost + f64(scAnonCost);
    const fileCost = totalCost + f64(scFileCost);
    const total = anonCost + fileCost;
    ap = Math.floor((f64(swappiness) * (total + 1)) / (anonCost + 1));
    fp = Math.floor((f64(MAX_SWAPPINESS - swappiness) * (total + 1)) / (fileCost + 1));
  }
  lastScanBalance = balance;
  if (balance == SCAN_FRACT) {
    lastScanFractionAnon = ap;
    lastScanFractionFile = fp;
  }
  for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
    const file = lru >= LRU_INACTIVE_FILE;
    let scan = lruvecLruSize(lru, scReclaimIdx) >> scPriority;
    if (balance == SCAN_FRACT) {
      scan = i32(Math.floor((f64(scan) * (file ? fp : ap)) / (ap + fp)));
    } else if (balance == SCAN_FILE || balance == SCAN_ANON) {
      if ((balance == SCAN_FILE) != file) scan = 0;
    }
    unchecked(nrScan[lru] = scan);
    unchecked(scanTargets[lru] = scan);
  }
}

/**
 * shrink_lruvec(): SWAP_CLUSTER_MAX bites off each list in turn until the scan
 * targets are met. Once nr_to_reclaim is reached (except direct reclaim at
 * DEF_PRIORITY, proportional_reclaim) it stops when a type has nothing left to
 * scan; else the smaller type stops and the larger one's targets shrink to the
 * share the smaller one had left. Then anon aging when swap is present.
 */
function shrinkLruvec(pageShift: i32): void {
  getScanCount();
  let reclaimed = 0;
  const proportional = !scKswapd && scPriority == DEF_PRIORITY;
  const toReclaim = scNrToReclaim;
  while (unchecked(nrScan[LRU_INACTIVE_ANON]) != 0 || unchecked(nrScan[LRU_ACTIVE_FILE]) != 0 ||
    unchecked(nrScan[LRU_INACTIVE_FILE]) != 0) {
    for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
      const left = unchecked(nrScan[lru]);
      if (left == 0) continue;
      const bite = left < SWAP_CLUSTER_MAX ? left : SWAP_CLUSTER_MAX;
      unchecked(nrScan[lru] = left - bite);
      reclaimed += shrinkList(lru, bite);
    }
    if (reclaimed < toReclaim || proportional) continue;
    const nrAnon = unchecked(nrScan[LRU_INACTIVE_ANON]) + unchecked(nrScan[LRU_ACTIVE_ANON]);
    const nrFile = unchecked(nrScan[LRU_INACTIVE_FILE]) + unchecked(nrScan[LRU_ACTIVE_FILE]);
    // "It's just vindictive to attack the larger once the smaller has gone to zero."
    if (nrAnon == 0 || nrFile == 0) break;
    let stop = LRU_INACTIVE_ANON;
    let percentage = 0;
    if (nrFile > nrAnon) {
      const target = unchecked(scanTargets[LRU_INACTIVE_ANON]) + unchecked(scanTargets[LRU_ACTIVE_ANON]) + 1;
      percentage = i32((f64(nrAnon) * 100) / f64(target));
    } else {
      const target = unchecked(scanTargets[LRU_INACTIVE_FILE]) + unchecked(scanTargets[LRU_ACTIVE_FILE]) + 1;
      stop = LRU_INACTIVE_FILE;
      percentage = i32((f64(nrFile) * 100) / f64(target));
    }
    unchecked(nrScan[stop] = 0);
    unchecked(nrScan[stop + 1] = 0);
    const other = stop == LRU_INACTIVE_FILE ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
    for (let lru = other; lru <= other + 1; lru++) {
      const target = unchecked(scanTargets[lru]);
      const scanned = target - unchecked(nrScan[lru]);
      let left = i32((f64(target) * f64(100 - percentage)) / 100);
      left -= scanned < left ? scanned : left;
      unchecked(nrScan[lru] = left);
    }
  }
  scNrReclaimed += reclaimed;
  // Even if the target is met, age the anon list: it keeps the active list honest.
  if (canAgeAnonPages() && inactiveIsLow(LRU_INACTIVE_ANON, pageShift)) {
    shrinkActiveList(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
  }
}

/** kswapd_age_node(): kswapd's anon aging at each priority, with swap and a low inactive anon list. */
export function kswapdAgeNode(pageShift: i32): void {
  if (!canAgeAnonPages()) return;
  if (!inactiveIsLow(LRU_INACTIVE_ANON, pageShift)) return;
  shrinkActiveList(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
}

/**
 * prepare_scan_control() (6.12): deactivate a type when its inactive list is low
 * (no workingset refaults are modelled) or when forced; cache_trim_mode when
 * the inactive file list has pages to scan at this priority and needs no
 * deactivation.
 */
function prepareScanControl(pageShift: i32): void {
  nrDirty = 0;
  nrUnqueuedDirty = 0;
  nrWriteback = 0;
  nrImmediate = 0;
  nrTaken = 0;
  nrFileTaken = 0;
  if (!scForceDeactivate) {
    scMayDeactivate = 0;
    if (inactiveIsLow(LRU_INACTIVE_ANON, pageShift)) scMayDeactivate |= DEACTIVATE_ANON;
    if (inactiveIsLow(LRU_INACTIVE_FILE, pageShift)) scMayDeactivate |= DEACTIVATE_FILE;
  } else {
    scMayDeactivate = DEACTIVATE_ANON | DEACTIVATE_FILE;
  }
  scAnonCost = lruAnonCost;
  scFileCost = lruFileCost;
  const file = nodeLruPages(LRU_INACTIVE_FILE);
  scCacheTrimMode = !scNoCacheTrimMode && (file >> scPriority) != 0 && (scMayDeactivate & DEACTIVATE_FILE) == 0;
  // file_is_tiny: the file LRU and the free pages together at most the high
  // watermarks, while the inactive anon list is not low and has pages to scan.
  let free = 0;
  let highWmark = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    free += unchecked(zoneFreePages[z]);
    if (zonePopulated(z)) highWmark += zoneWatermark(z, WMARK_HIGH);
  }
  const fileAll = file + nodeLruPages(LRU_ACTIVE_FILE);
  scFileIsTiny = fileAll + free <= highWmark && (scMayDeactivate & DEACTIVATE_ANON) == 0 &&
    (nodeLruPages(LRU_INACTIVE_ANON) >> scPriority) != 0;
}

/** in_reclaim_compaction() */
function inReclaimCompaction(): bool {
  return scOrder != 0 && (scOrder > PAGE_ALLOC_COSTLY_ORDER || scPriority < DEF_PRIORITY - 2);
}

/**
 * should_continue_reclaim(): reclaim for a compaction goes on while it makes
 * progress, no zone could compact or allocate yet, and the inactive file list
 * (and the inactive anon one while swap has room) holds more than
 * compact_gap(order) pages.
 */
function shouldContinueReclaim(nodeReclaimed: i32): bool {
  if (!inReclaimCompaction()) return false;
  if (nodeReclaimed == 0) return false;
  for (let z = 0; z <= scReclaimIdx; z++) {
    if (!zonePopulated(z)) continue;
    if (zoneWatermarkOk(z, scOrder, zoneWatermark(z, WMARK_MIN), scReclaimIdx, 0)) return false;
    const r = compactionSuitableResult(z, scOrder, scReclaimIdx);
    if (r == COMPACT_CONTINUE || r == COMPACT_SUCCESS) return false;
  }
  let inactive = nodeLruPages(LRU_INACTIVE_FILE);
  if (canReclaimAnonPages()) inactive += nodeLruPages(LRU_INACTIVE_ANON);
  return inactive > (2 << scOrder);
}

/**
 * shrink_node(): one pass over the node's lruvec, repeated while
 * should_continue_reclaim() says so. Progress resets kswapd_failures.
 */
export function shrinkNode(pageShift: i32): void {
  let nodeReclaimed = 0;
  do {
    const before = scNrReclaimed;
    prepareScanControl(pageShift);
    shrinkLruvec(pageShift);
    nodeReclaimed = scNrReclaimed - before;
    if (scKswapd) {
      // Tag the node when a whole batch was under writeback or dirty and unqueued.
      if (nrWriteback != 0 && nrWriteback == nrTaken) pgdatWriteback = true;
      if (nrUnqueuedDirty != 0 && nrUnqueuedDirty == nrFileTaken) pgdatDirty = true;
    }
  } while (shouldContinueReclaim(nodeReclaimed));
  if (nodeReclaimed != 0 || scNrReclaimed != 0) kswapdFailures = 0;
  else if (scCacheTrimMode) scCacheTrimModeFailed = true;
}

// ---- direct reclaim ------------------------------------------------------------------------------

/**
 * compaction_ready(): a costly request's zone could allocate already, or has
 * enough order-0 pages above high + compact_gap for compaction to work.
 */
function compactionReady(z: i32): bool {
  if (zoneWatermarkOk(z, scOrder, zoneWatermark(z, WMARK_MIN), scReclaimIdx, 0)) return true;
  const mark = zoneWatermark(z, WMARK_HIGH) + (2 << scOrder);
  return zoneWatermarkOk(z, 0, mark, scReclaimIdx, 0);
}

/**
 * shrink_zones(): for a costly order, zones already compaction-ready are passed
 * over (sc->compaction_ready); the node is shrunk once (one pgdat).
 */
function shrinkZones(pageShift: i32, canCompact: bool): void {
  let any = false;
  for (let z = scReclaimIdx; z >= 0; z--) {
    if (!zonePopulated(z)) continue;
    if (canCompact && scOrder > PAGE_ALLOC_COSTLY_ORDER && compactionReady(z)) {
      scCompactionReady = true;
      continue;
    }
    any = true;
  }
  if (any) shrinkNode(pageShift);
}

/**
 * try_to_free_pages() → do_try_to_free_pages(): nr_to_reclaim SWAP_CLUSTER_MAX,
 * priorities DEF_PRIORITY down to 0 until enough is reclaimed or compaction is
 * ready. A pass that reclaimed nothing is retried with memcg_full_walk (the
 * same pass here: no memcgs), then with force_deactivate when deactivation was
 * skipped; each pass counts allocstall_<reclaim_idx zone> again (6.12).
 * Returns did_some_progress (pages reclaimed, or 1 for compaction_ready).
 */
export function tryToFreePages(order: i32, reclaimIdx: i32, pageShift: i32, canCompact: bool): i32 {
  scInit(false, order, reclaimIdx, SWAP_CLUSTER_MAX);
  let fullWalk = false;
  for (;;) {
    countEvent(EV_ALLOCSTALL_DMA + (reclaimIdx < ZONE_MOVABLE ? reclaimIdx : ZONE_MOVABLE), 1);
    scPriority = DEF_PRIORITY;
    do {
      scNrScanned = 0;
      shrinkZones(pageShift, canCompact);
      if (scNrReclaimed >= scNrToReclaim) break;
      if (scCompactionReady) break;
    } while (--scPriority >= 0);
    if (scNrReclaimed != 0) return scNrReclaimed;
    if (scCompactionReady) return 1;
    // memcg_full_walk (v6.11): absent from 6.1.
    if (!fullWalk && kernelProfile != KERNEL_6_1) {
      fullWalk = true;
      continue;
    }
    if (scSkippedDeactivate) {
      scForceDeactivate = true;
      scSkippedDeactivate = false;
      continue;
    }
    return 0;
  }
  return 0;
}

// ---- unused-list helpers for drop_caches and the API ------------------------------------------------

/** Whether the owner's folio may be dropped by invalidate_mapping_pages(): clean, not under writeback, no extra reference. */
export function folioInvalidatable(id: i32): bool {
  if (testFlag(id, PG_DIRTY) || testFlag(id, PG_WRITEBACK)) return false;
  const pfn = ownerGetPfn(id);
  return shortPins(pfn) == 0 && longPins(pfn) == 0;
}

/** Frees a page cache folio taken out of its mapping (truncation, invalidation). */
export function freePageCacheFolio(id: i32): void {
  freeReclaimed(id);
}

/** The LRU list the folio is on (LRU_NONE off it), for the bindings. */
export function folioLru(id: i32): i32 {
  return lruOf(id);
}

// ---- alloc_contig_range()'s clean page cache --------------------------------------------------------

/**
 * reclaim_clean_pages_from_list() over alloc_contig_range()'s isolated batch
 * (`heads` with the lists they left in `lrus`, `len` of them): clean page cache
 * folios are dropped instead of migrated. Each is moved to a private list with
 * PG_active cleared, then shrink_folio_list() runs with ignore_references (no
 * folio_check_references()): a folio under writeback is tagged PG_reclaim and
 * activated, one with an extra reference is kept (__remove_mapping()'s freeze
 * fails; long-term pinned blocks are never in the batch), the rest are freed.
 * The kept ones are spliced back at the front of the batch (list_splice()).
 * No pgscan/pgsteal events: those are counted by shrink_inactive_list() only.
 * Rewrites the batch in place; returns its new length.
 */
export function reclaimCleanPagesFromList(heads: Int32Array, lrus: Int32Array, len: i32): i32 {
  let nrClean = 0;
  let activated = 0;
  let nrFreed = 0;
  if (cleanHeads.length < len) {
    cleanHeads = new Int32Array(len);
    cleanLrus = new Int32Array(len);
  }
  // Pass 1: the clean file folios move to the private list (the others keep their order).
  let kept = 0;
  for (let i = 0; i < len; i++) {
    const head = unchecked(heads[i]);
    const lru = unchecked(lrus[i]);
    const id = pageOwnerId(head);
    if (isFileFolio(id) && !testFlag(id, PG_DIRTY)) {
      unchecked(cleanHeads[nrClean] = head);
      unchecked(cleanLrus[nrClean++] = LRU_INACTIVE_FILE); // folio_clear_active()
    } else {
      unchecked(heads[kept] = head);
      unchecked(lrus[kept++] = lru);
    }
  }
  if (nrClean == 0) return len;
  // Pass 2: shrink_folio_list(); survivors stay on the private list in order.
  let survivors = 0;
  for (let i = 0; i < nrClean; i++) {
    const head = unchecked(cleanHeads[i]);
    const id = pageOwnerId(head);
    if (testFlag(id, PG_WRITEBACK)) {
      setFlag(id, PG_RECLAIM, true);
      activated += folioNrPages(id);
      unchecked(cleanHeads[survivors] = head);
      unchecked(cleanLrus[survivors++] = LRU_ACTIVE_FILE);
      continue;
    }
    if (shortPins(head) != 0) {
      unchecked(cleanHeads[survivors] = head);
      unchecked(cleanLrus[survivors++] = LRU_INACTIVE_FILE);
      continue;
    }
    // 6.12 frees in list order (free_unref_folios()); 6.1 newest first (free_unref_page_list()).
    if (kernelProfile == KERNEL_6_1) {
      deferredFree = pushTo(deferredFree, nrFreed, forgetReclaimed(id));
    } else {
      freeReclaimed(id);
    }
    nrFreed++;
  }
  if (kernelProfile == KERNEL_6_1) {
    for (let i = nrFreed - 1; i >= 0; i--) freeUnrefPage(unchecked(deferredFree[i]), 0);
  }
  if (activated != 0) countEvent(EV_PGACTIVATE, activated);
  // list_splice(&clean_folios, folio_list): the survivors go first.
  for (let i = kept - 1; i >= 0; i--) {
    unchecked(heads[i + survivors] = unchecked(heads[i]));
    unchecked(lrus[i + survivors] = unchecked(lrus[i]));
  }
  for (let i = 0; i < survivors; i++) {
    unchecked(heads[i] = unchecked(cleanHeads[i]));
    unchecked(lrus[i] = unchecked(cleanLrus[i]));
  }
  return kept + survivors;
}
let cleanHeads: Int32Array = new Int32Array(0);
let cleanLrus: Int32Array = new Int32Array(0);
