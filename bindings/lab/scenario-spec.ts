/**
 * The scenario file's schema, as a file spells it (every field optional where a
 * default exists); lab/scenario.ts validates it into the resolved form.
 */

// ---- the schema, as a file spells it ------------------------------------------------------

/** A size in bytes: a number, or a string with a binary unit such as "8 MiB", "512M", "1 GiB", "4096". */
export type Bytes = number | string;

/** A number of operations, fixed or drawn uniformly from [min, max] (inclusive) each time. */
export type OpsRange = number | { min: number; max: number };

/** A Lab scenario as written in JSON. Unknown fields are errors, so typos do not pass silently. */
export interface ScenarioSpec {
  /** Name shown in reports and summaries. Required. */
  name: string;
  /** One line on what it models. Default "". */
  description?: string;
  /** Seed used when the command line gives none, a uint32. Default 1. */
  seed?: number;
  /** The machine. Default: every MachineSpec default (256 MiB). */
  machine?: MachineSpec;
  /** CMA areas (`cma=` / reserved-memory nodes), in declaration order. Default none. */
  areas?: AreaSpec[];
  /**
   * Devices: CMA consumers that use an area on their own schedule, beside the
   * phases' mixes, and importers that `heap` operations hand their buffers to.
   * Default none.
   */
  devices?: DeviceSpec[];
  /** Userspace processes that allocate dma-bufs from the heaps (`heap` operations). Default none. */
  processes?: ProcessSpec[];
  /**
   * Files whose pages the `read`, `write`, `fsync` and `truncate` operations
   * bring into and out of the page cache (sys.pageCache), in declaration order.
   * Default none.
   */
  files?: FileSpec[];
  /** The workload, run in order. At least one. */
  phases: PhaseSpec[];
  /** Metrics samples taken over the run (evenly spaced, plus one at the start). Default 200. */
  samples?: number;
  /**
   * Simulated time per operation, in ms (fractions allowed): after operation t
   * the clock reads floor(t × msPerOp) ms, and the background daemons
   * (kcompactd, proactive compaction every 500 ms) run as they come due.
   * Default 1.
   */
  msPerOp?: number;
  /**
   * The size to run at unless the command line gives `--scale`: RAM, CMA areas,
   * frame sizes, dma-buf limits and every duration × scale, so that a smaller
   * machine sees the same pressure (see scaleScenarioChecked()). Default 1.
   */
  scale?: number;
}

/** Geometry and policy of the simulated machine (see SystemOptions and Policy). */
export interface MachineSpec {
  /** RAM size, a multiple of the pageblock size. Default "256 MiB". */
  ramBytes?: Bytes;
  /** Page size, 4096..65536. Default 4096. */
  pageSize?: Bytes;
  /** MAX_PAGE_ORDER. Default 10. */
  maxOrder?: number;
  /** pageblock_order. Default 9. */
  pageblockOrder?: number;
  /**
   * Keep page contents. The Lab studies placement, not data, so contents only
   * cost time and memory. Default false.
   */
  storeContents?: boolean;
  /** __rmqueue()'s CMA-first balance rule (Policy.cmaFirstBalance). Default true. */
  cmaFirstBalance?: boolean;
  /**
   * Memory zones (SystemOptions.zones): "x86_64" (DMA below 16 MiB, DMA32 below
   * 4 GiB, Normal above) or a list of zone ends. Default: one Normal zone.
   */
  zones?: "x86_64" | { name: "DMA" | "DMA32" | "Normal"; endBytes: Bytes }[];
  /** vm.min_free_kbytes. Default: the kernel's formula, int_sqrt(lowmem_kbytes * 16) clamped to 128..262144. */
  minFreeKbytes?: number;
  /** Whose page-allocator rules to follow (SystemOptions.kernel): "6.1", "6.12" or "6.18". Default "6.12". */
  kernel?: "6.1" | "6.12" | "6.18";
  /** Swap (SystemOptions.swapBytes): whole pages, 0 or at least 2. Default 0 (no swap: anonymous pages stay). */
  swapBytes?: Bytes;
}

