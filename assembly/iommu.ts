// IOMMU domains: an IOVA allocator and an IO page table per domain.
//
// IOVA allocation follows the seed's ARM dma_iommu_mapping (arch/arm/mm/dma-mapping.c):
// bitmaps of one bit per page, first fit from the bottom, aligned to the
// allocation's order capped at CONFIG_ARM_DMA_IOMMU_ALIGNMENT, and grown one
// extension (one page worth of bitmap) at a time. The IO page table is kept
// flat, one slot per IOVA page, so translation is one lookup; each mapping
// remembers the IOMMU page size it used (4K, 64K, 1M, 16M as the ARM
// short-descriptor format offers) so the number of page-table entries is known.
//
//   slot (per IOVA page)   ioPfn: physical pfn, or -1      ioFlags: R | W | size code << 2

import {
  EINVAL, ENOMEM, ERANGE, IOMMU_NR_PGSIZES, IOMMU_PGSIZE_1M, IOMMU_PGSIZE_4K, IOMMU_PGSIZE_64K, IOMMU_READ,
  IOMMU_WRITE,
} from "./abi.ts";
import { NONE } from "./constants.ts";
import { bitmapAssign, bitmapFindNextZeroAreaOff, bitsToWords, findNextZeroBit } from "./bitmap.ts";
import { fnvMix } from "./fnv.ts";
import { nrPages, pageShift } from "./memmap.ts";
import { iovaAllocFast, iovaCheck, iovaDomainInit, iovaDomainOf, iovaFreeFast, iovaHash, iovaHolds, iovaReset } from "./iova.ts";

/** CONFIG_ARM_DMA_IOMMU_ALIGNMENT default: allocations align to at most 2^8 pages. */
// @ts-ignore: decorator
@inline export const IOMMU_ALIGNMENT_ORDER: i32 = 8;

// ---- per-domain fields, indexed by domain id --------------------------------------------
const baseIovaPage: Array<f64> = new Array<f64>(0); // base IOVA in pages (f64: above 2^31 pages never, but bases up to 4 GiB)
const pagesTotal: Array<i32> = new Array<i32>(0);
const bitsPerExt: Array<i32> = new Array<i32>(0);
const extensions: Array<i32> = new Array<i32>(0);
const bitmaps: Array<Array<Uint32Array>> = new Array<Array<Uint32Array>>(0);
const ioPfn: Array<Int32Array> = new Array<Int32Array>(0);
const ioFlags: Array<Uint8Array> = new Array<Uint8Array>(0);
/** Page-table entries in use per page size: domain * IOMMU_NR_PGSIZES + size code. */
let ptes: Int32Array = new Int32Array(0);

/** Entries the last iommuMap() used, per page size code (4K, 64K, 1M, 16M). */
export const lastMapEntries: Int32Array = new Int32Array(IOMMU_NR_PGSIZES);

export function iommuReset(): void {
  baseIovaPage.length = 0;
  pagesTotal.length = 0;
  bitsPerExt.length = 0;
  extensions.length = 0;
  bitmaps.length = 0;
  ioPfn.length = 0;
  ioFlags.length = 0;
  ptes = new Int32Array(0);
  iovaReset();
}

export function domainCount(): i32 {
  return pagesTotal.length;
}

/**
 * arm_iommu_create_mapping(): a domain for IOVAs [base, base + size), both in
 * pages. Returns the domain id, -ERANGE above a 32-bit space, -EINVAL when empty.
 * A `flat` domain keeps one bitmap for the whole space, so one allocation may be
 * as large as the domain (the dma-iommu style, whose kernel allocator has no
 * extensions); otherwise the seed's one-page-of-bitmap extensions.
 */
