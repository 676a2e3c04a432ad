/**
 * Configurations compared over several seeds: each configuration's spread
 * across seeds (min, max and mean of every summary figure, and of a few metrics
 * over time), and which figures differ beyond that spread.
 *
 * "Beyond the spread" is defined on seed ranges: a configuration differs from
 * the first (the baseline) on a figure when its range over seeds, [min, max],
 * does not overlap the baseline's (its lowest value is above the baseline's
 * highest, or its highest below the baseline's lowest). With one seed per
 * configuration there is no spread to judge by, so nothing is marked.
 *
 * Pure functions on plain data (no node: modules): the reports and the browser
 * Lab share them.
 */
import type { TopLevelSpec } from "vega-lite";
import type { MetricsSample } from "./metrics.ts";
import { MIGRATETYPES } from "../index.ts";

const UNMOVABLE = MIGRATETYPES.indexOf("unmovable");
const RECLAIMABLE = MIGRATETYPES.indexOf("reclaimable");

/** One run of a comparison: a configuration's label, its seed and what it produced. */
export interface SpreadRun {
  config: string;
  seed: number;
  summary: Record<string, number>;
  /** Metrics over time, when kept (a sweep without --full has none). */
  samples?: MetricsSample[];
  /** The machine's pages and pageblock order, for the curves' per-cent and pageblock figures. */
  nrPages?: number;
  pageblockOrder?: number;
}

/** A configuration's spread of one figure over its seeds. */
export interface ConfigSpread {
  config: string;
  /** Seeds that have the figure. */
  n: number;
  min: number;
  max: number;
  mean: number;
  /** Against the baseline (the first configuration): its range wholly above, wholly below, or overlapping (null). */
  beyond: "above" | "below" | null;
}

/** One summary figure across configurations. */
export interface SummarySpread {
  key: string;
  byConfig: ConfigSpread[];
  /** Some configuration's seed range does not overlap the baseline's. */
  differs: boolean;
}

/** The configurations of `runs`, in first-seen order. */
export function spreadConfigs(runs: readonly SpreadRun[]): string[] {
  return [...new Set(runs.map((r) => r.config))];
}

function rangeOf(values: number[]): { n: number; min: number; max: number; mean: number } {
  const min = Math.min(...values);
  const max = Math.max(...values);
  // A sum's rounding can put the mean of equal values a hair outside them (3 × 0.986 / 3).
  const mean = Math.min(max, Math.max(min, values.reduce((a, b) => a + b, 0) / values.length));
  return { n: values.length, min, max, mean };
}

/** Whether [a.min, a.max] lies wholly above or below [b.min, b.max]. */
function beyondOf(a: { min: number; max: number }, b: { min: number; max: number }): ConfigSpread["beyond"] {
  if (a.min > b.max) return "above";
  if (a.max < b.min) return "below";
  return null;
}

/**
 * Every summary figure's spread per configuration (figures in first-seen
 * order), marked where a configuration's seed range leaves the baseline's.
 */
export function summarySpreads(runs: readonly SpreadRun[]): SummarySpread[] {
  const configs = spreadConfigs(runs);
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))];
  const judged = configs.every((c) => runs.filter((r) => r.config === c).length >= 2);
  return keys.map((key) => {
    const ranges = configs.map((config) => {
      const values = runs
        .filter((r) => r.config === config)
        .map((r) => r.summary[key])
        .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
      return { config, values };
    });
    const base = ranges[0]!.values.length > 0 ? rangeOf(ranges[0]!.values) : null;
    const byConfig = ranges
      .filter((r) => r.values.length > 0)
      .map(({ config, values }): ConfigSpread => {
        const range = rangeOf(values);
        const beyond = judged && base !== null && config !== configs[0] ? beyondOf(range, base) : null;
        return { config, ...range, beyond };
      });
    return { key, byConfig, differs: byConfig.some((c) => c.beyond !== null) };
  });
}

/** A metric over time drawn for every configuration on shared axes. */
export interface Curve {
  id: string;
  title: string;
  unit: string;
  value: (s: MetricsSample, nrPages: number, pageblockOrder: number) => number;
}

