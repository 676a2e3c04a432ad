/**
 * Lab scenarios: a machine (RAM, CMA areas), the devices that use it, and a
 * seeded workload in phases, each a weighted mix of operations that runs for a
 * number of operations. A scenario is plain JSON (a file, or a built-in from
 * ./scenarios/); `validateScenario()` checks every field and fills in the
 * defaults, naming the bad field in its DmaSimError (`scenario.phases[1].mix.alloc.orders: …`).
 *
 * Durations are counted in operations, never in time: the same scenario and
 * seed give the same run on any machine and either backend.
 */
import type { CmaAreaOptions } from "../options.ts";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { DmaSimError } from "../errors.ts";
import { BUILTIN_SCENARIOS, PLANNED_SCENARIOS } from "./scenarios/index.ts";

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
  /** Devices that use the areas on their own schedule, beside the phases' mixes. Default none. */
  devices?: DeviceSpec[];
  /** The workload, run in order. At least one. */
  phases: PhaseSpec[];
  /** Metrics samples taken over the run (evenly spaced, plus one at the start). Default 200. */
  samples?: number;
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
}

/**
 * A device that allocates from a CMA area on a schedule. Today the only kind is
 * a "cma-consumer": a driver without an IOMMU that needs physically contiguous
 * buffers (a camera's frame buffers, a video decoder's reference frames). Later
 * kinds will add a DMA mask, an IOMMU and dma-buf heaps; `kind` selects them.
 */
export interface DeviceSpec {
  /** Device name, unique. Required. */
  name: string;
  /** What the device is. Only "cma-consumer" exists now. Default "cma-consumer". */
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

// ---- the resolved form, defaults filled in ---------------------------------------------------

export interface Machine {
  ramBytes: number;
  pageSize: number;
  maxOrder: number;
  pageblockOrder: number;
  storeContents: boolean;
  cmaFirstBalance: boolean;
  /** null: one Normal zone. */
  zones: "x86_64" | { name: "DMA" | "DMA32" | "Normal"; endBytes: number }[] | null;
  /** null: the kernel's default. */
  minFreeKbytes: number | null;
}

/** A CMA area of the scenario's machine: the system option itself. */
export type Area = CmaAreaOptions;

export interface Range {
  min: number;
  max: number;
}

export interface Device {
  name: string;
  kind: "cma-consumer";
  area: string;
  framePages: number;
  alignOrder: number;
  buffers: number;
  periodOps: number;
  holdOps: Range;
  startOps: number;
  /** null: all phases. */
  phases: string[] | null;
}

/**
 * One operation of a mix, normalized. `hold` null: held until the end of the
 * run; contig `alignOrder` null: the machine's pageblock order.
 */
export type Op =
  | { kind: "alloc"; weight: number; migratetype: "movable" | "unmovable" | "reclaimable"; orders: number[]; label: string | null; hold: Range | null }
  | { kind: "free"; weight: number; policy: "random" | "fifo"; migratetype: "movable" | "unmovable" | "reclaimable" | null }
  | { kind: "cma"; weight: number; area: string; count: number; alignOrder: number; hold: Range | null }
  | { kind: "pin"; weight: number; longterm: boolean; hold: Range | null }
  | { kind: "unpin"; weight: number }
  | { kind: "contig"; weight: number; count: number; alignOrder: number | null; hold: Range | null };

export interface Phase {
  name: string;
  ops: number;
  /** The mix as a flat list, in the order MIX_KINDS lists the kinds. */
  mix: Op[];
}

/** A validated scenario: every default filled in. */
export interface Scenario {
  name: string;
  description: string;
  seed: number;
  machine: Machine;
  areas: Area[];
  devices: Device[];
  phases: Phase[];
  samples: number;
}

// ---- validation ----------------------------------------------------------------------------

export const MIX_KINDS = ["alloc", "free", "cma", "pin", "unpin", "contig"] as const;
const BUDDY_TYPES = ["movable", "unmovable", "reclaimable"] as const;
const UNITS: Record<string, number> = { "": 1, B: 1, K: 2 ** 10, KIB: 2 ** 10, M: 2 ** 20, MIB: 2 ** 20, G: 2 ** 30, GIB: 2 ** 30 };

function fail(path: string, message: string): never {
  throw new DmaSimError("EINVAL", `${path}: ${message}`);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Checks `value` is a plain object with only `known` keys (and the `required` ones). */
function record(path: string, value: unknown, known: readonly string[], required: readonly string[] = []): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, `must be an object, got ${show(value)}`);
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) fail(`${path}.${key}`, `unknown field (known: ${known.join(", ")})`);
  }
  for (const key of required) {
    if (obj[key] === undefined) fail(`${path}.${key}`, "is required");
  }
  return obj;
}

