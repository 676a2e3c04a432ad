/** Kernel profiles in the Lab: scenarios' machine.kernel, compare configurations, sweep axes. */
import { describe, expect, it } from "vitest";
import { loadScenario, runScenario, scenarioSpecOf, validateGrid, validateScenario } from "dmasim/lab";
import { validateConfigs } from "../../bindings/cli/compare.ts";
import { kernelProfileOf } from "../../bindings/lab/twin/machine.ts";

describe("kernel profiles in the Lab", () => {
  it("machine.kernel selects the profile; the default (6.12) is not written into results", async () => {
    const server = loadScenario("server");
    expect(server.machine.kernel).toBe("6.12");
    expect(scenarioSpecOf(server).machine).not.toHaveProperty("kernel");
    const spec = { ...scenarioSpecOf(server), machine: { ...scenarioSpecOf(server).machine, kernel: "6.1" as const } };
    const six1 = validateScenario(spec);
    expect(six1.machine.kernel).toBe("6.1");
    expect(scenarioSpecOf(six1).machine?.kernel).toBe("6.1");
    expect(() => validateScenario({ ...spec, machine: { ...spec.machine, kernel: "6.6" as "6.1" } })).toThrow(
      /scenario\.machine\.kernel: .*6\.1.*6\.12.*6\.18/,
    );
    const base = await runScenario(server, { seed: 3, scale: 0.02 });
    const same = await runScenario(server, { seed: 3, scale: 0.02, kernel: "6.12" });
    expect(same.stateHash).toBe(base.stateHash);
    expect(same.summary).toEqual(base.summary);
    // Every profile runs the workload with its invariants intact (runScenario() calls check()).
    for (const kernel of ["6.1", "6.18"] as const) {
      const r = await runScenario(server, { seed: 3, scale: 0.02, kernel });
      expect(r.summary).toBeDefined();
    }
    const viaScenario = await runScenario(six1, { seed: 3, scale: 0.02 });
    const viaConfig = await runScenario(server, { seed: 3, scale: 0.02, kernel: "6.1" });
    expect(viaScenario.stateHash).toBe(viaConfig.stateHash);
  });

  it("sweep grids take a kernel axis", () => {
    const grid = validateGrid({ scenario: "server", axes: { kernel: ["6.1", "6.18"] } });
    expect(grid.axes).toMatchObject({ kernel: ["6.1", "6.18"] });
    expect(() => validateGrid({ scenario: "server", axes: { kernel: ["6.13"] } })).toThrow(/kernel/);
  });

  it("the twin maps a capture's kernel version to a profile", () => {
    // "freelist migratetype hygiene" landed in v6.10; the __rmqueue_claim()/__rmqueue_steal() rewrite in v6.15.
    expect(["6.1.192", "6.6.58", "6.9", "5.15.0"].map(kernelProfileOf)).toEqual(["6.1", "6.1", "6.1", "6.1"]);
    expect(["6.10.1", "6.12.48", "6.14"].map(kernelProfileOf)).toEqual(["6.12", "6.12", "6.12"]);
    expect(["6.15", "6.18.1", "7.0"].map(kernelProfileOf)).toEqual(["6.18", "6.18", "6.18"]);
    expect(kernelProfileOf("unknown")).toBe("6.12");
  });

  it("defragMode (vm.defrag_mode) runs on 6.18 and is refused for other kernels before anything runs", async () => {
    const server = loadScenario("server");
    const on = await runScenario(server, { seed: 3, scale: 0.02, kernel: "6.18", defragMode: 1 });
    const off = await runScenario(server, { seed: 3, scale: 0.02, kernel: "6.18" });
    expect(on.config).toMatchObject({ kernel: "6.18", defragMode: 1 });
    // The series' direction on this workload: fewer fallbacks (mm_page_alloc_extfrag),
    // bought with direct reclaim before each fallback (allocstall).
    expect(on.summary.extfragEvents).toBeLessThan(off.summary.extfragEvents!);
    expect(on.summary.allocstall).toBeGreaterThan(off.summary.allocstall!);
    // 0 is every kernel's behaviour; 1 needs the 6.18 profile (the scenario's 6.12, or a configured one).
    await expect(runScenario(server, { seed: 3, scale: 0.02, defragMode: 1 })).rejects.toMatchObject({
      code: "EINVAL",
      message: expect.stringMatching(/defragMode 1 needs kernel "6\.18".*"6\.12"/),
    });
    await expect(runScenario(server, { seed: 3, scale: 0.02, kernel: "6.1", defragMode: 1 })).rejects.toMatchObject({
      code: "EINVAL",
    });
    const zero = await runScenario(server, { seed: 3, scale: 0.02, defragMode: 0 });
    expect(zero.stateHash).toBe((await runScenario(server, { seed: 3, scale: 0.02 })).stateHash);
  });

  it("compare configurations take a kernel", () => {
    expect(validateConfigs([{ label: "6.1", kernel: "6.1" }])).toEqual([{ label: "6.1", kernel: "6.1" }]);
    expect(() => validateConfigs([{ label: "x", kernel: "4.19" }])).toThrow(
      expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/configs\[0\]\.kernel/) }),
    );
  });
});
