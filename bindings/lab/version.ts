// The version stamps of the Lab's result files.
import { readFileSync } from "node:fs";

/**
 * The version of the format of LabResult and of the other result files (compare,
 * sweep): raised when a field changes meaning or goes away, not when one is added.
 */
export const RESULT_FORMAT = 1;

let version: string | undefined;

/** dmasim's version, from the package.json of the package this module is part of ("unknown" if none is found). */
export function dmasimVersion(): string {
  if (version !== undefined) return version;
  version = "unknown";
  // dist/bindings/lab/version.js or bindings/lab/version.ts: the package root is a few levels up.
  for (let up = 1; up <= 4; up++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${"../".repeat(up)}package.json`, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "dmasim" && typeof pkg.version === "string") {
        version = pkg.version;
        break;
      }
    } catch {
      // not at this level
    }
  }
  return version;
}
