// alloc_contig_range() and free_contig_range() (mm/page_alloc.c): win a physical
// range back from the allocator by isolating its pageblocks, migrating what is
// in use (clean page cache is dropped instead, reclaim_clean_pages_from_list();
// targets may reclaim, migrate.ts), and taking the then-free pages.

import {
  EAGAIN, EBUSY, EINVAL, ENOMEM, EV_CONTIG_FAIL, EV_CONTIG_MIGRATE_PASSES, EV_CONTIG_SUCCESS, EV_PGALLOC,
  EV_PGMIGRATE_FAIL, KIND_ALLOC, MIGRATE_CMA, MIGRATE_MOVABLE,
} from "./abi.ts";
import { COMPACT_CLUSTER_MAX } from "./compaction.ts";
import { CONTIG_MIGRATE_TRIES, NONE } from "./constants.ts";
import { findBlockHead, takeFreeBlock } from "./buddy.ts";
import { drainAllPages, freeUnrefPageRange } from "./pcp.ts";
import { startIsolatePageRange, testPagesIsolated, undoIsolatePageRange } from "./isolation.ts";
import {
  getOrder, isBuddy, longPins, nrPages, pageIsCmaAlloc, pageIsReserved, pageKind, pageOwnerId, setAllocated,
} from "./memmap.ts";
import { GFP_MIGRATE_MOVABLE, folioAddLruHead, folioIsolateLru, migrateBlock } from "./migrate.ts";
import { LRU_NONE, lruOf } from "./lru.ts";
import { reclaimCleanPagesFromList } from "./vmscan.ts";
import { zoneOf } from "./zone.ts";
import { countEvent } from "./vmevents.ts";


/**
 * The migration batch (cc->migratepages): heads of owned blocks, each taken off
 * its LRU list (folio_isolate_lru()) with the list it left in batchLru, so that
 * reclaim in a target allocation cannot free them and a nested compaction does
 * not isolate them again.
 */
const batch: Int32Array = new Int32Array(COMPACT_CLUSTER_MAX * 2);
const batchLru: Int32Array = new Int32Array(COMPACT_CLUSTER_MAX * 2);
let batchLen: i32 = 0;
/** The owners migrated in this pass, with their lists: folio_add_lru(dst) once the pass is done. */
const movedId: Int32Array = new Int32Array(COMPACT_CLUSTER_MAX * 2);
const movedLru: Int32Array = new Int32Array(COMPACT_CLUSTER_MAX * 2);

/**
 * isolate_migratepages_range(): collects owned blocks from `pfn` until a batch is
 * full; returns where the scan stopped. Long-term pinned blocks are skipped, as
 * compaction skips pinned anonymous folios, and so is a block whose head lies
 * before the scan (a tail page is never isolated).
 */
function isolateMigratepagesRange(pfn: i32, endPfn: i32): i32 {
  let pages = 0;
  while (pfn < endPfn && pages < COMPACT_CLUSTER_MAX) {
    const head = findBlockHead(pfn);
    const next = head + (1 << getOrder(head));
    if (head == pfn && pageKind(head) == KIND_ALLOC && pageOwnerId(head) != NONE && longPins(head) == 0) {
      const id = pageOwnerId(head);
      if (lruOf(id) != LRU_NONE) {
        unchecked(batchLru[batchLen] = folioIsolateLru(id));
        unchecked(batch[batchLen++] = head);
        pages += 1 << getOrder(head);
      }
    }
    pfn = next;
  }
  return pfn;
}

/**
 * migrate_pages() over the batch: failed blocks stay isolated for the next pass.
 * As migrate_pages_batch() allocates every target (unmap phase) before moving
 * any (move phase), the migrated folios reach their lists only at the end of
 * the pass, in batch order, each at the head. Returns pages failed or -ENOMEM.
 */
function migrateBatch(): i32 {
  let kept = 0;
  let moved = 0;
  let failedPages = 0;
  let ret = 0;
  for (let i = 0; i < batchLen; i++) {
    const head = unchecked(batch[i]);
    const lru = unchecked(batchLru[i]);
    const id = pageOwnerId(head);
    const r = ret == -ENOMEM ? -ENOMEM : migrateBlock(head, MIGRATE_MOVABLE, true, GFP_MIGRATE_MOVABLE);
    if (r >= 0) {
      unchecked(movedId[moved] = id);
      unchecked(movedLru[moved++] = lru);
      continue;
    }
    if (r == -ENOMEM) ret = -ENOMEM; // bail out: no point trying the rest
    if (r == -EAGAIN) failedPages += 1 << getOrder(head);
    unchecked(batchLru[kept] = lru);
    unchecked(batch[kept++] = head);
  }
  batchLen = kept;
  for (let i = 0; i < moved; i++) folioAddLruHead(unchecked(movedId[i]), unchecked(movedLru[i]));
  countEvent(EV_CONTIG_MIGRATE_PASSES, 1);
  if (failedPages != 0) countEvent(EV_PGMIGRATE_FAIL, failedPages);
  return ret != 0 ? ret : failedPages;
}

