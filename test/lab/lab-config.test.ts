import { describe, expect, it } from "vitest";
import { validateConfigs } from "../../bindings/cli/compare.ts";
import { LAB_CONFIG_KEYS, labConfigValueProblem, type LabConfig } from "../../bindings/lab/config.ts";
import { SWEEP_AXES, validateGrid } from "../../bindings/lab/sweep.ts";

// One table decides what every LabConfig knob accepts; compare's configurations
// and sweep's axes both go through it, so they accept and refuse the same values
// with the same words.
const GOOD: Record<keyof LabConfig, unknown> = {
  backend: "ts",
  kernel: "6.1",
  cmaFirstBalance: false,
  pageblockOrder: 10,
  maxOrder: 10,
  allocNoFragment: false,
  claimThresholdPages: 0,
  compaction: false,
  compactionProactiveness: 100,
  extfragThreshold: 1000,
  watermarkBoostFactor: 0,
  iommuStyle: "arm",
  pcp: false,
  cpus: 256,
  percpuPagelistHighFraction: 8,
  defragMode: 1,
  swapBytes: 64 * 2 ** 20,
};
const BAD: Record<keyof LabConfig, unknown[]> = {
  backend: ["js", 1],
  kernel: ["6.6", 6.1],
  cmaFirstBalance: [1, "true"],
  pageblockOrder: [0, 21, 9.5],
  maxOrder: [0, 21],
  allocNoFragment: [null],
  claimThresholdPages: [-1, 2 ** 20 + 1, 0.5],
  compaction: ["off"],
  compactionProactiveness: [-1, 101],
  extfragThreshold: [1001, NaN],
  watermarkBoostFactor: [-1, 2 ** 31],
  iommuStyle: ["intel"],
  pcp: [0],
  cpus: [0, 257],
  // MIN_PERCPU_PAGELIST_HIGH_FRACTION is 8: 1..7 are refused, 0 means "off".
  percpuPagelistHighFraction: [1, 7, -8],
  // proc_dointvec_minmax() with SYSCTL_ZERO..SYSCTL_ONE.
  defragMode: [2, -1, true],
  // Whole pages are createSystem()'s to check (the page size is the scenario's).
  swapBytes: [-4096, 0.5, "1 GiB", 2 ** 24 * 65536 + 1],
};

describe("Lab configuration values", () => {
  it("has a rule and cases for every knob", () => {
    expect(Object.keys(GOOD).sort()).toEqual([...LAB_CONFIG_KEYS].sort());
    expect(Object.keys(BAD).sort()).toEqual([...LAB_CONFIG_KEYS].sort());
    // The sweep enumerates the same knobs (in its own, stable order) and the seed.
    expect(SWEEP_AXES.filter((a) => a !== "seed").sort()).toEqual([...LAB_CONFIG_KEYS].sort());
  });

  it("compare and sweep accept the same values", () => {
    for (const key of LAB_CONFIG_KEYS) {
      expect(labConfigValueProblem(key, GOOD[key]), key).toBeNull();
      expect(validateConfigs([{ label: "x", [key]: GOOD[key] }])[0]![key]).toEqual(GOOD[key]);
      expect(validateGrid({ scenario: "camera", axes: { [key]: [GOOD[key]] } }).axes[key]).toEqual([GOOD[key]]);
    }
  });

  it("compare and sweep refuse the same values with the same words", () => {
    for (const key of LAB_CONFIG_KEYS) {
      for (const v of BAD[key]) {
        const want = labConfigValueProblem(key, v);
        expect(want, `${key}=${String(v)}`).not.toBeNull();
        const got = `must be ${want}, got ${JSON.stringify(v)}`;
        expect(() => validateConfigs([{ label: "x", [key]: v }])).toThrow(`configs[0].${key}: ${got}`);
        expect(() => validateGrid({ scenario: "camera", axes: { [key]: [v] } })).toThrow(`grid.axes.${key}[0]: ${got}`);
      }
    }
  });
});
