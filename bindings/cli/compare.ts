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
import { KERNEL_VERSIONS } from "../index.ts";
import { prepareOutputDir, isReportDir } from "../lab/report.ts";
import { summaryCell } from "./format.ts";
import { readJsonFile, validateIn } from "../lab/json-file.ts";
import type { LabResult } from "../lab/result.ts";
import { LAB_CONFIG_KEYS, runScenario, type LabConfig } from "../lab/runner.ts";
import { scenarioSpecOf, type Scenario, type ScenarioSpec } from "../lab/scenario.ts";
import { dmasimVersion, RESULT_FORMAT } from "../lab/version.ts";

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
  seed: number;
  scale: number;
  /** The scenario compared, in scenario-file form with every default written out, before scaling and configuration. */
  scenarioSpec: ScenarioSpec;
  entries: {
    label: string;
    config: LabConfig;
    backend: string;
    summary: Record<string, number>;
    stateHash: string;
    timing: LabResult["timing"];
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
    if (cfg.backend !== undefined && cfg.backend !== "wasm" && cfg.backend !== "ts") bad("backend", `"wasm" or "ts"`);
    if (cfg.kernel !== undefined && !(KERNEL_VERSIONS as readonly unknown[]).includes(cfg.kernel))
      bad("kernel", KERNEL_VERSIONS.map((v) => `"${v}"`).join(", "));
    if (cfg.cmaFirstBalance !== undefined && typeof cfg.cmaFirstBalance !== "boolean")
      bad("cmaFirstBalance", "true or false");
    if (cfg.allocNoFragment !== undefined && typeof cfg.allocNoFragment !== "boolean")
      bad("allocNoFragment", "true or false");
    if (cfg.compaction !== undefined && typeof cfg.compaction !== "boolean") bad("compaction", "true or false");
    const p = cfg.compactionProactiveness;
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 100))
      bad("compactionProactiveness", "an integer in 0..100");
    const x = cfg.extfragThreshold;
    if (x !== undefined && (!Number.isInteger(x) || x < 0 || x > 1000))
      bad("extfragThreshold", "an integer in 0..1000");
    if (cfg.pcp !== undefined && typeof cfg.pcp !== "boolean") bad("pcp", "true or false");
    if (cfg.cpus !== undefined && (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > 256))
      bad("cpus", "an integer in 1..256");
    const f = cfg.percpuPagelistHighFraction;
    if (f !== undefined && (!Number.isInteger(f) || f < 0 || (f > 0 && f < 8) || f > 2 ** 31 - 1))
      bad("percpuPagelistHighFraction", "0 or an integer of at least 8");
    if (cfg.iommuStyle !== undefined && cfg.iommuStyle !== "arm" && cfg.iommuStyle !== "dma-iommu")
      bad("iommuStyle", `"arm" or "dma-iommu"`);
    if (
      cfg.claimThresholdPages !== undefined &&
      (!Number.isInteger(cfg.claimThresholdPages) || cfg.claimThresholdPages < 0)
    ) {
      bad("claimThresholdPages", "a non-negative integer (pages)");
    }
    for (const key of ["pageblockOrder", "maxOrder"] as const) {
      const v = cfg[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 20)) bad(key, "an integer in 1..20");
    }
    return { ...cfg };
  });
}

export function loadConfigs(file: string): CompareConfig[] {
  const json = readJsonFile(file, "configurations file");
  return validateIn(file, () => validateConfigs(json));
}

/** Runs the workload once per configuration, in order. */
export async function runCompare(
  scenario: Scenario,
  configs: readonly CompareConfig[],
  options: {
    seed?: number;
    scale?: number;
    onRun?: (i: number, result: LabResult) => void | Promise<void>;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<CompareResult> {
  const seed = options.seed ?? scenario.seed;
  const scale = options.scale ?? 1;
  const entries: CompareResult["entries"] = [];
  for (const [i, { label, ...config }] of configs.entries()) {
    const result = await runScenario(scenario, {
      ...config,
      seed,
      scale,
      onProgress:
        options.onProgress && ((done, total) => options.onProgress!(i * total + done, configs.length * total)),
    });
    await options.onRun?.(i, result);
    entries.push({
      label,
      config,
      backend: result.backend,
      summary: result.summary,
      stateHash: result.stateHash,
      timing: result.timing,
    });
  }
  return {
    format: "dmasim-compare/1",
    dmasim: dmasimVersion(),
    resultFormat: RESULT_FORMAT,
    scenario: scenario.name,
    seed,
    scale,
    scenarioSpec: scenarioSpecOf(scenario),
    entries,
  };
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
 * kernel prints them (-1.000 … 1.000).
 */
export function compareRows(result: CompareResult, columns?: readonly string[]): (string | number)[][] {
  const keys = columns ?? compareKeys(result);
  const rows: (string | number)[][] = [["", ...result.entries.map((e) => e.label)]];
  for (const k of keys) rows.push([k, ...result.entries.map((e) => summaryCell(k, e.summary[k]))]);
  rows.push(["stateHash", ...result.entries.map((e) => e.stateHash)]);
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

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Writes `out/compare.json` (the CompareResult) and `out/index.html`: the
 * side-by-side table, each configuration's column linking its report
 * (`dirs[i]/index.html`, relative to `out`), and each one's fragmentation heatmap.
 */
export function writeCompareIndex(result: CompareResult, out: string, dirs: readonly string[]): void {
  writeFileSync(join(out, "compare.json"), JSON.stringify(result, null, 2) + "\n");
  const rows = compareRows(result);
  const cell = (c: string | number) =>
    typeof c === "number" ? c.toLocaleString("en-US", { maximumFractionDigits: 3 }) : escapeHtml(c);
  const header = result.entries
    .map((e, i) => `<th><a href="${escapeHtml(dirs[i]!)}/index.html">${escapeHtml(e.label)}</a></th>`)
    .join("");
  const body = rows
    .slice(1)
    .map(
      ([k, ...vs]) =>
        `<tr><td><code>${escapeHtml(String(k))}</code></td>${vs.map((v) => `<td class="n">${cell(v)}</td>`).join("")}</tr>`,
    )
    .join("\n");
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
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dmasim comparison: ${escapeHtml(result.scenario)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
code { background: #f4f4f4; padding: 0 3px; }
</style>
</head>
<body>
<h1>Comparison: ${escapeHtml(result.scenario)}</h1>
<p>Seed ${result.seed}, scale ${result.scale}; dmasim ${escapeHtml(result.dmasim)}. Each configuration's full report is linked from its name; the data is in <a href="compare.json">compare.json</a>.</p>
<h2>Configurations</h2>
<table><tr><th>configuration</th><th>overrides</th><th>backend</th></tr>
${configs}
</table>
<h2>Side by side</h2>
<table><tr><th></th>${header}</tr>
${body}
</table>
<h2>External fragmentation index per order</h2>
${figures}
</body>
</html>
`;
  writeFileSync(join(out, "index.html"), html);
}
