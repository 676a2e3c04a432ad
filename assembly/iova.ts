// The IOVA allocator of dma-iommu domains, after drivers/iommu/iova.c (v6.12).
//
// Ranges are kept as the kernel's rbtree keeps them, here a sorted array of
// [pfn_lo, pfn_hi] nodes ending in the anchor node above the usable space.
// Allocation walks down from the cached node (the last allocation below 4 GiB)
// to the first gap that fits the size, aligned to the size rounded up to a
// power of two, and retries once from the anchor above the cached node when
// that fails. Freed ranges of up to 2^(IOVA_RANGE_CACHE_MAX_SIZE - 1) pages go
// to per-size range caches (magazines) and stay allocated in the tree until a
// failed allocation flushes the caches.
//
//   node i:  lo[i] .. hi[i]   sorted by lo, disjoint; node count-1 is the anchor
//   rcache (per size order, one CPU):  loaded, prev: magazines of IOVA_MAG_SIZE pfns
//                                      depot: full magazines, last pushed first
//
// Pfns are absolute IOVA page numbers (the domain base included), as the
// kernel's are, so alignment is on absolute addresses.

import { fnvMix } from "./fnv.ts";
import { pageShift } from "./memmap.ts";

/** Sizes of up to 2^(IOVA_RANGE_CACHE_MAX_SIZE - 1) pages are cached on free. */
// @ts-ignore: decorator
@inline export const IOVA_RANGE_CACHE_MAX_SIZE: i32 = 6;
/** pfns per magazine. */
// @ts-ignore: decorator
@inline export const IOVA_MAG_SIZE: i32 = 127;
/** IOVA_ANCHOR: the anchor node's pfn_lo and pfn_hi (~0UL in the kernel; above any i32 pfn used here). */
// @ts-ignore: decorator
@inline const IOVA_ANCHOR: i32 = 0x7fffffff;

class Magazine {
  pfns: Int32Array = new Int32Array(IOVA_MAG_SIZE);
  size: i32 = 0;
}

class RangeCache {
  loaded: Magazine = new Magazine();
  prev: Magazine = new Magazine();
  depot: Array<Magazine> = new Array<Magazine>(0);
}

class IovaDomain {
  lo: Int32Array = new Int32Array(16);
  hi: Int32Array = new Int32Array(16);
  count: i32 = 0;
  startPfn: i32 = 0;
  dma32Pfn: i32 = 0;
  /** The cached32 node, by its pfn_lo (IOVA_ANCHOR: the anchor). */
  cached32Lo: i32 = IOVA_ANCHOR;
  max32AllocSize: i32 = 0;
  rcaches: Array<RangeCache> = new Array<RangeCache>(0);
}

const domains: Array<IovaDomain | null> = new Array<IovaDomain | null>(0);

export function iovaReset(): void {
  domains.length = 0;
}

/** init_iova_domain() for engine domain `d` (ids shared with iommu.ts); non-flat domains get none. */
export function iovaDomainInit(d: i32, startPfn: i32): void {
  while (domains.length <= d) domains.push(null);
  const dom = new IovaDomain();
  dom.startPfn = startPfn;
  dom.dma32Pfn = 1 << (32 - pageShift);
  dom.max32AllocSize = dom.dma32Pfn;
  for (let i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) dom.rcaches.push(new RangeCache());
  insertAt(dom, 0, IOVA_ANCHOR, IOVA_ANCHOR);
  domains[d] = dom;
}

export function iovaDomainOf(d: i32): bool {
  return d < domains.length && domains[d] !== null;
}

// ---- the sorted node array ------------------------------------------------------------------

function insertAt(dom: IovaDomain, i: i32, lo: i32, hi: i32): void {
  if (dom.count == dom.lo.length) {
    const lo2 = new Int32Array(dom.lo.length << 1);
    const hi2 = new Int32Array(dom.lo.length << 1);
    lo2.set(dom.lo);
    hi2.set(dom.hi);
    dom.lo = lo2;
    dom.hi = hi2;
  }
  dom.lo.copyWithin(i + 1, i, dom.count);
  dom.hi.copyWithin(i + 1, i, dom.count);
  dom.lo[i] = lo;
  dom.hi[i] = hi;
  dom.count++;
}

