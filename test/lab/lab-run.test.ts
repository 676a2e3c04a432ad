import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, describe, expect, it } from "vitest";
import { writeReport } from "dmasim/lab";
import type { LabResult } from "dmasim/lab";
import { runScenario } from "dmasim/lab";
import { loadScenario, validateScenario } from "dmasim/lab";

/** Scale of the built-in scenarios in these tests: a tenth-size machine doing a tenth of the work (quick). */
const SCALE = 0.1;

/** The result as JSON without the parts allowed to differ: wall-clock timing, and optionally the backend. */
function stable(result: LabResult, withoutBackend = false): string {
  const { timing, backend, ...rest } = result;
  expect(timing.wallMs).toBeGreaterThan(0);
  return JSON.stringify(withoutBackend ? rest : { ...rest, backend });
}

const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(["camera", "server", "heaps"])("the %s scenario", (name) => {
  const scenario = loadScenario(name);

  it("gives byte-identical JSON for the same seed, across runs and backends", async () => {
    const a = await runScenario(scenario, { seed: 7, scale: SCALE });
    const b = await runScenario(scenario, { seed: 7, scale: SCALE });
    const ts = await runScenario(scenario, { seed: 7, scale: SCALE, backend: "ts" });
    expect(stable(b)).toBe(stable(a));
    expect(ts.backend).toBe("ts");
    expect(stable(ts, true)).toBe(stable(a, true));
    const other = await runScenario(scenario, { seed: 8, scale: SCALE });
    expect(other.stateHash).not.toBe(a.stateHash);
  });

  it("samples the metrics and the memory map over the run", async () => {
    const r = await runScenario(scenario, { seed: 1, scale: SCALE });
    const ops = scenario.phases.reduce((sum, p) => sum + Math.round(p.ops * SCALE), 0);
    expect(r).toMatchObject({ kind: "run", name, seed: 1, backend: "wasm" });
    expect(r.summary.ops).toBe(ops);
    expect(r.samples.length).toBeGreaterThanOrEqual(150);
    expect(r.samples.length).toBeLessThanOrEqual(301);
    expect(r.samples[0]!.t).toBe(0);
    expect(r.samples.at(-1)!.t).toBe(ops);
    // Boot, then the middle and the end of each phase, and each device's first session, in order.
    expect(r.maps.map((m) => m.label).filter((l) => !l.endsWith("first session"))).toEqual([
      "boot",
      ...scenario.phases.flatMap((p) => [`${p.name}: middle`, `${p.name}: end`]),
    ]);
    expect(r.maps.filter((m) => m.label.endsWith("first session")).length).toBe(
      scenario.devices.filter((d) => d.kind === "cma-consumer").length,
    );
    expect(r.maps.map((m) => m.t)).toEqual([...r.maps.map((m) => m.t)].sort((a, b) => a - b));
    expect(r.maps[0]!.migratetypes.length).toBe(r.machine.ramBytes / r.machine.pageSize / 512);
    expect(r.summary["alloc.requests"]).toBeGreaterThan(0);
    expect(r.stateHash).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe("the heaps scenario at full scale", () => {
  it("fragments as it should, identically on both backends", async () => {
    const scenario = loadScenario("heaps");
    const r = await runScenario(scenario);
    const s = r.summary;
    // Graphics buffers get their 1 MiB blocks while memory lasts, and fall back to smaller ones under pressure.
    expect(s["heap.system.order8HitPct.apps"]).toBeGreaterThan(95);
    expect(s["heap.system.order8HitPct.game"]).toBeLessThan(80);
    expect(s["heap.failed.nomem"]).toBeGreaterThan(0);
    expect(s["process.game.overLimit"]).toBeGreaterThan(0);
    expect(s["process.game.peakBytes"]).toBeLessThanOrEqual(96 * 2 ** 20);
    // The camera's frames come from its CMA heap, at the cost of migrating what was lent; the display takes them.
    expect(s["heap.camera.successPct"]).toBeGreaterThan(90);
    expect(s["cma.camera.pagesMigrated"]).toBeGreaterThan(0);
    expect(s["device.display.imports"]! - s["device.display.importsFailed"]!).toBeGreaterThanOrEqual(
      s["heap.camera.requests"]! - s["heap.camera.failed"]!,
    );
    // The system heap's unmovable blocks claim movable pageblocks.
    expect(s.extfragClaimed).toBeGreaterThan(0);
    const ts = await runScenario(scenario, { backend: "ts" });
    expect(stable(ts, true)).toBe(stable(r, true));
  });
});

describe("the runner", () => {
  it("plays every kind of operation on a small machine and keeps the engine consistent", async () => {
    const scenario = validateScenario({
      name: "all-ops",
      machine: { ramBytes: "64 MiB" },
      areas: [{ name: "cam", bytes: "16 MiB" }],
      devices: [
        { name: "cam", area: "cam", frameBytes: "2 MiB", buffers: 3, periodOps: 400, holdOps: { min: 100, max: 300 } },
      ],
      phases: [
        { name: "fill", ops: 3000, mix: { alloc: { weight: 1, orders: { "0": 8, "3": 1 } }, free: { weight: 0.2 } } },
        {
          name: "churn",
          ops: 4000,
          mix: {
            alloc: [
              { weight: 4, migratetype: "unmovable", orders: { "0": 3, "2": 1 } },
              { weight: 4, migratetype: "reclaimable" },
              { weight: 4, orders: { "0": 1 } },
              { weight: 0.5, orders: { "9": 1 }, holdOps: { min: 10, max: 200 }, label: "thp" },
            ],
            free: [
              { weight: 6, policy: "fifo" },
              { weight: 4, migratetype: "unmovable" },
            ],
            cma: { weight: 0.5, count: 64, alignOrder: 4, holdOps: 50 },
            pin: [
              { weight: 1, holdOps: { min: 1, max: 100 } },
              { weight: 0.3, longterm: true },
            ],
            unpin: { weight: 0.5 },
            contig: { weight: 0.2, count: 128, alignOrder: 7, holdOps: 100 },
          },
        },
      ],
      samples: 50,
    });
    const r = await runScenario(scenario, { seed: 3 });
    const s = r.summary;
    expect(s.ops).toBe(7000);
    expect(s["alloc.thp.requests"]).toBeGreaterThan(0);
    expect(s["free.expired"]).toBeGreaterThan(0);
    expect(s.pin).toBeGreaterThan(0);
    expect(s.unpin).toBeGreaterThan(0);
    expect(s["contig.requests"]).toBe(s["contig.ok"]! + s["contig.ebusy"]! + s["contig.enomem"]!);
    expect(s["device.cam.sessions"]).toBe(17);
    expect(s["device.cam.frames"]).toBe(51);
    expect(s["cma.cam.allocs"]).toBeGreaterThan(51);
    expect(r.samples.length).toBe(51);
    const ts = await runScenario(scenario, { seed: 3, backend: "ts" });
    expect(stable(ts, true)).toBe(stable(r, true));
  });

  it("plays heap operations: processes, limits, both heaps, mmap and touch, importers", async () => {
    const scenario = validateScenario({
      name: "heap-ops",
      machine: { ramBytes: "64 MiB", storeContents: true },
      areas: [{ name: "cam", bytes: "16 MiB", heapUsers: ["hal"] }],
      devices: [
        { name: "gpu", kind: "importer", iommu: { bytes: "256 MiB" }, maxSegmentBytes: "4 MiB" },
        { name: "display", kind: "importer", contiguous: true },
        { name: "dec", area: "cam", frameBytes: "1 MiB", periodOps: 500, holdOps: 200 },
      ],
      processes: [{ name: "app", dmabufLimitBytes: "8 MiB" }, { name: "hal" }, { name: "capped", dmabufLimitBytes: 0 }],
      phases: [
        { name: "fill", ops: 2000, mix: { alloc: { weight: 1, orders: { "0": 8, "3": 1 } }, free: { weight: 0.1 } } },
        {
          name: "heaps",
          ops: 3000,
          mix: {
            alloc: [
              { weight: 3, orders: { "0": 1 } },
              { weight: 1, migratetype: "unmovable" },
            ],
            free: { weight: 4 },
            heap: [
              {
                weight: 0.6,
                bytes: { "1 MiB": 1, "300 KiB": 2, "4097": 1 },
                holdOps: { min: 10, max: 400 },
                mmap: true,
                import: { device: "gpu", dir: "to_device" },
              },
              {
                weight: 0.3,
                process: "hal",
                heap: "cam",
                pages: { "256": 1, "64": 1 },
                holdOps: { min: 10, max: 300 },
                touch: true,
                import: [{ device: "display" }, { device: "gpu" }],
              },
              { weight: 0.1, process: "hal", pages: 300, holdOps: 50, import: { device: "display" } },
              { weight: 0.05, process: "capped", bytes: 4096 },
              { weight: 0.05, bytes: "2 MiB" },
            ],
          },
        },
      ],
      samples: 40,
    });
    const r = await runScenario(scenario, { seed: 5 });
    const s = r.summary;
    expect(s["heap.requests"]).toBe(s["heap.system.requests"]! + s["heap.cam.requests"]!);
    expect(s["heap.requests"]).toBe(["app", "hal", "capped"].reduce((sum, p) => sum + s[`process.${p}.requests`]!, 0));
    expect(s["heap.failed"]).toBe(s["heap.failed.nomem"]! + s["heap.failed.limit"]! + s["heap.failed.nofile"]!);
    // A limit of 0 refuses everything; "app" runs into its 8 MiB with the buffers it never lets go of.
    expect(s["process.capped.failed"]).toBe(s["process.capped.requests"]);
    expect(s["process.capped.overLimit"]).toBe(s["process.capped.requests"]);
    expect(s["process.app.overLimit"]).toBeGreaterThan(0);
    expect(s["process.app.peakBytes"]).toBeLessThanOrEqual(8 * 2 ** 20);
    expect(s["process.app.chargedBytes"]).toBeGreaterThanOrEqual(2 * 2 ** 20); // at least a kept 2 MiB buffer
    // Each live buffer is charged to the process that allocated it.
    expect(s["heap.system.liveBytes"]! + s["heap.cam.liveBytes"]!).toBe(
      s["process.app.chargedBytes"]! + s["process.hal.chargedBytes"]!,
    );
    // The system heap's order mix, and the CMA heap through cma_alloc().
    expect(s["heap.system.order8"]).toBeGreaterThan(0);
    expect(s["heap.system.order4"]).toBeGreaterThan(0);
    expect(s["heap.system.order0"]).toBeGreaterThan(0);
    expect(s["heap.system.order8HitPct"]).toBeGreaterThan(0);
    expect(s["heap.system.order8HitPct.heaps"]).toBe(s["heap.system.order8HitPct"]);
    expect(s["cma.cam.allocs"]).toBe(s["heap.cam.requests"]! + s["device.dec.frames"]!);
    // Touching faults the CMA heap's pages in one by one; the system heap maps them at mmap().
    expect(s["heap.mmaps"]).toBeGreaterThan(0);
    expect(s["heap.faults"]).toBeGreaterThan(0);
    // The display takes the CMA heap's buffers, and refuses scattered system-heap ones.
    expect(s["device.display.imports"]).toBeGreaterThan(s["device.display.importsFailed"]!);
    expect(s["device.display.importsFailed"]).toBeGreaterThan(0);
    expect(s["device.gpu.importsFailed"]).toBe(0);
    expect(s["device.gpu.segmentsPerImport"]).toBe(1);
    expect(r.samples.every((x) => x.heaps!.map((h) => h.name).join() === "system,cam")).toBe(true);
    expect(r.samples.at(-1)!.heaps![0]!.chunks).toEqual([
      s["heap.system.order8"],
      s["heap.system.order4"],
      s["heap.system.order0"],
    ]);
    const ts = await runScenario(scenario, { seed: 5, backend: "ts" });
    expect(stable(ts, true)).toBe(stable(r, true));
    const other = await runScenario(scenario, { seed: 6 });
    expect(other.stateHash).not.toBe(r.stateHash);
  });

  it("applies configuration overrides and checks them", async () => {
    const scenario = loadScenario("camera");
    const r = await runScenario(scenario, { scale: 0.02, pageblockOrder: 10, cmaFirstBalance: false });
    expect(r.machine.pageblockOrder).toBe(10);
    expect(r.maps[0]!.pageblockNrPages).toBe(1024);
    await expect(runScenario(scenario, { scale: 0.02, maxOrder: 3 })).rejects.toThrow(
      'maxOrder 3: phase "boot" allocates above it',
    );
    await expect(runScenario(scenario, { seed: -1 })).rejects.toMatchObject({ code: "EINVAL" });
  });
});

describe("the report", () => {
  it("writes index.html, result.json and well-formed SVG plots and maps", async () => {
    const scenario = loadScenario("camera");
    const result = await runScenario(scenario, { seed: 1, scale: SCALE });
    const dir = join(tmp, "report");
    const { files } = await writeReport(result, dir, { scenario });
    expect(files[0]).toBe("index.html");
    expect(readdirSync(dir).sort()).toEqual([...files].sort());
    for (const f of ["extfrag.svg", "unusable.svg", "free-pages.svg", "pageblocks.svg", "cma.svg"])
      expect(files).toContain(f);
    const maps = files.filter((f) => /^map-\d+\.svg$/.test(f));
    expect(maps.length).toBe(result.maps.length);
    const parser = new XMLParser({ ignoreAttributes: false });
    for (const f of files.filter((f) => f.endsWith(".svg"))) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(XMLValidator.validate(text), f).toBe(true);
      const doc = parser.parse(text) as Record<string, unknown>;
      const roots = Object.keys(doc).filter((k) => !k.startsWith("?"));
      expect(roots, f).toEqual(["svg"]);
    }
    const map = readFileSync(join(dir, "map-0.svg"), "utf8");
    expect(map.match(/<rect x=/g)!.length).toBe(result.maps[0]!.migratetypes.length + 6 + 5); // cells, type legend, occupancy legend
    expect(map).toContain(">movable<");
    const html = readFileSync(join(dir, "index.html"), "utf8");
    // Self-contained: every image is a file of the report, nothing comes from the network.
    const sources = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.sort()).toEqual(files.filter((f) => f.endsWith(".svg")).sort());
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).not.toContain("<script");
    expect(JSON.parse(readFileSync(join(dir, "result.json"), "utf8"))).toEqual(JSON.parse(JSON.stringify(result)));
  });
});

describe("policy knobs", () => {
  it("the IOVA policy reaches the scenario's IOMMU importers; the stealing threshold and ALLOC_NOFRAGMENT the allocator", async () => {
    const heaps = loadScenario("heaps");
    const base = await runScenario(heaps, { seed: 2, scale: 0.05 });
    const arm = await runScenario(heaps, { seed: 2, scale: 0.05, iommuStyle: "arm" });
    expect(arm.summary["heap.requests"]).toBe(base.summary["heap.requests"]);
    expect(arm.stateHash).not.toBe(base.stateHash); // the IOVA bitmaps are laid out differently
    // The allocator knobs (their effect is tested in test/buddy.test.ts) keep runs deterministic on both backends.
    const camera = loadScenario("camera");
    const knobs = { seed: 2, scale: 0.2, claimThresholdPages: 64, allocNoFragment: false };
    const wasm = await runScenario(camera, knobs);
    const ts = await runScenario(camera, { ...knobs, backend: "ts" });
    expect(ts.stateHash).toBe(wasm.stateHash);
    expect(wasm.stateHash).not.toBe((await runScenario(camera, { seed: 2, scale: 0.2 })).stateHash);
  });

  it("compaction: false keeps the slow path from compacting; the summary counts what compaction did", async () => {
    // The server's transparent huge pages fail only late in a full-length run.
    const server = loadScenario("server");
    const on = await runScenario(server, { seed: 1 });
    const off = await runScenario(server, { seed: 1, compaction: false });
    expect(on.summary.compactStall).toBeGreaterThan(0);
    expect([off.summary.compactStall, off.summary.compactMigrateScanned]).toEqual([0, 0]);
    expect(off.stateHash).not.toBe(on.stateHash);
  });

  it("onLiveMap sees the map about 40 times a run and changes nothing, on both backends", async () => {
    for (const backend of ["wasm", "ts"] as const) {
      const live: { t: number; label: string; cells: number }[] = [];
      const watched = await runScenario(loadScenario("camera"), {
        scale: SCALE,
        backend,
        onLiveMap: (m) => live.push({ t: m.t, label: m.label, cells: m.migratetypes.length }),
      });
      const plain = await runScenario(loadScenario("camera"), { scale: SCALE, backend });
      expect(stable(watched)).toBe(stable(plain));
      // 26,000 operations: one map every floor(26000 / 40) = 650, 40 in all; 26 pageblocks each.
      expect(live).toHaveLength(40);
      expect(live[0]).toEqual({ t: 650, label: "live", cells: 26 });
      expect(live.at(-1)!.t).toBe(26000);
    }
  });
});
