import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSystem } from "dmasim";
import {
  COMPACTION_TRACE_EVENTS,
  createReplayer,
  parseTraceLine,
  runScenario,
  validateScenario,
  writeReport,
  type LabResult,
  type ScenarioSpec,
} from "dmasim/lab";
import { presetConfigs, validateConfigs } from "../../bindings/cli/compare.ts";

const tmp = mkdtempSync(join(tmpdir(), "dmasim-lab-compaction-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A 32 MiB machine filled with movable pages, then holed at random, then asked
// for 2 MiB (order-9) blocks: only compaction can make them.
const THP_HOLES: ScenarioSpec = {
  name: "thp-holes",
  machine: { ramBytes: "32 MiB" },
  msPerOp: 5,
  samples: 20,
  phases: [
    { name: "fill", ops: 8000, mix: { alloc: { weight: 1, migratetype: "movable", orders: { "0": 1 } } } },
    { name: "holes", ops: 3000, mix: { free: { weight: 1, policy: "random" } } },
    {
      name: "thp",
      ops: 400,
      mix: {
        alloc: { weight: 1, migratetype: "movable", orders: { "9": 1 }, label: "thp" },
        free: { weight: 1, policy: "random" },
      },
    },
  ],
};

function stable(r: LabResult): string {
  const { timing: _t, backend: _b, ...rest } = r;
  return JSON.stringify(rest);
}

describe("the Lab's clock and compaction metrics", () => {
  it("advances floor(t × msPerOp) ms per operation and samples compaction, identically on both backends", async () => {
    const scenario = validateScenario(THP_HOLES);
    const r = await runScenario(scenario);
    const ts = await runScenario(scenario, { backend: "ts" });
    expect(stable(ts)).toBe(stable(r));
    for (const s of r.samples) expect(s.compaction.timeMs).toBe(Math.floor(s.t * 5));
    expect(r.summary.simulatedMs).toBe(11_400 * 5);
    const last = r.samples.at(-1)!.compaction;
    // The counters behind the sample, split by who did the work.
    expect(last.stalls).toBe(r.summary.compactStall);
    expect(last.kcompactdWakes).toBe(r.summary.compactDaemonWake);
    expect(last.directMigrateScanned + last.daemonMigrateScanned).toBe(r.summary.compactMigrateScanned);
    expect(last.daemonMigrateScanned).toBe(r.summary.compactDaemonMigrateScanned);
    expect(last.directMigrated + last.daemonMigrated).toBe(r.summary.compactMigrated);
    expect(last.daemonMigrated).toBe(r.summary.compactDaemonMigrated);
    // Cumulative counters never go down; every kind of work happened here.
    for (const key of Object.keys(last) as (keyof typeof last)[]) {
      if (key === "fragmentationScore") continue;
      for (let i = 1; i < r.samples.length; i++)
        expect(r.samples[i]!.compaction[key]).toBeGreaterThanOrEqual(r.samples[i - 1]!.compaction[key]);
    }
    expect(last.stalls).toBeGreaterThan(0);
    // 6.12 with reclaim: kcompactd is woken for an order by kswapd going to sleep
    // after its reclaim dropped sc.order to 0 (kswapd_try_to_sleep()), by a boosted
    // node's balance_pgdat() (pageblock_order), or by a waker that cannot
    // direct-reclaim on a balanced node. This workload has no page cache for
    // kswapd to reclaim and its requests may direct-reclaim: kcompactd never
    // runs for an order; its migrations are proactive compaction's.
    expect(last.kcompactdWakes).toBe(0);
    expect(last.directMigrated).toBeGreaterThan(0);
    expect(last.daemonMigrated).toBeGreaterThan(0);
    // Huge pages with compaction, none without.
    const off = await runScenario(scenario, { compaction: false });
    expect(off.samples.at(-1)!.compaction).toMatchObject({ stalls: 0, kcompactdWakes: 0, daemonMigrated: 0 });
    expect(off.summary["alloc.thp.failed"]).toBe(off.summary["alloc.thp.requests"]);
    expect(r.summary["alloc.thp.failed"]).toBeLessThan(r.summary["alloc.thp.requests"]!);
    // The report plots both compaction charts.
    const dir = join(tmp, "report");
    await writeReport(r, dir);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["compaction.svg", "compaction-work.svg"]));
  });

  it("takes compactionProactiveness and extfragThreshold as configuration, recorded in the result", async () => {
    const scenario = validateScenario(THP_HOLES);
    const r = await runScenario(scenario, { compactionProactiveness: 0, extfragThreshold: 1000 });
    expect(r.config).toEqual({ compactionProactiveness: 0, extfragThreshold: 1000 });
    // extfrag_threshold 1000: no costly order is ever compacted, directly or by kcompactd.
    expect(r.samples.at(-1)!.compaction).toMatchObject({ directMigrated: 0, daemonMigrated: 0 });
  });

  it("validates msPerOp", () => {
    for (const bad of [-1, "1", Infinity, 3_600_001])
      expect(() => validateScenario({ ...THP_HOLES, msPerOp: bad })).toThrow(/scenario\.msPerOp/);
    expect(validateScenario({ ...THP_HOLES, msPerOp: undefined }).msPerOp).toBe(1);
    expect(validateScenario({ ...THP_HOLES, msPerOp: 0.25 }).msPerOp).toBe(0.25);
  });
});

