/**
 * The twin: replays a real kernel's capture on a dmasim machine laid out like
 * it, from the boot snapshot on, and scores how often dmasim would have made the
 * kernel's choice.
 *
 * What is replayed. Only buddy-level events change the free lists (Linux 6.1,
 * mm/page_alloc.c):
 * - mm_page_alloc_zone_locked: __rmqueue_smallest() took a block (every
 *   buddy-level allocation: per-cpu refills by rmqueue_bulk(), rmqueue_buddy()
 *   for orders the per-cpu lists do not serve, fallbacks after their steal);
 * - mm_page_pcpu_drain: free_pcppages_bulk() gave a per-cpu page back;
 * - mm_page_free of an order pcp_allowed_order() refuses (above
 *   PAGE_ALLOC_COSTLY_ORDER, except pageblock_order with THP): __free_pages_ok()
 *   frees straight to the buddy lists;
 * - mm_page_alloc_extfrag with change_ownership=1: the stolen pageblock(s)
 *   changed type (applied before the allocation that follows it).
 * mm_page_alloc, mm_page_free of pcp orders and mm_page_free_batched move pages
 * between callers and the per-cpu lists and do not touch the buddy lists.
 *
 * Per-cpu pages. A page on a per-cpu list is neither free (no KPF_BUDDY) nor
 * in use. The twin does not model the lists: such a page is simply held (an
 * allocation in dmasim) from the buddy-level allocation that took it until the
 * drain that returns it, which is exactly what the buddy lists see.
 *
 * Follow mode: at each buddy-level allocation dmasim names the block it would
 * take for that order and migratetype in that zone (peekRmqueue(), nothing
 * changed), then the kernel's block is claimed. Free-run mode: a second machine
 * takes its own blocks (rmqueueInZone(), in the zone the kernel used) and frees
 * the blocks it gave for the kernel's; at each later snapshot marker its free
 * lists are compared with the snapshot's (freeListDistance()).
 */
import {
  claimCmaRange,
  claimFreeBlock,
  ownerPfn,
  peekCmaAlloc,
  peekRmqueue,
  releaseHeldBlock,
  rmqueueInZone,
  setPageblockMigratetype,
  stealWithoutClaim,
  unclaimCmaRange,
  type Backend,
  type KernelVersion,
  type Migratetype,
  type MigratetypeName,
  type RmqueuePeek,
  type System,
  type ZoneName,
} from "../../index.ts";
import { DmaSimError } from "../../core/errors.ts";
import { KERNEL_VERSIONS } from "../../index.ts";
import { readCapture, readFreePfns, readLruFolios, type Capture, type CaptureSnapshot } from "./capture.ts";
import { parseTwinLine, readTwinLines, type TwinEvent } from "./events.ts";
import { explainGaps, type Explanation, type ExplanationCause, type TraceMarker } from "./explain.ts";
import { Linux61Lists } from "./lists61.ts";
import {
  assignPageblockTypes,
  createTwinSystem,
  emptyEvidence,
  freeListDistance,
  kernelProfileOf,
  loadFreeSet,
  loadReport,
  migratetypeNames,
  twinFreePfns,
  twinLayout,
  type LoadReport,
  type PageblockEvidence,
  type TwinLayout,
} from "./machine.ts";

export type { Explanation, ExplanationCause, TraceMarker } from "./explain.ts";

export type TwinMode = "follow" | "free-run" | "both";

export interface TwinOptions {
  /** "follow", "free-run" or "both". Default "both". */
  mode?: TwinMode;
  /** Engine build. Default "wasm". */
  backend?: Backend;
  /** The profile whose rules dmasim follows. Default: from the capture's uname (kernelProfileOf()). */
  kernel?: KernelVersion;
  /** Scored decisions per point of follow mode's timeline (a positive integer). Default TIMELINE_WINDOW. */
  timelineWindow?: number;
}

/** Decisions and how many dmasim got right. */
export interface Agreement {
  decisions: number;
  agreed: number;
  /** agreed / decisions, or null without decisions. */
  agreement: number | null;
}

/** How the twin's state compared with a later snapshot. */
export interface PhaseCheck {
  phase: string;
  /** freeListDistance() to the snapshot's pagetypeinfo. */
  freeListDistance: number;
  /** buddyinfo per order (all zones) of dmasim and of the kernel. */
  buddyinfo: { twin: number[]; kernel: number[] };
  /** Pfns free in one and not the other (follow mode: against kpageflags; null in free-run, whose pfns are its own). */
  freePfnsDiffering: number | null;
  /**
   * Follow mode: the decisions since the previous snapshot, how many agreed,
   * and the misses of the picks on the same list and order (missCauses.listOrder;
   * bootListOrderMisses: those of them counted in listOrderFromBoot) and on
   * another list (otherListIn61 + kernelBlockOnOtherList). Null in free run.
   */
  sincePrevious: {
    decisions: number;
    agreed: number;
    listOrderMisses: number;
    bootListOrderMisses: number;
    otherListMisses: number;
  } | null;
  /** The causes of `fidelity.explanations` that concern this snapshot's figures (filled in at the end). */
  notes: ExplanationCause[];
}

/**
 * One point of follow mode's agreement over time: a window of up to
 * TIMELINE_WINDOW scored decisions, cut short at each snapshot marker and at
 * compact_memory's start so that no window straddles two phases.
 */
export interface TimelinePoint {
  /** The trace line (1-based) of the window's last decision. */
  line: number;
  /** The phase the window falls in: the snapshot last passed ("boot": the workload), or "compact_memory" from its start on. */
  phase: string;
  /** Decisions (and agreed ones) up to and including this window. */
  decisions: number;
  agreed: number;
  /** Decisions (and agreed ones) in this window. */
  windowDecisions: number;
  windowAgreed: number;
}

