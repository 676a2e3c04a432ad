// The engine's public surface: numbers in, numbers out. Negative results are
// -errno; the bindings turn them into DmaSimError or null.

import {
  EAGAIN, EBUSY, EINVAL, ENOMEM, KERNEL_6_18, GFP_HIGH, GFP_NOBLOCK, GFP_VALID_MASK, KIND_BUDDY, KIND_PCP, MAX_NR_ZONES, MIGRATE_CMA,
  MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, PAGE_PINS_LONG_SHIFT, PAGE_STATE_CMA, PAGE_STATE_MT_SHIFT,
  PAGE_STATE_ORDER_SHIFT, PAGE_STATE_RESERVED, ZONE_DMA, ZONE_DMA32, ZONE_NORMAL,
} from "./abi.ts";
import { NONE } from "./constants.ts";
import {
  ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_MIN_RESERVE, ALLOC_NON_BLOCK, buddyInit, findBlockHead, findBuddyHead, freeBlock,
  freeBlocks, lastAllocZone, listIndex, nrFreeCmaPagesTotal, nrFreePagesTotal, setClaimThreshold, setCmaBalance, setNoFragment,
  defragMode, setDefragModeValue,
} from "./buddy.ts";
import { kernelProfile } from "./profile.ts";
import {
  minFreeKbytes, setupWatermarks, zoneCmaPages, zoneEnd, zoneFreeCmaPages, zoneFreePages, zoneFreePagesBlocks, zoneLowmemReserve,
  zoneOf, zoneSetRange, zoneStart, zoneWatermarkRaw, zonesFinish, zonesReset, zoneBoost, zoneFreeHighatomicPages,
  zoneReservedHighatomic,
} from "./zone.ts";
import {
  boostEvents, maxBoostPages, setWatermarkBoostFactor as boostSetFactor, watermarkBoostFactor, watermarkBoostInit,
  zoneBoostedFlag,
} from "./watermark-boost.ts";
import { highatomicInit, highatomicLimitPages, highatomicReserved, highatomicUnreserved } from "./highatomic.ts";
import { kswapdBoostResets, kswapdField, kswapdInit, kswapdPageoutruns, kswapdRun } from "./kswapd.ts";
import {
  cmaActivate, cmaAlloc, cmaAreaCount, cmaAvailable, cmaBasePfn, cmaBitmapBits, cmaCount, cmaDeclare,
  cmaLastError, cmaNextSetBit, cmaNextZeroBit, cmaOrderPerBit, cmaRelease, cmaReset, cmaStat,
} from "./cma.ts";
import { checkAll, corruptForTest } from "./check.ts";
import {
  bitmapCreate, bitmapNextSet, bitmapNextZero, bitmapTestBit, bitmapUpdate, bitmapZeroArea, bitmapsReset,
} from "./bitmap.ts";
import { allocContigRange, checkContigRange, freeContigRange } from "./contig.ts";
import {
  allocPagesSlowpath, compactionBoot, compactionInit, compactionSuitableResult, compactionZoneState, compactMemory,
  extfragThreshold, fragmentationIndex, lastCompactResult, pageblockSkipOf, setCompaction, setExtfragThreshold,
} from "./compaction.ts";
import { stateHash } from "./hash.ts";
import {
  advanceTime as kcompactdAdvance, clockMs, kcDeadline, kcompactdBoot, kcompactdField, kcompactdInit, lastKcompactdRuns,
  lastProactiveRuns, setCompactionProactiveness as kcompactdSetProactiveness,
} from "./kcompactd.ts";
import {
  compactionProactiveness, fragmentationScoreNode, fragmentationScoreWmark, fragmentationScoreZone,
} from "./compaction.ts";
import { isolationReset, startIsolatePageRange, testPagesIsolated, undoIsolatePageRange } from "./isolation.ts";
import {
  getOrder, isAllocHead, longPins, maxOrder, memmapInit, nrPages, pageIsCmaAlloc, pageKind, pageMt,
  pageIsReserved, pageMarked, pageOwnerId, pageblockNrPages, pageblockStartPfn, pfnValid, setPageMark, setPageOwnerId, setReserved, shortPins,
} from "./memmap.ts";
import { GFP_MIGRATE_MOVABLE, migrateOwnerFolio, pinOwner, unpinOwner } from "./migrate.ts";
import { ownerCreate, ownerDestroy, ownerGetPfn, ownerInit, ownerReserve, ownerSwapSlot } from "./owner.ts";
import { PTE_YOUNG, anonYoungTracked, isFileFolio, lruAddAnon, lruForget, lruInit, setFlag } from "./lru.ts";
import { lastScanBalance, lastScanFractionAnon, lastScanFractionFile, vmscanInit } from "./vmscan.ts";
import {
  MAX_SWAPPINESS, lruAnonCost, lruFileCost, nrSwapPages, setSwappiness, swapEvents, swapFreeOwnerSlot, swapInFolio,
  swapInusePages, swapReset, swapTotalPages, swapon, vmSwappiness,
  swapCheck,
} from "./swap.ts";
import { iovaCachedRanges, iovaNodes } from "./iova.ts";
import { getPageblockMt, pageblockInit } from "./pageblock.ts";
import { ramInit, ramPointer, ramPortableArray } from "./ram.ts";
import { dataPointer } from "./target.ts";
import { memblockFindTopDown, memblockIsReserved, memblockReserve, memblockReset } from "./memblock.ts";
import { sgFromPages, sgLength, sgOffset, sgPages, sgPfn, sgPrvLength, sgReservePages } from "./scatterlist.ts";
import {
  domainBasePage, domainCount, domainCreate, domainExtensions, domainPages, domainPtes, iommuMap, iommuReset,
  iommuUnmap, iovaAlloc, iovaFree, iovaPagesInUse, iovaProt, iovaToPfn, lastMapEntries,
} from "./iommu.ts";
import { getKernelProfile, profileReset, setKernelProfile } from "./profile.ts";
import {
  PCP_MAX_CPUS, drainAllPages, drainLocalPages, freeUnrefPage, nrCpus, pcpBoot, pcpConfigure, pcpDrainPages,
  pcpEnabled, pcpField, pcpRefillPages,
  pcpReset, pcpZonePages, percpuPagelistHighFraction, setPercpuPagelistHighFraction, setThisCpu, zoneBelowHigh,
} from "./pcp.ts";
import { allocFailByOrder, vmEvents, vmeventsInit, zonePgalloc } from "./vmevents.ts";

export {
  cmaBasePfn, cmaCount, cmaOrderPerBit, cmaAvailable, cmaStat, cmaNextZeroBit, cmaNextSetBit,
  cmaBitmapBits, ramPointer, ramPortableArray,
};

// ---- machine set-up -------------------------------------------------------------------

/**
 * Creates the memory map of `pages` frames. The caller validated the geometry;
 * `ramBytes` is 0 for metadata-only machines. Returns 0 or -ENOMEM.
 */
