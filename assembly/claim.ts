// Primitives for replaying a real kernel's choices (the twin, bindings/lab/twin/):
// take a named free block out of the buddy lists, give a named held block
// back, say which block __rmqueue() would hand out without taking it, and
// retype a pageblock as a traced steal did.
//
// "Held" is anything outside the buddy lists: in use, or on a per-cpu list
// (which the engine does not model; the twin keeps such pages held).

import {
  EBUSY, EINVAL, ENOMEM, KIND_ALLOC, KIND_BUDDY, MAX_NR_ZONES, MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE,
  MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_TYPES, MIGRATE_UNMOVABLE,
} from "./abi.ts";
import { NONE } from "./constants.ts";
import {
  addFreeBlockNoMerge, cmaBalanceEnabled, claimThresholdReached, countBlockPages, findBlockHead, findBuddyHead, freeBlock,
  freeListHead, lastMovable,
  moveFreepagesBlock, rmqueue, takeFreeBlock, ALLOC_CMA,
} from "./buddy.ts";
import {
  clearHead, getOrder, maxOrder, nrPages, pageIsCmaAlloc, pageIsReserved, pageKind, pageMt, pageOwnerId,
  pageblockNrPages, pageblockOrder, pageblockStartPfn, setAllocated, setPageOwnerId, shortPins, longPins,
} from "./memmap.ts";
import { ownerCreate, ownerDestroy } from "./owner.ts";
import { lruAddAnon, lruForget } from "./lru.ts";
import { changePageblockRange, getPageblockMt } from "./pageblock.ts";
import { zoneFreeCmaPages, zoneFreePages, zonePopulated } from "./zone.ts";
import { KERNEL_6_1, KERNEL_6_18 } from "./abi.ts";
import { kernelProfile, moveFreepagesOnly, shouldTryClaimBlock } from "./profile.ts";
import { countEvent } from "./vmevents.ts";
import { EV_PGFREE } from "./abi.ts";
import { freeOneBlock, moveToFreeList } from "./buddy.ts";
import { zoneOf } from "./zone.ts";

// @ts-ignore: decorator
@inline function blockArgsValid(pfn: i32, order: i32): bool {
  if (order < 0 || order > maxOrder || pfn < 0) return false;
  return (pfn & ((1 << order) - 1)) == 0 && pfn + (1 << order) <= nrPages;
}

/** Marks `pfn` an allocation of `order` asked as `mt`; movable ones get an owner (so stealing counts them alike). */
function markHeld(pfn: i32, order: i32, mt: i32, owned: bool): void {
  setAllocated(pfn, order, mt);
  if (owned) {
    const id = ownerCreate(pfn);
    setPageOwnerId(pfn, id);
    lruAddAnon(id, pfn, order); // an anonymous folio on the inactive anon list (lru.ts)
  }
}

/**
 * take_page_off_buddy(): takes the free block [pfn, pfn + 2^order) out of the
 * buddy lists and marks it allocated as `mt` (with an owner when `owned`). A
 * larger free block around it is split as expand() / break_down_buddy_pages()
 * split: each half that misses the range goes to the head of its list. Several
 * free blocks inside the range are all taken. Returns 0, -EBUSY (some page of
 * the range is not free; nothing changed) or -EINVAL.
 */
export function claimBlock(pfn: i32, order: i32, mt: i32, owned: bool): i32 {
  if (!blockArgsValid(pfn, order) || mt < 0 || mt >= MIGRATE_TYPES) return -EINVAL;
  const end = pfn + (1 << order);
  let p = pfn;
  while (p < end) {
    const head = findBuddyHead(p);
    if (head == NONE) return -EBUSY;
    p = head + (1 << getOrder(head));
  }
  p = pfn;
  while (p < end) {
    const head = findBuddyHead(p);
    const headOrder = getOrder(head);
    const listMt = pageMt(head);
    takeFreeBlock(head);
    if (head > pfn || headOrder <= order) {
      p = head + (1 << headOrder); // wholly inside the range
      continue;
    }
    // The block covers the range: give back the halves that miss it, high to low.
    splitAround(head, headOrder, pfn, order, listMt, false, false);
    p = end;
  }
  markHeld(pfn, order, mt, owned);
  return 0;
}