export interface FollowResult extends Agreement {
  byOrder: Record<string, Agreement>;
  byMigratetype: Record<string, Agreement>;
  /** Traced fallbacks: dmasim fell back too, and took the same block. */
  fallbacks: { kernel: number; dmasimAlsoFellBack: number; sameBlock: number; agreement: number | null };
  /** Buddy-level allocations not scored (a highatomic or other non-allocation type). */
  unscored: number;
  /** moves: traced non-claiming steals applied as 6.1 does (the 6.1 profile only). */
  applied: { allocs: number; frees: number; retypes: number; moves: number };
  /** Events that could not be applied: the twin's state disagreed with the kernel's (diagnostics). */
  unapplied: { allocs: number; frees: number; examples: string[] };
  /**
   * cma_alloc(): decisions = the kernel's successful allocations; agreed = those
   * whose range is dmasim's first candidate (the area's first fitting clear run:
   * where dmasim's cma_alloc() tries first). applied / unapplied: ranges taken
   * (at cma_alloc_finish) and given back (at cma_release) in the twin, or not.
   */
  cma: {
    decisions: number;
    agreed: number;
    agreement: number | null;
    kernelFailed: number;
    applied: { allocs: number; releases: number };
    unapplied: { allocs: number; releases: number };
  };
  /**
   * Events whose traced migratetype differs from the twin's pageblock type at
   * that pfn. 6.1 puts a drained page on the list of its per-cpu migratetype
   * and takes blocks from any list they sit on; dmasim keeps every free block on
   * its pageblock's list (the v6.10+ rule), so these blocks sit on another list
   * than the kernel's.
   */
  typeDiffers: { allocs: number; drains: number };
  /**
   * The same decisions predicted by a model of 6.1's free lists (lists61.ts):
   * what dmasim would score with 6.1's list rules instead of its own.
   */
  linux61Lists: Agreement;
  /**
   * Where dmasim's misses come from: its pick is on another type's list in 6.1
   * (by the model); the kernel's block is on another type's list in dmasim;
   * both on the request's lists but of different orders; same list and order,
   * another position on the list.
   */
  missCauses: { otherListIn61: number; kernelBlockOnOtherList: number; otherOrder: number; listOrder: number };
  /**
   * The list-order misses (missCauses.listOrder) where the kernel's block or
   * dmasim's pick has sat on its list untouched since the boot snapshot (the
   * same block, at the order it was loaded with, no page of it claimed, freed
   * or moved since): the order the loader gave the boot lists decided them.
   */
  listOrderFromBoot: number;
  /** The first decisions dmasim got wrong (up to 20), with their context (see FollowMiss). */
  firstMisses: FollowMiss[];
  phases: PhaseCheck[];
  /** Agreement over time (see TimelinePoint); the points' windows add up to decisions and agreed. */
  timeline: { window: number; points: TimelinePoint[] };
}

/**
 * One decision dmasim got wrong: the kernel's block (its pfn, order and
 * migratetype, and the free block of the twin it came from: head, order and
 * list), and dmasim's pick (null: dmasim would have failed).
 */
export interface FollowMiss {
  /** The trace line number of the mm_page_alloc_zone_locked event. */
  line: number;
  pfn: number;
  order: number;
  migratetype: string;
  percpuRefill: boolean;
  /** The twin's free block holding the kernel's pfn before the claim. */
  kernelBlock: { pfn: number; order: number; list: string } | null;
  /** dmasim's pick and the free block it would have split. */
  dmasim: { pfn: number; order: number; list: string } | null;
}

export interface FreeRunResult {
  allocs: number;
  /** Allocations dmasim could not serve in the kernel's zone. */
  failed: number;
  frees: number;
  /** Frees of blocks the twin had not handed out (after a failed allocation, or a block never seen). */
  unmatchedFrees: number;
  phases: PhaseCheck[];
  /** The largest freeListDistance() over the later phases, or null without one. */
  maxDistance: number | null;
  /**
   * The kernel's successful cma_alloc()s, each replayed as dmasim's own
   * cma_alloc() of the same size and alignment in the same area (the kernel's
   * range then maps onto dmasim's); failed: dmasim found no room. released:
   * cma_release()s given back.
   */
  cma: { allocs: number; failed: number; released: number };
  /**
   * The capture's `compact_memory` phases (HARNESS_PHASE compact_start), each
   * replayed as dmasim's own compactMemory() (the pages it migrates followed
   * through their owners); migratedAway: pages the kernel's compaction freed
   * after migrating them elsewhere (an untraced pfn), which the twin keeps as
   * they were placed by its own compaction; sourceFrees: the frees (drains)
   * of such pfns, which give nothing back. migrated: pages dmasim's own
   * compaction migrated (pgmigrate_success); kernelMigrated: the kernel's, from
   * its mm_compaction_migratepages events (nr_migrated) inside those phases.
   */
  compaction: { runs: number; migratedAway: number; sourceFrees: number; migrated: number; kernelMigrated: number };
}

export interface TwinResult {
  capture: {
    dir: string;
    release: string;
    kernelVersion: string;
    zones: { name: string; startPfn: number; spannedPages: number; presentPages: number; managedPages: number }[];
    pageblockOrder: number;
    maxOrder: number;
    cmaAreas: { bytes: number; baseBytes?: number }[];
    cmaConfigured: boolean;
    /** The CMA areas the twin made, where the kernel's debugfs put them. */
    cmaLayout: { name: string; basePfn: number; count: number; orderPerBit: number }[];
    phases: string[];
  };
  machine: {
    backend: Backend;
    /** The profile the twin ran with, and whether it came from the capture's uname or the caller. */
    kernel: KernelVersion;
    kernelFrom: "uname" | "option";
    nrPages: number;
    zones: TwinLayout["zones"];
  };
  load: LoadReport;
  fidelity: {
    follow?: FollowResult;
    freeRun?: FreeRunResult;
    /** The kernel behaviours that explain where the figures fall short (explain.ts), from the figures themselves. */
    explanations: Explanation[];
  };
  /**
   * pcpBypassFrees: frees after the boot snapshot that went straight to the
   * buddy lists because the pcp lock was taken (see PcpBypass), applied
   * where they happened.
   */
  trace: {
    lines: number;
    events: Record<string, number>;
    afterBoot: number;
    pcpBypassFrees: number;
    /** The snapshot and compact_memory markers after the boot snapshot (the boot marker first), by trace line. */
    markers: TraceMarker[];
  };
  timing: { loadMs: number; replayMs: number; totalMs: number };
  /** state hashes at the end (follow, free-run machines), for differential tests. */
  stateHash: { follow?: string; freeRun?: string };
}

const PAGE_ALLOC_COSTLY_ORDER = 3;

/** Scored decisions per point of the agreement-over-time series (fewer in a window a phase cuts short). */
export const TIMELINE_WINDOW = 1000;

function agreementOf(a: { decisions: number; agreed: number }): number | null {
  return a.decisions === 0 ? null : a.agreed / a.decisions;
}

function tally(map: Record<string, Agreement>, key: string, agreed: boolean): void {
  const a = (map[key] ??= { decisions: 0, agreed: 0, agreement: null });
  a.decisions++;
  if (agreed) a.agreed++;
}

const ALLOC_TYPES: readonly string[] = ["unmovable", "movable", "reclaimable"];

