// Per-cpu page lists (mm/page_alloc.c, Linux 6.12): each CPU keeps, per zone, a
// small cache of free blocks of the orders pcp_allowed_order() admits (0..
// PAGE_ALLOC_COSTLY_ORDER, and pageblock order for THP), one list per pcp
// migratetype. Order-0..3 traffic is served from them LIFO and reaches the
// buddy lists only in batches: rmqueue_bulk() refills an empty list with
// `batch` blocks, free_pcppages_bulk() returns blocks once `count` reaches
// `high`. Pages on a pcp list are free but not PageBuddy and not in
// NR_FREE_PAGES, exactly as in the kernel.
//
// Memory layout (one struct per_cpu_pages for every cpu × zone, flattened):
//
//   pcpState[(cpu * MAX_NR_ZONES + zone) * PCP_FIELDS + field]       i32 each
//     ┌───────┬──────┬──────────┬──────────┬───────┬────────────┬───────┬──────────────┐
//     │ count │ high │ high_min │ high_max │ batch │ free_count │ flags │ alloc_factor │
//     └───────┴──────┴──────────┴──────────┴───────┴────────────┴───────┴──────────────┘
//       PCP_COUNT ..................................................... PCP_ALLOC_FACTOR
//
//   pcpHead/pcpTail[(cpu * MAX_NR_ZONES + zone) * NR_PCP_LISTS + pindex]
//     pindex = order_to_pindex(mt, order):
//       0 .. NR_LOWORDER_PCP_LISTS-1   MIGRATE_PCPTYPES * order + mt   (order 0..3)
//       NR_LOWORDER_PCP_LISTS + 0      THP order, unmovable/reclaimable
//       NR_LOWORDER_PCP_LISTS + 1      THP order, movable
//
//   pcpHead[li] ─► pfn ⇄ pfn ⇄ pfn ◄─ pcpTail[li]      (memmap link0 = next, link1 = prev;
//                                                       the heads are KIND_PCP in memmap.ts)
//
// Under the "6.1" profile the lists follow 6.1's rules instead (see the section
// "6.1's rules" below): a fixed high, free_factor, no decay, and a drained block
// goes to the migratetype cached in its page, not to its pageblock's type:
//
//   pcpCachedMt[pfn]   u8 per page, read for pcp heads only (6.1's page->index,
//                      set_pcppage_migratetype()): the pageblock's type when the
//                      block was freed (free_unref_page_prepare(): CMA and
//                      HighAtomic too, though they sit on the movable list), or
//                      the free list a refill took it from (__rmqueue_smallest()).
//   zoneNrIsolatePageblock[zone] (isolation.ts): when non-zero, a drain re-reads
//                      the pageblock's type instead (has_isolate_pageblock()).
//
// 6.12 (and 6.18) cache nothing: a drained block goes to its pageblock's type.
//
// The CPU an operation runs on is `thisCpu` (set by the engine's entry points;
// CPU 0 unless a caller names another). The vmstat worker's decay_pcp_high()
// runs every simulated second (vmstatTick(), from kcompactd.ts's clock). Not
// modelled: ZONE_RECLAIM_ACTIVE (no kswapd reclaim), zone_pcp_disable() (no
// memory offline).

import {
  MAX_NR_ZONES, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, WMARK_HIGH, ZONE_MOVABLE, EV_PGFREE,
} from "./abi.ts";
import { NONE } from "./constants.ts";
import { ALLOC_CMA, freeBlock, freeOneBlock, rmqueue, zoneWatermarkOk } from "./buddy.ts";
import {
  clearHead, link0, link1, pageblockOrder, pageShift, setLink0, setLink1, setPcpHead,
} from "./memmap.ts";
import { getPageblockMt } from "./pageblock.ts";
import { countEvent } from "./vmevents.ts";
import { zoneManagedPages, zoneOf, zonePopulated, zoneWatermark } from "./zone.ts";
import { WMARK_LOW } from "./abi.ts";
import { dataPointer } from "./target.ts";
import { fnvMix } from "./fnv.ts";
import { rmqueueBuddy } from "./highatomic.ts";
import { wakeupKswapd } from "./kswapd.ts";
import { zoneBoostedFlag } from "./watermark-boost.ts";
import { KERNEL_6_1, MIGRATE_CMA } from "./abi.ts";
import { kernelProfile } from "./profile.ts";
import { hasIsolatePageblock } from "./isolation.ts";
import { nrPages } from "./memmap.ts";

// ---- base constants -----------------------------------------------------------------------
/** PAGE_ALLOC_COSTLY_ORDER */
// @ts-ignore: decorator
@inline const PCP_COSTLY_ORDER: i32 = 3;
/** CONFIG_PCP_BATCH_SCALE_MAX (default 5): batches scale up to batch << 5. */
// @ts-ignore: decorator
@inline export const PCP_BATCH_SCALE_MAX: i32 = 5;
/** MIN_PERCPU_PAGELIST_HIGH_FRACTION: the smallest non-zero percpu_pagelist_high_fraction. */
// @ts-ignore: decorator
@inline export const MIN_PERCPU_PAGELIST_HIGH_FRACTION: i32 = 8;
/** The most CPUs a machine may have here (NR_CPUS of a modest config). */
// @ts-ignore: decorator
@inline export const PCP_MAX_CPUS: i32 = 256;

