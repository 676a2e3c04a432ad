/**
 * createSystem() options, their defaults and validation.
 */
import type { Backend } from "./core/backend.ts";
import type { DeviceOptions } from "./dma/device.ts";
import { KERNEL_VERSIONS, MAX_CPUS, MIN_PERCPU_PAGELIST_HIGH_FRACTION, type KernelVersion } from "./mm/mm.ts";
import type { DmaDebugOptions } from "./dma/debug.ts";
import { DmaSimError } from "./core/errors.ts";
import {
  isPow2,
  optionalBoolean,
  rejectUnknownKeys,
  requireArray,
  requireInt,
  requireName,
  requireObject,
  requireOneOf,
  show,
} from "./core/validate.ts";
import { GIB, MIB, pageAligned } from "./core/units.ts";
import { resolveFaultInjection, type FaultInjectionOptions } from "./core/fault-inject.ts";

/** A CMA area, declared as `cma=` or a reserved-memory node would declare it. */
export interface CmaAreaOptions {
  /** Area name, as /sys/kernel/mm/cma/<name> shows it. Unique. */
  name: string;
  /** Size in bytes; rounded up to the area alignment as cma_declare_contiguous() does. */
  bytes: number;
  /** Fixed physical base address in bytes (pageblock-aligned). Default: placed top-down below `limit`. */
  base?: number;
  /** Highest end address in bytes for a placed area. Default: end of RAM. */
  limit?: number;
  /** Alignment in bytes, a power of two; never less than a pageblock. Default: one pageblock. */
  alignment?: number;
  /** Pages per bitmap bit, as an order. Default 0 (one bit per page). */
  orderPerBit?: number;
  /**
   * Processes (by name) allowed to open the area's heap, /dev/dma_heap/<name>;
   * anyone else gets EACCES. Default: everyone. `[]`: no process (the area
   * serves its devices' drivers only).
   */
  heapUsers?: string[];
}

/** A zone boundary: the zone ends (exclusive) at `endBytes`. */
export interface ZoneOption {
  name: "DMA" | "DMA32" | "Normal";
  endBytes: number;
}

