// Highatomic reserves (mm/page_alloc.c of Linux 6.12: reserve_highatomic_pageblock(),
// unreserve_highatomic_pageblock(), rmqueue_buddy(), the MIGRATE_HIGHATOMIC
// terms of __zone_watermark_ok()).
//
// A high-order request that cannot block (GFP_ATOMIC: ALLOC_HIGHATOMIC, set by
// gfp_to_alloc_flags() for order > 0 without __GFP_DIRECT_RECLAIM, so only in
// the slow path) that succeeds retypes the pageblock it came from to
// MIGRATE_HIGHATOMIC, up to about 1% of the zone. The free pages there are then
// kept for such requests: rmqueue_buddy() tries the highatomic lists first for
// them, other requests reach them only when they cannot block (ALLOC_NON_BLOCK)
// and everything else failed, and watermark checks of requests without
// reserve rights do not count them as free (nr_free_highatomic). Under pressure
// a blocking request that is about to fail gives the reserved pageblocks back
// to its own type, one at a time, and retries.
//
// The 6.1 profile keeps 6.1's limit (1% plus a pageblock, whole pageblocks
// only) and its watermark term (the reserve's size, not its free pages); the
// other rules are 6.12's for every profile.

import { KERNEL_6_1, MAX_NR_ZONES, MIGRATE_HIGHATOMIC } from "./abi.ts";
import { NONE, migratetypeIsMergeable } from "./constants.ts";
import {
  ALLOC_HIGHATOMIC, ALLOC_NON_BLOCK, freeBlocks, freeListHead, listIndex, moveFreepagesBlock, moveToFreeList, rmqueue,
  rmqueueSmallest,
} from "./buddy.ts";
import { maxOrder, pageblockNrPages, pageblockOrder, pageblockStartPfn } from "./memmap.ts";
import { changePageblockRange, getPageblockMt } from "./pageblock.ts";
import { kernelProfile } from "./profile.ts";
import {
  zoneEnd, zoneFreeHighatomicPages, zoneManagedPages, zonePopulated, zoneReservedHighatomic, zoneStart,
} from "./zone.ts";

/** Pageblocks retyped to MIGRATE_HIGHATOMIC and given back, for the Lab. */
export let highatomicReserved: f64 = 0;
export let highatomicUnreserved: f64 = 0;

export function highatomicInit(): void {
  highatomicReserved = 0;
  highatomicUnreserved = 0;
}

/**
 * __zone_watermark_unusable_free()'s highatomic term for a request without
 * ALLOC_RESERVES: the reserve's free pages (6.12: nr_free_highatomic), in 6.1
 * the whole reserve (nr_reserved_highatomic, an over-estimate).
 */
// @ts-ignore: decorator
@inline export function unusableHighatomicPages(zone: i32): i32 {
  if (kernelProfile == KERNEL_6_1) return unchecked(zoneReservedHighatomic[zone]);
  return unchecked(zoneFreeHighatomicPages[zone]);
}

/** The reserve limit of `zone` in pages (0: the zone reserves nothing). */
export function highatomicLimitPages(zone: i32): i32 {
  const onePercent = i32(zoneManagedPages(zone) / 100); // i32(): integer division on both backends
  // 6.1: "1 pageblock or roughly 1% of a zone" added together.
  if (kernelProfile == KERNEL_6_1) return onePercent + pageblockNrPages;
  // 6.8+: no reserve when 1% is under a pageblock, else 1% rounded up to pageblocks (ALIGN()).
  if (onePercent < pageblockNrPages) return 0;
  return i32((onePercent + pageblockNrPages - 1) / pageblockNrPages) * pageblockNrPages;
}

/** prep_move_freepages_block()'s zone test: the pageblock of `pfn` lies inside `zone`. */
function pageblockInZone(zone: i32, pfn: i32): bool {
  const start = pageblockStartPfn(pfn);
  return start >= unchecked(zoneStart[zone]) && start + pageblockNrPages <= unchecked(zoneEnd[zone]);
}

/**
 * reserve_highatomic_pageblock(): after a successful ALLOC_HIGHATOMIC
 * allocation of `order` at `pfn` in `zone`, its pageblock (or the pageblocks
 * of a block of pageblock_order or more) becomes MIGRATE_HIGHATOMIC, if the
 * zone is under its limit and the block is of a mergeable type.
 */
