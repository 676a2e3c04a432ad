/**
 * The twin's report: `dmasim twin CAPTURE_DIR --out DIR` writes
 *
 *   twin.json    the TwinResult, as `--json` prints it
 *   index.html   one self-contained page (inline CSS, plots inlined as SVG data
 *                URIs, no script): the capture's layout and the fidelity
 *                section (agreement over time with the phase markers, the
 *                distance per snapshot, agreement per order and migratetype,
 *                the first misses, and the kernel behaviours that explain
 *                where the figures fall short: fidelity.explanations)
 *
 * The plots are vega-lite specs rendered headless by the Lab's renderSvg().
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { renderSvg } from "../report-charts.ts";
import { REPORT_CSS } from "../report.ts";
import type { Agreement, Explanation, FollowMiss, TwinResult } from "./twin.ts";

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "n/a" : `${(100 * x).toFixed(2)}%`;
}

function num(n: number): string {
  return n.toLocaleString("en-US");
}

function table(head: string[], rows: string[][], numeric: boolean[] = []): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map(
    (cells) => `<tr>${cells.map((c, i) => (numeric[i] ? `<td class="n">${c}</td>` : `<td>${c}</td>`)).join("")}</tr>`,
  );
  return `<table><tr>${th}</tr>${tr.join("")}</table>`;
}

/** A plot inlined as an SVG data URI (ids inside each SVG cannot clash with another's). */
async function figure(spec: TopLevelSpec, alt: string, caption: string): Promise<string> {
  const svg = await renderSvg(spec);
  const uri = `data:image/svg+xml;base64,${Buffer.from(svg, "utf8").toString("base64")}`;
  return `<figure><img src="${uri}" alt="${esc(alt)}"><figcaption>${esc(caption)}</figcaption></figure>`;
}

const SPEC_BASE = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  width: 640,
  height: 220,
  background: "white",
  config: { font: "sans-serif", view: { stroke: "#ddd" }, legend: { orient: "right" as const } },
};

/** Follow mode's agreement per window and cumulative, by trace line, with the snapshot and compact_memory markers. */
function timelineSpec(r: TwinResult): TopLevelSpec {
  const points = r.fidelity.follow!.timeline.points.flatMap((p) => [
    { line: p.line, agreement: p.windowAgreed / p.windowDecisions, series: "window", phase: p.phase },
    { line: p.line, agreement: p.agreed / p.decisions, series: "cumulative", phase: p.phase },
  ]);
  const markers = r.trace.markers.map((m) => ({ line: m.line, label: m.label }));
  const x = { field: "line", type: "quantitative" as const, title: "trace line" };
  return {
    ...SPEC_BASE,
    title: "Follow mode: agreement over the replay",
    layer: [
      {
        data: { values: markers },
        mark: { type: "rule", color: "#999", strokeDash: [4, 3] },
        encoding: { x },
      },
      {
        data: { values: markers },
        mark: { type: "text", angle: 270, align: "right", baseline: "bottom", dy: -2, fontSize: 9, color: "#555" },
        encoding: { x, y: { value: 0 }, text: { field: "label" } },
      },
      {
        data: { values: points },
        mark: { type: "line", point: true },
        encoding: {
          x,
          y: {
            field: "agreement",
            type: "quantitative",
            title: "decisions agreed",
            axis: { format: ".1%" },
            scale: { zero: false, domainMax: 1 },
          },
          color: { field: "series", type: "nominal", title: null },
        },
      },
    ],
  } as TopLevelSpec;
}

/** The free-list distance per snapshot, follow mode beside free run. */
function distanceSpec(r: TwinResult): TopLevelSpec {
  const values = [
    ...(r.fidelity.follow?.phases ?? []).map((p) => ({ phase: p.phase, mode: "follow", distance: p.freeListDistance })),
    ...(r.fidelity.freeRun?.phases ?? []).map((p) => ({
      phase: p.phase,
      mode: "free run",
      distance: p.freeListDistance,
    })),
  ];
  return {
    ...SPEC_BASE,
    height: 180,
    title: "Free-list distance per snapshot",
    data: { values },
    mark: "bar",
    encoding: {
      x: { field: "phase", type: "nominal", sort: null, title: "snapshot", axis: { labelAngle: 0 } },
      xOffset: { field: "mode" },
      y: { field: "distance", type: "quantitative", title: "distance", axis: { format: ".1%" } },
      color: { field: "mode", type: "nominal", title: null },
    },
  } as TopLevelSpec;
}

const CAUSE_TITLES: Record<Explanation["cause"], string> = {
  "compaction-free-scanner": "compact_memory: the free scanner's untraced takes",
  "boot-list-order": "list order at the boot snapshot",
  "linux61-lists": "6.1's free-list rules",
};

