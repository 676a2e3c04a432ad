/**
 * Named-block primitives for replaying a real kernel's page-allocator choices
 * (the Lab's twin): take a given free block off the buddy lists, give a given
 * held block back, ask which block the allocator would choose without taking
 * it, retype a pageblock. "Held" means outside the buddy lists: in use, or on a
 * per-cpu list, which dmasim does not model.
 */
import { DmaSimError } from "../core/errors.ts";
import { requireInt } from "../core/validate.ts";
import { MIGRATETYPES, type Migratetype, type MigratetypeName } from "./migratetype.ts";
import { ZONE_NAMES, type Mm, type ZoneName } from "./mm.ts";

/** What peekRmqueue() found: the block dmasim would hand out, and the fallback it would take for it. */
export interface RmqueuePeek {
  /** Head pfn of the block the allocation would get (its first 2^order pages). */
  pfn: number;
  /** The other type's free block __rmqueue_fallback() would steal from; null when the request's own lists serve it. */
  fallback: {
    pfn: number;
    order: number;
    migratetype: MigratetypeName;
    /** steal_suitable_fallback() would claim the whole pageblock(s) for the request's type. */
    claimsPageblock: boolean;
  } | null;
}

function migratetypeIndex(where: string, name: MigratetypeName): number {
  const i = MIGRATETYPES.indexOf(name);
  if (i < 0) throw new DmaSimError("EINVAL", `${where}: unknown migratetype ${JSON.stringify(name)}`);
  return i;
}

function zoneIndex(where: string, zone: ZoneName): number {
  const z = ZONE_NAMES.indexOf(zone);
  if (z < 0 || z > 2)
    throw new DmaSimError("EINVAL", `${where}: zone must be "DMA", "DMA32" or "Normal", got ${String(zone)}`);
  return z;
}

function blockArgs(mm: Mm, where: string, pfn: number, order: number): void {
  requireInt(where, "order", order, 0, mm.maxOrder);
  requireInt(where, "pfn", pfn, 0, mm.nrPages - 2 ** order);
  if (pfn % 2 ** order !== 0) throw new DmaSimError("EINVAL", `${where}: pfn ${pfn} is not aligned to order ${order}`);
}

/**
 * take_page_off_buddy() / __isolate_free_page() for a named block: takes the
 * free block [pfn, pfn + 2^order) off the buddy lists (splitting a larger free
 * block around it as expand() does: the halves go to the heads of their lists)
 * and marks it allocated as `migratetype` (movable blocks get an owner, so that
 * stealing counts them as movable). Returns false, changing nothing, when some
 * page of the range is not free.
 */
export function claimFreeBlock(mm: Mm, pfn: number, order: number, migratetype: MigratetypeName): boolean {
  blockArgs(mm, "claimFreeBlock", pfn, order);
  const mt = migratetypeIndex("claimFreeBlock", migratetype);
  const ret = mm.engine.claimBlock(pfn, order, mt, mt === MIGRATETYPES.indexOf("movable"));
  if (ret < 0 && ret !== -16) throw DmaSimError.fromErrno(ret, `claimFreeBlock(${pfn}, ${order}): refused`);
  return ret === 0;
}

/**
 * __free_one_page() of a named held block, whatever allocations make it up (a
 * larger allocation around it is split first, as split_page() would, its other
 * parts staying held). Returns false, changing nothing, when some page of the
 * range is free, reserved, CMA-allocated or pinned.
 *
 * `listMigratetype`: the free list the kernel put it on (6.1
 * free_pcppages_bulk()'s per-cpu migratetype). Used under the 6.1 profile
 * only; later kernels free to the pageblock's type, as does the default.
 */
export function releaseHeldBlock(mm: Mm, pfn: number, order: number, listMigratetype?: MigratetypeName): boolean {
  blockArgs(mm, "releaseHeldBlock", pfn, order);
  const listMt = listMigratetype === undefined ? -1 : migratetypeIndex("releaseHeldBlock", listMigratetype);
  if (listMt > MIGRATETYPES.indexOf("reclaimable"))
    throw new DmaSimError("EINVAL", `releaseHeldBlock: listMigratetype must be unmovable, movable or reclaimable`);
  const ret = mm.engine.releaseBlock(pfn, order, listMt);
  if (ret < 0 && ret !== -16) throw DmaSimError.fromErrno(ret, `releaseHeldBlock(${pfn}, ${order}): refused`);
  return ret === 0;
}

/**
 * 6.1 steal_suitable_fallback() without a claim, as a traced steal did it:
 * with `wholeBlock` every free page of the pageblock of `pfn` moves to
 * `migratetype`'s lists (move_freepages_block()), else only the free block
 * headed at `pfn` (move_to_free_list()); no pageblock changes type. Returns
 * false, changing nothing, when `pfn` heads no free block. EINVAL under other
 * profiles, which keep every free block on its pageblock's list.
 */
export function stealWithoutClaim(mm: Mm, pfn: number, migratetype: Migratetype, wholeBlock: boolean): boolean {
  requireInt("stealWithoutClaim", "pfn", pfn, 0, mm.nrPages - 1);
  const mt = migratetypeIndex("stealWithoutClaim", migratetype);
  const ret = mm.engine.stealWithoutClaim(pfn, mt, wholeBlock);
  if (ret < 0 && ret !== -16)
    throw DmaSimError.fromErrno(
      ret,
      `stealWithoutClaim(${pfn}, ${migratetype}): ${mm.kernel === "6.1" ? "refused" : `only under the 6.1 profile (this machine follows ${mm.kernel})`}`,
    );
  return ret === 0;
}

