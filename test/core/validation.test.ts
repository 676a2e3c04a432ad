import { describe, expect, it } from "vitest";
import {
  createSystem,
  DmaSimError,
  fragmentationIndex,
  sgAllocTableFromPages,
  SgTable,
  unusableFreeIndex,
} from "dmasim";
import { MIB, expectUntouched, onBoth } from "../helpers.ts";

const BAD_INTS = [Number.NaN, -1, 1.5, Infinity, "3", null, undefined, 2 ** 40];
const OPTIONS = { ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }] };

describe("bad input gives a DmaSimError and leaves the machine untouched", () => {
  it("page allocator", async () => {
    await onBoth(OPTIONS, (sys) => {
      const pfn = sys.allocPages(1, "unmovable")!;
      for (const bad of BAD_INTS) {
        if (bad === undefined) continue; // the default order
        expectUntouched(sys, "EINVAL", () => sys.allocPages(bad as never));
        expectUntouched(sys, "EINVAL", () => sys.freePages(bad as never));
        expectUntouched(sys, "EINVAL", () => sys.freePages(pfn, bad as never));
      }
      expectUntouched(sys, "EINVAL", () => sys.allocPages(11)); // above maxOrder
      expectUntouched(sys, "EINVAL", () => sys.allocPages(0, "highatomic" as never));
      expectUntouched(sys, "EINVAL", () => sys.allocPages(0, "cma" as never));
      expectUntouched(sys, "EINVAL", () => sys.freePages(pfn, 0)); // wrong order
      expectUntouched(sys, "EINVAL", () => sys.freePages(pfn + 1, 0)); // a tail page
      expectUntouched(sys, "EINVAL", () => sys.freePages(4096, 0)); // beyond RAM
      expectUntouched(sys, "EINVAL", () => sys.freePages(2000, 0)); // never allocated
      sys.freePages(pfn, 1);
      expectUntouched(sys, "EINVAL", () => sys.freePages(pfn, 1)); // double free
    });
  });

  it("owners, contents and inspection", async () => {
    await onBoth(OPTIONS, (sys) => {
      const page = sys.allocMovable(0)!;
      expectUntouched(sys, "EINVAL", () => page.write(new Uint8Array(4097)));
      expectUntouched(sys, "EINVAL", () => page.write([1, 2] as never));
      expectUntouched(sys, "EINVAL", () => page.read(4000, 200));
      expectUntouched(sys, "EINVAL", () => page.read(-1));
      expectUntouched(sys, "EINVAL", () => sys.readPage(4096));
      expectUntouched(sys, "EINVAL", () => sys.writePage(0, new Uint8Array(1), 4096));
      expectUntouched(sys, "EINVAL", () => sys.ownerOf(-5));
      expectUntouched(sys, "EINVAL", () => sys.pageInfo(1.5));
      expectUntouched(sys, "EINVAL", () => sys.pageblockMigratetype(4096));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ cmaFirstBalance: "yes" as never }));
      page.free();
      for (const call of [
        () => page.pin(),
        () => page.read(),
        () => page.migrate(),
        () => page.free(),
        () => page.pinLongterm(),
      ]) {
        expectUntouched(sys, "EINVAL", call);
      }
    });
  });

  it("CMA areas", async () => {
    await onBoth(OPTIONS, (sys) => {
      const area = sys.cma("reserved");
      for (const bad of BAD_INTS) {
        expectUntouched(sys, "EINVAL", () => area.alloc(bad as never));
        if (bad !== undefined) expectUntouched(sys, "EINVAL", () => area.alloc(1, bad as never));
        expectUntouched(sys, "EINVAL", () => area.release(bad as never, 1));
        expectUntouched(sys, "EINVAL", () => area.release(area.basePfn, bad as never));
      }
      expectUntouched(sys, "EINVAL", () => area.alloc(1, 31));
      expectUntouched(sys, "ENOENT", () => sys.cma("other"));
    });
  });

  /** Values a hostile caller passes where a number, boolean or object belongs. */
  const HOSTILE: unknown[] = [
    Number.NaN,
    Symbol("x"),
    10n,
    Object.create(null),
    { valueOf: () => 4096 },
    "4096",
    null,
    undefined,
  ];

  it("IOMMU domains refuse non-integer addresses instead of reaching the engine", async () => {
    const gpu = { name: "gpu", iommu: { base: 0x10000000, size: 64 * MIB } };
    await onBoth({ ramBytes: 16 * MIB, devices: [gpu] }, (sys) => {
      const io = sys.device("gpu").iommu!;
      const iova = io.allocIova(2 * 4096)!;
      io.map(iova, 0x2000, 2 * 4096, 3);
      for (const bad of HOSTILE) {
        expectUntouched(sys, "EINVAL", () => io.unmap(bad as never, 4096));
        expectUntouched(sys, "EINVAL", () => io.iovaToPhys(bad as never));
        expectUntouched(sys, "EINVAL", () => io.protAt(bad as never));
        expectUntouched(sys, "EINVAL", () => io.freeIova(bad as never, 4096));
        expectUntouched(sys, "EINVAL", () => io.map(bad as never, 0x4000, 4096, 3));
        expectUntouched(sys, "EINVAL", () => io.map(iova + 0x4000, bad as never, 4096, 3));
      }
      // The mapping the bad calls aimed at is intact.
      expect(io.iovaToPhys(iova + 4100)).toBe(0x2000 + 4100);
      expect(io.protAt(iova)).toBe(3);
    });
  });

  it("setPolicy() validates every knob before applying any", async () => {
    await onBoth(OPTIONS, (sys) => {
      // A good knob beside a bad one: neither applies.
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ cmaFirstBalance: false, claimThresholdPages: -1 }));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ allocNoFragment: true, cmaFirstBalance: 1 as never }));
      for (const bad of HOSTILE) {
        if (bad !== null && bad !== undefined && typeof bad === "object") continue; // objects are policies
        expectUntouched(sys, "EINVAL", () => sys.setPolicy(bad as never));
      }
      // A getter is read once: it cannot pass the check and then hand the engine something else.
      let reads = 0;
      const policy = {
        get claimThresholdPages() {
          reads++;
          return reads === 1 ? 8 : Number.NaN;
        },
      };
      sys.setPolicy(policy);
      expect(reads).toBe(1);
      sys.check();
    });
  });

  it("allocation flags: hostile objects and values get EINVAL", async () => {
    await onBoth(OPTIONS, (sys) => {
      const nullProto = Object.assign(Object.create(null), { zone: Symbol("Normal") });
      for (const flags of [nullProto, { zone: 10n }, { atomic: "yes" }, { high: 1 }, { zone: "Movable" }, 7])
        expectUntouched(sys, "EINVAL", () => sys.allocPages(0, "unmovable", flags as never));
      // A null-prototype object with good fields is a fine flags object.
      const ok = Object.assign(Object.create(null), { zone: "Normal", atomic: true });
      const pfn = sys.allocPages(0, "unmovable", ok);
      expect(pfn).not.toBeNull();
      sys.freePages(pfn!, 0);
    });
  });

  it("scatterlists: a size that leaves a page empty, and tables whose entries leave RAM", async () => {
    const direct = { name: "eth0" };
    const swiotlb = { name: "isa", dmaMask: 20 };
    const iommu = { name: "gpu", iommu: { base: 0x10000000, size: 64 * MIB } };
    await onBoth({ ramBytes: 16 * MIB, devices: [direct, swiotlb, iommu], swiotlbBytes: 256 * 1024 }, (sys) => {
      // One page from offset 100: size must be 1..3996 (0 and negatives once slipped through).
      for (const size of [0, -1, -100, 3997])
        expectUntouched(sys, "EINVAL", () => sgAllocTableFromPages([5], 100, size, undefined, { system: sys }));
      expect(sgAllocTableFromPages([5], 100, 1, undefined, { system: sys }).entries).toEqual([
        { pfn: 5, offset: 100, length: 1 },
      ]);
      // An exporter-built table naming a pfn past RAM, or a length running past it.
      const beyond = new SgTable([{ pfn: 4096, offset: 0, length: 4096 }], 4096);
      const overrun = new SgTable([{ pfn: 4095, offset: 0, length: 8192 }], 4096);
      const nan = new SgTable([{ pfn: Number.NaN, offset: 0, length: 4096 }], 4096);
      for (const dev of ["eth0", "isa", "gpu"])
        for (const sgt of [beyond, overrun, nan])
          expectUntouched(sys, "EINVAL", () => sys.device(dev).dmaMapSg(sgt, "to_device"));
    });
  });

  it('contiguous ranges: "cma" only inside a CMA area', async () => {
    await onBoth(OPTIONS, (sys) => {
      const area = sys.cma("reserved");
      const outside = area.basePfn - 512;
      expectUntouched(sys, "EINVAL", () => sys.allocContigRange(outside, outside + 16, "cma"));
      expectUntouched(sys, "EINVAL", () => sys.isolatePageRange(outside, outside + 16, "cma"));
      expectUntouched(sys, "EINVAL", () => sys.undoIsolatePageRange(outside, outside + 16, "cma"));
      // Straddling the area's first pageblock boundary is outside too.
      expectUntouched(sys, "EINVAL", () => sys.allocContigRange(area.basePfn - 1, area.basePfn + 1, "cma"));
      // Inside the area it is what cma_alloc() does.
      expect(sys.allocContigRange(area.basePfn, area.basePfn + 16, "cma")).toBe(0);
      sys.freeContigRange(area.basePfn, 16);
    });
  });

  it("metadata-only machines have no contents to read", async () => {
    await onBoth({ ramBytes: 16 * MIB, storeContents: false }, (sys) => {
      const page = sys.allocMovable(0)!;
      expectUntouched(sys, "EINVAL", () => page.read());
      expectUntouched(sys, "EINVAL", () => sys.writePage(0, new Uint8Array(4)));
      // Migration still works without contents.
      expect(page.migrate()).toBeGreaterThan(0);
    });
  });
});

