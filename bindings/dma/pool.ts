/**
 * The atomic DMA pools (kernel/dma/pool.c): memory set aside at boot for
 * coherent allocations that cannot sleep, one pool per zone that DMA masks
 * distinguish, handed out first fit in pages (gen_pool with PAGE_SHIFT granules).
 */
import type { StateHasher } from "../core/hash.ts";
import { pfnUp } from "../core/units.ts";

/**
 * coherent_pool's default size: 128 KiB per GiB of RAM, at least 128 KiB, at
 * most one MAX_PAGE_ORDER block (dma_atomic_pool_init()).
 */
export function atomicPoolBytes(ramBytes: number, pageSize: number, maxOrder: number): number {
  const perGiB = Math.floor(ramBytes / 2 ** 30) * 128 * 1024;
  const bytes = Math.max(perGiB, 128 * 1024);
  return Math.min(bytes, pageSize * 2 ** maxOrder);
}

export class AtomicPool {
  private readonly used: Uint8Array;

  constructor(
    /** The zone the pool's pages came from. */
    readonly zone: string,
    /** Physical address of the pool. */
    readonly start: number,
    readonly bytes: number,
    private readonly pageSize: number,
  ) {
    this.used = new Uint8Array(bytes / pageSize);
  }

  contains(phys: number): boolean {
    return phys >= this.start && phys < this.start + this.bytes;
  }

  /** gen_pool_alloc(): first fit; the physical address or null. */
  alloc(size: number): number | null {
    const n = pfnUp(size, this.pageSize);
    for (let i = 0; i + n <= this.used.length; i++) {
      let j = 0;
      while (j < n && this.used[i + j] === 0) j++;
      if (j === n) {
        this.used.fill(1, i, i + n);
        return this.start + i * this.pageSize;
      }
      i += j;
    }
    return null;
  }

  /** gen_pool_free() */
  free(phys: number, size: number): void {
    const i = (phys - this.start) / this.pageSize;
    this.used.fill(0, i, i + pfnUp(size, this.pageSize));
  }

  /** Bytes in use. */
  get usedBytes(): number {
    return this.used.reduce((n, u) => n + u, 0) * this.pageSize;
  }

  /** @internal No page in use. */
  get pristine(): boolean {
    return this.used.every((u) => u === 0);
  }

  /** @internal Feeds the pages in use, as runs (first page, pages) in address order. */
  hashState(h: StateHasher): void {
    const runs: [number, number][] = [];
    for (let i = 0; i < this.used.length; i++) {
      if (this.used[i] === 0) continue;
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] === i) last[1]++;
      else runs.push([i, 1]);
    }
    h.list(runs, ([first, pages]) => h.num(first).num(pages));
  }
}

/** dma_free_from_pool(): gives back `size` bytes at `phys` to the pool holding them; false when none does. */
export function dmaFreeFromPool(pools: readonly AtomicPool[], phys: number, size: number): boolean {
  const pool = pools.find((p) => p.contains(phys));
  if (!pool) return false;
  pool.free(phys, size);
  return true;
}