/**
 * Frees the held block [pfn, pfn + 2^order) whatever allocations make it up:
 * smaller allocations inside it are freed whole; a larger allocation around it
 * is first split (as split_page() would), its other parts staying held with
 * the same type. The pages go back through __free_one_page() (merging, tail
 * placement when a merge is likely). Returns 0, -EBUSY (a page is free,
 * reserved, CMA-allocated or pinned; nothing changed) or -EINVAL.
 *
 * `listMt` >= 0: the migratetype the free carries (6.1 free_pcppages_bulk()'s
 * get_pcppage_migratetype()); under the 6.1 profile the block goes to that
 * list (an isolated pageblock's to the isolate list), under later profiles it
 * is ignored (they free to the pageblock's type). -1: the pageblock's type.
 */
export function releaseBlock(pfn: i32, order: i32, listMt: i32): i32 {
  if (!blockArgsValid(pfn, order) || listMt < -1 || listMt > MIGRATE_RECLAIMABLE) return -EINVAL;
  const end = pfn + (1 << order);
  let p = pfn;
  while (p < end) {
    const head = findBlockHead(p);
    if (head == NONE || pageKind(head) != KIND_ALLOC) return -EBUSY;
    if (pageIsReserved(head) || pageIsCmaAlloc(head) || shortPins(head) != 0 || longPins(head) != 0) return -EBUSY;
    p = head + (1 << getOrder(head));
  }
  p = pfn;
  while (p < end) {
    const head = findBlockHead(p);
    const headOrder = getOrder(head);
    if (head < pfn || headOrder > order) {
      splitHeld(head, headOrder, pfn, order);
      freeHeld(pfn, order, listMt);
      return 0;
    }
    freeHeld(head, headOrder, listMt);
    p = head + (1 << headOrder);
  }
  return 0;
}

function freeHeld(pfn: i32, order: i32, listMt: i32): void {
  const id = pageOwnerId(pfn);
  if (id != NONE) {
    lruForget(id);
    ownerDestroy(id);
  }
  if (listMt >= 0 && kernelProfile == KERNEL_6_1) {
    // free_pcppages_bulk(): mt = get_pcppage_migratetype(page), or the
    // pageblock's when it is isolated; __free_one_page(page, pfn, zone, order, mt).
    clearHead(pfn);
    countEvent(EV_PGFREE, 1 << order);
    const blockMt = getPageblockMt(pfn);
    freeOneBlock(pfn, order, blockMt == MIGRATE_ISOLATE ? blockMt : listMt, false);
    return;
  }
  freeBlock(pfn, order, false);
}

/** Splits the allocation at `head` so that [pfn, pfn + 2^order) is an allocation of its own. */
function splitHeld(head: i32, headOrder: i32, pfn: i32, order: i32): void {
  const mt = pageMt(head);
  const id = pageOwnerId(head);
  const owned = id != NONE;
  if (owned) {
    lruForget(id);
    ownerDestroy(id);
  }
  clearHead(head);
  splitAround(head, headOrder, pfn, order, mt, true, owned);
  markHeld(pfn, order, mt, false);
}

/**
 * Halves the block [head, head + 2^headOrder) down to `order` around `pfn`,
 * high to low, as expand() and split_page() do; each half that misses `pfn`
 * goes back to the free lists of `mt` (`held` false) or stays an allocation
 * of `mt` (`held` true, with an owner when `owned`).
 */
function splitAround(head: i32, headOrder: i32, pfn: i32, order: i32, mt: i32, held: bool, owned: bool): void {
  let blk = head;
  let high = headOrder;
  while (high > order) {
    high--;
    const size = 1 << high;
    let half = blk + size;
    if (pfn >= half) {
      half = blk;
      blk += size;
    }
    if (held) markHeld(half, high, mt, owned);
    else addFreeBlockNoMerge(half, high, mt, false);
  }
}