/** A CMA area (CmaAreaOptions with sizes that may carry units). */
export interface AreaSpec {
  /** Area name, unique; devices and `cma` operations refer to it. Required. */
  name: string;
  /** Size. Required. */
  bytes: Bytes;
  /** Fixed physical base address. Default: placed top-down below `limit`. */
  base?: Bytes;
  /** Highest end address of a placed area. Default: end of RAM. */
  limit?: Bytes;
  /** Alignment, a power of two. Default: one pageblock. */
  alignment?: Bytes;
  /** Pages per bitmap bit, as an order. Default 0. */
  orderPerBit?: number;
  /**
   * Processes (by name) that may open the area's CMA heap, /dev/dma_heap/<name>,
   * as its device node's permissions would allow. A `heap` operation of any
   * other process on this heap is a validation error. Default: every process.
   */
  heapUsers?: string[];
}

/** A userspace process (sys.process()): it opens heaps and allocates dma-bufs in `heap` operations. */
export interface ProcessSpec {
  /** Process name, unique; `heap` operations and areas' `heapUsers` refer to it. Required. */
  name: string;
  /**
   * Bytes of dma-buf memory the process may have allocated at once, as a memory
   * cgroup's limit: an allocation past it fails with ENOMEM and allocates
   * nothing. 0 refuses every allocation. Default: no limit.
   */
  dmabufLimitBytes?: Bytes;
}

/** A file of the scenario: its page cache fills as operations read and write it. */
export interface FileSpec {
  /** File name, unique; the file operations refer to it. Required. */
  name: string;
  /** File size: offsets are drawn below it and sequential access wraps at it. Scaled with RAM. Required. */
  bytes: Bytes;
}

/**
 * A device: a "cma-consumer" (the default kind) allocates from a CMA area on a
 * schedule of its own; an "importer" is a DMA device whose driver imports the
 * dma-bufs that `heap` operations hand it. `kind` selects the fields.
 */
export type DeviceSpec = CmaConsumerSpec | ImporterSpec;

/**
 * A driver without an IOMMU that needs physically contiguous buffers (a
 * camera's frame buffers, a video decoder's reference frames) and takes them
 * from a CMA area with cma_alloc() on a schedule.
 */
export interface CmaConsumerSpec {
  /** Device name, unique among all devices. Required. */
  name: string;
  /** "cma-consumer". Default "cma-consumer". */
  kind?: "cma-consumer";
  /** The CMA area it allocates from (dev->cma_area). Required. */
  area: string;
  /** Size of one buffer; rounded up to whole pages. Required. */
  frameBytes: Bytes;
  /**
   * cma_alloc() alignment as an order. Default: the buffer's order capped at 8,
   * as dma_alloc_contiguous() asks with CONFIG_CMA_ALIGNMENT=8.
   */
  alignOrder?: number;
  /** Buffers allocated at each session start (a camera's buffer queue). Default 1. */
  buffers?: number;
  /** A session starts every `periodOps` operations. Required. */
  periodOps: number;
  /** How long a session holds its buffers before cma_release(). Required. */
  holdOps: OpsRange;
  /** Operation index of the first session. Default: `periodOps`. */
  startOps?: number;
  /** Names of the phases during which sessions start. Default: all phases. */
  phases?: string[];
}

/**
 * A DMA device whose driver imports dma-bufs (a GPU, a display controller, a
 * video encoder): `heap` operations name it under `import`, and its driver
 * attaches it to the buffer and maps it (dma_buf_attach(),
 * dma_buf_map_attachment()) for as long as the buffer is held. It has no
 * schedule of its own.
 */
export interface ImporterSpec {
  /** Device name, unique among all devices. Required. */
  name: string;
  /** "importer". Required (the default kind is "cma-consumer"). */
  kind: "importer";
  /** DMA mask in bits, 12..64 (dma_set_mask_and_coherent()). Default 32. */
  dmaMask?: number;
  /**
   * Behind an IOMMU with this IOVA space: `bytes` (required) from `base`
   * (default "1 GiB"), both page-aligned and within the DMA mask. The device
   * then maps a scattered buffer as one IOVA range. Default: none (direct
   * mapping: one DMA segment per physically contiguous run at most).
   */
  iommu?: { base?: Bytes; bytes: Bytes };
  /**
   * dma_set_max_seg_size(): the longest DMA segment, a page to 4294967295
   * (UINT_MAX). Default 65536, the kernel's when a driver sets none.
   */
  maxSegmentBytes?: Bytes;
  /**
   * The driver takes only buffers that map to one contiguous range of DMA
   * addresses, as a display controller's does
   * (drm_gem_dma_prime_import_sg_table(): drm_prime_get_contiguous_size() must
   * cover the buffer). Without an IOMMU that means physically contiguous; an
   * import that is not is refused and counted as failed. Default false.
   */
  contiguous?: boolean;
}

