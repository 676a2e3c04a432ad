/**
 * The DMA subsystem of one machine, as boot sets it up: the swiotlb bounce
 * pool, the atomic pools (dma_atomic_pool_init()), an IOMMU domain per device
 * that has one, the devices, and the DMA-API checker when enabled. It registers
 * as the machine's "dma" subsystem: its invariants in check(), its state in
 * stateHash() (nothing while it is as boot left it).
 */
import { DmaSimError } from "../core/errors.ts";
import type { StateHasher } from "../core/hash.ts";
import type { Mm } from "../mm/mm.ts";
import { DmaDebug, type DmaDebugOptions } from "./debug.ts";
import { Device, type DeviceOptions } from "./device.ts";
import { IommuDomain } from "./iommu.ts";
import { AtomicPool, atomicPoolBytes } from "./pool.ts";
import { IO_TLB_SIZE, type SwiotlbPool } from "./swiotlb.ts";
import { getOrder, pageAlign } from "../core/units.ts";

export class DmaSubsystem {
  readonly devices: readonly Device[];
  /** The atomic DMA pools (kernel, DMA, DMA32 as the zones allow). */
  readonly atomicPools: readonly AtomicPool[];
  private readonly pageSize: number;

  constructor(
    mm: Mm,
    deviceOptions: readonly DeviceOptions[],
    /** The swiotlb bounce pool, or null. */
    readonly swiotlb: SwiotlbPool | null,
    /** The DMA-API checker (CONFIG_DMA_API_DEBUG), or null. */
    readonly dmaDebug: DmaDebug | null,
  ) {
    this.pageSize = mm.pageSize;
    const pools: AtomicPool[] = [];
    const devices: Device[] = [];
    if (deviceOptions.length > 0) {
      // dma_atomic_pool_init(): the kernel pool, then DMA and DMA32 when those zones exist.
      const bytes = atomicPoolBytes(mm.ramBytes, mm.pageSize, mm.maxOrder);
      const order = getOrder(bytes, mm.pageSize);
      for (const zone of ["Normal", "DMA", "DMA32"] as const) {
        if (zone !== "Normal" && !mm.zones().some((z) => z.name === zone)) continue;
        const pfn = mm.allocPages(order, "unmovable", { zone });
        if (pfn === null) continue;
        mm.pageHolds.hold(pfn, 2 ** order, "atomic DMA pool");
        pools.push(new AtomicPool(mm.lastAllocZone!, pfn * mm.pageSize, bytes, mm.pageSize));
      }
    }
    for (const d of deviceOptions) {
      let domain: IommuDomain | null = null;
      if (d.iommu) {
        const flat = d.iommu.style === "arm" ? 0 : 1;
        const id = mm.engine.domainCreate(d.iommu.base / mm.pageSize, d.iommu.size / mm.pageSize, flat);
        if (id < 0) {
          throw DmaSimError.fromErrno(
            id,
            `createSystem: device "${d.name}": IOVA space [0x${d.iommu.base.toString(16)}, +0x${d.iommu.size.toString(16)}) is beyond 4 GiB (arm_iommu_create_mapping())`,
          );
        }
        domain = new IommuDomain(mm, id, d.iommu.base, d.iommu.size, flat ? "dma-iommu" : "arm");
      }
      const area = d.cma ? mm.cma(d.cma) : null;
      devices.push(new Device(mm, d, domain, area, swiotlb, pools, dmaDebug));
    }
    this.devices = devices;
    this.atomicPools = pools;
    // The checker watches CPU accesses for buffers a device owns.
    if (dmaDebug) mm.cpuAccessObserver = (phys, length, write) => dmaDebug.cpuAccess(null, phys, length, write);
    mm.registry.add({ name: "dma", check: () => this.check(), hash: (h) => this.hash(h) });
  }

  /** Nothing mapped, allocated, faulted, counted or reported: the state boot left. */
  private get pristine(): boolean {
    return (
      this.devices.every((d) => d.statePristine) &&
      (this.swiotlb?.pristine ?? true) &&
      this.atomicPools.every((p) => p.pristine) &&
      (this.dmaDebug?.pristine ?? true)
    );
  }

  /**
   * The TS-side DMA state, nothing while it is pristine: each device in
   * creation order (with its IOMMU domain's faults; the IOVA bitmaps and page
   * tables are the engine's), the swiotlb pool, the atomic pools, the checker.
   */
  private hash(h: StateHasher): void {
    if (this.pristine) return;
    h.list(this.devices, (d) => d.hashState(h));
    h.bool(this.swiotlb !== null);
    this.swiotlb?.hashState(h);
    h.list(this.atomicPools, (p) => p.hashState(h));
    h.bool(this.dmaDebug !== null);
    this.dmaDebug?.hashState(h);
  }

  /**
   * The invariants: each device's (its mappings held as the engine and the
   * pools hold them); swiotlb's own, its bounce buffers exactly the devices'
   * bounce mappings and its slots in use theirs; each atomic pool's bytes in
   * use the live allocations from it; the checker's bookkeeping.
   */
  private check(): string {
    for (const d of this.devices) {
      const msg = d.checkState();
      if (msg) return msg;
    }
    const bounces = this.devices.flatMap((d) => d.swiotlbMappings());
    if (this.swiotlb) {
      const msg = this.swiotlb.checkState();
      if (msg) return msg;
      const slots = bounces.reduce((n, b) => n + Math.ceil(b.size / IO_TLB_SIZE), 0);
      if (new Set(bounces.map((b) => b.tlbAddr)).size !== bounces.length)
        return "swiotlb: a bounce buffer is mapped twice";
      if (bounces.length !== this.swiotlb.mappings)
        return `swiotlb: ${this.swiotlb.mappings} bounce buffers, ${bounces.length} bounce mappings`;
      if (slots !== this.swiotlb.used)
        return `swiotlb: ${this.swiotlb.used} slots in use, the bounce mappings hold ${slots}`;
    } else if (bounces.length > 0) {
      return "swiotlb: bounce mappings without a swiotlb pool";
    }
    const buffers = this.devices.flatMap((d) => d.coherentBufferList()).filter((b) => b.source === "atomic-pool");
    for (const pool of this.atomicPools) {
      const held = buffers
        .filter((b) => pool.contains(b.phys))
        .reduce((n, b) => n + pageAlign(b.size, this.pageSize), 0);
      if (pool.usedBytes !== held)
        return `atomic pool (${pool.zone}): ${pool.usedBytes} bytes in use, the live allocations hold ${held}`;
    }
    return this.dmaDebug?.checkState() ?? "";
  }

  /** Creates the checker from createSystem()'s `dmaDebug` option. */
  static debugFor(option: boolean | DmaDebugOptions | undefined): DmaDebug | null {
    return option ? new DmaDebug(option === true ? {} : option) : null;
  }
}
