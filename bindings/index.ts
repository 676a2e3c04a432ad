/**
 * dmasim: a simulator of the Linux physical-memory and DMA buffer-sharing stack.
 * Everything public is exported here.
 */
export { createSystem, System } from "./system.ts";
export type { SystemStats, Policy, PageInfo } from "./system.ts";
export type { SystemOptions, CmaAreaOptions } from "./options.ts";
export type { Backend } from "./backend.ts";
export { CmaArea } from "./cma.ts";
export type { CmaStats, CmaFreeRun } from "./cma.ts";
export { MovablePage } from "./page.ts";
export { DmaSimError, ERRNO } from "./errors.ts";
export type { ErrnoCode } from "./errors.ts";
export { MIGRATETYPES } from "./migratetype.ts";
export type { Migratetype, MigratetypeName, ContigMigratetype } from "./migratetype.ts";
export {
  fragmentationIndex, unusableFreeIndex, MIGRATETYPE_NAMES, formatBuddyinfo, formatPagetypeinfo,
  formatExtfragIndex, formatUnusableIndex, formatVmstat,
} from "./vmstat.ts";
export type { ZoneFreeInfo } from "./vmstat.ts";
export { createRandom } from "./random.ts";
export type { Random } from "./random.ts";
export { SgTable, sgAllocTableFromPages, sgAppendTableFromPages, SG_MAX_SEGMENT_DEFAULT } from "./scatterlist.ts";
export type { SgEntry, SgOptions } from "./scatterlist.ts";
export { Device, DMA_MAPPING_ERROR } from "./device.ts";
export type { DeviceOptions, DeviceIommuOptions, DmaDirection, IommuSgStyle, CoherentBuffer } from "./device.ts";
export { IommuDomain, IOMMU_READ, IOMMU_WRITE, IOMMU_PAGE_SIZES } from "./iommu.ts";
export type { IommuFault } from "./iommu.ts";
export { SwiotlbPool, IO_TLB_SIZE, IO_TLB_SEGSIZE } from "./swiotlb.ts";
export { AtomicPool } from "./dma-pool.ts";
export type { ZoneName, ZoneInfo, AllocFlags } from "./system.ts";
export type { ZoneOption } from "./options.ts";
export { DmaDebug } from "./dma-debug.ts";
export type { DmaDebugReport, DmaDebugOptions } from "./dma-debug.ts";
export { CpuCache } from "./cache.ts";