/** One stretch of the workload. */
export interface PhaseSpec {
  /** Phase name, unique; used in map labels and `devices[].phases`. Required. */
  name: string;
  /** Length in operations (one draw from the mix each). Required, ≥ 1. */
  ops: number;
  /** What each operation may be, by weight. At least one entry with a positive weight. */
  mix: MixSpec;
}

/**
 * The operation mix of a phase. Each kind takes one spec or a list of specs;
 * every spec has a `weight`, and each operation draws one spec with probability
 * weight / (sum of all weights in the phase). An operation that finds nothing to
 * act on (a free with nothing allocated) is counted as skipped.
 */
export interface MixSpec {
  /** alloc_pages(): buddy allocations. */
  alloc?: AllocSpec | AllocSpec[];
  /** __free_pages() of a block the workload allocated. */
  free?: FreeSpec | FreeSpec[];
  /** cma_alloc() from an area, released after a hold time. */
  cma?: CmaSpec | CmaSpec[];
  /** A pin on a random live movable allocation. */
  pin?: PinSpec | PinSpec[];
  /** Drops a random pin. */
  unpin?: UnpinSpec | UnpinSpec[];
  /** alloc_contig_range() of a random range outside the CMA areas (as alloc_contig_pages() does for gigantic pages). */
  contig?: ContigSpec | ContigSpec[];
  /** DMA_HEAP_IOCTL_ALLOC by a process: a dma-buf from the system heap or a CMA heap, held, then closed. */
  heap?: HeapSpec | HeapSpec[];
  /** read() of a file: cached pages are accessed (a second access activates them), missing ones read in clean. */
  read?: ReadSpec | ReadSpec[];
  /** write() to a file: pages added or found, and dirtied. */
  write?: WriteSpec | WriteSpec[];
  /** fsync() of a file (or of every file): its dirty pages written back, so reclaim may drop them. */
  fsync?: FsyncSpec | FsyncSpec[];
  /** Truncating a file to 0 (or deleting it): its cached pages freed. */
  truncate?: TruncateSpec | TruncateSpec[];
}

/** Weight of an operation in its phase's mix. */
export interface WeightedSpec {
  /** Relative weight, ≥ 0. Required. */
  weight: number;
}

export interface AllocSpec extends WeightedSpec {
  /** gfp migratetype: "movable" (anonymous or page-cache pages, migratable), "unmovable" (kernel), "reclaimable" (slab caches). Default "movable". */
  migratetype?: "movable" | "unmovable" | "reclaimable";
  /** Order distribution, order → weight, e.g. {"0": 90, "3": 10}. Default {"0": 1}. */
  orders?: Record<string, number>;
  /** Name for the summary (e.g. "thp"): its requests and failures are counted apart. Default none. */
  label?: string;
  /**
   * Lifetime in operations: the block is freed when it runs out, and `free`
   * operations never pick it (nor `pin`). Default: lives until a `free` picks it.
   */
  holdOps?: OpsRange;
}

export interface FreeSpec extends WeightedSpec {
  /** "random": a uniformly chosen live block; "fifo": the oldest. Default "random". */
  policy?: "random" | "fifo";
  /** Only blocks of this migratetype. Default: any. */
  migratetype?: "movable" | "unmovable" | "reclaimable";
}

export interface CmaSpec extends WeightedSpec {
  /** Area name. Default: the first area. */
  area?: string;
  /** Pages per allocation. Required. */
  count: number;
  /** Alignment order. Default 0. */
  alignOrder?: number;
  /** Operations until cma_release(). Default: held until the end of the run. */
  holdOps?: OpsRange;
}

