/**
 * DMA-API debugging: the bookkeeping and checks of the kernel's
 * CONFIG_DMA_API_DEBUG (kernel/dma/debug.c), as a pure class that dmasim's
 * DMA-mapping layer calls at the points where the kernel calls debug_dma_*().
 *
 * Kernel followed: mainline v6.10 to v6.12. The checks and format strings are
 * the same throughout that range. Later fixes to debug.c changed no message
 * text: the radix_lock deadlock fix (v6.13, backported to 6.12.y) and the
 * swiotlb exemption (v6.18). Every check below keeps the kernel's order,
 * its lookup rules (the 16384-bucket hash keyed on the DMA address, the
 * best-fit match, the backwards bucket walk of partial syncs) and its message
 * text. The messages are printed as err_printk() prints them:
 *
 *     "DMA-API: " + dev_driver_string(dev) + " " + dev_name(dev) + ": " + text
 *
 * Devices are plain names here. dev_driver_string() returns the bound
 * driver's name, or the bus name (or "") once the driver is unbound. Without
 * setDevice() the device name stands in for both strings (and is the driver
 * name the driver filter compares against), so "eth0" prints as
 * "DMA-API: eth0 eth0: ...". setDevice(dev, { driver, bus }) gives the kernel's
 * exact form. For example "DMA-API: ahci 0000:00:1f.2: ..." while bound, and
 * "DMA-API: pci 0000:00:1f.2: ..." for the release notifier. That notifier
 * (BUS_NOTIFY_UNBOUND_DRIVER) runs after dev->driver has been cleared.
 *
 * Messages are stored without the format's trailing "\n". Two kernel formats
 * have no trailing newline: "failed to check map error" and "different CPU
 * address". The pending-allocations message has an inner "\n", which is kept.
 * The kernel's "Mapped at:" stack dump is not modelled.
 *
 * Rate limiting follows err_printk() exactly. error_count always goes up. A
 * message is printed only if driver_filter(dev) passes and either
 * show_all_errors is set or show_num_errors > 0. After that, whether or not it
 * printed, show_num_errors is decremented if show_all_errors is off and it is
 * still positive. With the kernel defaults (show_num_errors = 1,
 * show_all_errors = 0) only the first error of the whole system is printed.
 * The limit is global, not per driver or per device. Every report is kept in
 * `reports` with `suppressed` set when the kernel would have stayed silent.
 *
 * Kernel quirks kept on purpose:
 *  - dma_map_single() records type "single", the same as dma_map_page(). So
 *    map_single then unmap_page is not a "wrong function" in v6.x. The `type`
 *    argument of mapPage/unmapPage is accepted but does not change the record.
 *  - type2name[] spells the sg type "scather-gather" [sic].
 *  - Lookups are best-fit. If several live mappings share a (device, DMA
 *    address) and none matches size, type, direction and sg count exactly,
 *    the lookup fails and the unmap is reported as "not allocated".
 *  - debug_dma_map_page() calls dma_mapping_error() on the new address before
 *    recording it. That marks an older, unchecked mapping at the same address
 *    as checked.
 *  - A sync that reaches past the end of a mapping fails the containing_match()
 *    lookup, so it is reported as "tries to sync DMA memory it has not
 *    allocated". The "syncs DMA memory outside allocated range" check after a
 *    successful lookup can only trigger when the 64-bit end address wraps.
 *  - Syncs of a DMA_BIDIRECTIONAL mapping skip the direction checks and also
 *    the sg entry-count check (the kernel's `goto out`).
 *  - "syncs device read-only DMA memory for cpu" needs a mapping that is not
 *    DMA_FROM_DEVICE and a sync direction that is not DMA_TO_DEVICE.
 *    "syncs device write-only DMA memory to device" is the mirror image. So
 *    syncing a DMA_TO_DEVICE mapping for the CPU with DMA_TO_DEVICE is
 *    accepted. Both reports come on top of the "different direction" one.
 *  - sync_sg on a list whose first segment is not found checks nothing.
 *  - Only the first cacheline of each mapping (or each sg segment) is entered
 *    in the active-cacheline tree. DMA_TO_DEVICE mappings are never entered.
 *    The per-cacheline overlap counter stops at ACTIVE_CACHELINE_MAX_OVERLAP
 *    (7), and WARN_ONCE prints "exceeded ..." once per instance. That warning
 *    is not an err_printk: it does not count in errorCount() and ignores
 *    the rate limit.
 *  - Mappings still live when a device is released stay recorded, as in the
 *    kernel.
 *
 * check_sg_segment() is built into the kernel only with CONFIG_DMA_API_DEBUG_SG
 * (default n). Here it is on unless `debugSg: false` is passed.
 *
 * dmasim's own checks go beyond the kernel. Their messages start with
 * "DMA-API (dmasim): " instead of "DMA-API: ". They go through the same
 * err_printk() gate: they count in errorCount() and use up show_num_errors.
 *  - Ownership of streaming buffers (map_page/map_single/map_sg). A mapping is
 *    device-owned after map or sync_for_device and CPU-owned after
 *    sync_for_cpu; unmap removes it. Ownership is tracked per byte, so a
 *    partial sync moves only the synced range. A cpuAccess() that touches a
 *    device-owned byte is reported once per mapping. Coherent and resource
 *    mappings are not tracked.
 *  - With `assertIdle: true`, cpuAccess() also runs the cacheline check that
 *    mainline removed in v5.9 (debug_dma_assert_idle(), "cpu touching an
 *    active dma mapped cacheline"). It reports a CPU access to a cacheline
 *    held in the active-cacheline tree by a single/sg mapping, at most once per
 *    call. The tree holds the first cacheline of each non-DMA_TO_DEVICE
 *    mapping. The report comes even after sync_for_cpu, as with the old kernel
 *    check. As in the kernel, the cln printed is a cacheline number, not an
 *    address.
 *
 * Not modelled, because the simulator has no kernel text, stack or vmalloc
 * area: check_for_stack(), check_for_illegal_area(), and
 * debug_dma_map_single()'s "maps memory from invalid area / vmalloc area"
 * checks. Those print %p hashed pointers, which cannot be reproduced anyway.
 * Also not modelled: the entry pool and its out-of-memory disable path, and
 * the swiotlb exemption for overlapping cachelines
 * (CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC), which came in later stable updates.
 *
 * Addresses and sizes are u64. They can be passed as non-negative safe
 * integers or as bigints below 2^64; bigints are needed for a ULONG_MAX
 * segment boundary. The device address of mapPage(), mappingError() and
 * unmapPage() may also be DMA_MAPPING_ERROR (dmasim's -1, dma/ops/ops.ts),
 * read as the kernel's (dma_addr_t)~0, as may (1n << 64n) - 1n itself.
 * Internally everything is a bigint, so the kernel's 64-bit wraparound is reproduced.
 */

import { DmaSimError } from "../core/errors.ts";
import type { StateHasher } from "../core/hash.ts";
import { show } from "../core/validate.ts";
import { appendBounded } from "../core/bounded-log.ts";
import { DMA_DIRECTIONS, type DmaDirection } from "./direction.ts";
import { DMA_MAPPING_ERROR } from "./ops/ops.ts";

export type { DmaDirection } from "./direction.ts";
export { DMA_MAPPING_ERROR } from "./ops/ops.ts";

// ---------------------------------------------------------------------------
// public types and constants
// ---------------------------------------------------------------------------

/** The four dma_debug_entry types (dma_debug_single, _sg, _coherent, _resource). */
export type DmaMapType = "single" | "scatter-gather" | "coherent" | "resource";

/** A u64 quantity: a non-negative safe integer, or a bigint in 0..2^64-1. */
export type DmaAddr = number | bigint;

/** Which part of dmasim produced a report. */
export type DmaDebugOrigin = "kernel" | "dmasim";

