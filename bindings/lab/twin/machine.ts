/**
 * A dmasim machine laid out like a captured one, loaded with a snapshot's
 * state: exactly the snapshot's free pfns free, every other page held.
 *
 * Layout. dmasim zones start and end on pageblock boundaries and the machine
 * is a whole number of max-order blocks, so each zone boundary of the capture
 * is rounded up to a pageblock and the last zone reaches the machine's end.
 * Pages outside the kernel's zones or RAM (pfn 0, firmware holes, the tail
 * after the last RAM page) are never free in kpageflags: they load held and
 * stay so.
 *
 * Pageblock types. The capture gives only how many pageblocks of each type a
 * zone has (pagetypeinfo's "Number of blocks type"), not which. The loader
 * takes, per pageblock: the type a traced steal claimed it for before the
 * snapshot (mm_page_alloc_extfrag with change_ownership=1, the last one), else
 * the type most evidence names (the free-list type of buddy-level allocations
 * and per-cpu drains touching it, before the snapshot and after it until a
 * traced claim retypes it; see gatherEvidence() in twin.ts), else Movable
 * (memmap_init()'s default). It then moves pageblocks between types until each
 * zone's counts equal the capture's, choosing among those without a traced
 * claim: for Unmovable/Reclaimable the ones with the fewest free pages (kernel
 * allocations fill their blocks), for Movable the ones with the most. A free
 * block spanning several pageblocks gives them all the type of its first.
 * Last, pageblocks no event names swap types where that brings the free lists
 * per (order, type) closer to the snapshot's pagetypeinfo.
 *
 * Held pages. The folios on an LRU list at the snapshot (KPF_LRU) are movable
 * allocations with an owner, in whatever pageblock they sit: they are what
 * the kernel's compaction and alloc_contig_range() migrate, and what
 * move_freepages_block() counts as movable. Other held pages are allocations
 * of their pageblock's type, unmovable in a Movable pageblock (kernel memory,
 * pages off the LRU), movable in a CMA one.
 */
import {
  claimFreeBlock,
  createSystem,
  setPageblockMigratetype,
  type Backend,
  type KernelVersion,
  type MigratetypeName,
  type System,
  type ZoneName,
  type ZoneOption,
} from "../../index.ts";
import { DmaSimError } from "../../core/errors.ts";
import type { Capture, CaptureSnapshot } from "./capture.ts";

/** What the trace says about pageblock types at the snapshot (indexed by pageblock number). */
export interface PageblockEvidence {
  /** The type a traced steal claimed the pageblock for (kernel enum value), or -1. */
  claimed: Int8Array;
  /** Buddy-level allocations and drains naming the pageblock's list, per kernel migratetype 0..2: votes[pb * 3 + mt]. */
  votes: Uint32Array;
  /**
   * The type named by the first allocation or drain touching the pageblock
   * after the snapshot (before a traced claim retypes it), or -1. From v6.10
   * on both name the pageblock's own type at that moment (see assignPageblockTypes()).
   */
  firstAfter: Int8Array;
  /** The type named by the last allocation, drain or traced claim touching the pageblock before the snapshot, or -1. */
  lastBefore: Int8Array;
}

export function emptyEvidence(nrPageblocks: number): PageblockEvidence {
  return {
    claimed: new Int8Array(nrPageblocks).fill(-1),
    votes: new Uint32Array(nrPageblocks * 3),
    firstAfter: new Int8Array(nrPageblocks).fill(-1),
    lastBefore: new Int8Array(nrPageblocks).fill(-1),
  };
}

/**
 * Whether the capture's kernel keeps every free page on its pageblock's list
 * (v6.10's "freelist migratetype hygiene"): then mm_page_alloc_zone_locked
 * names the list __rmqueue_smallest() took from, which is the pageblock's type,
 * and mm_page_pcpu_drain names get_pfnblock_migratetype() read at the drain
 * (6.12 free_pcppages_bulk()). 6.1 drains name the type cached at free time.
 */
export function traceNamesPageblockType(capture: Capture): boolean {
  return kernelProfileOf(capture.kernelVersion) !== "6.1";
}

/** The twin's machine geometry, from the capture. */
export interface TwinLayout {
  nrPages: number;
  pageblockNrPages: number;
  /** Capture zones that dmasim models, with their dmasim [start, end) pfns. */
  zones: { name: ZoneName; startPfn: number; endPfn: number }[];
}

