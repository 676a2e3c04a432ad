// kcompactd and proactive compaction on a simulated clock (mm/compaction.c of
// Linux 6.12: kcompactd(), kcompactd_do_work(), kcompactd_node_suitable(),
// wakeup_kcompactd(), should_proactive_compact_node(), compact_node()).
//
// The clock is in milliseconds (f64, whole numbers) and moves only in
// advanceTime(); the daemon runs only there, so a machine's history is the same
// on both backends and between runs. kcompactd sleeps in
// wait_event_freezable_timeout(): its wait ends
//   - at once when it is woken with work requested (wakeup_kcompactd() after a
//     failed fast path, or a write to vm.compaction_proactiveness), or when the
//     condition already holds as it goes to sleep;
//   - at the end of its timeout: HPAGE_FRAG_CHECK_INTERVAL_MSEC (500 ms), that
//     shifted by COMPACT_MAX_DEFER_SHIFT (32 s) after a proactive compaction that
//     did not lower the node's score, none (MAX_SCHEDULE_TIMEOUT) when
//     proactiveness is 0.
// Then, as kcompactd()'s loop: work requested and no proactive trigger →
// kcompactd_do_work(); otherwise the proactive step (compact the node while its
// fragmentation score exceeds the high watermark) and the trigger is cleared.
//
// One node (pgdat) holds every zone. kswapd (kswapd.ts) runs first in each
// sys.advanceTime() step: it reclaims, wakes kcompactd for pageblock_order
// after a boosted pass, and, going back to sleep, for the order its waker
// needed (kswapd_try_to_sleep()). kswapd_is_running() is false: kswapd never
// runs while kcompactd does. Under vm.defrag_mode (6.18 profile) kcompactd works towards
// the high watermark in whole free pageblocks (compaction.ts:
// compactionSuitAllocationOrder(), compactFinished()). With compaction
// switched off (CONFIG_COMPACTION as a switch) wake-ups are ignored and the
// daemon does no work; the clock still runs.

import { VMSTAT_INTERVAL_MS, pcpEnabled, vmstatTick } from "./pcp.ts";
import { COMPACT_COMPLETE, COMPACT_CONTINUE, COMPACT_PARTIAL_SKIPPED, COMPACT_SUCCESS, EV_COMPACT_DAEMON_FREE_SCANNED,
  EV_COMPACT_DAEMON_MIGRATE_SCANNED, EV_COMPACT_DAEMON_WAKE, MAX_NR_ZONES } from "./abi.ts";
import {
  compactControlInit, compactNodeProactive, compactionDeferReset, compactionDeferred, compactionEnabled, compactionProactiveness,
  compactionSuitAllocationOrder, deferCompaction, fragmentationScoreNode, fragmentationScoreWmark,
  kcompactdCompactZone, lastTotalFreeScanned, lastTotalMigrateScanned, setProactivenessValue,
} from "./compaction.ts";
import { maxOrder } from "./memmap.ts";
import { countEvent } from "./vmevents.ts";
import { zonePopulated } from "./zone.ts";

/** HPAGE_FRAG_CHECK_INTERVAL_MSEC: kcompactd's default timeout. */
// @ts-ignore: decorator
@inline export const HPAGE_FRAG_CHECK_INTERVAL_MSEC: f64 = 500;
/** COMPACT_MAX_DEFER_SHIFT: the proactive back-off is the interval << 6. */
// @ts-ignore: decorator
@inline const PROACTIVE_DEFER_SHIFT: i32 = 6;

/** The simulated clock (ms since boot). */
export let clockMs: f64 = 0;
/** pgdat->kcompactd_max_order: the highest order kcompactd was asked for (0: none). */
export let kcMaxOrder: i32 = 0;
/** pgdat->kcompactd_highest_zoneidx. */
export let kcHighestZone: i32 = 0;
/** pgdat->proactive_compact_trigger (set by writes to vm.compaction_proactiveness). */
export let kcProactiveTrigger: bool = false;
/** The wait ends at the current time: woken with the condition true. */
export let kcRunnable: bool = false;
/** When the wait times out (ms), or -1 for MAX_SCHEDULE_TIMEOUT. */
export let kcDeadline: f64 = -1;
/** What the last advanceTime() ran. */
export let lastKcompactdRuns: i32 = 0;
export let lastProactiveRuns: i32 = 0;

