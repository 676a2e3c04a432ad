/**
 * A CPU data cache for the non-coherent DMA model: write-back, allocate on read
 * and write, lines of L1_CACHE_BYTES. CPU accesses go through it; devices that
 * are not cache-coherent see only RAM, so a driver that forgets
 * dma_sync_*_for_device() sends stale bytes and one that forgets
 * dma_sync_*_for_cpu() reads stale bytes, as on real non-coherent hardware.
 * Coherent devices snoop it. Maintenance follows arm64: clean to the point of
 * coherency for the device, invalidate for the CPU.
 */
import type { StateHasher } from "../core/hash.ts";

interface Line {
  data: Uint8Array;
  dirty: boolean;
}

export class CpuCache {
  private readonly lines = new Map<number, Line>();
  /** Lines written back to RAM by cleans and evictions. */
  writebacks = 0;

  constructor(
    private readonly ram: (phys: number, length: number) => Uint8Array,
    /** Line size in bytes. Default 64. */
    readonly lineBytes = 64,
  ) {}

  private line(index: number): Line {
    let l = this.lines.get(index);
    if (!l) {
      l = { data: this.ram(index * this.lineBytes, this.lineBytes).slice(), dirty: false };
      this.lines.set(index, l);
    }
    return l;
  }

  /** A CPU load: through the cache (allocating lines). */
  read(phys: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.forLines(phys, length, (index, lineOff, at, n) =>
      out.set(this.line(index).data.subarray(lineOff, lineOff + n), at),
    );
    return out;
  }

  /** A CPU store: into the cache, leaving lines dirty. */
  write(phys: number, bytes: Uint8Array): void {
    this.forLines(phys, bytes.length, (index, lineOff, at, n) => {
      const l = this.line(index);
      l.data.set(bytes.subarray(at, at + n), lineOff);
      l.dirty = true;
    });
  }

  /** What a snooping (coherent) device reads: dirty lines win over RAM. */
  snoopRead(phys: number, length: number, fromRam: Uint8Array): Uint8Array {
    const out = fromRam.slice();
    this.forLines(phys, length, (index, lineOff, at, n) => {
      const l = this.lines.get(index);
      if (l?.dirty) out.set(l.data.subarray(lineOff, lineOff + n), at);
    });
    return out;
  }

  /** A snooping device's write: RAM is written by the caller; cached copies are updated. */
  snoopWrite(phys: number, bytes: Uint8Array): void {
    this.forLines(phys, bytes.length, (index, lineOff, at, n) => {
      const l = this.lines.get(index);
      if (l) l.data.set(bytes.subarray(at, at + n), lineOff);
    });
  }

  /** dcache_clean_poc(): dirty lines in the range reach RAM. */
  clean(phys: number, length: number, writeRam: (phys: number, bytes: Uint8Array) => void): void {
    this.forLines(phys, length, (index) => {
      const l = this.lines.get(index);
      if (l?.dirty) {
        writeRam(index * this.lineBytes, l.data);
        l.dirty = false;
        this.writebacks++;
      }
    });
  }

  /** dcache_inval_poc(): lines in the range are dropped, dirty data with them. */
  invalidate(phys: number, length: number): void {
    this.forLines(phys, length, (index) => this.lines.delete(index));
  }

  /** @internal Its state for sys.stateHash(): every cached line, by address, with its bytes and dirty bit (nothing while empty). */
  hashState(h: StateHasher): void {
    if (this.lines.size === 0) return;
    h.list(
      [...this.lines].sort((a, b) => a[0] - b[0]),
      ([index, l]) => h.num(index).bool(l.dirty).bytes(l.data),
    );
  }

  /** @internal Its invariants: "" when they hold. */
  checkState(): string {
    for (const [index, l] of this.lines) {
      if (l.data.length !== this.lineBytes)
        return `cpu cache: line ${index} holds ${l.data.length} bytes, not ${this.lineBytes}`;
    }
    return "";
  }

  /** Lines currently cached. */
  get size(): number {
    return this.lines.size;
  }

  private forLines(
    phys: number,
    length: number,
    fn: (index: number, lineOff: number, at: number, n: number) => void,
  ): void {
    let at = 0;
    while (at < length) {
      const addr = phys + at;
      const index = Math.floor(addr / this.lineBytes);
      const lineOff = addr - index * this.lineBytes;
      const n = Math.min(this.lineBytes - lineOff, length - at);
      fn(index, lineOff, at, n);
      at += n;
    }
  }
}
