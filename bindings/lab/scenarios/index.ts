/**
 * The built-in scenarios, by name. Each is the JSON a scenario file would hold
 * (`dmasim scenarios NAME` prints it), so a user can start from one.
 */
import type { ScenarioSpec } from "../scenario-spec.ts";
import { camera } from "./camera.ts";
import { heaps } from "./heaps.ts";
import { server } from "./server.ts";

export const BUILTIN_SCENARIOS: Readonly<Record<string, ScenarioSpec>> = Object.freeze({ camera, server, heaps });

/** Scenarios that need parts of the simulator not built yet: name → why. None today. */
export const PLANNED_SCENARIOS: Readonly<Record<string, string>> = Object.freeze({});
