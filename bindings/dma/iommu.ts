/**
 * IommuDomain: an IOMMU domain with its IOVA allocator and IO page table, a thin
 * handle over the engine (assembly/iommu.ts). Addresses are bytes.
 */
import {
  IOMMU_NR_PGSIZES,
  IOMMU_PGSIZE_16M,
  IOMMU_PGSIZE_1M,
  IOMMU_PGSIZE_4K,
  IOMMU_PGSIZE_64K,
  IOMMU_READ,
  IOMMU_WRITE,
} from "../core/abi.generated.ts";
import { appendBounded } from "../core/bounded-log.ts";
import { DmaSimError } from "../core/errors.ts";
import type { StateHasher } from "../core/hash.ts";
import { offsetInPage, pageAligned, pfnUp } from "../core/units.ts";
import { requireInt } from "../core/validate.ts";
import type { Mm } from "../mm/mm.ts";

/** IOMMU_READ / IOMMU_WRITE: the device may read / write through the mapping (the engine's prot bits). */
export { IOMMU_READ, IOMMU_WRITE };

/** The IOMMU page sizes of the ARM short-descriptor format, in bytes, indexed by the engine's page-size code. */
export const IOMMU_PAGE_SIZES: readonly number[] = (() => {
  const sizes = new Array<number>(IOMMU_NR_PGSIZES);
  sizes[IOMMU_PGSIZE_4K] = 4096;
  sizes[IOMMU_PGSIZE_64K] = 65536;
  sizes[IOMMU_PGSIZE_1M] = 1 << 20;
  sizes[IOMMU_PGSIZE_16M] = 1 << 24;
  return Object.freeze(sizes);
})();

/** The largest device address a caller may name (any safe integer; outside the domain means "not mapped"). */
const DMA_ADDR_MAX = Number.MAX_SAFE_INTEGER;

/** How many faults a device and a domain keep (the newest); older ones are only counted. */
export const FAULT_LOG_ENTRIES = 256;

/** A device access the IOMMU refused. */
export interface IommuFault {
  /** Device address of the access. */
  iova: number;
  write: boolean;
  reason: "unmapped" | "permission";
  device: string;
}

/** Feeds a fault (for the state hash). */
export function hashIommuFault(h: StateHasher, f: IommuFault): void {
  h.num(f.iova).bool(f.write).str(f.reason).str(f.device);
}

export class IommuDomain {
  /** The newest faults recorded by device accesses through this domain (at most FAULT_LOG_ENTRIES), oldest first. */
  readonly faults: IommuFault[] = [];
  /** Faults since the domain was created, including those the log dropped. */
  faultCount = 0;

  /** @internal */
  constructor(
    private readonly sys: Mm,
    /** Engine domain id. */
    readonly id: number,
    /** First IOVA, bytes. */
    readonly base: number,
    /** Size of the IOVA space, bytes. */
    readonly size: number,
    /** Whose IOVA allocator the domain runs: drivers/iommu/iova.c ("dma-iommu") or the ARM mapping code's bitmap. */
    readonly style: "dma-iommu" | "arm" = "dma-iommu",
  ) {}

  private get pageSize(): number {
    return this.sys.pageSize;
  }

  /** @internal IOVA page index of a device address, or -1 outside the domain. */
  iovaPage(dmaAddr: number): number {
    if (dmaAddr < this.base || dmaAddr >= this.base + this.size) return -1;
    return Math.floor((dmaAddr - this.base) / this.pageSize);
  }

  /**
   * IOVA space for `bytes` (page-aligned up). Returns the device address, or
   * null (DMA_MAPPING_ERROR).
   *
   * dma-iommu domains allocate as iommu_dma_alloc_iova() / alloc_iova_fast()
   * do (drivers/iommu/iova.c): top-down at or below `limit` (the device's DMA
   * limit, a byte address; default the domain's end), aligned to the size
   * rounded up to a power of two, from the range caches first. ARM-style
   * domains as __alloc_iova() does: first fit from the bottom, aligned to the
   * size's order capped at CONFIG_ARM_DMA_IOMMU_ALIGNMENT (8), growing by one
   * bitmap extension when full (`limit` is not used).
   */
  allocIova(bytes: number, limit: number = this.base + this.size - 1): number | null {
    requireInt("IommuDomain.allocIova", "bytes", bytes, 1, this.size);
    requireInt("IommuDomain.allocIova", "limit", limit, 0, DMA_ADDR_MAX);
    const faults = this.sys.faultInjection;
    if (faults.enabled && faults.shouldFail("failIommu", { size: 1 })) return null;
    const limitPage = Math.min(Math.floor(limit / this.pageSize), 2 ** 31 - 1);
    const ret = this.sys.engine.iovaAlloc(this.id, pfnUp(bytes, this.pageSize), limitPage);
    return ret < 0 ? null : this.base + ret * this.pageSize;
  }

  /** Ranges in the IOVA tree (live and cached) and ranges in the range caches; zeros for ARM-style domains. */
  get iovaTree(): { nodes: number; cached: number } {
    if (this.style !== "dma-iommu") return { nodes: 0, cached: 0 };
    return { nodes: this.sys.engine.iovaNodes(this.id), cached: this.sys.engine.iovaCachedRanges(this.id) };
  }

