/**
 * `dmasim replay TRACE` in Node: a trace file (or standard input) read with
 * Node's file system and zlib, scanned on a worker thread while the replay
 * runs, and replayed by replay.ts's replayTraceSource(), the loop the browser
 * Lab replays dropped files with.
 */
import { basename } from "node:path";
import { DmaSimError, type ErrnoCode } from "../core/errors.ts";
import { show } from "../core/validate.ts";
import { openTraceLines, STDIN_PATH } from "./ftrace-file.ts";
import { checkSourceOptions, replayTraceSource, type ReplayOptions } from "./replay.ts";
import type { LabResult } from "./result.ts";
import type { ScanBatch, ScanMessage, ScanRequest } from "./trace-scan.ts";

/**
 * `dmasim replay TRACE`: streams a text ftrace capture from `path` (in constant
 * memory) through a replayer on a fresh machine (DEFAULT_REPLAY_SYSTEM merged
 * with `options.system`). `path` "-" reads standard input; gzip input is
 * decompressed on the fly (see openTraceLines()). A missing or unreadable file,
 * or a binary one (trace.dat, perf.data), is a DmaSimError with a one-line
 * message naming it, thrown before any machine is made; a trace none of whose
 * lines is a replayable event is an EINVAL DmaSimError after reading it. Lines of
 * known events that do not parse are counted (events.skippedReasons) and
 * reported in one warning (`onWarning`, `LabResult.warnings`).
 */
export async function replayTrace(path: string, options: ReplayOptions = {}): Promise<LabResult> {
  checkSourceOptions("replayTrace", options);
  const { readerThread: given, ...rest } = options;
  const readerThread = given === undefined ? true : given;
  if (typeof readerThread !== "boolean")
    throw new DmaSimError("EINVAL", `replayTrace: readerThread must be a boolean, got ${show(readerThread)}`);
  const name = path === STDIN_PATH ? "stdin" : typeof path === "string" ? basename(path) : "";
  // A file is read and scanned on a worker thread while this one replays; standard
  // input (or a runtime without workers) is read here.
  const scanned = path === STDIN_PATH || !readerThread ? null : await openScanWorker(path, name);
  if (scanned !== null) return replayTraceSource(scanned, rest);
  const lines = await openTraceLines(path);
  const { chunks, totalBytes, bytesRead, gzip, close } = lines;
  return replayTraceSource({ name, chunks, totalBytes, bytesRead, gzip, close }, rest);
}

/** A file being read and scanned on a worker thread (trace-scan.ts). */
interface ScanReader {
  name: string;
  totalBytes: number;
  batches: AsyncGenerator<ScanBatch>;
  bytesRead(): number;
  close(): Promise<void>;
}

/**
 * Reader threads that finished a file cleanly, kept for the next replay (unref'd:
 * an idle one does not keep the process alive). A thread that failed, or was
 * stopped in the middle of a file, is terminated instead.
 */
const idleReaders: import("node:worker_threads").Worker[] = [];

/** An idle reader thread, or a new one; null when no worker thread can start here. */
async function takeReader(): Promise<import("node:worker_threads").Worker | null> {
  const idle = idleReaders.pop();
  if (idle !== undefined) {
    idle.ref();
    return idle;
  }
  try {
    const { Worker } = await import("node:worker_threads");
    return new Worker(new URL("./trace-scan-worker.js", import.meta.url));
  } catch {
    return null;
  }
}

/**
 * Hands `path` to a reader thread that reads and scans it; waits for it to open
 * the file (an open error, or a binary file, is its DmaSimError, thrown here).
 * null when no worker thread can start here: the caller reads the file itself.
 */
async function openScanWorker(path: string, name: string): Promise<ScanReader | null> {
  const worker = await takeReader();
  if (worker === null) return null;
  const inFlight = new SharedArrayBuffer(4);
  const counter = new Int32Array(inFlight);
  const queue: ScanMessage[] = [];
  let failure: Error | null = null;
  let exited = false;
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onMessage = (m: ScanMessage): void => {
    queue.push(m);
    signal();
  };
  const onError = (e: Error): void => {
    failure = e;
    signal();
  };
  const onExit = (): void => {
    exited = true;
    signal();
  };
  worker.on("message", onMessage);
  worker.on("error", onError);
  worker.on("exit", onExit);
  const detach = (): void => {
    worker.off("message", onMessage);
    worker.off("error", onError);
    worker.off("exit", onExit);
  };
  /** Done with the thread: back to the idle ones after a clean end, else terminated. */
  let released = false;
  const release = async (reusable: boolean): Promise<void> => {
    if (released) return;
    released = true;
    detach();
    if (reusable && !exited && failure === null) {
      worker.unref();
      idleReaders.push(worker);
    } else if (!exited) {
      await worker.terminate();
    }
  };
  const request: ScanRequest = { path, inFlight };
  worker.postMessage(request);
  const next = async (): Promise<ScanMessage | null> => {
    for (;;) {
      const m = queue.shift();
      if (m !== undefined) return m;
      if (failure !== null) throw failure;
      if (exited) return null;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const thrown = (m: ScanMessage & { kind: "error" }): Error =>
    m.code === null ? new Error(m.message) : new DmaSimError(m.code as ErrnoCode, m.message);
  let first: ScanMessage | null;
  try {
    first = await next();
  } catch {
    // The worker did not start (its module could not load): read in this thread.
    await release(false);
    return null;
  }
  if (first === null) {
    await release(false);
    return null;
  }
  if (first.kind === "error") {
    // The thread is fine (the file was not): it may serve the next replay.
    await release(true);
    throw thrown(first);
  }
  if (first.kind !== "open") {
    await release(false);
    throw new Error(`replay: the trace reader began with ${first.kind}`);
  }
  let bytesRead = 0;
  async function* batches(): AsyncGenerator<ScanBatch> {
    for (;;) {
      const m = await next();
      if (m === null) throw new Error("replay: the trace reader stopped before the end of the file");
      if (m.kind === "end") {
        bytesRead = m.bytesRead;
        await release(true);
        return;
      }
      if (m.kind === "error") {
        await release(true);
        throw thrown(m);
      }
      if (m.kind !== "batch") continue;
      // Taken: the worker may read on.
      Atomics.sub(counter, 0, 1);
      Atomics.notify(counter, 0);
      bytesRead = m.batch.bytesRead;
      yield m.batch;
    }
  }
  return {
    name,
    totalBytes: first.totalBytes,
    batches: batches(),
    bytesRead: () => bytesRead,
    // Stopped before the end (or after it: then release() did its work already).
    close: () => release(false),
  };
}