export interface DmaDebugReport {
  /** Name of the device the report is about (the kernel's `dev`), or "NULL". */
  device: string;
  /** The full line as the kernel would print it, without the trailing newline. */
  message: string;
  /** True when err_printk() (or WARN_ONCE) would not have printed it. */
  suppressed: boolean;
  /** Short machine-readable kind, e.g. "free-not-allocated", "size-mismatch". */
  kind: string;
  /** "kernel" for debug.c's checks, "dmasim" for the simulator's own. */
  origin: DmaDebugOrigin;
}

export interface DmaDebugOptions {
  /** debugfs dma-api/all_errors. Default false (0), as in the kernel. */
  showAllErrors?: boolean;
  /** debugfs dma-api/num_errors. Default 1, as in the kernel. */
  showNumErrors?: number;
  /** L1_CACHE_BYTES, a power of two from 1 to 4096. Default 64. */
  cachelineBytes?: number;
  /** dma_debug_driver= / debugfs driver_filter. Only this driver's errors are printed. Default: off. */
  driverFilter?: string | null;
  /** CONFIG_DMA_API_DEBUG_SG (check_sg_segment). Default true; the kernel's Kconfig default is n. */
  debugSg?: boolean;
  /** dmasim: run the pre-v5.9 debug_dma_assert_idle() cacheline check in cpuAccess(). Default false. */
  assertIdle?: boolean;
  /**
   * Turns a coherent buffer's CPU address into a physical address for
   * freeCoherent(), like virt_to_page()/vmalloc_to_pfn(). Return undefined for
   * an address the kernel would reject as invalid; the free is then ignored, as
   * in debug_dma_free_coherent(). Default: the live coherent allocations'
   * (cpuAddr, paddr) pairs, otherwise the address itself.
   */
  virtToPhys?: (cpuAddr: bigint) => DmaAddr | undefined;
  /**
   * dmasim: how many reports `reports` keeps (the newest), as dmesg keeps a
   * ring; older ones are only counted (`reportCount`). Default 1000.
   */
  maxReports?: number;
}

/** DMA attributes that debug.c looks at. */
export interface DmaAttrs {
  /** DMA_ATTR_SKIP_CPU_SYNC: no "cacheline tracking EEXIST" report for this mapping. */
  skipCpuSync?: boolean;
}

/**
 * One scatterlist entry. `paddr` is sg_phys(s); `length` is s->length.
 * `devAddr`/`dmaLength` are sg_dma_address(s)/sg_dma_len(s). A missing
 * `dmaLength` means sg_dma_len equals length.
 */
export interface DmaSgSegment {
  paddr: DmaAddr;
  /** Required for mapped segments; may be omitted past dma_map_sg()'s return count. */
  devAddr?: DmaAddr;
  length: number;
  dmaLength?: number;
}

/** dma_get_max_seg_size(dev) and dma_get_seg_boundary(dev). */
export interface DmaSgLimits {
  maxSegmentSize: number;
  segmentBoundaryMask: DmaAddr;
}

/** How dev_driver_string() resolves for a device. */
export interface DmaDeviceInfo {
  /** Name of the bound driver; null or absent for an unbound device. */
  driver?: string | null;
  /** Bus (or class) name, printed by dev_driver_string() when no driver is bound. */
  bus?: string | null;
}

/** ULONG_MAX: what dma_get_seg_boundary() returns when the device sets no boundary. */
export const DMA_SEG_BOUNDARY_NONE: bigint = (1n << 64n) - 1n;
/** dma_get_max_seg_size() for a device without dma_parms: SZ_64K. */
export const DMA_DEFAULT_MAX_SEG_SIZE = 65536;
/** (1 << RADIX_TREE_MAX_TAGS) - 1 with RADIX_TREE_MAX_TAGS = XA_MAX_MARKS = 3. */
export const ACTIVE_CACHELINE_MAX_OVERLAP = 7;

/** dir2name[] indexed by enum dma_data_direction. */
export const DIR2NAME: readonly string[] = Object.freeze([
  "DMA_BIDIRECTIONAL",
  "DMA_TO_DEVICE",
  "DMA_FROM_DEVICE",
  "DMA_NONE",
]);

/** type2name[] indexed by dma_debug_single/_sg/_coherent/_resource; the sg spelling is the kernel's. */
export const TYPE2NAME: readonly string[] = Object.freeze(["single", "scather-gather", "coherent", "resource"]);

/** maperr2str[] indexed by enum map_err_types. */
export const MAPERR2STR: readonly string[] = Object.freeze([
  "dma map error check not applicable",
  "dma map error not checked",
  "dma map error checked",
]);

// ---------------------------------------------------------------------------
// internals
// ---------------------------------------------------------------------------

const U64_MASK = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffff;
const INT_MAX = 0x7fff_ffff;

const HASH_SIZE = 16384n;
const HASH_FN_SHIFT = 13n;
const HASH_FN_MASK = HASH_SIZE - 1n;
const PAGE_SHIFT = 12n;
const NAME_MAX_LEN = 64;

const T_SINGLE = 0;
const T_SG = 1;
const T_COHERENT = 2;
const T_RESOURCE = 3;

const D_BIDIRECTIONAL = 0;
const D_TO_DEVICE = 1;
const D_FROM_DEVICE = 2;

const MAP_ERR_CHECK_NOT_APPLICABLE = 0;
const MAP_ERR_NOT_CHECKED = 1;
const MAP_ERR_CHECKED = 2;

/** enum dma_data_direction values by name. */
const DIRECTIONS: ReadonlyMap<string, number> = new Map(DMA_DIRECTIONS.map((d, i) => [d, i]));

/** DMA_MAPPING_ERROR as the kernel's 64-bit dma_addr_t holds it: (dma_addr_t)~0. */
const MAPPING_ERROR_U64 = BigInt.asUintN(64, BigInt(DMA_MAPPING_ERROR));

/** A run of physical memory behind part of a mapping: bytes [off, off+len) of the mapping start at paddr. */
interface Piece {
  off: bigint;
  paddr: bigint;
  len: bigint;
}

/** The reference entry the kernel builds on the stack for a lookup: the fields a match compares. */
interface Ref {
  dev: string;
  devAddr: bigint;
  size: bigint;
  type: number;
  dir: number;
  sgCallEnts: number;
  /** phys_addr(entry): page_to_phys(pfn) + offset. */
  paddr: bigint;
}

/** struct dma_debug_entry (the same struct as a Ref in the kernel), plus dmasim's ownership state. */
interface Entry extends Ref {
  sgMappedEnts: number;
  mapErr: number;
  /** Coherent only: the CPU address returned by dma_alloc_coherent(). */
  cpuAddr: bigint;
  /** dmasim: physical runs behind the mapping (streaming mappings only). */
  pieces: Piece[];
  /** dmasim: device-owned byte ranges [start, end) relative to devAddr, sorted, disjoint; null = not tracked. */
  owned: [bigint, bigint][] | null;
}

interface CachelineSlot {
  /** The entry radix_tree_insert() stored (the first one; kept even after it is freed, as in the kernel). */
  entry: Entry;
  /** Overlap count held in the radix-tree tags, 0..ACTIVE_CACHELINE_MAX_OVERLAP. */
  overlap: number;
}

type MatchFn = (ref: Ref, entry: Entry) => boolean;

/** Feeds a u64 as its two 32-bit halves. */
function hashU64(h: StateHasher, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  h.word(Number(u & 0xffff_ffffn) | 0).word(Number(u >> 32n) | 0);
}

/** Feeds the fields a lookup matches an entry on. */
function hashEntryKey(h: StateHasher, e: Ref): void {
  h.str(e.dev);
  hashU64(h, e.devAddr);
  hashU64(h, e.size);
  h.num(e.type).num(e.dir);
  hashU64(h, e.paddr);
}

/** "%016llx" for a u64. */
function hex16(v: bigint): string {
  return v.toString(16).padStart(16, "0");
}

