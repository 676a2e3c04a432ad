// JSON input files of the Lab (scenarios, sweep grids, compare configurations).
import { readFileSync } from "node:fs";
import { DmaSimError } from "../core/errors.ts";

/**
 * Reads and parses a JSON file. A missing file is ENOENT `"<file>: no such <what>"`;
 * another read error, or text that is not JSON, is EINVAL naming the file.
 */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new DmaSimError("ENOENT", `${file}: no such ${what}`);
    throw new DmaSimError("EINVAL", `${file}: cannot read (${code ?? String(e)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DmaSimError("EINVAL", `${file}: not valid JSON (${(e as Error).message})`);
  }
}

export { validateIn } from "./validate-in.ts";
