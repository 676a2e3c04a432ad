// memblock: the boot-time list of reserved physical ranges (CMA areas, the
// swiotlb pool), kept out of the buddy allocator by memblock_free_all(), and
// the top-down / bottom-up searches that place new reservations.

import { NONE } from "./constants.ts";

let regionBase: Int32Array = new Int32Array(0);
let regionCount: Int32Array = new Int32Array(0);
export let memblockRegions: i32 = 0;

export function memblockReset(): void {
  regionBase = new Int32Array(16);
  regionCount = new Int32Array(16);
  memblockRegions = 0;
}

/** memblock_reserve() */
export function memblockReserve(basePfn: i32, pages: i32): void {
  if (memblockRegions == regionBase.length) {
    const b = new Int32Array(memblockRegions * 2);
    const c = new Int32Array(memblockRegions * 2);
    b.set(regionBase);
    c.set(regionCount);
    regionBase = b;
    regionCount = c;
  }
  unchecked(regionBase[memblockRegions] = basePfn);
  unchecked(regionCount[memblockRegions] = pages);
  memblockRegions++;
}

/** The reserved region overlapping [startPfn, startPfn + pages), or NONE (memblock_is_region_reserved()). */
export function memblockOverlap(startPfn: i32, pages: i32): i32 {
  for (let i = 0; i < memblockRegions; i++) {
    const b = unchecked(regionBase[i]);
    if (startPfn < b + unchecked(regionCount[i]) && b < startPfn + pages) return i;
  }
  return NONE;
}

export function memblockIsReserved(pfn: i32): bool {
  return memblockOverlap(pfn, 1) != NONE;
}

/** Top-down: the highest aligned free range of `pages` in [low, end). Never the first page. */
export function memblockFindTopDown(pages: i32, alignPages: i32, low: i32, end: i32): i32 {
  let candidate = (end - pages) & ~(alignPages - 1);
  while (candidate > 0 && candidate >= low) {
    const hit = memblockOverlap(candidate, pages);
    if (hit == NONE) return candidate;
    candidate = (unchecked(regionBase[hit]) - pages) & ~(alignPages - 1);
  }
  return NONE;
}

/** Bottom-up: the lowest aligned free range of `pages` in [start, end). */
export function memblockFindBottomUp(pages: i32, alignPages: i32, start: i32, end: i32): i32 {
  let candidate = (start + alignPages - 1) & ~(alignPages - 1);
  if (candidate == 0) candidate = alignPages;
  while (candidate <= end - pages) {
    const hit = memblockOverlap(candidate, pages);
    if (hit == NONE) return candidate;
    const after = unchecked(regionBase[hit]) + unchecked(regionCount[hit]);
    candidate = (after + alignPages - 1) & ~(alignPages - 1);
  }
  return NONE;
}
