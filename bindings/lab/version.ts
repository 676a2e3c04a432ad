// The version stamps of the Lab's result files.
import { PACKAGE_VERSION } from "./version.generated.ts";

/**
 * The version of the format of LabResult and of the other result files (compare,
 * sweep): raised when a field changes meaning or goes away, not when one is added.
 */
export const RESULT_FORMAT = 1;

/**
 * dmasim's version: package.json's, written into the build by
 * scripts/gen-version.mjs (no file is read at run time, so that the browser
 * build has it too).
 */
export function dmasimVersion(): string {
  return PACKAGE_VERSION;
}
