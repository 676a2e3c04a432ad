// Kernel-version profiles: the rules where the page allocator of Linux 6.1,
// 6.12 (the engine's default rules) and 6.18 differ, chosen once per machine
// at init (setKernelProfile()). buddy.ts, claim.ts, isolation.ts, cma.ts and
// check.ts branch on `kernelProfile` where a rule differs; the rules
// themselves live here.
//
// 6.1 (mm/page_alloc.c before v6.10's "freelist migratetype hygiene"):
// - a free block sits on the list of the migratetype it was freed with, which
//   may differ from its pageblock's: free_pcppages_bulk() frees a drained
//   page to get_pcppage_migratetype(page) (freeHeldAs(), the twin's drains);
//   __free_pages_ok() frees a whole block to its first pageblock's type;
// - __free_one_page() does not retype the buddy's pageblock when merging at
//   >= pageblock order (buddy.ts freeOneBlock());
// - steal_suitable_fallback() moves the fallback block (move_to_free_list())
//   or the whole pageblock's free pages (move_freepages_block()) to the
//   requester's lists before deciding whether to claim, and keeps them there
//   when it does not claim; __rmqueue() then retries __rmqueue_smallest() of
//   the requester's type, whose expand() puts the halves on that type's list
//   (stealSuitableFallback61()).
// 6.18 (v6.15's fallback rewrite, v6.16's isolation bit, v6.16's mm/cma.c):
// - __rmqueue_claim(): from the largest order down while
//   should_try_claim_block() allows, try_to_claim_block() on the first
//   fallback block of each order; __rmqueue_steal() (not with
//   ALLOC_NOFRAGMENT): the smallest fallback block, split for the requester
//   on its own list, for every migratetype (rmqueueFallback18());
// - pageblock isolation is a bit of its own: undoing it gives each pageblock
//   back the type it had (isolation.ts, savedIsolateMt());
// - cma_range_alloc() starts from ret = -EBUSY: a full area fails with -EBUSY
//   (cma.ts);
// - vm.defrag_mode (v6.15; index.ts setDefragMode() refuses 1 on other
//   profiles): buddy.ts (ALLOC_NOFRAGMENT in alloc_flags_nofragment() and
//   get_page_from_freelist()), compaction.ts (the slow path, kcompactd's
//   whole-pageblock target), kswapd.ts (pgdat_balanced()). Its counter
//   NR_FREE_PAGES_BLOCKS is kept on every profile (buddy.ts) but printed and
//   hashed on 6.18 only.

import { boostOnFragmentingFallback } from "./watermark-boost.ts";
import {
  EINVAL, EV_EXTFRAG, EV_EXTFRAG_CLAIMED, KERNEL_6_1, KERNEL_6_12, KERNEL_6_18, MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE,
} from "./abi.ts";
import { NONE } from "./constants.ts";
import {
  ALLOC_NOFRAGMENT, claimThresholdReached, countBlockPages, delFromFreeList, expand, findSuitableFallback, freeListHead,
  lastMovable, moveFreepagesBlock, moveToFreeList, pageDelAndExpand, accountFreepages, rmqueueSmallest,
} from "./buddy.ts";
import { maxOrder, nrPageblocks, pageblockIndex, pageblockOrder, pageblockStartPfn } from "./memmap.ts";
import { changePageblockRange, getPageblockMt, setPageblockMt } from "./pageblock.ts";
import { countEvent } from "./vmevents.ts";

/** The profile in force (KERNEL_* of abi.ts). */
export let kernelProfile: i32 = KERNEL_6_12;

/** 6.18: the type each isolated pageblock had before isolation (its migratetype bits). */
let isolateSaved: Uint8Array = new Uint8Array(0);

/** At init: the default profile. */
export function profileReset(): void {
  kernelProfile = KERNEL_6_12;
  isolateSaved = new Uint8Array(0);
}

/** Selects the rules of a kernel version (before boot). 0 or -EINVAL. */
export function setKernelProfile(profile: i32): i32 {
  if (profile != KERNEL_6_12 && profile != KERNEL_6_1 && profile != KERNEL_6_18) return -EINVAL;
  kernelProfile = profile;
  if (profile == KERNEL_6_18) {
    isolateSaved = new Uint8Array(nrPageblocks);
  }
  return 0;
}

export function getKernelProfile(): i32 {
  return kernelProfile;
}

// ---- 6.18: pageblock isolation as its own bit ---------------------------------------------------

/** set_pageblock_isolate(): remembers the type under the isolate bit. */
export function saveIsolatedMt(pfn: i32, mt: i32): void {
  unchecked(isolateSaved[pageblockIndex(pfn)] = u8(mt));
}

/** The type a pageblock keeps under its isolate bit. */
export function savedIsolateMt(pfn: i32): i32 {
  return i32(unchecked(isolateSaved[pageblockIndex(pfn)]));
}

