/**
 * The browser Lab's Web Worker: runs a built-in scenario with the Node Lab's
 * own runner (same seed, scale, backend and kernel profile give the same
 * result and state hash as `dmasim run`), reporting progress as it goes.
 */
import { runScenario } from "../lab/runner.ts";
import { builtinScenarioSpec, validateScenario } from "../lab/scenario.ts";
import type { RunRequest, WorkerReply } from "./protocol.ts";

/** The worker's global scope, typed only as far as used (the project's DOM lib has no worker types). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<RunRequest>) => void) | null;
  postMessage: (reply: WorkerReply) => void;
};

async function run(req: RunRequest): Promise<void> {
  const spec = builtinScenarioSpec(req.scenario);
  if (!spec) throw new Error(`unknown scenario "${req.scenario}"`);
  let lastPost = 0;
  const pageSize = validateScenario(spec).machine.pageSize;
  const result = await runScenario(validateScenario(spec), {
    seed: req.seed,
    scale: req.scale,
    backend: req.backend,
    kernel: req.kernel,
    onProgress: (done, total) => {
      // A few dozen updates a run are enough for a progress bar.
      if (done - lastPost >= total / 50 || done === total) {
        lastPost = done;
        scope.postMessage({ kind: "progress", done, total });
      }
    },
    onLiveMap: (map) => scope.postMessage({ kind: "map", map, pageSize }),
  });
  scope.postMessage({ kind: "result", result });
}

scope.onmessage = (e) => {
  run(e.data).catch((err: unknown) =>
    scope.postMessage({ kind: "error", message: err instanceof Error ? err.message : String(err) }),
  );
};
