// Swap (Linux 6.12: mm/swapfile.c, mm/swap_state.c, mm/page_io.c, and
// do_swap_page() of mm/memory.c), reduced to one device: a zram-like block
// device with SWP_SYNCHRONOUS_IO, swapped on at boot without a priority.
//
//   swapon               the device's first page is the swap header: si->max =
//                        device pages, si->pages = max - 1 (SwapTotal), slot 0
//                        never handed out (swap_map[0] = SWAP_MAP_BAD); the
//                        priority is --least_priority = -2
//   add_to_swap()        a slot for an order-0 anon folio (folio_alloc_swap());
//                        which slot: the lowest free one (the kernel's cluster
//                        allocator hands out a fresh cluster's slots in order
//                        too; its per-cpu clusters and free-cluster lists are
//                        not modelled)
//   swap_writepage()     6.12's zeromap: a zero-filled folio is only marked in
//                        the bitmap (no I/O, no PSWPOUT); others are written
//                        (PSWPOUT). The write is synchronous (swap_writepage_
//                        bdev_sync()), so reclaim frees the folio in the same
//                        pass and the swap cache holds it only inside that pass
//   do_swap_page()       SWP_SYNCHRONOUS_IO with a swap count of 1 skips the
//                        swap cache: a new folio (GFP_HIGHUSER_MOVABLE through
//                        the slow path), swap_read_folio() (PSWPIN unless the
//                        slot is in the zeromap), PGMAJFAULT, folio_add_lru()
//                        (inactive anon), then swap_free_nr() frees the slot
//   free_swap_and_cache_nr()  unmapping a swapped-out page frees its slot
//
// So the swap cache is never left holding a folio (SwapCached stays 0, as on a
// zram machine without readahead). Page contents: with storeContents the
// engine keeps each written slot's bytes in a page-sized buffer (pooled, so the
// WASM build never leaks); metadata-only machines keep none and count every
// page as data (never zero-filled).
//
// The "6.1" profile has no zeromap (every swap-out is written and counted),
// and lru_note_cost() there adds only nr_pageout (vmscan.ts).

import { KERNEL_6_1 } from "./abi.ts";
import { NONE } from "./constants.ts";
import { FNV_OFFSET_BASIS, fnvMix } from "./fnv.ts";
import { PTE_YOUNG, lruAddAnon, setAnonYoungTracked, setFlag } from "./lru.ts";
import { pageShift } from "./memmap.ts";
import { ownerSlots, ownerSwapIn, ownerSwapOut, ownerSwapSlot, ownerSwappedOut } from "./owner.ts";
import { kernelProfile } from "./profile.ts";
import { ramBytes, ramLoadPages, ramPagesZero, ramSavePages, ramZeroPages } from "./ram.ts";

/** si->max: the device's pages (slot 0 is the header); 0 without swap. */
export let swapMaxPages: i32 = 0;
/** si->inuse_pages */
export let swapInusePages: i32 = 0;
/** vm_swappiness (0..MAX_SWAPPINESS). */
export let vmSwappiness: i32 = 60;
/** lruvec->anon_cost / file_cost (lru_note_cost()), kept only with swap (vmscan.ts). */
export let lruAnonCost: i32 = 0;
export let lruFileCost: i32 = 0;
/** pswpin, pswpout, pgmajfault */
export const swapEvents: Float64Array = new Float64Array(3);
// @ts-ignore: decorator
@inline export const SWAP_EV_PSWPIN: i32 = 0;
// @ts-ignore: decorator
@inline export const SWAP_EV_PSWPOUT: i32 = 1;
// @ts-ignore: decorator
@inline export const SWAP_EV_PGMAJFAULT: i32 = 2;
/** MAX_SWAPPINESS */
// @ts-ignore: decorator
@inline export const MAX_SWAPPINESS: i32 = 200;

/** swap_map with its reverse map: the owner whose pte holds each slot, NONE when free. */
let slotOwner: Int32Array = new Int32Array(0);
/** si->zeromap */
let slotZero: Uint8Array = new Uint8Array(0);
/** The buffer holding a written slot's bytes (index into bufs), NONE without. */
let slotBuf: Int32Array = new Int32Array(0);
let bufs: Array<Uint8Array> = new Array<Uint8Array>();
let freeBufs: Int32Array = new Int32Array(0);
let nrFreeBufs: i32 = 0;
/** si->lowest_bit: no free slot below it. */
let lowestFree: i32 = 1;