/** Follow mode's machine and tallies. */
class Follower {
  readonly result: FollowResult = {
    decisions: 0,
    agreed: 0,
    agreement: null,
    byOrder: {},
    byMigratetype: {},
    fallbacks: { kernel: 0, dmasimAlsoFellBack: 0, sameBlock: 0, agreement: null },
    unscored: 0,
    applied: { allocs: 0, frees: 0, retypes: 0, moves: 0 },
    unapplied: { allocs: 0, frees: 0, examples: [] },
    cma: {
      decisions: 0,
      agreed: 0,
      agreement: null,
      kernelFailed: 0,
      applied: { allocs: 0, releases: 0 },
      unapplied: { allocs: 0, releases: 0 },
    },
    typeDiffers: { allocs: 0, drains: 0 },
    linux61Lists: { decisions: 0, agreed: 0, agreement: null },
    missCauses: { otherListIn61: 0, kernelBlockOnOtherList: 0, otherOrder: 0, listOrder: 0 },
    listOrderFromBoot: 0,
    firstMisses: [],
    phases: [],
    timeline: { window: TIMELINE_WINDOW, points: [] },
  };
  /** The phase the current timeline window falls in, and the window's tallies. */
  private phase: string;
  private window = { decisions: 0, agreed: 0, line: 0 };
  /** Miss causes since the last snapshot: which explanations concern the next snapshot's figures. */
  private sinceSnapshot = { decisions: 0, agreed: 0, listOrderMisses: 0, bootListOrderMisses: 0, otherListMisses: 0 };
  /** Head pfn → order of each free block at the boot snapshot (-1: none), and pages changed since. */
  private readonly bootOrder: Int8Array;
  private readonly touched: Uint8Array;
  /** The prediction made at a traced fallback, for the allocation that follows it. */
  private pending: { order: number; mt: MigratetypeName; peek: RmqueuePeek | null } | null = null;

  private readonly lists61: Linux61Lists;

  constructor(
    readonly sys: System,
    private readonly names: MigratetypeName[],
    layout: TwinLayout,
    bootPhase: string,
    private readonly windowSize: number,
  ) {
    this.lists61 = new Linux61Lists(sys, (name) => names.indexOf(name), layout.zones);
    this.phase = bootPhase;
    this.result.timeline.window = windowSize;
    this.bootOrder = new Int8Array(sys.nrPages).fill(-1);
    this.touched = new Uint8Array(sys.nrPages);
  }

  /**
   * Records the boot lists' blocks (head pfn → order) once the twin is loaded;
   * `bootFree` marks the free pfns, so held pages cost no lookup.
   */
  recordBootBlocks(bootFree: Uint8Array): void {
    const n = this.sys.nrPages;
    for (let pfn = 0; pfn < n;) {
      if (pfn >= bootFree.length || !bootFree[pfn]) {
        pfn++;
        continue;
      }
      // Walking up from pfn 0, the first free pfn of a block is its head.
      const info = this.sys.pageInfo(pfn);
      if (info.state !== "free") {
        pfn++;
        continue;
      }
      this.bootOrder[pfn] = info.order;
      pfn += 2 ** info.order;
    }
  }

  /** Marks [start, end) as changed since the boot snapshot (claimed, freed, moved between lists). */
  private touch(start: number, end: number): void {
    this.touched.fill(1, Math.max(0, start), Math.min(end, this.touched.length));
  }

  /** Whether the free block holding `pfn` is a boot block, untouched since the snapshot. */
  private sinceBoot(pfn: number): boolean {
    const block = this.freeBlockAt(pfn);
    if (block === null || this.bootOrder[block.pfn] !== block.order) return false;
    return !this.touched.subarray(block.pfn, block.pfn + 2 ** block.order).includes(1);
  }

  /** Ends the current timeline window (if it holds a decision); later decisions fall in `nextPhase`. */
  closeWindow(nextPhase?: string): void {
    const w = this.window;
    if (w.decisions > 0) {
      const r = this.result;
      r.timeline.points.push({
        line: w.line,
        phase: this.phase,
        decisions: r.decisions,
        agreed: r.agreed,
        windowDecisions: w.decisions,
        windowAgreed: w.agreed,
      });
      this.window = { decisions: 0, agreed: 0, line: 0 };
    }
    if (nextPhase !== undefined) this.phase = nextPhase;
  }

  /** The tallies since the previous snapshot, restarted (at a snapshot marker). */
  takeSinceSnapshot(): PhaseCheck["sincePrevious"] {
    const since = this.sinceSnapshot;
    this.sinceSnapshot = { decisions: 0, agreed: 0, listOrderMisses: 0, bootListOrderMisses: 0, otherListMisses: 0 };
    return since;
  }

  private tallyWindow(agreed: boolean, line: number): void {
    const w = this.window;
    w.decisions++;
    if (agreed) w.agreed++;
    w.line = line;
    if (w.decisions === this.windowSize) this.closeWindow();
  }

  /** Scores the 6.1 model's prediction and sorts dmasim's miss (before the claim is applied). */
  private compare61(pfn: number, order: number, kernelMt: number, pick: number | null): void {
    const l = this.lists61;
    const m = this.result.linux61Lists;
    m.decisions++;
    if (l.peek(pfn, order, kernelMt) === pfn) m.agreed++;
    if (pick === null || pick === pfn) return;
    const causes = this.result.missCauses;
    const since = this.sinceSnapshot;
    if (l.listTypeAt(pick) !== kernelMt) {
      causes.otherListIn61++;
      since.otherListMisses++;
    } else if (this.sys.pageblockMigratetype(pfn) !== this.names[kernelMt]) {
      causes.kernelBlockOnOtherList++;
      since.otherListMisses++;
    } else if (l.orderAt(pick) !== l.orderAt(pfn)) causes.otherOrder++;
    else {
      causes.listOrder++;
      since.listOrderMisses++;
      if (this.sinceBoot(pfn) || this.sinceBoot(pick)) {
        this.result.listOrderFromBoot++;
        since.bootListOrderMisses++;
      }
    }
  }

  private note(text: string): void {
    if (this.result.unapplied.examples.length < 10) this.result.unapplied.examples.push(text);
  }

  /** The free block holding `pfn` in the twin (before a claim), or null when the page is not free. */
  private freeBlockAt(pfn: number): { pfn: number; order: number; list: string } | null {
    for (let order = 0; order <= this.sys.maxOrder; order++) {
      const head = pfn - (pfn % 2 ** order);
      if (head >= this.sys.nrPages) break;
      const info = this.sys.pageInfo(head);
      if (info.state === "free" && info.order >= order && head + 2 ** info.order > pfn)
        return { pfn: head, order: info.order, list: this.sys.pageblockMigratetype(head) };
    }
    return null;
  }

  private noteMiss(line: number, pfn: number, order: number, mt: string, refill: boolean, pick: number | null): void {
    if (this.result.firstMisses.length >= 20) return;
    this.result.firstMisses.push({
      line,
      pfn,
      order,
      migratetype: mt,
      percpuRefill: refill,
      kernelBlock: this.freeBlockAt(pfn),
      dmasim: pick === null ? null : this.freeBlockAt(pick),
    });
  }

