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
// after the case, and report their MB/s as a fraction of it (see LIMITS).
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { parseArgsOrUsage } from "./command-line.mjs";
import {
  DMA_HEAP_IOCTL_ALLOC, IOMMU_PAGE_SIZES, O_CLOEXEC, O_RDWR, createRandom, createSystem, dmaHeapFind, sgAllocTableFromPages,
} from "dmasim";
import { formatTraceLine } from "dmasim/lab/ftrace";
import { DEFAULT_REPLAY_SYSTEM, replayTrace } from "dmasim/lab/replay";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const SEED = 0x5eed1234;
const BACKENDS = ["wasm", "ts"];

// ---- command line -------------------------------------------------------------------------

function usage(code) {
  const out = code === 0 ? console.log : console.error;
  out(`usage: node bench/run.mjs [--case NAME]... [--json FILE] [--runs N]\ncases: ${Object.keys(CASES).join(", ")}`);
  process.exit(code);
}

/** Command line (node:util parseArgs); internal: --child CASE BACKEND RESULT_FILE. */
function parseCommandLine(argv) {
  const { values, positionals } = parseArgsOrUsage({
    args: argv, allowPositionals: true,
    options: {
      case: { type: "string", multiple: true }, json: { type: "string" }, runs: { type: "string", default: "1" }, child: { type: "boolean" },
    },
  }, usage);
  if (values.child ? positionals.length !== 3 : positionals.length !== 0) usage(2);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) usage(2);
  const [name, backend, resultFile] = positionals;
  return { cases: values.case ?? [], json: values.json ?? null, runs, child: values.child ? { name, backend, resultFile } : null };
}

// ---- the synthetic trace of trace-replay -------------------------------------------------------

const TRACE_EVENTS = 1_000_000;
const TRACE_FILE = "trace-replay.txt";

/**
 * Writes a text ftrace capture (the `trace` file with its header) of `events`
 * mm_page_alloc / mm_page_free events, as formatTraceLine() prints them in the
 * v6.3+ format with the `comm-pid [cpu] flags timestamp:` prefix. The traced
 * machine has 4 GiB (pfns 0..2^20); blocks are of order 0-3 (60/20/12/8%), of
 * migratetype movable, unmovable or reclaimable (50/35/15%), placed at random
 * aligned pfns not in use. The workload ramps up to 56,000 live blocks (about
 * 118,000 pages: 45% of the replay machine) and then allocates and frees around
 * that level; every free is of a live block, with its order. Seeded: the same
 * file on every run.
 */
function writeSyntheticTrace(path, events) {
  const rnd = createRandom(SEED ^ 0x7ace);
  const TRACE_PFNS = 1 << 20;
  const LIVE_TARGET = 56_000;
  const ORDER_CUM = [60, 80, 92, 100];
  const MT_CUM = [[50, 1], [85, 0], [100, 2]]; // cumulative percent, migratetype (v4.4+ enum: 0 unmovable, 1 movable, 2 reclaimable)
  const TASKS = ["kworker/u8:3-1187", "chrome-4242", "kswapd0-97", "systemd-journal-311", "surfaceflinger-655", "cc1-20716"];
  const used = new Uint8Array(TRACE_PFNS);
  const live = []; // pfn * 4 + order
  const header = [
    "# tracer: nop",
    "#",
    `# entries-in-buffer/entries-written: ${events}/${events}   #P:4`,
    "#",
    "#                                _-----=> irqs-off/BH-disabled",
    "#                               / _----=> need-resched",
    "#                              | / _---=> hardirq/softirq",
    "#                              || / _--=> preempt-depth",
    "#                              ||| / _-=> migrate-disable",
    "#                              |||| /     delay",
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
    "#              | |         |   |||||     |         |",
  ];
  const tmp = `${path}.part`;
  const fd = openSync(tmp, "w");
  let lines = header.slice();
  let timestamp = 5021.5;
  let allocs = 0;
  let frees = 0;
  const event = { name: "", pfn: 0, order: 0, migratetype: 0, raw: {} };
  for (let n = 0; n < events; n++) {
    const allocPct = live.length < LIVE_TARGET ? 75 : 45;
    if (live.length === 0 || rnd.int(100) < allocPct) {
      let order = 0;
      for (const r = rnd.int(100); r >= ORDER_CUM[order];) order++;
      const r = rnd.int(100);
      const mt = MT_CUM.find(([cum]) => r < cum)[1];
      const pages = 1 << order;
      let pfn;
      for (;;) {
        pfn = rnd.int(TRACE_PFNS >> order) << order;
        let free = true;
        for (let i = 0; i < pages; i++) if (used[pfn + i]) free = false;
        if (free) break;
      }
      used.fill(1, pfn, pfn + pages);
      live.push(pfn * 4 + order);
      event.name = "mm_page_alloc";
      event.pfn = pfn;
      event.order = order;
      event.migratetype = mt;
      allocs++;
    } else {
      const i = rnd.int(live.length);
      const x = live[i];
      live[i] = live[live.length - 1];
      live.pop();
      const pfn = Math.floor(x / 4);
      const order = x & 3;
      used.fill(0, pfn, pfn + (1 << order));
      event.name = "mm_page_free";
      event.pfn = pfn;
      event.order = order;
      frees++;
    }
    timestamp += (1 + rnd.int(40)) / 1e6;
    lines.push(formatTraceLine(event, { task: TASKS[rnd.int(TASKS.length)], cpu: rnd.int(4), timestamp }));
    if (lines.length >= 16384) {
      writeSync(fd, `${lines.join("\n")}\n`);
      lines = [];
    }
  }
  if (lines.length) writeSync(fd, `${lines.join("\n")}\n`);
  closeSync(fd);
  renameSync(tmp, path);
  return { allocs, frees, live: live.length };
}

/**
 * Pre-populates `target` pages (default half) of `sys`: a seeded mix of orders
 * (default 0-3) and migratetypes up to 125% of it, then random blocks freed back
 * down to it, so the free space is holed.
 */
function halfFull(sys, drawOrder = () => sys.random.int(4), target = sys.nrPages / 2) {
  const rnd = sys.random;
  const MTS = ["unmovable", "movable", "reclaimable"];
  const blocks = [];
  let used = 0;
  for (let refused = 0; used < target * 1.25 && refused < 1000; ) {
    const order = drawOrder();
    const pfn = sys.allocPages(order, MTS[rnd.int(3)]);
    if (pfn === null) {
      refused++; // a large order may not fit: draw again
      continue;
    }
    blocks.push(pfn, order);
    used += 1 << order;
  }
  while (used > target) {
    const i = rnd.int(blocks.length / 2) * 2;
    const [pfn, order] = [blocks[i], blocks[i + 1]];
    sys.freePages(pfn, order);
    blocks[i] = blocks[blocks.length - 2];
    blocks[i + 1] = blocks[blocks.length - 1];
    blocks.length -= 2;
    used -= 1 << order;
  }
  return { blocks, used };
}

