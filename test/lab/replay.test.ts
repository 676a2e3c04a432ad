import { createWriteStream, mkdtempSync, readFileSync, statSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRandom, createSystem, type MovablePage, type System } from "dmasim";
import { BACKENDS, MIB, onBoth, freeMemory } from "../helpers.ts";
// The Lab modules are not in the package's exports (yet): import the built files.
import { createReplayer, formatTraceLine, replayTrace, type FormatOptions, type TraceEvent } from "dmasim/lab";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "small.trace");
/** 16384 pages, a 4096-page CMA area. */
const SMALL = { ramBytes: 64 * MIB, storeContents: false, cma: [{ name: "reserved", bytes: 16 * MIB }] };

function line(ev: Omit<TraceEvent, "raw"> & { raw?: Record<string, string> }, opts: FormatOptions = {}): string {
  return formatTraceLine({ raw: {}, ...ev }, opts);
}

const alloc = (pfn: number | null, order: number, migratetype: number, gfp?: string) =>
  line({ name: "mm_page_alloc", pfn, order, migratetype, raw: gfp === undefined ? {} : { gfp_flags: gfp } });
const free = (pfn: number, order: number) => line({ name: "mm_page_free", pfn, order });
const batched = (pfn: number) => line({ name: "mm_page_free_batched", pfn, order: 0 });

