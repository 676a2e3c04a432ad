// sys.stateHash(): a digest of all engine state, for differential tests between
// the WASM and portable builds (FNV-1a over 32-bit words, fnv.ts).

import { CMA_STAT_COUNT, MAX_NR_ZONES, MIGRATE_TYPES } from "./abi.ts";
import { FNV_OFFSET_BASIS, fnvMix } from "./fnv.ts";
import { iommuHash } from "./iommu.ts";
import { bitmapCount, bitmapWords } from "./bitmap.ts";
import { claimThresholdPages, cmaBalanceEnabled, defragMode, freeBlocks, freeListHead, noFragmentEnabled } from "./buddy.ts";
import { lowmemReserve, zoneCmaPages, zoneEnd, zoneFreeCmaPages, zoneFreePages, zoneStart, zoneWmark } from "./zone.ts";
import { cmaAreaCount, cmaAvailable, cmaBasePfn, cmaBitmap, cmaCount, cmaOrderPerBit, cmaStat } from "./cma.ts";
import { maxOrder, nrPages, pageFlags, pageLink0, pageLink1, pageOrder, pageShift, pageblockOrder } from "./memmap.ts";
import { ownerSlot, ownerSlots } from "./owner.ts";
import { pageblockMts } from "./pageblock.ts";
import { ramBytes, ramWord } from "./ram.ts";
import { allocFailByOrder, vmEvents, zonePgalloc } from "./vmevents.ts";
import {
  compactionEnabled, compactionProactiveness, extfragThreshold, pageblockSkip, zoneCompactState,
} from "./compaction.ts";
import { clockMs, kcDeadline, kcHighestZone, kcMaxOrder, kcProactiveTrigger, kcRunnable } from "./kcompactd.ts";
import { KERNEL_6_12, KERNEL_6_18 } from "./abi.ts";
import { boostEvents, watermarkBoostFactor, zoneBoostedFlag } from "./watermark-boost.ts";
import { highatomicReserved, highatomicUnreserved } from "./highatomic.ts";
import { kswapdBoostResets, kswapdHashWords, kswapdNapUntil, kswapdPageoutruns } from "./kswapd.ts";
import { lruHash } from "./lru.ts";
import { swapHash } from "./swap.ts";
import { pgdatDirty, pgdatWriteback } from "./vmscan.ts";
import { zoneBoost, zoneFreeHighatomicPages, zoneFreePagesBlocks, zoneReservedHighatomic } from "./zone.ts";
import { kernelProfile } from "./profile.ts";
import {
  nrCpus, pcpDrainPages, pcpEnabled, pcpHashCachedMt, pcpHead, pcpRefillPages, pcpState, pcpTail, percpuPagelistHighFraction,
  zoneBelowHigh,
} from "./pcp.ts";
import { zoneNrIsolatePageblock } from "./isolation.ts";
import { KERNEL_6_1 } from "./abi.ts";

// @ts-ignore: decorator
@inline function mix(h: i32, w: i32): i32 {
  return fnvMix(h, w);
}

/** A counter (exact below 2^53) as two words. */
function mixF64(h: i32, x: f64): i32 {
  const hi = Math.floor(x / 4294967296.0);
  const lo = x - hi * 4294967296.0;
  return mix(mix(h, i32(u32(lo))), i32(hi));
}

