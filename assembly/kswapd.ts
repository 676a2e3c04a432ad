// kswapd (mm/vmscan.c of Linux 6.12: wakeup_kswapd(), kswapd(), balance_pgdat(),
// kswapd_shrink_node(), kswapd_try_to_sleep(), prepare_kswapd_sleep(),
// pgdat_balanced()), on the simulated clock.
//
// A woken kswapd runs the next time the clock moves (sys.advanceTime(), before
// kcompactd). It runs kswapd()'s loop until it can sleep: balance_pgdat()
// reclaims (vmscan.ts) at priorities DEF_PRIORITY down to 1 until some eligible
// zone is above its high watermark (boost included) for the order, each
// priority asking kswapd_shrink_node() for the sum over the zones of
// max(high watermark, SWAP_CLUSTER_MAX); a boosted node first reclaims the
// boost. Then kswapd_try_to_sleep(): a balanced node (or a hopeless one,
// kswapd_failures >= MAX_RECLAIM_RETRIES) resets the compaction skip hints,
// wakes kcompactd for the waker's order and naps for HZ/10 (100 ms of the
// clock) before sleeping; a node that cannot sleep counts
// kswapd_high_wmark_hit_quickly and goes round again, and a wakeup during the
// nap counts kswapd_low_wmark_hit_quickly. Nothing allocates while kswapd runs,
// so the loop ends: each pass reclaims something or adds a failure.
//
// vm.defrag_mode (6.18 profile): the slow path wakes kswapd for at least
// pageblock_order (compaction.ts, wakeAllKswapds()), and pgdat_balanced()
// counts a high order's watermark in NR_FREE_PAGES_BLOCKS, so kswapd reclaims
// until it has a compaction gap, drops to order 0 and hands the pageblock
// order to kcompactd when it sleeps.
//
// One node (pgdat) holds every zone.

import {
  EV_KSWAPD_HIGH_WMARK_HIT_QUICKLY, EV_KSWAPD_LOW_WMARK_HIT_QUICKLY, KERNEL_6_1, MAX_NR_ZONES, WMARK_HIGH,
} from "./abi.ts";
import { defragMode, zoneWatermarkOkFree } from "./buddy.ts";
import { resetIsolationSuitableNode } from "./compaction.ts";
import { clockMs, wakeupKcompactd } from "./kcompactd.ts";
import { maxOrder, pageShift, pageblockOrder } from "./memmap.ts";
import { countEvent } from "./vmevents.ts";
import { kswapdAgeNode,
  DEF_PRIORITY, MAX_RECLAIM_RETRIES, SWAP_CLUSTER_MAX, clearPgdatCongested, kswapdFailures,
  scCacheTrimModeFailed, scInit, scNoCacheTrimMode, scNrReclaimed, scNrScanned, scOrder, scPriority,
  scReclaimIdx, setKswapdFailures, setScNoCacheTrimMode, setScNrToReclaim, setScOrder, setScPriority,
  setScReclaimIdx, shrinkNode,
} from "./vmscan.ts";
import { pgdatWatermarkBoosted } from "./watermark-boost.ts";
import { kernelProfile } from "./profile.ts";
import { zoneBoost, zoneFreePages, zoneFreePagesBlocks, zonePopulated, zoneWatermark } from "./zone.ts";

/** HZ/10: kswapd_try_to_sleep()'s nap before it sleeps for good, in ms. */
// @ts-ignore: decorator
@inline const KSWAPD_NAP_MS: f64 = 100;

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
/** balance_pgdat() passes made by the last advanceTime(). */
export let lastKswapdRuns: i32 = 0;
/** The end of kswapd's nap (ms), or -1: a wakeup before it is premature. */
export let kswapdNapUntil: f64 = -1;
/** Woken during the nap (schedule_timeout() returned early). */
export let kswapdPremature: bool = false;
/** zone_boosts[] of the running balance_pgdat(). */
const zoneBoosts: Int32Array = new Int32Array(MAX_NR_ZONES);

export function kswapdInit(): void {
  kswapdOrder = 0;
  kswapdHighestZone = MAX_NR_ZONES;
  kswapdLastHighestZone = MAX_NR_ZONES - 1;
  kswapdRunnable = false;
  kswapdBoostResets = 0;
  kswapdPageoutruns = 0;
  lastKswapdRuns = 0;
  kswapdNapUntil = -1;
  kswapdPremature = false;
}

/**
 * pgdat_balanced(): some populated zone up to `highestZone` is above its high
 * watermark (boost included) for `order` (__zone_watermark_ok() with no
 * reserves, no CMA). Under vm.defrag_mode a high order counts only the free
 * pages in whole pageblocks (NR_FREE_PAGES_BLOCKS); order 0, which kswapd
 * drops to once it has reclaimed a compaction gap, counts NR_FREE_PAGES so
 * that it can hand over to kcompactd ("defrag_mode && order", v6.15). A node
 * without such zones is balanced.
 */
