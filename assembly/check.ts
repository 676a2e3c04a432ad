// sys.check(): every invariant of the engine, walked from scratch. Returns "" or
// a message naming the first broken one.

import { isolationCheck } from "./isolation.ts";
import { kcompactdCheck } from "./kcompactd.ts";
import { watermarkBoostCheck } from "./watermark-boost.ts";
import { highatomicCheck } from "./highatomic.ts";
import { kswapdCheck } from "./kswapd.ts";
import { LRU_INACTIVE_ANON, NR_LRU_LISTS, lruCheck, lruZoneSize } from "./lru.ts";
import { KIND_ALLOC, KIND_BUDDY, KIND_PCP, MAX_NR_ZONES, MIGRATE_CMA, MIGRATE_ISOLATE, MIGRATE_TYPES } from "./abi.ts";
import { NONE, migratetypeIsMergeable } from "./constants.ts";
import { findBuddyPfn, freeBlocks, freeListHead, listIndex } from "./buddy.ts";
import {
  zoneEnd, zoneFreeCmaPages, zoneFreeHighatomicPages, zoneFreePages, zoneFreePagesBlocks, zoneOf, zoneStart,
} from "./zone.ts";
import { bitmapAssign, testBit } from "./bitmap.ts";
import {
  cmaAreaCount, cmaAreaOf, cmaBasePfn, cmaBitmap, cmaBitmapBits, cmaCount, cmaOrderPerBit, cmaAvailable,
} from "./cma.ts";
import {
  getOrder, longPins, maxOrder, nrPages, pageblockNrPages, pageblockOrder, pageIsCmaAlloc, pageKind, pageLink0,
  pageLink1, pageMarked, pageMt, pageOwnerId, setPageMark, shortPins,
} from "./memmap.ts";
import { ownerGetPfn, ownerLive, ownerSetPfn, ownerSlots } from "./owner.ts";
import { getPageblockMt, setPageblockMt } from "./pageblock.ts";
import { KERNEL_6_1 } from "./abi.ts";
import { kernelProfile } from "./profile.ts";
import { iommuCheck } from "./iommu.ts";
import {
  NR_PCP_LISTS, PCP_COUNT, PCP_FIELDS, nrCpus, pcpState, orderToPindex, pcpEnabled, pcpField, pcpListHead, pcpTail, pindexToOrder,
} from "./pcp.ts";

function at(what: string, pfn: i32): string {
  return what + " (pfn " + pfn.toString() + ")";
}

// Reused across calls: the WASM build runs without a collecting GC.
let counted: Int32Array = new Int32Array(0);

// Free pages per zone as the memmap walk finds them.
const freeByZone: Int32Array = new Int32Array(MAX_NR_ZONES);
const freeCmaByZone: Int32Array = new Int32Array(MAX_NR_ZONES);
// NR_FREE_PAGES_BLOCKS as the walk finds it: free blocks of pageblock order or more, not isolated.
const freeBlocksPagesByZone: Int32Array = new Int32Array(MAX_NR_ZONES);

