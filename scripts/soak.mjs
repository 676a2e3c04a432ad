#!/usr/bin/env node
/**
 * Soak (issue 15): a seeded mixed workload of millions of operations over the
 * public API on each backend, with sys.check() at intervals, reporting
 * throughput and the Node heap over time, so growth (a leak, an unbounded log)
 * shows as a rising column.
 *
 *   node scripts/soak.mjs [--ops N] [--backend wasm|ts|both] [--seed S] [--check-every N] [--report-every N]
 *
 * Defaults: 10,000,000 operations per backend on both backends, check() every
 * 500,000 operations, a row every 1,000,000. Needs `npm run build` first.
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import {
  createSystem,
  createRandom,
  DMA_HEAP_IOCTL_ALLOC,
  MAP_SHARED,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../dist/bindings/index.js";

const { values } = parseArgs({
  options: {
    ops: { type: "string", default: "10000000" },
    backend: { type: "string", default: "both" },
    seed: { type: "string", default: "15" },
    "check-every": { type: "string", default: "500000" },
    "report-every": { type: "string", default: "1000000" },
  },
});
const OPS = Number(values.ops);
const SEED = Number(values.seed);
const CHECK_EVERY = Number(values["check-every"]);
const REPORT_EVERY = Number(values["report-every"]);
const BACKENDS = values.backend === "both" ? ["wasm", "ts"] : [values.backend];
const PAGE = 4096;
const MIB = 2 ** 20;
const LIVE_CAP = 2048;

const mb = (bytes) => (bytes / MIB).toFixed(1);

async function soak(backend) {
  const sys = await createSystem({
    backend,
    seed: SEED,
    ramBytes: 64 * MIB,
    zones: "x86_64",
    cma: [{ name: "reserved", bytes: 16 * MIB }],
    devices: [
      { name: "gpu", iommu: { base: 0x1000_0000, size: 2 ** 28 } },
      { name: "isa", dmaMask: 24 },
      { name: "cam", cma: "reserved" },
    ],
    swiotlbBytes: MIB,
    faultInjection: { failPageAlloc: { probability: 1, times: -1, verbose: 0, minOrder: 0, ignoreGfpWait: false } },
  });
  const rnd = createRandom(SEED);
  const gpu = sys.device("gpu");
  const isa = sys.device("isa");
  const area = sys.cma("reserved");
  const blocks = [];
  const pages = [];
  const cma = [];
  const maps = [];
  const fds = [];
  let proc = sys.process("soak", { dmabufLimitBytes: 16 * MIB });
  let heapFd = proc.open("/dev/dma_heap/system", O_RDWR);
  const takeAt = (list) => list.splice(rnd.int(list.length), 1)[0];
  const counts = { ok: 0, null: 0, err: 0 };
  const rows = [];
  let peakHeap = 0;
  const t0 = performance.now();
  let tLast = t0;
  let opsLast = 0;
  const startHeap = process.memoryUsage().heapUsed;
  const freePages0 = sys.stats().nrFreePages;

  for (let i = 1; i <= OPS; i++) {
    const r = rnd.int(100);
    try {
      let got = true;
      if (r < 30) {
        if (blocks.length < LIVE_CAP && rnd.int(2) === 0) {
          const order = rnd.int(4);
          const pfn = sys.allocPages(order, rnd.int(3) === 0 ? "reclaimable" : "unmovable");
          if (pfn === null) got = false;
          else blocks.push([pfn, order]);
        } else if (blocks.length > 0) {
          const [pfn, order] = takeAt(blocks);
          sys.freePages(pfn, order);
        }
      } else if (r < 50) {
        if (pages.length < LIVE_CAP && rnd.int(2) === 0) {
          const page = sys.allocMovable(rnd.int(2));
          if (page) pages.push(page);
          else got = false;
        } else if (pages.length > 0) {
          if (rnd.int(3) === 0) pages[rnd.int(pages.length)].migrate();
          else takeAt(pages).free();
        }
      } else if (r < 60) {
        if (cma.length < 64 && rnd.int(2) === 0) {
          const count = 1 + rnd.int(64);
          const pfn = area.alloc(count, rnd.int(4));
          if (pfn === null) got = false;
          else cma.push([pfn, count]);
        } else if (cma.length > 0) {
          const [pfn, count] = takeAt(cma);
          area.release(pfn, count);
        }
      } else if (r < 85) {
        if (maps.length < 256 && blocks.length > 0 && rnd.int(2) === 0) {
          const [pfn] = blocks[rnd.int(blocks.length)];
          const dev = rnd.int(2) === 0 ? gpu : isa;
          const size = 1 + rnd.int(PAGE);
          const addr = dev.dmaMapPage(pfn, 0, size, "bidirectional");
          if (dev.dmaMappingError(addr)) got = false;
          else maps.push([dev, addr, size, pfn]);
        } else if (maps.length > 0) {
          const [dev, addr, size] = takeAt(maps);
          dev.dmaUnmapPage(addr, size, "bidirectional");
        }
      } else if (r < 97) {
        if (fds.length < 32 && rnd.int(2) === 0) {
          const len = (1 + rnd.int(64)) * PAGE;
          const { fd } = proc.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags: O_RDWR, heapFlags: 0 });
          fds.push(fd);
          if (rnd.int(4) === 0) {
            const map = proc.mmap(fd, len, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
            map.fill(i & 0xff, 0, Math.min(len, 256));
            map.munmap();
          }
        } else if (fds.length > 0) {
          proc.close(takeAt(fds));
        }
      } else if (r < 99) {
        const start = rnd.int(sys.nrPages - 64);
        if (sys.allocContigRange(start, start + 16) === 0) sys.freeContigRange(start, 16);
        else got = false;
      } else {
        // A process exits with whatever it holds; a new one takes its place.
        proc.exit();
        fds.length = 0;
        proc = sys.process("soak", { dmabufLimitBytes: 16 * MIB });
        heapFd = proc.open("/dev/dma_heap/system", O_RDWR);
      }
      counts[got ? "ok" : "null"]++;
    } catch (e) {
      if (e?.name !== "DmaSimError") throw e;
      counts.err++;
    }
    if (i % CHECK_EVERY === 0) sys.check();
    if (i % REPORT_EVERY === 0 || i === OPS) {
      const now = performance.now();
      const mem = process.memoryUsage();
      peakHeap = Math.max(peakHeap, mem.heapUsed);
      rows.push({
        backend,
        ops: i,
        "ops/s": Math.round((i - opsLast) / ((now - tLast) / 1000)),
        "heapUsed MiB": mb(mem.heapUsed),
        "rss MiB": mb(mem.rss),
        "arrayBuffers MiB": mb(mem.arrayBuffers),
        live: blocks.length + pages.length + cma.length + maps.length + fds.length,
      });
      console.log(Object.values(rows.at(-1)).join("\t"));
      tLast = now;
      opsLast = i;
    }
  }
  // Everything back: the machine is whole again.
  for (const [dev, addr, size] of maps) dev.dmaUnmapPage(addr, size, "bidirectional");
  for (const [pfn, order] of blocks) sys.freePages(pfn, order);
  for (const page of pages) page.free();
  for (const [pfn, count] of cma) area.release(pfn, count);
  proc.exit();
  sys.check();
  const seconds = (performance.now() - t0) / 1000;
  return {
    backend,
    ops: OPS,
    seconds: seconds.toFixed(1),
    "ops/s": Math.round(OPS / seconds),
    ...counts,
    injected: sys.faultInjection.injected("failPageAlloc"),
    "start heap MiB": mb(startHeap),
    "peak heap MiB": mb(peakHeap),
    "end heap MiB": mb(process.memoryUsage().heapUsed),
    "free pages back": sys.stats().nrFreePages === freePages0,
    rows,
  };
}

console.log(`soak: ${OPS} operations per backend, seed ${SEED}, check() every ${CHECK_EVERY}`);
console.log(["backend", "ops", "ops/s", "heapUsed MiB", "rss MiB", "arrayBuffers MiB", "live"].join("\t"));
const results = [];
for (const backend of BACKENDS) results.push(await soak(backend));
console.table(results.map(({ rows: _rows, ...r }) => r));
if (results.some((r) => !r["free pages back"])) {
  console.error("soak: free pages did not return to their initial count");
  process.exit(1);
}
