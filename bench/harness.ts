// The machinery of bench/run.ts: one (case, backend) pair in a child process
// (runChild), and the parent side that spawns the children and checks that the
// backends agree (runCase).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bench, type Fn } from "tinybench";
import type { Backend, Case, LimitKey } from "./case.ts";
import { fmtInt, fmtRate, opsCell } from "./format.ts";
import { LIMITS, type Baseline } from "./limits.ts";

export const BACKENDS: readonly Backend[] = ["wasm", "ts"];

/** A limit as a child measured it, with the case's MB/s as a fraction of it. */
export interface ChildLimit {
  name: string;
  bytesPerSec: number;
  fraction: number;
  baselines: Baseline[];
}

/** What a child reports to the parent (as JSON): one case on one backend. */
export interface BackendResult {
  name: string;
  backend: Backend;
  setupHash: string;
  replayHash: string;
  replayOps: number;
  opsPerSec: number;
  opsPerSecMad: number;
  opsPerSecMean: number;
  rme: number;
  latencyMedianMs: number;
  samples: number;
  checksum: number;
  mbPerSec?: number;
  pagesPerSec?: number;
  eventsPerSec?: number;
  limit?: ChildLimit;
}

/** A case's limit across backends: the better backend's fraction. */
export interface CaseLimit {
  name: string;
  fraction: number;
  backend: Backend;
  wasm: number;
  ts: number;
  key: LimitKey;
}

/** One case on both backends, as the parent keeps it. */
export interface CaseResult {
  name: string;
  wasm: BackendResult;
  ts: BackendResult;
  limit?: CaseLimit;
}

/** Child: one case on one backend. Returns what the parent needs, as plain JSON. */
export async function runChild(spec: Case, backend: Backend): Promise<BackendResult> {
  const name = spec.name;
  const tag = `  ${backend.padEnd(4)}`;
  const t0 = performance.now();
  const c = await spec.make(backend);
  const stateHash = (): string => (c.stateHash ? c.stateHash() : c.sys.stateHash());
  const check = (): void => (c.check ? c.check() : c.sys.check());
  const setupHash = stateHash();
  console.log(`${tag} set-up ${(performance.now() - t0).toFixed(0)} ms, stateHash ${setupHash}`);

  // Fixed-count replay of the measured op (with its unmeasured preparation).
  const t1 = performance.now();
  for (let i = 0; i < spec.replayOps; i++) {
    c.prep?.();
    if (spec.async) await c.op();
    else c.op();
    c.verify?.();
  }
  const replayMs = performance.now() - t1;
  check();
  const replayHash = stateHash();
  console.log(`${tag} replay ${spec.replayOps} ops in ${replayMs.toFixed(0)} ms, check() ok, stateHash ${replayHash}`);

  const bench = new Bench({ name, ...spec.bench, throws: true });
  const batch = spec.batch ?? 1;
  if (spec.async && batch !== 1) throw new Error(`${name}: async cases are not batched`);
  const fn: Fn = spec.async
    ? async () => {
        await c.op();
      }
    : batch === 1
      ? () => c.op()
      : () => {
          const start = performance.now();
          for (let i = 0; i < batch; i++) c.op();
          const ms = performance.now() - start;
          return { overriddenDuration: ms / batch, overriddenIterationCost: ms };
        };
  // An explicit async flag skips tinybench's async-detection call, which would
  // run an extra, unprepared op outside the beforeEach hook.
  bench.add(`${name} [${backend}]`, fn, { async: !!spec.async, ...(c.prep ? { beforeEach: () => c.prep!() } : {}) });
  bench.addEventListener("warning", (e) => console.log(`${tag} tinybench warning: ${e.reason ?? "?"}`));
  if (spec.async) await bench.run();
  else bench.runSync();
  const res = bench.tasks[0]!.result;
  if (res.state === "errored") throw res.error;
  if (!("throughput" in res)) throw new Error(`${name} [${backend}]: tinybench ended in state ${res.state}`);
  check();
  const out: BackendResult = {
    name,
    backend,
    setupHash,
    replayHash,
    replayOps: spec.replayOps,
    opsPerSec: res.throughput.p50,
    opsPerSecMad: res.throughput.mad,
    opsPerSecMean: res.throughput.mean,
    rme: res.throughput.rme,
    latencyMedianMs: res.latency.p50,
    samples: res.latency.samplesCount,
    checksum: c.checksum(),
  };
  if (c.bytesPerOp) out.mbPerSec = (c.bytesPerOp() / 1e6) * res.throughput.p50;
  if (c.pagesPerOp) out.pagesPerSec = c.pagesPerOp() * res.throughput.p50;
  if (c.eventsPerOp) out.eventsPerSec = c.eventsPerOp() * res.throughput.p50;
  console.log(
    `${tag} ${opsCell(out)} ops/s (median ± MAD), mean ${fmtRate(out.opsPerSecMean)} ± ${out.rme.toFixed(2)}%, ` +
      `${out.samples} samples, checksum ${out.checksum}`,
  );
  for (const line of c.info(res)) console.log(`${tag}   ${line}`);
  if (c.afterBench) for (const line of await c.afterBench()) console.log(`${tag}   ${line}`);
  if (spec.limit) {
    // The hardware limit, measured in this process right after the case (same
    // machine state, same moment): the case's MB/s as a fraction of it.
    if (out.mbPerSec === undefined) throw new Error(`${name}: a case with a limit needs bytesPerOp()`);
    const lim = LIMITS[spec.limit]();
    out.limit = {
      name: lim.name,
      bytesPerSec: lim.bytesPerSec,
      fraction: (out.mbPerSec * 1e6) / lim.bytesPerSec,
      baselines: lim.baselines,
    };
    console.log(
      `${tag} limit: ${lim.name} ${fmtInt(lim.bytesPerSec / 1e6)} MB/s ` +
        `(${lim.baselines.map((b) => `${b.name} ${fmtInt(b.bytesPerSec / 1e6)}`).join(", ")}); ` +
        `case ${fmtInt(out.mbPerSec)} MB/s = fraction ${out.limit.fraction.toFixed(3)}`,
    );
  }
  return out;
}

