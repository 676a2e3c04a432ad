/**
 * Devices and the DMA-mapping API (include/linux/dma-mapping.h): direct mapping
 * with swiotlb bouncing when the mask cannot reach a buffer, or mapping through
 * an IOMMU domain; coherent allocations from CMA, the page allocator or the
 * atomic pools; a DMA engine so that a device really reads and writes memory.
 */
import type { CmaArea } from "../mm/cma.ts";
import { DmaSimError } from "../core/errors.ts";
import { requireInt } from "../core/validate.ts";
import { IOMMU_READ, IOMMU_WRITE, type IommuDomain, type IommuFault } from "./iommu.ts";
import type { SgTable } from "../lib/scatterlist.ts";
import type { SwiotlbPool } from "./swiotlb.ts";
import type { Mm, ZoneName } from "../mm/mm.ts";
import type { AtomicPool } from "./pool.ts";
import type { DmaDebug, DmaSgSegment } from "./debug.ts";
import { validDmaDirection, type DmaDirection } from "./direction.ts";
import { DMA_MAPPING_ERROR } from "./ops/ops.ts";

export type { DmaDirection } from "./direction.ts";
export { DMA_MAPPING_ERROR } from "./ops/ops.ts";

/** How dma_map_sg() lays a scatterlist out in IOVA space. */
export type IommuSgStyle =
  /** The seed's arm_iommu_map_sg(): a new IOVA chunk whenever an entry has an offset, the running size is not page aligned, or the max segment size would be exceeded. */
  | "arm"
  /** iommu_dma_map_sg(): one IOVA range for the whole list, segments merged under max segment size and boundary mask. */
  | "dma-iommu";

export interface DeviceIommuOptions {
  /** First IOVA, bytes, page-aligned. */
  base: number;
  /** IOVA space, bytes; at most 4 GiB (the seed's mapping: else ERANGE). */
  size: number;
  /**
   * dma_map_sg() style, and the IOVA bitmap's shape: "arm" grows by one page of
   * bitmap (128 MiB of IOVA with 4 KiB pages) at a time and no allocation spans
   * two; "dma-iommu" keeps one bitmap, so one range may span the domain. Default "dma-iommu".
   */
  style?: IommuSgStyle;
}

export interface DeviceOptions {
  name: string;
  /** DMA mask in bits (dma_set_mask_and_coherent()). Default 32. */
  dmaMask?: number;
  /** Cache-coherent DMA. Default true. */
  coherent?: boolean;
  /** Behind an IOMMU with this IOVA space. Default: none (direct mapping). */
  iommu?: DeviceIommuOptions;
  /** dma_get_max_seg_size(). Default 65536, the kernel's when a driver sets none. */
  maxSegmentSize?: number;
  /** dma_get_seg_boundary(): a mask 2^k - 1. Default none (ULONG_MAX). */
  segmentBoundaryMask?: number;
  /** Name of a CMA area private to the device (dma_declare_contiguous()). Default: the global area. */
  cma?: string;
}

/** A dma_alloc_attrs() buffer. */
export interface CoherentBuffer {
  readonly device: string;
  /** Bytes asked for. */
  readonly size: number;
  /** The device's address of the buffer. */
  readonly dmaAddress: number;
  /** Physical address (the first page for IOMMU buffers made of several blocks). */
  readonly phys: number;
  /** Where the memory came from. */
  readonly source: "cma" | "buddy" | "atomic-pool" | "iommu";
  /** Blocks backing the buffer: pfn and order (CMA: order -1, count in `pages`). */
  readonly blocks: { pfn: number; order: number; pages: number }[];
}

interface StreamingMapping {
  kind: "direct" | "bounce" | "iommu";
  phys: number;
  size: number;
  dir: DmaDirection;
  /** IOMMU: the IOVA range to unmap and free. */
  iovaStart?: number;
  iovaBytes?: number;
}

interface SgMapping {
  kind: "direct" | "iommu-dma" | "arm";
  /** Device segments mapped (the value dma_map_sg() returned). */
  count: number;
  dir: DmaDirection;
  /** dma-iommu: the single IOVA range, and the pieces of it that are mapped (boundary pads are not). */
  iovaStart?: number;
  iovaBytes?: number;
  ranges?: { iova: number; bytes: number }[];
  /** direct: the per-entry streaming mappings. */
  direct?: { addr: number; m: StreamingMapping }[];
}

const MASK_BITS_MAX = 64;

/** A device that does DMA. */
export class Device {
  readonly name: string;
  /** DMA mask in bits. */
  readonly dmaMaskBits: number;
  readonly coherent: boolean;
  readonly maxSegmentSize: number;
  /** Segment boundary mask, or Infinity for none. */
  readonly segmentBoundaryMask: number;
  /** The device's IOMMU domain, or null for direct mapping. */
  readonly iommu: IommuDomain | null;
  readonly sgStyle: IommuSgStyle;
  /** The CMA area serving the device's large coherent allocations, or null. */
  readonly cmaArea: CmaArea | null;
  /** Faults of the device's DMA engine (IOMMU refusals and accesses beyond its mask). */
  readonly faults: IommuFault[] = [];
  /** IOMMU page-table entries (4K, 64K, 1M, 16M) the device's last IOMMU mapping used. */
  lastIommuEntries: number[] = [0, 0, 0, 0];
  /** Counters: bounced mappings, coherent allocations by source. */
  readonly counters = { bounced: 0, mapErrors: 0, coherentCma: 0, coherentBuddy: 0, coherentPool: 0, coherentIommu: 0 };
  /** Streaming mappings by bus address; a buffer may be mapped more than once at one address. */
  private readonly streaming = new Map<number, StreamingMapping[]>();
  private streamingCount = 0;
  private readonly sgMaps = new Map<SgTable, SgMapping>();
  private readonly coherentBuffers = new Set<CoherentBuffer>();