export interface SystemOptions {
  /** Engine build: "wasm" (asc) or "ts" (the same source compiled to JS). Default "wasm". */
  backend?: Backend;
  /**
   * Whose page-allocator rules to follow where Linux versions differ (see the
   * README's profile table): "6.1" (free lists of another type than their
   * pageblock, 6.1's stealing), "6.12" or "6.18" (the claim/steal fallback
   * rewrite, isolation as its own pageblock bit, -EBUSY from a full CMA
   * area). Default "6.12".
   */
  kernel?: KernelVersion;
  /** Physical RAM in bytes, a multiple of the pageblock size. Default 256 MiB. */
  ramBytes?: number;
  /** Page size in bytes: a power of two from 4096 to 65536. Default 4096. */
  pageSize?: number;
  /** Highest buddy order (MAX_PAGE_ORDER, inclusive). Default 10 (4 MiB blocks with 4 KiB pages). */
  maxOrder?: number;
  /** Pageblock order, at most maxOrder. Default 9 (2 MiB with 4 KiB pages). */
  pageblockOrder?: number;
  /** Keep page contents (RAM bytes). Off: metadata only, for very large machines. Default true. */
  storeContents?: boolean;
  /** Seed of the system's random source (`sys.random`), a uint32. Default 0. */
  seed?: number;
  /** CMA areas; the first is the default global area (`cma=`). Default none. */
  cma?: CmaAreaOptions[];
  /**
   * Memory zones. Default: one Normal zone (as on the seeds' ARM SoCs).
   * "x86_64": DMA below 16 MiB, DMA32 below 4 GiB, Normal above (empty zones
   * omitted). Or a list of zone ends in ascending order; the last must reach the
   * end of RAM. Boundaries are pageblock-aligned.
   */
  zones?: "x86_64" | ZoneOption[];
  /** vm.min_free_kbytes. Default: the kernel's int_sqrt(lowmem_kbytes * 16), clamped to 128..262144. */
  minFreeKbytes?: number;
  /** vm.watermark_scale_factor, in ten-thousandths of a zone. Default 10. */
  watermarkScaleFactor?: number;
  /** vm.lowmem_reserve_ratio for DMA, DMA32, Normal, Movable. Default [256, 256, 32, 0]. */
  lowmemReserveRatio?: number[];
  /** Devices that do DMA (see DeviceOptions). Default none. */
  devices?: DeviceOptions[];
  /**
   * Bytes of the swiotlb bounce pool, reserved below 4 GiB at boot. Default:
   * when some device without an IOMMU cannot reach all of RAM, 64 MiB
   * (IO_TLB_DEFAULT_SIZE) capped at 1/16 of RAM; otherwise none. 0: none.
   */
  swiotlbBytes?: number;
  /** CONFIG_DMA_API_DEBUG: check every DMA-API call (sys.dmaDebug.reports). Default false. */
  dmaDebug?: boolean | DmaDebugOptions;
  /**
   * Model the CPU cache for non-coherent devices (`coherent: false`): a missed
   * sync yields stale bytes. Default false (needs storeContents).
   */
  cacheModel?: boolean | { lineBytes: number };
  /**
   * Direct compaction in the allocation slow path and kcompactd
   * (CONFIG_COMPACTION; see Policy.compaction to switch it later). Default true.
   */
  compaction?: boolean;
  /**
   * vm.compaction_proactiveness at boot, 0..100 (default 20): kcompactd
   * compacts proactively when the node's fragmentation score exceeds
   * min(max(100 - value, 5) + 10, 100); 0 turns that off. See sys.advanceTime().
   */
  compactionProactiveness?: number;
  /**
   * Failure points armed at boot, as the debugfs attributes of
   * /sys/kernel/debug/fail_* would arm them (also writable later with
   * `sys.writeFile()`): `failPageAlloc`, `failslab`, `failIommu`,
   * `failSwiotlb`, `failCma`, each `{ probability, interval, times, space,
   * verbose }` (defaults 0, 1, 1, 0, 2) plus `ignoreGfpWait` (true) for the
   * first two and `ignoreGfpHighmem` (true), `minOrder` (1) for
   * fail_page_alloc. Default: every point off. Unknown points or attributes: EINVAL.
   */
  faultInjection?: FaultInjectionOptions;
  /** Online CPUs, 1..256, each with its own per-cpu page lists. Default 1. */
  cpus?: number;
  /**
   * Per-cpu page lists (mm/page_alloc.c's pcp lists), as the kernel keeps them.
   * Default true. false: every free goes straight to the buddy lists, as if
   * drained at once (buddy-only behaviour, e.g. to follow a real kernel's
   * buddy-level trace events one by one).
   */
  pcp?: boolean;
  /** vm.percpu_pagelist_high_fraction at boot: 0 (default) or at least 8 (also writable in /proc/sys/vm). */
  percpuPagelistHighFraction?: number;
  /**
   * vm.defrag_mode at boot, 0 (default) or 1; 1 needs kernel "6.18" (the
   * sysctl came with Linux 6.15; also writable in /proc/sys/vm/defrag_mode
   * and with setPolicy()). 1: every allocation keeps ALLOC_NOFRAGMENT until reclaim and
   * compaction have failed, and kswapd and kcompactd work towards whole free
   * pageblocks.
   */
  defragMode?: number;
  /**
   * Bytes of swap: one zram-like device (`/dev/zram0`, SWP_SYNCHRONOUS_IO)
   * swapped on at boot, so that reclaim can swap anonymous pages out
   * (`allocMovable()` pages; touching one faults it back in). Default 0: no
   * swap, anonymous pages are never reclaimed. A multiple of the page size,
   * 0 or at least 2 pages (the first page is the swap header, so SwapTotal is
   * one page less), at most 2^24 pages; with storeContents, ramBytes +
   * swapBytes at most 3 GiB (swapped-out contents are kept in the engine).
   */
  swapBytes?: number;
}

