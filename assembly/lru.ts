// LRU lists and the page cache's state (Linux 6.12: include/linux/mm_inline.h,
// mm/swap.c, mm/filemap.c), hung on owners (owner.ts).
//
// One node, so one lruvec: four evictable lists (inactive/active × anon/file;
// no unevictable list: nothing is mlocked here). A folio is on at most one list;
// list_add() puts it at the head, reclaim takes from the tail (lru_to_folio()).
// The per-zone sizes are lru_zone_size / NR_ZONE_{IN,}ACTIVE_{ANON,FILE}, in
// pages: a folio counts 1 << order pages in the zone of its pfn, and migration
// to another zone moves its share (the list position and the active/referenced
// state stay, as folio_migrate_flags() copies them).
//
// Links by owner id survive migration without relinking. Per owner:
//   lruNext/lruPrev   the LRU list links (NONE at the ends)
//   lruFlags          list (bits 0..2, LRU_NONE off the LRU), PG_referenced,
//                     PG_dirty, PG_writeback, PG_reclaim, PG_workingset, file,
//                     zone (bits 12..15), order (bits 16..23)
//   pcFile/pcIndex    a page cache folio's file and index
//   pcFileNext/Prev   the file's pages (unordered; truncation sorts by index)
// The page cache's lookup (the xarray of each mapping) is one open-addressing
// table keyed by (file, index).
//
// Not modelled: the per-cpu folio batches (lru_add, lru_activate, ...): folios
// reach their list at once, as if every batch were drained at each operation;
// mapped file pages (no page tables); shadow entries (workingset refault
// detection: new page cache folios always start inactive).

import { MAX_NR_ZONES } from "./abi.ts";
import { NONE } from "./constants.ts";
import { FNV_OFFSET_BASIS, fnvMix } from "./fnv.ts";
import { ownerGetPfn, ownerSlots } from "./owner.ts";
import { zoneOf } from "./zone.ts";

// enum lru_list
// @ts-ignore: decorator
@inline export const LRU_INACTIVE_ANON: i32 = 0;
// @ts-ignore: decorator
@inline export const LRU_ACTIVE_ANON: i32 = 1;
// @ts-ignore: decorator
@inline export const LRU_INACTIVE_FILE: i32 = 2;
// @ts-ignore: decorator
@inline export const LRU_ACTIVE_FILE: i32 = 3;
// @ts-ignore: decorator
@inline export const NR_LRU_LISTS: i32 = 4;
// @ts-ignore: decorator
@inline export const LRU_NONE: i32 = 7;

// lruFlags bits
// @ts-ignore: decorator
@inline const F_LIST_MASK: i32 = 0x7;
// @ts-ignore: decorator
@inline export const PG_REFERENCED: i32 = 1 << 3;
// @ts-ignore: decorator
@inline export const PG_DIRTY: i32 = 1 << 4;
// @ts-ignore: decorator
@inline export const PG_WRITEBACK: i32 = 1 << 5;
// @ts-ignore: decorator
@inline export const PG_RECLAIM: i32 = 1 << 6;
// @ts-ignore: decorator
@inline export const PG_WORKINGSET: i32 = 1 << 7;
/**
 * The young (accessed) bit of the pte mapping an anonymous folio: what
 * folio_referenced() finds and clears. Set by the instantiating fault and by
 * each access; tracked only with swap (without it anon folios are never scanned).
 */
// @ts-ignore: decorator
@inline export const PTE_YOUNG: i32 = 1 << 9;
/** A page cache folio (folio_is_file_lru()). */
// @ts-ignore: decorator
@inline export const F_FILE: i32 = 1 << 8;
// @ts-ignore: decorator
@inline const F_ZONE_SHIFT: i32 = 12;
// @ts-ignore: decorator
@inline const F_ORDER_SHIFT: i32 = 16;

export let lruNext: Int32Array = new Int32Array(0);
export let lruPrev: Int32Array = new Int32Array(0);
export let lruFlags: Int32Array = new Int32Array(0);
export let pcFile: Int32Array = new Int32Array(0);
export let pcIndex: Int32Array = new Int32Array(0);
let pcFileNext: Int32Array = new Int32Array(0);
let pcFilePrev: Int32Array = new Int32Array(0);

