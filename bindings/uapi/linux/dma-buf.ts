/**
 * include/uapi/linux/dma-buf.h: the dma-buf ioctls and their flags.
 */
import { _IOW } from "./ioctl.ts";

/** struct dma_buf_sync { __u64 flags; } */
export interface DmaBufSync {
  /** DMA_BUF_SYNC_START or DMA_BUF_SYNC_END, with DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE. */
  flags: number | bigint;
}

export const DMA_BUF_SYNC_READ = 1 << 0;
export const DMA_BUF_SYNC_WRITE = 2 << 0;
export const DMA_BUF_SYNC_RW = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
export const DMA_BUF_SYNC_START = 0 << 2;
export const DMA_BUF_SYNC_END = 1 << 2;
export const DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;

/** DMA_BUF_NAME_LEN: a name holds at most 31 characters and its NUL. */
export const DMA_BUF_NAME_LEN = 32;

/** DMA_BUF_BASE 'b' */
export const DMA_BUF_BASE = "b";
/** _IOW('b', 0, struct dma_buf_sync) = 0x40086200 */
export const DMA_BUF_IOCTL_SYNC = 0x40086200;
/** _IOW('b', 1, const char *) = 0x40086201 on 64-bit */
export const DMA_BUF_SET_NAME = 0x40086201;
/** _IOW('b', 1, __u32) = 0x40046201 (the 32-bit number Android shipped) */
export const DMA_BUF_SET_NAME_A = 0x40046201;
/** _IOW('b', 1, __u64) = 0x40086201 */
export const DMA_BUF_SET_NAME_B = 0x40086201;

// The literals above keep their types narrow for Process.ioctl()'s overloads; these must agree.
if (
  DMA_BUF_IOCTL_SYNC !== _IOW(DMA_BUF_BASE, 0, 8) ||
  DMA_BUF_SET_NAME_A !== _IOW(DMA_BUF_BASE, 1, 4) ||
  DMA_BUF_SET_NAME_B !== _IOW(DMA_BUF_BASE, 1, 8)
) {
  throw new Error("uapi/dma-buf.ts: ioctl numbers disagree with _IOW()");
}
