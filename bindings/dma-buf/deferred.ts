/**
 * A reference exporter with deferred allocation and backing negotiation, the
 * design the seed threads argued for: the buffer gets no memory at export; the
 * first use that needs pages (a map, a pin, a CPU access, a page fault) picks
 * storage every attached device can reach:
 *
 *   - a device without an IOMMU needs physically contiguous memory below its
 *     DMA mask: CMA (the device's own area, else the exporter's, else the
 *     global one), or a high-order block from the page allocator;
 *   - devices behind an IOMMU reach anything: scattered pages of orders 8, 4, 0.
 *
 * When a stricter device attaches after allocation, the exporter migrates:
 * new backing, user mappings zapped, data copied, dynamic importers told
 * (move_notify) and their mappings dropped, old backing freed.
 *
 * The kernel would wait for outstanding mappings here. A single-threaded
 * simulation cannot wait, so the rule is the one dma_buf_dynamic_attach()
 * documents for storage that cannot move: the attach fails with EBUSY, and
 * nothing changes, while the backing is pinned: by a static importer (a
 * dynamic exporter maps and pins those from attach to detach), a dma_buf_pin(),
 * a vmap or a kmap. Dynamic importers' mappings do not pin
 * (CONFIG_DMABUF_MOVE_NOTIFY). Detaching the strict device does not move the
 * buffer back.
 */
import { cmaAlignOrder, type CmaArea } from "../mm/cma.ts";
import type { Device, DmaDirection } from "../dma/device.ts";
import { DmaBuf, DmaBufMap, copyRuns, dmaBufExport, pfnAt, zeroRuns, type DmaBufOps, type PageRun } from "./dma-buf.ts";
import { allocLargestBlocks } from "./dma-heap.ts";
import { orderOfPages, pageAlign, pfnUp } from "../core/units.ts";
import { DmaSimError } from "../core/errors.ts";
import { requireInt, requireObject } from "../core/validate.ts";
import { SgTable } from "../lib/scatterlist.ts";
import type { Mm, ZoneName } from "../mm/mm.ts";
import { O_RDWR } from "../uapi/linux/fcntl.ts";

export interface DeferredDmaBufOptions {
  /** Bytes; rounded up to whole pages. */
  size: number;
  /** exp_name. Default "deferred". */
  expName?: string;
  /** CMA area for contiguous backings when no constraining device has its own. Default: the first (global) area. */
  cmaArea?: string;
  /** File flags of the dma-buf. Default O_RDWR. */
  flags?: number;
}

/** Where the backing lives. */
export type DeferredPlacement = "none" | "pages" | "cma" | "contiguous-pages";

/** What a deferred buffer did. */
export interface DeferredStats {
  /** Backings allocated (the first, and one per migration). */
  allocations: number;
  migrations: number;
  /** Bytes copied by migrations (a CPU copy each). */
  bytesCopied: number;
  /** Attaches refused because the backing was pinned. */
  refusedAttaches: number;
}

/** The constraints of a set of devices on physical placement. */
export interface PlacementConstraints {
  /** Some device has no IOMMU: one physically contiguous run. */
  contiguous: boolean;
  /** The highest physical address every direct-mapped device reaches (Infinity: none constrains). */
  limit: number;
  /** The CMA area of the first constraining device that has one. */
  area: CmaArea | null;
}

/** The placement constraints of `devices`. */
export function placementConstraints(devices: readonly Device[]): PlacementConstraints {
  const direct = devices.filter((d) => !d.iommu);
  return {
    contiguous: direct.length > 0,
    limit: direct.reduce((m, d) => Math.min(m, d.dmaLimit), Infinity),
    area: direct.find((d) => d.cmaArea)?.cmaArea ?? null,
  };
}