function noteLinks(causes: Explanation["cause"][]): string {
  return causes.map((c) => `<a href="#${c}">${esc(CAUSE_TITLES[c])}</a>`).join("<br>") || "—";
}

function layoutSection(r: TwinResult): string {
  const c = r.capture;
  const zones = table(
    ["zone", "start pfn", "spanned", "present", "managed"],
    c.zones.map((z) => [esc(z.name), num(z.startPfn), num(z.spannedPages), num(z.presentPages), num(z.managedPages)]),
    [false, true, true, true, true],
  );
  const cma =
    c.cmaLayout.map((a) => `${esc(a.name)}: ${num(a.count)} pages at pfn ${num(a.basePfn)}`).join("<br>") ||
    (c.cmaAreas.length > 0 && !c.cmaConfigured ? "cma= on the command line, no CONFIG_CMA: none" : "none");
  const rows: [string, string][] = [
    ["kernel", `${esc(c.kernelVersion)} (${esc(c.release)})`],
    [
      "rules",
      `dmasim's ${esc(r.machine.kernel)} profile (${r.machine.kernelFrom === "uname" ? "from uname" : "chosen"})`,
    ],
    ["orders", `MAX_PAGE_ORDER ${c.maxOrder}, pageblock order ${c.pageblockOrder}`],
    ["pages", num(r.machine.nrPages)],
    ["CMA areas", cma],
    ["snapshots", c.phases.map(esc).join(", ")],
    [
      "boot load",
      `${num(r.load.freePages)} free and ${num(r.load.heldPages)} held pages; buddyinfo ${r.load.buddyinfoMatches ? "matches" : "differs"}; free-list distance ${r.load.freeListDistance.toFixed(4)}`,
    ],
    ["trace", `${num(r.trace.lines)} lines, ${num(r.trace.afterBoot)} events after the boot snapshot`],
    ["backend", esc(r.machine.backend)],
  ];
  return (
    `<h2>The capture</h2><table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</table>` +
    `<h3>Zones</h3>${zones}`
  );
}

function agreementTable(title: string, key: string, map: Record<string, Agreement>): string {
  const rows = Object.entries(map).map(([k, a]) => [esc(k), num(a.decisions), num(a.agreed), pct(a.agreement)]);
  return `<h3>${esc(title)}</h3>` + table([key, "decisions", "agreed", "agreement"], rows, [false, true, true, true]);
}

function blockCell(b: FollowMiss["kernelBlock"]): string {
  return b === null ? "not free in the twin" : `${esc(b.list)} order-${b.order} block at pfn ${num(b.pfn)}`;
}

/** The phase a trace line falls in: the last snapshot or compact_memory start before it (as TimelinePoint.phase). */
function phaseAt(r: TwinResult, line: number): string {
  let phase = "";
  for (const m of r.trace.markers)
    if (m.line < line && m.label !== "compact_end") phase = m.kind === "compaction" ? "compact_memory" : m.label;
  return phase;
}

function missesTable(r: TwinResult, misses: FollowMiss[]): string {
  if (misses.length === 0) return "<p>Every scored decision named the kernel's block.</p>";
  const rows = misses.map((m) => [
    String(m.line),
    esc(phaseAt(r, m.line)),
    `${esc(m.migratetype)} order ${m.order}${m.percpuRefill ? " (per-cpu refill)" : ""}`,
    `pfn ${num(m.pfn)}, ${blockCell(m.kernelBlock)}`,
    m.dmasim === null ? "nothing (would fail)" : `pfn ${num(m.dmasim.pfn)}, ${blockCell(m.dmasim)}`,
  ]);
  return table(["trace line", "after marker", "request", "kernel's block", "dmasim's pick"], rows, [
    true,
    false,
    false,
    false,
    false,
  ]);
}

function phasesTable(r: TwinResult): string {
  const follow = r.fidelity.follow;
  const freeRun = r.fidelity.freeRun;
  const names = (follow?.phases ?? freeRun?.phases ?? []).map((p) => p.phase);
  if (names.length === 0) return "<p>The capture has no snapshot after the boot one.</p>";
  const rows = names.map((phase) => {
    const f = follow?.phases.find((p) => p.phase === phase);
    const fr = freeRun?.phases.find((p) => p.phase === phase);
    const since = f?.sincePrevious;
    return [
      esc(phase),
      since ? `${pct(since.decisions === 0 ? null : since.agreed / since.decisions)} of ${num(since.decisions)}` : "—",
      f ? f.freeListDistance.toFixed(4) : "—",
      f?.freePfnsDiffering === null || f === undefined ? "—" : num(f.freePfnsDiffering),
      fr ? fr.freeListDistance.toFixed(4) : "—",
      noteLinks([...new Set([...(f?.notes ?? []), ...(fr?.notes ?? [])])]),
    ];
  });
  return table(
    [
      "snapshot",
      "follow: agreement since the previous snapshot",
      "follow: distance",
      "follow: pfns free in one only",
      "free run: distance",
      "explained by",
    ],
    rows,
    [false, true, true, true, true, false],
  );
}

