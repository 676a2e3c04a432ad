/**
 * The `heap` operations of a Lab run: userspace processes allocating dma-bufs
 * from the system heap and the CMA heaps through their device nodes, mapping
 * and touching them, handing them to importer devices, and letting go of them,
 * all through the uapi a C program uses (open, ioctl, mmap, close) and the
 * kernel API a driver uses (dma_buf_get, attach, map, unmap, detach, put).
 *
 * The runner draws every random number (the size, the hold time); this module
 * only acts and counts, so runs stay deterministic.
 */
import { DmaSimError } from "../core/errors.ts";
import type { HeapSample } from "./metrics.ts";
import type { ImportDir, Op, Scenario } from "./scenario.ts";
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  type DmaBuf,
  type DmaBufAttachment,
  type DmaHeap,
  dmaHeapFind,
  MAP_SHARED,
  type Mapping,
  O_CLOEXEC,
  O_RDWR,
  type Process,
  PROT_READ,
  PROT_WRITE,
  type SgTable,
  type System,
  SYSTEM_HEAP_ORDERS,
} from "../index.ts";
import { pageAlign } from "../core/units.ts";

type HeapOp = Extract<Op, { kind: "heap" }>;

interface ProcState {
  proc: Process;
  /** Heap device nodes opened so far: heap name → fd. */
  heapFds: Map<string, number>;
  requests: number;
  failed: number;
  overLimit: number;
  /** Bytes of the process's live buffers (what it is charged for), and the most it reached. */
  liveBytes: number;
  peakBytes: number;
}

interface HeapState {
  heap: DmaHeap;
  requests: number;
  failed: number;
  /** Bytes handed out over the run. */
  bytes: number;
  peakBytes: number;
  /** System heap: chunks handed out per order of SYSTEM_HEAP_ORDERS. */
  chunks: number[];
  /**
   * System heap, by phase (in run order): order-8 blocks obtained, and the
   * order-8 blocks the buffers' sizes called for (what an unfragmented
   * machine would have given).
   */
  top: Map<string, { got: number; wanted: number }>;
}

interface ImporterState {
  /** The driver takes only buffers mapped to one contiguous range of DMA addresses. */
  contiguous: boolean;
  imports: number;
  failed: number;
  segments: number;
}

interface Imported {
  buf: DmaBuf;
  att: DmaBufAttachment;
  sgt: SgTable;
  dir: ImportDir;
}

const ONE_BYTE = new Uint8Array([0x5a]);

/** Pages per chunk as an index into SYSTEM_HEAP_ORDERS, or -1. */
function orderIndex(pages: number): number {
  return SYSTEM_HEAP_ORDERS.findIndex((o) => 2 ** o === pages);
}

function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10;
}

/**
 * drm_prime_get_contiguous_size() covers the whole table: each mapped segment
 * starts where the one before ended (one physical run under direct mapping,
 * one IOVA range behind an IOMMU).
 */
function dmaContiguous(sgt: SgTable): boolean {
  let next = -1;
  for (let i = 0; i < sgt.nents; i++) {
    const e = sgt.entries[i]!;
    if (next >= 0 && e.dmaAddress !== next) return false;
    next = e.dmaAddress! + e.dmaLength!;
  }
  return true;
}

/** The heap operations' processes, heaps and importers, and their counters. */
export class HeapWorkload {
  private readonly procs = new Map<string, ProcState>();
  private readonly heaps = new Map<string, HeapState>();
  private readonly importers = new Map<string, ImporterState>();
  private readonly totals = { requests: 0, failed: 0, nomem: 0, limit: 0, nofile: 0, released: 0, mmaps: 0, faults: 0 };
  private readonly usesMmap: boolean;
  private readonly usesTouch: boolean;

  /** null when the scenario has no heap operations. */
  static create(sys: System, scenario: Scenario): HeapWorkload | null {
    const ops = scenario.phases.flatMap((p) => p.mix).filter((o): o is HeapOp => o.kind === "heap");
    return ops.length === 0 ? null : new HeapWorkload(sys, scenario, ops);
  }