function removeAt(dom: IovaDomain, i: i32): void {
  dom.lo.copyWithin(i, i + 1, dom.count);
  dom.hi.copyWithin(i, i + 1, dom.count);
  dom.count--;
}

/** Index of the node whose pfn_lo is `lo` (it exists). */
function indexOfLo(dom: IovaDomain, lo: i32): i32 {
  let a = 0;
  let b = dom.count - 1;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (dom.lo[m] < lo) a = m + 1;
    else b = m;
  }
  return a;
}

/** private_find_iova(): the node holding `pfn`, or -1. */
function findNode(dom: IovaDomain, pfn: i32): i32 {
  const i = indexOfLo(dom, pfn + 1) - 1; // the last node starting at or below pfn
  return i >= 0 && dom.hi[i] >= pfn && dom.lo[i] != IOVA_ANCHOR ? i : -1;
}

/** iova_find_limit(): the lowest node reaching limit_pfn (pfn_hi >= limit_pfn). */
function findLimit(dom: IovaDomain, limitPfn: i32): i32 {
  let i = 0;
  while (dom.hi[i] < limitPfn) i++;
  return i;
}

/** fls_long(x): the index of the highest set bit, counted from 1 (0 for 0). */
function fls(x: i32): i32 {
  return 32 - clz<i32>(x);
}

/** __alloc_and_insert_iova_range(): the new node's pfn_lo, or -1 (-ENOMEM). `limitPfn` is exclusive. */
function allocRange(dom: IovaDomain, size: i32, limitPfn: i32): i32 {
  const alignMask = -1 << fls(size - 1); // size_aligned: always, from alloc_iova_fast()
  let highPfn = limitPfn;
  let lowPfn = dom.startPfn;
  if (limitPfn <= dom.dma32Pfn && size >= dom.max32AllocSize) return -1;
  // __get_cached_rbnode(): every limit here is below 4 GiB.
  let curr = indexOfLo(dom, dom.cached32Lo);
  const retryPfn = dom.hi[curr];
  let prev = curr;
  let newPfn = 0;
  let walking = true;
  while (walking) {
    // Walk the tree backwards from `curr` to the first gap that fits.
    let more = true;
    while (more) {
      if (dom.lo[curr] < highPfn) highPfn = dom.lo[curr];
      newPfn = (highPfn - size) & alignMask;
      prev = curr;
      curr--;
      more = curr >= 0 && newPfn <= dom.hi[curr] && newPfn >= lowPfn;
    }
    walking = false;
    if (highPfn < size || newPfn < lowPfn) {
      if (lowPfn != dom.startPfn || retryPfn >= limitPfn) {
        dom.max32AllocSize = size;
        return -1;
      }
      // Once more, from the top, above what the first walk covered.
      highPfn = limitPfn;
      lowPfn = retryPfn + 1;
      curr = findLimit(dom, limitPfn);
      walking = true;
    }
  }
  // The new node goes just below `prev`, the last node walked past.
  insertAt(dom, prev, newPfn, newPfn + size - 1);
  // __cached_rbnode_insert_update()
  if (newPfn + size - 1 < dom.dma32Pfn) dom.cached32Lo = newPfn;
  return newPfn;
}

/** private_free_iova() of node `i`, with __cached_rbnode_delete_update(). */
function freeNode(dom: IovaDomain, i: i32): void {
  const lo = dom.lo[i];
  const hi = dom.hi[i];
  const cached = indexOfLo(dom, dom.cached32Lo);
  if (i == cached || (hi < dom.dma32Pfn && lo >= dom.lo[cached])) dom.cached32Lo = dom.lo[i + 1];
  if (lo < dom.dma32Pfn) dom.max32AllocSize = dom.dma32Pfn;
  removeAt(dom, i);
}

