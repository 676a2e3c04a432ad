/** Worker thread entry of replayTrace()'s reading half (trace-scan.ts). */
import { parentPort, workerData } from "node:worker_threads";
import { scanTraceFile, type ScanRequest } from "./trace-scan.ts";

const port = parentPort;
if (port === null) throw new Error("trace-scan-worker: not started as a worker thread");
await scanTraceFile(workerData as ScanRequest, (message, transfer) => port.postMessage(message, transfer));