/** "%pa" on a 64-bit phys_addr_t: special_hex_number() with 16 digits. */
function pa(v: bigint): string {
  return "0x" + hex16(v);
}

function u64Add(a: bigint, b: bigint): bigint {
  return (a + b) & U64_MASK;
}

function hashIndex(devAddr: bigint): number {
  return Number((devAddr >> HASH_FN_SHIFT) & HASH_FN_MASK);
}

function exactMatch(ref: Ref, entry: Entry): boolean {
  return ref.devAddr === entry.devAddr && ref.dev === entry.dev;
}

function containingMatch(ref: Ref, entry: Entry): boolean {
  if (ref.dev !== entry.dev) return false;
  return entry.devAddr <= ref.devAddr && u64Add(entry.devAddr, entry.size) >= u64Add(ref.devAddr, ref.size);
}

// -- byte-range sets (dmasim ownership) --------------------------------------

function rangeAdd(list: [bigint, bigint][], a: bigint, b: bigint): [bigint, bigint][] {
  if (a >= b) return list;
  const out: [bigint, bigint][] = [];
  let lo = a;
  let hi = b;
  for (const [s, e] of list) {
    if (e < lo || s > hi) out.push([s, e]);
    else {
      if (s < lo) lo = s;
      if (e > hi) hi = e;
    }
  }
  out.push([lo, hi]);
  out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return out;
}

function rangeRemove(list: [bigint, bigint][], a: bigint, b: bigint): [bigint, bigint][] {
  if (a >= b) return list;
  const out: [bigint, bigint][] = [];
  for (const [s, e] of list) {
    if (e <= a || s >= b) {
      out.push([s, e]);
      continue;
    }
    if (s < a) out.push([s, a]);
    if (e > b) out.push([b, e]);
  }
  return out;
}

function rangeIntersects(list: [bigint, bigint][], a: bigint, b: bigint): boolean {
  for (const [s, e] of list) if (s < b && a < e) return true;
  return false;
}

// -- argument checks ----------------------------------------------------------

function fail(where: string, what: string): never {
  throw new DmaSimError("EINVAL", `${where}: ${what}`);
}

function argU64(where: string, name: string, v: unknown): bigint {
  if (typeof v === "bigint") {
    if (v >= 0n && v <= U64_MASK) return v;
  } else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) {
    return BigInt(v);
  }
  fail(where, `${name} must be a non-negative safe integer or a bigint below 2^64, got ${show(v)}`);
}

/** A device address a dma_map_*() call returned: a u64, or DMA_MAPPING_ERROR (read as (dma_addr_t)~0). */
function argDmaHandle(where: string, name: string, v: unknown): bigint {
  return v === DMA_MAPPING_ERROR ? MAPPING_ERROR_U64 : argU64(where, name, v);
}

function argInt(where: string, name: string, v: unknown, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    fail(where, `${name} must be an integer in 0..${max}, got ${show(v)}`);
  }
  return v;
}

function argDev(where: string, v: unknown): string {
  if (typeof v !== "string" || v.length === 0) fail(where, `device must be a non-empty string, got ${show(v)}`);
  return v;
}

function argDir(where: string, v: unknown): number {
  const d = typeof v === "string" ? DIRECTIONS.get(v) : undefined;
  if (d === undefined) {
    fail(where, `direction must be one of bidirectional, to_device, from_device, none; got ${show(v)}`);
  }
  return d;
}

function argAttrs(where: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== "object" || v === null) fail(where, `attrs must be an object, got ${show(v)}`);
  const skip = (v as DmaAttrs).skipCpuSync;
  if (skip !== undefined && typeof skip !== "boolean") fail(where, `attrs.skipCpuSync must be a boolean`);
  return skip === true;
}

function argMapKind(where: string, v: unknown): void {
  if (v !== undefined && v !== "single" && v !== "page") fail(where, `type must be "single" or "page", got ${show(v)}`);
}

interface SgSeg {
  paddr: bigint;
  devAddr: bigint;
  length: number;
  dmaLength: number;
}

/** Checks that `v` is an array holding at least `count` segments. */
function argSegArray(where: string, v: unknown, count: number): unknown[] {
  if (!Array.isArray(v)) fail(where, "segments must be an array");
  if (count > v.length) fail(where, `the count ${count} exceeds the ${v.length} segments given`);
  return v as unknown[];
}

/**
 * Validates segment i. A segment past dma_map_sg()'s return count
 * (`unmapped`) may omit devAddr and dmaLength (taken as 0). A mapped segment
 * given to dma_map_sg() must carry dmaLength (`needDmaLength`). Elsewhere
 * dmaLength defaults to length.
 */
function argSeg(where: string, list: unknown[], i: number, needDmaLength = false, unmapped = false): SgSeg {
  const s = list[i];
  if (typeof s !== "object" || s === null) fail(where, `segments[${i}] must be an object`);
  const seg = s as Partial<DmaSgSegment>;
  const length = argInt(where, `segments[${i}].length`, seg.length, U32_MAX);
  if (needDmaLength && seg.dmaLength === undefined) fail(where, `segments[${i}].dmaLength is required`);
  let dmaLength = unmapped ? 0 : length;
  if (seg.dmaLength !== undefined) dmaLength = argInt(where, `segments[${i}].dmaLength`, seg.dmaLength, U32_MAX);
  const devAddr = unmapped && seg.devAddr === undefined ? 0n : argU64(where, `segments[${i}].devAddr`, seg.devAddr);
  return { paddr: argU64(where, `segments[${i}].paddr`, seg.paddr), devAddr, length, dmaLength };
}

/** First whitespace-delimited token, at most NAME_MAX_LEN - 1 characters, like filter_write(). */
function normalizeFilter(where: string, v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") fail(where, `driver filter must be a string or null, got ${show(v)}`);
  const token = v.split(/\s/, 1)[0] ?? "";
  return token.slice(0, NAME_MAX_LEN - 1);
}

// ---------------------------------------------------------------------------
// DmaDebug
// ---------------------------------------------------------------------------

export class DmaDebug {
  /** The newest reports (at most `maxReports`), in the order they were raised (printed or not). */
  readonly reports: DmaDebugReport[] = [];
  /** Reports raised since creation, including those `reports` has dropped. */
  reportCount = 0;
  private readonly maxReports: number;

  private errorCountValue = 0;
  private showAllErrors: boolean;
  private showNumErrors: number;
  private driverFilter: string;
  private readonly debugSg: boolean;
  private readonly assertIdle: boolean;
  private readonly clShift: bigint;
  private readonly virtToPhys: ((cpuAddr: bigint) => DmaAddr | undefined) | undefined;

  /** dma_entry_hash[]: bucket index to entries in list order. */
  private readonly buckets = new Map<number, Entry[]>();
  /** All live entries in creation order (dmasim: for cpuAccess and counting). */
  private readonly live = new Set<Entry>();
  /** dma_active_cacheline radix tree: cacheline number to slot. */
  private readonly cachelines = new Map<bigint, CachelineSlot>();
  /** The WARN_ONCE in active_cacheline_inc_overlap() has fired. */
  private overlapWarned = false;
  private readonly devices = new Map<string, { driver: string | null; bus: string | null }>();
  /** The debugfs settings as created (what pristine compares against). */
  private readonly initialSettings: { showAllErrors: boolean; showNumErrors: number; driverFilter: string };

