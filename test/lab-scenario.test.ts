import { describe, expect, it } from "vitest";
import {
  builtinScenarioNames, builtinScenarioSpec, loadScenario, parseBytes, scaleScenario, validateScenario, type ScenarioSpec,
} from "dmasim/lab/scenario";

/** A small valid scenario to break one field at a time. */
function spec(): ScenarioSpec {
  return {
    name: "tiny",
    machine: { ramBytes: "64 MiB" },
    areas: [{ name: "cam", bytes: "16 MiB" }],
    devices: [{ name: "cam", area: "cam", frameBytes: "1 MiB", periodOps: 100, holdOps: 50 }],
    phases: [
      { name: "fill", ops: 500, mix: { alloc: { weight: 1, orders: { "0": 1 } } } },
      {
        name: "churn", ops: 500,
        mix: {
          alloc: [{ weight: 5, migratetype: "unmovable", orders: { "0": 3, "2": 1 } }, { weight: 1, orders: { "9": 1 }, holdOps: { min: 10, max: 20 } }],
          free: { weight: 5, policy: "fifo" },
          cma: { weight: 1, count: 16, holdOps: 30 },
          pin: { weight: 1, holdOps: 5 },
          unpin: { weight: 1 },
          contig: { weight: 1, count: 64 },
        },
      },
    ],
  };
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error("expected an error");
}

/** Breaks `spec()` with `edit` and returns the validation error. */
function invalid(edit: (s: any) => void): { code: string; message: string } {
  const s = spec();
  edit(s);
  return errorOf(() => validateScenario(s));
}

