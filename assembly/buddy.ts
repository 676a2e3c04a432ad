// The buddy allocator (mm/page_alloc.c): free lists per order and migratetype,
// merging on free, splitting on allocation, fallback and pageblock stealing.
//
// Follows the kernel's rules as of v6.10+, where a free block always sits on
// the free list of its pageblock's migratetype (pageblock retypes move their free
// pages with them); the 6.1 and 6.18 profiles change a few rules (profile.ts), with zones, watermarks and lowmem reserves (zone.ts).
// Per-cpu page lists sit in front of these lists (pcp.ts: rmqueueZone() and
// freeUnrefPage() are the page allocator's entry and exit). Watermark boosting
// on fragmenting fallbacks is watermark-boost.ts (the hook is in
// steal_suitable_fallback() below), highatomic reserves and rmqueue_buddy()
// are highatomic.ts, kswapd is kswapd.ts and reclaim vmscan.ts. Not modelled:
// guard pages, page shuffling. The slow path (direct reclaim and compaction) is
// compaction.ts; the capture of its block happens here, in __free_one_page().
//
// Free lists are doubly linked through the head pages' link words, one set per
// zone:
//
//   freeHead[(zone * NR_ORDERS + order) * MIGRATE_TYPES + mt] ─► pfn ⇄ pfn ⇄ pfn ◄─ freeTail[...]
//                                                             (link0 = next, link1 = prev)

import {
  EV_ALLOC_FAIL, EV_EXTFRAG, EV_EXTFRAG_CLAIMED, EV_PGALLOC, EV_PGFREE, KIND_ALLOC, KIND_BUDDY, MAX_NR_ZONES,
  MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES, MIGRATE_UNMOVABLE, WMARK_LOW, WMARK_MIN, ZONE_NORMAL,
} from "./abi.ts";
import { NONE, migratetypeIsMergeable } from "./constants.ts";
import {
  clearHead, getOrder, isBuddy, maxOrder, nextBuddyHead, nrPages, pageKind, link0, link1, pageMt, pageOwnerId,
  pageblockNrPages, pageblockOrder, pageblockStartPfn, setAllocated, setBuddy, setLink0, setLink1,
} from "./memmap.ts";
import { dataPointer } from "./target.ts";
import { pcpNoteBelowHigh, rmqueueZone } from "./pcp.ts";
import { changePageblockRange, getPageblockMt, setPageblockMt } from "./pageblock.ts";
import { allocFailByOrder, countEvent, zonePgalloc } from "./vmevents.ts";
import { KERNEL_6_1, KERNEL_6_18 } from "./abi.ts";
import { kernelProfile, rmqueueFallback18, stealSuitableFallback61 } from "./profile.ts";
import {
  zoneBoost, zoneFreeCmaPages, zoneFreeHighatomicPages, zoneFreePages, zoneFreePagesBlocks, zoneLowmemReserve, zoneOf, zonePopulated,
  zoneWatermark, zoneWatermarkRaw, zonesMaxOrderAligned,
} from "./zone.ts";
import { boostOnFragmentingFallback } from "./watermark-boost.ts";
import { reserveHighatomicPageblock, unusableHighatomicPages } from "./highatomic.ts";

// alloc_flags (mm/internal.h) that the simulator uses.
// @ts-ignore: decorator
@inline export const ALLOC_CMA: i32 = 0x80;
// @ts-ignore: decorator
@inline export const ALLOC_NOFRAGMENT: i32 = 0x100;
/** __GFP_HIGH: half of the min reserve. */
// @ts-ignore: decorator
@inline export const ALLOC_MIN_RESERVE: i32 = 0x8;
/** Non-blocking (no __GFP_DIRECT_RECLAIM): with ALLOC_MIN_RESERVE a further quarter. */
// @ts-ignore: decorator
@inline export const ALLOC_NON_BLOCK: i32 = 0x40;
/** A high-order request that cannot block: may use and create MIGRATE_HIGHATOMIC reserves. */
// @ts-ignore: decorator
@inline export const ALLOC_HIGHATOMIC: i32 = 0x200;
/** ALLOC_RESERVES: rights to reserves below the min watermark (ALLOC_OOM is not modelled). */
// @ts-ignore: decorator
@inline export const ALLOC_RESERVES: i32 = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC;