function checkMemmap(): string {
  if (counted.length != freeBlocks.length) counted = new Int32Array(freeBlocks.length);
  counted.fill(0);
  freeByZone.fill(0);
  freeCmaByZone.fill(0);
  freeBlocksPagesByZone.fill(0);
  let owned = 0;
  pcpHeadsInMemmap = 0;
  let pfn = 0;
  while (pfn < nrPages) {
    const kind = pageKind(pfn);
    if (kind == 0) return at("memmap: page is covered by no block", pfn);
    const order = getOrder(pfn);
    const n = 1 << order;
    if (order > maxOrder) return at("memmap: order above maxOrder", pfn);
    if ((pfn & (n - 1)) != 0) return at("memmap: block not aligned to its order", pfn);
    if (pfn + n > nrPages) return at("memmap: block runs past the end of RAM", pfn);
    if (pageMarked(pfn)) return at("memmap: a call-local mark outlived its call", pfn);
    for (let t = pfn + 1; t < pfn + n; t++) {
      if (pageKind(t) != 0) return at("memmap: head page inside another block", t);
    }
    const zone = zoneOf(pfn);
    if (zone < 0 || zoneOf(pfn + n - 1) != zone) return at("zone: block outside a zone or across two", pfn);
    if (kind == KIND_BUDDY) {
      const mt = pageMt(pfn);
      unchecked(counted[listIndex(zone, order, mt)]++);
      if (mt != MIGRATE_ISOLATE) unchecked(freeByZone[zone] += n);
      if (mt == MIGRATE_CMA) unchecked(freeCmaByZone[zone] += n);
      if (order >= pageblockOrder && mt != MIGRATE_ISOLATE) unchecked(freeBlocksPagesByZone[zone] += n);
      // A free block sits on the list of every pageblock it spans (v6.10+;
      // in 6.1 it sits on the list it was freed to, its head's recorded type,
      // which checkFreeLists() verifies).
      const pbStep = pageblockNrPages < n ? pageblockNrPages : n;
      const sixOne = kernelProfile == KERNEL_6_1;
      for (let p = pfn; p < pfn + n && !sixOne; p += pbStep) {
        if (getPageblockMt(p) != mt) return at("buddy: free block on a list other than its pageblock's type", pfn);
      }
      // Two free buddies that may merge must have merged. Not across isolated
      // pageblocks: isolation moves free blocks between lists without merging
      // them (move_freepages_block_isolate()), so two free isolated pageblocks
      // may sit side by side until undo_isolate_page_range() frees them again.
      if (order < maxOrder) {
        const buddy = findBuddyPfn(pfn, order);
        if (buddy != NONE) {
          const bmt = pageMt(buddy);
          const sameType = mt == bmt && mt != MIGRATE_ISOLATE;
          // 6.1 decides merges at >= pageblock order by the freed type and the
          // buddy's pageblock type, which lists need not match: checked only
          // where lists and pageblocks agree.
          const listsMatch = !sixOne || (getPageblockMt(pfn) == mt && getPageblockMt(buddy) == bmt);
          if (order < pageblockOrder || (listsMatch && (sameType || (migratetypeIsMergeable(mt) && migratetypeIsMergeable(bmt))))) {
            return at("buddy: free buddies left unmerged", pfn);
          }
        }
      }
      if (pageIsCmaAlloc(pfn)) return at("cma: free page marked as CMA-allocated", pfn);
    } else if (kind == KIND_PCP) {
      pcpHeadsInMemmap++;
      if (pageIsCmaAlloc(pfn)) return at("cma: pcp page marked as CMA-allocated", pfn);
    } else if (kind == KIND_ALLOC) {
      const id = pageOwnerId(pfn);
      if (id != NONE) {
        owned++;
        if (ownerGetPfn(id) != pfn) return at("owner: page names an owner that does not point back", pfn);
        if (longPins(pfn) != 0) {
          const mt = getPageblockMt(pfn);
          if (mt == MIGRATE_CMA) return at("pin: long-term pinned page in a CMA pageblock", pfn);
        }
      } else if (shortPins(pfn) != 0 || longPins(pfn) != 0) {
        return at("pin: pinned page without an owner", pfn);
      }
      if (pageIsCmaAlloc(pfn)) {
        const area = cmaAreaOf(pfn);
        if (area == NONE) return at("cma: CMA-allocated page outside every area", pfn);
        if (order != 0) return at("cma: CMA-allocated block of order above 0", pfn);
        const bit = (pfn - cmaBasePfn(area)) >>> cmaOrderPerBit(area);
        if (!testBit(cmaBitmap(area), bit)) return at("cma: allocated page with a clear bitmap bit", pfn);
      }
    }
    pfn += n;
  }
  for (let i = 0; i < counted.length; i++) {
    if (unchecked(counted[i]) != unchecked(freeBlocks[i])) {
      const perZone = (maxOrder + 1) * MIGRATE_TYPES;
      return "buddy: free block count of zone " + i32(i / perZone).toString() + " order " +
        i32((i % perZone) / MIGRATE_TYPES).toString() + " type " + (i % MIGRATE_TYPES).toString() + " is " +
        unchecked(freeBlocks[i]).toString() + ", memmap has " + unchecked(counted[i]).toString();
    }
  }
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    const free = unchecked(freeByZone[z]);
    const freeCma = unchecked(freeCmaByZone[z]);
    if (free != unchecked(zoneFreePages[z])) {
      return "vmstat: nr_free_pages is " + unchecked(zoneFreePages[z]).toString() + ", memmap has " + free.toString() +
        " (zone " + z.toString() + ")";
    }
    const blocks = unchecked(freeBlocksPagesByZone[z]);
    if (blocks != unchecked(zoneFreePagesBlocks[z])) {
      return "vmstat: nr_free_pages_blocks is " + unchecked(zoneFreePagesBlocks[z]).toString() + ", memmap has " +
        blocks.toString() + " (zone " + z.toString() + ")";
    }
    if (freeCma != unchecked(zoneFreeCmaPages[z])) {
      return "vmstat: nr_free_cma is " + unchecked(zoneFreeCmaPages[z]).toString() + ", memmap has " + freeCma.toString() +
        " (zone " + z.toString() + ")";
    }
  }
  if (owned != ownerLive) return "owner: " + ownerLive.toString() + " live owners, memmap has " + owned.toString();
  return "";
}

