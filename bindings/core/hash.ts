/**
 * StateHasher: the digest of the machine's TS-side state, mixed after the
 * engine's own (assembly/hash.ts) with the same FNV-1a over 32-bit words, so a
 * word fed here weighs what a word of engine state weighs there.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

export class StateHasher {
  private h: number;
  /** Words fed so far (0: the state fed nothing). */
  words = 0;
  private readonly f64 = new Float64Array(1);
  private readonly f64Words = new Int32Array(this.f64.buffer);

  constructor(seed = FNV_OFFSET_BASIS) {
    this.h = seed | 0;
  }

  /** One 32-bit word. */
  word(w: number): this {
    this.h = Math.imul(this.h ^ w, FNV_PRIME);
    this.words++;
    return this;
  }

  /** A number of any size or sign (an address, a counter, a size), as its two float64 words. */
  num(x: number): this {
    this.f64[0] = x;
    return this.word(this.f64Words[0]!).word(this.f64Words[1]!);
  }

  bool(b: boolean): this {
    return this.word(b ? 1 : 0);
  }

  /** A string: its length, then its UTF-16 code units two per word. */
  str(s: string): this {
    this.word(s.length);
    for (let i = 0; i < s.length; i += 2)
      this.word(s.charCodeAt(i) | (i + 1 < s.length ? s.charCodeAt(i + 1) << 16 : 0));
    return this;
  }

  /** Bytes: their length, then four to a word. */
  bytes(b: Uint8Array): this {
    this.word(b.length);
    for (let i = 0; i < b.length; i += 4)
      this.word(b[i]! | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24));
    return this;
  }

  /** A list: its length, then each item as `feed` feeds it. */
  list<T>(items: Iterable<T>, feed: (item: T) => void): this {
    const all = [...items];
    this.word(all.length);
    for (const item of all) feed(item);
    return this;
  }

  /** The digest, a uint32. */
  digest(): number {
    return this.h >>> 0;
  }
}
