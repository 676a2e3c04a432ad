import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DmaSimError } from "dmasim";
import { dmaSimErrorOf } from "../helpers.ts";
import {
  builtinScenarioNames,
  builtinScenarioSpec,
  loadScenario,
  parseBytes,
  scaleScenario,
  scenarioSpecOf,
  validateScenario,
  type ScenarioSpec,
} from "dmasim/lab";

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
        name: "churn",
        ops: 500,
        mix: {
          alloc: [
            { weight: 5, migratetype: "unmovable", orders: { "0": 3, "2": 1 } },
            { weight: 1, orders: { "9": 1 }, holdOps: { min: 10, max: 20 } },
          ],
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

/** Breaks `spec()` with `edit` and returns the validation error. */
function invalid(edit: (s: any) => void): DmaSimError {
  const s = spec();
  edit(s);
  return dmaSimErrorOf(() => validateScenario(s));
}

describe("scenario validation", () => {
  it("accepts the sample and fills in defaults", () => {
    const s = validateScenario(spec());
    expect(s.seed).toBe(1);
    expect(s.samples).toBe(200);
    expect(s.machine).toMatchObject({
      ramBytes: 64 * 2 ** 20,
      pageSize: 4096,
      maxOrder: 10,
      pageblockOrder: 9,
      storeContents: false,
      cmaFirstBalance: true,
    });
    expect(s.devices[0]).toMatchObject({
      kind: "cma-consumer",
      framePages: 256,
      alignOrder: 8,
      buffers: 1,
      startOps: 100,
      phases: null,
    });
    expect(s.phases[1]!.mix.map((o) => o.kind)).toEqual(["alloc", "alloc", "free", "cma", "pin", "unpin", "contig"]);
    expect(s.phases[0]!.mix[0]).toMatchObject({ migratetype: "movable", hold: null, label: null });
  });

  it("names the bad field in an EINVAL DmaSimError", () => {
    const cases: [(s: any) => void, string][] = [
      [
        (s) => (s.phases[1].mix.alloc[0].orders = [1, 2]),
        "scenario.phases[1].mix.alloc[0].orders: must be an object mapping orders 0..10",
      ],
      [
        (s) => (s.phases[0].mix.alloc.orders = { "0": 1, "11": 1 }),
        "scenario.phases[0].mix.alloc.orders.11: is not an order in 0..10",
      ],
      [(s) => (s.phases[0].mix.alloc.orders = { "0": 0 }), "scenario.phases[0].mix.alloc.orders: must be an object"],
      [(s) => (s.phases[0].mix.alloc.migratetype = "cma"), "scenario.phases[0].mix.alloc.migratetype: must be one of"],
      [(s) => (s.phases[0].mix.alloc.weight = -1), "scenario.phases[0].mix.alloc.weight: must be a number ≥ 0"],
      [(s) => (s.phases[0].mix.alloc.wieght = 1), "scenario.phases[0].mix.alloc.wieght: unknown field"],
      [
        (s) => (s.phases[0].mix = { alloc: { weight: 0 } }),
        "scenario.phases[0].mix: needs at least one operation with a positive weight",
      ],
      [(s) => (s.phases[0].mix.malloc = { weight: 1 }), "scenario.phases[0].mix.malloc: unknown field"],
      [
        (s) => (s.phases[1].mix.free.policy = "lifo"),
        `scenario.phases[1].mix.free.policy: must be one of "random", "fifo"`,
      ],
      [(s) => (s.phases[1].mix.cma.area = "nope"), `scenario.phases[1].mix.cma.area: must name a CMA area ("cam")`],
      [(s) => (s.phases[1].mix.cma.count = 5000), "scenario.phases[1].mix.cma.count: must be an integer in 1..4096"],
      [
        (s) => (s.phases[1].mix.pin.holdOps = { min: 5, max: 2 }),
        "scenario.phases[1].mix.pin.holdOps.max: must be an integer in 5..",
      ],
      [(s) => (s.phases[1].ops = 0), "scenario.phases[1].ops: must be an integer in 1.."],
      [(s) => (s.phases[1].name = "fill"), `scenario.phases[1].name: duplicate phase name "fill"`],
      [(s) => (s.phases = []), "scenario.phases: must be a non-empty list"],
      [(s) => delete s.name, "scenario.name: is required"],
      [(s) => (s.machine.ramBytes = "64 MB"), "scenario.machine.ramBytes: must be a positive whole number of bytes"],
      [
        (s) => (s.machine.ramBytes = 3 * 2 ** 20),
        "scenario.machine.ramBytes: must be a multiple of the pageblock size (2097152 bytes)",
      ],
      [(s) => (s.machine.pageblockOrder = 11), "scenario.machine.pageblockOrder: must be an integer in 1..10"],
      [(s) => (s.machine.zones = "arm"), `scenario.machine.zones: must be "x86_64" or a list`],
      [(s) => (s.areas[0].bytes = "1 GiB"), "scenario.areas[0].bytes: is larger than RAM"],
      [(s) => s.areas.push({ name: "cam", bytes: "4M" }), `scenario.areas[1].name: duplicate area name "cam"`],
      [(s) => (s.devices[0].area = "video"), "scenario.devices[0].area: must name a CMA area"],
      [(s) => (s.devices[0].kind = "iommu"), `scenario.devices[0].kind: must be one of "cma-consumer"`],
      [(s) => (s.devices[0].frameBytes = "32 MiB"), `scenario.devices[0].frameBytes: is larger than area "cam"`],
      [(s) => (s.devices[0].phases = ["boot"]), `scenario.devices[0].phases[0]: must be one of "fill", "churn"`],
      [(s) => delete s.devices[0].periodOps, "scenario.devices[0].periodOps: is required"],
      [
        (s) => (s.phases[0].mix.read = { weight: 1 }),
        `scenario.phases[0].mix.read.file: names a file, but the scenario declares none (add one under "files")`,
      ],
      [
        (s) => ((s.files = [{ name: "db", bytes: "8 MiB" }]), (s.phases[0].mix.write = { weight: 1, file: "log" })),
        `scenario.phases[0].mix.write.file: must be one of "db", got "log"`,
      ],
      [
        (s) => (
          (s.files = [{ name: "db", bytes: "8 MiB" }]),
          (s.phases[0].mix.read = { weight: 1, pattern: "append" })
        ),
        `scenario.phases[0].mix.read.pattern: must be one of "random", "sequential"`,
      ],
      [
        (s) => ((s.files = [{ name: "db", bytes: "8 MiB" }]), (s.phases[0].mix.write = { weight: 1, pages: 0 })),
        "scenario.phases[0].mix.write.pages: must be an integer in 1..",
      ],
      [
        (s) =>
          (s.files = [
            { name: "db", bytes: "8 MiB" },
            { name: "db", bytes: 4096 },
          ]),
        `scenario.files[1].name: duplicate file name "db"`,
      ],
      [(s) => (s.files = [{ name: "db" }]), "scenario.files[0].bytes: is required"],
      [(s) => (s.files = [{ name: "db", bytes: 0 }]), "scenario.files[0].bytes: must be"],
    ];
    for (const [edit, expected] of cases) {
      const e = invalid(edit);
      expect(e.code).toBe("EINVAL");
      expect(e.message).toContain(`EINVAL: ${expected}`);
    }
  });

  it("rejects a scenario that is not an object, and cma operations without areas", () => {
    expect(dmaSimErrorOf(() => validateScenario([])).message).toBe("EINVAL: scenario: must be an object, got []");
    const e = invalid((s) => delete s.areas && delete s.devices);
    expect(e.message).toContain("scenario.phases[1].mix.cma.area: names a CMA area, but the scenario declares none");
  });

  it("validates processes, heap operations and importer devices, naming the bad field", () => {
    /** `spec()` with processes, importers and heap operations. */
    const heapSpec = (): any => {
      const s: any = spec();
      s.areas[0].heapUsers = ["hal"];
      s.devices.push(
        { name: "gpu", kind: "importer", iommu: { bytes: "256 MiB" } },
        { name: "display", kind: "importer", contiguous: true },
      );
      s.processes = [{ name: "app", dmabufLimitBytes: "32 MiB" }, { name: "hal" }];
      s.phases[1].mix.heap = [
        {
          weight: 1,
          bytes: { "8294400": 3, "1 MiB": 1 },
          holdOps: { min: 10, max: 100 },
          mmap: true,
          import: { device: "gpu" },
        },
        {
          weight: 1,
          process: "hal",
          heap: "cam",
          pages: 256,
          import: [{ device: "display", dir: "to_device" }, { device: "gpu" }],
        },
      ];
      return s;
    };
    const s = validateScenario(heapSpec());
    expect(s.processes).toEqual([
      { name: "app", dmabufLimitBytes: 32 * 2 ** 20 },
      { name: "hal", dmabufLimitBytes: null },
    ]);
    expect(s.areas[0]!.heapUsers).toEqual(["hal"]);
    expect(s.devices[1]).toEqual({
      name: "gpu",
      kind: "importer",
      dmaMask: 32,
      iommu: { base: 2 ** 30, bytes: 256 * 2 ** 20 },
      maxSegmentBytes: 65536,
      contiguous: false,
    });
    expect(s.devices[2]).toMatchObject({ kind: "importer", iommu: null, contiguous: true });
    const heaps = s.phases[1]!.mix.filter((o) => o.kind === "heap");
    expect(heaps[0]).toEqual({
      kind: "heap",
      weight: 1,
      process: "app",
      heap: "system",
      sizes: [8294400, 2 ** 20],
      sizeWeights: [3, 1],
      hold: { min: 10, max: 100 },
      mmap: true,
      touch: false,
      imports: [{ device: "gpu", dir: "bidirectional" }],
    });
    expect(heaps[1]).toMatchObject({
      process: "hal",
      heap: "cam",
      sizes: [2 ** 20],
      hold: null,
      mmap: false,
      imports: [{ device: "display", dir: "to_device" }, { device: "gpu" }],
    });
    expect(scaleScenario(s, 0.5).phases[1]!.mix.find((o) => o.kind === "heap")).toMatchObject({
      hold: { min: 5, max: 50 },
    });
    // A heap operation with touch needs page contents; with them it is accepted.
    const touching = heapSpec();
    touching.machine.storeContents = true;
    touching.phases[1].mix.heap[1].touch = true;
    expect(validateScenario(touching).phases[1]!.mix.find((o) => o.kind === "heap" && o.touch)).toMatchObject({
      mmap: true,
      touch: true,
    });

    const at = "scenario.phases[1].mix.heap";
    const cases: [(s: any) => void, string][] = [
      [
        (s) => (s.phases[1].mix.heap[0].process = "game"),
        `${at}[0].process: must name a process ("app", "hal"), got "game"`,
      ],
      [
        (s) => delete s.processes,
        `${at}[0].process: names a process, but the scenario declares none (add one under "processes")`,
      ],
      [
        (s) => (s.phases[1].mix.heap[0].heap = "video"),
        `${at}[0].heap: must be "system" or the name of a CMA area ("cam"), got "video"`,
      ],
      [
        (s) => (s.phases[1].mix.heap[1].process = "app"),
        `${at}[1].process: process "app" may not open /dev/dma_heap/cam (the area's heapUsers: "hal")`,
      ],
      [(s) => (s.phases[1].mix.heap[0].pages = 4), `${at}[0]: give the buffer size as "bytes" or as "pages", not both`],
      [(s) => delete s.phases[1].mix.heap[0].bytes, `${at}[0].bytes: is required (or give "pages")`],
      [
        (s) => (s.phases[1].mix.heap[0].bytes = { "8 MB": 1 }),
        `${at}[0].bytes.8 MB: must be a positive whole number of bytes`,
      ],
      [(s) => (s.phases[1].mix.heap[0].bytes = { "1 MiB": -1 }), `${at}[0].bytes.1 MiB: must be a number ≥ 0`],
      [
        (s) => (s.phases[1].mix.heap[0].bytes = { "1 MiB": 0 }),
        `${at}[0].bytes: must be a size or an object mapping sizes to weights`,
      ],
      [(s) => (s.phases[1].mix.heap[0].bytes = "128 MiB"), `${at}[0].bytes: is larger than RAM (67108864 bytes)`],
      [(s) => (s.phases[1].mix.heap[1].pages = 5000), `${at}[1].pages: is larger than area "cam" (16777216 bytes)`],
      [(s) => (s.phases[1].mix.heap[1].pages = { "0": 1 }), `${at}[1].pages.0: must be an integer in 1..`],
      [(s) => (s.phases[1].mix.heap[0].touch = true), `${at}[0].touch: needs "machine.storeContents": true`],
      [
        (s) => (
          (s.machine.storeContents = true),
          (s.phases[1].mix.heap[0].mmap = false),
          (s.phases[1].mix.heap[0].touch = true)
        ),
        `${at}[0].touch: needs the buffer mapped`,
      ],
      [(s) => (s.phases[1].mix.heap[0].mmap = "yes"), `${at}[0].mmap: must be true or false`],
      [(s) => (s.phases[1].mix.heap[0].holdOps = 0), `${at}[0].holdOps: must be an integer in 1..`],
      [
        (s) => (s.phases[1].mix.heap[0].import = { device: "cam" }),
        `${at}[0].import.device: must name a device of kind "importer" ("gpu", "display"), got "cam"`,
      ],
      [
        (s) => (s.devices = s.devices.slice(0, 1)),
        `${at}[0].import.device: names an importer device, but the scenario declares none`,
      ],
      [
        (s) => (s.phases[1].mix.heap[1].import[1].device = "display"),
        `${at}[1].import[1].device: device "display" imports the buffer twice`,
      ],
      [
        (s) => (s.phases[1].mix.heap[0].import.dir = "none"),
        `${at}[0].import.dir: must be one of "to_device", "from_device", "bidirectional"`,
      ],
      [(s) => (s.phases[1].mix.heap[0].import = []), `${at}[0].import: must not be an empty list`],
      [(s) => (s.phases[1].mix.heap[0].label = "x"), `${at}[0].label: unknown field`],
      [(s) => (s.processes[1].name = "app"), `scenario.processes[1].name: duplicate process name "app"`],
      [
        (s) => (s.processes[0].dmabufLimitBytes = "lots"),
        "scenario.processes[0].dmabufLimitBytes: must be a positive whole number of bytes",
      ],
      [
        (s) => (s.processes[0].nofile = 10),
        "scenario.processes[0].nofile: unknown field (known: name, dmabufLimitBytes)",
      ],
      [(s) => (s.processes = { name: "app" }), "scenario.processes: must be a list of processes"],
      [(s) => (s.areas[0].heapUsers = "hal"), "scenario.areas[0].heapUsers: must be a list of process names"],
      [(s) => (s.areas[0].heapUsers = ["camera hal"]), "scenario.areas[0].heapUsers[0]: must be a non-empty name"],
      [
        (s) => (s.devices[1].area = "cam"),
        "scenario.devices[1].area: unknown field (known: name, kind, dmaMask, iommu, maxSegmentBytes, contiguous)",
      ],
      [(s) => (s.devices[1].kind = "gpu"), `scenario.devices[1].kind: must be one of "cma-consumer", "importer"`],
      [(s) => (s.devices[1].name = "cam"), `scenario.devices[1].name: duplicate device name "cam"`],
      [(s) => (s.devices[1].dmaMask = 8), "scenario.devices[1].dmaMask: must be an integer in 12..64"],
      [
        (s) => (s.devices[1].iommu = { base: "3 GiB", bytes: "2 GiB" }),
        "scenario.devices[1].iommu: the IOVA space [3221225472, 5368709120) ends beyond the 32-bit DMA mask",
      ],
      [
        (s) => (s.devices[1].iommu = { base: 100, bytes: "1 MiB" }),
        "scenario.devices[1].iommu.base: must be page-aligned (4096 bytes), got 100",
      ],
      [(s) => (s.devices[1].iommu = {}), "scenario.devices[1].iommu.bytes: is required"],
      [
        (s) => (s.devices[1].maxSegmentBytes = 512),
        "scenario.devices[1].maxSegmentBytes: must be from a page (4096) to 4294967295 bytes, got 512",
      ],
      [(s) => (s.devices[2].contiguous = 1), "scenario.devices[2].contiguous: must be true or false"],
    ];
    for (const [edit, expected] of cases) {
      const s = heapSpec();
      edit(s);
      const e = dmaSimErrorOf(() => validateScenario(s));
      expect(e.code, expected).toBe("EINVAL");
      expect(e.message).toContain(`EINVAL: ${expected}`);
    }
  });

  it("parses sizes with units", () => {
    expect(parseBytes("x", "8 MiB")).toBe(8 * 2 ** 20);
    expect(parseBytes("x", "512M")).toBe(512 * 2 ** 20);
    expect(parseBytes("x", "1GiB")).toBe(2 ** 30);
    expect(parseBytes("x", "4096")).toBe(4096);
    expect(parseBytes("x", 65536)).toBe(65536);
    expect(parseBytes("x", "1.5 K")).toBe(1536);
    expect(() => parseBytes("x", "12 MB")).toThrow("x: must be");
    expect(dmaSimErrorOf(() => parseBytes("x", "1.3 K")).message).toContain("x: must be a positive whole number");
  });

  it("validates every built-in scenario and refuses unknown ones", () => {
    expect(builtinScenarioNames()).toEqual(["camera", "server", "heaps"]);
    for (const name of builtinScenarioNames()) {
      const s = loadScenario(name);
      expect(s.name).toBe(name);
      expect(validateScenario(builtinScenarioSpec(name))).toEqual(s);
    }
    const camera = loadScenario("camera");
    expect(camera.devices[0]).toMatchObject({ area: "camera", framePages: 2048, alignOrder: 8 });
    const heaps = loadScenario("heaps");
    expect(heaps.areas[0]).toMatchObject({ name: "camera", heapUsers: ["camera-hal"] });
    expect(heaps.devices.map((d) => d.kind)).toEqual(["importer", "importer"]);
    expect(heaps.processes.map((p) => p.name)).toEqual(["compositor", "game", "browser", "camera-hal"]);
    expect(
      heaps.phases
        .flatMap((p) => p.mix)
        .filter((o) => o.kind === "heap")
        .map((o) => o.kind === "heap" && o.heap),
    ).toContain("camera");
    expect(dmaSimErrorOf(() => loadScenario("nope"))).toMatchObject({
      code: "ENOENT",
      message: expect.stringContaining(`unknown scenario "nope" (built-in: camera, server, heaps`),
    });
    expect(dmaSimErrorOf(() => loadScenario("/no/such/file.json"))).toMatchObject({
      code: "ENOENT",
      errno: -2,
      message: "ENOENT: /no/such/file.json: no such scenario file",
      detail: "/no/such/file.json: no such scenario file",
    });
  });

  it("names the file, then the field, when a scenario file does not validate", () => {
    const dir = mkdtempSync(join(tmpdir(), "dmasim-scenario-"));
    try {
      const file = join(dir, "bad.json");
      const s = spec();
      (s.machine as any).ramBytes = "lots";
      writeFileSync(file, JSON.stringify(s));
      const e = dmaSimErrorOf(() => loadScenario(file));
      expect(e.code).toBe("EINVAL");
      expect(e.message).toBe(`EINVAL: bad.json: ${invalid((x) => (x.machine.ramBytes = "lots")).detail}`);
      writeFileSync(file, "{ not json");
      expect(dmaSimErrorOf(() => loadScenario(file)).message).toMatch(
        new RegExp(`^EINVAL: ${file}: not valid JSON \\(`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("scales every duration in operations, and the machine with them", () => {
    const s = validateScenario(spec());
    const half = scaleScenario(s, 0.5);
    expect(half.phases.map((p) => p.ops)).toEqual([250, 250]);
    expect(half.devices[0]).toMatchObject({ periodOps: 50, holdOps: { min: 25, max: 25 }, startOps: 50 });
    expect(half.phases[1]!.mix[1]).toMatchObject({ hold: { min: 5, max: 10 } });
    // 64 MiB → 32 MiB; min_free_kbytes: int_sqrt(65536 * 16) = 1024 at full size, × 0.5 (lab-scale.test.ts has more).
    expect(half.machine).toEqual({ ...s.machine, ramBytes: 32 * 2 ** 20, minFreeKbytes: 512 });
    expect(half.areas[0]!.bytes).toBe(8 * 2 ** 20);
    expect(scaleScenario(s, 1)).toBe(s);
    expect(dmaSimErrorOf(() => scaleScenario(s, 0)).code).toBe("EINVAL");
  });
});

describe("hostile scenario names and files", () => {
  it("names of Object.prototype's members are unknown scenarios, not its functions", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const err = dmaSimErrorOf(() => loadScenario(name));
      expect(err.code).toBe("ENOENT");
      expect(err.message).toBe(
        `ENOENT: unknown scenario "${name}" (built-in: camera, server, heaps; or a path to a .json file)`,
      );
    }
  });

  it("a deeply nested value is reported by its field, without exhausting the stack", () => {
    const dir = mkdtempSync(join(tmpdir(), "dmasim-deep-"));
    try {
      const file = join(dir, "deep.json");
      const depth = 50_000;
      writeFileSync(file, `{"name":"x","machine":{"ramBytes":${"[".repeat(depth)}${"]".repeat(depth)}},"phases":[]}`);
      const err = dmaSimErrorOf(() => loadScenario(file));
      expect(err.code).toBe("EINVAL");
      expect(err.message).toMatch(
        /scenario\.machine\.ramBytes: must be a positive whole number of bytes.*got an array$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("scenario files and file operations", () => {
  const withFiles = (): ScenarioSpec => ({
    ...spec(),
    files: [
      { name: "db", bytes: "8 MiB" },
      { name: "log", bytes: 10_000 },
    ],
    phases: [
      {
        name: "io",
        ops: 100,
        mix: {
          read: [{ weight: 3 }, { weight: 1, file: "log", pages: { min: 1, max: 4 }, pattern: "sequential" }],
          write: { weight: 2, file: "log" },
          fsync: [{ weight: 1 }, { weight: 1, file: "db" }],
          truncate: { weight: 0.5, file: "log" },
        },
      },
    ],
  });

  it("fills in the defaults, in pages", () => {
    const s = validateScenario(withFiles());
    // 10,000 bytes round up to 3 pages of 4 KiB.
    expect(s.files).toEqual([
      { name: "db", pages: 2048 },
      { name: "log", pages: 3 },
    ]);
    expect(s.phases[0]!.mix).toEqual([
      { kind: "read", weight: 3, file: "db", pages: { min: 8, max: 8 }, pattern: "random" },
      { kind: "read", weight: 1, file: "log", pages: { min: 1, max: 4 }, pattern: "sequential" },
      { kind: "write", weight: 2, file: "log", pages: { min: 1, max: 1 }, pattern: "append" },
      { kind: "fsync", weight: 1, file: null },
      { kind: "fsync", weight: 1, file: "db" },
      { kind: "truncate", weight: 0.5, file: "log" },
    ]);
  });

  it("writes them out so that they resolve the same, and scales file sizes with RAM", () => {
    const s = validateScenario(withFiles());
    expect(validateScenario(scenarioSpecOf(s))).toEqual(s);
    // Without files, nothing is written: results of older scenarios stay as they were.
    expect("files" in scenarioSpecOf(validateScenario(spec()))).toBe(false);
    const half = scaleScenario(s, 0.5);
    expect(half.files).toEqual([
      { name: "db", pages: 1024 },
      { name: "log", pages: 2 }, // 1.5 rounds to 2
    ]);
    // Pages per operation are kept; the phase does half the operations.
    expect(half.phases[0]!.mix[1]).toEqual(s.phases[0]!.mix[1]);
    expect(half.phases[0]!.ops).toBe(50);
  });
});