// ---- derived ------------------------------------------------------------------------------
/** NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) */
// @ts-ignore: decorator
@inline export const NR_LOWORDER_PCP_LISTS: i32 = MIGRATE_PCPTYPES * (PCP_COSTLY_ORDER + 1);
/** NR_PCP_LISTS: the low orders plus NR_PCP_THP (2) lists for THP-order blocks. */
// @ts-ignore: decorator
@inline export const NR_PCP_LISTS: i32 = NR_LOWORDER_PCP_LISTS + 2;

// struct per_cpu_pages fields.
// @ts-ignore: decorator
@inline export const PCP_COUNT: i32 = 0;
// @ts-ignore: decorator
@inline export const PCP_HIGH: i32 = 1;
// @ts-ignore: decorator
@inline export const PCP_HIGH_MIN: i32 = 2;
// @ts-ignore: decorator
@inline export const PCP_HIGH_MAX: i32 = 3;
// @ts-ignore: decorator
@inline export const PCP_BATCH: i32 = 4;
// @ts-ignore: decorator
@inline export const PCP_FREE_COUNT: i32 = 5;
// @ts-ignore: decorator
@inline export const PCP_FLAGS: i32 = 6;
// @ts-ignore: decorator
@inline export const PCP_ALLOC_FACTOR: i32 = 7;
// @ts-ignore: decorator
@inline export const PCP_FIELDS: i32 = 8;

/** pcp->flags: the previous free was of a high order (1..3). */
// @ts-ignore: decorator
@inline const PCPF_PREV_FREE_HIGH_ORDER: i32 = 1 << 0;
/** pcp->flags: keep `batch` pages when freeing high orders in a row (a large per-cpu cache slice). */
// @ts-ignore: decorator
@inline const PCPF_FREE_HIGH_BATCH: i32 = 1 << 1;

/** BOOT_PAGESET_HIGH / BOOT_PAGESET_BATCH: a pageset before zone_pcp_update() tuned it. */
// @ts-ignore: decorator
@inline const BOOT_PAGESET_HIGH: i32 = 0;
// @ts-ignore: decorator
@inline const BOOT_PAGESET_BATCH: i32 = 1;

// ---- state --------------------------------------------------------------------------------
/** Pages freed to pcp lists at all (false: every free goes straight to the buddy lists). */
export let pcpEnabled: bool = true;
/** Online CPUs. */
export let nrCpus: i32 = 1;
/** The CPU the current operation runs on. */
export let thisCpu: i32 = 0;
/** vm.percpu_pagelist_high_fraction (0: high follows the low watermark). */
export let percpuPagelistHighFraction: i32 = 0;
/** ZONE_BELOW_HIGH per zone (1: free pages fell below the high watermark). */
export const zoneBelowHigh: Int32Array = new Int32Array(MAX_NR_ZONES);
export let pcpState: Int32Array = new Int32Array(0);
export let pcpHead: Int32Array = new Int32Array(0);
export let pcpTail: Int32Array = new Int32Array(0);
let pcpStateBase: usize = 0;
/** Pages rmqueue_bulk() moved onto pcp lists (mm_page_alloc_zone_locked percpu_refill=1), and pages free_pcppages_bulk() returned (mm_page_pcpu_drain). */
export let pcpRefillPages: f64 = 0;
export let pcpDrainPages: f64 = 0;
/** 6.1: the migratetype cached in each pcp head (see the file comment); sized at boot under that profile. */
export let pcpCachedMt: Uint8Array = new Uint8Array(0);

/** set_pcppage_migratetype() (6.1). */
// @ts-ignore: decorator
@inline function setPcppageMigratetype(pfn: i32, mt: i32): void {
  if (pfn < pcpCachedMt.length) unchecked(pcpCachedMt[pfn] = u8(mt));
}

/** get_pcppage_migratetype() (6.1). */
// @ts-ignore: decorator
@inline export function getPcppageMigratetype(pfn: i32): i32 {
  return pfn < pcpCachedMt.length ? i32(unchecked(pcpCachedMt[pfn])) : getPageblockMt(pfn);
}

/** The state hash `h` with the 6.1 cached type of every pcp block mixed in, list by list. */
export function pcpHashCachedMt(h: i32): i32 {
  for (let li = 0; li < pcpHead.length; li++) {
    for (let pfn = unchecked(pcpHead[li]); pfn != NONE; pfn = link0(pfn)) h = fnvMix(h, getPcppageMigratetype(pfn));
  }
  return h;
}

/** Resets to one CPU with pcp lists on (engine init). */
export function pcpReset(): void {
  pcpConfigure(1, true);
}

