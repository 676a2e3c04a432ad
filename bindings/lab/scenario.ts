/**
 * Lab scenarios: a machine (RAM, CMA areas), the devices that use it, the
 * userspace processes that allocate dma-bufs from its heaps, and a seeded
 * workload in phases, each a weighted mix of operations that runs for a number
 * of operations. A scenario is plain JSON (a file, or a built-in from
 * ./scenarios/); `validateScenario()` checks every field and fills in the
 * defaults, naming the bad field in its DmaSimError (`scenario.phases[1].mix.alloc.orders: …`).
 *
 * Durations are counted in operations, never in wall-clock time: the same
 * scenario and seed give the same run on any machine and either backend. The
 * simulated clock (kcompactd's) moves with the operations, `msPerOp` each.
 */
import { DmaSimError } from "../core/errors.ts";
import { BUILTIN_SCENARIOS } from "./scenarios/index.ts";
import { type CmaAreaOptions } from "../index.ts";

// The schema, as a file spells it, is in scenario-spec.ts.
export type {
  Bytes,
  OpsRange,
  ScenarioSpec,
  MachineSpec,
  AreaSpec,
  ProcessSpec,
  DeviceSpec,
  CmaConsumerSpec,
  ImporterSpec,
  PhaseSpec,
  MixSpec,
  WeightedSpec,
  AllocSpec,
  FreeSpec,
  CmaSpec,
  PinSpec,
  UnpinSpec,
  ContigSpec,
  ImportSpec,
  HeapSpec,
  FileSpec,
  ReadSpec,
  WriteSpec,
  FsyncSpec,
  TruncateSpec,
} from "./scenario-spec.ts";
import type { DeviceSpec, FileSpec, MachineSpec, OpsRange, PhaseSpec, ScenarioSpec } from "./scenario-spec.ts";
import { show as showAnyValue } from "../core/validate.ts";
import { pfnUp } from "../core/units.ts";
import { KERNEL_VERSIONS, type KernelVersion } from "../index.ts";

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
  /** Whose page-allocator rules the machine follows (SystemOptions.kernel). */
  kernel: KernelVersion;
  /** SystemOptions.swapBytes (0: no swap). */
  swapBytes: number;
}

/** A CMA area of the scenario's machine: the system option itself. */
export type Area = CmaAreaOptions;

export interface Range {
  min: number;
  max: number;
}

export interface CmaConsumer {
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

export interface Importer {
  name: string;
  kind: "importer";
  dmaMask: number;
  /** null: direct mapping. */
  iommu: { base: number; bytes: number } | null;
  maxSegmentBytes: number;
  contiguous: boolean;
}

export type Device = CmaConsumer | Importer;

/** A file of the scenario (its size in pages, rounded up). */
export interface ScenarioFile {
  name: string;
  pages: number;
}

/** A process of the scenario. */
export interface ScenarioProcess {
  name: string;
  /** null: no limit. */
  dmabufLimitBytes: number | null;
}

export type ImportDir = "to_device" | "from_device" | "bidirectional";

/**
 * One operation of a mix, normalized. `hold` null: held until the end of the
 * run; contig `alignOrder` null: the machine's pageblock order.
 */
export type Op =
  | {
      kind: "alloc";
      weight: number;
      migratetype: "movable" | "unmovable" | "reclaimable";
      orders: number[];
      label: string | null;
      hold: Range | null;
    }
  | {
      kind: "free";
      weight: number;
      policy: "random" | "fifo";
      migratetype: "movable" | "unmovable" | "reclaimable" | null;
    }
  | { kind: "cma"; weight: number; area: string; count: number; alignOrder: number; hold: Range | null }
  | { kind: "pin"; weight: number; longterm: boolean; hold: Range | null }
  | { kind: "unpin"; weight: number }
  | { kind: "contig"; weight: number; count: number; alignOrder: number | null; hold: Range | null }
  | {
      kind: "heap";
      weight: number;
      process: string;
      heap: string;
      /** Buffer sizes in bytes (the ioctl's len) and their weights, in declaration order. */
      sizes: number[];
      sizeWeights: number[];
      hold: Range | null;
      mmap: boolean;
      touch: boolean;
      imports: { device: string; dir: ImportDir }[];
    }
  | { kind: "read"; weight: number; file: string; pages: Range; pattern: "random" | "sequential" }
  | { kind: "write"; weight: number; file: string; pages: Range; pattern: "append" | "random" }
  /** `file` null: every file. */
  | { kind: "fsync"; weight: number; file: string | null }
  | { kind: "truncate"; weight: number; file: string };

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
  processes: ScenarioProcess[];
  files: ScenarioFile[];
  phases: Phase[];
  samples: number;
  /** Simulated milliseconds per operation (the clock after operation t is floor(t × msPerOp)). */
  msPerOp: number;
  /** The size the scenario runs at by default (scaleScenarioChecked()); 1: as written. */
  scale: number;
}

