/**
 * The report directory of a Lab run or replay:
 *
 *   index.html      self-contained page (inline CSS, relative images, no script, no CDN)
 *   result.json     the LabResult, as `--json` prints it
 *   *.svg           plots rendered headless by vega-lite/vega (report-charts.ts)
 *   map-N.svg       the memory map at several moments (report-map.ts)
 *
 * The page opens offline from the file system.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chartsFor, renderSvg } from "./report-charts.ts";
import { memoryMapSvg } from "./report-map.ts";
import { formatIndex, INDEX_KEY } from "./index-format.ts";
import { DmaSimError } from "../core/errors.ts";
import { readJsonFile, validateIn } from "./json-file.ts";
import type { LabResult } from "./result.ts";
import { resultInFile, validateScenario, type Op, type Scenario } from "./scenario.ts";
import { scaleScenario } from "./scale.ts";

export interface ReportOptions {
  /** The scenario that was run, shown as a table of phases and devices. Default: not shown. */
  scenario?: Scenario;
  /**
   * Write into a directory that holds files but no dmasim report (see
   * prepareOutputDir()), overwriting the files of the same names. Default false:
   * such a directory is refused with EEXIST.
   */
  force?: boolean;
}

/** What writeReport() wrote. */
export interface ReportFiles {
  dir: string;
  /** Paths relative to `dir`, index.html first. */
  files: string[];
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/** Summary keys of fragmentation indexes, kept in thousandths and shown as the kernel prints them (-1.000, 0.467). */

function formatNumber(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : String(n);
}

/** The stylesheet of the Lab's report pages (also the twin's, twin/report.ts). */
export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; }
.summary { columns: 2 420px; }
.summary table { width: 100%; break-inside: avoid; margin-bottom: 1em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; max-width: 760px; }
.maps { display: flex; flex-wrap: wrap; gap: 1em; }
.maps figure { margin: 0; width: calc(50% - .5em); min-width: 360px; }
.maps img { width: 100%; }
code { background: #f4f4f4; padding: 0 3px; }
footer { margin-top: 3em; color: #777; font-size: .9em; }
`;

function kvTable(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join("")}</table>`;
}

/** Summary entries grouped by their first dotted segment ("alloc", "cma", "device", "end", …). */
function summaryTables(summary: Record<string, number>): string {
  const groups = new Map<string, [string, number][]>();
  for (const [key, value] of Object.entries(summary)) {
    const dot = key.indexOf(".");
    const group = dot < 0 ? "counters" : key.slice(0, dot);
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group)!.push([key, value]);
  }
  const tables = [...groups].map(
    ([group, rows]) =>
      `<table><tr><th colspan="2">${escapeHtml(group)}</th></tr>` +
      rows
        .map(
          ([k, v]) =>
            `<tr><td><code>${escapeHtml(k)}</code></td><td class="n">${INDEX_KEY.test(k) ? formatIndex(v) : formatNumber(v)}</td></tr>`,
        )
        .join("") +
      `</table>`,
  );
  return `<div class="summary">${tables.join("\n")}</div>`;
}

function describeOp(op: Op): string {
  const hold = (h: { min: number; max: number } | null): string =>
    h === null ? "" : `, held ${h.min === h.max ? h.min : `${h.min}–${h.max}`} ops`;
  switch (op.kind) {
    case "alloc": {
      const orders = op.orders
        .map((w, o) => (w > 0 ? `${o}:${w}` : ""))
        .filter(Boolean)
        .join(" ");
      return `alloc ${op.migratetype} orders {${orders}}${op.label ? ` “${op.label}”` : ""}${hold(op.hold)}`;
    }
    case "free":
      return `free ${op.policy}${op.migratetype ? ` ${op.migratetype}` : ""}`;
    case "cma":
      return `cma_alloc ${op.count} pages from ${op.area}, align order ${op.alignOrder}${hold(op.hold)}`;
    case "pin":
      return `${op.longterm ? "long-term " : ""}pin${hold(op.hold)}`;
    case "unpin":
      return "unpin";
    case "contig":
      return `alloc_contig_range ${op.count} pages${hold(op.hold)}`;
    case "heap": {
      const total = op.sizeWeights.reduce((a, b) => a + b, 0);
      const sizes = op.sizes
        .map((b, i) =>
          op.sizes.length === 1 ? formatBytes(b) : `${formatBytes(b)}:${share(op.sizeWeights[i]!, total)}`,
        )
        .join(" ");
      const cpu = op.touch ? ", mmap + touch" : op.mmap ? ", mmap" : "";
      const imports = op.imports.length === 0 ? "" : `, imported by ${op.imports.map((i) => i.device).join(" + ")}`;
      return `${op.process}: /dev/dma_heap/${op.heap} {${sizes}}${cpu}${imports}${hold(op.hold)}`;
    }
    case "read":
    case "write": {
      const pages = op.pages.min === op.pages.max ? `${op.pages.min}` : `${op.pages.min}–${op.pages.max}`;
      return `${op.kind} ${pages} pages of ${op.file}, ${op.pattern}`;
    }
    case "fsync":
      return op.file === null ? "sync (every file)" : `fsync ${op.file}`;
    case "truncate":
      return `truncate ${op.file}`;
  }
}

