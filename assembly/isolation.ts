// Pageblock isolation (mm/page_isolation.c): marks pageblocks MIGRATE_ISOLATE so
// their free pages leave the allocator's reach while a range is being emptied.

import { EBUSY, MIGRATE_CMA, MIGRATE_ISOLATE, NONE } from "./constants.ts";
import {
  findBlockHead, findBuddyHead, findBuddyPfn, freeOneBlock, moveFreepagesBlock,
  splitLargeBuddy, takeFreeBlock,
} from "./buddy.ts";
import {
  KIND_BUDDY, getOrder, isBuddy, maxOrder, pageKind, pageOwnerId, pageblockAlign,
  pageblockNrPages, pageblockOrder, pageblockStartPfn,
} from "./memmap.ts";
import { getPageblockMt, setPageblockMt } from "./pageblock.ts";

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
    if (pageKind(head) == KIND_BUDDY || pageOwnerId(head) != NONE) {
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
      splitLargeBuddy(head, order);
      return;
    }
  }
  moveFreepagesBlock(pbPfn, mt);
}

/** set_migratetype_isolate() for the pageblock at `pbPfn`, checking [startPfn, endPfn). */
function setMigratetypeIsolate(pbPfn: i32, mt: i32, startPfn: i32, endPfn: i32): i32 {
  if (getPageblockMt(pbPfn) == MIGRATE_ISOLATE) return -EBUSY;
  const checkStart = pbPfn > startPfn ? pbPfn : startPfn;
  const pbEnd = pbPfn + pageblockNrPages;
  const checkEnd = pbEnd < endPfn ? pbEnd : endPfn;
  if (hasUnmovablePages(checkStart, checkEnd, mt) != NONE) return -EBUSY;
  moveFreepagesBlockIsolate(pbPfn, MIGRATE_ISOLATE);
  return 0;
}

/** unset_migratetype_isolate(): gives the pageblock back as `mt`. */
function unsetMigratetypeIsolate(pbPfn: i32, mt: i32): void {
  if (getPageblockMt(pbPfn) != MIGRATE_ISOLATE) return;
  // A free pageblock-sized block whose buddy is free outside isolation could not
  // merge while isolated: take it and free it again so it merges now. (The
  // kernel also does this for larger blocks; those are split below instead,
  // which keeps every pageblock's type in step with its free pages.)
  if (isBuddy(pbPfn) && getOrder(pbPfn) == pageblockOrder && pageblockOrder < maxOrder) {
    const buddy = findBuddyPfn(pbPfn, pageblockOrder);
    if (buddy != NONE && getPageblockMt(buddy) != MIGRATE_ISOLATE) {
      takeFreeBlock(pbPfn);
      setPageblockMt(pbPfn, mt);
      freeOneBlock(pbPfn, pageblockOrder, mt, false); // __putback_isolated_page()
      return;
    }
  }
  moveFreepagesBlockIsolate(pbPfn, mt);
}

/** start_isolate_page_range(): isolates every pageblock touching [startPfn, endPfn), or none. */
export function startIsolatePageRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  const isolateStart = pageblockStartPfn(startPfn);
  const isolateEnd = pageblockAlign(endPfn);
  for (let pb = isolateStart; pb < isolateEnd; pb += pageblockNrPages) {
    if (setMigratetypeIsolate(pb, mt, startPfn, endPfn) != 0) {
      for (let undo = isolateStart; undo < pb; undo += pageblockNrPages) unsetMigratetypeIsolate(undo, mt);
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