  alloc(pfn: number, order: number, kernelMt: number, line = 0, percpuRefill = false): void {
    const mt = this.names[kernelMt] ?? "unmovable";
    const r = this.result;
    if (ALLOC_TYPES.includes(mt)) {
      const pending = this.pending;
      const peek =
        pending && pending.order === order && pending.mt === mt
          ? pending.peek
          : peekRmqueue(this.sys, this.sys.zoneOf(pfn), order, mt);
      const agreed = peek?.pfn === pfn;
      this.compare61(pfn, order, kernelMt, peek?.pfn ?? null);
      r.decisions++;
      if (agreed) r.agreed++;
      tally(r.byOrder, String(order), agreed);
      tally(r.byMigratetype, mt, agreed);
      this.tallyWindow(agreed, line);
      this.sinceSnapshot.decisions++;
      if (agreed) this.sinceSnapshot.agreed++;
      if (!agreed) this.noteMiss(line, pfn, order, mt, percpuRefill, peek?.pfn ?? null);
    } else {
      r.unscored++;
    }
    this.pending = null;
    if (this.sys.pageblockMigratetype(pfn) !== mt) r.typeDiffers.allocs++;
    this.lists61.claim(pfn, order);
    this.touch(pfn, pfn + 2 ** order);
    if (claimFreeBlock(this.sys, pfn, order, ALLOC_TYPES.includes(mt) ? mt : "unmovable")) {
      r.applied.allocs++;
    } else {
      r.unapplied.allocs++;
      this.note(`alloc pfn ${pfn} order ${order}: not free in the twin`);
    }
  }

  free(pfn: number, order: number, why: string, kernelMt?: number): void {
    if (kernelMt !== undefined && this.sys.pageblockMigratetype(pfn) !== this.names[kernelMt])
      this.result.typeDiffers.drains++;
    // A drain carries the list 6.1 puts the page on (used by the 6.1 profile only).
    const listMt = kernelMt === undefined ? undefined : this.names[kernelMt];
    const carried = listMt !== undefined && ALLOC_TYPES.includes(listMt) ? listMt : undefined;
    this.touch(pfn, pfn + 2 ** order);
    if (releaseHeldBlock(this.sys, pfn, order, carried)) {
      this.result.applied.frees++;
      this.lists61.free(pfn, order, kernelMt ?? null);
    } else {
      this.result.unapplied.frees++;
      this.note(`${why} pfn ${pfn} order ${order}: not held in the twin`);
    }
  }

  /** The twin's area for a traced area name (before v5.13 the trace names none: the first area). */
  private cmaArea(name: string | null): string | null {
    const areas = this.sys.cmaAreas;
    if (name === null) return areas[0]?.name ?? null;
    return areas.some((a) => a.name === name) ? name : null;
  }

  cmaAlloc(ev: Extract<TwinEvent, { kind: "cma-alloc" }>): void {
    const c = this.result.cma;
    if (ev.pfn === null) {
      c.kernelFailed++;
      return;
    }
    const area = this.cmaArea(ev.area);
    if (area === null) {
      c.unapplied.allocs++;
      this.note(`cma_alloc pfn ${ev.pfn} count ${ev.count}: no such CMA area in the twin`);
      return;
    }
    c.decisions++;
    if (peekCmaAlloc(this.sys, area, ev.count, ev.align) === ev.pfn) c.agreed++;
    this.touch(ev.pfn, ev.pfn + ev.count);
    if (claimCmaRange(this.sys, area, ev.pfn, ev.count)) c.applied.allocs++;
    else {
      c.unapplied.allocs++;
      this.note(`cma_alloc pfn ${ev.pfn} count ${ev.count}: the range is not free in the twin`);
    }
  }

  cmaRelease(ev: Extract<TwinEvent, { kind: "cma-release" }>): void {
    const c = this.result.cma;
    const area = this.cmaArea(ev.area);
    this.touch(ev.pfn, ev.pfn + ev.count);
    if (area !== null && unclaimCmaRange(this.sys, area, ev.pfn, ev.count)) c.applied.releases++;
    else {
      c.unapplied.releases++;
      this.note(`cma_release pfn ${ev.pfn} count ${ev.count}: not a CMA range of the twin`);
    }
  }

  extfrag(ev: Extract<TwinEvent, { kind: "extfrag" }>): void {
    const mt = this.names[ev.allocMigratetype] ?? "unmovable";
    const f = this.result.fallbacks;
    f.kernel++;
    if (ALLOC_TYPES.includes(mt)) {
      const peek = peekRmqueue(this.sys, this.sys.zoneOf(ev.pfn), ev.allocOrder, mt);
      this.pending = { order: ev.allocOrder, mt, peek };
      if (peek?.fallback) {
        f.dmasimAlsoFellBack++;
        if (peek.fallback.pfn === ev.pfn) f.sameBlock++;
      }
      if (ev.changeOwnership) {
        this.result.applied.retypes += retype(this.sys, ev, mt);
        const span = Math.max(1, 2 ** (ev.fallbackOrder - this.sys.pageblockOrder)) * this.sys.pageblockNrPages;
        const start = Math.floor(ev.pfn / span) * span;
        // move_freepages_block() moves the pageblocks' free blocks to the new type's lists.
        this.touch(start, start + span);
        this.lists61.retype(start, Math.min(start + span, this.sys.nrPages), ev.allocMigratetype);
      } else if (this.sys.kernel === "6.1" && ev.fallbackOrder < this.sys.pageblockOrder) {
        // 6.1 steal_suitable_fallback() without a claim: move_freepages_block() when
        // can_steal_fallback() allowed a whole-block steal, else move_to_free_list() of
        // the fallback block; the pages stay on the requester's lists.
        const whole = canStealFallback61(ev.fallbackOrder, mt, this.sys.pageblockOrder);
        const pb = this.sys.pageblockNrPages;
        const start = whole ? Math.floor(ev.pfn / pb) * pb : ev.pfn;
        const end = whole ? start + pb : ev.pfn + 2 ** ev.fallbackOrder;
        this.touch(start, end);
        if (stealWithoutClaim(this.sys, ev.pfn, mt as Migratetype, whole)) {
          this.result.applied.moves++;
          this.lists61.retype(start, end, ev.allocMigratetype);
        }
      }
    }
  }
}

/** 6.1 can_steal_fallback(): whether a steal of a block of `order` may take its whole pageblock. */
function canStealFallback61(order: number, startMt: MigratetypeName, pageblockOrder: number): boolean {
  if (order >= pageblockOrder) return true;
  return order >= Math.floor(pageblockOrder / 2) || startMt === "reclaimable" || startMt === "unmovable";
}

