/**
 * Terminal output of the Lab CLI: plain-text tables and the short summary of a
 * run. Only ASCII alignment, no colours, so the output pastes anywhere.
 */
import { DmaSimError } from "../core/errors.ts";
import type { LabResult } from "../lab/result.ts";
import { formatIndex, INDEX_KEY } from "../lab/index-format.ts";

/** A summary value for a table: fragmentation indexes in the kernel's form, other numbers as they are. */
export function summaryCell(key: string, value: number | undefined): string | number {
  if (value === undefined) return "-";
  return INDEX_KEY.test(key) ? formatIndex(value) : value;
}

/** Edit distance, for suggesting the columns a typo meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Up to `max` of `known` closest to `name`: those containing it or contained in it, then by edit distance. */
export function closeNames(name: string, known: readonly string[], max = 5): string[] {
  const lower = name.toLowerCase();
  return known
    .map((k) => {
      const kl = k.toLowerCase();
      const d = kl.includes(lower) || lower.includes(kl) ? 0 : distance(lower, kl);
      return { k, d };
    })
    .filter(({ k, d }) => d <= Math.max(3, Math.floor(Math.max(k.length, name.length) / 3)))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map(({ k }) => k);
}

/**
 * `--columns a,b,c`: the keys, each checked against the summary keys the results
 * have. An unknown one is EINVAL naming it and the close valid ones.
 */
export function parseColumns(where: string, wanted: string, known: readonly string[]): string[] {
  const columns = wanted
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  if (columns.length === 0) throw new DmaSimError("EINVAL", `${where}: --columns names no column`);
  const have = new Set(known);
  for (const c of columns) {
    if (have.has(c)) continue;
    const close = closeNames(c, known);
    throw new DmaSimError(
      "EINVAL",
      `${where}: unknown column "${c}" (${close.length > 0 ? `close: ${close.join(", ")}` : "no close match"}; ` +
        `the ${known.length} columns are the summary keys, as --json prints them)`,
    );
  }
  return columns;
}