// ---- cases ---------------------------------------------------------------------------------
//
// make(backend) builds one machine and returns:
//   sys          the System
//   op()         the measured operation (one tinybench iteration)
//   prep()       optional unmeasured per-iteration set-up (tinybench beforeEach)
//   verify()     optional check after an op, used during the replay only
//   checksum()   fold of the op results, printed so the work cannot be optimised away
//   bytesPerOp() optional: bytes migrated (or scanned) per op, for the MB/s column
//   pagesPerOp() optional: pages processed per op, for the pages/s column
//   eventsPerOp() optional: trace events replayed per op, for the events/s column
//   stateHash()  optional: the hash to compare instead of sys.stateHash() (a machine the op creates itself)
//   check()      optional: the consistency check instead of sys.check()
//   info(res)    extra report lines, given the tinybench result
//
// and the case spec itself, besides description / replayOps / bench / batch:
//   async        op() returns a promise (tinybench's async mode; no batching)
//   prepare(dir) optional, run by the parent once before the children: writes
//                shared input (the trace) into `dir`, the run's temporary
//                directory (DMASIM_BENCH_DIR in the children); returns report lines
//   limit        optional: a key of LIMITS, the bound the MB/s column is compared to

const CASES = {
  "cma-alloc-release": {
    description: "CmaArea.alloc(16, 0) + release() on a fragmented 256 MiB area (512 MiB RAM)",
    replayOps: 1000,
    // About a microsecond an op: timed in batches (see buddy-order0).
    batch: 32,
    bench: { time: 3000, warmupTime: 500, warmupIterations: 2000, iterations: 64 },
    async make(backend) {
      const sys = await createSystem({
        backend, ramBytes: 512 * MIB, seed: SEED, cma: [{ name: "bench", bytes: 256 * MIB }],
      });
      const area = sys.cma("bench");
      // Fragment: movable pages fill RAM (borrowing the CMA area), two thirds of
      // them go away; then drivers fill the area with allocations of 1-24 pages
      // and release a seeded half of the small ones, leaving a bitmap riddled with
      // holes mostly too small for 16 pages: each op must scan past them.
      const pages = [];
      for (let p = sys.allocMovable(0); p !== null; p = sys.allocMovable(0)) pages.push(p);
      let inArea = 0;
      for (const p of pages) {
        if (p.pfn >= area.basePfn && p.pfn < area.basePfn + area.count) inArea++;
        if (sys.random.int(3) !== 0) p.free();
      }
      const held = [];
      for (;;) {
        const n = 1 + sys.random.int(24);
        const pfn = area.alloc(n, 0);
        if (pfn === null) break;
        held.push([pfn, n]);
      }
      let holes = 0;
      for (const [pfn, n] of held) {
        if (n < 12 && sys.random.int(2) === 0) {
          area.release(pfn, n);
          holes++;
        }
      }
      const setup = {
        movable: pages.length, inArea, held: held.length, holes, areaPages: area.count, available: area.available,
        firstFit: (() => { const p = area.alloc(16, 0); if (p !== null) area.release(p, 16); return p === null ? -1 : p - area.basePfn; })(),
        migratedBefore: area.stats.pagesMigrated,
      };
      let sum = 0;
      let ops = 0;
      let failed = 0;
      return {
        sys,
        op() {
          ops++;
          const pfn = area.alloc(16, 0);
          if (pfn === null) {
            failed++;
            return;
          }
          sum = (sum + pfn) >>> 0;
          area.release(pfn, 16);
        },
        checksum: () => sum,
        info() {
          const st = area.stats;
          return [
            `setup: ${setup.movable} movable pages filled RAM (${setup.inArea} in the area); ${setup.held} CMA allocations, ` +
              `${setup.holes} released as holes; ${setup.available}/${setup.areaPages} pages free; first 16-page fit at bit ${setup.firstFit}`,
            `ops run (replay + warm-up + measured): ${ops}, failed allocs: ${failed}, ` +
              `busy retries: ${st.busyRetries}, pages migrated out of the area: ${st.pagesMigrated - setup.migratedBefore} ` +
              `(${((st.pagesMigrated - setup.migratedBefore) / Math.max(ops, 1)).toFixed(4)}/op)`,
          ];
        },
      };
    },
  },

  "buddy-order0": {
    description: "allocPages(0, movable|unmovable) + freePages(oldest of a 1024-page ring), 50% full 256 MiB",
    replayOps: 1000,
    // One op is a few hundred ns, close to the timer's resolution: each tinybench
    // iteration times a batch of ops and reports the per-op mean as its sample.
    batch: 256,
    bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
    async make(backend) {
      const sys = await createSystem({ backend, ramBytes: 256 * MIB, seed: SEED, storeContents: false });
      const rnd = sys.random;
      const { blocks, used } = halfFull(sys);
      // The ring of recent order-0 pages and the seeded migratetype sequence.
      const RING = 1024;
      const ring = new Int32Array(RING);
      const mts = Array.from({ length: 4096 }, () => (rnd.int(2) === 0 ? "movable" : "unmovable"));
      for (let i = 0; i < RING; i++) {
        const pfn = sys.allocPages(0, mts[i]);
        if (pfn === null) throw new Error("buddy-order0: ring pre-fill failed");
        ring[i] = pfn;
      }
      const setupFree = sys.stats().nrFreePages;
      let head = 0;
      let k = RING;
      let sum = 0;
      let ops = 0;
      let failed = 0;
      return {
        sys,
        op() {
          ops++;
          const pfn = sys.allocPages(0, mts[k++ & 4095]);
          if (pfn === null) {
            failed++;
            return;
          }
          sum = (sum + pfn) >>> 0;
          sys.freePages(ring[head], 0);
          ring[head] = pfn;
          head = (head + 1) & (RING - 1);
        },
        checksum: () => sum,
        info() {
          const free = sys.stats().nrFreePages;
          return [
            `setup: ${blocks.length / 2} blocks of order 0-3 (${used} pages) + ${RING}-page ring, ` +
              `${setupFree}/${sys.nrPages} pages free`,
            `ops run (replay + warm-up + measured): ${ops}, failed allocs: ${failed}, free pages now ${free} ` +
              `(${free === setupFree ? "steady" : "DRIFTED"})`,
          ];
        },
      };
    },
  },

  "buddy-order0-batch": {
    description: "allocPagesBatch(256, 0, unmovable) + freePagesBatch() of the same pages: one boundary crossing per 256 ops, 50% full 256 MiB",
    replayOps: 20,
    bench: { time: 3000, warmupTime: 500, warmupIterations: 50, iterations: 64 },
    async make(backend) {
      const sys = await createSystem({ backend, ramBytes: 256 * MIB, seed: SEED, storeContents: false });
      const { blocks, used } = halfFull(sys);
      const BATCH = 256;
      let sum = 0;
      let ops = 0;
      return {
        sys,
        op() {
          ops++;
          const pfns = sys.allocPagesBatch(BATCH, 0, "unmovable");
          for (let i = 0; i < BATCH; i++) sum = (sum + pfns[i]) >>> 0;
          sys.freePagesBatch(pfns, 0);
        },
        checksum: () => sum,
        pagesPerOp: () => BATCH,
        info() {
          return [
            `setup: ${blocks.length / 2} blocks of order 0-3 (${used} pages); per op ${BATCH} allocations and ${BATCH} frees in two engine calls`,
            `ops run (replay + warm-up + measured): ${ops}; compare its pages/s with buddy-order0's ops/s`,
          ];
        },
      };
    },
  },

  "buddy-mixed": {
    description:
      "allocPages(order 0-10, unmovable|movable|reclaimable) + freePages(oldest block of the same order, one ring per order), " +
      "seeded mix weighted toward small orders, 50% full 1 GiB",
    replayOps: 1000,
    // Most ops are order 0-3 and take well under a microsecond: timed in batches (see buddy-order0).
    batch: 256,
    bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
    async make(backend) {
      const sys = await createSystem({ backend, ramBytes: GIB, seed: SEED, storeContents: false });
      const rnd = sys.random;
      const MTS = ["unmovable", "movable", "reclaimable"];
      // Order k is drawn with ORDER_WEIGHTS[k] percent: 80% of the ops are order 0-3,
      // 1 in 100 is order 10 (4 MiB). A block's page count grows faster than its
      // weight falls, so the large orders hold most of the pages.
      const ORDER_WEIGHTS = [40, 20, 12, 8, 5, 4, 3, 3, 2, 2, 1];
      const CUM = ORDER_WEIGHTS.map((_, k) => ORDER_WEIGHTS.slice(0, k + 1).reduce((a, b) => a + b, 0));
      if (CUM.at(-1) !== 100 || ORDER_WEIGHTS.length !== sys.maxOrder + 1) throw new Error("buddy-mixed: bad order weights");
      const drawOrder = () => {
        const r = rnd.int(100);
        let k = 0;
        while (r >= CUM[k]) k++;
        return k;
      };
      // One ring of recent blocks per order; an op replaces the oldest block of its
      // order, so the pages in use stay constant (while allocations succeed).
      const RING = ORDER_WEIGHTS.map((_, k) => Math.max(4, 256 >> k));
      const ringPages = RING.reduce((s, n, k) => s + n * 2 ** k, 0);
      // Background: the same mix of orders and migratetypes up to 62.5% of RAM,
      // then random blocks freed down to 50% less the rings, so the free space is holed.
      const { blocks, used } = halfFull(sys, drawOrder, sys.nrPages / 2 - ringPages);
      // The seeded op sequence (order, migratetype), then the rings' pre-fill.
      const SEQ = 4096;
      const seqOrder = Uint8Array.from({ length: SEQ }, drawOrder);
      const seqMt = Array.from({ length: SEQ }, () => MTS[rnd.int(3)]);
      const rings = RING.map((n) => new Int32Array(n));
      const heads = new Int32Array(RING.length);
      for (let k = 0; k < RING.length; k++) {
        for (let i = 0; i < RING[k]; i++) {
          const pfn = sys.allocPages(k, MTS[rnd.int(3)]);
          if (pfn === null) throw new Error(`buddy-mixed: ring pre-fill failed at order ${k}`);
          rings[k][i] = pfn;
        }
      }
      const setupFree = sys.stats().nrFreePages;
      const opsByOrder = new Array(RING.length).fill(0);
      const failedByOrder = new Array(RING.length).fill(0);
      let k = 0;
      let sum = 0;
      let ops = 0;
      return {
        sys,
        op() {
          ops++;
          const i = k++ & (SEQ - 1);
          const order = seqOrder[i];
          opsByOrder[order]++;
          const pfn = sys.allocPages(order, seqMt[i]);
          if (pfn === null) {
            failedByOrder[order]++;
            return;
          }
          sum = (sum + pfn) >>> 0;
          const ring = rings[order];
          const h = heads[order];
          sys.freePages(ring[h], order);
          ring[h] = pfn;
          heads[order] = (h + 1) & (ring.length - 1);
        },
        verify() {
          const free = sys.stats().nrFreePages;
          if (free !== setupFree) throw new Error(`buddy-mixed: ${free} pages free after the op, ${setupFree} at set-up`);
        },
        checksum: () => sum,
        info() {
          const free = sys.stats().nrFreePages;
          const failed = failedByOrder.reduce((a, b) => a + b, 0);
          const st = sys.stats();
          return [
            `setup: ${blocks.length / 2} background blocks of order 0-10 (${used} pages) + rings of ${RING.join("/")} blocks ` +
              `per order (${ringPages} pages); ${setupFree}/${sys.nrPages} pages free`,
            `ops run (replay + warm-up + measured): ${ops}, by order ${opsByOrder.join("/")}; failed allocs: ${failed}` +
              (failed ? ` (by order ${failedByOrder.join("/")})` : "") +
              `; free pages now ${free} (${free === setupFree ? "steady" : "DRIFTED"}); extfrag events: ${st.extfragEvents}`,
          ];
        },
      };
    },
  },

  "migrate-64mib": {
    description: "allocContigRange over 64 MiB of movable pages with contents + freeContigRange (256 MiB RAM)",
    replayOps: 3,
    limit: "memcpy",
    bench: { time: 400, warmupTime: 0, warmupIterations: 3, iterations: 12 },
    async make(backend) {
      const sys = await createSystem({ backend, ramBytes: 256 * MIB, seed: SEED, storeContents: true });
      const COUNT = (64 * MIB) / sys.pageSize; // 16384 pages
      const START = COUNT; // [64 MiB, 128 MiB)
      const END = START + COUNT;
      const MAGIC = 0xd3a51a11;
      const marker = new Uint8Array(16);
      const view = new DataView(marker.buffer);
      let live = []; // the movable pages that filled the range at the last refill
      let gen = 0;
      let dirty = true;
      // Fill all free memory with movable pages, keep those inside the range, free
      // the rest (and the pages migrated out by the previous op), and tag each kept
      // page with a marker so the replay can check contents follow migration.
      const refill = () => {
        gen++;
        const all = live;
        for (let p = sys.allocMovable(0); p !== null; p = sys.allocMovable(0)) all.push(p);
        live = [];
        for (const p of all) {
          const pfn = p.pfn;
          if (pfn >= START && pfn < END) live.push(p);
          else p.free();
        }
        if (live.length !== COUNT) throw new Error(`migrate-64mib: refill left ${live.length}/${COUNT} pages in range`);
        for (const p of live) {
          view.setUint32(0, MAGIC, true);
          view.setUint32(4, p.id, true);
          view.setUint32(8, gen, true);
          view.setUint32(12, (p.id ^ gen ^ MAGIC) >>> 0, true);
          p.write(marker);
        }
        dirty = false;
      };
      refill();
      let sum = 0;
      let ops = 0;
      let verified = 0;
      const migratedAtStart = sys.stats().pgmigrateSuccess;
      return {
        sys,
        prep() {
          if (dirty) refill();
        },
        op() {
          ops++;
          const ret = sys.allocContigRange(START, END, "movable");
          if (ret !== 0) throw new Error(`migrate-64mib: allocContigRange returned ${ret}`);
          sys.freeContigRange(START, COUNT);
          dirty = true;
          sum = (sum + live[0].pfn + live[COUNT - 1].pfn) >>> 0;
        },
        verify() {
          for (const p of live) {
            const pfn = p.pfn;
            if (pfn >= START && pfn < END) throw new Error(`migrate-64mib: page ${p.id} still in range at ${pfn}`);
            const got = new DataView(p.read(0, 16).buffer);
            if (got.getUint32(0, true) !== MAGIC || got.getUint32(4, true) !== p.id || got.getUint32(8, true) !== gen ||
                got.getUint32(12, true) !== ((p.id ^ gen ^ MAGIC) >>> 0)) {
              throw new Error(`migrate-64mib: contents of page ${p.id} lost in migration (now at pfn ${pfn})`);
            }
            verified++;
          }
        },
        checksum: () => sum,
        bytesPerOp: () => ((sys.stats().pgmigrateSuccess - migratedAtStart) / Math.max(ops, 1)) * sys.pageSize,
        info(res) {
          const migrated = sys.stats().pgmigrateSuccess - migratedAtStart;
          const perOp = migrated / Math.max(ops, 1);
          const mbPerOp = (perOp * sys.pageSize) / 1e6;
          const lines = [
            `ops run (replay + warm-up + measured): ${ops}, pages migrated: ${migrated} (${perOp}/op = ${mbPerOp.toFixed(1)} MB/op), ` +
              `contents verified on ${verified} migrated pages`,
          ];
          if (res) lines.push(`migration throughput: ${(mbPerOp * res.throughput.p50).toFixed(0)} MB/s (median op, 1 MB = 10^6 B; op = alloc + free)`);
          return lines;
        },
      };
    },
  },

  "iova-alloc-free": {
    description: "IommuDomain.allocIova(1-16 pages) + freeIova() of the same range, 1 GiB IOVA space half filled with 1-64-page allocations, a seeded half of the 1-8-page ones freed",
    replayOps: 1000,
    // Ops of 1-8 pages take well under a microsecond, 9-16-page ones far longer:
    // each sample times a batch (see buddy-order0), so that it covers the mix of sizes.
    batch: 256,
    bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
    async make(backend) {
      const sys = await createSystem({
        backend, ramBytes: 256 * MIB, seed: SEED, storeContents: false,
        devices: [{ name: "iommu-dev", iommu: { base: 0, size: GIB } }],
      });
      const io = sys.device("iommu-dev").iommu;
      const rnd = sys.random;
      const page = sys.pageSize;
      const spacePages = io.size / page; // 262144
      // Fill: a seeded mix of 1-64-page allocations (first fit from the bottom,
      // each aligned to its order, which leaves alignment gaps) up to half the
      // space; then release a seeded half of the small ones (1-8 pages). Requests
      // up to 8 pages find those holes near the bottom; 9-16-page requests need a
      // free 16-aligned run and scan past holes and gaps, through full bitmap
      // extensions, far up the used half (see the first-fit line of the report).
      const target = spacePages / 2;
      const held = []; // addr, pages, addr, pages, ...
      let used = 0;
      while (used < target) {
        const n = 1 + rnd.int(64);
        const addr = io.allocIova(n * page);
        if (addr === null) throw new Error(`iova-alloc-free: fill failed at ${used}/${spacePages} pages`);
        held.push(addr, n);
        used += n;
      }
      const allocated = held.length / 2;
      let highWater = 0;
      for (let i = 0; i < held.length; i += 2) highWater = Math.max(highWater, held[i] / page + held[i + 1]);
      let holes = 0;
      for (let i = 0; i < held.length; i += 2) {
        if (held[i + 1] <= 8 && rnd.int(2) === 0) {
          io.freeIova(held[i], held[i + 1] * page);
          used -= held[i + 1];
          holes++;
        }
      }
      const inUse = io.iovaBytesInUse / page;
      if (inUse !== used) throw new Error(`iova-alloc-free: ${inUse} IOVA pages in use, expected ${used}`);
      // The seeded op sizes, and where each size fits first (a steady state: every op frees what it took).
      const sizes = Array.from({ length: 4096 }, () => 1 + rnd.int(16));
      const firstFit = [];
      for (let n = 1; n <= 16; n++) {
        const addr = io.allocIova(n * page);
        if (addr === null) throw new Error(`iova-alloc-free: no room for ${n} pages after set-up`);
        io.freeIova(addr, n * page);
        firstFit.push(addr / page);
      }
      const extensions = io.extensions;
      let k = 0;
      let sum = 0;
      let ops = 0;
      let failed = 0;
      const last = { addr: 0, n: 0 };
      return {
        sys,
        op() {
          ops++;
          const n = sizes[k++ & 4095];
          const bytes = n * page;
          const addr = io.allocIova(bytes);
          if (addr === null) {
            failed++;
            return;
          }
          sum = (sum + addr / page) >>> 0;
          io.freeIova(addr, bytes);
          last.addr = addr;
          last.n = n;
        },
        verify() {
          if (failed > 0) throw new Error("iova-alloc-free: an allocation failed");
          const { addr, n } = last;
          const align = 2 ** Math.min(Math.ceil(Math.log2(n)), 8);
          if (addr % (align * page) !== 0 || addr + n * page > io.size) {
            throw new Error(`iova-alloc-free: ${n} pages at 0x${addr.toString(16)}: misaligned or outside the space`);
          }
          if (addr / page !== firstFit[n - 1]) throw new Error(`iova-alloc-free: ${n} pages at page ${addr / page}, first fit is ${firstFit[n - 1]}`);
          if (io.iovaBytesInUse / page !== used) throw new Error(`iova-alloc-free: ${io.iovaBytesInUse / page} pages in use after the op, expected ${used}`);
        },
        checksum: () => sum,
        info() {
          const now = io.iovaBytesInUse / page;
          return [
            `setup: ${allocated} allocations of 1-64 pages (high-water mark page ${highWater} of ${spacePages}), ` +
              `${holes} small ones freed again; ${used}/${spacePages} pages in use; ${extensions} bitmap extensions of ${page * 8} pages`,
            `first fit (IOVA page) for 1..16 pages: ${firstFit.join(" ")}`,
            `ops run (replay + warm-up + measured): ${ops}, failed allocs: ${failed}, pages in use now ${now} ` +
              `(${now === used ? "steady" : "DRIFTED"})`,
          ];
        },
      };
    },
  },

  "sg-build-map": {
    description:
      "sgAllocTableFromPages() over 1 GiB of scattered pages (262144 pfns in runs of 1-4) + dmaMapSg(bidirectional) + dmaUnmapSg(), " +
      "dma-iommu style, 2 GiB IOVA space, 4 GiB RAM without contents; one table, one IOVA range",
    replayOps: 2,
    // One op takes ~80-100 ms: at least 4 s and 16 samples, after the replay and 4 warm-up iterations.
    bench: { time: 4000, warmupTime: 0, warmupIterations: 4, iterations: 16 },
    async make(backend) {
      const sys = await createSystem({
        backend, ramBytes: 4 * GIB, seed: SEED, storeContents: false,
        devices: [{ name: "iommu-dev", iommu: { base: 0, size: 2 * GIB, style: "dma-iommu" } }],
      });
      const dev = sys.device("iommu-dev");
      const io = dev.iommu;
      const rnd = sys.random;
      const page = sys.pageSize;
      const PAGES = GIB / page; // 262144
      // The buffer: runs of 1-4 consecutive pfns at random places, no two runs
      // touching, so each run is one scatterlist entry. (Synthetic pfns: nothing
      // on the map path consults the page allocator.)
      const taken = new Uint8Array(sys.nrPages);
      const pfns = [];
      const runs = [];
      while (pfns.length < PAGES) {
        const len = Math.min(1 + rnd.int(4), PAGES - pfns.length);
        const start = 1 + rnd.int(sys.nrPages - len - 1);
        let free = true;
        for (let p = start - 1; p <= start + len; p++) if (taken[p]) free = false;
        if (!free) continue;
        for (let p = start; p < start + len; p++) {
          taken[p] = 1;
          pfns.push(p);
        }
        runs.push(len);
      }
      // dma-iommu maps the whole table into one IOVA range (one bitmap, no extensions).
      const TABLE_PAGES = PAGES;
      const TABLES = PAGES / TABLE_PAGES;
      const slices = Array.from({ length: TABLES }, (_, t) => pfns.slice(t * TABLE_PAGES, (t + 1) * TABLE_PAGES));
      // Expected entries and device segments per table (__finalise_sg(): page-aligned
      // entries concatenate while the segment stays within the max segment size).
      const expected = slices.map((slice) => {
        let entries = 0;
        let segments = 0;
        let cur = 0;
        for (let i = 0; i < slice.length; ) {
          let j = i + 1;
          while (j < slice.length && slice[j] === slice[j - 1] + 1) j++;
          const len = (j - i) * page;
          entries++;
          if (cur && dev.maxSegmentSize - cur >= len) cur += len;
          else {
            segments++;
            cur = len;
          }
          i = j;
        }
        return { entries, segments };
      });
      let sum = 0;
      let ops = 0;
      const last = { nents: [], segments: [], addrs: [], ptes: [] };
      return {
        sys,
        op() {
          ops++;
          const tables = [];
          for (let t = 0; t < TABLES; t++) {
            const sgt = sgAllocTableFromPages(slices[t], 0, TABLE_PAGES * page, undefined, { system: sys });
            const n = dev.dmaMapSg(sgt, "bidirectional");
            if (n === 0) throw new Error(`sg-build-map: dmaMapSg failed on table ${t}`);
            const addr = sgt.entries[0].dmaAddress;
            sum = (sum + sgt.origNents + n + addr / page) >>> 0;
            last.nents[t] = sgt.origNents;
            last.segments[t] = n;
            last.addrs[t] = addr;
            last.ptes[t] = dev.lastIommuEntries.slice();
            tables.push(sgt);
          }
          for (const sgt of tables) dev.dmaUnmapSg(sgt, sgt.origNents, "bidirectional");
        },
        verify() {
          for (let t = 0; t < TABLES; t++) {
            const want = expected[t];
            if (last.nents[t] !== want.entries || last.segments[t] !== want.segments) {
              throw new Error(`sg-build-map: table ${t}: ${last.nents[t]} entries / ${last.segments[t]} segments, expected ${want.entries} / ${want.segments}`);
            }
            if (last.addrs[t] !== t * TABLE_PAGES * page) throw new Error(`sg-build-map: table ${t} mapped at 0x${last.addrs[t].toString(16)}`);
            const mapped = last.ptes[t].reduce((s, k, c) => s + k * Math.max(1, IOMMU_PAGE_SIZES[c] / page), 0);
            if (mapped !== TABLE_PAGES) throw new Error(`sg-build-map: table ${t}: page-table entries cover ${mapped} pages`);
          }
          if (io.iovaBytesInUse !== 0 || io.entries.some((k) => k !== 0)) throw new Error("sg-build-map: IOVA space or page table not empty after unmap");
        },
        checksum: () => sum,
        pagesPerOp: () => PAGES,
        info() {
          const entries = expected.reduce((s, e) => s + e.entries, 0);
          const segments = expected.reduce((s, e) => s + e.segments, 0);
          return [
            `setup: ${PAGES} pfns in ${runs.length} runs of 1-4 pages out of ${sys.nrPages}`,
            `per op: ${TABLES} tables of ${TABLE_PAGES} pages, ${entries} entries, ${segments} device segments (max segment ${dev.maxSegmentSize}), ` +
              `all ${TABLES} mapped at once (${TABLES * TABLE_PAGES * page / MIB} MiB of IOVA), then unmapped`,
            `ops run (replay + warm-up + measured): ${ops}, map errors: ${dev.counters.mapErrors}, bitmap extensions: ${io.extensions}`,
          ];
        },
      };
    },
  },
  "dmabuf-roundtrip": {
    description:
      "userspace DMA_HEAP_IOCTL_ALLOC of 1 MiB from /dev/dma_heap/system + dma_buf_get, attach to a device behind an IOMMU, " +
      "map_attachment(bidirectional), unmap, detach, put, close (256 MiB RAM without contents)",
    replayOps: 1000,
    // One op is a few microseconds: each sample times a batch (see buddy-order0).
    batch: 32,
    bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
    async make(backend) {
      const IOVA_BASE = 0x4000_0000;
      // storeContents false: the heap zeroes buffers only when the machine keeps contents (zeroRuns()).
      const sys = await createSystem({
        backend, ramBytes: 256 * MIB, seed: SEED, storeContents: false,
        devices: [{ name: "gpu", iommu: { base: IOVA_BASE, size: GIB }, maxSegmentSize: 0xffffffff }],
      });
      const gpu = sys.device("gpu");
      const io = gpu.iommu;
      const heap = dmaHeapFind(sys, "system");
      const p = sys.process("bench");
      const heapFd = p.open("/dev/dma_heap/system", O_RDWR);
      const setupFds = p.openFds.join(","); // stdin, stdout, stderr and the heap
      const LEN = MIB;
      const page = sys.pageSize;
      const setupFree = sys.stats().nrFreePages;
      let sum = 0;
      let ops = 0;
      const last = { fd: -1, origNents: 0, nents: 0, dmaAddress: 0, dmaLength: 0, size: 0 };
      return {
        sys,
        op() {
          ops++;
          const { fd } = p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len: LEN, fd: 0, fdFlags: O_RDWR | O_CLOEXEC, heapFlags: 0 });
          const buf = p.dmaBufGet(fd);
          const att = buf.attach(gpu);
          const sgt = buf.mapAttachment(att, "bidirectional");
          const e = sgt.entries[0];
          sum = (sum + fd + sgt.nents + e.dmaAddress / page) >>> 0;
          last.fd = fd;
          last.origNents = sgt.origNents;
          last.nents = sgt.nents;
          last.dmaAddress = e.dmaAddress;
          last.dmaLength = e.dmaLength;
          last.size = buf.size;
          buf.unmapAttachment(att, sgt, "bidirectional");
          buf.detach(att);
          buf.put();
          p.close(fd);
        },
        verify() {
          // One order-8 block (SYSTEM_HEAP_ORDERS) on this unfragmented machine: one entry, one IOVA segment.
          if (last.size !== LEN || last.origNents !== 1 || last.nents !== 1 || last.dmaLength !== LEN) {
            throw new Error(`dmabuf-roundtrip: ${last.size}-byte buffer mapped as ${last.origNents} entries / ${last.nents} segments of ${last.dmaLength} bytes`);
          }
          if (last.dmaAddress < IOVA_BASE || last.dmaAddress + LEN > IOVA_BASE + GIB) throw new Error(`dmabuf-roundtrip: IOVA 0x${last.dmaAddress.toString(16)} outside the domain`);
          if (sys.dmabufs.length !== 0 || heap.stats.liveBuffers !== 0) throw new Error("dmabuf-roundtrip: a dma-buf outlived its close()");
          if (io.iovaBytesInUse !== 0 || io.entries.some((k) => k !== 0)) throw new Error("dmabuf-roundtrip: IOVA space or page table not empty after unmap");
          if (p.openFds.join(",") !== setupFds) throw new Error(`dmabuf-roundtrip: open fds ${p.openFds.join(",")}, ${setupFds} at set-up`);
          if (sys.stats().nrFreePages !== setupFree) throw new Error("dmabuf-roundtrip: pages leaked");
        },
        checksum: () => sum,
        info() {
          return [
            `per op: fd ${last.fd}, ${last.size} bytes as ${last.origNents} sg entry / ${last.nents} DMA segment at IOVA 0x${last.dmaAddress.toString(16)}`,
            `ops run (replay + warm-up + measured): ${ops}, heap allocations ${heap.stats.allocations}, failures ${heap.stats.failures}, ` +
              `map errors ${gpu.counters.mapErrors}; live dma-bufs now ${sys.dmabufs.length}`,
          ];
        },
      };
    },
  },

  "trace-replay": {
    description:
      "replayTrace() of a synthetic ftrace text of 1M mm_page_alloc/mm_page_free events (orders 0-3, three migratetypes, " +
      "every free matching an earlier allocation) on the default replay machine (1 GiB without contents, 64 MiB CMA); " +
      "one op = read, parse and replay the whole file",
    replayOps: 1,
    // replayTrace() is async (it streams the file) and one op takes seconds: the
    // replay (which warms the code up on a million events), then a fixed number
    // of measured ops, without tinybench's warm-up.
    async: true,
    bench: { time: 0, warmup: false, iterations: 4 },
    /** Parent, once per run: writes the trace into the run's temporary directory. */
    prepare(dir) {
      const t0 = performance.now();
      const path = join(dir, TRACE_FILE);
      const stats = writeSyntheticTrace(path, TRACE_EVENTS);
      return [
        `trace: ${TRACE_EVENTS} events (${stats.allocs} allocs, ${stats.frees} frees, ${stats.live} blocks still live at the end), ` +
          `${(statSync(path).size / 1e6).toFixed(1)} MB, written in ${(performance.now() - t0).toFixed(0)} ms`,
      ];
    },
    async make(backend) {
      const path = join(process.env.DMASIM_BENCH_DIR ?? tmpdir(), TRACE_FILE);
      if (!statSync(path, { throwIfNoEntry: false })) throw new Error(`trace-replay: no trace at ${path} (run through the parent)`);
      // The machine every replay starts on: the set-up hash. The replay's own machine
      // is internal to replayTrace(); its final hash is the replay hash.
      const sys = await createSystem({ ...DEFAULT_REPLAY_SYSTEM, backend });
      let last = null;
      let sum = 0;
      let ops = 0;
      const check = () => {
        const r = last;
        const c = r.replay;
        const problems = [];
        if (r.events.parsed !== TRACE_EVENTS) problems.push(`${r.events.parsed} events parsed`);
        if (r.events.skipped !== (r.events.skippedReasons.comment ?? 0)) problems.push(`skipped ${JSON.stringify(r.events.skippedReasons)}`);
        if (c.simFailed || c.simOnlyFailed || c.traceFailed) problems.push(`${c.simFailed} simulated allocations failed`);
        if (c.agreed !== c.allocs) problems.push(`${c.agreed}/${c.allocs} outcomes agreed`);
        for (const k of ["remapped", "unmatchedFrees", "orderMismatches", "partialFrees", "freesWithoutSim"]) if (c[k]) problems.push(`${k} ${c[k]}`);
        if (c.allocs + c.frees !== TRACE_EVENTS) problems.push(`${c.allocs} allocs + ${c.frees} frees`);
        if (problems.length) throw new Error(`trace-replay: ${problems.join("; ")}`);
      };
      return {
        sys,
        async op() {
          ops++;
          const r = await replayTrace(path, { backend });
          if (last && r.stateHash !== last.stateHash) throw new Error(`trace-replay: replay not deterministic (${r.stateHash} after ${last.stateHash})`);
          last = r;
          sum = (sum + r.events.parsed + r.replay.liveBlocks + parseInt(r.stateHash, 16)) >>> 0;
        },
        verify: check,
        // The replay machine is gone with replayTrace(): compare its final hash, and check its counters.
        stateHash: () => (last ? last.stateHash : sys.stateHash()),
        check: () => (last ? check() : sys.check()),
        checksum: () => sum,
        eventsPerOp: () => (last ? last.events.parsed : 0),
        info() {
          const c = last.replay;
          const s = last.summary;
          return [
            `per op: ${last.events.parsed} events (${Object.entries(last.events.byType).map(([k, v]) => `${k} ${v}`).join(", ")}), ` +
              `${last.events.skipped} header lines skipped; ${c.allocs} allocs all agreed, ${c.frees} frees, ${c.simExtfrag} simulated extfrag events, ` +
              `${c.liveBlocks} blocks live at the end`,
            `end of replay: ${s.nrFreePages} pages free, ${s.pgmigrateSuccess} pages migrated, ${last.samples.length} metric samples, ` +
              `${last.maps.length} memory maps; last op's own timing ${fmtInt(last.timing.wallMs)} ms = ` +
              `${fmtInt(last.timing.eventsPerSec)} events/s (after the file is open and the machine made); ops run: ${ops}`,
          ];
        },
      };
    },
  },

  "bitmap-scan": {
    description:
      "Bitmap.findNextZeroArea(0, 8) on a 1 Mi-bit bitmap 99% full: 1% of the bits clear as scattered single-bit holes, " +
      "the only run of 8 near the end; one op scans the whole 128 KiB",
    replayOps: 100,
    limit: "read-in-cache",
    bench: { time: 2000, warmupTime: 300, warmupIterations: 100, iterations: 64 },
    async make(backend) {
      const sys = await createSystem({ backend, ramBytes: 16 * MIB, seed: SEED, storeContents: false });
      const rnd = sys.random;
      const NBITS = 1 << 20;
      const RUN = 8;
      const RUN_AT = NBITS - 4096 + 13; // 99.6% of the way in, not word-aligned
      const bm = sys.bitmap(NBITS);
      bm.set(0, NBITS);
      // ~1% of the bits cleared at random places, none within 2 bits of the run.
      // Two holes side by side (a run of 2) happen about once per 100 holes; a
      // run of 8 never does (checked below).
      const HOLES = Math.round(NBITS / 100);
      for (let i = 0; i < HOLES; i++) {
        const bit = rnd.int(NBITS);
        if (bit >= RUN_AT - 2 && bit < RUN_AT + RUN + 2) continue;
        bm.clear(bit, 1);
      }
      bm.clear(RUN_AT, RUN);
      // The holes as they came out: walk the clear bits once.
      let clear = 0;
      let runs2 = 0;
      let longest = 0;
      for (let b = bm.findNextZeroBit(0); b < NBITS;) {
        const end = Math.min(bm.findNextBit(b), NBITS);
        clear += end - b;
        if (end - b >= 2) runs2++;
        if (b !== RUN_AT) longest = Math.max(longest, end - b);
        b = end < NBITS ? bm.findNextZeroBit(end) : NBITS;
      }
      if (longest >= RUN) throw new Error(`bitmap-scan: a random run of ${longest} clear bits`);
      const firstFit = bm.findNextZeroArea(0, RUN);
      if (firstFit !== RUN_AT) throw new Error(`bitmap-scan: first ${RUN}-bit run at ${firstFit}, planted at ${RUN_AT}`);
      let sum = 0;
      let ops = 0;
      let last = -1;
      return {
        sys,
        op() {
          ops++;
          last = bm.findNextZeroArea(0, RUN);
          sum = (sum + last) >>> 0;
        },
        verify() {
          if (last !== RUN_AT) throw new Error(`bitmap-scan: found ${last}, the run is at ${RUN_AT}`);
        },
        checksum: () => sum,
        // The bitmap bytes up to the end of the run found: what one op reads.
        bytesPerOp: () => (RUN_AT + RUN) / 8,
        info() {
          return [
            `setup: ${NBITS} bits, ${clear} clear (${((100 * clear) / NBITS).toFixed(2)}%) in ${HOLES} draws; ${runs2} runs of 2 or more ` +
              `(longest random run ${longest}); the ${RUN}-bit run at bit ${RUN_AT}`,
            `per op: ${(RUN_AT + RUN) / 8} bytes of bitmap scanned; ops run (replay + warm-up + measured): ${ops}`,
          ];
        },
      };
    },
  },

};