// ---- validation ----------------------------------------------------------------------------

// New kinds go last: a mix's flat order (and so every seeded draw) stays as it was.
export const MIX_KINDS = [
  "alloc",
  "free",
  "cma",
  "pin",
  "unpin",
  "contig",
  "heap",
  "read",
  "write",
  "fsync",
  "truncate",
] as const;

/**
 * The fields the validator accepts, per object of a scenario file. The published
 * JSON Schema (schema/scenario.schema.json) names the same fields, per definition
 * of the same name: a test keeps the two in step.
 */
export const SCENARIO_FIELDS = {
  scenario: [
    "$schema",
    "name",
    "description",
    "seed",
    "machine",
    "areas",
    "devices",
    "processes",
    "files",
    "phases",
    "samples",
    "msPerOp",
    "scale",
  ],
  machine: [
    "ramBytes",
    "pageSize",
    "maxOrder",
    "pageblockOrder",
    "storeContents",
    "cmaFirstBalance",
    "zones",
    "minFreeKbytes",
    "kernel",
    "swapBytes",
  ],
  zone: ["name", "endBytes"],
  area: ["name", "bytes", "base", "limit", "alignment", "orderPerBit", "heapUsers"],
  cmaConsumer: [
    "name",
    "kind",
    "area",
    "frameBytes",
    "alignOrder",
    "buffers",
    "periodOps",
    "holdOps",
    "startOps",
    "phases",
  ],
  importer: ["name", "kind", "dmaMask", "iommu", "maxSegmentBytes", "contiguous"],
  iommu: ["base", "bytes"],
  process: ["name", "dmabufLimitBytes"],
  file: ["name", "bytes"],
  phase: ["name", "ops", "mix"],
  mix: MIX_KINDS,
  opsRange: ["min", "max"],
  alloc: ["weight", "migratetype", "orders", "label", "holdOps"],
  free: ["weight", "policy", "migratetype"],
  cma: ["weight", "area", "count", "alignOrder", "holdOps"],
  pin: ["weight", "longterm", "holdOps"],
  unpin: ["weight"],
  contig: ["weight", "count", "alignOrder", "holdOps"],
  heap: ["weight", "process", "heap", "bytes", "pages", "holdOps", "mmap", "touch", "import"],
  import: ["device", "dir"],
  read: ["weight", "file", "pages", "pattern"],
  write: ["weight", "file", "pages", "pattern"],
  fsync: ["weight", "file"],
  truncate: ["weight", "file"],
} as const satisfies Record<string, readonly string[]>;
const F = SCENARIO_FIELDS;
const IMPORT_DIRS = ["to_device", "from_device", "bidirectional"] as const;
const BUDDY_TYPES = ["movable", "unmovable", "reclaimable"] as const;
const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 2 ** 10,
  KIB: 2 ** 10,
  M: 2 ** 20,
  MIB: 2 ** 20,
  G: 2 ** 30,
  GIB: 2 ** 30,
};

function fail(path: string, message: string): never {
  throw new DmaSimError("EINVAL", `${path}: ${message}`);
}