describe("createSystem options", () => {
  it("has the documented defaults", async () => {
    const sys = await createSystem();
    expect({
      backend: sys.backend,
      ramBytes: sys.ramBytes,
      pageSize: sys.pageSize,
      maxOrder: sys.maxOrder,
      pageblockOrder: sys.pageblockOrder,
      storeContents: sys.storeContents,
      seed: sys.seed,
      areas: sys.cmaAreas.length,
    }).toEqual({
      backend: "wasm",
      ramBytes: 256 * MIB,
      pageSize: 4096,
      maxOrder: 10,
      pageblockOrder: 9,
      storeContents: true,
      seed: 0,
      areas: 0,
    });
    expect(sys.nrPages).toBe(65536);
  });

  it("rejects bad options with EINVAL naming the field", async () => {
    const cases: [object, RegExp][] = [
      [{ backend: "gpu" }, /backend/],
      [{ pageSize: 3000 }, /pageSize/],
      [{ pageSize: 2048 }, /pageSize/],
      [{ maxOrder: 0 }, /maxOrder/],
      [{ pageblockOrder: 11 }, /pageblockOrder/],
      [{ ramBytes: 3 * MIB }, /ramBytes/],
      [{ ramBytes: -2 * MIB }, /ramBytes/],
      [{ ramBytes: 4 * 1024 * MIB }, /storeContents/],
      [{ seed: -1 }, /seed/],
      [{ seed: 2 ** 32 }, /seed/],
      [{ storeContents: 1 }, /storeContents/],
      [{ colour: "blue" }, /colour/],
      [{ cma: {} }, /cma/],
      [{ cma: [{ name: "", bytes: MIB }] }, /name/],
      [{ cma: [{ name: "a", bytes: 0 }] }, /bytes/],
      [{ cma: [{ name: "a", bytes: MIB, base: 100 }] }, /base/],
      [{ cma: [{ name: "a", bytes: MIB, size: 1 }] }, /size/],
    ];
    for (const [options, field] of cases) {
      const err = await createSystem({ ramBytes: 16 * MIB, ...options } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(options)).toBeInstanceOf(DmaSimError);
      expect(err).toMatchObject({ code: "EINVAL", errno: -22 });
      expect((err as Error).message).toMatch(field);
    }
  });

  it("creates large metadata-only machines", async () => {
    for (const backend of ["wasm", "ts"] as const) {
      const sys = await createSystem({ backend, ramBytes: 64 * 1024 * MIB, storeContents: false });
      expect(sys.nrPages).toBe(16 * 1024 * 1024);
      expect(sys.stats().nrFreePages).toBe(sys.nrPages);
      expect(sys.allocPages(10, "movable")).toBe(0);
    }
  });
});

