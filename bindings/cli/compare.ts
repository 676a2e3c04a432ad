/**
 * `dmasim compare`: one workload (scenario, seed, scale) under several
 * configurations, side by side. A configurations file is a JSON list (or
 * `{ "configs": [...] }`) of LabConfig objects with a label:
 *
 *   [ { "label": "baseline" },
 *     { "label": "no CMA-first", "cmaFirstBalance": false },
 *     { "label": "pageblock order 10", "pageblockOrder": 10 },
 *     { "label": "ts backend", "backend": "ts" } ]
 *
 * which is also the default set. Built-in sets (`--preset NAME`, PRESETS):
 * "compaction" compares compaction on and off, kcompactd's proactive
 * compaction off and eager, and a low vm.extfrag_threshold.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DmaSimError } from "../core/errors.ts";
import { prepareOutputDir, isReportDir } from "../lab/report.ts";
import { summaryCell } from "./format.ts";
import { readJsonFile, validateIn } from "../lab/json-file.ts";
import type { LabResult } from "../lab/result.ts";
import { LAB_CONFIG_KEYS, runScenario, type LabConfig } from "../lab/runner.ts";
import { labConfigValueProblem } from "../lab/config.ts";
import { scenarioSpecOf, type Scenario, type ScenarioSpec } from "../lab/scenario.ts";
import { dmasimVersion, RESULT_FORMAT } from "../lab/version.ts";
import { summarySpreads, type SpreadRun } from "../lab/spread.ts";
import { escapeHtml, formatFigure, spreadPage } from "../lab/report-spread.ts";

/** A configuration to compare, with its column label. */
export interface CompareConfig extends LabConfig {
  /** Column label. Required, unique. */
  label: string;
}

/** `dmasim compare --json`: the workload, then one entry per configuration. */
export interface CompareResult {
  format: "dmasim-compare/1";
  /** dmasim's version that produced it. */
  dmasim: string;
  /** RESULT_FORMAT of that version. */
  resultFormat: number;
  scenario: string;
  /** The first seed (of `seeds`): the one `entries[].summary` holds. */
  seed: number;
  /** Every seed each configuration ran with (`--seeds`); [seed] without. */
  seeds: number[];
  scale: number;
  /** The scenario compared, in scenario-file form with every default written out, before scaling and configuration. */
  scenarioSpec: ScenarioSpec;
  entries: {
    label: string;
    config: LabConfig;
    backend: string;
    /** The first seed's summary. */
    summary: Record<string, number>;
    stateHash: string;
    timing: LabResult["timing"];
    /** Every seed's run, in `seeds` order. */
    runs: { seed: number; summary: Record<string, number>; stateHash: string }[];
  }[];
}

export const DEFAULT_CONFIGS: readonly CompareConfig[] = Object.freeze([
  { label: "baseline" },
  { label: "no CMA-first", cmaFirstBalance: false },
  { label: "pageblock order 10", pageblockOrder: 10 },
  { label: "claim at 1/4 pageblock", claimThresholdPages: 128 },
  { label: "no compaction", compaction: false },
  { label: "ts backend", backend: "ts" },
]);

/** Built-in configuration sets, `dmasim compare --preset NAME`. */
export const PRESETS: Readonly<Record<string, readonly CompareConfig[]>> = Object.freeze({
  default: DEFAULT_CONFIGS,
  compaction: Object.freeze([
    { label: "compaction (6.12 defaults)" },
    { label: "no compaction", compaction: false },
    { label: "no proactive compaction", compactionProactiveness: 0 },
    { label: "proactiveness 90", compactionProactiveness: 90 },
    { label: "extfrag_threshold 0", extfragThreshold: 0 },
    { label: "no watermark boost", watermarkBoostFactor: 0 },
  ]),
});

/** The configurations of a built-in preset; EINVAL naming the presets for an unknown name. */
export function presetConfigs(name: string): readonly CompareConfig[] {
  const configs = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!configs)
    throw new DmaSimError("EINVAL", `compare: no preset "${name}" (presets: ${Object.keys(PRESETS).join(", ")})`);
  return configs;
}

const KNOWN = ["label", ...LAB_CONFIG_KEYS];