/** The curves a comparison overlays: what the built-in scenarios study. */
export const CURVES: readonly Curve[] = [
  { id: "free", title: "Free memory", unit: "% of RAM", value: (s, nrPages) => (100 * s.nrFreePages) / nrPages },
  {
    id: "kernel-pageblocks",
    title: "Pageblocks taken by kernel memory (unmovable + reclaimable)",
    unit: "pageblocks",
    value: (s) => (s.pageblocksByMigratetype[UNMOVABLE] ?? 0) + (s.pageblocksByMigratetype[RECLAIMABLE] ?? 0),
  },
  { id: "migrated", title: "Pages migrated (pgmigrate_success)", unit: "pages", value: (s) => s.pgmigrateSuccess },
  {
    id: "alloc-failures",
    title: "Failed page allocations",
    unit: "requests",
    value: (s) => s.allocFailByOrder.reduce((a, b) => a + b, 0),
  },
  {
    id: "extfrag",
    title: "External fragmentation index at the pageblock order",
    unit: "index",
    value: (s, _n, pageblockOrder) => (s.extfragIndex[pageblockOrder] ?? 0) / 1000,
  },
];

/** One point of a configuration's band: its seeds' min, max and mean at sample time t. */
export interface BandPoint {
  config: string;
  t: number;
  min: number;
  max: number;
  mean: number;
}

/**
 * A curve's band per configuration: at each sample index, the min, max and
 * mean over the configuration's seeds. Runs of one configuration sample at the
 * same times (the same scenario and scale); a run with fewer samples ends its
 * configuration's band there.
 */
export function curveBands(runs: readonly SpreadRun[], curve: Curve): BandPoint[] {
  const points: BandPoint[] = [];
  for (const config of spreadConfigs(runs)) {
    const mine = runs.filter((r) => r.config === config && r.samples && r.samples.length > 0);
    if (mine.length === 0) continue;
    const length = Math.min(...mine.map((r) => r.samples!.length));
    for (let i = 0; i < length; i++) {
      const values = mine.map((r) => curve.value(r.samples![i]!, r.nrPages ?? 1, r.pageblockOrder ?? 9));
      points.push({ config, t: mine[0]!.samples![i]!.t, ...rangeOf(values) });
    }
  }
  return points;
}

/** A colour per configuration, in order (Tableau 10, as vega's default category scheme). */
export const CONFIG_COLORS = [
  "#4c78a8",
  "#f58518",
  "#e45756",
  "#72b7b2",
  "#54a24b",
  "#eeca3b",
  "#b279a2",
  "#ff9da6",
  "#9d755d",
  "#bab0ac",
];

/**
 * The overlay of one curve: every configuration on shared axes, a translucent
 * band from its seeds' min to max and a line through their mean.
 */
export function overlaySpec(curve: Curve, bands: readonly BandPoint[], configs: readonly string[]): TopLevelSpec {
  const color = {
    field: "config",
    type: "nominal" as const,
    title: "configuration",
    scale: { domain: [...configs], range: configs.map((_, i) => CONFIG_COLORS[i % CONFIG_COLORS.length]!) },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: curve.title, subtitle: "line: mean over seeds; band: min to max over seeds" },
    width: 640,
    height: 220,
    background: "white",
    config: { font: "sans-serif", view: { stroke: "#ddd" }, legend: { orient: "bottom", columns: 2 } },
    data: { values: bands.map((b) => ({ ...b })) },
    encoding: {
      x: { field: "t", type: "quantitative", title: "operation", scale: { nice: false } },
      color,
    },
    layer: [
      {
        mark: { type: "area", opacity: 0.2, interpolate: "step-after" },
        encoding: {
          y: { field: "min", type: "quantitative", title: curve.unit },
          y2: { field: "max" },
        },
      },
      {
        mark: { type: "line", strokeWidth: 1.5, interpolate: "step-after" },
        encoding: { y: { field: "mean", type: "quantitative", title: curve.unit } },
      },
    ],
  } as TopLevelSpec;
}

/** The overlays worth drawing for `runs`: curves some run has samples for. */
export function overlaySpecs(runs: readonly SpreadRun[]): { curve: Curve; spec: TopLevelSpec }[] {
  if (!runs.some((r) => r.samples && r.samples.length > 0)) return [];
  const configs = spreadConfigs(runs);
  return CURVES.map((curve) => ({ curve, spec: overlaySpec(curve, curveBands(runs, curve), configs) }));
}
