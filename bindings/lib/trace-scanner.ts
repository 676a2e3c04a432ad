/**
 * TraceScanner: the engine's byte scanner of text ftrace lines
 * (assembly/trace-scan.ts) on an engine instance of its own, for the
 * Fragmentation Lab's trace reader (lab/trace-scan.ts). It reads the hot kmem
 * events (mm_page_alloc, mm_page_free, mm_page_free_batched,
 * mm_page_alloc_zone_locked, mm_page_pcpu_drain) of many lines per engine
 * call; any other line is TRACE_LINE_OTHER, for the Lab's own parser.
 *
 *   scanner.load(bytes)              the chunk (whole lines) into the engine
 *   while ((n = scanner.next()) > 0)  the next ≤ 8192 lines: for line i < n,
 *     kinds[i]                         TRACE_* kind, or TRACE_LINE_OTHER
 *     numbers[4i .. 4i+3]              pfn, order, migratetype, timestamp (s; -1: none)
 *     spans[4i .. 4i+3]                the line's [from, to) in the chunk; then the
 *                                      gfp_flags value's [from, to) (alloc), or
 *                                      1 in 4i+2 for percpu_refill=1 (zone locked)
 *
 * The views are valid until the next call.
 */
import type { Backend, Engine } from "../core/backend.ts";

export {
  TRACE_LINE_OTHER,
  TRACE_PAGE_ALLOC,
  TRACE_PAGE_FREE,
  TRACE_PAGE_FREE_BATCHED,
  TRACE_PCPU_DRAIN,
  TRACE_ZONE_LOCKED,
} from "../core/abi.generated.ts";

/** What the scanner needs of an engine instance: its functions and views of its buffers. */
interface ScanEngine {
  engine: Engine;
  bufferView<T extends Uint8Array | Int32Array | Float64Array>(
    ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T },
    pointer: () => number,
    array: () => T,
    length: number,
  ): T;
}

let wasmModule: Promise<WebAssembly.Module> | undefined;

/**
 * A WASM engine instance of its own, loaded without core/backend.ts: that module
 * also parses the portable build (a few hundred KiB of JS), which the reader
 * thread would load at every start for nothing.
 */
async function loadWasm(): Promise<ScanEngine> {
  wasmModule ??= (async () => {
    const url = new URL("../../engine/engine.wasm", import.meta.url);
    if (url.protocol !== "file:") return WebAssembly.compileStreaming(fetch(url));
    const { readFile } = await import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  })();
  const bindings = (await import(
    new URL("../../engine/engine.js", import.meta.url).href
  )) as typeof import("dmasim/engine/wasm");
  const engine = await bindings.instantiate(await wasmModule, { env: {} });
  const memory = engine.memory;
  return {
    engine,
    // memory.buffer changes identity when memory grows: a view per call.
    bufferView: (ctor, pointer, _array, length) => new ctor(memory.buffer, pointer(), length),
  };
}

export class TraceScanner {
  private length = 0;
  private at = 0;
  kinds: Uint8Array = new Uint8Array(0);
  numbers: Float64Array = new Float64Array(0);
  spans: Int32Array = new Int32Array(0);

  private constructor(private readonly inst: ScanEngine) {}

  /** A scanner on a fresh engine of `backend` (the WASM build unless told: the faster). */
  static async create(backend: Backend = "wasm"): Promise<TraceScanner> {
    if (backend === "wasm") return new TraceScanner(await loadWasm());
    const { loadEngine } = await import("../core/backend.ts");
    return new TraceScanner((await loadEngine(backend)) as ScanEngine);
  }

  /** Copies `bytes` (a chunk of whole lines; the last may lack its LF) into the engine. */
  load(bytes: Uint8Array): void {
    const e = this.inst.engine;
    e.scanReserve(bytes.length);
    this.inst
      .bufferView(
        Uint8Array,
        () => e.scanInPtr(),
        () => e.scanInArray(),
        bytes.length,
      )
      .set(bytes);
    this.length = bytes.length;
    this.at = 0;
  }

  /** Scans the next lines of the chunk into kinds, numbers and spans; how many (0: the chunk is done). */
  next(): number {
    if (this.at >= this.length) return 0;
    const { engine: e, bufferView } = this.inst;
    const n = e.scanLines(this.at, this.length);
    this.at = e.scanStop();
    this.kinds = bufferView(
      Uint8Array,
      () => e.scanKindsPtr(),
      () => e.scanKindsArray(),
      n,
    );
    this.numbers = bufferView(
      Float64Array,
      () => e.scanNumbersPtr(),
      () => e.scanNumbersArray(),
      4 * n,
    );
    this.spans = bufferView(
      Int32Array,
      () => e.scanSpansPtr(),
      () => e.scanSpansArray(),
      4 * n,
    );
    return n;
  }
}
