/**
 * Parameter sweeps: a grid file names a scenario and lists parameter axes; the
 * cartesian product of the axes is enumerated in a fixed order, so job i is the
 * same job everywhere. Shard I of N takes every job whose index % N == I, and
 * each job writes one JSON file named by its index, so any batch scheduler (GNU
 * parallel, Slurm job arrays, Kubernetes indexed Jobs) can spread the shards
 * over machines; `mergeSweep()` collects the files and checks that every job is
 * there exactly once. Locally, jobs run in worker_threads.
 *
 * A grid file:
 *
 *   {
 *     "scenario": "camera",              built-in name, or a path relative to the grid file
 *     "scale": 0.25,                     optional, default 1 (see scaleScenarioChecked)
 *     "axes": {
 *       "seed": { "from": 1, "to": 8 },  or a list: [1, 2, 3]
 *       "cmaFirstBalance": [true, false],
 *       "pageblockOrder": [9, 10],
 *       "backend": ["wasm"]
 *     }
 *   }
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { DmaSimError } from "../core/errors.ts";
import type { SpreadRun } from "./spread.ts";
import { readJsonFile } from "./json-file.ts";
import type { LabResult } from "./result.ts";
import { labConfigValueProblem } from "./config.ts";
import { runScenario, type LabConfig } from "./runner.ts";
import type { Scenario } from "./scenario.ts";
import { loadScenario } from "./scenario-file.ts";
import { dmasimVersion, RESULT_FORMAT } from "./version.ts";

/** The axes a grid may vary, in enumeration order: the last varies fastest. */
export const SWEEP_AXES = [
  "backend",
  "kernel",
  "maxOrder",
  "pageblockOrder",
  "cmaFirstBalance",
  "allocNoFragment",
  "claimThresholdPages",
  "compaction",
  "compactionProactiveness",
  "extfragThreshold",
  "watermarkBoostFactor",
  "iommuStyle",
  "pcp",
  "cpus",
  "percpuPagelistHighFraction",
  "defragMode",
  "swapBytes",
  "seed",
] as const;
export type SweepAxis = (typeof SWEEP_AXES)[number];
// Every LabConfig knob is an axis: a knob added to LabConfig without one fails to compile here.
const EVERY_KNOB_IS_AN_AXIS: [Exclude<keyof LabConfig, SweepAxis>] extends [never] ? true : never = true;
void EVERY_KNOB_IS_AN_AXIS;

/** One job's parameters: a value for each axis the grid lists. */
export type JobParams = Partial<LabConfig & { seed: number }>;

export interface SweepJob {
  index: number;
  params: JobParams;
}

/** A validated grid. */
export interface SweepGrid {
  /** The scenario as the grid file names it. */
  scenarioRef: string;
  scenario: Scenario;
  /** Default 1. */
  scale: number;
  /** Values per axis, only the axes the file lists, in SWEEP_AXES order. */
  axes: Partial<Record<SweepAxis, (number | boolean | string)[]>>;
  /** Number of jobs: the product of the axis lengths. */
  jobCount: number;
  /** Identifies the grid (scenario contents, scale, axes): job files of different grids never merge. */
  digest: string;
}

/** What one job file holds. */
export interface SweepJobFile {
  format: "dmasim-sweep-job/1";
  grid: { digest: string; jobCount: number; scenario: string; scale: number };
  job: SweepJob;
  /** The run's LabResult; `samples` and `maps` are empty unless the sweep kept them (`full`). */
  result: LabResult;
}

/** The merged sweep: one row per job, by index. */
export interface SweepMerged {
  format: "dmasim-sweep/1";
  /** dmasim's version that merged it. */
  dmasim: string;
  /** RESULT_FORMAT of that version. */
  resultFormat: number;
  grid: { digest: string; jobCount: number; scenario: string; scale: number };
  jobs: {
    index: number;
    params: JobParams;
    backend: string;
    summary: Record<string, number>;
    stateHash: string;
    wallMs: number;
  }[];
}

const JOB_FILE = /^job-(\d+)\.json$/;
const MAX_JOBS = 1_000_000;

