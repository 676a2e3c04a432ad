/**
 * The Lab runner: builds the scenario's machine, plays its phases and devices
 * operation by operation from one seeded random source, samples the metrics at
 * regular intervals and takes memory-map snapshots, and returns a LabResult.
 *
 * Everything but `timing` (and `backend`) depends only on the scenario, the
 * seed and the configuration, so two runs, or a run on each backend, give
 * byte-identical JSON.
 */
import { DmaSimError } from "../core/errors.ts";
import { dmasimVersion, RESULT_FORMAT } from "./version.ts";
import { HeapWorkload } from "./heap-workload.ts";
import { FILE_COUNTERS, FileWorkload } from "./file-workload.ts";
import { sampleMetrics, sampleReclaim, type MetricsSample } from "./metrics.ts";
import { LAB_CONFIG_KEYS, labConfigKernelProblem, type LabConfig } from "./config.ts";
import type { LabResult, MachineInfo, MemoryMapSnapshot } from "./result.ts";
import { scenarioSpecOf, type CmaConsumer, type Op, type Range, type Scenario } from "./scenario.ts";
import {
  createRandom,
  createSystem,
  fragmentationIndex,
  MIGRATETYPES,
  type MovablePage,
  type Random,
  type System,
  unusableFreeIndex,
} from "../index.ts";
import { show } from "../core/validate.ts";
import { scaleScenarioChecked, scaleWarningLine } from "./scale.ts";

export type { LabConfig } from "./config.ts";
export { LAB_CONFIG_KEYS } from "./config.ts";

export interface RunOptions extends LabConfig {
  /** Seed of the workload and of the machine, a uint32. Default: the scenario's `seed` (1). */
  seed?: number;
  /**
   * The machine's and the work's size, as a factor (see scaleScenarioChecked():
   * RAM, CMA areas, frames and durations scaled together). Default: the
   * scenario's `scale` (1).
   */
  scale?: number;
  /** Metrics samples over the run. Default: the scenario's `samples` (200). */
  samples?: number;
  /** Called about a thousand times a run with operations done and the total. Default none. */
  onProgress?: (opsDone: number, opsTotal: number) => void;
  /** Run sys.check() (every engine invariant) at the end. Default true. */
  check?: boolean;
  /**
   * Called about 40 times a run with the memory map at that moment (label
   * "live"), for a live picture; reading the map changes nothing, and these
   * maps are not kept in the result. Default none.
   */
  onLiveMap?: (map: MemoryMapSnapshot) => void;
  /**
   * Called with each metrics sample as it is taken (the same objects the
   * result's `samples` ends with), for plots that grow while the run goes.
   * Default none.
   */
  onSample?: (sample: MetricsSample) => void;
}

const BUDDY_TYPES = ["movable", "unmovable", "reclaimable"] as const;
type BuddyType = (typeof BUDDY_TYPES)[number];

// ---- the workload's own bookkeeping ----------------------------------------------------------

/** A block the workload allocated from the buddy allocator. */
interface Block {
  /** Allocation sequence number: FIFO order and tie-breaks. */
  seq: number;
  type: BuddyType;
  order: number;
  /** The owner of a movable block (its pfn follows migration); null for kernel blocks. */
  page: MovablePage | null;
  /** Head pfn of a kernel block (unmovable blocks never move). */
  pfn: number;
  pins: Pin[];
  /** Index in its pool's `live` array. */
  liveIndex: number;
  freed: boolean;
}

interface Pin {
  block: Block;
  longterm: boolean;
  /** Index in the `pinned` array; -1 once dropped. */
  index: number;
}

/**
 * Live blocks of one migratetype: a dense array for uniform random picks
 * (swap-remove) and an allocation-order queue for FIFO picks (lazy deletion).
 */
class Pool {
  readonly live: Block[] = [];
  private fifo: Block[] = [];
  private head = 0;

  add(block: Block): void {
    block.liveIndex = this.live.length;
    this.live.push(block);
    this.fifo.push(block);
  }