const SUPPORTED_ZONES = ["DMA", "DMA32", "Normal"];

export function twinLayout(capture: Capture, kpageflagsPages: number): TwinLayout {
  const pageblockNrPages = 2 ** capture.pageblockOrder;
  const maxBlock = 2 ** capture.maxOrder;
  for (const z of capture.zones) {
    if (!SUPPORTED_ZONES.includes(z.name))
      throw new DmaSimError("EINVAL", `twin: zone ${z.name} of the capture is not modelled (DMA, DMA32, Normal only)`);
  }
  const lastPfn = Math.max(
    kpageflagsPages,
    ...capture.zones.map((z) => z.startPfn + z.spannedPages),
    ...capture.ramRanges.map(([, end]) => end),
  );
  const nrPages = Math.ceil(lastPfn / maxBlock) * maxBlock;
  const roundUp = (pfn: number): number => Math.ceil(pfn / pageblockNrPages) * pageblockNrPages;
  let start = 0;
  const zones = capture.zones.map((z, i) => {
    const endPfn = i === capture.zones.length - 1 ? nrPages : roundUp(z.startPfn + z.spannedPages);
    const zone = { name: z.name as ZoneName, startPfn: start, endPfn };
    start = endPfn;
    return zone;
  });
  return { nrPages, pageblockNrPages, zones };
}

/** Kernel migratetype enum value → dmasim name, from the capture's pagetypeinfo header. */
export function migratetypeNames(capture: Capture): MigratetypeName[] {
  return capture.phases[0]!.pagetypeinfo.migratetypes.map((name) => name.toLowerCase() as MigratetypeName);
}

const ALLOC_TYPES: MigratetypeName[] = ["unmovable", "movable", "reclaimable"];

/** One byte per pageblock: 1 inside one of the capture's CMA areas. */
function cmaPageblocks(capture: Capture, layout: TwinLayout): Uint8Array {
  const out = new Uint8Array(layout.nrPages / layout.pageblockNrPages);
  for (const a of capture.cmaLayout)
    for (let pfn = a.basePfn; pfn < a.basePfn + a.count && pfn < layout.nrPages; pfn += layout.pageblockNrPages)
      out[Math.floor(pfn / layout.pageblockNrPages)] = 1;
  return out;
}