  /** @internal */
  constructor(
    private readonly sys: Mm,
    options: Required<Pick<DeviceOptions, "name">> & DeviceOptions,
    iommu: IommuDomain | null,
    cmaArea: CmaArea | null,
    private readonly swiotlb: SwiotlbPool | null,
    private readonly pools: readonly AtomicPool[],
    private readonly dmaDebug: DmaDebug | null,
  ) {
    this.name = options.name;
    this.dmaMaskBits = options.dmaMask ?? 32;
    this.coherent = options.coherent ?? true;
    this.maxSegmentSize = options.maxSegmentSize ?? 65536;
    this.segmentBoundaryMask = options.segmentBoundaryMask ?? Infinity;
    this.iommu = iommu;
    this.sgStyle = options.iommu?.style ?? "dma-iommu";
    this.cmaArea = cmaArea;
  }

  /** The highest bus address the device can reach (its mask as a number). */
  get dmaLimit(): number {
    return this.dmaMaskBits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.dmaMaskBits - 1;
  }

  /** dma_capable(): the device can reach [addr, addr + size). */
  private capable(addr: number, size: number): boolean {
    return addr + size - 1 <= this.dmaLimit;
  }

  private dirArg(where: string, dir: unknown): DmaDirection {
    if (!validDmaDirection(dir)) {
      throw new DmaSimError("EINVAL", `${where}: direction must be "bidirectional", "to_device" or "from_device", got ${String(dir)}`);
    }
    return dir;
  }

  /** dma_info_to_prot(): what the IOMMU lets the device do. */
  private prot(dir: DmaDirection): number {
    return dir === "to_device" ? IOMMU_READ : dir === "from_device" ? IOMMU_WRITE : IOMMU_READ | IOMMU_WRITE;
  }

  // ---- streaming mappings ------------------------------------------------------------------

  /**
   * dma_map_page_attrs(): maps `size` bytes at byte `offset` of page `pfn` for
   * DMA in direction `dir`. Returns the bus address, or DMA_MAPPING_ERROR.
   */
  dmaMapPage(pfn: number, offset: number, size: number, dir: DmaDirection): number {
    const where = "dmaMapPage";
    requireInt(where, "pfn", pfn, 0, this.sys.nrPages - 1);
    requireInt(where, "offset", offset, 0, this.sys.pageSize - 1);
    requireInt(where, "size", size, 1, this.sys.ramBytes - pfn * this.sys.pageSize - offset);
    return this.mapPhys(pfn * this.sys.pageSize + offset, size, this.dirArg(where, dir), "page");
  }

  /** dma_map_single_attrs(): maps `size` bytes at physical address `phys`. Returns the bus address or DMA_MAPPING_ERROR. */
  dmaMapSingle(phys: number, size: number, dir: DmaDirection): number {
    const where = "dmaMapSingle";
    requireInt(where, "phys", phys, 0, this.sys.ramBytes - 1);
    requireInt(where, "size", size, 1, this.sys.ramBytes - phys);
    return this.mapPhys(phys, size, this.dirArg(where, dir));
  }

  private mapPhys(phys: number, size: number, dir: DmaDirection, type: "single" | "page" = "single"): number {
    // Non-coherent: arch_sync_dma_for_device() before the device may look.
    this.syncForDevice(phys, size);
    let addr: number;
    if (this.iommu) addr = this.iommuMapPhys(phys, size, dir);
    else addr = this.directMapPhys(phys, size, dir);
    if (addr === DMA_MAPPING_ERROR) this.counters.mapErrors++;
    this.dmaDebug?.mapPage(this.name, phys, addr, size, dir, type);
    return addr;
  }

  /** arch_sync_dma_for_device(): clean the CPU cache over the buffer (non-coherent devices). */
  private syncForDevice(phys: number, size: number): void {
    if (!this.coherent && this.sys.cpuCache) this.sys.cpuCache.clean(phys, size, (p, b) => this.sys.ramWrite(p, b));
  }

  /** arch_sync_dma_for_cpu(): invalidate the CPU cache over the buffer, except for DMA_TO_DEVICE. */
  private syncForCpu(phys: number, size: number, dir: DmaDirection): void {
    if (!this.coherent && this.sys.cpuCache && dir !== "to_device") this.sys.cpuCache.invalidate(phys, size);
  }

  /** dma_direct_map_page(): the physical address itself, or a bounce buffer when the mask cannot reach it. */
  private directMapPhys(phys: number, size: number, dir: DmaDirection): number {
    if (this.capable(phys, size)) {
      this.addStreaming(phys, { kind: "direct", phys, size, dir });
      return phys;
    }
    if (!this.swiotlb) return DMA_MAPPING_ERROR;
    const tlb = this.swiotlb.map(phys, size, this.segmentBoundaryMask);
    if (tlb === null) return DMA_MAPPING_ERROR;
    if (!this.capable(tlb, size)) {
      this.swiotlb.unmap(tlb);
      return DMA_MAPPING_ERROR;
    }
    // The kernel always fills the bounce buffer, whatever the direction, so a
    // device never sees an earlier user's data.
    this.copyPhys(phys, tlb, size);
    this.syncForDevice(tlb, size);
    this.counters.bounced++;
    this.addStreaming(tlb, { kind: "bounce", phys, size, dir });
    return tlb;
  }

