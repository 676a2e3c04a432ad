import { describe, expect, it } from "vitest";
import { createSystem, sgAllocTableFromPages, sgAppendTableFromPages } from "dmasim";
import { BACKENDS, MIB, expectUntouched } from "../helpers.ts";

const PAGE = 4096;
const pages = (...pfns: number[]) => pfns;
const simple = (t: { entries: { pfn: number; offset: number; length: number }[] }) =>
  t.entries.map((e) => [e.pfn, e.offset, e.length]);

describe("sg_alloc_table_from_pages", () => {
  it("merges consecutive pfns into one entry", () => {
    const t = sgAllocTableFromPages(pages(10, 11, 12, 20, 21), 0, 5 * PAGE);
    expect(simple(t)).toEqual([
      [10, 0, 3 * PAGE],
      [20, 0, 2 * PAGE],
    ]);
    expect([t.nents, t.origNents, t.totalLength]).toEqual([2, 2, 5 * PAGE]);
  });

  it("splits a run when it reaches maxSegment, aligned down to the page size", () => {
    const run = [0, 1, 2, 3, 4, 5, 6, 7];
    expect(simple(sgAllocTableFromPages(run, 0, 8 * PAGE, 4 * PAGE))).toEqual([
      [0, 0, 4 * PAGE],
      [4, 0, 4 * PAGE],
    ]);
    expect(simple(sgAllocTableFromPages(run, 0, 8 * PAGE, 10000)).map((e) => e[2])).toEqual([8192, 8192, 8192, 8192]);
    expect(() => sgAllocTableFromPages(run, 0, 8 * PAGE, 4095)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("puts the offset on the first entry only and clips the last to size", () => {
    expect(simple(sgAllocTableFromPages(pages(5, 6, 7), 100, 3 * PAGE - 150))).toEqual([[5, 100, 3 * PAGE - 150]]);
    expect(simple(sgAllocTableFromPages(pages(5, 6, 9), 100, 3 * PAGE - 150))).toEqual([
      [5, 100, 2 * PAGE - 100],
      [9, 0, PAGE - 50],
    ]);
  });

  it("rejects bad arguments", () => {
    for (const [pfns, offset, size] of [
      [[], 0, 0],
      [[1], PAGE, 1],
      [[1], -1, 1],
      [[1, 2], 0, PAGE],
      [[1], 0, PAGE + 1],
      [[1.5], 0, PAGE],
      [[-1], 0, PAGE],
    ] as [number[], number, number][]) {
      expect(() => sgAllocTableFromPages(pfns, offset, size), JSON.stringify([pfns, offset, size])).toThrow(
        expect.objectContaining({ name: "DmaSimError", code: "EINVAL" }),
      );
    }
  });
});

describe("sg_alloc_append_table_from_pages", () => {
  it("first grows the previous entry, then adds new ones", () => {
    const t = sgAppendTableFromPages(null, pages(1, 2), 0, 2 * PAGE, 0xffffffff, 2);
    expect(t.ended).toBe(false);
    const same = sgAppendTableFromPages(t, pages(3, 4), 0, 2 * PAGE, 0xffffffff, 1);
    expect(same).toBe(t);
    expect(simple(t)).toEqual([[1, 0, 4 * PAGE]]);
    sgAppendTableFromPages(t, pages(9), 0, PAGE, 0xffffffff, 0);
    expect(simple(t)).toEqual([
      [1, 0, 4 * PAGE],
      [9, 0, PAGE],
    ]);
    expect([t.nents, t.origNents, t.ended]).toEqual([2, 2, true]);
  });

  it("stops growing the previous entry at maxSegment", () => {
    const t = sgAppendTableFromPages(null, pages(1, 2), 0, 2 * PAGE, 3 * PAGE, 1);
    sgAppendTableFromPages(t, pages(3, 4, 5), 0, 3 * PAGE, 3 * PAGE, 0);
    expect(simple(t)).toEqual([
      [1, 0, 3 * PAGE],
      [4, 0, 2 * PAGE],
    ]);
  });

  it("refuses an offset when appending, and appending to a finished table", () => {
    const t = sgAppendTableFromPages(null, pages(1), 0, PAGE, 0xffffffff, 1);
    expect(() => sgAppendTableFromPages(t, pages(2), 8, PAGE - 8, 0xffffffff, 0)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(simple(t)).toEqual([[1, 0, PAGE]]);
    sgAppendTableFromPages(t, pages(2), 0, PAGE, 0xffffffff, 0);
    expect(() => sgAppendTableFromPages(t, pages(3), 0, PAGE, 0xffffffff, 0)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
  });
});

describe("scatterlists on a machine's engine", () => {
  it("gives the same tables on both backends, with the machine's page size", async () => {
    const results = [];
    for (const backend of BACKENDS) {
      const sys = await createSystem({
        backend,
        ramBytes: 64 * MIB,
        pageSize: 16384,
        maxOrder: 8,
        pageblockOrder: 7,
        seed: 5,
      });
      const pfns: number[] = [];
      let pfn = 100;
      for (let i = 0; i < 5000; i++) {
        pfn = sys.random.int(4) === 0 ? sys.random.int(4000) : pfn + 1;
        pfns.push(pfn);
      }
      const t = sgAllocTableFromPages(pfns, 300, pfns.length * 16384 - 300 - 7, 8 * 16384, { system: sys });
      expect(t.pageSize).toBe(16384);
      expect(t.totalLength).toBe(pfns.length * 16384 - 307);
      for (const e of t.entries) expect(e.length).toBeLessThanOrEqual(8 * 16384);
      expectUntouched(sys, "EINVAL", () => sgAllocTableFromPages([4096], 0, 16384, 0xffffffff, { system: sys }));
      const whole = sgAllocTableFromPages(pfns, 0, pfns.length * 16384, undefined, { system: sys });
      expect(whole.nents).toBeLessThan(t.nents);
      results.push([simple(t), simple(whole)]);
    }
    expect(results[1]).toEqual(results[0]);
  });
});

describe("scatterlist merge rules on many page arrays", () => {
  it("cover the pages in order, merge exactly the consecutive runs, respect maxSegment", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ backend, ramBytes: 64 * MIB, seed: 11 });
      for (let trial = 0; trial < 300; trial++) {
        const n = 1 + sys.random.int(64);
        const pfns: number[] = [];
        let pfn = sys.random.int(10000);
        for (let i = 0; i < n; i++) {
          pfns.push(pfn);
          pfn = sys.random.int(3) === 0 ? sys.random.int(16000) : pfn + 1;
        }
        const offset = sys.random.int(2) ? 0 : sys.random.int(PAGE);
        const size = n * PAGE - offset - sys.random.int(PAGE - (n === 1 ? offset : 0));
        const maxSegment = [PAGE, 3 * PAGE, 8 * PAGE + 100, 0xffffffff][sys.random.int(4)]!;
        const t = sgAllocTableFromPages(pfns, offset, size, maxSegment, { system: sys });
        const cap = Math.floor(maxSegment / PAGE) * PAGE;
        let page = 0;
        for (const [i, e] of t.entries.entries()) {
          expect(e.pfn).toBe(pfns[page]);
          expect(e.offset).toBe(i === 0 ? offset : 0);
          const pagesIn = Math.ceil((e.offset + e.length) / PAGE);
          for (let k = 1; k < pagesIn; k++) expect(pfns[page + k]).toBe(pfns[page]! + k);
          expect(e.offset + e.length).toBeLessThanOrEqual(cap);
          page += pagesIn;
          // A run ends only where the pages stop being consecutive or the segment is full.
          if (page < n) expect(pfns[page] !== pfns[page - 1]! + 1 || e.offset + e.length >= cap).toBe(true);
        }
        expect(page).toBe(n);
        expect(t.totalLength).toBe(size);
      }
    }
  });
});
