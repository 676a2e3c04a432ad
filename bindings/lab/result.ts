/**
 * What a Lab run or replay produces: the JSON that `--json` prints and the
 * report directory renders. Everything but `timing` is identical for the same
 * seed (or trace) on either backend.
 */
import type { MetricsSample } from "./metrics.ts";
import { type Backend } from "../index.ts";

/** The memory map at one moment: one cell per pageblock. */
export interface MemoryMapSnapshot {
  /** Position in the run (operations or events). */
  t: number;
  label: string;
  /** Migratetype index (MIGRATETYPES) per pageblock. */
  migratetypes: number[];
  /** Free pages per pageblock. */
  freePages: number[];
  pageblockNrPages: number;
}

export interface MachineInfo {
  ramBytes: number;
  pageSize: number;
  maxOrder: number;
  pageblockOrder: number;
  cma: { name: string; basePfn: number; count: number }[];
}

export interface LabResult {
  kind: "run" | "replay";
  /** Scenario name, or the trace file's base name. */
  name: string;
  seed: number | null;
  backend: Backend;
  machine: MachineInfo;
  /** Metrics over time. */
  samples: MetricsSample[];
  /** Memory-map pictures at several moments. */
  maps: MemoryMapSnapshot[];
  /** Headline figures for the summary table (name → value). */
  summary: Record<string, number>;
  /** Replay only: what the parser saw. */
  events?: { parsed: number; skipped: number; byType: Record<string, number>; skippedReasons: Record<string, number> };
  /** Replay only: how the requests fared. */
  replay?: Record<string, number>;
  /** Wall-clock figures: the only part that differs between runs and backends. */
  timing: { wallMs: number; [key: string]: number };
  /** sys.stateHash() at the end. */
  stateHash: string;
  /** Replay only, when there are any: one-line warnings (lines of known events that did not parse). */
  warnings?: string[];
}