export function swapReset(): void {
  swapMaxPages = 0;
  swapInusePages = 0;
  vmSwappiness = 60;
  lruAnonCost = 0;
  lruFileCost = 0;
  swapEvents.fill(0);
  slotOwner = new Int32Array(0);
  slotZero = new Uint8Array(0);
  slotBuf = new Int32Array(0);
  bufs = new Array<Uint8Array>();
  freeBufs = new Int32Array(0);
  nrFreeBufs = 0;
  lowestFree = 1;
}

/** swapon of a device of `maxPages` pages (the bindings checked 2 <= maxPages <= 2^24). */
export function swapon(maxPages: i32): void {
  swapMaxPages = maxPages;
  slotOwner = new Int32Array(maxPages);
  slotOwner.fill(NONE);
  slotZero = new Uint8Array(maxPages);
  slotBuf = new Int32Array(maxPages);
  slotBuf.fill(NONE);
  lowestFree = 1;
  setAnonYoungTracked(true);
}

/** total_swap_pages: si->pages. */
export function swapTotalPages(): i32 {
  return swapMaxPages > 0 ? swapMaxPages - 1 : 0;
}

/** get_nr_swap_pages(): free slots. */
export function nrSwapPages(): i32 {
  return swapTotalPages() - swapInusePages;
}

export function setSwappiness(v: i32): void {
  vmSwappiness = v;
}

/**
 * lru_note_cost(): reclaim's cost of a list type, halved (both types) once
 * their sum passes a quarter of the LRU pages. `lruPages` the four lists' sum.
 */
export function lruNoteCost(file: bool, cost: i32, lruPages: i32): void {
  if (file) lruFileCost += cost;
  else lruAnonCost += cost;
  if (lruFileCost + lruAnonCost > i32(lruPages / 4)) {
    lruFileCost = i32(lruFileCost / 2);
    lruAnonCost = i32(lruAnonCost / 2);
  }
}

// ---- slots and their data ----------------------------------------------------------------------

function allocSlot(): i32 {
  if (nrSwapPages() <= 0) return NONE;
  for (let s = lowestFree; s < swapMaxPages; s++) {
    if (unchecked(slotOwner[s]) == NONE) {
      lowestFree = s + 1;
      return s;
    }
  }
  return NONE;
}

/** A page-sized data buffer: a pooled one, else a new one (the pool's stack grown first). */
function takeBuf(): i32 {
  if (nrFreeBufs > 0) return unchecked(freeBufs[--nrFreeBufs]);
  if (freeBufs.length <= bufs.length) {
    const grown = new Int32Array((bufs.length + 1) << 1);
    grown.set(freeBufs);
    freeBufs = grown;
  }
  const buf = new Uint8Array(1 << pageShift);
  bufs.push(buf);
  return bufs.length - 1;
}

/** swap_range_free(): the slot back, its zeromap bit and data dropped. */
function freeSlot(slot: i32): void {
  unchecked(slotOwner[slot] = NONE);
  unchecked(slotZero[slot] = 0);
  const b = unchecked(slotBuf[slot]);
  if (b != NONE) {
    unchecked(freeBufs[nrFreeBufs++] = b);
    unchecked(slotBuf[slot] = NONE);
  }
  swapInusePages--;
  if (slot < lowestFree) lowestFree = slot;
}

/**
 * add_to_swap() + pageout() → swap_writepage() of the order-0 anon folio of
 * owner `id` at `pfn`: a slot, then the zeromap or a synchronous write. The
 * owner now names the slot; the caller frees the frame (__remove_mapping()
 * drops the swap cache's hold). Returns false when no slot is free.
 */
export function swapOutFolio(id: i32, pfn: i32): bool {
  const slot = allocSlot();
  if (slot == NONE) return false;
  // 6.12 (zeromap): a zero-filled folio needs no I/O. Without contents, data is assumed.
  const zero = kernelProfile != KERNEL_6_1 && ramBytes != 0 && ramPagesZero(pfn, 1);
  // The data buffer first: growing memory may trap, and nothing has changed yet.
  const b = !zero && ramBytes != 0 ? takeBuf() : NONE;
  swapInusePages++;
  unchecked(slotOwner[slot] = id);
  if (zero) {
    unchecked(slotZero[slot] = 1);
  } else {
    if (b != NONE) {
      ramSavePages(pfn, 1, unchecked(bufs[b]));
      unchecked(slotBuf[slot] = b);
    }
    unchecked(swapEvents[SWAP_EV_PSWPOUT] += 1);
  }
  ownerSwapOut(id, slot);
  return true;
}

