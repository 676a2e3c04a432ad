/**
 * Worker thread entry of replayTrace()'s reading half (trace-scan.ts). The
 * thread serves one ScanRequest at a time, in the order they come, and stays
 * for the next: replays in one process reuse it (a thread takes ~100 ms to
 * start, a quarter of a replay of a 50 MB capture).
 */
import { parentPort } from "node:worker_threads";
import { scanTraceFile, type ScanRequest } from "./trace-scan.ts";

const port = parentPort;
if (port === null) throw new Error("trace-scan-worker: not started as a worker thread");
let queue: Promise<void> = Promise.resolve();
port.on("message", (request: ScanRequest) => {
  queue = queue.then(() => scanTraceFile(request, (message, transfer) => port.postMessage(message, transfer)));
});
