// The Contiguous Memory Allocator (mm/cma.c).
//
// An area is a reserved, pageblock-aligned range whose pageblocks are handed to
// the buddy allocator as MIGRATE_CMA, so movable pages can borrow them. A bitmap
// (one bit per 1 << orderPerBit pages) records what the area itself has handed
// out; cma_alloc() finds a clear run and wins it back with alloc_contig_range().

import {
  CMA_STAT_ALLOCS_FAILED, CMA_STAT_ALLOCS_SUCCEEDED, CMA_STAT_BUSY_RETRIES, CMA_STAT_COUNT, CMA_STAT_PAGES_FAILED,
  CMA_STAT_PAGES_MIGRATED, CMA_STAT_PAGES_RELEASED, CMA_STAT_PAGES_SUCCEEDED, EBUSY, EINVAL, ENOMEM, ENOSPC,
  EV_CMA_ALLOC_FAIL, EV_CMA_ALLOC_SUCCESS, EV_PGMIGRATE_SUCCESS, KIND_ALLOC, MIGRATE_CMA,
} from "./abi.ts";
import { MAX_CMA_AREAS, NONE } from "./constants.ts";
import {
  bitmapAssign, bitmapFindNextZeroAreaOff, bitsToWords, findNextBit, findNextZeroBit,
} from "./bitmap.ts";
import { findBlockHead, findBuddyHead, freeBlock } from "./buddy.ts";
import { claimBlock, releaseBlock } from "./claim.ts";
import { freeUnrefPageRange } from "./pcp.ts";
import { allocContigRange } from "./contig.ts";
import {
  getOrder, longPins, nrPages, pageIsCmaAlloc, pageIsReserved, pageKind, pageShift, pageblockNrPages, pageblockOrder,
  setCmaAlloc, shortPins,
} from "./memmap.ts";
import { setPageblockMt } from "./pageblock.ts";
import { KERNEL_6_18 } from "./abi.ts";
import { kernelProfile } from "./profile.ts";
import { memblockFindBottomUp, memblockFindTopDown, memblockOverlap, memblockReserve } from "./memblock.ts";
import { zoneCmaPages, zoneOf } from "./zone.ts";
import { countEvent, vmEvents } from "./vmevents.ts";

// ---- per-area fields (struct cma), indexed by area id ------------------------------
export let cmaAreaCount: i32 = 0;
const basePfn: Int32Array = new Int32Array(MAX_CMA_AREAS);
const countPages: Int32Array = new Int32Array(MAX_CMA_AREAS);
const orderPerBit: Int32Array = new Int32Array(MAX_CMA_AREAS);
const availablePages: Int32Array = new Int32Array(MAX_CMA_AREAS);
const activated: Uint8Array = new Uint8Array(MAX_CMA_AREAS);
const bitmaps: Array<Uint32Array> = new Array<Uint32Array>(0);

// Counters, CMA_STAT_* (abi.ts), per area.
const stats: Float64Array = new Float64Array(MAX_CMA_AREAS * CMA_STAT_COUNT);

/** The `ret` of the last cma_alloc() (0 on success), as its failure message prints it. */
export let cmaLastError: i32 = 0;

export function cmaReset(): void {
  cmaAreaCount = 0;
  bitmaps.length = 0;
  stats.fill(0);
  activated.fill(0);
}

// ---- small helpers ---------------------------------------------------------------------

/** cma_bitmap_maxno() */
// @ts-ignore: decorator
@inline function bitmapMaxno(id: i32): i32 {
  return unchecked(countPages[id]) >>> unchecked(orderPerBit[id]);
}

/** cma_bitmap_aligned_mask() */
function alignedMask(id: i32, alignOrder: i32): i32 {
  const opb = unchecked(orderPerBit[id]);
  if (alignOrder <= opb) return 0;
  return (1 << (alignOrder - opb)) - 1;
}

/** cma_bitmap_aligned_offset(): how far the base is from `alignOrder` alignment, in bits. */
function alignedOffset(id: i32, alignOrder: i32): i32 {
  return (unchecked(basePfn[id]) & ((1 << alignOrder) - 1)) >>> unchecked(orderPerBit[id]);
}

/** cma_bitmap_pages_to_bits() */
function pagesToBits(id: i32, pages: i32): i32 {
  const opb = unchecked(orderPerBit[id]);
  return (pages + (1 << opb) - 1) >>> opb;
}

// @ts-ignore: decorator
@inline function addStat(id: i32, stat: i32, n: i32): void {
  unchecked(stats[id * CMA_STAT_COUNT + stat] += f64(n));
}