/** putback_movable_pages(): what is left of the batch goes back to the heads of its lists. */
function putbackBatch(): void {
  for (let i = 0; i < batchLen; i++) {
    folioAddLruHead(pageOwnerId(unchecked(batch[i])), unchecked(batchLru[i]));
  }
  batchLen = 0;
}

/** __alloc_contig_migrate_range() */
function allocContigMigrateRange(startPfn: i32, endPfn: i32): i32 {
  let pfn = startPfn;
  let tries = 0;
  let ret = 0;
  batchLen = 0;
  while (pfn < endPfn || batchLen != 0) {
    if (batchLen == 0) {
      pfn = isolateMigratepagesRange(pfn, endPfn);
      tries = 0;
      if (batchLen == 0) continue;
    } else if (++tries == CONTIG_MIGRATE_TRIES) {
      ret = -EBUSY;
      break;
    }
    // Clean page cache in the batch is dropped rather than migrated.
    batchLen = reclaimCleanPagesFromList(batch, batchLru, batchLen);
    ret = migrateBatch();
    if (ret == -ENOMEM) break;
  }
  putbackBatch();
  return ret < 0 ? ret : 0;
}

/** isolate_freepages_range() in strict mode: takes every free block from `startPfn`; returns the end, or NONE. */
function isolateFreepagesRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  let pfn = startPfn;
  while (pfn < endPfn) {
    if (!isBuddy(pfn)) return NONE; // cannot happen after test_pages_isolated()
    const order = getOrder(pfn);
    takeFreeBlock(pfn);
    // split_map_pages(): the block becomes order-0 allocated pages.
    const n = 1 << order;
    for (let p = pfn; p < pfn + n; p++) setAllocated(p, 0, mt);
    countEvent(EV_PGALLOC, n);
    pfn += n;
  }
  return pfn;
}

/**
 * alloc_contig_range(): allocates [startPfn, endPfn) as order-0 pages. Returns 0,
 * -EBUSY (unmovable, pinned or still busy after migration), -ENOMEM (no
 * migration target) or -EINVAL.
 */
export function allocContigRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  if (startPfn < 0 || endPfn > nrPages || startPfn >= endPfn) return -EINVAL;
  if (mt != MIGRATE_MOVABLE && mt != MIGRATE_CMA) return -EINVAL;
  // The range must lie in one zone (pageblock_pfn_to_page() / CMA's own rule).
  if (zoneOf(startPfn) != zoneOf(endPfn - 1)) return -EINVAL;
  let ret = startIsolatePageRange(startPfn, endPfn, mt);
  if (ret != 0) {
    countEvent(EV_CONTIG_FAIL, 1);
    return ret;
  }
  // Pages of the range sitting on pcp lists are not free buddy pages: drain
  // every CPU's lists of the zone before migrating (drain_all_pages(cc.zone)).
  drainAllPages(zoneOf(startPfn));
  ret = allocContigMigrateRange(startPfn, endPfn);
  if (ret == 0 || ret == -EBUSY) {
    ret = 0;
    // The range may start inside a larger free block: take it whole and give
    // back the head and tail afterwards.
    let outerStart = startPfn;
    const covering = findBlockHead(startPfn);
    if (covering != NONE && isBuddy(covering)) outerStart = covering;
    if (testPagesIsolated(outerStart, endPfn) != 0) {
      ret = -EBUSY;
    } else {
      const outerEnd = isolateFreepagesRange(outerStart, endPfn, mt);
      if (outerEnd == NONE) {
        ret = -EBUSY;
      } else {
        // Still isolated: free_unref_page() sends them straight to the buddy lists.
        if (startPfn != outerStart) freeUnrefPageRange(outerStart, startPfn - outerStart);
        if (endPfn != outerEnd) freeUnrefPageRange(endPfn, outerEnd - endPfn);
      }
    }
  }
  undoIsolatePageRange(startPfn, endPfn, mt);
  countEvent(ret == 0 ? EV_CONTIG_SUCCESS : EV_CONTIG_FAIL, 1);
  return ret;
}

/**
 * Validates a free_contig_range(): every page an order-0 allocation without an
 * owner (owned pages are freed through their owner) and not held by a CMA area
 * (those go back through cma_release()). 0 or -EINVAL.
 */
export function checkContigRange(pfn: i32, count: i32): i32 {
  if (pfn < 0 || count < 0 || pfn > nrPages || count > nrPages - pfn) return -EINVAL;
  for (let p = pfn; p < pfn + count; p++) {
    if (pageKind(p) != KIND_ALLOC || getOrder(p) != 0) return -EINVAL;
    if (pageOwnerId(p) != NONE || pageIsCmaAlloc(p) || pageIsReserved(p)) return -EINVAL;
  }
  return 0;
}

/** free_contig_range() */
export function freeContigRange(pfn: i32, count: i32): void {
  freeUnrefPageRange(pfn, count);
}
