// Page migration (mm/migrate.c) and pinning (mm/gup.c).
//
// Migration moves an owned block to a new frame: allocate the target, copy the
// contents, retarget the owner, free the old frame. The folio is off the LRU
// meanwhile (folio_isolate_lru()), so reclaim and compaction running inside the
// target allocation (alloc_migration_target() is a blocking allocation: direct
// reclaim, direct compaction) leave it alone; afterwards it goes to the head of
// its list, migrated or not. Pins model the references
// that stop it:
//   short-term pins  transient references (I/O in flight): the block is isolated
//                    for migration but every pass fails with -EAGAIN, so
//                    alloc_contig_range() gives up with -EBUSY after 5 passes;
//   long-term pins   FOLL_LONGTERM: compaction's check for pinned anonymous
//                    folios skips the block, which is never isolated. Taking one
//                    on a CMA or isolated pageblock first migrates the block out,
//                    to memory allocated without __GFP_MOVABLE (GFP_USER).

import {
  EAGAIN, EINVAL, ENOMEM, EV_LONGTERM_MIGRATED, EV_PGMIGRATE_SUCCESS, GFP_NO_HIGHMEM, GFP_RETRY_MAYFAIL, MIGRATE_CMA,
  MIGRATE_ISOLATE, MIGRATE_UNMOVABLE, ZONE_NORMAL,
} from "./abi.ts";
import { NONE, PIN_COUNT_MAX } from "./constants.ts";
import { ALLOC_CMA } from "./buddy.ts";
import { allocPagesSlowpath } from "./compaction.ts";
import { freeUnrefPage } from "./pcp.ts";
import {
  getOrder, longPins, pageOwnerId, setPageOwnerId, setPins, shortPins,
} from "./memmap.ts";
import { ownerGetPfn, ownerSetPfn } from "./owner.ts";
import { PG_WRITEBACK, folioEndWriteback, lruMigrated, lruOf, lruvecAddFolio, lruvecDelFolio, testFlag } from "./lru.ts";
import { getPageblockMt } from "./pageblock.ts";
import { ramCopyPages } from "./ram.ts";
import { countEvent } from "./vmevents.ts";

/**
 * The gfp of __alloc_contig_migrate_range()'s and migrate_pages()'s targets:
 * GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL, a blocking allocation that
 * reclaims and compacts and, for a costly order, keeps retrying.
 */
// @ts-ignore: decorator
@inline export const GFP_MIGRATE_MOVABLE: i32 = GFP_RETRY_MAYFAIL | GFP_NO_HIGHMEM;
/** check_and_migrate_movable_pages()'s targets: GFP_USER | __GFP_NOWARN (blocking, no retry for costly orders). */
// @ts-ignore: decorator
@inline export const GFP_MIGRATE_LONGTERM: i32 = 0;

/**
 * folio_isolate_lru(): takes the owner's folio off its LRU list (PageLRU clear)
 * so that reclaim and compaction leave it alone while it migrates. Returns the
 * list to put it back on.
 */
export function folioIsolateLru(id: i32): i32 {
  const lru = lruOf(id);
  lruvecDelFolio(id);
  return lru;
}

/**
 * folio_putback_lru() after a failed migration, or folio_add_lru(dst) after a
 * successful one (migrate_folio_move(); folio_migrate_flags() kept the
 * active/file state, so the list is the one it left): the head of `lru`.
 */
export function folioAddLruHead(id: i32, lru: i32): void {
  lruvecAddFolio(id, lru);
}

/**
 * Migrates the owned block headed at `pfn`, which the caller took off the LRU
 * (folioIsolateLru()), to a frame of `targetMt` (`allocCma` as ALLOC_CMA).
 * The target comes from alloc_migration_target(): an ordinary allocation,
 * Normal and below, through the slow path with `gfp` (direct reclaim and, for
 * order > 0, compaction when the free lists cannot give it). The caller puts
 * the folio back on the LRU. Returns the new pfn, or -EAGAIN (pinned) /
 * -ENOMEM (no target).
 */
export function migrateBlock(pfn: i32, targetMt: i32, allocCma: bool, gfp: i32): i32 {
  if (shortPins(pfn) != 0 || longPins(pfn) != 0) return -EAGAIN;
  const order = getOrder(pfn);
  const id = pageOwnerId(pfn);
  // A large folio's target is GFP_TRANSHUGE-based (alloc_migration_target()):
  // GFP_HIGHUSER_MOVABLE, so its gfp_zone() is ZONE_MOVABLE again.
  const dstGfp = order > 0 ? gfp & ~GFP_NO_HIGHMEM : gfp;
  const dst = allocPagesSlowpath(order, targetMt, ZONE_NORMAL, allocCma ? ALLOC_CMA : 0, dstGfp);
  if (dst == NONE) return -ENOMEM;
  // Every caller migrates MIGRATE_SYNC (alloc_contig_range(), long-term pins,
  // move_pages()): it waits for writeback (migrate_folio_unmap()). The folio is
  // isolated, so a PG_reclaim tag is just cleared.
  if (testFlag(id, PG_WRITEBACK)) folioEndWriteback(id);
  ramCopyPages(dst, pfn, 1 << order);
  setPageOwnerId(dst, id);
  ownerSetPfn(id, dst);
  lruMigrated(id, dst); // off the LRU: only the folio's zone and its dirty/writeback share move (lru.ts)
  freeUnrefPage(pfn, order); // folio_put() of the old page: through the pcp lists
  countEvent(EV_PGMIGRATE_SUCCESS, 1 << order);
  return dst;
}

/**
 * migrate_pages() of one owner's folio (isolated from the LRU for the call, put
 * back at the head of its list either way). Returns the new pfn or -errno.
 */
export function migrateOwnerFolio(id: i32, targetMt: i32, allocCma: bool, gfp: i32): i32 {
  const lru = folioIsolateLru(id);
  const ret = migrateBlock(ownerGetPfn(id), targetMt, allocCma, gfp);
  folioAddLruHead(id, lru);
  return ret;
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
    const dst = migrateOwnerFolio(id, MIGRATE_UNMOVABLE, false, GFP_MIGRATE_LONGTERM);
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