let freeHead: Int32Array = new Int32Array(0);
let freeTail: Int32Array = new Int32Array(0);
/** free_area[order].free_list[mt] length per zone, in blocks. */
export let freeBlocks: Int32Array = new Int32Array(0);
// Their data addresses (WASM; see memmap.ts, pageFlagsBase).
let freeHeadBase: usize = 0;
let freeTailBase: usize = 0;
let freeBlocksBase: usize = 0;
/** The CMA-first balance rule of __rmqueue() (a policy knob for comparisons). */
export let cmaBalanceEnabled: bool = true;
/** ALLOC_NOFRAGMENT for Normal-zone requests in the fast path (a policy knob). */
export let noFragmentEnabled: bool = true;
/**
 * vm.defrag_mode (v6.15+, so the 6.18 profile only; default 0): ALLOC_NOFRAGMENT
 * on every allocation until reclaim and compaction have failed, kswapd and
 * kcompactd working towards whole free pageblocks.
 */
export let defragMode: bool = false;
/** The zone that served the last successful allocation. */
export let lastAllocZone: i32 = -1;
/**
 * steal_suitable_fallback()'s claim threshold: a fallback takes the whole
 * pageblock when free + alike pages reach it (the kernel: half a pageblock).
 * A policy knob for comparisons.
 */
export let claimThresholdPages: i32 = 256;

/** fallbacks[]: where each allocation type looks when its own lists are empty. */
// @ts-ignore: decorator
@inline function fallbackOf(mt: i32, i: i32): i32 {
  if (mt == MIGRATE_UNMOVABLE) return i == 0 ? MIGRATE_RECLAIMABLE : MIGRATE_MOVABLE;
  if (mt == MIGRATE_MOVABLE) return i == 0 ? MIGRATE_RECLAIMABLE : MIGRATE_UNMOVABLE;
  return i == 0 ? MIGRATE_UNMOVABLE : MIGRATE_MOVABLE; // reclaimable
}

// @ts-ignore: decorator
@inline export function listIndex(zone: i32, order: i32, mt: i32): i32 {
  return (zone * (maxOrder + 1) + order) * MIGRATE_TYPES + mt;
}

export function buddyInit(): void {
  const n = MAX_NR_ZONES * (maxOrder + 1) * MIGRATE_TYPES;
  freeHead = new Int32Array(n);
  freeTail = new Int32Array(n);
  freeBlocks = new Int32Array(n);
  freeHead.fill(NONE);
  freeTail.fill(NONE);
  freeHeadBase = dataPointer(freeHead);
  freeTailBase = dataPointer(freeTail);
  freeBlocksBase = dataPointer(freeBlocks);
  cmaBalanceEnabled = true;
  noFragmentEnabled = true;
  defragMode = false;
  lastAllocZone = -1;
  claimThresholdPages = 1 << (pageblockOrder - 1);
}

export function setClaimThreshold(pages: i32): void {
  claimThresholdPages = pages;
}

/** NR_FREE_PAGES summed over zones. */
export function nrFreePagesTotal(): i32 {
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) n += unchecked(zoneFreePages[z]);
  return n;
}

/** NR_FREE_CMA_PAGES summed over zones. */
export function nrFreeCmaPagesTotal(): i32 {
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) n += unchecked(zoneFreeCmaPages[z]);
  return n;
}

export function setCmaBalance(on: bool): void {
  cmaBalanceEnabled = on;
}

export function setNoFragment(on: bool): void {
  noFragmentEnabled = on;
}

/** vm.defrag_mode = on (the caller checks the profile and the range). */
export function setDefragModeValue(on: bool): void {
  defragMode = on;
}

// ---- free lists -------------------------------------------------------------------

// @ts-ignore: decorator
@inline function listHead(li: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return load<i32>(freeHeadBase + (usize(li) << 2));
  return unchecked(freeHead[li]);
}
// @ts-ignore: decorator
@inline function setListHead(li: i32, pfn: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<i32>(freeHeadBase + (usize(li) << 2), pfn);
  else unchecked(freeHead[li] = pfn);
}
// @ts-ignore: decorator
@inline function listTail(li: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return load<i32>(freeTailBase + (usize(li) << 2));
  return unchecked(freeTail[li]);
}
// @ts-ignore: decorator
@inline function setListTail(li: i32, pfn: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<i32>(freeTailBase + (usize(li) << 2), pfn);
  else unchecked(freeTail[li] = pfn);
}
// @ts-ignore: decorator
@inline function addListBlocks(li: i32, delta: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<i32>(freeBlocksBase + (usize(li) << 2), load<i32>(freeBlocksBase + (usize(li) << 2)) + delta);
  else unchecked(freeBlocks[li] += delta);
}

export function freeListHead(zone: i32, order: i32, mt: i32): i32 {
  return listHead(listIndex(zone, order, mt));
}

export function freeListTail(zone: i32, order: i32, mt: i32): i32 {
  return listTail(listIndex(zone, order, mt));
}

