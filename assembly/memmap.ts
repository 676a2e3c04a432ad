// The memory map: one `struct page` per page frame, stored as parallel arrays
// indexed by pfn (struct of arrays, 10 bytes a page):
//
//   pageFlags  u8    7   6   5   4   3   2   1   0
//                  ┌───┬───┬───┬───────────┬───────┐
//                  │ M │ R │CMA│    mt     │ kind  │
//                  └───┴───┴───┴───────────┴───────┘
//                  kind  0 none (tail of a block, or never set)       KIND_* in abi.ts
//                        1 buddy: head of a free block
//                        2 allocated: head of an allocation
//                        3 pcp: head of a block on a per-cpu page list (pcp.ts)
//                  mt    buddy: the free list it sits on; allocated: the migratetype asked for;
//                        pcp: the migratetype of its pcp list
//                  CMA   allocated by a CMA area (its bitmap bit is set)
//                  R     PG_reserved: memblock memory that never reached the allocator
//                  M     a mark for the length of one engine call (batch duplicate checks)
//   pageOrder  u8    order of a head page
//   pageLink0  i32   buddy/pcp: next on its list    │ allocated: owner id, or NONE
//   pageLink1  i32   buddy/pcp: prev on its list    │ allocated: pins: short-term (bits 0..15),
//                                                   │            long-term (bits 16..31)
//
// Only head pages carry state, as in the kernel: a free block's tail pages and an
// allocation's tail pages are "none". Whether a pfn is free is found by walking up
// the orders to a covering buddy head (see buddy.ts, findBuddyHead).

import { KIND_ALLOC, KIND_BUDDY, KIND_PCP, PAGE_PINS_LONG_SHIFT, PAGE_PINS_SHORT_MASK } from "./abi.ts";
import { NONE } from "./constants.ts";
import { dataPointer } from "./target.ts";

// @ts-ignore: decorator
@inline const KIND_MASK: i32 = 0x3;
// @ts-ignore: decorator
@inline const MT_SHIFT: i32 = 2;
// @ts-ignore: decorator
@inline const MT_MASK: i32 = 0x7 << MT_SHIFT;
// @ts-ignore: decorator
@inline const FLAG_CMA: i32 = 1 << 5;
// @ts-ignore: decorator
@inline const FLAG_RESERVED: i32 = 1 << 6;
// @ts-ignore: decorator
@inline const FLAG_MARK: i32 = 1 << 7;

// ---- geometry ----------------------------------------------------------------
export let nrPages: i32 = 0;
export let pageShift: i32 = 12;
export let maxOrder: i32 = 10;
export let pageblockOrder: i32 = 9;
export let pageblockNrPages: i32 = 512;
export let nrPageblocks: i32 = 0;

export let pageFlags: Uint8Array = new Uint8Array(0);
export let pageOrder: Uint8Array = new Uint8Array(0);
export let pageLink0: Int32Array = new Int32Array(0);
export let pageLink1: Int32Array = new Int32Array(0);
// Their data addresses. On WASM a typed array's elements are reached through
// its object (`dataStart`), which the compiler must reload after every store,
// since the store might have changed it; the hot arrays (memory map, free lists,
// pageblock types) keep their data address in a global, set when the array is
// created (the minimal runtime never moves or frees it), and their accessors
// load from it. The portable build indexes the arrays (one level of call less
// than a shared helper: V8 inlines a budget of bytecode, not of calls).
let pageFlagsBase: usize = 0;
let pageOrderBase: usize = 0;
let pageLink0Base: usize = 0;
let pageLink1Base: usize = 0;

/** Allocates the memory map. Callers validated the geometry. */
export function memmapInit(pages: i32, pgShift: i32, maxOrd: i32, pbOrder: i32): void {
  nrPages = pages;
  pageShift = pgShift;
  maxOrder = maxOrd;
  pageblockOrder = pbOrder;
  pageblockNrPages = 1 << pbOrder;
  nrPageblocks = pages >>> pbOrder;
  pageFlags = new Uint8Array(pages);
  pageOrder = new Uint8Array(pages);
  pageLink0 = new Int32Array(pages);
  pageLink1 = new Int32Array(pages);
  pageFlagsBase = dataPointer(pageFlags);
  pageOrderBase = dataPointer(pageOrder);
  pageLink0Base = dataPointer(pageLink0);
  pageLink1Base = dataPointer(pageLink1);
}