export function domainCreate(basePage: f64, sizePages: f64, flat: i32): i32 {
  const pagesIn4G = f64(1 << (32 - pageShift)) * 1.0;
  if (sizePages > pagesIn4G || basePage + sizePages > pagesIn4G) return -ERANGE;
  if (sizePages < 1) return -EINVAL;
  const pages = i32(sizePages);
  // One page of bitmap per extension, as many extensions as the size needs.
  const bitmapBytesTotal = bitsToWords(pages) * 4;
  const pageBytes = 1 << pageShift;
  let ext = 1;
  let bytes = bitmapBytesTotal;
  if (bytes > pageBytes && flat == 0) {
    ext = i32(bytes / pageBytes);
    bytes = pageBytes;
  }
  const id = pagesTotal.length;
  baseIovaPage.push(basePage);
  pagesTotal.push(pages);
  bitsPerExt.push(bytes * 8);
  extensions.push(ext);
  const maps = new Array<Uint32Array>(0);
  maps.push(new Uint32Array(bytes >>> 2));
  bitmaps.push(maps);
  // The bitmaps may hand out a little more than `pages` (they round up to whole
  // words); the table covers all they can hand out.
  const slots = ext * bytes * 8 > pages ? ext * bytes * 8 : pages;
  const table = new Int32Array(slots);
  table.fill(NONE);
  ioPfn.push(table);
  ioFlags.push(new Uint8Array(slots));
  const grown = new Int32Array((id + 1) * IOMMU_NR_PGSIZES);
  grown.set(ptes);
  ptes = grown;
  // iommu_dma_init_domain(): the IOVA space starts at the aperture, never at pfn 0.
  if (flat != 0) iovaDomainInit(id, basePage < 1 ? 1 : i32(basePage));
  return id;
}

/** get_order() of a size in pages. */
function orderOfPages(count: i32): i32 {
  let order = 0;
  while ((1 << order) < count) order++;
  return order;
}

/**
 * IOVA space for `count` pages; returns the IOVA page offset from the domain
 * base, or -ENOMEM (DMA_MAPPING_ERROR). dma-iommu (flat) domains allocate as
 * iommu_dma_alloc_iova() does, top-down at or below `limitPage` (an absolute
 * IOVA page, the device's DMA limit within the aperture); the seed's ARM
 * domains as __alloc_iova() does, first fit from the bottom.
 */
export function iovaAlloc(d: i32, count: i32, limitPage: i32): i32 {
  if (iovaDomainOf(d)) {
    const base = i32(baseIovaPage[d]);
    const last = base + pagesTotal[d] - 1;
    const pfn = iovaAllocFast(d, count, limitPage < last ? limitPage : last);
    if (pfn == 0) return -ENOMEM;
    bitmapAssign(bitmaps[d][0], pfn - base, count, true);
    return pfn - base;
  }
  return armIovaAlloc(d, count);
}

/** __alloc_iova() of the ARM mapping code. */
function armIovaAlloc(d: i32, count: i32): i32 {
  let order = orderOfPages(count);
  if (order > IOMMU_ALIGNMENT_ORDER) order = IOMMU_ALIGNMENT_ORDER;
  const align = (1 << order) - 1;
  const bits = bitsPerExt[d];
  const maps = bitmaps[d];
  let i = 0;
  let start = 0;
  for (; i < maps.length; i++) {
    start = bitmapFindNextZeroAreaOff(maps[i], bits, 0, count, align, 0);
    if (start > bits) continue;
    break;
  }
  if (i == maps.length) {
    // extend_iommu_mapping(): one more page of bitmap, then a second attempt.
    if (maps.length >= extensions[d]) return -ENOMEM;
    maps.push(new Uint32Array(bits >>> 5));
    start = bitmapFindNextZeroAreaOff(maps[i], bits, 0, count, align, 0);
    if (start > bits) return -ENOMEM;
  }
  bitmapAssign(maps[i], start, count, true);
  return i * bits + start;
}