/**
 * Rotates free list (zone, order, mt) so that `newHead` comes first: the
 * blocks before it move behind the old tail in their order (list_cut_before()
 * + list_splice_tail(), as compaction's move_freelist_head()/_tail() do).
 */
export function rotateFreeList(zone: i32, order: i32, mt: i32, newHead: i32): void {
  const li = listIndex(zone, order, mt);
  const oldHead = listHead(li);
  if (newHead == NONE || newHead == oldHead) return;
  const oldTail = listTail(li);
  const newTail = link1(newHead);
  setLink0(oldTail, oldHead);
  setLink1(oldHead, oldTail);
  setLink1(newHead, NONE);
  setLink0(newTail, NONE);
  setListHead(li, newHead);
  setListTail(li, newTail);
}

/**
 * NR_FREE_PAGES_BLOCKS as a block of `order` joins (+1) or leaves (-1) list
 * `mt`: only blocks of pageblock order or more, and not on the isolate list.
 */
// @ts-ignore: decorator
@inline function accountFreeBlocksPages(zone: i32, order: i32, mt: i32, sign: i32): void {
  if (order >= pageblockOrder && mt != MIGRATE_ISOLATE) unchecked(zoneFreePagesBlocks[zone] += sign << order);
}

// @ts-ignore: decorator
@inline function addToFreeList(zone: i32, pfn: i32, order: i32, mt: i32, toTail: bool): void {
  accountFreeBlocksPages(zone, order, mt, 1); // __add_to_free_list()
  const li = listIndex(zone, order, mt);
  setBuddy(pfn, order, mt);
  if (toTail) {
    const tail = listTail(li);
    setLink0(pfn, NONE);
    setLink1(pfn, tail);
    if (tail == NONE) setListHead(li, pfn);
    else setLink0(tail, pfn);
    setListTail(li, pfn);
  } else {
    const head = listHead(li);
    setLink0(pfn, head);
    setLink1(pfn, NONE);
    if (head == NONE) setListTail(li, pfn);
    else setLink1(head, pfn);
    setListHead(li, pfn);
  }
  addListBlocks(li, 1);
}

/** list_del(): takes a free head off list `li`; its flags and links stay as they were. */
// @ts-ignore: decorator
@inline function unlinkFromFreeList(li: i32, pfn: i32): void {
  const next = link0(pfn);
  const prev = link1(pfn);
  if (prev == NONE) setListHead(li, next);
  else setLink0(prev, next);
  if (next == NONE) setListTail(li, prev);
  else setLink1(next, prev);
  addListBlocks(li, -1);
}

/** __del_page_from_free_list(): unlinks a free head (no accounting); the head becomes "none". */
// @ts-ignore: decorator
@inline export function delFromFreeList(zone: i32, pfn: i32): void {
  const order = getOrder(pfn);
  const mt = pageMt(pfn);
  accountFreeBlocksPages(zone, order, mt, -1);
  unlinkFromFreeList(listIndex(zone, order, mt), pfn);
  clearHead(pfn);
}

/** account_freepages(): isolated pages are not free memory. */
// @ts-ignore: decorator
@inline export function accountFreepages(zone: i32, nrPagesDelta: i32, mt: i32): void {
  if (mt == MIGRATE_ISOLATE) return;
  unchecked(zoneFreePages[zone] += nrPagesDelta);
  if (mt == MIGRATE_CMA) unchecked(zoneFreeCmaPages[zone] += nrPagesDelta);
  else if (mt == MIGRATE_HIGHATOMIC) unchecked(zoneFreeHighatomicPages[zone] += nrPagesDelta);
}

/** move_to_free_list(): list_move_tail onto another migratetype's list. */
// @ts-ignore: decorator
@inline export function moveToFreeList(zone: i32, pfn: i32, order: i32, newMt: i32): void {
  const oldMt = pageMt(pfn);
  // list_move_tail(): the head is relinked, never cleared in between. (The
  // -1/+1 of NR_FREE_PAGES_BLOCKS cancel unless the isolate list is involved.)
  accountFreeBlocksPages(zone, order, oldMt, -1);
  unlinkFromFreeList(listIndex(zone, order, oldMt), pfn);
  addToFreeList(zone, pfn, order, newMt, true);
  accountFreepages(zone, -(1 << order), oldMt);
  accountFreepages(zone, 1 << order, newMt);
}

// ---- capture (struct capture_control) ---------------------------------------------
// While direct compaction runs for a request of `order`, a block of exactly that
// order freed in its zone (a migrated page's old frame merging with its
// buddies, or unused isolated free pages going back) is handed straight to the
// request instead of to the free lists, so no one else can take it first.

