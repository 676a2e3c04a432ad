import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { transform } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { REPLAY_COUNTERS } from "dmasim/lab";

// Docs that run: every ```ts / ```js block of README.md is a program, run as
// written (TypeScript types stripped) against the built package. A block that is
// only a fragment says so with `<!-- fragment -->` on the line before its fence.

const ROOT = resolve(import.meta.dirname, "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
// Inside the package, so that `import "dmasim"` resolves to it (a package's self-reference).
const DIR = join(ROOT, "dist", "readme-blocks");
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

interface Block {
  line: number;
  lang: string;
  code: string;
  fragment: boolean;
}

function blocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    let prev = i - 1;
    while (prev >= 0 && lines[prev]!.trim() === "") prev--;
    out.push({
      line: i + 1,
      lang: open[1]!,
      code: lines.slice(i + 1, end).join("\n"),
      fragment: prev >= 0 && lines[prev]!.trim() === "<!-- fragment -->",
    });
    i = end;
  }
  return out;
}

const code = blocks(README).filter((b) => b.lang === "ts" || b.lang === "js");

describe("README.md", () => {
  it("has code to run, and few blocks marked as fragments", () => {
    expect(code.length).toBeGreaterThanOrEqual(3);
    expect(code.filter((b) => b.fragment).length).toBeLessThanOrEqual(1);
  });

  it("documents every replay counter", () => {
    const table = README.slice(README.indexOf("| counter | what it counts |"));
    const rows = table.slice(0, table.indexOf("\n\n"));
    const documented = new Set([...rows.matchAll(/`(\w+)`/g)].map((m) => m[1]));
    expect(REPLAY_COUNTERS.filter((c) => !documented.has(c))).toEqual([]);
  });

  it.each(code.filter((b) => !b.fragment).map((b) => [b.line, b] as const))(
    "the block at line %i runs as written",
    async (_line, block) => {
      const { code: js } = await transform(block.code, { loader: block.lang as "ts" | "js", format: "esm" });
      mkdirSync(DIR, { recursive: true });
      const file = join(DIR, `block-${block.line}.mjs`);
      writeFileSync(file, js);
      const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
      expect(r.stderr, `README.md:${block.line}`).toBe("");
      expect(r.status, `README.md:${block.line}`).toBe(0);
    },
  );
});