export function init(pages: i32, pageShift: i32, maxOrd: i32, pbOrder: i32, ramBytes: u32): i32 {
  memmapInit(pages, pageShift, maxOrd, pbOrder);
  pageblockInit(MIGRATE_MOVABLE); // memmap_init(): every pageblock starts movable
  buddyInit();
  pcpReset();
  isolationReset();
  compactionInit();
  kcompactdInit();
  watermarkBoostInit();
  highatomicInit();
  kswapdInit();
  profileReset();
  ownerInit();
  lruInit();
  vmscanInit();
  swapReset();
  vmeventsInit(maxOrd);
  cmaReset();
  zonesReset();
  iommuReset();
  bitmapsReset();
  memblockReset();
  zoneSetRange(ZONE_NORMAL, 0, pages); // one Normal zone unless setZones() says otherwise
  return ramInit(ramBytes) ? 0 : -ENOMEM;
}

/**
 * Splits RAM into DMA [0, dmaEnd), DMA32 [dmaEnd, dma32End) and Normal
 * [dma32End, end); empty zones are unpopulated. Pfns, pageblock-aligned.
 */
export function setZones(dmaEndPfn: i32, dma32EndPfn: i32): i32 {
  if (dmaEndPfn < 0 || dma32EndPfn < dmaEndPfn || dma32EndPfn > nrPages) return -EINVAL;
  if (((dmaEndPfn | dma32EndPfn) & (pageblockNrPages - 1)) != 0) return -EINVAL;
  zoneSetRange(ZONE_DMA, 0, dmaEndPfn);
  zoneSetRange(ZONE_DMA32, dmaEndPfn, dma32EndPfn);
  zoneSetRange(ZONE_NORMAL, dma32EndPfn, nrPages);
  return 0;
}

export { cmaDeclare };

/**
 * Per-cpu page lists before boot: `cpus` online CPUs (1..PCP_MAX_CPUS), `enabled`
 * false to free every page straight to the buddy lists. 0 or -EINVAL.
 */
export function setCpus(cpus: i32, enabled: bool): i32 {
  if (cpus < 1 || cpus > PCP_MAX_CPUS) return -EINVAL;
  pcpConfigure(cpus, enabled);
  return 0;
}

/** The CPU the following allocations and frees run on (0..cpus-1), or -EINVAL. */
export function setCpu(cpu: i32): i32 {
  if (cpu < 0 || cpu >= nrCpus) return -EINVAL;
  setThisCpu(cpu);
  return 0;
}

export function cpuCount(): i32 { return nrCpus; }
export function pcpListsEnabled(): bool { return pcpEnabled; }

/** A struct per_cpu_pages field (PCP_* of pcp.ts: 0 count .. 7 alloc_factor) of (cpu, zone), or -EINVAL. */
export function pcpState(cpu: i32, zone: i32, field: i32): i32 {
  if (cpu < 0 || cpu >= nrCpus || zone < 0 || zone >= MAX_NR_ZONES || field < 0 || field > 7) return -EINVAL;
  return pcpField(cpu, zone, field);
}

/** Pages on pcp lists of `zone` (all CPUs), or of every zone for -1. */
export function pcpPages(zone: i32): i32 {
  if (zone == -1) {
    let n = 0;
    for (let z = 0; z < MAX_NR_ZONES; z++) n += pcpZonePages(z);
    return n;
  }
  if (zone < 0 || zone >= MAX_NR_ZONES) return -EINVAL;
  return pcpZonePages(zone);
}

/** ZONE_BELOW_HIGH of `zone`. */
export function zoneIsBelowHigh(zone: i32): i32 {
  return zone >= 0 && zone < MAX_NR_ZONES ? zoneBelowHigh[zone] : -EINVAL;
}

/** vm.percpu_pagelist_high_fraction = v (0 or >= 8, else -EINVAL, nothing changed). */
export function setPercpuPagelistHighFractionValue(v: i32): i32 {
  return setPercpuPagelistHighFraction(v) ? 0 : -EINVAL;
}
export function percpuPagelistHighFractionValue(): i32 { return percpuPagelistHighFraction; }

/** Pages moved onto pcp lists by refills (0) or returned from them by drains (1), since boot. */
export function pcpTraffic(which: i32): f64 {
  return which == 0 ? pcpRefillPages : pcpDrainPages;
}

/** drain_all_pages(zone) (zone -1: every zone), or drain_local_pages() on this CPU when `local`. */
export function drainPages(zone: i32, local: bool): i32 {
  if (zone < -1 || zone >= MAX_NR_ZONES) return -EINVAL;
  if (local) drainLocalPages(zone);
  else drainAllPages(zone);
  return 0;
}

/**
 * Boot: watermarks and lowmem reserves from the zone sizes, then
 * memblock_free_all() hands every unreserved page to the buddy allocator in the
 * largest aligned blocks, zone by zone. `minKbytes` < 0 takes the kernel's
 * default min_free_kbytes; r0..r3 are sysctl_lowmem_reserve_ratio[].
 */
export function boot(minKbytes: i32, scaleFactor: i32, r0: i32, r1: i32, r2: i32, r3: i32): void {
  zonesFinish();
  const ratios = new Int32Array(MAX_NR_ZONES);
  ratios[0] = r0;
  ratios[1] = r1;
  ratios[2] = r2;
  ratios[3] = r3;
  setupWatermarks(minKbytes, scaleFactor, ratios);
  pcpBoot(); // setup_per_zone_wmarks() → zone_pcp_update(): batch, high_min, high_max
  compactionBoot();
  kcompactdBoot();
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    let pfn = zoneStart[z];
    const zoneEndPfn = zoneEnd[z];
    while (pfn < zoneEndPfn) {
      if (memblockIsReserved(pfn)) {
        pfn++;
        continue;
      }
      let end = pfn;
      while (end < zoneEndPfn && !memblockIsReserved(end)) end++;
      // __free_pages_memory(): largest block the start's alignment allows.
      while (pfn < end) {
        let order = pfn == 0 ? maxOrder : i32(ctz<u32>(u32(pfn)));
        if (order > maxOrder) order = maxOrder;
        while (pfn + (1 << order) > end) order--;
        freeBlock(pfn, order, true); // __free_pages_core(): FPI_TO_TAIL
        pfn += 1 << order;
      }
    }
  }
}

/**
 * memblock_alloc_low()-style reservation before boot (the swiotlb pool): the
 * highest free range of `pages`, aligned, below `limitPfn`. Returns its pfn or -ENOMEM.
 */
export function memblockAllocLow(pages: i32, alignPages: i32, limitPfn: i32): i32 {
  if (pages <= 0 || alignPages <= 0 || (alignPages & (alignPages - 1)) != 0) return -EINVAL;
  const end = limitPfn > nrPages ? nrPages : limitPfn;
  const base = memblockFindTopDown(pages, alignPages, 0, end);
  if (base == NONE) return -ENOMEM;
  memblockReserve(base, pages);
  for (let p = base; p < base + pages; p++) setReserved(p); // PageReserved: never in the buddy allocator
  return base;
}