/** Applies a traced claim of a pageblock (or of every pageblock of a stolen block larger than one). */
function retype(sys: System, ev: Extract<TwinEvent, { kind: "extfrag" }>, mt: MigratetypeName): number {
  const span = ev.fallbackOrder >= sys.pageblockOrder ? 2 ** (ev.fallbackOrder - sys.pageblockOrder) : 1;
  const start = Math.floor(ev.pfn / sys.pageblockNrPages) * sys.pageblockNrPages;
  for (let i = 0; i < span; i++) {
    const pfn = start + i * sys.pageblockNrPages;
    if (pfn < sys.nrPages && sys.pageblockMigratetype(pfn) !== mt) setPageblockMigratetype(sys, pfn, mt);
  }
  return 1;
}

/** Free-run mode's machine: its own choices, kernel pfns mapped to its pfns. */
/** FreeRunner's map: a kernel pfn whose page the kernel's compaction migrated to an untraced pfn. */
const MIGRATED_AWAY = -2;

class FreeRunner {
  readonly result: FreeRunResult = {
    allocs: 0,
    failed: 0,
    frees: 0,
    unmatchedFrees: 0,
    phases: [],
    maxDistance: null,
    cma: { allocs: 0, failed: 0, released: 0 },
    compaction: { runs: 0, migratedAway: 0, sourceFrees: 0, migrated: 0, kernelMigrated: 0 },
  };
  /** Inside the capture's compact_memory phase: the kernel's frees there are migration sources. */
  compacting = false;
  /**
   * Kernel pfn → the twin's pfn for the same page, -1 when the kernel's page is
   * free or unmapped, MIGRATED_AWAY when the kernel's compaction moved it off.
   */
  private readonly map: Int32Array;

  constructor(
    readonly sys: System,
    private readonly names: MigratetypeName[],
    free: Uint8Array,
  ) {
    this.map = new Int32Array(sys.nrPages).fill(-1);
    for (let pfn = 0; pfn < sys.nrPages; pfn++) if (!(pfn < free.length && free[pfn])) this.map[pfn] = pfn;
  }

  alloc(pfn: number, order: number, kernelMt: number, zone: ZoneName): void {
    const name = this.names[kernelMt] ?? "unmovable";
    const mt = ALLOC_TYPES.includes(name) ? name : "unmovable";
    this.result.allocs++;
    const got = rmqueueInZone(this.sys, zone, order, mt);
    const n = 2 ** order;
    if (got === null) {
      this.result.failed++;
      this.map.fill(-1, pfn, pfn + n);
      return;
    }
    for (let i = 0; i < n; i++) this.map[pfn + i] = got + i;
  }

  free(pfn: number, order: number): void {
    const n = 2 ** order;
    const base = this.map[pfn]!;
    let contiguous = base >= 0 && base % n === 0;
    for (let i = 1; contiguous && i < n; i++) contiguous = this.map[pfn + i] === base + i;
    if (contiguous && releaseHeldBlock(this.sys, base, order)) {
      this.result.frees++;
    } else {
      // Pages mapped apart (or some unmapped): give back what maps, page by page.
      let any = false;
      for (let i = 0; i < n; i++) {
        const t = this.map[pfn + i]!;
        if (t >= 0 && releaseHeldBlock(this.sys, t, 0)) any = true;
      }
      if (any) this.result.frees++;
      else if (this.map[pfn] === MIGRATED_AWAY) this.result.compaction.sourceFrees++;
      else this.result.unmatchedFrees++;
    }
    this.map.fill(-1, pfn, pfn + n);
  }

  /**
   * cma_alloc_finish: dmasim's own cma_alloc() of the same size and alignment.
   * Its alloc_contig_range() may migrate pages the twin holds for other kernel
   * pages: they are followed through their owners. The kernel's range held
   * pages the kernel had migrated away and freed into isolated pageblocks
   * (untraced): the twin gives back what it held for them; then the range maps
   * onto dmasim's.
   */
  cmaAlloc(ev: Extract<TwinEvent, { kind: "cma-alloc" }>): void {
    if (ev.pfn === null) return;
    const c = this.result.cma;
    const name = ev.area ?? this.sys.cmaAreas[0]?.name;
    const area = name === undefined ? undefined : this.sys.cmaAreas.find((a) => a.name === name);
    c.allocs++;
    if (area === undefined) {
      c.failed++;
      return;
    }
    // Owners of movable blocks held in the area, which alloc_contig_range() may move.
    const owned = this.ownedBlocks(area.basePfn, area.basePfn + area.count);
    const got = area.alloc(ev.count, ev.align);
    this.followMigrations(owned);
    for (let k = ev.pfn; k < ev.pfn + ev.count && k < this.map.length; k++) {
      const t = this.map[k]!;
      if (t >= 0) releaseHeldBlock(this.sys, t, 0);
      this.map[k] = -1;
    }
    if (got === null) {
      c.failed++;
      return;
    }
    for (let i = 0; i < ev.count && ev.pfn + i < this.map.length; i++) this.map[ev.pfn + i] = got + i;
  }

  /** The owned (movable) blocks the twin holds in [startPfn, endPfn), which migration may move. */
  private ownedBlocks(startPfn: number, endPfn: number): { owner: number; from: number; pages: number }[] {
    const owned: { owner: number; from: number; pages: number }[] = [];
    for (let t = startPfn; t < endPfn;) {
      const info = this.sys.pageInfo(t);
      const pages = info.state === "tail" ? 1 : 2 ** info.order;
      if (info.state === "allocated" && info.owner !== null) owned.push({ owner: info.owner, from: t, pages });
      t += pages;
    }
    return owned;
  }

  /** The kernel pfns mapped onto blocks that migration moved now map where their owners are. */
  private followMigrations(owned: { owner: number; from: number; pages: number }[]): void {
    const moves = owned
      .map((o) => ({ ...o, to: ownerPfn(this.sys, o.owner) }))
      .filter((m) => m.to !== null && m.to !== m.from);
    if (moves.length === 0) return;
    const kernelOf = new Map<number, number>();
    for (let k = 0; k < this.map.length; k++) if (this.map[k]! >= 0) kernelOf.set(this.map[k]!, k);
    for (const m of moves)
      for (let i = 0; i < m.pages; i++) {
        const k = kernelOf.get(m.from + i);
        if (k !== undefined) this.map[k] = m.to! + i;
      }
  }

  /**
   * HARNESS_PHASE compact_start: the harness writes /proc/sys/vm/compact_memory;
   * dmasim runs its own compact_memory (compactMemory(): every zone, sync) on
   * the twin's pages, following those it migrates. Until compact_end the
   * kernel's frees are its migration's sources (see migratedAway()).
   */
  compactMemory(): void {
    const owned = this.ownedBlocks(0, this.sys.nrPages);
    const migratedBefore = this.sys.stats().pgmigrateSuccess;
    this.sys.compactMemory();
    this.result.compaction.migrated += this.sys.stats().pgmigrateSuccess - migratedBefore;
    this.followMigrations(owned);
    this.result.compaction.runs++;
    this.compacting = true;
  }

