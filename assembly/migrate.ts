// Page migration (mm/migrate.c) and pinning (mm/gup.c).
//
// Migration moves an owned block to a new frame: allocate the target, copy the
// contents, retarget the owner, free the old frame. Pins model the references
// that stop it:
//   short-term pins  transient references (I/O in flight): the block is isolated
//                    for migration but every pass fails with -EAGAIN, so
//                    alloc_contig_range() gives up with -EBUSY after 5 passes;
//   long-term pins   FOLL_LONGTERM: compaction's check for pinned anonymous
//                    folios skips the block, which is never isolated. Taking one
//                    on a CMA or isolated pageblock first migrates the block out,
//                    to memory allocated without __GFP_MOVABLE (GFP_USER).

import {
  EAGAIN, EINVAL, ENOMEM, EV_LONGTERM_MIGRATED, EV_PGMIGRATE_SUCCESS, MIGRATE_CMA, MIGRATE_ISOLATE,
  MIGRATE_UNMOVABLE, ZONE_NORMAL,
} from "./abi.ts";
import { NONE, PIN_COUNT_MAX } from "./constants.ts";
import { ALLOC_CMA, allocBlock } from "./buddy.ts";
import { freeUnrefPage } from "./pcp.ts";
import {
  getOrder, longPins, pageOwnerId, setPageOwnerId, setPins, shortPins,
} from "./memmap.ts";
import { ownerGetPfn, ownerSetPfn } from "./owner.ts";
import { lruMigrated } from "./lru.ts";
import { getPageblockMt } from "./pageblock.ts";
import { ramCopyPages } from "./ram.ts";
import { countEvent } from "./vmevents.ts";

/**
 * Migrates the owned block headed at `pfn` to a frame of `targetMt` (`allocCma`
 * as ALLOC_CMA). Returns the new pfn, or -EAGAIN (pinned) / -ENOMEM (no target).
 */
export function migrateBlock(pfn: i32, targetMt: i32, allocCma: bool): i32 {
  if (shortPins(pfn) != 0 || longPins(pfn) != 0) return -EAGAIN;
  const order = getOrder(pfn);
  const id = pageOwnerId(pfn);
  // alloc_migration_target(): an ordinary allocation, Normal and below.
  const dst = allocBlock(order, targetMt, ZONE_NORMAL, allocCma ? ALLOC_CMA : 0);
  if (dst == NONE) return -ENOMEM;
  ramCopyPages(dst, pfn, 1 << order);
  setPageOwnerId(dst, id);
  ownerSetPfn(id, dst);
  lruMigrated(id, dst); // LRU position and flags stay; the zone's share moves (lru.ts)
  freeUnrefPage(pfn, order); // folio_put() of the old page: through the pcp lists
  countEvent(EV_PGMIGRATE_SUCCESS, 1 << order);
  return dst;
}

/** folio_is_longterm_pinnable(): CMA and isolated pageblocks must stay movable. */
// @ts-ignore: decorator
@inline function longtermPinnable(pfn: i32): bool {
  const mt = getPageblockMt(pfn);
  return mt != MIGRATE_CMA && mt != MIGRATE_ISOLATE;
}

/** pin_user_pages() on an owner. Returns the (possibly new) pfn or a negative errno. */
export function pinOwner(id: i32, longterm: bool): i32 {
  let pfn = ownerGetPfn(id);
  if (pfn == NONE) return -EINVAL;
  let shortCount = shortPins(pfn);
  let longCount = longPins(pfn);
  if ((longterm ? longCount : shortCount) >= PIN_COUNT_MAX) return -ENOMEM;
  if (longterm && !longtermPinnable(pfn)) {
    // check_and_migrate_movable_pages(): a failed migration is -ENOMEM.
    const dst = migrateBlock(pfn, MIGRATE_UNMOVABLE, false);
    if (dst < 0) return -ENOMEM;
    countEvent(EV_LONGTERM_MIGRATED, 1 << getOrder(dst));
    pfn = dst;
  }
  if (longterm) longCount++;
  else shortCount++;
  setPins(pfn, shortCount, longCount);
  return pfn;
}

/** unpin_user_page() on an owner. */
export function unpinOwner(id: i32, longterm: bool): i32 {
  const pfn = ownerGetPfn(id);
  if (pfn == NONE) return -EINVAL;
  let shortCount = shortPins(pfn);
  let longCount = longPins(pfn);
  if (longterm) {
    if (longCount == 0) return -EINVAL;
    longCount--;
  } else {
    if (shortCount == 0) return -EINVAL;
    shortCount--;
  }
  setPins(pfn, shortCount, longCount);
  return 0;
}
