import { spawnSync } from "node:child_process";
import {
  cpSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readCapture, readFreePfns, readLruFolios, runTwin, type TwinResult } from "dmasim/lab";
import { BACKENDS } from "../helpers.ts";

/**
 * A hand-written 8 MiB capture (2048 pages, four pageblocks of 512): DMA spans
 * pfns 1..1023, DMA32 1024..2023. At the boot snapshot the free pages are
 * pageblock 0 (unmovable) 8..15 and 100, pageblock 1 (movable) whole,
 * pageblock 2 (movable) 1024..1279 and 1300..1303, pageblock 3 (reclaimable)
 * 1600..1601. After the boot marker the trace does, with dmasim's prediction:
 *  1. unmovable o0 → 100 (the only unmovable order-0 block): agree;
 *  2. unmovable o0 → 8 (8..15 split: 9, 10, 12 to the list heads): agree;
 *  3. unmovable o0 → 12: dmasim names 9;
 *  4. reclaimable o1 → 1600: agree;
 *  5. movable o0 → 1024 (splitting order 8): dmasim names 1300 (order 2);
 *  6. movable o0 → 1025: agree; then 1025 and 1024 drain back (order 8 again);
 *     1600 is freed to the per-cpu list only (stays held);
 *  7. movable o4 → 512 (bypasses the per-cpu lists): agree; freed straight back;
 *     a drain of 513, which is free: unapplied;
 *  8. a steal (extfrag: unmovable o0 from movable 1024 order 8, claiming the
 *     pageblock), then unmovable o0 → 1300, the claimed block's smallest: agree;
 *  9. 200 (held, unmovable pageblock) drained with migratetype movable, then
 *     movable o0 → 200: dmasim, keeping 200 on the unmovable list, names 512;
 *     the 6.1 list model names 200.
 * At the after_workload marker the free pages must equal the snapshot's.
 */
const SMALL = join(import.meta.dirname, "..", "fixtures", "twin-small");
/** The Debian 6.1 capture of the realkernel harness, shrunk (kpageflags gzipped, no dmesg). */
const DEBIAN = join(import.meta.dirname, "..", "fixtures", "twin-debian61");

