import { describe, expect, it } from "vitest";
import { createSystem } from "dmasim";
import {
  builtinScenarioNames,
  defaultMinFreeKbytes,
  loadScenario,
  runScenario,
  scaleScenarioChecked,
  validateScenario,
  type LabResult,
} from "dmasim/lab";
import { dmaSimErrorOf, MIB } from "../helpers.ts";

// `scale` shrinks the machine and the work together. Unit checks of what it
// scales and what it keeps, then the experiment itself: every built-in scenario
// at scale 0.25 keeps the ratios that say what it studies, within a band of
// scale 1 (both means over the same eight seeds).

describe("scaleScenarioChecked()", () => {
  const spec = () => ({
    name: "t",
    machine: { ramBytes: "512 MiB" },
    areas: [{ name: "cam", bytes: "64 MiB" }],
    devices: [
      {
        name: "camera",
        area: "cam",
        frameBytes: "8 MiB",
        alignOrder: 8,
        buffers: 6,
        periodOps: 1000,
        holdOps: { min: 100, max: 400 },
      },
    ],
    processes: [{ name: "app", dmabufLimitBytes: "96 MiB" }],
    phases: [
      {
        name: "a",
        ops: 4000,
        mix: {
          alloc: { weight: 1, orders: { "0": 1, "9": 1 }, holdOps: 200 },
          contig: { weight: 1, count: 512 },
          heap: { weight: 1, process: "app", bytes: "4 MiB", holdOps: 100 },
        },
      },
    ],
  });

  it("shrinks RAM, areas, frames, limits, min_free_kbytes and durations; keeps orders, counts and buffer sizes", () => {
    const s = validateScenario(spec());
    const { scenario: q, warnings } = scaleScenarioChecked(s, 0.25);
    expect(q.machine.ramBytes).toBe(128 * MIB);
    // The full-size default, int_sqrt(524288 KiB * 16) = 2896 (2896² = 8386816 ≤ 8388608 < 2897²), × 0.25.
    expect(q.machine.minFreeKbytes).toBe(724);
    expect(q.areas[0]!.bytes).toBe(16 * MIB);
    // 2048 pages × 0.25; the alignment stays order 8 (get_order(512 pages) = 9, capped at CONFIG_CMA_ALIGNMENT's 8).
    expect(q.devices[0]).toMatchObject({
      framePages: 512,
      alignOrder: 8,
      periodOps: 250,
      holdOps: { min: 25, max: 100 },
    });
    expect(q.processes[0]!.dmabufLimitBytes).toBe(24 * MIB);
    expect(q.phases[0]!.ops).toBe(1000);
    expect(q.msPerOp).toBe(4);
    const [alloc, contig, heap] = q.phases[0]!.mix;
    expect(alloc).toMatchObject({ kind: "alloc", hold: { min: 50, max: 50 } });
    expect(alloc!.kind === "alloc" && alloc!.orders[9]).toBe(1); // an order-9 request stays order 9
    expect(contig).toMatchObject({ kind: "contig", count: 512 });
    expect(heap).toMatchObject({ kind: "heap", sizes: [4 * MIB], hold: { min: 25, max: 25 } });
    // A 4 MiB buffer is 1/24 of a 96 MiB limit, and 1/6 of 24 MiB: past the coarse share (1/8).
    expect(warnings).toEqual([
      `4 MiB system heap buffers of "app" are 16.7% of process "app"'s dma-buf limit (4.2% at scale 1)`,
    ]);
    // Factor 1 is the scenario itself; a bad factor is EINVAL.
    expect(scaleScenarioChecked(s, 1).scenario).toBe(s);
    expect(dmaSimErrorOf(() => scaleScenarioChecked(s, 0)).code).toBe("EINVAL");
    expect(dmaSimErrorOf(() => scaleScenarioChecked(s, Number.NaN)).code).toBe("EINVAL");
  });

  it("the default min_free_kbytes it scales is the engine's", async () => {
    for (const ramBytes of [512 * MIB, 128 * MIB, 16 * MIB]) {
      const sys = await createSystem({ ramBytes, backend: "ts" });
      // __setup_per_zone_wmarks(): the only zone's min watermark is all of min_free_kbytes, in pages.
      expect(sys.zones()[0]!.watermarks.min).toBe(defaultMinFreeKbytes(ramBytes) >> 2);
    }
    // Clamped to 128 below 1 MiB of lowmem: int_sqrt(1024 * 16) = 128, int_sqrt(512 * 16) = 90 → 128.
    expect(defaultMinFreeKbytes(1 * MIB)).toBe(128);
    expect(defaultMinFreeKbytes(MIB / 2)).toBe(128);
  });

  it("says what it cannot keep: areas rounded to whole pageblocks, frames that no longer fit, too few pageblocks", () => {
    const s = validateScenario(spec());
    // 64 MiB × 0.01 = 0.64 MiB: one 2 MiB pageblock at least (cma_declare_contiguous_nid() wants whole ones).
    const { scenario: tiny, warnings } = scaleScenarioChecked(s, 0.01);
    expect(tiny.areas[0]!.bytes).toBe(2 * MIB);
    expect(tiny.machine.ramBytes).toBe(6 * MIB); // 5.12 MiB → 3 pageblocks
    expect(warnings.join("\n")).toContain('area "cam" 64 MiB × 0.01 rounds to 2 MiB (whole 2 MiB CMA granules)');
    expect(warnings.join("\n")).toContain("RAM holds 3 pageblocks (fewer than 64)");
    // Frames of 20 pages at 32-page alignment take 6 × 32 of the area's 512 pages: 37.5% instead of 75%.
    expect(warnings.join("\n")).toContain('device "camera": its frames take 37.5% of area "cam" instead of 75.0%');
    // Six 0.84 MiB frames in a 2 MiB area of 0.1: no longer fit.
    const fit = spec();
    fit.areas[0]!.bytes = "16 MiB";
    fit.devices[0]!.frameBytes = "2 MiB";
    const w = scaleScenarioChecked(validateScenario(fit), 0.15).warnings.join("\n");
    expect(w).toContain('device "camera": 6 frames of 77 pages (aligned to 128) no longer fit area "cam" (512 pages)');
  });
});

