#!/usr/bin/env node
// Benchmark suite: the WASM engine (asc) against the same AssemblyScript built to
// plain JS (tsc + std/portable), side by side, on identical seeded machines.
//
//   npm run bench                          all cases
//   npm run bench -- --case buddy-order0   one case (repeatable)
//   npm run bench -- --json out.json       also write { cases: [{ name, wasm: { opsPerSec }, ts: { opsPerSec } }] }
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
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { IOMMU_PAGE_SIZES, createSystem, sgAllocTableFromPages } from "dmasim";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const SEED = 0x5eed1234;
const BACKENDS = ["wasm", "ts"];

// ---- command line -------------------------------------------------------------------------

function usage(code) {
  const out = code === 0 ? console.log : console.error;
  out(`usage: node bench/run.mjs [--case NAME]... [--json FILE]\ncases: ${Object.keys(CASES).join(", ")}`);
  process.exit(code);
}

function parseArgs(argv) {
  const args = { cases: [], json: null, child: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const [, inline] = a.split(/=(.*)/s);
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(2);
      return argv[++i];
    };
    if (a === "--case" || a.startsWith("--case=")) args.cases.push(value());
    else if (a === "--json" || a.startsWith("--json=")) args.json = value();
    else if (a === "--child") {
      // internal: --child CASE BACKEND RESULT_FILE
      if (i + 3 >= argv.length) usage(2);
      args.child = { name: argv[i + 1], backend: argv[i + 2], resultFile: argv[i + 3] };
      i += 3;
    } else if (a === "-h" || a === "--help") usage(0);
    else {
      console.error(`unknown argument: ${a}`);
      usage(2);
    }
  }
  return args;
}

// ---- cases ---------------------------------------------------------------------------------
//
// make(backend) builds one machine and returns:
//   sys          the System
//   op()         the measured operation (one tinybench iteration)
//   prep()       optional unmeasured per-iteration set-up (tinybench beforeEach)
//   verify()     optional check after an op, used during the replay only
//   checksum()   fold of the op results, printed so the work cannot be optimised away
//   bytesPerOp() optional: bytes migrated per op, for the MB/s column
//   pagesPerOp() optional: pages processed per op, for the pages/s column
//   info(res)    extra report lines, given the tinybench result