  constructor(options: DmaDebugOptions = {}) {
    const where = "DmaDebug";
    if (typeof options !== "object" || options === null) fail(where, "options must be an object");
    const o = options;
    if (o.showAllErrors !== undefined && typeof o.showAllErrors !== "boolean")
      fail(where, "showAllErrors must be a boolean");
    this.showAllErrors = o.showAllErrors ?? false;
    this.showNumErrors = o.showNumErrors === undefined ? 1 : argInt(where, "showNumErrors", o.showNumErrors, U32_MAX);
    const cl = o.cachelineBytes === undefined ? 64 : argInt(where, "cachelineBytes", o.cachelineBytes, 4096);
    if (cl === 0 || (cl & (cl - 1)) !== 0) fail(where, `cachelineBytes must be a power of two in 1..4096, got ${cl}`);
    this.clShift = BigInt(Math.log2(cl));
    this.driverFilter = normalizeFilter(where, o.driverFilter);
    if (o.debugSg !== undefined && typeof o.debugSg !== "boolean") fail(where, "debugSg must be a boolean");
    this.debugSg = o.debugSg ?? true;
    if (o.assertIdle !== undefined && typeof o.assertIdle !== "boolean") fail(where, "assertIdle must be a boolean");
    this.assertIdle = o.assertIdle ?? false;
    if (o.virtToPhys !== undefined && typeof o.virtToPhys !== "function") fail(where, "virtToPhys must be a function");
    this.virtToPhys = o.virtToPhys;
    this.maxReports = o.maxReports === undefined ? 1000 : argInt(where, "maxReports", o.maxReports, U32_MAX);
    this.initialSettings = {
      showAllErrors: this.showAllErrors,
      showNumErrors: this.showNumErrors,
      driverFilter: this.driverFilter,
    };
  }

  // -- configuration ----------------------------------------------------------

  /** Writes debugfs dma-api/all_errors. */
  setShowAllErrors(on: boolean): void {
    if (typeof on !== "boolean") fail("setShowAllErrors", "value must be a boolean");
    this.showAllErrors = on;
  }

  /** Writes debugfs dma-api/num_errors. */
  setShowNumErrors(n: number): void {
    this.showNumErrors = argInt("setShowNumErrors", "value", n, U32_MAX);
  }

  /** Writes debugfs dma-api/driver_filter; null or "" switches the filter off. */
  setDriverFilter(name: string | null): void {
    this.driverFilter = normalizeFilter("setDriverFilter", name);
  }

  /**
   * Sets how dev_driver_string() resolves for `dev`: the bound driver's name,
   * otherwise the bus name, otherwise "". Without this the device name is used
   * for both strings.
   */
  setDevice(dev: string, info: DmaDeviceInfo): void {
    const where = "setDevice";
    argDev(where, dev);
    if (typeof info !== "object" || info === null) fail(where, "info must be an object");
    const driver = info.driver ?? null;
    const bus = info.bus ?? null;
    if (driver !== null && typeof driver !== "string") fail(where, "info.driver must be a string or null");
    if (bus !== null && typeof bus !== "string") fail(where, "info.bus must be a string or null");
    this.devices.set(dev, { driver, bus });
  }

  // -- queries -----------------------------------------------------------------

  /** The lines the kernel would have printed, in order. */
  printed(): string[] {
    return this.reports.filter((r) => !r.suppressed).map((r) => r.message);
  }

  /** debugfs dma-api/error_count: every err_printk(), printed or not. */
  errorCount(): number {
    return this.errorCountValue;
  }

  /** Number of live dma_debug_entry records (one per sg segment), for one device or all. */
  activeMappings(device?: string): number {
    if (device === undefined) return this.live.size;
    argDev("activeMappings", device);
    let n = 0;
    for (const e of this.live) if (e.dev === device) n++;
    return n;
  }

  /** debugfs dma-api/dump: one line per entry, bucket by bucket. */
  dump(): string[] {
    const out: string[] = [];
    for (const idx of [...this.buckets.keys()].sort((a, b) => a - b)) {
      for (const e of this.buckets.get(idx) ?? []) {
        const [drv, name] = this.devStrings(e.dev);
        out.push(
          `${drv} ${name} ${TYPE2NAME[e.type]} idx ${idx} P=${e.paddr.toString(16)} N=${(e.paddr >> PAGE_SHIFT).toString(16)} ` +
            `D=${e.devAddr.toString(16)} L=${e.size.toString(16)} cln=${pa(this.cln(e.paddr))} ${DIR2NAME[e.dir]} ${MAPERR2STR[e.mapErr]}`,
        );
      }
    }
    return out;
  }

  // -- hooks: streaming single mappings ---------------------------------------

  /**
   * debug_dma_map_page(). dma_map_single() becomes dma_map_page_attrs() in v6.x
   * and both are recorded as type "single".
   */
  mapPage(
    dev: string,
    paddr: DmaAddr,
    devAddr: DmaAddr,
    size: DmaAddr,
    dir: DmaDirection,
    type?: "single" | "page",
    attrs?: DmaAttrs,
  ): void {
    const where = "mapPage";
    const d = argDev(where, dev);
    const p = argU64(where, "paddr", paddr);
    const a = argDmaHandle(where, "devAddr", devAddr);
    const sz = argU64(where, "size", size);
    const di = argDir(where, dir);
    argMapKind(where, type);
    const skip = argAttrs(where, attrs);

    if (this.dmaMappingError(d, a)) return;
    const entry = this.newEntry(d, a, sz, T_SINGLE, di, p);
    entry.mapErr = MAP_ERR_NOT_CHECKED;
    entry.pieces = [{ off: 0n, paddr: p, len: sz }];
    entry.owned = rangeAdd([], 0n, sz);
    this.addEntry(entry, skip);
  }

  /** debug_dma_mapping_error(): the driver checked the mapping with dma_mapping_error(). */
  mappingError(dev: string, devAddr: DmaAddr): void {
    const where = "mappingError";
    this.markChecked(argDev(where, dev), argDmaHandle(where, "devAddr", devAddr));
  }

  /** debug_dma_unmap_page() (also reached by dma_unmap_single()). */
  unmapPage(dev: string, devAddr: DmaAddr, size: DmaAddr, dir: DmaDirection, type?: "single" | "page"): void {
    const where = "unmapPage";
    const ref = this.ref(
      argDev(where, dev),
      argDmaHandle(where, "devAddr", devAddr),
      argU64(where, "size", size),
      T_SINGLE,
      argDir(where, dir),
    );
    argMapKind(where, type);
    this.checkUnmap(ref);
  }

  /** debug_dma_map_resource(): MMIO mapped for peer DMA. */
  mapResource(dev: string, paddr: DmaAddr, devAddr: DmaAddr, size: DmaAddr, dir: DmaDirection, attrs?: DmaAttrs): void {
    const where = "mapResource";
    const d = argDev(where, dev);
    const p = argU64(where, "paddr", paddr);
    const a = argU64(where, "devAddr", devAddr);
    const sz = argU64(where, "size", size);
    const di = argDir(where, dir);
    const skip = argAttrs(where, attrs);
    const entry = this.newEntry(d, a, sz, T_RESOURCE, di, p);
    entry.mapErr = MAP_ERR_NOT_CHECKED;
    this.addEntry(entry, skip);
  }

  /** debug_dma_unmap_resource(). */
  unmapResource(dev: string, devAddr: DmaAddr, size: DmaAddr, dir: DmaDirection): void {
    const where = "unmapResource";
    this.checkUnmap(
      this.ref(
        argDev(where, dev),
        argU64(where, "devAddr", devAddr),
        argU64(where, "size", size),
        T_RESOURCE,
        argDir(where, dir),
      ),
    );
  }

  // -- hooks: scatter-gather ---------------------------------------------------