/** pgdat->nr_zones: the highest populated zone + 1. */
function nrZones(): i32 {
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (zonePopulated(z)) n = z + 1;
  return n;
}

export function kcompactdInit(): void {
  clockMs = 0;
  kcMaxOrder = 0;
  kcHighestZone = 0;
  kcProactiveTrigger = false;
  kcRunnable = false;
  kcDeadline = -1;
  lastKcompactdRuns = 0;
  lastProactiveRuns = 0;
}

/** kcompactd_run() at boot: the thread starts its first wait at time 0. */
export function kcompactdBoot(): void {
  kcMaxOrder = 0;
  kcHighestZone = nrZones() - 1;
  goToSleep(HPAGE_FRAG_CHECK_INTERVAL_MSEC);
}

/** The top of kcompactd()'s loop: no timeout when proactiveness is 0; wait_event checks the condition first. */
function goToSleep(timeout: f64): void {
  kcDeadline = compactionProactiveness == 0 ? -1 : clockMs + timeout;
  kcRunnable = kcMaxOrder > 0 || kcProactiveTrigger;
}

/**
 * vm.compaction_proactiveness = v. `write`: as compaction_proactiveness_sysctl_handler()
 * (a non-zero value sets the proactive trigger and wakes kcompactd); otherwise a
 * boot-time value (kcompactd's first wait is set up again with it).
 */
export function setCompactionProactiveness(v: i32, write: bool): void {
  setProactivenessValue(v);
  if (!write) {
    goToSleep(HPAGE_FRAG_CHECK_INTERVAL_MSEC);
    return;
  }
  if (v != 0 && !kcProactiveTrigger) {
    kcProactiveTrigger = true;
    kcRunnable = true;
  }
}

/** kcompactd_node_suitable(): some zone up to the highest would gain from compaction at kcompactd_max_order. */
function kcompactdNodeSuitable(): bool {
  for (let z = 0; z <= kcHighestZone; z++) {
    if (!zonePopulated(z)) continue;
    if (compactionSuitAllocationOrder(z, kcMaxOrder, kcHighestZone, 0, true) == COMPACT_CONTINUE) return true;
  }
  return false;
}

/**
 * wakeup_kcompactd(): records the order and zone asked for, and wakes the
 * daemon when compaction there would help. (Its wait queue always has the
 * sleeper: kcompactd runs only inside advanceTime().)
 */
export function wakeupKcompactd(order: i32, highestZone: i32): void {
  if (!compactionEnabled || order == 0) return;
  if (kcMaxOrder < order) kcMaxOrder = order;
  if (kcHighestZone > highestZone) kcHighestZone = highestZone;
  if (!kcompactdNodeSuitable()) return;
  kcRunnable = true;
}

/** kcompactd_do_work(): compacts each zone up to the highest for kcompactd_max_order at MIGRATE_SYNC_LIGHT. */
function kcompactdDoWork(): void {
  const order = kcMaxOrder;
  const highest = kcHighestZone;
  countEvent(EV_COMPACT_DAEMON_WAKE, 1);
  compactControlInit(order); // one struct compact_control for every zone (search_order = the order)
  for (let z = 0; z <= highest; z++) {
    if (!zonePopulated(z)) continue;
    if (compactionDeferred(z, order)) continue;
    if (compactionSuitAllocationOrder(z, order, z, 0, true) != COMPACT_CONTINUE) continue;
    const status = kcompactdCompactZone(z, order, highest);
    if (status == COMPACT_SUCCESS) {
      compactionDeferReset(z, order, false);
    } else if (status == COMPACT_PARTIAL_SKIPPED || status == COMPACT_COMPLETE) {
      // Sync migration: defer like sync direct compaction (drain_all_pages(): no pcp lists here).
      deferCompaction(z, order);
    }
    countEvent(EV_COMPACT_DAEMON_MIGRATE_SCANNED, lastTotalMigrateScanned());
    countEvent(EV_COMPACT_DAEMON_FREE_SCANNED, lastTotalFreeScanned());
  }
  if (kcMaxOrder <= order) kcMaxOrder = 0;
  if (kcHighestZone >= highest) kcHighestZone = nrZones() - 1;
}

