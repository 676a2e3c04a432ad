// A Lab run's configuration: the knobs compare and sweep vary.
import { type Backend, type KernelVersion } from "../index.ts";

/** The knobs `compare` and `sweep` vary; each overrides the scenario's machine. */
export interface LabConfig {
  /** Engine build. Default "wasm". */
  backend?: Backend;
  /** Kernel profile (SystemOptions.kernel). Default: the scenario's `machine.kernel` ("6.12"). */
  kernel?: KernelVersion;
  /** Policy.cmaFirstBalance. Default: the scenario's `machine.cmaFirstBalance` (true). */
  cmaFirstBalance?: boolean;
  /** pageblock_order. Default: the scenario's `machine.pageblockOrder` (9). */
  pageblockOrder?: number;
  /** MAX_PAGE_ORDER. Default: the scenario's `machine.maxOrder` (10). */
  maxOrder?: number;
  /** Policy.allocNoFragment. Default true. */
  allocNoFragment?: boolean;
  /** Policy.claimThresholdPages (the stealing threshold). Default half a pageblock. */
  claimThresholdPages?: number;
  /** Policy.compaction: compaction in the allocation slow path and kcompactd. Default true. */
  compaction?: boolean;
  /** vm.compaction_proactiveness at boot, 0..100 (0: no proactive compaction). Default 20. */
  compactionProactiveness?: number;
  /** vm.extfrag_threshold, 0..1000. Default 500. */
  extfragThreshold?: number;
  /** vm.watermark_boost_factor, 0..2147483647 (0: no watermark boosting). Default 15000. */
  watermarkBoostFactor?: number;
  /**
   * IOVA policy of the scenario's IOMMU importers: "dma-iommu" (one IOVA range per
   * table, one bitmap) or "arm" (the seed's per-chunk mapping, bitmap extensions).
   * Default "dma-iommu".
   */
  iommuStyle?: "arm" | "dma-iommu";
  /** Per-cpu page lists (SystemOptions.pcp). Default true. */
  pcp?: boolean;
  /** Online CPUs (SystemOptions.cpus); the workload runs on CPU 0. Default 1. */
  cpus?: number;
  /** vm.percpu_pagelist_high_fraction at boot: 0 or at least 8. Default 0. */
  percpuPagelistHighFraction?: number;
}

/** The fields of LabConfig. */
export const LAB_CONFIG_KEYS = [
  "backend",
  "kernel",
  "cmaFirstBalance",
  "pageblockOrder",
  "maxOrder",
  "allocNoFragment",
  "claimThresholdPages",
  "compaction",
  "compactionProactiveness",
  "extfragThreshold",
  "watermarkBoostFactor",
  "iommuStyle",
  "pcp",
  "cpus",
  "percpuPagelistHighFraction",
] as const satisfies readonly (keyof LabConfig)[];
