// Pageblock isolation (mm/page_isolation.c): marks pageblocks MIGRATE_ISOLATE so
// their free pages leave the allocator's reach while a range is being emptied.

import { EBUSY, KIND_ALLOC, KIND_BUDDY, KIND_PCP, MAX_NR_ZONES, MIGRATE_CMA, MIGRATE_ISOLATE } from "./abi.ts";
import { NONE } from "./constants.ts";
import {
  findBlockHead, findBuddyHead, findBuddyPfn, freeOneBlock, moveFreepagesBlock,
  splitLargeBuddy, takeFreeBlock,
} from "./buddy.ts";
import {
  getOrder, isBuddy, maxOrder, nrPages, pageKind, pageOwnerId, pageblockAlign, pageblockNrPages,
  nrPageblocks, pageblockOrder, pageblockStartPfn,
} from "./memmap.ts";
import { getPageblockMt, setPageblockMt } from "./pageblock.ts";
import { KERNEL_6_18 } from "./abi.ts";
import { kernelProfile, saveIsolatedMt, savedIsolateMt } from "./profile.ts";
import { zoneOf } from "./zone.ts";

/**
 * zone->nr_isolate_pageblock: each zone's MIGRATE_ISOLATE pageblocks, kept by
 * set_migratetype_isolate() and unset_migratetype_isolate(). 6.1's
 * free_pcppages_bulk() reads it (has_isolate_pageblock()).
 */
export const zoneNrIsolatePageblock: Int32Array = new Int32Array(MAX_NR_ZONES);

export function isolationReset(): void {
  zoneNrIsolatePageblock.fill(0);
}

/** has_isolate_pageblock() */
// @ts-ignore: decorator
@inline export function hasIsolatePageblock(zone: i32): bool {
  return unchecked(zoneNrIsolatePageblock[zone]) != 0;
}

/** check(): each zone's count is its number of isolated pageblocks. */
export function isolationCheck(): string {
  const counted = new Int32Array(MAX_NR_ZONES);
  for (let pb = 0; pb < nrPageblocks; pb++) {
    const pfn = pb << pageblockOrder;
    const zone = zoneOf(pfn);
    if (zone >= 0 && getPageblockMt(pfn) == MIGRATE_ISOLATE) unchecked(counted[zone]++);
  }
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (unchecked(counted[z]) != unchecked(zoneNrIsolatePageblock[z])) {
      return "isolation: zone " + z.toString() + " has " + unchecked(counted[z]).toString() +
        " isolated pageblocks, nr_isolate_pageblock says " + unchecked(zoneNrIsolatePageblock[z]).toString();
    }
  }
  return "";
}

/**
 * has_unmovable_pages(): the first pfn in [startPfn, endPfn) (one pageblock) that
 * cannot be migrated away, or NONE. Free pages and owned pages are movable; a CMA
 * pageblock counts as movable only when the caller isolates for CMA.
 */
function hasUnmovablePages(startPfn: i32, endPfn: i32, mt: i32): i32 {
  if (getPageblockMt(startPfn) == MIGRATE_CMA) return mt == MIGRATE_CMA ? NONE : startPfn;
  let pfn = startPfn;
  while (pfn < endPfn) {
    const head = findBlockHead(pfn);
    if (head == NONE) return pfn;
    const next = head + (1 << getOrder(head));
    // Free pages, on the buddy or the pcp lists (page_ref_count() 0), and owned pages are movable.
    const kind = pageKind(head);
    if (kind == KIND_BUDDY || kind == KIND_PCP || pageOwnerId(head) != NONE) {
      pfn = next;
      continue;
    }
    return pfn;
  }
  return NONE;
}

/**
 * move_freepages_block_isolate(): retypes the pageblock at `pbPfn` and moves its
 * free pages, first splitting a free block that spans more than this pageblock
 * so that each pageblock-sized piece lands on its own pageblock's list.
 */
function moveFreepagesBlockIsolate(pbPfn: i32, mt: i32): void {
  if (pageblockOrder < maxOrder) {
    const head = findBuddyHead(pbPfn);
    if (head != NONE && (head != pbPfn || getOrder(head) > pageblockOrder)) {
      const order = getOrder(head);
      takeFreeBlock(head);
      setPageblockMt(pbPfn, mt);
      splitLargeBuddy(head, order, false);
      return;
    }
  }
  moveFreepagesBlock(pbPfn, mt);
}

/**
 * set_migratetype_isolate() for the pageblock at `pbPfn`. The whole pageblock is
 * checked: isolation works in pageblocks, whatever part of one the caller wants.
 */
