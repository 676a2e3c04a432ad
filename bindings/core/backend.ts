/**
 * The backend seam: loads one engine instance, either the WASM build (asc) or
 * the same AssemblyScript compiled to JS (tsc against std/portable). Both export
 * the same numeric functions; only access to RAM contents differs, and this
 * module hides that behind `ramView`.
 */

import { compileWasmAt } from "#engine-wasm";
import createPortableEngine from "dmasim/engine/portable";
import { instantiate } from "dmasim/engine/wasm";
import { DmaSimError } from "./errors.ts";

export type Backend = "wasm" | "ts";

/** The WASM build's raw bindings, as asc declares them (dist/engine/engine.d.ts, generated from assembly/index.ts). */
type WasmBindings = typeof import("dmasim/engine/wasm");

/**
 * The engine's exports (assembly/index.ts), typed by what asc generates rather
 * than by hand: both builds compile the same file, and test/engine-contract.test.ts
 * checks that they export the same functions with the same arities.
 *
 * The builds differ in behaviour, not in names or types, in two families that
 * EngineInstance hides (callers use ramView() and bufferView(), never these):
 * - `ramPointer()`, `batchPtr()`, `sg*Ptr()`: a byte address in WASM linear
 *   memory; 0 on the portable build;
 * - `ramPortableArray()`, `batchArray()`, `sg*Array()`: on the portable build the
 *   engine's live array; on WASM a copy lifted out of linear memory.
 * `bool` parameters are declared `boolean` by asc; pass booleans (the portable
 * build takes them as they are, the WASM adapter converts them to 0/1).
 */
export type Engine = Omit<Awaited<ReturnType<WasmBindings["instantiate"]>>, "memory">;

type TypedArrayCtor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T };

/** One engine instance and a way to see its RAM. */
export interface EngineInstance {
  readonly backend: Backend;
  readonly engine: Engine;
  /** A live view of RAM bytes [offset, offset + length); valid until the next engine call. */
  ramView(offset: number, length: number): Uint8Array;
  /**
   * A live view of an engine buffer: on WASM built from `pointer()` into linear
   * memory, on the portable build the array itself. Valid until the next engine call.
   */
  bufferView<T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(
    ctor: TypedArrayCtor<T>,
    pointer: () => number,
    array: () => T,
    length: number,
  ): T;
}

let wasmModule: Promise<WebAssembly.Module> | undefined;

/** Where the WASM engine comes from: a URL to fetch (or read, in Node), its bytes, or a compiled module. */
export type EngineWasmSource = URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module;

let wasmSource: EngineWasmSource | undefined;

/**
 * Tells the WASM backend where engine.wasm is, before its first system. By
 * default it is `../../engine/engine.wasm` from this module (dist/engine/ of
 * the package); a page whose bundler moves the package's files (or that serves
 * the WASM elsewhere) gives its URL here, or the bytes, or a compiled module.
 */
export function setEngineWasm(source: EngineWasmSource): void {
  const ok =
    source instanceof URL ||
    (typeof source === "string" && source.length > 0) ||
    source instanceof ArrayBuffer ||
    source instanceof Uint8Array ||
    source instanceof WebAssembly.Module;
  if (!ok)
    throw new DmaSimError("EINVAL", "setEngineWasm: a URL, a non-empty URL string, bytes or a WebAssembly.Module");
  wasmSource = source;
  wasmModule = undefined;
}

function compileWasm(): Promise<WebAssembly.Module> {
  const source = wasmSource ?? new URL("../../engine/engine.wasm", import.meta.url);
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source instanceof ArrayBuffer || source instanceof Uint8Array)
    return WebAssembly.compile(source instanceof Uint8Array ? source.slice() : source);
  // A relative string is taken relative to the page (or to the current module in a worker).
  const base = typeof location !== "undefined" ? location.href : import.meta.url;
  return compileWasmAt(source instanceof URL ? source : new URL(source, base));
}

/** Creates a fresh engine instance: two instances never share state. */
export async function loadEngine(backend: Backend): Promise<EngineInstance> {
  if (backend === "wasm") {
    wasmModule ??= compileWasm();
    const engine = await instantiate(await wasmModule, { env: {} });
    const memory = engine.memory;
    return {
      backend,
      engine,
      // memory.buffer changes identity when memory grows: build the view per call.
      ramView: (offset, length) => new Uint8Array(memory.buffer, engine.ramPointer() + offset, length),
      bufferView: (ctor, pointer, _array, length) => new ctor(memory.buffer, pointer(), length),
    };
  }
  return portableInstance();
}

/** @internal A fresh portable engine instance, created synchronously (the build is plain JS). */
export function portableInstance(): EngineInstance {
  const engine: Engine = createPortableEngine();
  return {
    backend: "ts",
    engine,
    ramView: (offset, length) => engine.ramPortableArray().subarray(offset, offset + length),
    bufferView: (_ctor, _pointer, array, length) => array().subarray(0, length) as never,
  };
}
