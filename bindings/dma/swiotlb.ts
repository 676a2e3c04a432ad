/**
 * swiotlb (kernel/dma/swiotlb.c): bounce buffers for devices whose DMA mask
 * cannot reach a buffer. A pool of 2 KiB slots reserved at boot below 4 GiB;
 * a mapping takes up to 128 contiguous slots within one segment, found next-fit
 * from where the last search ended, as the kernel's io_tlb_area index does.
 *
 *   slot i: list[i]  free slots from i to the end of its 128-slot segment (0: in use)
 */
import { DmaSimError } from "../core/errors.ts";
import type { StateHasher } from "../core/hash.ts";
import type { FaultInjection } from "../core/fault-inject.ts";

export const IO_TLB_SHIFT = 11;
export const IO_TLB_SIZE = 1 << IO_TLB_SHIFT;
/** Slots per segment: the largest bounce mapping is 128 slots (256 KiB). */
export const IO_TLB_SEGSIZE = 128;
/** IO_TLB_DEFAULT_SIZE */
export const IO_TLB_DEFAULT_SIZE = 64 * 1024 * 1024;

interface Bounce {
  origPhys: number;
  /** Bytes mapped (mapping_size). */
  size: number;
  nslots: number;
}

export class SwiotlbPool {
  private readonly list: Uint16Array;
  private readonly bounces = new Map<number, Bounce>();
  private index = 0;
  /** Slots in use. */
  used = 0;
  /** Mappings refused because no run of slots was free ("swiotlb buffer is full"). */
  fullEvents = 0;
  /** @internal The machine's failure points (fail_swiotlb), set by createSystem(). */
  faults: FaultInjection | null = null;

  constructor(
    /** Physical address of the pool. */
    readonly start: number,
    readonly nslabs: number,
    private readonly pageSize: number,
  ) {
    this.list = new Uint16Array(nslabs);
    for (let i = 0; i < nslabs; i++) this.list[i] = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
  }

  get end(): number {
    return this.start + this.nslabs * IO_TLB_SIZE;
  }

  /** is_swiotlb_buffer() */
  contains(phys: number): boolean {
    return phys >= this.start && phys < this.end;
  }

  /**
   * swiotlb_tbl_map_single(): slots for `size` bytes bouncing `origPhys`.
   * Returns the bounce buffer's physical address (with origPhys's offset within
   * its 2 KiB slot kept, as the kernel keeps the min-align bits), or null.
   * `boundaryMask` is the device's segment boundary.
   */
  map(origPhys: number, size: number, boundaryMask: number): number | null {
    const offset = 0;
    const nslots = Math.ceil((size + offset) / IO_TLB_SIZE);
    if (this.faults?.enabled && this.faults.shouldFail("failSwiotlb", { size: 1 })) return null;
    if (nslots > IO_TLB_SEGSIZE || nslots > this.nslabs - this.used) {
      this.fullEvents++;
      return null;
    }
    // Page-sized and larger mappings start on page-aligned slots whose 2 KiB
    // half matches the original's (iotlb_align_mask), so stride over the others.
    const alignSlots = size >= this.pageSize ? this.pageSize / IO_TLB_SIZE : 1;
    const stride = alignSlots;
    const maxSlots = Number.isFinite(boundaryMask) ? Math.floor(boundaryMask / IO_TLB_SIZE) + 1 : Infinity;
    let index = this.index;
    for (let checked = 0; checked < this.nslabs;) {
      const slotAddr = this.start + index * IO_TLB_SIZE;
      const misaligned =
        alignSlots > 1 && slotAddr % this.pageSize !== (origPhys % this.pageSize) - (origPhys % IO_TLB_SIZE);
      if (misaligned) {
        index = (index + 1) % this.nslabs;
        checked++;
        continue;
      }
      const crossesBoundary =
        maxSlots !== Infinity && Math.floor(index / maxSlots) !== Math.floor((index + nslots - 1) / maxSlots);
      if (!crossesBoundary && this.list[index]! >= nslots) return this.take(index, nslots, origPhys, size);
      index = (index + stride) % this.nslabs;
      checked += stride;
    }
    this.fullEvents++;
    return null;
  }