// ---- limits ------------------------------------------------------------------------------------
//
// A case with `limit` reports its MB/s as a fraction of a bandwidth the machine
// reaches without dmasim, measured in the same child process right after the
// case. Each limit runs a few baselines and takes the fastest (the best this
// runtime can do, so the fraction is an upper bound of what is left to gain):
//
//   memcpy                 copying 64 MiB (larger than any cache) to another 64 MiB buffer:
//                          TypedArray.prototype.set and Buffer.copy (both end in the C
//                          library's memmove); bytes copied per second, as migration
//                          counts bytes migrated.
//   read-in-cache          reading a 128 KiB buffer (the size of the bitmap-scan bitmap)
//                          over and over, so it stays in L2: Buffer.indexOf() of a byte the
//                          buffer does not hold (the C library's SIMD memchr), and a plain
//                          JS loop summing it as a Uint32Array (what scalar JIT code reaches).
//                          The JS loop runs about half as fast in the wasm children: once any
//                          ArrayBuffer has been detached in a process (WebAssembly.Memory.grow()
//                          does it), V8 checks for detachment in every optimised typed-array
//                          loop. memchr, the faster baseline and so the limit, is unaffected.

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};

/** Median bytes/s of `samples` timed calls of fn(), each moving `bytes`, after `warm` untimed ones. */
function bandwidth(fn, bytes, samples, warm = 2) {
  const rates = [];
  for (let s = 0; s < warm + samples; s++) {
    const t = performance.now();
    fn();
    const ms = performance.now() - t;
    if (s >= warm) rates.push((bytes * 1000) / ms);
  }
  return median(rates);
}