/** Assigns every pageblock a type (see the file comment). Returns dmasim names per pageblock. */
export function assignPageblockTypes(
  capture: Capture,
  snapshot: CaptureSnapshot,
  layout: TwinLayout,
  free: Uint8Array,
  evidence: PageblockEvidence,
): MigratetypeName[] {
  const names = migratetypeNames(capture);
  const hygiene = traceNamesPageblockType(capture);
  // Pageblocks whose type the trace states: not moved to balance the counts, not swapped.
  const pinned = (pb: number): boolean => evidence.claimed[pb]! >= 0 || (hygiene && evidence.firstAfter[pb]! >= 0);
  const nrBlocks = layout.nrPages / layout.pageblockNrPages;
  const types: MigratetypeName[] = [];
  const freeIn = new Uint32Array(nrBlocks);
  for (let pfn = 0; pfn < free.length; pfn++) if (free[pfn]) freeIn[Math.floor(pfn / layout.pageblockNrPages)]!++;
  const inCma = cmaPageblocks(capture, layout);
  for (let pb = 0; pb < nrBlocks; pb++) {
    // A CMA area's pageblocks are MIGRATE_CMA from boot on (cma_activate_area()).
    if (inCma[pb]) {
      types.push("cma");
      continue;
    }
    // v6.10+: the first event after the snapshot names the type the pageblock had
    // at the snapshot; events before it may be stale, since __free_one_page()
    // retypes a buddy's pageblocks when it merges them at >= pageblock order
    // (no event), and a pageblock claimed before tracing began shows no claim.
    if (hygiene && evidence.firstAfter[pb]! >= 0) {
      types.push(names[evidence.firstAfter[pb]!] ?? "movable");
      continue;
    }
    if (hygiene && evidence.claimed[pb]! < 0 && evidence.lastBefore[pb]! >= 0) {
      types.push(names[evidence.lastBefore[pb]!] ?? "movable");
      continue;
    }
    const claimed = evidence.claimed[pb]!;
    if (claimed >= 0) {
      types.push(names[claimed] ?? "movable");
      continue;
    }
    let best = -1;
    let bestVotes = 0;
    for (let mt = 0; mt < 3; mt++) {
      const v = evidence.votes[pb * 3 + mt]!;
      if (v > bestVotes) [best, bestVotes] = [mt, v];
    }
    types.push(best >= 0 ? (names[best] ?? "movable") : "movable");
  }
  for (const zone of layout.zones) {
    const target = snapshot.pagetypeinfo.blocks[zone.name];
    if (!target) continue;
    const want = (mt: MigratetypeName): number =>
      Object.entries(target).find(([k]) => k.toLowerCase() === mt)?.[1] ?? 0;
    const first = zone.startPfn / layout.pageblockNrPages;
    const last = zone.endPfn / layout.pageblockNrPages;
    const inZone = (mt: MigratetypeName): number[] => {
      const out: number[] = [];
      for (let pb = first; pb < last; pb++) if (types[pb] === mt && !pinned(pb)) out.push(pb);
      return out;
    };
    const count = (mt: MigratetypeName): number => {
      let n = 0;
      for (let pb = first; pb < last; pb++) if (types[pb] === mt) n++;
      return n;
    };
    for (const to of ALLOC_TYPES) {
      for (const from of ALLOC_TYPES) {
        if (from === to) continue;
        let need = Math.min(want(to) - count(to), count(from) - want(from));
        if (need <= 0) continue;
        // Fewest free pages first for unmovable/reclaimable targets, most for movable.
        const candidates = inZone(from).sort((a, b) =>
          to === "movable" ? freeIn[b]! - freeIn[a]! || a - b : freeIn[a]! - freeIn[b]! || a - b,
        );
        for (const pb of candidates) {
          if (need-- <= 0) break;
          types[pb] = to;
        }
      }
    }
  }
  swapToMatchFreeLists(snapshot, layout, free, evidence, types);
  return types;
}

/**
 * The free blocks of each pageblock, as the buddy allocator holds them: the
 * free pfns split greedily into maximal aligned blocks (what
 * tools/summarize.py checks against buddyinfo). hist[pb * (pageblockOrder + 1)
 * + order] counts blocks up to pageblock order; `tied` marks pageblocks inside
 * a larger free block (their type is its first pageblock's).
 */
function pageblockFreeBlocks(
  layout: TwinLayout,
  free: Uint8Array,
  pageblockOrder: number,
): { hist: Uint32Array; tied: Uint8Array } {
  const nrBlocks = layout.nrPages / layout.pageblockNrPages;
  const hist = new Uint32Array(nrBlocks * (pageblockOrder + 1));
  const tied = new Uint8Array(nrBlocks);
  const isFree = (pfn: number): boolean => pfn < free.length && free[pfn] === 1;
  let pfn = 0;
  while (pfn < layout.nrPages) {
    if (!isFree(pfn)) {
      pfn++;
      continue;
    }
    let order = 0;
    for (;;) {
      const next = order + 1;
      const size = 2 ** next;
      if (pfn % size !== 0 || pfn + size > layout.nrPages) break;
      let whole = true;
      for (let p = pfn + 2 ** order; p < pfn + size && whole; p++) whole = isFree(p);
      if (!whole) break;
      order = next;
    }
    const pb = Math.floor(pfn / layout.pageblockNrPages);
    if (order > pageblockOrder) {
      for (let i = 0; i < 2 ** (order - pageblockOrder); i++) tied[pb + i] = 1;
    } else {
      hist[pb * (pageblockOrder + 1) + order]!++;
    }
    pfn += 2 ** order;
  }
  return { hist, tied };
}

/**
 * Where the trace is silent, the pagetypeinfo free lists still tell which
 * pageblock is which: a fully free pageblock counted as a Reclaimable order-9
 * block is a Reclaimable pageblock (the 6.12 capture has one, claimed before
 * tracing started). Swaps the types of two pageblocks of one zone that no
 * event names (no traced claim, no votes) while a swap brings the free lists
 * per (order, type) closer to the snapshot's (the L1 of freeListDistance()):
 * the counts per type stay the capture's. The best swap first, lowest
 * pageblocks on ties; a state already at distance 0 is left as it is.
 */
