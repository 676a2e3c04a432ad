import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runTwin, twinReportHtml, type TwinResult } from "dmasim/lab";
import { BACKENDS } from "../helpers.ts";

/** The hand-written capture of twin.test.ts (its comment lists the nine decisions and dmasim's picks). */
const SMALL = join(import.meta.dirname, "..", "fixtures", "twin-small");

/** The plots of a twin report, decoded from their data URIs, by alt text. */
function figures(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<img src="data:image\/svg\+xml;base64,([^"]+)" alt="([^"]+)">/g))
    out.set(m[2]!, Buffer.from(m[1]!, "base64").toString("utf8"));
  return out;
}

/** The cells of the phases table's row for `phase` (the first row whose first cell is the phase's name). */
function phaseRow(html: string, phase: string): string {
  const row = html.split("<tr>").find((r) => r.startsWith(`<td>${phase}</td>`));
  expect(row, phase).toBeDefined();
  return row!;
}

describe("twin: agreement over time", () => {
  it("cuts follow mode's decisions into windows that add up to the totals, the same on both backends", async () => {
    const results: TwinResult[] = [];
    for (const backend of BACKENDS)
      results.push(await runTwin(SMALL, { mode: "follow", backend, kernel: "6.12", timelineWindow: 2 }));
    const [a, b] = results as [TwinResult, TwinResult];
    const f = a.fidelity.follow!;
    // The nine mm_page_alloc_zone_locked lines are 12, 14, 16, 18, 20, 22, 28, 33, 36; with 6.12's rules
    // decisions 3 (line 16), 5 (line 20) and 9 (line 36) miss (twin.test.ts's list). Windows of two:
    expect(f.timeline).toEqual({
      window: 2,
      points: [
        { line: 14, phase: "boot", decisions: 2, agreed: 2, windowDecisions: 2, windowAgreed: 2 },
        { line: 18, phase: "boot", decisions: 4, agreed: 3, windowDecisions: 2, windowAgreed: 1 },
        { line: 22, phase: "boot", decisions: 6, agreed: 4, windowDecisions: 2, windowAgreed: 1 },
        { line: 33, phase: "boot", decisions: 8, agreed: 6, windowDecisions: 2, windowAgreed: 2 },
        // The after_workload marker (line 40) ends the last window with one decision.
        { line: 36, phase: "boot", decisions: 9, agreed: 6, windowDecisions: 1, windowAgreed: 0 },
      ],
    });
    expect(a.trace.markers).toEqual([
      { line: 10, label: "boot", kind: "snapshot" },
      { line: 40, label: "after_workload", kind: "snapshot" },
    ]);
    // The default window (1,000) holds all nine.
    const whole = await runTwin(SMALL, { mode: "follow", kernel: "6.12" });
    expect(whole.fidelity.follow!.timeline.points).toEqual([
      { line: 36, phase: "boot", decisions: 9, agreed: 6, windowDecisions: 9, windowAgreed: 6 },
    ]);
    expect(b.fidelity).toEqual(a.fidelity);
    expect(b.stateHash).toEqual(a.stateHash);
    for (const bad of [0, -1, 1.5, Number.NaN])
      await expect(runTwin(SMALL, { timelineWindow: bad })).rejects.toMatchObject({ code: "EINVAL" });
  });
});

describe("twin: the explanations of the gaps", () => {
  it("names 6.1's list rules for a 6.1 capture under 6.12's, and nothing under 6.1's own", async () => {
    const r = await runTwin(SMALL, { mode: "both", kernel: "6.12" });
    // The ninth decision misses because 6.1 drained pfn 200 to the movable list of an unmovable pageblock
    // (missCauses.kernelBlockOnOtherList = 1); no compact_memory marker, no list-order miss.
    expect(r.fidelity.explanations.map((e) => [e.cause, e.modes, e.phases, e.misses])).toEqual([
      ["linux61-lists", ["follow"], ["after_workload"], 1],
    ]);
    expect(r.fidelity.explanations[0]!.text).toContain("Linux 6.1.192, replayed with 6.12's rules");
    expect(r.fidelity.follow!.phases[0]!.notes).toEqual(["linux61-lists"]);
    expect(r.fidelity.freeRun!.phases[0]!.notes).toEqual([]);
    const own = await runTwin(SMALL, { mode: "follow" });
    expect(own.fidelity.explanations).toEqual([]);
    expect(own.fidelity.follow!.phases[0]!.notes).toEqual([]);
  });
});

