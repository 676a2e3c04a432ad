/**
 * Argument validation: every public entry point checks its arguments with
 * these before anything changes, so bad input always gets the same EINVAL
 * message, "<where>: <name> must be ..., got <value>". `name` may be a path
 * ("devices[2].iommu.base").
 */
import { DmaSimError } from "./errors.ts";

/** How a value is shown in a message: never throws (Symbols, BigInts, null-prototype objects). */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}

function invalid(where: string, name: string, what: string, value?: unknown): DmaSimError {
  return new DmaSimError(
    "EINVAL",
    `${where}: ${name} must be ${what}${arguments.length > 3 ? `, got ${show(value)}` : ""}`,
  );
}

/** Throws EINVAL unless `value` is an integer in [min, max]. */
export function requireInt(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new DmaSimError("EINVAL", `${where}: ${name} must be an integer in ${min}..${max}, got ${show(value)}`);
  }
  return value;
}

/** Throws EINVAL unless `value` is a boolean. */
export function requireBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalid(where, name, "a boolean");
  return value;
}

/** `value` as a boolean, `fallback` when undefined; EINVAL for anything else. */
export function optionalBoolean(where: string, name: string, value: unknown, fallback: boolean): boolean {
  return value === undefined ? fallback : requireBoolean(where, name, value);
}

/** Throws EINVAL unless `value` is an object (null-prototype objects welcome; not null, not an array). */
export function requireObject(where: string, name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(where, name, "an object");
  return value as Record<string, unknown>;
}

/** Throws EINVAL unless `value` is an array. */
export function requireArray(where: string, name: string, value: unknown, what = "an array"): unknown[] {
  if (!Array.isArray(value)) throw invalid(where, name, what);
  return value;
}

/** Throws EINVAL unless `value` is a non-empty string. */
export function requireName(where: string, name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) throw invalid(where, name, "a non-empty string");
  return value;
}

/** Throws EINVAL unless `value` is a Uint8Array. */
export function requireBytes(where: string, name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(where, name, "a Uint8Array");
  return value;
}

/** Throws EINVAL unless `value` is one of `choices`. */
export function requireOneOf<T extends string>(where: string, name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    const list = choices.map((c) => `"${c}"`);
    const what = list.length === 1 ? list[0]! : `${list.slice(0, -1).join(", ")} or ${list.at(-1)!}`;
    throw invalid(where, name, what, value);
  }
  return value as T;
}

/** Throws EINVAL naming the first key of `object` that is not in `known`. */
export function rejectUnknownKeys(where: string, object: object, known: ReadonlySet<string>, what = "field"): void {
  for (const key of Object.keys(object))
    if (!known.has(key)) throw new DmaSimError("EINVAL", `${where}: unknown ${what} "${key}"`);
}

/** A positive integer power of two. */
export function isPow2(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Throws EINVAL unless `value` is a non-negative safe integer (a counter printed with %lu). */
export function requireCount(where: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw invalid(where, name, "a non-negative safe integer", value);
  return value;
}
