import { describe, expect, it } from "vitest";
import { MIB, expectUntouched, onBoth } from "../helpers.ts";

describe("Bitmap (lib/bitmap.c)", () => {
  it("sets, clears and finds runs as the kernel's primitives do", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const bm = sys.bitmap(1000);
      bm.set(0, 1000);
      bm.clear(37, 1);
      bm.clear(100, 3);
      bm.clear(200, 10);
      expect(bm.findNextZeroBit(0)).toBe(37);
      expect(bm.findNextZeroArea(0, 1)).toBe(37);
      expect(bm.findNextZeroArea(0, 3)).toBe(100);
      expect(bm.findNextZeroArea(0, 4)).toBe(200);
      expect(bm.findNextZeroArea(0, 4, 7)).toBe(200); // 200 is 8-aligned
      // index + 1 must be 8-aligned: 207..210 is cut by bit 210, so none; the kernel returns the end.
      expect(bm.findNextZeroArea(0, 4, 7, 1)).toBe(1011);
      expect(bm.findNextZeroArea(0, 2, 7, 1)).toBe(207);
      expect(bm.findNextZeroArea(0, 11)).toBeGreaterThan(1000 - 11); // none
      expect(bm.test(37)).toBe(false);
      expect(bm.findNextBit(200)).toBe(210);
      expectUntouched(sys, "EINVAL", () => bm.set(990, 11));
      expectUntouched(sys, "EINVAL", () => bm.findNextZeroArea(0, 4, 6));
    });
  });

  it("finds a run at the end of a 99%-full 1 Mi-bit bitmap, across the SIMD skip", async () => {
    await onBoth({ ramBytes: 16 * MIB, seed: 3 }, (sys) => {
      const nbits = 1 << 20;
      const bm = sys.bitmap(nbits);
      bm.set(0, nbits);
      // single-bit holes every ~100 bits, then one 8-bit run near the end
      for (let bit = 50; bit < nbits - 1000; bit += 64 + sys.random.int(72)) bm.clear(bit, 1);
      bm.clear(nbits - 333, 8);
      expect(bm.findNextZeroArea(0, 8)).toBe(nbits - 333);
      expect(bm.findNextZeroArea(0, 2)).toBe(nbits - 333);
      // Zero words right after long full stretches, at every offset within a 4-word chunk.
      for (const word of [4, 5, 6, 7, 8, 1000, 32767]) {
        bm.clear(word * 32 + 3, 1);
        expect(bm.findNextZeroBit(word * 32 - 40 > 0 ? word * 32 - 40 : 0) <= word * 32 + 3).toBe(true);
      }
      const all = sys.bitmap(nbits);
      expect(all.findNextBit(0)).toBe(nbits);
      all.set(nbits - 1, 1);
      expect(all.findNextBit(0)).toBe(nbits - 1);
    });
  });
});

/** The kernel's bitmap_find_next_zero_area_off() loop, bit by bit: the oracle. */
function oracle(bits: Uint8Array, size: number, start: number, nr: number, mask: number, off: number): number {
  for (;;) {
    let index = start;
    while (index < size && bits[index]) index++;
    index = ((index + off + mask) & ~mask) - off;
    const end = index + nr;
    if (end > size) return -1;
    let busy = index;
    while (busy < end && !bits[busy]) busy++;
    if (busy >= end) return index;
    start = busy + 1;
  }
}

describe("bitmap_find_next_zero_area_off() against the kernel's loop", () => {
  it("finds the same run on random bitmaps, for short and long runs, any alignment", async () => {
    await onBoth({ ramBytes: 16 * MIB, seed: 9 }, (sys) => {
      const r = sys.random;
      let found = 0;
      for (let trial = 0; trial < 400; trial++) {
        const size = 1 + r.int(700);
        const density = r.float();
        const bits = new Uint8Array(size);
        const bm = sys.bitmap(size);
        for (let i = 0; i < size; i++) {
          if (r.float() < density) {
            bits[i] = 1;
            bm.set(i, 1);
          }
        }
        for (let q = 0; q < 10; q++) {
          const nr = 1 + r.int(r.int(2) ? 40 : 8);
          const mask = 2 ** r.int(7) - 1;
          const off = r.int(mask + 1);
          const start = r.int(size);
          const want = oracle(bits, size, start, nr, mask, off);
          const got = bm.findNextZeroArea(start, nr, mask, off);
          if (want < 0) expect(got, JSON.stringify({ size, start, nr, mask, off })).toBeGreaterThan(size - nr);
          else {
            expect(got, JSON.stringify({ size, start, nr, mask, off })).toBe(want);
            found++;
          }
        }
      }
      expect(found).toBeGreaterThan(500);
      return found;
    });
  });
});

