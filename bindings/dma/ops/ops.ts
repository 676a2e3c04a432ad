/**
 * struct dma_map_ops (include/linux/dma-map-ops.h): what a device's DMA-mapping
 * implementation provides. The core (dma/device.ts, kernel/dma/mapping.c)
 * validates the driver's arguments, runs the DMA-API checker's hooks and picks
 * one implementation per device at creation (get_dma_ops()):
 *
 *   ops/direct.ts     dma-direct with swiotlb bouncing (kernel/dma/direct.c)
 *   ops/iommu-dma.ts  dma-iommu (drivers/iommu/dma-iommu.c)
 *   ops/arm-iommu.ts  the ARM IOMMU mapping code (arch/arm/mm/dma-mapping.c)
 *
 * Each keeps the live mappings it made (ops/mappings.ts), in record types of
 * its own.
 */
import type { StateHasher } from "../../core/hash.ts";
import type { CmaArea } from "../../mm/cma.ts";
import type { Mm } from "../../mm/mm.ts";
import type { SgTable } from "../../lib/scatterlist.ts";
import type { DmaDirection } from "../direction.ts";
import type { AtomicPool } from "../pool.ts";

/**
 * DMA_MAPPING_ERROR: (~(dma_addr_t)0) in the kernel. JS numbers cannot hold
 * 2^64 - 1 exactly, so dmasim uses -1, never a valid bus address.
 */
export const DMA_MAPPING_ERROR = -1;

/** One block of memory behind a coherent buffer. */
export interface CoherentBlock {
  pfn: number;
  /** Buddy order, or -1 for a CMA allocation (its size is `pages`). */
  order: number;
  pages: number;
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
  readonly blocks: CoherentBlock[];
}

/** A device's DMA counters. */
export interface DmaCounters {
  /** Streaming mappings bounced through swiotlb. */
  bounced: number;
  /** Streaming mappings (single or sg) that failed. */
  mapErrors: number;
  /** Coherent allocations by source. */
  coherentCma: number;
  coherentBuddy: number;
  coherentPool: number;
  coherentIommu: number;
}

/**
 * struct device as the ops see it: the device's limits, the memory it may use,
 * and the core's helpers (cache maintenance, the checker's misuse rule).
 */
export interface DmaDev {
  readonly name: string;
  readonly mm: Mm;
  /** The highest bus address the device can reach (its DMA mask). */
  readonly dmaLimit: number;
  readonly maxSegmentSize: number;
  /** Segment boundary mask, or Infinity for none. */
  readonly segmentBoundaryMask: number;
  /** The CMA area serving the device's large coherent allocations, or null. */
  readonly cmaArea: CmaArea | null;
  /** The atomic pools (dma_alloc_from_pool()). */
  readonly pools: readonly AtomicPool[];
  readonly counters: DmaCounters;
  /** dma_capable(): the device can reach [addr, addr + size). */
  capable(addr: number, size: number): boolean;
  /** arch_sync_dma_for_device(): clean the CPU cache over a buffer (non-coherent devices). */
  syncForDevice(phys: number, size: number): void;
  /** arch_sync_dma_for_cpu(): invalidate the CPU cache over a buffer, except for DMA_TO_DEVICE (non-coherent devices). */
  syncForCpu(phys: number, size: number, dir: DmaDirection): void;
  /** swiotlb_bounce(): a CPU memcpy between physical addresses. */
  copyPhys(from: number, to: number, size: number): void;
  /** A misuse the DMA-API checker reports when it is on (the call then does nothing); without it, a DmaSimError. */
  misuse(where: string, message: string): void;
  /** Records the IOMMU page-table entries the device's last IOMMU mapping used. */
  setLastIommuEntries(entries: number[]): void;
}

/** What the core reads of a mapped scatterlist. */
export interface DmaSgMapping {
  /** Device segments mapped (the value dma_map_sg() returned). */
  readonly count: number;
  readonly dir: DmaDirection;
}

/**
 * struct dma_map_ops. Addresses are bytes; `where` names the DMA-API call for
 * the messages of misuse (unmapping or syncing what is not mapped).
 */
export interface DmaMapOps {
  /** Which implementation: "direct" (dma-direct), "iommu-dma" or "arm-iommu". */
  readonly name: "direct" | "iommu-dma" | "arm-iommu";

  /** map_phys(): maps `size` bytes at `phys`; the bus address, or DMA_MAPPING_ERROR. */
  mapPhys(phys: number, size: number, dir: DmaDirection): number;
  /** unmap_phys(): releases the mapping at `dmaAddr` that fits the call best. */
  unmapPhys(where: string, dmaAddr: number, size: number, dir: DmaDirection): void;
  /** sync_single_for_cpu() */
  syncSingleForCpu(where: string, dmaAddr: number, size: number, dir: DmaDirection): void;
  /** sync_single_for_device() */
  syncSingleForDevice(where: string, dmaAddr: number, size: number, dir: DmaDirection): void;

  /** map_sg(): maps the table's origNents entries, writes the device segments into it; their count, or 0 on failure. */
  mapSg(sgt: SgTable, dir: DmaDirection): number;
  /** unmap_sg(): releases a table mapped with mapSg() (the core clears its device segments). */
  unmapSg(sgt: SgTable): void;
  /** sync_sg_for_cpu(): the first `nents` entries. */
  syncSgForCpu(where: string, sgt: SgTable, nents: number, dir: DmaDirection): void;
  /** sync_sg_for_device() */
  syncSgForDevice(where: string, sgt: SgTable, nents: number, dir: DmaDirection): void;

  /** alloc(): a coherent buffer (not yet zeroed), or null. `atomic`: from the atomic pools. */
  alloc(size: number, atomic: boolean): CoherentBuffer | null;
  /** free(): gives back a buffer from alloc(). */
  free(buf: CoherentBuffer): void;

  // ---- the simulator's bookkeeping ----

  /** The mapping of `sgt`, or undefined when the table is not mapped. */
  sgMapping(sgt: SgTable): DmaSgMapping | undefined;
  /** Streaming mappings held: single/page mappings and mapped tables. */
  readonly activeMappings: number;
  /** The streaming mappings bounced through swiotlb: the bounce buffer, the buffer it stands for, the bytes. */
  swiotlbMappings(): { tlbAddr: number; phys: number; size: number }[];
  /** No mapping is held. */
  readonly pristine: boolean;
  /** Feeds the live mappings in a canonical order (by bus address; tables whatever order they were mapped in). */
  hash(h: StateHasher): void;
  /**
   * The invariants of the mappings and of the device's coherent buffers
   * `coherent` (made by alloc()): "" when they hold, else the first broken one.
   */
  check(coherent: readonly CoherentBuffer[]): string;
}
