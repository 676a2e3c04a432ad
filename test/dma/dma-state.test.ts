// The DMA subsystem's TS-side state in sys.check() and sys.stateHash(): every
// kind of DMA state moves the hash when it is made and gives the previous hash
// back when it is undone; check() holds throughout and reports a broken
// invariant. Counters and other history (swiotlb's next-fit position, the IOMMU
// entries of the last mapping, recorded faults) are state too: undoing an
// operation does not wind them back, so the tests put them back by hand. Where
// the operation leaves engine history behind (a bounce buffer's stale bytes in
// RAM, the page allocator's pgalloc/pgfree counts), the subsystem's own part of
// the hash (dmaPart()) is what comes back.
import { describe, expect, it } from "vitest";
import { sgAllocTableFromPages, type Device, type System, type SystemOptions } from "dmasim";
import { StateHasher } from "../../bindings/core/hash.ts";
import { MIB, PAGE, dmaSimErrorOf, onBoth, internals } from "../helpers.ts";

const IOVA = 0x10000000;

/** A machine with a direct device, a 24-bit ISA device that bounces, and one device behind each kind of IOMMU code. */
const MACHINE: SystemOptions = {
  ramBytes: 64 * MIB,
  zones: "x86_64",
  cma: [{ name: "reserved", bytes: 8 * MIB }],
  devices: [
    { name: "eth0" },
    { name: "isa", dmaMask: 24 },
    { name: "gpu", iommu: { base: IOVA, size: 64 * MIB } },
    { name: "vpu", iommu: { base: IOVA, size: 64 * MIB, style: "arm" }, maxSegmentSize: 2 * PAGE },
  ],
};
const WITH_DEBUG: SystemOptions = { ...MACHINE, dmaDebug: true };

/** What the "dma" subsystem feeds into the state hash. */
function dmaHasher(sys: System): StateHasher {
  const dma = (internals(sys).registry as any).subsystems.find((s: { name: string }) => s.name === "dma");
  const h = new StateHasher();
  dma.hash(h);
  return h;
}

/** The words the "dma" subsystem feeds. */
function dmaWords(sys: System): number {
  return dmaHasher(sys).words;
}

/** The "dma" subsystem's part of the state hash: the words it feeds and their digest. */
function dmaPart(sys: System): string {
  const h = dmaHasher(sys);
  return `${h.words}:${h.digest().toString(16)}`;
}

/** The history a device keeps whatever is undone, to put back by hand. */
function history(sys: System, dev: Device): () => void {
  const counters = { ...dev.counters };
  const entries = dev.lastIommuEntries;
  const index = (sys.swiotlb as any)?.index;
  return () => {
    Object.assign(dev.counters, counters);
    dev.lastIommuEntries = entries;
    if (sys.swiotlb) (sys.swiotlb as any).index = index;
  };
}

/** Expects sys.check() to report a broken invariant matching `message`. */
function expectBroken(sys: System, message: RegExp): void {
  const err = dmaSimErrorOf(() => sys.check());
  expect(err.code).toBe("EUCLEAN");
  expect(err.message).toMatch(message);
}

/** An unmovable page filled by the CPU; `flags` picks the zone. */
function kernelPage(sys: System, flags = {}): number {
  const pfn = sys.allocPages(0, "unmovable", flags)!;
  sys.writePhys(pfn * PAGE, new Uint8Array(PAGE).fill(0x5a));
  return pfn;
}