  /**
   * debug_dma_map_sg(). `nents` is the count passed to dma_map_sg(), and
   * `mappedEnts` is what it returned. One entry is recorded for each of the
   * first mappedEnts segments, using that segment's sg_dma_address/sg_dma_len.
   */
  mapSg(
    dev: string,
    segments: DmaSgSegment[],
    nents: number,
    mappedEnts: number,
    dir: DmaDirection,
    limits: DmaSgLimits = { maxSegmentSize: DMA_DEFAULT_MAX_SEG_SIZE, segmentBoundaryMask: DMA_SEG_BOUNDARY_NONE },
    attrs?: DmaAttrs,
  ): void {
    const where = "mapSg";
    const d = argDev(where, dev);
    const n = argInt(where, "nents", nents, INT_MAX);
    const m = argInt(where, "mappedEnts", mappedEnts, INT_MAX);
    if (m > n) fail(where, `mappedEnts (${m}) exceeds nents (${n})`);
    const list = argSegArray(where, segments, n);
    const segs: SgSeg[] = [];
    for (let i = 0; i < n; i++) segs.push(argSeg(where, list, i, i < m, i >= m));
    const di = argDir(where, dir);
    if (typeof limits !== "object" || limits === null) fail(where, "limits must be an object");
    const maxSeg = argInt(where, "limits.maxSegmentSize", limits.maxSegmentSize, U32_MAX);
    const boundary = argU64(where, "limits.segmentBoundaryMask", limits.segmentBoundaryMask);
    const skip = argAttrs(where, attrs);

    const pieces = sgPieces(segs, m);
    for (let i = 0; i < m; i++) {
      const s = segs[i] as SgSeg;
      const entry = this.newEntry(d, s.devAddr, BigInt(s.dmaLength), T_SG, di, s.paddr);
      entry.sgCallEnts = n;
      entry.sgMappedEnts = m;
      entry.pieces = pieces[i] ?? [];
      entry.owned = rangeAdd([], 0n, entry.size);
      this.checkSgSegment(d, s, maxSeg, boundary);
      this.addEntry(entry, skip);
    }
  }

  /** debug_dma_unmap_sg(). `nelems` is the nents passed to dma_unmap_sg(), the same count given to dma_map_sg(). */
  unmapSg(dev: string, segments: DmaSgSegment[], nelems: number, dir: DmaDirection): void {
    const where = "unmapSg";
    const d = argDev(where, dev);
    const n = argInt(where, "nelems", nelems, INT_MAX);
    const list = argSegArray(where, segments, n);
    const di = argDir(where, dir);
    if (n === 0) return;

    // The kernel reads the mapped entry count at i == 0 and stops after that
    // many segments (or reads all nelems when the first one is not found).
    // Only the segments it will read are validated, and all before any check.
    const refs = this.sgRefs(where, d, list, n, di, (mapped) => (mapped ? Math.min(n, mapped) : n));
    for (const ref of refs) this.checkUnmap(ref);
  }

  // -- hooks: coherent ---------------------------------------------------------

  /** debug_dma_alloc_coherent(). `cpuAddr` is the returned virtual address and `paddr` the memory behind it. */
  allocCoherent(
    dev: string,
    size: DmaAddr,
    devAddr: DmaAddr,
    cpuAddr: DmaAddr,
    paddr: DmaAddr,
    attrs?: DmaAttrs,
  ): void {
    const where = "allocCoherent";
    const d = argDev(where, dev);
    const sz = argU64(where, "size", size);
    const a = argU64(where, "devAddr", devAddr);
    const c = argU64(where, "cpuAddr", cpuAddr);
    const p = argU64(where, "paddr", paddr);
    const skip = argAttrs(where, attrs);
    if (c === 0n) return; // virt == NULL
    const entry = this.newEntry(d, a, sz, T_COHERENT, D_BIDIRECTIONAL, p);
    entry.cpuAddr = c;
    this.addEntry(entry, skip);
  }

  /** debug_dma_free_coherent(). */
  freeCoherent(dev: string, size: DmaAddr, cpuAddr: DmaAddr, devAddr: DmaAddr): void {
    const where = "freeCoherent";
    const d = argDev(where, dev);
    const sz = argU64(where, "size", size);
    const c = argU64(where, "cpuAddr", cpuAddr);
    const a = argU64(where, "devAddr", devAddr);
    if (c === 0n) return; // !virt_addr_valid(NULL)
    const phys = this.translateCpu(c);
    if (phys === undefined) return; // neither vmalloc nor linear: ignored, as in the kernel
    this.checkUnmap(this.ref(d, a, sz, T_COHERENT, D_BIDIRECTIONAL, 0, phys));
  }

  // -- hooks: sync -------------------------------------------------------------

  /** debug_dma_sync_single_for_cpu(). dmasim: moves ownership of the synced bytes to the CPU. */
  syncSingleForCpu(dev: string, devAddr: DmaAddr, size: DmaAddr, dir: DmaDirection): void {
    this.syncSingle("syncSingleForCpu", dev, devAddr, size, dir, true);
  }

  /** debug_dma_sync_single_for_device(). dmasim: moves ownership of the synced bytes to the device. */
  syncSingleForDevice(dev: string, devAddr: DmaAddr, size: DmaAddr, dir: DmaDirection): void {
    this.syncSingle("syncSingleForDevice", dev, devAddr, size, dir, false);
  }

  /** debug_dma_sync_sg_for_cpu(). */
  syncSgForCpu(dev: string, segments: DmaSgSegment[], nelems: number, dir: DmaDirection): void {
    this.syncSg("syncSgForCpu", dev, segments, nelems, dir, true);
  }

  /** debug_dma_sync_sg_for_device(). */
  syncSgForDevice(dev: string, segments: DmaSgSegment[], nelems: number, dir: DmaDirection): void {
    this.syncSg("syncSgForDevice", dev, segments, nelems, dir, false);
  }

  // -- hooks: device lifetime and CPU access -------------------------------------

  /**
   * dma_debug_device_change(BUS_NOTIFY_UNBOUND_DRIVER): the driver has been
   * unbound from `dev`. Reports the mappings it still holds. The entries stay
   * recorded. For a device set up with setDevice(), the driver becomes unbound
   * first, so the message shows the bus name, as in the kernel.
   */
  deviceRelease(dev: string): void {
    const d = argDev("deviceRelease", dev);
    const info = this.devices.get(d);
    if (info) info.driver = null;
    let count = 0;
    let last: Entry | undefined;
    for (const idx of [...this.buckets.keys()].sort((a, b) => a - b)) {
      for (const e of this.buckets.get(idx) ?? []) {
        if (e.dev === d) {
          count += 1;
          last = e;
        }
      }
    }
    if (count === 0 || last === undefined) return;
    this.errPrintk(
      d,
      "pending-on-release",
      `device driver has pending DMA allocations while released from device [count=${count}]\n` +
        `One of leaked entries details: [device address=0x${hex16(last.devAddr)}] [size=${last.size} bytes] ` +
        `[mapped with ${DIR2NAME[last.dir]}] [mapped as ${TYPE2NAME[last.type]}]`,
    );
  }

  /**
   * dmasim: the CPU reads (write=false) or writes `size` bytes at `paddr`.
   * `dev` is the device whose driver makes the access. Only that device's
   * mappings are checked, or every device's when dev is null. Reports each
   * streaming mapping with a device-owned byte in the range. With
   * `assertIdle`, also reports the first active cacheline touched, as the
   * removed debug_dma_assert_idle() did.
   */
  cpuAccess(dev: string | null, paddr: DmaAddr, size: DmaAddr, write: boolean): void {
    const where = "cpuAccess";
    const d = dev === null ? null : argDev(where, dev);
    const p = argU64(where, "paddr", paddr);
    const sz = argU64(where, "size", size);
    if (typeof write !== "boolean") fail(where, `write must be a boolean, got ${show(write)}`);
    if (sz === 0n) return;
    const end = p + sz;

    for (const e of this.live) {
      if (e.owned === null || (d !== null && e.dev !== d)) continue;
      for (const piece of e.pieces) {
        const lo = p > piece.paddr ? p : piece.paddr;
        const pieceEnd = piece.paddr + piece.len;
        const hi = end < pieceEnd ? end : pieceEnd;
        if (lo >= hi) continue;
        const a = piece.off + (lo - piece.paddr);
        if (rangeIntersects(e.owned, a, a + (hi - lo))) {
          this.errPrintk(
            e.dev,
            "cpu-access-device-owned",
            `cpu ${write ? "writes to" : "reads from"} DMA memory owned by the device ` +
              `[phys address=0x${hex16(p)}] [access size=${sz} bytes] [device address=0x${hex16(e.devAddr)}] ` +
              `[size=${e.size} bytes] [mapped with ${DIR2NAME[e.dir]}] [mapped as ${TYPE2NAME[e.type]}]`,
            "dmasim",
          );
          break;
        }
      }
    }

    if (this.assertIdle) this.checkIdle(d, p, end);
  }