export const lruHead: Int32Array = new Int32Array(NR_LRU_LISTS);
export const lruTail: Int32Array = new Int32Array(NR_LRU_LISTS);
/** lru_zone_size: zone * NR_LRU_LISTS + lru, in pages. */
export const lruZoneSize: Int32Array = new Int32Array(MAX_NR_ZONES * NR_LRU_LISTS);
/** NR_FILE_DIRTY and NR_WRITEBACK per zone (their sum is NR_ZONE_WRITE_PENDING). */
export const zoneDirtyPages: Int32Array = new Int32Array(MAX_NR_ZONES);
export const zoneWritebackPages: Int32Array = new Int32Array(MAX_NR_ZONES);
/** NR_FILE_PAGES: page cache pages of the node. */
export let nrFilePages: i32 = 0;
/** Whether anon ptes' young bits are kept (swap is on: swap.ts). */
export let anonYoungTracked: bool = false;
export function setAnonYoungTracked(on: bool): void {
  anonYoungTracked = on;
}

// ---- files -----------------------------------------------------------------------------------

/** 1 while the file exists. */
export let fileLive: Uint8Array = new Uint8Array(0);
/** The first of the file's pages (owner id), NONE when it caches nothing. */
export let fileFirst: Int32Array = new Int32Array(0);
/** mapping->nrpages */
export let fileNrPages: Int32Array = new Int32Array(0);
/**
 * file_ra_state.prev_pos in pages: the index after the last page the previous
 * read copied, or -1 before the first read (file_ra_state_init()). A file here
 * is one open file description as well as its inode.
 */
export let fileReadEnd: Int32Array = new Int32Array(0);
/** File ids handed out (ids are not reused). */
export let fileSlots: i32 = 0;

// ---- the lookup table: (file, index) → owner id ------------------------------------------------

let htFile: Int32Array = new Int32Array(0);
let htIndex: Int32Array = new Int32Array(0);
let htOwner: Int32Array = new Int32Array(0);
let htCount: i32 = 0;

export function lruInit(): void {
  lruNext = new Int32Array(64);
  lruPrev = new Int32Array(64);
  lruFlags = new Int32Array(64);
  pcFile = new Int32Array(64);
  pcIndex = new Int32Array(64);
  pcFileNext = new Int32Array(64);
  pcFilePrev = new Int32Array(64);
  lruHead.fill(NONE);
  lruTail.fill(NONE);
  lruZoneSize.fill(0);
  zoneDirtyPages.fill(0);
  zoneWritebackPages.fill(0);
  nrFilePages = 0;
  anonYoungTracked = false;
  fileLive = new Uint8Array(8);
  fileFirst = new Int32Array(8);
  fileNrPages = new Int32Array(8);
  fileReadEnd = new Int32Array(8);
  fileSlots = 0;
  htFile = new Int32Array(64);
  htIndex = new Int32Array(64);
  htOwner = new Int32Array(64);
  htOwner.fill(NONE);
  htCount = 0;
}

function grown(a: Int32Array, n: i32): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** Grows the per-owner arrays with the owner table (owner.ts ownerReserve()). */
export function lruGrow(n: i32): void {
  if (lruFlags.length >= n) return;
  lruNext = grown(lruNext, n);
  lruPrev = grown(lruPrev, n);
  lruFlags = grown(lruFlags, n);
  pcFile = grown(pcFile, n);
  pcIndex = grown(pcIndex, n);
  pcFileNext = grown(pcFileNext, n);
  pcFilePrev = grown(pcFilePrev, n);
}