// ---- accessors -------------------------------------------------------------------
// @ts-ignore: decorator
@inline function flagsOf(pfn: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return i32(load<u8>(pageFlagsBase + usize(pfn)));
  return i32(unchecked(pageFlags[pfn]));
}
// @ts-ignore: decorator
@inline function setFlags(pfn: i32, flags: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<u8>(pageFlagsBase + usize(pfn), u8(flags));
  else unchecked(pageFlags[pfn] = u8(flags));
}
// @ts-ignore: decorator
@inline function setOrder(pfn: i32, order: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<u8>(pageOrderBase + usize(pfn), u8(order));
  else unchecked(pageOrder[pfn] = u8(order));
}
/** The link words: next/prev on a free list (buddy heads), owner/pins (allocated heads). */
// @ts-ignore: decorator
@inline export function link0(pfn: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return load<i32>(pageLink0Base + (usize(pfn) << 2));
  return unchecked(pageLink0[pfn]);
}
// @ts-ignore: decorator
@inline export function setLink0(pfn: i32, v: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<i32>(pageLink0Base + (usize(pfn) << 2), v);
  else unchecked(pageLink0[pfn] = v);
}
// @ts-ignore: decorator
@inline export function link1(pfn: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return load<i32>(pageLink1Base + (usize(pfn) << 2));
  return unchecked(pageLink1[pfn]);
}
// @ts-ignore: decorator
@inline export function setLink1(pfn: i32, v: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<i32>(pageLink1Base + (usize(pfn) << 2), v);
  else unchecked(pageLink1[pfn] = v);
}
// @ts-ignore: decorator
@inline export function pageKind(pfn: i32): i32 {
  return flagsOf(pfn) & KIND_MASK;
}
// @ts-ignore: decorator
@inline export function pageMt(pfn: i32): i32 {
  return (flagsOf(pfn) & MT_MASK) >>> MT_SHIFT;
}
// @ts-ignore: decorator
@inline export function pageIsCmaAlloc(pfn: i32): bool {
  return (flagsOf(pfn) & FLAG_CMA) != 0;
}
// @ts-ignore: decorator
@inline export function getOrder(pfn: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return i32(load<u8>(pageOrderBase + usize(pfn)));
  return i32(unchecked(pageOrder[pfn]));
}
// @ts-ignore: decorator
@inline export function isBuddy(pfn: i32): bool {
  return pageKind(pfn) == KIND_BUDDY;
}
// @ts-ignore: decorator
@inline export function isAllocHead(pfn: i32): bool {
  return pageKind(pfn) == KIND_ALLOC;
}

/** Marks `pfn` the head of a free block of `order` on list `mt` (links set by the list code). */
// @ts-ignore: decorator
@inline export function setBuddy(pfn: i32, order: i32, mt: i32): void {
  setFlags(pfn, KIND_BUDDY | (mt << MT_SHIFT));
  setOrder(pfn, order);
}

/** Marks `pfn` the head of a block of `order` on a pcp list of type `mt` (links set by pcp.ts). */
// @ts-ignore: decorator
@inline export function setPcpHead(pfn: i32, order: i32, mt: i32): void {
  setFlags(pfn, KIND_PCP | (mt << MT_SHIFT));
  setOrder(pfn, order);
}

/** Marks `pfn` the head of an allocation of `order` asked as `mt`, with no owner and no pins. */
// @ts-ignore: decorator
@inline export function setAllocated(pfn: i32, order: i32, mt: i32): void {
  setFlags(pfn, KIND_ALLOC | (mt << MT_SHIFT));
  setOrder(pfn, order);
  setLink0(pfn, NONE);
  setLink1(pfn, 0);
}

/** Clears a head page back to "none" (it became a tail or was merged away). */
// @ts-ignore: decorator
@inline export function clearHead(pfn: i32): void {
  setFlags(pfn, 0);
  setOrder(pfn, 0);
  setLink0(pfn, 0);
  setLink1(pfn, 0);
}

