/**
 * Compiling engine.wasm in Node: a file: URL (the package's own dist/engine/)
 * is read from disk, which Node's fetch() cannot do; any other URL is fetched
 * as in the browser (wasm-web.ts). package.json's `#engine-wasm` picks this
 * module under the "node" condition only, so browser bundles never see node:fs.
 */
import { readFile } from "node:fs/promises";
import { compileWasmAt as fetchWasm } from "./wasm-web.ts";

export async function compileWasmAt(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === "file:") return WebAssembly.compile(await readFile(url));
  return fetchWasm(url);
}
