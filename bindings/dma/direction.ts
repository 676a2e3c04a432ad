/**
 * enum dma_data_direction (include/linux/dma-direction.h): which way the data
 * of a DMA mapping moves. The one definition the DMA layer, its ops and the
 * DMA-API checker share.
 */

/** enum dma_data_direction: DMA_BIDIRECTIONAL=0, DMA_TO_DEVICE=1, DMA_FROM_DEVICE=2, DMA_NONE=3. */
export type DmaDirection = "bidirectional" | "to_device" | "from_device" | "none";

/** The directions in enum order: a direction's index is its value in the kernel's enum. */
export const DMA_DIRECTIONS: readonly DmaDirection[] = Object.freeze([
  "bidirectional",
  "to_device",
  "from_device",
  "none",
]);

/** valid_dma_direction(): a mapping moves data one way or both; DMA_NONE is for debugging only. */
export function validDmaDirection(dir: unknown): dir is Exclude<DmaDirection, "none"> {
  return dir === "bidirectional" || dir === "to_device" || dir === "from_device";
}