describe("replay of the fixture trace", () => {
  it("counts every line and request exactly, the same on both backends", async () => {
    const results = [];
    for (const backend of BACKENDS) results.push(await replayTrace(FIXTURE, { system: SMALL, backend }));
    const [a, b] = results as [Awaited<ReturnType<typeof replayTrace>>, Awaited<ReturnType<typeof replayTrace>>];
    expect(a).toMatchObject({ kind: "replay", name: "small.trace", seed: null, backend: "wasm" });
    expect(b.backend).toBe("ts");
    expect(a.events).toEqual({
      parsed: 32,
      skipped: 20,
      byType: {
        mm_page_alloc: 9,
        mm_page_free: 10,
        mm_page_free_batched: 2,
        mm_page_free_direct: 1,
        mm_page_alloc_extfrag: 2,
        cma_alloc_start: 1,
        cma_alloc_finish: 3,
        cma_alloc: 1,
        cma_release: 3,
      },
      skippedReasons: {
        comment: 12,
        blank: 1,
        "other event": 2,
        "lost events": 1,
        "malformed: bad pfn": 1,
        "malformed: missing order": 1,
        "mm_page_alloc: migratetype not requestable": 1,
        "mm_page_alloc: order above the machine's MAX_PAGE_ORDER": 1,
      },
    });
    expect(a.replay).toMatchObject({
      // 9 requests: 7 satisfied by the traced kernel, 2 not (page=(null), padded or not); the
      // simulation satisfies all 9 and frees the 2 extra blocks at once.
      allocs: 9,
      traceSucceeded: 7,
      traceFailed: 2,
      simSucceeded: 9,
      simFailed: 0,
      agreed: 7,
      simOnlySucceeded: 2,
      simOnlyFailed: 0,
      // 0x100200 (order 9) allocated again at order 0 without a free in between.
      remapped: 1,
      // A, D (batched first, old kernel), B (mm_page_free_direct), E (two halves).
      frees: 4,
      partialFrees: 2,
      companionFrees: 2,
      // the two requests the machine cannot make, freed later.
      freesWithoutSim: 2,
      // two trimmed order-8 blocks around the CMA range, and one page freed inside it before cma_release.
      cmaPageFrees: 3,
      unmatchedFrees: 1,
      orderMismatches: 0,
      cmaStarts: 1,
      cmaAllocs: 4,
      cmaTraceSucceeded: 3,
      cmaTraceFailed: 1,
      cmaSimSucceeded: 3,
      cmaSimFailed: 1,
      cmaAgreed: 4,
      cmaUnknownArea: 1,
      cmaReleases: 2,
      unmatchedCmaReleases: 1,
      cmaReleasesWithoutSim: 0,
      cmaRemapped: 0,
      traceExtfrag: 2,
      lostEvents: 12,
      liveBlocks: 2,
      liveCmaAllocs: 1,
      zoneFallbacks: 0,
    });
    expect(a.replay!.simExtfrag).toBeGreaterThanOrEqual(0);
    // Live at the end: two order-0 blocks and the 8-page CMA allocation of "vendor,heap".
    expect(a.summary).toMatchObject({
      lines: 52,
      events: 32,
      unmatchedFrees: 1,
      allocAgreementPct: 77.8,
    });
    // Free memory: all but the 10 live pages, split between NR_FREE_PAGES and
    // the pages left on the per-cpu lists (free, not counted there).
    expect(a.summary.nrFreePages! + a.summary.pcpPages!).toBe(16384 - 10);
    expect(a.machine).toEqual({
      ramBytes: 64 * MIB,
      pageSize: 4096,
      maxOrder: 10,
      pageblockOrder: 9,
      cma: [{ name: "reserved", basePfn: expect.any(Number), count: 4096 }],
    });
    expect(a.samples.map((s) => s.t)).toEqual([0, 32]);
    expect(a.maps.map((m) => [m.t, m.label])).toEqual([
      [0, "start"],
      [32, "end"],
    ]);
    expect(a.maps[0]!.migratetypes).toHaveLength(32);
    expect(a.timing.wallMs).toBeGreaterThan(0);
    expect(a.timing.eventsPerSec).toBeGreaterThan(0);
    const { timing: _ta, backend: _ba, ...restA } = a;
    const { timing: _tb, backend: _bb, ...restB } = b;
    expect(restB).toEqual(restA);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it("thins samples and maps to their caps", async () => {
    const r = await replayTrace(FIXTURE, { system: SMALL, sampleEvery: 1, maxSamples: 4, mapEvery: 1, maxMaps: 4 });
    expect(r.samples.length).toBeLessThanOrEqual(5);
    expect(r.samples[0]!.t).toBe(0);
    expect(r.samples.at(-1)!.t).toBe(32);
    expect(r.maps.length).toBeLessThanOrEqual(4);
    expect(r.maps[0]!.label).toBe("start");
    expect(r.maps.at(-1)!.label).toBe("end");
    const ts = r.maps.map((m) => m.t);
    expect([...ts].sort((x, y) => x - y)).toEqual(ts);
  });
});

describe("frees reach the right simulated pages", () => {
  it("whole blocks, split blocks and batched frees", async () => {
    await onBoth(SMALL, (sys) => {
      const r = createReplayer(sys);
      const initial = freeMemory(sys);
      const T1 = 0x9000,
        T2 = 0x9100,
        T3 = 0x9200;
      r.feed(alloc(T1, 0, 0, "GFP_KERNEL"));
      r.feed(alloc(T2, 2, 1, "GFP_HIGHUSER_MOVABLE"));
      r.feed(alloc(T3, 1, 2, "GFP_KERNEL|__GFP_RECLAIMABLE"));
      const [m1, m2, m3] = [r.lookup(T1)!, r.lookup(T2)!, r.lookup(T3)!];
      expect(sys.pageInfo(m1.simPfn!)).toMatchObject({
        state: "allocated",
        order: 0,
        migratetype: "unmovable",
        owner: null,
      });
      expect(sys.pageInfo(m2.simPfn!)).toMatchObject({
        state: "allocated",
        order: 2,
        migratetype: "movable",
        owner: expect.any(Number),
      });
      expect(m2.movable).toBe(true);
      expect(sys.pageInfo(m3.simPfn!)).toMatchObject({ state: "allocated", order: 1, migratetype: "reclaimable" });

      r.feed(free(T2, 2));
      expect(r.lookup(T2)).toBeNull();
      expect(sys.pageInfo(m2.simPfn!).state).not.toBe("allocated");
      expect(sys.pageInfo(m1.simPfn!).state).toBe("allocated");
      expect(sys.pageInfo(m3.simPfn!).state).toBe("allocated");

      // split_page(): the halves come back one at a time; the block goes with the last.
      r.feed(free(T3 + 1, 0));
      expect(sys.pageInfo(m3.simPfn!).state).toBe("allocated");
      r.feed(free(T3, 0));
      expect(sys.pageInfo(m3.simPfn!).state).not.toBe("allocated");

      // v6.x order: mm_page_free first, then its batched report.
      r.feed(free(T1, 0));
      r.feed(batched(T1));
      expect(sys.pageInfo(m1.simPfn!).state).not.toBe("allocated");
      sys.check();
      expect(freeMemory(sys)).toBe(initial);
      const out = r.finish();
      expect(out.replay).toMatchObject({
        frees: 3,
        partialFrees: 2,
        companionFrees: 1,
        unmatchedFrees: 0,
        liveBlocks: 0,
      });
      return out.replay;
    });
  });

  it("movable pages migrated out of CMA by a CMA allocation are still freed", async () => {
    const machine = { ramBytes: 32 * MIB, storeContents: false, cma: [{ name: "reserved", bytes: 16 * MIB }] };
    await onBoth(machine, (sys) => {
      const r = createReplayer(sys);
      const area = sys.cma("reserved");
      const initial = freeMemory(sys);
      const inArea = (pfn: number) => pfn >= area.basePfn && pfn < area.basePfn + area.count;
      // Three unmovable 2 MiB blocks: CMA then holds over half the free memory, so
      // movable requests are served from it first (__rmqueue()'s balance rule).
      for (let i = 0; i < 3; i++) r.feed(alloc(0x40000 + i * 512, 9, 0, "GFP_KERNEL"));
      const movable = Array.from({ length: 300 }, (_, i) => 0x50000 + i);
      for (const t of movable) r.feed(alloc(t, 0, 1, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"));
      const placed = movable.map((t) => r.lookup(t)!.simPfn!);
      const inCma = placed.filter(inArea).length;
      expect(inCma).toBeGreaterThan(0);

      r.feed(line({ name: "cma_alloc_finish", pfn: 0x80000, area: "reserved", count: area.count, align: 0, errno: 0 }));
      expect(r.lookupCma(0x80000)).toEqual({ simPfn: area.basePfn, count: area.count, area: "reserved" });
      expect(sys.stats().pgmigrateSuccess).toBeGreaterThanOrEqual(inCma);
      const moved = movable.map((t) => r.lookup(t)!.simPfn!);
      expect(moved.filter(inArea)).toEqual([]);
      expect(moved.filter((p, i) => p !== placed[i]).length).toBe(inCma);

      for (const t of movable) {
        const sim = r.lookup(t)!.simPfn!;
        expect(sys.pageInfo(sim)).toMatchObject({ state: "allocated", migratetype: "movable" });
        r.feed(free(t, 0));
        expect(sys.pageInfo(sim).state).not.toBe("allocated");
      }
      r.feed(line({ name: "cma_release", pfn: 0x80000, area: "reserved", count: area.count }));
      for (let i = 0; i < 3; i++) r.feed(free(0x40000 + i * 512, 9));
      sys.check();
      expect(freeMemory(sys)).toBe(initial);
      const out = r.finish();
      expect(out.replay).toMatchObject({
        allocs: 303,
        simSucceeded: 303,
        frees: 303,
        unmatchedFrees: 0,
        cmaAllocs: 1,
        cmaSimSucceeded: 1,
        cmaReleases: 1,
        liveBlocks: 0,
      });
      return { inCma, replay: out.replay, migrated: sys.stats().pgmigrateSuccess };
    });
  });
});

describe("round trip: a workload written as a trace replays to the same machine", () => {
  const MACHINE = { ramBytes: 16 * MIB, storeContents: false, cma: [{ name: "reserved", bytes: 4 * MIB }] };
  const MIGRATETYPES = ["unmovable", "movable", "reclaimable"] as const;
  /** Identities beyond any simulated pfn, 1024-aligned like any block. */
  const FRESH_IDS = 1 << 24;

  interface Live {
    id: number;
    pfn: number;
    order: number;
    handle: MovablePage | null;
  }

  /**
   * Runs a seeded workload on `sys` and writes it as a trace. A trace pfn is a
   * block's identity: its first pfn when allocated. dmasim's own migration is
   * invisible in the trace (a kernel would show it as an allocation and a free),
   * so a migrated page keeps its old pfn as identity, and a new block handed out
   * over a live identity gets a fresh one.
   */
  function workload(sys: System, seed: number, ops: number) {
    const rnd = createRandom(seed);
    const area = sys.cma("reserved");
    const lines: string[] = [];
    const live: Live[] = [];
    const cmaLive: { pfn: number; count: number }[] = [];
    const idOfPage = new Map<number, number>();
    let freshId = FRESH_IDS;
    const outcomes: boolean[] = [];
    const cmaOutcomes: boolean[] = [];
    let companions = 0;
    const opts = (i: number): FormatOptions => {
      const style = rnd.int(2) ? "new" : "old";
      return rnd.int(3) === 0 ? { style } : { style, task: "bash-1201", cpu: rnd.int(4), timestamp: 100 + i / 1000 };
    };
    // The replay's clock follows the timestamps (ms since the first, rounded
    // down) and moves before each event: the original's moves alike, before
    // the operation a timestamped line reports, so kcompactd runs at the same points.
    let t0: number | null = null;
    const at = (o: FormatOptions): FormatOptions => {
      if (o.timestamp !== undefined) {
        const ts = Number(o.timestamp.toFixed(6));
        t0 ??= ts;
        const target = Math.floor((ts - t0) * 1000);
        if (target > sys.timeMs) sys.advanceTime(target - sys.timeMs);
      }
      return o;
    };
    for (let i = 0; i < ops; i++) {
      const r = rnd.int(100);
      if (r < 55) {
        const order = rnd.int(4);
        const mt = rnd.int(3);
        const o = at(opts(i));
        const pfn = sys.allocPages(order, MIGRATETYPES[mt]!);
        outcomes.push(pfn !== null);
        let id: number | null = null;
        if (pfn !== null) {
          const size = 2 ** order;
          let clash = false;
          for (let q = pfn; q < pfn + size; q++) clash ||= idOfPage.has(q);
          if (clash) {
            id = freshId;
            freshId += 1024;
          } else {
            id = pfn;
            for (let q = pfn; q < pfn + size; q++) idOfPage.set(q, id);
          }
          live.push({ id, pfn, order, handle: mt === 1 ? sys.ownerOf(pfn) : null });
        }
        lines.push(formatTraceLine({ name: "mm_page_alloc", pfn: id, order, migratetype: mt, raw: {} }, o));
      } else if (r < 88 && live.length > 0) {
        const [b] = live.splice(rnd.int(live.length), 1) as [Live];
        const kind = b.order === 0 ? rnd.int(3) : 0;
        const o = at(opts(i));
        if (b.handle) b.handle.free();
        else sys.freePages(b.pfn, b.order);
        if (b.id < FRESH_IDS) for (let q = b.id; q < b.id + 2 ** b.order; q++) idOfPage.delete(q);
        // Order-0 pages may also be reported by mm_page_free_batched, after
        // (v4.15+) or before (v3.3–v4.14) mm_page_free.
        if (kind === 2) lines.push(formatTraceLine({ name: "mm_page_free_batched", pfn: b.id, order: 0, raw: {} }, o));
        lines.push(formatTraceLine({ name: "mm_page_free", pfn: b.id, order: b.order, raw: {} }, o));
        if (kind === 1) lines.push(formatTraceLine({ name: "mm_page_free_batched", pfn: b.id, order: 0, raw: {} }, o));
        if (kind > 0) companions++;
      } else if (r < 96) {
        const count = 1 + rnd.int(300);
        const align = rnd.int(4);
        const o = at(opts(i));
        const pfn = area.alloc(count, align);
        cmaOutcomes.push(pfn !== null);
        if (pfn !== null) cmaLive.push({ pfn, count });
        lines.push(
          formatTraceLine(
            { name: "cma_alloc_finish", pfn, area: "reserved", count, align, errno: pfn === null ? -12 : 0, raw: {} },
            o,
          ),
        );
      } else if (cmaLive.length > 0) {
        const [c] = cmaLive.splice(rnd.int(cmaLive.length), 1) as [{ pfn: number; count: number }];
        const o = at(opts(i));
        area.release(c.pfn, c.count);
        lines.push(formatTraceLine({ name: "cma_release", pfn: c.pfn, area: "reserved", count: c.count, raw: {} }, o));
      }
    }
    return { lines, outcomes, cmaOutcomes, companions };
  }

  it("same outcomes per request, no unmatched frees, equal state hash", async () => {
    await onBoth(MACHINE, async (sys) => {
      const original = await createSystem({ ...MACHINE, backend: sys.backend });
      const w = workload(original, 7, 6000);
      original.check();
      const r = createReplayer(sys);
      for (const l of w.lines) r.feed(l);
      const out = r.finish();
      const ok = w.outcomes.filter(Boolean).length;
      const cmaOk = w.cmaOutcomes.filter(Boolean).length;
      // The workload is meant to hit failures and CMA migration.
      expect(ok).toBeLessThan(w.outcomes.length);
      expect(cmaOk).toBeLessThan(w.cmaOutcomes.length);
      expect(original.stats().pgmigrateSuccess).toBeGreaterThan(0);
      expect(out.events.skipped).toBe(0);
      expect(out.replay).toMatchObject({
        allocs: w.outcomes.length,
        traceSucceeded: ok,
        simSucceeded: ok,
        agreed: w.outcomes.length,
        simOnlyFailed: 0,
        simOnlySucceeded: 0,
        cmaAllocs: w.cmaOutcomes.length,
        cmaTraceSucceeded: cmaOk,
        cmaSimSucceeded: cmaOk,
        cmaAgreed: w.cmaOutcomes.length,
        unmatchedFrees: 0,
        unmatchedCmaReleases: 0,
        remapped: 0,
        cmaRemapped: 0,
        companionFrees: w.companions,
        partialFrees: 0,
      });
      expect(out.stateHash).toBe(original.stateHash());
      expect(sys.stats()).toEqual(original.stats());
      return { replay: out.replay, hash: out.stateHash };
    });
  });
});

describe("streaming a large trace", () => {
  it("replays 300k lines from a file in constant memory, with progress", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dmasim-replay-"));
    const path = join(dir, "big.trace");
    const out = createWriteStream(path);
    const N = 100_000;
    out.write("# tracer: nop\n");
    let chunk = "";
    for (let i = 0; i < N; i++) {
      const pfn = 0x100000 + (i % 65536);
      chunk +=
        formatTraceLine(
          { name: "mm_page_alloc", pfn, order: 0, migratetype: i % 3, raw: {} },
          { task: "stress-ng-4242", cpu: i % 4, timestamp: 10 + i / 1e5 },
        ) + "\n";
      chunk += formatTraceLine({ name: "mm_page_free", pfn, order: 0, raw: {} }, { style: "old" }) + "\n";
      chunk += `          <idle>-0       [001] d..2.    10.000000: sched_switch: prev_comm=swapper/1 prev_pid=0 ==> next_comm=stress-ng next_pid=4242\n`;
      if (chunk.length > 1 << 20) {
        if (!out.write(chunk)) await once(out, "drain");
        chunk = "";
      }
    }
    out.end(chunk);
    await once(out, "finish");
    const size = statSync(path).size;
    for (const backend of BACKENDS) {
      const progress: [number, number][] = [];
      const r = await replayTrace(path, { backend, onProgress: (done, total) => progress.push([done, total]) });
      expect(r.events).toEqual({
        parsed: 2 * N,
        skipped: N + 1,
        byType: { mm_page_alloc: N, mm_page_free: N },
        skippedReasons: { comment: 1, "other event": N },
      });
      expect(r.replay).toMatchObject({
        allocs: N,
        simSucceeded: N,
        traceSucceeded: N,
        frees: N,
        unmatchedFrees: 0,
        liveBlocks: 0,
      });
      expect(r.samples.map((s) => s.t)).toEqual(Array.from({ length: 21 }, (_, i) => i * 10_000));
      expect(r.maps.map((m) => m.label)).toEqual(["start", "after 100000 events", "end"]);
      expect(r.machine.ramBytes).toBe(2 ** 30);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toEqual([size, size]);
    }
  });
});

describe("errors", () => {
  afterEach(() => vi.restoreAllMocks());

  it("a missing file is a one-line DmaSimError naming it, and nothing is printed", async () => {
    const spies = [
      vi.spyOn(process.stdout, "write"),
      vi.spyOn(process.stderr, "write"),
      vi.spyOn(console, "log"),
      vi.spyOn(console, "error"),
      vi.spyOn(console, "warn"),
    ];
    const path = join(tmpdir(), "dmasim-no-such-dir", "capture.trace");
    const err = await replayTrace(path).then(
      () => null,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err).toMatchObject({ name: "DmaSimError", code: "ENOENT" });
    expect(err!.message).toContain(path);
    expect(err!.message).not.toContain("\n");
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it("bad options are EINVAL", async () => {
    await expect(replayTrace(FIXTURE, { sampleEvery: 0 })).rejects.toMatchObject({ code: "EINVAL" });
    await expect(replayTrace(FIXTURE, { maxMaps: -1 })).rejects.toMatchObject({ code: "EINVAL" });
    await expect(replayTrace(FIXTURE, { system: { ramBytes: 3 } })).rejects.toMatchObject({ code: "EINVAL" });
    const sys = await createSystem(SMALL);
    expect(() => createReplayer(sys, { maxSamples: 1 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
    const r = createReplayer(sys);
    r.feed(readFileSync(FIXTURE, "utf8").split("\n")[14]!);
    r.finish();
    expect(() => r.feed("mm_page_free: page=0 pfn=0x1 order=0")).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });
});

describe("per-cpu list events (observations)", () => {
  it("counts mm_page_alloc_zone_locked and mm_page_pcpu_drain beside the simulation's own pcp traffic", async () => {
    // 64 MiB: 16384 pages; zone_batchsize(): min(16384 >> 10, 256) / 4 = 4;
    // rounddown_pow_of_two(4 + 2) - 1 = 3. The one movable allocation refills
    // CPU 0's empty list with 3 pages (nr_pcp_alloc(): batch 3 << 0, below
    // max_nr_alloc), takes one, and nothing drains.
    const out = await onBoth({ ramBytes: 64 * MIB, storeContents: false }, (sys) => {
      const r = createReplayer(sys);
      const head = "  kworker/0:1-42  [000] .....  4.918914: ";
      r.feed(
        `${head}mm_page_alloc_zone_locked: page=000000003c1b1f2e pfn=0x1000 order=0 migratetype=1 percpu_refill=1`,
      );
      r.feed(
        `${head}mm_page_alloc_zone_locked: page=000000003c1b1f2f pfn=0x1001 order=0 migratetype=1 percpu_refill=1`,
      );
      r.feed(alloc(0x1000, 0, 1, "GFP_HIGHUSER_MOVABLE"));
      r.feed(
        `${head}mm_page_alloc_zone_locked: page=000000003c1b1f30 pfn=0x1200 order=9 migratetype=1 percpu_refill=0`,
      );
      r.feed(`${head}mm_page_pcpu_drain: page=000000003c1b1f31 pfn=0x1002 order=1 migratetype=1`);
      const res = r.finish();
      return { replay: res.replay, byType: res.events.byType, skipped: res.events.skipped };
    });
    expect(out.replay).toMatchObject({
      traceZoneLockedAllocs: 3,
      tracePcpRefillPages: 2,
      tracePcpDrainPages: 2,
      simPcpRefillPages: 3,
      simPcpDrainPages: 0,
    });
    expect(out.byType).toMatchObject({ mm_page_alloc_zone_locked: 3, mm_page_pcpu_drain: 1, mm_page_alloc: 1 });
    expect(out.skipped).toBe(0);
  });
});
