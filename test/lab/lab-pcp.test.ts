import { describe, expect, it } from "vitest";
import { loadScenario, runScenario, validateGrid, type LabResult } from "dmasim/lab";
import { validateConfigs } from "../../bindings/cli/compare.ts";

// The Lab's per-cpu list knobs (LabConfig.pcp, cpus, percpuPagelistHighFraction):
// runs on both backends agree, and the summary tells where the free pages are.

function stable(r: LabResult): string {
  const { timing: _t, backend: _b, ...rest } = r;
  return JSON.stringify(rest);
}

describe("Lab runs with and without per-cpu page lists", () => {
  it("pcp lists on by default hold pages off NR_FREE_PAGES; pcp: false holds none; both backends agree", async () => {
    const scenario = loadScenario("camera");
    const on = await runScenario(scenario, { scale: 0.02 });
    const onTs = await runScenario(scenario, { scale: 0.02, backend: "ts" });
    const off = await runScenario(scenario, { scale: 0.02, pcp: false });
    const twoCpus = await runScenario(scenario, { scale: 0.02, cpus: 2, percpuPagelistHighFraction: 100 });
    expect(stable(onTs)).toBe(stable(on));
    expect(on.summary["end.pcpPages"]).toBeGreaterThan(0);
    expect(off.summary["end.pcpPages"]).toBe(0);
    // The configuration is recorded, so that a result reruns itself.
    expect(off.config).toEqual({ pcp: false });
    expect(twoCpus.config).toEqual({ cpus: 2, percpuPagelistHighFraction: 100 });
    expect(on.stateHash).not.toBe(off.stateHash);
  });

  it("compare configurations and sweep axes validate the knobs", () => {
    expect(validateConfigs([{ label: "x", pcp: false, cpus: 4, percpuPagelistHighFraction: 8 }])).toHaveLength(1);
    expect(() => validateConfigs([{ label: "x", pcp: "no" as never }])).toThrow(/pcp/);
    expect(() => validateConfigs([{ label: "x", cpus: 0 }])).toThrow(/cpus/);
    expect(() => validateConfigs([{ label: "x", percpuPagelistHighFraction: 7 }])).toThrow(
      /percpuPagelistHighFraction/,
    );
    expect(validateGrid({ scenario: "camera", axes: { pcp: [true, false], cpus: [1, 2] } }).axes).toMatchObject({
      pcp: [true, false],
      cpus: [1, 2],
    });
    expect(() => validateGrid({ scenario: "camera", axes: { cpus: [257] } })).toThrow(/cpus/);
    expect(() => validateGrid({ scenario: "camera", axes: { percpuPagelistHighFraction: [0, 5] } })).toThrow(
      /percpuPagelistHighFraction/,
    );
  });
});