/** cma_activate_area() for area `id`, after boot(): 0, or -EINVAL when it spans two zones. */
export function cmaActivateArea(id: i32): i32 {
  if (id < 0 || id >= cmaAreaCount) return -EINVAL;
  return cmaActivate(id);
}

export { setCmaBalance, setKernelProfile, getKernelProfile };

// ---- the page allocator -----------------------------------------------------------------

/**
 * alloc_pages(): `mt` MIGRATE_UNMOVABLE..MIGRATE_RECLAIMABLE, `highestZone` the
 * gfp zone modifier's zone (ZONE_DMA, ZONE_DMA32 or ZONE_NORMAL), `gfp`
 * GFP_HIGH | GFP_NOBLOCK | GFP_NORETRY | GFP_NOCOMPACT bits (abi.ts): a request that may
 * block and do I/O runs direct compaction when it finds nothing. A movable block gets an
 * owner. Returns the pfn, -ENOMEM (NULL) or -EINVAL; lastZone() tells the zone.
 */
export function allocPages(order: i32, mt: i32, highestZone: i32, gfp: i32): i32 {
  if (order < 0 || order > maxOrder || mt < 0 || mt > MIGRATE_RECLAIMABLE) return -EINVAL;
  if (highestZone < 0 || highestZone > ZONE_NORMAL || (gfp & ~GFP_VALID_MASK) != 0) return -EINVAL;
  let flags = mt == MIGRATE_MOVABLE ? ALLOC_CMA : 0;
  // gfp_to_alloc_flags() (6.12): __GFP_HIGH → ALLOC_MIN_RESERVE; no __GFP_DIRECT_RECLAIM →
  // ALLOC_NON_BLOCK, and for order > 0 ALLOC_HIGHATOMIC. (The slow path's flags:
  // the fast path keeps only ALLOC_CMA, see getPageFast().)
  if ((gfp & GFP_HIGH) != 0) flags |= ALLOC_MIN_RESERVE;
  if ((gfp & GFP_NOBLOCK) != 0) {
    flags |= ALLOC_NON_BLOCK;
    if (order > 0) flags |= ALLOC_HIGHATOMIC;
  }
  // The owner's slot first: nothing below may grow memory once a page is taken.
  if (mt == MIGRATE_MOVABLE) ownerReserve();
  const pfn = allocPagesSlowpath(order, mt, highestZone, flags, gfp);
  if (pfn == NONE) return -ENOMEM;
  if (mt == MIGRATE_MOVABLE) {
    const id = ownerCreate(pfn);
    setPageOwnerId(pfn, id);
    lruAddAnon(id, pfn, order); // folio_add_lru(): the inactive anon list (lru.ts)
  }
  return pfn;
}

// ---- batched entry points: one boundary crossing for N operations ------------------------------

/** The batch buffer: pfns in and out (grown as needed; views are taken after each call). */
let batchPfns: Int32Array = new Int32Array(0);

export function batchReserve(n: i32): void {
  if (batchPfns.length < n) batchPfns = new Int32Array(n);
}
export function batchPtr(): usize { return dataPointer(batchPfns); }
export function batchArray(): Int32Array { return batchPfns; }

/**
 * `count` allocPages() calls; pfns (or -ENOMEM) land in the batch buffer.
 * Returns how many succeeded, or -EINVAL (nothing done) for bad arguments.
 */
export function allocPagesBatch(count: i32, order: i32, mt: i32, highestZone: i32, gfp: i32): i32 {
  if (count < 0 || count > batchPfns.length) return -EINVAL;
  if (order < 0 || order > maxOrder || mt < 0 || mt > MIGRATE_RECLAIMABLE) return -EINVAL;
  if (highestZone < 0 || highestZone > ZONE_NORMAL || (gfp & ~GFP_VALID_MASK) != 0) return -EINVAL;
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const pfn = allocPages(order, mt, highestZone, gfp);
    unchecked(batchPfns[i] = pfn);
    if (pfn >= 0) ok++;
  }
  return ok;
}

/** Clears the marks of the first `count` pfns in the batch buffer. */
function unmarkBatch(count: i32): void {
  for (let i = 0; i < count; i++) setPageMark(unchecked(batchPfns[i]), false);
}

/** `count` freePages() of the pfns in the batch buffer; all are checked first, so a bad one frees nothing. */
export function freePagesBatch(count: i32, order: i32): i32 {
  if (count < 0 || count > batchPfns.length) return -EINVAL;
  // A pfn listed twice would be a double free: each checked head is marked, and
  // a head found marked already is the second listing. The marks go before returning.
  for (let i = 0; i < count; i++) {
    const pfn = unchecked(batchPfns[i]);
    let ret = freeRefusal(pfn, order);
    if (ret == 0 && pageMarked(pfn)) ret = -EINVAL;
    if (ret != 0) {
      unmarkBatch(i);
      return ret;
    }
    setPageMark(pfn, true);
  }
  unmarkBatch(count);
  for (let i = 0; i < count; i++) freePages(unchecked(batchPfns[i]), order);
  return 0;
}

/** The zone that served the last successful allocation. */
export function lastZone(): i32 {
  return lastAllocZone;
}

/** The zone of `pfn`, or -EINVAL. */
export function zoneOfPfn(pfn: i32): i32 {
  return pfnValid(pfn) ? zoneOf(pfn) : -EINVAL;
}

export function zoneStartPfn(z: i32): i32 { return zoneStart[z]; }
export function zoneEndPfn(z: i32): i32 { return zoneEnd[z]; }
export function zoneFree(z: i32): i32 { return zoneFreePages[z]; }
export function zoneFreeCma(z: i32): i32 { return zoneFreeCmaPages[z]; }
/** NR_FREE_PAGES_BLOCKS of zone `z`: free pages in blocks of pageblock order or more (not isolated). */
export function zoneFreeBlocksPages(z: i32): i32 { return zoneFreePagesBlocks[z]; }
export function zoneCma(z: i32): i32 { return zoneCmaPages[z]; }
/** zone->_watermark[which] (without the boost; zoneBoostPages() tells it). */
export function zoneWmarkPages(z: i32, which: i32): i32 { return zoneWatermarkRaw(z, which); }
export function zoneProtection(z: i32, highest: i32): i32 { return zoneLowmemReserve(z, highest); }
export function zonePgallocPages(z: i32): f64 { return zonePgalloc[z]; }
export function minFreeKbytesInForce(): i32 { return minFreeKbytes; }
export { setNoFragment, setClaimThreshold };