interface Backing {
  placement: Exclude<DeferredPlacement, "none">;
  runs: PageRun[];
  /** Blocks to give back: buddy blocks (pfn, order) or one CMA range. */
  blocks: { pfn: number; order: number }[];
  cma: { area: CmaArea; pfn: number; count: number } | null;
}

interface DeferredBuffer {
  sys: Mm;
  size: number;
  cmaArea: CmaArea | null;
  backing: Backing | null;
  /** Pins: static importers' and dma_buf_pin()'s. */
  pins: number;
  /** Tables mapped, and on which device. */
  mapped: Map<SgTable, Device>;
  stats: DeferredStats;
}

function contiguousRuns(runs: readonly PageRun[]): boolean {
  for (let i = 1; i < runs.length; i++) if (runs[i - 1]!.pfn + runs[i - 1]!.pages !== runs[i]!.pfn) return false;
  return true;
}

/** The backing serves every device of `c`. */
function satisfies(sys: Mm, b: Backing, c: PlacementConstraints): boolean {
  if (!c.contiguous) return true;
  if (!contiguousRuns(b.runs)) return false;
  const last = b.runs[b.runs.length - 1]!;
  return (last.pfn + last.pages) * sys.pageSize - 1 <= c.limit;
}

function freeBacking(sys: Mm, b: Backing): void {
  sys.pageHolds.unholdRuns(b.runs);
  if (b.cma) b.cma.area.release(b.cma.pfn, b.cma.count);
  for (const blk of b.blocks) sys.freePages(blk.pfn, blk.order);
}

/** Allocates storage for `size` bytes that meets `c` and holds its pages, or throws ENOMEM having kept nothing. */
function allocBacking(sys: Mm, size: number, c: PlacementConstraints, preferred: CmaArea | null): Backing {
  const backing = allocBackingPages(sys, size, c, preferred);
  sys.pageHolds.holdRuns(backing.runs, "dma-buf");
  return backing;
}

function allocBackingPages(sys: Mm, size: number, c: PlacementConstraints, preferred: CmaArea | null): Backing {
  const page = sys.pageSize;
  const pages = pfnUp(size, page);
  if (!c.contiguous) {
    // As the system heap does: the largest blocks that fit, unmovable.
    const blocks = allocLargestBlocks(sys, pages);
    if (!blocks) throw new DmaSimError("ENOMEM", `deferred dma-buf: no memory for ${pages} pages`);
    return { placement: "pages", runs: blocks.map((b) => ({ pfn: b.pfn, pages: 2 ** b.order })), blocks, cma: null };
  }
  const reaches = (pfn: number, count: number) => (pfn + count) * page - 1 <= c.limit;
  const area = c.area ?? preferred ?? sys.cmaAreas[0] ?? null;
  if (area && pages <= area.count) {
    const pfn = area.alloc(pages, cmaAlignOrder(pages));
    if (pfn !== null) {
      if (reaches(pfn, pages))
        return { placement: "cma", runs: [{ pfn, pages }], blocks: [], cma: { area, pfn, count: pages } };
      area.release(pfn, pages);
    }
  }
  // No CMA that fits: one high-order block from the highest zone the mask reaches.
  const order = orderOfPages(pages);
  if (order <= sys.maxOrder) {
    const zones = sys
      .zones()
      .map((z) => z.name)
      .reverse() as ZoneName[];
    for (const zone of zones) {
      const pfn = sys.allocPages(order, "unmovable", { zone });
      if (pfn === null) continue;
      if (reaches(pfn, pages))
        return { placement: "contiguous-pages", runs: [{ pfn, pages }], blocks: [{ pfn, order }], cma: null };
      sys.freePages(pfn, order);
    }
  }
  throw new DmaSimError(
    "ENOMEM",
    `deferred dma-buf: no contiguous ${pages} pages below 0x${(c.limit + 1).toString(16)}`,
  );
}

function buf(dmabuf: DmaBuf): DeferredBuffer {
  return dmabuf.priv as DeferredBuffer;
}