/** Sizes the per-cpu structures for `cpus` CPUs (before boot). */
export function pcpConfigure(cpus: i32, enabled: bool): void {
  nrCpus = cpus;
  pcpEnabled = enabled;
  thisCpu = 0;
  percpuPagelistHighFraction = 0;
  zoneBelowHigh.fill(0);
  pcpRefillPages = 0;
  pcpDrainPages = 0;
  const sets = cpus * MAX_NR_ZONES;
  pcpState = new Int32Array(sets * PCP_FIELDS);
  pcpHead = new Int32Array(sets * NR_PCP_LISTS);
  pcpTail = new Int32Array(sets * NR_PCP_LISTS);
  pcpHead.fill(NONE);
  pcpTail.fill(NONE);
  pcpStateBase = dataPointer(pcpState);
  // per_cpu_pages_init(): the boot pageset until zone_set_pageset_high_and_batch().
  for (let s = 0; s < sets; s++) {
    unchecked(pcpState[s * PCP_FIELDS + PCP_HIGH] = BOOT_PAGESET_HIGH);
    unchecked(pcpState[s * PCP_FIELDS + PCP_HIGH_MIN] = BOOT_PAGESET_HIGH);
    unchecked(pcpState[s * PCP_FIELDS + PCP_HIGH_MAX] = BOOT_PAGESET_HIGH);
    unchecked(pcpState[s * PCP_FIELDS + PCP_BATCH] = BOOT_PAGESET_BATCH);
    // zone_pcp_update_cacheinfo(): assumed a per-cpu cache slice above 3 * batch
    // pages (a few MiB of LLC per core, as on common x86 and arm64 parts).
    unchecked(pcpState[s * PCP_FIELDS + PCP_FLAGS] = PCPF_FREE_HIGH_BATCH);
  }
}

export function setThisCpu(cpu: i32): void {
  thisCpu = cpu;
}

// ---- accessors ----------------------------------------------------------------------------
// @ts-ignore: decorator
@inline function pcpIndex(cpu: i32, zone: i32): i32 {
  return cpu * MAX_NR_ZONES + zone;
}
// @ts-ignore: decorator
@inline function field(p: i32, f: i32): i32 {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) return load<i32>(pcpStateBase + (usize(p * PCP_FIELDS + f) << 2));
  return unchecked(pcpState[p * PCP_FIELDS + f]);
}
// @ts-ignore: decorator
@inline function setField(p: i32, f: i32, v: i32): void {
  // @ts-ignore: wasm only
  if (ASC_TARGET != 0) store<i32>(pcpStateBase + (usize(p * PCP_FIELDS + f) << 2), v);
  else unchecked(pcpState[p * PCP_FIELDS + f] = v);
}

/** A pcp field of (cpu, zone), for inspection. */
export function pcpField(cpu: i32, zone: i32, f: i32): i32 {
  return field(pcpIndex(cpu, zone), f);
}

// @ts-ignore: decorator
@inline function listIdx(p: i32, pindex: i32): i32 {
  return p * NR_PCP_LISTS + pindex;
}

/** pcp_allowed_order(): orders kept on pcp lists (THP: pageblock order, HPAGE_PMD_ORDER here). */
// @ts-ignore: decorator
@inline export function pcpAllowedOrder(order: i32): bool {
  return order <= PCP_COSTLY_ORDER || order == pageblockOrder;
}

/** order_to_pindex() */
// @ts-ignore: decorator
@inline export function orderToPindex(mt: i32, order: i32): i32 {
  if (order > PCP_COSTLY_ORDER) return NR_LOWORDER_PCP_LISTS + (mt == MIGRATE_MOVABLE ? 1 : 0);
  return MIGRATE_PCPTYPES * order + mt;
}

/** pindex_to_order() */
// @ts-ignore: decorator
@inline export function pindexToOrder(pindex: i32): i32 {
  if (pindex >= NR_LOWORDER_PCP_LISTS) return pageblockOrder;
  return i32(pindex / MIGRATE_PCPTYPES);
}

export function pcpListHead(cpu: i32, zone: i32, pindex: i32): i32 {
  return unchecked(pcpHead[listIdx(pcpIndex(cpu, zone), pindex)]);
}

/** list_add() (head) or list_add_tail() of a block that becomes a pcp head. */
// @ts-ignore: decorator
@inline function listAdd(li: i32, pfn: i32, order: i32, mt: i32, toTail: bool): void {
  setPcpHead(pfn, order, mt);
  if (toTail) {
    const tail = unchecked(pcpTail[li]);
    setLink0(pfn, NONE);
    setLink1(pfn, tail);
    if (tail == NONE) unchecked(pcpHead[li] = pfn);
    else setLink0(tail, pfn);
    unchecked(pcpTail[li] = pfn);
  } else {
    const head = unchecked(pcpHead[li]);
    setLink0(pfn, head);
    setLink1(pfn, NONE);
    if (head == NONE) unchecked(pcpTail[li] = pfn);
    else setLink1(head, pfn);
    unchecked(pcpHead[li] = pfn);
  }
}