/**
 * vm.defrag_mode = v: 0 or 1 (proc_dointvec_minmax() with SYSCTL_ZERO and
 * SYSCTL_ONE); 1 only on the 6.18 profile (the sysctl came with v6.15, 0 is
 * what older kernels do): else -EINVAL, nothing changed. Takes effect from the
 * next allocation.
 */
export function setDefragMode(v: i32): i32 {
  if (v < 0 || v > 1 || (v == 1 && kernelProfile != KERNEL_6_18)) return -EINVAL;
  setDefragModeValue(v == 1);
  return 0;
}
export function defragModeValue(): i32 {
  return defragMode ? 1 : 0;
}

/** Why a free of (pfn, order) is refused: 0 when it may go ahead. */
export function checkFreePages(pfn: i32, order: i32): i32 {
  return freeRefusal(pfn, order);
}

// @ts-ignore: decorator
@inline function freeRefusal(pfn: i32, order: i32): i32 {
  if (!pfnValid(pfn) || order < 0 || order > maxOrder) return -EINVAL;
  if (!isAllocHead(pfn) || getOrder(pfn) != order) return -EINVAL;
  if (pageIsCmaAlloc(pfn) || pageIsReserved(pfn)) return -EINVAL;
  if (shortPins(pfn) != 0 || longPins(pfn) != 0) return -EBUSY;
  // A page cache folio leaves only through its file (truncate, reclaim, drop_caches).
  const id = pageOwnerId(pfn);
  if (id != NONE && isFileFolio(id)) return -EINVAL;
  return 0;
}

/** __free_pages(): 0, -EINVAL (not an allocation of this order) or -EBUSY (pinned). */
export function freePages(pfn: i32, order: i32): i32 {
  const ret = freeRefusal(pfn, order);
  if (ret != 0) return ret;
  const id = pageOwnerId(pfn);
  if (id != NONE) {
    lruForget(id);
    ownerDestroy(id);
  }
  freeUnrefPage(pfn, order);
  return 0;
}

// ---- owners, pins, migration -----------------------------------------------------------------

// ---- swap (swap.ts) ------------------------------------------------------------------------------

/** swapon of a `maxPages`-page device (2..2^24, once, before any allocation). Returns 0 or -EINVAL. */
export function swapOn(maxPages: i32): i32 {
  if (maxPages < 2 || maxPages > (1 << 24) || swapTotalPages() != 0) return -EINVAL;
  swapon(maxPages);
  return 0;
}

/** 0 SwapTotal (si->pages), 1 free slots, 2 slots in use, 3 swappiness, 4 anon_cost, 5 file_cost. */
export function swapState(field: i32): i32 {
  if (field == 0) return swapTotalPages();
  if (field == 1) return nrSwapPages();
  if (field == 2) return swapInusePages;
  if (field == 3) return vmSwappiness;
  if (field == 4) return lruAnonCost;
  if (field == 5) return lruFileCost;
  return -EINVAL;
}

/** pswpin, pswpout, pgmajfault (0..2). */
export function swapEvent(which: i32): f64 {
  return which >= 0 && which < 3 ? unchecked(swapEvents[which]) : 0;
}

/** vm.swappiness: 0..MAX_SWAPPINESS (proc_dointvec_minmax()), else -EINVAL. */
export function setSwappinessValue(v: i32): i32 {
  if (v < 0 || v > MAX_SWAPPINESS) return -EINVAL;
  setSwappiness(v);
  return 0;
}

/** The last get_scan_count(): 0 balance (SCAN_EQUAL, FRACT, ANON, FILE); the last SCAN_FRACT's 1 ap, 2 fp. */
export function lastScanCount(field: i32): f64 {
  if (field == 0) return f64(lastScanBalance);
  return field == 1 ? lastScanFractionAnon : lastScanFractionFile;
}

/** The swap slot of a swapped-out owner, or -1. */
export function ownerSwapSlotOf(id: i32): i32 {
  return ownerSwapSlot(id);
}

/**
 * A CPU access to an anonymous owner's page: a swapped-out one faults in
 * (do_swap_page(): a GFP_HIGHUSER_MOVABLE folio through the slow path, which
 * may reclaim; -ENOMEM leaves it swapped out); the pte ends young. Returns the
 * pfn, -EINVAL (not a live anon owner) or -ENOMEM.
 */
export function anonFault(id: i32): i32 {
  const slot = ownerSwapSlot(id);
  if (slot == NONE) {
    const pfn = ownerGetPfn(id);
    if (pfn == NONE || isFileFolio(id)) return -EINVAL;
    if (anonYoungTracked) setFlag(id, PTE_YOUNG, true);
    return pfn;
  }
  const pfn = allocPagesSlowpath(0, MIGRATE_MOVABLE, ZONE_NORMAL, ALLOC_CMA, 0);
  if (pfn == NONE) return -ENOMEM;
  setPageOwnerId(pfn, id);
  swapInFolio(id, pfn);
  return pfn;
}

/** Unmapping a swapped-out anon page (free_swap_and_cache_nr()): its slot freed, the owner gone. */
export function freeSwappedOwner(id: i32): i32 {
  if (ownerSwapSlot(id) == NONE) return -EINVAL;
  swapFreeOwnerSlot(id);
  lruForget(id);
  ownerDestroy(id);
  return 0;
}

/** The owner of the block headed at `pfn`, or -1. */
export function ownerOf(pfn: i32): i32 {
  if (!pfnValid(pfn) || !isAllocHead(pfn)) return NONE;
  return pageOwnerId(pfn);
}

/** The owner's current pfn, or -EINVAL. */
export function ownerPfn(id: i32): i32 {
  const pfn = ownerGetPfn(id);
  return pfn == NONE ? -EINVAL : pfn;
}

export function pin(id: i32, longterm: i32): i32 {
  return pinOwner(id, longterm != 0);
}

export function unpin(id: i32, longterm: i32): i32 {
  return unpinOwner(id, longterm != 0);
}

/** migrate_pages() of one owned block, as compaction would move it. Returns the new pfn or -errno. */
export function migrateOwner(id: i32): i32 {
  const pfn = ownerGetPfn(id);
  if (pfn == NONE) return -EINVAL;
  const ret = migrateOwnerFolio(id, MIGRATE_MOVABLE, true, GFP_MIGRATE_MOVABLE);
  return ret == -EAGAIN ? -EBUSY : ret;
}

// ---- compaction -----------------------------------------------------------------------------

export { compactMemory, compactionZoneState, pageblockSkipOf, setCompaction, setExtfragThreshold };

/** compaction_suitable() of `zone` at `order` as a COMPACT_* result, or -EINVAL. */
export function compactionSuitable(zone: i32, order: i32, highestZone: i32): i32 {
  if (zone < 0 || zone > ZONE_NORMAL || order < 0 || order > maxOrder) return -EINVAL;
  if (highestZone < zone || highestZone > ZONE_NORMAL) return -EINVAL;
  return compactionSuitableResult(zone, order, highestZone);
}

