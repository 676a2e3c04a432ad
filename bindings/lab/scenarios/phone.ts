/**
 * The phone that `camera` and `heaps` both model: what its allocations look
 * like (order weights per kind) and how it boots.
 */
import type { MixSpec } from "../scenario-spec.ts";

/** Anonymous and page-cache pages, with some mTHP-sized folios. */
export const MOVABLE_ORDERS = { "0": 85, "1": 4, "2": 6, "3": 3, "4": 2 };
/** Kernel allocations: page tables, stacks, buffers. */
export const KERNEL_ORDERS = { "0": 80, "1": 10, "2": 6, "3": 4 };
/** Slab pages (reclaimable caches). */
export const SLAB_ORDERS = { "0": 85, "1": 10, "2": 5 };

/** Boot: mostly the kernel's own unmovable and reclaimable memory, a fifth of it freed again. */
export const BOOT_MIX = {
  alloc: [
    { weight: 55, migratetype: "unmovable", orders: KERNEL_ORDERS },
    { weight: 25, migratetype: "reclaimable", orders: SLAB_ORDERS },
    { weight: 20, migratetype: "movable", orders: MOVABLE_ORDERS },
  ],
  free: { weight: 20, policy: "random" },
} satisfies MixSpec;
