/**
 * The reading half of replayTrace(), run on a worker thread so that reading,
 * gunzip and scanning a file overlap the replay on the main thread (a machine
 * has two cores or more; on one, it costs a thread switch now and then).
 *
 * The worker opens the file with openTraceLines() and sends what
 * scanKmemLine() read of each line, in batches of up to BATCH_LINES lines
 * (several chunks of the file: one message per batch, not per chunk):
 *
 *   kinds[i]              FAST_ALLOC | FAST_FREE | FAST_BATCHED | FAST_SKIP | FAST_ZONE_LOCKED |
 *                         FAST_PCP_DRAIN, or 0: texts[k++] is the line, for the general parser
 *   numbers[4i .. 4i+3]   pfn, order, migratetype, timestamp (-1: none)
 *   gfpIds[i]             FAST_ALLOC: the gfp_flags text, as an id into the strings sent so far;
 *                         FAST_ZONE_LOCKED: 1 for percpu_refill=1
 *
 * for i < count (the arrays may be longer). At most MAX_BATCHES_IN_FLIGHT
 * batches wait for the main thread (a counter in shared memory; the worker
 * sleeps on it), so memory stays bounded whatever the file's size. An open or
 * read error travels as its code and message.
 */
import { DmaSimError } from "../core/errors.ts";
// The scanner alone, not the public API (../index.ts): this module runs on the
// reader thread, whose start-up should not load the whole library.
import { TraceScanner } from "../lib/trace-scanner.ts";
import { FAST_ALLOC, FAST_SKIP, FAST_ZONE_LOCKED, KmemScan, latin1Text, scanKmemLine } from "./ftrace.ts";
import { openTraceLines } from "./ftrace-file.ts";

/** Batches sent and not yet taken by the main thread, at most. */
export const MAX_BATCHES_IN_FLIGHT = 8;
/** Lines per batch, at most (a batch ends at a chunk's end once it has BATCH_LINES / 2). */
const BATCH_LINES = 16_384;

/** Lines of the file, as the worker read them. */
export interface ScanBatch {
  /** Lines in the batch: the arrays' first `count` entries. */
  count: number;
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

/**
 * gfp_flags texts by id, looked up by their bytes: a line's flags are compared
 * with the last few texts seen (allocations come in runs of the same flags)
 * before a string is made of them.
 */
class GfpIds {
  private readonly ids = new Map<string, number>();
  /** The most recent distinct texts, as bytes, and their ids (a small ring). */
  private readonly recentBytes: Uint8Array[] = [];
  private readonly recentIds: number[] = [];
  private next = 0;
  private static readonly RECENT = 8;

  /** The id of the gfp_flags text bytes[from, to) (ASCII); a new text is pushed onto `added`. */
  idOf(bytes: Uint8Array, from: number, to: number, added: string[]): number {
    const length = to - from;
    for (let r = 0; r < this.recentBytes.length; r++) {
      const known = this.recentBytes[r]!;
      if (known.length !== length) continue;
      let k = 0;
      while (k < length && known[k] === bytes[from + k]) k++;
      if (k === length) return this.recentIds[r]!;
    }
    const text = latin1Text(bytes, from, to);
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(text, id);
      added.push(text);
    }
    const slot = this.next++ % GfpIds.RECENT;
    this.recentBytes[slot] = bytes.slice(from, from + length);
    this.recentIds[slot] = id;
    return id;
  }
}

/** The batch being filled. */
export class BatchBuilder {
  count = 0;
  kinds = new Uint8Array(BATCH_LINES);
  numbers = new Float64Array(BATCH_LINES * 4);
  gfpIds = new Int32Array(BATCH_LINES);
  texts: string[] = [];
  newGfp: string[] = [];

  get full(): boolean {
    return this.count >= BATCH_LINES;
  }

  /** Whether `n` more lines fit. */
  fits(n: number): boolean {
    return this.count + n <= BATCH_LINES;
  }