/** fragmentation_index() of `zone` at `order` (thousandths); -100000 for bad arguments. */
export function zoneFragmentationIndex(zone: i32, order: i32): i32 {
  if (zone < 0 || zone > ZONE_NORMAL || order < 0 || order > maxOrder) return -100000;
  return fragmentationIndex(zone, order);
}

/** vm.extfrag_threshold in force. */
export function compactionExtfragThreshold(): i32 {
  return extfragThreshold;
}

// ---- the simulated clock, kcompactd and proactive compaction ---------------------------------

/** Advances the simulated clock by `ms` (a whole number >= 0), running kcompactd when due; -EINVAL for a bad `ms`. */
export function advanceTime(ms: f64): i32 {
  if (!(ms >= 0) || ms != Math.floor(ms) || ms > 1e15) return -EINVAL;
  // I/O started before completes first (folio_end_writeback()), then a woken
  // kswapd runs at the current time; it may wake kcompactd.
  pageCacheEndWritebacks();
  kswapdRun();
  return kcompactdAdvance(ms);
}
/** kswapd's state: 0 kswapd_order, 1 kswapd_highest_zoneidx, 2 runnable, 3 runs in the last advanceTime(). */
export function kswapdState(field: i32): i32 {
  return kswapdField(field);
}

// ---- watermark boosting and highatomic reserves -------------------------------------------------

/** zone->watermark_boost, in pages. */
export function zoneBoostPages(z: i32): i32 { return zoneBoost[z]; }
/** ZONE_BOOSTED_WATERMARK of zone `z` (1 set). */
export function zoneBoostedWatermark(z: i32): i32 { return zoneBoostedFlag[z]; }
/** The largest boost of zone `z` under the current factor (0: boosting is off for it). */
export function zoneMaxBoostPages(z: i32): i32 { return maxBoostPages(z); }
/** vm.watermark_boost_factor = v (0..INT_MAX, else -EINVAL). */
export function setWatermarkBoostFactor(v: i32): i32 {
  if (v < 0) return -EINVAL;
  boostSetFactor(v);
  return 0;
}
export function watermarkBoostFactorValue(): i32 { return watermarkBoostFactor; }
/** zone->nr_reserved_highatomic, in pages. */
export function zoneReservedHighatomicPages(z: i32): i32 { return zoneReservedHighatomic[z]; }
/** zone->nr_free_highatomic, in pages. */
export function zoneFreeHighatomic(z: i32): i32 { return zoneFreeHighatomicPages[z]; }
/** The highatomic reserve limit of zone `z`, in pages. */
export function zoneHighatomicLimitPages(z: i32): i32 { return highatomicLimitPages(z); }
/** Counters: 0 boost_watermark() raises, 1 kswapd boost resets, 2 pageblocks reserved, 3 unreserved, 4 pageoutrun. */
export function boostHighatomicEvents(which: i32): f64 {
  if (which == 0) return boostEvents;
  if (which == 1) return kswapdBoostResets;
  if (which == 2) return highatomicReserved;
  if (which == 3) return highatomicUnreserved;
  if (which == 4) return kswapdPageoutruns;
  return -1;
}
/** The simulated clock, ms since boot. */
export function clockNow(): f64 {
  return clockMs;
}
/** kcompactd's timeout (ms since boot), or -1 when it sleeps until woken. */
export function kcompactdDeadline(): f64 {
  return kcDeadline;
}
/** kcompactd's state: 0 max order, 1 highest zone, 2 runnable, 3 proactive trigger; 4 and 5 what the last advanceTime() ran (kcompactd_do_work(), proactive compactions). */
export function kcompactdState(field: i32): i32 {
  if (field == 4) return lastKcompactdRuns;
  if (field == 5) return lastProactiveRuns;
  return kcompactdField(field);
}
/** vm.compaction_proactiveness = v (0..100, else -EINVAL); `write`: as the sysctl handler (wakes kcompactd). */
export function setCompactionProactiveness(v: i32, write: bool): i32 {
  if (v < 0 || v > 100) return -EINVAL;
  kcompactdSetProactiveness(v, write);
  return 0;
}
export function compactionProactivenessValue(): i32 {
  return compactionProactiveness;
}
/** fragmentation_score_zone() of `zone`, or fragmentation_score_node() for zone -1; -EINVAL for a bad zone. */
export function fragmentationScore(zone: i32): i32 {
  if (zone == -1) return fragmentationScoreNode();
  if (zone < 0 || zone > ZONE_NORMAL) return -EINVAL;
  return fragmentationScoreZone(zone);
}
/** fragmentation_score_wmark(low) */
export function fragmentationScoreWatermark(low: bool): i32 {
  return fragmentationScoreWmark(low);
}

/** The result of the last direct compaction (COMPACT_*). */
export function lastCompaction(): i32 {
  return lastCompactResult;
}

// ---- isolation and contiguous ranges -----------------------------------------------------

// @ts-ignore: decorator
@inline function validRange(startPfn: i32, endPfn: i32): bool {
  return startPfn >= 0 && endPfn <= nrPages && startPfn < endPfn;
}
// @ts-ignore: decorator
@inline function contigType(mt: i32): bool {
  return mt == MIGRATE_MOVABLE || mt == MIGRATE_CMA;
}

export function isolateRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  if (!validRange(startPfn, endPfn) || !contigType(mt)) return -EINVAL;
  return startIsolatePageRange(startPfn, endPfn, mt);
}

export function undoIsolateRange(startPfn: i32, endPfn: i32, mt: i32): i32 {
  if (!validRange(startPfn, endPfn) || !contigType(mt)) return -EINVAL;
  undoIsolatePageRange(startPfn, endPfn, mt);
  return 0;
}

export function testIsolated(startPfn: i32, endPfn: i32): i32 {
  if (!validRange(startPfn, endPfn)) return -EINVAL;
  return testPagesIsolated(startPfn, endPfn);
}

export { allocContigRange };

export function freeContig(pfn: i32, count: i32): i32 {
  const ret = checkContigRange(pfn, count);
  if (ret != 0) return ret;
  freeContigRange(pfn, count);
  return 0;
}

// ---- CMA -------------------------------------------------------------------------------------

export function cmaAreas(): i32 {
  return cmaAreaCount;
}

/** cma_alloc(): the first pfn, -ENOMEM for NULL, -EINVAL for bad arguments. */
export function cmaAllocPages(id: i32, count: i32, alignOrder: i32): i32 {
  if (id < 0 || id >= cmaAreaCount || count < 0 || alignOrder < 0 || alignOrder > 30) return -EINVAL;
  const pfn = cmaAlloc(id, count, alignOrder);
  return pfn == NONE ? -ENOMEM : pfn;
}

export function cmaReleasePages(id: i32, pfn: i32, count: i32): i32 {
  if (id < 0 || id >= cmaAreaCount) return -EINVAL;
  return cmaRelease(id, pfn, count);
}