function explanationsSection(r: TwinResult): string {
  const notes = r.fidelity.explanations;
  const head = "<h3>Where the figures fall short</h3>";
  if (notes.length === 0)
    return `${head}<p>No known cause applies: no compact_memory ran after the boot snapshot, no miss took another position on the kernel block's list, and no 6.1 capture ran under another profile's rules.</p>`;
  const items = notes.map(
    (n) =>
      `<li id="${n.cause}"><strong>${esc(CAUSE_TITLES[n.cause])}</strong> ` +
      `(${n.modes.join(", ")}${n.phases.length > 0 ? `; snapshots ${n.phases.map(esc).join(", ")}` : ""}` +
      `${n.misses === null ? "" : `; ${num(n.misses)} follow-mode misses`}). ${esc(n.text)}</li>`,
  );
  return `${head}<ul class="notes">${items.join("")}</ul>`;
}

/** The report page for a twin result. */
export async function twinReportHtml(r: TwinResult): Promise<string> {
  const follow = r.fidelity.follow;
  const freeRun = r.fidelity.freeRun;
  const headline: [string, string][] = [];
  if (follow) {
    headline.push([
      "follow-mode agreement",
      `${pct(follow.agreement)} (${num(follow.agreed)} of ${num(follow.decisions)} buddy-level allocations)`,
    ]);
    headline.push([
      "traced fallbacks, same block",
      `${pct(follow.fallbacks.agreement)} (${num(follow.fallbacks.sameBlock)} of ${num(follow.fallbacks.kernel)})`,
    ]);
    headline.push(["a model of 6.1's free lists", pct(follow.linux61Lists.agreement)]);
    if (follow.cma.decisions > 0)
      headline.push(["cma_alloc() ranges", `${pct(follow.cma.agreement)} of ${num(follow.cma.decisions)}`]);
  }
  if (freeRun)
    headline.push([
      "free-run distance, worst snapshot",
      freeRun.maxDistance === null ? "n/a (no later snapshot)" : freeRun.maxDistance.toFixed(4),
    ]);
  let body = `<table>${headline.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</table>`;
  if (follow && follow.timeline.points.length > 0)
    body += await figure(
      timelineSpec(r),
      "agreement over time",
      `Follow mode's agreement per window of up to ${num(follow.timeline.window)} buddy-level decisions (a snapshot ` +
        `or compact_memory's start ends a window early) and cumulative, at the trace line of each window's last ` +
        `decision. Dashed lines: the snapshots and compact_memory's start and end.`,
    );
  body += "<h3>Distance per snapshot</h3>";
  body += phasesTable(r);
  if ((follow?.phases.length ?? 0) + (freeRun?.phases.length ?? 0) > 0)
    body += await figure(
      distanceSpec(r),
      "free-list distance per snapshot",
      "The L1 distance of free pages per zone, order and migratetype between dmasim's lists and the snapshot's " +
        "pagetypeinfo, over the snapshot's free pages (freeListDistance()): 0 is the kernel's lists exactly.",
    );
  if (follow) {
    body += agreementTable("Agreement per order", "order", follow.byOrder);
    body += agreementTable("Agreement per migratetype", "migratetype", follow.byMigratetype);
    const m = follow.missCauses;
    body +=
      `<p>dmasim's misses: ${num(m.otherListIn61)} picks on another type's list in 6.1, ${num(m.kernelBlockOnOtherList)} ` +
      `kernel blocks on another list in dmasim, ${num(m.otherOrder)} of another order, ${num(m.listOrder)} another ` +
      `position on the same list.</p>`;
    body += `<h3>First decisions that disagreed</h3>${missesTable(r, follow.firstMisses)}`;
  }
  body += explanationsSection(r);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dmasim twin: ${esc(r.capture.dir)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<h1>dmasim twin: ${esc(r.capture.dir)}</h1>
<p class="lead">A replay of a real kernel's capture from its boot snapshot on, on a machine laid out like it.</p>
${layoutSection(r)}
<h2 id="fidelity">Fidelity</h2>
${body}
<footer>Made by <code>dmasim twin</code>. The data is in <a href="twin.json">twin.json</a>; everything but <code>timing</code> and <code>machine.backend</code> is the same on every run of the same capture, on either backend.</footer>
</body>
</html>
`;
}

/** Writes twin.json and index.html into `dir` (created if needed); returns the paths written. */
export async function writeTwinReport(r: TwinResult, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "twin.json");
  writeFileSync(json, JSON.stringify(r, null, 2) + "\n");
  const html = join(dir, "index.html");
  writeFileSync(html, await twinReportHtml(r));
  return [json, html];
}