  /** Hands the batch out and starts a new one. */
  take(bytesRead: number): ScanBatch {
    const b: ScanBatch = {
      count: this.count,
      kinds: this.kinds,
      numbers: this.numbers,
      gfpIds: this.gfpIds,
      texts: this.texts,
      newGfp: this.newGfp,
      bytesRead,
    };
    this.count = 0;
    this.kinds = new Uint8Array(BATCH_LINES);
    this.numbers = new Float64Array(BATCH_LINES * 4);
    this.gfpIds = new Int32Array(BATCH_LINES);
    this.texts = [];
    this.newGfp = [];
    return b;
  }
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
  const scanner = new ChunkScanner(await engineForScanning());
  const batch = new BatchBuilder();
  const send = (): void => {
    // Wait while the main thread has enough to do.
    while (Atomics.load(inFlight, 0) >= MAX_BATCHES_IN_FLIGHT) Atomics.wait(inFlight, 0, MAX_BATCHES_IN_FLIGHT, 1000);
    Atomics.add(inFlight, 0, 1);
    const b = batch.take(source.bytesRead());
    post({ kind: "batch", batch: b }, [b.kinds.buffer, b.numbers.buffer, b.gfpIds.buffer] as ArrayBuffer[]);
  };
  try {
    for await (const chunk of source.chunks) {
      scanner.scan(chunk, batch, send);
      if (batch.count >= BATCH_LINES / 2) send();
    }
    if (batch.count > 0) send();
    post({ kind: "end", bytesRead: source.bytesRead() }, []);
  } catch (e) {
    post(errorMessage(e), []);
  } finally {
    await source.close();
  }
}

/**
 * The engine's scanner (assembly/trace-scan.ts), on the WASM build whatever
 * the replay's backend (it keeps no machine state; the portable build's gives
 * the same answers, slower). null when it cannot load here: scanKmemLine()
 * reads every line then.
 */
async function engineForScanning(): Promise<TraceScanner | null> {
  try {
    return await TraceScanner.create("wasm");
  } catch {
    return null;
  }
}

/** Scans chunks of the file into batches: in the engine when there is one, else line by line here. */
export class ChunkScanner {
  private readonly fields = new KmemScan();
  private readonly gfp = new GfpIds();

  constructor(private readonly engine: TraceScanner | null) {}

  /** Scans every line of `chunk` into `batch`, calling `send` first whenever the batch is full. */
  scan(chunk: Buffer, batch: BatchBuilder, send: () => void): void {
    const engine = this.engine;
    if (engine === null) {
      // Lines end at LF, with a CR before it dropped (as openTraceLines() splits them).
      for (let from = 0; from < chunk.length;) {
        let lf = chunk.indexOf(10, from);
        if (lf < 0) lf = chunk.length;
        const to = lf > from && chunk[lf - 1] === 13 ? lf - 1 : lf;
        if (batch.full) send();
        this.scanHere(chunk, from, to, batch, batch.count++);
        from = lf + 1;
      }
      return;
    }
    engine.load(chunk);
    for (let n = engine.next(); n > 0; n = engine.next()) {
      if (!batch.fits(n)) send();
      const { kinds, numbers, spans } = engine;
      const first = batch.count;
      batch.kinds.set(kinds, first);
      batch.numbers.set(numbers, 4 * first);
      for (let i = 0; i < n; i++) {
        const kind = kinds[i]!;
        if (kind === FAST_ALLOC)
          batch.gfpIds[first + i] = this.gfp.idOf(chunk, spans[4 * i + 2]!, spans[4 * i + 3]!, batch.newGfp);
        else if (kind === FAST_ZONE_LOCKED) batch.gfpIds[first + i] = spans[4 * i + 2]!;
        // A line the engine's scanner is not sure of: this thread's scanner decides.
        else if (kind === 0) this.scanHere(chunk, spans[4 * i]!, spans[4 * i + 1]!, batch, first + i);
      }
      batch.count += n;
    }
  }

  /** scanKmemLine() of the line bytes[from, to) into the batch's entry `i`. */
  private scanHere(bytes: Buffer, from: number, to: number, batch: BatchBuilder, i: number): void {
    const scan = this.fields;
    const kind = scanKmemLine(bytes, from, to, scan);
    batch.kinds[i] = kind;
    if (kind === 0) {
      batch.texts.push(bytes.toString("utf8", from, to));
      return;
    }
    if (kind === FAST_SKIP) return;
    const numbers = batch.numbers;
    numbers[4 * i] = scan.pfn;
    numbers[4 * i + 1] = scan.order;
    numbers[4 * i + 2] = scan.migratetype;
    numbers[4 * i + 3] = scan.timestamp;
    if (kind === FAST_ZONE_LOCKED) batch.gfpIds[i] = scan.percpuRefill ? 1 : 0;
    else if (kind === FAST_ALLOC)
      batch.gfpIds[i] = this.gfp.idOf(bytes, scan.valueFrom[4]!, scan.valueTo[4]!, batch.newGfp);
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