  /** __free_iova(): gives back IOVA space allocated with allocIova(). */
  freeIova(dmaAddr: number, bytes: number): void {
    requireInt("IommuDomain.freeIova", "dmaAddr", dmaAddr, 0, DMA_ADDR_MAX);
    requireInt("IommuDomain.freeIova", "bytes", bytes, 1, this.size);
    const page = this.iovaPage(dmaAddr);
    if (page < 0 || !pageAligned(dmaAddr - this.base, this.pageSize)) {
      throw new DmaSimError("EINVAL", `IommuDomain.freeIova: 0x${dmaAddr.toString(16)} is not a page of this domain`);
    }
    const ret = this.sys.engine.iovaFree(this.id, page, pfnUp(bytes, this.pageSize));
    if (ret < 0)
      throw new DmaSimError("EINVAL", "IommuDomain.freeIova: the range crosses a bitmap extension or the domain end");
  }

  /**
   * iommu_map(): maps `bytes` at device address `iova` to physical address
   * `phys` (both page-aligned) with IOMMU_READ / IOMMU_WRITE, using the largest
   * IOMMU pages (4K, 64K, 1M, 16M) the alignment allows. Returns how many
   * page-table entries of each size the mapping used.
   */
  map(iova: number, phys: number, bytes: number, prot: number): { entries: number[] } {
    this.mapPages(iova, phys, bytes, prot);
    return { entries: IOMMU_PAGE_SIZES.map((_, code) => this.sys.engine.lastMapPtes(code)) };
  }

  /** @internal iommu_map() without the entry report (the DMA layer's hot path). */
  mapPages(iova: number, phys: number, bytes: number, prot: number): void {
    const where = "IommuDomain.map";
    requireInt(where, "iova", iova, 0, DMA_ADDR_MAX);
    requireInt(where, "phys", phys, 0, DMA_ADDR_MAX);
    requireInt(where, "bytes", bytes, 1, this.size);
    requireInt(where, "prot", prot, 1, IOMMU_READ | IOMMU_WRITE);
    const page = this.iovaPage(iova);
    const ps = this.pageSize;
    if (page < 0 || !pageAligned(iova, ps) || !pageAligned(phys, ps) || !pageAligned(bytes, ps)) {
      throw new DmaSimError("EINVAL", `${where}: iova, phys and bytes must be page-aligned and inside the domain`);
    }
    requireInt(where, "phys", phys, 0, this.sys.ramBytes - bytes);
    const ret = this.sys.engine.iommuMap(this.id, page, phys / this.pageSize, bytes / this.pageSize, prot);
    if (ret < 0) throw DmaSimError.fromErrno(ret, `${where}: range outside the domain or already mapped`);
  }

  /** iommu_unmap(): unmaps whole IOMMU pages from `iova`; returns the bytes unmapped. */
  unmap(iova: number, bytes: number): number {
    requireInt("IommuDomain.unmap", "iova", iova, 0, DMA_ADDR_MAX);
    requireInt("IommuDomain.unmap", "bytes", bytes, 1, this.size);
    const page = this.iovaPage(iova);
    if (page < 0) return 0;
    return this.sys.engine.iommuUnmap(this.id, page, pfnUp(bytes, this.pageSize)) * this.pageSize;
  }

  /** iommu_iova_to_phys(): the physical address, or 0 when unmapped (as the kernel returns). */
  iovaToPhys(iova: number): number {
    requireInt("IommuDomain.iovaToPhys", "iova", iova, 0, DMA_ADDR_MAX);
    const page = this.iovaPage(iova);
    if (page < 0) return 0;
    const pfn = this.sys.engine.iovaToPfn(this.id, page);
    return pfn < 0 ? 0 : pfn * this.pageSize + offsetInPage(iova - this.base, this.pageSize);
  }

  /** Permissions at `iova`: IOMMU_READ | IOMMU_WRITE, 0 when unmapped. */
  protAt(iova: number): number {
    requireInt("IommuDomain.protAt", "iova", iova, 0, DMA_ADDR_MAX);
    const page = this.iovaPage(iova);
    return page < 0 ? 0 : this.sys.engine.iovaProt(this.id, page);
  }

  /** Page-table entries in use, per IOMMU page size (4K, 64K, 1M, 16M). */
  get entries(): number[] {
    return IOMMU_PAGE_SIZES.map((_, code) => this.sys.engine.domainPtes(this.id, code));
  }

  /** IOVA bytes allocated. */
  get iovaBytesInUse(): number {
    return this.sys.engine.iovaPagesInUse(this.id) * this.pageSize;
  }

  /** @internal Records a refused access. */
  recordFault(fault: IommuFault): void {
    appendBounded(this.faults, fault, FAULT_LOG_ENTRIES);
    this.faultCount++;
  }

  /** @internal No fault recorded: the TS-side state of a new domain (its IOVA bitmap and page table are the engine's). */
  get pristine(): boolean {
    return this.faults.length === 0;
  }

  /** @internal Feeds the TS-side state: the faults, oldest first. */
  hashState(h: StateHasher): void {
    h.list(this.faults, (f) => hashIommuFault(h, f));
    if (this.faultCount !== this.faults.length) h.num(this.faultCount);
  }

  /** Bitmap extensions allocated so far. */
  get extensions(): number {
    return this.sys.engine.domainExtensions(this.id);
  }
}
