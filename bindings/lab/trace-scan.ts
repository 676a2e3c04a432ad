/**
 * The reading half of replayTrace(), run on a worker thread so that reading,
 * gunzip and scanning a file overlap the replay on the main thread (a machine
 * has two cores or more; on one, it costs a thread switch now and then).
 *
 * The worker opens the file with openTraceLines() and sends, per chunk of
 * lines, what scanKmemLine() read of each line, in order:
 *
 *   kinds[i]              FAST_ALLOC | FAST_FREE | FAST_BATCHED | FAST_SKIP, or 0: texts[k++] is the line
 *   numbers[4i .. 4i+3]   pfn, order, migratetype, timestamp (-1: none)
 *   gfpIds[i]             FAST_ALLOC: the gfp_flags text, as an id into the strings sent so far;
 *                         FAST_ZONE_LOCKED: 1 for percpu_refill=1
 *
 * At most MAX_BATCHES_IN_FLIGHT batches wait for the main thread (a counter in
 * shared memory; the worker sleeps on it), so memory stays bounded whatever the
 * file's size. An open or read error travels as its code and message.
 */
import { DmaSimError } from "../core/errors.ts";
import { FAST_ALLOC, FAST_ZONE_LOCKED, KmemScan, kmemGfpFlags, scanKmemLine } from "./ftrace.ts";
import { openTraceLines } from "./ftrace-file.ts";

/** Batches sent and not yet taken by the main thread, at most. */
export const MAX_BATCHES_IN_FLIGHT = 8;

/** One chunk's lines, as the worker read them. */
export interface ScanBatch {
  kinds: Uint8Array;
  numbers: Float64Array;
  gfpIds: Int32Array;
  /** The lines the scanner left to the general parser, in order. */
  texts: string[];
  /** gfp_flags texts first seen in this batch: their ids follow the earlier ones'. */
  newGfp: string[];
  /** Bytes read from the file so far (compressed bytes for gzip). */
  bytesRead: number;
}

/** Worker → main messages. */
export type ScanMessage =
  | { kind: "open"; totalBytes: number; gzip: boolean }
  | { kind: "batch"; batch: ScanBatch }
  | { kind: "end"; bytesRead: number }
  /** code: a DmaSimError's, or null for any other error. */
  | { kind: "error"; code: string | null; message: string };

/** Main → worker: what to read, and the shared counter of batches in flight. */
export interface ScanRequest {
  path: string;
  inFlight: SharedArrayBuffer;
}

/** The worker's side: reads `request.path` and posts ScanMessages through `post`. */
export async function scanTraceFile(
  request: ScanRequest,
  post: (m: ScanMessage, transfer: ArrayBuffer[]) => void,
): Promise<void> {
  const inFlight = new Int32Array(request.inFlight);
  let source;
  try {
    source = await openTraceLines(request.path);
  } catch (e) {
    post(errorMessage(e), []);
    return;
  }
  post({ kind: "open", totalBytes: source.totalBytes, gzip: source.gzip }, []);
  const scan = new KmemScan();
  const gfpIds = new Map<string, number>();
  try {
    for await (const chunk of source.chunks) {
      // Lines end at LF, with a CR before it dropped (as openTraceLines() splits them).
      let lines = 0;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
      if (chunk.length > 0 && chunk[chunk.length - 1] !== 10) lines++;
      const kinds = new Uint8Array(lines);
      const numbers = new Float64Array(lines * 4);
      const ids = new Int32Array(lines);
      const texts: string[] = [];
      const newGfp: string[] = [];
      let i = 0;
      for (let from = 0; from < chunk.length; i++) {
        let lf = chunk.indexOf(10, from);
        if (lf < 0) lf = chunk.length;
        const to = lf > from && chunk[lf - 1] === 13 ? lf - 1 : lf;
        const kind = scanKmemLine(chunk, from, to, scan);
        kinds[i] = kind;
        if (kind === 0) {
          texts.push(chunk.toString("utf8", from, to));
        } else {
          numbers[4 * i] = scan.pfn;
          numbers[4 * i + 1] = scan.order;
          numbers[4 * i + 2] = scan.migratetype;
          numbers[4 * i + 3] = scan.timestamp;
          if (kind === FAST_ZONE_LOCKED) ids[i] = scan.percpuRefill ? 1 : 0;
          else if (kind === FAST_ALLOC) {
            const gfp = kmemGfpFlags(chunk, scan);
            let id = gfpIds.get(gfp);
            if (id === undefined) {
              id = gfpIds.size;
              gfpIds.set(gfp, id);
              newGfp.push(gfp);
            }
            ids[i] = id;
          }
        }
        from = lf + 1;
      }
      // Wait while the main thread has enough to do.
      while (Atomics.load(inFlight, 0) >= MAX_BATCHES_IN_FLIGHT) Atomics.wait(inFlight, 0, MAX_BATCHES_IN_FLIGHT, 1000);
      Atomics.add(inFlight, 0, 1);
      post(
        {
          kind: "batch",
          batch: { kinds, numbers, gfpIds: ids, texts, newGfp, bytesRead: source.bytesRead() },
        },
        [kinds.buffer, numbers.buffer, ids.buffer] as ArrayBuffer[],
      );
    }
    post({ kind: "end", bytesRead: source.bytesRead() }, []);
  } catch (e) {
    post(errorMessage(e), []);
  } finally {
    await source.close();
  }
}

function errorMessage(e: unknown): ScanMessage {
  if (e instanceof DmaSimError) {
    const prefix = `${e.code}: `;
    return {
      kind: "error",
      code: e.code,
      message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message,
    };
  }
  return { kind: "error", code: null, message: e instanceof Error ? e.message : String(e) };
}