/** list_del(): the head page becomes "none" again. */
// @ts-ignore: decorator
@inline function listDel(li: i32, pfn: i32): void {
  const next = link0(pfn);
  const prev = link1(pfn);
  if (prev == NONE) unchecked(pcpHead[li] = next);
  else setLink0(prev, next);
  if (next == NONE) unchecked(pcpTail[li] = prev);
  else setLink1(next, prev);
  clearHead(pfn);
}

// ---- sizing: zone_batchsize(), zone_highsize(), pageset_update() ----------------------------

/** rounddown_pow_of_two() of a positive value. */
// @ts-ignore: decorator
@inline function rounddownPow2(x: i32): i32 {
  return 1 << (31 - i32(clz<u32>(u32(x))));
}

/** zone_batchsize(): ~0.1% of the zone or 1 MiB, whichever is smaller, a quarter of it, clamped to 2^n - 1. */
export function zoneBatchsize(zone: i32): i32 {
  const oneMib = 1 << (20 - pageShift);
  let batch = zoneManagedPages(zone) >> 10;
  if (batch > oneMib) batch = oneMib;
  batch = i32(batch / 4);
  if (batch < 1) batch = 1;
  return rounddownPow2(batch + i32(batch / 2)) - 1;
}

/**
 * zone_highsize(): the zone's low watermark (fraction 0) or managed/fraction,
 * split across the node's CPUs, and at least 4 * batch.
 */
export function zoneHighsize(zone: i32, batch: i32, cpuOnline: i32, highFraction: i32): i32 {
  const totalPages = highFraction == 0 ? zoneWatermark(zone, WMARK_LOW) : i32(zoneManagedPages(zone) / highFraction);
  const nrSplitCpus = nrCpus + cpuOnline;
  const high = i32(totalPages / nrSplitCpus);
  return high > batch << 2 ? high : batch << 2;
}

/**
 * zone_set_pageset_high_and_batch(zone, 0): recomputes batch, high_min and
 * high_max (auto-tuning between them unless the fraction is set) and applies
 * them to every CPU (pageset_update(), which leaves pcp->high to be clamped on
 * next use).
 */
export function zoneSetPagesetHighAndBatch(zone: i32): void {
  const zb = zoneBatchsize(zone);
  const batch = zb > 1 ? zb : 1;
  let highMin = 0;
  let highMax = 0;
  if (kernelProfile == KERNEL_6_1) {
    // 6.1: one fixed high (no auto-tuning), which pageset_update() writes at once.
    const high = zoneHighsize(zone, batch, 0, percpuPagelistHighFraction);
    for (let cpu = 0; cpu < nrCpus; cpu++) {
      const p = pcpIndex(cpu, zone);
      setField(p, PCP_BATCH, batch);
      setField(p, PCP_HIGH, high);
      setField(p, PCP_HIGH_MIN, high);
      setField(p, PCP_HIGH_MAX, high);
    }
    return;
  }
  if (percpuPagelistHighFraction != 0) {
    highMin = zoneHighsize(zone, batch, 0, percpuPagelistHighFraction);
    highMax = highMin; // tuned by hand: no auto-tuning
  } else {
    highMin = zoneHighsize(zone, batch, 0, 0);
    highMax = zoneHighsize(zone, batch, 0, MIN_PERCPU_PAGELIST_HIGH_FRACTION);
  }
  for (let cpu = 0; cpu < nrCpus; cpu++) {
    const p = pcpIndex(cpu, zone);
    setField(p, PCP_BATCH, batch);
    setField(p, PCP_HIGH_MIN, highMin);
    setField(p, PCP_HIGH_MAX, highMax);
  }
}

/** setup_per_zone_wmarks() → zone_pcp_update(zone, 0) for every populated zone (boot). */
export function pcpBoot(): void {
  if (kernelProfile == KERNEL_6_1 && pcpCachedMt.length != nrPages) pcpCachedMt = new Uint8Array(nrPages);
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (zonePopulated(z)) zoneSetPagesetHighAndBatch(z);
  }
}

/**
 * percpu_pagelist_high_fraction_sysctl_handler(): 0, or at least
 * MIN_PERCPU_PAGELIST_HIGH_FRACTION; -1 (EINVAL) leaves everything as it was.
 * A change re-sizes every populated zone's pagesets; nothing is drained.
 */
export function setPercpuPagelistHighFraction(v: i32): bool {
  if (v < 0 || (v != 0 && v < MIN_PERCPU_PAGELIST_HIGH_FRACTION)) return false;
  if (v == percpuPagelistHighFraction) return true;
  percpuPagelistHighFraction = v;
  pcpBoot();
  return true;
}

// ---- freeing --------------------------------------------------------------------------------

/**
 * free_pcppages_bulk(): returns `count` pages of CPU `cpu`'s pagesets in
 * `zone` to the buddy lists, round-robin over the lists starting at `pindex`,
 * oldest (tail) blocks first, each to its pageblock's current type (6.1: to
 * its cached type while the zone has no isolated pageblock).
 */
