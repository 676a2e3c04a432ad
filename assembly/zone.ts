// Zones (include/linux/mmzone.h, mm/page_alloc.c): contiguous pfn ranges with
// their own free areas, watermarks and lowmem reserves. A request names the
// highest zone it can use (the gfp zone modifier) and falls back down the
// zonelist: Normal → DMA32 → DMA.
//
//   zone index    0 DMA   1 DMA32   2 Normal   3 Movable   4 Device   (ZONE_* in abi.ts)
//   (Movable and Device are never populated here; they exist so that
//    lowmem_reserve[] and /proc/zoneinfo have the kernel's MAX_NR_ZONES.)

import { MAX_NR_ZONES, NR_WMARK, WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, ZONE_MOVABLE } from "./abi.ts";
import { maxOrder, pageShift } from "./memmap.ts";

export const zoneStart: Int32Array = new Int32Array(MAX_NR_ZONES);
export const zoneEnd: Int32Array = new Int32Array(MAX_NR_ZONES);
/** _watermark[], in pages: zone * NR_WMARK + WMARK_*. */
export const zoneWmark: Int32Array = new Int32Array(MAX_NR_ZONES * NR_WMARK);
/** lowmem_reserve[]: zone * MAX_NR_ZONES + highest zone of the request. */
export const lowmemReserve: Int32Array = new Int32Array(MAX_NR_ZONES * MAX_NR_ZONES);
/** NR_FREE_PAGES and NR_FREE_CMA_PAGES per zone. */
export const zoneFreePages: Int32Array = new Int32Array(MAX_NR_ZONES);
export const zoneFreeCmaPages: Int32Array = new Int32Array(MAX_NR_ZONES);
/**
 * NR_FREE_PAGES_BLOCKS (v6.15+): free pages in buddy blocks of pageblock order
 * or more, isolated ones left out. Kept where the free lists change
 * (__add_to_free_list(), __del_page_from_free_list(), move_to_free_list()) on
 * every profile; only 6.18 prints it and reads it (defrag_mode).
 */
export const zoneFreePagesBlocks: Int32Array = new Int32Array(MAX_NR_ZONES);
/** zone->cma_pages: pages of CMA areas in the zone. */
export const zoneCmaPages: Int32Array = new Int32Array(MAX_NR_ZONES);
/** zone->watermark_boost, in pages (watermark-boost.ts): added to every watermark by wmark_pages(). */
export const zoneBoost: Int32Array = new Int32Array(MAX_NR_ZONES);
/** zone->nr_reserved_highatomic: pages of pageblocks reserved for high-order atomic requests (highatomic.ts). */
export const zoneReservedHighatomic: Int32Array = new Int32Array(MAX_NR_ZONES);
/** zone->nr_free_highatomic: free pages on the MIGRATE_HIGHATOMIC lists (account_freepages()). */
export const zoneFreeHighatomicPages: Int32Array = new Int32Array(MAX_NR_ZONES);
/** min_free_kbytes in force (the sysctl). */
export let minFreeKbytes: i32 = 0;

/** The zone every pfn belongs to when only one zone is populated, else -1. */
let onlyZone: i32 = -1;
/** Every zone boundary is a multiple of the largest block: buddies never cross zones. */
export let zonesMaxOrderAligned: bool = true;

/** Sets zone `z` to span [startPfn, endPfn). */
export function zoneSetRange(z: i32, startPfn: i32, endPfn: i32): void {
  unchecked(zoneStart[z] = startPfn);
  unchecked(zoneEnd[z] = endPfn);
}

export function zonesReset(): void {
  zoneStart.fill(0);
  zoneEnd.fill(0);
  zoneWmark.fill(0);
  lowmemReserve.fill(0);
  zoneFreePages.fill(0);
  zoneFreeCmaPages.fill(0);
  zoneFreePagesBlocks.fill(0);
  zoneCmaPages.fill(0);
  zoneBoost.fill(0);
  zoneReservedHighatomic.fill(0);
  zoneFreeHighatomicPages.fill(0);
  onlyZone = -1;
  zonesMaxOrderAligned = true;
}

// @ts-ignore: decorator
@inline export function zonePopulated(z: i32): bool {
  return unchecked(zoneEnd[z]) > unchecked(zoneStart[z]);
}

// @ts-ignore: decorator
@inline export function zoneManagedPages(z: i32): i32 {
  return unchecked(zoneEnd[z]) - unchecked(zoneStart[z]);
}

