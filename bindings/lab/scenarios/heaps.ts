/**
 * `heaps`: a phone's graphics and camera stack on DMA-BUF heaps. The
 * compositor and a game allocate graphics buffers from /dev/dma_heap/system,
 * which gathers them from unmovable blocks of orders 8, 4 and 0 (1 MiB, 64 KiB,
 * 4 KiB) and hands them to a GPU behind an IOMMU; a browser takes small tiles.
 * Once the free unmovable pageblocks are used up, those blocks come from
 * movable pageblocks (fallbacks that claim them), so the heap scatters
 * unmovable memory through the space apps use. The camera HAL, the only
 * process its CMA area's heap admits, takes preview frames from
 * /dev/dma_heap/camera: contiguous, so the display (no IOMMU) can scan them
 * out, at the price of migrating the movable pages the CMA-first rule lent the
 * area. When a game loads under memory pressure, order-8 blocks run short, the
 * heap falls back to orders 4 and 0, and the game runs into its dma-buf limit.
 */
import type { MixSpec, ScenarioSpec } from "../scenario-spec.ts";
import { BOOT_MIX, KERNEL_ORDERS, MOVABLE_ORDERS, SLAB_ORDERS } from "./phone.ts";

/** RGBA frame buffers: 1080×2400 (the phone's panel), 1080p, 720p. */
const WINDOW_SIZES = { "10368000": 2, "8294400": 3, "3686400": 2 };
/** A game's textures and render targets: 4 MiB, 1 MiB, 256 KiB, 64 KiB. */
const TEXTURE_SIZES = { "4 MiB": 2, "1 MiB": 4, "256 KiB": 6, "64 KiB": 4 };
/** Browser tiles: 256×256 and 512×512 RGBA. */
const TILE_SIZES = { "262144": 3, "1 MiB": 1 };
/** Camera preview frames, 1080p NV12. */
const PREVIEW = 3_110_400;

/** App churn beside the heaps: `freeWeight` below `allocWeight` lets memory fill up. */
function churn(allocWeight: number, freeWeight: number): Pick<MixSpec, "alloc" | "free" | "pin"> {
  return {
    alloc: [
      { weight: allocWeight, migratetype: "movable", orders: MOVABLE_ORDERS },
      { weight: 4, migratetype: "unmovable", orders: KERNEL_ORDERS },
      { weight: 4, migratetype: "reclaimable", orders: SLAB_ORDERS },
    ],
    free: [
      { weight: freeWeight, policy: "random" },
      { weight: 4, policy: "fifo", migratetype: "reclaimable" },
    ],
    pin: { weight: 2, holdOps: { min: 50, max: 2_000 } },
  };
}

export const heaps: ScenarioSpec = {
  name: "heaps",
  description:
    "a phone's graphics and camera stack: the compositor, a game and a browser on the system heap, the camera HAL on a CMA heap, apps churning beside them",
  seed: 1,
  machine: { ramBytes: "512 MiB" },
  areas: [{ name: "camera", bytes: "64 MiB", heapUsers: ["camera-hal"] }],
  devices: [
    { name: "gpu", kind: "importer", iommu: { bytes: "1 GiB" }, maxSegmentBytes: 4294967295 },
    { name: "display", kind: "importer", dmaMask: 32, contiguous: true },
  ],
  processes: [
    { name: "compositor" },
    { name: "game", dmabufLimitBytes: "96 MiB" },
    { name: "browser", dmabufLimitBytes: "32 MiB" },
    { name: "camera-hal" },
  ],
  phases: [
    {
      name: "boot",
      ops: 15_000,
      mix: {
        ...BOOT_MIX,
        // The compositor's first windows.
        heap: {
          weight: 0.02,
          process: "compositor",
          bytes: WINDOW_SIZES,
          mmap: true,
          import: { device: "gpu", dir: "to_device" },
        },
      },
    },
    {
      // Apps start and fill memory; windows come and go, the browser renders tiles.
      name: "apps",
      ops: 60_000,
      mix: {
        ...churn(84, 10),
        heap: [
          {
            weight: 0.05,
            process: "compositor",
            bytes: WINDOW_SIZES,
            holdOps: { min: 5_000, max: 30_000 },
            mmap: true,
            import: { device: "gpu", dir: "to_device" },
          },
          {
            weight: 1.5,
            process: "browser",
            bytes: TILE_SIZES,
            holdOps: { min: 200, max: 4_000 },
            mmap: true,
            import: { device: "gpu" },
          },
          // Now and then a video overlay straight from the system heap: the display takes it only if it happens to be contiguous.
          {
            weight: 0.02,
            process: "compositor",
            bytes: { "8294400": 1 },
            holdOps: { min: 500, max: 2_000 },
            import: { device: "display", dir: "to_device" },
          },
        ],
      },
    },
    {
      // The camera opens: preview frames from the camera's CMA heap, to the display and the GPU.
      name: "camera",
      ops: 50_000,
      mix: {
        ...churn(44, 45),
        heap: [
          {
            weight: 0.5,
            process: "camera-hal",
            heap: "camera",
            bytes: PREVIEW,
            holdOps: { min: 300, max: 3_000 },
            import: [
              { device: "display", dir: "to_device" },
              { device: "gpu", dir: "to_device" },
            ],
          },
          {
            weight: 0.05,
            process: "compositor",
            bytes: WINDOW_SIZES,
            holdOps: { min: 5_000, max: 30_000 },
            mmap: true,
            import: { device: "gpu", dir: "to_device" },
          },
          {
            weight: 1,
            process: "browser",
            bytes: TILE_SIZES,
            holdOps: { min: 200, max: 4_000 },
            mmap: true,
            import: { device: "gpu" },
          },
        ],
      },
    },
    {
      // A game loads under memory pressure: its textures pile up toward its dma-buf limit.
      name: "game",
      ops: 60_000,
      mix: {
        ...churn(40, 41),
        heap: [
          {
            weight: 1,
            process: "game",
            bytes: TEXTURE_SIZES,
            holdOps: { min: 2_000, max: 30_000 },
            mmap: true,
            import: { device: "gpu" },
          },
          {
            weight: 0.05,
            process: "compositor",
            bytes: WINDOW_SIZES,
            holdOps: { min: 5_000, max: 30_000 },
            mmap: true,
            import: { device: "gpu", dir: "to_device" },
          },
          {
            weight: 0.5,
            process: "browser",
            bytes: TILE_SIZES,
            holdOps: { min: 200, max: 4_000 },
            mmap: true,
            import: { device: "gpu" },
          },
        ],
      },
    },
  ],
  samples: 200,
};
