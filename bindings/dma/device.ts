/**
 * Devices and the DMA-mapping API (include/linux/dma-mapping.h, kernel/dma/mapping.c):
 * the core every DMA-API call goes through. It validates the driver's
 * arguments, runs the DMA-API checker's hooks (dma/debug.ts), does the cache
 * maintenance of non-coherent devices, and hands the mapping itself to the
 * device's dma_map_ops, picked when the device is created (get_dma_ops()):
 * dma-direct with swiotlb (ops/direct.ts), dma-iommu (ops/iommu-dma.ts) or the
 * ARM IOMMU code (ops/arm-iommu.ts). Coherent buffers come from the ops too; a
 * DMA engine lets the device really read and write memory.
 */
import type { CmaArea } from "../mm/cma.ts";
import { DmaSimError, ERRNO } from "../core/errors.ts";
import { optionalBoolean, requireBytes, requireInt, requireObject, show } from "../core/validate.ts";
import type { StateHasher } from "../core/hash.ts";
import {
  FAULT_LOG_ENTRIES,
  hashIommuFault,
  IOMMU_READ,
  IOMMU_WRITE,
  type IommuDomain,
  type IommuFault,
} from "./iommu.ts";
import type { SgTable } from "../lib/scatterlist.ts";
import type { SwiotlbPool } from "./swiotlb.ts";
import type { Mm } from "../mm/mm.ts";
import type { AtomicPool } from "./pool.ts";
import type { DmaDebug, DmaSgSegment } from "./debug.ts";
import { validDmaDirection, type DmaDirection } from "./direction.ts";
import { DMA_MAPPING_ERROR, type CoherentBuffer, type DmaCounters, type DmaDev, type DmaMapOps } from "./ops/ops.ts";
import { DirectOps } from "./ops/direct.ts";
import { IommuDmaOps } from "./ops/iommu-dma.ts";
import { ArmIommuOps } from "./ops/arm-iommu.ts";
import { compareWords, hashWordLists } from "./ops/mappings.ts";
import { pfnUp } from "../core/units.ts";
import { appendBounded } from "../core/bounded-log.ts";

export type { DmaDirection } from "./direction.ts";
export { DMA_MAPPING_ERROR } from "./ops/ops.ts";
export type { CoherentBuffer, DmaCounters } from "./ops/ops.ts";

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

const MASK_BITS_MAX = 64;

