/** mmap() protections and flags (include/uapi/asm-generic/mman-common.h, linux/mman.h). */

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
/** The mapping-type bits of the flags. */
export const MAP_TYPE = 0x0f;