export function cmaLastRet(): i32 {
  return cmaLastError;
}

// ---- introspection -------------------------------------------------------------------------------

export function freePagesCount(): i32 { return nrFreePagesTotal(); }
export function freeCmaPagesCount(): i32 { return nrFreeCmaPagesTotal(); }
export function freeBlocksOf(zone: i32, order: i32, mt: i32): i32 { return unchecked(freeBlocks[listIndex(zone, order, mt)]); }
export function pageblockMigratetype(pfn: i32): i32 { return pfnValid(pfn) ? getPageblockMt(pfn) : -EINVAL; }
export function vmEvent(index: i32): f64 { return unchecked(vmEvents[index]); }
export function allocFailures(order: i32): f64 { return unchecked(allocFailByOrder[order]); }

/**
 * Page state for inspection, or -EINVAL: kind | mt << 2 | order << 8 | CMA bit 16 |
 * reserved bit 17 (the PAGE_STATE_* layout of abi.ts).
 */
export function pageState(pfn: i32): i32 {
  if (!pfnValid(pfn)) return -EINVAL;
  return pageKind(pfn) | (pageMt(pfn) << PAGE_STATE_MT_SHIFT) | (getOrder(pfn) << PAGE_STATE_ORDER_SHIFT) |
    (pageIsCmaAlloc(pfn) ? PAGE_STATE_CMA : 0) | (pageIsReserved(pfn) ? PAGE_STATE_RESERVED : 0);
}

/**
 * Free pages inside the pageblock of `pfn` (for the memory-map picture); a free
 * block larger than the pageblock counts whole pageblocks.
 */
export function pageblockFreePages(pfn: i32): i32 {
  if (!pfnValid(pfn)) return -EINVAL;
  const start = pageblockStartPfn(pfn);
  const end = start + pageblockNrPages;
  const covering = findBuddyHead(start);
  if (covering != NONE && covering < start) return pageblockNrPages;
  let free = 0;
  let p = start;
  while (p < end) {
    const head = findBlockHead(p);
    const n = 1 << getOrder(head);
    // Pages on pcp lists are free memory too (not in NR_FREE_PAGES, but free).
    const kind = pageKind(head);
    if (kind == KIND_BUDDY || kind == KIND_PCP) free += n < pageblockNrPages ? n : pageblockNrPages;
    p = head + n;
  }
  return free;
}

/** Pins of an allocated head: short | long << 16 (PAGE_PINS_* of abi.ts). */
export function pagePins(pfn: i32): i32 {
  if (!pfnValid(pfn) || !isAllocHead(pfn)) return 0;
  return shortPins(pfn) | (longPins(pfn) << PAGE_PINS_LONG_SHIFT);
}

export function check(): string {
  const err = checkAll();
  return err != "" ? err : swapCheck();
}

/** Test hook: breaks one invariant (see check.ts). */
export function debugCorrupt(kind: i32): void {
  corruptForTest(kind);
}

export function hash(): u32 {
  return stateHash();
}

// ---- scatterlists ----------------------------------------------------------------------------

export { sgFromPages, sgReservePages };

/** Where the bindings read and write the sg buffers (WASM: byte addresses; portable: arrays). */
export function sgPagesPtr(): usize { return dataPointer(sgPages); }
export function sgPfnPtr(): usize { return dataPointer(sgPfn); }
export function sgOffsetPtr(): usize { return dataPointer(sgOffset); }
export function sgLengthPtr(): usize { return dataPointer(sgLength); }
export function sgPagesArray(): Int32Array { return sgPages; }
export function sgPfnArray(): Int32Array { return sgPfn; }
export function sgOffsetArray(): Uint32Array { return sgOffset; }
export function sgLengthArray(): Uint32Array { return sgLength; }
export function sgPrvLen(): u32 { return sgPrvLength; }

// ---- IOMMU ----------------------------------------------------------------------------------

export {
  domainCreate, iovaAlloc, iovaFree, iommuMap, iommuUnmap, iovaToPfn, iovaProt, domainPtes, domainPages,
  domainBasePage, domainExtensions, iovaPagesInUse,
};
export { iovaNodes, iovaCachedRanges };

export function domains(): i32 { return domainCount(); }
export function lastMapPtes(c: i32): i32 { return lastMapEntries[c]; }

// ---- bitmaps (lib/bitmap.c) for the bindings ----------------------------------------------

export { bitmapCreate, bitmapNextSet, bitmapNextZero, bitmapTestBit, bitmapUpdate, bitmapZeroArea };

// ---- replaying a real kernel's choices (claim.ts) ------------------------------------------

import {
  claimBlock, releaseBlock, peekRmqueue, peekFallbackPfn, peekFallbackOrder, peekFallbackMt, peekFallbackClaims,
  rmqueueInZone, retypePageblock, stealWithoutClaim,
} from "./claim.ts";
export {
  claimBlock, releaseBlock, peekRmqueue, peekFallbackPfn, peekFallbackOrder, peekFallbackMt, peekFallbackClaims,
  rmqueueInZone, retypePageblock, stealWithoutClaim,
};
import { cmaPeekAlloc, cmaClaimRange, cmaUnclaimRange } from "./cma.ts";
export { cmaPeekAlloc, cmaClaimRange, cmaUnclaimRange };

// ---- the page cache, LRU lists and reclaim (lru.ts, vmscan.ts) ----------------------------------

import {
  NR_LRU_LISTS, PG_WRITEBACK, PG_DIRTY, fileCreate, fileFirst, fileIndexesFrom, fileLive, fileNrPages,
  fileReadEnd, fileSlots, fileValid, folioEndWriteback, folioMarkAccessed, folioMarkDirty, folioStartWriteback, lruFlags, lruHead, lruNext,
  lruZoneSize, nrFilePages, pageCacheInsert, pageCacheLookup, pageCacheReserve, sortBuf, testFlag, zoneDirtyPages,
  zoneWritebackPages,
  writebackPages,
} from "./lru.ts";
import { folioInvalidatable, freePageCacheFolio, nodeReclaimablePages, zoneReclaimablePages } from "./vmscan.ts";
import { ownerReserveMany, ownerSlots } from "./owner.ts";
import { EEXIST, ENOENT, EV_DROP_PAGECACHE, EV_DROP_SLAB, EV_PGACTIVATE, EV_PGROTATED } from "./abi.ts";
import { countEvent } from "./vmevents.ts";

/** Creates a file (an inode with an empty mapping). Returns its id. */
export function pageCacheCreateFile(): i32 {
  return fileCreate();
}

/** Pages cached by file `f` (mapping->nrpages), or -EINVAL. */
export function pageCacheFilePages(f: i32): i32 {
  return fileValid(f) ? fileNrPages[f] : -EINVAL;
}

