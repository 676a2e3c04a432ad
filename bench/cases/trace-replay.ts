import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSystem } from "dmasim";
import type { Case } from "../case.ts";
import { fmtInt } from "../format.ts";
import { DEFAULT_REPLAY_SYSTEM, replayTrace, type LabResult, type ReplayCounter } from "../lab-imports.ts";
import { writeSyntheticTrace } from "../synthetic-trace.ts";

const TRACE_EVENTS = 1_000_000;
const TRACE_FILE = "trace-replay.txt";

/** A replay's result, with the parts a replay (not a scenario run) always has. */
type Replayed = LabResult & {
  events: NonNullable<LabResult["events"]>;
  replay: Record<ReplayCounter, number>;
};

function replayed(r: LabResult): Replayed {
  if (!r.events || !r.replay) throw new Error("trace-replay: replayTrace() returned no event or replay counters");
  return r as Replayed;
}

export const traceReplay: Case = {
  name: "trace-replay",
  description:
    "replayTrace() of a synthetic ftrace text of 1M mm_page_alloc/mm_page_free events (orders 0-3, three migratetypes, " +
    "every free matching an earlier allocation) on the default replay machine (1 GiB without contents, 64 MiB CMA); " +
    "one op = read, parse and replay the whole file",
  replayOps: 1,
  // replayTrace() is async (it streams the file) and one op takes seconds: the
  // replay (which warms the code up on a million events), then a fixed number
  // of measured ops, without tinybench's warm-up.
  async: true,
  bench: { time: 0, warmup: false, iterations: 4 },
  /** Parent, once per run: writes the trace into the run's temporary directory. */
  prepare(dir) {
    const t0 = performance.now();
    const path = join(dir, TRACE_FILE);
    const stats = writeSyntheticTrace(path, TRACE_EVENTS);
    return [
      `trace: ${TRACE_EVENTS} events (${stats.allocs} allocs, ${stats.frees} frees, ${stats.live} blocks still live at the end), ` +
        `${(statSync(path).size / 1e6).toFixed(1)} MB, written in ${(performance.now() - t0).toFixed(0)} ms`,
    ];
  },
  async make(backend) {
    const path = join(process.env.DMASIM_BENCH_DIR ?? tmpdir(), TRACE_FILE);
    if (!statSync(path, { throwIfNoEntry: false }))
      throw new Error(`trace-replay: no trace at ${path} (run through the parent)`);
    // The machine every replay starts on: the set-up hash. The replay's own machine
    // is internal to replayTrace(); its final hash is the replay hash.
    const sys = await createSystem({ ...DEFAULT_REPLAY_SYSTEM, backend });
    let last: Replayed | null = null;
    let sum = 0;
    let ops = 0;
    const check = (r: Replayed): void => {
      const c = r.replay;
      const problems: string[] = [];
      if (r.events.parsed !== TRACE_EVENTS) problems.push(`${r.events.parsed} events parsed`);
      if (r.events.skipped !== (r.events.skippedReasons.comment ?? 0))
        problems.push(`skipped ${JSON.stringify(r.events.skippedReasons)}`);
      if (c.simFailed || c.simOnlyFailed || c.traceFailed) problems.push(`${c.simFailed} simulated allocations failed`);
      if (c.agreed !== c.allocs) problems.push(`${c.agreed}/${c.allocs} outcomes agreed`);
      for (const k of ["remapped", "unmatchedFrees", "orderMismatches", "partialFrees", "freesWithoutSim"] as const)
        if (c[k]) problems.push(`${k} ${c[k]}`);
      if (c.allocs + c.frees !== TRACE_EVENTS) problems.push(`${c.allocs} allocs + ${c.frees} frees`);
      if (problems.length) throw new Error(`trace-replay: ${problems.join("; ")}`);
    };
    const lastReplay = (): Replayed => {
      if (!last) throw new Error("trace-replay: no replay yet");
      return last;
    };
    return {
      sys,
      async op() {
        ops++;
        const r = replayed(await replayTrace(path, { backend }));
        if (last && r.stateHash !== last.stateHash)
          throw new Error(`trace-replay: replay not deterministic (${r.stateHash} after ${last.stateHash})`);
        last = r;
        sum = (sum + r.events.parsed + r.replay.liveBlocks + parseInt(r.stateHash, 16)) >>> 0;
      },
      verify: () => check(lastReplay()),
      // The replay machine is gone with replayTrace(): compare its final hash, and check its counters.
      stateHash: () => (last ? last.stateHash : sys.stateHash()),
      check: () => (last ? check(last) : sys.check()),
      checksum: () => sum,
      eventsPerOp: () => (last ? last.events.parsed : 0),
      info() {
        const r = lastReplay();
        const c = r.replay;
        const s = r.summary;
        return [
          `per op: ${r.events.parsed} events (${Object.entries(r.events.byType)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}), ` +
            `${r.events.skipped} header lines skipped; ${c.allocs} allocs all agreed, ${c.frees} frees, ${c.simExtfrag} simulated extfrag events, ` +
            `${c.liveBlocks} blocks live at the end`,
          `end of replay: ${s.nrFreePages} pages free, ${s.pgmigrateSuccess} pages migrated, ${r.samples.length} metric samples, ` +
            `${r.maps.length} memory maps; last op's own timing ${fmtInt(r.timing.wallMs)} ms = ` +
            `${fmtInt(r.timing.eventsPerSec!)} events/s (after the file is open and the machine made); ops run: ${ops}`,
        ];
      },
    };
  },
};
