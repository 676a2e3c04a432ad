/**
 * Trace replay: runs the page-allocator and CMA requests of a real kernel's
 * ftrace capture (see ftrace.ts) on a simulated machine, and reports how the
 * simulation fared against the traced kernel.
 *
 * The trace's pfns name frames of another machine, so they are identities, not
 * addresses: each trace allocation is replayed as the same request (order,
 * migratetype, zone and reserve rights from gfp_flags; CMA count, alignment and
 * area) and the trace pfn is mapped to what the simulation handed out, so that
 * the trace's frees reach the right simulated pages.
 *
 * Semantics, event by event:
 * - `mm_page_alloc` (`__alloc_pages()` returning): `System.allocPages(order,
 *   migratetype, flags)`. The migratetype comes from gfp_flags when they are
 *   symbolic (__GFP_MOVABLE, GFP_HIGHUSER_MOVABLE, GFP_TRANSHUGE* → movable;
 *   __GFP_RECLAIMABLE → reclaimable; else unmovable: gfp_migratetype()), because
 *   the printed number changed meaning in v4.4 (before it, 1 was reclaimable and
 *   2 movable); otherwise from the number with the v4.4+ enum (0 unmovable,
 *   1 movable, 2 reclaimable; 3+ are not requestable and the line is skipped).
 *   GFP_DMA / GFP_DMA32 ask for that zone when the machine has it (else Normal,
 *   counted as zoneFallbacks); GFP_ATOMIC and __GFP_HIGH get their reserve rights.
 *   Movable blocks are held through their owner (the engine's owner id), so a free still
 *   reaches the page after CMA has migrated it. A failed allocation in the trace
 *   (`page=(null)`) is replayed too; if the simulation satisfies it the block is
 *   freed at once, since the traced workload never held it. Outcomes are counted
 *   (traceSucceeded/traceFailed, simSucceeded/simFailed, agreed).
 * - A trace pfn allocated again while the trace still holds it (or overlapping a
 *   held block) means its free was not captured: the stale block is freed first
 *   (remapped).
 * - `mm_page_free` / `mm_page_free_direct` free the mapped block; a smaller order
 *   than allocated, or a pfn inside a block, frees part of it (split_page(), THP
 *   split): the simulated block, which cannot be split, is freed when all of it
 *   is (partialFrees). `mm_page_free_batched` uses the mapped order: it prints a
 *   literal "order=0" even for the larger folios v6.10+ batches.
 * - Every page freed through the batched path is reported twice, by
 *   mm_page_free (free_pages_prepare()) and by mm_page_free_batched, in either
 *   order depending on the kernel; the second report is a companionFree.
 * - Frees inside a live CMA allocation are the pages free_contig_range() hands
 *   back in cma_release() before it traces cma_release; frees just outside one
 *   just before its cma_alloc_finish are alloc_contig_range()'s trimmed head and
 *   tail. Both are counted as cmaPageFrees, not unmatched.
 * - Any other free of a pfn the trace never allocated is an unmatchedFree (the
 *   capture started later, or lost events: see lostEvents).
 * - `cma_alloc` / `cma_alloc_finish`: `CmaArea.alloc(count, align)` on the area
 *   of that name (the first area when the trace has no names; an unknown name
 *   also uses the first area and is counted as cmaUnknownArea); outcomes as for
 *   mm_page_alloc. `cma_release`: `CmaArea.release()` of the mapped range.
 *   `cma_alloc_start` is counted only (its cma_alloc_finish carries the result).
 * - `mm_page_alloc_extfrag` is an observation of the traced kernel's fallback,
 *   not a request: counted as traceExtfrag, to compare with the simulation's own
 *   fallbacks (simExtfrag, the extfragEvents it counted during the replay).
 *
 * The replay is deterministic: the same trace on the same machine gives the same
 * result and state hash on either backend.
 */
import { DmaSimError } from "../core/errors.ts";
import { requireInt } from "../core/validate.ts";
import { PfnTable } from "./pfn-table.ts";
import { utf8Text } from "./text-bytes.ts";
import { openTraceStream, type TraceByteSource } from "./trace-input.ts";
import type { ScanBatch } from "./trace-scan.ts";
import {
  FAST_ALLOC,
  FAST_BATCHED,
  FAST_FREE,
  FAST_SKIP,
  FAST_ZONE_LOCKED,
  kmemGfpFlags,
  KmemScan,
  LineBytes,
  MAX_ORDER_TEXT,
  parseTraceLineGeneral,
  scanKmemLine,
  TRACE_EVENTS,
  type TraceEvent,
} from "./ftrace.ts";
import { sampleMetrics, type MetricsSample } from "./metrics.ts";
import { dmasimVersion, RESULT_FORMAT } from "./version.ts";
import type { LabResult, MachineInfo, MemoryMapSnapshot } from "./result.ts";
import {
  type AllocFlags,
  type Backend,
  type CmaArea,
  createSystem,
  GIB,
  MIB,
  type Migratetype,
  type System,
  type SystemStats,
  type SystemOptions,
  type ZoneName,
} from "../index.ts";

/**
 * The machine a replay runs on unless told otherwise: 1 GiB of RAM without page
 * contents (the replay never reads them), 4 KiB pages, MAX_PAGE_ORDER 10,
 * pageblock order 9, one Normal zone, and one 64 MiB CMA area named "reserved"
 * (the default name of a `cma=` area). `ReplayOptions.system` is merged over it.
 */
export const DEFAULT_REPLAY_SYSTEM: Readonly<SystemOptions> = Object.freeze({
  ramBytes: 1 * GIB,
  storeContents: false,
  cma: [{ name: "reserved", bytes: 64 * MIB }],
});

const DEFAULT_SAMPLE_EVERY = 10_000;
const DEFAULT_MAX_SAMPLES = 400;
const DEFAULT_MAP_EVERY = 100_000;
const DEFAULT_MAX_MAPS = 10;

/** Options of the synchronous replayer. */
export interface ReplayerOptions {
  /** Events (parsed lines) between metric samples. Default 10,000; also sampled at the start and the end. */
  sampleEvery?: number;
  /** Samples kept: past it, every other one is dropped and the interval doubles (constant memory). Default 400. */
  maxSamples?: number;
  /** Events between memory-map snapshots. Default 100,000. */
  mapEvery?: number;
  /** Memory-map snapshots kept, start and end included; thinned like samples. Default 10. */
  maxMaps?: number;
  /**
   * Called with each metrics sample as it is taken (the start's, every
   * sampleEvery events', the end's), before any thinning: for plots that grow
   * while the replay runs. Default none.
   */
  onSample?: (sample: MetricsSample) => void;
}

/** Options of replayTraceStream() and replayTraceSource(). */
export interface ReplaySourceOptions extends ReplayerOptions {
  /** The machine, merged over DEFAULT_REPLAY_SYSTEM. */
  system?: SystemOptions;
  /** Engine build; overrides system.backend. */
  backend?: Backend;
  /** Called after each 64 KiB read, and at the end (totalBytes is 0 when unknown: stdin). */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Called with each warning, one line each (also kept in `LabResult.warnings`):
   * lines of known events that did not parse. Default none.
   */
  onWarning?: (message: string) => void;
  /**
   * Called now and then with the memory map as the replay goes (after the
   * chunk that passes each 1/40 of the input's size, or each MiB when the size
   * is unknown): a live picture, not part of the result. Default none.
   */
  onLiveMap?: (map: MemoryMapSnapshot) => void;
}

