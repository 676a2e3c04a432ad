import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  builtinScenarioNames,
  dmasimVersion,
  loadScenario,
  replayTrace,
  RESULT_FORMAT,
  runScenario,
  scenarioSpecOf,
  validateScenario,
  type LabResult,
} from "dmasim/lab";

// Results describe themselves: the file alone reruns the run and renders its report again.

const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
const FIXTURE = join(import.meta.dirname, "..", "fixtures", "small.trace");
const PKG = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-result-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dmasim(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const read = (path: string) => JSON.parse(readFileSync(join(tmp, path), "utf8")) as LabResult;

describe("self-describing results", () => {
  it("scenarioSpecOf() writes every built-in scenario so that it validates back to the same scenario", () => {
    for (const name of builtinScenarioNames()) {
      const scenario = loadScenario(name);
      expect(validateScenario(JSON.parse(JSON.stringify(scenarioSpecOf(scenario)))), name).toEqual(scenario);
    }
  });

  it("a run's result carries the version, format, scenario, configuration, scale, seed and backend", async () => {
    const result = await runScenario(loadScenario("server"), {
      scale: 0.01,
      seed: 9,
      backend: "ts",
      cmaFirstBalance: false,
      claimThresholdPages: 128,
    });
    expect(result).toMatchObject({
      dmasim: PKG.version,
      resultFormat: RESULT_FORMAT,
      kind: "run",
      seed: 9,
      scale: 0.01,
      backend: "ts",
      config: { cmaFirstBalance: false, claimThresholdPages: 128 },
    });
    expect(dmasimVersion()).toBe(PKG.version);
    expect(result.scenario!.machine!.cmaFirstBalance).toBe(false); // the configuration's machine override, applied
    expect(result.scenario!.phases[0]!.ops).toBe(loadScenario("server").phases[0]!.ops); // unscaled: scale is apart
    expect(result.config).not.toHaveProperty("backend");
  });

  it("a replay's result carries the machine and sampling it replayed with", async () => {
    const result = await replayTrace(FIXTURE, { system: { ramBytes: 2 ** 27 }, sampleEvery: 7 });
    expect(result).toMatchObject({ dmasim: PKG.version, resultFormat: RESULT_FORMAT, kind: "replay", scale: null });
    expect(result.replayConfig).toEqual({
      system: { ramBytes: 2 ** 27, storeContents: false, cma: [{ name: "reserved", bytes: 2 ** 26 }] },
      sampleEvery: 7,
      maxSamples: 400,
      mapEvery: 100_000,
      maxMaps: 10,
    });
  });

  it("dmasim run --scenario result.json reruns it: same seed, scale, configuration, backend and state hash", async () => {
    const first = dmasim("run", "-s", "camera", "--scale", "0.25", "--seed", "5", "--backend", "ts", "--out", "camera");
    expect(first.status).toBe(0);
    const original = read("camera/result.json");
    const again = dmasim("run", "-s", "camera/result.json", "--json");
    expect(again.stderr).toBe("");
    const rerun = JSON.parse(again.stdout) as LabResult;
    expect(rerun).toMatchObject({ name: "camera", seed: 5, scale: 0.25, backend: "ts" });
    expect(rerun.stateHash).toBe(original.stateHash);
    expect(rerun.summary).toEqual(original.summary);
    // Options given on the command line win over the file's.
    const other = JSON.parse(dmasim("run", "-s", "camera/result.json", "--seed", "6", "--json").stdout) as LabResult;
    expect(other.seed).toBe(6);
    expect(other.scale).toBe(0.25);
    expect(other.stateHash).not.toBe(original.stateHash);

    // A configured run (as compare and sweep make them) reruns with its configuration.
    const configured = await runScenario(loadScenario("heaps"), {
      scale: 0.02,
      seed: 2,
      pageblockOrder: 10,
      allocNoFragment: false,
      iommuStyle: "arm",
    });
    writeFileSync(join(tmp, "configured.json"), JSON.stringify(configured));
    const rerunConfigured = JSON.parse(dmasim("run", "-s", "configured.json", "--json").stdout) as LabResult;
    expect(rerunConfigured.stateHash).toBe(configured.stateHash);
    expect(rerunConfigured.machine.pageblockOrder).toBe(10);
    expect(rerunConfigured.config).toEqual(configured.config);
  });

  it("a sweep job's file reruns its job too", () => {
    writeFileSync(
      join(tmp, "grid.json"),
      JSON.stringify({ scenario: "server", scale: 0.01, axes: { claimThresholdPages: [64], seed: [3] } }),
    );
    expect(dmasim("sweep", "--grid", "grid.json", "--out", "runs", "--workers", "1").status).toBe(0);
    const job = JSON.parse(readFileSync(join(tmp, "runs", "job-000000.json"), "utf8")) as { result: LabResult };
    const r = JSON.parse(dmasim("run", "-s", "runs/job-000000.json", "--json").stdout) as LabResult;
    expect(r).toMatchObject({ seed: 3, scale: 0.01, config: { claimThresholdPages: 64 } });
    expect(r.stateHash).toBe(job.result.stateHash);
  });

  it("dmasim report RESULT.json --out DIR renders the same report from the result alone", () => {
    for (const [args, dir] of [
      [["run", "-s", "heaps", "--scale", "0.02", "--out", "heaps"], "heaps"],
      [["replay", FIXTURE, "--out", "replay"], "replay"],
    ] as const) {
      expect(dmasim(...args).status).toBe(0);
      const r = dmasim("report", join(dir, "result.json"), "--out", `${dir}-again`);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`report: ${dir}-again/index.html\n`);
      const files = readdirSync(join(tmp, dir)).sort();
      expect(readdirSync(join(tmp, `${dir}-again`)).sort()).toEqual(files);
      for (const f of files.filter((f) => f.endsWith(".html") || f.endsWith(".json")))
        expect(readFileSync(join(tmp, `${dir}-again`, f), "utf8"), f).toBe(readFileSync(join(tmp, dir, f), "utf8"));
      if (dir === "heaps") expect(readFileSync(join(tmp, dir, "index.html"), "utf8")).toContain("<h2>Scenario</h2>");
    }
  });

  it("refuses files that are not results, and replay results as scenarios, in one line", () => {
    writeFileSync(join(tmp, "not-a-result.json"), JSON.stringify({ hello: 1 }));
    const r = dmasim("report", "not-a-result.json", "--out", "x");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("dmasim: EINVAL: not-a-result.json: not a dmasim result (result.json of a run or replay)\n");
    const old = read("camera/result.json") as Partial<LabResult>;
    delete old.resultFormat;
    writeFileSync(join(tmp, "old.json"), JSON.stringify(old));
    expect(dmasim("report", "old.json").stderr).toContain("a result of an older dmasim");
    const s = dmasim("run", "-s", "replay/result.json");
    expect(s.status).toBe(1);
    expect(s.stderr).toContain("result.json: a replay's file, without a scenario");
  });
});