  // -- state (the DMA subsystem's part of check() and stateHash()) --------------

  /** @internal As created: no entry, no report, no error, no device info, the settings unchanged. */
  get pristine(): boolean {
    const s = this.initialSettings;
    return (
      this.live.size === 0 &&
      this.buckets.size === 0 &&
      this.cachelines.size === 0 &&
      this.reportCount === 0 &&
      this.errorCountValue === 0 &&
      !this.overlapWarned &&
      this.devices.size === 0 &&
      this.showAllErrors === s.showAllErrors &&
      this.showNumErrors === s.showNumErrors &&
      this.driverFilter === s.driverFilter
    );
  }

  /**
   * @internal Feeds the settings, the device info (by name), the error count
   * and reports in order, the live entries in the order they were made (the
   * buckets hold them in that order), and the active-cacheline tree by cacheline.
   */
  hashState(h: StateHasher): void {
    h.bool(this.showAllErrors)
      .num(this.showNumErrors)
      .str(this.driverFilter)
      .bool(this.overlapWarned)
      .num(this.errorCountValue);
    const devices = [...this.devices].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    h.list(devices, ([dev, info]) =>
      h
        .str(dev)
        .str(info.driver ?? "\0")
        .str(info.bus ?? "\0"),
    );
    h.list(this.reports, (r) => h.str(r.device).str(r.message).bool(r.suppressed).str(r.kind).str(r.origin));
    if (this.reportCount !== this.reports.length) h.num(this.reportCount);
    h.list(this.live, (e) => {
      hashEntryKey(h, e);
      h.num(e.sgCallEnts).num(e.sgMappedEnts).num(e.mapErr);
      hashU64(h, e.cpuAddr);
      h.list(e.pieces, (p) => {
        hashU64(h, p.off);
        hashU64(h, p.paddr);
        hashU64(h, p.len);
      });
      h.bool(e.owned !== null);
      h.list(e.owned ?? [], ([a, b]) => {
        hashU64(h, a);
        hashU64(h, b);
      });
    });
    const lines = [...this.cachelines].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    h.list(lines, ([cln, slot]) => {
      hashU64(h, cln);
      h.num(slot.overlap).bool(this.live.has(slot.entry));
      hashEntryKey(h, slot.entry);
    });
  }

  /**
   * @internal The bookkeeping's invariants: every live entry in the bucket of
   * its device address and nothing else there; the active-cacheline tree
   * holding the first cacheline of each live entry it tracks (all but
   * DMA_TO_DEVICE ones), with an overlap count one less than their number,
   * until some cacheline overflowed.
   */
  checkState(): string {
    let bucketed = 0;
    for (const [idx, bucket] of this.buckets) {
      if (bucket.length === 0) return `dma-debug: hash bucket ${idx} is listed empty`;
      for (const e of bucket) {
        if (!this.live.has(e)) return `dma-debug: hash bucket ${idx} holds an entry that is not live`;
        if (hashIndex(e.devAddr) !== idx)
          return `dma-debug: the entry for device address 0x${hex16(e.devAddr)} is in bucket ${idx}`;
      }
      bucketed += bucket.length;
    }
    if (bucketed !== this.live.size)
      return `dma-debug: ${this.live.size} live entries, ${bucketed} in the hash buckets`;
    for (const [cln, slot] of this.cachelines) {
      if (slot.overlap < 0 || slot.overlap > ACTIVE_CACHELINE_MAX_OVERLAP)
        return `dma-debug: cacheline ${pa(cln)} has overlap count ${slot.overlap}`;
    }
    // Once a cacheline overflowed, its count no longer follows the entries (as in the kernel).
    if (this.overlapWarned) return "";
    const entries = new Map<bigint, number>();
    for (const e of this.live) {
      if (e.dir === D_TO_DEVICE) continue;
      const cln = this.cln(e.paddr);
      entries.set(cln, (entries.get(cln) ?? 0) + 1);
    }
    for (const [cln, n] of entries) {
      const slot = this.cachelines.get(cln);
      if (!slot) return `dma-debug: cacheline ${pa(cln)} of ${n} live entries is not in the active-cacheline tree`;
      if (slot.overlap !== n - 1)
        return `dma-debug: cacheline ${pa(cln)} has overlap count ${slot.overlap} for ${n} live entries`;
    }
    if (this.cachelines.size !== entries.size)
      return "dma-debug: the active-cacheline tree holds a cacheline no live entry maps";
    return "";
  }

  // -------------------------------------------------------------------------
  // internals
  // -------------------------------------------------------------------------

  private newEntry(dev: string, devAddr: bigint, size: bigint, type: number, dir: number, paddr: bigint): Entry {
    return {
      dev,
      devAddr,
      size,
      type,
      dir,
      sgCallEnts: 0,
      sgMappedEnts: 0,
      paddr,
      mapErr: MAP_ERR_CHECK_NOT_APPLICABLE,
      cpuAddr: 0n,
      pieces: [],
      owned: null,
    };
  }

  private ref(dev: string, devAddr: bigint, size: bigint, type: number, dir: number, sgCallEnts = 0, paddr = 0n): Ref {
    return { dev, devAddr, size, type, dir, sgCallEnts, paddr };
  }

  /** dev_driver_string(dev), dev_name(dev). */
  private devStrings(dev: string): [string, string] {
    const info = this.devices.get(dev);
    if (!info) return [dev, dev];
    return [info.driver ?? info.bus ?? "", dev];
  }

  /** driver_filter(): with a filter set, only devices bound to that driver pass. */
  private driverFilterPass(dev: string | null): boolean {
    if (this.driverFilter === "") return true;
    if (dev === null) return false;
    const info = this.devices.get(dev);
    const driver = info ? info.driver : dev;
    if (driver === null) return false;
    return driver.slice(0, NAME_MAX_LEN - 1) === this.driverFilter;
  }

  private report(r: DmaDebugReport): void {
    appendBounded(this.reports, r, this.maxReports);
    this.reportCount++;
  }

  /** err_printk(). */
  private errPrintk(dev: string | null, kind: string, text: string, origin: DmaDebugOrigin = "kernel"): void {
    this.errorCountValue = (this.errorCountValue + 1) >>> 0;
    const show = this.driverFilterPass(dev) && (this.showAllErrors || this.showNumErrors > 0);
    const [drv, name] = dev === null ? ["NULL", "NULL"] : this.devStrings(dev);
    const prefix = origin === "kernel" ? "DMA-API: " : "DMA-API (dmasim): ";
    this.report({
      device: dev ?? "NULL",
      message: `${prefix}${drv} ${name}: ${text}`,
      suppressed: !show,
      kind,
      origin,
    });
    if (!this.showAllErrors && this.showNumErrors > 0) this.showNumErrors -= 1;
  }

  private cln(paddr: bigint): bigint {
    return paddr >> this.clShift;
  }

  /** __hash_bucket_find(): best fit, and no answer when several entries match but none perfectly. */
  private bucketFind(idx: number, ref: Ref, match: MatchFn): Entry | undefined {
    const bucket = this.buckets.get(idx);
    if (!bucket) return undefined;
    let ret: Entry | undefined;
    let matches = 0;
    let lastLvl = -1;
    for (const e of bucket) {
      if (!match(ref, e)) continue;
      matches += 1;
      let lvl = 0;
      if (e.size === ref.size) lvl++;
      if (e.type === ref.type) lvl++;
      if (e.dir === ref.dir) lvl++;
      if (e.sgCallEnts === ref.sgCallEnts) lvl++;
      if (lvl === 4) return e;
      if (lvl > lastLvl) {
        lastLvl = lvl;
        ret = e;
      }
    }
    return matches === 1 ? ret : undefined;
  }