export function stateHash(): u32 {
  let h: i32 = FNV_OFFSET_BASIS;
  h = mix(h, nrPages);
  h = mix(h, pageShift);
  h = mix(h, maxOrder);
  h = mix(h, pageblockOrder);
  for (let pfn = 0; pfn < nrPages; pfn++) {
    h = mix(h, i32(unchecked(pageFlags[pfn])) | (i32(unchecked(pageOrder[pfn])) << 8));
    h = mix(h, unchecked(pageLink0[pfn]));
    h = mix(h, unchecked(pageLink1[pfn]));
  }
  for (let i = 0; i < pageblockMts.length; i++) h = mix(h, i32(unchecked(pageblockMts[i])));
  for (let zone = 0; zone < MAX_NR_ZONES; zone++) {
    for (let order = 0; order <= maxOrder; order++) {
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) h = mix(h, freeListHead(zone, order, mt));
    }
    h = mix(h, unchecked(zoneStart[zone]));
    h = mix(h, unchecked(zoneEnd[zone]));
    h = mix(h, unchecked(zoneFreePages[zone]));
    h = mix(h, unchecked(zoneFreeCmaPages[zone]));
    h = mix(h, unchecked(zoneCmaPages[zone]));
  }
  for (let i = 0; i < freeBlocks.length; i++) h = mix(h, unchecked(freeBlocks[i]));
  for (let i = 0; i < zoneWmark.length; i++) h = mix(h, unchecked(zoneWmark[i]));
  for (let i = 0; i < lowmemReserve.length; i++) h = mix(h, unchecked(lowmemReserve[i]));
  h = mix(h, cmaBalanceEnabled ? 1 : 0);
  h = mix(h, noFragmentEnabled ? 1 : 0);
  h = mix(h, claimThresholdPages);
  // The profile, when not the default (so that 6.12 hashes stay as they were).
  if (kernelProfile != KERNEL_6_12) h = mix(h, kernelProfile);
  // 6.18: vm.defrag_mode and NR_FREE_PAGES_BLOCKS (kept on every profile, but
  // hashed where the kernel has them, so that 6.1 and 6.12 hashes stay as they were).
  if (kernelProfile == KERNEL_6_18) {
    h = mix(h, defragMode ? 1 : 0);
    for (let z = 0; z < MAX_NR_ZONES; z++) h = mix(h, unchecked(zoneFreePagesBlocks[z]));
  }
  const slots = ownerSlots();
  h = mix(h, slots);
  for (let id = 0; id < slots; id++) h = mix(h, ownerSlot(id));
  for (let a = 0; a < cmaAreaCount; a++) {
    h = mix(h, cmaBasePfn(a));
    h = mix(h, cmaCount(a));
    h = mix(h, cmaOrderPerBit(a));
    h = mix(h, cmaAvailable(a));
    const map = cmaBitmap(a);
    for (let w = 0; w < map.length; w++) h = mix(h, i32(unchecked(map[w])));
    for (let s = 0; s < CMA_STAT_COUNT; s++) h = mixF64(h, cmaStat(a, s));
  }
  for (let i = 0; i < vmEvents.length; i++) h = mixF64(h, unchecked(vmEvents[i]));
  for (let i = 0; i < allocFailByOrder.length; i++) h = mixF64(h, unchecked(allocFailByOrder[i]));
  for (let i = 0; i < zonePgalloc.length; i++) h = mixF64(h, unchecked(zonePgalloc[i]));
  // Compaction: the switches, each zone's deferral and scanner state, the skip hints.
  h = mix(h, compactionEnabled ? 1 : 0);
  h = mix(h, extfragThreshold);
  for (let i = 0; i < zoneCompactState.length; i++) h = mix(h, unchecked(zoneCompactState[i]));
  for (let i = 0; i < pageblockSkip.length; i++) h = mix(h, i32(unchecked(pageblockSkip[i])));
  // The clock and kcompactd: proactiveness, its wait and what it was asked for.
  h = mixF64(h, clockMs);
  h = mixF64(h, kcDeadline + 1);
  h = mix(h, compactionProactiveness);
  h = mix(h, kcMaxOrder);
  h = mix(h, kcHighestZone);
  h = mix(h, (kcRunnable ? 1 : 0) | (kcProactiveTrigger ? 2 : 0));
  // Watermark boosting, highatomic reserves and kswapd.
  h = mix(h, watermarkBoostFactor);
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    h = mix(h, unchecked(zoneBoost[z]));
    h = mix(h, i32(unchecked(zoneBoostedFlag[z])));
    h = mix(h, unchecked(zoneReservedHighatomic[z]));
    h = mix(h, unchecked(zoneFreeHighatomicPages[z]));
  }
  h = mixF64(h, boostEvents);
  h = mixF64(h, highatomicReserved);
  h = mixF64(h, highatomicUnreserved);
  h = mixF64(h, kswapdBoostResets);
  h = mixF64(h, kswapdPageoutruns);
  for (let w = 0; w < 5; w++) h = mix(h, kswapdHashWords(w));
  h = mixF64(h, kswapdNapUntil + 1);
  // LRU lists and the page cache (lru.ts), reclaim's node flags (vmscan.ts).
  h = lruHash(h);
  h = swapHash(h); // only with swap
  h = mix(h, (pgdatDirty ? 1 : 0) | (pgdatWriteback ? 2 : 0));
  // Per-cpu page lists, when on (so that `pcp: false` machines hash as before
  // they existed). The lists' blocks are in the memory map above.
  if (pcpEnabled) {
    h = mix(h, nrCpus);
    h = mix(h, percpuPagelistHighFraction);
    for (let i = 0; i < zoneBelowHigh.length; i++) h = mix(h, unchecked(zoneBelowHigh[i]));
    for (let i = 0; i < pcpState.length; i++) h = mix(h, unchecked(pcpState[i]));
    for (let i = 0; i < pcpHead.length; i++) h = mix(h, unchecked(pcpHead[i]));
    for (let i = 0; i < pcpTail.length; i++) h = mix(h, unchecked(pcpTail[i]));
    h = mixF64(h, pcpRefillPages);
    h = mixF64(h, pcpDrainPages);
  } else if (nrCpus != 1) {
    h = mix(h, nrCpus);
  }
  // 6.1 drains to the types cached in the pages, and re-reads pageblocks while a
  // zone has isolated ones (only 6.1 reads either, so only 6.1 hashes them).
  if (kernelProfile == KERNEL_6_1) {
    h = pcpHashCachedMt(h);
    for (let z = 0; z < MAX_NR_ZONES; z++) h = mix(h, unchecked(zoneNrIsolatePageblock[z]));
  }
  h = iommuHash(h);
  for (let b = 0; b < bitmapCount(); b++) {
    const words = bitmapWords(b);
    h = mix(h, words.length);
    for (let w = 0; w < words.length; w++) h = mix(h, i32(unchecked(words[w])));
  }
  for (let off: u32 = 0; off < ramBytes; off += 4) h = mix(h, i32(ramWord(off)));
  return u32(h) >>> 0;
}
