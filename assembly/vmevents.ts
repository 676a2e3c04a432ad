// Event counters, as /proc/vmstat's vm_event_item and the tracepoints count them.
// Float64 so long replays count exactly past 2^31 (exact to 2^53).

// @ts-ignore: decorator
@inline export const EV_PGALLOC: i32 = 0;            // pgalloc_* over all zones, in pages
// @ts-ignore: decorator
@inline export const EV_PGFREE: i32 = 1;             // pgfree, in pages
// @ts-ignore: decorator
@inline export const EV_PGMIGRATE_SUCCESS: i32 = 2;  // in pages
// @ts-ignore: decorator
@inline export const EV_PGMIGRATE_FAIL: i32 = 3;     // in pages, per failed pass
// @ts-ignore: decorator
@inline export const EV_CMA_ALLOC_SUCCESS: i32 = 4;  // cma_alloc() calls
// @ts-ignore: decorator
@inline export const EV_CMA_ALLOC_FAIL: i32 = 5;
// @ts-ignore: decorator
@inline export const EV_EXTFRAG: i32 = 6;            // mm_page_alloc_extfrag events
// @ts-ignore: decorator
@inline export const EV_EXTFRAG_CLAIMED: i32 = 7;    // ... of which claimed the whole pageblock
// @ts-ignore: decorator
@inline export const EV_ALLOC_FAIL: i32 = 8;         // buddy allocations that returned NULL
// @ts-ignore: decorator
@inline export const EV_CONTIG_SUCCESS: i32 = 9;     // alloc_contig_range() == 0
// @ts-ignore: decorator
@inline export const EV_CONTIG_FAIL: i32 = 10;
// @ts-ignore: decorator
@inline export const EV_CONTIG_MIGRATE_PASSES: i32 = 11; // migrate_pages() passes in contig ranges
// @ts-ignore: decorator
@inline export const EV_LONGTERM_MIGRATED: i32 = 12; // pages moved out of CMA by long-term pins
// @ts-ignore: decorator
@inline export const EV_COUNT: i32 = 13;

export let vmEvents: Float64Array = new Float64Array(EV_COUNT);
/** Allocation failures per order (index 0..maxOrder). */
export let allocFailByOrder: Float64Array = new Float64Array(0);
/** pgalloc_dma, pgalloc_dma32, pgalloc_normal, pgalloc_movable, pgalloc_device: pages per zone. */
export const zonePgalloc: Float64Array = new Float64Array(5);

export function vmeventsInit(maxOrder: i32): void {
  vmEvents = new Float64Array(EV_COUNT);
  allocFailByOrder = new Float64Array(maxOrder + 1);
  zonePgalloc.fill(0);
}

// @ts-ignore: decorator
@inline export function countEvent(ev: i32, n: i32): void {
  unchecked(vmEvents[ev] += f64(n));
}
