/**
 * The report's plots: vega-lite specs built from a LabResult's samples, compiled
 * to vega and rendered to SVG headless (a vega View with renderer "none" and
 * view.toSVG(): no canvas, no browser, no network).
 */
import type { TopLevelSpec } from "vega-lite";
import { MIGRATETYPE_COLORS } from "./report-map.ts";
import type { LabResult } from "./result.ts";
import { MIGRATETYPES, SYSTEM_HEAP_ORDERS } from "../index.ts";

/** One plot of the report. */
export interface Chart {
  /** File name in the report directory, e.g. "extfrag.svg". */
  file: string;
  title: string;
  /** What the plot shows and how to read it (HTML-escaped by the report). */
  caption: string;
  spec: TopLevelSpec;
}

const WIDTH = 640;
const HEIGHT = 220;

/**
 * Renders a vega-lite spec to an SVG document. vega is loaded at the first
 * report, not with the Lab: its canvas probe awaits at top level, which would
 * keep require("dmasim/lab") from loading the Lab synchronously.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function timeTitle(result: LabResult): string {
  return result.kind === "replay" ? "trace event" : "operation";
}

/** What every single-view plot shares. */
function base(title: string) {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    background: "white",
    config: { font: "sans-serif", view: { stroke: "#ddd" }, legend: { orient: "right" as const } },
  };
}

/** The migratetypes seen in any sample, as a colour scale in the map's colours. */
function migratetypeScale(seen: number[]): { domain: string[]; range: string[] } {
  return { domain: seen.map((mt) => MIGRATETYPES[mt]!), range: seen.map((mt) => MIGRATETYPE_COLORS[mt]!) };
}

/**
 * A fragmentation index per order over time as a heatmap: one row per order, one
 * cell per sample interval, coloured by the index (the kernel's -1.000 … 1.000).
 */
function orderIndexChart(
  result: LabResult,
  key: "extfragIndex" | "unusableIndex",
  file: string,
  title: string,
  caption: string,
  domain: [number, number],
): Chart {
  const samples = result.samples;
  // Each sample's value holds from its t to the next sample's (the last one: a sliver after it).
  const last = samples[samples.length - 1]?.t ?? 0;
  const tail = Math.max(1, Math.round(last / Math.max(1, samples.length - 1)));
  const values = samples.flatMap((s, i) =>
    s[key].map((v, order) => ({ t: s.t, t2: samples[i + 1]?.t ?? s.t + tail, order, index: v / 1000 })),
  );
  const orders = (samples[0]?.[key].length ?? 0) - 1;
  return {
    file,
    title,
    caption,
    spec: {
      ...base(title),
      height: Math.max(HEIGHT / 2, 16 * (orders + 1)),
      data: { values },
      mark: { type: "rect" },
      encoding: {
        x: { field: "t", type: "quantitative", title: timeTitle(result), scale: { nice: false } },
        x2: { field: "t2" },
        y: {
          field: "order",
          type: "ordinal",
          title: "order",
          sort: "descending",
        },
        color: {
          field: "index",
          type: "quantitative",
          title: "index",
          scale: { domain, scheme: domain[0] < 0 ? "redblue" : "viridis", reverse: domain[0] < 0 },
          legend: { format: ".3f" },
        },
      },
    } as TopLevelSpec,
  };
}

function byMigratetypeChart(
  result: LabResult,
  key: "freePagesByMigratetype" | "pageblocksByMigratetype",
  file: string,
  title: string,
  caption: string,
  unit: string,
  scale: number,
): Chart {
  const seen = MIGRATETYPES.map((_, mt) => mt).filter((mt) => result.samples.some((s) => s[key][mt]! > 0));
  const values = result.samples.flatMap((s) =>
    seen.map((mt) => ({ t: s.t, migratetype: MIGRATETYPES[mt], value: s[key][mt]! * scale, rank: mt })),
  );
  return {
    file,
    title,
    caption,
    spec: {
      ...base(title),
      data: { values },
      mark: { type: "area", interpolate: "step-after" },
      encoding: {
        x: { field: "t", type: "quantitative", title: timeTitle(result) },
        y: { field: "value", type: "quantitative", title: unit, stack: "zero" },
        color: {
          field: "migratetype",
          type: "nominal",
          title: "migratetype",
          scale: migratetypeScale(seen),
          sort: seen.map((mt) => MIGRATETYPES[mt]),
        },
        order: { field: "rank", type: "quantitative" },
      },
    } as TopLevelSpec,
  };
}