  /** iommu_dma_map_page() / arm_iommu_map_page(): IOVA space for the pages, mapped with the direction's permissions. */
  private iommuMapPhys(phys: number, size: number, dir: DmaDirection): number {
    const domain = this.iommu!;
    const page = this.sys.pageSize;
    const offset = phys % page;
    const bytes = Math.ceil((offset + size) / page) * page;
    const iova = domain.allocIova(bytes);
    if (iova === null) return DMA_MAPPING_ERROR;
    this.lastIommuEntries = domain.map(iova, phys - offset, bytes, this.prot(dir)).entries;
    this.addStreaming(iova + offset, { kind: "iommu", phys, size, dir, iovaStart: iova, iovaBytes: bytes });
    return iova + offset;
  }

  /** dma_mapping_error() */
  dmaMappingError(dmaAddr: number): boolean {
    this.dmaDebug?.mappingError(this.name, dmaAddr);
    return dmaAddr === DMA_MAPPING_ERROR;
  }

  /** dma_unmap_page_attrs(): copies a bounce buffer back for DMA_FROM_DEVICE / BIDIRECTIONAL, then releases the mapping. */
  dmaUnmapPage(dmaAddr: number, size: number, dir: DmaDirection): void {
    this.unmap("dmaUnmapPage", dmaAddr, size, dir, "page");
  }

  /** dma_unmap_single_attrs() */
  dmaUnmapSingle(dmaAddr: number, size: number, dir: DmaDirection): void {
    this.unmap("dmaUnmapSingle", dmaAddr, size, dir, "single");
  }

  /**
   * A misuse the DMA-API checker reports when it is on (the driver then carries
   * on, as in the kernel); without it, a DmaSimError. Nothing is changed.
   */
  private misuse(where: string, message: string): void {
    if (this.dmaDebug) return;
    throw new DmaSimError("EINVAL", `${where}: ${message}`);
  }

  private unmap(where: string, dmaAddr: number, size: number, dir: DmaDirection, type: "single" | "page"): void {
    this.dirArg(where, dir);
    requireInt(where, "size", size, 1, Number.MAX_SAFE_INTEGER);
    this.dmaDebug?.unmapPage(this.name, dmaAddr, size, dir, type);
    const m = this.bestStreaming(dmaAddr, size, dir);
    if (!m) return this.misuse(where, `0x${dmaAddr.toString(16)} is not mapped by ${this.name}`);
    if (size > m.size) return this.misuse(where, `size ${size} is larger than the mapping (${m.size})`);
    this.releaseStreaming(dmaAddr, m);
  }

  private addStreaming(dmaAddr: number, m: StreamingMapping): void {
    const list = this.streaming.get(dmaAddr);
    if (list) list.push(m);
    else this.streaming.set(dmaAddr, [m]);
    this.streamingCount++;
  }

  /** The mapping at `dmaAddr` that fits the call best: same size and direction, then same size, then the oldest. */
  private bestStreaming(dmaAddr: number, size: number, dir: DmaDirection): StreamingMapping | undefined {
    const list = this.streaming.get(dmaAddr);
    if (!list) return undefined;
    return list.find((m) => m.size === size && m.dir === dir) ?? list.find((m) => m.size === size) ?? list[0];
  }

  private releaseStreaming(dmaAddr: number, m: StreamingMapping): void {
    this.syncForCpu(m.kind === "bounce" ? dmaAddr : m.phys, m.size, m.dir);
    if (m.kind === "bounce") {
      if (m.dir === "from_device" || m.dir === "bidirectional") this.copyPhys(dmaAddr, m.phys, m.size);
      this.swiotlb!.unmap(dmaAddr);
    } else if (m.kind === "iommu") {
      this.iommu!.unmap(m.iovaStart!, m.iovaBytes!);
      this.iommu!.freeIova(m.iovaStart!, m.iovaBytes!);
    }
    const list = this.streaming.get(dmaAddr)!;
    list.splice(list.indexOf(m), 1);
    if (list.length === 0) this.streaming.delete(dmaAddr);
    this.streamingCount--;
  }

  /** dma_sync_single_for_cpu(): a bounce buffer's data is copied back for DMA_FROM_DEVICE / BIDIRECTIONAL. */
  dmaSyncSingleForCpu(dmaAddr: number, size: number, dir: DmaDirection): void {
    this.sync("dmaSyncSingleForCpu", dmaAddr, size, dir, true);
  }

  /** dma_sync_single_for_device(): a bounce buffer is refilled for DMA_TO_DEVICE / BIDIRECTIONAL. */
  dmaSyncSingleForDevice(dmaAddr: number, size: number, dir: DmaDirection): void {
    this.sync("dmaSyncSingleForDevice", dmaAddr, size, dir, false);
  }

  private sync(where: string, dmaAddr: number, size: number, dir: DmaDirection, forCpu: boolean, debug = true): void {
    this.dirArg(where, dir);
    requireInt(where, "size", size, 1, Number.MAX_SAFE_INTEGER);
    if (debug) {
      if (forCpu) this.dmaDebug?.syncSingleForCpu(this.name, dmaAddr, size, dir);
      else this.dmaDebug?.syncSingleForDevice(this.name, dmaAddr, size, dir);
    }
    const m = this.findStreaming(dmaAddr, size, dir);
    if (!m) return this.misuse(where, `0x${dmaAddr.toString(16)} is not mapped by ${this.name}`);
    const off = dmaAddr - m.start;
    if (size > m.m.size - off) return this.misuse(where, `the sync runs past the end of the mapping`);
    const bounce = m.m.kind === "bounce";
    const phys = bounce ? dmaAddr : m.m.phys + off;
    if (forCpu) {
      this.syncForCpu(phys, size, dir);
      if (bounce && (dir === "from_device" || dir === "bidirectional")) this.copyPhys(dmaAddr, m.m.phys + off, size);
    } else {
      if (bounce && (dir === "to_device" || dir === "bidirectional")) this.copyPhys(m.m.phys + off, dmaAddr, size);
      this.syncForDevice(phys, size);
    }
  }

