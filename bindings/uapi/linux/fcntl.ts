/**
 * open() flags and lseek() whence values (include/uapi/asm-generic/fcntl.h,
 * include/uapi/linux/fs.h), with the kernel's values.
 */

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
/** The access-mode bits of the flags. */
export const O_ACCMODE = 3;
export const O_NONBLOCK = 0o4000;
/** 0o2000000 */
export const O_CLOEXEC = 0o2000000;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
/** SEEK_MAX: lseek() refuses a larger whence with EINVAL before asking the file. */
export const SEEK_MAX = SEEK_HOLE;

/** f_mode bits (include/linux/fs.h) that dmasim shows in bufinfo. */
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;
export const FMODE_LSEEK = 0x4;
export const FMODE_OPENED = 0x80000;
/** Bit 25 since v6.14; alloc_file_pseudo() files (dma-bufs) carry it. */
export const FMODE_NONOTIFY = 0x2000000;

/** OPEN_FMODE(flags): O_RDONLY → FMODE_READ, O_WRONLY → FMODE_WRITE, O_RDWR → both. */
export function openFmode(flags: number): number {
  return (flags + 1) & O_ACCMODE;
}