describe("compare --preset compaction", () => {
  it("compares compaction on and off, proactiveness 0 and 90, extfrag_threshold 0, boosting off", () => {
    expect(presetConfigs("compaction")).toEqual([
      { label: "compaction (6.12 defaults)" },
      { label: "no compaction", compaction: false },
      { label: "no proactive compaction", compactionProactiveness: 0 },
      { label: "proactiveness 90", compactionProactiveness: 90 },
      { label: "extfrag_threshold 0", extfragThreshold: 0 },
      { label: "no watermark boost", watermarkBoostFactor: 0 },
    ]);
    expect(() => presetConfigs("nope")).toThrow(/presets: default, compaction/);
    expect(() => validateConfigs([{ label: "x", compactionProactiveness: 101 }])).toThrow(/compactionProactiveness/);
    expect(() => validateConfigs([{ label: "x", extfragThreshold: -1 }])).toThrow(/extfragThreshold/);
    expect(() => validateConfigs([{ label: "x", watermarkBoostFactor: -1 }])).toThrow(/watermarkBoostFactor/);
    expect(validateConfigs([{ label: "x", watermarkBoostFactor: 0 }])).toEqual([
      { label: "x", watermarkBoostFactor: 0 },
    ]);
  });
});

// Lines of a real capture (Debian 6.1, tmpfs, 512 MiB: compact_memory at boot;
// /work/shared/realkernel/captures/debian-6.1-tmpfs-512m/trace.txt.gz).
const REAL = [
  "      kcompactd0-28      [000] .....     0.392989: mm_compaction_kcompactd_sleep: nid=0",
  "            init-1       [000] .....     4.918914: mm_compaction_suitable: node=0 zone=DMA      order=-1 ret=continue",
  "            init-1       [000] .....     4.918915: mm_compaction_begin: zone_start=0x1 migrate_pfn=0x1 free_pfn=0xe00 zone_end=0x1000, mode=sync",
  "            init-1       [000] .....     4.918915: mm_compaction_finished: node=0 zone=DMA      order=-1 ret=continue",
  "            init-1       [000] .....     4.918935: mm_compaction_isolate_migratepages: range=(0x1 ~ 0x200) nr_scanned=290 nr_taken=0",
  "            init-1       [000] .....     4.919010: mm_compaction_end: zone_start=0x1 migrate_pfn=0xe00 free_pfn=0xe00 zone_end=0x1000, mode=sync status=complete",
  "            init-1       [000] .....     4.919283: mm_compaction_isolate_freepages: range=(0x1f000 ~ 0x1f200) nr_scanned=258 nr_taken=4",
  "            init-1       [000] .....     4.919502: mm_compaction_migratepages: nr_migrated=32 nr_failed=0",
  "            init-1       [000] .....     4.924115: mm_compaction_migratepages: nr_migrated=133 nr_failed=259",
];

