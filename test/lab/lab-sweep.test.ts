import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { dmaSimErrorOf } from "../helpers.ts";
import {
  enumerateJobs,
  jobAt,
  jobFileName,
  loadGrid,
  mergeSweep,
  parseShard,
  resolveShard,
  runSweep,
  shardJobs,
  validateGrid,
  type SweepJobFile,
} from "dmasim/lab";

const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-sweep-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const GRID = {
  scenario: "camera",
  scale: 0.01,
  axes: { seed: { from: 1, to: 3 }, cmaFirstBalance: [true, false], pageblockOrder: [9, 10] },
};

describe("sweep grids", () => {
  it("enumerates the cartesian product in a fixed order, the seed fastest", () => {
    const grid = validateGrid(GRID);
    expect(grid.jobCount).toBe(12);
    const jobs = enumerateJobs(grid);
    expect(jobs[0]).toEqual({ index: 0, params: { pageblockOrder: 9, cmaFirstBalance: true, seed: 1 } });
    expect(jobs[1]!.params).toEqual({ pageblockOrder: 9, cmaFirstBalance: true, seed: 2 });
    expect(jobs[3]!.params).toEqual({ pageblockOrder: 9, cmaFirstBalance: false, seed: 1 });
    expect(jobs[11]!.params).toEqual({ pageblockOrder: 10, cmaFirstBalance: false, seed: 3 });
    expect(new Set(jobs.map((j) => JSON.stringify(j.params))).size).toBe(12);
    // The same grid written with its keys in another order is the same grid.
    const reordered = validateGrid({
      axes: { pageblockOrder: [9, 10], cmaFirstBalance: [true, false], seed: { from: 1, to: 3 } },
      scale: 0.01,
      scenario: "camera",
    });
    expect(reordered.digest).toBe(grid.digest);
    expect(enumerateJobs(reordered)).toEqual(jobs);
    expect(validateGrid({ ...GRID, scale: 0.02 }).digest).not.toBe(grid.digest);
  });

  it("shards cover every job exactly once", () => {
    const grid = validateGrid({ scenario: "server", axes: { seed: { from: 0, to: 36 }, backend: ["wasm", "ts"] } });
    for (const count of [1, 2, 3, 5, 7, 74, 100]) {
      const seen = new Map<number, number>();
      for (let i = 0; i < count; i++) {
        for (const job of shardJobs(grid, { index: i, count })) {
          expect(job.index % count).toBe(i);
          expect(job).toEqual(jobAt(grid, job.index));
          seen.set(job.index, (seen.get(job.index) ?? 0) + 1);
        }
      }
      expect(seen.size).toBe(grid.jobCount);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
    }
  });

  it("validates grids and shards, naming the field", () => {
    expect(dmaSimErrorOf(() => validateGrid({ ...GRID, axes: { seed: [1, "2"] } })).message).toContain(
      `grid.axes.seed[1]: must be an integer in 0..4294967295, got "2"`,
    );
    expect(dmaSimErrorOf(() => validateGrid({ ...GRID, axes: { pageblockOrders: [9] } })).message).toContain(
      "grid.axes.pageblockOrders: unknown axis",
    );
    expect(dmaSimErrorOf(() => validateGrid({ ...GRID, axes: { backend: ["wasm", "wasm"] } })).message).toContain(
      "grid.axes.backend: lists a value twice",
    );
    expect(dmaSimErrorOf(() => validateGrid({ ...GRID, axes: { seed: { from: 3, to: 1 } } })).message).toContain(
      "grid.axes.seed: a range needs",
    );
    expect(dmaSimErrorOf(() => validateGrid({ ...GRID, scenario: "nope" })).code).toBe("ENOENT");
    expect(dmaSimErrorOf(() => validateGrid({ ...GRID, shard: 1 })).message).toContain("grid.shard: unknown field");
    expect(parseShard("2/5")).toEqual({ index: 2, count: 5 });
    for (const bad of ["5/5", "1", "a/b", "0/0"]) expect(dmaSimErrorOf(() => parseShard(bad)).code).toBe("EINVAL");
  });

  it("runs shards in worker threads, one file per job, and merges them", async () => {
    const gridFile = join(tmp, "grid.json");
    writeFileSync(
      gridFile,
      JSON.stringify({
        scenario: "camera",
        scale: 0.01,
        axes: { seed: [1, 2], cmaFirstBalance: [true, false], backend: ["wasm", "ts"] },
      }),
    );
    const grid = loadGrid(gridFile);
    expect(grid.jobCount).toBe(8);
    const dirs = [join(tmp, "shard0"), join(tmp, "shard1"), join(tmp, "shard2")];
    const done: number[] = [];
    await runSweep(grid, dirs[0]!, {
      shard: { index: 0, count: 3 },
      workers: 2,
      onJobDone: (_d, _t, job) => done.push(job.index),
    });
    await runSweep(grid, dirs[1]!, { shard: { index: 1, count: 3 }, workers: 1 });
    expect(done.sort()).toEqual([0, 3, 6]);
    expect(readdirSync(dirs[0]!).sort()).toEqual([jobFileName(0), jobFileName(3), jobFileName(6)]);
    const job0 = JSON.parse(readFileSync(join(dirs[0]!, jobFileName(0)), "utf8")) as SweepJobFile;
    expect(job0).toMatchObject({
      format: "dmasim-sweep-job/1",
      grid: { digest: grid.digest, jobCount: 8, scenario: "camera" },
      job: jobAt(grid, 0),
    });
    expect(job0.result.samples).toEqual([]);

    // Shard 2 of 3 not run yet: merge names the missing jobs.
    expect(dmaSimErrorOf(() => mergeSweep(dirs.slice(0, 2)))).toMatchObject({
      code: "ENOENT",
      message: expect.stringContaining("merge: 2 of 8 jobs missing: 2, 5"),
    });
    await runSweep(grid, dirs[2]!, { shard: { index: 2, count: 3 }, workers: 2 });
    const merged = mergeSweep(dirs);
    expect(merged.jobs.map((j) => j.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(merged.grid.digest).toBe(grid.digest);
    // Jobs that differ only in the backend reach the same state (the backend axis is fastest here... after seed).
    const byParams = (p: object) => merged.jobs.find((j) => JSON.stringify(j.params) === JSON.stringify(p))!;
    const wasm = byParams({ backend: "wasm", cmaFirstBalance: true, seed: 2 });
    const ts = byParams({ backend: "ts", cmaFirstBalance: true, seed: 2 });
    expect(ts.stateHash).toBe(wasm.stateHash);
    expect(ts.summary).toEqual(wasm.summary);

    // A job file copied into two directories is a duplicate.
    const dup = join(tmp, "dup");
    mkdirSync(dup);
    copyFileSync(join(dirs[1]!, jobFileName(1)), join(dup, jobFileName(1)));
    expect(dmaSimErrorOf(() => mergeSweep([...dirs, dup]))).toMatchObject({
      code: "EEXIST",
      message: expect.stringContaining("job 1 appears twice"),
    });
    // A job of another grid does not mix in.
    const other = join(tmp, "other");
    await runSweep(validateGrid({ scenario: "camera", scale: 0.01, axes: { seed: [1] } }), other, { workers: 1 });
    expect(dmaSimErrorOf(() => mergeSweep([...dirs, other])).message).toContain("comes from another grid");
    unlinkSync(join(dirs[2]!, jobFileName(5)));
    expect(dmaSimErrorOf(() => mergeSweep(dirs)).message).toContain("1 of 8 jobs missing: 5");
    expect(dmaSimErrorOf(() => mergeSweep([join(tmp, "nowhere")])).code).toBe("ENOENT");
  });

  it("takes the shard from a Slurm array or a Kubernetes Indexed Job's environment", () => {
    expect(resolveShard(undefined, {})).toEqual({ index: 0, count: 1, source: "default" });
    expect(resolveShard("2/5", { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "4" })).toEqual({
      index: 2,
      count: 5,
      source: "argument",
    });
    // Slurm counts from the array's first id (--array=1-4: ids 1..4, MIN 1).
    const slurm = { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "4" };
    expect(resolveShard(undefined, slurm)).toEqual({ index: 2, count: 4, source: "slurm" });
    const k8s = { JOB_COMPLETION_INDEX: "0", DMASIM_SHARD_COUNT: "3" };
    expect(resolveShard("auto", k8s)).toEqual({ index: 0, count: 3, source: "kubernetes" });
    for (const env of [
      { JOB_COMPLETION_INDEX: "0" },
      { JOB_COMPLETION_INDEX: "3", DMASIM_SHARD_COUNT: "3" },
      { SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "2" },
      { SLURM_ARRAY_TASK_ID: "0" },
    ])
      expect(dmaSimErrorOf(() => resolveShard(undefined, env)).code).toBe("EINVAL");
    expect(dmaSimErrorOf(() => resolveShard("auto", {})).code).toBe("EINVAL");
  });

  it("a grid run as separate processes given only the scheduler's variables merges to the local sweep", async () => {
    const cli = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
    const gridFile = join(tmp, "cluster-grid.json");
    writeFileSync(gridFile, JSON.stringify({ scenario: "camera", scale: 0.01, axes: { seed: [1, 2, 3] } }));
    const grid = loadGrid(gridFile);
    const local = join(tmp, "cluster-local");
    await runSweep(grid, local, { workers: 1 });
    const summaries = (dirs: string[]) => mergeSweep(dirs).jobs.map((j) => [j.index, j.stateHash, j.summary]);
    const schedulers: [string, (i: number) => Record<string, string>][] = [
      [
        "slurm",
        (i) => ({ SLURM_ARRAY_TASK_ID: String(i + 1), SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "2" }),
      ],
      ["kubernetes", (i) => ({ JOB_COMPLETION_INDEX: String(i), DMASIM_SHARD_COUNT: "2" })],
    ];
    for (const [name, envOf] of schedulers) {
      const dirs = [0, 1].map((i) => {
        const out = join(tmp, `cluster-${name}-${i}`);
        const r = spawnSync(process.execPath, [cli, "sweep", "--grid", gridFile, "--out", out, "--workers", "1"], {
          env: { PATH: process.env.PATH ?? "", ...envOf(i) },
          encoding: "utf8",
          timeout: 60_000,
        });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain(`(shard ${i}/2 from ${name}`);
        return out;
      });
      expect(summaries(dirs)).toEqual(summaries([local]));
    }
  });
});
