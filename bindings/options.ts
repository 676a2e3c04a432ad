/**
 * createSystem() options, their defaults and validation.
 */
import type { Backend } from "./backend.ts";
import { DmaSimError, requireInt } from "./errors.ts";

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
}

/** A zone boundary: the zone ends (exclusive) at `endBytes`. */
export interface ZoneOption {
  name: "DMA" | "DMA32" | "Normal";
  endBytes: number;
}

export interface SystemOptions {
  /** Engine build: "wasm" (asc) or "ts" (the same source compiled to JS). Default "wasm". */
  backend?: Backend;
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
}

export interface ResolvedOptions {
  backend: Backend;
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
}

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** Contents live in wasm32 linear memory beside the metadata. */
export const MAX_CONTENTS_BYTES = 3 * GIB;
/** Typed arrays of the memory map stay below the runtime's 1 GiB per-array cap. */
export const MAX_PAGES = 2 ** 27;

const KNOWN = new Set([
  "backend", "ramBytes", "pageSize", "maxOrder", "pageblockOrder", "storeContents", "seed", "cma", "zones",
  "minFreeKbytes", "watermarkScaleFactor", "lowmemReserveRatio",
]);
const ZONE_ORDER = ["DMA", "DMA32", "Normal"];

/** Zone ends in pages from the `zones` option. */
function resolveZones(where: string, zones: SystemOptions["zones"], ramBytes: number, pageSize: number, pageblockBytes: number): [number, number] {
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
    if (typeof zone !== "object" || zone === null) throw new DmaSimError("EINVAL", `${at} must be an object`);
    const index = ZONE_ORDER.indexOf(zone.name);
    if (index < 0) throw new DmaSimError("EINVAL", `${at}.name must be "DMA", "DMA32" or "Normal", got ${String(zone.name)}`);
    if (index <= lastIndex) throw new DmaSimError("EINVAL", `${at}.name: zones must be listed once each, in the order DMA, DMA32, Normal`);
    requireInt(at, "endBytes", zone.endBytes, 1, Number.MAX_SAFE_INTEGER);
    if (zone.endBytes % pageblockBytes !== 0) throw new DmaSimError("EINVAL", `${at}.endBytes must be a multiple of the pageblock size (${pageblockBytes})`);
    if (zone.endBytes <= lastEnd) throw new DmaSimError("EINVAL", `${at}.endBytes must be above the previous zone's end`);
    ends[zone.name] = Math.min(zone.endBytes, ramBytes) / pageSize;
    lastIndex = index;
    lastEnd = zone.endBytes;
  });
  if (lastEnd < ramBytes) throw new DmaSimError("EINVAL", `${where}: zones end at ${lastEnd} bytes, before the end of RAM (${ramBytes})`);
  const dmaEnd = ends.DMA ?? 0;
  const dma32End = ends.DMA32 ?? (ends.Normal === undefined ? nrPages : dmaEnd);
  return [dmaEnd, dma32End];
}
const KNOWN_CMA = new Set(["name", "bytes", "base", "limit", "alignment", "orderPerBit"]);

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

