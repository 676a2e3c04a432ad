/**
 * The input side of a trace replay that needs no file system: a text trace as
 * chunks of bytes, gzip recognised by its magic bytes and decompressed, binary
 * captures (trace-cmd's trace.dat, perf.data) refused, and the bytes cut into
 * chunks that end at line ends. The Node reader (ftrace-file.ts: files,
 * standard input, node:zlib) and the browser's (openTraceStream(): a File's
 * stream, DecompressionStream) both go through here, so both refuse the same
 * input with the same message and hand the replay the same lines.
 */
import { DmaSimError } from "../core/errors.ts";

/** Bytes looked at for the magic numbers of binary formats and for NUL bytes (after decompression). */
export const SNIFF_BYTES = 4096;
/** A "line" longer than this (a binary file, say) is cut, so memory stays bounded. */
export const MAX_LINE_BYTES = 1 << 20;
/** trace-cmd's trace.dat: "\x17\x08\x44tracing" (trace-cmd.dat(5)). */
const TRACE_CMD_MAGIC = Uint8Array.from(
  [0x17, 0x08, 0x44, ..."tracing"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))),
);
/** perf.data: "PERFILE2" (tools/perf/util/header.c); "PERFFILE" in its first version. */
const PERF_MAGICS = ["PERFILE2", "PERFFILE"].map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));
const LF = 10;

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** Whether the first bytes are gzip's magic (1f 8b), whatever the file is called. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Why the first bytes of a (decompressed) trace are not a text trace, or null
 * when they may be one: trace-cmd's binary trace.dat, perf.data, or anything
 * with a NUL byte. `path` names the input in the command that converts it.
 */
export function binaryTraceKind(head: Uint8Array, path = "trace.dat"): string | null {
  const bytes = head.subarray(0, SNIFF_BYTES);
  // "-" (standard input) is no file name to put in a command.
  const file = path === "-" ? "FILE" : path;
  if (startsWith(bytes, TRACE_CMD_MAGIC))
    return `a trace-cmd binary trace (trace.dat), not text; convert it with: trace-cmd report -i ${file} > trace.txt`;
  if (PERF_MAGICS.some((m) => startsWith(bytes, m)))
    return `a perf.data binary file, not text; convert it with: perf script -i ${file} > trace.txt`;
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    return (
      `binary data (a NUL byte at offset ${nul}), not a text trace; a text trace is what /sys/kernel/tracing/trace ` +
      `holds, or what trace-cmd report -i trace.dat > trace.txt writes`
    );
  return null;
}

/** The refusal of a binary input named `label` (a quoted path, "standard input", a file's name). */
export function binaryTraceError(label: string, gzip: boolean, binary: string): DmaSimError {
  return new DmaSimError("EINVAL", `${label}${gzip ? " (gzip)" : ""} is ${binary}`);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Chunks of a byte stream, with a look at the first bytes that leaves them in place. */
export class ChunkReader<T extends Uint8Array = Uint8Array> {
  private readonly ahead: T[] = [];
  /** Bytes taken from the stream so far. */
  taken = 0;
  constructor(private readonly iter: AsyncIterator<T>) {}

  /** The next chunk, or null at the end. */
  async next(): Promise<T | null> {
    const kept = this.ahead.shift();
    if (kept !== undefined) return kept;
    const r = await this.iter.next();
    if (r.done) return null;
    this.taken += r.value.length;
    return r.value;
  }

  /** The first `n` bytes (fewer at the end), which next() still returns. */
  async peek(n: number): Promise<Uint8Array> {
    let size = this.ahead.reduce((sum, b) => sum + b.length, 0);
    while (size < n) {
      const r = await this.iter.next();
      if (r.done) break;
      this.taken += r.value.length;
      this.ahead.push(r.value);
      size += r.value.length;
    }
    return concat(this.ahead).subarray(0, n);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (let c = await this.next(); c !== null; c = await this.next()) yield c;
  }
}

/**
 * The bytes of `reader` again, in chunks that each end at a line end (the last
 * may not), so that no line spans two. A line longer than MAX_LINE_BYTES is cut
 * there (an LF is added).
 */
export async function* lineChunks(reader: ChunkReader): AsyncGenerator<Uint8Array> {
  let rest: Uint8Array | null = null;
  for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) {
    const all: Uint8Array = rest === null ? chunk : concat([rest, chunk]);
    const end = all.lastIndexOf(LF) + 1;
    if (end > 0) yield all.subarray(0, end);
    rest = end < all.length ? all.subarray(end) : null;
    if (rest !== null && rest.length > MAX_LINE_BYTES) {
      yield concat([rest, Uint8Array.of(LF)]);
      rest = null;
    }
  }
  if (rest !== null) yield rest;
}

