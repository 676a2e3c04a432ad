// The engine's public surface: numbers in, numbers out. Negative results are
// -errno; the bindings turn them into DmaSimError or null.

import {
  EBUSY, EINVAL, ENOMEM, MIGRATE_CMA, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_TYPES, NONE,
} from "./constants.ts";
import {
  allocBlock, buddyInit, findBlockHead, findBuddyHead, freeBlock, freeBlocks, nrFreeCmaPages, nrFreePages,
  setCmaBalance,
} from "./buddy.ts";
import {
  cmaActivate, cmaAlloc, cmaAreaCount, cmaAvailable, cmaBasePfn, cmaBitmapBits, cmaCount, cmaDeclare,
  cmaLastError, cmaNextSetBit, cmaNextZeroBit, cmaOrderPerBit, cmaRelease, cmaReserved, cmaReset, cmaStat,
} from "./cma.ts";
import { checkAll, corruptForTest } from "./check.ts";
import { allocContigRange, checkContigRange, freeContigRange } from "./contig.ts";
import { stateHash } from "./hash.ts";
import { startIsolatePageRange, testPagesIsolated, undoIsolatePageRange } from "./isolation.ts";
import {
  getOrder, isAllocHead, longPins, maxOrder, memmapInit, nrPages, pageIsCmaAlloc, pageKind, pageMt,
  pageOwnerId, pageblockNrPages, pageblockStartPfn, pfnValid, setPageOwnerId, shortPins,
} from "./memmap.ts";
import { migrateBlock, pinOwner, unpinOwner } from "./migrate.ts";
import { ownerCreate, ownerDestroy, ownerGetPfn, ownerInit } from "./owner.ts";
import { getPageblockMt, pageblockInit } from "./pageblock.ts";
import { ramInit, ramPointer, ramPortableArray } from "./ram.ts";
import { allocFailByOrder, vmEvents, vmeventsInit } from "./vmevents.ts";

export {
  cmaBasePfn, cmaCount, cmaOrderPerBit, cmaAvailable, cmaStat, cmaNextZeroBit, cmaNextSetBit,
  cmaBitmapBits, ramPointer, ramPortableArray,
};

// ---- machine set-up -------------------------------------------------------------------

/**
 * Creates the memory map of `pages` frames. The caller validated the geometry;
 * `ramBytes` is 0 for metadata-only machines. Returns 0 or -ENOMEM.
 */
export function init(pages: i32, pageShift: i32, maxOrd: i32, pbOrder: i32, ramBytes: u32): i32 {
  memmapInit(pages, pageShift, maxOrd, pbOrder);
  pageblockInit(MIGRATE_MOVABLE); // memmap_init(): every pageblock starts movable
  buddyInit();
  ownerInit();
  vmeventsInit(maxOrd);
  cmaReset();
  return ramInit(ramBytes) ? 0 : -ENOMEM;
}

export { cmaDeclare };

/**
 * Boot: memblock_free_all() hands every unreserved page to the buddy allocator
 * in the largest aligned blocks, then cma_init_reserved_areas() activates the
 * CMA areas.
 */
export function boot(): void {
  let pfn = 0;
  while (pfn < nrPages) {
    if (cmaReserved(pfn)) {
      pfn++;
      continue;
    }
    let end = pfn;
    while (end < nrPages && !cmaReserved(end)) end++;
    // __free_pages_memory(): largest block the start's alignment allows.
    while (pfn < end) {
      let order = pfn == 0 ? maxOrder : i32(ctz<u32>(u32(pfn)));
      if (order > maxOrder) order = maxOrder;
      while (pfn + (1 << order) > end) order--;
      freeBlock(pfn, order, true); // __free_pages_core(): FPI_TO_TAIL
      pfn += 1 << order;
    }
  }
  for (let id = 0; id < cmaAreaCount; id++) cmaActivate(id);
}

export { setCmaBalance };

// ---- the page allocator -----------------------------------------------------------------

/** alloc_pages(): `mt` 0..2. A movable block gets an owner. Returns the pfn, -ENOMEM (NULL) or -EINVAL. */
export function allocPages(order: i32, mt: i32): i32 {
  if (order < 0 || order > maxOrder || mt < 0 || mt > MIGRATE_RECLAIMABLE) return -EINVAL;
  const pfn = allocBlock(order, mt, mt == MIGRATE_MOVABLE);
  if (pfn == NONE) return -ENOMEM;
  if (mt == MIGRATE_MOVABLE) setPageOwnerId(pfn, ownerCreate(pfn));
  return pfn;
}

/** Why a free of (pfn, order) is refused: 0 when it may go ahead. */
export function checkFreePages(pfn: i32, order: i32): i32 {
  if (!pfnValid(pfn) || order < 0 || order > maxOrder) return -EINVAL;
  if (!isAllocHead(pfn) || getOrder(pfn) != order) return -EINVAL;
  if (pageIsCmaAlloc(pfn)) return -EINVAL;
  if (shortPins(pfn) != 0 || longPins(pfn) != 0) return -EBUSY;
  return 0;
}

/** __free_pages(): 0, -EINVAL (not an allocation of this order) or -EBUSY (pinned). */
export function freePages(pfn: i32, order: i32): i32 {
  const ret = checkFreePages(pfn, order);
  if (ret != 0) return ret;
  const id = pageOwnerId(pfn);
  if (id != NONE) ownerDestroy(id);
  freeBlock(pfn, order, false);
  return 0;
}