  /**
   * A free inside the kernel's compact_memory phase: the kernel migrated the
   * page to a free page its scanner took without an event, then freed the
   * source. The twin's page stands for the migrated data, still in use: it
   * stays held, and the kernel pfn no longer maps to it (its drain frees
   * nothing). Pfns the kernel held free (its scanner's unused pages coming
   * back) map to nothing already.
   */
  migratedAway(pfn: number, order: number): void {
    const n = 2 ** order;
    for (let i = 0; i < n && pfn + i < this.map.length; i++) {
      if (this.map[pfn + i]! < 0) continue;
      this.map[pfn + i] = MIGRATED_AWAY;
      this.result.compaction.migratedAway++;
    }
  }

  /** cma_release: dmasim's range stops being the area's; its pages stay held for their drains. */
  cmaRelease(ev: Extract<TwinEvent, { kind: "cma-release" }>): void {
    const got = this.map[ev.pfn] ?? -1;
    const area = this.sys.cmaAreas.find((a) => got >= a.basePfn && got < a.basePfn + a.count);
    if (area !== undefined && unclaimCmaRange(this.sys, area.name, got, ev.count)) this.result.cma.released++;
  }
}

function allOrders(sys: System): number[] {
  return sys.nrFreeByOrder();
}

function kernelOrders(snapshot: CaptureSnapshot, maxOrder: number): number[] {
  const out = new Array<number>(maxOrder + 1).fill(0);
  for (const row of Object.values(snapshot.buddyinfo)) row.forEach((n, o) => (out[o] = (out[o] ?? 0) + n));
  return out;
}

async function phaseCheck(
  sys: System,
  snapshot: CaptureSnapshot,
  layout: TwinLayout,
  comparePfns: boolean,
): Promise<PhaseCheck> {
  let differing: number | null = null;
  if (comparePfns) {
    const kernel = await readFreePfns(snapshot).catch(() => null);
    if (kernel) {
      const ours = twinFreePfns(sys);
      differing = 0;
      for (let pfn = 0; pfn < ours.length; pfn++) if (ours[pfn] !== (kernel[pfn] ?? 0)) differing++;
    }
  }
  return {
    phase: snapshot.phase,
    freeListDistance: freeListDistance(sys, snapshot, layout),
    buddyinfo: { twin: allOrders(sys), kernel: kernelOrders(snapshot, sys.maxOrder) },
    freePfnsDiffering: differing,
    sincePrevious: null,
    notes: [],
  };
}

/** The number (base `radix`: 10, or 16 with lowercase digits) after `key`, searched from `from`; -1 if none. */
function numberField(line: string, key: string, from: number, radix: 10 | 16): number {
  const k = line.indexOf(key, from);
  if (k < 0) return -1;
  let v = 0;
  let i = k + key.length;
  const start = i;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : radix === 16 && c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) break;
    v = v * radix + d;
  }
  return i === start || !Number.isSafeInteger(v) ? -1 : v;
}

/**
 * Frees that skipped the per-cpu lists. free_unref_page() and
 * free_unref_folios() take the pcp lock with pcp_spin_trylock() with
 * interrupts on (6.12; v6.2's "mm/page_alloc: leave IRQs enabled for per-cpu
 * page allocations", also in Debian's 6.1.176 source): a free from an interrupt (a bio completing in softirq) that finds the
 * lock held by the task it interrupted goes to free_one_page(), straight to
 * the buddy lists. The trace shows only its mm_page_free (or
 * mm_page_free_batched), as for a pcp free; it shows that the block reached
 * the buddy lists when __rmqueue_smallest() hands it out again
 * (mm_page_alloc_zone_locked) with no mm_page_pcpu_drain and no mm_page_alloc
 * from the per-cpu lists in between. This pass finds those frees (by their
 * trace line) so the replay applies them where they happened.
 */
class PcpBypass {
  /** Trace lines (1-based) of frees that went straight to the buddy lists. */
  readonly lines = new Set<number>();
  /** Head pfn → the line of the free that put the block on a per-cpu list (0: none), and its order. */
  private readonly freedAt: Int32Array;
  private readonly freedOrder: Int8Array;

  constructor(
    nrPages: number,
    private readonly pageblockOrder: number,
  ) {
    this.freedAt = new Int32Array(nrPages);
    this.freedOrder = new Int8Array(nrPages);
  }

  /** Whether `order` goes to the per-cpu lists (pcp_allowed_order(): up to PAGE_ALLOC_COSTLY_ORDER, and THP's). */
  private pcpOrder(order: number): boolean {
    return order <= PAGE_ALLOC_COSTLY_ORDER || order === this.pageblockOrder;
  }

  /**
   * Follows one trace line; true when it was a free or a caller-level
   * allocation (events that carry no pageblock evidence). Reads only the event
   * name, pfn and order, without the full parser: this pass sees every line.
   */
  scan(line: string, lineNo: number): boolean {
    const at = line.indexOf(": mm_page_");
    if (at < 0) return false;
    const nameEnd = line.indexOf(":", at + 2);
    if (nameEnd < 0) return false;
    const name = line.slice(at + 2, nameEnd);
    const pfn = numberField(line, " pfn=0x", nameEnd, 16);
    const order = name === "mm_page_free_batched" ? 0 : numberField(line, " order=", nameEnd, 10);
    if (pfn < 0 || order < 0) return false;
    const n = this.freedAt.length;
    switch (name) {
      case "mm_page_free":
      case "mm_page_free_batched":
        if (pfn < n && this.pcpOrder(order)) {
          this.freedAt[pfn] = lineNo;
          this.freedOrder[pfn] = order;
        }
        return true;
      case "mm_page_alloc":
        // Handed out from the per-cpu list (or from the buddy lists, traced before it).
        if (pfn < n) this.freedAt[pfn] = 0;
        return true;
      case "mm_page_pcpu_drain":
        // Back to the buddy lists by a drain; also pageblock evidence.
        if (pfn < n) this.freedAt[pfn] = 0;
        return false;
      case "mm_page_alloc_zone_locked":
        this.takenFromBuddy(pfn, order);
        return false;
      default:
        return false;
    }
  }

  /** Blocks freed to a per-cpu list that overlap [pfn, pfn + 2^order) were in the buddy lists all along. */
  private takenFromBuddy(pfn: number, order: number): void {
    const end = Math.min(pfn + 2 ** order, this.freedAt.length);
    for (let p = pfn; p < end; p++) this.mark(p, 0);
    // A larger freed block holding pfn (an order-3 free split by an order-0 allocation).
    for (let o = order + 1; o <= this.pageblockOrder; o++) {
      const head = pfn - (pfn % 2 ** o);
      if (this.freedOrder[head]! >= o) this.mark(head, o);
    }
  }

  private mark(head: number, minOrder: number): void {
    const at = this.freedAt[head]!;
    if (at === 0 || this.freedOrder[head]! < minOrder) return;
    this.lines.add(at);
    this.freedAt[head] = 0;
  }
}

