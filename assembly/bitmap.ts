// Bitmap primitives (lib/bitmap.c, lib/find_bit.c) over 32-bit words: bit `i`
// lives in word i >> 5 at position i & 31. Word-at-a-time scans with ctz.

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

/**
 * bitmap_find_next_zero_area_off(): the first run of `nr` clear bits at or after
 * `start` whose index plus `alignOffset` is a multiple of `alignMask + 1`.
 * Returns a value past `size - nr` when there is none.
 */
export function bitmapFindNextZeroAreaOff(
  map: Uint32Array, size: i32, start: i32, nr: i32, alignMask: i32, alignOffset: i32,
): i32 {
  for (;;) {
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
