// A Lab run's configuration: the knobs compare and sweep vary.
import {
  type Backend,
  KERNEL_VERSIONS,
  type KernelVersion,
  MAX_CPUS,
  MAX_SWAP_PAGES,
  MIN_PERCPU_PAGELIST_HIGH_FRACTION,
} from "../index.ts";

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
  /** vm.defrag_mode at boot, 0 or 1 (1 needs kernel "6.18": the sysctl came with Linux 6.15). Default 0. */
  defragMode?: number;
  /**
   * Bytes of swap (SystemOptions.swapBytes): 0 or whole pages, at least 2, so
   * that reclaim swaps anonymous pages out. Default: the scenario's
   * `machine.swapBytes` (0, no swap).
   */
  swapBytes?: number;
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
  "defragMode",
  "swapBytes",
] as const satisfies readonly (keyof LabConfig)[];

/** One knob's rule: whether a value is accepted, and what is wanted in words. */
interface ConfigRule {
  ok(v: unknown): boolean;
  want: string;
}

const isInt = (v: unknown, min: number, max: number): boolean =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const flag: ConfigRule = { ok: (v) => typeof v === "boolean", want: "true or false" };
const oneOf = (...values: string[]): ConfigRule => ({
  ok: (v) => values.includes(v as string),
  want: values
    .map((s) => `"${s}"`)
    .join(", ")
    .replace(/, ([^,]*)$/, " or $1"),
});
const intIn = (min: number, max: number): ConfigRule => ({
  ok: (v) => isInt(v, min, max),
  want: `an integer in ${min}..${max}`,
});

/** What each LabConfig field accepts: one table for compare's configurations and sweep's axes. */
const CONFIG_RULES: Record<keyof LabConfig, ConfigRule> = {
  backend: oneOf("wasm", "ts"),
  kernel: oneOf(...KERNEL_VERSIONS),
  cmaFirstBalance: flag,
  pageblockOrder: intIn(1, 20),
  maxOrder: intIn(1, 20),
  allocNoFragment: flag,
  claimThresholdPages: { ok: (v) => isInt(v, 0, 2 ** 20), want: "a number of pages in 0..1048576" },
  compaction: flag,
  compactionProactiveness: intIn(0, 100),
  extfragThreshold: intIn(0, 1000),
  watermarkBoostFactor: intIn(0, 2 ** 31 - 1),
  iommuStyle: oneOf("arm", "dma-iommu"),
  pcp: flag,
  cpus: intIn(1, MAX_CPUS),
  percpuPagelistHighFraction: {
    // percpu_pagelist_high_fraction_sysctl_handler(): 0, or MIN_PERCPU_PAGELIST_HIGH_FRACTION and up.
    ok: (v) => v === 0 || isInt(v, MIN_PERCPU_PAGELIST_HIGH_FRACTION, 2 ** 31 - 1),
    want: `0 or an integer of at least ${MIN_PERCPU_PAGELIST_HIGH_FRACTION}`,
  },
  // proc_dointvec_minmax() with SYSCTL_ZERO..SYSCTL_ONE; the kernel is checked with the machine (labConfigKernelProblem()).
  defragMode: intIn(0, 1),
  // createSystem() checks the rest against the page size (whole pages, 0 or at least 2).
  swapBytes: { ok: (v) => isInt(v, 0, MAX_SWAP_PAGES * 65536), want: "a number of bytes (whole pages)" },
};

/**
 * Checks one LabConfig value. Returns null when it is accepted, else what the
 * field wants, in words (for "must be …, got …" messages).
 */
export function labConfigValueProblem(key: keyof LabConfig, value: unknown): string | null {
  const rule = CONFIG_RULES[key];
  return rule.ok(value) ? null : rule.want;
}

/**
 * The knobs that only some kernel profiles have, checked against the kernel the
 * run's machine follows (the configuration's or the scenario's): null when they
 * fit, else what is wrong, in words. vm.defrag_mode 1 needs 6.18.
 */
export function labConfigKernelProblem(config: LabConfig, kernel: KernelVersion): string | null {
  if (config.defragMode === 1 && kernel !== "6.18")
    return `defragMode 1 needs kernel "6.18" (vm.defrag_mode came with Linux 6.15), the machine follows "${kernel}"`;
  return null;
}
