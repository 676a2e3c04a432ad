/**
 * Messages between the browser Lab's page (app.ts) and its Web Worker
 * (worker.ts), which runs the scenario off the page's thread.
 */
import type { Backend, KernelVersion } from "../index.ts";
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

/** Worker → page. */
export type WorkerReply =
  | { kind: "progress"; done: number; total: number }
  /** The memory map as the run goes (about 40 a run). */
  | { kind: "map"; map: MemoryMapSnapshot; pageSize: number }
  | { kind: "result"; result: LabResult }
  | { kind: "error"; message: string };