describe("bitmap_find_next_zero_area_off() skipping to clear blocks", () => {
  // Words are skipped in groups (32 words with WASM SIMD, 4 in the portable
  // build) by ANDing them and looking for an aligned clear block of 2^k bits;
  // runs of 7..14 bits hold a clear nibble (k = 2).
  const WORD = 32;
  const GROUP = 32 * WORD;

  it("looks past a group whose AND has a clear nibble that no single word has", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const bm = sys.bitmap(4 * GROUP);
      bm.set(0, 4 * GROUP);
      // Bits 0-1 clear in word 0, bits 2-3 in word 1: their AND clears the nibble at bit 0.
      bm.clear(0, 2);
      bm.clear(WORD + 2, 2);
      // The same in every 4-word step of the second group, and the 7-bit run in the third.
      for (let w = 0; w < 32; w += 4) {
        bm.clear(GROUP + w * WORD + 8, 2);
        bm.clear(GROUP + (w + 1) * WORD + 10, 2);
      }
      const RUN_AT = 2 * GROUP + 5 * WORD + 29; // straddles two words
      bm.clear(RUN_AT, 7);
      expect(bm.findNextZeroArea(0, 7)).toBe(RUN_AT);
      expect(bm.findNextZeroArea(0, 2)).toBe(0);
      expect(bm.findNextZeroArea(1, 2)).toBe(WORD + 2);
      expect(bm.findNextZeroArea(0, 8)).toBeGreaterThan(4 * GROUP - 8);
      // Long runs go through the kernel's loop, skipping the same way: a 40-bit run holds a clear 16-bit block.
      const LONG_AT = 3 * GROUP + 7 * WORD + 20;
      bm.clear(LONG_AT, 40);
      expect(bm.findNextZeroArea(0, 40)).toBe(LONG_AT);
      // 64-aligned (the kernel's loop too): 3328 is the only aligned start in the run, 28 bits from its end.
      expect(LONG_AT + 12).toBe(52 * 64);
      expect(bm.findNextZeroArea(0, 28, 63)).toBe(LONG_AT + 12);
      expect(bm.findNextZeroArea(0, 29, 63)).toBeGreaterThan(4 * GROUP - 29);
      expect(bm.findNextZeroArea(0, 41)).toBeGreaterThan(4 * GROUP - 41);
    });
  });

  it("with coarse alignment, looks only at clear blocks starting on aligned positions", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const bm = sys.bitmap(4 * GROUP);
      bm.set(0, 4 * GROUP);
      // 20 clear bits from bit 4 of a word: 8 of them from the 16-aligned bit 16.
      const RUN_AT = 2 * GROUP + 9 * WORD + 4;
      bm.clear(RUN_AT, 20);
      const ALIGNED = RUN_AT + 12;
      expect(ALIGNED % 16).toBe(0);
      expect(bm.findNextZeroArea(0, 8, 15)).toBe(ALIGNED);
      expect(bm.findNextZeroArea(0, 9, 15)).toBeGreaterThan(4 * GROUP - 9);
      expect(bm.findNextZeroArea(0, 9)).toBe(RUN_AT);
      // An offset moves the aligned positions: index + 4 a multiple of 8 is RUN_AT itself.
      expect(bm.findNextZeroArea(0, 20, 7, 4)).toBe(RUN_AT);
    });
  });

  it("finds what the kernel's loop finds on large, nearly full bitmaps", async () => {
    await onBoth({ ramBytes: 16 * MIB, seed: 11 }, (sys) => {
      const r = sys.random;
      let found = 0;
      for (let trial = 0; trial < 24; trial++) {
        const size = 4 * GROUP + r.int(3 * GROUP);
        const bits = new Uint8Array(size).fill(1);
        const bm = sys.bitmap(size);
        bm.set(0, size);
        // Scattered holes, plus a few clear runs of random lengths.
        const holes = r.int(size / 20);
        for (let i = 0; i < holes; i++) {
          const bit = r.int(size);
          bits[bit] = 0;
          bm.clear(bit, 1);
        }
        for (let i = 0; i < 4; i++) {
          const len = 1 + r.int(80);
          const at = r.int(size - len);
          bits.fill(0, at, at + len);
          bm.clear(at, len);
        }
        for (let q = 0; q < 25; q++) {
          const nr = 1 + r.int(r.int(2) ? 90 : 16);
          const mask = 2 ** r.int(8) - 1;
          const off = r.int(mask + 1);
          const start = r.int(size);
          const want = oracle(bits, size, start, nr, mask, off);
          const got = bm.findNextZeroArea(start, nr, mask, off);
          const what = JSON.stringify({ trial, size, start, nr, mask, off });
          if (want < 0) expect(got, what).toBeGreaterThan(size - nr);
          else {
            expect(got, what).toBe(want);
            found++;
          }
        }
      }
      expect(found).toBeGreaterThan(150);
      return found;
    });
  });
});