// ---- flags ----------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline export function lruOf(id: i32): i32 {
  return unchecked(lruFlags[id]) & F_LIST_MASK;
}
// @ts-ignore: decorator
@inline export function testFlag(id: i32, flag: i32): bool {
  return (unchecked(lruFlags[id]) & flag) != 0;
}
// @ts-ignore: decorator
@inline export function setFlag(id: i32, flag: i32, on: bool): void {
  const f = unchecked(lruFlags[id]);
  unchecked(lruFlags[id] = on ? f | flag : f & ~flag);
}
// @ts-ignore: decorator
@inline export function folioZone(id: i32): i32 {
  return (unchecked(lruFlags[id]) >>> F_ZONE_SHIFT) & 0xf;
}
// @ts-ignore: decorator
@inline export function folioNrPages(id: i32): i32 {
  return 1 << ((unchecked(lruFlags[id]) >>> F_ORDER_SHIFT) & 0xff);
}
// @ts-ignore: decorator
@inline export function isFileFolio(id: i32): bool {
  return (unchecked(lruFlags[id]) & F_FILE) != 0;
}
// @ts-ignore: decorator
@inline export function isActiveLru(lru: i32): bool {
  return (lru & 1) != 0;
}

// ---- list primitives (list_add / list_add_tail / list_del) --------------------------------------

function listLinkHead(lru: i32, id: i32): void {
  const head = unchecked(lruHead[lru]);
  unchecked(lruPrev[id] = NONE);
  unchecked(lruNext[id] = head);
  if (head != NONE) unchecked(lruPrev[head] = id);
  else unchecked(lruTail[lru] = id);
  unchecked(lruHead[lru] = id);
}

function listLinkTail(lru: i32, id: i32): void {
  const tail = unchecked(lruTail[lru]);
  unchecked(lruNext[id] = NONE);
  unchecked(lruPrev[id] = tail);
  if (tail != NONE) unchecked(lruNext[tail] = id);
  else unchecked(lruHead[lru] = id);
  unchecked(lruTail[lru] = id);
}

function listUnlink(lru: i32, id: i32): void {
  const next = unchecked(lruNext[id]);
  const prev = unchecked(lruPrev[id]);
  if (prev != NONE) unchecked(lruNext[prev] = next);
  else unchecked(lruHead[lru] = next);
  if (next != NONE) unchecked(lruPrev[next] = prev);
  else unchecked(lruTail[lru] = prev);
  unchecked(lruNext[id] = NONE);
  unchecked(lruPrev[id] = NONE);
}

function setList(id: i32, lru: i32): void {
  unchecked(lruFlags[id] = (unchecked(lruFlags[id]) & ~F_LIST_MASK) | lru);
}

/** lruvec_add_folio(): onto the head of `lru`, counted in its zone. */
export function lruvecAddFolio(id: i32, lru: i32): void {
  setList(id, lru);
  listLinkHead(lru, id);
  unchecked(lruZoneSize[folioZone(id) * NR_LRU_LISTS + lru] += folioNrPages(id));
}

/** lruvec_add_folio_tail() */
export function lruvecAddFolioTail(id: i32, lru: i32): void {
  setList(id, lru);
  listLinkTail(lru, id);
  unchecked(lruZoneSize[folioZone(id) * NR_LRU_LISTS + lru] += folioNrPages(id));
}

/** lruvec_del_folio(): off its list (folio_test_clear_lru()); a folio off the LRU is left alone. */
export function lruvecDelFolio(id: i32): void {
  const lru = lruOf(id);
  if (lru == LRU_NONE) return;
  listUnlink(lru, id);
  unchecked(lruZoneSize[folioZone(id) * NR_LRU_LISTS + lru] -= folioNrPages(id));
  setList(id, LRU_NONE);
}

/** A new folio's LRU state: zone and order known, flags clear, off every list. */
function folioInit(id: i32, pfn: i32, order: i32, file: bool): void {
  unchecked(lruFlags[id] = LRU_NONE | (file ? F_FILE : 0) | (zoneOf(pfn) << F_ZONE_SHIFT) | (order << F_ORDER_SHIFT));
  unchecked(lruNext[id] = NONE);
  unchecked(lruPrev[id] = NONE);
}

/**
 * folio_add_lru() of a new anonymous folio (do_anonymous_page() →
 * folio_add_lru_vma(), or do_swap_page()): the inactive anon list (since 5.9
 * new anon pages start inactive; the lru_add batch is skipped). The faulting
 * access leaves the new pte young.
 */