/** A value as JSON (shortened), or as core's show() when JSON cannot say it (BigInt, Symbol, undefined). */
function show(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return showAnyValue(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Checks `value` is a plain object with only `known` keys (and the `required` ones). */
function record(
  path: string,
  value: unknown,
  known: readonly string[],
  required: readonly string[] = [],
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(path, `must be an object, got ${show(value)}`);
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

/** msPerOp: a finite number of ms in 0..3600000 (0: the clock stands still, kcompactd runs only when woken). */
function msPerOf(path: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 3_600_000)
    fail(path, `must be a number of milliseconds in 0..3600000, got ${show(value)}`);
  return value as number;
}

/** scale: a factor in (0, 64] (see scaleScenarioChecked()). */
export function scaleOf(path: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 64)
    fail(path, `must be a number above 0 and at most 64, got ${show(value)}`);
  return value as number;
}

function weight(path: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    fail(path, `must be a number ≥ 0, got ${show(value)}`);
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
  if (!allowed.includes(value as T))
    fail(path, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${show(value)}`);
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
    fail(
      path,
      `must be a positive whole number of bytes, or a string such as "8 MiB", "512M", "1 GiB", got ${show(value)}`,
    );
  }
  return bytes;
}

function opsRange(path: string, value: unknown): Range {
  if (typeof value === "number") {
    const n = int(path, value, 1, 2 ** 31);
    return { min: n, max: n };
  }
  const r = record(path, value, F.opsRange, ["min", "max"]);
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
  const bad = (): never =>
    fail(
      path,
      `must be an object mapping orders 0..${maxOrder} to weights, e.g. {"0": 90, "3": 10}, got ${show(value)}`,
    );
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
  devices: Device[];
  processes: ScenarioProcess[];
  files: ScenarioFile[];
}

function areaRef(path: string, value: unknown, ctx: Context): Area {
  const area = ctx.areas.find((a) => a.name === value);
  if (!area) {
    fail(
      path,
      ctx.areas.length === 0
        ? `names a CMA area, but the scenario declares none (add one under "areas")`
        : `must name a CMA area (${ctx.areas.map((a) => `"${a.name}"`).join(", ")}), got ${show(value)}`,
    );
  }
  return area;
}

function areaPages(area: Area, machine: Machine): number {
  return pfnUp(area.bytes, machine.pageSize);
}

function op(kind: (typeof MIX_KINDS)[number], path: string, value: unknown, ctx: Context): Op {
  const { machine } = ctx;
  switch (kind) {
    case "alloc": {
      const r = record(path, value, F.alloc, ["weight"]);
      return {
        kind,
        weight: weight(`${path}.weight`, r.weight),
        migratetype: r.migratetype === undefined ? "movable" : oneOf(`${path}.migratetype`, r.migratetype, BUDDY_TYPES),
        orders: r.orders === undefined ? [1] : orderWeights(`${path}.orders`, r.orders, machine.maxOrder),
        label: r.label === undefined ? null : name(`${path}.label`, r.label),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "free": {
      const r = record(path, value, F.free, ["weight"]);
      return {
        kind,
        weight: weight(`${path}.weight`, r.weight),
        policy: r.policy === undefined ? "random" : oneOf(`${path}.policy`, r.policy, ["random", "fifo"] as const),
        migratetype: r.migratetype === undefined ? null : oneOf(`${path}.migratetype`, r.migratetype, BUDDY_TYPES),
      };
    }
    case "cma": {
      const r = record(path, value, F.cma, ["weight", "count"]);
      const area =
        r.area === undefined
          ? (ctx.areas[0] ?? areaRef(`${path}.area`, undefined, ctx))
          : areaRef(`${path}.area`, r.area, ctx);
      return {
        kind,
        weight: weight(`${path}.weight`, r.weight),
        area: area.name,
        count: int(`${path}.count`, r.count, 1, areaPages(area, machine)),
        alignOrder: r.alignOrder === undefined ? 0 : int(`${path}.alignOrder`, r.alignOrder, 0, 30),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "pin": {
      const r = record(path, value, F.pin, ["weight"]);
      return {
        kind,
        weight: weight(`${path}.weight`, r.weight),
        longterm: r.longterm === undefined ? false : bool(`${path}.longterm`, r.longterm),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "unpin": {
      const r = record(path, value, F.unpin, ["weight"]);
      return { kind, weight: weight(`${path}.weight`, r.weight) };
    }
    case "contig": {
      const r = record(path, value, F.contig, ["weight", "count"]);
      return {
        kind,
        weight: weight(`${path}.weight`, r.weight),
        count: int(`${path}.count`, r.count, 1, ctx.nrPages),
        alignOrder: r.alignOrder === undefined ? null : int(`${path}.alignOrder`, r.alignOrder, 0, 30),
        hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
      };
    }
    case "heap":
      return heapOp(path, value, ctx);
    case "read":
    case "write": {
      const r = record(path, value, F[kind], ["weight"]);
      const pages = r.pages === undefined ? null : opsRange(`${path}.pages`, r.pages);
      const common = { weight: weight(`${path}.weight`, r.weight), file: fileRef(`${path}.file`, r.file, ctx) };
      if (kind === "read") {
        const pattern = r.pattern === undefined ? "random" : oneOf(`${path}.pattern`, r.pattern, READ_PATTERNS);
        return { kind, ...common, pages: pages ?? { min: 8, max: 8 }, pattern };
      }
      const pattern = r.pattern === undefined ? "append" : oneOf(`${path}.pattern`, r.pattern, WRITE_PATTERNS);
      return { kind, ...common, pages: pages ?? { min: 1, max: 1 }, pattern };
    }
    case "fsync": {
      const r = record(path, value, F.fsync, ["weight"]);
      const file = r.file === undefined ? null : fileRef(`${path}.file`, r.file, ctx);
      return { kind, weight: weight(`${path}.weight`, r.weight), file };
    }
    case "truncate": {
      const r = record(path, value, F.truncate, ["weight"]);
      return { kind, weight: weight(`${path}.weight`, r.weight), file: fileRef(`${path}.file`, r.file, ctx) };
    }
  }
}

const READ_PATTERNS = ["random", "sequential"] as const;
const WRITE_PATTERNS = ["append", "random"] as const;

/** A file operation's `file`: one of the scenario's files; undefined means the first. */
function fileRef(path: string, value: unknown, ctx: Context): string {
  if (ctx.files.length === 0) fail(path, `names a file, but the scenario declares none (add one under "files")`);
  if (value === undefined) return ctx.files[0]!.name;
  const names = ctx.files.map((f) => f.name);
  return oneOf(path, value, names);
}

function filesOf(path: string, value: unknown, machine: Machine): ScenarioFile[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be a list of files, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, F.file, ["name", "bytes"]);
    const fileName = name(`${at}.name`, r.name);
    if (seen.has(fileName)) fail(`${at}.name`, `duplicate file name "${fileName}"`);
    seen.add(fileName);
    const bytes = parseBytes(`${at}.bytes`, r.bytes);
    // A page index is an i32 in the engine's page cache; a file of 2^31 pages is far past any machine here.
    if (bytes < 1 || bytes > 2 ** 31 * machine.pageSize)
      fail(`${at}.bytes`, `must be 1 B .. 2^31 pages, got ${show(r.bytes)}`);
    return { name: fileName, pages: pfnUp(bytes, machine.pageSize) };
  });
}

function heapOp(path: string, value: unknown, ctx: Context): Op {
  const { machine } = ctx;
  const r = record(path, value, F.heap, ["weight"]);
  const w = weight(`${path}.weight`, r.weight);
  // The process.
  const names = ctx.processes.map((p) => p.name);
  if (ctx.processes.length === 0)
    fail(`${path}.process`, `names a process, but the scenario declares none (add one under "processes")`);
  const proc = r.process === undefined ? names[0]! : r.process;
  if (!names.includes(proc as string))
    fail(`${path}.process`, `must name a process (${names.map((n) => `"${n}"`).join(", ")}), got ${show(proc)}`);
  // The heap, and whether the process may open it.
  const heap = r.heap === undefined ? "system" : r.heap;
  let maxBytes = machine.ramBytes;
  if (heap !== "system") {
    const area = ctx.areas.find((a) => a.name === heap);
    if (!area) {
      fail(
        `${path}.heap`,
        `must be "system" or the name of a CMA area${ctx.areas.length > 0 ? ` (${ctx.areas.map((a) => `"${a.name}"`).join(", ")})` : " (the scenario declares none)"}, got ${show(heap)}`,
      );
    }
    if (area.heapUsers && !area.heapUsers.includes(proc as string)) {
      fail(
        `${path}.process`,
        `process "${proc as string}" may not open /dev/dma_heap/${area.name} (the area's heapUsers: ${area.heapUsers.map((u) => `"${u}"`).join(", ") || "none"})`,
      );
    }
    maxBytes = areaPages(area, machine) * machine.pageSize;
  }
  // The sizes.
  if (r.bytes !== undefined && r.pages !== undefined)
    fail(path, `give the buffer size as "bytes" or as "pages", not both`);
  if (r.bytes === undefined && r.pages === undefined) fail(`${path}.bytes`, `is required (or give "pages")`);
  const inPages = r.bytes === undefined;
  const field = inPages ? "pages" : "bytes";
  const spec = inPages ? r.pages : r.bytes;
  const parse = (at: string, v: unknown): number => {
    if (!inPages) return parseBytes(at, v);
    if (typeof v === "string" && /^\d+$/.test(v)) v = Number(v);
    return int(at, v, 1, 2 ** 31) * machine.pageSize;
  };
  const sizes: number[] = [];
  const sizeWeights: number[] = [];
  const add = (at: string, bytes: number, wt: number) => {
    if (bytes > maxBytes)
      fail(
        at,
        heap === "system"
          ? `is larger than RAM (${maxBytes} bytes)`
          : `is larger than area "${heap as string}" (${maxBytes} bytes)`,
      );
    sizes.push(bytes);
    sizeWeights.push(wt);
  };
  if (typeof spec === "object" && spec !== null && !Array.isArray(spec)) {
    for (const [key, wt] of Object.entries(spec as Record<string, unknown>)) {
      const at = `${path}.${field}.${key}`;
      add(at, parse(at, key), weight(at, wt));
    }
    if (!sizeWeights.some((x) => x > 0)) {
      fail(
        `${path}.${field}`,
        `must be a size or an object mapping sizes to weights, e.g. ${inPages ? `{"256": 1, "16": 4}` : `{"8 MiB": 1, "262144": 4}`}, with a positive weight`,
      );
    }
  } else {
    add(`${path}.${field}`, parse(`${path}.${field}`, spec), 1);
  }
  // mmap, touch.
  const touch = r.touch === undefined ? false : bool(`${path}.touch`, r.touch);
  const mmap = r.mmap === undefined ? touch : bool(`${path}.mmap`, r.mmap);
  if (touch && !mmap) fail(`${path}.touch`, `needs the buffer mapped: drop "mmap": false`);
  if (touch && !machine.storeContents)
    fail(
      `${path}.touch`,
      `needs "machine.storeContents": true (a machine without page contents has no bytes for the CPU to touch)`,
    );
  // The importers.
  const imports: { device: string; dir: ImportDir }[] = [];
  if (r.import !== undefined) {
    const importers = ctx.devices.filter((d) => d.kind === "importer").map((d) => d.name);
    for (const [at, v] of specList(`${path}.import`, r.import)) {
      const im = record(at, v, F.import, ["device"]);
      const dev = ctx.devices.find((d) => d.name === im.device);
      if (!dev || dev.kind !== "importer") {
        fail(
          `${at}.device`,
          importers.length === 0
            ? `names an importer device, but the scenario declares none (add one under "devices" with "kind": "importer")`
            : `must name a device of kind "importer" (${importers.map((n) => `"${n}"`).join(", ")}), got ${show(im.device)}`,
        );
      }
      if (imports.some((x) => x.device === dev.name))
        fail(`${at}.device`, `device "${dev.name}" imports the buffer twice`);
      imports.push({
        device: dev.name,
        dir: im.dir === undefined ? "bidirectional" : oneOf(`${at}.dir`, im.dir, IMPORT_DIRS),
      });
    }
  }
  return {
    kind: "heap",
    weight: w,
    process: proc as string,
    heap: heap as string,
    sizes,
    sizeWeights,
    hold: r.holdOps === undefined ? null : opsRange(`${path}.holdOps`, r.holdOps),
    mmap,
    touch,
    imports,
  };
}