function checkFreeLists(): string {
  for (let zone = 0; zone < MAX_NR_ZONES; zone++) {
  for (let order = 0; order <= maxOrder; order++) {
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
      const li = listIndex(zone, order, mt);
      let pfn = freeListHead(zone, order, mt);
      let prev = NONE;
      let n = 0;
      while (pfn != NONE) {
        if (pfn < unchecked(zoneStart[zone]) || pfn >= unchecked(zoneEnd[zone])) return at("free list: entry outside its zone", pfn);
        if (pageKind(pfn) != KIND_BUDDY || getOrder(pfn) != order || pageMt(pfn) != mt) {
          return at("free list: entry is not a free block of this order and type", pfn);
        }
        if (unchecked(pageLink1[pfn]) != prev) return at("free list: broken prev link", pfn);
        prev = pfn;
        pfn = unchecked(pageLink0[pfn]);
        if (++n > unchecked(freeBlocks[li])) return at("free list: longer than its count", prev);
      }
      if (n != unchecked(freeBlocks[li])) return "free list: shorter than its count";
    }
  }
  }
  return "";
}

/**
 * The pcp lists: each entry a pcp head of its list's order and type in its
 * zone, links consistent, counts the sum of the blocks; and every pcp head of
 * the memory map (`pcpHeads`, counted by checkMemmap()) on some list.
 */
let pcpHeadsInMemmap = 0;
function checkPcpLists(): string {
  let listed = 0;
  for (let cpu = 0; cpu < nrCpus; cpu++) {
    for (let zone = 0; zone < MAX_NR_ZONES; zone++) {
      let pages = 0;
      for (let pindex = 0; pindex < NR_PCP_LISTS; pindex++) {
        const order = pindexToOrder(pindex);
        let pfn = pcpListHead(cpu, zone, pindex);
        let prev = NONE;
        while (pfn != NONE) {
          if (pfn < unchecked(zoneStart[zone]) || pfn >= unchecked(zoneEnd[zone])) return at("pcp: entry outside its zone", pfn);
          if (pageKind(pfn) != KIND_PCP || getOrder(pfn) != order || orderToPindex(pageMt(pfn), order) != pindex) {
            return at("pcp: entry is not a pcp block of this list's order and type", pfn);
          }
          if (unchecked(pageLink1[pfn]) != prev) return at("pcp: broken prev link", pfn);
          if (++listed > pcpHeadsInMemmap) return at("pcp: list longer than the memory map's pcp blocks", pfn);
          pages += 1 << order;
          prev = pfn;
          pfn = unchecked(pageLink0[pfn]);
        }
        if (unchecked(pcpTail[cpu * MAX_NR_ZONES * NR_PCP_LISTS + zone * NR_PCP_LISTS + pindex]) != prev) {
          return "pcp: list tail of cpu " + cpu.toString() + " zone " + zone.toString() + " is wrong";
        }
      }
      const count = pcpField(cpu, zone, PCP_COUNT);
      if (count != pages) {
        return "pcp: count of cpu " + cpu.toString() + " zone " + zone.toString() + " is " + count.toString() +
          ", its lists hold " + pages.toString();
      }
      if (!pcpEnabled && count != 0) return "pcp: pages on the lists with pcp lists off";
    }
  }
  if (listed != pcpHeadsInMemmap) return "pcp: the memory map has " + pcpHeadsInMemmap.toString() + " pcp blocks, the lists " + listed.toString();
  return "";
}