/** PG_reserved: the page belongs to a memblock reservation (the swiotlb pool). */
// @ts-ignore: decorator
@inline export function pageIsReserved(pfn: i32): bool {
  return (flagsOf(pfn) & FLAG_RESERVED) != 0;
}

/** Marks `pfn` a reserved order-0 page: allocated, owned by nobody, never freed. */
export function setReserved(pfn: i32): void {
  setAllocated(pfn, 0, 0);
  setFlags(pfn, flagsOf(pfn) | FLAG_RESERVED);
}

/** The call-local mark: set by a pass over a batch, cleared before the call returns. */
// @ts-ignore: decorator
@inline export function pageMarked(pfn: i32): bool {
  return (flagsOf(pfn) & FLAG_MARK) != 0;
}
// @ts-ignore: decorator
@inline export function setPageMark(pfn: i32, on: bool): void {
  const f = flagsOf(pfn);
  setFlags(pfn, on ? f | FLAG_MARK : f & ~FLAG_MARK);
}

// @ts-ignore: decorator
@inline export function setCmaAlloc(pfn: i32, on: bool): void {
  const f = flagsOf(pfn);
  setFlags(pfn, on ? f | FLAG_CMA : f & ~FLAG_CMA);
}

/**
 * The first free-block head in [pfn, end), or `end`. On WASM with SIMD, 16 pages'
 * flag bytes are tested at once: walks of a pageblock full of small allocations
 * (isolation, stealing) then cost a few dozen steps instead of one per page.
 */
// @ts-ignore: decorator
@inline export function nextBuddyHead(pfn: i32, end: i32): i32 {
  if (ASC_TARGET != 0 && ASC_FEATURE_SIMD) {
    const base = pageFlagsBase;
    while (pfn + 16 <= end) {
      // @ts-ignore: wasm only
      const kinds = v128.and(v128.load(base + usize(pfn)), i8x16.splat(i8(KIND_MASK)));
      // @ts-ignore: wasm only
      const mask = i8x16.bitmask(i8x16.eq(kinds, i8x16.splat(i8(KIND_BUDDY))));
      if (mask != 0) return pfn + i32(ctz<u32>(u32(mask)));
      pfn += 16;
    }
  }
  while (pfn < end && pageKind(pfn) != KIND_BUDDY) pfn++;
  return pfn;
}

// ---- allocated heads: owner and pins in the link words -------------------------
// @ts-ignore: decorator
@inline export function pageOwnerId(pfn: i32): i32 {
  return link0(pfn);
}
// @ts-ignore: decorator
@inline export function setPageOwnerId(pfn: i32, id: i32): void {
  setLink0(pfn, id);
}
// @ts-ignore: decorator
@inline export function shortPins(pfn: i32): i32 {
  return link1(pfn) & PAGE_PINS_SHORT_MASK;
}
// @ts-ignore: decorator
@inline export function longPins(pfn: i32): i32 {
  return link1(pfn) >>> PAGE_PINS_LONG_SHIFT;
}
// @ts-ignore: decorator
@inline export function setPins(pfn: i32, shortCount: i32, longCount: i32): void {
  setLink1(pfn, (longCount << PAGE_PINS_LONG_SHIFT) | shortCount);
}

// ---- pfn arithmetic -------------------------------------------------------------
// @ts-ignore: decorator
@inline export function pageblockIndex(pfn: i32): i32 {
  return pfn >>> pageblockOrder;
}
// @ts-ignore: decorator
@inline export function pageblockStartPfn(pfn: i32): i32 {
  return pfn & ~(pageblockNrPages - 1);
}
/** pageblock_align(): rounds up to a pageblock boundary. */
// @ts-ignore: decorator
@inline export function pageblockAlign(pfn: i32): i32 {
  return (pfn + pageblockNrPages - 1) & ~(pageblockNrPages - 1);
}
/** True when `pfn` is a valid frame number of this machine. */
// @ts-ignore: decorator
@inline export function pfnValid(pfn: i32): bool {
  return pfn >= 0 && pfn < nrPages;
}
