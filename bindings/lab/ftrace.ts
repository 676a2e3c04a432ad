/**
 * Reading and writing text ftrace captures (`/sys/kernel/tracing/trace` or
 * `trace_pipe`, `trace-cmd report`, `perf script`) of the page-allocator and
 * CMA trace events, in every format the kernel has printed them in.
 *
 * The formats are the TP_printk() strings of include/trace/events/kmem.h and
 * include/trace/events/cma.h:
 *
 * | event | format | kernels |
 * |---|---|---|
 * | mm_page_alloc | `page=%p pfn=%lu order=%d migratetype=%d gfp_flags=%s` | v2.6.33–v5.13 |
 * | mm_page_alloc | `page=%p pfn=0x%lx order=%d migratetype=%d gfp_flags=%s` | v5.14+ |
 * | mm_page_free_direct | `page=%p pfn=%lu order=%d` | v2.6.33–v3.2 (renamed mm_page_free) |
 * | mm_page_free | `page=%p pfn=%lu order=%d`, then `pfn=0x%lx` | v3.3–v5.13, v5.14+ |
 * | mm_page_free_batched | `page=%p pfn=%lu order=0 cold=%d` | v3.3–v4.14 |
 * | mm_page_free_batched | `page=%p pfn=%lu order=0`, then `pfn=0x%lx` | v4.15–v5.13, v5.14+ |
 * | mm_page_alloc_extfrag | `page=%p pfn=%lu alloc_order=%d fallback_order=%d pageblock_order=%d alloc_migratetype=%d fallback_migratetype=%d fragmenting=%d change_ownership=%d` (pfn 0x%lx from v5.14) | v2.6.33+ |
 * | cma_alloc | `pfn=%lx page=%p count=%u align=%u` | 2015 (~v4.1)–v5.12 |
 * | cma_release | `pfn=%lx page=%p count=%u` | 2015 (~v4.1)–v5.12 |
 * | cma_alloc_start | `name=%s count=%lu align=%u` | v5.13+ |
 * | cma_alloc_start | `name=%s request_count=%lu available_count=%lu total_count=%lu align=%u` | 2025 (v6.18-era) |
 * | cma_alloc_finish | `name=%s pfn=%lx page=%p count=%lu align=%u` | v5.13 |
 * | cma_alloc_finish | `name=%s pfn=0x%lx page=%p count=%lu align=%u` (+ ` errorno=%d` from v6.3) | v5.14+ |
 * | cma_release | `name=%s pfn=%lx page=%p count=%lu`, then `pfn=0x%lx` | v5.13, v5.14+ |
 *
 * Sources: the v2.6.33 events (Mel Gorman, "tracing, page-allocator: add trace
 * events for page allocation and page freeing"), the v3.3 rename ("mm-tracepoint:
 * rename page-free events"), v4.15 "mm: remove cold parameter from
 * free_hot_cold_page*", v5.13 "mm: cma: add trace events for CMA alloc perf
 * testing" and "mm: use proper type for cma_[alloc|release]", v5.14 "mm, tracing:
 * Unify PFN format strings", v6.3 "cma:tracing: Print alloc result in
 * trace_cma_alloc_finish", 2025 "mm/cma: add available_count and total count in
 * trace_cma_alloc_start".
 *
 * A NULL `%p` (a failed allocation) printed as `(null)` right-aligned to the
 * pointer width until v5.2 (so `page=          (null)` on 64-bit, `page=  (null)`
 * on 32-bit), and as `0000000000000000` since v5.2 ("vsprintf: don't obfuscate
 * NULL and error pointers"). Before v4.15 a page pointer is a raw vmemmap address
 * (`ffffea0004a93000`), after it a hashed id (`000000003c1b1f2e`).
 *
 * The compaction events of include/trace/events/compaction.h are read too, as
 * observations of the traced kernel (COMPACTION_TRACE_EVENTS; the replay counts
 * them beside its own compaction, it does not replay them):
 *
 * | event | format |
 * |---|---|
 * | mm_compaction_begin | `zone_start=0x%lx migrate_pfn=0x%lx free_pfn=0x%lx zone_end=0x%lx, mode=%s` |
 * | mm_compaction_end | the same, then ` status=%s` (compaction_status_string) |
 * | mm_compaction_isolate_migratepages, _isolate_freepages | `range=(0x%lx ~ 0x%lx) nr_scanned=%lu nr_taken=%lu` |
 * | mm_compaction_migratepages | `nr_migrated=%lu nr_failed=%lu` |
 * | mm_compaction_try_to_compact_pages | `order=%d gfp_mask=%s priority=%d` |
 * | mm_compaction_suitable, _finished | `node=%d zone=%-8s order=%d ret=%s` |
 * | mm_compaction_deferred, _defer_compaction, _defer_reset | `node=%d zone=%-8s order=%d order_failed=%d consider=%u limit=%lu` |
 * | mm_compaction_kcompactd_wake, _wakeup_kcompactd | `nid=%d order=%d classzone_idx=%-8s` (`highest_zoneidx=` in some trees) |
 * | mm_compaction_kcompactd_sleep | `nid=%d` |
 *
 * So are the reclaim events of include/trace/events/vmscan.h (VMSCAN_TRACE_EVENTS;
 * fields the kernel dropped or added across versions, such as lru_isolate's
 * `isolate_mode=`, are not required):
 *
 * | event | format |
 * |---|---|
 * | mm_vmscan_kswapd_sleep | `nid=%d` |
 * | mm_vmscan_kswapd_wake | `nid=%d order=%d` |
 * | mm_vmscan_wakeup_kswapd | `nid=%d order=%d gfp_flags=%s` |
 * | mm_vmscan_direct_reclaim_begin, _node_reclaim_begin | `order=%d gfp_flags=%s` (node: `nid=%d` first) |
 * | mm_vmscan_direct_reclaim_end, _node_reclaim_end | `nr_reclaimed=%lu` |
 * | mm_vmscan_lru_isolate | `classzone=%d order=%d nr_requested=%lu nr_scanned=%lu nr_skipped=%lu nr_taken=%lu lru=%s` |
 * | mm_vmscan_lru_shrink_inactive | `nid=%d nr_scanned=%ld nr_reclaimed=%ld nr_dirty=%ld nr_writeback=%ld … priority=%d flags=%s` |
 * | mm_vmscan_lru_shrink_active | `nid=%d nr_taken=%ld nr_active=%ld nr_deactivated=%ld nr_referenced=%ld priority=%d flags=%s` |
 * | mm_vmscan_write_folio (mm_vmscan_writepage before v5.19) | `page=%p pfn=0x%lx flags=%s` |
 *
 * The line prefix (`comm-pid [cpu] flags timestamp: `, or perf's
 * `comm pid [cpu] timestamp: kmem:`) is optional; fields the kernel did not
 * print in some version, and fields vendors add, are tolerated.
 */