// ---- owners, pins, migration -----------------------------------------------------------------

/** The owner of the block headed at `pfn`, or -1. */
export function ownerOf(pfn: i32): i32 {
  if (!pfnValid(pfn) || !isAllocHead(pfn)) return NONE;
  return pageOwnerId(pfn);
}

/** The owner's current pfn, or -EINVAL. */
export function ownerPfn(id: i32): i32 {
  const pfn = ownerGetPfn(id);
  return pfn == NONE ? -EINVAL : pfn;
}

export function pin(id: i32, longterm: i32): i32 {
  return pinOwner(id, longterm != 0);
}

export function unpin(id: i32, longterm: i32): i32 {
  return unpinOwner(id, longterm != 0);
}

/** migrate_pages() of one owned block, as compaction would move it. Returns the new pfn or -errno. */
export function migrateOwner(id: i32): i32 {
  const pfn = ownerGetPfn(id);
  if (pfn == NONE) return -EINVAL;
  const ret = migrateBlock(pfn, MIGRATE_MOVABLE, true);
  return ret == -11 ? -EBUSY : ret;
}

// ---- isolation and contiguous ranges -----------------------------------------------------

// @ts-ignore: decorator
@inline function validRange(startPfn: i32, endPfn: i32): bool {
  return startPfn >= 0 && endPfn <= nrPages && startPfn < endPfn;
}
// @ts-ignore: decorator
@inline function contigType(mt: i32): bool {
  return mt == MIGRATE_MOVABLE || mt == MIGRATE_CMA;
}

export function isolateRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  if (!validRange(startPfn, endPfn) || !contigType(mt)) return -EINVAL;
  return startIsolatePageRange(startPfn, endPfn, mt);
}

export function undoIsolateRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  if (!validRange(startPfn, endPfn) || !contigType(mt)) return -EINVAL;
  undoIsolatePageRange(startPfn, endPfn, mt);
  return 0;
}

export function testIsolated(startPfn: i32, endPfn: i32): i32 {
  if (!validRange(startPfn, endPfn)) return -EINVAL;
  return testPagesIsolated(startPfn, endPfn);
}

export { allocContigRange };

export function freeContig(pfn: i32, count: i32): i32 {
  const ret = checkContigRange(pfn, count);
  if (ret != 0) return ret;
  freeContigRange(pfn, count);
  return 0;
}

// ---- CMA -------------------------------------------------------------------------------------

export function cmaAreas(): i32 {
  return cmaAreaCount;
}

/** cma_alloc(): the first pfn, -ENOMEM for NULL, -EINVAL for bad arguments. */
export function cmaAllocPages(id: i32, count: i32, alignOrder: i32): i32 {
  if (id < 0 || id >= cmaAreaCount || count < 0 || alignOrder < 0 || alignOrder > 30) return -EINVAL;
  const pfn = cmaAlloc(id, count, alignOrder);
  return pfn == NONE ? -ENOMEM : pfn;
}

export function cmaReleasePages(id: i32, pfn: i32, count: i32): i32 {
  if (id < 0 || id >= cmaAreaCount) return -EINVAL;
  return cmaRelease(id, pfn, count);
}

export function cmaLastRet(): i32 {
  return cmaLastError;
}

// ---- introspection -------------------------------------------------------------------------------

export function freePagesCount(): i32 { return nrFreePages; }
export function freeCmaPagesCount(): i32 { return nrFreeCmaPages; }
export function freeBlocksOf(order: i32, mt: i32): i32 { return unchecked(freeBlocks[order * MIGRATE_TYPES + mt]); }
export function pageblockMigratetype(pfn: i32): i32 { return pfnValid(pfn) ? getPageblockMt(pfn) : -EINVAL; }
export function vmEvent(index: i32): f64 { return unchecked(vmEvents[index]); }
export function allocFailures(order: i32): f64 { return unchecked(allocFailByOrder[order]); }

/** Page state for inspection: kind | mt << 2 | order << 8 | cma << 16, or -EINVAL. */
export function pageState(pfn: i32): i32 {
  if (!pfnValid(pfn)) return -EINVAL;
  return pageKind(pfn) | (pageMt(pfn) << 2) | (getOrder(pfn) << 8) | ((pageIsCmaAlloc(pfn) ? 1 : 0) << 16);
}

/**
 * Free pages inside the pageblock of `pfn` (for the memory-map picture); a free
 * block larger than the pageblock counts whole pageblocks.
 */
export function pageblockFreePages(pfn: i32): i32 {
  if (!pfnValid(pfn)) return -EINVAL;
  const start = pageblockStartPfn(pfn);
  const end = start + pageblockNrPages;
  const covering = findBuddyHead(start);
  if (covering != NONE && covering < start) return pageblockNrPages;
  let free = 0;
  let p = start;
  while (p < end) {
    const head = findBlockHead(p);
    const n = 1 << getOrder(head);
    if (pageKind(head) == 1) free += n < pageblockNrPages ? n : pageblockNrPages;
    p = head + n;
  }
  return free;
}

/** Pins of an allocated head: short | long << 16. */
export function pagePins(pfn: i32): i32 {
  if (!pfnValid(pfn) || !isAllocHead(pfn)) return 0;
  return shortPins(pfn) | (longPins(pfn) << 16);
}

export function check(): string {
  return checkAll();
}

/** Test hook: breaks one invariant (see check.ts). */
export function debugCorrupt(kind: i32): void {
  corruptForTest(kind);
}

export function hash(): u32 {
  return stateHash();
}