export function pgdatBalanced(order: i32, highestZone: i32): bool {
  let anyZone = false;
  const top = highestZone < MAX_NR_ZONES ? highestZone : MAX_NR_ZONES - 1;
  const inBlocks = defragMode && order != 0;
  for (let z = 0; z <= top; z++) {
    if (!zonePopulated(z)) continue;
    anyZone = true;
    const free = inBlocks ? unchecked(zoneFreePagesBlocks[z]) : unchecked(zoneFreePages[z]);
    if (zoneWatermarkOkFree(z, order, zoneWatermark(z, WMARK_HIGH), highestZone, 0, free)) return true;
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
  if (kswapdRunnable) return; // !waitqueue_active(): it is awake already
  // Hopeless node, leave it to direct reclaim; or nothing to reclaim for.
  if (kswapdFailures >= MAX_RECLAIM_RETRIES ||
    (pgdatBalanced(order, highestZone) && !pgdatWatermarkBoosted(highestZone))) {
    if (!canDirectReclaim) wakeupKcompactd(order, highestZone);
    return;
  }
  if (clockMs < kswapdNapUntil) kswapdPremature = true;
  kswapdRunnable = true;
}

/**
 * kswapd_shrink_node(): nr_to_reclaim = the sum of max(high watermark,
 * SWAP_CLUSTER_MAX) over the zones up to reclaim_idx, one shrink_node(); a
 * high order that got compact_gap(order) pages is dropped to 0. True when the
 * pass scanned or reclaimed that much (no need to raise the priority).
 */
function kswapdShrinkNode(): bool {
  const before = scNrReclaimed;
  let toReclaim = 0;
  for (let z = 0; z <= scReclaimIdx; z++) {
    if (!zonePopulated(z)) continue;
    const high = zoneWatermark(z, WMARK_HIGH);
    toReclaim += high > SWAP_CLUSTER_MAX ? high : SWAP_CLUSTER_MAX;
  }
  setScNrToReclaim(toReclaim);
  shrinkNode(pageShift);
  if (scOrder != 0 && scNrReclaimed >= 2 << scOrder) setScOrder(0);
  const progress = scNrReclaimed - before;
  return (scNrScanned > progress ? scNrScanned : progress) >= toReclaim;
}

/**
 * balance_pgdat(): reclaims until pgdat_balanced() for the order (boosted
 * reclaim first: a boost is reclaimed at priorities down to DEF_PRIORITY - 2
 * only, and dropped once the node is found unbalanced), then takes the boosts
 * it started with off and, when there were any, wakes kcompactd for
 * pageblock_order. A pass that reclaimed nothing adds a kswapd failure.
 * Returns the order it balanced for (sc.order).
 */
function balancePgdat(order: i32, highestZone: i32): i32 {
  kswapdPageoutruns += 1; // count_vm_event(PAGEOUTRUN)
  let nrBoostReclaim = 0;
  const top = highestZone < MAX_NR_ZONES ? highestZone : MAX_NR_ZONES - 1;
  zoneBoosts.fill(0);
  for (let z = 0; z <= top; z++) {
    if (!zonePopulated(z)) continue;
    nrBoostReclaim += unchecked(zoneBoost[z]);
    unchecked(zoneBoosts[z] = unchecked(zoneBoost[z]));
  }
  const boosted = nrBoostReclaim != 0;
  scInit(true, order, top, 0);
  let again = true;
  while (again) { // restart:
    again = false;
    setScPriority(DEF_PRIORITY);
    let restart = false;
    let balancedOut = false;
    do {
      const reclaimedBefore = scNrReclaimed;
      let raisePriority = true;
      setScReclaimIdx(top);
      const balanced = pgdatBalanced(scOrder, highestZone);
      if (!balanced && nrBoostReclaim != 0) {
        nrBoostReclaim = 0;
        restart = true;
        break;
      }
      if (nrBoostReclaim == 0 && balanced) {
        balancedOut = true;
        break;
      }
      if (nrBoostReclaim != 0 && scPriority == DEF_PRIORITY - 2) raisePriority = false;
      // kswapd_age_node(): background anon aging (with swap; vmscan.ts).
      kswapdAgeNode(pageShift);
      if (kswapdShrinkNode()) raisePriority = false;
      const reclaimed = scNrReclaimed - reclaimedBefore;
      nrBoostReclaim -= nrBoostReclaim < reclaimed ? nrBoostReclaim : reclaimed;
      // Boosted reclaim that makes no progress stops (no writeback for a boost).
      if (nrBoostReclaim != 0 && reclaimed == 0) break;
      if (raisePriority || reclaimed == 0) setScPriority(scPriority - 1);
    } while (scPriority >= 1);
    if (restart) {
      again = true;
    } else if (!balancedOut) {
      // The whole priority loop failed in cache_trim_mode: once more without it
      // (v6.9; not in 6.1).
      if (scNrReclaimed == 0 && scPriority < 1 && !scNoCacheTrimMode && scCacheTrimModeFailed &&
        kernelProfile != KERNEL_6_1) {
        setScNoCacheTrimMode();
        again = true;
      } else if (scNrReclaimed == 0) {
        setKswapdFailures(kswapdFailures + 1);
      }
    }
  }
  if (boosted) {
    for (let z = 0; z <= top; z++) {
      const b = unchecked(zoneBoosts[z]);
      if (b == 0) continue;
      const cur = unchecked(zoneBoost[z]);
      unchecked(zoneBoost[z] = cur - (cur < b ? cur : b));
    }
    kswapdBoostResets += 1;
    wakeupKcompactd(pageblockOrder, highestZone);
  }
  return scOrder;
}

/** prepare_kswapd_sleep(): a hopeless or balanced node may sleep. */
function prepareKswapdSleep(order: i32, highestZone: i32): bool {
  if (kswapdFailures >= MAX_RECLAIM_RETRIES) return true;
  if (pgdatBalanced(order, highestZone)) {
    clearPgdatCongested();
    return true;
  }
  return false;
}

/**
 * kswapd_try_to_sleep(): when the node may sleep, the skip hints are reset,
 * kcompactd is woken for the waker's order and kswapd naps; else
 * kswapd_high_wmark_hit_quickly. Returns true when kswapd went to sleep.
 */
function kswapdTryToSleep(allocOrder: i32, reclaimOrder: i32, highestZone: i32): bool {
  if (prepareKswapdSleep(reclaimOrder, highestZone)) {
    resetIsolationSuitableNode();
    wakeupKcompactd(allocOrder, highestZone);
    kswapdNapUntil = clockMs + KSWAPD_NAP_MS;
    return true; // the nap ends with the node still balanced: nothing ran meanwhile
  }
  countEvent(EV_KSWAPD_HIGH_WMARK_HIT_QUICKLY, 1);
  return false;
}

/** kswapd_highest_zoneidx(): the waker's zone, else the previous one. */
function kswapdHighestZoneidx(prev: i32): i32 {
  return kswapdHighestZone == MAX_NR_ZONES ? prev : kswapdHighestZone;
}

/** kswapd()'s loop from a wakeup to the next sleep, if it was woken. Returns the balance_pgdat() passes. */
export function kswapdRun(): i32 {
  lastKswapdRuns = 0;
  if (!kswapdRunnable) return 0;
  kswapdRunnable = false;
  if (kswapdPremature) {
    // schedule_timeout() returned early: no second prepare_kswapd_sleep().
    countEvent(EV_KSWAPD_LOW_WMARK_HIT_QUICKLY, 1);
    kswapdPremature = false;
  }
  kswapdNapUntil = -1;
  for (;;) {
    // Read the new order and highest_zoneidx.
    const allocOrder = kswapdOrder;
    const highestZone = kswapdHighestZoneidx(kswapdLastHighestZone);
    kswapdOrder = 0;
    kswapdHighestZone = MAX_NR_ZONES;
    kswapdLastHighestZone = highestZone;
    const reclaimOrder = balancePgdat(allocOrder, highestZone);
    lastKswapdRuns++;
    let slept: bool;
    if (reclaimOrder < allocOrder) {
      slept = kswapdTryToSleep(allocOrder, reclaimOrder, highestZone); // goto kswapd_try_sleep
    } else {
      // The loop's top: alloc_order = reclaim_order = kswapd_order.
      const order = kswapdOrder;
      const zone = kswapdHighestZoneidx(highestZone);
      kswapdLastHighestZone = zone;
      slept = kswapdTryToSleep(order, order, zone);
    }
    if (slept) break;
  }
  return lastKswapdRuns;
}

/** A field of kswapd's state: 0 kswapd_order, 1 kswapd_highest_zoneidx, 2 runnable, 3 passes in the last advanceTime(), 4 kswapd_failures. */
export function kswapdField(field: i32): i32 {
  if (field == 0) return kswapdOrder;
  if (field == 1) return kswapdHighestZone;
  if (field == 2) return kswapdRunnable ? 1 : 0;
  if (field == 3) return lastKswapdRuns;
  if (field == 4) return kswapdFailures;
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
  if (which == 3) return (kswapdRunnable ? 1 : 0) | (kswapdPremature ? 2 : 0);
  return kswapdFailures;
}