function checkOwners(): string {
  for (let id = 0; id < ownerSlots(); id++) {
    const pfn = ownerGetPfn(id);
    if (pfn == NONE) continue;
    if (pfn >= nrPages || pageKind(pfn) != KIND_ALLOC || pageOwnerId(pfn) != id) {
      return "owner: owner " + id.toString() + " points at pfn " + pfn.toString() + ", which it does not own";
    }
  }
  return "";
}

function checkCma(): string {
  for (let a = 0; a < cmaAreaCount; a++) {
    const base = cmaBasePfn(a);
    const count = cmaCount(a);
    const opb = cmaOrderPerBit(a);
    for (let p = base; p < base + count; p += pageblockNrPages) {
      const mt = getPageblockMt(p);
      if (mt != MIGRATE_CMA && mt != MIGRATE_ISOLATE) return at("cma: area pageblock is not MIGRATE_CMA", p);
    }
    // A set bit covers at least one page the area handed out.
    const bits = cmaBitmapBits(a);
    let busyPages = 0;
    for (let bit = 0; bit < bits; bit++) {
      if (!testBit(cmaBitmap(a), bit)) continue;
      let any = false;
      const first = base + (bit << opb);
      for (let p = first; p < first + (1 << opb); p++) {
        if (pageKind(p) == KIND_ALLOC && pageIsCmaAlloc(p)) {
          any = true;
          busyPages++;
        }
      }
      if (!any) return at("cma: bitmap bit set over pages the area did not allocate", first);
    }
    if (cmaAvailable(a) != count - busyPages) return "cma: available count disagrees with the bitmap";
  }
  return "";
}

export function checkAll(): string {
  let msg = checkFreeLists();
  if (msg.length == 0) msg = checkMemmap();
  if (msg.length == 0) msg = checkPcpLists();
  if (msg.length == 0) msg = checkOwners();
  if (msg.length == 0) msg = checkCma();
  if (msg.length == 0) msg = iommuCheck();
  if (msg.length == 0) msg = kcompactdCheck();
  if (msg.length == 0) msg = watermarkBoostCheck();
  if (msg.length == 0) msg = highatomicCheck();
  if (msg.length == 0) msg = kswapdCheck();
  if (msg.length == 0) msg = lruCheck();
  if (msg.length == 0) msg = isolationCheck();
  return msg;
}

/**
 * Breaks one invariant on purpose so that tests can show check() catching it:
 * 0 a free-list count, 1 a free block's pageblock type, 2 an owner's pfn,
 * 3 a CMA bitmap bit, 4 NR_FREE_PAGES, 5 a call-local mark, 6 nr_free_highatomic, 7 a pcp count,
 * 8 an LRU list's zone size, 9 NR_FREE_PAGES_BLOCKS. Never called by the simulator itself.
 */
export function corruptForTest(kind: i32): void {
  if (kind == 0) {
    unchecked(freeBlocks[listIndex(zoneOf(0), maxOrder, 1)] += 1);
  } else if (kind == 1) {
    for (let pfn = 0; pfn < nrPages; pfn++) {
      if (pageKind(pfn) == KIND_BUDDY) {
        setPageblockMt(pfn, pageMt(pfn) == MIGRATE_CMA ? 0 : MIGRATE_CMA);
        return;
      }
    }
  } else if (kind == 2) {
    for (let id = 0; id < ownerSlots(); id++) {
      const pfn = ownerGetPfn(id);
      if (pfn != NONE) {
        ownerSetPfn(id, pfn + 1);
        return;
      }
    }
  } else if (kind == 3) {
    if (cmaAreaCount > 0) bitmapAssign(cmaBitmap(0), cmaBitmapBits(0) - 1, 1, true);
  } else if (kind == 4) {
    unchecked(zoneFreePages[zoneOf(0)] += 1);
  } else if (kind == 5) {
    setPageMark(0, true); // pfn 0 always heads a block
  } else if (kind == 6) {
    unchecked(zoneFreeHighatomicPages[zoneOf(0)] += 1);
  } else if (kind == 7) {
    unchecked(pcpState[zoneOf(0) * PCP_FIELDS + PCP_COUNT] += 1); // cpu 0's count in the zone of pfn 0
  } else if (kind == 8) {
    unchecked(lruZoneSize[zoneOf(0) * NR_LRU_LISTS + LRU_INACTIVE_ANON] += 1);
  } else if (kind == 9) {
    unchecked(zoneFreePagesBlocks[zoneOf(0)] += 1);
  }
}
