/**
 * Fault injection (lib/fault-inject.c, mm/fail_page_alloc.c, mm/failslab.c and
 * the debugfs attributes of Documentation/fault-injection/fault-injection.rst):
 * failure points that make an allocation fail on purpose, so the unwinding of
 * every caller can be tested. One `FaultAttr` per point:
 *
 *   failPageAlloc  /sys/kernel/debug/fail_page_alloc/   alloc_pages() (Mm.allocPages and its batch, the
 *                                                        heaps, dma_alloc_attrs, allocMovable)
 *   failslab       /sys/kernel/debug/failslab/          the kzalloc() of a heap buffer and of a dma-buf attachment
 *   failIommu      /sys/kernel/debug/fail_iommu/        IOVA allocations (IommuDomain.allocIova)
 *   failSwiotlb    /sys/kernel/debug/fail_swiotlb/      swiotlb slot allocations (dmasim's, no kernel twin)
 *   failCma        /sys/kernel/debug/fail_cma/          cma_alloc() (dmasim's, no kernel twin)
 *
 * should_fail() follows should_fail_ex(): nothing fails while `probability` is
 * 0 or `times` is 0; `space` is consumed first (by the request's size); then
 * every `interval`-th remaining call is a candidate, failing with
 * `probability` percent. Draws come from a random stream seeded by the
 * machine's seed (not `sys.random`, whose sequence stays as it was), so a seed
 * reproduces the same failures on both backends. When every point is off the
 * hooks cost one boolean test.
 */
import { DmaSimError } from "./errors.ts";
import { createRandom, type Random } from "./random.ts";
import { rejectUnknownKeys, requireInt, requireObject, show } from "./validate.ts";
import { appendBounded } from "./bounded-log.ts";

/** Attributes of one failure point (struct fault_attr and its debugfs files). */
export interface FaultAttrOptions {
  /** `probability`: percent of candidate calls that fail, 0..100. Default 0 (the point is off). */
  probability?: number;
  /** `interval`: only every interval-th call (after `space`) is a candidate, ≥ 1. Default 1. */
  interval?: number;
  /** `times`: how many failures at most; -1 = no limit. Default 1. */
  times?: number;
  /** `space`: a budget of size (pages for page and CMA allocations, 1 per call elsewhere) let through while it exceeds the request. Default 0. */
  space?: number;
  /** `verbose`: 0 silent, 1 a line per failure in `FaultInjection.log`, 2 the same (no stack to dump). Default 2. */
  verbose?: number;
  /** fail_page_alloc and failslab: `ignore-gfp-wait` — allocations that may sleep never fail. Default true. */
  ignoreGfpWait?: boolean;
  /** fail_page_alloc: `ignore-gfp-highmem` — __GFP_HIGHMEM (movable, user) allocations never fail. Default true. */
  ignoreGfpHighmem?: boolean;
  /** fail_page_alloc: `min-order` — smaller allocations never fail. Default 1. */
  minOrder?: number;
}

/** The failure points, by option name. */
export type FaultPoint = "failPageAlloc" | "failslab" | "failIommu" | "failSwiotlb" | "failCma";

/** `createSystem({ faultInjection })`: the points to arm at boot; unnamed points stay off. */
export type FaultInjectionOptions = Partial<Record<FaultPoint, FaultAttrOptions>>;

/** The debugfs directory of each point. */
export const FAULT_DIRS: Readonly<Record<FaultPoint, string>> = {
  failPageAlloc: "fail_page_alloc",
  failslab: "failslab",
  failIommu: "fail_iommu",
  failSwiotlb: "fail_swiotlb",
  failCma: "fail_cma",
};
const POINTS = Object.keys(FAULT_DIRS) as FaultPoint[];
const COMMON = ["probability", "interval", "times", "space", "verbose"] as const;
const EXTRA: Readonly<Record<FaultPoint, readonly (keyof FaultAttrOptions)[]>> = {
  failPageAlloc: ["ignoreGfpWait", "ignoreGfpHighmem", "minOrder"],
  failslab: ["ignoreGfpWait"],
  failIommu: [],
  failSwiotlb: [],
  failCma: [],
};
/** debugfs file name of each attribute. */
const FILES: Readonly<Record<keyof FaultAttrOptions, string>> = {
  probability: "probability",
  interval: "interval",
  times: "times",
  space: "space",
  verbose: "verbose",
  ignoreGfpWait: "ignore-gfp-wait",
  ignoreGfpHighmem: "ignore-gfp-highmem",
  minOrder: "min-order",
};
const INT_MAX = 2 ** 31 - 1;

