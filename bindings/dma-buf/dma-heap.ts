/**
 * DMA-BUF heaps (drivers/dma-buf/dma-heap.c, heaps/system_heap.c,
 * heaps/cma_heap.c): named allocators that hand out dma-bufs. The system heap
 * gathers pages of orders 8, 4 and 0; each CMA area gets a heap of physically
 * contiguous buffers. Both zero what they hand out.
 *
 * Userspace reaches them as /dev/dma_heap/<name> (uapi/process.ts); drivers
 * call DmaHeap.bufferAlloc() directly.
 */
import { cmaAlignOrder, type CmaArea } from "../mm/cma.ts";
import type { DmaDirection } from "../dma/device.ts";
import {
  DmaBuf,
  DmaBufAttachment,
  DmaBufMap,
  dmaBufExport,
  pfnAt,
  zeroRuns,
  type DmaBufOps,
  type PageRun,
  type VmArea,
} from "./dma-buf.ts";
import { DmaSimError, ERRNO } from "../core/errors.ts";
import { requireInt } from "../core/validate.ts";
import { SgTable, sgAllocTableFromPages } from "../lib/scatterlist.ts";
import type { Mm } from "../mm/mm.ts";
import { DMA_HEAP_VALID_FD_FLAGS, DMA_HEAP_VALID_HEAP_FLAGS } from "../uapi/linux/dma-heap.ts";
import { pageAlign } from "../core/units.ts";

/** struct dma_heap_ops */
export interface DmaHeapOps {
  /** allocate(): a dma-buf of `len` bytes (page-aligned), or a DmaSimError (ENOMEM). */
  allocate(heap: DmaHeap, len: number, fdFlags: number, heapFlags: number): DmaBuf;
}

/** Counters of one heap. */
export interface DmaHeapStats {
  /** Buffers handed out. */
  allocations: number;
  /** Allocations refused (no memory). */
  failures: number;
  /** Buffers alive, and their bytes. */
  liveBuffers: number;
  liveBytes: number;
  /** Blocks taken per order (the system heap: orders 8, 4 and 0), over all allocations. */
  blocksByOrder: Record<number, number>;
}

/** struct dma_heap: /dev/dma_heap/<name>. */
export class DmaHeap {
  readonly stats: DmaHeapStats = { allocations: 0, failures: 0, liveBuffers: 0, liveBytes: 0, blocksByOrder: {} };

  /** @internal Use dmaHeaps(). */
  constructor(
    readonly sys: Mm,
    /** The heap's name: its device node and the exp_name of its buffers. */
    readonly name: string,
    readonly ops: DmaHeapOps,
    /** dma_heap_get_drvdata(): the CMA area of a CMA heap, else null. */
    readonly priv: CmaArea | null,
    /**
     * dmasim: the processes (by name) that may open the device node, as its
     * permissions would allow; null lets everyone in.
     */
    readonly users: readonly string[] | null,
  ) {}

  /** The device node's path. */
  get path(): string {
    return `/dev/dma_heap/${this.name}`;
  }

  /**
   * dma_heap_buffer_alloc(): `len` rounded up to whole pages (0 → EINVAL), with
   * the fd flags and heap flags checked as dma_heap_ioctl_allocate() does.
   * Returns the buffer holding one reference (for dma_buf_fd() or a driver).
   */
  bufferAlloc(len: number, fdFlags = 2, heapFlags = 0): DmaBuf {
    const where = "dma_heap_buffer_alloc";
    requireInt(where, "len", len, 0, Number.MAX_SAFE_INTEGER);
    requireInt(where, "fdFlags", fdFlags, 0, 0xffffffff);
    requireInt(where, "heapFlags", heapFlags, 0, Number.MAX_SAFE_INTEGER);
    if (fdFlags & ~DMA_HEAP_VALID_FD_FLAGS)
      throw new DmaSimError("EINVAL", `${where}: fd flags 0x${fdFlags.toString(16)} beyond O_CLOEXEC | O_ACCMODE`);
    if (heapFlags !== DMA_HEAP_VALID_HEAP_FLAGS)
      throw new DmaSimError("EINVAL", `${where}: no heap flags are defined, got 0x${heapFlags.toString(16)}`);
    const page = this.sys.pageSize;
    const size = pageAlign(len, page);
    if (size === 0) throw new DmaSimError("EINVAL", `${where}: len is 0`);
    try {
      const buf = this.ops.allocate(this, size, fdFlags, heapFlags);
      this.stats.allocations++;
      this.stats.liveBuffers++;
      this.stats.liveBytes += buf.size;
      return buf;
    } catch (e) {
      this.stats.failures++;
      throw e;
    }
  }
}

