import { DmaSimError } from "../core/errors.ts";

/** Runs `validate`; a DmaSimError it throws is thrown again with `label` (the file's name) in front. */
export function validateIn<T>(label: string, validate: () => T): T {
  try {
    return validate();
  } catch (e) {
    if (e instanceof DmaSimError) throw new DmaSimError(e.code, `${label}: ${e.detail}`);
    throw e;
  }
}