/** Allocates the backing at first need, for the devices attached now. */
function ensureBacking(dmabuf: DmaBuf): Backing {
  const b = buf(dmabuf);
  if (!b.backing) {
    const c = placementConstraints(dmabuf.attachments.map((a) => a.dev));
    b.backing = allocBacking(b.sys, b.size, c, b.cmaArea);
    zeroRuns(b.sys, b.backing.runs);
    b.stats.allocations++;
  }
  return b.backing;
}

function pinnedBy(dmabuf: DmaBuf): string | null {
  const b = buf(dmabuf);
  if (b.pins > 0) return `${b.pins} pin(s) (static importers or dma_buf_pin())`;
  if (dmabuf.vmapCount > 0) return "a vmap";
  if (dmabuf.kmapCount > 0) return "a kmap";
  return null;
}

/** Moves the backing to storage that meets `c`, keeping the data. */
function migrate(dmabuf: DmaBuf, c: PlacementConstraints): void {
  const b = buf(dmabuf);
  const old = b.backing!;
  const next = allocBacking(b.sys, b.size, c, b.cmaArea);
  // Userspace first: no store may land in the old pages after the copy.
  dmabuf.zapUserMappings();
  copyRuns(b.sys, old.runs, next.runs, b.size);
  b.backing = next;
  b.stats.allocations++;
  b.stats.migrations++;
  b.stats.bytesCopied += b.size;
  // Importers drop their mappings of the old pages; a remap finds the new ones.
  // The old pages go back even when an importer's callback throws.
  try {
    dmabuf.moveNotify();
  } finally {
    freeBacking(b.sys, old);
  }
}

function table(sys: Mm, runs: readonly PageRun[]): SgTable {
  // Adjacent runs merge into one entry, as sg_alloc_table_from_pages() would merge them.
  const entries: { pfn: number; offset: number; length: number }[] = [];
  for (const r of runs) {
    const last = entries[entries.length - 1];
    if (last && last.pfn + last.length / sys.pageSize === r.pfn) last.length += r.pages * sys.pageSize;
    else entries.push({ pfn: r.pfn, offset: 0, length: r.pages * sys.pageSize });
  }
  return new SgTable(entries, sys.pageSize);
}

