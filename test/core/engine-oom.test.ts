/**
 * The engine running out of memory mid-operation (issue 15): a movable
 * allocation that needs a larger owner table reserves it before it takes a
 * page, so a failed grow is ENOMEM with the machine untouched. The portable
 * engine allocates with the global Int32Array, so a test can make one grow
 * fail; the WASM build traps at the same point (memory.grow failing).
 */
import { describe, expect, it } from "vitest";
import { createSystem } from "dmasim";
import { MIB, expectUntouched } from "../helpers.ts";

/** The owner table starts with 64 slots (assembly/owner.ts) and doubles. */
const FIRST_OWNER_SLOTS = 64;

describe("engine out of memory", () => {
  it("a movable allocation whose owner table cannot grow is ENOMEM and takes no page (ts backend)", async () => {
    const sys = await createSystem({ backend: "ts", ramBytes: 16 * MIB });
    const pages = Array.from({ length: FIRST_OWNER_SLOTS }, () => sys.allocMovable(0)!);
    expect(pages.every((p) => p !== null)).toBe(true);
    const RealInt32Array = globalThis.Int32Array;
    class FailingGrow extends RealInt32Array {
      constructor(...args: any[]) {
        if (args[0] === 2 * FIRST_OWNER_SLOTS) throw new RangeError("Array buffer allocation failed");
        super(...(args as []));
      }
    }
    globalThis.Int32Array = FailingGrow as unknown as Int32ArrayConstructor;
    try {
      expectUntouched(sys, "ENOMEM", () => sys.allocMovable(0));
    } finally {
      globalThis.Int32Array = RealInt32Array;
    }
    // The grow works once memory is there again, and the page comes with its owner.
    const page = sys.allocMovable(0)!;
    expect(sys.ownerOf(page.pfn)).toBe(page);
    sys.check();
  });
});