/** Validates a configurations list (parsed JSON). */
export function validateConfigs(input: unknown, path = "configs"): CompareConfig[] {
  const list = Array.isArray(input) ? input : (input as { configs?: unknown } | null)?.configs;
  if (!Array.isArray(list) || list.length === 0) {
    throw new DmaSimError("EINVAL", `${path}: must be a non-empty list of configurations, or { "configs": [...] }`);
  }
  const labels = new Set<string>();
  return list.map((c, i) => {
    const at = `${path}[${i}]`;
    const bad = (field: string, want: string): never => {
      throw new DmaSimError(
        "EINVAL",
        `${at}.${field}: must be ${want}, got ${JSON.stringify((c as Record<string, unknown>)[field])}`,
      );
    };
    if (typeof c !== "object" || c === null || Array.isArray(c))
      throw new DmaSimError("EINVAL", `${at}: must be an object`);
    for (const key of Object.keys(c)) {
      if (!KNOWN.includes(key))
        throw new DmaSimError("EINVAL", `${at}.${key}: unknown field (known: ${KNOWN.join(", ")})`);
    }
    const cfg = c as CompareConfig;
    if (typeof cfg.label !== "string" || cfg.label.length === 0) bad("label", "a non-empty string");
    if (labels.has(cfg.label)) throw new DmaSimError("EINVAL", `${at}.label: duplicate label "${cfg.label}"`);
    labels.add(cfg.label);
    for (const key of LAB_CONFIG_KEYS) {
      const want = cfg[key] === undefined ? null : labConfigValueProblem(key, cfg[key]);
      if (want !== null) bad(key, want);
    }
    return { ...cfg };
  });
}

export function loadConfigs(file: string): CompareConfig[] {
  const json = readJsonFile(file, "configurations file");
  return validateIn(file, () => validateConfigs(json));
}