function fail(path: string, message: string): never {
  throw new DmaSimError("EINVAL", `${path}: ${message}`);
}

function axisValues(path: string, axis: SweepAxis, value: unknown): (number | boolean | string)[] {
  let values: unknown[];
  if (Array.isArray(value)) values = value;
  else if (typeof value === "object" && value !== null && "from" in value && "to" in value) {
    const { from, to } = value as { from: unknown; to: unknown };
    if (!Number.isInteger(from) || !Number.isInteger(to) || (to as number) < (from as number)) {
      fail(path, `a range needs integers with from ≤ to, got ${JSON.stringify(value)}`);
    }
    if ((to as number) - (from as number) >= MAX_JOBS) fail(path, `a range of more than ${MAX_JOBS} values`);
    values = Array.from({ length: (to as number) - (from as number) + 1 }, (_, i) => (from as number) + i);
  } else fail(path, `must be a list of values or { "from": A, "to": B }, got ${JSON.stringify(value)}`);
  if (values.length === 0) fail(path, "must list at least one value");
  values.forEach((v, i) => {
    const want =
      axis === "seed"
        ? Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff
          ? null
          : "an integer in 0..4294967295"
        : labConfigValueProblem(axis, v);
    if (want !== null) fail(`${path}[${i}]`, `must be ${want}, got ${JSON.stringify(v)}`);
  });
  if (new Set(values).size !== values.length) fail(path, "lists a value twice");
  return values as (number | boolean | string)[];
}

/** Validates a parsed grid; `baseDir` resolves a scenario path. */
export function validateGrid(input: unknown, baseDir = ".", path = "grid"): SweepGrid {
  if (typeof input !== "object" || input === null || Array.isArray(input)) fail(path, "must be an object");
  const g = input as Record<string, unknown>;
  for (const key of Object.keys(g)) {
    if (!["scenario", "scale", "axes"].includes(key))
      fail(`${path}.${key}`, "unknown field (known: scenario, scale, axes)");
  }
  if (typeof g.scenario !== "string" || g.scenario.length === 0)
    fail(`${path}.scenario`, "must name a built-in scenario or a scenario file");
  const scenarioRef = g.scenario;
  const isFile = scenarioRef.includes("/") || scenarioRef.endsWith(".json");
  const scenario = loadScenario(isFile ? resolve(baseDir, scenarioRef) : scenarioRef);
  const scale = g.scale === undefined ? scenario.scale : g.scale;
  if (typeof scale !== "number" || !Number.isFinite(scale) || scale <= 0)
    fail(`${path}.scale`, `must be a number above 0, got ${JSON.stringify(g.scale)}`);
  if (typeof g.axes !== "object" || g.axes === null || Array.isArray(g.axes))
    fail(`${path}.axes`, "must be an object of axis → values");
  const rawAxes = g.axes as Record<string, unknown>;
  for (const key of Object.keys(rawAxes)) {
    if (!(SWEEP_AXES as readonly string[]).includes(key))
      fail(`${path}.axes.${key}`, `unknown axis (known: ${SWEEP_AXES.join(", ")})`);
  }
  const axes: SweepGrid["axes"] = {};
  let jobCount = 1;
  for (const axis of SWEEP_AXES) {
    if (rawAxes[axis] === undefined) continue;
    axes[axis] = axisValues(`${path}.axes.${axis}`, axis, rawAxes[axis]);
    jobCount *= axes[axis]!.length;
  }
  if (jobCount > MAX_JOBS) fail(`${path}.axes`, `${jobCount} jobs is more than ${MAX_JOBS}`);
  const digest = createHash("sha256").update(JSON.stringify({ scenario, scale, axes })).digest("hex").slice(0, 16);
  return { scenarioRef, scenario, scale, axes, jobCount, digest };
}

/** Reads and validates a grid file. */
export function loadGrid(file: string): SweepGrid {
  return validateGrid(readJsonFile(file, "grid file"), dirname(file));
}