import { DmaSimError } from "../core/errors.ts";
import { latin1Text } from "./text-bytes.ts";

/** The events the Lab reads; every other event is skipped as "other event". */
export const TRACE_EVENTS: readonly string[] = Object.freeze([
  "mm_page_alloc",
  "mm_page_free",
  "mm_page_free_direct",
  "mm_page_free_batched",
  "mm_page_alloc_extfrag",
  "cma_alloc_start",
  "cma_alloc_finish",
  "cma_alloc",
  "cma_release",
]);

/** The compaction events read as observations of the traced kernel (not replayed). */
export const COMPACTION_TRACE_EVENTS: readonly string[] = Object.freeze([
  "mm_compaction_begin",
  "mm_compaction_end",
  "mm_compaction_isolate_migratepages",
  "mm_compaction_isolate_freepages",
  "mm_compaction_migratepages",
  "mm_compaction_try_to_compact_pages",
  "mm_compaction_suitable",
  "mm_compaction_finished",
  "mm_compaction_deferred",
  "mm_compaction_defer_compaction",
  "mm_compaction_defer_reset",
  "mm_compaction_kcompactd_wake",
  "mm_compaction_wakeup_kcompactd",
  "mm_compaction_kcompactd_sleep",
]);

/**
 * The per-cpu list events of include/trace/events/kmem.h, read as observations
 * of the traced kernel (the replay counts them beside the simulation's own
 * per-cpu list traffic; `dmasim twin` follows them):
 *
 * | event | format (v5.14+) |
 * |---|---|
 * | mm_page_alloc_zone_locked | `page=%p pfn=0x%lx order=%u migratetype=%d percpu_refill=%d` |
 * | mm_page_pcpu_drain | `page=%p pfn=0x%lx order=%d migratetype=%d` |
 */
export const PCP_TRACE_EVENTS: readonly string[] = Object.freeze(["mm_page_alloc_zone_locked", "mm_page_pcpu_drain"]);

/** The reclaim events read as observations of the traced kernel (not replayed). */
export const VMSCAN_TRACE_EVENTS: readonly string[] = Object.freeze([
  "mm_vmscan_kswapd_sleep",
  "mm_vmscan_kswapd_wake",
  "mm_vmscan_wakeup_kswapd",
  "mm_vmscan_direct_reclaim_begin",
  "mm_vmscan_direct_reclaim_end",
  "mm_vmscan_node_reclaim_begin",
  "mm_vmscan_node_reclaim_end",
  "mm_vmscan_lru_isolate",
  "mm_vmscan_lru_shrink_inactive",
  "mm_vmscan_lru_shrink_active",
  "mm_vmscan_write_folio",
  "mm_vmscan_writepage",
]);

const KNOWN_EVENTS = new Set([
  ...TRACE_EVENTS,
  ...COMPACTION_TRACE_EVENTS,
  ...PCP_TRACE_EVENTS,
  ...VMSCAN_TRACE_EVENTS,
]);

/** The fields of a reclaim event (VMSCAN_TRACE_EVENTS). */
export interface VmscanTraceFields {
  /** kswapd_wake, wakeup_kswapd, *_reclaim_begin, lru_isolate: the order reclaim works for. */
  order?: number;
  /** *_reclaim_end: pages reclaimed by that run. */
  nrReclaimed?: number;
  /** lru_isolate: pages looked at and taken off the list; lru_shrink_active: taken. */
  nrScanned?: number;
  nrTaken?: number;
  /** lru_isolate: `lru=` ("inactive_anon", "active_file", …). */
  lru?: string;
  /** lru_shrink_inactive: dirty pages and pages under writeback it met. */
  nrDirty?: number;
  nrWriteback?: number;
  /** lru_shrink_active: pages moved to the inactive list. */
  nrDeactivated?: number;
  /** lru_shrink_*: the scan priority (DEF_PRIORITY 12 down to 0). */
  priority?: number;
}

/** The fields of a compaction event (COMPACTION_TRACE_EVENTS), as numbers and names. */
export interface CompactionTraceFields {
  /** `zone=` (suitable, finished, defer events) or kcompactd's `classzone_idx=`: "DMA", "DMA32", "Normal", "Movable". */
  zone?: string;
  /** enum compact_result as printed: `ret=` (suitable, finished) or `status=` (end). */
  result?: string;
  /** `mode=` of begin and end. */
  mode?: "sync" | "async";
  /** begin/end: the zone and the scanners' positions. */
  zoneStart?: number;
  zoneEnd?: number;
  migratePfn?: number;
  freePfn?: number;
  /** isolate_*: the pfn range scanned, `[startPfn, endPfn)`, pages looked at and isolated. */
  startPfn?: number;
  endPfn?: number;
  nrScanned?: number;
  nrTaken?: number;
  /** migratepages: pages moved and pages that failed. */
  nrMigrated?: number;
  nrFailed?: number;
  /** try_to_compact_pages: enum compact_priority (0 SYNC_FULL, 1 SYNC_LIGHT, 2 ASYNC). */
  priority?: number;
  /** defer events: compact_order_failed, compact_considered, 1 << compact_defer_shift. */
  orderFailed?: number;
  considered?: number;
  limit?: number;
}

/**
 * One parsed trace event. Numbers are as the traced kernel printed them: `pfn`
 * names a frame of the traced machine, `migratetype` is that kernel's enum value
 * (see the replay for how it is mapped).
 */
export interface TraceEvent {
  /** Event name, e.g. "mm_page_alloc". */
  name: string;
  /**
   * The page frame: the allocated, freed or released block's first pfn. null for
   * a failed allocation (`page=(null)`, a zero page pointer, `errorno` ≠ 0 or a
   * pfn of -1UL) and for cma_alloc_start, which prints none.
   */
  pfn: number | null;
  /** Block order (mm_page_*: `order`; mm_page_alloc_extfrag: `alloc_order`). */
  order?: number;
  /** Requested migratetype (mm_page_alloc: `migratetype`; extfrag: `alloc_migratetype`). */
  migratetype?: number;
  /** CMA pages asked for or released (`count`, or `request_count`). */
  count?: number;
  /** CMA alignment, an order (cma_alloc()'s `align`). */
  align?: number;
  /** CMA area name (`name`, v5.13+). */
  area?: string;
  /** cma_alloc_finish `errorno` (v6.3+): 0, or the negative errno of a failure. */
  errno?: number;
  /** mm_page_alloc_zone_locked: `percpu_refill=1`, the block went to a per-cpu list (rmqueue_bulk()). */
  percpuRefill?: boolean;
  /** The compaction events' fields (COMPACTION_TRACE_EVENTS only). */
  compaction?: CompactionTraceFields;
  /** The reclaim events' fields (VMSCAN_TRACE_EVENTS only). */
  vmscan?: VmscanTraceFields;
  /** The prefix's timestamp in seconds (`… 4.918914: name:`), when the line has one. */
  timestamp?: number;
  /** Every `key=value` field of the line, as text. */
  raw: Record<string, string>;
}