export interface ResolvedOptions {
  backend: Backend;
  kernel: KernelVersion;
  ramBytes: number;
  pageSize: number;
  pageShift: number;
  maxOrder: number;
  pageblockOrder: number;
  storeContents: boolean;
  seed: number;
  nrPages: number;
  cma: CmaAreaOptions[];
  /** Zone ends in pages: DMA and DMA32 (Normal takes the rest). */
  dmaEndPfn: number;
  dma32EndPfn: number;
  /** -1: the kernel's default. */
  minFreeKbytes: number;
  watermarkScaleFactor: number;
  lowmemReserveRatio: number[];
  devices: DeviceOptions[];
  /** Bytes of the swiotlb pool (0: none). */
  swiotlbBytes: number;
  dmaDebug: boolean | DmaDebugOptions;
  cacheModel: boolean | { lineBytes: number };
  compaction: boolean;
  compactionProactiveness: number;
  faultInjection: FaultInjectionOptions;
  cpus: number;
  pcp: boolean;
  percpuPagelistHighFraction: number;
  defragMode: number;
  /** Bytes of the swap device (0: none). */
  swapBytes: number;
}

/** Contents live in wasm32 linear memory beside the metadata. */
export const MAX_CONTENTS_BYTES = 3 * GIB;
/** Typed arrays of the memory map stay below the runtime's 1 GiB per-array cap. */
export const MAX_PAGES = 2 ** 27;

const KNOWN = new Set([
  "backend",
  "kernel",
  "ramBytes",
  "pageSize",
  "maxOrder",
  "pageblockOrder",
  "storeContents",
  "seed",
  "cma",
  "zones",
  "minFreeKbytes",
  "watermarkScaleFactor",
  "lowmemReserveRatio",
  "devices",
  "swiotlbBytes",
  "dmaDebug",
  "cacheModel",
  "compaction",
  "compactionProactiveness",
  "faultInjection",
  "cpus",
  "pcp",
  "percpuPagelistHighFraction",
  "defragMode",
  "swapBytes",
]);
/** The swap device's most pages (a bound for the engine's swap map). */
export const MAX_SWAP_PAGES = 2 ** 24;
const KNOWN_DEVICE = new Set(["name", "dmaMask", "coherent", "iommu", "maxSegmentSize", "segmentBoundaryMask", "cma"]);

function resolveDevices(where: string, devices: unknown, areaNames: Set<string>, pageSize: number): DeviceOptions[] {
  if (devices === undefined) return [];
  const names = new Set<string>();
  return (requireArray(where, "devices", devices) as DeviceOptions[]).map((d, i) => {
    const at = `${where}: devices[${i}]`;
    requireObject(where, `devices[${i}]`, d);
    rejectUnknownKeys(at, d, KNOWN_DEVICE);
    requireName(where, `devices[${i}].name`, d.name);
    if (names.has(d.name)) throw new DmaSimError("EINVAL", `${at}: duplicate device name "${d.name}"`);
    names.add(d.name);
    if (d.dmaMask !== undefined) requireInt(at, "dmaMask", d.dmaMask, 12, 64);
    optionalBoolean(where, `devices[${i}].coherent`, d.coherent, true);
    if (d.maxSegmentSize !== undefined) requireInt(at, "maxSegmentSize", d.maxSegmentSize, pageSize, 0xffffffff);
    if (d.segmentBoundaryMask !== undefined) {
      const m = d.segmentBoundaryMask;
      if (!Number.isSafeInteger(m) || m < pageSize - 1 || !isPow2(m + 1)) {
        throw new DmaSimError("EINVAL", `${at}.segmentBoundaryMask must be 2^k - 1, at least a page, got ${show(m)}`);
      }
    }
    if (d.cma !== undefined && !areaNames.has(d.cma))
      throw new DmaSimError("EINVAL", `${at}.cma: no CMA area named ${show(d.cma)}`);
    if (d.iommu !== undefined) {
      const io = d.iommu;
      requireObject(where, `devices[${i}].iommu`, io);
      requireInt(`${at}.iommu`, "base", io.base, 0, Number.MAX_SAFE_INTEGER);
      requireInt(`${at}.iommu`, "size", io.size, pageSize, Number.MAX_SAFE_INTEGER);
      if (!pageAligned(io.base, pageSize) || !pageAligned(io.size, pageSize))
        throw new DmaSimError("EINVAL", `${at}.iommu: base and size must be page-aligned`);
      if (io.style !== undefined)
        requireOneOf(where, `devices[${i}].iommu.style`, io.style, ["arm", "dma-iommu"] as const);
    }
    return { ...d };
  });
}
const ZONE_ORDER = ["DMA", "DMA32", "Normal"];

