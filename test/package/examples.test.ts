// Every program in examples/ runs as a user would run it (node, importing the
// package by name) and checks itself with node:assert; here it must exit 0.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".mjs"));

function run(file: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join("examples", file), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(r.status, `${file}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe("examples/", () => {
  it("has programs", () => {
    expect(EXAMPLES).toEqual(expect.arrayContaining(["cma-contiguous.mjs", "dmabuf-share.mjs", "lab-compaction.mjs"]));
  });

  for (const file of EXAMPLES) it(`${file} runs and its own checks pass`, () => void run(file));

  it("cma-contiguous.mjs reaches the same state on both backends", () => {
    const state = (out: string) => /state ([0-9a-f]{8})/.exec(out)?.[1];
    const wasm = state(run("cma-contiguous.mjs"));
    expect(wasm).toMatch(/^[0-9a-f]{8}$/);
    expect(state(run("cma-contiguous.mjs", "--backend", "ts"))).toBe(wasm);
  });
});
