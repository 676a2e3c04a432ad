// Builds the browser Lab (`npm run web`, `dmasim web`) into dist/web/: the page,
// its script and its Web Worker bundled with esbuild from tsc's output of
// bindings/web/ (vega and vega-lite included: the page fetches nothing but its
// own files), and the WASM engine beside them, where the engine loader looks
// for it (../../engine/ from the bundles resolves to /engine/).
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";

const here = new URL("..", import.meta.url);
const path = (p) => new URL(p, here).pathname;
const out = path("dist/web/");

// The Lab imports node:fs (its file loaders, its package.json for the version) and
// node:path on paths the page never takes: small shims stand in for them.
const shims = {
  name: "node-shims",
  setup(b) {
    b.onResolve({ filter: /^node:(fs|path)$/ }, (args) => ({
      path: path(`dist/bindings/web/shims/${args.path.slice(5)}.js`),
    }));
  },
};

const pkg = JSON.parse(await readFile(path("package.json"), "utf8"));
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
  plugins: [shims],
  // The file: branch of the engine loader (Node) is never taken over http.
  external: ["node:*"],
  define: { __DMASIM_PACKAGE_JSON__: JSON.stringify(JSON.stringify({ name: pkg.name, version: pkg.version })) },
  logLevel: "warning",
});
await copyFile(path("bindings/web/index.html"), `${out}index.html`);
for (const f of ["engine.js", "engine.wasm"]) await copyFile(path(`dist/engine/${f}`), `${out}engine/${f}`);