function int(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer in ${min}..${max}, got ${show(value)}`);
  }
  return value;
}

function weight(path: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) fail(path, `must be a number ≥ 0, got ${show(value)}`);
  return value;
}

function bool(path: string, value: unknown): boolean {
  if (typeof value !== "boolean") fail(path, `must be true or false, got ${show(value)}`);
  return value;
}

function name(path: string, value: unknown): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9_.-]+$/.test(value)) {
    fail(path, `must be a non-empty name of letters, digits, "_", "." or "-", got ${show(value)}`);
  }
  return value;
}

function oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) fail(path, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${show(value)}`);
  return value as T;
}

/** Parses a size: bytes as a number, or a string "8 MiB", "512M", "1GiB", "4096". */
export function parseBytes(path: string, value: unknown): number {
  let bytes = Number.NaN;
  if (typeof value === "number") bytes = value;
  else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
    if (m && unit !== undefined) bytes = Number(m[1]) * unit;
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    fail(path, `must be a positive whole number of bytes, or a string such as "8 MiB", "512M", "1 GiB", got ${show(value)}`);
  }
  return bytes;
}

function opsRange(path: string, value: unknown): Range {
  if (typeof value === "number") {
    const n = int(path, value, 1, 2 ** 31);
    return { min: n, max: n };
  }
  const r = record(path, value, ["min", "max"], ["min", "max"]);
  const min = int(`${path}.min`, r.min, 1, 2 ** 31);
  const max = int(`${path}.max`, r.max, min, 2 ** 31);
  return { min, max };
}

/** A spec or a list of specs, as a list with each element's path. */
function specList(path: string, value: unknown): [string, unknown][] {
  if (!Array.isArray(value)) return [[path, value]];
  if (value.length === 0) fail(path, "must not be an empty list");
  return value.map((v, i) => [`${path}[${i}]`, v]);
}