// @ts-ignore: decorator
@inline function pcRangeArgs(f: i32, index: i32, count: i32): i32 {
  if (!fileValid(f) || index < 0 || count < 1) return -EINVAL;
  if (f64(index) + f64(count) > 2147483647.0) return -EINVAL;
  return 0;
}

/**
 * One page cache folio for (f, index): GFP_HIGHUSER_MOVABLE (mapping_gfp_mask():
 * may reclaim and compact), order 0, inserted on the inactive file list. Owner
 * slots and table room were reserved. Returns the owner id or NONE.
 */
function pageCacheAllocOne(f: i32, index: i32): i32 {
  const pfn = allocPagesSlowpath(0, MIGRATE_MOVABLE, ZONE_NORMAL, ALLOC_CMA, 0);
  if (pfn == NONE) return NONE;
  const id = ownerCreate(pfn);
  setPageOwnerId(pfn, id);
  pageCacheInsert(f, index, id, pfn);
  return id;
}

/** Removes and frees the cached folio `id` (truncation, invalidation); writeback is waited for first. */
function pageCacheDrop(id: i32): void {
  if (testFlag(id, PG_WRITEBACK)) endWriteback(id);
  freePageCacheFolio(id);
}

function endWriteback(id: i32): void {
  if (folioEndWriteback(id) != 0) countEvent(EV_PGROTATED, 1);
}

/** Drops whatever is cached at the `count` indexes of `list` (the undo of a failed range). */
function dropIndexes(f: i32, list: Int32Array, count: i32): void {
  for (let i = 0; i < count; i++) {
    const id = pageCacheLookup(f, unchecked(list[i]));
    if (id != NONE) pageCacheDrop(id);
  }
}

let missBuf: Int32Array = new Int32Array(16);
function missReserve(n: i32): void {
  if (missBuf.length < n) missBuf = new Int32Array(n);
  if (addedBuf.length < n) addedBuf = new Int32Array(n);
}
/** The indexes a range call added so far, for its undo (reclaim may take and a later miss re-add a page). */
let addedBuf: Int32Array = new Int32Array(16);

/**
 * filemap_add_folio() of `count` new pages at index.. of `f`, clean or dirty
 * (folio_mark_dirty()). -EEXIST when any is cached already, -EINVAL for bad
 * arguments (nothing done); -ENOMEM when an allocation fails: the pages this
 * call added are removed again. Returns `count`.
 */
export function pageCacheAdd(f: i32, index: i32, count: i32, dirty: bool): i32 {
  const bad = pcRangeArgs(f, index, count);
  if (bad != 0) return bad;
  for (let i = 0; i < count; i++) if (pageCacheLookup(f, index + i) != NONE) return -EEXIST;
  ownerReserveMany(count);
  pageCacheReserve(count);
  missReserve(count);
  for (let i = 0; i < count; i++) {
    const id = pageCacheAllocOne(f, index + i);
    if (id == NONE) {
      dropIndexes(f, addedBuf, i);
      return -ENOMEM;
    }
    unchecked(addedBuf[i] = index + i);
    if (dirty) folioMarkDirty(id);
  }
  return count;
}

/**
 * The worker of pageCacheRead() and pageCacheWrite(): looks up `count` pages
 * from `index`, adding each missing one (room for all of them is reserved
 * first, so that running out of memory in a grow leaves the state as it was),
 * then marks each page accessed (a read) or dirty (a write). Returns the pages
 * that were cached already, or -EINVAL / -ENOMEM (the pages this call added
 * are removed again).
 */
function pageCacheFill(f: i32, index: i32, count: i32, write: bool): i32 {
  const bad = pcRangeArgs(f, index, count);
  if (bad != 0) return bad;
  let misses = 0;
  missReserve(count);
  for (let i = 0; i < count; i++) {
    if (pageCacheLookup(f, index + i) == NONE) unchecked(missBuf[misses++] = index + i);
  }
  ownerReserveMany(misses);
  pageCacheReserve(misses);
  let hits = 0;
  let added = 0;
  // filemap_read() marks a read's first folio accessed only when the previous
  // read did not end in it (pos_same_folio() against ra->prev_pos - 1): a
  // repeated read of the same page is one access.
  const firstSeen = !write && index == unchecked(fileReadEnd[f]) - 1;
  for (let i = 0; i < count; i++) {
    let id = pageCacheLookup(f, index + i);
    if (id == NONE) {
      if (added >= misses) {
        // Reclaim took a page this call found cached: one more owner slot and entry.
        ownerReserveMany(1);
        pageCacheReserve(1);
      }
      id = pageCacheAllocOne(f, index + i);
      if (id == NONE) {
        dropIndexes(f, addedBuf, added);
        return -ENOMEM;
      }
      unchecked(addedBuf[added++] = index + i);
    } else {
      hits++;
    }
    if (write) {
      folioMarkDirty(id);
    } else if (i > 0 || !firstSeen) {
      const activated = folioMarkAccessed(id);
      if (activated != 0) countEvent(EV_PGACTIVATE, activated);
    }
  }
  if (!write) unchecked(fileReadEnd[f] = index + count);
  return hits;
}

/**
 * A read of `count` pages (filemap_read()): every page read is marked accessed
 * (folio_mark_accessed(): the first access sets PG_referenced, the second
 * activates), but for the first when the previous read of the file ended in
 * it; a missing page is read in first (a clean page on the inactive
 * file list; no readahead beyond the range). Returns the hits, or -EINVAL /
 * -ENOMEM (the pages read in by this call are removed again).
 */
export function pageCacheRead(f: i32, index: i32, count: i32): i32 {
  return pageCacheFill(f, index, count, false);
}

/**
 * A buffered write of `count` pages (generic_perform_write()): a cached page is
 * dirtied, a missing one added dirty. 6.12's write_begin lookup
 * (FGP_WRITEBEGIN) carries no FGP_ACCESSED, so a write does not mark the page
 * accessed. Returns the pages that were cached already, or -EINVAL / -ENOMEM
 * (the pages this call added are removed again).
 */
export function pageCacheWrite(f: i32, index: i32, count: i32): i32 {
  return pageCacheFill(f, index, count, true);
}

/**
 * Writeback of the dirty pages among `count` at index..: dirty → under
 * writeback (folio_start_writeback()); with `wait` the I/O completes at once
 * (filemap_write_and_wait_range()), else at the next advanceTime()
 * (folio_end_writeback(): a PG_reclaim folio rotates to the inactive tail).
 * Returns the pages written, or -EINVAL.
 */