// ---- what __rmqueue() would do, without doing it -----------------------------------------------

/** Of the last peekRmqueue(): the fallback block it would steal from (NONE: no fallback). */
let peekStealPfn: i32 = NONE;
/** Of the last peekRmqueue(): the order and migratetype of that block. */
let peekStealOrder: i32 = -1;
let peekStealMt: i32 = -1;
/** Of the last peekRmqueue(): the steal would claim the whole pageblock(s). */
let peekClaimed: bool = false;

export function peekFallbackPfn(): i32 { return peekStealPfn; }
export function peekFallbackOrder(): i32 { return peekStealOrder; }
export function peekFallbackMt(): i32 { return peekStealMt; }
export function peekFallbackClaims(): i32 { return peekClaimed ? 1 : 0; }

function peekSmallest(zone: i32, order: i32, mt: i32): i32 {
  for (let o = order; o <= maxOrder; o++) {
    const pfn = freeListHead(zone, o, mt);
    if (pfn != NONE) return pfn;
  }
  return NONE;
}

// The fallback rules below mirror buddy.ts (fallbacks[], can_steal_fallback(),
// __rmqueue_fallback(), steal_suitable_fallback()); test/twin-engine.test.ts
// checks on random workloads that a peek names the block the allocator then takes.

// @ts-ignore: decorator
@inline function fallbackOf(mt: i32, i: i32): i32 {
  if (mt == MIGRATE_UNMOVABLE) return i == 0 ? MIGRATE_RECLAIMABLE : MIGRATE_MOVABLE;
  if (mt == MIGRATE_MOVABLE) return i == 0 ? MIGRATE_RECLAIMABLE : MIGRATE_UNMOVABLE;
  return i == 0 ? MIGRATE_UNMOVABLE : MIGRATE_MOVABLE;
}

// @ts-ignore: decorator
@inline function canSteal(order: i32, startMt: i32): bool {
  if (order >= pageblockOrder) return true;
  return order >= (pageblockOrder >> 1) || startMt == MIGRATE_RECLAIMABLE || startMt == MIGRATE_UNMOVABLE;
}

function suitableFallback(zone: i32, order: i32, startMt: i32): i32 {
  for (let i = 0; i < 2; i++) {
    const mt = fallbackOf(startMt, i);
    if (freeListHead(zone, order, mt) != NONE) return mt;
  }
  return NONE;
}

/** The first free block of the smallest order >= `order` in the pageblock of `pfn`, in pfn order. */
function smallestInBlock(pfn: i32, order: i32): i32 {
  const start = pageblockStartPfn(pfn);
  const end = start + pageblockNrPages;
  let best = NONE;
  let bestOrder = maxOrder + 1;
  let p = start;
  while (p < end) {
    const kind = pageKind(p);
    if (kind == KIND_BUDDY) {
      const o = getOrder(p);
      if (o >= order && o < bestOrder) {
        best = p;
        bestOrder = o;
      }
      p += 1 << o;
    } else if (kind == KIND_ALLOC) {
      p += 1 << getOrder(p);
    } else {
      p++;
    }
  }
  return best;
}

/** Whether steal_suitable_fallback() would claim the pageblock of `pfn` for `startMt`. */
function wouldClaimBlock(pfn: i32, startMt: i32): bool {
  const blockMt = getPageblockMt(pfn);
  const free = countBlockPages(pfn);
  const movable = lastMovable;
  return claimThresholdReached(free, movable, startMt, blockMt);
}