export function reserveHighatomicPageblock(pfn: i32, order: i32, zone: i32): void {
  const maxManaged = highatomicLimitPages(zone);
  if (unchecked(zoneReservedHighatomic[zone]) >= maxManaged) return;
  // Only normal pageblocks (those that merge with others): not CMA, isolated or already reserved.
  const mt = getPageblockMt(pfn);
  if (!migratetypeIsMergeable(mt)) return;
  if (order < pageblockOrder || kernelProfile == KERNEL_6_1) {
    if (!pageblockInZone(zone, pfn)) return; // move_freepages_block() == -1
    moveFreepagesBlock(pfn, MIGRATE_HIGHATOMIC);
    unchecked(zoneReservedHighatomic[zone] += pageblockNrPages);
    highatomicReserved += 1;
  } else {
    changePageblockRange(pfn, order, MIGRATE_HIGHATOMIC);
    unchecked(zoneReservedHighatomic[zone] += 1 << order);
    highatomicReserved += f64(1 << (order - pageblockOrder));
  }
}

/**
 * unreserve_highatomic_pageblock(ac, force): the first free highatomic block
 * (lowest order first) of the first zone in the zonelist from `highestZone`
 * down gives its pageblock back to `mt`, the request's type. Without `force`
 * a zone keeps its last reserved pageblock. True when a block was given back.
 */
export function unreserveHighatomicPageblock(highestZone: i32, mt: i32, force: bool): bool {
  for (let zone = highestZone; zone >= 0; zone--) {
    if (!zonePopulated(zone)) continue;
    // Preserve at least one pageblock unless memory pressure is really high.
    if (!force && unchecked(zoneReservedHighatomic[zone]) <= pageblockNrPages) continue;
    for (let order = 0; order <= maxOrder; order++) {
      const pfn = freeListHead(zone, order, MIGRATE_HIGHATOMIC);
      if (pfn == NONE) continue;
      if (getPageblockMt(pfn) == MIGRATE_HIGHATOMIC) {
        // Guard against underflow, as the kernel does.
        let size = pageblockNrPages > (1 << order) ? pageblockNrPages : 1 << order;
        const reserved = unchecked(zoneReservedHighatomic[zone]);
        if (size > reserved) size = reserved;
        unchecked(zoneReservedHighatomic[zone] = reserved - size);
      }
      // To the caller's type, without the stealing heuristics: the caller needs the pages.
      let moved = 0;
      if (order < pageblockOrder) {
        if (!pageblockInZone(zone, pfn)) continue;
        moved = moveFreepagesBlock(pfn, mt);
      } else {
        moveToFreeList(zone, pfn, order, mt);
        changePageblockRange(pfn, order, mt);
        moved = 1;
      }
      if (moved > 0) {
        highatomicUnreserved += order > pageblockOrder ? f64(1 << (order - pageblockOrder)) : 1;
        return true;
      }
    }
  }
  return false;
}

/**
 * rmqueue_buddy() and the end of rmqueue(): ALLOC_HIGHATOMIC requests take the
 * highatomic lists first; a request that cannot block (or an OOM victim) falls
 * back to them when __rmqueue() found nothing, as failing now is worse than
 * failing a high-order atomic request later. Afterwards a zone marked
 * ZONE_BOOSTED_WATERMARK wakes kswapd (order 0, for this zone).
 */
export function rmqueueBuddy(zone: i32, order: i32, mt: i32, allocFlags: i32): i32 {
  let pfn = NONE;
  if ((allocFlags & ALLOC_HIGHATOMIC) != 0) pfn = rmqueueSmallest(zone, order, MIGRATE_HIGHATOMIC);
  if (pfn == NONE) {
    pfn = rmqueue(zone, order, mt, allocFlags);
    if (pfn == NONE && (allocFlags & ALLOC_NON_BLOCK) != 0) pfn = rmqueueSmallest(zone, order, MIGRATE_HIGHATOMIC);
  }
  return pfn;
}

/** check(): the reserve counts against the pageblocks and free lists. */
export function highatomicCheck(): string {
  for (let zone = 0; zone < MAX_NR_ZONES; zone++) {
    const reserved = unchecked(zoneReservedHighatomic[zone]);
    if (reserved < 0) return "highatomic: nr_reserved_highatomic is negative";
    if (reserved % pageblockNrPages != 0) return "highatomic: nr_reserved_highatomic is not whole pageblocks";
    if (!zonePopulated(zone) && reserved != 0) return "highatomic: an empty zone has a reserve";
    // The list lengths themselves are checked against the memmap in check.ts.
    let free = 0;
    for (let order = 0; order <= maxOrder; order++) {
      free += unchecked(freeBlocks[listIndex(zone, order, MIGRATE_HIGHATOMIC)]) << order;
    }
    if (free != unchecked(zoneFreeHighatomicPages[zone])) {
      return "highatomic: nr_free_highatomic is " + unchecked(zoneFreeHighatomicPages[zone]).toString() +
        ", the free lists hold " + free.toString();
    }
  }
  return "";
}