function freePcppagesBulk(zone: i32, cpu: i32, count: i32, pindex: i32): void {
  const p = pcpIndex(cpu, zone);
  // 6.1 reads has_isolate_pageblock() once, under the zone lock, before draining.
  const cached = kernelProfile == KERNEL_6_1 && !hasIsolatePageblock(zone);
  let pcpCount = field(p, PCP_COUNT);
  if (count > pcpCount) count = pcpCount;
  pindex = pindex - 1;
  while (count > 0) {
    let li = 0;
    do {
      if (++pindex > NR_PCP_LISTS - 1) pindex = 0;
      li = listIdx(p, pindex);
    } while (unchecked(pcpHead[li]) == NONE);
    const order = pindexToOrder(pindex);
    const nr = 1 << order;
    do {
      const pfn = unchecked(pcpTail[li]);
      const mt = cached ? getPcppageMigratetype(pfn) : getPageblockMt(pfn);
      listDel(li, pfn);
      count -= nr;
      pcpCount -= nr;
      freeOneBlock(pfn, order, mt, false); // __free_one_page(FPI_NONE)
      pcpDrainPages += f64(nr); // trace_mm_page_pcpu_drain
    } while (count > 0 && unchecked(pcpHead[li]) != NONE);
  }
  setField(p, PCP_COUNT, pcpCount);
}

/** nr_pcp_free(): how many pages free_unref_page_commit() returns once count reaches high. */
// @ts-ignore: decorator
@inline function nrPcpFree(p: i32, batch: i32, high: i32, freeHigh: bool): i32 {
  if (freeHigh) {
    const count = field(p, PCP_COUNT);
    const cap = batch << PCP_BATCH_SCALE_MAX;
    return count < cap ? count : cap;
  }
  if (high < batch) return 1; // pcp disabled or the boot pageset
  // Leave at least batch pages; free as many as were freed in a row, up to high - batch.
  const minNrFree = batch;
  const maxNrFree = high - batch;
  const freeCount = field(p, PCP_FREE_COUNT);
  // clamp_t(): the lower bound first, then the upper.
  let n = freeCount < minNrFree ? minNrFree : freeCount;
  if (n > maxNrFree) n = maxNrFree;
  return n;
}

/** clamp(pcp->high, high_min, high_max), stored back as the kernel does. */
// @ts-ignore: decorator
@inline function clampHigh(p: i32): i32 {
  let high = field(p, PCP_HIGH);
  const highMin = field(p, PCP_HIGH_MIN);
  const highMax = field(p, PCP_HIGH_MAX);
  if (high < highMin) high = highMin;
  if (high > highMax) high = highMax;
  setField(p, PCP_HIGH, high);
  return high;
}

/** nr_pcp_high(): the count at which a free returns pages, auto-tuning pcp->high. */
function nrPcpHigh(p: i32, zone: i32, batch: i32, freeHigh: bool): i32 {
  const highMin = field(p, PCP_HIGH_MIN);
  const highMax = field(p, PCP_HIGH_MAX);
  let high = clampHigh(p);
  if (high == 0) return 0;
  if (freeHigh) {
    const lowered = high - (batch << PCP_BATCH_SCALE_MAX);
    setField(p, PCP_HIGH, lowered > highMin ? lowered : highMin);
    return 0;
  }
  // (ZONE_RECLAIM_ACTIVE: kswapd reclaim is not modelled.)
  if (highMin == highMax) return high;
  const count = field(p, PCP_COUNT);
  if (unchecked(zoneBelowHigh[zone]) != 0) {
    const fc = field(p, PCP_FREE_COUNT);
    const freeCount = fc > batch ? fc : batch;
    const lowered = high - freeCount;
    setField(p, PCP_HIGH, lowered > highMin ? lowered : highMin);
    high = count > highMin ? count : highMin;
  } else if (count >= high) {
    // pcp->high should be large enough to hold batch freed pages.
    const needHigh = field(p, PCP_FREE_COUNT) + batch;
    if (field(p, PCP_HIGH) < needHigh) {
      let h = needHigh;
      if (h < highMin) h = highMin;
      if (h > highMax) h = highMax;
      setField(p, PCP_HIGH, h);
    }
  }
  return high;
}

/**
 * free_unref_page_commit(): puts the block at the head of its list, counts
 * pgfree, and returns a batch to the buddy lists once count reaches high
 * (the free-high heuristic empties more when high orders are freed in a row).
 */