function swapToMatchFreeLists(
  snapshot: CaptureSnapshot,
  layout: TwinLayout,
  free: Uint8Array,
  evidence: PageblockEvidence,
  types: MigratetypeName[],
): void {
  const pbOrder = Math.log2(layout.pageblockNrPages);
  const width = pbOrder + 1;
  const { hist, tied } = pageblockFreeBlocks(layout, free, pbOrder);
  const silent = (pb: number): boolean =>
    evidence.claimed[pb]! < 0 &&
    !tied[pb] &&
    evidence.votes[pb * 3]! + evidence.votes[pb * 3 + 1]! + evidence.votes[pb * 3 + 2]! === 0;
  for (const zone of layout.zones) {
    const kernelRows = snapshot.pagetypeinfo.free[zone.name];
    if (!kernelRows) continue;
    const kernel = (mt: MigratetypeName): number[] =>
      Object.entries(kernelRows).find(([k]) => k.toLowerCase() === mt)?.[1] ?? [];
    const first = zone.startPfn / layout.pageblockNrPages;
    const last = zone.endPfn / layout.pageblockNrPages;
    // The twin's free blocks per type and order up to pageblock order, as loaded with `types`.
    const ours = new Map<MigratetypeName, number[]>(ALLOC_TYPES.map((mt) => [mt, new Array<number>(width).fill(0)]));
    for (let pb = first; pb < last; pb++) {
      const row = ours.get(types[pb]!);
      if (row) for (let o = 0; o < width; o++) row[o]! += hist[pb * width + o]!;
    }
    const cost = (mt: MigratetypeName, row: number[]): number => {
      const k = kernel(mt);
      let c = 0;
      for (let o = 0; o < width; o++) c += 2 ** o * Math.abs(row[o]! - (k[o] ?? 0));
      return c;
    };
    const candidates: number[] = [];
    for (let pb = first; pb < last; pb++) if (silent(pb) && ALLOC_TYPES.includes(types[pb]!)) candidates.push(pb);
    for (;;) {
      let best: [number, number, number] | null = null;
      for (let i = 0; i < candidates.length; i++) {
        const a = candidates[i]!;
        for (let j = i + 1; j < candidates.length; j++) {
          const b = candidates[j]!;
          const x = types[a]!;
          const y = types[b]!;
          if (x === y) continue;
          const rowX = ours.get(x)!.map((n, o) => n - hist[a * width + o]! + hist[b * width + o]!);
          const rowY = ours.get(y)!.map((n, o) => n - hist[b * width + o]! + hist[a * width + o]!);
          const delta = cost(x, rowX) + cost(y, rowY) - cost(x, ours.get(x)!) - cost(y, ours.get(y)!);
          if (delta < 0 && (best === null || delta < best[2])) best = [a, b, delta];
        }
      }
      if (best === null) break;
      const [a, b] = best;
      const x = types[a]!;
      const y = types[b]!;
      for (let o = 0; o < width; o++) {
        const moved = hist[b * width + o]! - hist[a * width + o]!;
        ours.get(x)![o]! += moved;
        ours.get(y)![o]! -= moved;
      }
      types[a] = y;
      types[b] = x;
    }
  }
}

/** The state loaded: how it matches the snapshot. */
export interface LoadReport {
  /** Pages free after loading (the snapshot's KPF_BUDDY pages). */
  freePages: number;
  heldPages: number;
  /** Per zone: dmasim's free blocks per order after loading equal the snapshot's buddyinfo. */
  buddyinfoMatches: boolean;
  /** Pageblocks per type per zone after loading, and the capture's counts. */
  pageblocks: Record<string, { loaded: Record<string, number>; capture: Record<string, number> }>;
  /** freeListDistance() to the snapshot's pagetypeinfo right after loading (0: per-type free lists as captured). */
  freeListDistance: number;
}