/**
 * One step-line panel per metric, stacked, each with its own y scale: for counters
 * of different magnitudes over the same time axis. `values` rows are
 * `{ t, metric, value, [series]: name }`; `metrics` orders the panels.
 */
function panelsSpec(
  result: LabResult,
  title: string,
  values: object[],
  metrics: readonly string[],
  series: string,
  panelHeight: number,
  yAxis?: object,
): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    background: "white",
    config: { font: "sans-serif", view: { stroke: "#ddd" } },
    data: { values },
    facet: {
      row: {
        field: "metric",
        type: "nominal",
        title: null,
        sort: [...metrics],
        header: {
          labelAngle: 0,
          labelOrient: "top",
          labelAlign: "left",
          labelAnchor: "start",
          labelFontWeight: "bold",
        },
      },
    },
    spec: {
      width: WIDTH,
      height: panelHeight,
      mark: { type: "line", interpolate: "step-after" },
      encoding: {
        x: { field: "t", type: "quantitative", title: timeTitle(result) },
        y: { field: "value", type: "quantitative", title: null, ...(yAxis ? { axis: yAxis } : {}) },
        color: { field: series, type: "nominal", title: series },
      },
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}

const CMA_METRICS = [
  ["allocsSucceeded", "allocations succeeded"],
  ["allocsFailed", "allocations failed"],
  ["pagesMigrated", "pages migrated"],
  ["busyRetries", "busy retries"],
] as const;

function cmaChart(result: LabResult): Chart | null {
  if (result.machine.cma.length === 0 || !result.samples.some((s) => s.cma.length > 0)) return null;
  const values = result.samples.flatMap((s) =>
    s.cma.flatMap((a) => CMA_METRICS.map(([key, metric]) => ({ t: s.t, area: a.name, metric, value: a[key] }))),
  );
  return {
    file: "cma.svg",
    title: "CMA: success and cost",
    caption:
      "Cumulative cma_alloc() calls that succeeded and failed, pages migrated out of the areas to satisfy them, and " +
      "ranges found busy (a pinned or unmovable page) and retried further on. Each panel has its own scale.",
    spec: panelsSpec(
      result,
      "CMA: success and cost",
      values,
      CMA_METRICS.map(([, m]) => m),
      "area",
      70,
      { format: ",d", tickMinStep: 1 },
    ),
  };
}

function failuresChart(result: LabResult): Chart | null {
  const last = result.samples[result.samples.length - 1];
  if (!last) return null;
  const orders = last.allocFailByOrder.map((n, order) => (n > 0 ? order : -1)).filter((o) => o >= 0);
  if (orders.length === 0) return null;
  const values = result.samples.flatMap((s) =>
    orders.map((order) => ({ t: s.t, order, failures: s.allocFailByOrder[order]! })),
  );
  return {
    file: "failures.svg",
    title: "Allocation failures per order",
    caption:
      "Cumulative buddy allocations that returned NULL, per order (the engine's count, which includes migration targets). " +
      "High orders failing while free memory remains is external fragmentation at work.",
    spec: {
      ...base("Allocation failures per order"),
      data: { values },
      mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
      encoding: {
        x: { field: "t", type: "quantitative", title: timeTitle(result) },
        y: {
          field: "failures",
          type: "quantitative",
          title: "failures so far",
          axis: { format: ",d", tickMinStep: 1 },
        },
        color: { field: "order", type: "ordinal", title: "order", scale: { scheme: "viridis" } },
      },
    } as TopLevelSpec,
  };
}

