/**
 * swiotlb (kernel/dma/swiotlb.c): bounce buffers for devices whose DMA mask
 * cannot reach a buffer. A pool of 2 KiB slots reserved at boot below 4 GiB;
 * a mapping takes up to 128 contiguous slots within one segment, found next-fit
 * from where the last search ended, as the kernel's io_tlb_area index does.
 *
 *   slot i: list[i]  free slots from i to the end of its 128-slot segment (0: in use)
 */
import { DmaSimError } from "../core/errors.ts";

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
    for (let checked = 0; checked < this.nslabs; ) {
      const slotAddr = this.start + index * IO_TLB_SIZE;
      const misaligned = alignSlots > 1 && (slotAddr % this.pageSize) !== (origPhys % this.pageSize) - (origPhys % IO_TLB_SIZE);
      if (misaligned) {
        index = (index + 1) % this.nslabs;
        checked++;
        continue;
      }
      const crossesBoundary = maxSlots !== Infinity && Math.floor(index / maxSlots) !== Math.floor((index + nslots - 1) / maxSlots);
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
    for (let i = slot - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i]! > 0; i--) this.list[i] = ++count;
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
    for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i]! > 0; i--) this.list[i] = ++count;
    this.used -= b.nslots;
    this.bounces.delete(tlbAddr);
  }

  /** Mappings currently bounced. */
  get mappings(): number {
    return this.bounces.size;
  }
}
