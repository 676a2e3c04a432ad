/**
 * What the DMA-mapping implementations share (include/linux/dma-map-ops.h,
 * include/linux/dma-mapping.h).
 */

/**
 * DMA_MAPPING_ERROR: (~(dma_addr_t)0) in the kernel. JS numbers cannot hold
 * 2^64 - 1 exactly, so dmasim uses -1, never a valid bus address.
 */
export const DMA_MAPPING_ERROR = -1;