/** Options of replayTrace() (Node: replay-file.ts). */
export interface ReplayOptions extends ReplaySourceOptions {
  /**
   * Read, gunzip and scan a file on a worker thread while this thread replays
   * (the two overlap on a machine with a second core; results are the same).
   * Standard input is always read on this thread. Default true.
   */
  readerThread?: boolean;
}

/** What the parser saw: every line is counted once, as parsed or skipped. */
export interface ReplayEvents {
  parsed: number;
  skipped: number;
  /** Parsed events per event name. */
  byType: Record<string, number>;
  /** Skipped lines per reason (see ParsedLine), plus requests the machine cannot make. */
  skippedReasons: Record<string, number>;
}

/** Everything of a LabResult that the replayer itself produces. */
export interface ReplayPieces {
  machine: MachineInfo;
  samples: MetricsSample[];
  maps: MemoryMapSnapshot[];
  summary: Record<string, number>;
  events: ReplayEvents;
  replay: Record<string, number>;
  stateHash: string;
  /** One-line warnings: lines of known events (TRACE_EVENTS) that did not parse, with the first one's line number. */
  warnings: string[];
}

/** Where a trace block lives in the simulation. */
export interface ReplayMapping {
  /** Current first pfn of the simulated block (follows migration for movable blocks), or null when the simulation holds none. */
  simPfn: number | null;
  order: number;
  movable: boolean;
}

/** The synchronous core of a replay: feed it lines (or events), then finish(). */
export interface Replayer {
  /** Parses and replays one line of a text trace. Never throws on trace content. */
  feed(line: string): void;
  /** Replays one already parsed event. */
  feedEvent(event: TraceEvent): void;
  /** The simulated block a live trace block (by its first trace pfn) maps to, or null. */
  lookup(tracePfn: number): ReplayMapping | null;
  /** The simulated range a live trace CMA allocation maps to, or null. */
  lookupCma(tracePfn: number): { simPfn: number | null; count: number; area: string | null } | null;
  /** Takes the final sample and map; the replayer accepts no more input. */
  finish(): ReplayPieces;
}

/**
 * The counters of `LabResult.replay`, in the order they are reported:
 * - allocs: mm_page_alloc requests replayed; traceSucceeded/traceFailed and
 *   simSucceeded/simFailed their outcomes; agreed: same outcome in both;
 *   simOnlyFailed / simOnlySucceeded: the disagreements.
 * - remapped: held blocks dropped because the trace allocated over them.
 * - zoneFallbacks: GFP_DMA/GFP_DMA32 requests served from Normal (no such zone here).
 * - frees: simulated blocks freed by the trace; partialFrees: frees of part of a
 *   block; companionFrees: second reports of a free; freesWithoutSim: frees of
 *   trace blocks the simulation does not hold (it failed, or could not ask);
 *   cmaPageFrees: frees that belong to a CMA allocation or release;
 *   unmatchedFrees: frees of pages the trace never allocated; orderMismatches:
 *   frees with a larger order than allocated.
 * - cmaStarts: cma_alloc_start events; cmaAllocs and its outcome counters as for
 *   allocs; cmaRemapped: live ranges dropped by an overlapping allocation;
 *   cmaUnknownArea: allocations naming an area the machine lacks.
 * - cmaReleases: ranges released; cmaReleasesWithoutSim: releases of ranges the
 *   simulation does not hold; unmatchedCmaReleases: releases of unknown ranges;
 *   cmaCountMismatches: releases with another count than allocated.
 * - traceExtfrag: mm_page_alloc_extfrag events; simExtfrag: the simulation's own
 *   fallbacks over the replay. lostEvents: events ftrace reported lost.
 * - liveBlocks, liveCmaAllocs: what the trace still holds at the end.
 */
export const REPLAY_COUNTERS = [
  "allocs",
  "traceSucceeded",
  "traceFailed",
  "simSucceeded",
  "simFailed",
  "agreed",
  "simOnlyFailed",
  "simOnlySucceeded",
  "remapped",
  "zoneFallbacks",
  "frees",
  "partialFrees",
  "companionFrees",
  "freesWithoutSim",
  "cmaPageFrees",
  "unmatchedFrees",
  "orderMismatches",
  "cmaStarts",
  "cmaAllocs",
  "cmaTraceSucceeded",
  "cmaTraceFailed",
  "cmaSimSucceeded",
  "cmaSimFailed",
  "cmaAgreed",
  "cmaSimOnlyFailed",
  "cmaSimOnlySucceeded",
  "cmaRemapped",
  "cmaUnknownArea",
  "cmaReleases",
  "cmaReleasesWithoutSim",
  "unmatchedCmaReleases",
  "cmaCountMismatches",
  "traceExtfrag",
  "simExtfrag",
  "lostEvents",
  "liveBlocks",
  "liveCmaAllocs",
  "traceCompactEvents",
  "traceCompactions",
  "traceCompactSuccess",
  "traceCompactTries",
  "traceCompactMigrateScanned",
  "traceCompactFreeScanned",
  "traceCompactIsolated",
  "traceCompactMigrated",
  "traceCompactMigrateFailed",
  "traceCompactDeferred",
  "traceKcompactdWakes",
  "simCompactStall",
  "simCompactMigrateScanned",
  "simCompactFreeScanned",
  "simCompactIsolated",
  "simCompactMigrated",
  "simKcompactdWakes",
  "simCompactDaemonMigrated",
  "simulatedMs",
  "traceZoneLockedAllocs",
  "tracePcpRefillPages",
  "tracePcpDrainPages",
  "simPcpRefillPages",
  "simPcpDrainPages",
  "traceVmscanEvents",
  "traceKswapdWakes",
  "traceDirectReclaims",
  "traceDirectReclaimed",
  "traceReclaimScanned",
  "traceReclaimStolen",
  "traceReclaimDirty",
  "traceReclaimDeactivated",
  "traceReclaimWrites",
  "simPgscan",
  "simPgsteal",
  "simAllocstall",
] as const;
type Counter = (typeof REPLAY_COUNTERS)[number];

/** 2^k for every order a trace may print. */
const POW2 = Float64Array.from({ length: MAX_ORDER_TEXT + 1 }, (_, k) => 2 ** k);

/** `pfn` rounded down to a multiple of 2^k: with 32-bit integer shifts below 2^31 (a double `%` is a call to fmod). */
function alignDown(pfn: number, k: number): number {
  return pfn < 0x80000000 && k < 31 ? (pfn >>> k) << k : pfn - (pfn % POW2[k]!);
}

// Free event kinds, to tell a page's second report (the companion) from a double free.
const KIND_FREE = 1;
const KIND_BATCHED = 2;

/** What a held trace block has beyond its order, simulated pfn and owner (the tables): its freed parts. */
interface BlockExtra {
  /** Parts freed so far (split blocks): first trace pfn → order and the kinds that reported it. */
  pieces: Map<number, { order: number; kinds: number }>;
  piecePages: number;
}

interface CmaRange {
  tracePfn: number;
  count: number;
  area: CmaArea | null;
  /** -1: the simulation holds nothing for it. */
  simPfn: number;
}

interface GfpInfo {
  /** null when the flags are not symbolic. */
  migratetype: Migratetype | null;
  zone: ZoneName | undefined;
  high: boolean;
  atomic: boolean;
  /** allocPages()'s flags on this machine (null: none), once worked out (allocFlags()). */
  flags?: AllocFlags | null;
  /** The zone asked for is not in the machine (counted as zoneFallbacks at each request). */
  zoneMissing?: boolean;
}

