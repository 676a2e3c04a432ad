import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, describe, expect, it } from "vitest";
import { writeReport } from "dmasim/lab/report";
import type { LabResult } from "dmasim/lab/result";
import { runScenario } from "dmasim/lab/runner";
import { loadScenario, validateScenario } from "dmasim/lab/scenario";

/** Scale of the built-in scenarios in these tests: a tenth of the operations, same machine. */
const SCALE = 0.1;

/** The result as JSON without the parts allowed to differ: wall-clock timing, and optionally the backend. */
function stable(result: LabResult, withoutBackend = false): string {
  const { timing, backend, ...rest } = result;
  expect(timing.wallMs).toBeGreaterThan(0);
  return JSON.stringify(withoutBackend ? rest : { ...rest, backend });
}

const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(["camera", "server"])("the %s scenario", (name) => {
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
    expect(r.maps.map((m) => m.label).filter((l) => !l.endsWith("first session")))
      .toEqual(["boot", ...scenario.phases.flatMap((p) => [`${p.name}: middle`, `${p.name}: end`])]);
    expect(r.maps.filter((m) => m.label.endsWith("first session")).length).toBe(scenario.devices.length);
    expect(r.maps.map((m) => m.t)).toEqual([...r.maps.map((m) => m.t)].sort((a, b) => a - b));
    expect(r.maps[0]!.migratetypes.length).toBe(r.machine.ramBytes / r.machine.pageSize / 512);
    expect(r.summary["alloc.requests"]).toBeGreaterThan(0);
    expect(r.stateHash).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe("the runner", () => {
  it("plays every kind of operation on a small machine and keeps the engine consistent", async () => {
    const scenario = validateScenario({
      name: "all-ops",
      machine: { ramBytes: "64 MiB" },
      areas: [{ name: "cam", bytes: "16 MiB" }],
      devices: [{ name: "cam", area: "cam", frameBytes: "2 MiB", buffers: 3, periodOps: 400, holdOps: { min: 100, max: 300 } }],
      phases: [
        { name: "fill", ops: 3000, mix: { alloc: { weight: 1, orders: { "0": 8, "3": 1 } }, free: { weight: 0.2 } } },
        {
          name: "churn", ops: 4000,
          mix: {
            alloc: [
              { weight: 4, migratetype: "unmovable", orders: { "0": 3, "2": 1 } },
              { weight: 4, migratetype: "reclaimable" },
              { weight: 4, orders: { "0": 1 } },
              { weight: 0.5, orders: { "9": 1 }, holdOps: { min: 10, max: 200 }, label: "thp" },
            ],
            free: [{ weight: 6, policy: "fifo" }, { weight: 4, migratetype: "unmovable" }],
            cma: { weight: 0.5, count: 64, alignOrder: 4, holdOps: 50 },
            pin: [{ weight: 1, holdOps: { min: 1, max: 100 } }, { weight: 0.3, longterm: true }],
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

  it("applies configuration overrides and checks them", async () => {
    const scenario = loadScenario("camera");
    const r = await runScenario(scenario, { scale: 0.02, pageblockOrder: 10, cmaFirstBalance: false });
    expect(r.machine.pageblockOrder).toBe(10);
    expect(r.maps[0]!.pageblockNrPages).toBe(1024);
    await expect(runScenario(scenario, { scale: 0.02, maxOrder: 3 })).rejects.toThrow("maxOrder 3: phase \"boot\" allocates above it");
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
    for (const f of ["extfrag.svg", "unusable.svg", "free-pages.svg", "pageblocks.svg", "cma.svg"]) expect(files).toContain(f);
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