/** A machine laid out like the capture, booted with every page free. */
export async function createTwinSystem(
  capture: Capture,
  layout: TwinLayout,
  backend: Backend,
  kernel: KernelVersion = kernelProfileOf(capture.kernelVersion),
): Promise<System> {
  const zones: ZoneOption[] = layout.zones.map((z) => ({ name: z.name, endBytes: z.endPfn * capture.pageSize }));
  const minPages = capture.zones.reduce((sum, z) => sum + z.watermarks.min, 0);
  return createSystem({
    backend,
    kernel,
    ramBytes: layout.nrPages * capture.pageSize,
    pageSize: capture.pageSize,
    maxOrder: capture.maxOrder,
    pageblockOrder: capture.pageblockOrder,
    storeContents: false,
    zones,
    minFreeKbytes: (minPages * capture.pageSize) / 1024,
    // Where the kernel put its CMA areas (debugfs), not where dmasim would place them.
    cma: capture.cmaLayout.map((a) => ({
      name: a.name,
      bytes: a.count * capture.pageSize,
      base: a.basePfn * capture.pageSize,
      orderPerBit: a.orderPerBit,
    })),
    // The twin follows the capture's buddy-level events (mm_page_alloc_zone_locked,
    // mm_page_pcpu_drain) one by one: the buddy lists alone, as if drained at once.
    pcp: false,
  });
}

/**
 * The profile whose rules a kernel version follows: before v6.10 ("freelist
 * migratetype hygiene") 6.1's, up to v6.14 6.12's, from v6.15 (the
 * __rmqueue_claim()/__rmqueue_steal() rewrite) 6.18's. An unreadable version
 * gets the default, "6.12".
 */
export function kernelProfileOf(kernelVersion: string): KernelVersion {
  const m = /^(\d+)\.(\d+)/.exec(kernelVersion);
  if (!m) return "6.12";
  const v = Number(m[1]) * 1000 + Number(m[2]);
  if (v < 6010) return "6.1";
  if (v < 6015) return "6.12";
  return "6.18";
}

/**
 * Loads `free` (one byte per pfn, 1 = free) into a freshly booted twin: every
 * other page is claimed, then the pageblocks are retyped. The folios `lru`
 * marks (readLruFolios()) are claimed one by one as movable allocations with an
 * owner, whatever their pageblock: compaction and alloc_contig_range() can
 * migrate them, as the kernel's can. The other held pages are claimed in
 * aligned blocks no larger than a pageblock, as allocations of their
 * pageblock's type; those in a Movable or CMA pageblock are movable when no
 * `lru` is given.
 */
export function loadFreeSet(sys: System, free: Uint8Array, types: MigratetypeName[], lru?: Uint8Array): void {
  const nrPages = sys.nrPages;
  const pbPages = sys.pageblockNrPages;
  const isFree = (pfn: number): boolean => pfn < free.length && free[pfn] === 1;
  const lruOrder = (pfn: number): number => (lru && pfn < lru.length ? lru[pfn]! - 1 : -1);
  const hold = (pfn: number, order: number, mt: MigratetypeName): void => {
    if (!claimFreeBlock(sys, pfn, order, mt))
      throw new DmaSimError("EINVAL", `twin: could not hold pfn ${pfn} order ${order} while loading`);
  };
  let pfn = 0;
  while (pfn < nrPages) {
    if (isFree(pfn)) {
      pfn++;
      continue;
    }
    const folioOrder = lruOrder(pfn);
    if (folioOrder >= 0) {
      hold(pfn, folioOrder, "movable");
      pfn += 2 ** folioOrder;
      continue;
    }
    // A run of held pages that are neither free nor an LRU folio's head.
    let end = pfn;
    while (end < nrPages && !isFree(end) && lruOrder(end) < 0) end++;
    while (pfn < end) {
      let order = Math.min(sys.pageblockOrder, pfn === 0 ? sys.pageblockOrder : ctz(pfn));
      while (pfn + 2 ** order > end) order--;
      const mt = types[Math.floor(pfn / pbPages)]!;
      // Pages in use in a CMA pageblock are movable allocations (only those may use CMA).
      let held: MigratetypeName = mt === "cma" ? "movable" : ALLOC_TYPES.includes(mt) ? mt : "unmovable";
      // With the LRU known, a page off it is no migration source.
      if (lru && mt === "movable") held = "unmovable";
      hold(pfn, order, held);
      pfn += 2 ** order;
    }
  }
  // A free block spanning several pageblocks gives them all its first one's type.
  for (let pb = 0; pb < types.length; pb++) {
    const info = sys.pageInfo(pb * pbPages);
    if (info.state === "free" && info.order > sys.pageblockOrder) {
      const span = 2 ** (info.order - sys.pageblockOrder);
      for (let i = 1; i < span; i++) types[pb + i] = types[pb]!;
    }
  }
  // Every pageblock is (re)typed in ascending order, which moves its free
  // blocks to their lists' tails (move_freepages_block()): each list then
  // holds its blocks in ascending pfn order, the order the boot snapshot
  // cannot tell and lists61.ts assumes.
  for (let pb = 0; pb < types.length; pb++) {
    const mt = types[pb]!;
    if (mt !== "cma" && mt !== "isolate") setPageblockMigratetype(sys, pb * pbPages, mt);
  }
}

