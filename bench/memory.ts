#!/usr/bin/env node
// Metadata footprint of a large metadata-only machine, per backend.
//
//   npm run bench:memory -- [--backend wasm|ts] [--gib 64] [--fill 0.5] [--json FILE]
//
// (compiled with the rest of bench/ into dist/bench/memory.js.)
// Each backend is measured in a fresh child process of this script (so neither
// sees the other's heap or JIT state): it loads the engine (a throw-away 2 MiB
// machine), collects garbage, reads process.memoryUsage().rss, creates a
// `storeContents: false` System of the requested size, reads RSS again, then
// allocates `--fill` of memory in a seeded mix of order-0..3 blocks and
// migratetypes (which touches the memory map, so lazily committed pages count)
// and reads RSS a third time. Target: at most 16 bytes per page, creation under 1 s.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Backend, Migratetype } from "dmasim";
import { parseArgsOrUsage } from "./command-line.ts";
import { GIB, MIB, SEED } from "./constants.ts";

const TARGET_BYTES_PER_PAGE = 16;
const TARGET_CREATE_MS = 1000;

function usage(code: number): never {
  (code === 0 ? console.log : console.error)(
    "usage: npm run bench:memory -- [--backend wasm|ts] [--gib N] [--fill F] [--json FILE]",
  );
  process.exit(code);
}

interface CommandLine {
  backends: Backend[];
  gib: number;
  fill: number;
  json: string | null;
  child: boolean;
}

const isBackend = (s: string): s is Backend => s === "wasm" || s === "ts";

/** Command line (node:util parseArgs). */
function parseCommandLine(argv: string[]): CommandLine {
  const { values } = parseArgsOrUsage(
    {
      args: argv,
      options: {
        backend: { type: "string", multiple: true },
        gib: { type: "string", default: "64" },
        fill: { type: "string", default: "0.5" },
        json: { type: "string" },
        child: { type: "boolean" },
      },
    },
    usage,
  );
  const backends = values.backend ?? ["wasm", "ts"];
  if (!backends.every(isBackend)) usage(2);
  const args = {
    backends,
    gib: Number(values.gib),
    fill: Number(values.fill),
    json: values.json ?? null,
    child: !!values.child,
  };
  if (!(args.gib > 0) || !(args.fill >= 0 && args.fill < 1)) usage(2);
  return args;
}

/** What a child reports (as one JSON line on stdout). */
interface Measurement {
  backend: Backend;
  gib: number;
  pages: number;
  createMs: number;
  allocMs: number;
  blocks: number;
  usedPages: number;
  freePages: number;
  checksum: number;
  rss0: number;
  mem0: NodeJS.MemoryUsage;
  mem1: NodeJS.MemoryUsage;
  mem2: NodeJS.MemoryUsage;
}

// ---- child: one backend, one fresh process -------------------------------------------------------

async function measure(backend: Backend, gib: number, fill: number): Promise<Measurement> {
  const { createSystem } = await import("dmasim");
  const settle = (): void => {
    for (let i = 0; i < 3; i++) globalThis.gc?.();
  };
  // Load and compile the engine first: code and module memory are not per-page costs.
  {
    const warm = await createSystem({ backend, ramBytes: 2 * MIB, storeContents: false, seed: SEED });
    warm.allocPages(0, "movable");
  } // out of scope: collected by settle()
  settle();
  const mem0 = process.memoryUsage();
  const rss0 = mem0.rss;

  const t0 = performance.now();
  const sys = await createSystem({ backend, ramBytes: gib * GIB, storeContents: false, seed: SEED });
  const createMs = performance.now() - t0;
  settle();
  const mem1 = process.memoryUsage();

  // Allocate `fill` of memory: seeded orders 0-3 and migratetypes (movable blocks get owners).
  const MTS: readonly Migratetype[] = ["unmovable", "movable", "reclaimable"];
  const target = Math.floor(sys.nrPages * fill);
  let used = 0;
  let blocks = 0;
  let sum = 0;
  const t1 = performance.now();
  while (used < target) {
    const order = sys.random.int(4);
    const pfn = sys.allocPages(order, MTS[sys.random.int(3)]!);
    if (pfn === null) break;
    sum = (sum + pfn) >>> 0;
    used += 1 << order;
    blocks++;
  }
  const allocMs = performance.now() - t1;
  settle();
  const mem2 = process.memoryUsage();
  return {
    backend,
    gib,
    pages: sys.nrPages,
    createMs,
    allocMs,
    blocks,
    usedPages: used,
    freePages: sys.stats().nrFreePages,
    checksum: sum,
    rss0,
    mem0,
    mem1,
    mem2,
  };
}