// ---- range caches -----------------------------------------------------------------------------

/** order_base_2(): the order of the smallest power of two at or above `n`. */
function orderBase2(n: i32): i32 {
  return n <= 1 ? 0 : fls(n - 1);
}

function magazinePop(mag: Magazine, limitPfn: i32): i32 {
  // Only the rbtree if no cached pfn is low enough; else the newest that is.
  let i = mag.size - 1;
  while (mag.pfns[i] > limitPfn) {
    if (i == 0) return 0;
    i--;
  }
  const pfn = mag.pfns[i];
  mag.size--;
  mag.pfns[i] = mag.pfns[mag.size];
  return pfn;
}

/** iova_rcache_get(): a cached pfn for `size` pages at or below limitPfn - size, or 0. */
function rcacheGet(dom: IovaDomain, size: i32, limitPfn: i32): i32 {
  const logSize = orderBase2(size);
  if (logSize >= IOVA_RANGE_CACHE_MAX_SIZE) return 0;
  const rc = dom.rcaches[logSize];
  if (rc.loaded.size == 0) {
    if (rc.prev.size != 0) {
      const t = rc.prev;
      rc.prev = rc.loaded;
      rc.loaded = t;
    } else if (rc.depot.length > 0) {
      rc.loaded = rc.depot.pop();
    } else {
      return 0;
    }
  }
  return magazinePop(rc.loaded, limitPfn - size);
}

/** iova_rcache_insert(): keeps `pfn` for reuse; false when the size is not cached. */
function rcacheInsert(dom: IovaDomain, pfn: i32, size: i32): bool {
  const logSize = orderBase2(size);
  if (logSize >= IOVA_RANGE_CACHE_MAX_SIZE) return false;
  const rc = dom.rcaches[logSize];
  if (rc.loaded.size == IOVA_MAG_SIZE) {
    if (rc.prev.size != IOVA_MAG_SIZE) {
      const t = rc.prev;
      rc.prev = rc.loaded;
      rc.loaded = t;
    } else {
      rc.depot.push(rc.loaded);
      rc.loaded = new Magazine();
    }
  }
  rc.loaded.pfns[rc.loaded.size++] = pfn;
  return true;
}

function freeMagazinePfns(dom: IovaDomain, mag: Magazine): void {
  for (let k = 0; k < mag.size; k++) {
    const i = findNode(dom, mag.pfns[k]);
    if (i >= 0) freeNode(dom, i);
  }
  mag.size = 0;
}

/** free_cpu_cached_iovas() + free_global_cached_iovas(): every cached range back to the tree. */
function flushRcaches(dom: IovaDomain): void {
  for (let s = 0; s < IOVA_RANGE_CACHE_MAX_SIZE; s++) {
    const rc = dom.rcaches[s];
    freeMagazinePfns(dom, rc.loaded);
    freeMagazinePfns(dom, rc.prev);
    while (rc.depot.length > 0) freeMagazinePfns(dom, rc.depot.pop());
  }
}

// ---- the public face --------------------------------------------------------------------------

/**
 * alloc_iova_fast(): `size` pages at or below `limitPfn` (inclusive), sizes
 * below 2^(IOVA_RANGE_CACHE_MAX_SIZE - 1) rounded up to a power of two; the
 * range caches first, then the tree, flushing the caches and retrying once.
 * Returns the first pfn, or 0 (the kernel's failure value).
 */
export function iovaAllocFast(d: i32, size: i32, limitPfn: i32): i32 {
  const dom = domains[d]!;
  size = roundedSize(size);
  const cached = rcacheGet(dom, size, limitPfn + 1);
  if (cached != 0) return cached;
  let pfn = allocRange(dom, size, limitPfn + 1);
  if (pfn < 0) {
    flushRcaches(dom);
    pfn = allocRange(dom, size, limitPfn + 1);
  }
  return pfn < 0 ? 0 : pfn;
}