/** A trace's bytes, ready to replay (replayTraceSource()). */
export interface TraceByteSource {
  /** Names the trace in the result and in messages: a file's base name, "stdin". */
  name: string;
  /** Chunks that each end at a line end (the last may not): lines are LF-terminated, a CR before the LF is dropped. */
  chunks: AsyncIterable<Uint8Array>;
  /** Input size in bytes (compressed size for gzip); 0 when unknown. */
  totalBytes: number;
  /** Input bytes read so far (compressed bytes for gzip). */
  bytesRead(): number;
  /** Whether the input is gzip-compressed. */
  gzip: boolean;
  /** Stops reading (needed only when the chunks are not read to their end). */
  close(): Promise<void>;
}

/** Decompression where the platform has the standard DecompressionStream (browsers; Node 18 and later). */
function gunzipStream(reader: ChunkReader): ChunkReader {
  if (typeof DecompressionStream !== "function")
    throw new DmaSimError("EINVAL", "gzip input needs DecompressionStream, which this platform lacks");
  const compressed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.next();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const plain = compressed.pipeThrough(new DecompressionStream("gzip") as ReadableWritablePair<Uint8Array, Uint8Array>);
  return new ChunkReader(streamChunks(plain));
}

async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The one-line error for a gzip stream that fails to decompress. */
function gzipError(name: string, e: unknown): DmaSimError {
  if (e instanceof DmaSimError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new DmaSimError(
    "EINVAL",
    `cannot read trace ${JSON.stringify(name)}: corrupt or truncated gzip data (${why})`,
  );
}

/**
 * A text trace from a web stream (a File's or a Response's body), as the
 * browser Lab reads a dropped file: gzip (by its magic bytes) is decompressed
 * with DecompressionStream, and binary input is refused before any line is
 * read, with the message `dmasim replay` gives (a DmaSimError, EINVAL).
 * `totalBytes` is the input's size when known (for progress).
 */
export async function openTraceStream(
  name: string,
  stream: ReadableStream<Uint8Array>,
  totalBytes = 0,
): Promise<TraceByteSource> {
  if (typeof name !== "string" || name.length === 0)
    throw new DmaSimError("EINVAL", "openTraceStream: the trace's name must be a non-empty string");
  if (typeof stream?.getReader !== "function")
    throw new DmaSimError("EINVAL", "openTraceStream: a ReadableStream of bytes is needed");
  if (!Number.isSafeInteger(totalBytes) || totalBytes < 0)
    throw new DmaSimError("EINVAL", "openTraceStream: totalBytes must be a byte count");
  const input = streamChunks(stream);
  const raw = new ChunkReader(input);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // Ends the read loop (releasing the stream's lock), then tells the source to stop.
    await input.return(undefined).catch(() => undefined);
    await stream.cancel().catch(() => undefined);
  };
  let text = raw;
  let gzip = false;
  try {
    gzip = isGzip(await raw.peek(2));
    if (gzip) text = gunzipStream(raw);
    const binary = binaryTraceKind(await text.peek(SNIFF_BYTES), gzip ? "FILE" : name);
    if (binary !== null) throw binaryTraceError(JSON.stringify(name), gzip, binary);
  } catch (e) {
    await close();
    throw gzip ? gzipError(name, e) : e;
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      yield* lineChunks(text);
    } catch (e) {
      throw gzip ? gzipError(name, e) : e;
    } finally {
      await close();
    }
  }
  return { name, chunks: chunks(), totalBytes, bytesRead: () => raw.taken, gzip, close };
}