/** A weight's share of its phase, with two significant digits below 1%. */
function share(weight: number, total: number): string {
  const pct = (weight * 100) / total;
  return pct > 0 && pct < 1 ? `${pct.toPrecision(2)}%` : `${Math.round(pct * 10) / 10}%`;
}

function scenarioSection(scenario: Scenario): string {
  const phases = scenario.phases.map((p) => {
    const total = p.mix.reduce((s, o) => s + o.weight, 0);
    const mix = p.mix.map((o) => `${share(o.weight, total)} ${escapeHtml(describeOp(o))}`).join("<br>");
    return `<tr><td>${escapeHtml(p.name)}</td><td class="n">${formatNumber(p.ops)}</td><td>${mix}</td></tr>`;
  });
  let html = `<h2>Scenario</h2><table><tr><th>phase</th><th>operations</th><th>mix</th></tr>${phases.join("")}</table>`;
  const consumers = scenario.devices.filter((d) => d.kind === "cma-consumer");
  if (consumers.length > 0) {
    const rows = consumers.map(
      (d) =>
        `<tr><td>${escapeHtml(d.name)}</td><td>${escapeHtml(d.kind)}</td><td>${escapeHtml(d.area)}</td>` +
        `<td>${d.buffers} × ${formatBytes(d.framePages * scenario.machine.pageSize)} (${d.framePages} pages), align order ${d.alignOrder}</td>` +
        `<td>every ${formatNumber(d.periodOps)} ops from op ${formatNumber(d.startOps)}, held ${d.holdOps.min}–${d.holdOps.max} ops</td></tr>`,
    );
    html += `<h3>Devices</h3><table><tr><th>device</th><th>kind</th><th>area</th><th>buffers</th><th>schedule</th></tr>${rows.join("")}</table>`;
  }
  const importers = scenario.devices.filter((d) => d.kind === "importer");
  if (importers.length > 0) {
    const rows = importers.map(
      (d) =>
        `<tr><td>${escapeHtml(d.name)}</td><td>${d.dmaMask} bits</td>` +
        `<td>${d.iommu ? `IOMMU, ${formatBytes(d.iommu.bytes)} of IOVA from 0x${d.iommu.base.toString(16)}` : "direct"}</td>` +
        `<td>${formatBytes(d.maxSegmentBytes)}</td><td>${d.contiguous ? "yes" : "no"}</td></tr>`,
    );
    html += `<h3>Importers</h3><table><tr><th>device</th><th>DMA mask</th><th>mapping</th><th>max segment</th><th>needs contiguous</th></tr>${rows.join("")}</table>`;
  }
  if (scenario.processes.length > 0) {
    const users = (p: string) =>
      scenario.areas.filter((a) => !a.heapUsers || a.heapUsers.includes(p)).map((a) => a.name);
    const rows = scenario.processes.map(
      (p) =>
        `<tr><td>${escapeHtml(p.name)}</td><td>${p.dmabufLimitBytes === null ? "none" : formatBytes(p.dmabufLimitBytes)}</td>` +
        `<td>${escapeHtml(["system", ...users(p.name)].join(", "))}</td></tr>`,
    );
    html += `<h3>Processes</h3><table><tr><th>process</th><th>dma-buf limit</th><th>heaps it may open</th></tr>${rows.join("")}</table>`;
  }
  if (scenario.files.length > 0) {
    const rows = scenario.files.map(
      (f) =>
        `<tr><td>${escapeHtml(f.name)}</td><td class="n">${formatBytes(f.pages * scenario.machine.pageSize)}</td>` +
        `<td class="n">${formatNumber(f.pages)}</td></tr>`,
    );
    html += `<h3>Files</h3><table><tr><th>file</th><th>size</th><th>pages</th></tr>${rows.join("")}</table>`;
  }
  return html;
}