/** Recent frees kept for companion matching (a list of pages is freed between the two reports): 64Ki to 128Ki. */
const RECENT_FREES = 65_536;
/** Recent unmatched frees kept for late attribution to a CMA allocation or release. */
const PENDING_FREES = 4096;

class TraceReplayer implements Replayer {
  private readonly c = Object.fromEntries(REPLAY_COUNTERS.map((k) => [k, 0])) as Record<Counter, number>;
  private parsed = 0;
  private skipped = 0;
  private readonly byType: Record<string, number> = {};
  private readonly skippedReasons: Record<string, number> = {};
  private finished = false;
  /** Lines of known events that did not parse ("malformed: …"), and the first one's line number and reason. */
  private malformed = 0;
  private firstMalformed: { line: number; reason: string } | null = null;

  private readonly scan = new KmemScan();
  private readonly lineBytes = new LineBytes();
  // The trace blocks held, by first trace pfn: order + 1 (0: none), the
  // simulated block's first pfn + 1 (0: none), the owner id + 1 of a movable
  // one (0: none; the owner follows the block when migration moves it: the
  // engine's ownerPfn()), and the rarer extras.
  private readonly heads = new PfnTable();
  private readonly sims = new PfnTable();
  private readonly owners = new PfnTable();
  private readonly extras = new Map<number, BlockExtra>();
  private liveBlocks = 0;
  /** Live blocks per order, and the highest order with one: how far up the containment searches look. */
  private readonly liveByOrder = new Int32Array(MAX_ORDER_TEXT + 1);
  private topLiveOrder = 0;
  // Recent frees in two generations of up to RECENT_FREES pfns each (a FIFO of
  // single evictions would cost more): per pfn, generation << 2 | kind of its
  // latest free; entries older than the previous generation have expired.
  private readonly recent = new PfnTable();
  private recentGeneration = 2;
  private recentSize = 0;
  private readonly ranges: CmaRange[] = [];
  private readonly pendPfn = new Float64Array(PENDING_FREES).fill(-1);
  private pendTotal = 0;
  /** pendTotal at the last cma_alloc_start, or -1. */
  private cmaStartMark = -1;
  private readonly gfpCache = new Map<string, GfpInfo | null>();
  /** What each gfp_flags text the reader thread sent asks for, by its id (ScanBatch.gfpIds). */
  private readonly gfpById: (GfpInfo | null)[] = [];
  private readonly zonesPresent: Set<string>;
  private readonly extfragAtStart: number;
  /** The compaction counters at the start (the simulation's are counted over the replay). */
  private readonly compactAtStart: SystemStats;
  /** The simulation's per-cpu list traffic when the replay started. */
  private readonly pcpAtStart: { refillPages: number; drainPages: number };
  /** The first event's timestamp (s): the replay's clock is the trace's, from there. */
  private t0: number | null = null;
  /** The last clock target (ms): the simulated time is at least this. */
  private clockTarget = -1;

  private readonly samples: MetricsSample[] = [];
  private sampleEvery: number;
  private nextSample: number;
  private readonly maxSamples: number;
  private readonly maps: MemoryMapSnapshot[] = [];
  private mapEvery: number;
  private nextMap: number;
  private readonly maxMaps: number;
  private readonly onSample: ((sample: MetricsSample) => void) | undefined;

  constructor(
    private readonly sys: System,
    options: ReplayerOptions,
  ) {
    this.sampleEvery = options.sampleEvery ?? DEFAULT_SAMPLE_EVERY;
    this.maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
    this.mapEvery = options.mapEvery ?? DEFAULT_MAP_EVERY;
    this.maxMaps = options.maxMaps ?? DEFAULT_MAX_MAPS;
    this.nextSample = this.sampleEvery;
    this.nextMap = this.mapEvery;
    this.zonesPresent = new Set(sys.zones().map((z) => z.name));
    this.extfragAtStart = sys.stats().extfragEvents;
    this.compactAtStart = sys.stats();
    this.pcpAtStart = sys.pcpTraffic;
    this.onSample = options.onSample;
    this.pushSample(sampleMetrics(sys, 0));
    if (this.maxMaps >= 2) this.maps.push(this.snapshot(0, "start"));
  }

  // ---- input ----------------------------------------------------------------------------------

  feed(line: string): void {
    this.live();
    const length = this.lineBytes.load(line);
    if (length < 0 || !this.feedKmem(this.lineBytes.bytes, 0, length)) this.feedGeneral(line);
  }

  /**
   * feed() of the line bytes[from, to) (without its line end; UTF-8), as
   * replayTrace() reads files: the hot events go from the bytes to the replay
   * without a string or a TraceEvent.
   * @internal
   */
  feedBytes(bytes: Uint8Array, from: number, to: number): void {
    this.live();
    if (!this.feedKmem(bytes, from, to)) this.feedGeneral(utf8Text(bytes, from, to));
  }