export function lruAddAnon(id: i32, pfn: i32, order: i32): void {
  folioInit(id, pfn, order, false);
  if (anonYoungTracked) setFlag(id, PTE_YOUNG, true);
  lruvecAddFolio(id, LRU_INACTIVE_ANON);
}

/** An owner goes away (its block is freed): off its list, out of the page cache. */
export function lruForget(id: i32): void {
  if (id < 0 || id >= lruFlags.length) return;
  lruvecDelFolio(id);
  if (isFileFolio(id)) pageCacheDelete(id);
  unchecked(lruFlags[id] = LRU_NONE);
}

/**
 * Migration moved the owner's folio to `dstPfn`: the active/referenced/dirty
 * state stays (folio_migrate_flags()); the zone's share moves when the zone
 * changed. Callers take the folio off its list first (folio_isolate_lru())
 * and add it back at the head (folio_add_lru()).
 */
export function lruMigrated(id: i32, dstPfn: i32): void {
  const oldZone = folioZone(id);
  const newZone = zoneOf(dstPfn);
  if (oldZone == newZone) return;
  const n = folioNrPages(id);
  const lru = lruOf(id);
  if (lru != LRU_NONE) {
    unchecked(lruZoneSize[oldZone * NR_LRU_LISTS + lru] -= n);
    unchecked(lruZoneSize[newZone * NR_LRU_LISTS + lru] += n);
  }
  if (testFlag(id, PG_DIRTY)) {
    unchecked(zoneDirtyPages[oldZone] -= n);
    unchecked(zoneDirtyPages[newZone] += n);
  }
  if (testFlag(id, PG_WRITEBACK)) {
    unchecked(zoneWritebackPages[oldZone] -= n);
    unchecked(zoneWritebackPages[newZone] += n);
  }
  unchecked(lruFlags[id] = (unchecked(lruFlags[id]) & ~(0xf << F_ZONE_SHIFT)) | (newZone << F_ZONE_SHIFT));
}

/**
 * folio_mark_accessed() (mm/swap.c, 6.12): the first access sets PG_referenced,
 * the second activates an inactive folio (folio_activate(): to the head of the
 * active list, PGACTIVATE) and clears PG_referenced. Returns 1 when it activated.
 */
export function folioMarkAccessed(id: i32): i32 {
  if (!testFlag(id, PG_REFERENCED)) {
    setFlag(id, PG_REFERENCED, true);
    return 0;
  }
  const lru = lruOf(id);
  if (lru == LRU_NONE || isActiveLru(lru)) return 0;
  lruvecDelFolio(id);
  lruvecAddFolio(id, lru + 1);
  setFlag(id, PG_REFERENCED, false);
  return folioNrPages(id);
}

// ---- dirty and writeback accounting -------------------------------------------------------------

/** folio_mark_dirty() → folio_account_dirtied(): NR_FILE_DIRTY (a no-op when dirty already). */
export function folioMarkDirty(id: i32): void {
  if (testFlag(id, PG_DIRTY)) return;
  setFlag(id, PG_DIRTY, true);
  unchecked(zoneDirtyPages[folioZone(id)] += folioNrPages(id));
}

/** folio_clear_dirty_for_io() + folio_start_writeback(): dirty → writeback. */
export function folioStartWriteback(id: i32): void {
  const z = folioZone(id);
  const n = folioNrPages(id);
  setFlag(id, PG_DIRTY, false);
  unchecked(zoneDirtyPages[z] -= n);
  setFlag(id, PG_WRITEBACK, true);
  unchecked(zoneWritebackPages[z] += n);
}

/** Pages under writeback in every zone (NR_WRITEBACK): 0 when no I/O is in flight. */
export function writebackPages(): i32 {
  let n = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) n += unchecked(zoneWritebackPages[z]);
  return n;
}

/**
 * folio_end_writeback(): writeback → clean. A folio reclaim tagged PG_reclaim
 * is rotated to the tail of the inactive list (folio_rotate_reclaimable() →
 * lru_move_tail(), which in 6.12 also clears PG_active) so that the next
 * reclaim pass finds it first. Returns 1 when it rotated.
 */