/** page_zonenum(): on a one-zone machine (the default), without a call. */
// @ts-ignore: decorator
@inline export function zoneOf(pfn: i32): i32 {
  return onlyZone >= 0 ? onlyZone : zoneOfRanges(pfn);
}

function zoneOfRanges(pfn: i32): i32 {
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (pfn >= unchecked(zoneStart[z]) && pfn < unchecked(zoneEnd[z])) return z;
  }
  return -1;
}

/** Finishes zone set-up once the ranges are known. */
export function zonesFinish(): void {
  let populated = 0;
  let last = -1;
  const maxBlock = 1 << maxOrder;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (!zonePopulated(z)) continue;
    populated++;
    last = z;
    // Zones are contiguous: every inner boundary is some zone's start.
    if ((unchecked(zoneStart[z]) & (maxBlock - 1)) != 0) zonesMaxOrderAligned = false;
  }
  onlyZone = populated == 1 ? last : -1;
}

/** int_sqrt() */
function intSqrt(x: f64): f64 {
  return Math.floor(Math.sqrt(x));
}

/**
 * init_per_zone_wmark_min() + __setup_per_zone_wmarks() + setup_per_zone_lowmem_reserve().
 * `minKbytes` < 0 takes the kernel's default: int_sqrt(lowmem_kbytes * 16)
 * clamped to [128, 262144]. Ratios are sysctl_lowmem_reserve_ratio[].
 */
export function setupWatermarks(minKbytes: i32, scaleFactor: i32, ratios: Int32Array): void {
  let lowmemPages: f64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (z < ZONE_MOVABLE) lowmemPages += f64(zoneManagedPages(z));
  }
  if (minKbytes < 0) {
    const lowmemKbytes = lowmemPages * f64(1 << (pageShift - 10));
    let v = intSqrt(lowmemKbytes * 16.0);
    if (v < 128) v = 128;
    if (v > 262144) v = 262144;
    minKbytes = i32(v);
  }
  minFreeKbytes = minKbytes;
  const pagesMin = f64(minKbytes >> (pageShift - 10));
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    const managed = f64(zoneManagedPages(z));
    let min: f64 = 0;
    if (lowmemPages > 0 && z < ZONE_MOVABLE) min = Math.floor((pagesMin * managed) / lowmemPages);
    // Distance between watermarks: a quarter of min, or the scale factor's share.
    const byScale = Math.floor((managed * f64(scaleFactor)) / 10000.0);
    const step = Math.floor(min / 4.0) > byScale ? Math.floor(min / 4.0) : byScale;
    // __setup_per_zone_wmarks() drops any boost along with the old watermarks.
    unchecked(zoneBoost[z] = 0);
    unchecked(zoneWmark[z * NR_WMARK + WMARK_MIN] = i32(min));
    unchecked(zoneWmark[z * NR_WMARK + WMARK_LOW] = i32(min + step));
    unchecked(zoneWmark[z * NR_WMARK + WMARK_HIGH] = i32(min + 2 * step));
    unchecked(zoneWmark[z * NR_WMARK + WMARK_PROMO] = i32(min + 3 * step));
  }
  for (let i = 0; i < MAX_NR_ZONES - 1; i++) {
    const ratio = unchecked(ratios[i]);
    const clear = ratio == 0 || !zonePopulated(i);
    let upper = 0;
    for (let j = i + 1; j < MAX_NR_ZONES; j++) {
      upper += zoneManagedPages(j);
      unchecked(lowmemReserve[i * MAX_NR_ZONES + j] = clear ? 0 : i32(upper / ratio));
    }
  }
}

/** wmark_pages(): the watermark with the zone's boost on top (what allocations and kswapd test against). */
// @ts-ignore: decorator
@inline export function zoneWatermark(z: i32, which: i32): i32 {
  return unchecked(zoneWmark[z * NR_WMARK + which]) + unchecked(zoneBoost[z]);
}

/** zone->_watermark[which]: without the boost (__isolate_free_page(), boost_watermark(), zone_watermark_fast()'s retry). */
// @ts-ignore: decorator
@inline export function zoneWatermarkRaw(z: i32, which: i32): i32 {
  return unchecked(zoneWmark[z * NR_WMARK + which]);
}

// @ts-ignore: decorator
@inline export function zoneLowmemReserve(z: i32, highestZone: i32): i32 {
  return unchecked(lowmemReserve[z * MAX_NR_ZONES + highestZone]);
}
