import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// The package's main entry (the engine, the kernel-side API, dma-buf and the
// userspace face) is meant to run in browsers too. No browser runs here, so
// this bundles it for one and checks what it would still need from Node: only
// the file: branch of the WASM loader (browsers take the fetch branch).
describe("browser bundle of the main entry", () => {
  it("needs nothing from Node but the guarded node:fs/promises of the file: loader", async () => {
    const result = await build({
      entryPoints: ["dist/bindings/index.js"],
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      metafile: true,
      external: ["node:*"],
      logLevel: "silent",
    });
    const imports = Object.values(result.metafile.outputs).flatMap((out) =>
      out.imports.map((i) => `${i.path} ${i.kind}`),
    );
    expect([...new Set(imports)]).toEqual(["node:fs/promises dynamic-import"]);
    expect(result.outputFiles[0]!.text).toContain('url.protocol === "file:"');
  });
});