/** Set by compaction.ts for the length of one compact_zone() of a direct compaction. */
export let captureArmed: bool = false;
let captureZone: i32 = -1;
let captureOrder: i32 = -1;
let captureMt: i32 = 0;
/** The captured block's head (allocated, no owner), or NONE. */
export let capturedPfn: i32 = NONE;

export function armCapture(zone: i32, order: i32, mt: i32): void {
  captureArmed = true;
  captureZone = zone;
  captureOrder = order;
  captureMt = mt;
  capturedPfn = NONE;
}

/** Ends the capture window; returns the captured head or NONE. */
export function disarmCapture(): i32 {
  captureArmed = false;
  return capturedPfn;
}

/** compaction_capture(): true when the block of `order` at `pfn` (type `mt`) was taken. */
function compactionCapture(zone: i32, pfn: i32, order: i32, mt: i32): bool {
  if (zone != captureZone || order != captureOrder) return false;
  // Do not pollute CMA or isolated pageblocks.
  if (mt == MIGRATE_CMA || mt == MIGRATE_ISOLATE) return false;
  // A small unmovable or reclaimable request may not take a piece of a movable pageblock.
  if (order < pageblockOrder && mt == MIGRATE_MOVABLE && captureMt != MIGRATE_MOVABLE) return false;
  // (A capture of another type's block fires no mm_page_alloc_extfrag in 6.12;
  // the tracepoint came later.)
  setAllocated(pfn, order, captureMt);
  capturedPfn = pfn;
  captureArmed = false; // task_capc(): one page per capture
  return true;
}

/**
 * find_suitable_fallback(area, order, mt, only_stealable = true) >= 0: some
 * fallback list of `order` holds a block and the request could claim from it.
 */
export function stealableFallbackExists(zone: i32, order: i32, mt: i32): bool {
  if (mt >= MIGRATE_PCPTYPES) return false;
  for (let i = 0; i < 2; i++) {
    if (listHead(listIndex(zone, order, fallbackOf(mt, i))) != NONE && canStealFallback(order, mt)) return true;
  }
  return false;
}

// ---- freeing ------------------------------------------------------------------------

/** find_buddy_page_pfn(): the free buddy of `pfn` at `order`, or NONE. */
// @ts-ignore: decorator
@inline export function findBuddyPfn(pfn: i32, order: i32): i32 {
  const buddy = pfn ^ (1 << order);
  if (buddy >= nrPages) return NONE;
  if (!isBuddy(buddy) || getOrder(buddy) != order) return NONE;
  // page_is_buddy(): same zone (only checked when a zone boundary can split a buddy pair).
  if (!zonesMaxOrderAligned && zoneOf(buddy) != zoneOf(pfn)) return NONE;
  return buddy;
}

/** buddy_merge_likely(): queue at the tail when the next-higher buddy is free, so the block may merge soon. */
// @ts-ignore: decorator
@inline function buddyMergeLikely(pfn: i32, order: i32): bool {
  if (order >= maxOrder - 1) return false;
  const higher = pfn & ~(1 << order);
  return findBuddyPfn(higher, order + 1) != NONE;
}

/**
 * __free_one_page(): accounts a block of `order` at `pfn` as free on list `mt` and
 * merges it with free buddies as far as the rules allow.
 */
// @ts-ignore: decorator
@inline export function freeOneBlock(pfn: i32, order: i32, mt: i32, toTail: bool): void {
  const zone = zoneOf(pfn);
  accountFreepages(zone, 1 << order, mt);
  while (order < maxOrder) {
    // compaction_capture(): direct compaction takes the block it was waiting for.
    if (captureArmed && compactionCapture(zone, pfn, order, mt)) {
      accountFreepages(zone, -(1 << order), mt);
      return;
    }
    const buddy = findBuddyPfn(pfn, order);
    if (buddy == NONE) break;
    if (order >= pageblockOrder) {
      // No merging between a pageblock without fallbacks (CMA, HighAtomic,
      // Isolate) and a different type: it would corrupt their accounting.
      const buddyMt = getPageblockMt(buddy);
      if (mt != buddyMt && (!migratetypeIsMergeable(mt) || !migratetypeIsMergeable(buddyMt))) break;
      // Match the buddy's type so that later splits put halves on the right lists.
      // (The kernel retypes only the buddy's first pageblock; retyping all it
      // spans keeps every free block on its pageblocks' list when maxOrder is
      // two or more above pageblockOrder. Identical at the default 10/9.)
      // (6.1 does not retype: a free block may sit on another type's list.)
      if (buddyMt != mt && kernelProfile != KERNEL_6_1) changePageblockRange(buddy, order, mt);
    }
    // 6.1: the buddy may sit on another type's list; its pages change lists.
    if (kernelProfile == KERNEL_6_1) reaccountMerged(zone, buddy, order, mt);
    delFromFreeList(zone, buddy);
    pfn &= buddy;
    order++;
  }
  addToFreeList(zone, pfn, order, mt, toTail || buddyMergeLikely(pfn, order));
}

