/**
 * Bitmap: the kernel's bitmap primitives (lib/bitmap.c, lib/find_bit.c) on a
 * bitmap the engine holds, the same code CMA and the IOVA allocator use: for
 * allocators built on top of dmasim, and for measuring the scans themselves.
 */
import { DmaSimError } from "../core/errors.ts";
import { requireInt } from "../core/validate.ts";
import type { Engine } from "../core/backend.ts";

export class Bitmap {
  /** @internal */
  constructor(
    private readonly engine: Engine,
    /** Engine bitmap id. */
    readonly id: number,
    /** Size in bits. */
    readonly nbits: number,
  ) {}

  private range(where: string, start: number, nr: number): void {
    requireInt(`Bitmap.${where}`, "start", start, 0, this.nbits);
    requireInt(`Bitmap.${where}`, "nr", nr, 0, this.nbits - start);
  }

  /** bitmap_set() */
  set(start: number, nr: number): void {
    this.range("set", start, nr);
    this.engine.bitmapUpdate(this.id, start, nr, true);
  }

  /** bitmap_clear() */
  clear(start: number, nr: number): void {
    this.range("clear", start, nr);
    this.engine.bitmapUpdate(this.id, start, nr, false);
  }

  /** test_bit() */
  test(bit: number): boolean {
    requireInt("Bitmap.test", "bit", bit, 0, this.nbits - 1);
    return this.engine.bitmapTestBit(this.id, bit) === 1;
  }

  /**
   * bitmap_find_next_zero_area_off(): the first run of `nr` clear bits from
   * `start` whose index plus `alignOffset` is a multiple of `alignMask + 1`;
   * an index above nbits - nr when there is none.
   */
  findNextZeroArea(start: number, nr: number, alignMask = 0, alignOffset = 0): number {
    const where = "Bitmap.findNextZeroArea";
    requireInt(where, "start", start, 0, this.nbits);
    requireInt(where, "nr", nr, 1, 2 ** 30);
    requireInt(where, "alignMask", alignMask, 0, 2 ** 30 - 1);
    requireInt(where, "alignOffset", alignOffset, 0, 2 ** 30);
    if ((alignMask & (alignMask + 1)) !== 0)
      throw new DmaSimError("EINVAL", `${where}: alignMask must be 2^k - 1, got ${alignMask}`);
    return this.engine.bitmapZeroArea(this.id, start, nr, alignMask, alignOffset);
  }

  /** find_next_zero_bit(): the first clear bit from `start`, or nbits. */
  findNextZeroBit(start: number): number {
    requireInt("Bitmap.findNextZeroBit", "start", start, 0, this.nbits);
    return this.engine.bitmapNextZero(this.id, start);
  }

  /** find_next_bit(): the first set bit from `start`, or nbits. */
  findNextBit(start: number): number {
    requireInt("Bitmap.findNextBit", "start", start, 0, this.nbits);
    return this.engine.bitmapNextSet(this.id, start);
  }
}