function orderWeights(path: string, value: unknown, maxOrder: number): number[] {
  const weights = new Array<number>(maxOrder + 1).fill(0);
  const bad = (): never => fail(path, `must be an object mapping orders 0..${maxOrder} to weights, e.g. {"0": 90, "3": 10}, got ${show(value)}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad();
  for (const [key, w] of Object.entries(value as Record<string, unknown>)) {
    if (!/^\d+$/.test(key) || Number(key) > maxOrder) fail(`${path}.${key}`, `is not an order in 0..${maxOrder}`);
    weights[Number(key)] = weight(`${path}.${key}`, w);
  }
  if (weights.every((w) => w === 0)) bad();
  return weights;
}

interface Context {
  machine: Machine;
  areas: Area[];
  nrPages: number;
}

function areaRef(path: string, value: unknown, ctx: Context): Area {
  const area = ctx.areas.find((a) => a.name === value);
  if (!area) {
    fail(path, ctx.areas.length === 0
      ? `names a CMA area, but the scenario declares none (add one under "areas")`
      : `must name a CMA area (${ctx.areas.map((a) => `"${a.name}"`).join(", ")}), got ${show(value)}`);
  }
  return area;
}

function areaPages(area: Area, machine: Machine): number {
  return Math.ceil(area.bytes / machine.pageSize);
}

function op(kind: (typeof MIX_KINDS)[number], path: string, value: unknown, ctx: Context): Op {
  const { machine } = ctx;
  switch (kind) {
    case "alloc": {
      const r = record(path, value, ["weight", "migratetype", "orders", "label", "holdOps"], ["weight"]);
      return {
        kind, weight: weight(`${path}.weight`, r.weight),
        migratetype: r.migratetype === undefined ? "movable" : oneOf(`${path}.migratetype`, r.migratetype, BUDDY_TYPES),
        orders: r.orders === undefined ? [1] : orderWeights(`${path}.orders`, r.orders, machine.maxOrder),
        label: r.label === undefined ? null : name(`${path}.label`, r.label),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "free": {
      const r = record(path, value, ["weight", "policy", "migratetype"], ["weight"]);
      return {
        kind, weight: weight(`${path}.weight`, r.weight),
        policy: r.policy === undefined ? "random" : oneOf(`${path}.policy`, r.policy, ["random", "fifo"] as const),
        migratetype: r.migratetype === undefined ? null : oneOf(`${path}.migratetype`, r.migratetype, BUDDY_TYPES),
      };
    }
    case "cma": {
      const r = record(path, value, ["weight", "area", "count", "alignOrder", "holdOps"], ["weight", "count"]);
      const area = r.area === undefined ? (ctx.areas[0] ?? areaRef(`${path}.area`, undefined, ctx)) : areaRef(`${path}.area`, r.area, ctx);
      return {
        kind, weight: weight(`${path}.weight`, r.weight), area: area.name,
        count: int(`${path}.count`, r.count, 1, areaPages(area, machine)),
        alignOrder: r.alignOrder === undefined ? 0 : int(`${path}.alignOrder`, r.alignOrder, 0, 30),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "pin": {
      const r = record(path, value, ["weight", "longterm", "holdOps"], ["weight"]);
      return {
        kind, weight: weight(`${path}.weight`, r.weight),
        longterm: r.longterm === undefined ? false : bool(`${path}.longterm`, r.longterm),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "unpin": {
      const r = record(path, value, ["weight"], ["weight"]);
      return { kind, weight: weight(`${path}.weight`, r.weight) };
    }
    case "contig": {
      const r = record(path, value, ["weight", "count", "alignOrder", "holdOps"], ["weight", "count"]);
      return {
        kind, weight: weight(`${path}.weight`, r.weight),
        count: int(`${path}.count`, r.count, 1, ctx.nrPages),
        alignOrder: r.alignOrder === undefined ? null : int(`${path}.alignOrder`, r.alignOrder, 0, 30),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
  }
}

function machineOf(path: string, value: unknown): Machine {
  const r = value === undefined ? {} : record(path, value,
    ["ramBytes", "pageSize", "maxOrder", "pageblockOrder", "storeContents", "cmaFirstBalance", "zones", "minFreeKbytes"]);
  const pageSize = r.pageSize === undefined ? 4096 : parseBytes(`${path}.pageSize`, r.pageSize);
  if (pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    fail(`${path}.pageSize`, `must be a power of two from 4096 to 65536, got ${show(r.pageSize)}`);
  }
  const maxOrder = r.maxOrder === undefined ? 10 : int(`${path}.maxOrder`, r.maxOrder, 1, 20);
  const pageblockOrder = r.pageblockOrder === undefined ? Math.min(9, maxOrder) : int(`${path}.pageblockOrder`, r.pageblockOrder, 1, maxOrder);
  const ramBytes = r.ramBytes === undefined ? 256 * 2 ** 20 : parseBytes(`${path}.ramBytes`, r.ramBytes);
  const pageblockBytes = pageSize * 2 ** pageblockOrder;
  if (ramBytes % pageblockBytes !== 0) fail(`${path}.ramBytes`, `must be a multiple of the pageblock size (${pageblockBytes} bytes), got ${ramBytes}`);
  return {
    ramBytes, pageSize, maxOrder, pageblockOrder,
    storeContents: r.storeContents === undefined ? false : bool(`${path}.storeContents`, r.storeContents),
    cmaFirstBalance: r.cmaFirstBalance === undefined ? true : bool(`${path}.cmaFirstBalance`, r.cmaFirstBalance),
    zones: zonesOf(`${path}.zones`, r.zones),
    minFreeKbytes: r.minFreeKbytes === undefined ? null : int(`${path}.minFreeKbytes`, r.minFreeKbytes, 0, 2 ** 31 - 1),
  };
}

/** Zones: their shape here; boundaries against RAM and pageblocks are createSystem()'s to check. */
function zonesOf(path: string, value: unknown): Machine["zones"] {
  if (value === undefined) return null;
  if (value === "x86_64") return value;
  if (!Array.isArray(value) || value.length === 0) fail(path, `must be "x86_64" or a list of { name, endBytes }, got ${show(value)}`);
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const z = record(at, v, ["name", "endBytes"], ["name", "endBytes"]);
    return { name: oneOf(`${at}.name`, z.name, ["DMA", "DMA32", "Normal"] as const), endBytes: parseBytes(`${at}.endBytes`, z.endBytes) };
  });
}

function areasOf(path: string, value: unknown, machine: Machine): Area[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be a list of areas, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, ["name", "bytes", "base", "limit", "alignment", "orderPerBit"], ["name", "bytes"]);
    const areaName = name(`${at}.name`, r.name);
    if (seen.has(areaName)) fail(`${at}.name`, `duplicate area name "${areaName}"`);
    seen.add(areaName);
    const area: Area = { name: areaName, bytes: parseBytes(`${at}.bytes`, r.bytes) };
    if (area.bytes > machine.ramBytes) fail(`${at}.bytes`, `is larger than RAM (${machine.ramBytes} bytes)`);
    if (r.base !== undefined) area.base = r.base === 0 ? 0 : parseBytes(`${at}.base`, r.base);
    if (r.limit !== undefined) area.limit = parseBytes(`${at}.limit`, r.limit);
    if (r.alignment !== undefined) area.alignment = parseBytes(`${at}.alignment`, r.alignment);
    if (r.orderPerBit !== undefined) area.orderPerBit = int(`${at}.orderPerBit`, r.orderPerBit, 0, 30);
    return area;
  });
}

function devicesOf(path: string, value: unknown, ctx: Context, phaseNames: string[]): Device[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be a list of devices, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, ["name", "kind", "area", "frameBytes", "alignOrder", "buffers", "periodOps", "holdOps", "startOps", "phases"],
      ["name", "area", "frameBytes", "periodOps", "holdOps"]);
    const devName = name(`${at}.name`, r.name);
    if (seen.has(devName)) fail(`${at}.name`, `duplicate device name "${devName}"`);
    seen.add(devName);
    const kind = r.kind === undefined ? "cma-consumer" : oneOf(`${at}.kind`, r.kind, ["cma-consumer"] as const);
    const area = areaRef(`${at}.area`, r.area, ctx);
    const framePages = Math.ceil(parseBytes(`${at}.frameBytes`, r.frameBytes) / ctx.machine.pageSize);
    if (framePages > areaPages(area, ctx.machine)) fail(`${at}.frameBytes`, `is larger than area "${area.name}" (${area.bytes} bytes)`);
    const periodOps = int(`${at}.periodOps`, r.periodOps, 1, 2 ** 31);
    let phases: string[] | null = null;
    if (r.phases !== undefined) {
      if (!Array.isArray(r.phases)) fail(`${at}.phases`, `must be a list of phase names, got ${show(r.phases)}`);
      phases = r.phases.map((p, j) => oneOf(`${at}.phases[${j}]`, p, phaseNames));
    }
    return {
      name: devName, kind, area: area.name, framePages,
      alignOrder: r.alignOrder === undefined ? Math.min(8, Math.ceil(Math.log2(framePages))) : int(`${at}.alignOrder`, r.alignOrder, 0, 30),
      buffers: r.buffers === undefined ? 1 : int(`${at}.buffers`, r.buffers, 1, 1024),
      periodOps,
      holdOps: opsRange(`${at}.holdOps`, r.holdOps),
      startOps: r.startOps === undefined ? periodOps : int(`${at}.startOps`, r.startOps, 0, 2 ** 31),
      phases,
    };
  });
}

function phasesOf(path: string, value: unknown, ctx: Context): Phase[] {
  if (!Array.isArray(value) || value.length === 0) fail(path, `must be a non-empty list of phases, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, ["name", "ops", "mix"], ["name", "ops", "mix"]);
    const phaseName = name(`${at}.name`, r.name);
    if (seen.has(phaseName)) fail(`${at}.name`, `duplicate phase name "${phaseName}"`);
    seen.add(phaseName);
    const ops = int(`${at}.ops`, r.ops, 1, 2 ** 31);
    const mixSpec = record(`${at}.mix`, r.mix, MIX_KINDS);
    const mix: Op[] = [];
    for (const kind of MIX_KINDS) {
      if (mixSpec[kind] === undefined) continue;
      for (const [p, spec] of specList(`${at}.mix.${kind}`, mixSpec[kind])) mix.push(op(kind, p, spec, ctx));
    }
    if (!mix.some((o) => o.weight > 0)) fail(`${at}.mix`, "needs at least one operation with a positive weight");
    return { name: phaseName, ops, mix };
  });
}