  /** bucket_find_exact(). */
  private findExact(ref: Ref): Entry | undefined {
    return this.bucketFind(hashIndex(ref.devAddr), ref, exactMatch);
  }

  /** bucket_find_contain(): walk back one bucket at a time, at most min(HASH_SIZE, (addr >> 13) + 1) buckets. */
  private findContain(ref: Ref): Entry | undefined {
    const top = ref.devAddr >> HASH_FN_SHIFT;
    const limit = Number(top + 1n < HASH_SIZE ? top + 1n : HASH_SIZE);
    for (let i = 0; i < limit; i++) {
      const idx = Number((top - BigInt(i)) & HASH_FN_MASK);
      const e = this.bucketFind(idx, ref, containingMatch);
      if (e) return e;
    }
    return undefined;
  }

  /** debug_dma_mapping_error(): the first unchecked exact match in the bucket becomes checked. */
  private markChecked(dev: string, devAddr: bigint): void {
    const bucket = this.buckets.get(hashIndex(devAddr));
    if (!bucket) return;
    for (const e of bucket) {
      if (e.devAddr !== devAddr || e.dev !== dev) continue;
      if (e.mapErr === MAP_ERR_NOT_CHECKED) {
        e.mapErr = MAP_ERR_CHECKED;
        break;
      }
    }
  }

  /** dma_mapping_error(): runs the debug hook, then compares with DMA_MAPPING_ERROR. */
  private dmaMappingError(dev: string, devAddr: bigint): boolean {
    this.markChecked(dev, devAddr);
    return devAddr === MAPPING_ERROR_U64;
  }

  /** add_dma_entry(). */
  private addEntry(entry: Entry, skipCpuSync: boolean): void {
    const idx = hashIndex(entry.devAddr);
    let bucket = this.buckets.get(idx);
    if (!bucket) {
      bucket = [];
      this.buckets.set(idx, bucket);
    }
    bucket.push(entry);
    this.live.add(entry);

    const exists = this.cachelineInsert(entry);
    if (exists && !skipCpuSync) {
      this.errPrintk(
        entry.dev,
        "cacheline-overlap",
        "cacheline tracking EEXIST, overlapping mappings aren't supported",
      );
    }
  }

  /** hash_bucket_del() + dma_entry_free(). */
  private removeEntry(entry: Entry): void {
    const idx = hashIndex(entry.devAddr);
    const bucket = this.buckets.get(idx);
    if (bucket) {
      const i = bucket.indexOf(entry);
      if (i >= 0) bucket.splice(i, 1);
      if (bucket.length === 0) this.buckets.delete(idx);
    }
    this.live.delete(entry);
    this.cachelineRemove(entry);
  }

  /** active_cacheline_insert(); returns true for -EEXIST. */
  private cachelineInsert(entry: Entry): boolean {
    if (entry.dir === D_TO_DEVICE) return false;
    const c = this.cln(entry.paddr);
    const slot = this.cachelines.get(c);
    if (!slot) {
      this.cachelines.set(c, { entry, overlap: 0 });
      return false;
    }
    // active_cacheline_inc_overlap(): the tags hold at most 7; past that the count is not stored.
    const overlap = slot.overlap + 1;
    if (overlap > ACTIVE_CACHELINE_MAX_OVERLAP) {
      this.report({
        device: entry.dev,
        message: `DMA-API: exceeded ${ACTIVE_CACHELINE_MAX_OVERLAP} overlapping mappings of cacheline ${pa(c)}`,
        suppressed: this.overlapWarned,
        kind: "cacheline-overlap-exceeded",
        origin: "kernel",
      });
      this.overlapWarned = true;
    } else {
      slot.overlap = overlap;
    }
    return true;
  }

  /** active_cacheline_remove(). */
  private cachelineRemove(entry: Entry): void {
    if (entry.dir === D_TO_DEVICE) return;
    const c = this.cln(entry.paddr);
    const slot = this.cachelines.get(c);
    if (!slot) return;
    const overlap = slot.overlap - 1;
    if (overlap < 0) this.cachelines.delete(c);
    else slot.overlap = overlap;
  }

  /** check_unmap(). */
  private checkUnmap(ref: Ref): void {
    const entry = this.findExact(ref);
    if (!entry) {
      if (this.dmaMappingError(ref.dev, ref.devAddr)) {
        this.errPrintk(ref.dev, "free-invalid-address", "device driver tries to free an invalid DMA memory address");
      } else {
        this.errPrintk(
          ref.dev,
          "free-not-allocated",
          `device driver tries to free DMA memory it has not allocated [device address=0x${hex16(ref.devAddr)}] [size=${ref.size} bytes]`,
        );
      }
      return;
    }

    const addr = `[device address=0x${hex16(ref.devAddr)}]`;
    if (ref.size !== entry.size) {
      this.errPrintk(
        ref.dev,
        "size-mismatch",
        `device driver frees DMA memory with different size ${addr} [map size=${entry.size} bytes] [unmap size=${ref.size} bytes]`,
      );
    }

    if (ref.type !== entry.type) {
      this.errPrintk(
        ref.dev,
        "wrong-function",
        `device driver frees DMA memory with wrong function ${addr} [size=${ref.size} bytes] ` +
          `[mapped as ${TYPE2NAME[entry.type]}] [unmapped as ${TYPE2NAME[ref.type]}]`,
      );
    } else if (entry.type === T_COHERENT && ref.paddr !== entry.paddr) {
      this.errPrintk(
        ref.dev,
        "cpu-address-mismatch",
        `device driver frees DMA memory with different CPU address ${addr} [size=${ref.size} bytes] ` +
          `[cpu alloc address=0x${hex16(entry.paddr)}] [cpu free address=0x${hex16(ref.paddr)}]`,
      );
    }

    if (ref.sgCallEnts && ref.type === T_SG && ref.sgCallEnts !== entry.sgCallEnts) {
      this.errPrintk(
        ref.dev,
        "sg-count-mismatch",
        `device driver frees DMA sg list with different entry count [map count=${entry.sgCallEnts}] [unmap count=${ref.sgCallEnts}]`,
      );
    }

    if (ref.dir !== entry.dir) {
      this.errPrintk(
        ref.dev,
        "direction-mismatch",
        `device driver frees DMA memory with different direction ${addr} [size=${ref.size} bytes] ` +
          `[mapped with ${DIR2NAME[entry.dir]}] [unmapped with ${DIR2NAME[ref.dir]}]`,
      );
    }

    if (entry.mapErr === MAP_ERR_NOT_CHECKED) {
      this.errPrintk(
        ref.dev,
        "map-error-not-checked",
        `device driver failed to check map error${addr} [size=${ref.size} bytes] [mapped as ${TYPE2NAME[entry.type]}]`,
      );
    }

    this.removeEntry(entry);
  }

