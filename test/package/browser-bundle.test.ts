import { readFileSync } from "node:fs";
import { build, type BuildFailure, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";
import { createSystem, DmaSimError, setEngineWasm } from "dmasim";
import { dmaSimErrorOf } from "../helpers.ts";

// The browser build (`dmasim/browser`, and the main entry) and the browser
// Lab's page must not need Node: each is bundled here as a page's bundler
// would (platform "browser", no shims, no externals), and the bundle's input
// graph is checked for node: modules and shims. A node: import anywhere on the
// path makes esbuild fail to resolve it, which fails these tests too.

/** Bundles `entries` for a browser; the inputs and the imports left in the output. */
async function browserBundle(entries: string[]): Promise<{ inputs: string[]; imports: string[] }> {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    write: false,
    outdir: "dist/browser-bundle-test",
    platform: "browser",
    format: "esm",
    metafile: true,
    logLevel: "silent",
  });
  const meta: Metafile = result.metafile;
  return {
    inputs: Object.keys(meta.inputs),
    imports: Object.values(meta.outputs).flatMap((out) => out.imports.map((i) => `${i.path} ${i.kind}`)),
  };
}

/** What of Node a graph's inputs name: node: modules, Node's builtins by bare name, shims. */
function nodeInputs(inputs: string[]): string[] {
  return inputs.filter((p) => p.startsWith("node:") || /(^|\/)shims?\//.test(p) || /\bwasm-node\.js$/.test(p));
}

describe("browser bundles", () => {
  it("dmasim/browser (the API and the browser-safe Lab) has no node: module on its path", async () => {
    const { inputs, imports } = await browserBundle(["dist/bindings/browser.js"]);
    expect(nodeInputs(inputs)).toEqual([]);
    expect(imports).toEqual([]);
    // The engine loader for pages, not Node's, and the Lab's replay and runner.
    expect(inputs).toContain("dist/bindings/core/wasm-web.js");
    expect(inputs).toContain("dist/bindings/lab/replay.js");
    expect(inputs).toContain("dist/bindings/lab/trace-input.js");
    expect(inputs).toContain("dist/bindings/lab/runner.js");
  });

  it("the main entry and the browser Lab's page and worker have none either", async () => {
    for (const entry of ["dist/bindings/index.js", "dist/bindings/web/app.js", "dist/bindings/web/worker.js"]) {
      const { inputs, imports } = await browserBundle([entry]);
      expect(nodeInputs(inputs), entry).toEqual([]);
      expect(imports, entry).toEqual([]);
    }
  });

  it("the check fails on the Node-only Lab entry (files, worker threads, zlib)", async () => {
    // dmasim/lab reads files: bundling it for a browser fails on its node: imports.
    const failure = await browserBundle(["dist/bindings/lab/index.js"]).then(
      () => null,
      (e: BuildFailure) => e,
    );
    expect(failure).not.toBeNull();
    const unresolved = failure!.errors.map((e) => e.text).filter((t) => /Could not resolve "node:/.test(t));
    expect(unresolved.length).toBeGreaterThan(0);
  });

  it("Node gets the file: engine loader through the same #engine-wasm import", async () => {
    const result = await build({
      entryPoints: ["dist/bindings/index.js"],
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      metafile: true,
      packages: "external",
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain("dist/bindings/core/wasm-node.js");
  });
});

// Where the WASM engine comes from: by default the package's dist/engine/engine.wasm
// (read from disk in Node, fetched by URL in a page); setEngineWasm() points it
// elsewhere for pages whose bundler moves the package's files.
describe("setEngineWasm", () => {
  const wasmFile = new URL("../../dist/engine/engine.wasm", import.meta.url);

  /** A small machine's state hash after a few allocations, on the WASM engine. */
  async function hashOnWasm(): Promise<string> {
    const sys = await createSystem({ backend: "wasm", ramBytes: 16 * 1024 * 1024 });
    for (let order = 0; order < 4; order++) sys.allocPages(order, "movable");
    return sys.stateHash();
  }

  it("loads the engine from a URL, bytes, a data: URL (fetched) or a compiled module, to the same engine", async () => {
    const reference = await hashOnWasm();
    const bytes = readFileSync(wasmFile);
    const sources = [
      wasmFile,
      wasmFile.href,
      new Uint8Array(bytes),
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      `data:application/wasm;base64,${bytes.toString("base64")}`,
      await WebAssembly.compile(bytes),
    ];
    try {
      for (const source of sources) {
        setEngineWasm(source);
        expect(await hashOnWasm()).toBe(reference);
      }
    } finally {
      setEngineWasm(wasmFile);
    }
  });

  it("refuses what is not a source, and keeps the one it had", async () => {
    const before = await hashOnWasm();
    for (const bad of [42, "", null, {}]) {
      expect(() => setEngineWasm(bad as never)).toThrow(DmaSimError);
      expect(dmaSimErrorOf(() => setEngineWasm(bad as never)).code).toBe("EINVAL");
    }
    expect(await hashOnWasm()).toBe(before);
  });
});