const OPS: DmaBufOps = {
  /** The constraint check: a device the backing cannot serve makes it move, unless it is pinned (EBUSY). */
  attach(dmabuf, att) {
    const b = buf(dmabuf);
    if (!b.backing) return;
    const c = placementConstraints([...dmabuf.attachments.map((a) => a.dev), att.dev]);
    if (satisfies(b.sys, b.backing, c)) return;
    const pinned = pinnedBy(dmabuf);
    if (pinned) {
      b.stats.refusedAttaches++;
      throw new DmaSimError(
        "EBUSY",
        `dma_buf_attach: ${att.dev.name} cannot reach the backing (${b.backing.placement}), and ${pinned} keep it from moving`,
      );
    }
    migrate(dmabuf, c);
  },
  pin(att) {
    ensureBacking(att.dmabuf);
    buf(att.dmabuf).pins++;
  },
  unpin(att) {
    buf(att.dmabuf).pins--;
  },
  mapDmaBuf(att, dir) {
    const b = buf(att.dmabuf);
    const sgt = table(b.sys, ensureBacking(att.dmabuf).runs);
    const ret = att.dev.dmaMapSgtable(sgt, dir);
    if (ret < 0) throw DmaSimError.fromErrno(ret, `deferred dma-buf: dma_map_sgtable() on ${att.dev.name} failed`);
    b.mapped.set(sgt, att.dev);
    return sgt;
  },
  unmapDmaBuf(att, sgt, dir) {
    att.dev.dmaUnmapSgtable(sgt, dir);
    buf(att.dmabuf).mapped.delete(sgt);
  },
  beginCpuAccess(dmabuf, dir: DmaDirection) {
    ensureBacking(dmabuf);
    for (const [sgt, dev] of buf(dmabuf).mapped) dev.dmaSyncSgForCpu(sgt, sgt.origNents, dir);
  },
  endCpuAccess(dmabuf, dir: DmaDirection) {
    for (const [sgt, dev] of buf(dmabuf).mapped) dev.dmaSyncSgForDevice(sgt, sgt.origNents, dir);
  },
  /** Shared mappings, faulted in from wherever the backing is at the time. */
  mmap(dmabuf, vma) {
    if (!vma.shared) throw new DmaSimError("EINVAL", "deferred dma-buf: MAP_PRIVATE is not supported");
    vma.fault = (_vma, pgoff) => pfnAt(ensureBacking(dmabuf).runs, pgoff);
  },
  vmap(dmabuf) {
    return new DmaBufMap(dmabuf.sys, ensureBacking(dmabuf).runs, buf(dmabuf).size);
  },
  kmap(dmabuf, pageNum) {
    return pfnAt(ensureBacking(dmabuf).runs, pageNum);
  },
  release(dmabuf) {
    const b = buf(dmabuf);
    if (b.backing) freeBacking(b.sys, b.backing);
    b.backing = null;
  },
  hash(dmabuf, h) {
    const b = buf(dmabuf);
    h.num(b.pins).str(b.backing?.placement ?? "none");
    h.list(b.backing?.runs ?? [], (r) => h.num(r.pfn).num(r.pages));
    h.list(b.mapped, ([sgt, dev]) => {
      h.str(dev.name).num(sgt.nents);
      h.list(sgt.entries, (e) =>
        h
          .num(e.pfn)
          .num(e.length)
          .num(e.dmaAddress ?? -1)
          .num(e.dmaLength ?? -1),
      );
    });
  },
  check(dmabuf) {
    const b = buf(dmabuf);
    if (!b.backing) return "";
    for (const blk of b.backing.blocks) {
      const info = b.sys.pageInfo(blk.pfn);
      if (info.state !== "allocated" || info.order !== blk.order)
        return `deferred backing block at pfn ${blk.pfn} is not allocated`;
    }
    if (b.backing.cma && b.sys.pageInfo(b.backing.cma.pfn).state === "free") return "deferred CMA backing is free";
    return "";
  },
};

/**
 * Exports a deferred dma-buf (see the file comment). It is a dynamic exporter
 * (it has pin/unpin). Returns the buffer holding the exporter's reference.
 */
export function dmaBufExportDeferred(sys: Mm, options: DeferredDmaBufOptions): DmaBuf {
  const where = "dmaBufExportDeferred";
  requireObject(where, "options", options);
  requireInt(where, "size", options.size, 1, sys.ramBytes);
  const size = pageAlign(options.size, sys.pageSize);
  const cmaArea = options.cmaArea === undefined ? null : sys.cma(options.cmaArea);
  const priv: DeferredBuffer = {
    sys,
    size,
    cmaArea,
    backing: null,
    pins: 0,
    mapped: new Map(),
    stats: { allocations: 0, migrations: 0, bytesCopied: 0, refusedAttaches: 0 },
  };
  return dmaBufExport(sys, {
    expName: options.expName ?? "deferred",
    size,
    ops: OPS,
    flags: options.flags ?? O_RDWR,
    priv,
  });
}

/** Where a deferred buffer's backing is, and what it did; null for other buffers. */
export function deferredInfo(
  dmabuf: DmaBuf,
): { placement: DeferredPlacement; runs: PageRun[]; pins: number; stats: DeferredStats } | null {
  if (dmabuf.ops !== OPS) return null;
  const b = buf(dmabuf);
  return {
    placement: b.backing?.placement ?? "none",
    runs: b.backing ? b.backing.runs.map((r) => ({ ...r })) : [],
    pins: b.pins,
    stats: { ...b.stats },
  };
}