describe("fragmentation index functions", () => {
  it("return the kernel's thousandths", () => {
    // One free block of each order 0..9: 1023 pages; asking for order 10.
    const nrFree = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
    expect(fragmentationIndex(nrFree, 10)).toBe(801);
    expect(fragmentationIndex(nrFree, 9)).toBe(-1000);
    expect(unusableFreeIndex(nrFree, 10)).toBe(1000);
    expect(unusableFreeIndex(nrFree, 5)).toBe(30);
    expect(() => fragmentationIndex(nrFree, -1)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });
});

describe("check()", () => {
  it("names the first broken invariant", async () => {
    const expected = [
      /free list: shorter than its count/,
      /buddy: free block on a list other than its pageblock's type/,
      /owner: /,
      /cma: bitmap bit set over pages the area did not allocate/,
      /vmstat: nr_free_pages is 4096, memmap has 4095/,
      /memmap: a call-local mark outlived its call/,
      /highatomic: nr_free_highatomic is 1, the free lists hold 0/,
      /pcp: /,
      /lru: lru_zone_size disagrees with the lists/,
      /vmstat: nr_free_pages_blocks is \d+, memmap has \d+/,
    ];
    for (const backend of ["wasm", "ts"] as const) {
      for (const [kind, message] of expected.entries()) {
        const sys = await createSystem({ backend, ...OPTIONS });
        sys.allocMovable(0);
        sys.check();
        (sys as unknown as { engine: { debugCorrupt(k: number): void } }).engine.debugCorrupt(kind);
        expect(() => sys.check()).toThrow(
          expect.objectContaining({ name: "DmaSimError", code: "EUCLEAN", message: expect.stringMatching(message) }),
        );
      }
    }
  });
});