/** Job `index` of the grid: mixed-radix digits over the axes, the last axis fastest. */
export function jobAt(grid: SweepGrid, index: number): SweepJob {
  if (!Number.isInteger(index) || index < 0 || index >= grid.jobCount) {
    throw new DmaSimError("EINVAL", `job index must be in 0..${grid.jobCount - 1}, got ${index}`);
  }
  const params: Record<string, number | boolean | string> = {};
  let rest = index;
  const present = SWEEP_AXES.filter((a) => grid.axes[a]);
  for (let i = present.length - 1; i >= 0; i--) {
    const values = grid.axes[present[i]!]!;
    params[present[i]!] = values[rest % values.length]!;
    rest = Math.floor(rest / values.length);
  }
  // Key order of SWEEP_AXES, for stable JSON.
  const ordered: Record<string, unknown> = {};
  for (const a of present) ordered[a] = params[a];
  return { index, params: ordered as JobParams };
}

/** Every job, in index order. */
export function enumerateJobs(grid: SweepGrid): SweepJob[] {
  return Array.from({ length: grid.jobCount }, (_, i) => jobAt(grid, i));
}

/** A shard "I/N" (0 ≤ I < N): parsed and checked. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count)
    throw new DmaSimError("EINVAL", `shard must be I/N with 0 ≤ I < N, got "${text}"`);
  return { index, count };
}

/** Where a shard came from: the command line, a scheduler's environment, or the default (the whole grid). */
export type ShardSource = "argument" | "slurm" | "kubernetes" | "default";

/**
 * The shard a process runs: `text` ("I/N") when given; otherwise the
 * scheduler's environment, so that an array job needs no per-task arguments:
 * Slurm job arrays (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
 * SLURM_ARRAY_TASK_COUNT), Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX of
 * DMASIM_SHARD_COUNT, which the Job sets to its `completions`); otherwise 0/1.
 * "auto" insists on a scheduler's variables (EINVAL without them).
 */