/**
 * A line is an event or a reason to skip it. Reasons are a small fixed set, so
 * they can be counted: "blank", "comment" (the `#` header), "lost events"
 * (`CPU:n [LOST m EVENTS]`, with `lost` = m), "not an event line", "other event",
 * and "malformed: missing <field>" / "malformed: bad <field>".
 */
export type ParsedLine = { event: TraceEvent } | { skip: string; lost?: number };

// An event name is the first `name:` token that starts a word and is followed by
// a blank; perf prefixes it with the subsystem (`kmem:mm_page_alloc:`). Timestamps
// (`1234.567890:`), CPU numbers and `comm-pid` tokens never match it.
const EVENT_RE = /(?:^|\s)(?:[A-Za-z_]\w*:)?([A-Za-z_]\w*):(?=\s|$)/;
const LOST_RE = /^\s*CPU:\s*\d+\s+\[LOST (\d+) EVENTS\]/;
const HEX_RE = /^[0-9a-fA-F]+$/;
const DEC_RE = /^[0-9]+$/;
const SIGNED_RE = /^-?[0-9]+$/;
const NULL_PADDED_RE = /=\s+\(null\)/g;

/** Unsigned number in `radix`, or in hex when written 0x…; NaN when not a safe integer. */
function parseUnsigned(text: string, radix: 10 | 16): number {
  let digits = text;
  let base: number = radix;
  if (text.length > 2 && text[0] === "0" && (text[1] === "x" || text[1] === "X")) {
    digits = text.slice(2);
    base = 16;
  }
  if (!(base === 16 ? HEX_RE : DEC_RE).test(digits)) return NaN;
  const n = parseInt(digits, base);
  return Number.isSafeInteger(n) ? n : NaN;
}

function parseSigned(text: string): number {
  if (!SIGNED_RE.test(text)) return NaN;
  const n = parseInt(text, 10);
  return Number.isSafeInteger(n) ? n : NaN;
}

/** `%p` of NULL: "(null)" before v5.2, zeros after (or perf's 0x0). */
function isNullPointer(text: string): boolean {
  return text === "(null)" || /^(?:0x)?0+$/i.test(text);
}

/** -1UL printed by %lx or 0x%lx on a 64- or 32-bit kernel: cma_alloc()'s failure pfn. */
function isMinusOne(text: string): boolean {
  return /^(?:0x)?(?:f{16}|f{8})$/i.test(text) || text === "-1";
}

class Malformed {
  constructor(readonly reason: string) {}
}

function field(raw: Record<string, string>, key: string): string {
  const v = raw[key];
  if (v === undefined) throw new Malformed(`malformed: missing ${key}`);
  return v;
}

function uint(
  raw: Record<string, string>,
  key: string,
  radix: 10 | 16,
  max = Number.MAX_SAFE_INTEGER,
  as = key,
): number {
  const n = parseUnsigned(field(raw, key), radix);
  if (!(n <= max)) throw new Malformed(`malformed: bad ${as}`);
  return n;
}

function optUint(raw: Record<string, string>, key: string, max: number, as = key): number | undefined {
  return raw[key] === undefined ? undefined : uint(raw, key, 10, max, as);
}

function int(raw: Record<string, string>, key: string, as = key): number {
  const n = parseSigned(field(raw, key));
  if (Number.isNaN(n)) throw new Malformed(`malformed: bad ${as}`);
  return n;
}

function optInt(raw: Record<string, string>, key: string, as = key): number | undefined {
  return raw[key] === undefined ? undefined : int(raw, key, as);
}

/** Orders and alignments beyond this are garbage, whatever the machine. */
export const MAX_ORDER_TEXT = 63;

