// kswapd, as far as it matters without reclaim (mm/vmscan.c of Linux 6.12:
// wakeup_kswapd(), kswapd(), balance_pgdat(), kswapd_try_to_sleep(),
// prepare_kswapd_sleep(), pgdat_balanced()).
//
// Reclaim is not modelled yet, so kswapd has nothing to reclaim. What is left of
// its work is what it does around reclaim:
//   - balance_pgdat() notes the boosts of the zones it balances, "reclaims"
//     (nothing), then takes those boosts off again and, since the node was
//     boosted, wakes kcompactd for pageblock_order to repair the mixed
//     pageblocks that caused the boost;
//   - kswapd_try_to_sleep() clears the compaction skip hints of zones whose
//     direct compaction asked for it (reset_isolation_suitable(), when
//     compact_blockskip_flush is set) and wakes kcompactd for the order the
//     waker wanted.
// A woken kswapd makes that one pass the next time the simulated clock moves
// (sys.advanceTime(), before kcompactd's own passes), then sleeps until woken
// again. A node that stays unbalanced would in the kernel go round
// balance_pgdat() until kswapd_failures reaches MAX_RECLAIM_RETRIES, reclaiming
// nothing, and then sleep as a "hopeless" node in the same way; the failure
// count is not kept (reclaim resets it, and reclaim is for later). When reclaim
// lands, it grows balance_pgdat() here.
//
// One node (pgdat) holds every zone.

import { MAX_NR_ZONES, WMARK_HIGH } from "./abi.ts";
import { zoneWatermarkOk } from "./buddy.ts";
import { resetIsolationSuitableNode } from "./compaction.ts";
import { wakeupKcompactd } from "./kcompactd.ts";
import { maxOrder, pageblockOrder } from "./memmap.ts";
import { pgdatWatermarkBoosted } from "./watermark-boost.ts";
import { zoneBoost, zonePopulated, zoneWatermark } from "./zone.ts";

/** pgdat->kswapd_order: the highest order a waker asked for since kswapd last ran. */
export let kswapdOrder: i32 = 0;
/** pgdat->kswapd_highest_zoneidx, MAX_NR_ZONES when no waker set it. */
export let kswapdHighestZone: i32 = MAX_NR_ZONES;
/** kswapd's own highest_zoneidx: what it balanced last (kswapd() starts with MAX_NR_ZONES - 1). */
let kswapdLastHighestZone: i32 = MAX_NR_ZONES - 1;
/** The thread was woken (wake_up_interruptible()) and has not run since. */
export let kswapdRunnable: bool = false;
/** balance_pgdat() passes that found a boosted node (for inspection and the Lab). */
export let kswapdBoostResets: f64 = 0;
/** balance_pgdat() runs since boot (the PAGEOUTRUN event, /proc/vmstat pageoutrun). */
export let kswapdPageoutruns: f64 = 0;
/** kswapd passes made by the last advanceTime() (0 or 1). */
export let lastKswapdRuns: i32 = 0;

export function kswapdInit(): void {
  kswapdOrder = 0;
  kswapdHighestZone = MAX_NR_ZONES;
  kswapdLastHighestZone = MAX_NR_ZONES - 1;
  kswapdRunnable = false;
  kswapdBoostResets = 0;
  kswapdPageoutruns = 0;
  lastKswapdRuns = 0;
}

/**
 * pgdat_balanced(): some populated zone up to `highestZone` is above its high
 * watermark (boost included) for `order` (zone_watermark_ok_safe(): no
 * reserves, no CMA). A node without such zones is balanced.
 */
export function pgdatBalanced(order: i32, highestZone: i32): bool {
  let anyZone = false;
  const top = highestZone < MAX_NR_ZONES ? highestZone : MAX_NR_ZONES - 1;
  for (let z = 0; z <= top; z++) {
    if (!zonePopulated(z)) continue;
    anyZone = true;
    if (zoneWatermarkOk(z, order, zoneWatermark(z, WMARK_HIGH), highestZone, 0)) return true;
  }
  return !anyZone;
}

