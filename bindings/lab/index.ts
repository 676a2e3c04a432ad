/**
 * The Fragmentation Lab (`dmasim/lab`): scenarios, seeded runs, trace replay,
 * sweeps, metrics and reports, built on the public API only. A separate entry
 * so that importing the simulator loads nothing of the report stack (vega).
 */
export * from "./ftrace.ts";
export * from "./ftrace-file.ts";
export * from "./trace-input.ts";
export * from "./metrics.ts";
export * from "./replay.ts";
export * from "./replay-file.ts";
export * from "./report.ts";
export * from "./result.ts";
export * from "./runner.ts";
export * from "./scale.ts";
export * from "./spread.ts";
export * from "./scenario.ts";
export * from "./scenario-file.ts";
export * from "./sweep.ts";
export * from "./version.ts";
export * from "./twin/index.ts";