function parseFields(body: string): Record<string, string> {
  // `(null)` is padded to the pointer width before v5.2: rejoin it to its key.
  const text = body.includes("(null)") ? body.replace(NULL_PADDED_RE, "=(null)") : body;
  const raw: Record<string, string> = {};
  for (const token of text.split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) raw[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return raw;
}

function buildEvent(name: string, raw: Record<string, string>): TraceEvent {
  switch (name) {
    case "mm_page_alloc": {
      // A failed __alloc_pages() is traced too, with a NULL page; kernels before
      // the `page ? pfn : 0` fix printed page_to_pfn(NULL), so pfn is ignored then.
      if (raw.page === undefined && raw.pfn === undefined) throw new Malformed("malformed: missing pfn");
      const failed = raw.page !== undefined && isNullPointer(raw.page);
      const pfn = failed ? null : uint(raw, "pfn", 10);
      return { name, pfn, order: uint(raw, "order", 10, MAX_ORDER_TEXT), migratetype: int(raw, "migratetype"), raw };
    }
    case "mm_page_free":
    case "mm_page_free_direct":
      return { name, pfn: uint(raw, "pfn", 10), order: uint(raw, "order", 10, MAX_ORDER_TEXT), raw };
    case "mm_page_alloc_zone_locked":
    case "mm_page_pcpu_drain": {
      const ev: TraceEvent = {
        name,
        pfn: uint(raw, "pfn", 10),
        order: uint(raw, "order", 10, MAX_ORDER_TEXT),
        migratetype: int(raw, "migratetype"),
        raw,
      };
      if (name === "mm_page_alloc_zone_locked") ev.percpuRefill = raw.percpu_refill === "1";
      return ev;
    }
    case "mm_page_free_batched": {
      // Every version prints a literal "order=0" (v6.10+ batches folios of any pcp
      // order under it); tolerate its absence.
      const order = optUint(raw, "order", MAX_ORDER_TEXT);
      const ev: TraceEvent = { name, pfn: uint(raw, "pfn", 10), raw };
      if (order !== undefined) ev.order = order;
      return ev;
    }
    case "mm_page_alloc_extfrag": {
      const ev: TraceEvent = { name, pfn: uint(raw, "pfn", 10), raw };
      const order = optUint(raw, "alloc_order", MAX_ORDER_TEXT);
      const mt = optInt(raw, "alloc_migratetype");
      if (order !== undefined) ev.order = order;
      if (mt !== undefined) ev.migratetype = mt;
      return ev;
    }
    case "cma_alloc_start": {
      const key = raw.count !== undefined ? "count" : raw.request_count !== undefined ? "request_count" : "count";
      const ev: TraceEvent = { name, pfn: null, count: uint(raw, key, 10, Number.MAX_SAFE_INTEGER, "count"), raw };
      const align = optUint(raw, "align", MAX_ORDER_TEXT);
      if (align !== undefined) ev.align = align;
      if (raw.name !== undefined) ev.area = raw.name;
      return ev;
    }
    case "cma_alloc":
    case "cma_alloc_finish": {
      // Failure: errorno ≠ 0 (v6.3+), a NULL page, or pfn -1UL (v4.1–v5.12 print
      // `page ? pfn : -1UL`; v5.13+ leave the last tried pfn with a NULL page).
      const errno = optInt(raw, "errorno", "errno");
      const count = uint(raw, "count", 10);
      const align = optUint(raw, "align", MAX_ORDER_TEXT);
      const pfnText = field(raw, "pfn");
      const failed =
        (errno !== undefined && errno !== 0) ||
        (raw.page !== undefined && isNullPointer(raw.page)) ||
        isMinusOne(pfnText);
      const ev: TraceEvent = { name, pfn: failed ? null : uint(raw, "pfn", 16), count, raw };
      if (align !== undefined) ev.align = align;
      if (raw.name !== undefined) ev.area = raw.name;
      if (errno !== undefined) ev.errno = errno;
      return ev;
    }
    case "cma_release": {
      const ev: TraceEvent = { name, pfn: uint(raw, "pfn", 16), count: uint(raw, "count", 10), raw };
      if (raw.name !== undefined) ev.area = raw.name;
      return ev;
    }
    default:
      if (name.startsWith("mm_compaction_")) return compactionEvent(name, raw);
      if (name.startsWith("mm_vmscan_")) return vmscanEvent(name, raw);
      throw new Malformed("other event");
  }
}

const ZONE_NAMES_TRACED = new Set(["DMA", "DMA32", "Normal", "Movable", "Device"]);

function zoneField(raw: Record<string, string>, key: string): string {
  const zone = field(raw, key);
  if (!ZONE_NAMES_TRACED.has(zone)) throw new Malformed(`malformed: bad ${key}`);
  return zone;
}

function vmscanEvent(name: string, raw: Record<string, string>): TraceEvent {
  const v: VmscanTraceFields = {};
  const ev: TraceEvent = { name, pfn: null, raw, vmscan: v };
  switch (name) {
    case "mm_vmscan_kswapd_sleep":
      uint(raw, "nid", 10);
      return ev;
    case "mm_vmscan_kswapd_wake":
    case "mm_vmscan_wakeup_kswapd":
    case "mm_vmscan_direct_reclaim_begin":
    case "mm_vmscan_node_reclaim_begin":
      v.order = uint(raw, "order", 10, MAX_ORDER_TEXT);
      return ev;
    case "mm_vmscan_direct_reclaim_end":
    case "mm_vmscan_node_reclaim_end":
      v.nrReclaimed = uint(raw, "nr_reclaimed", 10);
      return ev;
    case "mm_vmscan_lru_isolate":
      v.order = uint(raw, "order", 10, MAX_ORDER_TEXT);
      v.nrScanned = uint(raw, "nr_scanned", 10);
      v.nrTaken = uint(raw, "nr_taken", 10);
      v.lru = field(raw, "lru");
      return ev;
    case "mm_vmscan_lru_shrink_inactive":
      v.nrScanned = uint(raw, "nr_scanned", 10);
      v.nrReclaimed = uint(raw, "nr_reclaimed", 10);
      v.nrDirty = uint(raw, "nr_dirty", 10);
      v.nrWriteback = uint(raw, "nr_writeback", 10);
      v.priority = uint(raw, "priority", 10, 12);
      return ev;
    case "mm_vmscan_lru_shrink_active":
      v.nrTaken = uint(raw, "nr_taken", 10);
      v.nrDeactivated = uint(raw, "nr_deactivated", 10);
      v.priority = uint(raw, "priority", 10, 12);
      return ev;
    case "mm_vmscan_write_folio":
    case "mm_vmscan_writepage":
      ev.pfn = uint(raw, "pfn", 16);
      return ev;
    default:
      throw new Malformed("other event");
  }
}

/** `0x%lx` (a trailing comma, as zone_end prints before `, mode=`, dropped). */
function hexPfn(raw: Record<string, string>, key: string): number {
  const text = field(raw, key).replace(/,$/, "");
  const n = parseUnsigned(text, 16);
  if (Number.isNaN(n)) throw new Malformed(`malformed: bad ${key}`);
  return n;
}

/** `(0x%lx ~ 0x%lx)` of the isolate events, rejoined from its tokens. */
const RANGE_RE = /range=\((0x[0-9a-fA-F]+)\s*~\s*(0x[0-9a-fA-F]+)\)/;

function compactionEvent(name: string, raw: Record<string, string>, body = ""): TraceEvent {
  const c: CompactionTraceFields = {};
  const ev: TraceEvent = { name, pfn: null, raw, compaction: c };
  switch (name) {
    case "mm_compaction_begin":
    case "mm_compaction_end": {
      c.zoneStart = hexPfn(raw, "zone_start");
      c.migratePfn = hexPfn(raw, "migrate_pfn");
      c.freePfn = hexPfn(raw, "free_pfn");
      c.zoneEnd = hexPfn(raw, "zone_end");
      const mode = field(raw, "mode");
      if (mode !== "sync" && mode !== "async") throw new Malformed("malformed: bad mode");
      c.mode = mode;
      if (name === "mm_compaction_end") c.result = field(raw, "status");
      return ev;
    }
    case "mm_compaction_isolate_migratepages":
    case "mm_compaction_isolate_freepages": {
      const m = RANGE_RE.exec(body);
      if (!m) throw new Malformed("malformed: missing range");
      c.startPfn = parseUnsigned(m[1]!, 16);
      c.endPfn = parseUnsigned(m[2]!, 16);
      c.nrScanned = uint(raw, "nr_scanned", 10);
      c.nrTaken = uint(raw, "nr_taken", 10);
      return ev;
    }
    case "mm_compaction_migratepages":
      c.nrMigrated = uint(raw, "nr_migrated", 10);
      c.nrFailed = uint(raw, "nr_failed", 10);
      return ev;
    case "mm_compaction_try_to_compact_pages":
      ev.order = uint(raw, "order", 10, MAX_ORDER_TEXT);
      c.priority = uint(raw, "priority", 10, 2);
      return ev;
    case "mm_compaction_suitable":
    case "mm_compaction_finished":
      c.zone = zoneField(raw, "zone");
      ev.order = int(raw, "order"); // -1: compact_memory / proactive
      c.result = field(raw, "ret");
      return ev;
    case "mm_compaction_deferred":
    case "mm_compaction_defer_compaction":
    case "mm_compaction_defer_reset":
      c.zone = zoneField(raw, "zone");
      ev.order = int(raw, "order");
      c.orderFailed = int(raw, "order_failed");
      c.considered = uint(raw, "consider", 10);
      c.limit = uint(raw, "limit", 10);
      return ev;
    case "mm_compaction_kcompactd_wake":
    case "mm_compaction_wakeup_kcompactd":
      ev.order = int(raw, "order");
      c.zone = zoneField(raw, raw.classzone_idx !== undefined ? "classzone_idx" : "highest_zoneidx");
      return ev;
    case "mm_compaction_kcompactd_sleep":
      uint(raw, "nid", 10);
      return ev;
    default:
      throw new Malformed("other event");
  }
}

// `… 4.918914: name:`: the timestamp ending the prefix.
const TIMESTAMP_RE = /(?:^|\s)(\d+\.\d+):\s*$/;

/**
 * Parses one line of a text trace. Never throws: anything that is not one of
 * TRACE_EVENTS with the fields the replay needs is `{ skip: reason }`. Blank
 * lines ("blank") and the `#` header ("comment") are skips too, so that every
 * line of a file is counted once, as parsed or skipped.
 */
export function parseTraceLine(line: string): ParsedLine {
  const length = scratchBytes.load(line);
  if (length >= 0) {
    const bytes = scratchBytes.bytes;
    const kind = scanKmemLine(bytes, 0, length, scratchScan);
    if (kind === FAST_SKIP) return { skip: "other event" };
    if (kind !== 0) return { event: kmemEvent(bytes, kind, scratchScan) };
  }
  return parseTraceLineGeneral(line);
}

// ---- the fast path ---------------------------------------------------------------------------
// Nine lines in ten of a real capture are mm_page_alloc, mm_page_free,
// mm_page_free_batched, or the buddy-level and per-cpu list events
// (mm_page_alloc_zone_locked, mm_page_pcpu_drain). scanKmemLine() reads those straight from the bytes of the file
// (a string line is encoded into a scratch buffer first: V8 reads a byte array
// faster than a sliced string), with no regular expression and no string made
// but the gfp flags. Anything it is not sure about (tabs, runs of blanks,
// `(null)`, non-ASCII bytes, other field lists, unusual numbers) goes to the
// general parser, whose answer it must equal key for key (a test compares the
// two on every line of the fixtures and on generated lines).

const CH_SPACE = 32;
const CH_COLON = 58;
const CH_EQUALS = 61;
const CH_DOT = 46;
const CH_HASH = 35;
const CH_MINUS = 45;
const CH_BRACKET = 91;
const CH_0 = 48;
const CH_9 = 57;

/** `[A-Za-z_]` */
function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/** `\w`: `[A-Za-z0-9_]` */
function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= CH_0 && c <= CH_9);
}