function overlapsArea(startPfn: i32, pages: i32): i32 {
  for (let i = 0; i < cmaAreaCount; i++) {
    const b = unchecked(basePfn[i]);
    if (startPfn < b + unchecked(countPages[i]) && b < startPfn + pages) return i;
  }
  return NONE;
}

// ---- declaration and activation ----------------------------------------------------------

/**
 * cma_declare_contiguous_nid(): reserves an area. `base` is a fixed start pfn or
 * 0 for "anywhere below `limit`" (0: no limit). `alignPages` is 0 or a power of
 * two. Returns the area id or a negative errno, in the kernel's order of checks.
 */
export function cmaDeclare(base: i32, pages: i32, limit: i32, alignPages: i32, opb: i32): i32 {
  if (cmaAreaCount == MAX_CMA_AREAS) return -ENOSPC;
  if (pages <= 0 || base < 0 || limit < 0 || alignPages < 0 || opb < 0 || opb > 30) return -EINVAL;
  if (alignPages != 0 && (alignPages & (alignPages - 1)) != 0) return -EINVAL;
  // Pages at both ends could merge into neighbouring pageblocks of other types:
  // the area is made of whole pageblocks (CMA_MIN_ALIGNMENT_PAGES).
  const alignment = alignPages > pageblockNrPages ? alignPages : pageblockNrPages;
  let fixed = base != 0;
  if (fixed && (base & (alignment - 1)) != 0) return -EINVAL;
  if (pages > nrPages) return -EINVAL; // exceeds any limit
  const size = (pages + alignment - 1) & ~(alignment - 1);
  if ((size & ((1 << opb) - 1)) != 0) return -EINVAL;
  let end = limit & ~(alignment - 1);
  if (end == 0 || end > nrPages) end = nrPages;
  if (size > end - base) return -EINVAL; // base + size > limit
  if (fixed) {
    if (memblockOverlap(base, size) != NONE) return -EBUSY;
  } else {
    // With enough memory above 4 GiB, the kernel first tries bottom-up from
    // 4 GiB, away from the DMA/DMA32 zones; then memblock's usual top-down.
    const pfn4G = 1 << (32 - pageShift);
    if (nrPages - pfn4G >= size) base = memblockFindBottomUp(size, alignment, pfn4G, end);
    else base = NONE;
    if (base == NONE) base = memblockFindTopDown(size, alignment, 0, end);
    if (base == NONE) return -ENOMEM;
  }
  memblockReserve(base, size);
  const id = cmaAreaCount++;
  unchecked(basePfn[id] = base);
  unchecked(countPages[id] = size);
  unchecked(orderPerBit[id] = opb);
  unchecked(availablePages[id] = size);
  bitmaps.push(new Uint32Array(bitsToWords(size >>> opb)));
  return id;
}


/**
 * cma_activate_area(): every pageblock becomes MIGRATE_CMA and is freed to the
 * buddy allocator. An area spanning two zones is refused (-EINVAL):
 * alloc_contig_range() works within one zone.
 */
export function cmaActivate(id: i32): i32 {
  const base = unchecked(basePfn[id]);
  const end = base + unchecked(countPages[id]);
  const zone = zoneOf(base);
  if (zone < 0 || zoneOf(end - 1) != zone) return -EINVAL;
  unchecked(zoneCmaPages[zone] += end - base);
  for (let pfn = base; pfn < end; pfn += pageblockNrPages) {
    // init_cma_reserved_pageblock()
    setPageblockMt(pfn, MIGRATE_CMA);
    freeBlock(pfn, pageblockOrder, false);
  }
  unchecked(activated[id] = 1);
  return 0;
}

// ---- allocation and release ------------------------------------------------------------------

/**
 * cma_alloc(): `count` pages aligned to `alignOrder`. Returns the first pfn or
 * NONE; `cmaLastError` keeps the reason.
 */