function machineOf(path: string, value: unknown): Machine {
  const r = value === undefined ? {} : record(path, value, F.machine);
  const pageSize = r.pageSize === undefined ? 4096 : parseBytes(`${path}.pageSize`, r.pageSize);
  if (pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    fail(`${path}.pageSize`, `must be a power of two from 4096 to 65536, got ${show(r.pageSize)}`);
  }
  const maxOrder = r.maxOrder === undefined ? 10 : int(`${path}.maxOrder`, r.maxOrder, 1, 20);
  const pageblockOrder =
    r.pageblockOrder === undefined
      ? Math.min(9, maxOrder)
      : int(`${path}.pageblockOrder`, r.pageblockOrder, 1, maxOrder);
  const ramBytes = r.ramBytes === undefined ? 256 * 2 ** 20 : parseBytes(`${path}.ramBytes`, r.ramBytes);
  const pageblockBytes = pageSize * 2 ** pageblockOrder;
  if (ramBytes % pageblockBytes !== 0)
    fail(`${path}.ramBytes`, `must be a multiple of the pageblock size (${pageblockBytes} bytes), got ${ramBytes}`);
  return {
    ramBytes,
    pageSize,
    maxOrder,
    pageblockOrder,
    storeContents: r.storeContents === undefined ? false : bool(`${path}.storeContents`, r.storeContents),
    cmaFirstBalance: r.cmaFirstBalance === undefined ? true : bool(`${path}.cmaFirstBalance`, r.cmaFirstBalance),
    zones: zonesOf(`${path}.zones`, r.zones),
    minFreeKbytes: r.minFreeKbytes === undefined ? null : int(`${path}.minFreeKbytes`, r.minFreeKbytes, 0, 2 ** 31 - 1),
    kernel: r.kernel === undefined ? "6.12" : oneOf(`${path}.kernel`, r.kernel, KERNEL_VERSIONS),
    swapBytes: swapBytesOf(`${path}.swapBytes`, r.swapBytes, pageSize),
  };
}