const HEAP_METRICS = [
  ["liveMiB", "live buffers (MiB)"],
  ["failed", "allocations failed"],
] as const;

function heapChart(result: LabResult): Chart | null {
  if (!result.samples.some((s) => s.heaps && s.heaps.length > 0)) return null;
  const values = result.samples.flatMap((s) =>
    (s.heaps ?? []).flatMap((h) => [
      { t: s.t, heap: h.name, metric: HEAP_METRICS[0][1], value: Math.round((h.liveBytes / 2 ** 20) * 10) / 10 },
      { t: s.t, heap: h.name, metric: HEAP_METRICS[1][1], value: h.failed },
    ]),
  );
  return {
    file: "heaps.svg",
    title: "dma-buf heaps: memory and failures",
    caption:
      "Bytes of live buffers per heap (/dev/dma_heap/system and each CMA heap), and cumulative DMA_HEAP_IOCTL_ALLOC " +
      "calls that failed (no memory, or over the process's dma-buf limit). Each panel has its own scale.",
    spec: panelsSpec(
      result,
      "dma-buf heaps: memory and failures",
      values,
      HEAP_METRICS.map(([, m]) => m),
      "heap",
      90,
    ),
  };
}

function heapOrdersChart(result: LabResult): Chart | null {
  const system = (s: LabResult["samples"][number]) => s.heaps?.find((h) => h.name === "system");
  if (!result.samples.some((s) => system(s))) return null;
  const mib = result.machine.pageSize / 2 ** 20;
  const values = result.samples.flatMap((s) => {
    const h = system(s);
    return h
      ? SYSTEM_HEAP_ORDERS.map((order, i) => ({
          t: s.t,
          order: `order ${order}`,
          mib: Math.round(h.chunks[i]! * 2 ** order * mib * 10) / 10,
          rank: i,
        }))
      : [];
  });
  return {
    file: "heap-orders.svg",
    title: "System heap: memory handed out, by block order",
    caption:
      "Cumulative MiB the system heap gathered in blocks of order 8 (1 MiB with 4 KiB pages), 4 and 0 (stacked). " +
      "It takes the largest block that fits; when order-8 blocks run short (fragmentation, or memory running out), " +
      "the order-4 and order-0 bands grow faster for the same buffers.",
    spec: {
      ...base("System heap: memory handed out, by block order"),
      data: { values },
      mark: { type: "area", interpolate: "step-after" },
      encoding: {
        x: { field: "t", type: "quantitative", title: timeTitle(result) },
        y: { field: "mib", type: "quantitative", title: "MiB so far", stack: "zero" },
        color: {
          field: "order",
          type: "ordinal",
          title: "block",
          sort: SYSTEM_HEAP_ORDERS.map((o) => `order ${o}`),
          scale: { scheme: "viridis" },
        },
        order: { field: "rank", type: "quantitative" },
      },
    } as TopLevelSpec,
  };
}

const COMPACTION_EVENTS = [
  ["stalls", "direct compaction stalls"],
  ["successes", "direct compaction successes"],
  ["failures", "direct compaction failures"],
  ["kcompactdWakes", "kcompactd wakes"],
] as const;

/** Samples of results written before compaction was sampled have none: no chart then. */
function compactionSamples(result: LabResult) {
  return result.samples.filter((s) => s.compaction !== undefined);
}