/** free_iova_fast(): `size` (as allocated, before rounding) pages from `pfn` to the caches or the tree. */
export function iovaFreeFast(d: i32, pfn: i32, size: i32): void {
  const dom = domains[d]!;
  if (rcacheInsert(dom, pfn, size)) return;
  const i = findNode(dom, pfn);
  if (i >= 0) freeNode(dom, i);
}

/** The size alloc_iova_fast() gives a request of `size` pages. */
function roundedSize(size: i32): i32 {
  return size < 1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1) ? 1 << orderBase2(size) : size;
}

/** A tree node starts at `pfn` and is as large as a request of `size` pages was made: what iovaFreeFast() may be given. */
export function iovaHolds(d: i32, pfn: i32, size: i32): bool {
  const dom = domains[d]!;
  const i = findNode(dom, pfn);
  return i >= 0 && dom.lo[i] == pfn && dom.hi[i] - dom.lo[i] + 1 == roundedSize(size);
}

/** Nodes in the tree, the anchor excluded (live and cached ranges). */
export function iovaNodes(d: i32): i32 {
  return domains[d]!.count - 1;
}

/** Ranges held in the range caches. */
export function iovaCachedRanges(d: i32): i32 {
  const dom = domains[d]!;
  let n = 0;
  for (let s = 0; s < IOVA_RANGE_CACHE_MAX_SIZE; s++) {
    const rc = dom.rcaches[s];
    n += rc.loaded.size + rc.prev.size;
    for (let k = 0; k < rc.depot.length; k++) n += rc.depot[k].size;
  }
  return n;
}

/** Sorted, disjoint nodes inside [startPfn, anchor); every cached pfn heads a node. */
export function iovaCheck(): string {
  for (let d = 0; d < domains.length; d++) {
    const dom = domains[d];
    if (dom === null) continue;
    if (dom.count < 1 || dom.lo[dom.count - 1] != IOVA_ANCHOR) return "iova: anchor missing in domain " + d.toString();
    for (let i = 0; i < dom.count - 1; i++) {
      if (dom.lo[i] > dom.hi[i] || dom.lo[i] < dom.startPfn) return "iova: bad node in domain " + d.toString();
      if (dom.hi[i] >= dom.lo[i + 1]) return "iova: overlapping nodes in domain " + d.toString();
    }
    for (let s = 0; s < IOVA_RANGE_CACHE_MAX_SIZE; s++) {
      const rc = dom.rcaches[s];
      const mags = rc.depot.slice(0);
      mags.push(rc.loaded);
      mags.push(rc.prev);
      for (let m = 0; m < mags.length; m++) {
        for (let k = 0; k < mags[m].size; k++) {
          const i = findNode(dom, mags[m].pfns[k]);
          if (i < 0 || dom.lo[i] != mags[m].pfns[k]) return "iova: a cached range is not in the tree in domain " + d.toString();
        }
      }
    }
  }
  return "";
}

export function iovaHash(h: i32): i32 {
  for (let d = 0; d < domains.length; d++) {
    const dom = domains[d];
    if (dom === null) continue;
    h = fnvMix(fnvMix(fnvMix(h, dom.count), dom.cached32Lo), dom.max32AllocSize);
    for (let i = 0; i < dom.count; i++) h = fnvMix(fnvMix(h, dom.lo[i]), dom.hi[i]);
    for (let s = 0; s < IOVA_RANGE_CACHE_MAX_SIZE; s++) {
      const rc = dom.rcaches[s];
      h = hashMagazine(hashMagazine(h, rc.loaded), rc.prev);
      h = fnvMix(h, rc.depot.length);
      for (let k = 0; k < rc.depot.length; k++) h = hashMagazine(h, rc.depot[k]);
    }
  }
  return h;
}

function hashMagazine(h: i32, mag: Magazine): i32 {
  h = fnvMix(h, mag.size);
  for (let k = 0; k < mag.size; k++) h = fnvMix(h, mag.pfns[k]);
  return h;
}
