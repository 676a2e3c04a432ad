/**
 * `camera`: a phone. Apps churn movable (anonymous and page-cache) pages, the
 * kernel keeps unmovable and reclaimable allocations, short-term pins hold pages
 * during I/O, an app reads its cached media and the camera app saves photos
 * through the page cache, and a camera without an IOMMU streams into 8 MiB frame buffers
 * (2048 pages, 1 MiB aligned) that it takes from its CMA area whenever the
 * camera app opens and gives back when it closes. Meanwhile the CMA-first rule
 * has lent the area's pageblocks to movable pages, which cma_alloc() must
 * migrate out, and pinned pages make it retry elsewhere.
 */
import type { ScenarioSpec } from "../scenario-spec.ts";
import { BOOT_MIX, KERNEL_ORDERS, MOVABLE_ORDERS, SLAB_ORDERS } from "./phone.ts";

export const camera: ScenarioSpec = {
  name: "camera",
  description: "a phone: app churn, kernel allocations, I/O pins, and a camera taking 8 MiB CMA frame buffers",
  seed: 1,
  machine: { ramBytes: "512 MiB" },
  areas: [{ name: "camera", bytes: "64 MiB" }],
  files: [
    // An app's cached media (thumbnails, images it shows) and the photos the camera saves.
    { name: "gallery", bytes: "48 MiB" },
    { name: "photos", bytes: "256 MiB" },
  ],
  devices: [
    {
      name: "camera",
      kind: "cma-consumer",
      area: "camera",
      frameBytes: "8 MiB",
      alignOrder: 8,
      buffers: 6,
      periodOps: 25_000,
      startOps: 120_000,
      holdOps: { min: 4_000, max: 10_000 },
      phases: ["camera"],
    },
  ],
  phases: [
    {
      name: "boot",
      ops: 20_000,
      mix: BOOT_MIX,
    },
    {
      // Apps start and fill memory to about 85%; the CMA-first rule lends the area's
      // pageblocks to their movable pages.
      name: "apps",
      ops: 90_000,
      mix: {
        alloc: [
          { weight: 76, migratetype: "movable", orders: MOVABLE_ORDERS },
          { weight: 5, migratetype: "unmovable", orders: KERNEL_ORDERS },
          { weight: 4, migratetype: "reclaimable", orders: SLAB_ORDERS },
        ],
        free: [
          { weight: 17, policy: "random" },
          { weight: 4, policy: "fifo", migratetype: "reclaimable" },
        ],
        pin: { weight: 2, holdOps: { min: 50, max: 2_000 } },
        read: { weight: 3, file: "gallery", pages: { min: 4, max: 32 } },
      },
    },
    {
      // Steady use: as much allocated as freed, I/O pins, a few long-term pins.
      name: "camera",
      ops: 150_000,
      mix: {
        alloc: [
          { weight: 40, migratetype: "movable", orders: MOVABLE_ORDERS },
          { weight: 6, migratetype: "unmovable", orders: KERNEL_ORDERS },
          { weight: 4, migratetype: "reclaimable", orders: SLAB_ORDERS },
        ],
        free: [
          { weight: 46, policy: "random" },
          { weight: 4, policy: "fifo", migratetype: "reclaimable" },
        ],
        pin: [
          { weight: 3, holdOps: { min: 50, max: 3_000 } },
          { weight: 0.05, longterm: true, holdOps: { min: 5_000, max: 40_000 } },
        ],
        read: { weight: 2, file: "gallery", pages: { min: 4, max: 32 } },
        // Saved photos: about 3 MiB each, written in chunks and synced.
        write: { weight: 0.15, file: "photos", pages: { min: 64, max: 128 } },
        fsync: { weight: 0.1, file: "photos" },
      },
    },
  ],
  samples: 200,
};