/** __free_iova(): a range must lie within one extension. 0 or -EINVAL. */
export function iovaFree(d: i32, iovaPage: i32, count: i32): i32 {
  if (iovaDomainOf(d)) {
    // free_iova_fast() of a range iommu_dma_alloc_iova() handed out, whole.
    const base = i32(baseIovaPage[d]);
    if (iovaPage < 0 || count <= 0 || iovaPage + count > pagesTotal[d] || !iovaHolds(d, base + iovaPage, count)) return -EINVAL;
    // Held by a caller, not sitting in a range cache (a second free).
    const map = bitmaps[d][0];
    if (findNextZeroBit(map, iovaPage + count, iovaPage) < iovaPage + count) return -EINVAL;
    bitmapAssign(bitmaps[d][0], iovaPage, count, false);
    iovaFreeFast(d, base + iovaPage, count);
    return 0;
  }
  const bits = bitsPerExt[d];
  const i = i32(iovaPage / bits);
  const start = iovaPage - i * bits;
  if (iovaPage < 0 || count <= 0 || i >= bitmaps[d].length || start + count > bits) return -EINVAL;
  bitmapAssign(bitmaps[d][i], start, count, false);
  return 0;
}

// ---- IO page table --------------------------------------------------------------------------

/** Pages per IOMMU page of size code `c` (4K, 64K, 1M, 16M) with this page size. */
function pgsizePages(c: i32): i32 {
  const shift = c == IOMMU_PGSIZE_4K ? 12 : c == IOMMU_PGSIZE_64K ? 16 : c == IOMMU_PGSIZE_1M ? 20 : 24;
  return shift <= pageShift ? 1 : 1 << (shift - pageShift);
}

/**
 * iommu_map(): maps `count` pages from IOVA page `iovaPage` (domain-relative) to
 * physical pfns from `pfn`, each piece with the largest IOMMU page both
 * addresses are aligned to and the rest of the range covers (iommu_pgsize()).
 * Returns 0, -EINVAL (out of range, or already mapped: -EEXIST in the kernel,
 * reported as -EINVAL here).
 */
export function iommuMap(d: i32, iovaPage: i32, pfn: i32, count: i32, prot: i32): i32 {
  const table = ioPfn[d];
  const flags = ioFlags[d];
  if (iovaPage < 0 || count <= 0 || iovaPage + count > table.length || pfn < 0 || pfn + count > nrPages) return -EINVAL;
  for (let i = 0; i < count; i++) if (unchecked(table[iovaPage + i]) != NONE) return -EINVAL;
  lastMapEntries.fill(0);
  let done = 0;
  while (done < count) {
    let c = IOMMU_NR_PGSIZES - 1;
    for (; c > 0; c--) {
      const n = pgsizePages(c);
      if (n > 1 && ((iovaPage + done) & (n - 1)) == 0 && ((pfn + done) & (n - 1)) == 0 && count - done >= n) break;
    }
    const n = pgsizePages(c);
    for (let i = 0; i < n; i++) {
      unchecked(table[iovaPage + done + i] = pfn + done + i);
      unchecked(flags[iovaPage + done + i] = u8(prot | (c << 2)));
    }
    unchecked(lastMapEntries[c]++);
    unchecked(ptes[d * IOMMU_NR_PGSIZES + c]++);
    done += n;
  }
  return 0;
}

/** iommu_unmap(): returns pages unmapped (whole IOMMU pages), 0 when nothing was mapped. */
export function iommuUnmap(d: i32, iovaPage: i32, count: i32): i32 {
  const table = ioPfn[d];
  const flags = ioFlags[d];
  if (iovaPage < 0 || count <= 0 || iovaPage + count > table.length) return 0;
  let done = 0;
  while (done < count) {
    const slot = iovaPage + done;
    if (unchecked(table[slot]) == NONE) break;
    const c = i32(unchecked(flags[slot])) >>> 2;
    const n = pgsizePages(c);
    const head = slot & ~(n - 1);
    for (let i = 0; i < n; i++) {
      unchecked(table[head + i] = NONE);
      unchecked(flags[head + i] = 0);
    }
    unchecked(ptes[d * IOMMU_NR_PGSIZES + c]--);
    done = head + n - iovaPage;
  }
  return done;
}