  remove(block: Block): void {
    const last = this.live.pop()!;
    if (last !== block) {
      this.live[block.liveIndex] = last;
      last.liveIndex = block.liveIndex;
    }
    block.freed = true;
  }

  /** The oldest live block, or null. */
  oldest(): Block | null {
    while (this.head < this.fifo.length && this.fifo[this.head]!.freed) this.head++;
    if (this.head > 4096 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
    return this.head < this.fifo.length ? this.fifo[this.head]! : null;
  }
}

/** Something that happens at a later operation: a release, a free, an unpin. */
interface Timed {
  t: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of Timed by (t, seq): events fire in a deterministic order. */
class Timeline {
  private heap: Timed[] = [];
  private seq = 0;

  at(t: number, run: () => void): void {
    const h = this.heap;
    h.push({ t, seq: this.seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Timeline.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** Runs every event due at or before `t`. */
  runUntil(t: number): void {
    const h = this.heap;
    while (h.length > 0 && h[0]!.t <= t) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1,
            r = l + 1;
          let m = i;
          if (l < h.length && Timeline.before(h[l]!, h[m]!)) m = l;
          if (r < h.length && Timeline.before(h[r]!, h[m]!)) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m]!, h[i]!];
          i = m;
        }
      }
      top.run();
    }
  }

  private static before(a: Timed, b: Timed): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }
}

/** Counters of the summary, kept in insertion order so the JSON is stable. */
class Counters {
  readonly values = new Map<string, number>();

  add(key: string, n = 1): void {
    this.values.set(key, (this.values.get(key) ?? 0) + n);
  }

  /** Makes `key` appear (at 0) even if it never counts. */
  touch(key: string): void {
    if (!this.values.has(key)) this.values.set(key, 0);
  }

  get(key: string): number {
    return this.values.get(key) ?? 0;
  }
}

// ---- the run ----------------------------------------------------------------------------------

function pickWeighted(rnd: Random, weights: readonly number[], total: number): number {
  let r = rnd.float() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0 && weights[i]! > 0) return i;
  }
  // Rounding left r at 0 after the last positive weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
  return 0;
}

function drawRange(rnd: Random, r: Range): number {
  return r.min + rnd.int(r.max - r.min + 1);
}

/** pfn ranges of RAM outside every CMA area: where alloc_contig_range() of movable memory may look. */
function regularSegments(sys: System): { start: number; end: number }[] {
  const areas = [...sys.cmaAreas].sort((a, b) => a.basePfn - b.basePfn);
  const out: { start: number; end: number }[] = [];
  let start = 0;
  for (const a of areas) {
    if (a.basePfn > start) out.push({ start, end: a.basePfn });
    start = Math.max(start, a.basePfn + a.count);
  }
  if (start < sys.nrPages) out.push({ start, end: sys.nrPages });
  return out;
}

/** Applies a configuration's overrides to the scenario's machine, checking the result. */
export function configureScenario(scenario: Scenario, config: LabConfig): Scenario {
  const machine = { ...scenario.machine };
  if (config.maxOrder !== undefined) machine.maxOrder = config.maxOrder;
  if (config.pageblockOrder !== undefined) machine.pageblockOrder = config.pageblockOrder;
  else machine.pageblockOrder = Math.min(machine.pageblockOrder, machine.maxOrder);
  if (config.cmaFirstBalance !== undefined) machine.cmaFirstBalance = config.cmaFirstBalance;
  if (config.kernel !== undefined) machine.kernel = config.kernel;
  const kernelProblem = labConfigKernelProblem(config, machine.kernel);
  if (kernelProblem !== null) throw new DmaSimError("EINVAL", kernelProblem);
  if (config.swapBytes !== undefined) machine.swapBytes = config.swapBytes;
  const pageblockBytes = machine.pageSize * 2 ** machine.pageblockOrder;
  if (machine.ramBytes % pageblockBytes !== 0) {
    throw new DmaSimError(
      "EINVAL",
      `pageblockOrder ${machine.pageblockOrder}: RAM (${machine.ramBytes} bytes) is not a whole number of pageblocks`,
    );
  }
  for (const phase of scenario.phases) {
    for (const op of phase.mix) {
      if (
        op.kind === "alloc" &&
        op.orders.length > machine.maxOrder + 1 &&
        op.orders.slice(machine.maxOrder + 1).some((w) => w > 0)
      ) {
        throw new DmaSimError("EINVAL", `maxOrder ${machine.maxOrder}: phase "${phase.name}" allocates above it`);
      }
    }
  }
  return { ...scenario, machine };
}