const CASES = {
  "cma-alloc-release": {
    description: "CmaArea.alloc(16, 0) + release() on a fragmented 256 MiB area (512 MiB RAM)",
    replayOps: 1000,
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
      const MTS = ["unmovable", "movable", "reclaimable"];
      // Pre-populate: a seeded mix of orders 0-3 and migratetypes up to 62.5% of
      // RAM, then free random blocks back down to 50% so the free space is holed.
      const target = sys.nrPages / 2;
      const blocks = [];
      let used = 0;
      while (used < target * 1.25) {
        const order = rnd.int(4);
        const pfn = sys.allocPages(order, MTS[rnd.int(3)]);
        if (pfn === null) break;
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

  "migrate-64mib": {
    description: "allocContigRange over 64 MiB of movable pages with contents + freeContigRange (256 MiB RAM)",
    replayOps: 3,
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
  const setupHash = c.sys.stateHash();
  console.log(`${tag} set-up ${(performance.now() - t0).toFixed(0)} ms, stateHash ${setupHash}`);

  // Fixed-count replay of the measured op (with its unmeasured preparation).
  const t1 = performance.now();
  for (let i = 0; i < spec.replayOps; i++) {
    c.prep?.();
    c.op();
    c.verify?.();
  }
  const replayMs = performance.now() - t1;
  c.sys.check();
  const replayHash = c.sys.stateHash();
  console.log(`${tag} replay ${spec.replayOps} ops in ${replayMs.toFixed(0)} ms, check() ok, stateHash ${replayHash}`);

  const bench = new Bench({ name, ...spec.bench, throws: true });
  const batch = spec.batch ?? 1;
  const fn = batch === 1 ? () => c.op() : () => {
    const start = performance.now();
    for (let i = 0; i < batch; i++) c.op();
    const ms = performance.now() - start;
    return { overriddenDuration: ms / batch, overriddenIterationCost: ms };
  };
  // async: false skips tinybench's async-detection call, which would run an
  // extra, unprepared op outside the beforeEach hook.
  bench.add(`${name} [${backend}]`, fn, { async: false, ...(c.prep ? { beforeEach: () => c.prep() } : {}) });
  bench.addEventListener("warning", (e) => console.log(`${tag} tinybench warning: ${e.reason ?? "?"}`));
  bench.runSync();
  const res = bench.tasks[0].result;
  if (res.state === "errored") throw res.error;
  c.sys.check();
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
  console.log(`${tag} ${opsCell(out)} ops/s (median ± MAD), mean ${fmtRate(out.opsPerSecMean)} ± ${out.rme.toFixed(2)}%, ` +
    `${out.samples} samples, checksum ${out.checksum}`);
  for (const line of c.info(res)) console.log(`${tag}   ${line}`);
  return out;
}

/** Parent: one child process per backend, then the cross-backend checks. */
function runCase(name, tmp) {
  const spec = CASES[name];
  console.log(`\n## ${name}: ${spec.description}${spec.batch ? ` (timed in batches of ${spec.batch} ops)` : ""}`);
  const result = { name };
  for (const backend of BACKENDS) {
    const file = join(tmp, `${name}.${backend}.json`);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", name, backend, file], { stdio: "inherit" });
    if (child.status !== 0) throw new Error(`${name} [${backend}]: child process exited with ${child.status ?? child.signal}`);
    result[backend] = JSON.parse(readFileSync(file, "utf8"));
  }
  const { wasm, ts } = result;
  if (wasm.setupHash !== ts.setupHash) throw new Error(`${name}: set-up state differs between backends (${wasm.setupHash} vs ${ts.setupHash})`);
  if (wasm.replayHash !== ts.replayHash) {
    throw new Error(`${name}: backends diverged after ${spec.replayOps} identical ops (${wasm.replayHash} vs ${ts.replayHash})`);
  }
  console.log(`  stateHash after set-up and after the ${spec.replayOps}-op replay: EQUAL across backends`);
  return result;
}

function printTable(results) {
  const rows = [["case", "wasm ops/s (median ± MAD)", "ts ops/s (median ± MAD)", "wasm/ts", "wasm MB/s", "ts MB/s", "wasm pages/s", "ts pages/s"]];
  for (const r of results) {
    const ref = Math.min(r.wasm.opsPerSec, r.ts.opsPerSec);
    rows.push([
      r.name, opsCell(r.wasm, ref), opsCell(r.ts, ref), `${(r.wasm.opsPerSec / r.ts.opsPerSec).toFixed(2)}x`,
      r.wasm.mbPerSec === undefined ? "" : fmtInt(r.wasm.mbPerSec),
      r.ts.mbPerSec === undefined ? "" : fmtInt(r.ts.mbPerSec),
      r.wasm.pagesPerSec === undefined ? "" : fmtInt(r.wasm.pagesPerSec),
      r.ts.pagesPerSec === undefined ? "" : fmtInt(r.ts.pagesPerSec),
    ]);
  }
  const keep = rows[0].map((_, col) => rows.some((row, i) => i > 0 && row[col] !== ""));
  const cols = rows.map((row) => row.filter((_, col) => keep[col]));
  const widths = cols[0].map((_, col) => Math.max(...cols.map((row) => row[col].length)));
  const line = (row) => `| ${row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join(" | ")} |`;
  console.log(`\n${line(cols[0])}`);
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of cols.slice(1)) console.log(line(row));
}

const args = parseArgs(process.argv.slice(2));
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
    "tinybench, median ± MAD of per-iteration throughput, one process per case and backend");
  const tmp = mkdtempSync(join(tmpdir(), "dmasim-bench-"));
  const results = [];
  try {
    for (const name of selected) results.push(runCase(name, tmp));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  printTable(results);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (args.json) {
    const cases = results.map(({ name, wasm, ts }) => {
      const strip = ({ name: _n, backend: _b, ...rest }) => rest;
      return { name, wasm: strip(wasm), ts: strip(ts) };
    });
    writeFileSync(args.json, `${JSON.stringify({ node: process.version, seed: SEED, cases }, null, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
}