export function resolveShard(
  text: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): { index: number; count: number; source: ShardSource } {
  if (text !== undefined && text !== "auto") return { ...parseShard(text), source: "argument" };
  const int = (name: string): number => {
    const v = env[name];
    if (v === undefined || !/^\d+$/.test(v.trim()))
      throw new DmaSimError("EINVAL", `shard: ${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const min = env.SLURM_ARRAY_TASK_MIN === undefined ? 0 : int("SLURM_ARRAY_TASK_MIN");
    const shard = parseShard(`${int("SLURM_ARRAY_TASK_ID") - min}/${int("SLURM_ARRAY_TASK_COUNT")}`);
    return { ...shard, source: "slurm" };
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (env.DMASIM_SHARD_COUNT === undefined)
      throw new DmaSimError(
        "EINVAL",
        "shard: JOB_COMPLETION_INDEX is set but DMASIM_SHARD_COUNT is not (set it to the Job's completions)",
      );
    const shard = parseShard(`${int("JOB_COMPLETION_INDEX")}/${int("DMASIM_SHARD_COUNT")}`);
    return { ...shard, source: "kubernetes" };
  }
  if (text === "auto")
    throw new DmaSimError(
      "EINVAL",
      "shard: auto needs SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/DMASIM_SHARD_COUNT",
    );
  return { index: 0, count: 1, source: "default" };
}

/** The jobs of shard `index` of `count`: every job whose index % count == index. */
export function shardJobs(grid: SweepGrid, shard: { index: number; count: number }): SweepJob[] {
  const jobs: SweepJob[] = [];
  for (let i = shard.index; i < grid.jobCount; i += shard.count) jobs.push(jobAt(grid, i));
  return jobs;
}

export function jobFileName(index: number): string {
  return `job-${String(index).padStart(6, "0")}.json`;
}

function gridHeader(
  grid: Pick<SweepGrid, "digest" | "jobCount" | "scale"> & { scenario: { name: string } },
): SweepJobFile["grid"] {
  return { digest: grid.digest, jobCount: grid.jobCount, scenario: grid.scenario.name, scale: grid.scale };
}

/** Runs one job and writes its file (atomically: a half-written file never looks like a finished job). */
export async function runJob(
  grid: Pick<SweepGrid, "scenario" | "scale" | "digest" | "jobCount">,
  job: SweepJob,
  outDir: string,
  full = false,
): Promise<string> {
  const result = await runScenario(grid.scenario, { ...job.params, scale: grid.scale });
  if (!full) {
    result.samples = [];
    result.maps = [];
  }
  const file: SweepJobFile = { format: "dmasim-sweep-job/1", grid: gridHeader(grid), job, result };
  const path = join(outDir, jobFileName(job.index));
  writeFileSync(`${path}.tmp`, JSON.stringify(file) + "\n");
  renameSync(`${path}.tmp`, path);
  return path;
}

export interface SweepOptions {
  /** Shard to run. Default: all jobs (0/1). */
  shard?: { index: number; count: number };
  /** worker_threads running jobs at once; 1 runs them in this thread. Default: os.availableParallelism(). */
  workers?: number;
  /** Keep samples and maps in the job files. Default false (summary only). */
  full?: boolean;
  /** Called after each job with the jobs done and the shard's total. Default none. */
  onJobDone?: (done: number, total: number, job: SweepJob) => void;
}

/** Runs a shard of the grid, writing one file per job into `outDir`. Returns the job files. */
export async function runSweep(grid: SweepGrid, outDir: string, options: SweepOptions = {}): Promise<string[]> {
  const jobs = shardJobs(grid, options.shard ?? { index: 0, count: 1 });
  mkdirSync(outDir, { recursive: true });
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), jobs.length));
  const files: string[] = [];
  let done = 0;
  const finished = (job: SweepJob, file: string) => {
    files.push(file);
    options.onJobDone?.(++done, jobs.length, job);
  };
  if (workers === 1) {
    for (const job of jobs) finished(job, await runJob(grid, job, outDir, options.full));
    return files.sort();
  }
  const queue = [...jobs];
  const shared: WorkerInput = {
    dmasimSweepWorker: true,
    scenario: grid.scenario,
    scale: grid.scale,
    digest: grid.digest,
    jobCount: grid.jobCount,
    outDir,
    full: options.full ?? false,
  };
  const pool: Worker[] = [];
  try {
    await Promise.all(
      Array.from(
        { length: workers },
        () =>
          new Promise<void>((resolveOne, rejectOne) => {
            const worker = new Worker(new URL(import.meta.url), { workerData: shared });
            pool.push(worker);
            let current: SweepJob | undefined;
            const next = () => {
              current = queue.shift();
              if (current) worker.postMessage(current);
              else void worker.terminate().then(() => resolveOne());
            };
            worker.on("message", (msg: WorkerReply) => {
              if (msg.error !== undefined) {
                rejectOne(new DmaSimError(msg.code ?? "EINVAL", `job ${current?.index}: ${msg.error}`));
                return;
              }
              finished(current!, msg.file!);
              next();
            });
            worker.on("error", rejectOne);
            worker.on("online", next);
          }),
      ),
    );
  } finally {
    // On a failure the other workers stop too (terminating a finished one is a no-op).
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return files.sort();
}

interface WorkerInput {
  dmasimSweepWorker: true;
  scenario: Scenario;
  scale: number;
  digest: string;
  jobCount: number;
  outDir: string;
  full: boolean;
}

interface WorkerReply {
  file?: string;
  error?: string;
  code?: DmaSimError["code"];
}

// A sweep worker runs this module: it takes jobs one at a time from the main thread.
if (!isMainThread && (workerData as WorkerInput | null)?.dmasimSweepWorker === true) {
  const input = workerData as WorkerInput;
  parentPort!.on("message", (job: SweepJob) => {
    runJob(input, job, input.outDir, input.full).then(
      (file) => parentPort!.postMessage({ file } satisfies WorkerReply),
      (e: unknown) =>
        parentPort!.postMessage({
          error: e instanceof DmaSimError ? e.detail : e instanceof Error ? e.message : String(e),
          ...(e instanceof DmaSimError ? { code: e.code } : {}),
        } satisfies WorkerReply),
    );
  });
}

// ---- merge --------------------------------------------------------------------------------------

/** "1, 3, 5-9": indices compressed into ranges. */
function formatIndices(indices: number[], max = 20): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length && parts.length < max; i++) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(i === j ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j;
  }
  return parts.join(", ") + (parts.length === max ? ", …" : "");
}

/**
 * Collects the job files in `dirs` into one table. Throws a DmaSimError when
 * files come from different grids, a job appears twice, or jobs are missing
 * (naming them). `onJob` sees each job's file (its full result), by index.
 */
export function mergeSweep(dirs: string[], onJob?: (data: SweepJobFile) => void): SweepMerged {
  if (dirs.length === 0) throw new DmaSimError("EINVAL", "merge: name at least one directory of job files");
  const byIndex = new Map<number, { file: string; data: SweepJobFile }>();
  let header: SweepJobFile["grid"] | null = null;
  let headerFile = "";
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      throw new DmaSimError("ENOENT", `merge: cannot read directory ${dir}`);
    }
    for (const name of names.filter((n) => JOB_FILE.test(n)).sort()) {
      const file = join(dir, name);
      let data: SweepJobFile;
      try {
        data = JSON.parse(readFileSync(file, "utf8")) as SweepJobFile;
      } catch (e) {
        throw new DmaSimError("EINVAL", `merge: ${file}: not valid JSON (${(e as Error).message})`);
      }
      if (data?.format !== "dmasim-sweep-job/1" || typeof data.job?.index !== "number") {
        throw new DmaSimError("EINVAL", `merge: ${file}: not a sweep job file`);
      }
      if (header === null) {
        header = data.grid;
        headerFile = file;
      } else if (data.grid.digest !== header.digest) {
        throw new DmaSimError(
          "EINVAL",
          `merge: ${file} comes from another grid (${data.grid.digest}) than ${headerFile} (${header.digest})`,
        );
      }
      if (!Number.isInteger(data.job.index) || data.job.index < 0 || data.job.index >= data.grid.jobCount) {
        throw new DmaSimError(
          "EINVAL",
          `merge: ${file}: job ${data.job.index} is outside the grid's ${data.grid.jobCount} jobs`,
        );
      }
      const seen = byIndex.get(data.job.index);
      if (seen) throw new DmaSimError("EEXIST", `merge: job ${data.job.index} appears twice: ${seen.file} and ${file}`);
      byIndex.set(data.job.index, { file, data });
    }
  }
  if (header === null) throw new DmaSimError("ENOENT", `merge: no job files (job-NNNNNN.json) in ${dirs.join(", ")}`);
  const missing: number[] = [];
  for (let i = 0; i < header.jobCount; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) {
    throw new DmaSimError(
      "ENOENT",
      `merge: ${missing.length} of ${header.jobCount} jobs missing: ${formatIndices(missing)} (a shard not run or not copied?)`,
    );
  }
  const sorted = [...byIndex.values()].sort((a, b) => a.data.job.index - b.data.job.index);
  if (onJob) for (const { data } of sorted) onJob(data);
  const jobs = sorted.map(({ data }) => ({
    index: data.job.index,
    params: data.job.params,
    backend: data.result.backend,
    summary: data.result.summary,
    stateHash: data.result.stateHash,
    wallMs: data.result.timing.wallMs,
  }));
  return { format: "dmasim-sweep/1", dmasim: dmasimVersion(), resultFormat: RESULT_FORMAT, grid: header, jobs };
}

/** A job's configuration: its parameters but the seed, as "axis=value, …" ("all jobs" when only seeds vary). */
export function jobConfigLabel(params: JobParams): string {
  const parts = Object.entries(params)
    .filter(([axis]) => axis !== "seed")
    .map(([axis, v]) => `${axis}=${String(v)}`);
  return parts.length > 0 ? parts.join(", ") : "all jobs";
}

/** A job file as a run of summarySpreads(): its configuration (jobConfigLabel()), seed, summary and samples. */
export function jobSpreadRun(data: SweepJobFile): SpreadRun {
  const r = data.result;
  return {
    config: jobConfigLabel(data.job.params),
    seed: typeof data.job.params.seed === "number" ? data.job.params.seed : (r.seed ?? 0),
    summary: r.summary,
    samples: r.samples,
    nrPages: r.machine.ramBytes / r.machine.pageSize,
    pageblockOrder: r.machine.pageblockOrder,
  };
}