  /** The mapping a sync of [dmaAddr, +size) refers to: one starting there that holds it, else one containing it. */
  private findStreaming(dmaAddr: number, size: number, dir: DmaDirection): { start: number; m: StreamingMapping } | undefined {
    const exact = this.streaming.get(dmaAddr);
    if (exact) {
      const fits = exact.filter((m) => m.size >= size);
      return { start: dmaAddr, m: fits.find((m) => m.dir === dir) ?? fits[0] ?? exact[0]! };
    }
    for (const [start, list] of this.streaming) {
      for (const m of list) if (dmaAddr >= start && dmaAddr < start + m.size) return { start, m };
    }
    return undefined;
  }

  // ---- scatterlists ----------------------------------------------------------------------------

  /**
   * dma_map_sg_attrs(): maps every entry of `sgt` (its origNents entries); the
   * device segments land in entries[0..n).dmaAddress/dmaLength. Returns n, or 0
   * on failure (the kernel's convention for dma_map_sg()).
   */
  dmaMapSg(sgt: SgTable, dir: DmaDirection): number {
    const where = "dmaMapSg";
    this.dirArg(where, dir);
    this.sgArg(where, sgt);
    if (this.sgMaps.has(sgt)) throw new DmaSimError("EINVAL", `${where}: the table is already mapped by ${this.name}`);
    for (const e of sgt.entries) this.syncForDevice(e.pfn * this.sys.pageSize + e.offset, e.length);
    const n = this.iommu ? (this.sgStyle === "arm" ? this.armMapSg(sgt, dir) : this.iommuDmaMapSg(sgt, dir)) : this.directMapSg(sgt, dir);
    if (n === 0) this.counters.mapErrors++;
    else {
      this.dmaDebug?.mapSg(this.name, this.debugSegments(sgt, n), sgt.origNents, n, dir, {
        maxSegmentSize: this.maxSegmentSize,
        segmentBoundaryMask: Number.isFinite(this.segmentBoundaryMask) ? this.segmentBoundaryMask : (1n << 64n) - 1n,
      });
    }
    return n;
  }

  private debugSegments(sgt: SgTable, mapped: number): DmaSgSegment[] {
    return sgt.entries.map((e, i) => ({
      paddr: e.pfn * this.sys.pageSize + e.offset,
      length: e.length,
      ...(i < mapped ? { devAddr: e.dmaAddress!, dmaLength: e.dmaLength! } : {}),
    }));
  }

  /** dma_map_sgtable(): like dmaMapSg() but sets sgt.nents and returns 0 or a negative errno (-EIO, -ENOMEM). */
  dmaMapSgtable(sgt: SgTable, dir: DmaDirection): number {
    const n = this.dmaMapSg(sgt, dir);
    if (n === 0) return this.iommu ? -12 : -5;
    sgt.nents = n;
    return 0;
  }

  /** dma_unmap_sg_attrs(): `nents` is the count given to dmaMapSg() (origNents), as the kernel requires. */
  dmaUnmapSg(sgt: SgTable, nents: number, dir: DmaDirection): void {
    const where = "dmaUnmapSg";
    this.dirArg(where, dir);
    this.sgArg(where, sgt);
    requireInt(where, "nents", nents, 1, sgt.entries.length);
    const m = this.sgMaps.get(sgt);
    this.dmaDebug?.unmapSg(this.name, this.debugSegments(sgt, m?.count ?? 0), nents, dir);
    if (!m) return this.misuse(where, `the table is not mapped by ${this.name}`);
    for (const e of sgt.entries) this.syncForCpu(e.pfn * this.sys.pageSize + e.offset, e.length, m.dir);
    if (m.kind === "direct") {
      for (const d of m.direct!) this.releaseStreaming(d.addr, d.m);
    } else if (m.kind === "iommu-dma") {
      for (const r of m.ranges!) this.iommu!.unmap(r.iova, r.bytes);
      this.iommu!.freeIova(m.iovaStart!, m.iovaBytes!);
    } else {
      const page = this.sys.pageSize;
      for (let i = 0; i < m.count; i++) {
        const e = sgt.entries[i]!;
        const start = e.dmaAddress! - (e.dmaAddress! % page);
        const bytes = Math.ceil((e.dmaAddress! % page + e.dmaLength!) / page) * page;
        this.iommu!.unmap(start, bytes);
        this.iommu!.freeIova(start, bytes);
      }
    }
    for (const e of sgt.entries) {
      e.dmaAddress = undefined;
      e.dmaLength = undefined;
    }
    sgt.nents = sgt.origNents;
    this.sgMaps.delete(sgt);
  }

  /** dma_unmap_sgtable() */
  dmaUnmapSgtable(sgt: SgTable, dir: DmaDirection): void {
    this.dmaUnmapSg(sgt, sgt.origNents, dir);
  }

  /** dma_sync_sg_for_cpu(): each mapped entry, as dmaSyncSingleForCpu(). */
  dmaSyncSgForCpu(sgt: SgTable, nents: number, dir: DmaDirection): void {
    this.syncSg("dmaSyncSgForCpu", sgt, nents, dir, true);
  }

  /** dma_sync_sg_for_device() */
  dmaSyncSgForDevice(sgt: SgTable, nents: number, dir: DmaDirection): void {
    this.syncSg("dmaSyncSgForDevice", sgt, nents, dir, false);
  }

