import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  builtinScenarioNames,
  builtinScenarioSpec,
  loadScenario,
  SCENARIO_FIELDS,
  scenarioSpecOf,
  validateScenario,
} from "dmasim/lab";

// The published JSON Schema of scenario files (schema/scenario.schema.json, the
// package's "dmasim/schema/scenario.json") and the validator (lab/scenario.ts)
// describe the same files.

const require = createRequire(import.meta.url);
type Schema = Record<string, unknown>;
const schema = JSON.parse(readFileSync(require.resolve("dmasim/schema/scenario.json"), "utf8")) as Schema & {
  definitions: Record<string, Schema>;
};

/**
 * The draft-07 keywords the schema uses, checked: type, enum, const, pattern,
 * minimum, exclusiveMinimum, maximum, minItems, items, properties, required, additionalProperties,
 * patternProperties, oneOf, $ref. Returns the errors, as "path: what".
 */
function check(s: Schema, value: unknown, path = "$"): string[] {
  if (typeof s.$ref === "string") {
    const target = schema.definitions[s.$ref.replace("#/definitions/", "")];
    if (!target) return [`${path}: unresolved ${s.$ref}`];
    return check(target, value, path);
  }
  const errors: string[] = [];
  const fail = (what: string) => errors.push(`${path}: ${what}`);
  if (s.oneOf) {
    const matching = (s.oneOf as Schema[]).filter((alt) => check(alt, value, path).length === 0).length;
    if (matching !== 1) fail(`matches ${matching} of oneOf's ${(s.oneOf as Schema[]).length} alternatives`);
  }
  if ("const" in s && value !== s.const) fail(`must be ${JSON.stringify(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(value)) fail(`must be one of ${JSON.stringify(s.enum)}`);
  if (s.type !== undefined) {
    const t = s.type as string;
    const ok =
      t === "integer"
        ? Number.isInteger(value)
        : t === "number"
          ? typeof value === "number"
          : t === "array"
            ? Array.isArray(value)
            : t === "object"
              ? typeof value === "object" && value !== null && !Array.isArray(value)
              : typeof value === t;
    if (!ok) return [...errors, `${path}: must be of type ${t}`];
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail(`below ${s.minimum}`);
    if (typeof s.exclusiveMinimum === "number" && value <= s.exclusiveMinimum) fail(`not above ${s.exclusiveMinimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) fail(`above ${s.maximum}`);
  }
  if (typeof value === "string" && typeof s.pattern === "string" && !new RegExp(s.pattern).test(value))
    fail(`does not match ${s.pattern}`);
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) fail(`fewer than ${s.minItems} items`);
    if (s.items) value.forEach((v, i) => errors.push(...check(s.items as Schema, v, `${path}[${i}]`)));
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    const patterns = (s.patternProperties ?? {}) as Record<string, Schema>;
    for (const key of (s.required ?? []) as string[]) if (!(key in obj)) fail(`${key} is required`);
    for (const [key, v] of Object.entries(obj)) {
      const at = `${path}.${key}`;
      if (props[key]) errors.push(...check(props[key], v, at));
      const pats = Object.entries(patterns).filter(([p]) => new RegExp(p).test(key));
      for (const [, ps] of pats) errors.push(...check(ps, v, at));
      if (!props[key] && pats.length === 0) {
        if (s.additionalProperties === false) fail(`unknown property ${key}`);
        else if (typeof s.additionalProperties === "object")
          errors.push(...check(s.additionalProperties as Schema, v, at));
      }
    }
  }
  return errors;
}

const validates = (value: unknown) => check(schema, value);

describe("the scenario JSON Schema", () => {
  it("is published in the package", () => {
    const pkg = JSON.parse(readFileSync(require.resolve("dmasim/package.json"), "utf8")) as {
      files: string[];
      exports: Record<string, unknown>;
    };
    expect(pkg.files).toContain("schema/");
    expect(pkg.exports["./schema/scenario.json"]).toBe("./schema/scenario.schema.json");
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
  });

  it("every built-in scenario, and its fully resolved form, validates against it", () => {
    for (const name of builtinScenarioNames()) {
      expect(validates(builtinScenarioSpec(name)), name).toEqual([]);
      expect(validates(scenarioSpecOf(loadScenario(name))), `${name} resolved`).toEqual([]);
      expect(
        validates({ $schema: "./node_modules/dmasim/schema/scenario.schema.json", ...builtinScenarioSpec(name) }),
      ).toEqual([]);
    }
    // A scenario that runs at a quarter of its size by default, resolved and written out again.
    const quarter = { ...builtinScenarioSpec("camera")!, scale: 0.25 };
    expect(validates(quarter)).toEqual([]);
    expect(validates(scenarioSpecOf(validateScenario(quarter)))).toEqual([]);
    expect(scenarioSpecOf(validateScenario(quarter)).scale).toBe(0.25);
  });

  it("names exactly the fields the validator accepts, object by object", () => {
    const defs = schema.definitions;
    for (const [object, fields] of Object.entries(SCENARIO_FIELDS)) {
      const def = defs[object];
      expect(def, `definition ${object}`).toBeDefined();
      const props =
        object === "opsRange"
          ? Object.keys(((def!.oneOf as Schema[])[1]!.properties ?? {}) as object)
          : Object.keys((def!.properties ?? {}) as object);
      expect(props.sort(), object).toEqual([...fields].sort());
      if (object !== "opsRange") expect(def!.additionalProperties, object).toBe(false);
    }
    // And no definition of an object goes unchecked.
    const objects = Object.entries(defs)
      .filter(([, d]) => d.type === "object" || d.oneOf)
      .map(([k]) => k)
      .filter((k) => k !== "bytes");
    expect(objects.sort()).toEqual(Object.keys(SCENARIO_FIELDS).sort());
  });

  it("rejects what the validator rejects: unknown fields, wrong types, bad values", () => {
    const base = builtinScenarioSpec("camera")!;
    const bad: [string, (s: Record<string, any>) => void][] = [
      ["$: unknown property phasez", (s) => (s.phasez = [])],
      ["$.machine.ramBytes", (s) => (s.machine.ramBytes = "lots")],
      ["$.machine.maxOrder", (s) => (s.machine.maxOrder = 21)],
      ["$.phases[0].mix.alloc", (s) => (s.phases[0].mix.alloc = { weight: 1, order: { 0: 1 } })],
      ["$.phases[0]", (s) => delete s.phases[0].ops],
      ["$.devices[0]", (s) => (s.devices[0].kind = "gpu")],
      ["$.scale: not above 0", (s) => (s.scale = 0)],
      ["$.scale: above 64", (s) => (s.scale = 65)],
    ];
    for (const [where, spoil] of bad) {
      const s = structuredClone(base) as Record<string, any>;
      spoil(s);
      const errors = validates(s);
      expect(errors.length, where).toBeGreaterThan(0);
      expect(errors.join("\n"), where).toContain(where);
      expect(() => validateScenario(s), where).toThrow();
    }
  });
});
