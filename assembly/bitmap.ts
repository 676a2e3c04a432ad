// Bitmap primitives (lib/bitmap.c, lib/find_bit.c) over 32-bit words: bit `i`
// lives in word i >> 5 at position i & 31. Word-at-a-time scans with ctz; on
// WASM with SIMD, runs of full (or empty) words are skipped 4 words at a time,
// and zero-area searches skip words that cannot start a fit 32 words at a time
// (see "zero areas").

import { EINVAL } from "./abi.ts";
import { dataPointer } from "./target.ts";

/** Words from `w` that are all ones (skipZeros false) or all zeros, skipped 128 bits at a time (WASM SIMD). */
// @ts-ignore: decorator
@inline function skipWords(map: Uint32Array, w: i32, nwords: i32, allOnes: bool): i32 {
  if (ASC_TARGET != 0 && ASC_FEATURE_SIMD) {
    const base = dataPointer(map);
    while (w + 4 <= nwords) {
      // @ts-ignore: wasm only
      const v = v128.load(base + (usize(w) << 2));
      // @ts-ignore: wasm only
      if (allOnes ? v128.any_true(v128.not(v)) : v128.any_true(v)) break;
      w += 4;
    }
  }
  return w;
}

/** Words needed for `nbits` bits (BITS_TO_LONGS with 32-bit longs). */
// @ts-ignore: decorator
@inline export function bitsToWords(nbits: i32): i32 {
  return (nbits + 31) >>> 5;
}

// @ts-ignore: decorator
@inline export function testBit(map: Uint32Array, bit: i32): bool {
  return ((unchecked(map[bit >>> 5]) >>> u32(bit & 31)) & 1) != 0;
}

/** find_next_bit(): first set bit at or after `start`, or `size`. */
export function findNextBit(map: Uint32Array, size: i32, start: i32): i32 {
  if (start >= size) return size;
  let w = start >>> 5;
  let word: u32 = unchecked(map[w]) & ((0xffffffff as u32) << u32(start & 31));
  if (word == 0) w = skipWords(map, w + 1, bitsToWords(size), false) - 1;
  while (word == 0) {
    w++;
    if ((w << 5) >= size) return size;
    word = unchecked(map[w]);
  }
  const bit = (w << 5) + i32(ctz<u32>(word));
  return bit < size ? bit : size;
}

/** find_next_zero_bit(): first clear bit at or after `start`, or `size`. */
export function findNextZeroBit(map: Uint32Array, size: i32, start: i32): i32 {
  if (start >= size) return size;
  let w = start >>> 5;
  let word: u32 = ~unchecked(map[w]) & ((0xffffffff as u32) << u32(start & 31));
  if (word == 0) w = skipWords(map, w + 1, bitsToWords(size), true) - 1;
  while (word == 0) {
    w++;
    if ((w << 5) >= size) return size;
    word = ~unchecked(map[w]);
  }
  const bit = (w << 5) + i32(ctz<u32>(word));
  return bit < size ? bit : size;
}

/** Sets (`on`) or clears bits [start, start + nr) (bitmap_set / bitmap_clear). */
export function bitmapAssign(map: Uint32Array, start: i32, nr: i32, on: bool): void {
  let w = start >>> 5;
  let bit = start & 31;
  while (nr > 0) {
    const span = 32 - bit < nr ? 32 - bit : nr;
    const mask: u32 = span == 32 ? 0xffffffff : ((((1 as u32) << u32(span)) - 1) << u32(bit));
    if (on) unchecked(map[w] = unchecked(map[w]) | mask);
    else unchecked(map[w] = unchecked(map[w]) & ~mask);
    nr -= span;
    bit = 0;
    w++;
  }
}

// ---- zero areas --------------------------------------------------------------
//
// A run of nr clear bits, nr >= 2^(k+1) - 1, always holds an aligned clear block
// of 2^k bits: wherever the run starts, it reaches the next multiple of 2^k within
// 2^k - 1 bits and still has 2^k bits to go. Blocks of up to 32 bits never straddle
// words, so a word holds one exactly when ~spread(word) has a bit at a block start:
//
//   word        1111 0111 0000 1101 ...   (bit 0 on the left; 1 = busy)
//   spread k=2  1111 1111 0000 1111 ...   bit j = OR of bits j..j+3
//   starts k=2  1000 1000 1000 1000 ...   0x11111111
//   block?      ---- ---- 1--- ---- ...   the clear nibble at bit 8
//
// Searches skip every word before the first one holding a block: in a bitmap
// with scattered single holes hardly any word does, and testing that is a few
// shifts per group of words ANDed together (32 words with WASM SIMD, 4 without).