export function cmaAlloc(id: i32, count: i32, alignOrder: i32): i32 {
  cmaLastError = -ENOMEM;
  if (count == 0) return NONE;
  // 6.18 cma_range_alloc(): "int ret = -EBUSY;" — a full area fails with -EBUSY.
  if (kernelProfile == KERNEL_6_18) cmaLastError = -EBUSY;
  const map = bitmaps[id];
  const mask = alignedMask(id, alignOrder);
  const offset = alignedOffset(id, alignOrder);
  const maxno = bitmapMaxno(id);
  const bitCount = pagesToBits(id, count);
  const migratedBefore = unchecked(vmEvents[EV_PGMIGRATE_SUCCESS]);
  let pfn = NONE;
  let start = 0;
  if (bitCount <= maxno) {
    for (;;) {
      if (count > unchecked(availablePages[id])) break;
      const bitNo = bitmapFindNextZeroAreaOff(map, maxno, start, bitCount, mask, offset);
      if (bitNo >= maxno) break;
      bitmapAssign(map, bitNo, bitCount, true);
      unchecked(availablePages[id] -= count);
      const candidate = unchecked(basePfn[id]) + (bitNo << unchecked(orderPerBit[id]));
      cmaLastError = allocContigRange(candidate, candidate + count, MIGRATE_CMA);
      if (cmaLastError == 0) {
        pfn = candidate;
        break;
      }
      bitmapAssign(map, bitNo, bitCount, false);
      unchecked(availablePages[id] += count);
      if (cmaLastError != -EBUSY) break;
      addStat(id, CMA_STAT_BUSY_RETRIES, 1);
      // Try again with a slightly different target.
      start = bitNo + mask + 1;
    }
  }
  addStat(id, CMA_STAT_PAGES_MIGRATED, i32(unchecked(vmEvents[EV_PGMIGRATE_SUCCESS]) - migratedBefore));
  if (pfn != NONE) {
    for (let p = pfn; p < pfn + count; p++) setCmaAlloc(p, true);
    countEvent(EV_CMA_ALLOC_SUCCESS, 1);
    addStat(id, CMA_STAT_PAGES_SUCCEEDED, count);
    addStat(id, CMA_STAT_ALLOCS_SUCCEEDED, 1);
  } else {
    countEvent(EV_CMA_ALLOC_FAIL, 1);
    addStat(id, CMA_STAT_PAGES_FAILED, count);
    addStat(id, CMA_STAT_ALLOCS_FAILED, 1);
  }
  return pfn;
}

/**
 * cma_release(): 1 when released, 0 when `pfn` is outside the area, -EINVAL when
 * the pages were not allocated from it or the release would clear bits still
 * covering other allocated pages.
 */
export function cmaRelease(id: i32, pfn: i32, count: i32): i32 {
  const base = unchecked(basePfn[id]);
  const end = base + unchecked(countPages[id]);
  if (pfn < base || pfn >= end) return 0;
  if (count < 0 || count > end - pfn) return -EINVAL;
  for (let p = pfn; p < pfn + count; p++) {
    if (pageKind(p) != KIND_ALLOC || getOrder(p) != 0 || !pageIsCmaAlloc(p)) return -EINVAL;
  }
  // cma_clear_bitmap() clears whole bits: every page they cover must go too.
  const opb = unchecked(orderPerBit[id]);
  const bitNo = (pfn - base) >>> opb;
  const bitCount = pagesToBits(id, count);
  const spanStart = base + (bitNo << opb);
  let spanEnd = base + ((bitNo + bitCount) << opb);
  if (spanEnd > end) spanEnd = end;
  if (opb != 0) {
    // (With a bit per page the span is the range itself.)
    for (let p = spanStart; p < spanEnd; p++) {
      if ((p < pfn || p >= pfn + count) && pageKind(p) == KIND_ALLOC && pageIsCmaAlloc(p)) return -EINVAL;
    }
  }
  freeUnrefPageRange(pfn, count); // free_contig_range(): through the pcp lists; each head's flags, the CMA mark with them, are cleared as it goes
  bitmapAssign(bitmaps[id], bitNo, bitCount, false);
  unchecked(availablePages[id] += count);
  addStat(id, CMA_STAT_PAGES_RELEASED, count);
  return 1;
}

// ---- replaying a traced kernel's CMA choices (the twin) ------------------------------------
// The twin follows a real kernel's cma_alloc() and cma_release() events on the
// named ranges the kernel chose; these take and give back exactly those ranges.

/** cma_alloc()'s first candidate for `count` pages aligned to `alignOrder` (nothing changed), or NONE. */
export function cmaPeekAlloc(id: i32, count: i32, alignOrder: i32): i32 {
  if (id < 0 || id >= cmaAreaCount || count <= 0 || count > unchecked(availablePages[id])) return NONE;
  const maxno = bitmapMaxno(id);
  const bitCount = pagesToBits(id, count);
  if (bitCount > maxno) return NONE;
  const bitNo = bitmapFindNextZeroAreaOff(
    bitmaps[id], maxno, 0, bitCount, alignedMask(id, alignOrder), alignedOffset(id, alignOrder),
  );
  if (bitNo >= maxno) return NONE;
  return unchecked(basePfn[id]) + (bitNo << unchecked(orderPerBit[id]));
}