/**
 * do_swap_page() after the folio was allocated at `pfn`: swap_read_folio()
 * (zeromap: zero the folio; else the bytes, PSWPIN), PGMAJFAULT, the folio on
 * the inactive anon list with a young pte, and swap_free_nr() of the slot.
 */
export function swapInFolio(id: i32, pfn: i32): void {
  const slot = ownerSwapSlot(id);
  if (unchecked(slotZero[slot]) != 0) {
    ramZeroPages(pfn, 1);
  } else {
    const b = unchecked(slotBuf[slot]);
    if (b != NONE) ramLoadPages(pfn, 1, unchecked(bufs[b]));
    unchecked(swapEvents[SWAP_EV_PSWPIN] += 1);
  }
  unchecked(swapEvents[SWAP_EV_PGMAJFAULT] += 1);
  ownerSwapIn(id, pfn);
  lruAddAnon(id, pfn, 0);
  setFlag(id, PTE_YOUNG, true);
  freeSlot(slot);
}

/** free_swap_and_cache_nr(): a swapped-out page unmapped; the caller destroys the owner. */
export function swapFreeOwnerSlot(id: i32): void {
  freeSlot(ownerSwapSlot(id));
}

// ---- check() and the state hash ----------------------------------------------------------------

/** Slots and swapped-out owners point at each other; the counts agree. */
export function swapCheck(): string {
  if (swapMaxPages == 0) {
    if (ownerSwappedOut != 0) return "swap: owners swapped out without swap";
    return "";
  }
  if (unchecked(slotOwner[0]) != NONE) return "swap: slot 0 (the header) in use";
  let used = 0;
  let withData = 0;
  for (let s = 1; s < swapMaxPages; s++) {
    const id = unchecked(slotOwner[s]);
    if (id == NONE) {
      if (unchecked(slotZero[s]) != 0 || unchecked(slotBuf[s]) != NONE) return "swap: a free slot keeps data";
      if (s < lowestFree) return "swap: a free slot below lowest_bit";
      continue;
    }
    used++;
    if (unchecked(slotBuf[s]) != NONE) withData++;
    if (ownerSwapSlot(id) != s) return "swap: slot " + s.toString() + "'s owner does not name it";
    const data = unchecked(slotBuf[s]) != NONE;
    if (unchecked(slotZero[s]) != 0 && data) return "swap: a zeromap slot with data";
    if (ramBytes != 0 && unchecked(slotZero[s]) == 0 && !data) return "swap: a written slot without data";
  }
  if (used != swapInusePages) return "swap: inuse_pages disagrees with the slots";
  let swapped = 0;
  for (let id = 0; id < ownerSlots(); id++) {
    const s = ownerSwapSlot(id);
    if (s == NONE) continue;
    swapped++;
    if (s <= 0 || s >= swapMaxPages || unchecked(slotOwner[s]) != id) return "swap: a swapped-out owner's slot is not its";
  }
  if (swapped != ownerSwappedOut) return "swap: the swapped-out owner count disagrees";
  if (withData + nrFreeBufs != bufs.length) return "swap: data buffers leaked";
  return "";
}

/**
 * The hash's share, only with swap (so swapless machines hash as before it
 * existed): without swap the costs are not kept and no owner is swapped out;
 * swappiness is hashed there only when not the default.
 */
export function swapHash(h: i32): i32 {
  if (swapMaxPages == 0) return vmSwappiness != 60 ? fnvMix(h, vmSwappiness) : h;
  h = fnvMix(h, swapMaxPages);
  h = fnvMix(h, swapInusePages);
  h = fnvMix(h, vmSwappiness);
  h = fnvMix(h, lruAnonCost);
  h = fnvMix(h, lruFileCost);
  for (let i = 0; i < swapEvents.length; i++) h = fnvMix(h, i32(unchecked(swapEvents[i])));
  for (let s = 1; s < swapMaxPages; s++) {
    const id = unchecked(slotOwner[s]);
    if (id == NONE) continue;
    h = fnvMix(h, s);
    h = fnvMix(h, id | (i32(unchecked(slotZero[s])) << 30));
    const b = unchecked(slotBuf[s]);
    if (b == NONE) continue;
    const buf = unchecked(bufs[b]);
    let w = FNV_OFFSET_BASIS;
    for (let i = 0; i < buf.length; i += 4) {
      w = fnvMix(w, i32(unchecked(buf[i])) | (i32(unchecked(buf[i + 1])) << 8) |
        (i32(unchecked(buf[i + 2])) << 16) | (i32(unchecked(buf[i + 3])) << 24));
    }
    h = fnvMix(h, w);
  }
  return h;
}