function freeUnrefPageCommit(zone: i32, cpu: i32, pfn: i32, mt: i32, order: i32): void {
  if (kernelProfile == KERNEL_6_1) {
    freeUnrefPageCommit61(zone, cpu, pfn, mt, order);
    return;
  }
  const p = pcpIndex(cpu, zone);
  // On freeing, fewer pages are batch-allocated next time (nr_pcp_alloc()).
  setField(p, PCP_ALLOC_FACTOR, field(p, PCP_ALLOC_FACTOR) >> 1);
  countEvent(EV_PGFREE, 1 << order);
  const pindex = orderToPindex(mt, order);
  listAdd(listIdx(p, pindex), pfn, order, mt, false);
  const count = field(p, PCP_COUNT) + (1 << order);
  setField(p, PCP_COUNT, count);
  const batch = field(p, PCP_BATCH);
  let flags = field(p, PCP_FLAGS);
  let freeCount = field(p, PCP_FREE_COUNT);
  let freeHigh = false;
  if (order != 0 && order <= PCP_COSTLY_ORDER) {
    freeHigh = freeCount >= batch && (flags & PCPF_PREV_FREE_HIGH_ORDER) != 0 &&
      ((flags & PCPF_FREE_HIGH_BATCH) == 0 || count >= batch);
    flags |= PCPF_PREV_FREE_HIGH_ORDER;
  } else if ((flags & PCPF_PREV_FREE_HIGH_ORDER) != 0) {
    flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
  }
  setField(p, PCP_FLAGS, flags);
  if (freeCount < batch << PCP_BATCH_SCALE_MAX) {
    freeCount += 1 << order;
    setField(p, PCP_FREE_COUNT, freeCount);
  }
  const high = nrPcpHigh(p, zone, batch, freeHigh);
  if (count >= high) {
    freePcppagesBulk(zone, cpu, nrPcpFree(p, batch, high, freeHigh), pindex);
    if (unchecked(zoneBelowHigh[zone]) != 0 && zoneWatermarkOk(zone, 0, zoneWatermark(zone, WMARK_HIGH), ZONE_MOVABLE, 0)) {
      unchecked(zoneBelowHigh[zone] = 0);
    }
  }
}

// ---- 6.1's rules (the kernel profile "6.1") ------------------------------------------------
// Before 6.7 pcp->high is fixed (zone_highsize() alone: no high_min/high_max
// auto-tuning, no ZONE_BELOW_HIGH, no decay) and frees in a row grow the
// drained batch through pcp->free_factor, which the PCP_FREE_COUNT slot holds
// under this profile (6.1 has no free_count); an allocation halves it.

/** 6.1 nr_pcp_free(): batch << free_factor (free_factor grows while that stays below high - batch), clamped. */
function nrPcpFree61(p: i32, high: i32, batch: i32, freeHigh: bool): i32 {
  if (freeHigh) return field(p, PCP_COUNT); // free everything when batch-freeing high orders
  if (high < batch) return 1; // pcp disabled or the boot pageset
  const minNrFree = batch;
  const maxNrFree = high - batch;
  const freeFactor = field(p, PCP_FREE_COUNT);
  let n = batch << freeFactor;
  if (n < maxNrFree && freeFactor < PCP_BATCH_SCALE_MAX) setField(p, PCP_FREE_COUNT, freeFactor + 1);
  // clamp(): the lower bound first, then the upper.
  if (n < minNrFree) n = minNrFree;
  if (n > maxNrFree) n = maxNrFree;
  return n;
}

/**
 * 6.1 free_unref_page_commit(): the block at its list's head; free_high when
 * a pcp order above 0 is freed while free_factor is set (frees without an
 * allocation between them); nr_pcp_high() is pcp->high, or 0 for free_high.
 */
function freeUnrefPageCommit61(zone: i32, cpu: i32, pfn: i32, mt: i32, order: i32): void {
  const p = pcpIndex(cpu, zone);
  countEvent(EV_PGFREE, 1 << order);
  const pindex = orderToPindex(mt, order);
  listAdd(listIdx(p, pindex), pfn, order, mt, false);
  const count = field(p, PCP_COUNT) + (1 << order);
  setField(p, PCP_COUNT, count);
  const freeHigh = field(p, PCP_FREE_COUNT) != 0 && order != 0 && order <= PCP_COSTLY_ORDER;
  const pcpHigh = field(p, PCP_HIGH);
  // nr_pcp_high() (ZONE_RECLAIM_ACTIVE: kswapd reclaim is not modelled).
  const high = pcpHigh == 0 || freeHigh ? 0 : pcpHigh;
  if (count >= high) freePcppagesBulk(zone, cpu, nrPcpFree61(p, high, field(p, PCP_BATCH), freeHigh), pindex);
}

/**
 * free_unref_page() (__free_pages() of an allocated head): to this CPU's pcp
 * list when the order is kept there; an isolated pageblock's pages and other
 * orders go straight to the buddy lists (free_one_page() / __free_pages_ok()).
 * CMA and other non-pcp types go on the movable list.
 */
export function freeUnrefPage(pfn: i32, order: i32): void {
  if (!pcpEnabled || !pcpAllowedOrder(order)) {
    freeBlock(pfn, order, false);
    return;
  }
  let mt = getPageblockMt(pfn);
  // 6.1 free_unref_page_prepare(): set_pcppage_migratetype(page, the pageblock's type).
  if (kernelProfile == KERNEL_6_1) setPcppageMigratetype(pfn, mt);
  if (mt >= MIGRATE_PCPTYPES) {
    if (mt == MIGRATE_ISOLATE) {
      freeBlock(pfn, order, false);
      return;
    }
    mt = MIGRATE_MOVABLE;
  }
  clearHead(pfn);
  freeUnrefPageCommit(zoneOf(pfn), thisCpu, pfn, mt, order);
}

