// Owners: the reverse mapping that makes an in-use page movable.
//
// An owner stands for whoever maps the page (an anonymous VMA, a page cache
// entry). Its id is stable; its pfn follows the page when migration moves it.
// The table grows on demand so metadata-only machines pay only for live owners.
//
//   ownerPfn[id] >= 0   live: the head pfn of the owned block
//   ownerPfn[id] <  0   free slot: -2 - (next free id), -1 ends the chain
//   ownerPfn[id] <= OWNER_SWAPPED   swapped out (swap.ts): the value is
//                       OWNER_SWAPPED - slot; the id stays taken (the pte holds
//                       a swap entry), but the owner has no frame

import { NONE } from "./constants.ts";
import { lruGrow } from "./lru.ts";

let ownerPfn: Int32Array = new Int32Array(0);
let ownerUsed: i32 = 0;
let ownerFreeHead: i32 = NONE;
/** Owners with a frame (not swapped out). */
export let ownerLive: i32 = 0;
/** Owners swapped out (their ptes hold swap entries). */
export let ownerSwappedOut: i32 = 0;
/** Encodes a swapped-out owner's slot, below every free-chain value (ids stay under 2^29). */
// @ts-ignore: decorator
@inline const OWNER_SWAPPED: i32 = -0x40000000;

export function ownerInit(): void {
  ownerPfn = new Int32Array(64);
  ownerUsed = 0;
  ownerFreeHead = NONE;
  ownerLive = 0;
  ownerSwappedOut = 0;
}

/** Slots handed out so far (live or free), for walks over the table. */
export function ownerSlots(): i32 {
  return ownerUsed;
}

/**
 * Makes room for one more owner. Callers run it before they change anything,
 * so that running out of linear memory (a trap in the grow) leaves the machine
 * as it was; ownerCreate() then never allocates.
 */
export function ownerReserve(): void {
  if (ownerFreeHead == NONE && ownerUsed == ownerPfn.length) {
    const grown = new Int32Array(ownerPfn.length << 1);
    grown.set(ownerPfn);
    ownerPfn = grown;
    lruGrow(ownerPfn.length); // the LRU's per-owner arrays (lru.ts) grow with the table
  }
}

/** ownerReserve() for `n` owners at once (a page cache range). */
export function ownerReserveMany(n: i32): void {
  let len = ownerPfn.length;
  while (len - ownerLive - ownerSwappedOut < n) len <<= 1;
  if (len != ownerPfn.length) {
    const grown = new Int32Array(len);
    grown.set(ownerPfn);
    ownerPfn = grown;
  }
  lruGrow(ownerPfn.length);
}

export function ownerCreate(pfn: i32): i32 {
  ownerReserve();
  let id = ownerFreeHead;
  if (id != NONE) {
    ownerFreeHead = -2 - unchecked(ownerPfn[id]);
  } else {
    id = ownerUsed++;
  }
  unchecked(ownerPfn[id] = pfn);
  ownerLive++;
  return id;
}

export function ownerDestroy(id: i32): void {
  if (unchecked(ownerPfn[id]) <= OWNER_SWAPPED) ownerSwappedOut--;
  else ownerLive--;
  unchecked(ownerPfn[id] = -2 - ownerFreeHead);
  ownerFreeHead = id;
}

/** The owner's page went to swap `slot`: no frame, the id kept. */
export function ownerSwapOut(id: i32, slot: i32): void {
  unchecked(ownerPfn[id] = OWNER_SWAPPED - slot);
  ownerLive--;
  ownerSwappedOut++;
}

/** A swapped-out owner faulted back in at `pfn`. */
export function ownerSwapIn(id: i32, pfn: i32): void {
  unchecked(ownerPfn[id] = pfn);
  ownerSwappedOut--;
  ownerLive++;
}

/** The swap slot of a swapped-out owner, or NONE. */
export function ownerSwapSlot(id: i32): i32 {
  if (id < 0 || id >= ownerUsed) return NONE;
  const v = unchecked(ownerPfn[id]);
  return v <= OWNER_SWAPPED ? OWNER_SWAPPED - v : NONE;
}

/** The owner's pfn, or NONE when `id` is not a live owner. */
export function ownerGetPfn(id: i32): i32 {
  if (id < 0 || id >= ownerUsed) return NONE;
  const pfn = unchecked(ownerPfn[id]);
  return pfn >= 0 ? pfn : NONE;
}

export function ownerSetPfn(id: i32, pfn: i32): void {
  unchecked(ownerPfn[id] = pfn);
}

/** Raw slot value, for the state hash. */
export function ownerSlot(id: i32): i32 {
  return unchecked(ownerPfn[id]);
}