describe("the dma subsystem's state", () => {
  it("feeds nothing while the subsystem is as boot left it: the machine hashes as the engine does", async () => {
    await onBoth(WITH_DEBUG, (sys) => {
      expect(dmaWords(sys)).toBe(0);
      expect(sys.stateHash()).toBe(internals(sys).engine.hash().toString(16).padStart(8, "0"));
      sys.check();
      // After a round trip with its history put back, again nothing.
      const dev = sys.device("gpu");
      const restore = history(sys, dev);
      const pfn = kernelPage(sys);
      const addr = dev.dmaMapPage(pfn, 0, PAGE, "to_device");
      expect(dev.dmaMappingError(addr)).toBe(false);
      expect(dmaWords(sys)).toBeGreaterThan(0);
      dev.dmaUnmapPage(addr, PAGE, "to_device");
      expect(dmaWords(sys)).toBeGreaterThan(0); // lastIommuEntries: history
      restore();
      expect(dmaWords(sys)).toBe(0);
      return sys.stateHash();
    });
  });

  it("a swiotlb bounce: slots, bounce buffer and mapping in the hash; check() ties them together", async () => {
    await onBoth(MACHINE, (sys) => {
      const isa = sys.device("isa");
      const pfn = kernelPage(sys, { zone: "DMA32" }); // above the 24-bit mask
      const h0 = sys.stateHash();
      const d0 = dmaPart(sys);
      const restore = history(sys, isa);
      const tlb = isa.dmaMapPage(pfn, 0, PAGE, "bidirectional");
      expect(sys.swiotlb!.contains(tlb)).toBe(true);
      const h1 = sys.stateHash();
      expect(h1).not.toBe(h0);
      sys.check();

      (sys.swiotlb as any).used++;
      expectBroken(sys, /^EUCLEAN: check: swiotlb: 3 slots counted in use, the bounce buffers hold 2$/);
      (sys.swiotlb as any).used--;
      const bounces = (sys.swiotlb as any).bounces as Map<number, unknown>;
      const bounce = bounces.get(tlb);
      bounces.delete(tlb);
      expectBroken(sys, /device isa: bounce mapping at 0x[0-9a-f]+: no such swiotlb bounce buffer/);
      bounces.set(tlb, bounce);
      expect(sys.stateHash()).toBe(h1);

      isa.dmaUnmapPage(tlb, PAGE, "bidirectional");
      expect(dmaPart(sys)).not.toBe(d0); // counters.bounced and the next-fit position moved
      restore();
      expect(dmaPart(sys)).toBe(d0); // (the bounce buffer's bytes stay in RAM: engine state)
      return [h0, h1, d0];
    });
  });

  it("an IOMMU streaming mapping, either kind of IOMMU code: its IOVA range checked mapped in the engine", async () => {
    for (const name of ["gpu", "vpu"]) {
      await onBoth(MACHINE, (sys) => {
        const dev = sys.device(name);
        const pfn = kernelPage(sys);
        // dma-iommu keeps a freed IOVA range in its range cache (free_iova_fast()): one
        // mapping first, so that the cache holds the range before and after the one measured.
        dev.dmaUnmapSingle(dev.dmaMapSingle(pfn * PAGE + 100, 200, "from_device"), 200, "from_device");
        const h0 = sys.stateHash();
        const restore = history(sys, dev);
        const addr = dev.dmaMapSingle(pfn * PAGE + 100, 200, "from_device");
        const h1 = sys.stateHash();
        expect(h1).not.toBe(h0);
        sys.check();

        // Unmapped behind the DMA layer's back.
        dev.iommu!.unmap(addr - 100, PAGE);
        expectBroken(
          sys,
          new RegExp(
            `device ${name}: IOVA 0x${(addr - 100).toString(16)}: unmapped, expected mapped with permissions 2`,
          ),
        );
        dev.iommu!.map(addr - 100, pfn * PAGE, PAGE, 3);
        expectBroken(sys, /permissions 3, expected mapped with permissions 2/);
        dev.iommu!.unmap(addr - 100, PAGE);
        dev.iommu!.map(addr - 100, pfn * PAGE, PAGE, 2);
        sys.check();

        dev.dmaUnmapSingle(addr, 200, "from_device");
        restore();
        expect(sys.stateHash()).toBe(h0);
        return [h0, h1];
      });
    }
  });

  it("a direct mapping; the streaming count checked against the mappings held", async () => {
    await onBoth(MACHINE, (sys) => {
      const eth = sys.device("eth0");
      const pfn = kernelPage(sys);
      const h0 = sys.stateHash();
      const addr = eth.dmaMapPage(pfn, 8, 64, "to_device");
      expect(addr).toBe(pfn * PAGE + 8);
      const h1 = sys.stateHash();
      expect(h1).not.toBe(h0);
      sys.check();
      const ops = (eth as any).ops;
      ops.streamingCount++;
      expectBroken(sys, /^EUCLEAN: check: device eth0: 2 streaming mappings counted, 1 held$/);
      ops.streamingCount--;
      eth.dmaUnmapPage(addr, 64, "to_device");
      expect(sys.stateHash()).toBe(h0); // a direct mapping moves no counter
      return [h0, h1];
    });
  });

  it("mapped tables of each kind of ops; the hash does not depend on the order things were mapped in", async () => {
    await onBoth(MACHINE, (sys) => {
      const hashes: string[] = [];
      for (const name of ["eth0", "gpu", "vpu"]) {
        const dev = sys.device(name);
        const pfns = [kernelPage(sys), kernelPage(sys), kernelPage(sys)];
        const sgt = sgAllocTableFromPages(pfns, 0, 3 * PAGE, undefined, { system: sys });
        // Warm dma-iommu's range cache, as above.
        expect(dev.dmaMapSgtable(sgt, "to_device")).toBe(0);
        dev.dmaUnmapSgtable(sgt, "to_device");
        const h0 = sys.stateHash();
        const restore = history(sys, dev);
        expect(dev.dmaMapSgtable(sgt, "to_device")).toBe(0);
        const h1 = sys.stateHash();
        expect(h1).not.toBe(h0);
        sys.check();
        // Each kind's table record, broken and mended.
        const record = (dev as any).ops.sgMaps.get(sgt);
        if (name === "eth0") {
          const entry = record.entries[0];
          record.entries[0] = { addr: entry.addr, m: { ...entry.m } };
          expectBroken(sys, /^EUCLEAN: check: device eth0: a mapped table's entry at 0x[0-9a-f]+ is no longer mapped$/);
          record.entries[0] = entry;
        } else if (name === "gpu") {
          const iova = record.ranges[0].iova;
          const phys = dev.iommu!.iovaToPhys(iova);
          dev.iommu!.unmap(iova, PAGE);
          expectBroken(sys, new RegExp(`^EUCLEAN: check: device gpu: IOVA 0x${iova.toString(16)}: unmapped`));
          dev.iommu!.map(iova, phys, PAGE, 1);
        } else {
          const chunk = record.chunks.pop();
          expectBroken(sys, /^EUCLEAN: check: device vpu: a mapped table holds \d+ IOVA chunks for \d+ segments$/);
          record.chunks.push(chunk);
        }
        sys.check();
        dev.dmaSyncSgForDevice(sgt, sgt.origNents, "to_device");
        expect(sys.stateHash()).toBe(h1);
        dev.dmaUnmapSgtable(sgt, "to_device");
        restore();
        expect(sys.stateHash()).toBe(h0);
        hashes.push(h0, h1);
      }
      return hashes;
    });

    // Two streaming mappings and two tables of a direct device, mapped in either order: one state, one hash.
    const run = async (reverse: boolean) =>
      onBoth(MACHINE, (sys) => {
        const eth = sys.device("eth0");
        const pages = [kernelPage(sys), kernelPage(sys), kernelPage(sys), kernelPage(sys)];
        const sgts = [
          sgAllocTableFromPages([pages[0]!, pages[1]!], 0, 2 * PAGE, undefined, { system: sys }),
          sgAllocTableFromPages([pages[2]!], 0, PAGE, undefined, { system: sys }),
        ];
        const singles = [pages[3]! * PAGE, pages[3]! * PAGE + 512];
        const order = reverse ? [1, 0] : [0, 1];
        for (const i of order) eth.dmaMapSingle(singles[i]!, 256, "to_device");
        for (const i of order) eth.dmaMapSg(sgts[i]!, "from_device");
        return sys.stateHash();
      });
    expect(await run(true)).toBe(await run(false));
  });

  it("a coherent buffer from each source: CMA, the page allocator, an atomic pool, IOMMU pages", async () => {
    await onBoth(MACHINE, (sys) => {
      const hashes: string[] = [];
      const cases: [string, number, boolean, string][] = [
        ["eth0", 64 * 1024, false, "cma"],
        ["eth0", PAGE, false, "buddy"],
        ["eth0", 2 * PAGE, true, "atomic-pool"],
        ["gpu", 5 * PAGE, false, "iommu"],
        ["vpu", 3 * PAGE, true, "atomic-pool"],
      ];
      for (const [name, size, atomic, source] of cases) {
        const dev = sys.device(name);
        const h0 = sys.stateHash();
        const d0 = dmaPart(sys);
        const restore = history(sys, dev);
        const buf = dev.dmaAllocAttrs(size, { atomic })!;
        expect(buf.source).toBe(source);
        const h1 = sys.stateHash();
        expect(h1).not.toBe(h0);
        sys.check();
        dev.dmaFreeAttrs(buf);
        expect(dmaPart(sys)).not.toBe(d0); // the coherent counter moved
        restore();
        expect(dmaPart(sys)).toBe(d0);
        // Memory from the pools leaves no engine history; pages do (pgalloc, pgfree).
        if (atomic) expect(sys.stateHash()).toBe(h0);
        hashes.push(h0, h1, d0);
      }
      return hashes;
    });
  });

  it("check() ties atomic pools to the live allocations and IOMMU buffers to their IOVA mappings", async () => {
    await onBoth(MACHINE, (sys) => {
      const eth = sys.device("eth0");
      const buf = eth.dmaAllocAttrs(2 * PAGE, { atomic: true })!;
      const pool = sys.atomicPools.find((p) => p.contains(buf.phys))!;
      const used = (pool as any).used as Uint8Array;
      const page = (buf.phys - pool.start) / PAGE;
      used[page] = 0;
      expectBroken(
        sys,
        new RegExp(
          `^EUCLEAN: check: atomic pool \\(${pool.zone}\\): 4096 bytes in use, the live allocations hold 8192$`,
        ),
      );
      used[page] = 1;
      sys.check();

      const gpu = sys.device("gpu");
      const gbuf = gpu.dmaAllocAttrs(2 * PAGE)!;
      gpu.iommu!.unmap(gbuf.dmaAddress + PAGE, PAGE);
      expectBroken(
        sys,
        new RegExp(`^EUCLEAN: check: device gpu: IOVA 0x${(gbuf.dmaAddress + PAGE).toString(16)}: unmapped`),
      );
      gpu.iommu!.map(gbuf.dmaAddress + PAGE, gbuf.blocks[0]!.pfn * PAGE + PAGE, PAGE, 3);
      sys.check();
      eth.dmaFreeAttrs(buf);
      gpu.dmaFreeAttrs(gbuf);
    });
  });

  it("a dma-debug entry, report and device info; check() verifies the checker's buckets and cacheline tree", async () => {
    await onBoth(WITH_DEBUG, (sys) => {
      const dd = sys.dmaDebug!;
      const h0 = sys.stateHash();
      dd.mapPage("eth0", 0x10000, 0x10000, 256, "from_device");
      const h1 = sys.stateHash();
      expect(h1).not.toBe(h0);
      sys.check();

      const buckets = (dd as any).buckets as Map<number, unknown[]>;
      const saved = new Map(buckets);
      buckets.clear();
      expectBroken(sys, /^EUCLEAN: check: dma-debug: 1 live entries, 0 in the hash buckets$/);
      for (const [k, v] of saved) buckets.set(k, v);
      const lines = (dd as any).cachelines as Map<bigint, { overlap: number }>;
      lines.values().next().value!.overlap = 1;
      expectBroken(
        sys,
        /^EUCLEAN: check: dma-debug: cacheline 0x0000000000000400 has overlap count 1 for 1 live entries$/,
      );
      lines.values().next().value!.overlap = 0;
      sys.check();
      expect(sys.stateHash()).toBe(h1);

      dd.mappingError("eth0", 0x10000);
      dd.unmapPage("eth0", 0x10000, 256, "from_device");
      expect([dd.errorCount(), sys.stateHash()]).toEqual([0, h0]);

      // A report moves the hash; so does the device info and a debugfs setting.
      dd.unmapPage("eth0", 0x20000, 64, "to_device");
      const h2 = sys.stateHash();
      expect(h2).not.toBe(h0);
      dd.setDevice("eth0", { driver: "e1000e", bus: "pci" });
      const h3 = sys.stateHash();
      expect(h3).not.toBe(h2);
      dd.setShowNumErrors(5);
      expect(sys.stateHash()).not.toBe(h3);
      return [h0, h1, h2, h3];
    });
  });

  it("fault logs keep the newest 256 faults and count the rest", async () => {
    await onBoth(MACHINE, (sys) => {
      const gpu = sys.device("gpu");
      for (let i = 0; i < 300; i++) dmaSimErrorOf(() => gpu.dmaRead(IOVA + 5 * PAGE + i * 4, 4));
      expect([gpu.faults.length, gpu.faultCount, gpu.iommu!.faults.length, gpu.iommu!.faultCount]).toEqual([
        256, 300, 256, 300,
      ]);
      // The oldest 44 went: the log starts at the 45th fault.
      expect(gpu.faults[0]!.iova).toBe(IOVA + 5 * PAGE + 44 * 4);
      sys.check();
      return sys.stateHash();
    });
  });

  it("an IOMMU fault and a fault beyond a direct device's mask; the domain's faults checked among the device's", async () => {
    await onBoth(MACHINE, (sys) => {
      const gpu = sys.device("gpu");
      const h0 = sys.stateHash();
      expect(dmaSimErrorOf(() => gpu.dmaRead(IOVA + 5 * PAGE, 4)).code).toBe("EFAULT");
      expect([gpu.faults.length, gpu.iommu!.faults.length]).toEqual([1, 1]);
      const h1 = sys.stateHash();
      expect(h1).not.toBe(h0);
      sys.check();
      gpu.faults.length = 0;
      expectBroken(
        sys,
        /^EUCLEAN: check: device gpu: its IOMMU domain records a fault at 0x10005000 the device does not$/,
      );
      expect(sys.stateHash()).not.toBe(h1);
      gpu.iommu!.faults.length = 0;
      expect(sys.stateHash()).toBe(h0);

      const isa = sys.device("isa");
      expect(dmaSimErrorOf(() => isa.dmaWrite(32 * MIB, new Uint8Array(4))).code).toBe("EFAULT");
      const h2 = sys.stateHash();
      expect(h2).not.toBe(h0);
      isa.faults.length = 0;
      expect(sys.stateHash()).toBe(h0);
      return [h0, h1, h2];
    });
  });
});