/** Zone ends in pages from the `zones` option. */
function resolveZones(
  where: string,
  zones: SystemOptions["zones"],
  ramBytes: number,
  pageSize: number,
  pageblockBytes: number,
): [number, number] {
  const nrPages = ramBytes / pageSize;
  if (zones === undefined) return [0, 0];
  if (zones === "x86_64") {
    const clip = (bytes: number) => Math.min(bytes, ramBytes) / pageSize;
    return [clip(16 * MIB), clip(4 * GIB)];
  }
  if (!Array.isArray(zones) || zones.length === 0) {
    throw new DmaSimError("EINVAL", `${where}: zones must be "x86_64" or a non-empty list of { name, endBytes }`);
  }
  const ends: Record<string, number> = {};
  let lastIndex = -1;
  let lastEnd = 0;
  zones.forEach((zone, i) => {
    const at = `${where}: zones[${i}]`;
    requireObject(where, `zones[${i}]`, zone);
    const index = ZONE_ORDER.indexOf(zone.name);
    if (index < 0)
      throw new DmaSimError("EINVAL", `${at}.name must be "DMA", "DMA32" or "Normal", got ${show(zone.name)}`);
    if (index <= lastIndex)
      throw new DmaSimError("EINVAL", `${at}.name: zones must be listed once each, in the order DMA, DMA32, Normal`);
    requireInt(at, "endBytes", zone.endBytes, 1, Number.MAX_SAFE_INTEGER);
    if (zone.endBytes % pageblockBytes !== 0)
      throw new DmaSimError("EINVAL", `${at}.endBytes must be a multiple of the pageblock size (${pageblockBytes})`);
    if (zone.endBytes <= lastEnd)
      throw new DmaSimError("EINVAL", `${at}.endBytes must be above the previous zone's end`);
    ends[zone.name] = Math.min(zone.endBytes, ramBytes) / pageSize;
    lastIndex = index;
    lastEnd = zone.endBytes;
  });
  if (lastEnd < ramBytes)
    throw new DmaSimError("EINVAL", `${where}: zones end at ${lastEnd} bytes, before the end of RAM (${ramBytes})`);
  const dmaEnd = ends.DMA ?? 0;
  const dma32End = ends.DMA32 ?? (ends.Normal === undefined ? nrPages : dmaEnd);
  return [dmaEnd, dma32End];
}
const KNOWN_CMA = new Set(["name", "bytes", "base", "limit", "alignment", "orderPerBit", "heapUsers"]);