// ---- the buffers both heaps hand out ---------------------------------------------------------------

/** struct dma_heap_attachment: a table of its own per attachment. */
interface HeapAttachment {
  table: SgTable;
  mapped: boolean;
}

/** struct system_heap_buffer / struct cma_heap_buffer */
interface HeapBuffer {
  heap: DmaHeap;
  len: number;
  /** The pages, in buffer order. */
  runs: PageRun[];
  /** Mm heap: the blocks and their orders (one sg entry each). */
  blocks: { pfn: number; order: number }[];
  /** CMA heap: the first pfn and page count, for cma_release(). */
  cma: { area: CmaArea; pfn: number; count: number } | null;
  attachments: { dev: DmaBufAttachment["dev"]; a: HeapAttachment }[];
  vmapCnt: number;
}

function heapAtt(att: DmaBufAttachment): HeapAttachment {
  return att.priv as HeapAttachment;
}

/** The ops the system and CMA heaps share; they differ in tables, mmap and release. */
function heapOps(kind: "system" | "cma"): DmaBufOps {
  const buffer = (dmabuf: DmaBuf) => dmabuf.priv as HeapBuffer;
  const sync = (dmabuf: DmaBuf, dir: DmaDirection, forCpu: boolean) => {
    // invalidate/flush_kernel_vmap_range(): the vmap goes through the same cache model, nothing to do.
    for (const { dev, a } of buffer(dmabuf).attachments) {
      if (!a.mapped) continue;
      if (forCpu) dev.dmaSyncSgForCpu(a.table, a.table.origNents, dir);
      else dev.dmaSyncSgForDevice(a.table, a.table.origNents, dir);
    }
  };
  return {
    /** system_heap_attach() (dup_sg_table()) / cma_heap_attach() (sg_alloc_table_from_pages()). */
    attach(dmabuf, att) {
      const b = buffer(dmabuf);
      const sys = dmabuf.sys;
      let table: SgTable;
      if (kind === "system") {
        table = new SgTable(
          b.blocks.map((blk) => ({ pfn: blk.pfn, offset: 0, length: sys.pageSize * 2 ** blk.order })),
          sys.pageSize,
        );
      } else {
        const pfns = Array.from({ length: b.cma!.count }, (_, i) => b.cma!.pfn + i);
        table = sgAllocTableFromPages(pfns, 0, b.cma!.count * sys.pageSize, undefined, { system: sys });
      }
      const a: HeapAttachment = { table, mapped: false };
      att.priv = a;
      b.attachments.unshift({ dev: att.dev, a });
    },
    detach(dmabuf, att) {
      const b = buffer(dmabuf);
      b.attachments.splice(
        b.attachments.findIndex((x) => x.a === heapAtt(att)),
        1,
      );
    },
    /** dma_map_sgtable() of the attachment's table on its device. */
    mapDmaBuf(att, dir) {
      const a = heapAtt(att);
      const ret = att.dev.dmaMapSgtable(a.table, dir);
      if (ret < 0) {
        // The system heap passes the DMA API's error on; the CMA heap says ENOMEM.
        throw DmaSimError.fromErrno(
          kind === "cma" ? -ERRNO.ENOMEM : ret,
          `${kind}_heap_map_dma_buf: dma_map_sgtable() on ${att.dev.name} failed`,
        );
      }
      a.mapped = true;
      return a.table;
    },
    unmapDmaBuf(att, sgt, dir) {
      heapAtt(att).mapped = false;
      att.dev.dmaUnmapSgtable(sgt, dir);
    },
    /** dma_sync_sgtable_for_cpu() on every mapped attachment. */
    beginCpuAccess(dmabuf, dir) {
      sync(dmabuf, dir, true);
    },
    /** dma_sync_sgtable_for_device() on every mapped attachment. */
    endCpuAccess(dmabuf, dir) {
      sync(dmabuf, dir, false);
    },
    mmap(dmabuf, vma: VmArea) {
      const b = buffer(dmabuf);
      if (kind === "cma") {
        // cma_heap_mmap(): shared mappings only; pages come in by cma_heap_vm_fault().
        if (!vma.shared) throw new DmaSimError("EINVAL", "cma_heap_mmap: MAP_PRIVATE is not supported");
        vma.privateData = b;
        vma.fault = (_vma, pgoff) => (pgoff >= b.cma!.count ? null : b.cma!.pfn + pgoff);
        return;
      }
      // system_heap_mmap(): remap_pfn_range() page by page, at once. On a
      // private (copy-on-write) mapping remap_pfn_range() must cover the whole
      // vma in one call, so anything beyond one page is EINVAL.
      if (!vma.shared && vma.pages > 1)
        throw new DmaSimError(
          "EINVAL",
          "system_heap_mmap: remap_pfn_range() of a private mapping must map the whole vma at once",
        );
      for (let i = 0; i < vma.pages; i++) vma.insertPfn(i, pfnAt(b.runs, vma.pgoff + i));
    },
    vmap(dmabuf) {
      const b = buffer(dmabuf);
      b.vmapCnt++;
      return new DmaBufMap(dmabuf.sys, b.runs, b.len);
    },
    vunmap(dmabuf) {
      buffer(dmabuf).vmapCnt--;
    },
    /** The ION-era map op (dma_buf_kmap()): the page itself, lowmem needing no mapping. */
    kmap(dmabuf, pageNum) {
      return pfnAt(buffer(dmabuf).runs, pageNum);
    },
    release(dmabuf) {
      const b = buffer(dmabuf);
      const sys = dmabuf.sys;
      sys.pageHolds.unholdRuns(b.runs);
      if (b.cma) b.cma.area.release(b.cma.pfn, b.cma.count);
      else for (const blk of b.blocks) sys.freePages(blk.pfn, blk.order);
      b.heap.stats.liveBuffers--;
      b.heap.stats.liveBytes -= dmabuf.size;
    },
    hash(dmabuf, h) {
      const b = buffer(dmabuf);
      h.list(b.runs, (r) => h.num(r.pfn).num(r.pages)).num(b.vmapCnt);
      h.list(b.attachments, ({ dev, a }) => {
        h.str(dev.name).bool(a.mapped).num(a.table.nents);
        h.list(a.table.entries, (e) =>
          h
            .num(e.pfn)
            .num(e.length)
            .num(e.dmaAddress ?? -1)
            .num(e.dmaLength ?? -1),
        );
      });
    },
    check(dmabuf) {
      const b = buffer(dmabuf);
      const sys = dmabuf.sys;
      for (const blk of b.blocks) {
        const info = sys.pageInfo(blk.pfn);
        if (info.state !== "allocated" || info.order !== blk.order)
          return `system heap block at pfn ${blk.pfn} is not an order-${blk.order} allocation`;
      }
      if (b.cma) {
        for (const pfn of [b.cma.pfn, b.cma.pfn + b.cma.count - 1]) {
          const info = sys.pageInfo(pfn);
          if (info.state === "free" || !info.cma) return `CMA heap page ${pfn} is not a CMA allocation`;
        }
      }
      return "";
    },
  };
}

