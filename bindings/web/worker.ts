/**
 * The browser Lab's Web Worker: runs a built-in scenario with the Node Lab's
 * own runner, or replays a dropped ftrace file with the Node Lab's own replay
 * loop (same inputs give the same result and state hash as `dmasim run` and
 * `dmasim replay`), reporting progress, the live memory map and the metrics
 * samples as it goes.
 */
import { DEFAULT_REPLAY_SYSTEM, replayTraceStream } from "../lab/replay.ts";
import type { MetricsSample } from "../lab/metrics.ts";
import type { LabResult } from "../lab/result.ts";
import { runScenario } from "../lab/runner.ts";
import { builtinScenarioSpec, validateScenario } from "../lab/scenario.ts";
import type { ReplayRequest, RunRequest, WorkerReply, WorkerRequest } from "./protocol.ts";

/** The worker's global scope, typed only as far as used (the project's DOM lib has no worker types). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage: (reply: WorkerReply) => void;
};

/** The default 4 KiB page of SystemOptions, which DEFAULT_REPLAY_SYSTEM keeps. */
const REPLAY_PAGE_SIZE = DEFAULT_REPLAY_SYSTEM.pageSize ?? 4096;

/** Progress posts, a few dozen a run: enough for a progress bar. */
function progressPoster(): (done: number, total: number) => void {
  let lastPost = 0;
  return (done, total) => {
    if (total === 0 || done - lastPost >= total / 50 || done === total) {
      lastPost = done;
      scope.postMessage({ kind: "progress", done, total });
    }
  };
}

/** Each sample goes to the page as it is taken: the plots grow with them. */
function samplePoster(timeTitle: "operation" | "trace event", pageSize: number): (s: MetricsSample) => void {
  return (sample) => scope.postMessage({ kind: "samples", samples: [sample], timeTitle, pageSize });
}

async function run(req: RunRequest): Promise<LabResult> {
  const spec = builtinScenarioSpec(req.scenario);
  if (!spec) throw new Error(`unknown scenario "${req.scenario}"`);
  const scenario = validateScenario(spec);
  const pageSize = scenario.machine.pageSize;
  return runScenario(scenario, {
    seed: req.seed,
    scale: req.scale,
    backend: req.backend,
    kernel: req.kernel,
    onProgress: progressPoster(),
    onLiveMap: (map) => scope.postMessage({ kind: "map", map, pageSize }),
    onSample: samplePoster("operation", pageSize),
  });
}

async function replay(req: ReplayRequest): Promise<LabResult> {
  return replayTraceStream(req.name, req.file.stream(), {
    backend: req.backend,
    totalBytes: req.file.size,
    onProgress: progressPoster(),
    onLiveMap: (map) => scope.postMessage({ kind: "map", map, pageSize: REPLAY_PAGE_SIZE }),
    onSample: samplePoster("trace event", REPLAY_PAGE_SIZE),
  });
}

scope.onmessage = (e) => {
  const req = e.data;
  (req.kind === "replay" ? replay(req) : run(req))
    .then((result) => scope.postMessage({ kind: "result", result }))
    .catch((err: unknown) =>
      scope.postMessage({ kind: "error", message: err instanceof Error ? err.message : String(err) }),
    );
};