/** machine.swapBytes: whole pages, 0 or at least two (a swap header and a slot). */
function swapBytesOf(path: string, value: unknown, pageSize: number): number {
  if (value === undefined) return 0;
  const bytes = parseBytes(path, value);
  if (bytes % pageSize !== 0 || (bytes !== 0 && bytes < 2 * pageSize))
    fail(path, `must be 0 or whole pages, at least 2 (${2 * pageSize} bytes), got ${bytes}`);
  return bytes;
}

/** Zones: their shape here; boundaries against RAM and pageblocks are createSystem()'s to check. */
function zonesOf(path: string, value: unknown): Machine["zones"] {
  if (value === undefined) return null;
  if (value === "x86_64") return value;
  if (!Array.isArray(value) || value.length === 0)
    fail(path, `must be "x86_64" or a list of { name, endBytes }, got ${show(value)}`);
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const z = record(at, v, F.zone, ["name", "endBytes"]);
    return {
      name: oneOf(`${at}.name`, z.name, ["DMA", "DMA32", "Normal"] as const),
      endBytes: parseBytes(`${at}.endBytes`, z.endBytes),
    };
  });
}

function areasOf(path: string, value: unknown, machine: Machine): Area[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be a list of areas, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, F.area, ["name", "bytes"]);
    const areaName = name(`${at}.name`, r.name);
    if (seen.has(areaName)) fail(`${at}.name`, `duplicate area name "${areaName}"`);
    seen.add(areaName);
    const area: Area = { name: areaName, bytes: parseBytes(`${at}.bytes`, r.bytes) };
    if (area.bytes > machine.ramBytes) fail(`${at}.bytes`, `is larger than RAM (${machine.ramBytes} bytes)`);
    if (r.base !== undefined) area.base = r.base === 0 ? 0 : parseBytes(`${at}.base`, r.base);
    if (r.limit !== undefined) area.limit = parseBytes(`${at}.limit`, r.limit);
    if (r.alignment !== undefined) area.alignment = parseBytes(`${at}.alignment`, r.alignment);
    if (r.orderPerBit !== undefined) area.orderPerBit = int(`${at}.orderPerBit`, r.orderPerBit, 0, 30);
    if (r.heapUsers !== undefined) {
      if (!Array.isArray(r.heapUsers))
        fail(`${at}.heapUsers`, `must be a list of process names, got ${show(r.heapUsers)}`);
      area.heapUsers = r.heapUsers.map((u, j) => name(`${at}.heapUsers[${j}]`, u));
    }
    return area;
  });
}

