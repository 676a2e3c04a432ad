import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI without a terminal (so no progress bar) and returns its exit code and output. */
function dmasim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A one-line error: exit code 1, one line on stderr naming the problem, no stack trace. */
function expectOneLineError(r: ReturnType<typeof dmasim>, text: string): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(text);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("the dmasim CLI", () => {
  it("run --json prints one LabResult on stdout and nothing else", () => {
    const r = dmasim("run", "--scenario", "camera", "--scale", "0.25", "--seed", "3", "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ kind: "run", name: "camera", seed: 3, backend: "wasm" });
    expect(result.summary.ops).toBe(65000); // 260,000 × 0.25
    expect(existsSync(join(tmp, "report"))).toBe(false); // --json writes a report only when --out is given
    const ts = dmasim("run", "--scenario", "camera", "--scale", "0.25", "--seed", "3", "--json", "--backend", "ts");
    const { timing: _a, backend: _b, ...wasmRest } = result;
    const { timing: _c, backend: _d, ...tsRest } = JSON.parse(ts.stdout);
    expect(JSON.stringify(tsRest)).toBe(JSON.stringify(wasmRest));
  });

  it("run prints a summary and writes the report", () => {
    const r = dmasim("run", "-s", "server", "--scale", "0.25", "--out", "rep");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("scenario server, seed 1, wasm backend: 128 MiB RAM");
    expect(r.stdout).toContain("allocations failed");
    expect(r.stdout).toContain("report: rep/index.html");
    expect(existsSync(join(tmp, "rep", "index.html"))).toBe(true);
    expect(existsSync(join(tmp, "rep", "map-0.svg"))).toBe(true);
  });

  it("fails with one line and exit code 1 on bad input", () => {
    writeFileSync(
      join(tmp, "bad.json"),
      JSON.stringify({
        name: "bad",
        phases: [{ name: "a", ops: 10, mix: { alloc: { weight: 1, orders: [1, 2] } } }],
      }),
    );
    expectOneLineError(
      dmasim("run", "--scenario", "bad.json"),
      "dmasim: EINVAL: bad.json: scenario.phases[0].mix.alloc.orders: must be",
    );
    writeFileSync(join(tmp, "broken.json"), "{ name: ");
    expectOneLineError(dmasim("run", "--scenario", "broken.json", "--json"), "broken.json: not valid JSON");
    expectOneLineError(dmasim("run", "--scenario", "laptop"), `unknown scenario "laptop"`);
    expectOneLineError(dmasim("replay", "missing.trace"), "no such trace file: missing.trace");
    expectOneLineError(dmasim("compare", "--configs", "none.json"), "none.json: no such configurations file");
    expectOneLineError(dmasim("sweep", "--grid", "none.json"), "none.json: no such grid file");
    expectOneLineError(dmasim("merge", "nowhere"), "merge: cannot read directory nowhere");
    expectOneLineError(dmasim("run", "--seed", "x"), "--seed");
    expectOneLineError(dmasim("run", "--backend", "gpu"), "--backend");
  });

  it("has --help on every command", () => {
    for (const cmd of [[], ["run"], ["replay"], ["compare"], ["sweep"], ["merge"], ["scenarios"]]) {
      const r = dmasim(...cmd, "--help");
      expect(r.status, cmd.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage: dmasim");
    }
    const run = dmasim("run", "--help");
    expect(run.stdout).toContain("camera");
    expect(run.stdout).toMatch(/heaps\s+a phone's graphics and camera stack/);
    expect(run.stdout).not.toContain("coming with");
  });

  it("runs the heaps scenario, and its printed JSON is an equivalent scenario file", () => {
    const r = dmasim("run", "--scenario", "heaps", "--scale", "0.05", "--json");
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    // At 0.05 the machine is too small for the heaps' buffers, which keep their size: one warning line,
    // in the result too.
    expect(r.stderr.split("\n")).toHaveLength(2); // one line, and its newline
    expect(r.stderr).toMatch(/^dmasim: warning: scale 0\.05 cannot keep every proportion: RAM holds 13 pageblocks/);
    expect(r.stderr).toContain(`4 MiB system heap buffers of "game" are 83.3% of process "game"'s dma-buf limit`);
    expect(result.warnings).toEqual([r.stderr.trimEnd().replace(/^dmasim: warning: /, "")]);
    expect(result).toMatchObject({ kind: "run", name: "heaps", seed: 1 });
    expect(result.summary["heap.requests"]).toBeGreaterThan(0);
    expect(result.summary["heap.system.order8"]).toBeGreaterThan(0);
    expect(result.summary["cma.camera.allocs"]).toBe(result.summary["heap.camera.requests"]);
    writeFileSync(join(tmp, "heaps-copy.json"), dmasim("scenarios", "heaps").stdout);
    expect(dmasim("scenarios", "heaps-copy.json").stdout).toContain(
      `heaps-copy.json: a valid scenario "heaps": 4 phases`,
    );
    const copy = dmasim("run", "--scenario", "heaps-copy.json", "--scale", "0.05", "--json");
    expect(JSON.parse(copy.stdout).stateHash).toBe(result.stateHash);
    expect(JSON.parse(copy.stdout).summary).toEqual(result.summary);
  });

  it("compare runs configurations side by side", () => {
    writeFileSync(
      join(tmp, "configs.json"),
      JSON.stringify([
        { label: "wasm" },
        { label: "ts", backend: "ts" },
        { label: "balance off", cmaFirstBalance: false },
      ]),
    );
    const r = dmasim("compare", "--scale", "0.02", "--configs", "configs.json", "--json");
    expect(r.status).toBe(0);
    const cmp = JSON.parse(r.stdout);
    expect(cmp.entries.map((e: { label: string }) => e.label)).toEqual(["wasm", "ts", "balance off"]);
    expect(cmp.entries[1].stateHash).toBe(cmp.entries[0].stateHash);
    expect(cmp.entries[1].summary).toEqual(cmp.entries[0].summary);
    const table = dmasim("compare", "--scale", "0.02", "--configs", "configs.json");
    expect(table.stdout).toMatch(/cma\.camera\.pagesMigrated/);
    expect(table.stdout.split("\n")[1]).toMatch(/^\s+wasm\s+ts\s+balance off$/);
  });

  it("sweep and merge work through files", () => {
    writeFileSync(
      join(tmp, "grid.json"),
      JSON.stringify({ scenario: "server", scale: 0.01, axes: { seed: [1, 2], pageblockOrder: [9, 10] } }),
    );
    for (const shard of ["0/2", "1/2"]) {
      const r = dmasim(
        "sweep",
        "--grid",
        "grid.json",
        "--shard",
        shard,
        "--out",
        `sweep-${shard[0]}`,
        "--workers",
        "1",
      );
      expect(r.status, r.stderr).toBe(0);
    }
    expectOneLineError(dmasim("merge", "sweep-0"), "2 of 4 jobs missing: 1, 3");
    const merged = dmasim("merge", "sweep-0", "sweep-1", "--out", "merged/all.json");
    expect(merged.status).toBe(0);
    expect(merged.stdout).toContain("merge: 4 jobs of scenario server");
    expect(merged.stdout).toContain("mean over seeds");
    expect(JSON.parse(readFileSync(join(tmp, "merged", "all.json"), "utf8")).jobs).toHaveLength(4);
  });

  it("scenarios lists the built-ins and prints one as a valid scenario file", () => {
    expect(dmasim("scenarios").stdout).toMatch(/camera[\s\S]*server[\s\S]*heaps/);
    const r = dmasim("scenarios", "camera");
    writeFileSync(join(tmp, "camera-copy.json"), r.stdout);
    expect(dmasim("scenarios", "camera-copy.json").stdout).toContain(
      `camera-copy.json: a valid scenario "camera": 3 phases`,
    );
    const run = dmasim("run", "--scenario", "./camera-copy.json", "--scale", "0.01", "--json");
    expect(run.status).toBe(0);
    const builtin = dmasim("run", "--scenario", "camera", "--scale", "0.01", "--json");
    expect(JSON.parse(run.stdout).stateHash).toBe(JSON.parse(builtin.stdout).stateHash);
  });
});
