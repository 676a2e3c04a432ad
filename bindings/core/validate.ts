/**
 * Argument validation: every public entry point checks its arguments with
 * these before anything changes, so bad input gets one kind of EINVAL
 * message, "<where>: <name> must be ..., got <value>".
 */
import { DmaSimError } from "./errors.ts";

/** Throws EINVAL unless `value` is an integer in [min, max]. */
export function requireInt(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new DmaSimError("EINVAL", `${where}: ${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}
