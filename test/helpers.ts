import { expect } from "vitest";
import { createSystem, type DmaSimError, type System, type SystemOptions } from "dmasim";

export const BACKENDS = ["wasm", "ts"] as const;

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const PAGE = 4096;

/**
 * Runs `scenario` on a fresh machine of each backend. Assertions inside run on
 * both; afterwards the two results must be equal, both machines must pass
 * check(), and their state hashes must match.
 */
export async function onBoth<T>(options: SystemOptions, scenario: (sys: System) => T | Promise<T>): Promise<T> {
  const results: T[] = [];
  const hashes: string[] = [];
  for (const backend of BACKENDS) {
    const sys = await createSystem({ ...options, backend });
    results.push(await scenario(sys));
    sys.check();
    hashes.push(sys.stateHash());
  }
  expect(results[1]).toEqual(results[0]);
  expect(hashes[1]).toBe(hashes[0]);
  return results[0]!;
}

/**
 * Free memory in pages: NR_FREE_PAGES (the buddy lists) plus the pages on
 * per-cpu lists, which are free but not counted there. A test that checks
 * that every page came back compares this.
 */
export function freeMemory(sys: System): number {
  return sys.stats().nrFreePages + sys.pcpPages;
}

/** Allocates order-0 movable pages until the allocator says no. */
export function fillMovable(sys: System): NonNullable<ReturnType<System["allocMovable"]>>[] {
  const pages = [];
  for (;;) {
    const page = sys.allocMovable(0);
    if (!page) return pages;
    pages.push(page);
  }
}

/** Runs `fn`, expects it to throw a DmaSimError, and returns that error. */
export function dmaSimErrorOf(fn: () => unknown): DmaSimError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  // By name: tests of single modules import them from source, a class apart from the package's.
  expect(thrown, "expected a DmaSimError").toMatchObject({
    name: "DmaSimError",
    code: expect.any(String),
    errno: expect.any(Number),
  });
  return thrown as DmaSimError;
}

/** Expects `fn` to throw a DmaSimError with `code`, leaving the machine exactly as it was. */
export function expectUntouched(sys: System, code: string, fn: () => unknown): void {
  const before = sys.stateHash();
  expect(dmaSimErrorOf(fn).code).toBe(code);
  expect(sys.stateHash()).toBe(before);
  sys.check();
}

/** What tests reach of a machine's internals (hidden from the published declarations). */
export interface SystemInternals {
  engine: import("../bindings/core/backend.ts").Engine;
  registry: import("../bindings/core/registry.ts").Registry;
}

/** The internals of `sys`, for tests that check the engine contract or a subsystem's own part of the hash. */
export function internals(sys: System): SystemInternals {
  return sys as unknown as SystemInternals;
}
