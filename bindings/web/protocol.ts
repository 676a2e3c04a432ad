/**
 * Messages between the browser Lab's page (app.ts) and its Web Worker
 * (worker.ts), which runs a scenario or replays a trace off the page's thread.
 */
import type { Backend, KernelVersion } from "../index.ts";
import type { MetricsSample } from "../lab/metrics.ts";
import type { LabResult, MemoryMapSnapshot } from "../lab/result.ts";

/** Page → worker: run a built-in scenario. */
export interface RunRequest {
  kind: "run";
  scenario: string;
  seed: number;
  scale: number;
  backend: Backend;
  kernel: KernelVersion;
}

/** Page → worker: replay a text ftrace capture (plain or gzip), on DEFAULT_REPLAY_SYSTEM. */
export interface ReplayRequest {
  kind: "replay";
  /** A File (or Blob) is cloned to the worker without copying its bytes. */
  file: Blob;
  name: string;
  backend: Backend;
}

export type WorkerRequest = RunRequest | ReplayRequest;

/** Worker → page. */
export type WorkerReply =
  /** done of total: operations for a run, input bytes for a replay. */
  | { kind: "progress"; done: number; total: number }
  /** The memory map as the run goes (about 40 a run). */
  | { kind: "map"; map: MemoryMapSnapshot; pageSize: number }
  /** Metrics samples taken since the last such message (the plots grow with them). */
  | { kind: "samples"; samples: MetricsSample[]; timeTitle: "operation" | "trace event"; pageSize: number }
  | { kind: "result"; result: LabResult }
  | { kind: "error"; message: string };