export function folioEndWriteback(id: i32): i32 {
  const z = folioZone(id);
  setFlag(id, PG_WRITEBACK, false);
  unchecked(zoneWritebackPages[z] -= folioNrPages(id));
  if (!testFlag(id, PG_RECLAIM)) return 0;
  setFlag(id, PG_RECLAIM, false);
  const lru = lruOf(id);
  if (lru == LRU_NONE || testFlag(id, PG_DIRTY)) return 0;
  lruvecDelFolio(id);
  lruvecAddFolioTail(id, lru & ~1);
  return 1;
}

// ---- the page cache lookup ------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function htSlot(file: i32, index: i32): i32 {
  return fnvMix(fnvMix(FNV_OFFSET_BASIS, file), index) & (htOwner.length - 1);
}

/** filemap_get_entry(): the owner id caching `index` of `file`, or NONE. */
export function pageCacheLookup(file: i32, index: i32): i32 {
  const mask = htOwner.length - 1;
  let s = htSlot(file, index);
  for (;;) {
    const id = unchecked(htOwner[s]);
    if (id == NONE) return NONE;
    if (unchecked(htFile[s]) == file && unchecked(htIndex[s]) == index) return id;
    s = (s + 1) & mask;
  }
  return NONE;
}

/** Room for `n` more entries (load at most 1/2), made before anything changes. */
export function pageCacheReserve(n: i32): void {
  let cap = htOwner.length;
  while ((htCount + n) * 2 > cap) cap <<= 1;
  if (cap == htOwner.length) return;
  const oldFile = htFile;
  const oldIndex = htIndex;
  const oldOwner = htOwner;
  htFile = new Int32Array(cap);
  htIndex = new Int32Array(cap);
  htOwner = new Int32Array(cap);
  htOwner.fill(NONE);
  for (let s = 0; s < oldOwner.length; s++) {
    const id = unchecked(oldOwner[s]);
    if (id != NONE) htPut(unchecked(oldFile[s]), unchecked(oldIndex[s]), id);
  }
}

function htPut(file: i32, index: i32, id: i32): void {
  const mask = htOwner.length - 1;
  let s = htSlot(file, index);
  while (unchecked(htOwner[s]) != NONE) s = (s + 1) & mask;
  unchecked(htFile[s] = file);
  unchecked(htIndex[s] = index);
  unchecked(htOwner[s] = id);
}

/** Removes (file, index) by backward-shift deletion (the table stays probe-complete). */
function htRemove(file: i32, index: i32): void {
  const mask = htOwner.length - 1;
  let s = htSlot(file, index);
  while (!(unchecked(htFile[s]) == file && unchecked(htIndex[s]) == index && unchecked(htOwner[s]) != NONE)) {
    s = (s + 1) & mask;
  }
  let hole = s;
  let j = s;
  for (;;) {
    j = (j + 1) & mask;
    const id = unchecked(htOwner[j]);
    if (id == NONE) break;
    const home = htSlot(unchecked(htFile[j]), unchecked(htIndex[j]));
    // Move j into the hole when its home is not cyclically within (hole, j].
    const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (inRange) continue;
    unchecked(htFile[hole] = unchecked(htFile[j]));
    unchecked(htIndex[hole] = unchecked(htIndex[j]));
    unchecked(htOwner[hole] = id);
    hole = j;
  }
  unchecked(htOwner[hole] = NONE);
  htCount--;
}

/**
 * __filemap_add_folio() + folio_add_lru(): the order-0 folio of owner `id` at
 * `pfn` caches `index` of `file`, on the inactive file list (6.12: no shadow
 * entries here, so never workingset-activated). Room was reserved.
 */
