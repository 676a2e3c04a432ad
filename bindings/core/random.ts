/**
 * The deterministic random source of a System (sfc32 seeded through splitmix32):
 * the same seed gives the same sequence on every platform and backend.
 */
export interface Random {
  /** Next uint32. */
  next(): number;
  /** Integer in [0, n), n ≤ 2^32. */
  int(n: number): number;
  /** Float in [0, 1). */
  float(): number;
}

function splitmix32(state: number): () => number {
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRandom(seed: number): Random {
  const init = splitmix32(seed >>> 0);
  let a = init(),
    b = init(),
    c = init(),
    d = init();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  return {
    next,
    int: (n) => Math.floor((next() / 4294967296) * n),
    float: () => next() / 4294967296,
  };
}