/**
 * __free_pages_ok() / free_one_page(): frees a block to the lists of its
 * pageblocks' types (v6.12+: a block larger than a pageblock goes back piece by
 * piece, so an isolated or CMA pageblock never feeds another type's list).
 */
// @ts-ignore: decorator
@inline export function freeBlock(pfn: i32, order: i32, toTail: bool): void {
  clearHead(pfn);
  countEvent(EV_PGFREE, 1 << order);
  // 6.1 free_one_page(): the whole block to its first pageblock's type.
  if (kernelProfile == KERNEL_6_1) freeOneBlock(pfn, order, getPageblockMt(pfn), toTail);
  else splitLargeBuddy(pfn, order, toTail);
}

/** A buddy merged away from list `buddyMt` into a block of `mt`: its pages are accounted to `mt` now. */
function reaccountMerged(zone: i32, buddy: i32, order: i32, mt: i32): void {
  const buddyMt = pageMt(buddy);
  if (buddyMt == mt) return;
  accountFreepages(zone, -(1 << order), buddyMt);
  accountFreepages(zone, 1 << order, mt);
}

// ---- allocation -------------------------------------------------------------------------

/** expand(): returns the upper halves of a split block to the free lists; pages re-added. */
// @ts-ignore: decorator
@inline export function expand(zone: i32, pfn: i32, low: i32, high: i32, mt: i32): i32 {
  let size = 1 << high;
  let added = 0;
  while (high > low) {
    high--;
    size >>= 1;
    addToFreeList(zone, pfn + size, high, mt, false);
    added += size;
  }
  return added;
}

/** page_del_and_expand() */
// @ts-ignore: decorator
@inline export function pageDelAndExpand(zone: i32, pfn: i32, low: i32, high: i32, mt: i32): void {
  delFromFreeList(zone, pfn);
  const added = expand(zone, pfn, low, high, mt);
  accountFreepages(zone, added - (1 << high), mt);
}

/** __rmqueue_smallest(): the smallest free block of `mt` that fits, split down to `order`. */
export function rmqueueSmallest(zone: i32, order: i32, mt: i32): i32 {
  for (let o = order; o <= maxOrder; o++) {
    const pfn = listHead(listIndex(zone, o, mt));
    if (pfn == NONE) continue;
    pageDelAndExpand(zone, pfn, order, o, mt);
    return pfn;
  }
  return NONE;
}

/** can_steal_fallback() */
// @ts-ignore: decorator
@inline function canStealFallback(order: i32, startMt: i32): bool {
  if (order >= pageblockOrder) return true;
  return order >= (pageblockOrder >> 1) || startMt == MIGRATE_RECLAIMABLE || startMt == MIGRATE_UNMOVABLE;
}

/** find_suitable_fallback() without only_stealable: the first fallback type with a free block at `order`, or NONE. */
export function findSuitableFallback(zone: i32, order: i32, startMt: i32): i32 {
  for (let i = 0; i < 2; i++) {
    const mt = fallbackOf(startMt, i);
    if (listHead(listIndex(zone, order, mt)) != NONE) return mt;
  }
  return NONE;
}

/**
 * steal_suitable_fallback()'s claim test for a pageblock of `blockMt` with
 * `free` free and `movable` movable pages: free pages plus those alike to
 * `startMt` (movable ones for a movable request; for another request the
 * non-free, non-movable ones of a movable block) reach claimThresholdPages.
 */
export function claimThresholdReached(free: i32, movable: i32, startMt: i32, blockMt: i32): bool {
  let alike = 0;
  if (startMt == MIGRATE_MOVABLE) alike = movable;
  else if (blockMt == MIGRATE_MOVABLE) alike = pageblockNrPages - (free + movable);
  return free + alike >= claimThresholdPages;
}

/** Free and movable pages in the pageblock of `pfn` (prep_move_freepages_block()). Movable is returned through `lastMovable`. */
export let lastMovable: i32 = 0;
export function countBlockPages(pfn: i32): i32 {
  const start = pageblockStartPfn(pfn);
  const end = start + pageblockNrPages;
  let free = 0;
  let movable = 0;
  let p = start;
  while (p < end) {
    const kind = pageKind(p);
    if (kind == KIND_BUDDY) {
      const n = 1 << getOrder(p);
      free += n;
      p += n;
    } else if (kind == KIND_ALLOC) {
      const n = 1 << getOrder(p);
      // Owned pages are the LRU/movable ones migration could move.
      if (pageOwnerId(p) != NONE) movable += n;
      p += n;
    } else {
      p++;
    }
  }
  lastMovable = movable;
  return free;
}