describe("twin: the report (--out DIR)", () => {
  const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, "twin", ...args], { encoding: "utf8" });

  it("writes twin.json and index.html with the fidelity section; --json and the summary carry the notes", () => {
    const out = mkdtempSync(join(tmpdir(), "twin-report-"));
    try {
      const json = run(SMALL, "--json", "--out", out, "--kernel", "6.12", "--backend", "ts");
      expect(json.status).toBe(0);
      const result = JSON.parse(json.stdout) as TwinResult;
      expect(JSON.parse(readFileSync(join(out, "twin.json"), "utf8"))).toEqual(result);
      expect(result.fidelity.explanations.map((e) => e.cause)).toEqual(["linux61-lists"]);
      const html = readFileSync(join(out, "index.html"), "utf8");
      expect(html).toContain('<h2 id="fidelity">Fidelity</h2>');
      expect(html).toContain("66.67% (6 of 9 buddy-level allocations)");
      // The plots are inlined: the agreement over time, with the snapshot markers, and the distances.
      const plots = figures(html);
      expect([...plots.keys()]).toEqual(["agreement over time", "free-list distance per snapshot"]);
      expect(plots.get("agreement over time")).toContain(">after_workload</text>");
      expect(plots.get("agreement over time")).toContain("trace line");
      // Each snapshot's distances (follow, free run) and the notes that concern it.
      const fr = result.fidelity.freeRun!.phases[0]!;
      const row = phaseRow(html, "after_workload");
      expect(row).toContain(`<td class="n">0.0000</td>`);
      expect(row).toContain(`<td class="n">${fr.freeListDistance.toFixed(4)}</td>`);
      expect(row).toContain('href="#linux61-lists"');
      expect(html).toContain('<li id="linux61-lists">');
      // No compact_memory in this capture: no compaction note anywhere.
      expect(html).not.toContain("compaction-free-scanner");
      // The first miss (twin.test.ts's decision 3: unmovable o0 → 12 at line 16, dmasim names 9).
      expect(html).toContain(
        '<td class="n">16</td><td>boot</td><td>unmovable order 0 (per-cpu refill)</td><td>pfn 12, unmovable order-2 block at pfn 12</td><td>pfn 9, unmovable order-0 block at pfn 9</td>',
      );
      expect(html).not.toMatch(/<script|https?:\/\/(?!vega\.github\.io)/);
      const text = run(SMALL, "--kernel", "6.12", "--mode", "follow");
      expect(text.stdout).toContain(
        "  note     a 6.1 capture under another profile: 6.1's free-list rules differ (see linux61Lists) (follow at after_workload; 1 follow-mode misses)",
      );
      expect(run(SMALL, "--mode", "follow").stdout).not.toContain("note ");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/** The realkernel harness's 6.12 CMA capture (see twin.test.ts): compact_memory runs between two CMA phases. */
const RKCMA612 = join(import.meta.dirname, "..", "fixtures", "twin-rkcma612");

describe("twin: the report of a real capture with compact_memory between snapshots", () => {
  it("notes the free scanner exactly at the snapshots after compact_memory, in the JSON and the page", async () => {
    const r = await runTwin(RKCMA612, { mode: "both" });
    const f = r.fidelity.follow!;
    const fr = r.fidelity.freeRun!;
    const points = f.timeline.points;
    expect(points.reduce((s, p) => s + p.windowDecisions, 0)).toBe(f.decisions);
    expect(points.reduce((s, p) => s + p.windowAgreed, 0)).toBe(f.agreed);
    expect(points.at(-1)).toMatchObject({ decisions: f.decisions, agreed: f.agreed });
    for (let i = 1; i < points.length; i++) expect(points[i]!.line).toBeGreaterThan(points[i - 1]!.line);
    expect(points.every((p) => p.windowDecisions >= 1 && p.windowDecisions <= 1000)).toBe(true);
    // The harness's order (its HARNESS_MMSNAP markers): after_workload, after_cma_alloc, after_cma_freeodd,
    // then compact_memory, after_compact, after_cma_free.
    const order = r.trace.markers.map((m) => m.label);
    expect(order).toEqual([
      "boot",
      "after_workload",
      "after_cma_alloc",
      "after_cma_freeodd",
      "compact_start",
      "compact_end",
      "after_compact",
      "after_cma_free",
    ]);
    const start = r.trace.markers[4]!.line;
    // Windows never straddle compact_start: those after it are labelled compact_memory or a later snapshot.
    expect(points.filter((p) => p.line > start).every((p) => p.phase !== "after_cma_freeodd")).toBe(true);
    expect(points.some((p) => p.phase === "compact_memory")).toBe(true);
    const compaction = r.fidelity.explanations.find((e) => e.cause === "compaction-free-scanner")!;
    expect(compaction).toMatchObject({ modes: ["follow", "free-run"], phases: ["after_compact", "after_cma_free"] });
    // Its misses are the decisions after compact_start that disagreed, counted from the windows.
    const after = points.filter((p) => p.line > start);
    expect(compaction.misses).toBe(after.reduce((s, p) => s + p.windowDecisions - p.windowAgreed, 0));
    expect(compaction.misses).toBeGreaterThan(0);
    expect(compaction.text).toContain(`dmasim migrated ${fr.compaction.migrated} pages, the kernel 2146`);
    for (const checks of [f.phases, fr.phases])
      for (const p of checks)
        expect(p.notes.includes("compaction-free-scanner"), p.phase).toBe(
          p.phase === "after_compact" || p.phase === "after_cma_free",
        );
    // List-order misses on a block untouched since the boot snapshot, before compact_memory: the boot lists' order.
    const boot = r.fidelity.explanations.find((e) => e.cause === "boot-list-order")!;
    const beforeCompaction = f.phases.filter((p) => !compaction.phases.includes(p.phase));
    expect(boot.misses).toBe(beforeCompaction.reduce((s, p) => s + p.sincePrevious!.bootListOrderMisses, 0));
    expect(boot.misses).toBeGreaterThan(0);
    expect(f.listOrderFromBoot).toBeLessThanOrEqual(f.missCauses.listOrder);
    expect(boot.phases.every((p) => !compaction.phases.includes(p))).toBe(true);
    const html = await twinReportHtml(r);
    for (const p of fr.phases) {
      const row = phaseRow(html, p.phase);
      const fp = f.phases.find((q) => q.phase === p.phase)!;
      expect(row).toContain(`<td class="n">${p.freeListDistance.toFixed(4)}</td>`);
      expect(row).toContain(`<td class="n">${fp.freeListDistance.toFixed(4)}</td>`);
      expect(row.includes('href="#compaction-free-scanner"'), p.phase).toBe(
        p.notes.includes("compaction-free-scanner"),
      );
    }
    expect(html).toContain('<li id="compaction-free-scanner">');
    expect(html).toContain(`<td class="n">${f.firstMisses[0]!.line}</td>`);
    expect(figures(html).get("agreement over time")).toContain(">compact_start</text>");
    const ts = await runTwin(RKCMA612, { mode: "follow", backend: "ts" });
    expect(ts.fidelity.follow!.timeline).toEqual(f.timeline);
    expect(ts.trace.markers).toEqual(r.trace.markers);
  }, 60_000);
});