/** Whether bytes[from, to) is `ident` or `ident:ident` (the event token without its final colon). */
function isEventToken(bytes: Uint8Array, from: number, to: number): boolean {
  if (from >= to || !isIdentStart(bytes[from]!)) return false;
  let colons = 0;
  for (let i = from + 1; i < to; i++) {
    const c = bytes[i]!;
    if (c === CH_COLON) {
      if (++colons > 1 || i + 1 >= to || !isIdentStart(bytes[i + 1]!)) return false;
    } else if (!isIdentChar(c)) {
      return false;
    }
  }
  return true;
}

/** A decimal, or 0x-hex, unsigned number in bytes[from, to); -1 for anything else or beyond 2^52. */
function scanUnsigned(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  let base = 10;
  if (to - i > 2 && bytes[i] === CH_0 && (bytes[i + 1]! | 32) === 120) {
    i += 2;
    base = 16;
  }
  if (i >= to || to - i > 13) return -1;
  let n = 0;
  for (; i < to; i++) {
    const c = bytes[i]!;
    let d: number;
    if (c >= CH_0 && c <= CH_9) d = c - CH_0;
    else if (base === 16 && (c | 32) >= 97 && (c | 32) <= 102) d = (c | 32) - 87;
    else return -1;
    n = n * base + d;
  }
  return n;
}

/** `-?[0-9]+` in bytes[from, to) as a number, or NaN. */
function scanSigned(bytes: Uint8Array, from: number, to: number): number {
  const neg = from < to && bytes[from] === CH_MINUS;
  const start = neg ? from + 1 : from;
  if (start >= to || to - start > 15) return Number.NaN;
  let n = 0;
  for (let i = start; i < to; i++) {
    const c = bytes[i]!;
    if (c < CH_0 || c > CH_9) return Number.NaN;
    n = n * 10 + (c - CH_0);
  }
  return neg ? -n : n;
}

const ascii = (word: string): Uint8Array => Uint8Array.from(word, (ch) => ch.charCodeAt(0));

/** bytes[from, to) === word. */
function isWord(bytes: Uint8Array, from: number, to: number, word: Uint8Array): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (bytes[from + i] !== word[i]) return false;
  return true;
}

// The hot kinds have the values of the engine's TRACE_* (assembly/abi.ts: its
// scanner, assembly/trace-scan.ts, reads them too; a test holds them equal).
// They are spelled out here so that the reader thread, which imports this
// module, does not load the whole library for five numbers.
/** @internal */
export const FAST_ALLOC = 1;
/** @internal */
export const FAST_FREE = 2;
/** @internal */
export const FAST_BATCHED = 3;
/** @internal An event the Lab does not read (only scanKmemLine() says so). */
export const FAST_SKIP = 4;
/** @internal */
export const FAST_ZONE_LOCKED = 5;
/** @internal */
export const FAST_PCP_DRAIN = 6;