/** Runs a scenario and returns its result. */
export async function runScenario(input: Scenario, options: RunOptions = {}): Promise<LabResult> {
  const wallStart = performance.now();
  const scale = options.scale ?? input.scale;
  // Configured first: the scaled sizes round to the configured pageblocks.
  const scaled = scaleScenarioChecked(configureScenario(input, options), scale);
  const scenario = scaled.scenario;
  const scaleWarning = scaleWarningLine(scale, scaled.warnings);
  const seed = options.seed ?? scenario.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new DmaSimError("EINVAL", `seed must be an integer in 0..4294967295, got ${show(seed)}`);
  if (options.samples !== undefined && (!Number.isInteger(options.samples) || options.samples < 1)) {
    throw new DmaSimError("EINVAL", `samples must be a positive integer, got ${show(options.samples)}`);
  }
  for (const hook of ["onProgress", "onLiveMap", "onSample"] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== "function")
      throw new DmaSimError("EINVAL", `${hook} must be a function, got ${show(options[hook])}`);
  }
  const m = scenario.machine;
  const sys = await createSystem({
    backend: options.backend ?? "wasm",
    kernel: m.kernel,
    seed,
    ramBytes: m.ramBytes,
    pageSize: m.pageSize,
    maxOrder: m.maxOrder,
    pageblockOrder: m.pageblockOrder,
    storeContents: m.storeContents,
    cma: scenario.areas,
    devices: scenario.devices.flatMap((d) =>
      d.kind !== "importer"
        ? []
        : [
            {
              name: d.name,
              dmaMask: d.dmaMask,
              maxSegmentSize: d.maxSegmentBytes,
              ...(d.iommu
                ? { iommu: { base: d.iommu.base, size: d.iommu.bytes, style: options.iommuStyle ?? "dma-iommu" } }
                : {}),
            },
          ],
    ),
    ...(m.zones !== null ? { zones: m.zones } : {}),
    ...(m.minFreeKbytes !== null ? { minFreeKbytes: m.minFreeKbytes } : {}),
    ...(options.compactionProactiveness !== undefined
      ? { compactionProactiveness: options.compactionProactiveness }
      : {}),
    ...(options.pcp !== undefined ? { pcp: options.pcp } : {}),
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    ...(options.percpuPagelistHighFraction !== undefined
      ? { percpuPagelistHighFraction: options.percpuPagelistHighFraction }
      : {}),
    ...(options.defragMode !== undefined ? { defragMode: options.defragMode } : {}),
    ...(m.swapBytes !== 0 ? { swapBytes: m.swapBytes } : {}),
  });
  sys.setPolicy({
    cmaFirstBalance: m.cmaFirstBalance,
    ...(options.allocNoFragment !== undefined ? { allocNoFragment: options.allocNoFragment } : {}),
    ...(options.claimThresholdPages !== undefined ? { claimThresholdPages: options.claimThresholdPages } : {}),
    ...(options.compaction !== undefined ? { compaction: options.compaction } : {}),
    ...(options.extfragThreshold !== undefined ? { extfragThreshold: options.extfragThreshold } : {}),
    ...(options.watermarkBoostFactor !== undefined ? { watermarkBoostFactor: options.watermarkBoostFactor } : {}),
  });
  const setupMs = performance.now() - wallStart;
  const run = new Run(sys, scenario, seed, options);
  const runStart = performance.now();
  run.play();
  const runMs = performance.now() - runStart;
  if (options.check ?? true) sys.check();
  const machine: MachineInfo = {
    ramBytes: sys.ramBytes,
    pageSize: sys.pageSize,
    maxOrder: sys.maxOrder,
    pageblockOrder: sys.pageblockOrder,
    cma: sys.cmaAreas.map((a) => ({ name: a.name, basePfn: a.basePfn, count: a.count })),
  };
  return {
    dmasim: dmasimVersion(),
    resultFormat: RESULT_FORMAT,
    kind: "run",
    name: scenario.name,
    seed,
    scale,
    backend: sys.backend,
    machine,
    samples: run.samples,
    maps: run.maps,
    summary: run.summary(),
    timing: {
      wallMs: round1(performance.now() - wallStart),
      setupMs: round1(setupMs),
      runMs: round1(runMs),
      opsPerSecond: Math.round((run.totalOps / Math.max(runMs, 1e-3)) * 1000),
    },
    stateHash: sys.stateHash(),
    scenario: scenarioSpecOf(configureScenario(input, options)),
    config: configOf(options),
    ...(scaleWarning !== null ? { warnings: [scaleWarning] } : {}),
  };
}