// The repetitions loop inside the measured function, so each baseline is one
// monomorphic loop nest that V8 optimises on its own.
function memchrReps(buf, reps) {
  let found = 0;
  for (let r = 0; r < reps; r++) found += buf.indexOf(0);
  return found;
}

function sumU32Reps(a, reps) {
  let s = 0;
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < a.length; i++) s = (s + a[i]) | 0;
  }
  return s;
}

const LIMITS = {
  memcpy() {
    const bytes = 64 * MIB;
    const src = new Uint8Array(bytes).fill(0x5a);
    const dst = new Uint8Array(bytes).fill(0); // both committed before timing
    const bsrc = Buffer.from(src.buffer);
    const bdst = Buffer.from(dst.buffer);
    const baselines = [
      { name: "TypedArray.set", bytesPerSec: bandwidth(() => dst.set(src), bytes, 15) },
      { name: "Buffer.copy", bytesPerSec: bandwidth(() => bsrc.copy(bdst), bytes, 15) },
    ];
    if (dst[bytes - 1] !== 0x5a) throw new Error("memcpy baseline: nothing copied");
    return { name: "memcpy bandwidth", bytesPerSec: Math.max(...baselines.map((b) => b.bytesPerSec)), baselines };
  },
  "read-in-cache"() {
    const bytes = 128 * 1024;
    const buf = Buffer.alloc(bytes, 0xff);
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset, bytes / 4);
    // 0xff bytes: no zero byte anywhere (indexOf gives -1); every word adds -1 to the int32 sum.
    const check = (got, want) => {
      if (got !== want) throw new Error(`read baseline: got ${got}, expected ${want}`);
    };
    const baselines = [
      { name: "memchr (Buffer.indexOf)", bytesPerSec: bandwidth(() => check(memchrReps(buf, 2000), -2000), bytes * 2000, 15) },
      { name: "JS Uint32Array sum", bytesPerSec: bandwidth(() => check(sumU32Reps(u32, 200), -(bytes / 4) * 200), bytes * 200, 15) },
    ];
    return { name: "in-cache read bandwidth", bytesPerSec: Math.max(...baselines.map((b) => b.bytesPerSec)), baselines };
  },
};

