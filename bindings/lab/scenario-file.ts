/**
 * Scenarios from files (Node only: the browser build has built-in scenarios
 * and scenario JSON given as data, see scenario.ts).
 */
import { basename } from "node:path";
import { DmaSimError } from "../core/errors.ts";
import { readJsonFile, validateIn } from "./json-file.ts";
import { PLANNED_SCENARIOS } from "./scenarios/index.ts";
import {
  builtinScenarioNames,
  builtinScenarioSpec,
  resultInFile,
  validateScenario,
  type Scenario,
} from "./scenario.ts";

/**
 * Reads and validates a scenario file; errors name the file and the field. A
 * run's result file (result.json, a sweep job's file) is a scenario file too:
 * its scenario, as run (see scenarioSpecOf()), is read.
 */
export function loadScenarioFile(file: string): Scenario {
  const json = readJsonFile(file, "scenario file");
  const result = resultInFile(json);
  if (result !== null) {
    if (result.kind !== "run" || result.scenario === undefined)
      throw new DmaSimError(
        "EINVAL",
        `${basename(file)}: a ${result.kind === "replay" ? "replay's" : "result"} file, without a scenario (only a run's result can be run again)`,
      );
    return validateIn(basename(file), () => validateScenario(result.scenario, "result.scenario"));
  }
  return validateIn(basename(file), () => validateScenario(json));
}

/**
 * A scenario by built-in name ("camera", "server", "heaps") or by path to a JSON file
 * (anything containing "/" or ending in ".json"). Unknown names are ENOENT.
 */
export function loadScenario(nameOrFile: string): Scenario {
  const spec = builtinScenarioSpec(nameOrFile);
  if (spec) return validateScenario(spec);
  if (nameOrFile.includes("/") || nameOrFile.endsWith(".json")) return loadScenarioFile(nameOrFile);
  // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
  const planned = Object.hasOwn(PLANNED_SCENARIOS, nameOrFile) ? PLANNED_SCENARIOS[nameOrFile] : undefined;
  if (planned) throw new DmaSimError("ENOENT", `scenario "${nameOrFile}" is not available yet: ${planned}`);
  throw new DmaSimError(
    "ENOENT",
    `unknown scenario "${nameOrFile}" (built-in: ${builtinScenarioNames().join(", ")}; or a path to a .json file)`,
  );
}