/** k of the block every run of `nr` bits holds: floor(log2(nr + 1)) - 1, at most 5. */
// @ts-ignore: decorator
@inline function blockOrder(nr: i32): i32 {
  const k = 30 - i32(clz<u32>(u32(nr) + 1));
  return k < 5 ? k : 5;
}

/** Bit positions where aligned 2^k-bit blocks start in a word. */
// @ts-ignore: decorator
@inline function blockStarts(k: i32): u32 {
  return k == 0 ? 0xffffffff : k == 1 ? 0x55555555 : k == 2 ? 0x11111111 : k == 3 ? 0x01010101 : k == 4 ? 0x00010001 : 0x00000001;
}

/** Bit j becomes the OR of bits j..j + 2^k - 1 (busy anywhere in the 2^k bits from j). */
// @ts-ignore: decorator
@inline function spreadBusy(w: u32, k: i32): u32 {
  if (k >= 1) w |= w >>> 1;
  if (k >= 2) w |= w >>> 2;
  if (k >= 3) w |= w >>> 4;
  if (k >= 4) w |= w >>> 8;
  if (k >= 5) w |= w >>> 16;
  return w;
}

// @ts-ignore: decorator
@inline function spreadBusyLanes(v: v128, k: i32): v128 {
  // @ts-ignore: wasm only
  if (k >= 1) v = v128.or(v, i32x4.shr_u(v, 1));
  // @ts-ignore: wasm only
  if (k >= 2) v = v128.or(v, i32x4.shr_u(v, 2));
  // @ts-ignore: wasm only
  if (k >= 3) v = v128.or(v, i32x4.shr_u(v, 4));
  // @ts-ignore: wasm only
  if (k >= 4) v = v128.or(v, i32x4.shr_u(v, 8));
  // @ts-ignore: wasm only
  if (k >= 5) v = v128.or(v, i32x4.shr_u(v, 16));
  return v;
}

/**
 * The first word at or after `w` holding a clear 2^k-bit block at one of the
 * positions in `starts` (aligned to 2^k), or `nwords`.
 *
 * Words are tested in groups, ANDed first: a block clear in any word of the group
 * is clear in their AND, so a group whose AND holds none is skipped whole with
 * one spread. The AND also clears bits no single word has clear, so a group that
 * passes is looked at word by word (rarely: with 1% of the bits clear, 1 group of
 * 32 words in ~800 passes for k = 2).
 */
// @ts-ignore: decorator
@inline function firstBlockWordOf(map: Uint32Array, w: i32, nwords: i32, k: i32, starts: u32): i32 {
  for (;;) {
    // In a dense bitmap the next word often holds one: look at it alone first.
    if (w >= nwords) return nwords;
    if ((~spreadBusy(unchecked(map[w]), k) & starts) != 0) return w;
    w++;
    if (ASC_TARGET != 0 && ASC_FEATURE_SIMD) {
      // 128 bytes a step, as eight 4-word lanes.
      const base = dataPointer(map);
      // @ts-ignore: wasm only
      const startLanes = i32x4.splat(starts);
      while (w + 32 <= nwords) {
        const p = base + (usize(w) << 2);
        // @ts-ignore: wasm only
        const a = v128.and(v128.and(v128.load(p), v128.load(p, 16)), v128.and(v128.load(p, 32), v128.load(p, 48)));
        // @ts-ignore: wasm only
        const b = v128.and(v128.and(v128.load(p, 64), v128.load(p, 80)), v128.and(v128.load(p, 96), v128.load(p, 112)));
        // @ts-ignore: wasm only
        if (v128.any_true(v128.andnot(startLanes, spreadBusyLanes(v128.and(a, b), k)))) {
          let lane = 0;
          // @ts-ignore: wasm only
          while (lane < 8 && !v128.any_true(v128.andnot(startLanes, spreadBusyLanes(v128.load(p + (usize(lane) << 4)), k)))) lane++;
          if (lane < 8) {
            w += lane << 2;
            break;
          }
        }
        w += 32;
      }
    }
    // Four words a step (the portable build; the tail on WASM).
    while (w + 4 <= nwords) {
      const all = unchecked(map[w]) & unchecked(map[w + 1]) & unchecked(map[w + 2]) & unchecked(map[w + 3]);
      if ((~spreadBusy(all, k) & starts) != 0) break;
      w += 4;
    }
    const groupEnd = w + 4 < nwords ? w + 4 : nwords;
    for (; w < groupEnd; w++) {
      if ((~spreadBusy(unchecked(map[w]), k) & starts) != 0) return w;
    }
    if (w >= nwords) return nwords;
  }
  return nwords; // unreachable: the loop returns
}