// ---- running -------------------------------------------------------------------------------------

const fmtInt = (n) => Math.round(n).toLocaleString("en-US");
// Rates below 100/s (cases whose op takes tens of ms or more) keep two decimals;
// `ref` picks the format, so that the cells of one row are alike.
const fmtRate = (n, ref = n) => (Math.abs(ref) >= 100 ? fmtInt(n) : n.toFixed(2));
const opsCell = (r, ref = r.opsPerSec) => `${fmtRate(r.opsPerSec, ref)} ± ${fmtRate(r.opsPerSecMad, ref)}`;

/** Child: one case on one backend. Returns what the parent needs, as plain JSON. */
async function runChild(name, backend) {
  const spec = CASES[name];
  const tag = `  ${backend.padEnd(4)}`;
  const t0 = performance.now();
  const c = await spec.make(backend);
  const stateHash = () => (c.stateHash ? c.stateHash() : c.sys.stateHash());
  const check = () => (c.check ? c.check() : c.sys.check());
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
  const fn = spec.async ? async () => { await c.op(); } : batch === 1 ? () => c.op() : () => {
    const start = performance.now();
    for (let i = 0; i < batch; i++) c.op();
    const ms = performance.now() - start;
    return { overriddenDuration: ms / batch, overriddenIterationCost: ms };
  };
  // An explicit async flag skips tinybench's async-detection call, which would
  // run an extra, unprepared op outside the beforeEach hook.
  bench.add(`${name} [${backend}]`, fn, { async: !!spec.async, ...(c.prep ? { beforeEach: () => c.prep() } : {}) });
  bench.addEventListener("warning", (e) => console.log(`${tag} tinybench warning: ${e.reason ?? "?"}`));
  if (spec.async) await bench.run();
  else bench.runSync();
  const res = bench.tasks[0].result;
  if (res.state === "errored") throw res.error;
  check();
  const out = {
    name, backend, setupHash, replayHash, replayOps: spec.replayOps,
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
  console.log(`${tag} ${opsCell(out)} ops/s (median ± MAD), mean ${fmtRate(out.opsPerSecMean)} ± ${out.rme.toFixed(2)}%, ` +
    `${out.samples} samples, checksum ${out.checksum}`);
  for (const line of c.info(res)) console.log(`${tag}   ${line}`);
  if (spec.limit) {
    // The hardware limit, measured in this process right after the case (same
    // machine state, same moment): the case's MB/s as a fraction of it.
    const lim = LIMITS[spec.limit]();
    out.limit = { name: lim.name, bytesPerSec: lim.bytesPerSec, fraction: (out.mbPerSec * 1e6) / lim.bytesPerSec, baselines: lim.baselines };
    console.log(`${tag} limit: ${lim.name} ${fmtInt(lim.bytesPerSec / 1e6)} MB/s ` +
      `(${lim.baselines.map((b) => `${b.name} ${fmtInt(b.bytesPerSec / 1e6)}`).join(", ")}); ` +
      `case ${fmtInt(out.mbPerSec)} MB/s = fraction ${out.limit.fraction.toFixed(3)}`);
  }
  return out;
}

/** Parent: one child process per backend, then the cross-backend checks. */
function runCase(name, tmp, runs) {
  const spec = CASES[name];
  console.log(`\n## ${name}: ${spec.description}${spec.batch ? ` (timed in batches of ${spec.batch} ops)` : ""}`);
  const result = { name };
  if (spec.prepare) for (const line of spec.prepare(tmp)) console.log(`  ${line}`);
  // Runs alternate between the backends, so that a slow spell of a shared
  // machine does not land on one backend only; each keeps its best median.
  for (let run = 0; run < runs; run++) {
    for (const backend of BACKENDS) {
      const file = join(tmp, `${name}.${backend}.json`);
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", name, backend, file], {
        stdio: "inherit", env: { ...process.env, DMASIM_BENCH_DIR: tmp },
      });
      if (child.status !== 0) throw new Error(`${name} [${backend}]: child process exited with ${child.status ?? child.signal}`);
      const got = JSON.parse(readFileSync(file, "utf8"));
      const kept = result[backend];
      if (kept && (got.setupHash !== kept.setupHash || got.replayHash !== kept.replayHash)) {
        throw new Error(`${name} [${backend}]: run ${run + 1} reached another state than run 1`);
      }
      if (!kept || got.opsPerSec > kept.opsPerSec) result[backend] = got;
    }
  }
  const { wasm, ts } = result;
  if (wasm.setupHash !== ts.setupHash) throw new Error(`${name}: set-up state differs between backends (${wasm.setupHash} vs ${ts.setupHash})`);
  if (wasm.replayHash !== ts.replayHash) {
    throw new Error(`${name}: backends diverged after ${spec.replayOps} identical ops (${wasm.replayHash} vs ${ts.replayHash})`);
  }
  console.log(`  stateHash after set-up and after the ${spec.replayOps}-op replay: EQUAL across backends`);
  if (spec.limit) {
    // The case's fraction is the better backend's: how close dmasim gets to the limit.
    const best = wasm.limit.fraction >= ts.limit.fraction ? "wasm" : "ts";
    result.limit = {
      name: wasm.limit.name, fraction: result[best].limit.fraction, backend: best, wasm: wasm.limit.fraction, ts: ts.limit.fraction, key: spec.limit,
    };
    console.log(`  limit: ${result.limit.name}, fraction ${result.limit.fraction.toFixed(3)} (${best}; wasm ${wasm.limit.fraction.toFixed(3)}, ts ${ts.limit.fraction.toFixed(3)})`);
  }
  return result;
}