// ---- allocation -------------------------------------------------------------------------------

/**
 * nr_pcp_alloc(): how many blocks an empty list is refilled with: batch,
 * doubled for each order-0 refill in a row without a free (alloc_factor), and
 * at most what keeps count below high; scaled down by the order.
 */
function nrPcpAlloc(p: i32, zone: i32, order: i32): i32 {
  const baseBatch = field(p, PCP_BATCH);
  const highMin = field(p, PCP_HIGH_MIN);
  const highMax = field(p, PCP_HIGH_MAX);
  let high = clampHigh(p);
  if (high < baseBatch) return 1; // pcp disabled or the boot pageset
  const allocFactor = field(p, PCP_ALLOC_FACTOR);
  let batch = order != 0 ? baseBatch : baseBatch << allocFactor;
  // A larger high could have avoided this trip to the zone.
  if (highMin != highMax && unchecked(zoneBelowHigh[zone]) == 0) {
    high = high + batch < highMax ? high + batch : highMax;
    setField(p, PCP_HIGH, high);
  }
  if (order == 0) {
    const room = high - field(p, PCP_COUNT) - baseBatch;
    const maxNrAlloc = room > baseBatch ? room : baseBatch;
    if (batch <= maxNrAlloc && allocFactor < PCP_BATCH_SCALE_MAX) setField(p, PCP_ALLOC_FACTOR, allocFactor + 1);
    if (batch > maxNrAlloc) batch = maxNrAlloc;
  }
  if (batch > 1) {
    batch = batch >> order;
    if (batch < 2) batch = 2;
  }
  return batch;
}

/** rmqueue_bulk(): up to `count` blocks from the buddy lists onto the tail of list `li`, in the order __rmqueue() hands them out. */
function rmqueueBulk(zone: i32, order: i32, count: i32, li: i32, mt: i32, allocFlags: i32): i32 {
  let i = 0;
  for (; i < count; i++) {
    const pfn = rmqueue(zone, order, mt, allocFlags);
    if (pfn == NONE) break;
    listAdd(li, pfn, order, mt, true);
    // 6.1 __rmqueue_smallest(): the type of the free list it came off, CMA's for a
    // CMA pageblock's block (only the CMA lists hold those), else the request's
    // (a stolen fallback block was moved to the request's list first).
    if (kernelProfile == KERNEL_6_1) setPcppageMigratetype(pfn, getPageblockMt(pfn) == MIGRATE_CMA ? MIGRATE_CMA : mt);
  }
  pcpRefillPages += f64(i << order); // one mm_page_alloc_zone_locked(percpu_refill=1) a block
  return i;
}

/**
 * rmqueue_pcplist() / __rmqueue_pcplist(): the first block of this CPU's list
 * for (order, mt), refilling the list from the buddy lists when empty. The
 * head is returned unmarked (as rmqueue()), or NONE.
 */
function rmqueuePcplist(zone: i32, order: i32, mt: i32, allocFlags: i32): i32 {
  const p = pcpIndex(thisCpu, zone);
  // On allocation, fewer pages are batch-freed next time (nr_pcp_free()).
  setField(p, PCP_FREE_COUNT, field(p, PCP_FREE_COUNT) >> 1);
  const li = listIdx(p, orderToPindex(mt, order));
  if (unchecked(pcpHead[li]) == NONE) {
    let batch = 0;
    if (kernelProfile == KERNEL_6_1) {
      // 6.1 __rmqueue_pcplist(): batch, scaled down by the order (at least 2).
      batch = field(p, PCP_BATCH);
      if (batch > 1) batch = batch >> order > 2 ? batch >> order : 2;
    } else {
      batch = nrPcpAlloc(p, zone, order);
    }
    const alloced = rmqueueBulk(zone, order, batch, li, mt, allocFlags);
    setField(p, PCP_COUNT, field(p, PCP_COUNT) + (alloced << order));
    if (unchecked(pcpHead[li]) == NONE) return NONE;
  }
  const pfn = unchecked(pcpHead[li]);
  listDel(li, pfn);
  setField(p, PCP_COUNT, field(p, PCP_COUNT) - (1 << order));
  return pfn;
}

/**
 * rmqueue(): pcp-allowed orders through this CPU's pcp list, the rest (and a
 * pcp miss) from the buddy lists. A movable request without ALLOC_CMA skips
 * the movable pcp list, which may hold CMA pages.
 */
// @ts-ignore: decorator
@inline export function rmqueueZone(zone: i32, order: i32, mt: i32, allocFlags: i32): i32 {
  let pfn = NONE;
  if (pcpEnabled && pcpAllowedOrder(order) && ((allocFlags & ALLOC_CMA) != 0 || mt != MIGRATE_MOVABLE)) {
    pfn = rmqueuePcplist(zone, order, mt, allocFlags);
  }
  if (pfn == NONE) pfn = rmqueueBuddy(zone, order, mt, allocFlags); // rmqueue_buddy() (highatomic.ts)
  // A fragmenting fallback boosted the zone (ZONE_BOOSTED_WATERMARK): wake
  // kswapd, whichever list served the request (ALLOC_KSWAPD: every request here).
  if (unchecked(zoneBoostedFlag[zone]) != 0) {
    unchecked(zoneBoostedFlag[zone] = 0);
    wakeupKswapd(false, 0, zone);
  }
  return pfn;
}