function ctz(n: number): number {
  return 31 - Math.clz32(n & -n);
}

/**
 * L1 distance between dmasim's free pages per (zone, order, migratetype) and a
 * snapshot's pagetypeinfo, over the snapshot's free pages:
 *
 *   Σ_zone Σ_order Σ_mt |2^order · (dmasim_blocks − kernel_blocks)|  /  Σ kernel free pages
 *
 * 0 when every free list has as many pages as the kernel's; 2 when no free page
 * is on a list where the kernel has one. Migratetypes are matched by name.
 */
export function freeListDistance(sys: System, snapshot: CaptureSnapshot, layout: TwinLayout): number {
  let diff = 0;
  let total = 0;
  for (const zone of layout.zones) {
    const kernel = snapshot.pagetypeinfo.free[zone.name] ?? {};
    const ours = sys.freeArea(zone.name);
    const mts = new Set([...Object.keys(kernel).map((k) => k.toLowerCase()), "unmovable", "movable", "reclaimable"]);
    for (const mt of mts) {
      const kRow = Object.entries(kernel).find(([k]) => k.toLowerCase() === mt)?.[1] ?? [];
      const mtIndex = ["unmovable", "movable", "reclaimable", "highatomic", "cma", "isolate"].indexOf(mt);
      const oRow = mtIndex >= 0 ? (ours[mtIndex] ?? []) : [];
      for (let order = 0; order <= sys.maxOrder; order++) {
        const k = (kRow[order] ?? 0) * 2 ** order;
        const o = (oRow[order] ?? 0) * 2 ** order;
        diff += Math.abs(k - o);
        total += k;
      }
    }
  }
  return total === 0 ? 0 : diff / total;
}

/** Per zone, whether dmasim's free blocks per order equal the snapshot's buddyinfo. */
export function buddyinfoMatches(sys: System, snapshot: CaptureSnapshot, layout: TwinLayout): boolean {
  return layout.zones.every((z) => {
    const kernel = snapshot.buddyinfo[z.name];
    return kernel !== undefined && sys.nrFreeByOrder(z.name).every((n, order) => n === (kernel[order] ?? 0));
  });
}

/** One byte per pfn, 1 = free in dmasim. */
export function twinFreePfns(sys: System): Uint8Array {
  const out = new Uint8Array(sys.nrPages);
  let pfn = 0;
  while (pfn < sys.nrPages) {
    const info = sys.pageInfo(pfn);
    const n = info.state === "tail" ? 1 : 2 ** info.order;
    if (info.state === "free") out.fill(1, pfn, pfn + n);
    pfn += n;
  }
  return out;
}

export function loadReport(sys: System, snapshot: CaptureSnapshot, layout: TwinLayout): LoadReport {
  const freePages = sys.stats().nrFreePages;
  const pageblocks: LoadReport["pageblocks"] = {};
  for (const z of layout.zones) {
    const loaded: Record<string, number> = {};
    for (let pfn = z.startPfn; pfn < z.endPfn; pfn += layout.pageblockNrPages) {
      const mt = sys.pageblockMigratetype(pfn);
      loaded[mt] = (loaded[mt] ?? 0) + 1;
    }
    pageblocks[z.name] = { loaded, capture: snapshot.pagetypeinfo.blocks[z.name] ?? {} };
  }
  return {
    freePages,
    heldPages: sys.nrPages - freePages,
    buddyinfoMatches: buddyinfoMatches(sys, snapshot, layout),
    pageblocks,
    freeListDistance: freeListDistance(sys, snapshot, layout),
  };
}
