import { createReadStream, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { createSystem } from "dmasim";
import type { Case } from "../case.ts";
import { fmtInt } from "../format.ts";
import { DEFAULT_REPLAY_SYSTEM, replayTrace, type LabResult } from "../lab-imports.ts";

// The real capture the twin tests use: Debian's 6.1 kernel under QEMU, tmpfs
// churn and compact_memory, 377k lines (51 MB of text, gzip-compressed as shipped).
const CAPTURE = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "test",
  "fixtures",
  "twin-debian61",
  "trace.txt.gz",
);
/** How many times the readline baseline runs after the benchmark (the median is reported). */
const BASELINE_RUNS = 5;
/** The issue's target: a replay takes at most twice as long as reading the same lines with readline. */
const TARGET_RATIO = 2;

/** Node's readline over the same gunzip stream: the cost of merely reading the capture's lines. */
async function readlineMs(path: string): Promise<{ ms: number; lines: number }> {
  const t0 = performance.now();
  let lines = 0;
  const input = createReadStream(path).pipe(createGunzip());
  for await (const _ of createInterface({ input, crlfDelay: Infinity })) lines++;
  return { ms: performance.now() - t0, lines };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

export const traceReplayReal: Case = {
  name: "trace-replay-real",
  description:
    "replayTrace() of the shipped real capture (test/fixtures/twin-debian61/trace.txt.gz: Debian 6.1 under QEMU, " +
    "377k lines, 51 MB of text) on the default replay machine, beside Node's readline reading the same gzip file; " +
    "one op = read, gunzip, parse and replay the whole file",
  replayOps: 1,
  async: true,
  bench: { time: 0, warmup: false, iterations: 5 },
  prepare() {
    const size = statSync(CAPTURE, { throwIfNoEntry: false })?.size;
    if (size === undefined) throw new Error(`trace-replay-real: no capture at ${CAPTURE}`);
    return [`capture: ${CAPTURE} (${(size / 1e6).toFixed(1)} MB gzip)`];
  },
  async make(backend) {
    const sys = await createSystem({ ...DEFAULT_REPLAY_SYSTEM, backend });
    let last: LabResult | null = null;
    let sum = 0;
    const wallMs: number[] = [];
    const lastReplay = (): LabResult => {
      if (!last) throw new Error("trace-replay-real: no replay yet");
      return last;
    };
    return {
      sys,
      async op() {
        const t0 = performance.now();
        const r = await replayTrace(CAPTURE, { backend });
        wallMs.push(performance.now() - t0);
        if (last && r.stateHash !== last.stateHash)
          throw new Error(`trace-replay-real: replay not deterministic (${r.stateHash} after ${last.stateHash})`);
        last = r;
        sum = (sum + (r.events?.parsed ?? 0) + parseInt(r.stateHash, 16)) >>> 0;
      },
      verify() {
        const r = lastReplay();
        // Every line is read once, as an event or a skip.
        if (!r.events || r.events.parsed + r.events.skipped !== 377_121)
          throw new Error(`trace-replay-real: ${r.events?.parsed} + ${r.events?.skipped} lines, not 377121`);
      },
      stateHash: () => (last ? last.stateHash : sys.stateHash()),
      check: () => sys.check(),
      checksum: () => sum,
      eventsPerOp: () => (last?.events ? last.events.parsed : 0),
      info() {
        const r = lastReplay();
        return [
          `per op: ${r.events!.parsed} events replayed, ${r.events!.skipped} lines skipped (` +
            `${Object.entries(r.events!.skippedReasons)
              .sort((a, b) => b[1] - a[1])
              .slice(0, 3)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")})`,
        ];
      },
      async afterBench(): Promise<string[]> {
        const runs: number[] = [];
        let lines = 0;
        for (let i = 0; i < BASELINE_RUNS; i++) {
          const b = await readlineMs(CAPTURE);
          runs.push(b.ms);
          lines = b.lines;
        }
        // The same replay with the file read on this thread: what the reader thread buys.
        const inThread: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          const r = await replayTrace(CAPTURE, { backend, readerThread: false });
          inThread.push(performance.now() - t0);
          if (r.stateHash !== lastReplay().stateHash)
            throw new Error(
              `trace-replay-real: in-thread replay ended at ${r.stateHash}, not ${lastReplay().stateHash}`,
            );
        }
        const replay = median(wallMs);
        const base = median(runs);
        const ratio = replay / base;
        return [
          `side by side: replay ${fmtInt(replay)} ms (median of ${wallMs.length}), readline ${fmtInt(base)} ms ` +
            `(median of ${BASELINE_RUNS}, ${lines} lines): replay/readline ${ratio.toFixed(2)} ` +
            `(target <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}); ` +
            `read on the replay's own thread: ${fmtInt(median(inThread))} ms, ratio ${(median(inThread) / base).toFixed(2)}`,
        ];
      },
    };
  },
};