describe("parseTraceLine: compaction events (include/trace/events/compaction.h)", () => {
  it("reads a real 6.1 capture's lines, with their timestamps", () => {
    const ev = REAL.map((l) => {
      const p = parseTraceLine(l);
      if (!("event" in p)) throw new Error(`${l}: ${p.skip}`);
      return p.event;
    });
    expect(ev.map((e) => e.name)).toEqual([
      "mm_compaction_kcompactd_sleep",
      "mm_compaction_suitable",
      "mm_compaction_begin",
      "mm_compaction_finished",
      "mm_compaction_isolate_migratepages",
      "mm_compaction_end",
      "mm_compaction_isolate_freepages",
      "mm_compaction_migratepages",
      "mm_compaction_migratepages",
    ]);
    expect(ev[0]).toMatchObject({ pfn: null, timestamp: 0.392989, compaction: {} });
    expect(ev[1]).toMatchObject({ order: -1, timestamp: 4.918914, compaction: { zone: "DMA", result: "continue" } });
    expect(ev[2]!.compaction).toEqual({ zoneStart: 1, migratePfn: 1, freePfn: 0xe00, zoneEnd: 0x1000, mode: "sync" });
    expect(ev[4]!.compaction).toEqual({ startPfn: 1, endPfn: 0x200, nrScanned: 290, nrTaken: 0 });
    expect(ev[5]!.compaction).toMatchObject({ migratePfn: 0xe00, result: "complete" });
    expect(ev[6]!.compaction).toEqual({ startPfn: 0x1f000, endPfn: 0x1f200, nrScanned: 258, nrTaken: 4 });
    expect(ev[8]!.compaction).toEqual({ nrMigrated: 133, nrFailed: 259 });
  });

  it("reads the formats the capture did not exercise, from its event_formats.txt", () => {
    const p = (l: string) => parseTraceLine(l);
    expect(
      p("kcompactd0-28 [001] ..... 12.5: mm_compaction_kcompactd_wake: nid=0 order=9 classzone_idx=Normal  "),
    ).toMatchObject({ event: { order: 9, timestamp: 12.5, compaction: { zone: "Normal" } } });
    expect(p("mm_compaction_wakeup_kcompactd: nid=0 order=2 highest_zoneidx=DMA32   ")).toMatchObject({
      event: { order: 2, compaction: { zone: "DMA32" } },
    });
    expect(p("mm_compaction_deferred: node=0 zone=Normal   order=9 order_failed=9 consider=1 limit=2")).toMatchObject({
      event: { order: 9, compaction: { zone: "Normal", orderFailed: 9, considered: 1, limit: 2 } },
    });
    expect(p("mm_compaction_try_to_compact_pages: order=9 gfp_mask=GFP_TRANSHUGE priority=2")).toMatchObject({
      event: { order: 9, compaction: { priority: 2 } },
    });
    expect(p("mm_compaction_isolate_freepages: nr_scanned=1 nr_taken=0")).toEqual({ skip: "malformed: missing range" });
    expect(p("mm_compaction_finished: node=0 zone=Highmem order=3 ret=success")).toEqual({
      skip: "malformed: bad zone",
    });
    expect(p("mm_compaction_begin: zone_start=0x1 migrate_pfn=0x1 free_pfn=0xe00 zone_end=0x1000, mode=fast")).toEqual({
      skip: "malformed: bad mode",
    });
    expect([...COMPACTION_TRACE_EVENTS].every((n) => n.startsWith("mm_compaction_"))).toBe(true);
  });
});

describe("replay: the traced kernel's compaction beside the simulation's", () => {
  it("counts the compaction events as observations and follows the trace's clock", async () => {
    const sys = await createSystem({ ramBytes: 64 * 2 ** 20 });
    const r = createReplayer(sys);
    for (const l of REAL) r.feed(l);
    const out = r.finish();
    expect(out.events.parsed).toBe(REAL.length);
    expect(out.replay).toMatchObject({
      traceCompactEvents: 9,
      traceCompactions: 1,
      traceCompactSuccess: 0, // status=complete
      traceCompactMigrateScanned: 290,
      traceCompactFreeScanned: 258,
      traceCompactIsolated: 4,
      traceCompactMigrated: 32 + 133,
      traceCompactMigrateFailed: 259,
      traceKcompactdWakes: 0,
      simCompactMigrated: 0,
      // (4.924115 − 0.392989) s = 4531.126 ms, rounded down.
      simulatedMs: 4531,
    });
    expect(out.summary).toMatchObject({ traceCompactMigrated: 165, simCompactMigrated: 0, simulatedMs: 4531 });
    // The idle machine's clock passed nine proactive checks (500, 1000 … 4500 ms) that found nothing to do.
    expect(sys.kcompactdState().nextTimeoutMs).toBe(5000);
  });
});