// ---- 6.1: steal_suitable_fallback() ---------------------------------------------------------------

/** 6.1 move_freepages_block(): the pageblock's free pages to the tails of `newMt`'s lists; its type unchanged. */
export function moveFreepagesOnly(pfn: i32, newMt: i32): void {
  const start = pageblockStartPfn(pfn);
  const saved = getPageblockMt(start);
  moveFreepagesBlock(start, newMt);
  setPageblockMt(start, saved);
}

/**
 * 6.1 steal_suitable_fallback() followed by __rmqueue()'s retry of
 * __rmqueue_smallest(zone, order, start_type): the block taken.
 */
export function stealSuitableFallback61(zone: i32, pfn: i32, curOrder: i32, order: i32, startMt: i32, wholeBlock: bool): i32 {
  const oldMt = getPageblockMt(pfn);
  let single = true;
  if (oldMt != MIGRATE_HIGHATOMIC) {
    if (curOrder >= pageblockOrder) {
      // Take ownership for orders >= pageblock_order, then single_page.
      changePageblockRange(pfn, curOrder, startMt);
      countEvent(EV_EXTFRAG_CLAIMED, 1);
    } else {
      // boost_watermark(), as in 6.12.
      boostOnFragmentingFallback(zone);
      if (wholeBlock) {
        const free = countBlockPages(pfn);
        const movable = lastMovable;
        moveFreepagesOnly(pfn, startMt);
        if (claimThresholdReached(free, movable, startMt, oldMt)) {
          setPageblockMt(pfn, startMt);
          countEvent(EV_EXTFRAG_CLAIMED, 1);
        }
        single = false;
      }
    }
  }
  if (single) moveToFreeList(zone, pfn, curOrder, startMt);
  // __rmqueue(): "goto retry" — the requester's lists now hold what was moved.
  return rmqueueSmallest(zone, order, startMt);
}

// ---- 6.18: __rmqueue_claim() / __rmqueue_steal() --------------------------------------------------

/** should_try_claim_block() */
// @ts-ignore: decorator
@inline export function shouldTryClaimBlock(order: i32, startMt: i32): bool {
  if (order >= pageblockOrder) return true;
  if (order >= (pageblockOrder >> 1)) return true;
  return startMt == MIGRATE_RECLAIMABLE || startMt == MIGRATE_UNMOVABLE;
}

/** try_to_claim_block(): the block handed out, or NONE when the pageblock is not claimed. */
function tryToClaimBlock(zone: i32, pfn: i32, curOrder: i32, order: i32, startMt: i32, blockMt: i32): i32 {
  if (curOrder >= pageblockOrder) {
    delFromFreeList(zone, pfn);
    accountFreepages(zone, -(1 << curOrder), blockMt);
    changePageblockRange(pfn, curOrder, startMt);
    const added = expand(zone, pfn, order, curOrder, startMt);
    accountFreepages(zone, added, startMt);
    return pfn;
  }
  // boost_watermark(): every claim attempt below pageblock_order (__rmqueue_steal() does not boost).
  boostOnFragmentingFallback(zone);
  const free = countBlockPages(pfn);
  const movable = lastMovable;
  if (claimThresholdReached(free, movable, startMt, blockMt)) {
    moveFreepagesBlock(pfn, startMt);
    return rmqueueSmallest(zone, order, startMt);
  }
  return NONE;
}

/** 6.18 __rmqueue() after its own and CMA lists: __rmqueue_claim(), then __rmqueue_steal(). */
export function rmqueueFallback18(zone: i32, order: i32, startMt: i32, allocFlags: i32): i32 {
  const minOrder = order < pageblockOrder && (allocFlags & ALLOC_NOFRAGMENT) != 0 ? pageblockOrder : order;
  for (let cur = maxOrder; cur >= minOrder; cur--) {
    if (!shouldTryClaimBlock(cur, startMt)) break; // find_suitable_fallback(): -2
    const fallbackMt = findSuitableFallback(zone, cur, startMt);
    if (fallbackMt == NONE) continue;
    const pfn = freeListHead(zone, cur, fallbackMt);
    const got = tryToClaimBlock(zone, pfn, cur, order, startMt, fallbackMt);
    if (got != NONE) {
      countEvent(EV_EXTFRAG, 1);
      countEvent(EV_EXTFRAG_CLAIMED, 1);
      return got;
    }
  }
  if ((allocFlags & ALLOC_NOFRAGMENT) != 0) return NONE;
  for (let cur = order; cur <= maxOrder; cur++) {
    const fallbackMt = findSuitableFallback(zone, cur, startMt);
    if (fallbackMt == NONE) continue;
    const pfn = freeListHead(zone, cur, fallbackMt);
    pageDelAndExpand(zone, pfn, order, cur, fallbackMt);
    countEvent(EV_EXTFRAG, 1);
    return pfn;
  }
  return NONE;
}