  private syncSg(where: string, sgt: SgTable, nents: number, dir: DmaDirection, forCpu: boolean): void {
    this.dirArg(where, dir);
    this.sgArg(where, sgt);
    requireInt(where, "nents", nents, 1, sgt.entries.length);
    const m = this.sgMaps.get(sgt);
    const segments = this.debugSegments(sgt, m?.count ?? 0);
    if (forCpu) this.dmaDebug?.syncSgForCpu(this.name, segments, nents, dir);
    else this.dmaDebug?.syncSgForDevice(this.name, segments, nents, dir);
    if (!m) return this.misuse(where, `the table is not mapped by ${this.name}`);
    if (m.kind === "direct") {
      for (let i = 0; i < Math.min(nents, m.count); i++) {
        const e = sgt.entries[i]!;
        this.sync(where, e.dmaAddress!, e.length, dir, forCpu, false);
      }
      return;
    }
    // IOMMU mappings: cache maintenance on the physical pages.
    for (const e of sgt.entries) {
      const phys = e.pfn * this.sys.pageSize + e.offset;
      if (forCpu) this.syncForCpu(phys, e.length, dir);
      else this.syncForDevice(phys, e.length);
    }
  }

  private sgArg(where: string, sgt: SgTable): void {
    if (!sgt || !Array.isArray(sgt.entries) || sgt.entries.length === 0) throw new DmaSimError("EINVAL", `${where}: sgt must be a non-empty SgTable`);
    if (sgt.pageSize !== this.sys.pageSize) throw new DmaSimError("EINVAL", `${where}: the table was built for another page size`);
  }