/**
 * Checks a scenario (parsed JSON) and returns it with every default filled in.
 * Throws DmaSimError EINVAL naming the first bad field, e.g.
 * `scenario.phases[1].mix.alloc.orders: must be an object mapping orders …`.
 */
export function validateScenario(input: unknown, path = "scenario"): Scenario {
  const r = record(path, input, ["name", "description", "seed", "machine", "areas", "devices", "phases", "samples"], ["name", "phases"]);
  if (r.description !== undefined && typeof r.description !== "string") fail(`${path}.description`, `must be a string, got ${show(r.description)}`);
  const machine = machineOf(`${path}.machine`, r.machine);
  const areas = areasOf(`${path}.areas`, r.areas, machine);
  const ctx: Context = { machine, areas, nrPages: machine.ramBytes / machine.pageSize };
  const phases = phasesOf(`${path}.phases`, r.phases, ctx);
  return {
    name: name(`${path}.name`, r.name),
    description: (r.description as string | undefined) ?? "",
    seed: r.seed === undefined ? 1 : int(`${path}.seed`, r.seed, 0, 0xffffffff),
    machine, areas,
    devices: devicesOf(`${path}.devices`, r.devices, ctx, phases.map((p) => p.name)),
    phases,
    samples: r.samples === undefined ? 200 : int(`${path}.samples`, r.samples, 1, 100_000),
  };
}