const W_ALLOC = ascii("mm_page_alloc");
const W_FREE = ascii("mm_page_free");
const W_BATCHED = ascii("mm_page_free_batched");
const W_ZONE_LOCKED = ascii("mm_page_alloc_zone_locked");
const W_PCPU_DRAIN = ascii("mm_page_pcpu_drain");
const W_LOST = ascii("[LOST ");

/** Whether bytes[at, to) starts with `[LOST `. */
function isLost(bytes: Uint8Array, at: number, to: number): boolean {
  return to - at >= W_LOST.length && isWord(bytes, at, at + W_LOST.length, W_LOST);
}

/** Which hot event bytes[from, to) names: FAST_*, or 0 for any other. */
function fastEvent(bytes: Uint8Array, from: number, to: number): number {
  switch (to - from) {
    case 13:
      return isWord(bytes, from, to, W_ALLOC) ? FAST_ALLOC : 0;
    case 12:
      return isWord(bytes, from, to, W_FREE) ? FAST_FREE : 0;
    case 20:
      return isWord(bytes, from, to, W_BATCHED) ? FAST_BATCHED : 0;
    case 25:
      return isWord(bytes, from, to, W_ZONE_LOCKED) ? FAST_ZONE_LOCKED : 0;
    case 18:
      return isWord(bytes, from, to, W_PCPU_DRAIN) ? FAST_PCP_DRAIN : 0;
    default:
      return 0;
  }
}

/**
 * What scanKmemLine() read of a hot event line: its numbers, and where each
 * field's text starts and ends in the bytes scanned (for the event's `raw`).
 * @internal
 */
export class KmemScan {
  pfn = 0;
  order = 0;
  migratetype = 0;
  /** Seconds, or -1 without a timestamp. */
  timestamp = -1;
  /** FAST_ZONE_LOCKED: `percpu_refill=1`. */
  percpuRefill = false;
  /** [from, to) of the values of page, pfn, order, migratetype and gfp_flags. */
  readonly valueFrom = new Int32Array(5);
  readonly valueTo = new Int32Array(5);
}

/** The fields each fast kind prints, in order (FAST_* - 1). */
const FAST_KEYS = [
  ["page", "pfn", "order", "migratetype", "gfp_flags"],
  ["page", "pfn", "order"],
  ["page", "pfn", "order"],
  [],
  ["page", "pfn", "order", "migratetype", "percpu_refill"],
  ["page", "pfn", "order", "migratetype"],
].map((keys) => keys.map(ascii));

/** Latin-1 text of bytes[from, to) (ASCII here: the scanner refuses other bytes). */
const latin1 = latin1Text;
export { latin1Text };

/**
 * Reads the line bytes[from, to) (without its line end) if it is a hot or
 * unread event: FAST_SKIP (an event the Lab does not read: the general parser
 * says "other event"), FAST_ALLOC, FAST_FREE or FAST_BATCHED with `out`
 * filled, or 0 when the line needs the general parser (decoded as UTF-8).
 * @internal
 */
export function scanKmemLine(bytes: Uint8Array, from: number, to: number, out: KmemScan): number {
  let i = from;
  // The prefix: tokens up to the first `name:` one (see EVENT_RE).
  let prevFrom = -1;
  let prevTo = -1;
  for (;;) {
    while (i < to && bytes[i] === CH_SPACE) i++;
    if (i >= to) return 0;
    const start = i;
    i = tokenEnd(bytes, i, to);
    if (i < 0) return 0; // a tab, CR, non-ASCII, or `[LOST `
    // The header.
    if (prevFrom < 0 && bytes[start] === CH_HASH) return 0;
    if (i - start >= 2 && bytes[i - 1] === CH_COLON && isEventToken(bytes, start, i - 1)) {
      let nameFrom = start;
      for (let k = i - 2; k > start; k--) {
        if (bytes[k] === CH_COLON) {
          nameFrom = k + 1;
          break;
        }
      }
      const kind = fastEvent(bytes, nameFrom, i - 1);
      if (kind !== 0 && kind !== FAST_SKIP) return scanKmemBody(bytes, kind, i, to, prevFrom, prevTo, out);
      if (kind === 0 && KNOWN_EVENTS.has(latin1(bytes, nameFrom, i - 1))) return 0;
      // An event the Lab does not read, unless the line says `[LOST ` (the general parser looks for it first).
      for (let k = i; k < to; k++) if (bytes[k] === CH_BRACKET && isLost(bytes, k, to)) return 0;
      return FAST_SKIP;
    }
    prevFrom = start;
    prevTo = i;
  }
}

// The scanner's byte classes: token bytes (printable ASCII but `[`), the blank
// that ends a token, `[` (which may start `[LOST `), and bytes that send the
// line to the general parser (other whitespace and control bytes, DEL, non-ASCII).

/** The end of the token starting at `i` (a blank or `to`), or -1 when the line needs the general parser. */
function tokenEnd(bytes: Uint8Array, i: number, to: number): number {
  for (; i < to; i++) {
    const c = bytes[i]!;
    if (c > CH_SPACE && c < 127 && c !== CH_BRACKET) continue;
    if (c === CH_SPACE) return i;
    if (c !== CH_BRACKET || isLost(bytes, i, to)) return -1;
  }
  return to;
}

/** The fields after the event name: ` page=… pfn=… order=…[ migratetype=… gfp_flags=…]`, exactly. */
function scanKmemBody(
  bytes: Uint8Array,
  kind: number,
  at: number,
  to: number,
  tsFrom: number,
  tsTo: number,
  out: KmemScan,
): number {
  const keys = FAST_KEYS[kind - 1]!;
  const want = keys.length;
  const valueFrom = out.valueFrom;
  const valueTo = out.valueTo;
  let i = at;
  let n = 0;
  while (i < to) {
    if (bytes[i] !== CH_SPACE) return 0;
    i++;
    if (i >= to) break;
    if (bytes[i] === CH_SPACE) return 0; // a run of blanks
    // `key=`: the n-th key of the list (a value may hold `=`; the key may not).
    if (n >= want) return 0;
    const key = keys[n]!;
    const eq = i + key.length;
    if (eq >= to || bytes[eq] !== CH_EQUALS || !isWord(bytes, i, eq, key)) return 0;
    const end = tokenEnd(bytes, eq + 1, to);
    if (end < 0) return 0;
    valueFrom[n] = eq + 1;
    valueTo[n] = end;
    n++;
    i = end;
  }
  if (n !== want) return 0;
  // page: not NULL (the general parser decides a failed allocation).
  if (isNullBytes(bytes, valueFrom[0]!, valueTo[0]!)) return 0;
  const pfn = scanUnsigned(bytes, valueFrom[1]!, valueTo[1]!);
  const order = scanUnsigned(bytes, valueFrom[2]!, valueTo[2]!);
  if (pfn < 0 || order < 0 || order > MAX_ORDER_TEXT) return 0;
  if (want > 3) {
    const migratetype = scanSigned(bytes, valueFrom[3]!, valueTo[3]!);
    if (Number.isNaN(migratetype)) return 0;
    out.migratetype = migratetype;
  }
  // percpu_refill: the general parser's `raw.percpu_refill === "1"`.
  out.percpuRefill = kind === FAST_ZONE_LOCKED && valueTo[4]! - valueFrom[4]! === 1 && bytes[valueFrom[4]!] === 49;
  out.pfn = pfn;
  out.order = order;
  out.timestamp = tsFrom >= 0 ? scanTimestamp(bytes, tsFrom, tsTo) : -1;
  return kind;
}