function setMigratetypeIsolate(pbPfn: i32, mt: i32): i32 {
  if (getPageblockMt(pbPfn) == MIGRATE_ISOLATE) return -EBUSY;
  if (hasUnmovablePages(pbPfn, pbPfn + pageblockNrPages, mt) != NONE) return -EBUSY;
  // 6.18 set_pageblock_isolate(): the isolate bit sits beside the type bits.
  if (kernelProfile == KERNEL_6_18) saveIsolatedMt(pbPfn, getPageblockMt(pbPfn));
  moveFreepagesBlockIsolate(pbPfn, MIGRATE_ISOLATE);
  countIsolated(pbPfn, 1);
  return 0;
}

/** nr_isolate_pageblock of the pageblock's zone, moved by `delta`. */
function countIsolated(pbPfn: i32, delta: i32): void {
  const zone = zoneOf(pbPfn);
  if (zone >= 0) unchecked(zoneNrIsolatePageblock[zone] += delta);
}

/**
 * isolate_single_pageblock()'s straddle check: an in-use block crossing the
 * isolation boundary at `boundaryPfn` cannot be isolated half (-EBUSY). Free
 * blocks are split instead (moveFreepagesBlockIsolate).
 */
function straddlesBoundary(boundaryPfn: i32): bool {
  if (boundaryPfn <= 0 || boundaryPfn >= nrPages) return false;
  const head = findBlockHead(boundaryPfn);
  return head != NONE && head < boundaryPfn && pageKind(head) == KIND_ALLOC;
}

/** unset_migratetype_isolate(): gives the pageblock back as `mt`. */
function unsetMigratetypeIsolate(pbPfn: i32, mt: i32): void {
  if (getPageblockMt(pbPfn) != MIGRATE_ISOLATE) return;
  countIsolated(pbPfn, -1);
  // 6.18 unset_migratetype_isolate(): clearing the bit leaves the type it hid.
  if (kernelProfile == KERNEL_6_18) mt = savedIsolateMt(pbPfn);
  // A free pageblock-sized block whose buddy is free outside isolation could not
  // merge while isolated: take it and free it again so it merges now. (The
  // kernel also does this for larger blocks; those are split below instead,
  // which keeps every pageblock's type in step with its free pages.)
  if (isBuddy(pbPfn) && getOrder(pbPfn) == pageblockOrder && pageblockOrder < maxOrder) {
    const buddy = findBuddyPfn(pbPfn, pageblockOrder);
    if (buddy != NONE && getPageblockMt(buddy) != MIGRATE_ISOLATE) {
      takeFreeBlock(pbPfn);
      setPageblockMt(pbPfn, mt);
      freeOneBlock(pbPfn, pageblockOrder, mt, true); // __putback_isolated_page(): FPI_TO_TAIL
      return;
    }
  }
  moveFreepagesBlockIsolate(pbPfn, mt);
}

/**
 * start_isolate_page_range(): isolates every pageblock touching [startPfn,
 * endPfn), or none. As the kernel does: the first pageblock, then the last, then
 * those between.
 */
export function startIsolatePageRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  const isolateStart = pageblockStartPfn(startPfn);
  const isolateEnd = pageblockAlign(endPfn);
  const last = isolateEnd - pageblockNrPages;
  if (straddlesBoundary(isolateStart) || straddlesBoundary(isolateEnd)) return -EBUSY;
  if (setMigratetypeIsolate(isolateStart, mt) != 0) return -EBUSY;
  if (last != isolateStart && setMigratetypeIsolate(last, mt) != 0) {
    unsetMigratetypeIsolate(isolateStart, mt);
    return -EBUSY;
  }
  for (let pb = isolateStart + pageblockNrPages; pb < last; pb += pageblockNrPages) {
    if (setMigratetypeIsolate(pb, mt) != 0) {
      for (let undo = isolateStart; undo < pb; undo += pageblockNrPages) unsetMigratetypeIsolate(undo, mt);
      unsetMigratetypeIsolate(last, mt);
      return -EBUSY;
    }
  }
  return 0;
}

/** undo_isolate_page_range() */
export function undoIsolatePageRange(startPfn: i32, endPfn: i32, mt: i32): void {
  const isolateEnd = pageblockAlign(endPfn);
  for (let pb = pageblockStartPfn(startPfn); pb < isolateEnd; pb += pageblockNrPages) {
    unsetMigratetypeIsolate(pb, mt);
  }
}

/** test_pages_isolated(): 0 when [startPfn, endPfn) is isolated and entirely free, else -EBUSY. */
export function testPagesIsolated(startPfn: i32, endPfn: i32): i32 {
  for (let pfn = startPfn; pfn < endPfn; pfn += pageblockNrPages) {
    if (getPageblockMt(pfn) != MIGRATE_ISOLATE) return -EBUSY;
  }
  let pfn = startPfn;
  while (pfn < endPfn) {
    if (!isBuddy(pfn)) return -EBUSY;
    pfn += 1 << getOrder(pfn);
  }
  return 0;
}
