import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario, validateScenario, writeReport, type ScenarioSpec } from "dmasim/lab";

const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-files-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BACKENDS = ["wasm", "ts"] as const;

// One file of 10 pages on a roomy machine (nothing is reclaimed), each phase a
// single kind of operation, so every extent follows from the cursors by hand.
const CURSORS: ScenarioSpec = {
  name: "cursors",
  machine: { ramBytes: "32 MiB" },
  files: [{ name: "f", bytes: 10 * 4096 }],
  phases: [
    // Sequential reads of 4 pages: [0,4) [4,8) [8,10) (cut at the end) then [0,4) again.
    { name: "read", ops: 4, mix: { read: { weight: 1, pages: 4, pattern: "sequential" } } },
    // Appends of 3 pages from the start: [0,3) [3,6) [6,9) [9,10) then [0,3).
    { name: "append", ops: 5, mix: { write: { weight: 1, pages: 3 } } },
    { name: "sync", ops: 1, mix: { fsync: { weight: 1 } } },
    { name: "truncate", ops: 1, mix: { truncate: { weight: 1 } } },
  ],
  samples: 4,
};

// A 64 MiB machine whose anonymous memory and a 48 MiB file's page cache do not
// fit together: kswapd and direct reclaim drop clean cache.
const PRESSURE: ScenarioSpec = {
  name: "pressure",
  machine: { ramBytes: "64 MiB" },
  files: [{ name: "db", bytes: "48 MiB" }],
  samples: 20,
  phases: [
    {
      name: "fill",
      ops: 12000,
      mix: {
        alloc: { weight: 2, migratetype: "movable", orders: { "0": 1 } },
        read: { weight: 1, file: "db", pages: { min: 1, max: 16 } },
        write: { weight: 0.2, file: "db", pages: { min: 1, max: 4 }, pattern: "random" },
        fsync: { weight: 0.05 },
      },
    },
  ],
};

describe("Lab file operations", () => {
  it("follow the files' cursors and count what the page cache did", async () => {
    for (const backend of BACKENDS) {
      const r = await runScenario(validateScenario(CURSORS), { backend });
      const s = r.summary;
      // Reads: 4 + 4 + 2 pages read in, then the fourth read finds [0,4) cached.
      expect(s["file.reads"]).toBe(4);
      expect(s["file.readPages"]).toBe(14);
      expect(s["file.readHits"]).toBe(4);
      // Appends: 3 + 3 + 3 + 1 pages, every one cached already by the reads, then [0,3) again.
      expect(s["file.writes"]).toBe(5);
      expect(s["file.writePages"]).toBe(13);
      expect(s["file.writeHits"]).toBe(13);
      // sync(): all ten pages were dirtied, each written back once.
      expect(s["file.fsyncs"]).toBe(1);
      expect(s["file.writtenBack"]).toBe(10);
      // The truncate frees the whole file.
      expect(s["file.truncatedPages"]).toBe(10);
      expect(s["file.f.cachedPages"]).toBe(0);
      expect(s["end.filePages"]).toBe(0);
    }
  });

  it("meet reclaim under pressure, the same on both backends, and the report shows it", async () => {
    const scenario = validateScenario(PRESSURE);
    const [w, t] = await Promise.all(BACKENDS.map((backend) => runScenario(scenario, { backend })));
    expect(t!.stateHash).toBe(w!.stateHash);
    expect(t!.summary).toEqual(w!.summary);
    const s = w!.summary;
    // 48 MiB of file and a growing anonymous fill cannot both stay: cache was reclaimed.
    expect(s["pgstealKswapd"]! + s["pgstealDirect"]!).toBeGreaterThan(0);
    expect(s["pgscanKswapd"]!).toBeGreaterThanOrEqual(s["pgstealKswapd"]!);
    expect(s["file.readHits"]!).toBeLessThan(s["file.readPages"]!);
    // The summary and the last sample read the same counters.
    const last = w!.samples.at(-1)!.reclaim;
    expect(last.stolenKswapd).toBe(s["pgstealKswapd"]);
    expect(last.stolenDirect).toBe(s["pgstealDirect"]);
    expect(last.filePages).toBe(s["end.filePages"]);
    expect(last.filePages).toBe(s["file.db.cachedPages"]);
    // Cumulative reclaim counters never go down.
    for (let i = 1; i < w!.samples.length; i++) {
      const [a, b] = [w!.samples[i - 1]!.reclaim, w!.samples[i]!.reclaim];
      expect(b.scannedKswapd + b.scannedDirect).toBeGreaterThanOrEqual(a.scannedKswapd + a.scannedDirect);
    }
    const dir = join(tmp, "report");
    await writeReport(w!, dir);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["memory-use.svg", "reclaim.svg"]));
  });
});