/**
 * get_page_from_freelist()'s ZONE_BELOW_HIGH detection: a zone that fails the
 * high watermark for this request is marked, so that frees shrink pcp->high.
 */
// @ts-ignore: decorator
@inline export function pcpNoteBelowHigh(zone: i32, order: i32, highestZone: i32, allocFlags: i32): void {
  // (6.1 has no ZONE_BELOW_HIGH.)
  if (!pcpEnabled || kernelProfile == KERNEL_6_1 || unchecked(zoneBelowHigh[zone]) != 0) return;
  if (!zoneWatermarkOk(zone, order, zoneWatermark(zone, WMARK_HIGH), highestZone, allocFlags)) {
    unchecked(zoneBelowHigh[zone] = 1);
  }
}

// ---- draining -------------------------------------------------------------------------------

/** drain_pages_zone(): empties CPU `cpu`'s pagesets in `zone`, batch << 5 pages at a time. */
export function drainPagesZone(cpu: i32, zone: i32): void {
  const p = pcpIndex(cpu, zone);
  for (;;) {
    const count = field(p, PCP_COUNT);
    if (count == 0) break;
    const cap = field(p, PCP_BATCH) << PCP_BATCH_SCALE_MAX;
    freePcppagesBulk(zone, cpu, count < cap ? count : cap, 0);
  }
}

/** drain_pages(): every zone of one CPU. */
function drainPages(cpu: i32): void {
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (zonePopulated(z)) drainPagesZone(cpu, z);
  }
}

/** drain_local_pages(zone): this CPU's pagesets of `zone` (all zones for -1). */
export function drainLocalPages(zone: i32): void {
  if (zone >= 0) drainPagesZone(thisCpu, zone);
  else drainPages(thisCpu);
}

/** drain_all_pages(zone): every CPU's pagesets of `zone` (all zones for -1), CPU by CPU. */
export function drainAllPages(zone: i32): void {
  if (!pcpEnabled) return;
  for (let cpu = 0; cpu < nrCpus; cpu++) {
    if (zone >= 0) drainPagesZone(cpu, zone);
    else drainPages(cpu);
  }
}

/** Pages on pcp lists in `zone`, over all CPUs. */
export function pcpZonePages(zone: i32): i32 {
  let n = 0;
  for (let cpu = 0; cpu < nrCpus; cpu++) n += field(pcpIndex(cpu, zone), PCP_COUNT);
  return n;
}

/** free_contig_range(): `count` order-0 allocated pages from `pfn`, each through free_unref_page(). */
export function freeUnrefPageRange(pfn: i32, count: i32): void {
  const end = pfn + count;
  for (let p = pfn; p < end; p++) freeUnrefPage(p, 0);
}

// ---- the vmstat worker ----------------------------------------------------------------------

/** sysctl_stat_interval: vmstat_update() runs on every CPU once a second (HZ). */
// @ts-ignore: decorator
@inline export const VMSTAT_INTERVAL_MS: f64 = 1000;

/**
 * decay_pcp_high() of (cpu, zone): lowers pcp->high by an eighth towards
 * high_min (not below count - (batch << 5), so a tick frees at most that
 * many), then returns whatever count exceeds the new high.
 */
function decayPcpHigh(cpu: i32, zone: i32): i32 {
  const p = pcpIndex(cpu, zone);
  const highMin = field(p, PCP_HIGH_MIN);
  const batch = field(p, PCP_BATCH);
  let high = field(p, PCP_HIGH);
  const count = field(p, PCP_COUNT);
  let todo = 0;
  if (high > highMin) {
    let h = count - (batch << PCP_BATCH_SCALE_MAX);
    const eighth = high - (high >> 3);
    if (eighth > h) h = eighth;
    if (highMin > h) h = highMin;
    high = h;
    setField(p, PCP_HIGH, high);
    if (high > highMin) todo++;
  }
  const toDrain = count - high;
  if (toDrain > 0) {
    freePcppagesBulk(zone, cpu, toDrain, 0);
    todo++;
  }
  return todo;
}

/**
 * One round of vmstat_update() on every CPU (refresh_cpu_vm_stats(true)):
 * decay_pcp_high() for each populated zone. (UMA: no remote pagesets to
 * expire.) Returns how much is left to do: 0 means the next rounds change
 * nothing until pages move again.
 */
export function vmstatTick(): i32 {
  if (!pcpEnabled || kernelProfile == KERNEL_6_1) return 0; // 6.1 has no decay_pcp_high()
  let todo = 0;
  for (let cpu = 0; cpu < nrCpus; cpu++) {
    for (let z = 0; z < MAX_NR_ZONES; z++) {
      if (zonePopulated(z)) todo += decayPcpHigh(cpu, z);
    }
  }
  return todo;
}
