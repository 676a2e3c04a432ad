// The summary table printed after all cases.
import { fmtInt, opsCell } from "./format.ts";
import type { CaseResult } from "./harness.ts";

export function printTable(results: readonly CaseResult[]): void {
  const rows: string[][] = [
    [
      "case",
      "wasm ops/s (median ± MAD)",
      "ts ops/s (median ± MAD)",
      "wasm/ts",
      "wasm MB/s",
      "ts MB/s",
      "wasm pages/s",
      "ts pages/s",
      "wasm events/s",
      "ts events/s",
      "limit fraction wasm / ts",
    ],
  ];
  for (const r of results) {
    const ref = Math.min(r.wasm.opsPerSec, r.ts.opsPerSec);
    rows.push([
      r.name,
      opsCell(r.wasm, ref),
      opsCell(r.ts, ref),
      `${(r.wasm.opsPerSec / r.ts.opsPerSec).toFixed(2)}x`,
      r.wasm.mbPerSec === undefined ? "" : fmtInt(r.wasm.mbPerSec),
      r.ts.mbPerSec === undefined ? "" : fmtInt(r.ts.mbPerSec),
      r.wasm.pagesPerSec === undefined ? "" : fmtInt(r.wasm.pagesPerSec),
      r.ts.pagesPerSec === undefined ? "" : fmtInt(r.ts.pagesPerSec),
      r.wasm.eventsPerSec === undefined ? "" : fmtInt(r.wasm.eventsPerSec),
      r.ts.eventsPerSec === undefined ? "" : fmtInt(r.ts.eventsPerSec),
      r.limit === undefined ? "" : `${r.limit.wasm.toFixed(3)} / ${r.limit.ts.toFixed(3)} ${r.limit.key}`,
    ]);
  }
  const header = rows[0]!;
  const keep = header.map((_, col) => rows.some((row, i) => i > 0 && row[col] !== ""));
  const cols = rows.map((row) => row.filter((_, col) => keep[col]));
  const widths = cols[0]!.map((_, col) => Math.max(...cols.map((row) => row[col]!.length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join(" | ")} |`;
  console.log(`\n${line(cols[0]!)}`);
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of cols.slice(1)) console.log(line(row));
  const limited = results.flatMap((r) =>
    r.limit && r.wasm.limit && r.ts.limit ? [{ name: r.name, limit: r.limit, wasm: r.wasm.limit, ts: r.ts.limit }] : [],
  );
  if (limited.length) console.log("");
  for (const { name, limit, wasm, ts } of limited) {
    console.log(
      `${name}: limit: ${limit.name}, fraction ${limit.fraction.toFixed(3)} (${limit.backend}; ` +
        `wasm ${wasm.fraction.toFixed(3)} of ${fmtInt(wasm.bytesPerSec / 1e6)} MB/s, ts ${ts.fraction.toFixed(3)} of ${fmtInt(ts.bytesPerSec / 1e6)} MB/s)`,
    );
  }
}