/** should_proactive_compact_node() */
function shouldProactiveCompactNode(): bool {
  if (compactionProactiveness == 0) return false;
  return fragmentationScoreNode() > fragmentationScoreWmark(false);
}

/** One pass of kcompactd()'s loop, the wait having ended at clockMs. */
function kcompactdStep(): void {
  const requested = kcMaxOrder > 0 || kcProactiveTrigger;
  kcRunnable = false;
  if (requested && !kcProactiveTrigger) {
    if (compactionEnabled) {
      kcompactdDoWork();
      lastKcompactdRuns++;
    } else {
      kcMaxOrder = 0;
      kcHighestZone = nrZones() - 1;
    }
    goToSleep(HPAGE_FRAG_CHECK_INTERVAL_MSEC);
    return;
  }
  let timeout = HPAGE_FRAG_CHECK_INTERVAL_MSEC;
  if (compactionEnabled && shouldProactiveCompactNode()) {
    const prevScore = fragmentationScoreNode();
    compactNodeProactive();
    lastProactiveRuns++;
    // No progress: back off (the timeout replaced 5.9's proactive_defer count).
    if (fragmentationScoreNode() >= prevScore) timeout = HPAGE_FRAG_CHECK_INTERVAL_MSEC * f64(1 << PROACTIVE_DEFER_SHIFT);
  }
  kcProactiveTrigger = false;
  goToSleep(timeout);
}

/**
 * Advances the clock by `ms`, running kcompactd each time its wait ends on
 * the way. Returns the number of passes it made (lastKcompactdRuns +
 * lastProactiveRuns tell them apart; a proactive pass that found the score
 * below the high watermark counts in neither).
 */
export function advanceTime(ms: f64): i32 {
  lastKcompactdRuns = 0;
  lastProactiveRuns = 0;
  const target = clockMs + ms;
  let passes = 0;
  // The vmstat worker's rounds (every whole second), first at a tie so that
  // none is passed over (pcp.ts, vmstatTick()); once a round finds nothing to
  // do, the next ones would not either until kcompactd moves pages.
  let vmstatIdle = !pcpEnabled;
  for (;;) {
    const tick = vmstatIdle ? -1 : (Math.floor(clockMs / VMSTAT_INTERVAL_MS) + 1) * VMSTAT_INTERVAL_MS;
    let t: f64 = clockMs;
    if (kcRunnable) t = clockMs;
    else if (kcDeadline >= 0) t = kcDeadline;
    else t = -1;
    if (tick >= 0 && tick <= target && (t < 0 || tick <= t)) {
      clockMs = tick;
      vmstatIdle = vmstatTick() == 0;
      continue;
    }
    if (t < 0 || t > target) break;
    if (t > clockMs) clockMs = t;
    kcompactdStep();
    vmstatIdle = !pcpEnabled;
    passes++;
  }
  clockMs = target;
  return passes;
}

/** A field of kcompactd's state: 0 max order, 1 highest zone, 2 runnable, 3 trigger. */
export function kcompactdField(field: i32): i32 {
  if (field == 0) return kcMaxOrder;
  if (field == 1) return kcHighestZone;
  if (field == 2) return kcRunnable ? 1 : 0;
  if (field == 3) return kcProactiveTrigger ? 1 : 0;
  return -1;
}

/** check(): kcompactd's state within its ranges. */
export function kcompactdCheck(): string {
  if (compactionProactiveness < 0 || compactionProactiveness > 100) return "kcompactd: proactiveness out of 0..100";
  if (kcMaxOrder < 0 || kcMaxOrder > maxOrder) return "kcompactd: kcompactd_max_order out of range";
  if (kcHighestZone < 0 || kcHighestZone >= MAX_NR_ZONES) return "kcompactd: kcompactd_highest_zoneidx out of range";
  if (kcDeadline >= 0 && kcDeadline < clockMs) return "kcompactd: its timeout is in the past";
  if (clockMs < 0 || clockMs != Math.floor(clockMs)) return "kcompactd: the clock is not a whole number of ms";
  return "";
}
