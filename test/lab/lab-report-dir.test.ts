import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadScenario, runScenario, writeReport } from "dmasim/lab";

// Honest columns, fresh report directories, compare's index, and fragmentation
// indexes shown as the kernel prints them.

const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "dmasim-report-dir-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dmasim(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineError(r: ReturnType<typeof dmasim>, text: string): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(text);
}

describe("columns", () => {
  it("merge --columns: an unknown column is EINVAL naming it and close valid ones; means skip jobs without it", () => {
    writeFileSync(
      join(tmp, "grid.json"),
      JSON.stringify({ scenario: "server", scale: 0.01, axes: { pageblockOrder: [9, 10], seed: [1, 2] } }),
    );
    expect(dmasim("sweep", "--grid", "grid.json", "--out", "runs", "--workers", "1").status).toBe(0);
    const bad = dmasim("merge", "runs", "--columns", "alloc.failed,nosuch.key");
    expectOneLineError(bad, 'dmasim: EINVAL: merge: unknown column "nosuch.key"');
    const typo = dmasim("merge", "runs", "--columns", "alloc.faild");
    expectOneLineError(typo, 'unknown column "alloc.faild" (close: alloc.failed');

    // A column some jobs lack: "-" for them, and the mean is over the jobs that have it.
    const file = join(tmp, "runs", "job-000000.json");
    const job = JSON.parse(readFileSync(file, "utf8"));
    const other = JSON.parse(readFileSync(join(tmp, "runs", "job-000001.json"), "utf8"));
    delete job.result.summary["extfragEvents"];
    writeFileSync(file, JSON.stringify(job));
    const r = dmasim("merge", "runs", "--columns", "extfragEvents,end.extfragIndex.pageblock");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    const means = lines.slice(lines.indexOf("mean over seeds:") + 1);
    const want = other.result.summary["extfragEvents"] as number;
    expect(want).toBeGreaterThan(0);
    expect(lines[3]!.trim()).toMatch(/^0\s+9\s+1\s+-\s+/);
    expect(means[2]!.trim()).toMatch(new RegExp(`^9\\s+2\\s+${want.toLocaleString("en-US")}\\s+-?\\d\\.\\d{3}$`));
    // Fragmentation indexes in the kernel's form, never thousandths.
    expect(r.stdout).not.toMatch(/-1,000|\s-1000\s/);
    expect(r.stdout).toMatch(/\s-?[01]\.\d{3}\n/);
  });

  it("compare --columns: unknown columns are errors; indexes read -1.000 … 1.000", () => {
    writeFileSync(join(tmp, "two.json"), JSON.stringify([{ label: "a" }, { label: "b", cmaFirstBalance: false }]));
    expectOneLineError(
      dmasim("compare", "--scale", "0.01", "--configs", "two.json", "--columns", "end.extfragIndex.pagebock"),
      'compare: unknown column "end.extfragIndex.pagebock" (close: end.extfragIndex.pageblock',
    );
    const r = dmasim(
      "compare",
      "--scale",
      "0.01",
      "--configs",
      "two.json",
      "--columns",
      "alloc.failed,end.extfragIndex.pageblock,end.unusableIndex.pageblock",
    );
    expect(r.status).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^(alloc|end)\./.test(l));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual([
      "alloc.failed",
      "end.extfragIndex.pageblock",
      "end.unusableIndex.pageblock",
    ]);
    for (const row of rows.slice(1)) expect(row).toMatch(/^\S+\s+-?[01]\.\d{3}\s+-?[01]\.\d{3}$/);
  });
});

