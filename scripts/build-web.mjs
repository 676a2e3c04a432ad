// Builds the browser Lab (`npm run web`, `dmasim web`) into dist/web/: the page,
// its script and its Web Worker bundled with esbuild from tsc's output of
// bindings/web/ (vega and vega-lite included: the page fetches nothing but its
// own files), and the WASM engine beside them, where the engine loader looks
// for it (../../engine/ from the bundles resolves to /engine/).
//
// Bundled for the browser as any page would bundle `dmasim/browser`: no shims
// and no externals, so a node: import anywhere on the path fails this build
// (test/package/browser-bundle.test.ts checks the same with esbuild's metafile).
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const here = new URL("..", import.meta.url);
const path = (p) => new URL(p, here).pathname;
const out = path("dist/web/");

await rm(out, { recursive: true, force: true });
await mkdir(new URL("engine/", `file://${out}`), { recursive: true });
await build({
  entryPoints: [path("dist/bindings/web/app.js"), path("dist/bindings/web/worker.js")],
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
await copyFile(path("bindings/web/index.html"), `${out}index.html`);
await copyFile(path("dist/engine/engine.wasm"), `${out}engine/engine.wasm`);