/** The checks both twin range operations share: 0, or -EINVAL. */
function twinRangeArgs(id: i32, pfn: i32, count: i32): i32 {
  if (id < 0 || id >= cmaAreaCount || count <= 0) return -EINVAL;
  const base = unchecked(basePfn[id]);
  if (pfn < base || count > base + unchecked(countPages[id]) - pfn) return -EINVAL;
  if (((pfn - base) & ((1 << unchecked(orderPerBit[id])) - 1)) != 0) return -EINVAL;
  return 0;
}

/**
 * cma_alloc() as the traced kernel finished it: [pfn, pfn + count) becomes the
 * area's, its bits set and every page an order-0 CMA allocation. Pages of the
 * range the twin still holds are its stale view of pages the kernel migrated
 * away and freed into isolated pageblocks (no buddy-level event shows those
 * frees): they are let go first. Returns 0; -EBUSY when a bit is already set or
 * a page is reserved, pinned or CMA-allocated (nothing changed); -EINVAL.
 */
export function cmaClaimRange(id: i32, pfn: i32, count: i32): i32 {
  const bad = twinRangeArgs(id, pfn, count);
  if (bad != 0) return bad;
  const bitNo = (pfn - unchecked(basePfn[id])) >>> unchecked(orderPerBit[id]);
  const bitCount = pagesToBits(id, count);
  if (findNextBit(bitmaps[id], bitNo + bitCount, bitNo) < bitNo + bitCount) return -EBUSY;
  const end = pfn + count;
  let p = pfn;
  while (p < end) {
    const free = findBuddyHead(p);
    if (free != NONE) {
      p = free + (1 << getOrder(free));
      continue;
    }
    const head = findBlockHead(p);
    if (head == NONE || pageKind(head) != KIND_ALLOC) return -EBUSY;
    if (pageIsReserved(head) || pageIsCmaAlloc(head) || shortPins(head) != 0 || longPins(head) != 0) return -EBUSY;
    p = head + (1 << getOrder(head));
  }
  for (p = pfn; p < end; p++) if (findBuddyHead(p) == NONE) releaseBlock(p, 0, -1);
  for (p = pfn; p < end; p++) {
    claimBlock(p, 0, MIGRATE_CMA, false);
    setCmaAlloc(p, true);
  }
  bitmapAssign(bitmaps[id], bitNo, bitCount, true);
  unchecked(availablePages[id] -= count);
  return 0;
}

/**
 * cma_release() as the traced kernel did it, up to free_contig_range(): the
 * bits clear and the pages stop being the area's, but stay held, one order-0
 * page each, as pages the kernel put on its per-cpu lists (their drains free
 * them). Returns 0; -EINVAL when a page of the range is not a CMA allocation.
 */
export function cmaUnclaimRange(id: i32, pfn: i32, count: i32): i32 {
  const bad = twinRangeArgs(id, pfn, count);
  if (bad != 0) return bad;
  for (let p = pfn; p < pfn + count; p++) {
    if (pageKind(p) != KIND_ALLOC || getOrder(p) != 0 || !pageIsCmaAlloc(p)) return -EINVAL;
  }
  for (let p = pfn; p < pfn + count; p++) setCmaAlloc(p, false);
  bitmapAssign(bitmaps[id], (pfn - unchecked(basePfn[id])) >>> unchecked(orderPerBit[id]), pagesToBits(id, count), false);
  unchecked(availablePages[id] += count);
  return 0;
}

// ---- accessors ------------------------------------------------------------------------------

export function cmaBasePfn(id: i32): i32 { return unchecked(basePfn[id]); }
export function cmaCount(id: i32): i32 { return unchecked(countPages[id]); }
export function cmaOrderPerBit(id: i32): i32 { return unchecked(orderPerBit[id]); }
export function cmaAvailable(id: i32): i32 { return unchecked(availablePages[id]); }
export function cmaIsActive(id: i32): bool { return unchecked(activated[id]) != 0; }
export function cmaBitmap(id: i32): Uint32Array { return bitmaps[id]; }
export function cmaStat(id: i32, stat: i32): f64 { return unchecked(stats[id * CMA_STAT_COUNT + stat]); }
export function cmaNextZeroBit(id: i32, start: i32): i32 { return findNextZeroBit(bitmaps[id], bitmapMaxno(id), start); }
export function cmaNextSetBit(id: i32, start: i32): i32 { return findNextBit(bitmaps[id], bitmapMaxno(id), start); }
export function cmaBitmapBits(id: i32): i32 { return bitmapMaxno(id); }

/** The area holding `pfn`, or NONE. */
export function cmaAreaOf(pfn: i32): i32 {
  return overlapsArea(pfn, 1);
}
