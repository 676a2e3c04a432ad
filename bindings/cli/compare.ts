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
 * which is also the default set.
 */
import { DmaSimError } from "../core/errors.ts";
import { readJsonFile, validateIn } from "../lab/json-file.ts";
import type { LabResult } from "../lab/result.ts";
import { runScenario, type LabConfig } from "../lab/runner.ts";
import type { Scenario } from "../lab/scenario.ts";

/** A configuration to compare, with its column label. */
export interface CompareConfig extends LabConfig {
  /** Column label. Required, unique. */
  label: string;
}

/** `dmasim compare --json`: the workload, then one entry per configuration. */
export interface CompareResult {
  format: "dmasim-compare/1";
  scenario: string;
  seed: number;
  scale: number;
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

const KNOWN = [
  "label",
  "backend",
  "cmaFirstBalance",
  "pageblockOrder",
  "maxOrder",
  "allocNoFragment",
  "claimThresholdPages",
  "compaction",
  "iommuStyle",
];

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
    if (cfg.cmaFirstBalance !== undefined && typeof cfg.cmaFirstBalance !== "boolean")
      bad("cmaFirstBalance", "true or false");
    if (cfg.allocNoFragment !== undefined && typeof cfg.allocNoFragment !== "boolean")
      bad("allocNoFragment", "true or false");
    if (cfg.compaction !== undefined && typeof cfg.compaction !== "boolean") bad("compaction", "true or false");
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
  return { format: "dmasim-compare/1", scenario: scenario.name, seed, scale, entries };
}

/** Rows for the side-by-side table: one per summary key (in first-seen order), one column per configuration. */
export function compareRows(result: CompareResult): (string | number)[][] {
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
  const rows: (string | number)[][] = [["", ...result.entries.map((e) => e.label)]];
  for (const k of keys) rows.push([k, ...result.entries.map((e) => e.summary[k] ?? "-")]);
  rows.push(["stateHash", ...result.entries.map((e) => e.stateHash)]);
  rows.push(["wall ms", ...result.entries.map((e) => Math.round(e.timing.wallMs))]);
  return rows;
}
