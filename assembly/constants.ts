// Shared constants of the engine: errno values, migratetypes, page kinds.
// Facts from include/uapi/asm-generic/errno-base.h and include/linux/mmzone.h.

// ---- errno (returned negated, as the kernel does) ---------------------------
// @ts-ignore: decorator
@inline export const ENOENT: i32 = 2;
// @ts-ignore: decorator
@inline export const EAGAIN: i32 = 11;
// @ts-ignore: decorator
@inline export const ENOMEM: i32 = 12;
// @ts-ignore: decorator
@inline export const EBUSY: i32 = 16;
// @ts-ignore: decorator
@inline export const EINVAL: i32 = 22;
// @ts-ignore: decorator
@inline export const ENOSPC: i32 = 28;
// @ts-ignore: decorator
@inline export const ERANGE: i32 = 34;
// @ts-ignore: decorator
@inline export const EOVERFLOW: i32 = 75;

// ---- migratetypes (enum migratetype, CONFIG_CMA and CONFIG_MEMORY_ISOLATION on)
// @ts-ignore: decorator
@inline export const MIGRATE_UNMOVABLE: i32 = 0;
// @ts-ignore: decorator
@inline export const MIGRATE_MOVABLE: i32 = 1;
// @ts-ignore: decorator
@inline export const MIGRATE_RECLAIMABLE: i32 = 2;
/** Types with per-cpu lists and fallbacks between them. */
// @ts-ignore: decorator
@inline export const MIGRATE_PCPTYPES: i32 = 3;
// @ts-ignore: decorator
@inline export const MIGRATE_HIGHATOMIC: i32 = 3;
// @ts-ignore: decorator
@inline export const MIGRATE_CMA: i32 = 4;
// @ts-ignore: decorator
@inline export const MIGRATE_ISOLATE: i32 = 5;
// @ts-ignore: decorator
@inline export const MIGRATE_TYPES: i32 = 6;

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
@inline export const PIN_COUNT_MAX: i32 = 0xffff;

/** Null link / no owner. */
// @ts-ignore: decorator
@inline export const NONE: i32 = -1;

// Portability rule for this engine: every integer division is wrapped in i32()
// (JS divides in floating point; wasm i32 division truncates).
