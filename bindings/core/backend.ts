/**
 * The backend seam: loads one engine instance, either the WASM build (asc) or
 * the same AssemblyScript compiled to JS (tsc against std/portable). Both export
 * the same numeric functions; only access to RAM contents differs, and this
 * module hides that behind `ramView`.
 */

import createPortableEngine from "dmasim/engine/portable";

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

async function compileWasm(): Promise<WebAssembly.Module> {
  const url = new URL("../../engine/engine.wasm", import.meta.url);
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  return WebAssembly.compileStreaming(fetch(url));
}

/** Creates a fresh engine instance: two instances never share state. */
export async function loadEngine(backend: Backend): Promise<EngineInstance> {
  if (backend === "wasm") {
    wasmModule ??= compileWasm();
    const bindings = (await import(new URL("../../engine/engine.js", import.meta.url).href)) as WasmBindings;
    const engine = await bindings.instantiate(await wasmModule, { env: {} });
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