  /** dma_direct_map_sg(): one mapping per entry, no merging. */
  private directMapSg(sgt: SgTable, dir: DmaDirection): number {
    const n = sgt.origNents;
    const direct: { addr: number; m: StreamingMapping }[] = [];
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const addr = this.directMapPhys(e.pfn * this.sys.pageSize + e.offset, e.length, dir);
      if (addr === DMA_MAPPING_ERROR) {
        for (const d of direct) this.releaseStreaming(d.addr, d.m);
        for (let j = 0; j < i; j++) {
          sgt.entries[j]!.dmaAddress = undefined;
          sgt.entries[j]!.dmaLength = undefined;
        }
        return 0;
      }
      const list = this.streaming.get(addr)!;
      direct.push({ addr, m: list[list.length - 1]! });
      e.dmaAddress = addr;
      e.dmaLength = e.length;
    }
    this.sgMaps.set(sgt, { kind: "direct", count: n, dir, direct });
    return n;
  }

  /**
   * iommu_dma_map_sg() + __finalise_sg(): one IOVA range for the list, each
   * entry padded to whole pages (and to the segment boundary where a segment
   * would otherwise cross it), then physically separate entries concatenated
   * into device segments while they start on a page, stay under the max segment
   * size and do not start at a boundary. (The kernel maps the boundary pad to
   * the pages after the previous entry; dmasim leaves it unmapped.)
   */
  private iommuDmaMapSg(sgt: SgTable, dir: DmaDirection): number {
    const page = this.sys.pageSize;
    const domain = this.iommu!;
    const n = sgt.origNents;
    const boundary = this.segmentBoundaryMask;
    const span = Number.isFinite(boundary) ? boundary + 1 : Infinity;
    // Layout: where each entry's pages go in the IOVA range.
    const iovaOff: number[] = [];
    const iovaLen: number[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const sIovaOff = e.offset % page;
      const sLength = Math.ceil((e.length + sIovaOff) / page) * page;
      const pad = span === Infinity ? 0 : (span - (total % span)) % span;
      if (pad && pad < sLength - 1) {
        iovaLen[i - 1]! += pad;
        total += pad;
      }
      iovaOff.push(total);
      iovaLen.push(sLength);
      total += sLength;
    }
    const iova = domain.allocIova(total);
    if (iova === null) return 0;
    const prot = this.prot(dir);
    const before = domain.entries;
    const ranges: { iova: number; bytes: number }[] = [];
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const bytes = Math.ceil((e.length + (e.offset % page)) / page) * page;
      domain.mapPages(iova + iovaOff[i]!, e.pfn * page + (e.offset - (e.offset % page)), bytes, prot);
      // What unmapping walks: IOVA-contiguous pieces as one range (only boundary pads, left unmapped, split them).
      const last = ranges[ranges.length - 1];
      if (last && last.iova + last.bytes === iova + iovaOff[i]!) last.bytes += bytes;
      else ranges.push({ iova: iova + iovaOff[i]!, bytes });
    }
    this.lastIommuEntries = domain.entries.map((k, c) => k - before[c]!);
    // __finalise_sg(): concatenate into device segments.
    const maxLen = this.maxSegmentSize;
    let count = 0;
    let curLen = 0;
    let cur = -1;
    const out: { addr: number; len: number }[] = [];
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const sIovaOff = e.offset % page;
      const sLength = e.length;
      const dmaAddr = iova + iovaOff[i]!;
      const atBoundary = span !== Infinity && dmaAddr % span === 0;
      if (curLen && !sIovaOff && !atBoundary && maxLen - curLen >= sLength) {
        curLen += sLength;
      } else {
        cur++;
        count++;
        curLen = sLength;
        out[cur] = { addr: dmaAddr + sIovaOff, len: 0 };
      }
      out[cur]!.len = curLen;
      if (sLength + sIovaOff < iovaLen[i]!) curLen = 0;
    }
    this.setSegments(sgt, out);
    this.sgMaps.set(sgt, { kind: "iommu-dma", count, dir, iovaStart: iova, iovaBytes: total, ranges });
    return count;
  }

  /** Writes device segments into the first entries (sg_dma_address/len); the rest carry none. */
  private setSegments(sgt: SgTable, segments: { addr: number; len: number }[]): void {
    for (let i = 0; i < sgt.origNents; i++) {
      const e = sgt.entries[i]!;
      e.dmaAddress = i < segments.length ? segments[i]!.addr : undefined;
      e.dmaLength = i < segments.length ? segments[i]!.len : undefined;
    }
  }

  /**
   * arm_iommu_map_sg(): walks the list keeping a running chunk; a new IOVA
   * chunk starts when an entry has an offset, the running size is not page
   * aligned, or the max segment size would be exceeded (__map_sg_chunk()).
   */
  private armMapSg(sgt: SgTable, dir: DmaDirection): number {
    const page = this.sys.pageSize;
    const domain = this.iommu!;
    const n = sgt.origNents;
    const max = this.maxSegmentSize;
    const prot = this.prot(dir);
    const chunks: { addr: number; len: number }[] = [];
    const mapped: { iova: number; bytes: number }[] = [];
    const mapChunk = (from: number, to: number, size: number): number | null => {
      const bytes = Math.ceil(size / page) * page;
      const iova = domain.allocIova(bytes);
      if (iova === null) return null;
      let cursor = iova;
      for (let i = from; i < to; i++) {
        const e = sgt.entries[i]!;
        const len = Math.ceil((e.offset + e.length) / page) * page;
        domain.mapPages(cursor, e.pfn * page, len, prot);
        cursor += len;
      }
      mapped.push({ iova, bytes });
      return iova;
    };
    let start = 0;
    let offset = sgt.entries[0]!.offset;
    let size = offset + sgt.entries[0]!.length;
    for (let i = 1; i <= n; i++) {
      const s = sgt.entries[i];
      if (i === n || s!.offset || size % page !== 0 || size + s!.length > max) {
        const iova = mapChunk(start, i, size);
        if (iova === null) {
          for (const m of mapped) {
            domain.unmap(m.iova, m.bytes);
            domain.freeIova(m.iova, m.bytes);
          }
          return 0;
        }
        chunks.push({ addr: iova + offset, len: size - offset });
        if (i === n) break;
        size = offset = s!.offset;
        start = i;
      }
      size += s!.length;
    }
    this.setSegments(sgt, chunks);
    this.sgMaps.set(sgt, { kind: "arm", count: chunks.length, dir });
    return chunks.length;
  }

  // ---- coherent allocations ----------------------------------------------------------------------

  /**
   * dma_alloc_attrs(): a zeroed buffer the CPU and the device share. Direct
   * devices get CMA memory (their own area, or the global one for more than a
   * page) when it lies within the mask, else pages from the highest zone the
   * mask can reach; IOMMU devices get pages mapped contiguously in IOVA space;
   * `atomic` requests come from the atomic pools. Returns null on failure.
   */
  dmaAllocAttrs(size: number, options: { atomic?: boolean } = {}): CoherentBuffer | null {
    requireInt("dmaAllocAttrs", "size", size, 1, this.sys.ramBytes);
    if (options.atomic !== undefined && typeof options.atomic !== "boolean") throw new DmaSimError("EINVAL", "dmaAllocAttrs: atomic must be a boolean");
    const buf = options.atomic ? this.allocFromPool(size) : this.iommu ? this.allocIommu(size) : this.allocDirect(size);
    if (buf) {
      this.zeroCoherent(buf);
      this.coherentBuffers.add(buf);
      this.dmaDebug?.allocCoherent(this.name, size, buf.dmaAddress, buf.phys, buf.phys);
    }
    return buf;
  }

  /** dma_free_attrs() */
  dmaFreeAttrs(buf: CoherentBuffer): void {
    if (!buf || typeof buf !== "object") throw new DmaSimError("EINVAL", "dmaFreeAttrs: buf must be a CoherentBuffer");
    this.dmaDebug?.freeCoherent(this.name, buf.size, buf.phys, buf.dmaAddress);
    if (!this.coherentBuffers.has(buf)) return this.misuse("dmaFreeAttrs", `not a coherent buffer of ${this.name}`);
    this.coherentBuffers.delete(buf);
    if (buf.source === "atomic-pool") {
      const pool = this.pools.find((p) => p.contains(buf.phys))!;
      pool.free(buf.phys, buf.size);
      return;
    }
    if (buf.source === "iommu") {
      const bytes = Math.ceil(buf.size / this.sys.pageSize) * this.sys.pageSize;
      this.iommu!.unmap(buf.dmaAddress, bytes);
      this.iommu!.freeIova(buf.dmaAddress, bytes);
    }
    for (const b of buf.blocks) {
      if (buf.source === "cma") (this.cmaArea ?? this.sys.cmaAreas[0]!).release(b.pfn, b.pages);
      else this.sys.freePages(b.pfn, b.order);
    }
  }

  /**
   * dma_mmap_attrs(): the pfns a user mapping of `pages` pages from page
   * `pgoff` of the buffer would map (remap_pfn_range() / vm_map_pages()), or
   * -ENXIO when the range runs past the buffer, as dma_direct_mmap() answers.
   */
  dmaMmapAttrs(buf: CoherentBuffer, pgoff: number, pages: number): number[] | number {
    if (!this.coherentBuffers.has(buf)) throw new DmaSimError("EINVAL", `dmaMmapAttrs: not a coherent buffer of ${this.name}`);
    requireInt("dmaMmapAttrs", "pgoff", pgoff, 0, Number.MAX_SAFE_INTEGER);
    requireInt("dmaMmapAttrs", "pages", pages, 1, Number.MAX_SAFE_INTEGER);
    const count = Math.ceil(buf.size / this.sys.pageSize);
    if (pgoff >= count || pages > count - pgoff) return -6;
    const pfns: number[] = [];
    if (buf.blocks.length === 0) {
      for (let i = 0; i < count; i++) pfns.push(buf.phys / this.sys.pageSize + i);
    } else {
      for (const b of buf.blocks) for (let i = 0; i < b.pages && pfns.length < count; i++) pfns.push(b.pfn + i);
    }
    return pfns.slice(pgoff, pgoff + pages);
  }

  /**
   * CPU access to a coherent buffer through its kernel mapping: uncached for a
   * non-coherent device (dma_alloc_attrs() remaps it so), cached otherwise.
   */
  coherentRead(buf: CoherentBuffer, offset = 0, length?: number): Uint8Array {
    const [phys, len] = this.coherentArgs("coherentRead", buf, offset, length ?? buf.size - offset);
    return this.coherent ? this.sys.cpuRead(phys, len) : this.sys.ramRead(phys, len);
  }

  /** CPU store into a coherent buffer (see coherentRead()). */
  coherentWrite(buf: CoherentBuffer, bytes: Uint8Array, offset = 0): void {
    if (!(bytes instanceof Uint8Array)) throw new DmaSimError("EINVAL", "coherentWrite: bytes must be a Uint8Array");
    const [phys] = this.coherentArgs("coherentWrite", buf, offset, bytes.length);
    if (this.coherent) this.sys.cpuWrite(phys, bytes);
    else this.sys.ramWrite(phys, bytes);
  }

  private coherentArgs(where: string, buf: CoherentBuffer, offset: number, length: number): [number, number] {
    if (!this.coherentBuffers.has(buf)) throw new DmaSimError("EINVAL", `${where}: not a coherent buffer of ${this.name}`);
    if (!this.sys.storeContents) throw new DmaSimError("EINVAL", `${where}: this machine keeps no page contents`);
    requireInt(where, "offset", offset, 0, buf.size);
    requireInt(where, "length", length, 0, buf.size - offset);
    if (buf.blocks.length > 1 && offset + length > buf.blocks[0]!.pages * this.sys.pageSize) {
      throw new DmaSimError("EINVAL", `${where}: the range spans separate blocks of an IOMMU buffer; access it through the device`);
    }
    return [buf.phys + offset, length];
  }

  /**
   * The driver lets go of the device (BUS_NOTIFY_UNBOUND_DRIVER): the DMA-API
   * checker reports mappings still held. Returns how many are held.
   */
  release(): number {
    this.dmaDebug?.deviceRelease(this.name);
    return this.activeMappings + this.coherentBuffers.size;
  }

  /** Coherent buffers the device holds. */
  get coherentCount(): number {
    return this.coherentBuffers.size;
  }

  private orderOf(size: number): number {
    return Math.max(0, Math.ceil(Math.log2(Math.ceil(size / this.sys.pageSize))));
  }

  /** dma_direct_optimal_gfp_mask(): the highest populated zone entirely within the mask. */
  private zoneForMask(): ZoneName {
    const zones = this.sys.zones();
    let best: ZoneName | null = null;
    for (const z of zones) if (z.endPfn * this.sys.pageSize - 1 <= this.dmaLimit) best = z.name;
    return best ?? zones[zones.length - 1]!.name;
  }

  private allocDirect(size: number): CoherentBuffer | null {
    const page = this.sys.pageSize;
    const pages = Math.ceil(size / page);
    // dma_alloc_contiguous(): the device's area, or the global area for more than a page.
    const area = this.cmaArea ?? (pages > 1 ? this.sys.cmaAreas[0] ?? null : null);
    if (area) {
      const pfn = area.alloc(pages, Math.min(this.orderOf(size), 8));
      if (pfn !== null) {
        if (this.capable(pfn * page, size)) {
          this.counters.coherentCma++;
          return { device: this.name, size, dmaAddress: pfn * page, phys: pfn * page, source: "cma", blocks: [{ pfn, order: -1, pages }] };
        }
        area.release(pfn, pages);
      }
    }
    const order = this.orderOf(size);
    // Try the zone the mask suggests, then lower ones (GFP_DMA32, then GFP_DMA).
    const order3: ZoneName[] = ["Normal", "DMA32", "DMA"];
    const populated = new Set(this.sys.zones().map((z) => z.name));
    for (const zone of order3.slice(order3.indexOf(this.zoneForMask()))) {
      if (!populated.has(zone) && zone !== this.zoneForMask()) continue;
      const pfn = this.sys.allocPages(order, "unmovable", { zone });
      if (pfn === null) continue;
      if (this.capable(pfn * page, size)) {
        this.counters.coherentBuddy++;
        return { device: this.name, size, dmaAddress: pfn * page, phys: pfn * page, source: "buddy", blocks: [{ pfn, order, pages: 2 ** order }] };
      }
      this.sys.freePages(pfn, order);
    }
    return null;
  }

  private allocIommu(size: number): CoherentBuffer | null {
    const page = this.sys.pageSize;
    const pages = Math.ceil(size / page);
    const domain = this.iommu!;
    const iova = domain.allocIova(pages * page);
    if (iova === null) return null;
    // __iommu_dma_alloc_pages(): the largest blocks that fit, smaller when refused.
    const blocks: { pfn: number; order: number; pages: number }[] = [];
    let left = pages;
    let order = Math.min(this.orderOf(size), this.sys.maxOrder);
    while (left > 0) {
      while (order > 0 && 2 ** order > left) order--;
      const pfn = this.sys.allocPages(order, "unmovable");
      if (pfn === null) {
        if (order > 0) {
          order--;
          continue;
        }
        for (const b of blocks) this.sys.freePages(b.pfn, b.order);
        domain.freeIova(iova, pages * page);
        return null;
      }
      blocks.push({ pfn, order, pages: 2 ** order });
      left -= 2 ** order;
    }
    let cursor = iova;
    for (const b of blocks) {
      const bytes = Math.min(b.pages, pages - (cursor - iova) / page) * page;
      domain.map(cursor, b.pfn * page, bytes, IOMMU_READ | IOMMU_WRITE);
      cursor += bytes;
    }
    this.counters.coherentIommu++;
    return { device: this.name, size, dmaAddress: iova, phys: blocks[0]!.pfn * page, source: "iommu", blocks };
  }

  /** dma_alloc_from_pool(): the first pool within the mask with room. */
  private allocFromPool(size: number): CoherentBuffer | null {
    for (const pool of this.pools) {
      if (!this.iommu && !this.capable(pool.start, pool.bytes)) continue;
      const phys = pool.alloc(size);
      if (phys === null) continue;
      let dmaAddress = phys;
      if (this.iommu) {
        const page = this.sys.pageSize;
        const bytes = Math.ceil(size / page) * page;
        const iova = this.iommu.allocIova(bytes);
        if (iova === null) {
          pool.free(phys, size);
          return null;
        }
        this.iommu.map(iova, phys, bytes, IOMMU_READ | IOMMU_WRITE);
        dmaAddress = iova;
      }
      this.counters.coherentPool++;
      return { device: this.name, size, dmaAddress, phys, source: "atomic-pool", blocks: [] };
    }
    return null;
  }

  // ---- the device's DMA engine ----------------------------------------------------------------------

  /**
   * Translates a device access of `length` bytes at `dmaAddr`, page by page:
   * through the IOMMU (faulting on unmapped pages or missing permission), or
   * directly (faulting beyond the mask or RAM). Returns physical runs.
   */
  private translate(where: string, dmaAddr: number, length: number, write: boolean): { phys: number; len: number }[] {
    requireInt(where, "dmaAddr", dmaAddr, 0, Number.MAX_SAFE_INTEGER);
    requireInt(where, "length", length, 1, 1 << 30);
    const page = this.sys.pageSize;
    const runs: { phys: number; len: number }[] = [];
    for (let addr = dmaAddr; addr < dmaAddr + length; ) {
      const len = Math.min(page - (addr % page), dmaAddr + length - addr);
      let phys: number;
      if (this.iommu) {
        const prot = this.iommu.protAt(addr);
        const need = write ? IOMMU_WRITE : IOMMU_READ;
        if ((prot & need) === 0) {
          const fault: IommuFault = { iova: addr, write, reason: prot === 0 ? "unmapped" : "permission", device: this.name };
          this.faults.push(fault);
          this.iommu.faults.push(fault);
          throw new DmaSimError("EFAULT", `${where}: IOMMU fault at 0x${addr.toString(16)} (${fault.reason}, ${write ? "write" : "read"})`);
        }
        phys = this.iommu.iovaToPhys(addr);
      } else {
        if (!this.capable(addr, len) || addr + len > this.sys.ramBytes) {
          this.faults.push({ iova: addr, write, reason: "unmapped", device: this.name });
          throw new DmaSimError("EFAULT", `${where}: 0x${addr.toString(16)} is beyond the device's reach`);
        }
        phys = addr;
      }
      const last = runs[runs.length - 1];
      if (last && last.phys + last.len === phys) last.len += len;
      else runs.push({ phys, len });
      addr += len;
    }
    return runs;
  }

  /** The device reads `length` bytes at bus address `dmaAddr`. */
  dmaRead(dmaAddr: number, length: number): Uint8Array {
    const runs = this.translate("dmaRead", dmaAddr, length, false);
    if (!this.sys.storeContents) throw new DmaSimError("EINVAL", "dmaRead: this machine keeps no page contents");
    const out = new Uint8Array(length);
    const cache = this.sys.cpuCache;
    let at = 0;
    for (const r of runs) {
      const ram = this.sys.ramRead(r.phys, r.len);
      // A coherent device snoops the CPU cache; a non-coherent one sees RAM only.
      out.set(cache && this.coherent ? cache.snoopRead(r.phys, r.len, ram) : ram, at);
      at += r.len;
    }
    return out;
  }

  /** The device writes `bytes` at bus address `dmaAddr`. */
  dmaWrite(dmaAddr: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new DmaSimError("EINVAL", "dmaWrite: bytes must be a Uint8Array");
    const runs = this.translate("dmaWrite", dmaAddr, bytes.length, true);
    if (!this.sys.storeContents) throw new DmaSimError("EINVAL", "dmaWrite: this machine keeps no page contents");
    const cache = this.sys.cpuCache;
    let at = 0;
    for (const r of runs) {
      const chunk = bytes.subarray(at, at + r.len);
      this.sys.ramWrite(r.phys, chunk);
      if (cache && this.coherent) cache.snoopWrite(r.phys, chunk);
      at += r.len;
    }
  }

  private sgDirectCount(): number {
    let n = 0;
    for (const m of this.sgMaps.values()) n += m.direct?.length ?? 0;
    return n;
  }

  /** Streaming mappings the device holds (single/page mappings and mapped tables). */
  get activeMappings(): number {
    return this.streamingCount - this.sgDirectCount() + this.sgMaps.size;
  }

  /** dma_alloc_attrs() returns zeroed memory: zeroed through the buffer's own mapping, stale cached lines dropped. */
  private zeroCoherent(buf: CoherentBuffer): void {
    if (buf.blocks.length === 0) {
      this.sys.kernelZero(buf.phys, buf.size);
      return;
    }
    let left = buf.size;
    for (const b of buf.blocks) {
      const bytes = Math.min(left, b.pages * this.sys.pageSize);
      this.sys.kernelZero(b.pfn * this.sys.pageSize, bytes);
      left -= bytes;
    }
  }

  /** swiotlb_bounce(): a CPU memcpy (through the cache; not a CPU access the checker flags). */
  private copyPhys(from: number, to: number, size: number): void {
    if (this.sys.storeContents) this.sys.kernelWrite(to, this.sys.kernelRead(from, size));
  }

  /** @internal */
  static maskBitsValid(bits: number): boolean {
    return Number.isInteger(bits) && bits >= 12 && bits <= MASK_BITS_MAX;
  }
}