describe("twin: capture reader", () => {
  it("reads the machine layout from the capture's own files", async () => {
    const c = await readCapture(SMALL);
    expect(c).toMatchObject({
      release: "6.1.0-57-amd64",
      kernelVersion: "6.1.192",
      pageSize: 4096,
      pageblockOrder: 9,
      maxOrder: 10,
      cmaAreas: [{ bytes: 4 * 2 ** 20 }],
      cmaConfigured: false,
      ramRanges: [[1, 2024]],
    });
    expect(c.tracePath).toBe(join(SMALL, "trace.txt"));
    expect(c.zones.map((z) => [z.name, z.startPfn, z.spannedPages, z.presentPages, z.managedPages])).toEqual([
      ["DMA", 1, 1023, 1023, 1000],
      ["DMA32", 1024, 1000, 1000, 990],
    ]);
    expect(c.zones[0]!.watermarks).toEqual({ min: 8, low: 10, high: 12 });
    expect(c.phases.map((p) => p.phase)).toEqual(["boot", "after_workload"]);
    const boot = c.phases[0]!;
    expect(boot.buddyinfo).toEqual({
      DMA: [1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0],
      DMA32: [0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0],
    });
    expect(boot.pagetypeinfo.migratetypes).toEqual(["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"]);
    expect(boot.pagetypeinfo.blocks.DMA32).toEqual({
      Unmovable: 0,
      Movable: 1,
      Reclaimable: 1,
      HighAtomic: 0,
      Isolate: 0,
    });
    expect(boot.pagetypeinfo.free.DMA!.Unmovable).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(boot.vmstat.nr_free_pages).toBe(783);
    const free = await readFreePfns(boot);
    expect(free.length).toBe(2048);
    expect(free.reduce((a, b) => a + b, 0)).toBe(783);
    expect([free[7], free[8], free[15], free[16], free[100], free[1601]]).toEqual([0, 1, 1, 0, 1, 1]);
  });

  it("reads the LRU folios (KPF_LRU) and their orders from kpageflags", async () => {
    const dir = mkdtempSync(join(tmpdir(), "twin-lru-"));
    try {
      cpSync(SMALL, dir, { recursive: true });
      const words = new BigUint64Array(readFileSync(join(dir, "boot", "kpageflags")).buffer.slice(0));
      // include/uapi/linux/kernel-page-flags.h
      const LRU = 1n << 5n;
      const HEAD = 1n << 15n;
      const TAIL = 1n << 16n;
      // The fixture marks every held page KPF_LRU (0x20): clear them, then mark a few by hand.
      for (let pfn = 0; pfn < words.length; pfn++) if (words[pfn] === LRU) words[pfn] = 0n;
      words[1280] = LRU; // an order-0 folio
      words[1284] = LRU | HEAD; // an aligned order-2 folio: 1284..1287
      for (const pfn of [1285, 1286, 1287]) words[pfn] = TAIL;
      words[1289] = LRU | HEAD; // a head with one tail at an odd pfn: two order-0 folios
      words[1290] = TAIL;
      words[1292] = HEAD; // compound but off the LRU (a slab page, say): not a folio here
      words[1293] = TAIL;
      writeFileSync(join(dir, "boot", "kpageflags"), new Uint8Array(words.buffer));
      const boot = (await readCapture(dir)).phases[0]!;
      const heads = await readLruFolios(boot);
      const marked = [...heads.keys()].filter((pfn) => heads[pfn]! > 0).map((pfn) => [pfn, heads[pfn]! - 1]);
      expect(marked).toEqual([
        [1280, 0],
        [1284, 2],
        [1289, 0],
        [1290, 0],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports bad input as a DmaSimError naming what is missing", async () => {
    await expect(runTwin(join(SMALL, "nope"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(runTwin(join(SMALL, "boot"))).rejects.toThrow(/no trace.txt or trace.txt.gz/);
    const dir = mkdtempSync(join(tmpdir(), "twin-"));
    try {
      cpSync(join(SMALL, "static"), join(dir, "static"), { recursive: true });
      cpSync(join(SMALL, "trace.txt"), join(dir, "trace.txt"));
      await expect(runTwin(dir)).rejects.toThrow(/no boot\/ snapshot/);
      await expect(runTwin(SMALL, { mode: "sideways" as "follow" })).rejects.toMatchObject({ code: "EINVAL" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("twin: follow mode on the hand-written capture", () => {
  it("loads the boot state exactly and scores the hand-checked decisions, the same on both backends", async () => {
    const results: TwinResult[] = [];
    // dmasim's v6.10+ rules on a 6.1 capture (the 6.1 profile is the next test).
    for (const backend of BACKENDS) results.push(await runTwin(SMALL, { mode: "both", backend, kernel: "6.12" }));
    const [a, b] = results as [TwinResult, TwinResult];
    expect(a.machine.nrPages).toBe(2048);
    expect(a.machine.zones).toEqual([
      { name: "DMA", startPfn: 0, endPfn: 1024 },
      { name: "DMA32", startPfn: 1024, endPfn: 2048 },
    ]);
    expect(a.load).toMatchObject({ freePages: 783, heldPages: 1265, buddyinfoMatches: true, freeListDistance: 0 });
    expect(a.load.pageblocks.DMA32!.loaded).toEqual({ movable: 1, reclaimable: 1 });
    const f = a.fidelity.follow!;
    expect(f).toMatchObject({ decisions: 9, agreed: 6, agreement: 6 / 9, unscored: 0 });
    expect(f.byOrder).toEqual({
      "0": { decisions: 7, agreed: 4, agreement: 4 / 7 },
      "1": { decisions: 1, agreed: 1, agreement: 1 },
      "4": { decisions: 1, agreed: 1, agreement: 1 },
    });
    expect(f.byMigratetype).toMatchObject({
      unmovable: { decisions: 4, agreed: 3 },
      movable: { decisions: 4, agreed: 2 },
      reclaimable: { decisions: 1, agreed: 1 },
    });
    // The traced steal: dmasim falls back to the same block and claims its pageblock too.
    expect(f.fallbacks).toEqual({ kernel: 1, dmasimAlsoFellBack: 1, sameBlock: 1, agreement: 1 });
    expect(f.applied).toEqual({ allocs: 9, frees: 4, retypes: 1, moves: 0 });
    // Two misses pick a smaller block of the right list than the one the kernel split; in the third the
    // kernel takes a page 6.1 drained to the movable list of an unmovable pageblock, which dmasim keeps on
    // the unmovable list. The 6.1 list model gets that one right.
    expect(f.missCauses).toEqual({ otherListIn61: 0, kernelBlockOnOtherList: 1, otherOrder: 2, listOrder: 0 });
    expect(f.linux61Lists).toEqual({ decisions: 9, agreed: 7, agreement: 7 / 9 });
    expect(f.typeDiffers).toEqual({ allocs: 1, drains: 1 });
    expect(f.unapplied).toMatchObject({ allocs: 0, frees: 1 });
    expect(f.unapplied.examples).toEqual(["pcp drain pfn 513 order 0: not held in the twin"]);
    // At the next snapshot the twin's free pages are the kernel's, on the same lists.
    expect(f.phases).toEqual([
      {
        phase: "after_workload",
        freeListDistance: 0,
        buddyinfo: { twin: [3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 0], kernel: [3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 0] },
        freePfnsDiffering: 0,
        // All nine decisions fall between the snapshots; the one miss on another list is 6.1's drain rule.
        sincePrevious: { decisions: 9, agreed: 6, listOrderMisses: 0, bootListOrderMisses: 0, otherListMisses: 1 },
        notes: ["linux61-lists"],
      },
    ]);
    expect(a.trace).toMatchObject({ lines: 41, afterBoot: 31 });
    expect(a.trace.events["other:mm_compaction_kcompactd_sleep"]).toBe(1);
    const fr = a.fidelity.freeRun!;
    expect(fr).toMatchObject({ allocs: 9, failed: 0, frees: 4, unmatchedFrees: 1 });
    expect(fr.maxDistance).toBe(fr.phases[0]!.freeListDistance);
    // Both backends: the same scores and the same final states.
    expect(b.fidelity).toEqual(a.fidelity);
    expect(b.load).toEqual(a.load);
    expect(b.stateHash).toEqual(a.stateHash);
    expect(a.machine).toMatchObject({ kernel: "6.12", kernelFrom: "option" });
  });

  it("follows a 6.1 capture with the 6.1 profile (from uname): a drained page sits on its per-cpu type's list", async () => {
    const results: TwinResult[] = [];
    for (const backend of BACKENDS) results.push(await runTwin(SMALL, { mode: "both", backend }));
    const [a, b] = results as [TwinResult, TwinResult];
    expect(a.machine).toMatchObject({ kernel: "6.1", kernelFrom: "uname" });
    const f = a.fidelity.follow!;
    // The miss 6.12's rules make because 6.1 drained a page to the movable list of an unmovable
    // pageblock is gone; the two smaller-block misses remain (6.1 makes them too): the engine's
    // 6.1 rules name the same blocks as the 6.1 list model, decision for decision.
    expect(f).toMatchObject({ decisions: 9, agreed: 7, unscored: 0 });
    expect(f.missCauses).toEqual({ otherListIn61: 0, kernelBlockOnOtherList: 0, otherOrder: 2, listOrder: 0 });
    expect(f.linux61Lists).toEqual({ decisions: 9, agreed: 7, agreement: 7 / 9 });
    expect(f.phases[0]).toMatchObject({ phase: "after_workload", freeListDistance: 0, freePfnsDiffering: 0 });
    expect(b.fidelity).toEqual(a.fidelity);
    expect(b.stateHash).toEqual(a.stateHash);
    await expect(runTwin(SMALL, { kernel: "5.15" as "6.1" })).rejects.toMatchObject({ code: "EINVAL" });
  });

  it("reads a gzipped trace the same as the plain one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "twin-"));
    try {
      for (const d of ["boot", "after_workload", "static"]) cpSync(join(SMALL, d), join(dir, d), { recursive: true });
      await pipeline(
        createReadStream(join(SMALL, "trace.txt")),
        createGzip(),
        createWriteStream(join(dir, "trace.txt.gz")),
      );
      const plain = await runTwin(SMALL, { mode: "follow" });
      const gz = await runTwin(dir, { mode: "follow" });
      expect(gz.fidelity).toEqual(plain.fidelity);
      expect(gz.stateHash).toEqual(plain.stateHash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The hand-written capture's boot snapshot under a 6.12 uname, with a short
 * trace written here: 6.12 free_unref_page() takes the pcp lock with
 * pcp_spin_trylock(), interrupts on, and a softirq free that finds it taken
 * goes to free_one_page(), straight to the buddy lists (only mm_page_free is
 * traced). Pageblock 0 (unmovable) holds free 8..15 (order 3) and 100 (order 0).
 */
function small612(dir: string, afterBoot: string[]): void {
  for (const d of ["boot", "static"]) cpSync(join(SMALL, d), join(dir, d), { recursive: true });
  writeFileSync(
    join(dir, "static", "uname"),
    "Linux (none) 6.12.95+deb12-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-07-05) x86_64 GNU/Linux\n",
  );
  const at = (i: number, task: string, flags: string, body: string): string =>
    `${task.padStart(16)} [000] ${flags} 0.${String(100100 + i)}: ${body}`;
  const lines = [
    at(0, "init-1", ".....", "tracing_mark_write: HARNESS_MMSNAP boot begin"),
    ...afterBoot.map((body, i) => at(i + 1, body.includes("mm_page_free:") ? "dd-500" : "init-1", "..s1.", body)),
  ];
  writeFileSync(join(dir, "trace.txt"), lines.join("\n") + "\n");
}

describe("twin: a free that skipped the per-cpu lists (6.12 pcp_spin_trylock() failing)", () => {
  const alloc100 = "mm_page_alloc_zone_locked: page=(____ptrval____) pfn=0x64 order=0 migratetype=0 percpu_refill=1";
  const free100 = "mm_page_free: page=(____ptrval____) pfn=0x64 order=0";
  const drain100 = "mm_page_pcpu_drain: page=(____ptrval____) pfn=0x64 order=0 migratetype=0";

  it("applies it where it happened when the block is handed out again with no drain between, on both backends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "twin612-"));
    try {
      // 100 is taken, freed (to free_one_page(): no drain follows) and taken again by __rmqueue_smallest().
      small612(dir, [alloc100, free100, alloc100]);
      const results: TwinResult[] = [];
      for (const backend of BACKENDS) results.push(await runTwin(dir, { mode: "follow", backend }));
      const [a, b] = results as [TwinResult, TwinResult];
      expect(a.machine.kernel).toBe("6.12");
      // The free is applied at its line: both allocations find 100 as the unmovable list's only order-0
      // block, which __rmqueue_smallest() takes before splitting 8..15. Without it the twin would still
      // hold 100, name 8 and fail to apply the second allocation.
      expect(a.trace.pcpBypassFrees).toBe(1);
      expect(a.fidelity.follow).toMatchObject({ decisions: 2, agreed: 2, firstMisses: [] });
      expect(a.fidelity.follow!.unapplied).toMatchObject({ allocs: 0, frees: 0 });
      expect(b.fidelity).toEqual(a.fidelity);
      expect(b.stateHash).toEqual(a.stateHash);
      // With the drain traced the page went through the per-cpu list: nothing bypassed.
      small612(dir, [alloc100, free100, drain100, alloc100]);
      const drained = await runTwin(dir, { mode: "follow" });
      expect(drained.trace.pcpBypassFrees).toBe(0);
      expect(drained.fidelity.follow).toMatchObject({ decisions: 2, agreed: 2 });
      expect(drained.fidelity.follow!.unapplied).toMatchObject({ allocs: 0, frees: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("twin: the dmasim twin command", () => {
  const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, "twin", ...args], { encoding: "utf8" });

  it("prints a short summary, or the result as JSON (and writes it with --out)", () => {
    const text = run(SMALL, "--backend", "ts", "--kernel", "6.12");
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("dmasim twin (ts, 6.12 rules):");
    expect(text.stdout).toContain("follow   agreement 66.67% (6 of 9 buddy-level allocations)");
    const own = run(SMALL, "--backend", "ts");
    expect(own.stdout).toContain("dmasim twin (ts, 6.1 rules from uname):");
    expect(own.stdout).toContain("follow   agreement 77.78% (7 of 9 buddy-level allocations)");
    expect(text.stdout).toContain("buddyinfo matches");
    const out = mkdtempSync(join(tmpdir(), "twin-cli-"));
    try {
      const json = run(SMALL, "--json", "--mode", "follow", "--out", out, "--kernel", "6.12");
      expect(json.status).toBe(0);
      const result = JSON.parse(json.stdout) as TwinResult;
      expect(result.fidelity.follow!.agreement).toBe(6 / 9);
      expect(result.fidelity.freeRun).toBeUndefined();
      expect(JSON.parse(readFileSync(join(out, "twin.json"), "utf8"))).toEqual(result);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("reports a missing capture in one line", () => {
    const r = run(join(SMALL, "missing"));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toMatch(/^dmasim: ENOENT: twin: no capture directory ".*missing"$/);
  });
});

describe.skipIf(!existsSync(join(DEBIAN, "trace.txt.gz")))("twin: the Debian 6.1 capture (512 MiB, 377k lines)", () => {
  it("follows every buddy-level event of the capture and reaches the after_workload free set", async () => {
    const r = await runTwin(DEBIAN, { mode: "both" });
    const f = r.fidelity.follow!;
    const fr = r.fidelity.freeRun!;
    console.log(
      `twin on debian-6.1: follow agreement ${(100 * f.agreement!).toFixed(2)}% of ${f.decisions} ` +
        `(${Object.entries(f.byOrder)
          .map(([o, a]) => `o${o} ${(100 * a.agreement!).toFixed(1)}%`)
          .join(
            ", ",
          )}); free-run max distance ${fr.maxDistance?.toFixed(4)}; replay ${r.timing.replayMs.toFixed(0)} ms`,
    );
    expect(r.capture).toMatchObject({
      kernelVersion: "6.1.192",
      pageblockOrder: 9,
      maxOrder: 10,
      cmaConfigured: false,
    });
    expect(r.load).toMatchObject({ freePages: 92564, buddyinfoMatches: true });
    expect(f.decisions).toBeGreaterThan(38000);
    expect(f.unapplied.allocs).toBe(0);
    expect(f.unapplied.frees).toBeLessThan(10);
    // The 6.1 profile (from uname): measured 99.995% (38455 of 38457); 99.57% with 6.12's rules.
    expect(r.machine.kernel).toBe("6.1");
    expect(f.agreement).toBeGreaterThan(0.999);
    expect(f.agreed).toBe(f.linux61Lists.agreed);
    // No event between the two snapshots is missing from the trace: the free sets agree page for page.
    expect(f.phases[0]).toMatchObject({ phase: "after_workload", freePfnsDiffering: 0 });
    // Compaction's free scanner takes pages without an event: after it, some pages differ.
    expect(f.phases[1]!.phase).toBe("after_compact");
    expect(fr.maxDistance).toBeLessThan(0.1);
    // compact_memory: the kernel's mm_compaction_migratepages sum to nr_migrated=878; dmasim's own
    // compaction on the twin's state migrated 836 (none while boot LRU pages loaded unmovable).
    expect(fr.compaction.kernelMigrated).toBe(878);
    expect(fr.compaction.migrated).toBeGreaterThan(500);
    const misses = f.decisions - f.agreed;
    const causes = f.missCauses;
    expect(causes.otherListIn61 + causes.kernelBlockOnOtherList + causes.otherOrder + causes.listOrder).toBe(misses);
    // 6.1's own list rules, modelled beside dmasim, name nearly every block.
    expect(f.linux61Lists.agreement).toBeGreaterThan(0.999);
    // The portable build follows to the same score and state.
    const ts = await runTwin(DEBIAN, { mode: "follow", backend: "ts" });
    expect(ts.fidelity.follow).toEqual(f);
    expect(ts.stateHash.follow).toBe(r.stateHash.follow);
  }, 60_000);
});

/** The realkernel harness's CMA kernel (6.1.176 built by build-rkcma.sh): a 64 MiB area, dma-heap traffic. */
const RKCMA = join(import.meta.dirname, "..", "fixtures", "twin-rkcma61");

describe("twin: a 6.1 capture with a CMA area and dma-heap traffic (512 MiB, 418k lines)", () => {
  it("lays the area out where the kernel's debugfs puts it and follows its cma_alloc()/cma_release()", async () => {
    const r = await runTwin(RKCMA, { mode: "both" });
    const f = r.fidelity.follow!;
    // boot/cma/reserved/{base_pfn,count,order_per_bit}: 114176, 16384, 0 (cma=64M on the command line).
    expect(r.capture.cmaLayout).toEqual([{ name: "reserved", basePfn: 114176, count: 16384, orderPerBit: 0 }]);
    expect(r.capture).toMatchObject({ kernelVersion: "6.1.176", cmaConfigured: true });
    expect(r.machine.kernel).toBe("6.1");
    // Pageblocks per type as the capture's pagetypeinfo counts them (its "mixed blocks" table is not counts):
    // DMA32 has 45 unmovable, 169 movable, 2 reclaimable and the area's 32 CMA pageblocks.
    expect(r.load).toMatchObject({ freePages: 103358, buddyinfoMatches: true, freeListDistance: 0 });
    expect(r.load.pageblocks.DMA32!.loaded).toEqual({ unmovable: 45, movable: 169, reclaimable: 2, cma: 32 });
    // dmaheap allocates 17 buffers (16M … 256K), frees the odd ones, then a 2048-page debugfs alloc: 18 cma_alloc()s,
    // each at the area's first fitting clear run, as dmasim's cma_alloc() tries first.
    expect(f.cma).toMatchObject({
      decisions: 18,
      agreed: 18,
      kernelFailed: 0,
      applied: { allocs: 18, releases: 18 },
      unapplied: { allocs: 0, releases: 0 },
    });
    // No event is missing between the snapshots before compaction: the free sets agree page for page,
    // with 13568 pages in the area allocated at after_cma_alloc (boot/…/used: 0; after_cma_alloc/…/used: 13568).
    expect(f.phases.slice(0, 3).map((p) => [p.phase, p.freePfnsDiffering])).toEqual([
      ["after_workload", 0],
      ["after_cma_alloc", 0],
      ["after_cma_freeodd", 0],
    ]);
    expect(f.unapplied.allocs).toBe(0);
    expect(f.unapplied.frees).toBeLessThan(10);
    expect(f.agreement).toBeGreaterThan(0.99);
    // Free-run mode replays each cma_alloc() as dmasim's own (same size and alignment), following the
    // pages its alloc_contig_range() migrates, and gives the ranges back at cma_release().
    const fr = r.fidelity.freeRun!;
    expect(fr.cma).toEqual({ allocs: 18, failed: 0, released: 18 });
    expect(fr.unmatchedFrees).toBeLessThan(10);
    // Its free lists stay within 3% of the kernel's through the CMA phases (measured 2.3%, 2.5%, 2.5%).
    for (const p of fr.phases.slice(0, 3)) expect(p.freeListDistance, p.phase).toBeLessThan(0.03);
    // The harness's compact_memory (HARNESS_PHASE compact_start … compact_end) runs dmasim's own,
    // once; the window holds 1,913 mm_page_free lines of the kernel's migration sources (and of
    // its free scanner's unused pages, which map to nothing): the twin keeps the pages it holds
    // for the sources, and their later drains give nothing back (not unmatched).
    expect(fr.compaction.runs).toBe(1);
    expect(fr.compaction.migratedAway).toBeGreaterThan(0);
    expect(fr.compaction.migratedAway).toBeLessThanOrEqual(1913);
    expect(fr.compaction.sourceFrees).toBeGreaterThan(0);
    expect(fr.compaction.sourceFrees).toBeLessThanOrEqual(fr.compaction.migratedAway);
    // The kernel's mm_compaction_migratepages in that window sum to nr_migrated=1861. dmasim's own
    // compaction can only move what the twin loaded as LRU folios (KPF_LRU at boot, whatever their
    // pageblock) or the trace allocated movable: it migrated 1,629 (192 while the loader took
    // every page held in a non-Movable pageblock for an unmovable one, initramfs pages included).
    expect(fr.compaction.kernelMigrated).toBe(1861);
    expect(fr.compaction.migrated).toBeGreaterThan(1000);
    const ts = await runTwin(RKCMA, { mode: "follow", backend: "ts" });
    expect(ts.fidelity.follow).toEqual(f);
    expect(ts.stateHash.follow).toBe(r.stateHash.follow);
  }, 120_000);
});

/** Debian's stock 6.12 kernel (6.12.95+deb12-amd64 from bookworm-backports), the same harness run as twin-debian61. */
const DEBIAN612 = join(import.meta.dirname, "..", "fixtures", "twin-debian612");

describe("twin: the Debian 6.12 capture (512 MiB, 352k lines)", () => {
  it("reads the layout, loads the boot free lists exactly and follows every buddy-level allocation", async () => {
    const results: TwinResult[] = [];
    for (const backend of BACKENDS) results.push(await runTwin(DEBIAN612, { mode: "both", backend }));
    const [r, ts] = results as [TwinResult, TwinResult];
    const f = r.fidelity.follow!;
    const fr = r.fidelity.freeRun!;
    // static/uname: "6.12.95+deb12-amd64 … Debian 6.12.95-1~bpo12+1" → the 6.12 profile; no CONFIG_CMA (pagetypeinfo
    // lists no CMA type), so cma=64M on the command line made no area.
    expect(r.capture).toMatchObject({
      release: "6.12.95+deb12-amd64",
      kernelVersion: "6.12.95",
      pageblockOrder: 9,
      maxOrder: 10,
      cmaConfigured: false,
      cmaLayout: [],
    });
    expect(r.machine).toMatchObject({ kernel: "6.12", kernelFrom: "uname", nrPages: 131072 });
    // boot/zoneinfo: DMA start_pfn 1, spanned 4095; DMA32 start_pfn 4096, spanned 126935 (ends at 131031, rounded
    // up to the machine's end).
    expect(r.capture.zones.map((z) => [z.name, z.startPfn, z.spannedPages, z.managedPages])).toEqual([
      ["DMA", 1, 4095, 3840],
      ["DMA32", 4096, 126935, 115016],
    ]);
    expect(r.machine.zones).toEqual([
      { name: "DMA", startPfn: 0, endPfn: 4096 },
      { name: "DMA32", startPfn: 4096, endPfn: 131072 },
    ]);
    // boot/vmstat nr_free_pages 94972 = the KPF_BUDDY pages; buddyinfo per zone equal; pageblocks per type as
    // boot/pagetypeinfo counts them (DMA 1 unmovable, 7 movable; DMA32 46, 200, 2).
    expect(r.load).toMatchObject({ freePages: 94972, buddyinfoMatches: true, freeListDistance: 0 });
    expect(r.load.pageblocks.DMA!.loaded).toEqual({ unmovable: 1, movable: 7 });
    expect(r.load.pageblocks.DMA32!.loaded).toEqual({ unmovable: 46, movable: 200, reclaimable: 2 });
    // No event names the fully free pageblock at pfn 34304, yet boot/pagetypeinfo has one free order-9 block on
    // DMA32's Reclaimable list and one on Movable (buddyinfo: two order-9 blocks in DMA32), and the first movable
    // refill after the snapshot splits the other one (126976): 34304 is a Reclaimable pageblock. Loaded Movable
    // (memmap_init()'s default), dmasim named it for 35 order-0 refills and 18 order-9 allocations instead (99.85%).
    expect(f.firstMisses).toEqual([]);
    // 6.12's rules name the kernel's block for every buddy-level allocation (no fallback after the snapshot).
    expect(f).toMatchObject({ decisions: 35118, agreed: 35118, unscored: 0 });
    expect(f.fallbacks.kernel).toBe(0);
    expect(f.unapplied).toMatchObject({ allocs: 0, frees: 0 });
    // Every event between the snapshots is traced: the free pages equal after_workload's page for page, on the
    // same lists. After compact_memory the free scanner's untraced takes leave pages apart.
    expect(f.phases[0]).toMatchObject({ phase: "after_workload", freePfnsDiffering: 0, freeListDistance: 0 });
    expect(f.phases[1]!.phase).toBe("after_compact");
    expect(f.phases[1]!.freePfnsDiffering).toBeGreaterThan(0);
    // Free run: dmasim's own choices reach after_workload's free lists exactly (measured 0 and 0.0051 after
    // compaction; the issue's target is 5%).
    expect(fr.phases[0]).toMatchObject({ phase: "after_workload", freeListDistance: 0 });
    expect(fr.maxDistance).toBeLessThan(0.05);
    // compact_memory: the kernel's mm_compaction_migratepages sum to 256 pages; dmasim's own moved 256 too.
    expect(fr.compaction.kernelMigrated).toBe(256);
    expect(fr.compaction.migrated).toBeGreaterThan(128);
    expect(ts.fidelity).toEqual(r.fidelity);
    expect(ts.load).toEqual(r.load);
    expect(ts.stateHash).toEqual(r.stateHash);
  }, 60_000);
});

/** The realkernel harness's CMA kernel built from Debian's linux-source-6.12 (6.12.95-rkcma): a 64 MiB area, dma-heap traffic. */
const RKCMA612 = join(import.meta.dirname, "..", "fixtures", "twin-rkcma612");

describe("twin: a 6.12 capture with a CMA area and dma-heap traffic (512 MiB, 437k lines)", () => {
  it("follows it exactly up to compact_memory: pageblock types from the trace, pcp-bypassing frees, early CMA releases", async () => {
    const r = await runTwin(RKCMA612, { mode: "both" });
    const f = r.fidelity.follow!;
    const fr = r.fidelity.freeRun!;
    // boot/cma/reserved/{base_pfn,count,order_per_bit}: 114176, 16384, 0 (cma=64M, placed as on 6.1).
    expect(r.capture.cmaLayout).toEqual([{ name: "reserved", basePfn: 114176, count: 16384, orderPerBit: 0 }]);
    expect(r.capture).toMatchObject({ kernelVersion: "6.12.95", cmaConfigured: true, pageblockOrder: 9 });
    expect(r.machine.kernel).toBe("6.12");
    // boot/pagetypeinfo: DMA32 47 unmovable, 169 movable, 32 CMA (the area's 16384 pages / 512); boot/vmstat
    // nr_free_pages 102519.
    expect(r.load).toMatchObject({ freePages: 102519, buddyinfoMatches: true, freeListDistance: 0 });
    expect(r.load.pageblocks.DMA32!.loaded).toEqual({ unmovable: 47, movable: 169, cma: 32 });
    // 6.12's free_pcppages_bulk() drains to get_pfnblock_migratetype(), and __rmqueue_smallest() takes from the
    // list of the pageblock's type: every traced type is the twin's pageblock type. (Typed by the votes of all
    // events, as for 6.1, 438 allocations and 1014 drains disagreed: pageblocks retyped by merges before the
    // snapshot, which leave no event.)
    expect(f.typeDiffers).toEqual({ allocs: 0, drains: 0 });
    // Frees from softirq that found the pcp lock taken went to free_one_page() (only their mm_page_free is
    // traced): found by the first pass and applied where they happened, so every allocation applies.
    expect(r.trace.pcpBypassFrees).toBeGreaterThan(0);
    expect(f.unapplied.allocs).toBe(0);
    // cma_release() frees the range before its event and 6.12 drains some of it first: released at the
    // range's first mm_page_free, no drain is lost (863 were before).
    expect(f.unapplied.frees).toBeLessThan(10);
    expect(f.cma).toMatchObject({ decisions: 18, agreed: 18, applied: { allocs: 18, releases: 18 } });
    // Page for page through the CMA phases (after_cma_alloc/cma/reserved/used 13568), and on the kernel's lists.
    expect(f.phases.slice(0, 3).map((p) => [p.phase, p.freePfnsDiffering, p.freeListDistance])).toEqual([
      ["after_workload", 0, 0],
      ["after_cma_alloc", 0, 0],
      ["after_cma_freeodd", 0, 0],
    ]);
    // Measured 98.87% of 46168 (all but 2 misses after compact_memory, whose free scanner takes pages
    // without an event); free run 0 through the CMA phases, 3.28% at worst (after_compact; 4.37% while
    // the loader ignored KPF_LRU). compact_memory: the kernel migrated 2,146 pages, dmasim 1,844.
    expect(fr.compaction.kernelMigrated).toBe(2146);
    expect(fr.compaction.migrated).toBeGreaterThan(1500);
    expect(f.agreement).toBeGreaterThan(0.98);
    for (const p of fr.phases.slice(0, 3)) expect(p.freeListDistance, p.phase).toBeLessThan(0.005);
    expect(fr.maxDistance).toBeLessThan(0.05);
    expect(fr.cma).toEqual({ allocs: 18, failed: 0, released: 18 });
    const ts = await runTwin(RKCMA612, { mode: "follow", backend: "ts" });
    expect(ts.fidelity.follow).toEqual(f);
    expect(ts.stateHash.follow).toBe(r.stateHash.follow);
  }, 120_000);
});
