import { describe, expect, it } from "vitest";
import type { MovablePage, System } from "dmasim";
import { MIB, onBoth } from "../helpers.ts";

const OPS = 100_000;
const CHECK_EVERY = 10_000;
const ORDERS = [0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 9];
const TYPES = ["unmovable", "movable", "reclaimable"] as const;

interface Block {
  pfn: number;
  order: number;
}

/**
 * A seeded mix of every operation the engine offers. Returns a digest of all
 * results so both backends can be compared step for step.
 */
function runWorkload(sys: System): { digest: number; live: number; stats: object } {
  const rnd = sys.random;
  const area = sys.cma("reserved");
  const movable: MovablePage[] = [];
  const kernel: Block[] = [];
  const cmaAllocs: Block[] = [];
  const contig: Block[] = [];
  let digest = 0;
  const note = (v: number) => (digest = Math.imul(digest ^ (v | 0), 16777619) >>> 0);
  const take = <T>(list: T[]): T => {
    const i = rnd.int(list.length);
    const item = list[i]!;
    list[i] = list[list.length - 1]!;
    list.pop();
    return item;
  };

  for (let op = 1; op <= OPS; op++) {
    const r = rnd.int(100);
    if (r < 40) {
      const order = ORDERS[rnd.int(ORDERS.length)]!;
      const type = TYPES[rnd.int(3)]!;
      if (type === "movable") {
        const page = sys.allocMovable(order);
        note(page ? page.pfn : -1);
        if (page) {
          page.write(new Uint8Array([page.id & 0xff, op & 0xff]));
          movable.push(page);
        }
      } else {
        const pfn = sys.allocPages(order, type);
        note(pfn ?? -1);
        if (pfn !== null) kernel.push({ pfn, order });
      }
    } else if (r < 75) {
      if (rnd.int(2) === 0 && movable.length > 0) {
        const page = take(movable);
        const pins = page.pins;
        for (let i = 0; i < pins.shortTerm; i++) page.unpin();
        for (let i = 0; i < pins.longTerm; i++) page.unpinLongterm();
        note(page.pfn);
        page.free();
      } else if (kernel.length > 0) {
        const b = take(kernel);
        sys.freePages(b.pfn, b.order);
        note(b.pfn);
      }
    } else if (r < 80 && movable.length > 0) {
      const page = movable[rnd.int(movable.length)]!;
      if (page.pins.shortTerm > 0 && rnd.int(2) === 0) page.unpin();
      else note(page.pin());
    } else if (r < 82 && movable.length > 0) {
      const page = movable[rnd.int(movable.length)]!;
      try {
        note(page.pinLongterm());
      } catch (e) {
        expect((e as { code: string }).code).toBe("ENOMEM");
        note(-12);
      }
    } else if (r < 87) {
      const count = 1 + rnd.int(64);
      const pfn = area.alloc(count, rnd.int(5));
      note(pfn ?? area.lastError);
      if (pfn !== null) cmaAllocs.push({ pfn, order: count });
    } else if (r < 92) {
      if (cmaAllocs.length > 0) {
        const b = take(cmaAllocs);
        note(area.release(b.pfn, b.order) ? 1 : 0);
      }
    } else if (r < 93) {
      const count = 16 + rnd.int(112);
      const start = rnd.int(area.basePfn - count);
      const ret = sys.allocContigRange(start, start + count, "movable");
      note(ret);
      if (ret === 0) contig.push({ pfn: start, order: count });
    } else if (r < 95) {
      if (contig.length > 0) {
        const b = take(contig);
        sys.freeContigRange(b.pfn, b.order);
      }
    } else if (movable.length > 0) {
      const page = movable[rnd.int(movable.length)]!;
      try {
        note(page.migrate());
      } catch (e) {
        note((e as { errno: number }).errno);
      }
    }
    if (op % CHECK_EVERY === 0) sys.check();
  }
  // Every movable page still carries its owner's tag, wherever it moved.
  for (const page of movable) expect(page.read(0, 1)[0]).toBe(page.id & 0xff);
  return { digest, live: movable.length + kernel.length + cmaAllocs.length + contig.length, stats: sys.stats() };
}

describe("seeded mixed workload", () => {
  it(`runs ${OPS} operations with invariants intact and identical results on both backends`, async () => {
    const result = await onBoth(
      { ramBytes: 64 * MIB, seed: 7, cma: [{ name: "reserved", bytes: 16 * MIB }] },
      runWorkload,
    );
    expect(result.live).toBeGreaterThan(100);
    expect(result.stats).toMatchObject({ cmaAllocSuccess: expect.any(Number) });
    const stats = result.stats as {
      cmaAllocSuccess: number;
      pgmigrateSuccess: number;
      extfragEvents: number;
      contigSuccess: number;
    };
    expect(stats.cmaAllocSuccess).toBeGreaterThan(100);
    expect(stats.pgmigrateSuccess).toBeGreaterThan(100);
    expect(stats.extfragEvents).toBeGreaterThan(0);
    expect(stats.contigSuccess).toBeGreaterThan(0);
  });

  it("reproduces a run byte for byte from its seed, and differs with another seed", async () => {
    const hashes: string[] = [];
    for (const seed of [3, 3, 4]) {
      const { createSystem } = await import("dmasim");
      const sys = await createSystem({ ramBytes: 16 * MIB, seed, cma: [{ name: "reserved", bytes: 4 * MIB }] });
      for (let i = 0; i < 2000; i++) {
        const order = sys.random.int(4);
        if (sys.allocPages(order, TYPES[sys.random.int(3)]!) === null) break;
      }
      hashes.push(sys.stateHash());
    }
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[2]).not.toBe(hashes[0]);
  });
});