function recordTable(title: string, rec: Record<string, number> | undefined): string {
  if (!rec || Object.keys(rec).length === 0) return "";
  return `<h3>${escapeHtml(title)}</h3>` + kvTable(Object.entries(rec).map(([k, v]) => [k, formatNumber(v)]));
}

/**
 * Reads a result file (a report's result.json, `run --json` or `replay --json`
 * output, or a sweep job file kept with `--full`) for writeReport(): the result,
 * and for a run the scenario as it ran (scaled), which the report describes.
 */
export function loadResult(file: string): { result: LabResult; scenario?: Scenario } {
  const json = readJsonFile(file, "result file");
  const found = resultInFile(json);
  if (found === null) throw new DmaSimError("EINVAL", `${file}: not a dmasim result (result.json of a run or replay)`);
  const result = found as unknown as LabResult;
  if (typeof result.resultFormat !== "number")
    throw new DmaSimError(
      "EINVAL",
      `${file}: a result of an older dmasim, without its scenario and format version; run it again to render it`,
    );
  if (!Array.isArray(result.samples) || !Array.isArray(result.maps) || typeof result.machine !== "object")
    throw new DmaSimError("EINVAL", `${file}: a result without samples, maps or machine`);
  if (result.kind !== "run" || result.scenario === undefined) return { result };
  const scenario = validateIn(file, () => validateScenario(result.scenario, "result.scenario"));
  return { result, scenario: scaleScenario(scenario, result.scale ?? 1) };
}

/** The files a report directory owns: a later report into the same directory removes them first. */
const REPORT_FILE = /^(index\.html|result\.json|[A-Za-z0-9_-]+\.svg)$/;

/** Whether `dir` holds a dmasim report: a result.json of a run or replay. */
export function isReportDir(dir: string): boolean {
  try {
    return resultInFile(JSON.parse(readFileSync(join(dir, "result.json"), "utf8"))) !== null;
  } catch {
    return false;
  }
}

/**
 * Makes `dir` ready for a fresh report of some kind: created when missing; when
 * it holds an earlier report of that kind (`isOurs`), the files such a report
 * owns (`owned`) are removed, so none of the earlier run's files stays behind
 * (other files are left alone); when it holds files but no such report, it is
 * refused with EEXIST unless `force`, and then nothing is removed. With `check`,
 * only the refusal happens (nothing is created or removed): to fail before the work.
 */
export function prepareOutputDir(
  dir: string,
  kind: { what: string; isOurs: (dir: string) => boolean; owned: (name: string, path: string) => boolean },
  force = false,
  check = false,
): void {
  if (!existsSync(dir)) {
    if (!check) mkdirSync(dir, { recursive: true });
    return;
  }
  if (!statSync(dir).isDirectory()) throw new DmaSimError("EEXIST", `${dir} exists and is not a directory`);
  const names = readdirSync(dir).sort();
  if (names.length === 0) return;
  if (!kind.isOurs(dir)) {
    if (force) return;
    const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? ", …" : "");
    throw new DmaSimError(
      "EEXIST",
      `${dir} holds files (${shown}) but no ${kind.what}: choose another --out, or add --force to write into it`,
    );
  }
  if (check) return;
  for (const name of names) {
    const path = join(dir, name);
    if (kind.owned(name, path)) rmSync(path, { recursive: true, force: true });
  }
}

/** prepareOutputDir() for a run's or a replay's report (`check`: only whether it would be refused). */
export function prepareReportDir(dir: string, force = false, check = false): void {
  prepareOutputDir(
    dir,
    {
      what: "dmasim report",
      isOurs: isReportDir,
      owned: (name, path) => REPORT_FILE.test(name) && statSync(path).isFile(),
    },
    force,
    check,
  );
}