function compactionEventsChart(result: LabResult): Chart | null {
  const samples = compactionSamples(result);
  const last = samples[samples.length - 1]?.compaction;
  if (!last || COMPACTION_EVENTS.every(([key]) => last[key] === 0)) return null;
  const values = samples.flatMap((s) =>
    COMPACTION_EVENTS.map(([key, metric]) => ({ t: s.t, metric, value: s.compaction[key], series: "count" })),
  );
  return {
    file: "compaction.svg",
    title: "Compaction: stalls, outcomes and kcompactd",
    caption:
      "Cumulative direct compactions in the allocation slow path (compact_stall: allocations that stalled to compact; " +
      "compact_success / compact_fail: whether the allocation then succeeded) and kcompactd's wake-ups for a failed " +
      "high-order request (compact_daemon_wake). The simulated clock advances with the run (msPerOp), so kcompactd " +
      "and proactive compaction (every 500 ms) run between operations. Each panel has its own scale.",
    spec: panelsSpec(
      result,
      "Compaction: stalls, outcomes and kcompactd",
      values,
      COMPACTION_EVENTS.map(([, m]) => m),
      "series",
      60,
      { format: ",d", tickMinStep: 1 },
    ),
  };
}

function compactionWorkChart(result: LabResult): Chart | null {
  const samples = compactionSamples(result);
  const last = samples[samples.length - 1]?.compaction;
  if (!last || last.directMigrateScanned + last.daemonMigrateScanned === 0) return null;
  const values = samples.flatMap((s) => {
    const c = s.compaction;
    return [
      { t: s.t, metric: "pages scanned (migration scanner)", value: c.directMigrateScanned, by: "direct" },
      { t: s.t, metric: "pages scanned (migration scanner)", value: c.daemonMigrateScanned, by: "kcompactd" },
      { t: s.t, metric: "pages scanned (free scanner)", value: c.directFreeScanned, by: "direct" },
      { t: s.t, metric: "pages scanned (free scanner)", value: c.daemonFreeScanned, by: "kcompactd" },
      { t: s.t, metric: "pages migrated", value: c.directMigrated, by: "direct" },
      { t: s.t, metric: "pages migrated", value: c.daemonMigrated, by: "kcompactd" },
    ];
  });
  return {
    file: "compaction-work.svg",
    title: "Compaction work: direct and background",
    caption:
      "Cumulative pages compaction's scanners looked at and pages it moved, by who did the work: direct compaction in " +
      "the allocation slow path, or kcompactd (woken for an order, or proactive compaction when the node's " +
      "fragmentation score exceeds the compaction_proactiveness watermark). Each panel has its own scale.",
    spec: panelsSpec(
      result,
      "Compaction work: direct and background",
      values,
      ["pages scanned (migration scanner)", "pages scanned (free scanner)", "pages migrated"],
      "by",
      70,
      { format: "~s" },
    ),
  };
}

function reclaimSamples(result: LabResult) {
  return result.samples.filter((s) => s.reclaim !== undefined);
}

/** Free memory against the page cache and anonymous memory: what reclaim trades. Left out when nothing is cached. */
function memoryUseChart(result: LabResult): Chart | null {
  const samples = reclaimSamples(result);
  if (!samples.some((s) => s.reclaim.filePages > 0)) return null;
  const mib = result.machine.pageSize / 2 ** 20;
  const values = samples.flatMap((s) => [
    { t: s.t, use: "free", MiB: s.nrFreePages * mib },
    { t: s.t, use: "page cache", MiB: s.reclaim.filePages * mib },
    { t: s.t, use: "anonymous", MiB: s.reclaim.anonPages * mib },
    { t: s.t, use: "dirty or under writeback", MiB: (s.reclaim.dirtyPages + s.reclaim.writebackPages) * mib },
  ]);
  const title = "Memory by use: free, page cache, anonymous";
  return {
    file: "memory-use.svg",
    title,
    caption:
      "Free pages (NR_FREE_PAGES), the page cache (nr_file_pages, of which dirty or under writeback: nr_dirty + " +
      "nr_writeback) and anonymous pages on the LRU (nr_inactive_anon + nr_active_anon), in MiB. Under pressure " +
      "kswapd and direct reclaim turn clean page cache back into free memory; dirty pages wait for writeback.",
    spec: {
      ...base(title),
      data: { values },
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x: { field: "t", type: "quantitative", title: timeTitle(result) },
        y: { field: "MiB", type: "quantitative", title: "MiB" },
        color: {
          field: "use",
          type: "nominal",
          title: null,
          sort: ["free", "page cache", "anonymous", "dirty or under writeback"],
        },
      },
    } as TopLevelSpec,
  };
}