  /**
   * feed() of a batch of lines the worker's scanner read (trace-scan.ts): per
   * line its kind (FAST_*; 0 for a line left to the general parser, whose text
   * is next in `texts`), numbers and gfp flags id.
   * @internal
   */
  feedBatch(batch: ScanBatch): void {
    this.live();
    for (const text of batch.newGfp) this.gfpById.push(this.gfp(text));
    const { count, kinds, numbers, gfpIds, texts } = batch;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const kind = kinds[i]!;
      if (kind === 0) {
        this.feedGeneral(texts[k++]!);
      } else if (kind === FAST_SKIP) {
        this.skip("other event");
      } else {
        const j = 4 * i;
        const gfp = kind === FAST_ALLOC ? this.gfpById[gfpIds[i]!]! : null;
        this.applyKmem(kind, numbers[j]!, numbers[j + 1]!, numbers[j + 2]!, numbers[j + 3]!, gfp, gfpIds[i] === 1);
      }
    }
  }

  /** Replays a line the fast scanner reads; false when it needs the general parser. */
  private feedKmem(bytes: Uint8Array, from: number, to: number): boolean {
    const scan = this.scan;
    const kind = scanKmemLine(bytes, from, to, scan);
    if (kind === 0) return false;
    if (kind === FAST_SKIP) this.skip("other event");
    else
      this.applyKmem(
        kind,
        scan.pfn,
        scan.order,
        scan.migratetype,
        scan.timestamp,
        kind === FAST_ALLOC ? this.gfp(kmemGfpFlags(bytes, scan)) : null,
        scan.percpuRefill,
      );
    return true;
  }

  private feedGeneral(line: string): void {
    const p = parseTraceLineGeneral(line);
    if ("event" in p) {
      this.apply(p.event);
    } else {
      this.skip(p.skip);
      if (p.lost !== undefined) this.c.lostEvents += p.lost;
      if (p.skip.startsWith("malformed")) {
        this.malformed++;
        this.firstMalformed ??= { line: this.parsed + this.skipped, reason: p.skip };
      }
    }
  }

  feedEvent(event: TraceEvent): void {
    this.live();
    this.apply(event);
  }

  private live(): void {
    if (this.finished) throw new DmaSimError("EINVAL", "replay: the replayer is finished");
  }

  private skip(reason: string): void {
    this.skipped++;
    this.skippedReasons[reason] = (this.skippedReasons[reason] ?? 0) + 1;
  }

  private apply(ev: TraceEvent): void {
    if (ev.timestamp !== undefined) this.clock(ev.timestamp);
    this.count(ev.name, this.replay(ev));
  }

  /** apply() for a line scanKmemLine() read (timestamp -1: none; percpuRefill: FAST_ZONE_LOCKED only). */
  private applyKmem(
    kind: number,
    pfn: number,
    order: number,
    migratetype: number,
    timestamp: number,
    gfp: GfpInfo | null,
    percpuRefill: boolean,
  ): void {
    if (timestamp >= 0) this.clock(timestamp);
    if (kind === FAST_ALLOC) this.count("mm_page_alloc", this.alloc(pfn, order, migratetype, gfp));
    else if (kind === FAST_FREE) this.count("mm_page_free", this.free(pfn, order, KIND_FREE));
    else if (kind === FAST_BATCHED) this.count("mm_page_free_batched", this.free(pfn, undefined, KIND_BATCHED));
    else if (kind === FAST_ZONE_LOCKED)
      this.count("mm_page_alloc_zone_locked", this.countPcp(false, order, percpuRefill));
    else this.count("mm_page_pcpu_drain", this.countPcp(true, order, false));
  }

  /** Counts a replayed event, or its line as skipped for `why`; takes samples and maps when due. */
  private count(name: string, why: string | null): void {
    if (why !== null) {
      this.skip(why);
      return;
    }
    this.parsed++;
    this.byType[name] = (this.byType[name] ?? 0) + 1;
    if (this.parsed >= this.nextSample) this.takeSample();
    if (this.parsed >= this.nextMap) this.takeMap();
  }

  /** Replays one event; returns why it was not replayable, or null. */
  private replay(ev: TraceEvent): string | null {
    // Events fed directly may carry any number: block orders as the parser bounds them
    // (compaction events print -1 for a whole-zone compaction).
    const order = ev.order;
    if (
      order !== undefined &&
      ev.compaction === undefined &&
      !(Number.isInteger(order) && order >= 0 && order <= MAX_ORDER_TEXT)
    )
      return "malformed: bad order";
    switch (ev.name) {
      case "mm_page_alloc":
        if (ev.order === undefined || ev.migratetype === undefined) return "malformed: missing order";
        return this.alloc(ev.pfn, ev.order, ev.migratetype, this.gfp(ev.raw.gfp_flags));
      case "mm_page_free":
      case "mm_page_free_direct":
        return this.free(ev.pfn, ev.order, KIND_FREE);
      case "mm_page_free_batched":
        return this.free(ev.pfn, undefined, KIND_BATCHED);
      case "mm_page_alloc_extfrag":
        this.c.traceExtfrag++;
        return null;
      case "cma_alloc_start":
        this.c.cmaStarts++;
        this.cmaStartMark = this.pendTotal;
        return null;
      case "cma_alloc":
      case "cma_alloc_finish":
        return this.cmaAlloc(ev);
      case "cma_release":
        return this.cmaRelease(ev);
      case "mm_page_alloc_zone_locked":
      case "mm_page_pcpu_drain":
        return this.observePcp(ev);
      default:
        if (ev.compaction !== undefined) return this.observeCompaction(ev);
        if (ev.vmscan !== undefined) return this.observeVmscan(ev);
        return "other event";
    }
  }

  /**
   * The simulated clock follows the trace's timestamps (ms since the first
   * event, rounded down), so kcompactd and proactive compaction run when the
   * traced kernel's would have; lines without a timestamp leave it where it is.
   */
  private clock(timestamp: number): void {
    this.t0 ??= timestamp;
    const target = Math.floor((timestamp - this.t0) * 1000);
    // Time only moves forward: a target not past the last one is reached already.
    if (target <= this.clockTarget) return;
    this.clockTarget = target;
    const now = this.sys.timeMs;
    if (target > now) this.sys.advanceTime(target - now);
  }

  /**
   * A per-cpu list event: an observation of the traced kernel, counted beside
   * the simulation's own per-cpu traffic (its allocations and frees already
   * went through its pcp lists), not replayed.
   */
  private observePcp(ev: TraceEvent): null {
    return this.countPcp(ev.name === "mm_page_pcpu_drain", ev.order ?? 0, ev.percpuRefill === true);
  }

  private countPcp(drain: boolean, order: number, percpuRefill: boolean): null {
    const pages = POW2[order]!;
    if (drain) {
      this.c.tracePcpDrainPages += pages;
    } else {
      this.c.traceZoneLockedAllocs++;
      if (percpuRefill) this.c.tracePcpRefillPages += pages;
    }
    return null;
  }

  /**
   * A reclaim event (vmscan): an observation of the traced kernel, counted beside
   * the simulation's own reclaim, not replayed (the replayed machine has no page
   * cache, so its reclaim finds little).
   */
  private observeVmscan(ev: TraceEvent): null {
    const c = this.c;
    const v = ev.vmscan!;
    c.traceVmscanEvents++;
    switch (ev.name) {
      case "mm_vmscan_kswapd_wake":
        c.traceKswapdWakes++;
        break;
      case "mm_vmscan_direct_reclaim_begin":
        c.traceDirectReclaims++;
        break;
      case "mm_vmscan_direct_reclaim_end":
        c.traceDirectReclaimed += v.nrReclaimed!;
        break;
      case "mm_vmscan_lru_shrink_inactive":
        c.traceReclaimScanned += v.nrScanned!;
        c.traceReclaimStolen += v.nrReclaimed!;
        c.traceReclaimDirty += v.nrDirty!;
        break;
      case "mm_vmscan_lru_shrink_active":
        c.traceReclaimDeactivated += v.nrDeactivated!;
        break;
      case "mm_vmscan_write_folio":
      case "mm_vmscan_writepage":
        c.traceReclaimWrites++;
        break;
    }
    return null;
  }

  /** A compaction event: an observation of the traced kernel, counted, not replayed. */
  private observeCompaction(ev: TraceEvent): null {
    const c = this.c;
    const f = ev.compaction!;
    c.traceCompactEvents++;
    switch (ev.name) {
      case "mm_compaction_begin":
        c.traceCompactions++;
        break;
      case "mm_compaction_end":
        if (f.result === "success") c.traceCompactSuccess++;
        break;
      case "mm_compaction_try_to_compact_pages":
        c.traceCompactTries++;
        break;
      case "mm_compaction_isolate_migratepages":
        c.traceCompactMigrateScanned += f.nrScanned!;
        c.traceCompactIsolated += f.nrTaken!;
        break;
      case "mm_compaction_isolate_freepages":
        c.traceCompactFreeScanned += f.nrScanned!;
        c.traceCompactIsolated += f.nrTaken!;
        break;
      case "mm_compaction_migratepages":
        c.traceCompactMigrated += f.nrMigrated!;
        c.traceCompactMigrateFailed += f.nrFailed!;
        break;
      case "mm_compaction_deferred":
        c.traceCompactDeferred++;
        break;
      case "mm_compaction_kcompactd_wake":
        c.traceKcompactdWakes++;
        break;
    }
    return null;
  }

  // ---- the page allocator ---------------------------------------------------------------------

  private alloc(tracePfn: number | null, order: number, migratetype: number, gfp: GfpInfo | null): string | null {
    if (tracePfn !== null) this.forgetStale(tracePfn, order);
    const mt = gfp?.migratetype ?? NUMBERED_MIGRATETYPES[migratetype] ?? null;
    let why: string | null = null;
    if (order > this.sys.maxOrder) why = "mm_page_alloc: order above the machine's MAX_PAGE_ORDER";
    else if (mt === null) why = "mm_page_alloc: migratetype not requestable";
    if (why !== null) {
      // Not replayed, but its frees are expected: remember the trace block.
      if (tracePfn !== null) this.addBlock(tracePfn, order, -1, -1);
      return why;
    }
    const flags = gfp === null ? null : this.allocFlags(gfp);
    const simPfn = flags === null ? this.sys.allocPages(order, mt!) : this.sys.allocPages(order, mt!, flags);
    const traceOk = tracePfn !== null;
    const simOk = simPfn !== null;
    const c = this.c;
    c.allocs++;
    if (traceOk) c.traceSucceeded++;
    else c.traceFailed++;
    if (simOk) c.simSucceeded++;
    else c.simFailed++;
    if (traceOk === simOk) c.agreed++;
    else if (traceOk) c.simOnlyFailed++;
    else c.simOnlySucceeded++;
    if (!traceOk) {
      if (simOk) this.sys.freePages(simPfn, order);
      return null;
    }
    // A movable block is held through its owner (as a MovablePage would hold it).
    const owner = simOk && mt === "movable" ? this.sys.engine.ownerOf(simPfn) : -1;
    this.addBlock(tracePfn, order, simPfn ?? -1, owner);
    return null;
  }

  /** Holds a trace block: its simulated block at `simPfn` (-1: none), owned by `owner` (-1: none). */
  private addBlock(tracePfn: number, order: number, simPfn: number, owner: number): void {
    this.heads.set(tracePfn, order + 1);
    this.sims.set(tracePfn, simPfn + 1);
    this.owners.set(tracePfn, owner + 1);
    this.liveBlocks++;
    this.liveByOrder[order]!++;
    if (order > this.topLiveOrder) this.topLiveOrder = order;
    this.forgetRecent(tracePfn);
  }

  /** The order of the block held at `tracePfn`, or -1. */
  private blockOrder(tracePfn: number): number {
    return this.heads.get(tracePfn) - 1;
  }

  private extra(tracePfn: number): BlockExtra | undefined {
    return this.extras.size > 0 ? this.extras.get(tracePfn) : undefined;
  }

  /** Whether the simulation holds the trace block at `tracePfn`. */
  private simulated(tracePfn: number): boolean {
    return this.sims.get(tracePfn) !== 0 || this.owners.get(tracePfn) !== 0;
  }

  /** The simulated block's first pfn now (after any migration), or -1. */
  private simPfnNow(tracePfn: number): number {
    const owner = this.owners.get(tracePfn) - 1;
    return owner >= 0 ? this.sys.engine.ownerPfn(owner) : this.sims.get(tracePfn) - 1;
  }

  /** Frees blocks the trace evidently freed without our seeing it: any held block overlapping [pfn, pfn + 2^order). */
  private forgetStale(pfn: number, order: number): void {
    const heads = this.heads;
    if (heads.get(pfn) !== 0) this.dropBlock(pfn, "remapped");
    for (let k = 1; k <= this.topLiveOrder; k++) {
      const head = alignDown(pfn, k);
      if (head === pfn) continue;
      const headOrder = heads.get(head) - 1;
      if (headOrder < 0 || head + POW2[headOrder]! <= pfn) continue;
      // A freed part of a split block may be allocated again while the rest is held.
      if (!this.pieceCovering(head, pfn)) this.dropBlock(head, "remapped");
    }
    const end = pfn + POW2[order]!;
    for (let q = pfn + 1; q < end; q++) {
      if (heads.get(q) !== 0) this.dropBlock(q, "remapped");
    }
  }

  /** Removes a trace block and frees its simulated block, counting it as `counter`. */
  private dropBlock(tracePfn: number, counter: Counter): void {
    const order = this.blockOrder(tracePfn);
    const simPfn = this.simPfnNow(tracePfn);
    this.heads.set(tracePfn, 0);
    this.sims.set(tracePfn, 0);
    this.owners.set(tracePfn, 0);
    if (this.extra(tracePfn) !== undefined) this.extras.delete(tracePfn);
    this.liveBlocks--;
    this.liveByOrder[order]!--;
    while (this.topLiveOrder > 0 && this.liveByOrder[this.topLiveOrder] === 0) this.topLiveOrder--;
    if (simPfn >= 0) this.sys.freePages(simPfn, order);
    this.c[counter]++;
  }

  private pieceCovering(head: number, pfn: number): boolean {
    const pieces = this.extra(head)?.pieces;
    if (!pieces) return false;
    for (const [first, piece] of pieces) if (pfn >= first && pfn < first + POW2[piece.order]!) return true;
    return false;
  }

  /** The held block containing `pfn` (not as its first page), or null. */
  private containing(pfn: number): number | null {
    for (let k = 1; k <= this.topLiveOrder; k++) {
      const head = alignDown(pfn, k);
      if (head === pfn) continue;
      const headOrder = this.heads.get(head) - 1;
      if (headOrder >= 0 && head + POW2[headOrder]! > pfn) return head;
    }
    return null;
  }

  private free(pfn: number | null, order: number | undefined, kind: number): string | null {
    if (pfn === null) return "malformed: missing pfn";
    const blockOrder = this.blockOrder(pfn);
    if (blockOrder >= 0) {
      if (this.extra(pfn)?.pieces?.has(pfn)) {
        this.freePiece(pfn, pfn, order ?? 0, kind);
      } else if (order === undefined || order >= blockOrder) {
        if (order !== undefined && order > blockOrder) this.c.orderMismatches++;
        this.dropBlock(pfn, this.simulated(pfn) ? "frees" : "freesWithoutSim");
        this.noteRecent(pfn, kind);
      } else {
        this.freePiece(pfn, pfn, order, kind);
      }
      return null;
    }
    const head = this.containing(pfn);
    if (head !== null) {
      this.freePiece(head, pfn, order ?? 0, kind);
      return null;
    }
    const seen = this.recentKind(pfn);
    if (seen !== 0 && (seen & kind) === 0) {
      this.c.companionFrees++;
      this.forgetRecent(pfn);
      return null;
    }
    if (this.rangeAt(pfn) !== null) {
      this.c.cmaPageFrees++;
      return null;
    }
    this.c.unmatchedFrees++;
    const slot = this.pendTotal++ % PENDING_FREES;
    this.pendPfn[slot] = pfn;
    return null;
  }

  /** A free of part of the block held at `head`: the simulated block goes when all of it has. */
  private freePiece(head: number, pfn: number, order: number, kind: number): void {
    let extra = this.extra(head);
    if (extra === undefined) {
      extra = { pieces: new Map(), piecePages: 0 };
      this.extras.set(head, extra);
    }
    const piece = extra.pieces.get(pfn);
    if (piece) {
      if ((piece.kinds & kind) === 0) {
        piece.kinds |= kind;
        this.c.companionFrees++;
      } else {
        this.c.unmatchedFrees++;
      }
      return;
    }
    extra.pieces.set(pfn, { order, kinds: kind });
    extra.piecePages += POW2[order]!;
    this.c.partialFrees++;
    this.noteRecent(pfn, kind);
    if (extra.piecePages >= POW2[this.blockOrder(head)]!)
      this.dropBlock(head, this.simulated(head) ? "frees" : "freesWithoutSim");
  }

  private noteRecent(pfn: number, kind: number): void {
    if (this.recentSize >= RECENT_FREES) {
      this.recentGeneration++;
      this.recentSize = 0;
    }
    if (this.recent.get(pfn) >> 2 !== this.recentGeneration) this.recentSize++;
    this.recent.set(pfn, (this.recentGeneration << 2) | kind);
  }

  /** The kind of `pfn`'s latest free in the current or previous generation, or 0. */
  private recentKind(pfn: number): number {
    const entry = this.recent.get(pfn);
    return entry >> 2 >= this.recentGeneration - 1 ? entry & 3 : 0;
  }

  private forgetRecent(pfn: number): void {
    const entry = this.recent.get(pfn);
    if (entry === 0) return;
    if (entry >> 2 === this.recentGeneration) this.recentSize--;
    this.recent.set(pfn, 0);
  }

  private gfp(flags: string | undefined): GfpInfo | null {
    if (flags === undefined) return null;
    let info = this.gfpCache.get(flags);
    if (info !== undefined) return info;
    info = parseGfp(flags);
    if (this.gfpCache.size < 1024) this.gfpCache.set(flags, info);
    return info;
  }

  private allocFlags(g: GfpInfo): AllocFlags | null {
    if (g.flags === undefined) {
      // Worked out once per gfp text (the cache is this replayer's, as is the machine).
      let zone = g.zone;
      g.zoneMissing = zone !== undefined && !this.zonesPresent.has(zone);
      if (g.zoneMissing) zone = undefined;
      let flags: AllocFlags | null = null;
      if (zone !== undefined || g.high || g.atomic) {
        flags = {};
        if (zone !== undefined) flags.zone = zone;
        if (g.high) flags.high = true;
        if (g.atomic) flags.atomic = true;
      }
      g.flags = flags;
    }
    if (g.zoneMissing) this.c.zoneFallbacks++;
    return g.flags;
  }

  // ---- CMA ----------------------------------------------------------------------------------------

  private cmaAlloc(ev: TraceEvent): string | null {
    const count = ev.count;
    if (count === undefined) return "malformed: missing count";
    const align = ev.align ?? 0;
    const tracePfn = ev.pfn;
    const since = this.cmaStartMark;
    this.cmaStartMark = -1;
    if (tracePfn !== null) this.forgetStaleCma(tracePfn, count);
    const area = this.areaFor(ev.area);
    let why: string | null = null;
    if (area === null) why = "cma: no CMA area in the machine";
    else if (align > 30) why = "cma: align order above 30";
    else if (count > 2 ** 31 - 1) why = "cma: count out of range";
    if (why !== null) {
      if (tracePfn !== null) this.addRange(tracePfn, count, null, -1);
      return why;
    }
    const simPfn = area!.alloc(count, align);
    const traceOk = tracePfn !== null;
    const simOk = simPfn !== null;
    const c = this.c;
    c.cmaAllocs++;
    c[traceOk ? "cmaTraceSucceeded" : "cmaTraceFailed"]++;
    c[simOk ? "cmaSimSucceeded" : "cmaSimFailed"]++;
    if (traceOk === simOk) c.cmaAgreed++;
    else c[traceOk ? "cmaSimOnlyFailed" : "cmaSimOnlySucceeded"]++;
    if (!traceOk) {
      if (simOk) area!.release(simPfn, count);
    } else {
      this.addRange(tracePfn, count, area, simPfn ?? -1);
      // alloc_contig_range() gave back the head and tail of the MAX_ORDER-aligned
      // blocks it took, as frees of pages never allocated: attribute them.
      const span = 2 ** this.sys.maxOrder;
      const lo = tracePfn - (tracePfn % span);
      const hi = Math.ceil((tracePfn + count) / span) * span;
      this.attributePending(lo, hi, since);
    }
    return null;
  }

  private cmaRelease(ev: TraceEvent): string | null {
    const pfn = ev.pfn;
    const count = ev.count;
    if (pfn === null || count === undefined) return "malformed: missing pfn";
    const i = this.rangeIndex(pfn);
    const r = i >= 0 ? this.ranges[i]! : null;
    if (r === null || r.tracePfn !== pfn) {
      this.c.unmatchedCmaReleases++;
      // free_contig_range() freed these pages just before: they were not unmatched.
      this.attributePending(pfn, pfn + count, -1);
      return null;
    }
    this.ranges.splice(i, 1);
    if (count !== r.count) this.c.cmaCountMismatches++;
    if (r.area !== null && r.simPfn >= 0) {
      r.area.release(r.simPfn, r.count);
      this.c.cmaReleases++;
    } else {
      this.c.cmaReleasesWithoutSim++;
    }
    return null;
  }

  private areaFor(name: string | undefined): CmaArea | null {
    const areas = this.sys.cmaAreas;
    if (areas.length === 0) return null;
    if (name === undefined) return areas[0]!;
    const area = areas.find((a) => a.name === name);
    if (area) return area;
    this.c.cmaUnknownArea++;
    return areas[0]!;
  }

  /** Index of the last range starting at or below `pfn`, or -1. */
  private rangeIndex(pfn: number): number {
    let lo = 0;
    let hi = this.ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid]!.tracePfn <= pfn) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private rangeAt(pfn: number): CmaRange | null {
    const i = this.rangeIndex(pfn);
    const r = i >= 0 ? this.ranges[i]! : null;
    return r !== null && pfn < r.tracePfn + r.count ? r : null;
  }

  /** Releases live CMA ranges overlapping [pfn, pfn + count): their cma_release was not captured. */
  private forgetStaleCma(pfn: number, count: number): void {
    let i = Math.max(0, this.rangeIndex(pfn));
    while (i < this.ranges.length) {
      const r = this.ranges[i]!;
      if (r.tracePfn >= pfn + Math.max(count, 1)) break;
      if (r.tracePfn + r.count > pfn) {
        this.ranges.splice(i, 1);
        if (r.area !== null && r.simPfn >= 0) r.area.release(r.simPfn, r.count);
        this.c.cmaRemapped++;
      } else {
        i++;
      }
    }
  }

  private addRange(tracePfn: number, count: number, area: CmaArea | null, simPfn: number): void {
    this.ranges.splice(this.rangeIndex(tracePfn) + 1, 0, { tracePfn, count, area, simPfn });
  }

  /** Re-counts recent unmatched frees in [lo, hi), made after pending index `since` (-1: any kept), as cmaPageFrees. */
  private attributePending(lo: number, hi: number, since: number): void {
    const first = Math.max(this.pendTotal - PENDING_FREES, since < 0 ? 0 : since);
    for (let n = first; n < this.pendTotal; n++) {
      const slot = n % PENDING_FREES;
      const pfn = this.pendPfn[slot]!;
      if (pfn >= lo && pfn < hi) {
        this.pendPfn[slot] = -1;
        this.c.unmatchedFrees--;
        this.c.cmaPageFrees++;
      }
    }
  }

  // ---- lookups ----------------------------------------------------------------------------------

  lookup(tracePfn: number): ReplayMapping | null {
    const order = this.blockOrder(tracePfn);
    if (order < 0) return null;
    const simPfn = this.simPfnNow(tracePfn);
    return { simPfn: simPfn >= 0 ? simPfn : null, order, movable: this.owners.get(tracePfn) !== 0 };
  }

  lookupCma(tracePfn: number): { simPfn: number | null; count: number; area: string | null } | null {
    const r = this.rangeAt(tracePfn);
    if (r === null || r.tracePfn !== tracePfn) return null;
    return { simPfn: r.simPfn >= 0 ? r.simPfn : null, count: r.count, area: r.area?.name ?? null };
  }

  // ---- samples and maps -----------------------------------------------------------------------

  private pushSample(sample: MetricsSample): void {
    this.samples.push(sample);
    this.onSample?.(sample);
  }

  private takeSample(): void {
    this.pushSample(sampleMetrics(this.sys, this.parsed));
    this.nextSample += this.sampleEvery;
    if (this.samples.length > this.maxSamples) {
      // Halve the resolution: keep the start and the multiples of the new interval.
      this.sampleEvery *= 2;
      const keep = this.samples.filter((s) => s.t % this.sampleEvery === 0);
      this.samples.length = 0;
      this.samples.push(...keep);
      this.nextSample = (Math.floor(this.parsed / this.sampleEvery) + 1) * this.sampleEvery;
    }
  }

  private takeMap(): void {
    this.nextMap += this.mapEvery;
    if (this.maxMaps < 3) return;
    this.maps.push(this.snapshot(this.parsed, `after ${this.parsed} events`));
    // Room for the end snapshot stays free.
    if (this.maps.length > this.maxMaps - 1) {
      this.mapEvery *= 2;
      const keep = this.maps.filter((m) => m.t % this.mapEvery === 0);
      this.maps.length = 0;
      this.maps.push(...keep);
      this.nextMap = (Math.floor(this.parsed / this.mapEvery) + 1) * this.mapEvery;
    }
  }

  /** The memory map now, labelled "live" (read only: the replay goes on as before). @internal */
  liveMap(): MemoryMapSnapshot {
    return this.snapshot(this.parsed, "live");
  }

  private snapshot(t: number, label: string): MemoryMapSnapshot {
    const m = this.sys.memoryMap();
    return {
      t,
      label,
      migratetypes: Array.from(m.migratetypes),
      freePages: Array.from(m.freePages),
      pageblockNrPages: m.pageblockNrPages,
    };
  }

  // ---- the end ------------------------------------------------------------------------------------

  finish(): ReplayPieces {
    this.live();
    this.finished = true;
    const sys = this.sys;
    const stats = sys.stats();
    const c = this.c;
    c.simExtfrag = stats.extfragEvents - this.extfragAtStart;
    c.liveBlocks = this.liveBlocks;
    c.liveCmaAllocs = this.ranges.length;
    const s0 = this.compactAtStart;
    c.simCompactStall = stats.compactStall - s0.compactStall;
    c.simCompactMigrateScanned = stats.compactMigrateScanned - s0.compactMigrateScanned;
    c.simCompactFreeScanned = stats.compactFreeScanned - s0.compactFreeScanned;
    c.simCompactIsolated = stats.compactIsolated - s0.compactIsolated;
    c.simCompactMigrated = stats.compactMigrated - s0.compactMigrated;
    c.simKcompactdWakes = stats.compactDaemonWake - s0.compactDaemonWake;
    c.simCompactDaemonMigrated = stats.compactDaemonMigrated - s0.compactDaemonMigrated;
    c.simPgscan = stats.pgscanKswapd + stats.pgscanDirect - (s0.pgscanKswapd + s0.pgscanDirect);
    c.simPgsteal = stats.pgstealKswapd + stats.pgstealDirect - (s0.pgstealKswapd + s0.pgstealDirect);
    const stalls = (x: SystemStats) => x.allocstallDma + x.allocstallDma32 + x.allocstallNormal + x.allocstallMovable;
    c.simAllocstall = stalls(stats) - stalls(s0);
    c.simulatedMs = sys.timeMs;
    const pcp = sys.pcpTraffic;
    c.simPcpRefillPages = pcp.refillPages - this.pcpAtStart.refillPages;
    c.simPcpDrainPages = pcp.drainPages - this.pcpAtStart.drainPages;
    if (this.samples[this.samples.length - 1]!.t !== this.parsed) this.pushSample(sampleMetrics(sys, this.parsed));
    if (this.maxMaps >= 1) {
      const last = this.maps[this.maps.length - 1];
      if (last !== undefined && last.t === this.parsed && last.label !== "start") this.maps.pop();
      this.maps.push(this.snapshot(this.parsed, "end"));
    }
    const replay: Record<string, number> = {};
    for (const key of REPLAY_COUNTERS) replay[key] = c[key];
    const summary: Record<string, number> = {
      lines: this.parsed + this.skipped,
      events: this.parsed,
      skipped: this.skipped,
      allocs: c.allocs,
      allocAgreementPct: c.allocs === 0 ? 100 : Math.round((c.agreed / c.allocs) * 1000) / 10,
      traceAllocFailed: c.traceFailed,
      simAllocFailed: c.simFailed,
      unmatchedFrees: c.unmatchedFrees,
      cmaAllocs: c.cmaAllocs,
      cmaTraceFailed: c.cmaTraceFailed,
      cmaSimFailed: c.cmaSimFailed,
      traceExtfrag: c.traceExtfrag,
      simExtfrag: c.simExtfrag,
      pgmigrateSuccess: stats.pgmigrateSuccess,
      traceCompactMigrated: c.traceCompactMigrated,
      simCompactMigrated: c.simCompactMigrated,
      traceCompactMigrateScanned: c.traceCompactMigrateScanned,
      simCompactMigrateScanned: c.simCompactMigrateScanned,
      traceKcompactdWakes: c.traceKcompactdWakes,
      simKcompactdWakes: c.simKcompactdWakes,
      simulatedMs: c.simulatedMs,
      liveBlocks: c.liveBlocks,
      nrFreePages: stats.nrFreePages,
      // Free, but on per-cpu lists: not in NR_FREE_PAGES.
      pcpPages: sys.pcpPages,
    };
    return {
      machine: {
        ramBytes: sys.ramBytes,
        pageSize: sys.pageSize,
        maxOrder: sys.maxOrder,
        pageblockOrder: sys.pageblockOrder,
        cma: sys.cmaAreas.map((a) => ({ name: a.name, basePfn: a.basePfn, count: a.count })),
      },
      samples: this.samples,
      maps: this.maps,
      summary,
      events: {
        parsed: this.parsed,
        skipped: this.skipped,
        byType: { ...this.byType },
        skippedReasons: { ...this.skippedReasons },
      },
      replay,
      stateHash: sys.stateHash(),
      warnings:
        this.firstMalformed === null
          ? []
          : [
              `${this.malformed} ${this.malformed === 1 ? "line" : "lines"} of known events did not parse ` +
                `(first: line ${this.firstMalformed.line}, ${this.firstMalformed.reason})`,
            ],
    };
  }
}

