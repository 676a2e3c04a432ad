/**
 * Memory compaction's kernel-side face (mm/compaction.c; the algorithm runs in
 * the engine, assembly/compaction.ts): full compaction as
 * /proc/sys/vm/compact_memory runs it, compaction_suitable() and the
 * fragmentation index, each zone's deferral state, the pageblock skip hints,
 * and the sysctls that steer it (vm.extfrag_threshold, and the
 * compact_memory trigger's parser).
 */
import {
  COMPACT_COMPLETE,
  COMPACT_CONTENDED,
  COMPACT_CONTINUE,
  COMPACT_DEFERRED,
  COMPACT_NOT_SUITABLE_ZONE,
  COMPACT_NO_SUITABLE_PAGE,
  COMPACT_PARTIAL_SKIPPED,
  COMPACT_SKIPPED,
  COMPACT_STATE_BLOCKSKIP_FLUSH,
  COMPACT_STATE_CACHED_FREE,
  COMPACT_STATE_CACHED_MIGRATE_ASYNC,
  COMPACT_STATE_CACHED_MIGRATE_SYNC,
  COMPACT_STATE_CONSIDERED,
  COMPACT_STATE_DEFER_SHIFT,
  COMPACT_STATE_ORDER_FAILED,
  COMPACT_SUCCESS,
  byIndex,
} from "../core/abi.ts";
import type { Engine } from "../core/backend.ts";
import { DmaSimError } from "../core/errors.ts";

/** enum compact_result, spelled as the compaction tracepoints print it (compaction_status_string). */
export type CompactResult =
  | "not_suitable_zone"
  | "skipped"
  | "deferred"
  | "no_suitable_page"
  | "continue"
  | "complete"
  | "partial_skipped"
  | "contended"
  | "success";

/** @internal CompactResult by engine index (COMPACT_* of assembly/abi.ts). */
export const COMPACT_RESULTS = byIndex<CompactResult>("COMPACT_RESULTS", COMPACT_SUCCESS + 1, {
  [COMPACT_NOT_SUITABLE_ZONE]: "not_suitable_zone",
  [COMPACT_SKIPPED]: "skipped",
  [COMPACT_DEFERRED]: "deferred",
  [COMPACT_NO_SUITABLE_PAGE]: "no_suitable_page",
  [COMPACT_CONTINUE]: "continue",
  [COMPACT_COMPLETE]: "complete",
  [COMPACT_PARTIAL_SKIPPED]: "partial_skipped",
  [COMPACT_CONTENDED]: "contended",
  [COMPACT_SUCCESS]: "success",
});

/** One zone's compaction fields of struct zone. */
export interface CompactionZoneState {
  /** compact_considered: attempts counted since the last deferral. */
  considered: number;
  /** compact_defer_shift: compaction is skipped until 1 << shift attempts were considered (0..6). */
  deferShift: number;
  /** compact_order_failed: deferral applies to this order and above. */
  orderFailed: number;
  /** compact_cached_migrate_pfn[0] (async) and [1] (sync): where the migration scanner restarts. */
  cachedMigratePfn: [async: number, sync: number];
  /** compact_cached_free_pfn: where the free scanner restarts. */
  cachedFreePfn: number;
  /** compact_blockskip_flush: the skip hints are to be cleared (a direct compaction's scanners met). */
  blockskipFlush: boolean;
}

/** @internal The zone's compaction state, read from the engine. */
export function compactionZoneState(engine: Engine, zone: number): CompactionZoneState {
  const f = (field: number) => engine.compactionZoneState(zone, field);
  return {
    considered: f(COMPACT_STATE_CONSIDERED),
    deferShift: f(COMPACT_STATE_DEFER_SHIFT),
    orderFailed: f(COMPACT_STATE_ORDER_FAILED),
    cachedMigratePfn: [f(COMPACT_STATE_CACHED_MIGRATE_ASYNC), f(COMPACT_STATE_CACHED_MIGRATE_SYNC)],
    cachedFreePfn: f(COMPACT_STATE_CACHED_FREE),
    blockskipFlush: f(COMPACT_STATE_BLOCKSKIP_FLUSH) !== 0,
  };
}

/** sysctl_extfrag_threshold's range (proc_dointvec_minmax with 0 and 1000). */
export const EXTFRAG_THRESHOLD_MAX = 1000;

/**
 * proc_dointvec()'s reading of one written integer: optional blanks, an
 * optional sign, a number in C's base-0 notation (decimal, 0x hex, 0 octal),
 * then a blank, a newline or the end; what follows a blank is ignored, as the
 * kernel leaves it unread. Anything else, or a value beyond an int, is EINVAL.
 */
export function parseSysctlInt(path: string, text: string): number {
  const m = /^[ \t\n\v\f\r]*([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(?:[ \t\n][\s\S]*)?$/.exec(text);
  if (!m) throw new DmaSimError("EINVAL", `write ${path}: ${JSON.stringify(text)} is not an integer`);
  const digits = m[2]!;
  const magnitude = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith("0")
      ? parseInt(digits, 8)
      : parseInt(digits, 10);
  const value = m[1] === "-" ? -magnitude : magnitude;
  if (!Number.isSafeInteger(value) || value > 2 ** 31 - 1 || value < -(2 ** 31))
    throw new DmaSimError("EINVAL", `write ${path}: ${digits} does not fit in an int`);
  return value;
}