// ---- parent: spawn one child per backend, print side by side --------------------------------------

const args = parseCommandLine(process.argv.slice(2));
if (args.child) {
  const out = await measure(args.backends[0]!, args.gib, args.fill);
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const results: Measurement[] = [];
  console.log(
    `dmasim metadata footprint: ${args.gib} GiB, storeContents false, fill ${args.fill * 100}% in order 0-3 blocks, node ${process.version}`,
  );
  for (const backend of args.backends) {
    const child = spawnSync(
      process.execPath,
      ["--expose-gc", self, "--child", "--backend", backend, "--gib", String(args.gib), "--fill", String(args.fill)],
      {
        encoding: "utf8",
        maxBuffer: 16 * MIB,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    if (child.status !== 0) {
      console.error(`${backend}: child exited with ${child.status ?? child.signal}`);
      process.exit(1);
    }
    results.push(JSON.parse(child.stdout.trim().split("\n").pop()!) as Measurement);
  }

  const mib = (b: number): string => `${(b / MIB).toFixed(1)} MiB`;
  const perPage = (b: number, r: Measurement): string => `${(b / r.pages).toFixed(2)} B`;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const rows: [string, (r: Measurement) => string][] = [
    ["pages", (r) => r.pages.toLocaleString("en-US")],
    ["creation time", (r) => `${ms(r.createMs)} ${r.createMs < TARGET_CREATE_MS ? "(ok < 1 s)" : "(OVER 1 s)"}`],
    ["RSS before creation", (r) => mib(r.mem0.rss)],
    ["RSS after creation", (r) => mib(r.mem1.rss)],
    ["  (after - before) / page", (r) => perPage(r.mem1.rss - r.mem0.rss, r)],
    [`allocate ${args.fill * 100}% (order 0-3)`, (r) => `${ms(r.allocMs)}, ${r.blocks.toLocaleString("en-US")} blocks`],
    ["RSS after allocation", (r) => mib(r.mem2.rss)],
    [
      "  (after - before) / page",
      (r) => {
        const b = (r.mem2.rss - r.mem0.rss) / r.pages;
        return `${b.toFixed(2)} B ${b <= TARGET_BYTES_PER_PAGE ? "(ok <= 16)" : "(OVER 16)"}`;
      },
    ],
    ["  absolute RSS / page", (r) => perPage(r.mem2.rss, r)],
    ["heapUsed before / after", (r) => `${mib(r.mem0.heapUsed)} / ${mib(r.mem2.heapUsed)}`],
    ["arrayBuffers before / after", (r) => `${mib(r.mem0.arrayBuffers)} / ${mib(r.mem2.arrayBuffers)}`],
  ];
  const table = [["", ...results.map((r) => r.backend)], ...rows.map(([label, f]) => [label, ...results.map(f)])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ")} |`;
  console.log(`\n${line(table[0]!)}`);
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of table.slice(1)) console.log(line(row));
  if (args.json) {
    writeFileSync(
      args.json,
      `${JSON.stringify({ node: process.version, gib: args.gib, fill: args.fill, results }, null, 2)}\n`,
    );
    console.log(`wrote ${args.json}`);
  }
}