/** A ratio of a run that says what its scenario studies. */
type Ratio = (summary: Record<string, number>, scale: number) => number;

interface Band {
  ratio: Ratio;
  /** How the means may differ: `points` apart at most, or a quotient within [lo, hi]. */
  points?: number;
  quotient?: [number, number];
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const pct = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
/** Unmovable and reclaimable pageblocks, as a share of all pageblocks: how far kernel memory has spread. */
const kernelPageblockPct: Ratio = (s) => {
  // A type with no pageblock left is absent from the summary.
  const kernel = s["end.pageblocks.unmovable"]! + (s["end.pageblocks.reclaimable"] ?? 0);
  return pct(kernel, kernel + s["end.pageblocks.movable"]! + (s["end.pageblocks.cma"] ?? 0));
};

/**
 * The bands, per scenario, and why they are as wide as they are. Means over
 * eight seeds; the seed-to-seed spread of each ratio (at scale 1) is given in
 * brackets, as measured when the bands were set.
 */
const BANDS: Record<string, Record<string, Band>> = {
  camera: {
    // Free memory at the end [3.8..10.6%]: the fill is the mix's and the page cache takes
    // the rest, down to what kswapd keeps free, in proportion.
    freePct: { ratio: (s) => s["end.freePct"]!, points: 3 },
    // Kernel pageblocks [10.9..12.1%]: fallbacks claim in proportion.
    kernelPageblockPct: { ratio: kernelPageblockPct, points: 3 },
    // Pages migrated per CMA page allocated [0.5..1.2]: with the page cache the area is lent out
    // fully, so a frame migrates about two thirds of its pages (clean page cache in the range is
    // dropped, not migrated). Measured 0.69 at 1, 0.67 at 0.25. Kept within [0.6, 1.4]×.
    migratedPerCmaPage: {
      // Frames are 8 MiB × scale: 2048 × scale pages.
      ratio: (s, scale) =>
        s["cma.camera.pagesMigrated"]! / ((s["cma.camera.allocs"]! - s["cma.camera.failed"]!) * 2048 * scale),
      quotient: [0.6, 1.4],
    },
    // Frames that failed [8.3..44.4%]: a frame that meets a short-term pinned page retries
    // elsewhere (busy retries) and fails when no aligned range is free of pins; with the area
    // lent out to page cache and anonymous memory that happens often. Measured 26.0% at 1,
    // 32.6% at 0.25 (seeds 0..72%); within 10 points.
    cmaFailedPct: { ratio: (s) => pct(s["cma.camera.failed"]!, s["cma.camera.allocs"]!), points: 10 },
  },
  server: {
    // Free memory at the end [4.6..9.9%]: pressure (and kswapd, which keeps free memory
    // above the high watermark by reclaiming page cache) holds it near the same share at any size.
    freePct: { ratio: (s) => s["end.freePct"]!, points: 3 },
    // Kernel pageblocks [28.9..31.3%]: measured 29.7% at 1, 26.6% at 0.25 (seeds 23.4..31.3%). At 0.25
    // a pageblock is 1.6 points of the 64, so the means differ by about two pageblocks; since
    // compaction re-adds the folios it migrates at the head of their LRU lists, reclaim picks other
    // pages and the claims move by a pageblock or so (29.4% and 27.7% before). Within 4 points.
    kernelPageblockPct: { ratio: kernelPageblockPct, points: 4 },
    // Huge-page (order-9) failures [8.9..11.9%]: about twice as many at 0.25 (21.3%, seeds
    // 11.8..25.9%). With 64 pageblocks instead of 256 a free one is found in coarser steps, and
    // reclaim frees page cache in batches that do not shrink with the machine (SWAP_CLUSTER_MAX,
    // 32 pages; per-cpu batches), so direct reclaim runs about 1.6× as often per operation and
    // scatters its frees over a quarter of the pageblocks. Within 12 points.
    thpFailedPct: { ratio: (s) => pct(s["alloc.thp.failed"]!, s["alloc.thp.requests"]!), points: 12 },
    // alloc_contig_range() successes [62.3..80.0%]: nine requests a seed at 0.25, so within 15 points.
    contigOkPct: { ratio: (s) => pct(s["contig.ok"]!, s["contig.requests"]!), points: 15 },
  },
  heaps: {
    // Free memory at the end [1.2..3.0%]: a little higher at 0.25 (about 5%), where the game's 4 MiB
    // textures are a sixth of its 24 MiB limit and stop short of it more often (the run warns). Within 5 points.
    freePct: { ratio: (s) => s["end.freePct"]!, points: 5 },
    // Heap allocations that failed [2.8..5.8%].
    heapFailedPct: { ratio: (s) => pct(s["heap.failed"]!, s["heap.requests"]!), points: 4 },
    // The system heap's order-8 hit rate [69.7..84.3%]: its chunk orders are kept, so is the rate.
    order8HitPct: { ratio: (s) => s["heap.system.order8HitPct"]!, points: 8 },
    // Kernel pageblocks: the heap's unmovable chunks claim movable pageblocks in proportion;
    // at 0.25 a pageblock is four times the share, and watermark boosts (a pageblock each)
    // move the claims in coarse steps: measured 32.0% at 1, 27.9% at 0.25. Within 5 points.
    kernelPageblockPct: { ratio: kernelPageblockPct, points: 5 },
  },
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("scale 0.25 keeps each built-in scenario's experiment", () => {
  it("has a band for every built-in scenario", () => {
    expect(Object.keys(BANDS).sort()).toEqual(builtinScenarioNames().sort());
  });

  for (const name of builtinScenarioNames()) {
    it(`${name}: the ratios at 0.25 stay within their bands of scale 1`, async () => {
      const scenario = loadScenario(name);
      const runs = async (scale: number): Promise<LabResult[]> => {
        const out: LabResult[] = [];
        for (const seed of SEEDS) out.push(await runScenario(scenario, { seed, scale, backend: "wasm", samples: 2 }));
        return out;
      };
      const full = await runs(1);
      const quarter = await runs(0.25);
      // A quarter of the machine: RAM, the areas, the frames.
      expect(quarter[0]!.machine.ramBytes).toBe(full[0]!.machine.ramBytes / 4);
      quarter[0]!.machine.cma.forEach((a, i) => expect(a.count).toBe(full[0]!.machine.cma[i]!.count / 4));
      expect(quarter[0]!.summary.ops).toBe(Math.round(full[0]!.summary.ops! / 4));
      const report: string[] = [];
      for (const [key, band] of Object.entries(BANDS[name]!)) {
        const a = mean(full.map((r) => band.ratio(r.summary, 1)));
        const b = mean(quarter.map((r) => band.ratio(r.summary, 0.25)));
        report.push(`${key}: ${a.toFixed(3)} at 1, ${b.toFixed(3)} at 0.25`);
        expect(Number.isFinite(a) && Number.isFinite(b), key).toBe(true);
        if (band.points !== undefined) expect(Math.abs(b - a), report.at(-1)).toBeLessThanOrEqual(band.points);
        if (band.quotient !== undefined) {
          expect(b / a, report.at(-1)).toBeGreaterThanOrEqual(band.quotient[0]);
          expect(b / a, report.at(-1)).toBeLessThanOrEqual(band.quotient[1]);
        }
      }
      // Scale 1 is the scenario as written: no warnings. At 0.25, only heaps warns (its buffers keep their size).
      expect(full.every((r) => r.warnings === undefined)).toBe(true);
      if (name === "heaps") expect(quarter[0]!.warnings).toHaveLength(1);
      else expect(quarter[0]!.warnings).toBeUndefined();
    });
  }
});