function peekFallback(zone: i32, order: i32, startMt: i32): i32 {
  let cur = maxOrder;
  let fallbackMt = NONE;
  let steal = false;
  let found = false;
  for (; cur >= order; cur--) {
    fallbackMt = suitableFallback(zone, cur, startMt);
    if (fallbackMt == NONE) continue;
    steal = canSteal(cur, startMt);
    if (!steal && startMt == MIGRATE_MOVABLE && cur > order) {
      for (cur = order; cur <= maxOrder; cur++) {
        fallbackMt = suitableFallback(zone, cur, startMt);
        if (fallbackMt != NONE) break;
      }
      steal = canSteal(cur, startMt);
    }
    found = true;
    break;
  }
  if (!found) return NONE;
  const pfn = freeListHead(zone, cur, fallbackMt);
  peekStealPfn = pfn;
  peekStealOrder = cur;
  peekStealMt = fallbackMt;
  if (getPageblockMt(pfn) == MIGRATE_HIGHATOMIC) return pfn;
  if (cur >= pageblockOrder) {
    peekClaimed = true;
    return pfn;
  }
  if (kernelProfile == KERNEL_6_1 && steal) {
    // 6.1 steal_suitable_fallback(): move_freepages_block() moves the
    // pageblock's free pages to startMt's tails whether it claims or not.
    if (wouldClaimBlock(pfn, startMt)) peekClaimed = true;
    return smallestInBlock(pfn, order);
  }
  if (steal && wouldClaimBlock(pfn, startMt)) {
    // The block's free pages move to the tails of startMt's lists, which were
    // empty at every order >= `order`: __rmqueue_smallest() takes the first of
    // the smallest.
    peekClaimed = true;
    return smallestInBlock(pfn, order);
  }
  return pfn;
}

/** 6.18 __rmqueue_claim() then __rmqueue_steal() (profile.ts), without ALLOC_NOFRAGMENT, changing nothing. */
function peekFallback18(zone: i32, order: i32, startMt: i32): i32 {
  for (let cur = maxOrder; cur >= order; cur--) {
    if (!shouldTryClaimBlock(cur, startMt)) break;
    const fallbackMt = suitableFallback(zone, cur, startMt);
    if (fallbackMt == NONE) continue;
    const pfn = freeListHead(zone, cur, fallbackMt);
    let got = NONE;
    if (cur >= pageblockOrder) got = pfn;
    else if (wouldClaimBlock(pfn, startMt)) got = smallestInBlock(pfn, order);
    if (got != NONE) {
      peekStealPfn = pfn;
      peekStealOrder = cur;
      peekStealMt = fallbackMt;
      peekClaimed = true;
      return got;
    }
  }
  for (let cur = order; cur <= maxOrder; cur++) {
    const fallbackMt = suitableFallback(zone, cur, startMt);
    if (fallbackMt == NONE) continue;
    const pfn = freeListHead(zone, cur, fallbackMt);
    peekStealPfn = pfn;
    peekStealOrder = cur;
    peekStealMt = fallbackMt;
    return pfn;
  }
  return NONE;
}

/**
 * The block __rmqueue() would hand out in `zone` for `order` and `mt`
 * (ALLOC_CMA for movable requests, no ALLOC_NOFRAGMENT), changing nothing; -ENOMEM
 * when nothing fits, -EINVAL for bad arguments. peekFallback*() tell about a fallback.
 */
export function peekRmqueue(zone: i32, order: i32, mt: i32): i32 {
  peekStealPfn = NONE;
  peekStealOrder = -1;
  peekStealMt = -1;
  peekClaimed = false;
  if (zone < 0 || zone >= MAX_NR_ZONES || order < 0 || order > maxOrder) return -EINVAL;
  if (mt < 0 || mt > MIGRATE_RECLAIMABLE) return -EINVAL;
  if (!zonePopulated(zone)) return -ENOMEM;
  const allocCma = mt == MIGRATE_MOVABLE;
  let pfn = NONE;
  if (allocCma && cmaBalanceEnabled && unchecked(zoneFreeCmaPages[zone]) > i32(unchecked(zoneFreePages[zone]) / 2)) {
    pfn = peekSmallest(zone, order, MIGRATE_CMA);
    if (pfn != NONE) return pfn;
  }
  pfn = peekSmallest(zone, order, mt);
  if (pfn != NONE) return pfn;
  if (allocCma) {
    pfn = peekSmallest(zone, order, MIGRATE_CMA);
    if (pfn != NONE) return pfn;
  }
  pfn = kernelProfile == KERNEL_6_18 ? peekFallback18(zone, order, mt) : peekFallback(zone, order, mt);
  return pfn == NONE ? -ENOMEM : pfn;
}