/** Devices; the phase names of `phases` are checked once the phases are known (checkDevicePhases()). */
function devicesOf(path: string, value: unknown, ctx: Context): Device[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be a list of devices, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i): Device => {
    const at = `${path}[${i}]`;
    const kind =
      typeof v === "object" && v !== null && !Array.isArray(v) && (v as Record<string, unknown>).kind !== undefined
        ? oneOf(`${at}.kind`, (v as Record<string, unknown>).kind, ["cma-consumer", "importer"] as const)
        : "cma-consumer";
    const device = kind === "importer" ? importerOf(at, v, ctx) : cmaConsumerOf(at, v, ctx);
    if (seen.has(device.name)) fail(`${at}.name`, `duplicate device name "${device.name}"`);
    seen.add(device.name);
    return device;
  });
}

function cmaConsumerOf(at: string, v: unknown, ctx: Context): CmaConsumer {
  const r = record(at, v, F.cmaConsumer, ["name", "area", "frameBytes", "periodOps", "holdOps"]);
  const devName = name(`${at}.name`, r.name);
  const area = areaRef(`${at}.area`, r.area, ctx);
  const framePages = pfnUp(parseBytes(`${at}.frameBytes`, r.frameBytes), ctx.machine.pageSize);
  if (framePages > areaPages(area, ctx.machine))
    fail(`${at}.frameBytes`, `is larger than area "${area.name}" (${area.bytes} bytes)`);
  const periodOps = int(`${at}.periodOps`, r.periodOps, 1, 2 ** 31);
  let phases: string[] | null = null;
  if (r.phases !== undefined) {
    if (!Array.isArray(r.phases)) fail(`${at}.phases`, `must be a list of phase names, got ${show(r.phases)}`);
    phases = r.phases.map((p, j) => name(`${at}.phases[${j}]`, p));
  }
  return {
    name: devName,
    kind: "cma-consumer",
    area: area.name,
    framePages,
    alignOrder:
      r.alignOrder === undefined
        ? Math.min(8, Math.ceil(Math.log2(framePages)))
        : int(`${at}.alignOrder`, r.alignOrder, 0, 30),
    buffers: r.buffers === undefined ? 1 : int(`${at}.buffers`, r.buffers, 1, 1024),
    periodOps,
    holdOps: opsRange(`${at}.holdOps`, r.holdOps),
    startOps: r.startOps === undefined ? periodOps : int(`${at}.startOps`, r.startOps, 0, 2 ** 31),
    phases,
  };
}

function importerOf(at: string, v: unknown, ctx: Context): Importer {
  const r = record(at, v, F.importer, ["name", "kind"]);
  const { pageSize } = ctx.machine;
  const devName = name(`${at}.name`, r.name);
  const dmaMask = r.dmaMask === undefined ? 32 : int(`${at}.dmaMask`, r.dmaMask, 12, 64);
  let iommu: Importer["iommu"] = null;
  if (r.iommu !== undefined) {
    const io = record(`${at}.iommu`, r.iommu, F.iommu, ["bytes"]);
    const base = io.base === undefined ? 2 ** 30 : io.base === 0 ? 0 : parseBytes(`${at}.iommu.base`, io.base);
    const bytes = parseBytes(`${at}.iommu.bytes`, io.bytes);
    if (base % pageSize !== 0) fail(`${at}.iommu.base`, `must be page-aligned (${pageSize} bytes), got ${base}`);
    if (bytes % pageSize !== 0)
      fail(`${at}.iommu.bytes`, `must be a whole number of pages (${pageSize} bytes), got ${bytes}`);
    if (dmaMask < 53 && base + bytes > 2 ** dmaMask)
      fail(`${at}.iommu`, `the IOVA space [${base}, ${base + bytes}) ends beyond the ${dmaMask}-bit DMA mask`);
    iommu = { base, bytes };
  }
  const maxSegmentBytes =
    r.maxSegmentBytes === undefined ? 65536 : parseBytes(`${at}.maxSegmentBytes`, r.maxSegmentBytes);
  if (maxSegmentBytes < pageSize || maxSegmentBytes > 0xffffffff) {
    fail(`${at}.maxSegmentBytes`, `must be from a page (${pageSize}) to 4294967295 bytes, got ${maxSegmentBytes}`);
  }
  return {
    name: devName,
    kind: "importer",
    dmaMask,
    iommu,
    maxSegmentBytes,
    contiguous: r.contiguous === undefined ? false : bool(`${at}.contiguous`, r.contiguous),
  };
}

