/**
 * The layers of bindings/ and the directions imports may take (README "Architecture").
 * Type-only imports count: a type cycle is still a cycle for a reader.
 *
 *   cli ─▶ lab ─▶ index (the public API) ─▶ system + options (the one wiring point)
 *   system ─▶ uapi/process, fs ─▶ dma-buf ─▶ dma ─▶ mm ─▶ lib ─▶ core
 *   uapi/linux (constant headers) and core may be imported from anywhere below cli.
 */
/** Stateless foundations every layer may use: DmaSimError, argument validation, byte units. */
const CORE_UTILITIES = "^bindings/core/(errors|validate|units)\\.ts$";
const layer = (dir) => `^bindings/${dir}/`;
/** What each folder may import besides itself. */
const ALLOWED = {
  core: [],
  "uapi/linux": [],
  lib: ["core"],
  mm: ["core", "lib"],
  dma: ["core", "lib", "mm"],
  "dma-buf": ["core", "lib", "mm", "dma", "uapi/linux"],
  fs: ["core", "lib", "mm", "dma", "dma-buf"],
};
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles among bindings/ files, type-only imports included.",
      from: { path: "^bindings/" },
      to: { circular: true },
    },
    ...Object.entries(ALLOWED).map(([dir, allowed]) => ({
      name: `layer-${dir.replace("/", "-")}`,
      severity: "error",
      comment: `bindings/${dir}/ may import only ${allowed.length ? allowed.map((d) => `${d}/`).join(", ") : "itself"} (and node: builtins).`,
      from: { path: layer(dir) },
      to: {
        path: "^bindings/",
        pathNot: [layer(dir), ...allowed.map(layer), ...(dir === "core" ? [] : [layer("uapi/linux")])],
      },
    })),
    {
      name: "layer-uapi-process",
      severity: "error",
      comment: "The syscall layer sits on dma-buf and below; nothing there imports it back.",
      from: { path: "^bindings/uapi/[^/]+\\.ts$" },
      to: { path: "^bindings/", pathNot: ["^bindings/(core|lib|mm|dma|dma-buf|uapi)/"] },
    },
    {
      name: "kernel-not-above-system",
      severity: "error",
      comment: "The kernel-side layers never import the wiring point, the public API, the Lab or the CLI.",
      from: { path: "^bindings/(core|lib|mm|dma|dma-buf|fs|uapi)/" },
      to: { path: "^bindings/(system|options|index)\\.ts$|^bindings/(lab|cli|examples)/" },
    },
    {
      name: "lab-uses-public-api",
      severity: "error",
      comment:
        "The Lab is built on the public API (bindings/index.ts) and core's errors, validation and units only " +
        "(and the engine's trace scanner, which the replay's reader thread loads without the rest of the library).",
      from: { path: "^bindings/lab/" },
      to: {
        path: "^bindings/",
        pathNot: ["^bindings/lab/", "^bindings/index\\.ts$", "^bindings/lib/trace-scanner\\.ts$", CORE_UTILITIES],
      },
    },
    {
      name: "cli-uses-lab-and-public-api",
      severity: "error",
      comment: "The CLI drives the Lab and the public API only.",
      from: { path: "^bindings/cli/" },
      to: { path: "^bindings/", pathNot: ["^bindings/(cli|lab)/", "^bindings/index\\.ts$", CORE_UTILITIES] },
    },
    {
      name: "examples-use-public-api",
      severity: "error",
      from: { path: "^bindings/examples/" },
      to: { path: "^bindings/", pathNot: ["^bindings/examples/", "^bindings/index\\.ts$"] },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],

      conditionNames: ["import", "types", "node", "default"],
    },
  },
};