describe("report directories", () => {
  it("a second run into the same --out leaves none of the first run's files behind", () => {
    expect(dmasim("run", "-s", "camera", "--scale", "0.02", "--out", "rep").status).toBe(0);
    const first = readdirSync(join(tmp, "rep")).sort();
    // What a longer or different earlier run would have left: more maps, another plot; and a file of the user's.
    writeFileSync(join(tmp, "rep", "map-99.svg"), "<svg/>");
    writeFileSync(join(tmp, "rep", "failures.svg"), "<svg/>");
    writeFileSync(join(tmp, "rep", "notes.txt"), "mine");
    mkdirSync(join(tmp, "rep", "sweep"));
    expect(dmasim("run", "-s", "camera", "--scale", "0.02", "--out", "rep").status).toBe(0);
    expect(readdirSync(join(tmp, "rep")).sort()).toEqual([...first, "notes.txt", "sweep"].sort());
  });

  it("a directory that holds files but no report is refused unless --force", async () => {
    mkdirSync(join(tmp, "docs"));
    writeFileSync(join(tmp, "docs", "index.html"), "my page");
    expectOneLineError(
      dmasim("run", "-s", "camera", "--scale", "0.01", "--out", "docs"),
      "dmasim: EEXIST: docs holds files (index.html) but no dmasim report: choose another --out, or add --force",
    );
    expect(readFileSync(join(tmp, "docs", "index.html"), "utf8")).toBe("my page");
    writeFileSync(
      join(tmp, "t.trace"),
      "mm_page_alloc: page=01 pfn=0x100 order=0 migratetype=0 gfp_flags=GFP_KERNEL\n",
    );
    expectOneLineError(dmasim("replay", "t.trace", "--out", "docs"), "EEXIST");
    writeFileSync(join(tmp, "docs", "keep.txt"), "");
    expect(dmasim("run", "-s", "camera", "--scale", "0.01", "--out", "docs", "--force").status).toBe(0);
    expect(readFileSync(join(tmp, "docs", "index.html"), "utf8")).toContain("Fragmentation Lab");
    expect(existsSync(join(tmp, "docs", "keep.txt"))).toBe(true);
    // The API too.
    const result = await runScenario(loadScenario("camera"), { scale: 0.01 });
    mkdirSync(join(tmp, "api"));
    writeFileSync(join(tmp, "api", "x"), "");
    await expect(writeReport(result, join(tmp, "api"))).rejects.toMatchObject({ name: "DmaSimError", code: "EEXIST" });
    await expect(writeReport(result, join(tmp, "api"), { force: true })).resolves.toBeTruthy();
    expect(dmasim("run", "--help").stdout).toContain("--force");
    expect(dmasim("run", "--help").stdout).toContain("The report directory is written fresh");
  });

  it("compare --out writes an index.html linking the per-configuration reports, fresh each time", () => {
    writeFileSync(
      join(tmp, "three.json"),
      JSON.stringify([
        { label: "base" },
        { label: "no balance", cmaFirstBalance: false },
        { label: "ts", backend: "ts" },
      ]),
    );
    const r = dmasim("compare", "--scale", "0.01", "--configs", "three.json", "--out", "cmp");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("reports: cmp/index.html");
    expect(readdirSync(join(tmp, "cmp")).sort()).toEqual([
      "0-base",
      "1-no-balance",
      "2-ts",
      "compare.json",
      "index.html",
    ]);
    const html = readFileSync(join(tmp, "cmp", "index.html"), "utf8");
    for (const d of ["0-base", "1-no-balance", "2-ts"]) {
      expect(html).toContain(`href="${d}/index.html"`);
      expect(html).toContain(`src="${d}/extfrag.svg"`);
      expect(existsSync(join(tmp, "cmp", d, "index.html"))).toBe(true);
    }
    expect(html).toMatch(/<code>end\.extfragIndex\.pageblock<\/code><\/td>(<td class="n">-?[01]\.\d{3}<\/td>){3}/);
    expect(JSON.parse(readFileSync(join(tmp, "cmp", "compare.json"), "utf8")).entries).toHaveLength(3);
    // Another comparison into the same directory: the old configurations' reports go.
    writeFileSync(join(tmp, "cmp", "notes.txt"), "");
    expect(dmasim("compare", "--scale", "0.01", "--configs", "two.json", "--out", "cmp").status).toBe(0);
    expect(readdirSync(join(tmp, "cmp")).sort()).toEqual(["0-a", "1-b", "compare.json", "index.html", "notes.txt"]);
    // A run's report directory is not a comparison's.
    expectOneLineError(dmasim("compare", "--scale", "0.01", "--out", "rep"), "EEXIST: rep holds files");
  });
});

describe("fragmentation indexes in reports", () => {
  it("the summary shows them as -1.000 … 1.000, and extfrag per order is a heatmap", () => {
    const html = readFileSync(join(tmp, "rep", "index.html"), "utf8");
    expect(html).toMatch(/<code>end\.extfragIndex\.pageblock<\/code><\/td><td class="n">-?[01]\.\d{3}<\/td>/);
    expect(html).toMatch(/<code>end\.unusableIndex\.pageblock<\/code><\/td><td class="n">[01]\.\d{3}<\/td>/);
    const svg = readFileSync(join(tmp, "rep", "extfrag.svg"), "utf8");
    expect(svg).toContain('class="mark-rect role-mark');
    expect(svg).not.toContain('class="mark-line');
    expect(svg).toContain("−1.000"); // the legend, in the kernel's form
    const unusable = readFileSync(join(tmp, "rep", "unusable.svg"), "utf8");
    expect(unusable).toContain('class="mark-rect role-mark');
  });
});
