/**
 * The HTML of a comparison over seeds (compare's and merge's index.html): the
 * configurations' curves overlaid on shared axes with their seed bands, the
 * figures that differ beyond the seed spread, and every figure's spread.
 */
import { renderSvg } from "./report-charts.ts";
import { overlaySpecs, spreadConfigs, summarySpreads, type SpreadRun, type SummarySpread } from "./spread.ts";

import { formatIndex, INDEX_KEY } from "./index-format.ts";

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A summary figure as tables show it: fragmentation indexes as the kernel prints them (-1.000 … 1.000). */
export function formatFigure(key: string, value: number): string {
  if (INDEX_KEY.test(key)) return formatIndex(value);
  return value.toLocaleString("en-US", { maximumFractionDigits: Number.isInteger(value) ? 0 : 1 });
}

/** The CSS the spread section needs (the page adds its own). */
export const SPREAD_CSS = `
td.above, td.below { background: #fff3c4; font-weight: 600; }
td .mark { color: #b35900; }
tr.differs td:first-child code::before { content: "≠ "; color: #b35900; font-weight: 700; }
td .range { display: block; color: #777; font-size: 85%; font-weight: 400; }
figure.overlay svg { max-width: 100%; height: auto; }
p.note { color: #555; }
`;

function cell(key: string, c: SummarySpread["byConfig"][number] | undefined, withRange: boolean): string {
  if (!c) return `<td class="n">-</td>`;
  const range =
    withRange && c.n > 1 ? `<span class="range">${formatFigure(key, c.min)} – ${formatFigure(key, c.max)}</span>` : "";
  const cls = c.beyond ? ` ${c.beyond}` : "";
  const tip = c.beyond ? ` title="range wholly ${c.beyond} the baseline's"` : "";
  const mark = c.beyond ? `<span class="mark">${c.beyond === "above" ? " ▲" : " ▼"}</span>` : "";
  return `<td class="n${cls}"${tip}>${formatFigure(key, c.mean)}${mark}${range}</td>`;
}

function table(rows: SummarySpread[], configs: string[], withRange: boolean): string {
  const header = `<tr><th>figure</th>${configs.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr${r.differs ? ` class="differs"` : ""} data-key="${escapeHtml(r.key)}"><td><code>${escapeHtml(r.key)}</code></td>` +
        configs
          .map((c) =>
            cell(
              r.key,
              r.byConfig.find((x) => x.config === c),
              withRange,
            ),
          )
          .join("") +
        "</tr>",
    )
    .join("\n");
  return `<table class="spread">${header}\n${body}\n</table>`;
}

/**
 * The section: overlays (when runs kept samples), the differing figures, every
 * figure. Each overlay's Vega-Lite spec is embedded beside its SVG
 * (`<script type="application/json" class="vega-lite">`) for tools and tests.
 */
export async function spreadSection(runs: readonly SpreadRun[]): Promise<string> {
  const configs = spreadConfigs(runs);
  const seedsPer = Math.min(...configs.map((c) => runs.filter((r) => r.config === c).length));
  const spreads = summarySpreads(runs);
  const differing = spreads.filter((s) => s.differs);
  const parts: string[] = [];
  parts.push(
    seedsPer >= 2
      ? `<p class="note">Each configuration ran ${seedsPer === Math.max(...configs.map((c) => runs.filter((r) => r.config === c).length)) ? seedsPer : `at least ${seedsPer}`} seeds. ` +
          `A figure <em>differs beyond the seed spread</em> when some configuration's range over its seeds (lowest to highest) ` +
          `does not overlap the first configuration's (<strong>${escapeHtml(configs[0]!)}</strong>): ▲ wholly above it, ▼ wholly below. ` +
          `Cells show the mean over seeds, and the range below it.</p>`
      : `<p class="note">One seed per configuration: there is no seed spread to judge differences by, so none is marked (compare with <code>--seeds 1-3</code>, or a sweep over seeds).</p>`,
  );
  const overlays = overlaySpecs(runs);
  if (overlays.length > 0) {
    parts.push(`<h2>Over time, all configurations on shared axes</h2>`);
    for (const { curve, spec } of overlays) {
      const svg = await renderSvg(spec);
      parts.push(
        `<figure class="overlay" data-curve="${curve.id}">${svg.replace(/^<\?xml[^>]*>\s*/, "")}</figure>\n` +
          `<script type="application/json" class="vega-lite" data-curve="${curve.id}">${JSON.stringify(spec).replace(/</g, "\\u003c")}</script>`,
      );
    }
  } else {
    parts.push(
      `<p class="note">No curves: the runs kept no samples (a sweep keeps them with <code>--full</code>).</p>`,
    );
  }
  if (seedsPer >= 2) {
    parts.push(`<h2>Figures that differ beyond the seed spread (${differing.length})</h2>`);
    parts.push(
      differing.length > 0
        ? table(differing, configs, true)
        : `<p>None: every configuration's seed range overlaps the baseline's on every figure.</p>`,
    );
  }
  parts.push(`<h2>Every figure${seedsPer >= 2 ? ", mean and range over seeds" : ""}</h2>`);
  parts.push(table(spreads, configs, seedsPer >= 2));
  return parts.join("\n");
}

/** A whole page around spreadSection(): compare's and merge's index.html. */
export async function spreadPage(
  title: string,
  introHtml: string,
  runs: readonly SpreadRun[],
  outroHtml = "",
): Promise<string> {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
code { background: #f4f4f4; padding: 0 3px; }
${SPREAD_CSS}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${introHtml}
${await spreadSection(runs)}
${outroHtml}
</body>
</html>
`;
}
