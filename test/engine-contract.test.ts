// The engine contract: both builds of assembly/ export the same functions, and
// the bindings read the engine's ABI constants (assembly/abi.ts) rather than copies.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// The compiled backend: it finds the WASM build relative to dist/bindings/core/.
import { loadEngine } from "../dist/bindings/core/backend.js";

const root = new URL("../", import.meta.url);

/** Every function an engine object exposes (own or inherited), with its arity. */
function functionsOf(engine: object): Map<string, number> {
  const out = new Map<string, number>();
  for (const key in engine) {
    const value = (engine as Record<string, unknown>)[key];
    if (typeof value === "function") out.set(key, value.length);
  }
  return out;
}

describe("engine exports", () => {
  it("the WASM build, its generated typings and the portable build export the same functions with the same arities", async () => {
    const dts = readFileSync(new URL("dist/engine/engine.d.ts", root), "utf8");
    const declared = new Map([...dts.matchAll(/export function (\w+)\(([^)]*)\)/g)].map((m) => [m[1]!, m[2]!.trim() ? m[2]!.split(",").length : 0]));
    const wasm = functionsOf((await loadEngine("wasm")).engine);
    const portable = functionsOf((await loadEngine("ts")).engine);
    expect(declared.size).toBeGreaterThan(80);
    expect(Object.fromEntries(wasm)).toEqual(Object.fromEntries(declared));
    expect(Object.fromEntries(portable)).toEqual(Object.fromEntries(declared));
  });

});
