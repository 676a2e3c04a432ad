import { describe, expect, it } from "vitest";
import { loadScenario, runScenario, scenarioSpecOf, validateScenario, type LabResult } from "dmasim/lab";
import { validateConfigs } from "../../bindings/cli/compare.ts";

// The Lab's swap knob (LabConfig.swapBytes, machine.swapBytes): runs on both
// backends agree, the summary gains the swap traffic, and swapless runs stay as
// they were (no new keys, the scenario written without swapBytes).

function stable(r: LabResult): string {
  const { timing: _t, backend: _b, ...rest } = r;
  return JSON.stringify(rest);
}

describe("Lab runs with swap", () => {
  it("swaps anonymous pages out under the camera's pressure, identically on both backends", async () => {
    const scenario = loadScenario("camera");
    const off = await runScenario(scenario, { scale: 0.02 });
    const on = await runScenario(scenario, { scale: 0.02, swapBytes: 64 * 2 ** 20 });
    const onTs = await runScenario(scenario, { scale: 0.02, swapBytes: 64 * 2 ** 20, backend: "ts" });
    expect(stable(onTs)).toBe(stable(on));
    expect(off.summary).not.toHaveProperty("pswpout");
    expect(off.scenario?.machine).not.toHaveProperty("swapBytes");
    expect(on.config).toEqual({ swapBytes: 64 * 2 ** 20 });
    expect(on.scenario?.machine?.swapBytes).toBe(64 * 2 ** 20);
    expect(on.summary.pswpout).toBeGreaterThan(0);
    expect(on.summary.pswpin).toBeGreaterThanOrEqual(0);
    expect(on.stateHash).not.toBe(off.stateHash);
  });

  it("a scenario's machine.swapBytes takes sizes with units, in whole pages", () => {
    const spec = scenarioSpecOf(loadScenario("camera"));
    const machine = { ...spec.machine, swapBytes: "8 MiB" };
    expect(validateScenario({ ...spec, machine }).machine.swapBytes).toBe(8 * 2 ** 20);
    expect(() => validateScenario({ ...spec, machine: { ...spec.machine, swapBytes: "6 KiB" } })).toThrow(
      /machine\.swapBytes: must be 0 or whole pages/,
    );
    expect(() => validateScenario({ ...spec, machine: { ...spec.machine, swapBytes: "4 KiB" } })).toThrow(
      /machine\.swapBytes/,
    );
    expect(validateConfigs([{ label: "zram", swapBytes: 2 ** 30 }])[0]!.swapBytes).toBe(2 ** 30);
  });
});