/**
 * __rmqueue() in one zone, as a question: the block dmasim would hand out for
 * `order` and `migratetype`, changing nothing; null when the zone has no block
 * that fits. No watermarks and no ALLOC_NOFRAGMENT: the zone is given.
 */
export function peekRmqueue(mm: Mm, zone: ZoneName, order: number, migratetype: MigratetypeName): RmqueuePeek | null {
  const z = zoneIndex("peekRmqueue", zone);
  requireInt("peekRmqueue", "order", order, 0, mm.maxOrder);
  const mt = migratetypeIndex("peekRmqueue", migratetype);
  if (mt > 2) throw new DmaSimError("EINVAL", `peekRmqueue: migratetype must be unmovable, movable or reclaimable`);
  const e = mm.engine;
  const pfn = e.peekRmqueue(z, order, mt);
  if (pfn < 0) return null;
  const fbPfn = e.peekFallbackPfn();
  return {
    pfn,
    fallback:
      fbPfn < 0
        ? null
        : {
            pfn: fbPfn,
            order: e.peekFallbackOrder(),
            migratetype: MIGRATETYPES[e.peekFallbackMt()]!,
            claimsPageblock: e.peekFallbackClaims() !== 0,
          },
  };
}

/**
 * __rmqueue() in one zone (no watermarks): dmasim's own choice, taken and marked
 * allocated (movable blocks owned). The head pfn, or null when nothing fits.
 */
export function rmqueueInZone(mm: Mm, zone: ZoneName, order: number, migratetype: MigratetypeName): number | null {
  const z = zoneIndex("rmqueueInZone", zone);
  requireInt("rmqueueInZone", "order", order, 0, mm.maxOrder);
  const mt = migratetypeIndex("rmqueueInZone", migratetype);
  if (mt > 2) throw new DmaSimError("EINVAL", `rmqueueInZone: migratetype must be unmovable, movable or reclaimable`);
  const ret = mm.engine.rmqueueInZone(z, order, mt);
  return ret < 0 ? null : ret;
}

/**
 * set_pageblock_migratetype() with move_freepages_block(): the pageblock of
 * `pfn` becomes `migratetype` and its free pages move to that type's lists
 * (all pageblocks of a free block spanning several, as change_pageblock_range()).
 */
export function setPageblockMigratetype(mm: Mm, pfn: number, migratetype: MigratetypeName): void {
  requireInt("setPageblockMigratetype", "pfn", pfn, 0, mm.nrPages - 1);
  const mt = migratetypeIndex("setPageblockMigratetype", migratetype);
  const ret = mm.engine.retypePageblock(pfn, mt);
  if (ret < 0)
    throw DmaSimError.fromErrno(ret, `setPageblockMigratetype: ${migratetype} pageblocks are not set this way`);
}

/**
 * cma_alloc()'s first candidate in the area `area` for `count` pages aligned
 * to `alignOrder` (the bitmap's first fitting clear run; the kernel tries the
 * next one when alloc_contig_range() is busy there), nothing changed; null
 * when no run fits.
 */
export function peekCmaAlloc(mm: Mm, area: string, count: number, alignOrder: number): number | null {
  const a = mm.cma(area);
  requireInt("peekCmaAlloc", "count", count, 1, a.count);
  requireInt("peekCmaAlloc", "alignOrder", alignOrder, 0, 30);
  const pfn = mm.engine.cmaPeekAlloc(a.id, count, alignOrder);
  return pfn < 0 ? null : pfn;
}

function cmaRangeArgs(mm: Mm, where: string, area: string, pfn: number, count: number): number {
  const a = mm.cma(area);
  requireInt(where, "count", count, 1, a.count);
  requireInt(where, "pfn", pfn, a.basePfn, a.basePfn + a.count - count);
  if ((pfn - a.basePfn) % 2 ** a.orderPerBit !== 0)
    throw new DmaSimError("EINVAL", `${where}: pfn ${pfn} does not start a bit of ${area}'s bitmap`);
  return a.id;
}

/**
 * cma_alloc() as a traced kernel finished it: [pfn, pfn + count) becomes the
 * area's (bitmap bits set, each page an order-0 CMA allocation). Pages of the
 * range still held are let go first: the kernel had migrated them away. False,
 * changing nothing, when a bit is set already or a page is reserved, pinned or
 * CMA-allocated.
 */
export function claimCmaRange(mm: Mm, area: string, pfn: number, count: number): boolean {
  const id = cmaRangeArgs(mm, "claimCmaRange", area, pfn, count);
  const ret = mm.engine.cmaClaimRange(id, pfn, count);
  if (ret < 0 && ret !== -16) throw DmaSimError.fromErrno(ret, `claimCmaRange(${pfn}, ${count}): refused`);
  return ret === 0;
}

/**
 * cma_release() as a traced kernel did it, up to free_contig_range(): the
 * bits clear and the pages stay held, one order-0 page each, as pages on the
 * kernel's per-cpu lists until their drains (releaseHeldBlock()). False,
 * changing nothing, when a page of the range is not a CMA allocation.
 */
export function unclaimCmaRange(mm: Mm, area: string, pfn: number, count: number): boolean {
  const id = cmaRangeArgs(mm, "unclaimCmaRange", area, pfn, count);
  return mm.engine.cmaUnclaimRange(id, pfn, count) === 0;
}

/**
 * page_to_pfn() of an owner (a movable allocation's reverse map, `pageInfo().owner`):
 * where the block is now, after any migration; null when no such owner lives.
 */
export function ownerPfn(mm: Mm, owner: number): number | null {
  requireInt("ownerPfn", "owner", owner, 0, 2 ** 31 - 1);
  const pfn = mm.engine.ownerPfn(owner);
  return pfn < 0 ? null : pfn;
}