/** firstBlockWordOf() with k a constant in each arm, so each inlined copy folds its shifts. */
function firstBlockWord(map: Uint32Array, w: i32, nwords: i32, k: i32, starts: u32): i32 {
  switch (k) {
    case 0: return firstBlockWordOf(map, w, nwords, 0, starts);
    case 1: return firstBlockWordOf(map, w, nwords, 1, starts);
    case 2: return firstBlockWordOf(map, w, nwords, 2, starts);
    case 3: return firstBlockWordOf(map, w, nwords, 3, starts);
    case 4: return firstBlockWordOf(map, w, nwords, 4, starts);
    default: return firstBlockWordOf(map, w, nwords, 5, starts);
  }
}

/**
 * bitmap_find_next_zero_area_off(): the first run of `nr` clear bits at or after
 * `start` whose index plus `alignOffset` is a multiple of `alignMask + 1`.
 * Returns a value past `size - nr` when there is none.
 *
 * The kernel's loop (find a zero, align it, look for a busy bit in the run,
 * restart after it) always lands on the smallest such index. Runs of at most 32
 * bits with an alignment of at most 32 are found directly, a word at a time;
 * anything else takes the kernel's loop. Both skip to the first word holding
 * the clear block every fitting run holds (see above).
 */
export function bitmapFindNextZeroAreaOff(
  map: Uint32Array, size: i32, start: i32, nr: i32, alignMask: i32, alignOffset: i32,
): i32 {
  if (nr <= 32 && alignMask < 32) return zeroAreaByWords(map, size, start, nr, alignMask, alignOffset);
  return zeroAreaByRestarts(map, size, start, nr, alignMask, alignOffset);
}

/** The kernel's algorithm, for long runs and coarse alignments. */
function zeroAreaByRestarts(map: Uint32Array, size: i32, start: i32, nr: i32, alignMask: i32, alignOffset: i32): i32 {
  const nwords = bitsToWords(size);
  const k = blockOrder(nr);
  for (;;) {
    // A fit at or after `start` holds a block in word `blockWord` or later, so
    // it starts after blockWord * 32 - nr.
    if (start >= size) return size + nr;
    const blockWord = firstBlockWord(map, start >>> 5, nwords, k, blockStarts(k));
    if (blockWord >= nwords) return size + nr;
    const earliest = (blockWord << 5) - nr + 1;
    if (earliest > start) start = earliest;
    let index = findNextZeroBit(map, size, start);
    index = ((index + alignOffset + alignMask) & ~alignMask) - alignOffset;
    const end = index + nr;
    if (end > size) return end;
    const busy = findNextBit(map, end, index);
    if (busy >= end) return index;
    start = busy + 1;
  }
  return size; // unreachable: the loop returns
}

/**
 * A word at a time: for word w, bit j of `runs` is set when bits j..j+nr-1
 * (running into word w+1) are all clear, found in log2(nr) doubling steps; then
 * masked to the aligned positions, which repeat every alignMask + 1 bits, and to
 * positions at or after `start`. Only words a fit may start in are looked at
 * (see below).
 */