export function resolveOptions(options: SystemOptions = {}): ResolvedOptions {
  const where = "createSystem";
  requireObject(where, "options", options);
  rejectUnknownKeys(where, options, KNOWN, "option");
  const backend = requireOneOf(where, "backend", options.backend ?? "wasm", ["wasm", "ts"] as const);
  const kernel = requireOneOf(where, "kernel", options.kernel ?? "6.12", KERNEL_VERSIONS);
  const pageSize = options.pageSize ?? 4096;
  if (!isPow2(pageSize) || pageSize < 4096 || pageSize > 65536) {
    throw new DmaSimError(
      "EINVAL",
      `${where}: pageSize must be a power of two from 4096 to 65536, got ${show(pageSize)}`,
    );
  }
  const maxOrder = requireInt(where, "maxOrder", options.maxOrder ?? 10, 1, 20);
  const pageblockOrder = requireInt(where, "pageblockOrder", options.pageblockOrder ?? 9, 1, maxOrder);
  const storeContents = optionalBoolean(where, "storeContents", options.storeContents, true);
  const seed = requireInt(where, "seed", options.seed ?? 0, 0, 0xffffffff);
  const ramBytes = options.ramBytes ?? 256 * MIB;
  const pageblockBytes = pageSize * 2 ** pageblockOrder;
  if (
    typeof ramBytes !== "number" ||
    !Number.isSafeInteger(ramBytes) ||
    ramBytes <= 0 ||
    ramBytes % pageblockBytes !== 0
  ) {
    throw new DmaSimError(
      "EINVAL",
      `${where}: ramBytes must be a positive multiple of the pageblock size (${pageblockBytes}), got ${show(ramBytes)}`,
    );
  }
  if (storeContents && ramBytes > MAX_CONTENTS_BYTES) {
    throw new DmaSimError(
      "EINVAL",
      `${where}: with storeContents, ramBytes is limited to ${MAX_CONTENTS_BYTES} (wasm32 memory); use storeContents: false for larger machines`,
    );
  }
  const nrPages = ramBytes / pageSize;
  if (nrPages > MAX_PAGES)
    throw new DmaSimError("EINVAL", `${where}: at most ${MAX_PAGES} pages are supported, got ${nrPages}`);
  const cma = requireArray(where, "cma", options.cma ?? [], "an array of areas") as CmaAreaOptions[];
  const names = new Set<string>();
  const areas = cma.map((area, i) => {
    const at = `${where}: cma[${i}]`;
    requireObject(where, `cma[${i}]`, area);
    rejectUnknownKeys(at, area, KNOWN_CMA);
    if (typeof area.name !== "string" || area.name.length === 0 || area.name.includes("/")) {
      throw new DmaSimError("EINVAL", `${at}.name must be a non-empty string without "/"`);
    }
    if (names.has(area.name)) throw new DmaSimError("EINVAL", `${at}: duplicate area name "${area.name}"`);
    names.add(area.name);
    requireInt(at, "bytes", area.bytes, 1, Number.MAX_SAFE_INTEGER);
    for (const key of ["base", "limit"] as const) {
      const v = area[key];
      if (v === undefined) continue;
      requireInt(at, key, v, 0, Number.MAX_SAFE_INTEGER);
      if (!pageAligned(v, pageSize)) throw new DmaSimError("EINVAL", `${at}.${key} must be page-aligned, got ${v}`);
    }
    if (area.alignment !== undefined && !isPow2(area.alignment)) {
      throw new DmaSimError("EINVAL", `${at}.alignment must be a power of two, got ${show(area.alignment)}`);
    }
    if (area.orderPerBit !== undefined) requireInt(at, "orderPerBit", area.orderPerBit, 0, 30);
    if (area.heapUsers !== undefined) {
      if (!Array.isArray(area.heapUsers) || area.heapUsers.some((u) => typeof u !== "string" || u.length === 0)) {
        throw new DmaSimError("EINVAL", `${at}.heapUsers must be an array of process names (non-empty strings)`);
      }
      return { ...area, heapUsers: [...area.heapUsers] };
    }
    return { ...area };
  });
  const [dmaEndPfn, dma32EndPfn] = resolveZones(where, options.zones, ramBytes, pageSize, pageblockBytes);
  const minFreeKbytes =
    options.minFreeKbytes === undefined
      ? -1
      : requireInt(where, "minFreeKbytes", options.minFreeKbytes, 0, 2 ** 31 - 1);
  const watermarkScaleFactor = requireInt(where, "watermarkScaleFactor", options.watermarkScaleFactor ?? 10, 1, 3000);
  const lowmemReserveRatio = options.lowmemReserveRatio ?? [256, 256, 32, 0];
  if (!Array.isArray(lowmemReserveRatio) || lowmemReserveRatio.length !== 4) {
    throw new DmaSimError("EINVAL", `${where}: lowmemReserveRatio must list 4 ratios (DMA, DMA32, Normal, Movable)`);
  }
  lowmemReserveRatio.forEach((r, i) => requireInt(where, `lowmemReserveRatio[${i}]`, r, 0, 2 ** 31 - 1));
  const devices = resolveDevices(where, options.devices, names, pageSize);
  // A direct-mapped device that cannot reach all of RAM needs bounce buffers.
  const needsBounce = devices.some((d) => !d.iommu && 2 ** (d.dmaMask ?? 32) < ramBytes);
  const swiotlbDefault = needsBounce ? Math.min(64 * MIB, Math.floor(ramBytes / 16 / (256 * 1024)) * 256 * 1024) : 0;
  const swiotlbBytes =
    options.swiotlbBytes === undefined
      ? swiotlbDefault
      : requireInt(where, "swiotlbBytes", options.swiotlbBytes, 0, 4 * GIB);
  if (swiotlbBytes % (256 * 1024) !== 0)
    throw new DmaSimError("EINVAL", `${where}: swiotlbBytes must be a multiple of 256 KiB (one segment of 128 slots)`);
  return {
    backend,
    kernel,
    ramBytes,
    pageSize,
    pageShift: Math.log2(pageSize),
    maxOrder,
    pageblockOrder,
    storeContents,
    seed,
    nrPages,
    cma: areas,
    dmaEndPfn,
    dma32EndPfn,
    minFreeKbytes,
    watermarkScaleFactor,
    lowmemReserveRatio: [...lowmemReserveRatio],
    devices,
    swiotlbBytes,
    dmaDebug: resolveFlag(where, "dmaDebug", options.dmaDebug),
    cacheModel: resolveCacheModel(where, options.cacheModel),
    compaction: optionalBoolean(where, "compaction", options.compaction, true),
    compactionProactiveness:
      options.compactionProactiveness === undefined
        ? 20
        : requireInt(where, "compactionProactiveness", options.compactionProactiveness, 0, 100),
    faultInjection: resolveFaultInjection(where, options.faultInjection),
    cpus: requireInt(where, "cpus", options.cpus ?? 1, 1, MAX_CPUS),
    pcp: optionalBoolean(where, "pcp", options.pcp, true),
    percpuPagelistHighFraction: resolveHighFraction(where, options.percpuPagelistHighFraction),
    defragMode: resolveDefragMode(where, kernel, options.defragMode),
    swapBytes: resolveSwapBytes(where, options.swapBytes, pageSize, storeContents ? ramBytes : -1),
  };
}