/** The LabConfig fields of `options` that are set, backend aside (a result carries it on its own). */
export function configOf(options: LabConfig): LabConfig {
  const config: Record<string, unknown> = {};
  for (const key of LAB_CONFIG_KEYS) if (key !== "backend" && options[key] !== undefined) config[key] = options[key];
  return config as LabConfig;
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** One run's state. */
class Run {
  readonly samples: MetricsSample[] = [];
  readonly maps: MemoryMapSnapshot[] = [];
  readonly totalOps: number;
  private readonly rnd: Random;
  private readonly pools: Record<BuddyType, Pool> = {
    movable: new Pool(),
    unmovable: new Pool(),
    reclaimable: new Pool(),
  };
  private readonly pinned: Pin[] = [];
  private readonly timeline = new Timeline();
  private readonly counters = new Counters();
  private readonly segments: { start: number; end: number }[];
  private readonly heaps: HeapWorkload | null;
  private readonly files: FileWorkload | null;
  private seq = 0;
  /** The current operation, 1-based. */
  private t = 0;
  /** The current phase's name. */
  private phase = "";

  constructor(
    private readonly sys: System,
    private readonly scenario: Scenario,
    seed: number,
    private readonly options: RunOptions,
  ) {
    // The workload draws from its own stream, apart from sys.random, so engine-side
    // randomness added later cannot shift the workload.
    this.rnd = createRandom((seed ^ 0x6c616221) >>> 0);
    this.totalOps = scenario.phases.reduce((sum, p) => sum + p.ops, 0);
    this.segments = regularSegments(sys);
    this.heaps = HeapWorkload.create(sys, scenario);
    this.files = FileWorkload.create(sys, scenario, (key, n) => this.counters.add(key, n));
    this.declareCounters();
  }

  /** Fixes the order of the summary's keys before anything counts. */
  private declareCounters(): void {
    const c = this.counters;
    c.touch("ops");
    c.touch("ops.skipped");
    const orders = new Set<number>();
    const labels = new Set<string>();
    const kinds = new Set<string>();
    for (const phase of this.scenario.phases) {
      for (const op of phase.mix) {
        kinds.add(op.kind);
        if (op.kind === "alloc") {
          op.orders.forEach((w, order) => w > 0 && orders.add(order));
          if (op.label) labels.add(op.label);
        }
      }
    }
    c.touch("alloc.requests");
    c.touch("alloc.failed");
    for (const order of [...orders].sort((a, b) => a - b)) {
      c.touch(`alloc.order${order}.requests`);
      c.touch(`alloc.order${order}.failed`);
    }
    for (const label of labels) {
      c.touch(`alloc.${label}.requests`);
      c.touch(`alloc.${label}.failed`);
    }
    c.touch("free");
    if (this.scenario.phases.some((p) => p.mix.some((o) => o.kind === "alloc" && o.hold))) c.touch("free.expired");
    if (kinds.has("pin")) ["pin", "pin.failed", "unpin"].forEach((k) => c.touch(k));
    if (this.scenario.files.length > 0) FILE_COUNTERS.forEach((k) => c.touch(k));
    if (kinds.has("contig"))
      ["contig.requests", "contig.ok", "contig.ebusy", "contig.enomem"].forEach((k) => c.touch(k));
    for (const d of this.scenario.devices) {
      if (d.kind !== "cma-consumer") continue;
      ["sessions", "frames", "frames.failed", "pagesMigrated", "busyRetries"].forEach((k) =>
        c.touch(`device.${d.name}.${k}`),
      );
    }
  }

  play(): void {
    const { scenario } = this;
    const sampleEvery = Math.max(1, Math.ceil(this.totalOps / (this.options.samples ?? scenario.samples)));
    const progressEvery = Math.max(1, Math.floor(this.totalOps / 1000));
    const onProgress = this.options.onProgress;
    const onLiveMap = this.options.onLiveMap;
    const liveEvery = Math.max(1, Math.floor(this.totalOps / 40));
    this.sample(0);
    this.snapshot("boot");
    let phaseEnd = 0;
    for (const phase of scenario.phases) {
      const weights = phase.mix.map((o) => o.weight);
      const total = weights.reduce((a, b) => a + b, 0);
      const devices = scenario.devices.filter(
        (d): d is CmaConsumer => d.kind === "cma-consumer" && (d.phases === null || d.phases.includes(phase.name)),
      );
      this.phase = phase.name;
      const phaseStart = phaseEnd;
      phaseEnd += phase.ops;
      const middle = phaseStart + Math.floor(phase.ops / 2);
      for (let t = phaseStart + 1; t <= phaseEnd; t++) {
        this.t = t;
        this.timeline.runUntil(t);
        for (const d of devices) {
          if (t >= d.startOps && (t - d.startOps) % d.periodOps === 0) this.session(d);
        }
        this.counters.add("ops");
        this.execute(phase.mix[pickWeighted(this.rnd, weights, total)]!);
        this.tick(t);
        if (t % sampleEvery === 0 || t === this.totalOps) this.sample(t);
        if (t === middle && phase.ops >= 4) this.snapshot(`${phase.name}: middle`);
        if (onProgress && t % progressEvery === 0) onProgress(t, this.totalOps);
        if (onLiveMap && t % liveEvery === 0) onLiveMap(this.mapNow("live"));
      }
      this.snapshot(`${phase.name}: end`);
    }
  }

  /**
   * The simulated clock after operation `t`: floor(t × msPerOp) ms (one
   * operation every msPerOp ms, whatever the phase); kcompactd runs when due.
   */
  private tick(t: number): void {
    const target = Math.floor(t * this.scenario.msPerOp);
    const now = this.sys.timeMs;
    if (target > now) this.sys.advanceTime(target - now);
  }

  private sample(t: number): void {
    const s = sampleMetrics(this.sys, t);
    if (this.heaps) s.heaps = this.heaps.sample();
    this.samples.push(s);
    this.options.onSample?.(s);
  }

  private snapshot(label: string): void {
    this.maps.push(this.mapNow(label));
  }

  /** The memory map now (sys.memoryMap() only reads). */
  private mapNow(label: string): MemoryMapSnapshot {
    const map = this.sys.memoryMap();
    return {
      t: this.t,
      label,
      migratetypes: Array.from(map.migratetypes),
      freePages: Array.from(map.freePages),
      pageblockNrPages: map.pageblockNrPages,
    };
  }

  private execute(op: Op): void {
    switch (op.kind) {
      case "alloc":
        return this.alloc(op);
      case "free":
        return this.free(op);
      case "cma":
        return this.cma(op);
      case "pin":
        return this.pin(op);
      case "unpin":
        return this.unpin();
      case "contig":
        return this.contig(op);
      case "heap":
        return this.heap(op);
      case "read":
      case "write":
        return this.files!.execute(op, drawRange(this.rnd, op.pages), (n) => this.rnd.int(n));
      case "fsync":
      case "truncate":
        return this.files!.execute(op, 0, (n) => this.rnd.int(n));
    }
  }

  private skip(): void {
    this.counters.add("ops.skipped");
  }

  // ---- buddy allocations ----

  private alloc(op: Extract<Op, { kind: "alloc" }>): void {
    const c = this.counters;
    const order = pickWeighted(
      this.rnd,
      op.orders,
      op.orders.reduce((a, b) => a + b, 0),
    );
    c.add("alloc.requests");
    c.add(`alloc.order${order}.requests`);
    if (op.label) c.add(`alloc.${op.label}.requests`);
    let page: MovablePage | null = null;
    let pfn: number | null;
    if (op.migratetype === "movable") {
      page = this.sys.allocMovable(order);
      pfn = page ? 0 : null;
    } else {
      pfn = this.sys.allocPages(order, op.migratetype);
    }
    if (pfn === null) {
      c.add("alloc.failed");
      c.add(`alloc.order${order}.failed`);
      if (op.label) c.add(`alloc.${op.label}.failed`);
      return;
    }
    const block: Block = {
      seq: this.seq++,
      type: op.migratetype,
      order,
      page,
      pfn,
      pins: [],
      liveIndex: -1,
      freed: false,
    };
    if (op.hold)
      this.timeline.at(this.t + drawRange(this.rnd, op.hold), () => {
        this.freeBlock(block);
        this.counters.add("free.expired");
      });
    else this.pools[op.migratetype].add(block);
  }

  private free(op: Extract<Op, { kind: "free" }>): void {
    const block = op.policy === "fifo" ? this.oldest(op.migratetype) : this.randomBlock(op.migratetype);
    if (!block) return this.skip();
    this.release(block);
    this.counters.add("free");
  }

  private randomBlock(type: BuddyType | null): Block | null {
    if (type !== null) {
      const live = this.pools[type].live;
      return live.length === 0 ? null : live[this.rnd.int(live.length)]!;
    }
    // Uniform over all live blocks: pick a pool by its size, then a block in it.
    const total = BUDDY_TYPES.reduce((sum, t) => sum + this.pools[t].live.length, 0);
    if (total === 0) return null;
    let i = this.rnd.int(total);
    for (const t of BUDDY_TYPES) {
      const live = this.pools[t].live;
      if (i < live.length) return live[i]!;
      i -= live.length;
    }
    return null;
  }

  private oldest(type: BuddyType | null): Block | null {
    let best: Block | null = null;
    for (const t of type === null ? BUDDY_TYPES : [type]) {
      const b = this.pools[t].oldest();
      if (b && (!best || b.seq < best.seq)) best = b;
    }
    return best;
  }

  /** Frees a pooled block, dropping its pins first (the process holding them has exited). */
  private release(block: Block): void {
    for (const pin of block.pins) if (pin.index >= 0) this.dropPin(pin);
    this.freeBlock(block);
    this.pools[block.type].remove(block);
  }

  private freeBlock(block: Block): void {
    if (block.page) block.page.free();
    else this.sys.freePages(block.pfn, block.order);
  }

  // ---- pins ----

  private pin(op: Extract<Op, { kind: "pin" }>): void {
    const live = this.pools.movable.live;
    if (live.length === 0) return this.skip();
    const block = live[this.rnd.int(live.length)]!;
    this.counters.add("pin");
    try {
      if (op.longterm) block.page!.pinLongterm();
      else block.page!.pin();
    } catch (e) {
      if (!(e instanceof DmaSimError)) throw e;
      this.counters.add("pin.failed");
      return;
    }
    const pin: Pin = { block, longterm: op.longterm, index: this.pinned.length };
    this.pinned.push(pin);
    block.pins.push(pin);
    if (op.hold) this.timeline.at(this.t + drawRange(this.rnd, op.hold), () => pin.index >= 0 && this.dropPin(pin));
  }

  private unpin(): void {
    if (this.pinned.length === 0) return this.skip();
    this.dropPin(this.pinned[this.rnd.int(this.pinned.length)]!);
  }

  private dropPin(pin: Pin): void {
    const page = pin.block.page!;
    if (pin.longterm) page.unpinLongterm();
    else page.unpin();
    const last = this.pinned.pop()!;
    if (last !== pin) {
      this.pinned[pin.index] = last;
      last.index = pin.index;
    }
    pin.index = -1;
    pin.block.pins = pin.block.pins.filter((p) => p !== pin);
    this.counters.add("unpin");
  }

  // ---- CMA and contiguous ranges ----

  private cma(op: Extract<Op, { kind: "cma" }>): void {
    const area = this.sys.cma(op.area);
    const pfn = area.alloc(op.count, op.alignOrder);
    if (pfn === null || !op.hold) return;
    this.timeline.at(this.t + drawRange(this.rnd, op.hold), () => area.release(pfn, op.count));
  }

  /** A device session: allocate its buffers now, release them all after the hold time. */
  private session(d: CmaConsumer): void {
    const c = this.counters;
    const area = this.sys.cma(d.area);
    const before = area.stats;
    const got: number[] = [];
    c.add(`device.${d.name}.sessions`);
    for (let i = 0; i < d.buffers; i++) {
      c.add(`device.${d.name}.frames`);
      const pfn = area.alloc(d.framePages, d.alignOrder);
      if (pfn === null) c.add(`device.${d.name}.frames.failed`);
      else got.push(pfn);
    }
    const after = area.stats;
    c.add(`device.${d.name}.pagesMigrated`, after.pagesMigrated - before.pagesMigrated);
    c.add(`device.${d.name}.busyRetries`, after.busyRetries - before.busyRetries);
    // The first session is the moment worth a picture: the buffers sit in the area.
    if (this.counters.get(`device.${d.name}.sessions`) === 1) this.snapshot(`${d.name}: first session`);
    const hold = drawRange(this.rnd, d.holdOps);
    if (got.length > 0) this.timeline.at(this.t + hold, () => got.forEach((pfn) => area.release(pfn, d.framePages)));
  }

  private contig(op: Extract<Op, { kind: "contig" }>): void {
    const align = 2 ** (op.alignOrder ?? this.sys.pageblockOrder);
    // Aligned starts whose range fits inside one regular segment.
    const choices = this.segments.map((s) => {
      const first = Math.ceil(s.start / align) * align;
      const last = s.end - op.count;
      return { first, n: last < first ? 0 : Math.floor((last - first) / align) + 1 };
    });
    const total = choices.reduce((sum, ch) => sum + ch.n, 0);
    if (total === 0) return this.skip();
    let i = this.rnd.int(total);
    let start = 0;
    for (const ch of choices) {
      if (i < ch.n) {
        start = ch.first + i * align;
        break;
      }
      i -= ch.n;
    }
    const c = this.counters;
    c.add("contig.requests");
    const ret = this.sys.allocContigRange(start, start + op.count, "movable");
    if (ret === 0) {
      c.add("contig.ok");
      if (op.hold)
        this.timeline.at(this.t + drawRange(this.rnd, op.hold), () => this.sys.freeContigRange(start, op.count));
    } else if (ret === -16) c.add("contig.ebusy");
    else c.add("contig.enomem");
  }

  // ---- dma-buf heaps ----

  private heap(op: Extract<Op, { kind: "heap" }>): void {
    const len =
      op.sizes[
        pickWeighted(
          this.rnd,
          op.sizeWeights,
          op.sizeWeights.reduce((a, b) => a + b, 0),
        )
      ]!;
    const release = this.heaps!.alloc(op, len, this.phase);
    if (release && op.hold) this.timeline.at(this.t + drawRange(this.rnd, op.hold), release);
  }

  // ---- the summary ----

  /** Headline figures: the workload's counters, CMA per area, and the machine at the end. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, value] of this.counters.values) out[key] = value;
    const requests = this.counters.get("alloc.requests");
    out["alloc.failedPct"] = pct(this.counters.get("alloc.failed"), requests);
    this.heaps?.summarize(out);
    this.files?.summarize(out);
    for (const area of this.sys.cmaAreas) {
      const s = area.stats;
      const allocs = s.allocsSucceeded + s.allocsFailed;
      const p = `cma.${area.name}`;
      out[`${p}.allocs`] = allocs;
      out[`${p}.failed`] = s.allocsFailed;
      out[`${p}.successPct`] = allocs === 0 ? 100 : pct(s.allocsSucceeded, allocs);
      out[`${p}.pagesMigrated`] = s.pagesMigrated;
      out[`${p}.migratedPerAlloc`] = s.allocsSucceeded === 0 ? 0 : Math.round(s.pagesMigrated / s.allocsSucceeded);
      out[`${p}.busyRetries`] = s.busyRetries;
    }
    const stats = this.sys.stats();
    out.pgmigrateSuccess = stats.pgmigrateSuccess;
    out.pgmigrateFail = stats.pgmigrateFail;
    out.longtermMigrated = stats.longtermMigrated;
    out.extfragEvents = stats.extfragEvents;
    out.extfragClaimed = stats.extfragClaimed;
    out.compactStall = stats.compactStall;
    out.compactSuccess = stats.compactSuccess;
    out.compactFail = stats.compactFail;
    out.compactMigrateScanned = stats.compactMigrateScanned;
    out.compactFreeScanned = stats.compactFreeScanned;
    out.compactIsolated = stats.compactIsolated;
    out.compactMigrated = stats.compactMigrated;
    out.compactDaemonWake = stats.compactDaemonWake;
    out.compactDaemonMigrateScanned = stats.compactDaemonMigrateScanned;
    out.compactDaemonFreeScanned = stats.compactDaemonFreeScanned;
    out.compactDaemonMigrated = stats.compactDaemonMigrated;
    const reclaim = sampleReclaim(this.sys);
    out.pgscanKswapd = reclaim.scannedKswapd;
    out.pgscanDirect = reclaim.scannedDirect;
    out.pgstealKswapd = reclaim.stolenKswapd;
    out.pgstealDirect = reclaim.stolenDirect;
    out.allocstall = reclaim.allocstalls;
    out.pageoutrun = reclaim.kswapdRuns;
    // Swap traffic, with swap only (so that swapless runs summarise as before).
    if (this.sys.swap.totalPages > 0) {
      out.pswpin = stats.pswpin;
      out.pswpout = stats.pswpout;
    }
    out.simulatedMs = this.sys.timeMs;
    const nrFree = this.sys.nrFreeByOrder();
    const pbo = this.sys.pageblockOrder;
    out["end.nrFreePages"] = stats.nrFreePages;
    out["end.pcpPages"] = this.sys.pcpPages; // free, but on per-cpu lists
    out["end.filePages"] = reclaim.filePages;
    out["end.dirtyPages"] = reclaim.dirtyPages;
    out["end.freePct"] = pct(stats.nrFreePages, this.sys.nrPages);
    // At the pageblock order (a huge page, or a CMA-sized chunk), under keys that do not
    // change with it, so configurations with other pageblock orders line up.
    out["end.extfragIndex.pageblock"] = fragmentationIndex(nrFree, pbo);
    out["end.unusableIndex.pageblock"] = unusableFreeIndex(nrFree, pbo);
    out["end.freePageblocks"] = nrFree.reduce(
      (sum, n, order) => (order >= pbo ? sum + n * 2 ** (order - pbo) : sum),
      0,
    );
    this.sys.pageblockCounts().forEach((n, mt) => {
      if (n > 0) out[`end.pageblocks.${MIGRATETYPES[mt]}`] = n;
    });
    return out;
  }
}

/** A percentage with one decimal, from integers: the same on every machine. */
function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10;
}