// ---- scaling and loading ------------------------------------------------------------------

function scaleOps(n: number, factor: number): number {
  return Math.max(1, Math.round(n * factor));
}

function scaleRange(r: Range, factor: number): Range {
  return { min: scaleOps(r.min, factor), max: Math.max(scaleOps(r.min, factor), scaleOps(r.max, factor)) };
}

/**
 * The same scenario with every duration in operations (phase lengths, device
 * periods, start times and hold times) multiplied by `factor`: a shorter or
 * longer run of the same shape on the same machine.
 */
export function scaleScenario(scenario: Scenario, factor: number): Scenario {
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor <= 0) {
    throw new DmaSimError("EINVAL", `scale must be a number above 0, got ${String(factor)}`);
  }
  if (factor === 1) return scenario;
  const hold = (r: Range | null): Range | null => (r === null ? null : scaleRange(r, factor));
  return {
    ...scenario,
    devices: scenario.devices.map((d) => ({
      ...d, periodOps: scaleOps(d.periodOps, factor), holdOps: scaleRange(d.holdOps, factor),
      startOps: d.startOps === 0 ? 0 : scaleOps(d.startOps, factor),
    })),
    phases: scenario.phases.map((p) => ({
      ...p,
      ops: scaleOps(p.ops, factor),
      mix: p.mix.map((o) => ("hold" in o ? { ...o, hold: hold(o.hold) } : o)),
    })),
  };
}

/** Names of the built-in scenarios. */
export function builtinScenarioNames(): string[] {
  return Object.keys(BUILTIN_SCENARIOS);
}

/** A built-in scenario's JSON form (a fresh copy), or null. */
export function builtinScenarioSpec(scenarioName: string): ScenarioSpec | null {
  const spec = Object.hasOwn(BUILTIN_SCENARIOS, scenarioName) ? BUILTIN_SCENARIOS[scenarioName] : undefined;
  return spec ? (structuredClone(spec) as ScenarioSpec) : null;
}

/** Reads and validates a scenario file; errors name the file and the field. */
export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DmaSimError(code === "ENOENT" ? "ENOENT" : "EINVAL", `${file}: cannot read the scenario file (${code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DmaSimError("EINVAL", `${file}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return validateScenario(json);
  } catch (e) {
    if (e instanceof DmaSimError) throw new DmaSimError(e.code, `${basename(file)}: ${e.message.replace(/^[A-Z]+: /, "")}`);
    throw e;
  }
}

/**
 * A scenario by built-in name ("camera", "server") or by path to a JSON file
 * (anything containing "/" or ending in ".json"). Unknown names are ENOENT.
 */
export function loadScenario(nameOrFile: string): Scenario {
  const spec = builtinScenarioSpec(nameOrFile);
  if (spec) return validateScenario(spec);
  if (nameOrFile.includes("/") || nameOrFile.endsWith(".json")) return loadScenarioFile(nameOrFile);
  const planned = PLANNED_SCENARIOS[nameOrFile];
  if (planned) throw new DmaSimError("ENOENT", `scenario "${nameOrFile}" is not available yet: ${planned}`);
  throw new DmaSimError("ENOENT",
    `unknown scenario "${nameOrFile}" (built-in: ${builtinScenarioNames().join(", ")}; or a path to a .json file)`);
}