  private constructor(
    private readonly sys: System,
    scenario: Scenario,
    ops: HeapOp[],
  ) {
    for (const p of scenario.processes) {
      const proc = sys.process(p.name, p.dmabufLimitBytes === null ? {} : { dmabufLimitBytes: p.dmabufLimitBytes });
      this.procs.set(p.name, {
        proc,
        heapFds: new Map(),
        requests: 0,
        failed: 0,
        overLimit: 0,
        liveBytes: 0,
        peakBytes: 0,
      });
    }
    // The heaps in use: the system heap first, then the CMA heaps in area order.
    const used = new Set(ops.map((o) => o.heap));
    for (const name of ["system", ...scenario.areas.map((a) => a.name)]) {
      if (!used.has(name) || this.heaps.has(name)) continue;
      const heap = dmaHeapFind(sys, name);
      if (!heap) throw new DmaSimError("EINVAL", `heap "${name}": no /dev/dma_heap/${name} on this machine`);
      this.heaps.set(name, {
        heap,
        requests: 0,
        failed: 0,
        bytes: 0,
        peakBytes: 0,
        chunks: SYSTEM_HEAP_ORDERS.map(() => 0),
        top: new Map(),
      });
    }
    for (const d of scenario.devices) {
      if (d.kind === "importer")
        this.importers.set(d.name, { contiguous: d.contiguous, imports: 0, failed: 0, segments: 0 });
    }
    this.usesMmap = ops.some((o) => o.mmap);
    this.usesTouch = ops.some((o) => o.touch);
  }

