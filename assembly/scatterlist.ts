// Scatterlists (lib/scatterlist.c): building an sg table from an array of pages,
// merging physically consecutive pages into one entry.
//
// The caller (bindings/scatterlist.ts) writes the page array into `sgPages` and
// reads the new entries back from `sgPfn` / `sgOffset` / `sgLength`; the buffers
// grow as needed, so views of them are taken after each call.

import { EINVAL } from "./abi.ts";
import { pageShift } from "./memmap.ts";

export let sgPages: Int32Array = new Int32Array(0);
export let sgPfn: Int32Array = new Int32Array(0);
export let sgOffset: Uint32Array = new Uint32Array(0);
export let sgLength: Uint32Array = new Uint32Array(0);
/** The previous table's last entry after an append (its length may have grown). */
export let sgPrvLength: u32 = 0;

/** Makes room for `n` input pages (the caller then writes them into sgPages). */
export function sgReservePages(n: i32): void {
  if (sgPages.length < n) sgPages = new Int32Array(n);
}

function reserveEntries(n: i32): void {
  if (sgPfn.length >= n) return;
  sgPfn = new Int32Array(n);
  sgOffset = new Uint32Array(n);
  sgLength = new Uint32Array(n);
}

/** pages_are_mergeable(): the next page follows the previous one physically. */
// @ts-ignore: decorator
@inline function mergeable(next: i32, prev: i32): bool {
  return next == prev + 1;
}

/**
 * sg_alloc_append_table_from_pages(): `nPages` pages from sgPages, data from
 * byte `offset` of the first page for `size` bytes, segments of at most
 * `maxSegment` bytes. With a previous entry (`hasPrv`), pages that continue it
 * grow it first (sgPrvLength). Returns the number of new entries, or -EINVAL.
 */
export function sgFromPages(
  nPages: i32, offset: u32, size: f64, maxSegment: u32,
  hasPrv: bool, prvPfn: i32, prvOffset: u32, prvLength: u32,
): i32 {
  const pageSize: u32 = (1 as u32) << u32(pageShift);
  // The algorithm needs max_segment aligned to PAGE_SIZE, or it can overshoot.
  maxSegment = (maxSegment & ~(pageSize - 1)) >>> 0; // >>> 0: JS bitwise results are signed
  if (maxSegment < pageSize) return -EINVAL;
  let first = 0;
  let n = nPages;
  sgPrvLength = prvLength;
  if (hasPrv) {
    if (offset != 0) return -EINVAL;
    // Merge contiguous pages into the previous table's last entry.
    const nextPfn = prvPfn + i32((prvOffset + prvLength) >>> u32(pageShift));
    if (n > 0 && unchecked(sgPages[0]) == nextPfn) {
      let last = nextPfn - 1;
      while (n > 0 && mergeable(unchecked(sgPages[first]), last)) {
        if (f64(sgPrvLength) + f64(pageSize) > f64(maxSegment)) break;
        sgPrvLength += pageSize;
        last = unchecked(sgPages[first]);
        first++;
        n--;
      }
      if (n == 0) return 0;
    }
  }
  // Count the chunks: a run ends where pages stop being consecutive or reach max_segment.
  let chunks = 1;
  let segLen: u32 = 0;
  for (let i = first + 1; i < first + n; i++) {
    segLen += pageSize;
    if (segLen >= maxSegment || !mergeable(unchecked(sgPages[i]), unchecked(sgPages[i - 1]))) {
      chunks++;
      segLen = 0;
    }
  }
  reserveEntries(chunks);
  let cur = first;
  const end = first + n;
  for (let c = 0; c < chunks; c++) {
    segLen = 0;
    let j = cur + 1;
    for (; j < end; j++) {
      segLen += pageSize;
      if (segLen >= maxSegment || !mergeable(unchecked(sgPages[j]), unchecked(sgPages[j - 1]))) break;
    }
    // Only the first entry carries the offset; the last is clipped to what is left of size.
    const chunkSize = f64(j - cur) * f64(pageSize) - f64(offset);
    unchecked(sgPfn[c] = unchecked(sgPages[cur]));
    unchecked(sgOffset[c] = offset);
    unchecked(sgLength[c] = u32(size < chunkSize ? size : chunkSize));
    size -= chunkSize;
    offset = 0;
    cur = j;
  }
  return chunks;
}
