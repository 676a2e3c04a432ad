/**
 * The engine's ABI as the bindings see it: the constants of assembly/abi.ts
 * (generated into abi.generated.ts at build time, so they are the engine's own
 * values), decoders for its packed results, and byIndex() for tables indexed
 * by its enums. Nothing here knows a number the engine defines.
 */
import {
  KIND_ALLOC,
  KIND_BUDDY,
  KIND_NONE,
  KIND_PCP,
  PAGE_PINS_LONG_SHIFT,
  PAGE_PINS_SHORT_MASK,
  PAGE_STATE_CMA,
  PAGE_STATE_KIND_MASK,
  PAGE_STATE_MT_MASK,
  PAGE_STATE_MT_SHIFT,
  PAGE_STATE_ORDER_MASK,
  PAGE_STATE_ORDER_SHIFT,
  PAGE_STATE_RESERVED,
} from "./abi.generated.ts";

export * from "./abi.generated.ts";

/** What engine.pageState(pfn) packs (see PAGE_STATE_* in assembly/abi.ts). */
export interface PageState {
  /**
   * KIND_NONE (a tail, or never set), KIND_BUDDY (head of a free block),
   * KIND_ALLOC (head of an allocation) or KIND_PCP (head of a free block on a
   * per-cpu page list).
   */
  kind: typeof KIND_NONE | typeof KIND_BUDDY | typeof KIND_ALLOC | typeof KIND_PCP;
  /** Free list (buddy) or requested migratetype (allocated), a MIGRATE_* index. */
  migratetype: number;
  order: number;
  /** Allocated by a CMA area. */
  cma: boolean;
  /** PG_reserved (the swiotlb pool). */
  reserved: boolean;
}

/** The kind of a pageState() value. */
export function pageStateKind(state: number): PageState["kind"] {
  return (state & PAGE_STATE_KIND_MASK) as PageState["kind"];
}

/** The order of a pageState() value. */
export function pageStateOrder(state: number): number {
  return (state >>> PAGE_STATE_ORDER_SHIFT) & PAGE_STATE_ORDER_MASK;
}

/** Unpacks engine.pageState(pfn) (a valid pfn: the value is not negative). */
export function decodePageState(state: number): PageState {
  return {
    kind: pageStateKind(state),
    migratetype: (state >>> PAGE_STATE_MT_SHIFT) & PAGE_STATE_MT_MASK,
    order: pageStateOrder(state),
    cma: (state & PAGE_STATE_CMA) !== 0,
    reserved: (state & PAGE_STATE_RESERVED) !== 0,
  };
}

/** Packs a PageState as the engine does: encodePageState(decodePageState(s)) === s for every engine value. */
export function encodePageState(s: PageState): number {
  return (
    s.kind |
    (s.migratetype << PAGE_STATE_MT_SHIFT) |
    (s.order << PAGE_STATE_ORDER_SHIFT) |
    (s.cma ? PAGE_STATE_CMA : 0) |
    (s.reserved ? PAGE_STATE_RESERVED : 0)
  );
}

/** What engine.pagePins(pfn) packs (see PAGE_PINS_* in assembly/abi.ts). */
export interface PagePins {
  shortPins: number;
  longPins: number;
}

/** Unpacks engine.pagePins(pfn). */
export function decodePagePins(pins: number): PagePins {
  return { shortPins: pins & PAGE_PINS_SHORT_MASK, longPins: pins >>> PAGE_PINS_LONG_SHIFT };
}

/** Packs PagePins as the engine does. */
export function encodePagePins(p: PagePins): number {
  return p.shortPins | (p.longPins << PAGE_PINS_LONG_SHIFT);
}

/**
 * A table indexed by one of the engine's enums, written as `{ [EV_PGFREE]: "pgfree", ... }`
 * so that each entry names its index (a repeated index is a compile error) and
 * checked here to have exactly one entry per index 0..count-1 and no value
 * twice, so a change to the engine's enum cannot leave a silent mismatch.
 */
export function byIndex<T>(what: string, count: number, entries: Readonly<Record<number, T>>): readonly T[] {
  const keys = Object.keys(entries);
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    if (!Object.prototype.hasOwnProperty.call(entries, i)) throw new Error(`${what}: no entry for engine index ${i}`);
    const value = entries[i] as T;
    if (out.includes(value)) throw new Error(`${what}: ${String(value)} is listed for two indexes`);
    out.push(value);
  }
  if (keys.length !== count)
    throw new Error(`${what}: entries beyond the engine's ${count} indexes (${keys.join(", ")})`);
  return Object.freeze(out);
}