/** Each cma-consumer's `phases` names phases of the scenario. */
function checkDevicePhases(path: string, devices: Device[], phaseNames: string[]): void {
  devices.forEach((d, i) => {
    if (d.kind === "cma-consumer" && d.phases)
      d.phases.forEach((p, j) => oneOf(`${path}[${i}].phases[${j}]`, p, phaseNames));
  });
}

function processesOf(path: string, value: unknown): ScenarioProcess[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be a list of processes, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, F.process, ["name"]);
    const procName = name(`${at}.name`, r.name);
    if (seen.has(procName)) fail(`${at}.name`, `duplicate process name "${procName}"`);
    seen.add(procName);
    const limit = r.dmabufLimitBytes;
    return {
      name: procName,
      dmabufLimitBytes: limit === undefined ? null : limit === 0 ? 0 : parseBytes(`${at}.dmabufLimitBytes`, limit),
    };
  });
}

function phasesOf(path: string, value: unknown, ctx: Context): Phase[] {
  if (!Array.isArray(value) || value.length === 0) fail(path, `must be a non-empty list of phases, got ${show(value)}`);
  const seen = new Set<string>();
  return value.map((v, i) => {
    const at = `${path}[${i}]`;
    const r = record(at, v, F.phase, ["name", "ops", "mix"]);
    const phaseName = name(`${at}.name`, r.name);
    if (seen.has(phaseName)) fail(`${at}.name`, `duplicate phase name "${phaseName}"`);
    seen.add(phaseName);
    const ops = int(`${at}.ops`, r.ops, 1, 2 ** 31);
    const mixSpec = record(`${at}.mix`, r.mix, F.mix);
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
  // "$schema" lets an editor find the JSON Schema; it means nothing here.
  const r = record(path, input, F.scenario, ["name", "phases"]);
  if (r.description !== undefined && typeof r.description !== "string")
    fail(`${path}.description`, `must be a string, got ${show(r.description)}`);
  const machine = machineOf(`${path}.machine`, r.machine);
  const areas = areasOf(`${path}.areas`, r.areas, machine);
  const ctx: Context = {
    machine,
    areas,
    nrPages: machine.ramBytes / machine.pageSize,
    devices: [],
    processes: [],
    files: [],
  };
  ctx.devices = devicesOf(`${path}.devices`, r.devices, ctx);
  ctx.processes = processesOf(`${path}.processes`, r.processes);
  ctx.files = filesOf(`${path}.files`, r.files, machine);
  const phases = phasesOf(`${path}.phases`, r.phases, ctx);
  checkDevicePhases(
    `${path}.devices`,
    ctx.devices,
    phases.map((p) => p.name),
  );
  return {
    name: name(`${path}.name`, r.name),
    description: (r.description as string | undefined) ?? "",
    seed: r.seed === undefined ? 1 : int(`${path}.seed`, r.seed, 0, 0xffffffff),
    machine,
    areas,
    devices: ctx.devices,
    processes: ctx.processes,
    files: ctx.files,
    phases,
    samples: r.samples === undefined ? 200 : int(`${path}.samples`, r.samples, 1, 100_000),
    msPerOp: r.msPerOp === undefined ? 1 : msPerOf(`${path}.msPerOp`, r.msPerOp),
    scale: r.scale === undefined ? 1 : scaleOf(`${path}.scale`, r.scale),
  };
}

// ---- loading ------------------------------------------------------------------

/** {min, max} as a file writes it: a number when fixed. */
function rangeSpec(r: Range): OpsRange {
  return r.min === r.max ? r.min : { min: r.min, max: r.max };
}

function opSpec(op: Op): object {
  const hold = "hold" in op && op.hold !== null ? { holdOps: rangeSpec(op.hold) } : {};
  switch (op.kind) {
    case "alloc": {
      // A mix that gives no orders resolves to [1] (order 0): leave it out, so it resolves the same.
      const orders =
        op.orders.length === 1
          ? {}
          : { orders: Object.fromEntries(op.orders.flatMap((w, o) => (w > 0 ? [[String(o), w]] : []))) };
      return {
        weight: op.weight,
        migratetype: op.migratetype,
        ...orders,
        ...(op.label !== null ? { label: op.label } : {}),
        ...hold,
      };
    }
    case "free":
      return {
        weight: op.weight,
        policy: op.policy,
        ...(op.migratetype !== null ? { migratetype: op.migratetype } : {}),
      };
    case "cma":
      return { weight: op.weight, area: op.area, count: op.count, alignOrder: op.alignOrder, ...hold };
    case "pin":
      return { weight: op.weight, longterm: op.longterm, ...hold };
    case "unpin":
      return { weight: op.weight };
    case "contig":
      return {
        weight: op.weight,
        count: op.count,
        ...(op.alignOrder !== null ? { alignOrder: op.alignOrder } : {}),
        ...hold,
      };
    case "heap":
      return {
        weight: op.weight,
        process: op.process,
        heap: op.heap,
        // "<n> B" keys: integer-like keys would be reordered by JavaScript, and the order is the draw's.
        bytes:
          op.sizes.length === 1 && op.sizeWeights[0] === 1
            ? op.sizes[0]!
            : Object.fromEntries(op.sizes.map((b, i) => [`${b} B`, op.sizeWeights[i]!])),
        ...hold,
        mmap: op.mmap,
        touch: op.touch,
        ...(op.imports.length > 0 ? { import: op.imports.map((i) => ({ device: i.device, dir: i.dir })) } : {}),
      };
    case "read":
    case "write":
      return { weight: op.weight, file: op.file, pages: rangeSpec(op.pages), pattern: op.pattern };
    case "fsync":
      return { weight: op.weight, ...(op.file !== null ? { file: op.file } : {}) };
    case "truncate":
      return { weight: op.weight, file: op.file };
  }
}

/**
 * A resolved scenario in scenario-file form, with every default written out:
 * validateScenario() of it gives the same scenario back (results carry it, so
 * that `dmasim run --scenario result.json` runs the same workload).
 */
export function scenarioSpecOf(scenario: Scenario): ScenarioSpec {
  const m = scenario.machine;
  const machine: MachineSpec = {
    ramBytes: m.ramBytes,
    pageSize: m.pageSize,
    maxOrder: m.maxOrder,
    pageblockOrder: m.pageblockOrder,
    storeContents: m.storeContents,
    cmaFirstBalance: m.cmaFirstBalance,
    ...(m.zones !== null ? { zones: m.zones === "x86_64" ? m.zones : m.zones.map((z) => ({ ...z })) } : {}),
    ...(m.minFreeKbytes !== null ? { minFreeKbytes: m.minFreeKbytes } : {}),
    // Written only when it is not the default, so that results of 6.12 runs stay as they were.
    ...(m.kernel !== "6.12" ? { kernel: m.kernel } : {}),
    ...(m.swapBytes !== 0 ? { swapBytes: m.swapBytes } : {}),
  };
  const devices = scenario.devices.map((d): DeviceSpec =>
    d.kind === "cma-consumer"
      ? {
          name: d.name,
          kind: d.kind,
          area: d.area,
          frameBytes: d.framePages * m.pageSize,
          alignOrder: d.alignOrder,
          buffers: d.buffers,
          periodOps: d.periodOps,
          holdOps: rangeSpec(d.holdOps),
          startOps: d.startOps,
          ...(d.phases !== null ? { phases: [...d.phases] } : {}),
        }
      : {
          name: d.name,
          kind: d.kind,
          dmaMask: d.dmaMask,
          ...(d.iommu !== null ? { iommu: { base: d.iommu.base, bytes: d.iommu.bytes } } : {}),
          maxSegmentBytes: d.maxSegmentBytes,
          contiguous: d.contiguous,
        },
  );
  const phases = scenario.phases.map((p): PhaseSpec => {
    const mix: Record<string, object[]> = {};
    for (const op of p.mix) (mix[op.kind] ??= []).push(opSpec(op));
    return { name: p.name, ops: p.ops, mix: mix as PhaseSpec["mix"] };
  });
  return {
    name: scenario.name,
    description: scenario.description,
    seed: scenario.seed,
    machine,
    areas: scenario.areas.map((a) => structuredClone(a)),
    devices,
    processes: scenario.processes.map((p) => ({
      name: p.name,
      ...(p.dmabufLimitBytes !== null ? { dmabufLimitBytes: p.dmabufLimitBytes } : {}),
    })),
    // Written only when there are files, so that results of scenarios without them stay as they were.
    ...(scenario.files.length > 0
      ? { files: scenario.files.map((f): FileSpec => ({ name: f.name, bytes: f.pages * m.pageSize })) }
      : {}),
    phases,
    samples: scenario.samples,
    msPerOp: scenario.msPerOp,
    // Written only when it is not the default, so that results of unscaled scenarios stay as they were.
    ...(scenario.scale !== 1 ? { scale: scenario.scale } : {}),
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

/** The LabResult in a parsed result file (result.json, or a sweep job file's `result`), or null. */
export function resultInFile(
  json: unknown,
): { kind: string; scenario?: unknown; seed?: unknown; scale?: unknown; config?: unknown; backend?: unknown } | null {
  if (typeof json !== "object" || json === null) return null;
  const obj = json as Record<string, unknown>;
  const inner = obj.format === "dmasim-sweep-job/1" ? obj.result : obj;
  if (typeof inner !== "object" || inner === null) return null;
  const r = inner as Record<string, unknown>;
  if (typeof r.kind !== "string" || typeof r.stateHash !== "string" || !("summary" in r)) return null;
  return r as { kind: string };
}