/** Reclaim's work by who did it: kswapd or direct reclaim. Left out when nothing was scanned. */
function reclaimWorkChart(result: LabResult): Chart | null {
  const samples = reclaimSamples(result);
  const last = samples[samples.length - 1]?.reclaim;
  if (!last || last.scannedKswapd + last.scannedDirect === 0) return null;
  const values = samples.flatMap((s) => {
    const r = s.reclaim;
    return [
      { t: s.t, metric: "pages scanned", value: r.scannedKswapd, by: "kswapd" },
      { t: s.t, metric: "pages scanned", value: r.scannedDirect, by: "direct" },
      { t: s.t, metric: "pages reclaimed", value: r.stolenKswapd, by: "kswapd" },
      { t: s.t, metric: "pages reclaimed", value: r.stolenDirect, by: "direct" },
      { t: s.t, metric: "runs and stalls", value: r.kswapdRuns, by: "kswapd" },
      { t: s.t, metric: "runs and stalls", value: r.allocstalls, by: "direct" },
    ];
  });
  const title = "Reclaim: kswapd and direct";
  return {
    file: "reclaim.svg",
    title,
    caption:
      "Cumulative pages reclaim looked at on the inactive lists (pgscan_kswapd, pgscan_direct) and reclaimed " +
      "(pgsteal_kswapd, pgsteal_direct), and how often it ran: kswapd's balance_pgdat() passes (pageoutrun) and " +
      "allocations that stalled in direct reclaim (allocstall_*). Each panel has its own scale.",
    spec: panelsSpec(result, title, values, ["pages scanned", "pages reclaimed", "runs and stalls"], "by", 70, {
      format: "~s",
    }),
  };
}

/** The report's plots for a result, in display order; plots with nothing to show are left out. */
export function chartsFor(result: LabResult): Chart[] {
  const mib = result.machine.pageSize / 2 ** 20;
  const charts: (Chart | null)[] = [
    orderIndexChart(
      result,
      "extfragIndex",
      "extfrag.svg",
      "External fragmentation index per order",
      "debugfs extfrag_index, one row per order over time: -1.000 (blue) means a free block of that order exists; " +
        "between 0 and 1, how much an allocation of that order would fail for fragmentation (toward 1, red) rather " +
        "than for lack of memory (toward 0).",
      [-1, 1],
    ),
    orderIndexChart(
      result,
      "unusableIndex",
      "unusable.svg",
      "Unusable free space index per order",
      "debugfs unusable_index, one row per order over time: the share of free memory in blocks too small for an " +
        "allocation of that order (0.000 to 1.000).",
      [0, 1],
    ),
    byMigratetypeChart(
      result,
      "freePagesByMigratetype",
      "free-pages.svg",
      "Free memory per migratetype",
      "Free memory on each migratetype's free lists (stacked), in MiB.",
      "MiB",
      mib,
    ),
    byMigratetypeChart(
      result,
      "pageblocksByMigratetype",
      "pageblocks.svg",
      "Pageblocks per migratetype",
      "Pageblocks of each type (stacked): unmovable and reclaimable blocks grow when their allocations fall back and claim movable blocks.",
      "pageblocks",
      1,
    ),
    cmaChart(result),
    heapChart(result),
    heapOrdersChart(result),
    failuresChart(result),
    compactionEventsChart(result),
    compactionWorkChart(result),
    memoryUseChart(result),
    reclaimWorkChart(result),
  ];
  return charts.filter((c): c is Chart => c !== null);
}