/** enum migratetype since v4.4 (include/linux/mmzone.h): the requestable ones. */
const NUMBERED_MIGRATETYPES: readonly (Migratetype | undefined)[] = ["unmovable", "movable", "reclaimable"];

/** What symbolic gfp_flags (show_gfp_flags()) ask for; null when they are not symbolic. */
function parseGfp(text: string): GfpInfo | null {
  if (!text.includes("GFP")) return null;
  const tokens = text.split("|");
  const has = (...names: string[]) => tokens.some((t) => names.includes(t));
  // gfp_migratetype(): __GFP_MOVABLE or __GFP_RECLAIMABLE; composites name them.
  const migratetype: Migratetype = tokens.some((t) => t.includes("MOVABLE") || t.startsWith("GFP_TRANSHUGE"))
    ? "movable"
    : tokens.some((t) => t.includes("RECLAIMABLE"))
      ? "reclaimable"
      : "unmovable";
  const zone: ZoneName | undefined = has("GFP_DMA32", "__GFP_DMA32")
    ? "DMA32"
    : has("GFP_DMA", "__GFP_DMA")
      ? "DMA"
      : undefined;
  const atomic = has("GFP_ATOMIC", "__GFP_ATOMIC");
  return { migratetype, zone, atomic, high: atomic || has("__GFP_HIGH") };
}

