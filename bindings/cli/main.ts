#!/usr/bin/env node
/**
 * `dmasim`: the Fragmentation Lab's command line.
 *
 *   dmasim run [--scenario NAME|FILE.json|RESULT.json] [--seed N] [--backend wasm|ts] [--scale F] [--out DIR] [--force] [--json]
 *   dmasim replay TRACE|TRACE.gz|- [--ram BYTES] [--cma NAME=BYTES]... [--json] [--out DIR] [--force]
 *   dmasim compare [--scenario ...] [--seed N | --seeds 1-5] [--configs FILE.json] [--columns KEYS] [--out DIR] [--force] [--json]
 *   dmasim sweep --grid FILE [--shard I/N] [--out DIR] [--workers K]
 *   dmasim merge DIR... [--out FILE] [--report DIR] [--columns KEYS] [--json]
 *   dmasim report RESULT.json [--out DIR] [--force]
 *   dmasim scenarios [NAME|FILE]
 *   dmasim web [--port N] [--host ADDRESS]
 *   dmasim twin CAPTURE_DIR [--mode follow|free-run|both] [--backend wasm|ts] [--out DIR] [--json]
 *
 * With --json, stdout carries one JSON document and nothing else. Errors are
 * one line on stderr and exit code 1 (DMASIM_DEBUG=1 adds the stack).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { DmaSimError } from "../core/errors.ts";
import type { LabConfig } from "../lab/config.ts";
import { readJsonFile, validateIn } from "../lab/json-file.ts";
import { replayTrace } from "../lab/replay-file.ts";
import type { LabResult } from "../lab/result.ts";
import { runScenario } from "../lab/runner.ts";
import {
  builtinScenarioNames,
  builtinScenarioSpec,
  parseBytes,
  resultInFile,
  validateScenario,
  type Scenario,
} from "../lab/scenario.ts";
import { loadScenario } from "../lab/scenario-file.ts";
import { scaleScenario } from "../lab/scale.ts";
import type { SpreadRun } from "../lab/spread.ts";
import { spreadPage } from "../lab/report-spread.ts";
import { prepareOutputDir } from "../lab/report.ts";
import { BUILTIN_SCENARIOS, PLANNED_SCENARIOS } from "../lab/scenarios/index.ts";
import {
  jobSpreadRun,
  loadGrid,
  mergeSweep,
  resolveShard,
  runSweep,
  shardJobs,
  type SweepMerged,
} from "../lab/sweep.ts";
import {
  compareReportDir,
  compareRows,
  DEFAULT_CONFIGS,
  prepareCompareDir,
  writeCompareIndex,
  compareSpreadRuns,
  spreadSampleKey,
  loadConfigs,
  presetConfigs,
  runCompare,
  validateConfigs,
  type CompareConfig,
} from "./compare.ts";
import { allSummaryRows, formatTable, headline, parseColumns, runSummaryRows, summaryCell } from "./format.ts";
import { formatIndex, INDEX_KEY } from "../lab/index-format.ts";
import { createProgress } from "./progress.ts";
import { addTwinCommand } from "./twin.ts";
import { type Backend, type CmaAreaOptions, type SystemOptions } from "../index.ts";

const DEFAULT_REPORT_DIR = "report";
const DEFAULT_SWEEP_DIR = "report/sweep";

const FORCE_HELP = "write into an --out directory that holds other files but no dmasim report";
const FRESH_HELP =
  "\nThe report directory is written fresh: an earlier report there is replaced (the files it wrote are\n" +
  "removed first; other files stay). A directory that holds files but no dmasim report is refused\n" +
  "unless --force (which then overwrites only the files of the same names).";

// ---- argument parsers (commander prints their errors as one line and exits 1) ----------------------

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`must be an integer in ${min}..${max}`);
    return n;
  };
}

function scaleArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a number above 0");
  return n;
}

/** "1-3" or "1,4,9": seeds, each a uint32, at most 1000, none twice. */
function seedsArg(value: string): number[] {
  const seeds: number[] = [];
  for (const part of value.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`must be seeds such as "1-3" or "1,4,9"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to > 0xffffffff || to - from >= 1000)
      throw new InvalidArgumentError(`"${part.trim()}": a range from low to high, of seeds in 0..4294967295`);
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  if (seeds.length > 1000) throw new InvalidArgumentError("at most 1000 seeds");
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError("lists a seed twice");
  return seeds;
}

function bytesArg(value: string): number {
  try {
    return parseBytes("size", /^\d+$/.test(value) ? Number(value) : value);
  } catch {
    throw new InvalidArgumentError(`must be a size such as 1073741824, "512M" or "1GiB"`);
  }
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}

/** --cma NAME=SIZE, or "none" for no area. */
function cmaArg(value: string): CmaAreaOptions | null {
  if (value === "none") return null;
  const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`must be NAME=SIZE (e.g. reserved=64M) or "none"`);
  return { name: m[1]!, bytes: bytesArg(m[2]!) };
}

function backendOption(): Option {
  return new Option("--backend <backend>", "engine build").choices(["wasm", "ts"]).default("wasm");
}

function scenarioList(): string {
  const lines = builtinScenarioNames().map(
    (name) => `  ${name.padEnd(8)} ${BUILTIN_SCENARIOS[name]!.description ?? ""}`,
  );
  for (const [name, why] of Object.entries(PLANNED_SCENARIOS)) lines.push(`  ${name.padEnd(8)} ${why}`);
  return `Built-in scenarios:\n${lines.join("\n")}\nOr a scenario file (JSON; see the README's "Fragmentation Lab" section).`;
}

// ---- output helpers -------------------------------------------------------------------------------

function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Label / value lines, the labels padded to one width. */
function printRows(rows: [string, string][]): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n");
}

async function report(
  result: LabResult,
  dir: string | null,
  scenario?: Scenario,
  force = false,
): Promise<string | null> {
  if (dir === null) return null;
  // Loaded on demand: vega and vega-lite take a third of a second to import.
  const { writeReport } = await import("../lab/report.ts");
  await writeReport(result, dir, { scenario, force });
  return join(dir, "index.html");
}

/** Refuses a report directory before the work rather than after it (see writeReport()). */
async function checkReportDir(dir: string | null, force = false): Promise<void> {
  if (dir === null) return;
  const { prepareReportDir } = await import("../lab/report.ts");
  prepareReportDir(dir, force, true);
}

/** --out, else the default unless --json (a machine reader asked for stdout only), never with --no-report. */
function reportDir(opts: { out?: string; report?: boolean; json?: boolean }): string | null {
  if (opts.report === false) return null;
  return opts.out ?? (opts.json ? null : DEFAULT_REPORT_DIR);
}

// ---- commands -----------------------------------------------------------------------------------

interface RunOpts {
  force?: boolean;
  scenario: string;
  seed?: number;
  backend: Backend;
  scale?: number;
  out?: string;
  report?: boolean;
  json?: boolean;
}

async function runCommand(opts: RunOpts, cmd: Command): Promise<void> {
  const scenario = loadScenario(opts.scenario);
  await checkReportDir(reportDir(opts), opts.force);
  // A result file reruns as it ran: its seed, scale, configuration and backend, unless given here.
  const rerun = rerunDefaults(opts.scenario);
  const given = (key: string) => cmd.getOptionValueSource(key) === "cli";
  const scale = given("scale") ? opts.scale! : (rerun?.scale ?? scenario.scale);
  const progress = createProgress(scenario.name, "ops", !opts.json);
  let result: LabResult;
  try {
    result = await runScenario(scenario, {
      ...rerun?.config,
      seed: opts.seed ?? rerun?.seed,
      backend: given("backend") ? opts.backend : (rerun?.backend ?? opts.backend),
      scale,
      onProgress: progress.update,
    });
  } finally {
    progress.stop();
  }
  // What the scale could not keep in proportion: one line, also in the result's `warnings`.
  for (const warning of result.warnings ?? []) process.stderr.write(`dmasim: warning: ${warning}\n`);
  const index = await report(result, reportDir(opts), ranScenario(result, scenario), opts.force);
  if (opts.json) return printJson(result);
  console.log(headline(result));
  printRows(runSummaryRows(result));
  if (index) console.log(`report: ${index}`);
}

interface ReplayOpts {
  force?: boolean;
  ram?: number;
  pageSize?: number;
  maxOrder?: number;
  pageblockOrder?: number;
  cma?: (CmaAreaOptions | null)[];
  zones?: "x86_64";
  sampleEvery?: number;
  maxMaps?: number;
  backend: Backend;
  out?: string;
  report?: boolean;
  json?: boolean;
}

async function replayCommand(trace: string, opts: ReplayOpts): Promise<void> {
  if (trace !== "-" && !existsSync(trace)) throw new DmaSimError("ENOENT", `replay: no such trace file: ${trace}`);
  const system: SystemOptions = {};
  if (opts.ram !== undefined) system.ramBytes = opts.ram;
  if (opts.pageSize !== undefined) system.pageSize = opts.pageSize;
  if (opts.maxOrder !== undefined) system.maxOrder = opts.maxOrder;
  if (opts.pageblockOrder !== undefined) system.pageblockOrder = opts.pageblockOrder;
  if (opts.cma !== undefined) system.cma = opts.cma.filter((a): a is CmaAreaOptions => a !== null);
  if (opts.zones !== undefined) system.zones = opts.zones;
  await checkReportDir(reportDir(opts), opts.force);
  const progress = createProgress("replay", "bytes", !opts.json);
  let result: LabResult;
  try {
    result = await replayTrace(trace, {
      system,
      backend: opts.backend,
      sampleEvery: opts.sampleEvery,
      maxMaps: opts.maxMaps,
      onProgress: (read, total) => total > 0 && progress.update(read, total),
      onWarning: (message) => process.stderr.write(`dmasim: warning: ${message}\n`),
    });
  } finally {
    progress.stop();
  }
  const index = await report(result, reportDir(opts), undefined, opts.force);
  if (opts.json) return printJson(result);
  console.log(headline(result));
  printRows(allSummaryRows(result));
  console.log(
    index
      ? `report: ${index} (every replay counter: ${join(dirname(index), "result.json")})`
      : "every replay counter: --json",
  );
}

interface CompareOpts {
  force?: boolean;
  columns?: string;
  scenario: string;
  seed?: number;
  seeds?: number[];
  scale?: number;
  configs?: string;
  preset?: string;
  out?: string;
  json?: boolean;
}

async function compareCommand(opts: CompareOpts): Promise<void> {
  const scenario = loadScenario(opts.scenario);
  if (opts.configs && opts.preset)
    throw new DmaSimError("EINVAL", "compare: --configs and --preset exclude each other");
  const configs = opts.configs ? loadConfigs(opts.configs) : opts.preset ? presetConfigs(opts.preset) : DEFAULT_CONFIGS;
  if (opts.out) prepareCompareDir(opts.out, opts.force);
  const progress = createProgress(`compare ${scenario.name}`, "ops", !opts.json);
  if (opts.seeds && opts.seed !== undefined)
    throw new DmaSimError("EINVAL", "compare: --seed and --seeds exclude each other");
  const dirs = configs.map((c, i) => compareReportDir(opts.out ?? "", i, c.label));
  const samples = new Map<string, Pick<SpreadRun, "samples" | "nrPages" | "pageblockOrder">>();
  let result;
  let columns: string[] | undefined;
  try {
    result = await runCompare(scenario, configs, {
      seed: opts.seed,
      seeds: opts.seeds,
      scale: opts.scale ?? scenario.scale,
      onProgress: progress.update,
      onRun: async (i, r, k) => {
        // Checked against the first run's summary: a typo fails before the other runs.
        if (i === 0 && k === 0 && opts.columns) columns = parseColumns("compare", opts.columns, Object.keys(r.summary));
        if (i === 0 && k === 0)
          for (const warning of r.warnings ?? []) process.stderr.write(`dmasim: warning: ${warning}\n`);
        if (opts.out && k === 0) await report(r, dirs[i]!, ranScenario(r, scenario));
        if (opts.out)
          samples.set(spreadSampleKey(configs[i]!.label, r.seed!), {
            samples: r.samples,
            nrPages: r.machine.ramBytes / r.machine.pageSize,
            pageblockOrder: r.machine.pageblockOrder,
          });
      },
    });
  } finally {
    progress.stop();
  }
  if (opts.out)
    await writeCompareIndex(
      result,
      opts.out,
      dirs.map((d) => relative(opts.out!, d)),
      compareSpreadRuns(result, samples),
    );
  if (opts.json) return printJson(result);
  console.log(
    `compare: scenario ${result.scenario}, ${result.seeds.length > 1 ? `seeds ${result.seeds.join(", ")} (mean (min..max); ≠: beyond the seed spread)` : `seed ${result.seed}`}${result.scale !== 1 ? `, scale ${result.scale}` : ""}`,
  );
  process.stdout.write(formatTable(compareRows(result, columns)));
  if (opts.out) console.log(`reports: ${join(opts.out, "index.html")}, and ${opts.out}/<n>-<label>/index.html`);
}

interface SweepOpts {
  grid: string;
  shard?: string;
  out: string;
  workers: number;
  full?: boolean;
  list?: boolean;
}

async function sweepCommand(opts: SweepOpts): Promise<void> {
  const grid = loadGrid(opts.grid);
  const { source, ...shard } = resolveShard(opts.shard, process.env);
  const jobs = shardJobs(grid, shard);
  if (opts.list) {
    process.stdout.write(formatTable([["job", "params"], ...jobs.map((j) => [j.index, JSON.stringify(j.params)])]));
    return;
  }
  const progress = createProgress(`sweep ${shard.index}/${shard.count}`, "jobs", true);
  const started = performance.now();
  try {
    await runSweep(grid, opts.out, {
      shard,
      workers: opts.workers,
      full: opts.full,
      onJobDone: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }
  console.log(
    `sweep: ${jobs.length} of ${grid.jobCount} jobs (shard ${shard.index}/${shard.count}${source === "slurm" || source === "kubernetes" ? ` from ${source}` : ""}, ${Math.min(opts.workers, jobs.length)} workers) ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s → ${opts.out}/job-NNNNNN.json; then: dmasim merge ${opts.out}`,
  );
}

/** Columns of the merged table: `--columns`, or the headline figures the jobs have. */
function mergeColumns(merged: SweepMerged, wanted?: string): string[] {
  const keys = Object.keys(merged.jobs[0]?.summary ?? {});
  if (wanted) return parseColumns("merge", wanted, [...new Set(merged.jobs.flatMap((j) => Object.keys(j.summary)))]);
  const headline =
    /^(alloc\.failed|alloc\.(?!order\d)[^.]+\.failed|cma\.[^.]+\.(successPct|pagesMigrated|busyRetries)|contig\.ok|extfragClaimed|end\.(extfragIndex|unusableIndex)\.pageblock|end\.freePageblocks|end\.pageblocks\.unmovable)$/;
  return keys.filter((k) => headline.test(k));
}

function mergeRows(merged: SweepMerged, columns: string[]): (string | number)[][] {
  const axes = Object.keys(merged.jobs[0]?.params ?? {});
  const rows: (string | number)[][] = [["job", ...axes, ...columns]];
  for (const j of merged.jobs) {
    rows.push([
      j.index,
      ...axes.map((a) => String((j.params as Record<string, unknown>)[a])),
      ...columns.map((c) => summaryCell(c, j.summary[c])),
    ]);
  }
  return rows;
}

/** Means over seeds for each combination of the other axes (when the grid varies the seed). */
function meanRows(merged: SweepMerged, columns: string[]): (string | number)[][] | null {
  const axes = Object.keys(merged.jobs[0]?.params ?? {}).filter((a) => a !== "seed");
  if (!merged.jobs[0] || !("seed" in merged.jobs[0].params)) return null;
  const groups = new Map<string, SweepMerged["jobs"]>();
  for (const j of merged.jobs) {
    const key = JSON.stringify(axes.map((a) => (j.params as Record<string, unknown>)[a]));
    groups.set(key, [...(groups.get(key) ?? []), j]);
  }
  if ([...groups.values()].every((g) => g.length < 2)) return null;
  const rows: (string | number)[][] = [[...axes, "seeds", ...columns]];
  for (const [key, jobs] of groups) {
    // Over the jobs that have the column: a job without it adds nothing, not a 0.
    const means = columns.map((c) => {
      const values = jobs.map((j) => j.summary[c]).filter((v): v is number => v !== undefined);
      if (values.length === 0) return "-";
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return INDEX_KEY.test(c) ? formatIndex(mean) : Math.round(mean * 10) / 10;
    });
    rows.push([...(JSON.parse(key) as unknown[]).map(String), jobs.length, ...means]);
  }
  return rows;
}

interface MergeOpts {
  out?: string;
  report?: string;
  force?: boolean;
  json?: boolean;
  columns?: string;
}

/** A merge report directory: its index.html beside sweep.json, the merged table. */
function isMergeReportDir(dir: string): boolean {
  try {
    return (
      (JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8")) as { format?: unknown }).format === "dmasim-sweep/1"
    );
  } catch {
    return false;
  }
}

const MERGE_REPORT = {
  what: "merge report (sweep.json)",
  isOurs: isMergeReportDir,
  owned: (name: string) => name === "index.html" || name === "sweep.json",
};

async function mergeCommand(dirs: string[], opts: MergeOpts): Promise<void> {
  // Refused before the work when the directory is someone else's.
  if (opts.report) prepareOutputDir(opts.report, MERGE_REPORT, opts.force, true);
  const runs: SpreadRun[] = [];
  const merged = mergeSweep(dirs, opts.report ? (data) => runs.push(jobSpreadRun(data)) : undefined);
  if (opts.report) {
    prepareOutputDir(opts.report, MERGE_REPORT, opts.force);
    writeFileSync(join(opts.report, "sweep.json"), JSON.stringify(merged, null, 2) + "\n");
    const g = merged.grid;
    const intro =
      `<p>${merged.jobs.length} jobs of scenario <strong>${g.scenario}</strong>${g.scale !== 1 ? ` at scale ${g.scale}` : ""} ` +
      `(grid ${g.digest}), grouped by every axis but the seed; dmasim ${merged.dmasim}. The table is in <a href="sweep.json">sweep.json</a>.</p>`;
    writeFileSync(join(opts.report, "index.html"), await spreadPage(`Sweep: ${g.scenario}`, intro, runs));
  }
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(merged, null, 2) + "\n");
  }
  if (opts.json) return printJson(merged);
  const columns = mergeColumns(merged, opts.columns);
  console.log(`merge: ${merged.jobs.length} jobs of scenario ${merged.grid.scenario} (grid ${merged.grid.digest})`);
  process.stdout.write(formatTable(mergeRows(merged, columns)));
  const means = meanRows(merged, columns);
  if (means) {
    console.log("\nmean over seeds:");
    process.stdout.write(formatTable(means));
  }
  if (opts.out) console.log(`wrote ${opts.out}`);
  if (opts.report) console.log(`report: ${join(opts.report, "index.html")}`);
}

/** The scenario as a run ran it: configured (pageblock order, …) and scaled, for its report. */
function ranScenario(result: LabResult, scenario: Scenario): Scenario {
  const configured = result.scenario ? validateScenario(result.scenario, "result.scenario") : scenario;
  return scaleScenario(configured, result.scale ?? 1);
}

/** Seed, scale, configuration and backend of a run's result file, or null for anything else. */
function rerunDefaults(
  nameOrFile: string,
): { seed?: number; scale?: number; backend?: Backend; config?: LabConfig } | null {
  if (!nameOrFile.endsWith(".json") && !nameOrFile.includes("/")) return null;
  const result = resultInFile(readJsonFile(nameOrFile, "scenario file"));
  if (result === null) return null;
  const out: { seed?: number; scale?: number; backend?: Backend; config?: LabConfig } = {};
  if (typeof result.seed === "number") out.seed = result.seed;
  if (typeof result.scale === "number") out.scale = result.scale;
  if (result.backend === "wasm" || result.backend === "ts") out.backend = result.backend;
  if (result.config !== undefined) {
    const [{ label: _label, ...config }] = validateIn(nameOrFile, () =>
      validateConfigs([{ ...(result.config as object), label: "result" }], "result.config"),
    ) as [CompareConfig];
    out.config = config;
  }
  return out;
}

async function reportCommand(file: string, opts: { out: string; force?: boolean }): Promise<void> {
  const { loadResult } = await import("../lab/report.ts");
  const { result, scenario } = loadResult(file);
  const index = await report(result, opts.out, scenario, opts.force);
  console.log(`report: ${index}`);
}

function scenariosCommand(name: string | undefined): void {
  if (name === undefined) return console.log(scenarioList());
  const spec = builtinScenarioSpec(name);
  if (spec) return printJson(spec);
  // A file: loadScenario() checks it (or throws the error for an unknown or planned name).
  const scenario = loadScenario(name);
  const ops = scenario.phases.reduce((sum, p) => sum + p.ops, 0);
  console.log(
    `${name}: a valid scenario "${scenario.name}": ${scenario.phases.length} phases, ${ops.toLocaleString("en-US")} operations, ` +
      `${scenario.areas.length} CMA areas, ${scenario.devices.length} devices`,
  );
}

// ---- the program --------------------------------------------------------------------------------

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(): Command {
  const program = new Command("dmasim")
    .description(
      "The Fragmentation Lab: seeded workloads, trace replays, comparisons and sweeps on a simulated Linux page allocator",
    )
    .version(version())
    .enablePositionalOptions();

  program
    .command("run")
    .description("run a seeded workload and write a report")
    .option(
      "-s, --scenario <name|file>",
      "built-in scenario, scenario JSON file, or a run's result.json (rerun with its seed, scale, configuration and backend unless given)",
      "camera",
    )
    .option("--seed <n>", "workload seed (default: the scenario's, 1)", intArg(0, 0xffffffff))
    .addOption(backendOption())
    .option(
      "--scale <factor>",
      "machine and work size: RAM, CMA areas, frames, limits and durations × factor, same pressure (default: the scenario's, 1)",
      scaleArg,
    )
    .option("-o, --out <dir>", `report directory (default: ${DEFAULT_REPORT_DIR}; with --json only when given)`)
    .option("--force", FORCE_HELP)
    .option("--no-report", "write no report")
    .option("--json", "print the result (LabResult) as JSON on stdout, and nothing else")
    .addHelpText("after", `${FRESH_HELP}\n\n${scenarioList()}`)
    .action((opts: RunOpts, cmd: Command) => runCommand(opts, cmd));

  program
    .command("replay")
    .description("replay a kernel ftrace capture (mm_page_alloc/free, cma_alloc/release) on a simulated machine")
    .argument(
      "<trace>",
      'text trace file (trace-cmd report or /sys/kernel/tracing/trace output), gzip-compressed or not; "-" reads stdin',
    )
    .option("--ram <bytes>", "RAM size, e.g. 4G (default 1 GiB)", bytesArg)
    .option("--page-size <bytes>", "page size (default 4096)", bytesArg)
    .option("--max-order <n>", "MAX_PAGE_ORDER (default 10)", intArg(1, 20))
    .option("--pageblock-order <n>", "pageblock order (default 9)", intArg(1, 20))
    .option("--cma <name=bytes>", 'a CMA area, repeatable; "none" for no area (default: reserved=64M)', collect(cmaArg))
    .addOption(new Option("--zones <layout>", "zone layout (default: one Normal zone)").choices(["x86_64"]))
    .option("--sample-every <events>", "events between metric samples (default 10000)", intArg(1, 2 ** 31))
    .option("--max-maps <n>", "memory-map snapshots kept (default 10)", intArg(2, 1000))
    .addOption(backendOption())
    .option("-o, --out <dir>", `report directory (default: ${DEFAULT_REPORT_DIR}; with --json only when given)`)
    .option("--force", FORCE_HELP)
    .option("--no-report", "write no report")
    .option("--json", "print the result (LabResult) as JSON on stdout, and nothing else")
    .addHelpText("after", FRESH_HELP)
    .action((trace: string, opts: ReplayOpts) => replayCommand(trace, opts));

  program
    .command("compare")
    .description("run one workload under several configurations, side by side")
    .option("-s, --scenario <name|file>", "built-in scenario or scenario JSON file", "camera")
    .option("--seed <n>", "workload seed (default: the scenario's, 1)", intArg(0, 0xffffffff))
    .option(
      "--seeds <list>",
      'run every configuration with each seed, e.g. "1-3" or "1,4,9": the index shows the seed spread and what differs beyond it',
      seedsArg,
    )
    .option("--scale <factor>", "machine and work size × factor, same pressure (default: the scenario's, 1)", scaleArg)
    .option(
      "--configs <file>",
      "JSON list of configurations (default: baseline, no CMA-first, pageblock order 10, ts backend)",
    )
    .option(
      "--preset <name>",
      'a built-in set of configurations: "compaction" (compaction on and off, proactiveness 0 and 90, extfrag_threshold 0) or "default"',
    )
    .option(
      "-o, --out <dir>",
      "also write one report per configuration under this directory, and an index.html linking them",
    )
    .option("--force", FORCE_HELP)
    .option("--columns <keys>", "summary keys to show, comma-separated (default: all)")
    .option("--json", "print the comparison as JSON on stdout, and nothing else")
    .addHelpText(
      "after",
      `${FRESH_HELP}\n\nA configuration: { "label": "...", "backend": "wasm"|"ts", "cmaFirstBalance": bool, "pageblockOrder": n, "maxOrder": n, "compaction": bool, "compactionProactiveness": 0..100, "extfragThreshold": 0..1000, "pcp": bool, "cpus": 1..256, "percpuPagelistHighFraction": 0 or >= 8, "watermarkBoostFactor": 0..2147483647, "defragMode": 0..1 (1: kernel 6.18 only), "swapBytes": bytes of swap (whole pages) }\n\n${scenarioList()}`,
    )
    .action((opts: CompareOpts) => compareCommand(opts));

  program
    .command("sweep")
    .description("run (a shard of) a parameter grid, one JSON file per job")
    .requiredOption(
      "--grid <file>",
      "grid file: { scenario, scale?, axes: { seed, backend, cmaFirstBalance, pageblockOrder, maxOrder } }",
    )
    .option(
      "--shard <i/n>",
      "run the jobs whose index % n == i; 'auto': from the scheduler (default: the scheduler's if set, else 0/1)",
    )
    .option("-o, --out <dir>", "directory for the job files", DEFAULT_SWEEP_DIR)
    .option("--workers <k>", "jobs run in parallel (worker threads)", intArg(1, 1024), availableParallelism())
    .option("--full", "keep samples and memory maps in the job files (default: summary only)")
    .option("--list", "print the shard's jobs and exit")
    .addHelpText(
      "after",
      "\nJob i of a grid is the same everywhere, so shards can run on different machines (GNU parallel,\n" +
        "Slurm job arrays: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT are read by themselves; Kubernetes\n" +
        "Indexed Jobs: JOB_COMPLETION_INDEX with DMASIM_SHARD_COUNT set to the Job's completions).",
    )
    .action((opts: SweepOpts) => sweepCommand(opts));

  program
    .command("merge")
    .description("collect sweep job files into one table, checking for missing and duplicate jobs")
    .argument("<dir...>", "directories holding job-NNNNNN.json files")
    .option("-o, --out <file>", "write the merged JSON to this file")
    .option("--json", "print the merged JSON on stdout, and nothing else")
    .option("--columns <keys>", "summary keys to show, comma-separated (default: headline figures)")
    .option(
      "--report <dir>",
      "also write DIR/index.html: configurations (every axis but the seed) side by side, their seed spread, and what differs beyond it",
    )
    .option("--force", FORCE_HELP)
    .action((dirs: string[], opts: MergeOpts) => mergeCommand(dirs, opts));

  program
    .command("report")
    .description("render the report of a result file (result.json, run --json or replay --json output) again")
    .argument("<result>", "a result file of dmasim run or replay")
    .option("-o, --out <dir>", `report directory`, DEFAULT_REPORT_DIR)
    .option("--force", FORCE_HELP)
    .addHelpText("after", FRESH_HELP)
    .action((file: string, opts: { out: string; force?: boolean }) => reportCommand(file, opts));

  program
    .command("scenarios")
    .description(
      "list the built-in scenarios, print one as JSON (a starting point for a scenario file), or check a scenario file",
    )
    .argument("[name|file]", "built-in scenario to print, or scenario file to check")
    .action((name: string | undefined) => scenariosCommand(name));

  program
    .command("web")
    .description("serve the browser Lab: run built-in scenarios in the browser, open result files")
    .option("--port <n>", "port (0: any free one)", intArg(0, 65535), 8080)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .action(async (opts: { port: number; host: string }) => {
      const { serveWeb } = await import("./web.ts");
      const server = await serveWeb(opts.port, opts.host);
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : opts.port;
      console.log(`dmasim web: the Lab at http://${opts.host}:${port}/ (Ctrl-C stops it)`);
    });

  addTwinCommand(program);
  return program;
}

/** Runs the CLI; errors become one line on stderr and exit code 1. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // `dmasim ... | head`: a reader that stops early is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`dmasim: ${message.split("\n")[0]}\n`);
    if (process.env.DMASIM_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

// Run when executed (node dist/bindings/cli/main.js, or the `dmasim` bin through its symlink), not when imported.
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