function printTable(results) {
  const rows = [[
    "case", "wasm ops/s (median ± MAD)", "ts ops/s (median ± MAD)", "wasm/ts", "wasm MB/s", "ts MB/s", "wasm pages/s", "ts pages/s",
    "wasm events/s", "ts events/s", "limit fraction wasm / ts",
  ]];
  for (const r of results) {
    const ref = Math.min(r.wasm.opsPerSec, r.ts.opsPerSec);
    rows.push([
      r.name, opsCell(r.wasm, ref), opsCell(r.ts, ref), `${(r.wasm.opsPerSec / r.ts.opsPerSec).toFixed(2)}x`,
      r.wasm.mbPerSec === undefined ? "" : fmtInt(r.wasm.mbPerSec),
      r.ts.mbPerSec === undefined ? "" : fmtInt(r.ts.mbPerSec),
      r.wasm.pagesPerSec === undefined ? "" : fmtInt(r.wasm.pagesPerSec),
      r.ts.pagesPerSec === undefined ? "" : fmtInt(r.ts.pagesPerSec),
      r.wasm.eventsPerSec === undefined ? "" : fmtInt(r.wasm.eventsPerSec),
      r.ts.eventsPerSec === undefined ? "" : fmtInt(r.ts.eventsPerSec),
      r.limit === undefined ? "" : `${r.limit.wasm.toFixed(3)} / ${r.limit.ts.toFixed(3)} ${r.limit.key}`,
    ]);
  }
  const keep = rows[0].map((_, col) => rows.some((row, i) => i > 0 && row[col] !== ""));
  const cols = rows.map((row) => row.filter((_, col) => keep[col]));
  const widths = cols[0].map((_, col) => Math.max(...cols.map((row) => row[col].length)));
  const line = (row) => `| ${row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join(" | ")} |`;
  console.log(`\n${line(cols[0])}`);
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of cols.slice(1)) console.log(line(row));
  const limited = results.filter((r) => r.limit);
  if (limited.length) console.log("");
  for (const r of limited) {
    console.log(`${r.name}: limit: ${r.limit.name}, fraction ${r.limit.fraction.toFixed(3)} (${r.limit.backend}; ` +
      `wasm ${r.wasm.limit.fraction.toFixed(3)} of ${fmtInt(r.wasm.limit.bytesPerSec / 1e6)} MB/s, ts ${r.ts.limit.fraction.toFixed(3)} of ${fmtInt(r.ts.limit.bytesPerSec / 1e6)} MB/s)`);
  }
}

