/**
 * The DMA subsystem of one machine, as boot sets it up: the swiotlb bounce
 * pool, the atomic pools (dma_atomic_pool_init()), an IOMMU domain per device
 * that has one, the devices, and the DMA-API checker when enabled.
 */
import { DmaSimError } from "../core/errors.ts";
import type { Mm } from "../mm/mm.ts";
import { DmaDebug, type DmaDebugOptions } from "./debug.ts";
import { Device, type DeviceOptions } from "./device.ts";
import { IommuDomain } from "./iommu.ts";
import { AtomicPool, atomicPoolBytes } from "./pool.ts";
import type { SwiotlbPool } from "./swiotlb.ts";

export class DmaSubsystem {
  readonly devices: readonly Device[];
  /** The atomic DMA pools (kernel, DMA, DMA32 as the zones allow). */
  readonly atomicPools: readonly AtomicPool[];

  constructor(
    mm: Mm,
    deviceOptions: readonly DeviceOptions[],
    /** The swiotlb bounce pool, or null. */
    readonly swiotlb: SwiotlbPool | null,
    /** The DMA-API checker (CONFIG_DMA_API_DEBUG), or null. */
    readonly dmaDebug: DmaDebug | null,
  ) {
    const pools: AtomicPool[] = [];
    const devices: Device[] = [];
    if (deviceOptions.length > 0) {
      // dma_atomic_pool_init(): the kernel pool, then DMA and DMA32 when those zones exist.
      const bytes = atomicPoolBytes(mm.ramBytes, mm.pageSize, mm.maxOrder);
      const order = Math.ceil(Math.log2(bytes / mm.pageSize));
      for (const zone of ["Normal", "DMA", "DMA32"] as const) {
        if (zone !== "Normal" && !mm.zones().some((z) => z.name === zone)) continue;
        const pfn = mm.allocPages(order, "unmovable", { zone });
        if (pfn !== null) pools.push(new AtomicPool(mm.lastAllocZone!, pfn * mm.pageSize, bytes, mm.pageSize));
      }
    }
    for (const d of deviceOptions) {
      let domain: IommuDomain | null = null;
      if (d.iommu) {
        const flat = d.iommu.style === "arm" ? 0 : 1;
        const id = mm.engine.domainCreate(d.iommu.base / mm.pageSize, d.iommu.size / mm.pageSize, flat);
        if (id < 0) {
          throw DmaSimError.fromErrno(id, `createSystem: device "${d.name}": IOVA space [0x${d.iommu.base.toString(16)}, +0x${d.iommu.size.toString(16)}) is beyond 4 GiB (arm_iommu_create_mapping())`);
        }
        domain = new IommuDomain(mm, id, d.iommu.base, d.iommu.size);
      }
      const area = d.cma ? mm.cma(d.cma) : null;
      devices.push(new Device(mm, d, domain, area, swiotlb, pools, dmaDebug));
    }
    this.devices = devices;
    this.atomicPools = pools;
    // The checker watches CPU accesses for buffers a device owns.
    if (dmaDebug) mm.cpuAccessObserver = (phys, length, write) => dmaDebug.cpuAccess(null, phys, length, write);
  }

  /** Creates the checker from createSystem()'s `dmaDebug` option. */
  static debugFor(option: boolean | DmaDebugOptions | undefined): DmaDebug | null {
    return option ? new DmaDebug(option === true ? {} : option) : null;
  }
}