/**
 * First pass: what the trace says about each pageblock's type at the boot
 * snapshot (see machine.ts). Before the snapshot every event counts, a traced
 * claim resetting what came before it; after the snapshot, events count for a
 * pageblock until a traced claim retypes it. Votes are the free-list type of
 * buddy-level allocations (mm_page_alloc_zone_locked) and of per-cpu drains
 * (mm_page_pcpu_drain: the type free_unref_page_prepare() read from the
 * pageblock when the page was freed). Returns false when the trace has no boot marker.
 */
async function gatherEvidence(
  tracePath: string,
  bootMarker: string,
  evidence: PageblockEvidence,
  pageblockOrder: number,
  bypass: PcpBypass | null,
): Promise<boolean> {
  const nrBlocks = evidence.claimed.length;
  const retypedAfterBoot = new Uint8Array(nrBlocks);
  let afterBoot = false;
  let lineNo = 0;
  const vote = (pfn: number, mt: number): void => {
    const pb = Math.floor(pfn / 2 ** pageblockOrder);
    if (mt >= 3 || pb >= nrBlocks || retypedAfterBoot[pb]) return;
    evidence.votes[pb * 3 + mt]!++;
    if (!afterBoot) evidence.lastBefore[pb] = mt;
    else if (evidence.firstAfter[pb]! < 0) evidence.firstAfter[pb] = mt;
  };
  for await (const batch of readTwinLines(tracePath)) {
    for (const line of batch) {
      lineNo++;
      if (bypass !== null && bypass.scan(line, lineNo)) continue;
      // Cheap filter: only these events carry evidence.
      if (
        !line.includes("zone_locked") &&
        !line.includes("pcpu_drain") &&
        !line.includes("extfrag") &&
        !line.includes("HARNESS_MMSNAP")
      )
        continue;
      const ev = parseTwinLine(line);
      if (ev === null) continue;
      if (ev.kind === "buddy-alloc" || ev.kind === "pcp-drain") vote(ev.pfn, ev.migratetype);
      else if (ev.kind === "marker" && ev.text === bootMarker) afterBoot = true;
      else if (ev.kind === "extfrag" && ev.changeOwnership) {
        const span = ev.fallbackOrder >= pageblockOrder ? 2 ** (ev.fallbackOrder - pageblockOrder) : 1;
        const pb = Math.floor(ev.pfn / 2 ** pageblockOrder);
        for (let i = 0; i < span && pb + i < nrBlocks; i++) {
          if (afterBoot) retypedAfterBoot[pb + i] = 1;
          else {
            evidence.claimed[pb + i] = ev.allocMigratetype;
            evidence.lastBefore[pb + i] = ev.allocMigratetype;
            evidence.votes.fill(0, (pb + i) * 3, (pb + i) * 3 + 3);
          }
        }
      }
    }
  }
  return afterBoot;
}

/**
 * Replays the capture in `dir` (see the file comment). Bad input (no
 * directory, no trace, no boot snapshot, no boot marker in the trace) is a
 * DmaSimError.
 */