  /**
   * One DMA_HEAP_IOCTL_ALLOC of `len` bytes, then the mapping, touching and
   * imports the operation asks for. Returns what lets go of the buffer, or
   * null when the allocation failed.
   */
  alloc(op: HeapOp, len: number, phase: string): (() => void) | null {
    const ps = this.procs.get(op.process)!;
    const hs = this.heaps.get(op.heap)!;
    const { proc } = ps;
    this.totals.requests++;
    ps.requests++;
    hs.requests++;
    let heapFd = ps.heapFds.get(op.heap);
    if (heapFd === undefined) {
      heapFd = proc.open(`/dev/dma_heap/${op.heap}`, O_RDWR | O_CLOEXEC);
      ps.heapFds.set(op.heap, heapFd);
    }
    const heapFailures = hs.heap.stats.failures;
    let fd: number;
    try {
      fd = proc.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags: O_RDWR | O_CLOEXEC, heapFlags: 0 }).fd;
    } catch (e) {
      if (!(e instanceof DmaSimError) || (e.code !== "ENOMEM" && e.code !== "EMFILE")) throw e;
      this.totals.failed++;
      ps.failed++;
      hs.failed++;
      if (e.code === "EMFILE") this.totals.nofile++;
      else if (hs.heap.stats.failures > heapFailures) this.totals.nomem++;
      else {
        // Refused before the heap was asked: the process's dma-buf limit.
        this.totals.limit++;
        ps.overLimit++;
      }
      return null;
    }
    const size = pageAlign(len, this.sys.pageSize);
    ps.liveBytes += size;
    ps.peakBytes = Math.max(ps.peakBytes, ps.liveBytes);
    hs.bytes += size;
    hs.peakBytes = Math.max(hs.peakBytes, hs.heap.stats.liveBytes);
    if (op.heap === "system") this.countChunks(proc, fd, size, hs, phase);

    let mapping: Mapping | null = null;
    if (op.mmap) {
      mapping = proc.mmap(fd, size, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      this.totals.mmaps++;
      if (op.touch) {
        proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE });
        for (let off = 0; off < size; off += this.sys.pageSize) mapping.write(off, ONE_BYTE);
        proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE });
      }
    }
    const imported: Imported[] = [];
    for (const im of op.imports) {
      const got = this.import(proc, fd, im.device, im.dir);
      if (got) imported.push(got);
    }

    return () => {
      for (const { buf, att, sgt, dir } of imported.reverse()) {
        buf.unmapAttachment(att, sgt, dir);
        buf.detach(att);
        buf.put();
      }
      if (mapping) {
        this.totals.faults += mapping.faults;
        mapping.munmap();
      }
      proc.close(fd); // the last reference: the heap frees the buffer
      ps.liveBytes -= size;
      this.totals.released++;
    };
  }

  /** The system heap's blocks, as its vmap() lays them out: one run per block. */
  private countChunks(proc: Process, fd: number, size: number, hs: HeapState, phase: string): void {
    const buf = proc.dmaBufGet(fd);
    const map = buf.vmap();
    let top = hs.top.get(phase);
    if (!top) hs.top.set(phase, (top = { got: 0, wanted: 0 }));
    const topOrder = SYSTEM_HEAP_ORDERS[0];
    if (topOrder <= this.sys.maxOrder) top.wanted += Math.floor(size / this.sys.pageSize / 2 ** topOrder);
    for (const run of map.runs) {
      const i = orderIndex(run.pages);
      if (i < 0)
        throw new DmaSimError(
          "EUCLEAN",
          `system heap: a block of ${run.pages} pages is not of orders ${SYSTEM_HEAP_ORDERS.join(", ")}`,
        );
      hs.chunks[i]!++;
      if (i === 0) top.got++;
    }
    buf.vunmap(map);
    buf.put();
  }

  /** A driver imports the buffer the process passed it: dma_buf_get(), attach, map. */
  private import(proc: Process, fd: number, device: string, dir: ImportDir): Imported | null {
    const st = this.importers.get(device)!;
    const dev = this.sys.device(device);
    st.imports++;
    const buf = proc.dmaBufGet(fd);
    let att: DmaBufAttachment | null = null;
    try {
      att = buf.attach(dev);
      const sgt = buf.mapAttachment(att, dir);
      if (st.contiguous && !dmaContiguous(sgt)) {
        // drm_gem_dma_prime_import_sg_table(): the buffer must be one range of DMA addresses.
        buf.unmapAttachment(att, sgt, dir);
        throw new DmaSimError("EINVAL", `${device}: the buffer is not contiguous in DMA address space`);
      }
      st.segments += sgt.nents;
      return { buf, att, sgt, dir };
    } catch (e) {
      if (!(e instanceof DmaSimError)) throw e;
      st.failed++;
      if (att) buf.detach(att);
      buf.put();
      return null;
    }
  }

  /** Per-heap figures for a metrics sample. */
  sample(): HeapSample[] {
    return [...this.heaps].map(([name, hs]) => ({
      name,
      liveBytes: hs.heap.stats.liveBytes,
      allocs: hs.requests - hs.failed,
      failed: hs.failed,
      chunks: name === "system" ? [...hs.chunks] : [],
    }));
  }

  /** The summary's heap, process and importer figures, appended to `out` in a fixed order. */
  summarize(out: Record<string, number>): void {
    const t = this.totals;
    out["heap.requests"] = t.requests;
    out["heap.failed"] = t.failed;
    out["heap.failed.nomem"] = t.nomem;
    out["heap.failed.limit"] = t.limit;
    out["heap.failed.nofile"] = t.nofile;
    out["heap.released"] = t.released;
    if (this.usesMmap) out["heap.mmaps"] = t.mmaps;
    if (this.usesTouch) out["heap.faults"] = t.faults;
    for (const [name, hs] of this.heaps) {
      const p = `heap.${name}`;
      out[`${p}.requests`] = hs.requests;
      out[`${p}.failed`] = hs.failed;
      out[`${p}.successPct`] = hs.requests === 0 ? 100 : pct(hs.requests - hs.failed, hs.requests);
      out[`${p}.bytes`] = hs.bytes;
      out[`${p}.peakBytes`] = hs.peakBytes;
      out[`${p}.liveBytes`] = hs.heap.stats.liveBytes;
      if (name !== "system") continue;
      SYSTEM_HEAP_ORDERS.forEach((order, i) => (out[`${p}.order${order}`] = hs.chunks[i]!));
      // Order-8 blocks obtained per order-8 block the sizes called for: 100 on an unfragmented machine.
      const key = `${p}.order${SYSTEM_HEAP_ORDERS[0]}HitPct`;
      const hit = (x: { got: number; wanted: number }) => (x.wanted === 0 ? 100 : pct(x.got, x.wanted));
      const phases = [...hs.top.values()];
      out[key] = hit({ got: phases.reduce((a, x) => a + x.got, 0), wanted: phases.reduce((a, x) => a + x.wanted, 0) });
      for (const [phase, x] of hs.top) out[`${key}.${phase}`] = hit(x);
    }
    for (const [name, ps] of this.procs) {
      const p = `process.${name}`;
      out[`${p}.requests`] = ps.requests;
      out[`${p}.failed`] = ps.failed;
      out[`${p}.overLimit`] = ps.overLimit;
      out[`${p}.peakBytes`] = ps.peakBytes;
      out[`${p}.chargedBytes`] = ps.proc.accounting().chargedBytes;
    }
    for (const [name, st] of this.importers) {
      const p = `device.${name}`;
      const ok = st.imports - st.failed;
      out[`${p}.imports`] = st.imports;
      out[`${p}.importsFailed`] = st.failed;
      out[`${p}.segmentsPerImport`] = ok === 0 ? 0 : Math.round((st.segments * 10) / ok) / 10;
    }
  }
}