type Attr = Required<FaultAttrOptions> & { count: number; injected: number };

function defaults(): Attr {
  return {
    probability: 0,
    interval: 1,
    times: 1,
    space: 0,
    verbose: 2,
    ignoreGfpWait: true,
    ignoreGfpHighmem: true,
    minOrder: 1,
    count: 0,
    injected: 0,
  };
}

/** Validates one attribute value; returns it. */
function checkValue(where: string, key: keyof FaultAttrOptions, v: unknown): number | boolean {
  switch (key) {
    case "probability":
      return requireInt(where, key, v, 0, 100);
    case "interval":
      return requireInt(where, key, v, 1, INT_MAX);
    case "times":
      return requireInt(where, key, v, -1, INT_MAX);
    case "space":
      return requireInt(where, key, v, 0, INT_MAX);
    case "verbose":
      return requireInt(where, key, v, 0, 2);
    case "minOrder":
      return requireInt(where, key, v, 0, 30);
    default:
      if (typeof v !== "boolean") throw new DmaSimError("EINVAL", `${where}: ${key} must be a boolean, got ${show(v)}`);
      return v;
  }
}

/** Reads and validates a point's options (every field read once), before anything changes. */
function resolveAttr(where: string, point: FaultPoint, value: unknown): Partial<FaultAttrOptions> {
  const o = requireObject(where, point, value);
  const known = new Set<string>([...COMMON, ...EXTRA[point]]);
  rejectUnknownKeys(`${where}: ${point}`, o, known, "attribute");
  const out: Partial<Record<keyof FaultAttrOptions, number | boolean>> = {};
  for (const key of known as Set<keyof FaultAttrOptions>) {
    const v = o[key];
    if (v !== undefined) out[key] = checkValue(`${where}: ${point}`, key, v);
  }
  return out as Partial<FaultAttrOptions>;
}

/** Validates `createSystem({ faultInjection })`: an object of points, unknown points EINVAL. */
export function resolveFaultInjection(where: string, value: unknown): Partial<Record<FaultPoint, FaultAttrOptions>> {
  if (value === undefined) return {};
  const o = requireObject(where, "faultInjection", value);
  rejectUnknownKeys(`${where}: faultInjection`, o, new Set(POINTS), "failure point");
  const out: Partial<Record<FaultPoint, FaultAttrOptions>> = {};
  for (const point of POINTS) {
    const v = o[point];
    if (v !== undefined) out[point] = resolveAttr(`${where}: faultInjection`, point, v);
  }
  return out;
}

/** Request properties a point's filters look at. */
export interface FaultRequest {
  /** Size consumed from `space`: pages for page allocations (1 << order) and cma_alloc(), 1 elsewhere. */
  size: number;
  /** fail_page_alloc: the order (min-order). */
  order?: number;
  /** The allocation may sleep (__GFP_DIRECT_RECLAIM): ignore-gfp-wait skips it. */
  mayWait?: boolean;
  /** __GFP_HIGHMEM: ignore-gfp-highmem skips it. */
  highmem?: boolean;
}

/** The failure points of one machine. */
export class FaultInjection {
  /** True while some point has a non-zero probability: the hooks test this first. */
  enabled = false;
  private readonly attrs = {} as Record<FaultPoint, Attr>;
  private readonly random: Random;
  /** FAULT_INJECTION messages of verbose points, newest last (the last 64). */
  readonly log: string[] = [];

  /** @internal */
  constructor(seed: number, options: Partial<Record<FaultPoint, FaultAttrOptions>> = {}) {
    // A stream of its own: arming a point does not shift sys.random.
    this.random = createRandom((seed ^ 0x6661696c) >>> 0);
    for (const p of POINTS) this.attrs[p] = { ...defaults(), ...options[p] };
    this.refresh();
  }

  private refresh(): void {
    this.enabled = POINTS.some((p) => this.attrs[p].probability > 0);
  }

  /**
   * Sets attributes of one point (validated first: a bad one changes nothing).
   * The `injected` counter is kept. Setting `interval` restarts its call count
   * (the kernel keeps counting), so `interval: k + 1, times: 1` fails exactly
   * the (k+1)-th call from now.
   */
  configure(point: FaultPoint, attrs: FaultAttrOptions): void {
    const where = "FaultInjection.configure";
    if (!POINTS.includes(point)) throw new DmaSimError("EINVAL", `${where}: no failure point ${show(point)}`);
    const o = resolveAttr(where, point, attrs);
    Object.assign(this.attrs[point], o);
    if (o.interval !== undefined) this.attrs[point].count = 0;
    this.refresh();
  }

