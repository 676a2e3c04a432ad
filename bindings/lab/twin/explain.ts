/**
 * Why the twin's figures fall short of the kernel's: each known cause is
 * attached, from the result's own figures, to the snapshots whose figures it
 * concerns (PhaseCheck.notes) and explained with the capture's numbers
 * (TwinResult.fidelity.explanations). Nothing here is per capture: a cause is
 * named only where the figures show it (compact_memory markers in the trace,
 * miss causes, the capture's kernel against the profile).
 */
import type { KernelVersion } from "../../index.ts";

/** A marker of the capture's harness in the trace: a snapshot, or compact_memory's start and end. */
export interface TraceMarker {
  line: number;
  /** The snapshot's name, "compact_start" or "compact_end". */
  label: string;
  kind: "snapshot" | "compaction";
}

/**
 * The known causes of a gap between dmasim and the kernel:
 * - "compaction-free-scanner": after compact_memory the kernel's free scanner
 *   (isolate_freepages_block(), fast_isolate_freepages() → __isolate_free_page())
 *   takes free pages off the lists with no mm_page_alloc_zone_locked event;
 * - "boot-list-order": the boot snapshot tells which pages are free, not their
 *   order on a free list, so a pick from the same list and order can differ;
 * - "linux61-lists": a 6.1 capture replayed under another profile: 6.1 puts a
 *   drained page on its per-cpu migratetype's list (free_pcppages_bulk()),
 *   v6.10+ on its pageblock's.
 */
export type ExplanationCause = "compaction-free-scanner" | "boot-list-order" | "linux61-lists";

/** Why a figure falls short: one known cause, the snapshots whose figures it concerns, and how much it accounts for. */
export interface Explanation {
  cause: ExplanationCause;
  /** The modes whose figures it concerns. */
  modes: ("follow" | "free-run")[];
  /** The snapshots (later phases) whose figures it concerns. */
  phases: string[];
  /** Follow mode's decisions it accounts for (misses), or null where it is not counted in decisions. */
  misses: number | null;
  /** The explanation in one paragraph, with the capture's figures. */
  text: string;
}

/** What explain.ts reads of a snapshot check (twin.ts's PhaseCheck). */
interface CheckView {
  phase: string;
  freeListDistance: number;
  freePfnsDiffering: number | null;
  sincePrevious: { bootListOrderMisses: number; otherListMisses: number } | null;
  notes: ExplanationCause[];
}

/** What explain.ts reads of follow mode's result (twin.ts's FollowResult). */
interface FollowView {
  phases: CheckView[];
  timeline: { points: { line: number; windowDecisions: number; windowAgreed: number }[] };
  missCauses: { otherListIn61: number; kernelBlockOnOtherList: number; listOrder: number };
  linux61Lists: { agreement: number | null };
  listOrderFromBoot: number;
}

/** What explain.ts reads of free run's result (twin.ts's FreeRunResult). */
interface FreeRunView {
  phases: CheckView[];
  compaction: { runs: number; migrated: number; kernelMigrated: number };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * (a) compact_memory: the kernel's free scanner (isolate_freepages_block() and
 * fast_isolate_freepages(), both through __isolate_free_page()) takes free
 * pages off the lists as migration targets; only __rmqueue_smallest() traces
 * mm_page_alloc_zone_locked, so the twin never sees those takes.
 */
function compactionNote(
  follow: FollowView | undefined,
  freeRun: FreeRunView | undefined,
  markers: TraceMarker[],
): Explanation | null {
  const starts = markers.filter((m) => m.kind === "compaction" && m.label === "compact_start");
  if (starts.length === 0) return null;
  const firstLine = starts[0]!.line;
  const phases = markers.filter((m) => m.kind === "snapshot" && m.line > firstLine).map((m) => m.label);
  const modes: Explanation["modes"] = [];
  let text =
    `compact_memory ran ${plural(starts.length, "time")} (from trace line ${firstLine}). The kernel's compaction ` +
    `free scanner (isolate_freepages_block(), fast_isolate_freepages() → __isolate_free_page()) takes free pages ` +
    `off the free lists as migration targets without a trace event (only __rmqueue_smallest() traces ` +
    `mm_page_alloc_zone_locked), so the twin cannot see which pages it took.`;
  let misses: number | null = null;
  if (follow) {
    modes.push("follow");
    // Windows are cut at compact_start: the points after it are exactly the decisions after it.
    const after = follow.timeline.points.filter((p) => p.line > firstLine);
    const decisions = after.reduce((s, p) => s + p.windowDecisions, 0);
    const agreed = after.reduce((s, p) => s + p.windowAgreed, 0);
    misses = decisions - agreed;
    const differing = follow.phases
      .filter((p) => phases.includes(p.phase) && p.freePfnsDiffering !== null)
      .map((p) => `${p.freePfnsDiffering} at ${p.phase}`);
    text +=
      ` Follow mode: the free pfns differ from then on (${differing.length > 0 ? `${differing.join(", ")} pfns free in one and not the other` : "no later snapshot"}), ` +
      `and ${misses} of the ${decisions} decisions after it disagree` +
      (decisions > 0 ? ` (${pct(agreed / decisions)} agree).` : ".");
  }
  if (freeRun) {
    modes.push("free-run");
    const c = freeRun.compaction;
    const distances = freeRun.phases
      .filter((p) => phases.includes(p.phase))
      .map((p) => `${p.freeListDistance.toFixed(4)} at ${p.phase}`);
    text +=
      ` Free run cannot take the kernel's pages and compacts on its own (compactMemory(), ${plural(c.runs, "run")}): ` +
      `dmasim migrated ${c.migrated} pages, the kernel ${c.kernelMigrated} (mm_compaction_migratepages)` +
      (distances.length > 0 ? `; its distance ${distances.join(", ")}.` : ".");
  }
  return { cause: "compaction-free-scanner", modes, phases, misses, text };
}