/** vm.defrag_mode at boot: 0..1; 1 only where the profile has the sysctl (6.18), 0 is every older kernel's behaviour. */
function resolveDefragMode(where: string, kernel: KernelVersion, v: unknown): number {
  if (v === undefined) return 0;
  const mode = requireInt(where, "defragMode", v, 0, 1);
  if (mode === 1 && kernel !== "6.18")
    throw new DmaSimError(
      "EINVAL",
      `${where}: defragMode needs kernel "6.18" (vm.defrag_mode came with Linux 6.15), got kernel "${kernel}"`,
    );
  return mode;
}

/** `swapBytes`: 0, or whole pages from 2 (read_swap_header() needs last_page >= 1) to MAX_SWAP_PAGES. */
function resolveSwapBytes(where: string, v: unknown, pageSize: number, contentsRamBytes: number): number {
  if (v === undefined) return 0;
  const bytes = requireInt(where, "swapBytes", v, 0, MAX_SWAP_PAGES * pageSize);
  if (bytes % pageSize !== 0)
    throw new DmaSimError(
      "EINVAL",
      `${where}: swapBytes must be a multiple of the page size (${pageSize}), got ${bytes}`,
    );
  if (bytes !== 0 && bytes < 2 * pageSize)
    throw new DmaSimError(
      "EINVAL",
      `${where}: swapBytes must be 0 or at least 2 pages (a swap header and one slot), got ${bytes}`,
    );
  if (contentsRamBytes >= 0 && contentsRamBytes + bytes > MAX_CONTENTS_BYTES)
    throw new DmaSimError(
      "EINVAL",
      `${where}: with storeContents, ramBytes + swapBytes is limited to ${MAX_CONTENTS_BYTES} (wasm32 memory)`,
    );
  return bytes;
}

function resolveHighFraction(where: string, v: number | undefined): number {
  if (v === undefined) return 0;
  requireInt(where, "percpuPagelistHighFraction", v, 0, 2 ** 31 - 1);
  if (v !== 0 && v < MIN_PERCPU_PAGELIST_HIGH_FRACTION)
    throw new DmaSimError(
      "EINVAL",
      `${where}: percpuPagelistHighFraction must be 0 or at least ${MIN_PERCPU_PAGELIST_HIGH_FRACTION}, got ${v}`,
    );
  return v;
}

function resolveFlag<T extends object>(where: string, name: string, v: boolean | T | undefined): boolean | T {
  if (v === undefined) return false;
  if (typeof v === "boolean" || (typeof v === "object" && v !== null)) return v;
  throw new DmaSimError("EINVAL", `${where}: ${name} must be a boolean or an options object`);
}

function resolveCacheModel(where: string, v: SystemOptions["cacheModel"]): boolean | { lineBytes: number } {
  const r = resolveFlag(where, "cacheModel", v);
  if (typeof r === "object") {
    requireInt(where, "cacheModel.lineBytes", r.lineBytes, 16, 4096);
    if (!isPow2(r.lineBytes)) throw new DmaSimError("EINVAL", `${where}: cacheModel.lineBytes must be a power of two`);
  }
  return r;
}
