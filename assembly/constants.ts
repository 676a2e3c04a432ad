// Engine-internal constants. What the bindings must agree on (errno values,
// migratetypes, zones, event indexes, result layouts) is in abi.ts.

import { MIGRATE_PCPTYPES, PAGE_PINS_SHORT_MASK } from "./abi.ts";

/** migratetype_is_mergeable(): blocks of these types may merge with other types at >= pageblock order. */
// @ts-ignore: decorator
@inline export function migratetypeIsMergeable(mt: i32): bool {
  return mt < MIGRATE_PCPTYPES;
}

/** CONFIG_CMA_AREAS default without NUMA. */
// @ts-ignore: decorator
@inline export const MAX_CMA_AREAS: i32 = 8;

/** NR_MAX_MIGRATE_PAGES_RETRY / the 5 passes of __alloc_contig_migrate_range. */
// @ts-ignore: decorator
@inline export const CONTIG_MIGRATE_TRIES: i32 = 5;

/** A pin count lives in 16 bits of the page's second word. */
// @ts-ignore: decorator
@inline export const PIN_COUNT_MAX: i32 = PAGE_PINS_SHORT_MASK;

/** Null link / no owner. */
// @ts-ignore: decorator
@inline export const NONE: i32 = -1;

// Portability rule for this engine: every integer division is wrapped in i32()
// (JS divides in floating point; wasm i32 division truncates).
