import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import * as dmasim from "dmasim";

// What a user of the published package meets: its entries, what they load,
// and what its type declarations show.
describe("the package's public surface", () => {
  it("require() loads both entries (Node.js >= 20.19 loads ES modules synchronously)", () => {
    const require = createRequire(import.meta.url);
    expect(typeof require("dmasim").createSystem).toBe("function");
    expect(typeof require("dmasim/lab").runScenario).toBe("function");
    // From a plain CommonJS program too, with a machine that works.
    const out = execFileSync(
      process.execPath,
      [
        "-e",
        `
      const { createSystem } = require("dmasim");
      createSystem({ backend: "ts", ramBytes: 16 * 2 ** 20 }).then((sys) => console.log(sys.allocPages(0)));
    `,
      ],
      { encoding: "utf8" },
    );
    expect(Number(out.trim())).toBeGreaterThanOrEqual(0);
  });

  it("importing the simulator loads nothing of the Lab or its report stack", async () => {
    const result = await build({
      entryPoints: ["dist/bindings/index.js"],
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => /node_modules\/vega|\/lab\/|\/cli\//.test(p))).toEqual([]);
  });

  it("exports the API, not internals", () => {
    for (const name of ["createSystem", "System", "DmaSimError", "Device", "DmaBuf", "Process", "KIB", "MIB", "GIB"]) {
      expect(dmasim, name).toHaveProperty(name);
    }
    for (const name of ["physRanges", "pfnAt", "formatBufinfo", "dmaBufState", "Mm", "Registry"]) {
      expect(dmasim, name).not.toHaveProperty(name);
    }
  });

  it("the published declarations hide @internal members", () => {
    const mm = readFileSync("dist/bindings/mm/mm.d.ts", "utf8");
    const system = readFileSync("dist/bindings/system.d.ts", "utf8");
    for (const member of [
      "readonly engine:",
      "readonly inst:",
      "readonly registry:",
      "cpuAccessObserver",
      "kernelWrite(",
      "readBlock(",
    ]) {
      expect(mm, member).not.toContain(member);
    }
    for (const member of ["attachDevices", "zeroPhysRange", "constructor("])
      expect(system, member).not.toContain(member);
    expect(mm).toContain("allocPages(order: number");
  });
});