/** iommu_iova_to_phys() at page granularity: the pfn, or -1. */
export function iovaToPfn(d: i32, iovaPage: i32): i32 {
  const table = ioPfn[d];
  if (iovaPage < 0 || iovaPage >= table.length) return NONE;
  return unchecked(table[iovaPage]);
}

/** Permissions of a mapped IOVA page (IOMMU_READ | IOMMU_WRITE), 0 when unmapped. */
export function iovaProt(d: i32, iovaPage: i32): i32 {
  const flags = ioFlags[d];
  if (iovaPage < 0 || iovaPage >= flags.length) return 0;
  return i32(unchecked(flags[iovaPage])) & (IOMMU_READ | IOMMU_WRITE);
}

/** Invariant walk: "" or what is broken. */
export function iommuCheck(): string {
  const msg = iovaCheck();
  if (msg.length > 0) return msg;
  for (let d = 0; d < pagesTotal.length; d++) {
    const table = ioPfn[d];
    const flags = ioFlags[d];
    const counted = new Int32Array(IOMMU_NR_PGSIZES);
    let slot = 0;
    while (slot < table.length) {
      if (unchecked(table[slot]) == NONE) {
        if (unchecked(flags[slot]) != 0) return "iommu: unmapped slot with flags in domain " + d.toString();
        slot++;
        continue;
      }
      const c = i32(unchecked(flags[slot])) >>> 2;
      const n = pgsizePages(c);
      if ((slot & (n - 1)) != 0) return "iommu: large IO page not aligned in domain " + d.toString();
      for (let i = 1; i < n; i++) {
        if (unchecked(table[slot + i]) != unchecked(table[slot]) + i || unchecked(flags[slot + i]) != unchecked(flags[slot])) {
          return "iommu: large IO page not contiguous in domain " + d.toString();
        }
      }
      unchecked(counted[c]++);
      slot += n;
    }
    for (let c = 0; c < IOMMU_NR_PGSIZES; c++) {
      if (unchecked(counted[c]) != unchecked(ptes[d * IOMMU_NR_PGSIZES + c])) return "iommu: page-table entry count off in domain " + d.toString();
    }
  }
  return "";
}

/** Mixes the IOMMU state into a state hash. */
export function iommuHash(h: i32): i32 {
  for (let d = 0; d < pagesTotal.length; d++) {
    h = fnvMix(h, pagesTotal[d]);
    h = fnvMix(h, i32(baseIovaPage[d]));
    const maps = bitmaps[d];
    h = fnvMix(h, maps.length);
    for (let i = 0; i < maps.length; i++) {
      const m = maps[i];
      for (let w = 0; w < m.length; w++) h = fnvMix(h, i32(unchecked(m[w])));
    }
    const table = ioPfn[d];
    const flags = ioFlags[d];
    for (let i = 0; i < table.length; i++) h = fnvMix(fnvMix(h, unchecked(table[i])), i32(unchecked(flags[i])));
  }
  for (let i = 0; i < ptes.length; i++) h = fnvMix(h, unchecked(ptes[i]));
  return iovaHash(h);
}

export function domainPtes(d: i32, c: i32): i32 {
  return unchecked(ptes[d * IOMMU_NR_PGSIZES + c]);
}

export function domainPages(d: i32): i32 {
  return pagesTotal[d];
}

export function domainBasePage(d: i32): f64 {
  return baseIovaPage[d];
}

export function domainExtensions(d: i32): i32 {
  return bitmaps[d].length;
}

/** IOVA pages currently allocated in the domain (bitmap population). */
export function iovaPagesInUse(d: i32): i32 {
  const maps = bitmaps[d];
  let n = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i];
    for (let w = 0; w < m.length; w++) n += i32(popcnt<u32>(unchecked(m[w])));
  }
  return n;
}