export function pageCacheInsert(file: i32, index: i32, id: i32, pfn: i32): void {
  folioInit(id, pfn, 0, true);
  unchecked(pcFile[id] = file);
  unchecked(pcIndex[id] = index);
  htPut(file, index, id);
  htCount++;
  const first = unchecked(fileFirst[file]);
  unchecked(pcFilePrev[id] = NONE);
  unchecked(pcFileNext[id] = first);
  if (first != NONE) unchecked(pcFilePrev[first] = id);
  unchecked(fileFirst[file] = id);
  unchecked(fileNrPages[file] += 1);
  nrFilePages += 1;
  lruvecAddFolio(id, LRU_INACTIVE_FILE);
}

/** __filemap_remove_folio(): out of the mapping, its dirty/writeback accounting undone. */
function pageCacheDelete(id: i32): void {
  const file = unchecked(pcFile[id]);
  htRemove(file, unchecked(pcIndex[id]));
  const next = unchecked(pcFileNext[id]);
  const prev = unchecked(pcFilePrev[id]);
  if (prev != NONE) unchecked(pcFileNext[prev] = next);
  else unchecked(fileFirst[file] = next);
  if (next != NONE) unchecked(pcFilePrev[next] = prev);
  unchecked(fileNrPages[file] -= 1);
  nrFilePages -= 1;
  const z = folioZone(id);
  if (testFlag(id, PG_DIRTY)) unchecked(zoneDirtyPages[z] -= 1);
  if (testFlag(id, PG_WRITEBACK)) unchecked(zoneWritebackPages[z] -= 1);
}

/** Creates a file (an inode with an empty mapping). Returns its id. */
export function fileCreate(): i32 {
  if (fileSlots == fileLive.length) {
    const n = fileSlots << 1;
    const live = new Uint8Array(n);
    live.set(fileLive);
    fileLive = live;
    fileFirst = grown(fileFirst, n);
    fileNrPages = grown(fileNrPages, n);
    fileReadEnd = grown(fileReadEnd, n);
  }
  const f = fileSlots++;
  unchecked(fileLive[f] = 1);
  unchecked(fileFirst[f] = NONE);
  unchecked(fileNrPages[f] = 0);
  unchecked(fileReadEnd[f] = -1);
  return f;
}

// @ts-ignore: decorator
@inline export function fileValid(f: i32): bool {
  return f >= 0 && f < fileSlots && unchecked(fileLive[f]) != 0;
}

/** The file's cached indexes at or above `fromIndex`, ascending, into `out` (grown). Returns the count. */
export function fileIndexesFrom(f: i32, fromIndex: i32): i32 {
  let n = 0;
  for (let id = unchecked(fileFirst[f]); id != NONE; id = unchecked(pcFileNext[id])) {
    if (unchecked(pcIndex[id]) >= fromIndex) n++;
  }
  if (sortBuf.length < n) sortBuf = new Int32Array(n);
  let i = 0;
  for (let id = unchecked(fileFirst[f]); id != NONE; id = unchecked(pcFileNext[id])) {
    const index = unchecked(pcIndex[id]);
    if (index >= fromIndex) unchecked(sortBuf[i++] = index);
  }
  const view = sortBuf.subarray(0, n);
  view.sort();
  return n;
}
/** fileIndexesFrom()'s result. */
export let sortBuf: Int32Array = new Int32Array(0);

/** The file's live-owner walk, for check(): how many pages its list holds. */
export function fileListCount(f: i32): i32 {
  let n = 0;
  for (let id = unchecked(fileFirst[f]); id != NONE; id = unchecked(pcFileNext[id])) n++;
  return n;
}

/** check(): the LRU lists and the page cache agree with the owners and the counters. */
// check()'s scratch, reused (the WASM build runs without a collecting GC).
const size: Int32Array = new Int32Array(MAX_NR_ZONES * NR_LRU_LISTS);
const dirty: Int32Array = new Int32Array(MAX_NR_ZONES);
const wb: Int32Array = new Int32Array(MAX_NR_ZONES);