const W_NULL = ascii("(null)");

/** isNullPointer() of bytes[from, to): `(null)`, or `(0x)?0+`. */
function isNullBytes(bytes: Uint8Array, from: number, to: number): boolean {
  if (isWord(bytes, from, to, W_NULL)) return true;
  let i = from;
  if (to - i > 2 && bytes[i] === CH_0 && (bytes[i + 1]! | 32) === 120) i += 2;
  if (i >= to) return false;
  for (; i < to; i++) if (bytes[i] !== CH_0) return false;
  return true;
}

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * A `digits.digits:` token as seconds, or -1 when the token is not a
 * timestamp. Up to 15 digits, an exact integer divided by an exact power of
 * ten: IEEE division rounds once, to the double nearest the decimal, as
 * Number() does.
 */
function scanTimestamp(bytes: Uint8Array, from: number, to: number): number {
  if (bytes[to - 1] !== CH_COLON) return -1;
  let dot = -1;
  let n = 0;
  for (let i = from; i < to - 1; i++) {
    const c = bytes[i]!;
    if (c === CH_DOT) {
      if (dot >= 0) return -1;
      dot = i;
    } else if (c >= CH_0 && c <= CH_9) {
      n = n * 10 + (c - CH_0);
    } else {
      return -1;
    }
  }
  if (dot <= from || dot >= to - 2) return -1;
  if (to - 1 - from - 1 > 15) return Number(latin1(bytes, from, to - 1));
  return n / POW10[to - 2 - dot]!;
}

/** The TraceEvent of a line scanKmemLine() read, key for key as the general parser makes it. */
function kmemEvent(bytes: Uint8Array, kind: number, scan: KmemScan): TraceEvent {
  const from = scan.valueFrom;
  const to = scan.valueTo;
  const page = latin1(bytes, from[0]!, to[0]!);
  const pfnText = latin1(bytes, from[1]!, to[1]!);
  const orderText = latin1(bytes, from[2]!, to[2]!);
  let event: TraceEvent;
  if (kind === FAST_ALLOC) {
    const raw = {
      page,
      pfn: pfnText,
      order: orderText,
      migratetype: latin1(bytes, from[3]!, to[3]!),
      gfp_flags: latin1(bytes, from[4]!, to[4]!),
    };
    event = { name: "mm_page_alloc", pfn: scan.pfn, order: scan.order, migratetype: scan.migratetype, raw };
  } else if (kind === FAST_FREE) {
    event = { name: "mm_page_free", pfn: scan.pfn, order: scan.order, raw: { page, pfn: pfnText, order: orderText } };
  } else if (kind === FAST_ZONE_LOCKED || kind === FAST_PCP_DRAIN) {
    const raw: Record<string, string> = {
      page,
      pfn: pfnText,
      order: orderText,
      migratetype: latin1(bytes, from[3]!, to[3]!),
    };
    if (kind === FAST_ZONE_LOCKED) raw.percpu_refill = latin1(bytes, from[4]!, to[4]!);
    const name = kind === FAST_ZONE_LOCKED ? "mm_page_alloc_zone_locked" : "mm_page_pcpu_drain";
    event = { name, pfn: scan.pfn, order: scan.order, migratetype: scan.migratetype, raw };
    if (kind === FAST_ZONE_LOCKED) event.percpuRefill = scan.percpuRefill;
  } else {
    event = { name: "mm_page_free_batched", pfn: scan.pfn, raw: { page, pfn: pfnText, order: orderText } };
    event.order = scan.order;
  }
  if (scan.timestamp >= 0) event.timestamp = scan.timestamp;
  return event;
}

/** The gfp_flags text of a FAST_ALLOC line scanKmemLine() read. @internal */
export function kmemGfpFlags(bytes: Uint8Array, scan: KmemScan): string {
  return latin1(bytes, scan.valueFrom[4]!, scan.valueTo[4]!);
}

/**
 * A string line's ASCII bytes in a scratch buffer (grown as needed), for
 * scanKmemLine(); the line's length when it is pure ASCII, else -1.
 * @internal
 */
export class LineBytes {
  bytes = new Uint8Array(1024);
  private readonly encoder = new TextEncoder();

  load(line: string): number {
    if (line.length > this.bytes.length) this.bytes = new Uint8Array(Math.max(line.length, this.bytes.length * 2));
    const r = this.encoder.encodeInto(line, this.bytes);
    return r.read === line.length && r.written === line.length ? line.length : -1;
  }
}

const scratchScan = new KmemScan();
const scratchBytes = new LineBytes();

/**
 * parseTraceLine() without its fast path: the reference the fast path is
 * tested against.
 */
export function parseTraceLineGeneral(line: string): ParsedLine {
  const text = line.trimEnd();
  if (text.length === 0) return { skip: "blank" };
  let i = 0;
  while (text.charCodeAt(i) <= 32) i++;
  if (text.charCodeAt(i) === 35 /* # */) return { skip: "comment" };
  const lost = text.includes("[LOST ") ? LOST_RE.exec(text) : null;
  if (lost) return { skip: "lost events", lost: Number(lost[1]) };
  const m = EVENT_RE.exec(text);
  if (!m) return { skip: "not an event line" };
  const name = m[1]!;
  if (!KNOWN_EVENTS.has(name)) return { skip: "other event" };
  try {
    const body = text.slice(m.index + m[0].length);
    const raw = parseFields(body);
    const event = name.startsWith("mm_compaction_") ? compactionEvent(name, raw, body) : buildEvent(name, raw);
    const ts = TIMESTAMP_RE.exec(text.slice(0, m.index + 1));
    if (ts) event.timestamp = Number(ts[1]);
    return { event };
  } catch (e) {
    if (e instanceof Malformed) return { skip: e.reason };
    throw e;
  }
}

