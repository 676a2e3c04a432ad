/**
 * dmasim: a simulator of the Linux physical-memory and DMA buffer-sharing stack.
 * Everything public is exported here; the Fragmentation Lab is its own entry,
 * `dmasim/lab`.
 */
export { createSystem, System } from "./system.ts";
export type {
  SystemStats,
  Policy,
  PageInfo,
  AdvanceResult,
  KcompactdState,
  KswapdState,
  ZoneReserves,
  SwapInfo,
} from "./system.ts";
export type { SystemOptions, CmaAreaOptions } from "./options.ts";
export { FaultInjection, FAULT_DIRS } from "./core/fault-inject.ts";
export type { FaultAttrOptions, FaultInjectionOptions, FaultPoint } from "./core/fault-inject.ts";
export type { Backend, EngineWasmSource } from "./core/backend.ts";
export { setEngineWasm } from "./core/backend.ts";
export { CmaArea } from "./mm/cma.ts";
export type { CmaStats, CmaFreeRun } from "./mm/cma.ts";
export { MovablePage } from "./mm/page.ts";
export {
  CachedFile,
  MAX_PAGE_INDEX,
  PageCache,
  type CachedPageState,
  type LruName,
  type LruStats,
} from "./mm/page-cache.ts";
export { DmaSimError, ERRNO } from "./core/errors.ts";
export type { ErrnoCode } from "./core/errors.ts";
export { MIGRATETYPES } from "./mm/migratetype.ts";
export type { Migratetype, MigratetypeName, ContigMigratetype } from "./mm/migratetype.ts";
export type { CompactResult, CompactionZoneState } from "./mm/compaction.ts";
export {
  fragmentationIndex,
  unusableFreeIndex,
  MIGRATETYPE_NAMES,
  formatBuddyinfo,
  formatPagetypeinfo,
  formatExtfragIndex,
  formatUnusableIndex,
  formatVmstat,
} from "./fs/vmstat.ts";
export type { ZoneFreeInfo } from "./fs/vmstat.ts";
export { createRandom } from "./core/random.ts";
export { KIB, MIB, GIB } from "./core/units.ts";
export type { Random } from "./core/random.ts";
export { SgTable, sgAllocTableFromPages, sgAppendTableFromPages, SG_MAX_SEGMENT_DEFAULT } from "./lib/scatterlist.ts";
export type { SgEntry, SgOptions } from "./lib/scatterlist.ts";
export { Device, DMA_MAPPING_ERROR } from "./dma/device.ts";
export type {
  DeviceOptions,
  DeviceIommuOptions,
  DmaDirection,
  IommuSgStyle,
  CoherentBuffer,
  DmaCounters,
} from "./dma/device.ts";
export { IommuDomain, IOMMU_READ, IOMMU_WRITE, IOMMU_PAGE_SIZES } from "./dma/iommu.ts";
export type { IommuFault } from "./dma/iommu.ts";
export { SwiotlbPool, IO_TLB_SIZE, IO_TLB_SEGSIZE } from "./dma/swiotlb.ts";
export { AtomicPool } from "./dma/pool.ts";
export type { ZoneName, ZoneInfo, AllocFlags } from "./system.ts";
export { KERNEL_VERSIONS, MAX_CPUS, MIN_PERCPU_PAGELIST_HIGH_FRACTION, type KernelVersion } from "./mm/mm.ts";
export type { ZoneOption } from "./options.ts";
export { MAX_SWAP_PAGES } from "./options.ts";
export { DmaDebug } from "./dma/debug.ts";
export type { DmaDebugReport, DmaDebugOptions } from "./dma/debug.ts";
export { CpuCache } from "./mm/cache.ts";
export { DmaBuf, DmaBufAttachment, DmaBufMap, VmArea, dmaBufExport } from "./dma-buf/dma-buf.ts";
export type { DmaBufOps, DmaBufAttachOps, DmaBufExportInfo, PageRun, VmFault, FileRef } from "./dma-buf/dma-buf.ts";
export { DmaHeap, dmaHeaps, dmaHeapFind, SYSTEM_HEAP_ORDERS } from "./dma-buf/dma-heap.ts";
export type { DmaHeapOps, DmaHeapStats } from "./dma-buf/dma-heap.ts";
export { dmaBufExportDeferred, deferredInfo, placementConstraints } from "./dma-buf/deferred.ts";
export type {
  DeferredDmaBufOptions,
  DeferredPlacement,
  DeferredStats,
  PlacementConstraints,
} from "./dma-buf/deferred.ts";
export { Process, Mapping } from "./uapi/process.ts";
export type { ProcessOptions, DmaBufAccounting } from "./uapi/process.ts";
export {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_WRITE,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_VALID_FLAGS_MASK,
  DMA_BUF_NAME_LEN,
  DMA_BUF_BASE,
} from "./uapi/linux/dma-buf.ts";
export type { DmaBufSync } from "./uapi/linux/dma-buf.ts";
export {
  DMA_HEAP_IOCTL_ALLOC,
  DMA_HEAP_IOC_MAGIC,
  DMA_HEAP_VALID_FD_FLAGS,
  DMA_HEAP_VALID_HEAP_FLAGS,
  DMA_HEAP_ALLOCATION_DATA_SIZE,
} from "./uapi/linux/dma-heap.ts";
export type { DmaHeapAllocationData, DmaHeapAllocationArg } from "./uapi/linux/dma-heap.ts";
export {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_ACCMODE,
  O_CLOEXEC,
  O_NONBLOCK,
  SEEK_SET,
  SEEK_CUR,
  SEEK_END,
} from "./uapi/linux/fcntl.ts";
export {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_SHARED_VALIDATE,
} from "./uapi/linux/mman.ts";
export { _IOC, _IO, _IOR, _IOW, _IOWR, _IOC_NR, _IOC_TYPE, _IOC_SIZE, _IOC_DIR } from "./uapi/linux/ioctl.ts";
export { Bitmap } from "./lib/bitmap.ts";
export {
  claimCmaRange,
  claimFreeBlock,
  ownerPfn,
  peekCmaAlloc,
  releaseHeldBlock,
  unclaimCmaRange,
  peekRmqueue,
  rmqueueInZone,
  setPageblockMigratetype,
  stealWithoutClaim,
} from "./mm/claim.ts";
export type { RmqueuePeek } from "./mm/claim.ts";