/**
 * Parent: one child process per backend (`script --child NAME BACKEND RESULT_FILE`,
 * `script` being the compiled bench/run.ts), then the cross-backend checks.
 */
export function runCase(spec: Case, tmp: string, runs: number, script: string): CaseResult {
  const name = spec.name;
  console.log(`\n## ${name}: ${spec.description}${spec.batch ? ` (timed in batches of ${spec.batch} ops)` : ""}`);
  const kept: Partial<Record<Backend, BackendResult>> = {};
  if (spec.prepare) for (const line of spec.prepare(tmp)) console.log(`  ${line}`);
  // Runs alternate between the backends, so that a slow spell of a shared
  // machine does not land on one backend only; each keeps its best median.
  for (let run = 0; run < runs; run++) {
    for (const backend of BACKENDS) {
      const file = join(tmp, `${name}.${backend}.json`);
      const child = spawnSync(process.execPath, [script, "--child", name, backend, file], {
        stdio: "inherit",
        env: { ...process.env, DMASIM_BENCH_DIR: tmp },
      });
      if (child.status !== 0)
        throw new Error(`${name} [${backend}]: child process exited with ${child.status ?? child.signal}`);
      const got = JSON.parse(readFileSync(file, "utf8")) as BackendResult;
      const best = kept[backend];
      if (best && (got.setupHash !== best.setupHash || got.replayHash !== best.replayHash)) {
        throw new Error(`${name} [${backend}]: run ${run + 1} reached another state than run 1`);
      }
      if (!best || got.opsPerSec > best.opsPerSec) kept[backend] = got;
    }
  }
  const { wasm, ts } = kept;
  if (!wasm || !ts) throw new Error(`${name}: a backend did not run`);
  const result: CaseResult = { name, wasm, ts };
  if (wasm.setupHash !== ts.setupHash)
    throw new Error(`${name}: set-up state differs between backends (${wasm.setupHash} vs ${ts.setupHash})`);
  if (wasm.replayHash !== ts.replayHash) {
    throw new Error(
      `${name}: backends diverged after ${spec.replayOps} identical ops (${wasm.replayHash} vs ${ts.replayHash})`,
    );
  }
  console.log(`  stateHash after set-up and after the ${spec.replayOps}-op replay: EQUAL across backends`);
  if (spec.limit) {
    if (!wasm.limit || !ts.limit) throw new Error(`${name}: a child did not measure the limit`);
    // The case's fraction is the better backend's: how close dmasim gets to the limit.
    const best = wasm.limit.fraction >= ts.limit.fraction ? "wasm" : "ts";
    result.limit = {
      name: wasm.limit.name,
      fraction: (best === "wasm" ? wasm : ts).limit!.fraction,
      backend: best,
      wasm: wasm.limit.fraction,
      ts: ts.limit.fraction,
      key: spec.limit,
    };
    console.log(
      `  limit: ${result.limit.name}, fraction ${result.limit.fraction.toFixed(3)} (${best}; wasm ${wasm.limit.fraction.toFixed(3)}, ts ${ts.limit.fraction.toFixed(3)})`,
    );
  }
  return result;
}