/** __move_freepages_block(): moves the block's free pages to `newMt` and retypes it; returns pages moved. */
export function moveFreepagesBlock(pfn: i32, newMt: i32): i32 {
  const start = pageblockStartPfn(pfn);
  const end = start + pageblockNrPages;
  const zone = zoneOf(start);
  let moved = 0;
  let p = nextBuddyHead(start, end);
  while (p < end) {
    const order = getOrder(p);
    moveToFreeList(zone, p, order, newMt);
    moved += 1 << order;
    p = nextBuddyHead(p + (1 << order), end);
  }
  setPageblockMt(start, newMt);
  return moved;
}

/**
 * steal_suitable_fallback(): takes the fallback block at `pfn` (order `curOrder`) for
 * an allocation of `order` and type `startMt`, claiming its whole pageblock when
 * enough of it is free or alike.
 */
function stealSuitableFallback(zone: i32, pfn: i32, curOrder: i32, order: i32, startMt: i32, wholeBlock: bool): i32 {
  if (kernelProfile == KERNEL_6_1) return stealSuitableFallback61(zone, pfn, curOrder, order, startMt, wholeBlock);
  const blockMt = getPageblockMt(pfn);
  if (blockMt != MIGRATE_HIGHATOMIC) {
    if (curOrder >= pageblockOrder) {
      // Take ownership of every pageblock the block spans.
      delFromFreeList(zone, pfn);
      accountFreepages(zone, -(1 << curOrder), blockMt);
      changePageblockRange(pfn, curOrder, startMt);
      const added = expand(zone, pfn, order, curOrder, startMt);
      accountFreepages(zone, added, startMt);
      countEvent(EV_EXTFRAG_CLAIMED, 1);
      return pfn;
    }
    // boost_watermark(): reclaim harder so that fewer fallbacks follow.
    boostOnFragmentingFallback(zone);
    if (wholeBlock) {
      const free = countBlockPages(pfn);
      const movable = lastMovable;
      if (claimThresholdReached(free, movable, startMt, blockMt)) {
        moveFreepagesBlock(pfn, startMt);
        countEvent(EV_EXTFRAG_CLAIMED, 1);
        return rmqueueSmallest(zone, order, startMt);
      }
    }
  }
  pageDelAndExpand(zone, pfn, order, curOrder, blockMt);
  return pfn;
}

/**
 * __rmqueue_fallback(): steal from another type, largest block first (smallest
 * for movable that cannot claim). With ALLOC_NOFRAGMENT only whole pageblocks.
 */
function rmqueueFallback(zone: i32, order: i32, startMt: i32, allocFlags: i32): i32 {
  let cur = maxOrder;
  let fallbackMt = NONE;
  let canSteal = false;
  let found = false;
  const minOrder = order < pageblockOrder && (allocFlags & ALLOC_NOFRAGMENT) != 0 ? pageblockOrder : order;
  for (; cur >= minOrder; cur--) {
    fallbackMt = findSuitableFallback(zone, cur, startMt);
    if (fallbackMt == NONE) continue;
    canSteal = canStealFallback(cur, startMt);
    // A movable request that cannot claim the block splits the smallest block:
    // the damage to the other type's pageblock stays small.
    if (!canSteal && startMt == MIGRATE_MOVABLE && cur > order) {
      for (cur = order; cur <= maxOrder; cur++) {
        fallbackMt = findSuitableFallback(zone, cur, startMt);
        if (fallbackMt != NONE) break;
      }
      canSteal = canStealFallback(cur, startMt);
    }
    found = true;
    break;
  }
  if (!found) return NONE;
  const pfn = listHead(listIndex(zone, cur, fallbackMt));
  countEvent(EV_EXTFRAG, 1);
  return stealSuitableFallback(zone, pfn, cur, order, startMt, canSteal);
}

