/**
 * Byte units and page arithmetic: PAGE_ALIGN() and friends for any page size
 * (a power of two), written once.
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

/** PFN_UP(): the pages that hold `bytes` (a partial page counts whole). */
export function pfnUp(bytes: number, pageSize: number): number {
  return Math.ceil(bytes / pageSize);
}

/** PAGE_ALIGN(): `bytes` rounded up to a whole number of pages. */
export function pageAlign(bytes: number, pageSize: number): number {
  return pfnUp(bytes, pageSize) * pageSize;
}

/** PAGE_ALIGNED() */
export function pageAligned(addr: number, pageSize: number): boolean {
  return addr % pageSize === 0;
}

/** offset_in_page() */
export function offsetInPage(addr: number, pageSize: number): number {
  return addr % pageSize;
}

/** The order of the smallest block of at least `nrPages` pages (0 for one page or less). */
export function orderOfPages(nrPages: number): number {
  return Math.max(0, Math.ceil(Math.log2(nrPages)));
}

/** get_order(): the order of the smallest block of pages that holds `bytes` (0 for a page or less). */
export function getOrder(bytes: number, pageSize: number): number {
  return orderOfPages(pfnUp(bytes, pageSize));
}