/**
 * Writes the report for `result` into `dir`: created if needed; an earlier
 * report there is replaced (its files removed first); a directory holding other
 * files but no report is refused unless `options.force` (prepareReportDir()).
 */
export async function writeReport(result: LabResult, dir: string, options: ReportOptions = {}): Promise<ReportFiles> {
  prepareReportDir(dir, options.force);
  const files: string[] = ["index.html", "result.json"];
  writeFileSync(join(dir, "result.json"), JSON.stringify(result, null, 2) + "\n");

  const charts = chartsFor(result);
  for (const chart of charts) {
    writeFileSync(join(dir, chart.file), await renderSvg(chart.spec));
    files.push(chart.file);
  }
  const mapFiles = result.maps.map((map, i) => {
    const file = `map-${i}.svg`;
    writeFileSync(join(dir, file), memoryMapSvg(map, { pageSize: result.machine.pageSize }));
    files.push(file);
    return file;
  });

  const m = result.machine;
  const scenario = options.scenario;
  const areas =
    m.cma.map((a) => `${escapeHtml(a.name)}: ${formatBytes(a.count * m.pageSize)} at pfn ${a.basePfn}`).join("<br>") ||
    "none";
  const meta = kvTable([
    [result.kind === "replay" ? "trace" : "scenario", escapeHtml(result.name)],
    ["seed", result.seed === null ? "—" : String(result.seed)],
    ["backend", escapeHtml(result.backend)],
    [
      "RAM",
      `${formatBytes(m.ramBytes)} (${formatNumber(m.ramBytes / m.pageSize)} pages of ${formatBytes(m.pageSize)})`,
    ],
    [
      "orders",
      `MAX_PAGE_ORDER ${m.maxOrder}, pageblock order ${m.pageblockOrder} (${formatBytes(m.pageSize * 2 ** m.pageblockOrder)})`,
    ],
    ["CMA areas", areas],
    ["wall time", `${formatNumber(result.timing.wallMs)} ms`],
    ["state hash", `<code>${escapeHtml(result.stateHash)}</code>`],
  ]);
  const chartHtml = charts
    .map(
      (c) =>
        `<figure><img src="${c.file}" alt="${escapeHtml(c.title)}"><figcaption>${escapeHtml(c.caption)}</figcaption></figure>`,
    )
    .join("\n");
  const noFailures = charts.some((c) => c.file === "failures.svg")
    ? ""
    : "<p>No buddy allocation failed during the run.</p>";
  const mapHtml = result.maps
    .map((map, i) => `<figure><img src="${mapFiles[i]}" alt="memory map: ${escapeHtml(map.label)}"></figure>`)
    .join("\n");
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dmasim Fragmentation Lab: ${escapeHtml(result.name)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<h1>Fragmentation Lab: ${escapeHtml(result.name)}</h1>
<p class="lead">${escapeHtml(scenario?.description ?? (result.kind === "replay" ? "replay of a kernel trace" : ""))}</p>
${meta}
<h2>Summary</h2>
${summaryTables(result.summary)}
${recordTable("Trace events", result.events ? { parsed: result.events.parsed, skipped: result.events.skipped, ...result.events.byType } : undefined)}
${recordTable("Skipped events", result.events?.skippedReasons)}
${recordTable("Replayed requests", result.replay)}
<h2>Over time</h2>
${chartHtml}
${noFailures}
<h2>Physical memory map</h2>
<p>One cell per pageblock in physical order, coloured by its migratetype and shaded by occupancy (1 − free pages / pages per pageblock): pale cells are mostly free.</p>
<div class="maps">
${mapHtml}
</div>
${scenario ? scenarioSection(scenario) : ""}
<footer>Made by dmasim's Fragmentation Lab. The data is in <a href="result.json">result.json</a>; everything but <code>timing</code> and <code>backend</code> is the same on every run of the same ${result.kind === "replay" ? "trace" : "scenario and seed"}, on either backend.</footer>
</body>
</html>
`;
  writeFileSync(join(dir, "index.html"), html);
  return { dir, files };
}
