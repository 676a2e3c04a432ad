/**
 * Byte units and page arithmetic: PAGE_ALIGN() and friends for any page size
 * (a power of two), written once.
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