/**
 * wakeup_kswapd(zone, gfp, order, highest_zoneidx): records the request; a node
 * that is balanced and not boosted is left asleep (a waker that cannot direct
 * reclaim wakes kcompactd instead, for fragmentation that reclaim would not fix).
 */
export function wakeupKswapd(canDirectReclaim: bool, order: i32, highestZone: i32): void {
  if (kswapdHighestZone == MAX_NR_ZONES || kswapdHighestZone < highestZone) kswapdHighestZone = highestZone;
  if (kswapdOrder < order) kswapdOrder = order;
  if (pgdatBalanced(order, highestZone) && !pgdatWatermarkBoosted(highestZone)) {
    if (!canDirectReclaim) wakeupKcompactd(order, highestZone);
    return;
  }
  kswapdRunnable = true;
}

/**
 * balance_pgdat() without reclaim: the boosts it started with are taken off
 * ("the reclaim done in this pass") and a boosted node wakes kcompactd for
 * pageblock_order. Returns the order it balanced for (sc.order).
 */
function balancePgdat(order: i32, highestZone: i32): i32 {
  kswapdPageoutruns += 1; // count_vm_event(PAGEOUTRUN)
  let boosted = false;
  const top = highestZone < MAX_NR_ZONES ? highestZone : MAX_NR_ZONES - 1;
  for (let z = 0; z <= top; z++) {
    if (!zonePopulated(z) || unchecked(zoneBoost[z]) == 0) continue;
    boosted = true;
    // zone->watermark_boost -= min(zone->watermark_boost, zone_boosts[i]): all of it,
    // since nothing allocates while kswapd runs here.
    unchecked(zoneBoost[z] = 0);
  }
  if (boosted) {
    kswapdBoostResets += 1;
    wakeupKcompactd(pageblockOrder, highestZone);
  }
  return order;
}

/** kswapd_try_to_sleep() on the way back to sleep: skip hints reset, kcompactd woken for the waker's order. */
function kswapdTryToSleep(allocOrder: i32, highestZone: i32): void {
  resetIsolationSuitableNode();
  wakeupKcompactd(allocOrder, highestZone);
}

/** One pass of kswapd()'s loop, if it was woken. Returns 1 when it ran. */
export function kswapdRun(): i32 {
  lastKswapdRuns = 0;
  if (!kswapdRunnable) return 0;
  kswapdRunnable = false;
  const allocOrder = kswapdOrder;
  // kswapd_highest_zoneidx(): the waker's zone, else the previous one.
  const highestZone = kswapdHighestZone == MAX_NR_ZONES ? kswapdLastHighestZone : kswapdHighestZone;
  kswapdOrder = 0;
  kswapdHighestZone = MAX_NR_ZONES;
  kswapdLastHighestZone = highestZone;
  balancePgdat(allocOrder, highestZone);
  kswapdTryToSleep(allocOrder, highestZone);
  lastKswapdRuns = 1;
  return 1;
}

/** A field of kswapd's state: 0 kswapd_order, 1 kswapd_highest_zoneidx, 2 runnable, 3 runs in the last advanceTime(). */
export function kswapdField(field: i32): i32 {
  if (field == 0) return kswapdOrder;
  if (field == 1) return kswapdHighestZone;
  if (field == 2) return kswapdRunnable ? 1 : 0;
  if (field == 3) return lastKswapdRuns;
  return -1;
}

/** check(): kswapd's state within its ranges. */
export function kswapdCheck(): string {
  if (kswapdOrder < 0 || kswapdOrder > maxOrder) return "kswapd: kswapd_order out of range";
  if (kswapdHighestZone < 0 || kswapdHighestZone > MAX_NR_ZONES) return "kswapd: kswapd_highest_zoneidx out of range";
  if (kswapdLastHighestZone < 0 || kswapdLastHighestZone >= MAX_NR_ZONES) return "kswapd: highest_zoneidx out of range";
  return "";
}

/** The state hash's share. */
export function kswapdHashWords(which: i32): i32 {
  if (which == 0) return kswapdOrder;
  if (which == 1) return kswapdHighestZone;
  if (which == 2) return kswapdLastHighestZone;
  return kswapdRunnable ? 1 : 0;
}
