import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { summarySpreads, type SpreadRun } from "dmasim/lab";

const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-spread-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dmasim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The Vega-Lite spec the page embeds for a curve. */
function embeddedSpec(html: string, curve: string): any {
  const m = new RegExp(`<script type="application/json" class="vega-lite" data-curve="${curve}">(.*?)</script>`).exec(
    html,
  );
  expect(m, `spec of ${curve}`).not.toBeNull();
  return JSON.parse(m![1]!);
}

/** The rows of the page's first table of class "spread" after `heading`, by data-key. */
function rowsAfter(html: string, heading: string): Map<string, string> {
  const at = html.indexOf(heading);
  expect(at, heading).toBeGreaterThan(-1);
  const table = html.slice(at, html.indexOf("</table>", at));
  return new Map([...table.matchAll(/<tr([^>]*) data-key="([^"]+)">(.*?)<\/tr>/g)].map((m) => [m[2]!, m[1]! + m[3]!]));
}

describe("summarySpreads(): what differs beyond the seed spread", () => {
  const run = (config: string, seed: number, x: number, y: number): SpreadRun => ({
    config,
    seed,
    summary: { x, y },
  });

  it("marks a configuration whose seed range leaves the baseline's, above or below; touching ranges overlap", () => {
    const runs = [
      run("base", 1, 10, 5),
      run("base", 2, 12, 7),
      run("high", 1, 13, 7), // x: [13, 14] above [10, 12]; y: [7, 9] touches [5, 7] at 7: overlaps
      run("high", 2, 14, 9),
      run("low", 1, 8, 6), // x: [8, 9.5] below; y: [6, 6] inside
      run("low", 2, 9.5, 6),
    ];
    const [x, y] = summarySpreads(runs);
    expect(x).toEqual({
      key: "x",
      differs: true,
      byConfig: [
        { config: "base", n: 2, min: 10, max: 12, mean: 11, beyond: null },
        { config: "high", n: 2, min: 13, max: 14, mean: 13.5, beyond: "above" },
        { config: "low", n: 2, min: 8, max: 9.5, mean: 8.75, beyond: "below" },
      ],
    });
    expect(y!.differs).toBe(false);
    expect(y!.byConfig.map((c) => c.beyond)).toEqual([null, null, null]);
  });

  it("with one seed per configuration there is no spread to judge by: nothing is marked", () => {
    const [x] = summarySpreads([run("a", 1, 1, 0), run("b", 1, 100, 0)]);
    expect(x!.differs).toBe(false);
    expect(x!.byConfig.map((c) => [c.min, c.max])).toEqual([
      [1, 1],
      [100, 100],
    ]);
  });
});

describe("compare --seeds and merge --report: curves with seed bands, differences beyond the spread", () => {
  it("compare of 2 configurations × 3 seeds: bands per configuration, compaction's work highlighted, the workload not", () => {
    writeFileSync(
      join(tmp, "configs.json"),
      JSON.stringify([{ label: "baseline" }, { label: "no compaction", compaction: false }]),
    );
    const r = dmasim("compare", "--scale", "0.25", "--seeds", "1-3", "--configs", "configs.json", "--out", "cmp");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The table: means and ranges; compaction's scanning differs (▼: without compaction it is 0 on every seed).
    expect(r.stdout).toContain("seeds 1, 2, 3");
    expect(r.stdout).toMatch(/≠ compactMigrateScanned .* 0 \(0\.\.0\) ▼/);
    expect(r.stdout).toMatch(/\nalloc\.requests /); // not marked: the same workload draws per seed
    const compare = JSON.parse(readFileSync(join(tmp, "cmp", "compare.json"), "utf8"));
    expect(compare.seeds).toEqual([1, 2, 3]);
    expect(compare.entries.map((e: any) => e.runs.map((x: any) => x.seed))).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    const html = readFileSync(join(tmp, "cmp", "index.html"), "utf8");

    // Every curve overlays both configurations on shared axes: an area from min to max, a line through the mean.
    for (const curve of ["free", "kernel-pageblocks", "migrated", "alloc-failures", "extfrag"]) {
      const spec = embeddedSpec(html, curve);
      expect(spec.layer[0].mark.type).toBe("area");
      expect(spec.layer[0].encoding.y.field).toBe("min");
      expect(spec.layer[0].encoding.y2.field).toBe("max");
      expect(spec.layer[1].mark.type).toBe("line");
      expect(spec.layer[1].encoding.y.field).toBe("mean");
      expect(spec.encoding.color.scale.domain).toEqual(["baseline", "no compaction"]);
      const values = spec.data.values as { config: string; t: number; min: number; max: number; mean: number }[];
      // 200 samples and the one at the start, per configuration.
      expect(values.filter((v) => v.config === "baseline")).toHaveLength(201);
      expect(values.filter((v) => v.config === "no compaction")).toHaveLength(201);
      for (const v of values) expect(v.min <= v.mean && v.mean <= v.max, `${curve} ${JSON.stringify(v)}`).toBe(true);
    }
    // The seeds spread: somewhere the free-memory band has width.
    expect(embeddedSpec(html, "free").data.values.some((v: any) => v.max > v.min)).toBe(true);
    expect(html.match(/<figure class="overlay"/g)).toHaveLength(5);
    expect(html).toContain("<svg");

    // The figures that differ: compaction's work is in the table, marked below the baseline; the workload is not.
    const differing = rowsAfter(html, "Figures that differ beyond the seed spread");
    expect(differing.get("compactMigrateScanned")).toMatch(/class="differs"/);
    expect(differing.get("compactMigrateScanned")).toMatch(/<td class="n below"[^>]*>0<span class="mark"> ▼<\/span>/);
    expect(differing.has("alloc.requests")).toBe(false);
    const every = rowsAfter(html, "Every figure");
    expect(every.get("alloc.requests")).not.toMatch(/differs/);
    expect(every.get("compactMigrateScanned")).toMatch(/differs/);
    expect(html).toContain("does not overlap the first configuration's");
  });

  it("merge --report groups a sweep's jobs by every axis but the seed", () => {
    writeFileSync(
      join(tmp, "grid.json"),
      JSON.stringify({ scenario: "camera", scale: 0.25, axes: { seed: [1, 2, 3], compaction: [true, false] } }),
    );
    expect(dmasim("sweep", "--grid", "grid.json", "--out", "runs", "--workers", "1", "--full").status).toBe(0);
    const r = dmasim("merge", "runs", "--report", "sweep");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("report: sweep/index.html");
    const html = readFileSync(join(tmp, "sweep", "index.html"), "utf8");
    expect(embeddedSpec(html, "free").encoding.color.scale.domain).toEqual(["compaction=true", "compaction=false"]);
    const differing = rowsAfter(html, "Figures that differ beyond the seed spread");
    expect(differing.get("compactMigrateScanned")).toMatch(/below/);
    expect(differing.has("alloc.requests")).toBe(false);
    // Written fresh: a second merge into the same directory is fine; a foreign directory is refused.
    expect(dmasim("merge", "runs", "--report", "sweep").status).toBe(0);
    writeFileSync(join(tmp, "mine.txt"), "x");
    const refused = dmasim("merge", "runs", "--report", ".");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("but no merge report (sweep.json)");
  });
});