export interface PinSpec extends WeightedSpec {
  /** pin_user_pages(FOLL_LONGTERM) (moves the page out of CMA first) instead of a short-term get_user_pages(). Default false. */
  longterm?: boolean;
  /** Operations until the pin is dropped. Default: until an `unpin` operation or the page is freed. */
  holdOps?: OpsRange;
}

export type UnpinSpec = WeightedSpec;

export interface ContigSpec extends WeightedSpec {
  /** Pages in the range. Required. */
  count: number;
  /** Alignment of the start pfn, as an order. Default: pageblock order. */
  alignOrder?: number;
  /** Operations until free_contig_range(). Default: held until the end of the run. */
  holdOps?: OpsRange;
}

/** A device driver's import of a heap buffer: dma_buf_get(), attach, map; unmap, detach, put when the buffer is let go. */
export interface ImportSpec {
  /** An "importer" device. Required. */
  device: string;
  /** DMA direction of the mapping: "to_device", "from_device" or "bidirectional". Default "bidirectional". */
  dir?: "to_device" | "from_device" | "bidirectional";
}

/**
 * A process opens /dev/dma_heap/<heap> (once, at its first allocation there)
 * and allocates a buffer with DMA_HEAP_IOCTL_ALLOC (`O_RDWR | O_CLOEXEC`). The
 * system heap gathers unmovable blocks of orders 8, 4 and 0; a CMA heap takes
 * one contiguous range with cma_alloc(), migrating movable pages out. A failed
 * allocation (ENOMEM: no memory, or over the process's `dmabufLimitBytes`;
 * EMFILE: out of fds) is counted, not fatal. When the hold runs out the
 * importers unmap and detach, the process unmaps and closes the fd, and the
 * last reference frees the buffer.
 */
export interface HeapSpec extends WeightedSpec {
  /** The allocating process, one of `processes`. Default: the first process. */
  process?: string;
  /**
   * "system" (/dev/dma_heap/system) or the name of a CMA area (its heap).
   * "system" always means the system heap. Default "system".
   */
  heap?: string;
  /**
   * Buffer size in bytes (the ioctl's `len`; the heap rounds it up to whole
   * pages): one size, or size → weight, e.g. {"8294400": 3, "1 MiB": 1}. At
   * most RAM, or the area's size for a CMA heap. Give `bytes` or `pages`.
   */
  bytes?: Bytes | Record<string, number>;
  /** Buffer size in pages: a count, or count → weight, e.g. {"256": 1, "16": 4}. Give `bytes` or `pages`. */
  pages?: number | Record<string, number>;
  /** Operations until the buffer is let go. Default: held until the end of the run. */
  holdOps?: OpsRange;
  /** The process mmap()s the whole buffer (MAP_SHARED, read-write) until it lets go. Default false (true with `touch`). */
  mmap?: boolean;
  /**
   * Through the mapping, the CPU writes one byte of every page inside a
   * DMA_BUF_IOCTL_SYNC bracket, faulting each page in (a CMA heap maps lazily;
   * the system heap maps at mmap()). Needs `machine.storeContents: true`.
   * Default false.
   */
  touch?: boolean;
  /** Devices whose drivers import the buffer (one or a list, each device once). Default none. */
  import?: ImportSpec | ImportSpec[];
}

export interface ReadSpec extends WeightedSpec {
  /** The file, one of `files`. Default: the first file. */
  file?: string;
  /** Pages per read. Default 8. */
  pages?: OpsRange;
  /** "random": from a uniformly drawn page; "sequential": where the last sequential read ended. Default "random". */
  pattern?: "random" | "sequential";
}

export interface WriteSpec extends WeightedSpec {
  /** The file, one of `files`. Default: the first file. */
  file?: string;
  /** Pages per write. Default 1. */
  pages?: OpsRange;
  /** "append": where the last append ended (wrapping at the file size); "random": at a uniformly drawn page. Default "append". */
  pattern?: "append" | "random";
}

export interface FsyncSpec extends WeightedSpec {
  /** The file, one of `files`. Default: every file (sync()). */
  file?: string;
}

export interface TruncateSpec extends WeightedSpec {
  /** The file, one of `files`. Default: the first file. */
  file?: string;
}