  /** check_sync(); returns the entry found so that dmasim can move ownership. */
  private checkSync(dev: string, ref: Ref, toCpu: boolean): Entry | undefined {
    const entry = this.findContain(ref);
    if (!entry) {
      this.errPrintk(
        dev,
        "sync-not-allocated",
        `device driver tries to sync DMA memory it has not allocated [device address=0x${hex16(ref.devAddr)}] [size=${ref.size} bytes]`,
      );
      return undefined;
    }

    if (ref.size > entry.size) {
      this.errPrintk(
        dev,
        "sync-outside-range",
        `device driver syncs DMA memory outside allocated range [device address=0x${hex16(entry.devAddr)}] ` +
          `[allocation size=${entry.size} bytes] [sync offset+size=${ref.size}]`,
      );
    }

    if (entry.dir === D_BIDIRECTIONAL) return entry;

    const tail =
      `[device address=0x${hex16(ref.devAddr)}] [size=${entry.size} bytes] ` +
      `[mapped with ${DIR2NAME[entry.dir]}] [synced with ${DIR2NAME[ref.dir]}]`;

    if (ref.dir !== entry.dir) {
      this.errPrintk(dev, "sync-direction-mismatch", `device driver syncs DMA memory with different direction ${tail}`);
    }

    if (toCpu && entry.dir !== D_FROM_DEVICE && ref.dir !== D_TO_DEVICE) {
      this.errPrintk(dev, "sync-read-only-for-cpu", `device driver syncs device read-only DMA memory for cpu ${tail}`);
    }

    if (!toCpu && entry.dir !== D_TO_DEVICE && ref.dir !== D_FROM_DEVICE) {
      this.errPrintk(
        dev,
        "sync-write-only-to-device",
        `device driver syncs device write-only DMA memory to device ${tail}`,
      );
    }

    if (ref.sgCallEnts && ref.type === T_SG && ref.sgCallEnts !== entry.sgCallEnts) {
      this.errPrintk(
        ref.dev,
        "sync-sg-count-mismatch",
        `device driver syncs DMA sg list with different entry count [map count=${entry.sgCallEnts}] [sync count=${ref.sgCallEnts}]`,
      );
    }
    return entry;
  }

  /** dmasim: after a sync, the synced bytes of the mapping belong to the CPU (toCpu) or to the device. */
  private moveOwnership(entry: Entry, ref: Ref, toCpu: boolean): void {
    if (entry.owned === null) return;
    let a = ref.devAddr - entry.devAddr;
    let b = a + ref.size;
    if (a < 0n) a = 0n;
    if (b > entry.size) b = entry.size;
    if (a >= b) return;
    entry.owned = toCpu ? rangeRemove(entry.owned, a, b) : rangeAdd(entry.owned, a, b);
  }

  private syncSingle(
    where: string,
    dev: string,
    devAddr: DmaAddr,
    size: DmaAddr,
    dir: DmaDirection,
    toCpu: boolean,
  ): void {
    const d = argDev(where, dev);
    const ref = this.ref(
      d,
      argU64(where, "devAddr", devAddr),
      argU64(where, "size", size),
      T_SINGLE,
      argDir(where, dir),
    );
    const entry = this.checkSync(d, ref, toCpu);
    if (entry) this.moveOwnership(entry, ref, toCpu);
  }

  /** debug_dma_sync_sg_for_{cpu,device}(): stops after the mapped entry count of the first segment's mapping. */
  private syncSg(
    where: string,
    dev: string,
    segments: DmaSgSegment[],
    nelems: number,
    dir: DmaDirection,
    toCpu: boolean,
  ): void {
    const d = argDev(where, dev);
    const n = argInt(where, "nelems", nelems, INT_MAX);
    const list = argSegArray(where, segments, n);
    const di = argDir(where, dir);
    if (n === 0) return;
    const refs = this.sgRefs(where, d, list, n, di, (mapped) => Math.min(n, mapped));
    for (const ref of refs) {
      const entry = this.checkSync(d, ref, toCpu);
      if (entry) this.moveOwnership(entry, ref, toCpu);
    }
  }

  /**
   * The reference entries of an sg unmap/sync. Segment 0 decides, through
   * get_nr_mapped_entries(), how many segments the kernel's loop reads
   * (`count`). Only those are validated.
   */
  private sgRefs(
    where: string,
    dev: string,
    list: unknown[],
    n: number,
    dir: number,
    count: (mapped: number) => number,
  ): Ref[] {
    const mk = (s: SgSeg): Ref => this.ref(dev, s.devAddr, BigInt(s.dmaLength), T_SG, dir, n, s.paddr);
    const first = mk(argSeg(where, list, 0));
    const total = count(this.nrMappedEntries(first));
    const refs: Ref[] = [];
    if (total > 0) refs.push(first);
    for (let i = 1; i < total; i++) refs.push(mk(argSeg(where, list, i)));
    return refs;
  }

  /** get_nr_mapped_entries(). */
  private nrMappedEntries(ref: Ref): number {
    return this.findExact(ref)?.sgMappedEnts ?? 0;
  }

  /** check_sg_segment() (CONFIG_DMA_API_DEBUG_SG). */
  private checkSgSegment(dev: string, s: SgSeg, maxSeg: number, boundary: bigint): void {
    if (!this.debugSg) return;
    if (s.length > maxSeg) {
      this.errPrintk(
        dev,
        "sg-segment-too-long",
        `mapping sg segment longer than device claims to support [len=${s.length}] [max=${maxSeg}]`,
      );
    }
    const start = s.devAddr;
    const end = (start + BigInt(s.dmaLength) - 1n) & U64_MASK;
    if (((start ^ end) & ~boundary & U64_MASK) !== 0n) {
      this.errPrintk(
        dev,
        "sg-segment-across-boundary",
        `mapping sg segment across boundary [start=0x${hex16(start)}] [end=0x${hex16(end)}] [boundary=0x${hex16(boundary)}]`,
      );
    }
  }

  /** The physical address behind a coherent buffer's CPU address (see DmaDebugOptions.virtToPhys). */
  private translateCpu(cpuAddr: bigint): bigint | undefined {
    if (this.virtToPhys) {
      const r = this.virtToPhys(cpuAddr);
      return r === undefined ? undefined : argU64("freeCoherent", "virtToPhys() result", r);
    }
    for (const e of this.live) {
      if (e.type !== T_COHERENT) continue;
      if (cpuAddr >= e.cpuAddr && cpuAddr < e.cpuAddr + (e.size > 0n ? e.size : 1n))
        return e.paddr + (cpuAddr - e.cpuAddr);
    }
    return cpuAddr;
  }

  /** dmasim: the pre-v5.9 debug_dma_assert_idle() check, applied to the accessed byte range. */
  private checkIdle(dev: string | null, start: bigint, end: bigint): void {
    const first = this.cln(start);
    const last = this.cln(end - 1n);
    let hit: bigint | undefined;
    let hitSlot: CachelineSlot | undefined;
    const consider = (c: bigint, slot: CachelineSlot): void => {
      const e = slot.entry;
      if (e.type !== T_SINGLE && e.type !== T_SG) return;
      if (dev !== null && e.dev !== dev) return;
      if (hit === undefined || c < hit) {
        hit = c;
        hitSlot = slot;
      }
    };
    if (last - first + 1n <= BigInt(this.cachelines.size)) {
      for (let c = first; c <= last && hit === undefined; c++) {
        const slot = this.cachelines.get(c);
        if (slot) consider(c, slot);
      }
    } else {
      for (const [c, slot] of this.cachelines) if (c >= first && c <= last) consider(c, slot);
    }
    if (hit === undefined || hitSlot === undefined) return;
    this.errPrintk(
      hitSlot.entry.dev,
      "cpu-touching-active-cacheline",
      `cpu touching an active dma mapped cacheline [cln=${pa(hit)}]`,
      "dmasim",
    );
  }
}

/**
 * dmasim: the physical runs behind each mapped DMA segment. Without merging
 * (mapped === nents) segment i is backed by its own page range. When an IOMMU
 * merged segments, the original segments are handed out in order, filling
 * each DMA segment up to its sg_dma_len. IOVA padding is not modelled.
 */
function sgPieces(segs: SgSeg[], mapped: number): Piece[][] {
  const out: Piece[][] = Array.from({ length: mapped }, () => []);
  if (mapped === 0) return out;
  if (mapped === segs.length) {
    segs.forEach((s, i) => out[i]?.push({ off: 0n, paddr: s.paddr, len: BigInt(s.length) }));
    return out;
  }
  let j = 0;
  let acc = 0n;
  for (const s of segs) {
    const len = BigInt(s.length);
    out[j]?.push({ off: acc, paddr: s.paddr, len });
    acc += len;
    const target = BigInt(segs[j]?.dmaLength ?? 0);
    if (acc >= target && j < mapped - 1) {
      j += 1;
      acc = 0n;
    }
  }
  return out;
}
