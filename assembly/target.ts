// Target-specific primitives shared by the engine's files (with ram.ts, the only
// code that branches on ASC_TARGET). Imports nothing, so anything may import it.

/** Byte address of a typed array's data in linear memory (WASM); 0 in the portable build. */
export function dataPointer(a: ArrayBufferView): usize {
  if (ASC_TARGET == 0) return 0;
  // @ts-ignore: wasm only
  return a.dataStart;
}