function zeroAreaByWords(map: Uint32Array, size: i32, start: i32, nr: i32, alignMask: i32, alignOffset: i32): i32 {
  if (start >= size) return size + nr;
  const nwords = bitsToWords(size);
  // Aligned positions within any word: j with (j + alignOffset) % (alignMask + 1) == 0.
  let aligned: u32 = 0;
  for (let j = (alignMask + 1 - (alignOffset & alignMask)) & alignMask; j < 32; j += alignMask + 1) aligned |= (1 as u32) << u32(j);
  // Which words are worth a look. A run of nr clear bits holds an aligned clear
  // block of 2^kRun bits in its first word or the next. And a fit starting at
  // aligned position p has its first 2^kFit bits clear (2^kFit <= nr): those in
  // p's word are what the spread at p tests (it shifts clear bits in past the
  // word's end). With alignments of 2^kFit or more the aligned positions are few
  // and the blocks long: the sharper test (IOVA ranges aligned to their order),
  // taken whenever its blocks are at least as long.
  const kRun = blockOrder(nr);
  let kFit = 0;
  while (kFit < 5 && (2 << kFit) <= nr && (2 << kFit) <= alignMask + 1) kFit++;
  const fitFirst = kFit >= kRun;
  const k = fitFirst ? kFit : kRun;
  const starts = fitFirst ? aligned : blockStarts(kRun);
  const lead = fitFirst ? 0 : 1; // words a fit may start before its block's word
  let w = start >>> 5;
  let from: u32 = (0xffffffff as u32) << u32(start & 31);
  while (w < nwords) {
    const blockWord = firstBlockWord(map, w, nwords, k, starts);
    if (blockWord >= nwords) break;
    if (blockWord - lead > w) {
      w = blockWord - lead;
      from = 0xffffffff;
    }
    // Doubling: after each step, bit j of (lo, hi) says bits j..j+m-1 of the
    // 64-bit window (this word, the next) are clear; a last step tops m up to nr.
    let lo: u32 = ~unchecked(map[w]);
    let hi: u32 = w + 1 < nwords ? ~unchecked(map[w + 1]) : 0xffffffff;
    let m = 1;
    while (m * 2 <= nr) {
      lo &= (lo >>> u32(m)) | (hi << u32(32 - m));
      hi &= hi >>> u32(m);
      m <<= 1;
    }
    if (m < nr) lo &= (lo >>> u32(nr - m)) | (hi << u32(32 - (nr - m)));
    const runs: u32 = lo & aligned & from;
    if (runs != 0) {
      const index = (w << 5) + i32(ctz<u32>(runs));
      return index + nr <= size ? index : index + nr;
    }
    w++;
    from = 0xffffffff;
  }
  return size + nr;
}

// ---- bitmaps the bindings create (sys.bitmap()) ----------------------------------------

const userBitmaps: Array<Uint32Array> = new Array<Uint32Array>(0);
const userBits: Array<i32> = new Array<i32>(0);

export function bitmapsReset(): void {
  userBitmaps.length = 0;
  userBits.length = 0;
}

/** A zeroed bitmap of `nbits` bits; returns its id. */
export function bitmapCreate(nbits: i32): i32 {
  if (nbits <= 0) return -EINVAL;
  userBitmaps.push(new Uint32Array(bitsToWords(nbits)));
  userBits.push(nbits);
  return userBits.length - 1;
}

function bitmapValid(id: i32): bool {
  return id >= 0 && id < userBits.length;
}

/** bitmap_set() (on) / bitmap_clear(): 0 or -EINVAL. */
export function bitmapUpdate(id: i32, start: i32, nr: i32, on: bool): i32 {
  if (!bitmapValid(id) || start < 0 || nr < 0 || nr > userBits[id] - start) return -EINVAL;
  bitmapAssign(userBitmaps[id], start, nr, on);
  return 0;
}

export function bitmapTestBit(id: i32, bit: i32): i32 {
  if (!bitmapValid(id) || bit < 0 || bit >= userBits[id]) return -EINVAL;
  return testBit(userBitmaps[id], bit) ? 1 : 0;
}

/** bitmap_find_next_zero_area_off() on bitmap `id`. */
export function bitmapZeroArea(id: i32, start: i32, nr: i32, alignMask: i32, alignOffset: i32): i32 {
  if (!bitmapValid(id) || start < 0 || nr <= 0 || alignMask < 0 || (alignMask & (alignMask + 1)) != 0 || alignOffset < 0) return -EINVAL;
  return bitmapFindNextZeroAreaOff(userBitmaps[id], userBits[id], start, nr, alignMask, alignOffset);
}

export function bitmapNextZero(id: i32, start: i32): i32 {
  if (!bitmapValid(id) || start < 0) return -EINVAL;
  return findNextZeroBit(userBitmaps[id], userBits[id], start);
}

export function bitmapNextSet(id: i32, start: i32): i32 {
  if (!bitmapValid(id) || start < 0) return -EINVAL;
  return findNextBit(userBitmaps[id], userBits[id], start);
}

export function bitmapCount(): i32 {
  return userBits.length;
}

export function bitmapWords(id: i32): Uint32Array {
  return userBitmaps[id];
}
