/**
 * The browser build (`dmasim/browser`): the simulator's whole public API (as
 * `dmasim`) and the parts of the Lab that need no file system: built-in and
 * given scenarios, seeded runs, trace replay from a web stream (a dropped
 * File), metrics, the report's charts and memory map. No module on this path
 * imports a `node:` module (test/package/browser-bundle.test.ts bundles it for
 * a browser to check); the WASM engine is fetched by URL (see setEngineWasm()).
 * Node-only parts (files, sweeps on worker threads, HTML reports, the twin)
 * stay in `dmasim/lab`.
 */
export * from "./index.ts";
export * from "./lab/ftrace.ts";
export * from "./lab/metrics.ts";
export * from "./lab/replay.ts";
export * from "./lab/result.ts";
export * from "./lab/runner.ts";
export * from "./lab/scale.ts";
// Everything of scenario.ts but its Device type, which would shadow the API's (a scenario's is ScenarioDevice here).
export {
  builtinScenarioNames,
  builtinScenarioSpec,
  MIX_KINDS,
  parseBytes,
  resultInFile,
  scaleOf,
  SCENARIO_FIELDS,
  scenarioSpecOf,
  validateScenario,
  type Area,
  type CmaConsumer,
  type Device as ScenarioDevice,
  type Importer,
  type ImportDir,
  type Machine,
  type Op,
  type Phase,
  type Range,
  type Scenario,
  type ScenarioProcess,
} from "./lab/scenario.ts";
export type * from "./lab/scenario-spec.ts";
export * from "./lab/trace-input.ts";
export * from "./lab/version.ts";
export { chartsFor, renderSvg, type Chart } from "./lab/report-charts.ts";
export { memoryMapSvg, MIGRATETYPE_COLORS, type MapPictureOptions } from "./lab/report-map.ts";