export function resolveOptions(options: SystemOptions = {}): ResolvedOptions {
  const where = "createSystem";
  if (typeof options !== "object" || options === null) throw new DmaSimError("EINVAL", `${where}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new DmaSimError("EINVAL", `${where}: unknown option "${key}"`);
  }
  const backend = options.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "ts") {
    throw new DmaSimError("EINVAL", `${where}: backend must be "wasm" or "ts", got ${String(backend)}`);
  }
  const pageSize = options.pageSize ?? 4096;
  if (!isPow2(pageSize) || pageSize < 4096 || pageSize > 65536) {
    throw new DmaSimError("EINVAL", `${where}: pageSize must be a power of two from 4096 to 65536, got ${String(pageSize)}`);
  }
  const maxOrder = requireInt(where, "maxOrder", options.maxOrder ?? 10, 1, 20);
  const pageblockOrder = requireInt(where, "pageblockOrder", options.pageblockOrder ?? 9, 1, maxOrder);
  const storeContents = options.storeContents ?? true;
  if (typeof storeContents !== "boolean") throw new DmaSimError("EINVAL", `${where}: storeContents must be a boolean`);
  const seed = requireInt(where, "seed", options.seed ?? 0, 0, 0xffffffff);
  const ramBytes = options.ramBytes ?? 256 * MIB;
  const pageblockBytes = pageSize * 2 ** pageblockOrder;
  if (typeof ramBytes !== "number" || !Number.isSafeInteger(ramBytes) || ramBytes <= 0 || ramBytes % pageblockBytes !== 0) {
    throw new DmaSimError("EINVAL", `${where}: ramBytes must be a positive multiple of the pageblock size (${pageblockBytes}), got ${String(ramBytes)}`);
  }
  if (storeContents && ramBytes > MAX_CONTENTS_BYTES) {
    throw new DmaSimError("EINVAL", `${where}: with storeContents, ramBytes is limited to ${MAX_CONTENTS_BYTES} (wasm32 memory); use storeContents: false for larger machines`);
  }
  const nrPages = ramBytes / pageSize;
  if (nrPages > MAX_PAGES) throw new DmaSimError("EINVAL", `${where}: at most ${MAX_PAGES} pages are supported, got ${nrPages}`);
  const cma = options.cma ?? [];
  if (!Array.isArray(cma)) throw new DmaSimError("EINVAL", `${where}: cma must be an array of areas`);
  const names = new Set<string>();
  const areas = cma.map((area, i) => {
    const at = `${where}: cma[${i}]`;
    if (typeof area !== "object" || area === null) throw new DmaSimError("EINVAL", `${at} must be an object`);
    for (const key of Object.keys(area)) {
      if (!KNOWN_CMA.has(key)) throw new DmaSimError("EINVAL", `${at}: unknown field "${key}"`);
    }
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
      if (v % pageSize !== 0) throw new DmaSimError("EINVAL", `${at}.${key} must be page-aligned, got ${v}`);
    }
    if (area.alignment !== undefined && !isPow2(area.alignment)) {
      throw new DmaSimError("EINVAL", `${at}.alignment must be a power of two, got ${String(area.alignment)}`);
    }
    if (area.orderPerBit !== undefined) requireInt(at, "orderPerBit", area.orderPerBit, 0, 30);
    return { ...area };
  });
  const [dmaEndPfn, dma32EndPfn] = resolveZones(where, options.zones, ramBytes, pageSize, pageblockBytes);
  const minFreeKbytes = options.minFreeKbytes === undefined ? -1 : requireInt(where, "minFreeKbytes", options.minFreeKbytes, 0, 2 ** 31 - 1);
  const watermarkScaleFactor = requireInt(where, "watermarkScaleFactor", options.watermarkScaleFactor ?? 10, 1, 3000);
  const lowmemReserveRatio = options.lowmemReserveRatio ?? [256, 256, 32, 0];
  if (!Array.isArray(lowmemReserveRatio) || lowmemReserveRatio.length !== 4) {
    throw new DmaSimError("EINVAL", `${where}: lowmemReserveRatio must list 4 ratios (DMA, DMA32, Normal, Movable)`);
  }
  lowmemReserveRatio.forEach((r, i) => requireInt(where, `lowmemReserveRatio[${i}]`, r, 0, 2 ** 31 - 1));
  return {
    backend, ramBytes, pageSize, pageShift: Math.log2(pageSize), maxOrder, pageblockOrder, storeContents, seed, nrPages,
    cma: areas, dmaEndPfn, dma32EndPfn, minFreeKbytes, watermarkScaleFactor, lowmemReserveRatio: [...lowmemReserveRatio],
  };
}