const SYSTEM_OPS = heapOps("system");
const CMA_OPS = heapOps("cma");

/** The system heap's orders: 1 MiB, 64 KiB and 4 KiB blocks with 4 KiB pages, sizes IOMMUs map well. */
export const SYSTEM_HEAP_ORDERS = [8, 4, 0] as const;

/**
 * The block loop of system_heap_allocate(): `pages` pages as the largest blocks that
 * fit what is left (orders 8, 4, 0; never above the last order that succeeded; each
 * try is alloc_largest_available()), GFP_HIGHUSER (unmovable). The high orders use
 * HIGH_ORDER_GFP, which drops __GFP_RECLAIM: they never compact, they fall back to
 * smaller blocks. null, with everything given back, when even a page is refused.
 */
/** HIGH_ORDER_GFP: __GFP_NORETRY and no __GFP_RECLAIM, so no direct compaction. */
const NO_RECLAIM = { noretry: true, compact: false } as const;

export function allocLargestBlocks(sys: Mm, pages: number): { pfn: number; order: number }[] | null {
  const blocks: { pfn: number; order: number }[] = [];
  let left = pages;
  let maxOrder: number = SYSTEM_HEAP_ORDERS[0];
  while (left > 0) {
    let got: { pfn: number; order: number } | null = null;
    for (const order of SYSTEM_HEAP_ORDERS) {
      if (left < 2 ** order || maxOrder < order || order > sys.maxOrder) continue;
      const pfn = order > 0 ? sys.allocPages(order, "unmovable", NO_RECLAIM) : sys.allocPages(order, "unmovable");
      if (pfn === null) continue;
      got = { pfn, order };
      break;
    }
    if (!got) {
      for (const b of blocks) sys.freePages(b.pfn, b.order);
      return null;
    }
    blocks.push(got);
    left -= 2 ** got.order;
    maxOrder = got.order;
  }
  return blocks;
}

