// ---- limits ------------------------------------------------------------------------------------
//
// A case with `limit` reports its MB/s as a fraction of a bandwidth the machine
// reaches without dmasim, measured in the same child process right after the
// case. Each limit runs a few baselines and takes the fastest (the best this
// runtime can do, so the fraction is an upper bound of what is left to gain):
//
//   memcpy                 copying 64 MiB (larger than any cache) to another 64 MiB buffer:
//                          TypedArray.prototype.set and Buffer.copy (both end in the C
//                          library's memmove); bytes copied per second, as migration
//                          counts bytes migrated.
//   read-in-cache          reading a 128 KiB buffer (the size of the bitmap-scan bitmap)
//                          over and over, so it stays in L2: Buffer.indexOf() of a byte the
//                          buffer does not hold (the C library's SIMD memchr), and a plain
//                          JS loop summing it as a Uint32Array (what scalar JIT code reaches).
//                          The JS loop runs about half as fast in the wasm children: once any
//                          ArrayBuffer has been detached in a process (WebAssembly.Memory.grow()
//                          does it), V8 checks for detachment in every optimised typed-array
//                          loop. memchr, the faster baseline and so the limit, is unaffected.
import type { LimitKey } from "./case.ts";
import { MIB } from "./constants.ts";

export interface Baseline {
  name: string;
  bytesPerSec: number;
}

/** A measured limit: the fastest of its baselines. */
export interface Limit {
  name: string;
  bytesPerSec: number;
  baselines: Baseline[];
}

const median = (xs: readonly number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

/** Median bytes/s of `samples` timed calls of fn(), each moving `bytes`, after `warm` untimed ones. */
function bandwidth(fn: () => void, bytes: number, samples: number, warm = 2): number {
  const rates: number[] = [];
  for (let s = 0; s < warm + samples; s++) {
    const t = performance.now();
    fn();
    const ms = performance.now() - t;
    if (s >= warm) rates.push((bytes * 1000) / ms);
  }
  return median(rates);
}

// The repetitions loop inside the measured function, so each baseline is one
// monomorphic loop nest that V8 optimises on its own.
function memchrReps(buf: Buffer, reps: number): number {
  let found = 0;
  for (let r = 0; r < reps; r++) found += buf.indexOf(0);
  return found;
}

function sumU32Reps(a: Uint32Array, reps: number): number {
  let s = 0;
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < a.length; i++) s = (s + a[i]!) | 0;
  }
  return s;
}

export const LIMITS: Record<LimitKey, () => Limit> = {
  memcpy() {
    const bytes = 64 * MIB;
    const src = new Uint8Array(bytes).fill(0x5a);
    const dst = new Uint8Array(bytes).fill(0); // both committed before timing
    const bsrc = Buffer.from(src.buffer);
    const bdst = Buffer.from(dst.buffer);
    const baselines = [
      { name: "TypedArray.set", bytesPerSec: bandwidth(() => dst.set(src), bytes, 15) },
      { name: "Buffer.copy", bytesPerSec: bandwidth(() => bsrc.copy(bdst), bytes, 15) },
    ];
    if (dst[bytes - 1] !== 0x5a) throw new Error("memcpy baseline: nothing copied");
    return { name: "memcpy bandwidth", bytesPerSec: Math.max(...baselines.map((b) => b.bytesPerSec)), baselines };
  },
  "read-in-cache"() {
    const bytes = 128 * 1024;
    const buf = Buffer.alloc(bytes, 0xff);
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset, bytes / 4);
    // 0xff bytes: no zero byte anywhere (indexOf gives -1); every word adds -1 to the int32 sum.
    const check = (got: number, want: number): void => {
      if (got !== want) throw new Error(`read baseline: got ${got}, expected ${want}`);
    };
    const baselines = [
      {
        name: "memchr (Buffer.indexOf)",
        bytesPerSec: bandwidth(() => check(memchrReps(buf, 2000), -2000), bytes * 2000, 15),
      },
      {
        name: "JS Uint32Array sum",
        bytesPerSec: bandwidth(() => check(sumU32Reps(u32, 200), -(bytes / 4) * 200), bytes * 200, 15),
      },
    ];
    return {
      name: "in-cache read bandwidth",
      bytesPerSec: Math.max(...baselines.map((b) => b.bytesPerSec)),
      baselines,
    };
  },
};