export function pageCacheWriteback(f: i32, index: i32, count: i32, wait: bool): i32 {
  const bad = pcRangeArgs(f, index, count);
  if (bad != 0) return bad;
  // The file's pages from `index` in index order (a range may be far larger than the file).
  const end = f64(index) + f64(count);
  const cachedFrom = fileIndexesFrom(f, index);
  missReserve(cachedFrom);
  for (let i = 0; i < cachedFrom; i++) unchecked(missBuf[i] = unchecked(sortBuf[i]));
  let n = 0;
  for (let i = 0; i < cachedFrom; i++) {
    if (f64(unchecked(missBuf[i])) >= end) break;
    const id = pageCacheLookup(f, unchecked(missBuf[i]));
    if (!testFlag(id, PG_DIRTY)) continue;
    folioStartWriteback(id);
    if (wait) endWriteback(id);
    n++;
  }
  return n;
}

/** Ends every writeback in flight, in owner-id order (the I/O completions of a clock step). */
export function pageCacheEndWritebacks(): i32 {
  if (writebackPages() == 0) return 0;
  let n = 0;
  const slots = ownerSlots();
  for (let id = 0; id < slots; id++) {
    if (ownerGetPfn(id) == NONE || !testFlag(id, PG_WRITEBACK)) continue;
    endWriteback(id);
    n++;
  }
  return n;
}

/** Any page of `f` at or above `fromIndex` pinned? (truncation refuses those). */
function rangePinned(f: i32, fromIndex: i32): bool {
  const n = fileIndexesFrom(f, fromIndex);
  for (let i = 0; i < n; i++) {
    const pfn = ownerGetPfn(pageCacheLookup(f, unchecked(sortBuf[i])));
    if (shortPins(pfn) != 0 || longPins(pfn) != 0) return true;
  }
  return false;
}

/**
 * truncate_inode_pages_range() from `fromIndex` to the end: the pages go in
 * ascending index order (writeback waited for, dirty ones dropped). A pinned
 * page in the range refuses the whole truncation with -EBUSY (the kernel would
 * drop it from the mapping and leave the frame to the pin holder; not modelled).
 * Returns the pages removed.
 */
export function pageCacheTruncate(f: i32, fromIndex: i32): i32 {
  if (!fileValid(f) || fromIndex < 0) return -EINVAL;
  if (rangePinned(f, fromIndex)) return -EBUSY;
  const n = fileIndexesFrom(f, fromIndex);
  missReserve(n);
  for (let i = 0; i < n; i++) unchecked(missBuf[i] = unchecked(sortBuf[i]));
  dropIndexes(f, missBuf, n);
  return n;
}

/** Deletes file `f` (the last close of an unlinked file: evict() truncates it all). -EBUSY while a page is pinned. */
export function pageCacheDeleteFile(f: i32): i32 {
  const ret = pageCacheTruncate(f, 0);
  if (ret < 0) return ret;
  fileLive[f] = 0;
  return ret;
}

/** The owner id caching (f, index), -ENOENT when none, -EINVAL for bad arguments. */
export function pageCacheFind(f: i32, index: i32): i32 {
  if (!fileValid(f) || index < 0) return -EINVAL;
  const id = pageCacheLookup(f, index);
  return id == NONE ? -ENOENT : id;
}

/**
 * A folio's LRU state, or -EINVAL for a dead owner: list (bits 0..2, 7 off the
 * LRU) | referenced 8 | dirty 16 | writeback 32 | reclaim 64 | workingset 128 | file 256.
 */
export function folioState(id: i32): i32 {
  if (ownerGetPfn(id) == NONE) return -EINVAL;
  return lruFlags[id] & 0x1ff;
}

/**
 * The owner id `pos` places from the head of LRU list `lru` (0 the head, which
 * reclaim reaches last), -ENOENT past the tail, -EINVAL for bad arguments.
 */
export function lruListAt(lru: i32, pos: i32): i32 {
  if (lru < 0 || lru >= NR_LRU_LISTS || pos < 0) return -EINVAL;
  let id = lruHead[lru];
  for (let i = 0; i < pos && id != NONE; i++) id = lruNext[id];
  return id == NONE ? -ENOENT : id;
}

/** lru_zone_size of (zone, lru), or the node's for zone -1; -EINVAL for bad arguments. */
export function lruPages(zone: i32, lru: i32): i32 {
  if (lru < 0 || lru >= NR_LRU_LISTS || zone < -1 || zone >= MAX_NR_ZONES) return -EINVAL;
  if (zone >= 0) return lruZoneSize[zone * NR_LRU_LISTS + lru];
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) n += lruZoneSize[z * NR_LRU_LISTS + lru];
  return n;
}

/** 0 NR_FILE_DIRTY, 1 NR_WRITEBACK of `zone` (or the node's for -1); 2 NR_FILE_PAGES; 3 zone_reclaimable_pages(). */
export function pageCacheStat(which: i32, zone: i32): i32 {
  if (zone < -1 || zone >= MAX_NR_ZONES) return -EINVAL;
  if (which == 2) return nrFilePages;
  if (which == 3) return zone == -1 ? nodeReclaimablePages() : zoneReclaimablePages(zone);
  if (which != 0 && which != 1) return -EINVAL;
  const arr = which == 0 ? zoneDirtyPages : zoneWritebackPages;
  if (zone >= 0) return arr[zone];
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) n += arr[z];
  return n;
}

/**
 * drop_caches (fs/drop_caches.c): bit 0 drop_pagecache_sb() → invalidate_mapping_pages()
 * of every file (ids ascending, indexes ascending): clean, idle, unpinned pages
 * are removed and freed; bit 1 drop_slab() (no slab caches here). Counts the
 * drop_pagecache / drop_slab events. Returns the pages dropped, or -EINVAL
 * outside 1..4 (the sysctl's range).
 */
export function dropCaches(mode: i32): i32 {
  if (mode < 1 || mode > 4) return -EINVAL;
  let dropped = 0;
  if ((mode & 1) != 0) {
    for (let f = 0; f < fileSlots; f++) {
      if (fileLive[f] == 0 || fileFirst[f] == NONE) continue;
      const n = fileIndexesFrom(f, 0);
      missReserve(n);
      for (let i = 0; i < n; i++) unchecked(missBuf[i] = unchecked(sortBuf[i]));
      for (let i = 0; i < n; i++) {
        const id = pageCacheLookup(f, unchecked(missBuf[i]));
        if (id == NONE || !folioInvalidatable(id)) continue;
        freePageCacheFolio(id);
        dropped++;
      }
    }
    countEvent(EV_DROP_PAGECACHE, 1);
  }
  if ((mode & 2) != 0) countEvent(EV_DROP_SLAB, 1);
  return dropped;
}
// ---- the replay's trace scanner (trace-scan.ts): no machine state -------------------------

import {
  scanReserve, scanInPtr, scanInArray, scanKindsPtr, scanKindsArray, scanNumbersPtr, scanNumbersArray, scanSpansPtr,
  scanSpansArray, scanStop, scanLines,
} from "./trace-scan.ts";
export {
  scanReserve, scanInPtr, scanInArray, scanKindsPtr, scanKindsArray, scanNumbersPtr, scanNumbersArray, scanSpansPtr,
  scanSpansArray, scanStop, scanLines,
};
