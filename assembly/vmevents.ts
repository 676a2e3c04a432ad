// Event counters, as /proc/vmstat's vm_event_item and the tracepoints count them
// (indexes EV_* in abi.ts).
// Float64 so long replays count exactly past 2^31 (exact to 2^53).

import { EV_COUNT, MAX_NR_ZONES } from "./abi.ts";

export let vmEvents: Float64Array = new Float64Array(EV_COUNT);
/** Allocation failures per order (index 0..maxOrder). */
export let allocFailByOrder: Float64Array = new Float64Array(0);
/** pgalloc_dma, pgalloc_dma32, pgalloc_normal, pgalloc_movable, pgalloc_device: pages per zone (ZONE_*). */
export const zonePgalloc: Float64Array = new Float64Array(MAX_NR_ZONES);

export function vmeventsInit(maxOrder: i32): void {
  vmEvents = new Float64Array(EV_COUNT);
  allocFailByOrder = new Float64Array(maxOrder + 1);
  zonePgalloc.fill(0);
}

// @ts-ignore: decorator
@inline export function countEvent(ev: i32, n: i32): void {
  unchecked(vmEvents[ev] += f64(n));
}
