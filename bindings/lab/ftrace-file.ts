/**
 * Reading text ftrace captures from files and standard input in Node (the
 * browser reads its traces with openTraceStream(), trace-input.ts): streamed in
 * constant memory, gzip decompressed with node:zlib, binary captures refused
 * (trace-input.ts decides what is binary and cuts the bytes into lines for both).
 */
import { open, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import { DmaSimError } from "../core/errors.ts";
import {
  binaryTraceError,
  binaryTraceKind,
  ChunkReader,
  isGzip,
  lineChunks,
  MAX_LINE_BYTES,
  SNIFF_BYTES,
} from "./trace-input.ts";

/** Bytes read at a time. */
/** A trace file opened for streaming. Iterate one of `lines` or `batches`, not both. */
export interface TraceLineSource {
  /** The lines, without their terminators (LF or CRLF); the file is closed when they end. */
  lines: AsyncGenerator<string>;
  /** The same lines in arrays, one per chunk read: no promise per line, for fast consumers. */
  batches: AsyncGenerator<string[]>;
  /**
   * The same lines as bytes (UTF-8, as read): chunks that each end at a line
   * end (the last may not), so that no line spans two. A line longer than
   * 1 MiB is cut there, as `lines` cuts one of more than 1 Mi characters.
   */
  chunks: AsyncGenerator<Buffer>;
  /** File size in bytes when opened (compressed size for a gzip file); 0 for stdin, whose size is unknown. */
  totalBytes: number;
  /** Bytes read from the file so far (compressed bytes for a gzip file). */
  bytesRead(): number;
  /** Whether the file is gzip-compressed (read through node:zlib). */
  gzip: boolean;
  /** Closes the file without reading on (needed only when the lines are not read to their end). */
  close(): Promise<void>;
}

/** Bytes read at a time. */
const CHUNK_BYTES = 1 << 16;

/** The trace path that means standard input. */
export const STDIN_PATH = "-";

/** The DmaSimError for a file system error on `path`: one line, naming the path. */
function fileError(path: string, e: unknown): DmaSimError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const at = `cannot read trace file ${JSON.stringify(path)}`;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new DmaSimError("ENOENT", `${at}: no such file`);
    case "EACCES":
    case "EPERM":
      return new DmaSimError("EPERM", `${at}: permission denied`);
    case "EISDIR":
      return new DmaSimError("EINVAL", `${at}: it is a directory`);
    case "Z_DATA_ERROR":
    case "Z_BUF_ERROR":
      return new DmaSimError("EINVAL", `${at}: corrupt or truncated gzip data`);
    default:
      return new DmaSimError("EINVAL", `${at}: ${code ?? (e instanceof Error ? e.message : String(e))}`);
  }
}

/**
 * Opens `path` (or standard input for "-") and streams its lines in constant
 * memory: chunks of a read stream, split at LF with a CR before it dropped (as
 * node:readline does with crlfDelay: Infinity, at a third of its cost: it makes
 * a promise per line). gzip input (recognised by its magic bytes 1f 8b, whatever
 * the file is called) is decompressed on the fly with node:zlib. Binary input is
 * refused before any line is read: trace-cmd's trace.dat, perf.data, or anything
 * with a NUL byte in its first 4 KiB (after decompression), with a message saying
 * how to get a text trace. Open errors throw here; read errors throw from the
 * iteration. All are DmaSimErrors whose one-line message names the path.
 */
export async function openTraceLines(path: string): Promise<TraceLineSource> {
  if (typeof path !== "string" || path.length === 0)
    throw new DmaSimError("EINVAL", "replay: the trace path must be a non-empty string");
  let fh: FileHandle | null = null;
  let totalBytes = 0;
  let input: Readable;
  if (path === STDIN_PATH) {
    input = process.stdin;
  } else {
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw fileError(path, e);
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error("EISDIR"), { code: "EISDIR" });
      totalBytes = st.size;
    } catch (e) {
      await fh.close();
      throw fileError(path, e);
    }
    input = fh.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: false });
  }
  let gunzip: Readable | null = null;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    gunzip?.destroy();
    if (fh !== null) {
      input.destroy();
      await fh.close().catch(() => undefined);
    } else {
      input.pause();
    }
  };
  const raw = new ChunkReader<Buffer>((input as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
  let text: ChunkReader<Buffer>;
  let gzip: boolean;
  try {
    gzip = isGzip(await raw.peek(2));
    text = raw;
    if (gzip) {
      const source = Readable.from(raw);
      const z = createGunzip({ chunkSize: CHUNK_BYTES });
      source.on("error", (e) => z.destroy(e));
      source.pipe(z);
      gunzip = z;
      text = new ChunkReader((z as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
    }
    const binary = binaryTraceKind(await text.peek(SNIFF_BYTES), gzip ? "FILE" : path);
    if (binary !== null)
      throw binaryTraceError(path === STDIN_PATH ? "standard input" : JSON.stringify(path), gzip, binary);
  } catch (e) {
    await close();
    throw e instanceof DmaSimError ? e : fileError(path, e);
  }
  async function* batches(): AsyncGenerator<string[]> {
    // The decoder keeps UTF-8 sequences split between chunks whole.
    const decoder = new StringDecoder("utf8");
    let rest = "";
    const split = (chunk: string): string[] => {
      const all = rest.length > 0 ? rest + chunk : chunk;
      const out: string[] = [];
      let start = 0;
      for (let nl = all.indexOf("\n"); nl >= 0; nl = all.indexOf("\n", start)) {
        out.push(all.slice(start, nl > start && all.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      rest = all.slice(start);
      if (rest.length > MAX_LINE_BYTES) {
        out.push(rest);
        rest = "";
      }
      return out;
    };
    try {
      for (let chunk = await text.next(); chunk !== null; chunk = await text.next()) {
        const out = split(decoder.write(chunk));
        if (out.length > 0) yield out;
      }
      const out = split(decoder.end());
      if (out.length > 0) yield out;
      if (rest.length > 0) yield [rest.endsWith("\r") ? rest.slice(0, -1) : rest];
    } catch (e) {
      throw e instanceof DmaSimError ? e : fileError(path, e);
    } finally {
      await close();
    }
  }
  async function* lines(): AsyncGenerator<string> {
    for await (const batch of batches()) yield* batch;
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      // Buffers over the same bytes: the scanner worker slices strings out of them.
      for await (const c of lineChunks(text)) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    } catch (e) {
      throw e instanceof DmaSimError ? e : fileError(path, e);
    } finally {
      await close();
    }
  }
  return {
    lines: lines(),
    batches: batches(),
    chunks: chunks(),
    totalBytes,
    bytesRead: () => raw.taken,
    gzip,
    close,
  };
}

/**
 * The lines of a text trace file (without their LF or CRLF), streamed in
 * constant memory (see openTraceLines()). A missing or
 * unreadable file is a DmaSimError (ENOENT, EPERM, or EINVAL for a directory)
 * with a one-line message naming the path.
 */
export async function* readTraceLines(path: string): AsyncGenerator<string> {
  const source = await openTraceLines(path);
  yield* source.lines;
}