describe("scenario validation", () => {
  it("accepts the sample and fills in defaults", () => {
    const s = validateScenario(spec());
    expect(s.seed).toBe(1);
    expect(s.samples).toBe(200);
    expect(s.machine).toMatchObject({ ramBytes: 64 * 2 ** 20, pageSize: 4096, maxOrder: 10, pageblockOrder: 9, storeContents: false, cmaFirstBalance: true });
    expect(s.devices[0]).toMatchObject({ kind: "cma-consumer", framePages: 256, alignOrder: 8, buffers: 1, startOps: 100, phases: null });
    expect(s.phases[1]!.mix.map((o) => o.kind)).toEqual(["alloc", "alloc", "free", "cma", "pin", "unpin", "contig"]);
    expect(s.phases[0]!.mix[0]).toMatchObject({ migratetype: "movable", hold: null, label: null });
  });

  it("names the bad field in an EINVAL DmaSimError", () => {
    const cases: [(s: any) => void, string][] = [
      [(s) => (s.phases[1].mix.alloc[0].orders = [1, 2]), "scenario.phases[1].mix.alloc[0].orders: must be an object mapping orders 0..10"],
      [(s) => (s.phases[0].mix.alloc.orders = { "0": 1, "11": 1 }), "scenario.phases[0].mix.alloc.orders.11: is not an order in 0..10"],
      [(s) => (s.phases[0].mix.alloc.orders = { "0": 0 }), "scenario.phases[0].mix.alloc.orders: must be an object"],
      [(s) => (s.phases[0].mix.alloc.migratetype = "cma"), "scenario.phases[0].mix.alloc.migratetype: must be one of"],
      [(s) => (s.phases[0].mix.alloc.weight = -1), "scenario.phases[0].mix.alloc.weight: must be a number ≥ 0"],
      [(s) => (s.phases[0].mix.alloc.wieght = 1), "scenario.phases[0].mix.alloc.wieght: unknown field"],
      [(s) => (s.phases[0].mix = { alloc: { weight: 0 } }), "scenario.phases[0].mix: needs at least one operation with a positive weight"],
      [(s) => (s.phases[0].mix.malloc = { weight: 1 }), "scenario.phases[0].mix.malloc: unknown field"],
      [(s) => (s.phases[1].mix.free.policy = "lifo"), `scenario.phases[1].mix.free.policy: must be one of "random", "fifo"`],
      [(s) => (s.phases[1].mix.cma.area = "nope"), `scenario.phases[1].mix.cma.area: must name a CMA area ("cam")`],
      [(s) => (s.phases[1].mix.cma.count = 5000), "scenario.phases[1].mix.cma.count: must be an integer in 1..4096"],
      [(s) => (s.phases[1].mix.pin.holdOps = { min: 5, max: 2 }), "scenario.phases[1].mix.pin.holdOps.max: must be an integer in 5..",],
      [(s) => (s.phases[1].ops = 0), "scenario.phases[1].ops: must be an integer in 1.."],
      [(s) => (s.phases[1].name = "fill"), `scenario.phases[1].name: duplicate phase name "fill"`],
      [(s) => (s.phases = []), "scenario.phases: must be a non-empty list"],
      [(s) => delete s.name, "scenario.name: is required"],
      [(s) => (s.machine.ramBytes = "64 MB"), "scenario.machine.ramBytes: must be a positive whole number of bytes"],
      [(s) => (s.machine.ramBytes = 3 * 2 ** 20), "scenario.machine.ramBytes: must be a multiple of the pageblock size (2097152 bytes)"],
      [(s) => (s.machine.pageblockOrder = 11), "scenario.machine.pageblockOrder: must be an integer in 1..10"],
      [(s) => (s.machine.zones = "arm"), `scenario.machine.zones: must be "x86_64" or a list`],
      [(s) => (s.areas[0].bytes = "1 GiB"), "scenario.areas[0].bytes: is larger than RAM"],
      [(s) => s.areas.push({ name: "cam", bytes: "4M" }), `scenario.areas[1].name: duplicate area name "cam"`],
      [(s) => (s.devices[0].area = "video"), "scenario.devices[0].area: must name a CMA area"],
      [(s) => (s.devices[0].kind = "iommu"), `scenario.devices[0].kind: must be one of "cma-consumer"`],
      [(s) => (s.devices[0].frameBytes = "32 MiB"), `scenario.devices[0].frameBytes: is larger than area "cam"`],
      [(s) => (s.devices[0].phases = ["boot"]), `scenario.devices[0].phases[0]: must be one of "fill", "churn"`],
      [(s) => delete s.devices[0].periodOps, "scenario.devices[0].periodOps: is required"],
    ];
    for (const [edit, expected] of cases) {
      const e = invalid(edit);
      expect(e.code).toBe("EINVAL");
      expect(e.message).toContain(`EINVAL: ${expected}`);
    }
  });

  it("rejects a scenario that is not an object, and cma operations without areas", () => {
    expect(errorOf(() => validateScenario([])).message).toBe("EINVAL: scenario: must be an object, got []");
    const e = invalid((s) => delete s.areas && delete s.devices);
    expect(e.message).toContain("scenario.phases[1].mix.cma.area: names a CMA area, but the scenario declares none");
  });

  it("parses sizes with units", () => {
    expect(parseBytes("x", "8 MiB")).toBe(8 * 2 ** 20);
    expect(parseBytes("x", "512M")).toBe(512 * 2 ** 20);
    expect(parseBytes("x", "1GiB")).toBe(2 ** 30);
    expect(parseBytes("x", "4096")).toBe(4096);
    expect(parseBytes("x", 65536)).toBe(65536);
    expect(parseBytes("x", "1.5 K")).toBe(1536);
    expect(() => parseBytes("x", "12 MB")).toThrow("x: must be");
    expect(errorOf(() => parseBytes("x", "1.3 K")).message).toContain("x: must be a positive whole number");
  });

  it("validates every built-in scenario and refuses unknown and planned ones", () => {
    expect(builtinScenarioNames()).toEqual(["camera", "server"]);
    for (const name of builtinScenarioNames()) {
      const s = loadScenario(name);
      expect(s.name).toBe(name);
      expect(validateScenario(builtinScenarioSpec(name))).toEqual(s);
    }
    const camera = loadScenario("camera");
    expect(camera.devices[0]).toMatchObject({ area: "camera", framePages: 2048, alignOrder: 8 });
    expect(errorOf(() => loadScenario("nope"))).toMatchObject({ code: "ENOENT", message: expect.stringContaining(`unknown scenario "nope" (built-in: camera, server`) });
    expect(errorOf(() => loadScenario("heaps")).message).toContain("coming with dma-buf");
    expect(errorOf(() => loadScenario("/no/such/file.json"))).toMatchObject({ code: "ENOENT" });
  });

  it("scales every duration in operations", () => {
    const s = validateScenario(spec());
    const half = scaleScenario(s, 0.5);
    expect(half.phases.map((p) => p.ops)).toEqual([250, 250]);
    expect(half.devices[0]).toMatchObject({ periodOps: 50, holdOps: { min: 25, max: 25 }, startOps: 50 });
    expect(half.phases[1]!.mix[1]).toMatchObject({ hold: { min: 5, max: 10 } });
    expect(half.machine).toEqual(s.machine);
    expect(scaleScenario(s, 1)).toBe(s);
    expect(errorOf(() => scaleScenario(s, 0)).code).toBe("EINVAL");
  });
});
