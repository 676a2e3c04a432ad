// Pageblock migratetypes (the kernel's pageblock_flags bitmap): one byte per
// block of 1 << pageblockOrder pages.

import { nrPageblocks, pageblockIndex, pageblockOrder } from "./memmap.ts";
import { dataPointer } from "./target.ts";

export let pageblockMts: Uint8Array = new Uint8Array(0);
let pageblockMtsBase: usize = 0; // its data address (WASM; see memmap.ts, pageFlagsBase)

export function pageblockInit(mt: i32): void {
  pageblockMts = new Uint8Array(nrPageblocks);
  pageblockMts.fill(u8(mt));
  pageblockMtsBase = dataPointer(pageblockMts);
}

/** get_pfnblock_migratetype() */
// @ts-ignore: decorator
@inline export function getPageblockMt(pfn: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return i32(load<u8>(pageblockMtsBase + usize(pageblockIndex(pfn))));
  return i32(unchecked(pageblockMts[pageblockIndex(pfn)]));
}

/** The type of pageblock number `index`. */
// @ts-ignore: decorator
@inline function setMtOfIndex(index: i32, mt: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<u8>(pageblockMtsBase + usize(index), u8(mt));
  else unchecked(pageblockMts[index] = u8(mt));
}

/** set_pageblock_migratetype() */
// @ts-ignore: decorator
@inline export function setPageblockMt(pfn: i32, mt: i32): void {
  setMtOfIndex(pageblockIndex(pfn), mt);
}

/** change_pageblock_range(): sets every pageblock covered by a block of `order` at `pfn`. */
export function changePageblockRange(pfn: i32, order: i32, mt: i32): void {
  let nr = order > pageblockOrder ? 1 << (order - pageblockOrder) : 1;
  let i = pageblockIndex(pfn);
  while (nr-- > 0) setMtOfIndex(i++, mt);
}