  /** The attributes of one point, as its debugfs files show them. */
  attributes(point: FaultPoint): Required<FaultAttrOptions> {
    if (!POINTS.includes(point))
      throw new DmaSimError("EINVAL", `FaultInjection.attributes: no failure point ${show(point)}`);
    const { count: _c, injected: _i, ...rest } = this.attrs[point];
    return rest;
  }

  /** Failures injected so far at `point` (debugfs `injected`, a dmasim addition). */
  injected(point: FaultPoint): number {
    if (!POINTS.includes(point))
      throw new DmaSimError("EINVAL", `FaultInjection.injected: no failure point ${show(point)}`);
    return this.attrs[point].injected;
  }

  /** should_fail_ex(): whether this request fails. Call only while `enabled`. */
  shouldFail(point: FaultPoint, req: FaultRequest): boolean {
    const a = this.attrs[point];
    if (a.probability === 0 || a.times === 0) return false;
    if (point === "failPageAlloc") {
      if ((req.order ?? 0) < a.minOrder) return false;
      if (a.ignoreGfpHighmem && req.highmem) return false;
    }
    if ((point === "failPageAlloc" || point === "failslab") && a.ignoreGfpWait && req.mayWait) return false;
    if (a.space > req.size) {
      a.space -= req.size;
      return false;
    }
    if (a.interval > 1) {
      a.count++;
      if (a.count % a.interval !== 0) return false;
    }
    if (a.probability <= this.random.int(100)) return false;
    if (a.verbose > 0)
      appendBounded(
        this.log,
        `FAULT_INJECTION: forcing a failure.\nname ${FAULT_DIRS[point]}, interval ${a.interval}, probability ${a.probability}, space ${a.space}, times ${a.times}`,
        64,
      );
    if (a.times !== -1) a.times--;
    a.injected++;
    return true;
  }

  /** Which point and attribute a debugfs path names, or null. */
  private parse(path: string): { point: FaultPoint; file: string } | null {
    const m = /^\/sys\/kernel\/debug\/([a-z_]+)\/([a-z-]+)$/.exec(path);
    if (!m) return null;
    const point = POINTS.find((p) => FAULT_DIRS[p] === m[1]);
    return point ? { point, file: m[2]! } : null;
  }

  private keyOf(point: FaultPoint, file: string): keyof FaultAttrOptions | undefined {
    return [...COMMON, ...EXTRA[point]].find((k) => FILES[k] === file);
  }

  /** @internal The text of a debugfs file, or undefined when `path` is none of them. */
  readFile(path: string): string | undefined {
    const at = this.parse(path);
    if (!at) return undefined;
    const a = this.attrs[at.point];
    if (at.file === "injected") return `${a.injected}\n`;
    const key = this.keyOf(at.point, at.file);
    if (!key) return undefined;
    const v = a[key];
    return typeof v === "boolean" ? (v ? "Y\n" : "N\n") : `${v}\n`;
  }

  /**
   * @internal A write to a debugfs attribute: true when written, undefined when
   * `path` is none of them; EINVAL for a value the attribute cannot take, EACCES
   * for the read-only `injected`.
   */
  writeFile(path: string, text: string): true | undefined {
    const at = this.parse(path);
    if (!at) return undefined;
    const where = `writeFile: ${path}`;
    if (at.file === "injected") throw new DmaSimError("EACCES", `${where}: read-only`);
    const key = this.keyOf(at.point, at.file);
    if (!key) return undefined;
    const s = text.trim();
    let v: number | boolean;
    if (key === "ignoreGfpWait" || key === "ignoreGfpHighmem") {
      // kstrtobool(): the first character decides.
      if (/^[Yy1]/.test(s) || /^on/i.test(s)) v = true;
      else if (/^[Nn0]/.test(s) || /^of/i.test(s)) v = false;
      else throw new DmaSimError("EINVAL", `${where}: not a boolean: ${JSON.stringify(text)}`);
    } else {
      if (!/^-?\d+$/.test(s)) throw new DmaSimError("EINVAL", `${where}: not an integer: ${JSON.stringify(text)}`);
      v = Number(s);
    }
    this.configure(at.point, { [key]: v });
    return true;
  }
}
