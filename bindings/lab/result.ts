/**
 * What a Lab run or replay produces: the JSON that `--json` prints and the
 * report directory renders. Everything but `timing` is identical for the same
 * seed (or trace) on either backend.
 */
import type { MetricsSample } from "./metrics.ts";
import type { LabConfig } from "./config.ts";
import type { ScenarioSpec } from "./scenario-spec.ts";
import { type Backend, type SystemOptions } from "../index.ts";

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

/** What a replay ran on and how it sampled: enough to replay the same trace the same way. */
export interface ReplayConfig {
  /** The machine: SystemOptions with every default of DEFAULT_REPLAY_SYSTEM filled in (backend aside). */
  system: SystemOptions;
  sampleEvery: number;
  maxSamples: number;
  mapEvery: number;
  maxMaps: number;
}

/**
 * A run's or a replay's result. It describes itself: the dmasim version and
 * result format that wrote it, and for a run the scenario as run, its scale,
 * seed, configuration and backend, so that the file alone reruns it
 * (`dmasim run --scenario result.json`) or renders its report again
 * (`dmasim report result.json`).
 */
export interface LabResult {
  /** dmasim's version (package.json) that produced it. */
  dmasim: string;
  /** RESULT_FORMAT of that version. */
  resultFormat: number;
  kind: "run" | "replay";
  /** Scenario name, or the trace file's base name ("stdin" for standard input). */
  name: string;
  seed: number | null;
  /** Run: the size factor of machine and work (see scaleScenarioChecked()); replay: null. */
  scale: number | null;
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
  /**
   * One-line warnings, when there are any. Replay: lines of known events that did
   * not parse; run: what its scale could not keep in proportion (scaleWarningLine()).
   */
  warnings?: string[];
  /**
   * Run only: the scenario as run, in scenario-file form with every default
   * written out and the configuration's machine overrides applied, before
   * scaling (scenarioSpecOf()).
   */
  scenario?: ScenarioSpec;
  /** Run only: the configuration it ran under (LabConfig without the backend, which is above). */
  config?: LabConfig;
  /** Replay only: the machine and sampling it replayed with. */
  replayConfig?: ReplayConfig;
}