/** The kzalloc(GFP_KERNEL) of a heap buffer: ENOMEM when failslab injects a failure. */
function failslab(sys: Mm, where: string): void {
  const f = sys.faultInjection;
  if (f.enabled && f.shouldFail("failslab", { size: 1, mayWait: true }))
    throw new DmaSimError("ENOMEM", `${where}: kzalloc() of the buffer failed (failslab)`);
}

/** system_heap_allocate(): allocLargestBlocks() of the (page-aligned) length, zeroed. ENOMEM when that fails. */
function systemHeapAllocate(heap: DmaHeap, len: number, fdFlags: number): DmaBuf {
  const sys = heap.sys;
  failslab(sys, "system_heap_allocate");
  const blocks = allocLargestBlocks(sys, len / sys.pageSize);
  if (!blocks) throw new DmaSimError("ENOMEM", `system_heap_allocate: no memory for ${len} bytes`);
  const runs = blocks.map((b) => ({ pfn: b.pfn, pages: 2 ** b.order }));
  for (const b of blocks) heap.stats.blocksByOrder[b.order] = (heap.stats.blocksByOrder[b.order] ?? 0) + 1;
  zeroRuns(sys, runs);
  const buffer: HeapBuffer = { heap, len, runs, blocks, cma: null, attachments: [], vmapCnt: 0 };
  sys.pageHolds.holdRuns(runs, "dma-buf");
  return dmaBufExport(sys, { expName: heap.name, size: len, ops: SYSTEM_OPS, flags: fdFlags, priv: buffer });
}

/** cma_heap_allocate(): cma_alloc() of the pages, aligned to their order (at most CONFIG_CMA_ALIGNMENT, 8), zeroed. */
function cmaHeapAllocate(heap: DmaHeap, len: number, fdFlags: number): DmaBuf {
  const sys = heap.sys;
  failslab(sys, "cma_heap_allocate");
  const area = heap.priv!;
  const count = len / sys.pageSize;
  const pfn = area.alloc(count, cmaAlignOrder(count));
  if (pfn === null)
    throw new DmaSimError("ENOMEM", `cma_heap_allocate: cma_alloc() of ${count} pages from "${area.name}" failed`);
  const runs = [{ pfn, pages: count }];
  zeroRuns(sys, runs);
  const buffer: HeapBuffer = { heap, len, runs, blocks: [], cma: { area, pfn, count }, attachments: [], vmapCnt: 0 };
  sys.pageHolds.holdRuns(runs, "dma-buf");
  return dmaBufExport(sys, { expName: heap.name, size: len, ops: CMA_OPS, flags: fdFlags, priv: buffer });
}

const HEAPS = new WeakMap<Mm, DmaHeap[]>();

/**
 * The heaps of a machine (dma_heap_add() at boot): "system", then one per CMA
 * area named after it (cma_get_name()), whose users are the area's `heapUsers`.
 */
export function dmaHeaps(sys: Mm): readonly DmaHeap[] {
  let heaps = HEAPS.get(sys);
  if (!heaps) {
    heaps = [new DmaHeap(sys, "system", { allocate: systemHeapAllocate }, null, null)];
    for (const area of sys.cmaAreas) {
      if (area.name === "system") continue; // dma_heap_add() refuses a second heap of that name
      heaps.push(
        new DmaHeap(sys, area.name, { allocate: cmaHeapAllocate }, area, sys.cmaHeapUsers.get(area.name) ?? null),
      );
    }
    HEAPS.set(sys, heaps);
  }
  return heaps;
}

/** dma_heap_find(): the heap named `name`, or null. */
export function dmaHeapFind(sys: Mm, name: string): DmaHeap | null {
  return dmaHeaps(sys).find((h) => h.name === name) ?? null;
}