/** Right-aligns numbers, left-aligns text; the first row is the header, underlined. */
export function formatTable(rows: (string | number)[][], options: { header?: boolean } = {}): string {
  const header = options.header ?? true;
  const cells = rows.map((row) => row.map((c) => (typeof c === "number" ? formatNumber(c) : c)));
  const numeric = rows.map((row) => row.map((c) => typeof c === "number" || /^(-?[\d,.]+%?|-)$/.test(String(c))));
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const lines = cells.map((row, r) =>
    row
      .map((c, i) => (numeric[r]![i] && (r > 0 || !header) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
  if (header && lines.length > 0) lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return lines.join("\n") + "\n";
}

export function formatNumber(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/** A percentage with one decimal, or two significant digits below 1% so small rates do not read as 0. */
export function formatPct(part: number, whole: number): string {
  const pct = (part * 100) / whole;
  return pct > 0 && pct < 1 ? `${pct.toPrecision(2)}%` : `${Math.round(pct * 10) / 10}%`;
}

function ratio(part: number, whole: number): string {
  return whole === 0 ? "-" : `${formatNumber(part)} of ${formatNumber(whole)} (${formatPct(part, whole)})`;
}

/** The headline of a result: what ran, on what, how long. */
export function headline(result: LabResult): string {
  const m = result.machine;
  const areas = m.cma.map((a) => `CMA "${a.name}" ${formatBytes(a.count * m.pageSize)}`).join(", ");
  const what = result.kind === "run" ? `scenario ${result.name}, seed ${result.seed}` : `trace ${result.name}`;
  const ops = result.summary.ops !== undefined ? `${formatNumber(result.summary.ops)} operations ` : "";
  return (
    `${what}, ${result.backend} backend: ${formatBytes(m.ramBytes)} RAM${areas ? `, ${areas}` : ""}; ` +
    `${ops}in ${(result.timing.wallMs / 1000).toFixed(2)} s`
  );
}

/** The short summary table printed at the end of `dmasim run`. */
export function runSummaryRows(result: LabResult): [string, string][] {
  const s = result.summary;
  const get = (k: string) => s[k] ?? 0;
  const rows: [string, string][] = [];
  rows.push(["allocations failed", ratio(get("alloc.failed"), get("alloc.requests"))]);
  const failedOrders = Object.keys(s)
    .map((k) => /^alloc\.order(\d+)\.failed$/.exec(k))
    .filter((m) => m && get(m[0]) > 0);
  for (const m of failedOrders) rows.push([`  order ${m![1]}`, ratio(get(m![0]), get(`alloc.order${m![1]}.requests`))]);
  for (const k of Object.keys(s)) {
    const m = /^alloc\.([a-z][\w-]*)\.requests$/i.exec(k);
    if (m && !/^order\d+$/.test(m[1]!)) rows.push([`  ${m[1]} failed`, ratio(get(`alloc.${m[1]}.failed`), get(k))]);
  }
  for (const a of result.machine.cma) {
    const p = `cma.${a.name}`;
    if (s[`${p}.allocs`] === undefined) continue;
    rows.push([`CMA "${a.name}" allocations ok`, ratio(get(`${p}.allocs`) - get(`${p}.failed`), get(`${p}.allocs`))]);
    rows.push([
      `  pages migrated`,
      `${formatNumber(get(`${p}.pagesMigrated`))} (${formatNumber(get(`${p}.migratedPerAlloc`))} per allocation)`,
    ]);
    rows.push([`  busy retries`, formatNumber(get(`${p}.busyRetries`))]);
  }
  for (const k of Object.keys(s)) {
    const m = /^device\.([^.]+)\.sessions$/.exec(k);
    if (m) {
      const d = `device.${m[1]}`;
      rows.push([
        `device "${m[1]}"`,
        `${formatNumber(get(k))} sessions, frames failed: ${ratio(get(`${d}.frames.failed`), get(`${d}.frames`))}`,
      ]);
    }
  }
  if (s["heap.requests"] !== undefined) {
    rows.push([
      "dma-buf heap allocations failed",
      `${ratio(get("heap.failed"), get("heap.requests"))}; no memory ${get("heap.failed.nomem")}, over a limit ${get("heap.failed.limit")}`,
    ]);
    for (const k of Object.keys(s)) {
      const m = /^heap\.([^.]+)\.requests$/.exec(k);
      if (!m) continue;
      const h = `heap.${m[1]}`;
      const orders =
        s[`${h}.order8`] !== undefined
          ? `; blocks of order 8/4/0: ${formatNumber(get(`${h}.order8`))}/${formatNumber(get(`${h}.order4`))}/${formatNumber(get(`${h}.order0`))}, order-8 hit ${get(`${h}.order8HitPct`)}%`
          : "";
      rows.push([`  heap "${m[1]}" ok`, `${ratio(get(k) - get(`${h}.failed`), get(k))}${orders}`]);
    }
    for (const k of Object.keys(s)) {
      const m = /^process\.([^.]+)\.peakBytes$/.exec(k);
      if (m)
        rows.push([
          `  process "${m[1]}" peak`,
          `${formatNumber(Math.round(get(k) / 1048576))} MiB, over limit ${get(`process.${m[1]}.overLimit`)}`,
        ]);
    }
  }
  if (s["contig.requests"] !== undefined) {
    rows.push([
      "alloc_contig_range ok",
      `${ratio(get("contig.ok"), get("contig.requests"))}; -EBUSY ${get("contig.ebusy")}, -ENOMEM ${get("contig.enomem")}`,
    ]);
  }
  if (s.pin !== undefined)
    rows.push(["pins (failed)", `${formatNumber(get("pin"))} (${formatNumber(get("pin.failed"))})`]);
  rows.push([
    "pages migrated (failed)",
    `${formatNumber(get("pgmigrateSuccess"))} (${formatNumber(get("pgmigrateFail"))})`,
  ]);
  rows.push([
    "fallbacks (claimed a pageblock)",
    `${formatNumber(get("extfragEvents"))} (${formatNumber(get("extfragClaimed"))})`,
  ]);
  const pbo = result.machine.pageblockOrder;
  if (s["end.freePct"] !== undefined) rows.push(["free at the end", `${get("end.freePct")}%`]);
  const ext = s["end.extfragIndex.pageblock"];
  const unu = s["end.unusableIndex.pageblock"];
  if (ext !== undefined && unu !== undefined) {
    rows.push([
      `order-${pbo} extfrag / unusable index`,
      `${formatIndex(ext)} / ${formatIndex(unu)}` +
        (s["end.freePageblocks"] !== undefined ? `; ${formatNumber(s["end.freePageblocks"])} free pageblocks` : ""),
    ]);
  }
  const blocks = Object.keys(s)
    .filter((k) => k.startsWith("end.pageblocks."))
    .map((k) => `${k.slice(15)} ${s[k]}`);
  if (blocks.length > 0) rows.push(["pageblocks at the end", blocks.join(", ")]);
  return rows;
}

/** Every summary entry, for results whose keys the short table does not know (replays). */
export function allSummaryRows(result: LabResult): [string, string][] {
  return Object.entries(result.summary).map(([k, v]) => [k, formatNumber(v)]);
}