// ---- writing ------------------------------------------------------------------------------

/** Options of formatTraceLine(). */
export interface FormatOptions {
  /** `comm-pid` of the prefix, e.g. "kworker/0:1-42" (default "<...>-0"). */
  task?: string;
  cpu?: number;
  /** Seconds. */
  timestamp?: number;
  /**
   * "new" (default): the v6.3+ formats (hex pfns with 0x, hashed pointers, zero
   * NULL pointers, errorno). "old": the v4.4–v4.14 kmem formats (decimal pfns,
   * vmemmap addresses, padded `(null)`, `cold=0`) and the v5.13 CMA formats
   * (hex pfns without 0x, no errorno).
   */
  style?: "new" | "old";
}

const GFP_OF_MIGRATETYPE = ["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE"];

/** `%p` of a struct page: x86-64 vmemmap address before v4.15, a hashed id after. */
function pagePointer(pfn: number | null, style: "new" | "old"): string {
  if (pfn === null) return style === "old" ? "          (null)" : "0000000000000000";
  if (style === "old") return (0xffffea0000000000n + BigInt(pfn) * 64n).toString(16);
  return (Math.imul(pfn + 1, 0x9e3779b1) >>> 0).toString(16).padStart(16, "0");
}

function pfnText(pfn: number, style: "new" | "old", radix: 10 | 16): string {
  if (radix === 16) return (style === "new" ? "0x" : "") + pfn.toString(16);
  return style === "new" ? `0x${pfn.toString(16)}` : String(pfn);
}

/** `name=%s ` of the v5.13+ CMA events; left out for an event without an area, as before v5.13. */
function areaField(event: TraceEvent): string {
  return event.area === undefined ? "" : `name=${event.area} `;
}

function prefix(opts: FormatOptions, style: "new" | "old"): string {
  if (opts.task === undefined && opts.cpu === undefined && opts.timestamp === undefined) return "";
  // trace_print_context(): "%16s-%-7d [%03d] <irq flags> %5lu.%06lu: "
  const task = opts.task ?? "<...>-0";
  const dash = task.lastIndexOf("-");
  const comm = dash > 0 && /^\d+$/.test(task.slice(dash + 1)) ? task.slice(0, dash) : task;
  const pid = comm === task ? "0" : task.slice(dash + 1);
  const cpu = String(opts.cpu ?? 0).padStart(3, "0");
  const flags = style === "new" ? "d..1." : "d..1";
  const ts = (opts.timestamp ?? 0).toFixed(6).padStart(12);
  return `${comm.padStart(16)}-${pid.padEnd(7)} [${cpu}] ${flags} ${ts}: `;
}

/**
 * Writes `event` as the kernel would print it (see FormatOptions.style), with the
 * `comm-pid [cpu] flags timestamp:` prefix when any of task, cpu or timestamp is
 * given. parseTraceLine() reads the line back to the same name, pfn, order,
 * migratetype, count, align, area and errno, as far as the chosen format carries
 * them (mm_page_free_batched always prints order=0; old CMA formats carry no
 * errno; a CMA event without an area is written without its `name=`, as before
 * v5.13). Fields in `event.raw` that the format has (gfp_flags, fallback_order, …)
 * are reused.
 */
export function formatTraceLine(event: TraceEvent, opts: FormatOptions = {}): string {
  const style = opts.style ?? "new";
  const raw = event.raw ?? {};
  const pfn = event.pfn;
  const order = event.order ?? 0;
  let body: string;
  switch (event.name) {
    case "mm_page_alloc": {
      const mt = event.migratetype ?? 0;
      const gfp = raw.gfp_flags ?? GFP_OF_MIGRATETYPE[mt] ?? "GFP_KERNEL";
      body = `page=${pagePointer(pfn, style)} pfn=${pfnText(pfn ?? 0, style, 10)} order=${order} migratetype=${mt} gfp_flags=${gfp}`;
      break;
    }
    case "mm_page_free":
    case "mm_page_free_direct":
      body = `page=${pagePointer(pfn, style)} pfn=${pfnText(pfn ?? 0, style, 10)} order=${order}`;
      break;
    case "mm_page_free_batched":
      body = `page=${pagePointer(pfn, style)} pfn=${pfnText(pfn ?? 0, style, 10)} order=0${style === "old" ? ` cold=${raw.cold ?? 0}` : ""}`;
      break;
    case "mm_page_alloc_extfrag": {
      const mt = event.migratetype ?? 0;
      const fbOrder = raw.fallback_order ?? String(order);
      const pbOrder = raw.pageblock_order ?? "9";
      const fbMt = raw.fallback_migratetype ?? String(mt);
      body =
        `page=${pagePointer(pfn, style)} pfn=${pfnText(pfn ?? 0, style, 10)} alloc_order=${order} fallback_order=${fbOrder}` +
        ` pageblock_order=${pbOrder} alloc_migratetype=${mt} fallback_migratetype=${fbMt}` +
        ` fragmenting=${raw.fragmenting ?? (Number(fbOrder) < Number(pbOrder) ? 1 : 0)} change_ownership=${raw.change_ownership ?? 0}`;
      break;
    }
    case "cma_alloc_start":
      body = `${areaField(event)}count=${event.count ?? 0} align=${event.align ?? 0}`;
      break;
    case "cma_alloc":
    case "cma_alloc_finish": {
      const name = event.name === "cma_alloc" ? "" : areaField(event);
      const shownPfn = pfn === null ? "ffffffffffffffff" : pfn.toString(16);
      const hex = style === "new" && event.name === "cma_alloc_finish" ? `0x${shownPfn}` : shownPfn;
      const errno =
        style === "new" && event.name === "cma_alloc_finish"
          ? ` errorno=${event.errno ?? (pfn === null ? -12 : 0)}`
          : "";
      body = `${name}pfn=${hex} page=${pagePointer(pfn, style)} count=${event.count ?? 0} align=${event.align ?? 0}${errno}`;
      break;
    }
    case "cma_release": {
      const name = areaField(event);
      body = `${name}pfn=${pfnText(pfn ?? 0, style, 16)} page=${pagePointer(pfn, style)} count=${event.count ?? 0}`;
      break;
    }
    default:
      throw new DmaSimError(
        "EINVAL",
        `formatTraceLine: unknown event ${JSON.stringify(event.name)} (know: ${TRACE_EVENTS.join(", ")})`,
      );
  }
  return `${prefix(opts, style)}${event.name}: ${body}`;
}