function checkOptions(where: string, o: ReplayerOptions): void {
  if (typeof o !== "object" || o === null) throw new DmaSimError("EINVAL", `${where}: options must be an object`);
  if (o.sampleEvery !== undefined) requireInt(where, "sampleEvery", o.sampleEvery, 1, Number.MAX_SAFE_INTEGER);
  if (o.maxSamples !== undefined) requireInt(where, "maxSamples", o.maxSamples, 2, 1_000_000);
  if (o.mapEvery !== undefined) requireInt(where, "mapEvery", o.mapEvery, 1, Number.MAX_SAFE_INTEGER);
  if (o.maxMaps !== undefined) requireInt(where, "maxMaps", o.maxMaps, 0, 10_000);
  if (o.onSample !== undefined && typeof o.onSample !== "function")
    throw new DmaSimError("EINVAL", `${where}: onSample must be a function`);
}

/**
 * A replayer for `sys`: feed it trace lines or events in order, then finish().
 * Everything happens synchronously, on the machine given (see the module
 * comment for the semantics).
 */
export function createReplayer(sys: System, options: ReplayerOptions = {}): Replayer {
  checkOptions("createReplayer", options);
  return new TraceReplayer(sys, options);
}

/** Input a reader thread has already scanned (replay-file.ts reads files so on Node's worker_threads). */
export interface ScannedTraceSource {
  name: string;
  batches: AsyncIterable<ScanBatch>;
  totalBytes: number;
  bytesRead(): number;
  close(): Promise<void>;
}

