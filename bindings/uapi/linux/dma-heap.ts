/**
 * include/uapi/linux/dma-heap.h: DMA_HEAP_IOCTL_ALLOC and its argument.
 */
import { O_ACCMODE, O_CLOEXEC } from "./fcntl.ts";
import { _IOWR } from "./ioctl.ts";

/**
 * struct dma_heap_allocation_data: len (u64, offset 0), fd (u32, offset 8),
 * fd_flags (u32, offset 12), heap_flags (u64, offset 16); 24 bytes.
 */
export interface DmaHeapAllocationData {
  /** Bytes to allocate; rounded up to whole pages. */
  len: number | bigint;
  /** Output: the new dma-buf fd. Must be 0 on input. */
  fd: number;
  /** O_CLOEXEC and the access mode (O_RDWR, ...) of the new fd. */
  fdFlags: number;
  /** No heap flags are defined: must be 0. */
  heapFlags: number | bigint;
}

/** What userspace may pass: an older (shorter) struct lacks trailing fields, a newer (longer) one carries extra ones. */
export type DmaHeapAllocationArg = Partial<DmaHeapAllocationData> & Record<string, unknown>;

/** sizeof(struct dma_heap_allocation_data) */
export const DMA_HEAP_ALLOCATION_DATA_SIZE = 24;

/** DMA_HEAP_VALID_FD_FLAGS: (O_CLOEXEC | O_ACCMODE) */
export const DMA_HEAP_VALID_FD_FLAGS = O_CLOEXEC | O_ACCMODE;
/** DMA_HEAP_VALID_HEAP_FLAGS: none (0) */
export const DMA_HEAP_VALID_HEAP_FLAGS = 0;

/** DMA_HEAP_IOC_MAGIC 'H' */
export const DMA_HEAP_IOC_MAGIC = "H";
/** _IOWR('H', 0x0, struct dma_heap_allocation_data) = 0xc0184800 */
export const DMA_HEAP_IOCTL_ALLOC = 0xc0184800;

if (DMA_HEAP_IOCTL_ALLOC !== _IOWR(DMA_HEAP_IOC_MAGIC, 0, DMA_HEAP_ALLOCATION_DATA_SIZE)) {
  throw new Error("uapi/dma-heap.ts: DMA_HEAP_IOCTL_ALLOC disagrees with _IOWR()");
}