/** __rmqueue(): ALLOC_CMA in `allocFlags` for movable requests not pinned long-term. */
// @ts-ignore: decorator
@inline export function rmqueue(zone: i32, order: i32, mt: i32, allocFlags: i32): i32 {
  let pfn = NONE;
  const allocCma = (allocFlags & ALLOC_CMA) != 0;
  // Balance movable allocations between regular and CMA areas: use CMA first
  // when more than half of the zone's free memory is in CMA pageblocks.
  if (allocCma && cmaBalanceEnabled && unchecked(zoneFreeCmaPages[zone]) > i32(unchecked(zoneFreePages[zone]) / 2)) {
    pfn = rmqueueSmallest(zone, order, MIGRATE_CMA);
    if (pfn != NONE) return pfn;
  }
  pfn = rmqueueSmallest(zone, order, mt);
  if (pfn == NONE) {
    if (allocCma) pfn = rmqueueSmallest(zone, order, MIGRATE_CMA);
    if (pfn == NONE) {
      pfn = kernelProfile == KERNEL_6_18 ? rmqueueFallback18(zone, order, mt, allocFlags) : rmqueueFallback(zone, order, mt, allocFlags);
    }
  }
  return pfn;
}

/**
 * __zone_watermark_ok(): would `zone` stay above `mark` (plus the lowmem reserve
 * kept from requests that could have used `highestZone`) after this allocation,
 * and does it hold a block of the order the request can use?
 */
// @ts-ignore: decorator
@inline export function zoneWatermarkOk(zone: i32, order: i32, mark: i32, highestZone: i32, allocFlags: i32): bool {
  return zoneWatermarkOkFree(zone, order, mark, highestZone, allocFlags, unchecked(zoneFreePages[zone]));
}

/** __zone_watermark_ok() with the free page count given (should_reclaim_retry()'s "available"). */
// @ts-ignore: decorator
@inline export function zoneWatermarkOkFree(
  zone: i32, order: i32, mark: i32, highestZone: i32, allocFlags: i32, freePages: i32,
): bool {
  let free = freePages - ((1 << order) - 1);
  // The highatomic reserve is not free memory for a request without reserve rights.
  if ((allocFlags & ALLOC_RESERVES) == 0) free -= unusableHighatomicPages(zone);
  // Free CMA pages are no use to a request that may not take them.
  if ((allocFlags & ALLOC_CMA) == 0) free -= unchecked(zoneFreeCmaPages[zone]);
  let min = mark;
  if ((allocFlags & ALLOC_MIN_RESERVE) != 0) {
    min -= i32(min / 2);
    if ((allocFlags & ALLOC_NON_BLOCK) != 0) min -= i32(min / 4);
  }
  if (free <= min + zoneLowmemReserve(zone, highestZone)) return false;
  if (order == 0) return true;
  for (let o = order; o <= maxOrder; o++) {
    for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
      if (listHead(listIndex(zone, o, mt)) != NONE) return true;
    }
    if ((allocFlags & ALLOC_CMA) != 0 && listHead(listIndex(zone, o, MIGRATE_CMA)) != NONE) return true;
    if ((allocFlags & ALLOC_HIGHATOMIC) != 0 && listHead(listIndex(zone, o, MIGRATE_HIGHATOMIC)) != NONE) return true;
  }
  return false;
}

/**
 * zone_watermark_fast(): __zone_watermark_ok() at watermark `which` (boost
 * included), and for an order-0 __GFP_HIGH request at the min watermark a
 * second try without the boost: the min watermark is where boosting stops
 * counting, so that kswapd is woken below low instead.
 */
// @ts-ignore: decorator
@inline export function zoneWatermarkFast(zone: i32, order: i32, which: i32, highestZone: i32, allocFlags: i32): bool {
  if (zoneWatermarkOk(zone, order, zoneWatermark(zone, which), highestZone, allocFlags)) return true;
  if (order == 0 && (allocFlags & ALLOC_MIN_RESERVE) != 0 && unchecked(zoneBoost[zone]) != 0 && which == WMARK_MIN) {
    return zoneWatermarkOk(zone, 0, zoneWatermarkRaw(zone, WMARK_MIN), highestZone, allocFlags);
  }
  return false;
}

/**
 * get_page_from_freelist(): walks the zonelist from `highestZone` down, taking
 * the first zone that passes watermark `which`. With ALLOC_NOFRAGMENT, a pass
 * that finds nothing is retried without it, as on a UMA machine, except under
 * vm.defrag_mode ("no_fallback && !defrag_mode"): then only the slow path's
 * last resort drops it (compaction.ts, slowpathRetryLoop()).
 */
export function getPageFromFreelist(order: i32, mt: i32, highestZone: i32, allocFlags: i32, which: i32): i32 {
  for (;;) {
    for (let z = highestZone; z >= 0; z--) {
      if (!zonePopulated(z)) continue;
      pcpNoteBelowHigh(z, order, highestZone, allocFlags); // ZONE_BELOW_HIGH (pcp.ts)
      if (!zoneWatermarkFast(z, order, which, highestZone, allocFlags)) continue;
      const pfn = rmqueueZone(z, order, mt, allocFlags); // rmqueue(): pcp list, else rmqueue_buddy()
      if (pfn != NONE) {
        lastAllocZone = z;
        // A high-order atomic request: keep its pageblock for the next ones.
        if ((allocFlags & ALLOC_HIGHATOMIC) != 0) reserveHighatomicPageblock(pfn, order, z);
        return pfn;
      }
    }
    if ((allocFlags & ALLOC_NOFRAGMENT) == 0 || defragMode) break;
    allocFlags &= ~ALLOC_NOFRAGMENT;
  }
  return NONE;
}