export async function runTwin(dir: string, options: TwinOptions = {}): Promise<TwinResult> {
  const t0 = performance.now();
  const mode = options.mode ?? "both";
  if (!["follow", "free-run", "both"].includes(mode))
    throw new DmaSimError("EINVAL", `twin: mode must be "follow", "free-run" or "both", got ${String(mode)}`);
  const backend = options.backend ?? "wasm";
  if (options.kernel !== undefined && !KERNEL_VERSIONS.includes(options.kernel))
    throw new DmaSimError(
      "EINVAL",
      `twin: kernel must be one of ${KERNEL_VERSIONS.join(", ")}, got ${JSON.stringify(options.kernel)}`,
    );
  const timelineWindow = options.timelineWindow ?? TIMELINE_WINDOW;
  if (!Number.isSafeInteger(timelineWindow) || timelineWindow < 1)
    throw new DmaSimError(
      "EINVAL",
      `twin: timelineWindow must be a positive integer, got ${JSON.stringify(options.timelineWindow)}`,
    );
  const capture = await readCapture(dir);
  const kernel = options.kernel ?? kernelProfileOf(capture.kernelVersion);
  const boot = capture.phases[0]!;
  const bootFree = await readFreePfns(boot);
  const bootLru = await readLruFolios(boot);
  const layout = twinLayout(capture, bootFree.length);
  const names = migratetypeNames(capture);
  const snapshots = new Map(capture.phases.map((s) => [s.phase, s]));
  const evidence = emptyEvidence(layout.nrPages / layout.pageblockNrPages);
  const bootMarker = `HARNESS_MMSNAP ${boot.phase} begin`;
  const bypass = new PcpBypass(layout.nrPages, capture.pageblockOrder);
  if (!(await gatherEvidence(capture.tracePath, bootMarker, evidence, capture.pageblockOrder, bypass)))
    throw new DmaSimError(
      "EINVAL",
      `twin: the trace ${JSON.stringify(capture.tracePath)} has no "${bootMarker}" marker`,
    );

  let follower: Follower | null = null;
  let runner: FreeRunner | null = null;
  let load: LoadReport | null = null;
  let loadMs = 0;
  let tReplay = 0;
  let lines = 0;
  let afterBoot = 0;
  const events: Record<string, number> = {};
  /** CMA ranges the kernel holds (cma_alloc_finish), by first pfn; those released at their first free. */
  const liveCma = new Map<number, { count: number; area: string | null }>();
  const releasedEarly = new Set<number>();
  /** Frees after the boot snapshot that went straight to the buddy lists (PcpBypass). */
  let bypassed = 0;
  const markers: TraceMarker[] = [];

  const startReplay = async (): Promise<void> => {
    const tLoad = performance.now();
    const types = assignPageblockTypes(capture, boot, layout, bootFree, evidence);
    if (mode !== "free-run") {
      const sys = await createTwinSystem(capture, layout, backend, kernel);
      loadFreeSet(sys, bootFree, [...types], bootLru);
      follower = new Follower(sys, names, layout, boot.phase, timelineWindow);
      follower.recordBootBlocks(bootFree);
      load = loadReport(sys, boot, layout);
    }
    if (mode !== "follow") {
      const sys = await createTwinSystem(capture, layout, backend, kernel);
      loadFreeSet(sys, bootFree, [...types], bootLru);
      runner = new FreeRunner(sys, names, bootFree);
      load ??= loadReport(sys, boot, layout);
    }
    loadMs = performance.now() - tLoad;
    tReplay = performance.now();
  };

  for await (const batch of readTwinLines(capture.tracePath)) {
    for (const line of batch) {
      lines++;
      const ev = parseTwinLine(line);
      if (ev === null) continue;
      const key = ev.kind === "other" ? `other:${ev.name}` : ev.kind;
      events[key] = (events[key] ?? 0) + 1;
      if (tReplay === 0) {
        if (ev.kind === "marker" && ev.text === bootMarker) {
          markers.push({ line: lines, label: boot.phase, kind: "snapshot" });
          await startReplay();
        }
        continue;
      }
      afterBoot++;
      const f = follower as Follower | null;
      const r = runner as FreeRunner | null;
      switch (ev.kind) {
        case "buddy-alloc":
          f?.alloc(ev.pfn, ev.order, ev.migratetype, lines, ev.percpuRefill);
          r?.alloc(ev.pfn, ev.order, ev.migratetype, (f ?? r)!.sys.zoneOf(ev.pfn));
          break;
        case "pcp-drain":
          f?.free(ev.pfn, ev.order, "pcp drain", ev.migratetype);
          r?.free(ev.pfn, ev.order);
          break;
        case "free": {
          // cma_release() runs free_contig_range() before its trace event, and its frees may
          // be drained (6.12: pcp->high reached) before cma_release shows: release the range at
          // its first page's mm_page_free (free_contig_range() frees from the range's start).
          const live = liveCma.get(ev.pfn);
          if (live !== undefined && ev.order === 0) {
            const release = { kind: "cma-release" as const, pfn: ev.pfn, count: live.count, area: live.area };
            f?.cmaRelease(release);
            r?.cmaRelease(release);
            liveCma.delete(ev.pfn);
            releasedEarly.add(ev.pfn);
          }
          if (r?.compacting) r.migratedAway(ev.pfn, ev.order);
          // pcp_allowed_order(): these orders go to the per-cpu lists (drained later, traced then),
          // unless the pcp lock was taken (PcpBypass).
          const toPcp = ev.order <= PAGE_ALLOC_COSTLY_ORDER || ev.order === capture.pageblockOrder;
          if (toPcp && !bypass?.lines.has(lines)) break;
          if (toPcp) bypassed++;
          f?.free(ev.pfn, ev.order, "free");
          r?.free(ev.pfn, ev.order);
          break;
        }
        case "free-batched":
          if (bypass?.lines.has(lines)) {
            bypassed++;
            f?.free(ev.pfn, 0, "free");
            r?.free(ev.pfn, 0);
          }
          break;
        case "extfrag":
          f?.extfrag(ev);
          break;
        case "compaction-migrated":
          if (r?.compacting) r.result.compaction.kernelMigrated += ev.nrMigrated;
          break;
        case "cma-alloc":
          if (ev.pfn !== null) liveCma.set(ev.pfn, { count: ev.count, area: ev.area });
          f?.cmaAlloc(ev);
          r?.cmaAlloc(ev);
          break;
        case "cma-release":
          if (releasedEarly.delete(ev.pfn)) break;
          liveCma.delete(ev.pfn);
          f?.cmaRelease(ev);
          r?.cmaRelease(ev);
          break;
        case "marker": {
          // The harness's compact_memory: free-run compacts on its own.
          if (ev.text === "HARNESS_PHASE compact_start") {
            markers.push({ line: lines, label: "compact_start", kind: "compaction" });
            f?.closeWindow("compact_memory");
            r?.compactMemory();
          }
          if (ev.text === "HARNESS_PHASE compact_end") {
            markers.push({ line: lines, label: "compact_end", kind: "compaction" });
            if (r) r.compacting = false;
          }
          const m = /^HARNESS_MMSNAP (\S+) begin$/.exec(ev.text);
          const snap = m ? snapshots.get(m[1]!) : undefined;
          if (snap && snap !== boot) {
            markers.push({ line: lines, label: snap.phase, kind: "snapshot" });
            if (f) {
              f.closeWindow(snap.phase);
              const check = await phaseCheck(f.sys, snap, layout, true);
              check.sincePrevious = f.takeSinceSnapshot();
              f.result.phases.push(check);
            }
            if (r) r.result.phases.push(await phaseCheck(r.sys, snap, layout, false));
          }
          break;
        }
        default:
          break;
      }
    }
  }
  if (tReplay === 0)
    throw new DmaSimError(
      "EINVAL",
      `twin: the trace ${JSON.stringify(capture.tracePath)} has no "HARNESS_MMSNAP ${boot.phase} begin" marker`,
    );
  const replayMs = performance.now() - tReplay;
  const fidelity: TwinResult["fidelity"] = { explanations: [] };
  const stateHash: TwinResult["stateHash"] = {};
  const f = follower as Follower | null;
  const r = runner as FreeRunner | null;
  if (f) {
    const res = f.result;
    f.closeWindow();
    res.agreement = agreementOf(res);
    for (const a of [...Object.values(res.byOrder), ...Object.values(res.byMigratetype)]) a.agreement = agreementOf(a);
    res.linux61Lists.agreement = agreementOf(res.linux61Lists);
    res.fallbacks.agreement = res.fallbacks.kernel === 0 ? null : res.fallbacks.sameBlock / res.fallbacks.kernel;
    res.cma.agreement = res.cma.decisions === 0 ? null : res.cma.agreed / res.cma.decisions;
    fidelity.follow = res;
    f.sys.check();
    stateHash.follow = f.sys.stateHash();
  }
  if (r) {
    const res = r.result;
    res.maxDistance = res.phases.length === 0 ? null : Math.max(...res.phases.map((p) => p.freeListDistance));
    fidelity.freeRun = res;
    r.sys.check();
    stateHash.freeRun = r.sys.stateHash();
  }
  const trace = { lines, events, afterBoot, pcpBypassFrees: bypassed, markers };
  fidelity.explanations = explainGaps(capture.kernelVersion, kernel, fidelity, trace);
  return {
    capture: summaryOf(capture),
    machine: {
      backend,
      kernel,
      kernelFrom: options.kernel === undefined ? "uname" : "option",
      nrPages: layout.nrPages,
      zones: layout.zones,
    },
    load: load!,
    fidelity,
    trace,
    timing: { loadMs, replayMs, totalMs: performance.now() - t0 },
    stateHash,
  };
}

function summaryOf(capture: Capture): TwinResult["capture"] {
  return {
    dir: capture.dir,
    release: capture.release,
    kernelVersion: capture.kernelVersion,
    zones: capture.zones.map(({ name, startPfn, spannedPages, presentPages, managedPages }) => ({
      name,
      startPfn,
      spannedPages,
      presentPages,
      managedPages,
    })),
    pageblockOrder: capture.pageblockOrder,
    maxOrder: capture.maxOrder,
    cmaAreas: capture.cmaAreas,
    cmaConfigured: capture.cmaConfigured,
    cmaLayout: capture.cmaLayout.map(({ name, basePfn, count, orderPerBit }) => ({
      name,
      basePfn,
      count,
      orderPerBit,
    })),
    phases: capture.phases.map((p) => p.phase),
  };
}
