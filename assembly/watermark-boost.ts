// Watermark boosting (mm/page_alloc.c of Linux 6.12: boost_watermark(), the
// ZONE_BOOSTED_WATERMARK flag, wmark_pages()).
//
// When an allocation falls back to another migratetype's pageblock without
// taking a whole block of pageblock_order or more (steal_suitable_fallback(),
// 6.18's try_to_claim_block(), 6.1's steal_suitable_fallback()), the zone's
// watermarks are raised by one pageblock, up to watermark_boost_factor/10000
// of the high watermark. Every watermark test then sees the higher marks
// (wmark_pages() = _watermark[] + watermark_boost, zone.ts), so allocations
// reach the slow path sooner and kswapd is woken (rmqueue(): the flag is
// tested and cleared after each allocation from the buddy lists) to reclaim
// and then wake kcompactd, which repairs the mixed pageblocks before more of
// them form. kswapd's balance step clears the boost again (kswapd.ts).
//
// ALLOC_KSWAPD (__GFP_KSWAPD_RECLAIM) is taken to be set on every request:
// every gfp the simulator models carries it (GFP_KERNEL, GFP_ATOMIC,
// GFP_NOWAIT, GFP_HIGHUSER_MOVABLE and the migration targets' GFP_USER).

import { MAX_NR_ZONES, WMARK_HIGH } from "./abi.ts";
import { pageblockNrPages } from "./memmap.ts";
import { zoneBoost, zoneManagedPages, zoneWatermarkRaw } from "./zone.ts";

/** The sysctl_watermark_boost_factor default (mm/page_alloc.c: int watermark_boost_factor = 15000). */
// @ts-ignore: decorator
@inline export const WATERMARK_BOOST_FACTOR_DEFAULT: i32 = 15000;

/** vm.watermark_boost_factor: 0..INT_MAX (proc_dointvec_minmax() with extra1 = SYSCTL_ZERO, no upper bound). */
export let watermarkBoostFactor: i32 = WATERMARK_BOOST_FACTOR_DEFAULT;
/** ZONE_BOOSTED_WATERMARK per zone: set by a boosting fallback, cleared by rmqueue() when it wakes kswapd. */
export const zoneBoostedFlag: Uint8Array = new Uint8Array(MAX_NR_ZONES);
/** boost_watermark() calls that raised a zone's boost or found it at its maximum (returned true), for the Lab. */
export let boostEvents: f64 = 0;

export function watermarkBoostInit(): void {
  watermarkBoostFactor = WATERMARK_BOOST_FACTOR_DEFAULT;
  zoneBoostedFlag.fill(0);
  boostEvents = 0;
}

export function setWatermarkBoostFactor(v: i32): void {
  watermarkBoostFactor = v;
}

/** mult_frac(x, numer, denom) for non-negative values: x * numer / denom without overflowing. */
function multFrac(x: i32, numer: i32, denom: i32): f64 {
  const quot = Math.floor(f64(x) / f64(denom));
  const rem = f64(x) - quot * f64(denom);
  return quot * f64(numer) + Math.floor((rem * f64(numer)) / f64(denom));
}

/**
 * The largest boost of `zone` under the current factor: mult_frac(high
 * watermark, factor, 10000), at least a pageblock; 0 when boosting is off for
 * the zone (factor 0, a zone smaller than four pageblocks, or a high watermark
 * of 0).
 */
export function maxBoostPages(zone: i32): i32 {
  if (watermarkBoostFactor == 0) return 0;
  // Small zones (a kdump kernel's) would go out of memory at once.
  if (pageblockNrPages * 4 > zoneManagedPages(zone)) return 0;
  const maxBoost = multFrac(zoneWatermarkRaw(zone, WMARK_HIGH), watermarkBoostFactor, 10000);
  // An uninitialised high watermark (fragmentation very early in boot): no boost.
  if (maxBoost == 0) return 0;
  const atLeast = maxBoost > f64(pageblockNrPages) ? maxBoost : f64(pageblockNrPages);
  // A zone's pages fit an i32, and so does any boost worth having.
  return atLeast > 2147483647.0 ? 2147483647 : i32(atLeast);
}

/** boost_watermark(): raises the zone's boost by a pageblock (up to the maximum); false when boosting is off for it. */
export function boostWatermark(zone: i32): bool {
  const maxBoost = maxBoostPages(zone);
  if (maxBoost == 0) return false;
  const raised = f64(unchecked(zoneBoost[zone])) + f64(pageblockNrPages);
  unchecked(zoneBoost[zone] = raised < f64(maxBoost) ? i32(raised) : maxBoost);
  boostEvents += 1;
  return true;
}

/**
 * The fallback hook (steal_suitable_fallback() / try_to_claim_block(), below
 * pageblock_order): boost, and with ALLOC_KSWAPD mark the zone so that
 * rmqueue() wakes kswapd.
 */
export function boostOnFragmentingFallback(zone: i32): void {
  if (boostWatermark(zone)) unchecked(zoneBoostedFlag[zone] = 1);
}

/** pgdat_watermark_boosted(): some zone up to `highestZone` has a boost. */
export function pgdatWatermarkBoosted(highestZone: i32): bool {
  for (let z = highestZone; z >= 0; z--) {
    if (unchecked(zoneBoost[z]) != 0) return true;
  }
  return false;
}

/** check(): boosts and flags within their ranges. */
export function watermarkBoostCheck(): string {
  if (watermarkBoostFactor < 0) return "watermark boost: watermark_boost_factor is negative";
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    const boost = unchecked(zoneBoost[z]);
    if (boost < 0) return "watermark boost: zone " + z.toString() + " has a negative boost";
    if (boost != 0 && zoneManagedPages(z) == 0) return "watermark boost: an empty zone has a boost";
    if (unchecked(zoneBoostedFlag[z]) > 1) return "watermark boost: ZONE_BOOSTED_WATERMARK is not a bit";
  }
  return "";
}
