#!/usr/bin/env node
// Benchmark suite: the WASM engine (asc) against the same AssemblyScript built to
// plain JS (tsc + std/portable), side by side, on identical seeded machines.
//
//   npm run bench                          all cases
//   npm run bench -- --case buddy-order0   one case (repeatable)
//   npm run bench -- --json out.json       also write { cases: [{ name, wasm: { opsPerSec }, ts: { opsPerSec }, limit?: { name, fraction } }] }
//   npm run bench -- --runs 3              each (case, backend) child 3 times, alternating wasm and ts;
//                                          the table keeps each backend's best median (default 1)
//
// `npm run bench` compiles bench/ (tsc -p bench/tsconfig.json, into dist/bench/)
// and runs dist/bench/run.js; the package itself must be built (npm run build).
// The cases are in cases/ (one file each, listed in cases/index.ts), the
// machinery in harness.ts, the hardware bounds in limits.ts.
//
// Every (case, backend) pair runs in a fresh child process of this script, so
// the JIT feedback of one never shapes another: the bindings' call sites into
// the engine would otherwise go polymorphic over the WASM exports and the
// closures of every portable engine created before, which measurably slows
// later cases (buddy-order0 on ts: ~4.5M ops/s after cma-alloc-release in
// the same process, ~7-8M ops/s in a fresh one).
//
// Each child builds the case's machine from the same seed, replays a fixed
// number of the measured operations and reports sys.stateHash() after set-up and
// after the replay; the parent requires both to be equal across backends
// (tinybench runs a different number of iterations per backend, so the state
// after benchmarking is not comparable). The replay also warms the code up
// before tinybench's own warm-up phase.
//
// Cases that move bytes against a hardware bound (migrate-64mib: memcpy;
// bitmap-scan: in-cache reads) also measure that bound in the same child, right
// after the case, and report their MB/s as a fraction of it (see limits.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend, Case } from "./case.ts";
import { CASES } from "./cases/index.ts";
import { parseArgsOrUsage } from "./command-line.ts";
import { SEED } from "./constants.ts";
import { BACKENDS, runCase, runChild, type BackendResult, type CaseResult } from "./harness.ts";
import { printTable } from "./table.ts";

const BY_NAME: ReadonlyMap<string, Case> = new Map(CASES.map((c) => [c.name, c]));

// ---- command line -------------------------------------------------------------------------

function usage(code: number): never {
  const out = code === 0 ? console.log : console.error;
  out(
    `usage: npm run bench -- [--case NAME]... [--json FILE] [--runs N]\ncases: ${CASES.map((c) => c.name).join(", ")}`,
  );
  process.exit(code);
}

interface CommandLine {
  cases: string[];
  json: string | null;
  runs: number;
  child: { name: string; backend: string; resultFile: string } | null;
}

/** Command line (node:util parseArgs); internal: --child CASE BACKEND RESULT_FILE. */
function parseCommandLine(argv: string[]): CommandLine {
  const { values, positionals } = parseArgsOrUsage(
    {
      args: argv,
      allowPositionals: true,
      options: {
        case: { type: "string", multiple: true },
        json: { type: "string" },
        runs: { type: "string", default: "1" },
        child: { type: "boolean" },
      },
    },
    usage,
  );
  if (values.child ? positionals.length !== 3 : positionals.length !== 0) usage(2);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) usage(2);
  const [name = "", backend = "", resultFile = ""] = positionals;
  return {
    cases: values.case ?? [],
    json: values.json ?? null,
    runs,
    child: values.child ? { name, backend, resultFile } : null,
  };
}

const isBackend = (s: string): s is Backend => (BACKENDS as readonly string[]).includes(s);

// ---- main ------------------------------------------------------------------------------------

const args = parseCommandLine(process.argv.slice(2));
for (const name of [...args.cases, ...(args.child ? [args.child.name] : [])]) {
  if (!BY_NAME.has(name)) {
    console.error(`unknown case: ${name}`);
    usage(2);
  }
}

if (args.child) {
  const { name, backend, resultFile } = args.child;
  if (!isBackend(backend)) usage(2);
  writeFileSync(resultFile, JSON.stringify(await runChild(BY_NAME.get(name)!, backend)));
} else {
  const selected = args.cases.length > 0 ? CASES.filter((c) => args.cases.includes(c.name)) : CASES;
  const started = performance.now();
  console.log(
    `dmasim benchmarks: node ${process.version}, ${process.platform}/${process.arch}, seed 0x${SEED.toString(16)}, ` +
      "tinybench, median ± MAD of per-iteration throughput, one process per case and backend" +
      (args.runs > 1 ? `, best of ${args.runs} alternating runs` : ""),
  );
  const tmp = mkdtempSync(join(tmpdir(), "dmasim-bench-"));
  const script = fileURLToPath(import.meta.url);
  const results: CaseResult[] = [];
  try {
    for (const spec of selected) results.push(runCase(spec, tmp, args.runs, script));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  printTable(results);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (args.json) {
    const strip = ({ name: _n, backend: _b, ...rest }: BackendResult) => rest;
    const cases = results.map(({ name, wasm, ts, limit }) => ({
      name,
      wasm: strip(wasm),
      ts: strip(ts),
      ...(limit ? { limit } : {}),
    }));
    writeFileSync(args.json, `${JSON.stringify({ node: process.version, seed: SEED, cases }, null, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
}