  private take(slot: number, nslots: number, origPhys: number, size: number): number {
    for (let i = slot; i < slot + nslots; i++) this.list[i] = 0;
    let count = 0;
    for (let i = slot - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i]! > 0; i--)
      this.list[i] = ++count;
    this.index = (slot + nslots) % this.nslabs;
    this.used += nslots;
    const tlbAddr = this.start + slot * IO_TLB_SIZE;
    this.bounces.set(tlbAddr, { origPhys, size, nslots });
    return tlbAddr;
  }

  /** The bounce at `tlbAddr` (from map()), or undefined. */
  lookup(tlbAddr: number): { origPhys: number; size: number } | undefined {
    return this.bounces.get(tlbAddr);
  }

  /** swiotlb_release_slots(): frees the slots and merges them with free neighbours. */
  unmap(tlbAddr: number): void {
    const b = this.bounces.get(tlbAddr);
    if (!b) throw new DmaSimError("EINVAL", `swiotlb: 0x${tlbAddr.toString(16)} is not a bounce buffer`);
    const index = (tlbAddr - this.start) / IO_TLB_SIZE;
    const segEnd = (Math.floor(index / IO_TLB_SEGSIZE) + 1) * IO_TLB_SEGSIZE;
    let count = index + b.nslots < segEnd ? this.list[index + b.nslots]! : 0;
    for (let i = index + b.nslots - 1; i >= index; i--) this.list[i] = ++count;
    for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i]! > 0; i--)
      this.list[i] = ++count;
    this.used -= b.nslots;
    this.bounces.delete(tlbAddr);
  }

  /** Mappings currently bounced. */
  get mappings(): number {
    return this.bounces.size;
  }

  /** @internal The pool as boot left it: no slot in use, no refusal, the search at slot 0. */
  get pristine(): boolean {
    return this.used === 0 && this.fullEvents === 0 && this.index === 0 && this.bounces.size === 0;
  }

  /**
   * @internal Feeds the slot use (the bounce buffers by address, which the
   * free-slot counts follow from), the next-fit search position and the counters.
   */
  hashState(h: StateHasher): void {
    h.num(this.used).num(this.fullEvents).num(this.index);
    const bounces = [...this.bounces].sort((a, b) => a[0] - b[0]);
    h.list(bounces, ([tlbAddr, b]) => h.num(tlbAddr).num(b.origPhys).num(b.size).num(b.nslots));
  }

  /**
   * @internal The pool's invariants: bounce buffers on whole slots inside the
   * pool, not overlapping, each within one segment; `used` their slot count;
   * each slot's free count what the slots in use make it.
   */
  checkState(): string {
    const inUse = new Uint8Array(this.nslabs);
    let slots = 0;
    for (const [tlbAddr, b] of this.bounces) {
      const at = `swiotlb: bounce buffer 0x${tlbAddr.toString(16)}`;
      const index = (tlbAddr - this.start) / IO_TLB_SIZE;
      if (!Number.isInteger(index) || index < 0 || index + b.nslots > this.nslabs)
        return `${at}: not on slots of the pool`;
      if (b.nslots !== Math.ceil(b.size / IO_TLB_SIZE)) return `${at}: ${b.nslots} slots for ${b.size} bytes`;
      if (Math.floor(index / IO_TLB_SEGSIZE) !== Math.floor((index + b.nslots - 1) / IO_TLB_SEGSIZE))
        return `${at}: crosses a segment`;
      for (let i = index; i < index + b.nslots; i++) {
        if (inUse[i]) return `${at}: overlaps another bounce buffer`;
        inUse[i] = 1;
      }
      slots += b.nslots;
    }
    if (slots !== this.used) return `swiotlb: ${this.used} slots counted in use, the bounce buffers hold ${slots}`;
    if (!Number.isInteger(this.index) || this.index < 0 || this.index >= this.nslabs)
      return `swiotlb: the search position ${this.index} is outside the pool`;
    for (let i = this.nslabs - 1; i >= 0; i--) {
      const next = i % IO_TLB_SEGSIZE === IO_TLB_SEGSIZE - 1 ? 0 : this.list[i + 1]!;
      const want = inUse[i] ? 0 : 1 + next;
      if (this.list[i] !== want)
        return `swiotlb: slot ${i} counts ${this.list[i]} free slots from it, the slots in use make it ${want}`;
    }
    return "";
  }
}