/** The counters in the order the state hash feeds them. */
const COUNTER_KEYS = ["bounced", "mapErrors", "coherentCma", "coherentBuddy", "coherentPool", "coherentIommu"] as const;
const COHERENT_SOURCES: readonly CoherentBuffer["source"][] = ["cma", "buddy", "atomic-pool", "iommu"];

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
  /** The newest faults of the device's DMA engine (IOMMU refusals and accesses beyond its mask), at most FAULT_LOG_ENTRIES. */
  readonly faults: IommuFault[] = [];
  /** Faults since boot, including those the bounded log has dropped. */
  faultCount = 0;
  /** IOMMU page-table entries (4K, 64K, 1M, 16M) the device's last IOMMU mapping used. */
  lastIommuEntries: number[] = [0, 0, 0, 0];
  /** Counters: bounced mappings, coherent allocations by source. */
  readonly counters: DmaCounters = {
    bounced: 0,
    mapErrors: 0,
    coherentCma: 0,
    coherentBuddy: 0,
    coherentPool: 0,
    coherentIommu: 0,
  };
  /** The device's dma_map_ops, with the streaming mappings they hold. */
  private readonly ops: DmaMapOps;
  private readonly coherentBuffers = new Set<CoherentBuffer>();

  /** @internal */
  constructor(
    private readonly sys: Mm,
    options: Required<Pick<DeviceOptions, "name">> & DeviceOptions,
    iommu: IommuDomain | null,
    cmaArea: CmaArea | null,
    swiotlb: SwiotlbPool | null,
    pools: readonly AtomicPool[],
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
    const dev: DmaDev = {
      name: this.name,
      mm: sys,
      dmaLimit: this.dmaLimit,
      maxSegmentSize: this.maxSegmentSize,
      segmentBoundaryMask: this.segmentBoundaryMask,
      cmaArea,
      pools,
      counters: this.counters,
      capable: (addr, size) => this.capable(addr, size),
      syncForDevice: (phys, size) => this.syncForDevice(phys, size),
      syncForCpu: (phys, size, dir) => this.syncForCpu(phys, size, dir),
      copyPhys: (from, to, size) => this.copyPhys(from, to, size),
      misuse: (where, message) => this.misuse(where, message),
      setLastIommuEntries: (entries) => {
        this.lastIommuEntries = entries;
      },
    };
    // get_dma_ops(): dma-direct unless the device sits behind an IOMMU.
    if (!iommu) this.ops = new DirectOps(dev, swiotlb);
    else this.ops = this.sgStyle === "arm" ? new ArmIommuOps(dev, iommu) : new IommuDmaOps(dev, iommu);
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
      throw new DmaSimError(
        "EINVAL",
        `${where}: direction must be "bidirectional", "to_device" or "from_device", got ${show(dir)}`,
      );
    }
    return dir;
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

  /** dma_map_phys(): the ops map the buffer; the checker records the mapping. */
  private mapPhys(phys: number, size: number, dir: DmaDirection, type: "single" | "page" = "single"): number {
    // Non-coherent: arch_sync_dma_for_device() before the device may look.
    this.syncForDevice(phys, size);
    const addr = this.ops.mapPhys(phys, size, dir);
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
    this.ops.unmapPhys(where, dmaAddr, size, dir);
  }

  /** dma_sync_single_for_cpu(): a bounce buffer's data is copied back for DMA_FROM_DEVICE / BIDIRECTIONAL. */
  dmaSyncSingleForCpu(dmaAddr: number, size: number, dir: DmaDirection): void {
    const where = "dmaSyncSingleForCpu";
    this.dirArg(where, dir);
    requireInt(where, "size", size, 1, Number.MAX_SAFE_INTEGER);
    this.dmaDebug?.syncSingleForCpu(this.name, dmaAddr, size, dir);
    this.ops.syncSingleForCpu(where, dmaAddr, size, dir);
  }

  /** dma_sync_single_for_device(): a bounce buffer is refilled for DMA_TO_DEVICE / BIDIRECTIONAL. */
  dmaSyncSingleForDevice(dmaAddr: number, size: number, dir: DmaDirection): void {
    const where = "dmaSyncSingleForDevice";
    this.dirArg(where, dir);
    requireInt(where, "size", size, 1, Number.MAX_SAFE_INTEGER);
    this.dmaDebug?.syncSingleForDevice(this.name, dmaAddr, size, dir);
    this.ops.syncSingleForDevice(where, dmaAddr, size, dir);
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
    if (this.ops.sgMapping(sgt))
      throw new DmaSimError("EINVAL", `${where}: the table is already mapped by ${this.name}`);
    for (const e of sgt.entries) this.syncForDevice(e.pfn * this.sys.pageSize + e.offset, e.length);
    const n = this.ops.mapSg(sgt, dir);
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
    if (n === 0) return this.iommu ? -ERRNO.ENOMEM : -ERRNO.EIO;
    sgt.nents = n;
    return 0;
  }

  /** dma_unmap_sg_attrs(): `nents` is the count given to dmaMapSg() (origNents), as the kernel requires. */
  dmaUnmapSg(sgt: SgTable, nents: number, dir: DmaDirection): void {
    const where = "dmaUnmapSg";
    this.dirArg(where, dir);
    this.sgArg(where, sgt);
    requireInt(where, "nents", nents, 1, sgt.entries.length);
    const m = this.ops.sgMapping(sgt);
    this.dmaDebug?.unmapSg(this.name, this.debugSegments(sgt, m?.count ?? 0), nents, dir);
    if (!m) return this.misuse(where, `the table is not mapped by ${this.name}`);
    for (const e of sgt.entries) this.syncForCpu(e.pfn * this.sys.pageSize + e.offset, e.length, m.dir);
    this.ops.unmapSg(sgt);
    for (const e of sgt.entries) {
      e.dmaAddress = undefined;
      e.dmaLength = undefined;
    }
    sgt.nents = sgt.origNents;
  }

  /** dma_unmap_sgtable() */
  dmaUnmapSgtable(sgt: SgTable, dir: DmaDirection): void {
    this.sgArg("dmaUnmapSgtable", sgt);
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
    const m = this.ops.sgMapping(sgt);
    const segments = this.debugSegments(sgt, m?.count ?? 0);
    if (forCpu) this.dmaDebug?.syncSgForCpu(this.name, segments, nents, dir);
    else this.dmaDebug?.syncSgForDevice(this.name, segments, nents, dir);
    if (!m) return this.misuse(where, `the table is not mapped by ${this.name}`);
    if (forCpu) this.ops.syncSgForCpu(where, sgt, nents, dir);
    else this.ops.syncSgForDevice(where, sgt, nents, dir);
  }

  private sgArg(where: string, sgt: SgTable): void {
    if (!sgt || !Array.isArray(sgt.entries) || sgt.entries.length === 0)
      throw new DmaSimError("EINVAL", `${where}: sgt must be a non-empty SgTable`);
    if (sgt.pageSize !== this.sys.pageSize)
      throw new DmaSimError("EINVAL", `${where}: the table was built for another page size`);
    // Entries are plain data an exporter may have built: each must describe RAM.
    const ram = this.sys.ramBytes;
    const page = this.sys.pageSize;
    sgt.entries.forEach((e, i) => {
      if (typeof e !== "object" || e === null)
        throw new DmaSimError("EINVAL", `${where}: entries[${i}] is not an entry`);
      const pfn = requireInt(where, `entries[${i}].pfn`, e.pfn, 0, ram / page - 1);
      const offset = requireInt(where, `entries[${i}].offset`, e.offset, 0, ram - 1);
      requireInt(where, `entries[${i}].length`, e.length, 1, ram - pfn * page - offset);
    });
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
    const atomic = optionalBoolean(
      "dmaAllocAttrs",
      "atomic",
      requireObject("dmaAllocAttrs", "options", options).atomic,
      false,
    );
    const buf = this.ops.alloc(size, atomic);
    if (buf) {
      // Its pages are the buffer's until dma_free_attrs(); pool memory is held by the pool.
      this.sys.pageHolds.holdRuns(buf.blocks, "coherent DMA buffer");
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
    this.sys.pageHolds.unholdRuns(buf.blocks);
    this.ops.free(buf);
  }

  /**
   * dma_mmap_attrs(): the pfns a user mapping of `pages` pages from page
   * `pgoff` of the buffer would map (remap_pfn_range() / vm_map_pages()), or
   * -ENXIO when the range runs past the buffer, as dma_direct_mmap() answers.
   */
  dmaMmapAttrs(buf: CoherentBuffer, pgoff: number, pages: number): number[] | number {
    if (!this.coherentBuffers.has(buf))
      throw new DmaSimError("EINVAL", `dmaMmapAttrs: not a coherent buffer of ${this.name}`);
    requireInt("dmaMmapAttrs", "pgoff", pgoff, 0, Number.MAX_SAFE_INTEGER);
    requireInt("dmaMmapAttrs", "pages", pages, 1, Number.MAX_SAFE_INTEGER);
    const count = pfnUp(buf.size, this.sys.pageSize);
    if (pgoff >= count || pages > count - pgoff) return -ERRNO.ENXIO;
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
    // The default length needs a buffer of this device: coherentArgs() refuses anything else.
    const size = this.coherentBuffers.has(buf) ? buf.size : 0;
    const [phys, len] = this.coherentArgs(
      "coherentRead",
      buf,
      offset,
      length ?? (typeof offset === "number" ? size - offset : 0),
    );
    return this.coherent ? this.sys.cpuRead(phys, len) : this.sys.ramRead(phys, len);
  }

  /** CPU store into a coherent buffer (see coherentRead()). */
  coherentWrite(buf: CoherentBuffer, bytes: Uint8Array, offset = 0): void {
    requireBytes("coherentWrite", "bytes", bytes);
    const [phys] = this.coherentArgs("coherentWrite", buf, offset, bytes.length);
    if (this.coherent) this.sys.cpuWrite(phys, bytes);
    else this.sys.ramWrite(phys, bytes);
  }

  private coherentArgs(where: string, buf: CoherentBuffer, offset: number, length: number): [number, number] {
    if (!this.coherentBuffers.has(buf))
      throw new DmaSimError("EINVAL", `${where}: not a coherent buffer of ${this.name}`);
    if (!this.sys.storeContents) throw new DmaSimError("EINVAL", `${where}: this machine keeps no page contents`);
    requireInt(where, "offset", offset, 0, buf.size);
    requireInt(where, "length", length, 0, buf.size - offset);
    if (buf.blocks.length > 1 && offset + length > buf.blocks[0]!.pages * this.sys.pageSize) {
      throw new DmaSimError(
        "EINVAL",
        `${where}: the range spans separate blocks of an IOMMU buffer; access it through the device`,
      );
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
    for (let addr = dmaAddr; addr < dmaAddr + length;) {
      const len = Math.min(page - (addr % page), dmaAddr + length - addr);
      let phys: number;
      if (this.iommu) {
        const prot = this.iommu.protAt(addr);
        const need = write ? IOMMU_WRITE : IOMMU_READ;
        if ((prot & need) === 0) {
          const fault: IommuFault = {
            iova: addr,
            write,
            reason: prot === 0 ? "unmapped" : "permission",
            device: this.name,
          };
          this.recordFault(fault);
          this.iommu.recordFault(fault);
          throw new DmaSimError(
            "EFAULT",
            `${where}: IOMMU fault at 0x${addr.toString(16)} (${fault.reason}, ${write ? "write" : "read"})`,
          );
        }
        phys = this.iommu.iovaToPhys(addr);
      } else {
        if (!this.capable(addr, len) || addr + len > this.sys.ramBytes) {
          this.recordFault({ iova: addr, write, reason: "unmapped", device: this.name });
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
    requireBytes("dmaWrite", "bytes", bytes);
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

  /** Streaming mappings the device holds (single/page mappings and mapped tables). */
  get activeMappings(): number {
    return this.ops.activeMappings;
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

  private recordFault(fault: IommuFault): void {
    appendBounded(this.faults, fault, FAULT_LOG_ENTRIES);
    this.faultCount++;
  }

  // ---- state: the DMA subsystem's part of check() and stateHash() ----------------------------

  /** @internal As created: no mapping, buffer or fault, zero counters, no IOMMU entries reported. */
  get statePristine(): boolean {
    return (
      this.ops.pristine &&
      this.coherentBuffers.size === 0 &&
      this.faults.length === 0 &&
      (this.iommu?.pristine ?? true) &&
      this.lastIommuEntries.length === 4 &&
      this.lastIommuEntries.every((n) => n === 0) &&
      COUNTER_KEYS.every((k) => this.counters[k] === 0)
    );
  }

  /**
   * @internal Feeds the device's state: counters, last IOMMU entries, faults
   * (the device's, then its domain's), the streaming mappings and tables its
   * ops hold, and its coherent buffers by address.
   */
  hashState(h: StateHasher): void {
    h.str(this.name);
    for (const k of COUNTER_KEYS) h.num(this.counters[k]);
    h.list(this.lastIommuEntries, (n) => h.num(n));
    h.list(this.faults, (f) => hashIommuFault(h, f));
    // Faults the log dropped (fed only when there are some, so short runs hash as before).
    if (this.faultCount !== this.faults.length) h.num(this.faultCount);
    if (this.iommu) this.iommu.hashState(h);
    this.ops.hash(h);
    const buffers = [...this.coherentBuffers].map((b) => [
      b.dmaAddress,
      b.phys,
      b.size,
      COHERENT_SOURCES.indexOf(b.source),
      ...b.blocks.flatMap((k) => [k.pfn, k.order, k.pages]),
    ]);
    hashWordLists(h, buffers.sort(compareWords));
  }

  /** @internal The device's invariants: its mappings and buffers (see DmaMapOps.check()), its domain's faults among its own. */
  checkState(): string {
    const at = `device ${this.name}`;
    for (const buf of this.coherentBuffers)
      if (buf.device !== this.name) return `${at}: holds a coherent buffer of ${buf.device}`;
    const msg = this.ops.check([...this.coherentBuffers]);
    if (msg) return `${at}: ${msg}`;
    for (const f of this.iommu?.faults ?? []) {
      if (!this.faults.includes(f))
        return `${at}: its IOMMU domain records a fault at 0x${f.iova.toString(16)} the device does not`;
    }
    return "";
  }

  /** @internal The streaming mappings bounced through swiotlb. */
  swiotlbMappings(): { tlbAddr: number; phys: number; size: number }[] {
    return this.ops.swiotlbMappings();
  }

  /** @internal The coherent buffers the device holds. */
  coherentBufferList(): CoherentBuffer[] {
    return [...this.coherentBuffers];
  }

  /** @internal */
  static maskBitsValid(bits: number): boolean {
    return Number.isInteger(bits) && bits >= 12 && bits <= MASK_BITS_MAX;
  }
}