/** The snapshots reached after the first compact_memory (whose misses note (a) explains). */
function afterCompaction(markers: TraceMarker[]): Set<string> {
  const start = markers.find((m) => m.kind === "compaction" && m.label === "compact_start");
  return new Set(
    start === undefined ? [] : markers.filter((m) => m.kind === "snapshot" && m.line > start.line).map((m) => m.label),
  );
}

/**
 * (b) list order at boot: the snapshot (kpageflags, buddyinfo, pagetypeinfo)
 * says which pages are free and on which list, not where on the list. A miss
 * whose pick is on the kernel block's list and order, where one of the two
 * blocks has sat there untouched since the boot snapshot
 * (listOrderFromBoot), was decided by the order the loader gave the lists.
 * Counted before compact_memory (after it, (a) explains the lists).
 */
function listOrderNote(follow: FollowView | undefined, markers: TraceMarker[]): Explanation | null {
  if (!follow || follow.listOrderFromBoot === 0) return null;
  const compacted = afterCompaction(markers);
  const before = follow.phases.filter((p) => !compacted.has(p.phase));
  const misses =
    compacted.size === 0
      ? follow.listOrderFromBoot
      : before.reduce((s, p) => s + (p.sincePrevious?.bootListOrderMisses ?? 0), 0);
  if (misses === 0) return null;
  const phases = before.filter((p) => (p.sincePrevious?.bootListOrderMisses ?? 0) > 0).map((p) => p.phase);
  const others = follow.missCauses.listOrder - follow.listOrderFromBoot;
  const text =
    `${plural(misses, "miss", "misses")} took a block of the right list and order, but another one on that list, ` +
    `where the kernel's block or dmasim's pick had sat on its list untouched since the boot snapshot. The snapshot ` +
    `tells which pages are free and on which list (kpageflags, pagetypeinfo), not their order on the list, and ` +
    `__rmqueue_smallest() takes a list's first block: the twin's boot lists are in the order its loading left them.` +
    (others > 0
      ? ` ${plural(others, "other list-order miss", "other list-order misses")} involved only blocks freed or split after the snapshot.`
      : "");
  return { cause: "boot-list-order", modes: ["follow"], phases, misses, text };
}

/**
 * (c) a 6.1 capture under another profile: 6.1's free_pcppages_bulk() frees a
 * drained page to its per-cpu migratetype's list (get_pcppage_migratetype()),
 * and __rmqueue_smallest() takes blocks from whichever list they sit on;
 * v6.10+ keep every free block on its pageblock's list.
 */
function linux61Note(
  follow: FollowView | undefined,
  captureKernel: string,
  profile: KernelVersion,
): Explanation | null {
  if (!follow || profile === "6.1" || !/^6\.1\./.test(captureKernel)) return null;
  const misses = follow.missCauses.otherListIn61 + follow.missCauses.kernelBlockOnOtherList;
  if (misses === 0) return null;
  const phases = follow.phases.filter((p) => (p.sincePrevious?.otherListMisses ?? 0) > 0).map((p) => p.phase);
  const model = follow.linux61Lists.agreement;
  const text =
    `The capture is Linux ${captureKernel}, replayed with ${profile}'s rules: 6.1's free_pcppages_bulk() puts a ` +
    `drained page on the list of its per-cpu migratetype and __rmqueue_smallest() takes blocks from whichever list ` +
    `they sit on, while v6.10+ keep every free block on its pageblock's list. ${plural(misses, "miss", "misses")} ` +
    `came from blocks on another type's list` +
    (model === null
      ? "."
      : `; a model of 6.1's free lists (linux61Lists) names the kernel's block for ${pct(model)} of the decisions.`) +
    ` The 6.1 profile (the default from uname) follows 6.1's rules.`;
  return { cause: "linux61-lists", modes: ["follow"], phases, misses, text };
}

/**
 * The explanations of a twin result (see the file comment); attaches each
 * one's cause to the notes of the snapshots it concerns, in the modes it
 * concerns.
 */
export function explainGaps(
  captureKernel: string,
  profile: KernelVersion,
  fidelity: { follow?: FollowView; freeRun?: FreeRunView },
  trace: { markers: TraceMarker[] },
): Explanation[] {
  const { follow, freeRun } = fidelity;
  const notes = [
    compactionNote(follow, freeRun, trace.markers),
    listOrderNote(follow, trace.markers),
    linux61Note(follow, captureKernel, profile),
  ].filter((n): n is Explanation => n !== null);
  for (const note of notes) {
    const checks = [
      ...(note.modes.includes("follow") ? (follow?.phases ?? []) : []),
      ...(note.modes.includes("free-run") ? (freeRun?.phases ?? []) : []),
    ];
    for (const check of checks) if (note.phases.includes(check.phase)) check.notes.push(note.cause);
  }
  return notes;
}