/**
 * __rmqueue() in `zone` only, no watermarks: the block dmasim itself chooses,
 * taken and marked allocated as `mt` (movable ones owned). Returns its pfn,
 * -ENOMEM or -EINVAL.
 */
export function rmqueueInZone(zone: i32, order: i32, mt: i32): i32 {
  if (zone < 0 || zone >= MAX_NR_ZONES || order < 0 || order > maxOrder) return -EINVAL;
  if (mt < 0 || mt > MIGRATE_RECLAIMABLE) return -EINVAL;
  if (!zonePopulated(zone)) return -ENOMEM;
  const pfn = rmqueue(zone, order, mt, mt == MIGRATE_MOVABLE ? ALLOC_CMA : 0);
  if (pfn == NONE) return -ENOMEM;
  markHeld(pfn, order, mt, mt == MIGRATE_MOVABLE);
  return pfn;
}

/**
 * 6.1 steal_suitable_fallback() without a claim, as a traced steal did it
 * (mm_page_alloc_extfrag with change_ownership=0): with `wholeBlock`
 * (can_steal_fallback()) every free page of the pageblock of `pfn` moves to
 * the tails of `mt`'s lists (move_freepages_block()), else only the free block
 * headed at `pfn` (move_to_free_list()); no pageblock changes type. Only the
 * 6.1 profile keeps free blocks on another type's list: 0, -EBUSY (no free
 * block at `pfn`) or -EINVAL (other profiles, bad arguments), nothing changed.
 */
export function stealWithoutClaim(pfn: i32, mt: i32, wholeBlock: bool): i32 {
  if (kernelProfile != KERNEL_6_1) return -EINVAL;
  if (pfn < 0 || pfn >= nrPages || mt < 0 || mt > MIGRATE_RECLAIMABLE) return -EINVAL;
  const blockMt = getPageblockMt(pfn);
  if (blockMt == MIGRATE_CMA || blockMt == MIGRATE_ISOLATE) return -EINVAL;
  if (wholeBlock) {
    moveFreepagesOnly(pfn, mt);
    return 0;
  }
  if (pageKind(pfn) != KIND_BUDDY) return -EBUSY;
  moveToFreeList(zoneOf(pfn), pfn, getOrder(pfn), mt);
  return 0;
}

/**
 * set_pageblock_migratetype() with the block's free pages moved along
 * (move_freepages_block()), as a traced steal did. A free block spanning several
 * pageblocks retypes them all (change_pageblock_range()). Returns 0 or -EINVAL
 * (CMA and Isolate are not set this way).
 */
export function retypePageblock(pfn: i32, mt: i32): i32 {
  if (pfn < 0 || pfn >= nrPages || mt < 0 || mt >= MIGRATE_TYPES || mt == MIGRATE_CMA || mt == MIGRATE_ISOLATE)
    return -EINVAL;
  const start = pageblockStartPfn(pfn);
  const cover = findBuddyHead(start);
  if (cover != NONE && getOrder(cover) > pageblockOrder) {
    const order = getOrder(cover);
    takeFreeBlock(cover);
    addFreeBlockNoMerge(cover, order, mt, true); // list_move_tail()
    changePageblockRange(cover, order, mt);
    return 0;
  }
  if (cover != NONE && cover < start) return -EINVAL; // unreachable: a cover below start spans this block
  moveFreepagesBlock(start, mt);
  return 0;
}
