/**
 * Compiling engine.wasm from a URL where no file system is (browsers, workers,
 * Deno): fetched and compiled as it streams. package.json's `#engine-wasm`
 * picks this module everywhere but in Node (wasm-node.ts).
 */
export async function compileWasmAt(url: URL): Promise<WebAssembly.Module> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load the WASM engine from ${url.href}: HTTP ${response.status}`);
  // compileStreaming needs the application/wasm type; a server without it still serves the bytes.
  if (response.headers.get("content-type")?.startsWith("application/wasm"))
    return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}
