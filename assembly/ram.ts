// Page contents: the simulated physical RAM.
//
// The only target-specific file of the engine. On WASM the RAM is a region of
// linear memory grown past the managed heap (a typed array caps at 1 GiB), read
// with load/store and copied with memory.copy; the portable build (tsc against
// std/portable) keeps the same bytes in one Uint8Array. Both expose the same
// small set of operations, so callers never branch on the target.

import { pageShift } from "./memmap.ts";

/** Bytes of RAM with contents, or 0 in metadata-only mode. */
export let ramBytes: u32 = 0;
/** WASM: byte address of the RAM region in linear memory. */
let ramBase: usize = 0;
/** Portable: the RAM itself. */
let ramArray: Uint8Array = new Uint8Array(0);
/** Portable: the same bytes as 32-bit words, for hashing. */
let ramWords: Uint32Array = new Uint32Array(0);

/** Byte offset of a page in RAM (below 4 GiB; `>>> 0` keeps JS unsigned). */
// @ts-ignore: decorator
@inline export function pfnToRamOffset(pfn: i32): u32 {
  return (u32(pfn) << pageShift) >>> 0;
}

/** Reserves `bytes` of zeroed RAM. Returns false when memory cannot grow. */
export function ramInit(bytes: u32): bool {
  ramBytes = bytes;
  if (bytes == 0) return true;
  if (ASC_TARGET == 0) {
    ramArray = new Uint8Array(bytes);
    // @ts-ignore: portable only (a view over the same buffer)
    ramWords = new Uint32Array(ramArray.buffer);
    return true;
  }
  // Fresh linear memory is zero, so the region needs no fill. The managed heap
  // was initialised before (memmapInit allocated), so it never claims these pages.
  // @ts-ignore: wasm only
  const pagesBefore = memory.size();
  const pagesNeeded = i32(bytes >>> 16) + ((bytes & 0xffff) != 0 ? 1 : 0);
  // @ts-ignore: wasm only
  if (memory.grow(pagesNeeded) < 0) return false;
  ramBase = usize(pagesBefore) << 16;
  return true;
}

/** Address of the RAM region in linear memory (WASM), for zero-copy views from the bindings. */
export function ramPointer(): usize {
  return ramBase;
}

/** The RAM array (portable build only). */
export function ramPortableArray(): Uint8Array {
  return ramArray;
}

/** copy_highpage() for `count` pages. */
export function ramCopyPages(dstPfn: i32, srcPfn: i32, count: i32): void {
  if (ramBytes == 0) return;
  const dst = pfnToRamOffset(dstPfn);
  const src = pfnToRamOffset(srcPfn);
  const len = pfnToRamOffset(count);
  if (ASC_TARGET == 0) {
    ramArray.copyWithin(dst, src, src + len); // JS numbers: no 2 GiB wrap
  } else {
    // @ts-ignore: wasm only
    memory.copy(ramBase + dst, ramBase + src, len);
  }
}

/** clear_highpage() for `count` pages. */
export function ramZeroPages(pfn: i32, count: i32): void {
  if (ramBytes == 0) return;
  const start = pfnToRamOffset(pfn);
  const len = pfnToRamOffset(count);
  if (ASC_TARGET == 0) {
    ramArray.fill(0, start, start + len);
  } else {
    // @ts-ignore: wasm only
    memory.fill(ramBase + start, 0, len);
  }
}

/** Reads the 32-bit little-endian word at byte `offset` of RAM (offset a multiple of 4). */
// @ts-ignore: decorator
@inline export function ramWord(offset: u32): u32 {
  if (ASC_TARGET == 0) {
    return unchecked(ramWords[i32(offset >>> 2)]);
  }
  // @ts-ignore: wasm only
  return load<u32>(ramBase + offset);
}


/** Copies `count` pages at `pfn` out to `buf` (a swap write). */
export function ramSavePages(pfn: i32, count: i32, buf: Uint8Array): void {
  if (ramBytes == 0) return;
  const start = pfnToRamOffset(pfn);
  const len = pfnToRamOffset(count);
  if (ASC_TARGET == 0) {
    buf.set(ramArray.subarray(start, start + len));
  } else {
    // @ts-ignore: wasm only
    memory.copy(buf.dataStart, ramBase + start, len);
  }
}

/** Copies `buf` into `count` pages at `pfn` (a swap read). */
export function ramLoadPages(pfn: i32, count: i32, buf: Uint8Array): void {
  if (ramBytes == 0) return;
  const start = pfnToRamOffset(pfn);
  const len = pfnToRamOffset(count);
  if (ASC_TARGET == 0) {
    ramArray.set(buf.subarray(0, len), start);
  } else {
    // @ts-ignore: wasm only
    memory.copy(ramBase + start, buf.dataStart, len);
  }
}

/** is_folio_zero_filled(): every word of the `count` pages at `pfn` is 0. */
export function ramPagesZero(pfn: i32, count: i32): bool {
  const start = pfnToRamOffset(pfn);
  const end = start + pfnToRamOffset(count);
  for (let off = start; off < end; off += 4) {
    if (ramWord(off) != 0) return false;
  }
  return true;
}