export function lruCheck(): string {
  size.fill(0);
  dirty.fill(0);
  wb.fill(0);
  let onLists = 0;
  for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
    let prev = NONE;
    for (let id = unchecked(lruHead[lru]); id != NONE; id = unchecked(lruNext[id])) {
      if (ownerGetPfn(id) == NONE) return "lru: a dead owner on an LRU list";
      if (lruOf(id) != lru) return "lru: a folio's list flag disagrees with its list";
      if (unchecked(lruPrev[id]) != prev) return "lru: broken prev link";
      if (folioZone(id) != zoneOf(ownerGetPfn(id))) return "lru: a folio's zone disagrees with its pfn";
      unchecked(size[folioZone(id) * NR_LRU_LISTS + lru] += folioNrPages(id));
      prev = id;
      if (++onLists > lruFlags.length) return "lru: a cycle in an LRU list";
    }
    if (unchecked(lruTail[lru]) != prev) return "lru: tail is not the last folio";
  }
  for (let i = 0; i < size.length; i++) {
    if (unchecked(size[i]) != unchecked(lruZoneSize[i])) return "lru: lru_zone_size disagrees with the lists";
  }
  let live = 0;
  for (let id = 0; id < ownerSlots(); id++) {
    if (ownerGetPfn(id) == NONE) continue;
    live++;
    if (lruOf(id) == LRU_NONE) return "lru: a live owner is on no LRU list";
  }
  if (live != onLists) return "lru: the LRU lists hold other than the live owners";
  let files = 0;
  for (let f = 0; f < fileSlots; f++) {
    if (unchecked(fileLive[f]) == 0) {
      if (unchecked(fileFirst[f]) != NONE) return "page cache: a deleted file still caches pages";
      continue;
    }
    let n = 0;
    for (let id = unchecked(fileFirst[f]); id != NONE; id = unchecked(pcFileNext[id])) {
      if (ownerGetPfn(id) == NONE) return "page cache: a dead owner in a mapping";
      if (!isFileFolio(id) || unchecked(pcFile[id]) != f) return "page cache: a folio in the wrong mapping";
      if (pageCacheLookup(f, unchecked(pcIndex[id])) != id) return "page cache: lookup does not find a cached folio";
      if (lruOf(id) == LRU_NONE) return "page cache: a folio off the LRU";
      if (testFlag(id, PG_DIRTY)) unchecked(dirty[folioZone(id)] += 1);
      if (testFlag(id, PG_WRITEBACK)) unchecked(wb[folioZone(id)] += 1);
      if (++n > lruFlags.length) return "page cache: a cycle in a mapping";
    }
    if (n != unchecked(fileNrPages[f])) return "page cache: nrpages disagrees with the mapping";
    files += n;
  }
  if (files != nrFilePages) return "page cache: NR_FILE_PAGES disagrees with the mappings";
  if (files != htCount) return "page cache: the lookup table's count disagrees";
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    if (unchecked(dirty[z]) != unchecked(zoneDirtyPages[z])) return "page cache: NR_FILE_DIRTY disagrees";
    if (unchecked(wb[z]) != unchecked(zoneWritebackPages[z])) return "page cache: NR_WRITEBACK disagrees";
  }
  return "";
}

/** The state hash's share: lists in order with each folio's flags and mapping, then the counters. */
export function lruHash(h: i32): i32 {
  for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
    h = fnvMix(h, lru);
    for (let id = unchecked(lruHead[lru]); id != NONE; id = unchecked(lruNext[id])) {
      h = fnvMix(h, id);
      h = fnvMix(h, unchecked(lruFlags[id]));
      if (isFileFolio(id)) {
        h = fnvMix(h, unchecked(pcFile[id]));
        h = fnvMix(h, unchecked(pcIndex[id]));
      }
    }
  }
  for (let i = 0; i < lruZoneSize.length; i++) h = fnvMix(h, unchecked(lruZoneSize[i]));
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    h = fnvMix(h, unchecked(zoneDirtyPages[z]));
    h = fnvMix(h, unchecked(zoneWritebackPages[z]));
  }
  h = fnvMix(h, nrFilePages);
  h = fnvMix(h, fileSlots);
  for (let f = 0; f < fileSlots; f++) {
    h = fnvMix(h, i32(unchecked(fileLive[f])) | (unchecked(fileNrPages[f]) << 1));
    h = fnvMix(h, unchecked(fileReadEnd[f]));
  }
  return h;
}