/** Runs the workload once per configuration and seed, configuration by configuration. */
export async function runCompare(
  scenario: Scenario,
  configs: readonly CompareConfig[],
  options: {
    seed?: number;
    /** Seeds to run each configuration with; default [seed]. */
    seeds?: readonly number[];
    scale?: number;
    onRun?: (i: number, result: LabResult, seedIndex: number) => void | Promise<void>;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<CompareResult> {
  const seeds = options.seeds && options.seeds.length > 0 ? [...options.seeds] : [options.seed ?? scenario.seed];
  const scale = options.scale ?? scenario.scale;
  const runsTotal = configs.length * seeds.length;
  const entries: CompareResult["entries"] = [];
  for (const [i, { label, ...config }] of configs.entries()) {
    const runs: CompareResult["entries"][number]["runs"] = [];
    let first: LabResult | null = null;
    for (const [k, seed] of seeds.entries()) {
      const done = i * seeds.length + k;
      const result = await runScenario(scenario, {
        ...config,
        seed,
        scale,
        onProgress: options.onProgress && ((d, total) => options.onProgress!(done * total + d, runsTotal * total)),
      });
      await options.onRun?.(i, result, k);
      first ??= result;
      runs.push({ seed, summary: result.summary, stateHash: result.stateHash });
    }
    entries.push({
      label,
      config,
      backend: first!.backend,
      summary: first!.summary,
      stateHash: first!.stateHash,
      timing: first!.timing,
      runs,
    });
  }
  return {
    format: "dmasim-compare/1",
    dmasim: dmasimVersion(),
    resultFormat: RESULT_FORMAT,
    scenario: scenario.name,
    seed: seeds[0]!,
    seeds,
    scale,
    scenarioSpec: scenarioSpecOf(scenario),
    entries,
  };
}

/** The comparison's runs for summarySpreads(): every configuration × seed (`samples`: their curves, when kept). */
export function compareSpreadRuns(
  result: CompareResult,
  samples?: ReadonlyMap<string, Pick<SpreadRun, "samples" | "nrPages" | "pageblockOrder">>,
): SpreadRun[] {
  return result.entries.flatMap((e) =>
    e.runs.map((r) => ({
      config: e.label,
      seed: r.seed,
      summary: r.summary,
      ...samples?.get(spreadSampleKey(e.label, r.seed)),
    })),
  );
}

/** The key compareSpreadRuns() finds a run's samples under. */
export function spreadSampleKey(label: string, seed: number): string {
  return `${label}\u0000${seed}`;
}

/** Every summary key of the entries, in first-seen order. */
export function compareKeys(result: Pick<CompareResult, "entries">): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const e of result.entries) {
    for (const k of Object.keys(e.summary)) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  return keys;
}

/**
 * Rows for the side-by-side table: one per summary key (in first-seen order, or
 * `columns`), one column per configuration. Fragmentation indexes read as the
 * kernel prints them (-1.000 … 1.000). Over several seeds a cell is the mean and
 * the range, "mean (min..max)", and a key whose figure differs beyond the seed
 * spread (summarySpreads()) is marked "≠ ".
 */
export function compareRows(result: CompareResult, columns?: readonly string[]): (string | number)[][] {
  const keys = columns ?? compareKeys(result);
  const rows: (string | number)[][] = [["", ...result.entries.map((e) => e.label)]];
  const runs = result.entries.map((e) => e.runs ?? [{ seed: result.seed, summary: e.summary }]);
  if (Math.min(...runs.map((r) => r.length)) < 2) {
    for (const k of keys) rows.push([k, ...result.entries.map((e) => summaryCell(k, e.summary[k]))]);
    rows.push(["stateHash", ...result.entries.map((e) => e.stateHash)]);
  } else {
    const spreads = new Map(summarySpreads(compareSpreadRuns(result)).map((s) => [s.key, s]));
    for (const k of keys) {
      const s = spreads.get(k);
      const cells = result.entries.map((e) => {
        const c = s?.byConfig.find((x) => x.config === e.label);
        if (!c) return "-";
        const mark = c.beyond === "above" ? " ▲" : c.beyond === "below" ? " ▼" : "";
        return `${formatFigure(k, c.mean)} (${formatFigure(k, c.min)}..${formatFigure(k, c.max)})${mark}`;
      });
      rows.push([s?.differs ? `≠ ${k}` : k, ...cells]);
    }
  }
  rows.push(["wall ms", ...result.entries.map((e) => Math.round(e.timing.wallMs))]);
  return rows;
}

// ---- the comparison's report directory ----------------------------------------------------------

/** The report directory of configuration `i`, under the comparison's. */
export function compareReportDir(out: string, i: number, label: string): string {
  return join(out, `${i}-${label.replace(/[^A-Za-z0-9_.-]+/g, "-")}`);
}

function isCompareDir(dir: string): boolean {
  try {
    return (
      (JSON.parse(readFileSync(join(dir, "compare.json"), "utf8")) as { format?: unknown }).format ===
      "dmasim-compare/1"
    );
  } catch {
    return false;
  }
}

/**
 * Makes `out` ready for a comparison's reports: an earlier comparison's
 * index.html, compare.json and per-configuration report directories are
 * removed; a directory holding other files but no comparison is refused unless
 * `force`.
 */
export function prepareCompareDir(out: string, force = false): void {
  prepareOutputDir(
    out,
    {
      what: "dmasim comparison (compare.json)",
      isOurs: isCompareDir,
      owned: (name, path) =>
        name === "index.html" || name === "compare.json" || (/^\d+-[A-Za-z0-9_.-]+$/.test(name) && isReportDir(path)),
    },
    force,
  );
}

/**
 * Writes `out/compare.json` (the CompareResult) and `out/index.html`: the
 * configurations (each linking its report, `dirs[i]/index.html` relative to
 * `out`, of its first seed), the curves of every configuration overlaid with
 * their seed bands, the figures that differ beyond the seed spread, every
 * figure's mean and range, and each configuration's fragmentation heatmap.
 */
export async function writeCompareIndex(
  result: CompareResult,
  out: string,
  dirs: readonly string[],
  runs: readonly SpreadRun[] = compareSpreadRuns(result),
): Promise<void> {
  writeFileSync(join(out, "compare.json"), JSON.stringify(result, null, 2) + "\n");
  const configs = result.entries
    .map(
      (e, i) =>
        `<tr><td><a href="${escapeHtml(dirs[i]!)}/index.html">${escapeHtml(e.label)}</a></td>` +
        `<td><code>${escapeHtml(JSON.stringify(e.config))}</code></td><td>${escapeHtml(e.backend)}</td></tr>`,
    )
    .join("\n");
  const figures = result.entries
    .map(
      (e, i) =>
        `<figure><a href="${escapeHtml(dirs[i]!)}/index.html"><img src="${escapeHtml(dirs[i]!)}/extfrag.svg" alt="extfrag index of ${escapeHtml(e.label)}"></a>` +
        `<figcaption>${escapeHtml(e.label)}</figcaption></figure>`,
    )
    .join("\n");
  const seeds = result.seeds ?? [result.seed];
  const intro = `<p>Seed${seeds.length > 1 ? "s" : ""} ${seeds.join(", ")}, scale ${result.scale}; dmasim ${escapeHtml(result.dmasim)}. Each configuration's full report (of seed ${seeds[0]}) is linked from its name; the data is in <a href="compare.json">compare.json</a>.</p>
<h2>Configurations</h2>
<table><tr><th>configuration</th><th>overrides</th><th>backend</th></tr>
${configs}
</table>`;
  const outro = `<h2>External fragmentation index per order (seed ${seeds[0]})</h2>\n${figures}`;
  writeFileSync(join(out, "index.html"), await spreadPage(`Comparison: ${result.scenario}`, intro, runs, outro));
}