const args = parseCommandLine(process.argv.slice(2));
for (const name of [...args.cases, ...(args.child ? [args.child.name] : [])]) {
  if (!(name in CASES)) {
    console.error(`unknown case: ${name}`);
    usage(2);
  }
}

if (args.child) {
  const { name, backend, resultFile } = args.child;
  if (!BACKENDS.includes(backend)) usage(2);
  writeFileSync(resultFile, JSON.stringify(await runChild(name, backend)));
} else {
  const selected = args.cases.length > 0 ? Object.keys(CASES).filter((n) => args.cases.includes(n)) : Object.keys(CASES);
  const started = performance.now();
  console.log(`dmasim benchmarks: node ${process.version}, ${process.platform}/${process.arch}, seed 0x${SEED.toString(16)}, ` +
    "tinybench, median ± MAD of per-iteration throughput, one process per case and backend" +
    (args.runs > 1 ? `, best of ${args.runs} alternating runs` : ""));
  const tmp = mkdtempSync(join(tmpdir(), "dmasim-bench-"));
  const results = [];
  try {
    for (const name of selected) results.push(runCase(name, tmp, args.runs));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  printTable(results);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (args.json) {
    const cases = results.map(({ name, wasm, ts, limit }) => {
      const strip = ({ name: _n, backend: _b, ...rest }) => rest;
      return { name, wasm: strip(wasm), ts: strip(ts), ...(limit ? { limit } : {}) };
    });
    writeFileSync(args.json, `${JSON.stringify({ node: process.version, seed: SEED, cases }, null, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
}