/**
 * The fast path alone: get_page_from_freelist() at the low watermark (the slow
 * path wakes kswapd after it), with alloc_flags_nofragment(): ALLOC_NOFRAGMENT
 * when the preferred zone is Normal, or for every request under vm.defrag_mode
 * (which returns before the zone test, so the allocNoFragment knob does not
 * turn it off).
 */
export function getPageFast(order: i32, mt: i32, highestZone: i32, allocFlags: i32): i32 {
  let preferred = highestZone;
  while (preferred >= 0 && !zonePopulated(preferred)) preferred--;
  if (preferred < 0) return NONE;
  const baseFlags = allocFlags & ALLOC_CMA;
  const noFragment = defragMode || (preferred == ZONE_NORMAL && noFragmentEnabled);
  const fastFlags = baseFlags | (noFragment ? ALLOC_NOFRAGMENT : 0);
  return getPageFromFreelist(order, mt, highestZone, fastFlags, WMARK_LOW);
}

/** prep_new_page() for a block rmqueue() handed out: marks the head allocated, counts pgalloc. */
// @ts-ignore: decorator
@inline export function prepNewPage(pfn: i32, order: i32, mt: i32): void {
  setAllocated(pfn, order, mt);
  countEvent(EV_PGALLOC, 1 << order);
  unchecked(zonePgalloc[lastAllocZone] += f64(1 << order));
}

/** An allocation that returns NULL. */
export function countAllocFail(order: i32): void {
  countEvent(EV_ALLOC_FAIL, 1);
  unchecked(allocFailByOrder[order] += 1.0);
}

/** Records the zone of a block handed out outside rmqueue() (a captured block). */
export function setLastAllocZone(zone: i32): void {
  lastAllocZone = zone;
}

/**
 * The free block covering `pfn` (walking up the orders, as find_large_buddy()
 * does), or NONE when `pfn` is allocated.
 */
export function findBuddyHead(pfn: i32): i32 {
  for (let order = 0; order <= maxOrder; order++) {
    const head = pfn & ~((1 << order) - 1);
    const kind = pageKind(head);
    if (kind != 0) {
      if (getOrder(head) < order) return NONE;
      return kind == KIND_BUDDY ? head : NONE;
    }
  }
  return NONE;
}

/** The head (free or allocated) of the block covering `pfn`, or NONE. */
export function findBlockHead(pfn: i32): i32 {
  for (let order = 0; order <= maxOrder; order++) {
    const head = pfn & ~((1 << order) - 1);
    if (pageKind(head) != 0) return getOrder(head) >= order ? head : NONE;
  }
  return NONE;
}

/** Takes one free block off its list whole (__isolate_free_page() without watermarks). */
export function takeFreeBlock(pfn: i32): void {
  const order = getOrder(pfn);
  const mt = pageMt(pfn);
  const zone = zoneOf(pfn);
  delFromFreeList(zone, pfn);
  accountFreepages(zone, -(1 << order), mt);
}

/**
 * split_large_buddy(): frees a block taken off the lists in pageblock-sized
 * pieces, each to its own pageblock's list.
 */
// @ts-ignore: decorator
@inline export function splitLargeBuddy(pfn: i32, order: i32, toTail: bool): void {
  const end = pfn + (1 << order);
  const step = order > pageblockOrder ? pageblockOrder : order;
  while (pfn != end) {
    freeOneBlock(pfn, step, getPageblockMt(pfn), toTail);
    pfn += 1 << step;
  }
}

/** Frees `count` order-0-allocated pages from `pfn` (free_contig_range()). */
export function freePageRange(pfn: i32, count: i32): void {
  const end = pfn + count;
  for (let p = pfn; p < end; p++) freeBlock(p, 0, false);
}

/**
 * Puts a free block on the head (or tail) of list `mt` with its pages accounted,
 * without merging: the step expand() and break_down_buddy_pages() take for each
 * split-off half (claim.ts).
 */
export function addFreeBlockNoMerge(pfn: i32, order: i32, mt: i32, toTail: bool): void {
  const zone = zoneOf(pfn);
  addToFreeList(zone, pfn, order, mt, toTail);
  accountFreepages(zone, 1 << order, mt);
}