/** Checks replayTraceSource()'s options (replayTrace() adds its own). @internal */
export function checkSourceOptions(where: string, options: ReplaySourceOptions): void {
  checkOptions(where, options);
  for (const key of ["onProgress", "onWarning", "onLiveMap"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function")
      throw new DmaSimError("EINVAL", `${where}: ${key} must be a function`);
  }
}

/**
 * Replays an opened trace on a fresh machine (DEFAULT_REPLAY_SYSTEM merged with
 * `options.system`): the one replay loop behind `dmasim replay` (replayTrace(),
 * Node) and the browser Lab (replayTraceStream()). The source is closed at the
 * end, or when the machine cannot be made. A trace none of whose lines is a
 * replayable event is an EINVAL DmaSimError after reading it; lines of known
 * events that do not parse are counted (events.skippedReasons) and reported in
 * one warning (`onWarning`, `LabResult.warnings`).
 */
export async function replayTraceSource(
  source: TraceByteSource | ScannedTraceSource,
  options: ReplaySourceOptions = {},
): Promise<LabResult> {
  const { backend: _backend, ...system } = { ...DEFAULT_REPLAY_SYSTEM, ...options.system };
  let sys: System;
  try {
    checkSourceOptions("replay", options);
    sys = await createSystem({
      ...DEFAULT_REPLAY_SYSTEM,
      ...options.system,
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
    });
  } catch (e) {
    await source.close();
    throw e;
  }
  const start = performance.now();
  const replayer = new TraceReplayer(sys, options);
  const progress = options.onProgress;
  const onLiveMap = options.onLiveMap;
  const totalBytes = source.totalBytes;
  const liveEveryBytes = totalBytes > 0 ? Math.max(1, Math.floor(totalBytes / 40)) : 1 << 20;
  let nextLiveBytes = liveEveryBytes;
  /** After each chunk: progress, and the live map when its next share of the input is read. */
  const chunkDone = (bytesRead: number): void => {
    progress?.(bytesRead, totalBytes);
    if (onLiveMap !== undefined && bytesRead >= nextLiveBytes) {
      nextLiveBytes = bytesRead + liveEveryBytes;
      onLiveMap(replayer.liveMap());
    }
  };
  try {
    if (!("chunks" in source)) {
      for await (const b of source.batches) {
        replayer.feedBatch(b);
        chunkDone(b.bytesRead);
      }
    } else {
      for await (const chunk of source.chunks) {
        // Lines end at LF, with a CR before it dropped (as openTraceLines() splits them).
        for (let from = 0; from < chunk.length;) {
          let lf = chunk.indexOf(10, from);
          if (lf < 0) lf = chunk.length;
          const to = lf > from && chunk[lf - 1] === 13 ? lf - 1 : lf;
          replayer.feedBytes(chunk, from, to);
          from = lf + 1;
        }
        chunkDone(source.bytesRead());
      }
    }
    progress?.(source.bytesRead(), totalBytes);
  } finally {
    await source.close();
  }
  const pieces = replayer.finish();
  const name = source.name;
  if (pieces.events.parsed === 0) throw noEventsError(name, pieces.events);
  for (const w of pieces.warnings) options.onWarning?.(`${name}: ${w}`);
  const wallMs = performance.now() - start;
  const perSec = (n: number) => (wallMs > 0 ? Math.round((n * 1000) / wallMs) : 0);
  return {
    dmasim: dmasimVersion(),
    resultFormat: RESULT_FORMAT,
    kind: "replay",
    name,
    seed: null,
    scale: null,
    backend: sys.backend,
    machine: pieces.machine,
    samples: pieces.samples,
    maps: pieces.maps,
    summary: pieces.summary,
    events: pieces.events,
    replay: pieces.replay,
    timing: {
      wallMs,
      eventsPerSec: perSec(pieces.events.parsed),
      linesPerSec: perSec(pieces.events.parsed + pieces.events.skipped),
    },
    stateHash: pieces.stateHash,
    ...(pieces.warnings.length > 0 ? { warnings: pieces.warnings.map((w) => `${name}: ${w}`) } : {}),
    replayConfig: {
      system: structuredClone(system),
      sampleEvery: options.sampleEvery ?? DEFAULT_SAMPLE_EVERY,
      maxSamples: options.maxSamples ?? DEFAULT_MAX_SAMPLES,
      mapEvery: options.mapEvery ?? DEFAULT_MAP_EVERY,
      maxMaps: options.maxMaps ?? DEFAULT_MAX_MAPS,
    },
  };
}

/**
 * Replays a text ftrace capture read from a web stream, e.g. a dropped File's
 * `file.stream()` (the browser Lab; it works in Node too): gzip is
 * decompressed, binary captures are refused as `dmasim replay` refuses them
 * (see openTraceStream()), and the replay is replayTraceSource()'s, so the
 * same bytes give the same result and state hash as `dmasim replay FILE`.
 * `name` names the trace in the result (a file's name); `totalBytes`, when
 * known, drives onProgress and onLiveMap.
 */
export async function replayTraceStream(
  name: string,
  stream: ReadableStream<Uint8Array>,
  options: ReplaySourceOptions & { totalBytes?: number } = {},
): Promise<LabResult> {
  checkSourceOptions("replayTraceStream", options);
  const { totalBytes, ...rest } = options;
  return replayTraceSource(await openTraceStream(name, stream, totalBytes ?? 0), rest);
}

/** The error for a trace of which no line was replayed: what the lines were instead. */
function noEventsError(name: string, events: ReplayEvents): DmaSimError {
  const lines = events.parsed + events.skipped;
  const reasons = Object.entries(events.skippedReasons)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(", ");
  return new DmaSimError(
    "EINVAL",
    lines === 0
      ? `replay: ${name}: the trace is empty`
      : `replay: ${name}: ${lines === 1 ? "its one line is not" : `none of its ${lines} lines is`} a replayable event (${reasons}); ` +
          `a trace needs kmem/cma events: ${TRACE_EVENTS.join(", ")}`,
  );
}
