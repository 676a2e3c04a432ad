import { describe, expect, it } from "vitest";
import { createSystem, DMA_MAPPING_ERROR, SgTable, sgAllocTableFromPages, type System } from "dmasim";
import { MIB, expectUntouched, onBoth } from "../helpers.ts";

const PAGE = 4096;
const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

/** A page allocated as unmovable, filled with `bytes` by the CPU. */
function kernelBuffer(sys: System, order: number, bytes: Uint8Array, flags = {}): number {
  const pfn = sys.allocPages(order, "unmovable", flags)!;
  sys.writePhys(pfn * PAGE, bytes);
  return pfn;
}

describe("direct mapping", () => {
  it("maps to the physical address; the device reads and writes the memory", async () => {
    await onBoth({ ramBytes: 64 * MIB, devices: [{ name: "eth0" }] }, (sys) => {
      const dev = sys.device("eth0");
      const data = pattern(6000, 1);
      const pfn = kernelBuffer(sys, 1, data);
      const addr = dev.dmaMapSingle(pfn * PAGE, 6000, "bidirectional");
      expect(dev.dmaMappingError(addr)).toBe(false);
      expect(addr).toBe(pfn * PAGE);
      expect(dev.dmaRead(addr, 6000)).toEqual(data);
      dev.dmaWrite(addr + 10, new Uint8Array([9, 9, 9]));
      dev.dmaUnmapSingle(addr, 6000, "bidirectional");
      expect(sys.readPhys(pfn * PAGE + 9, 5)).toEqual(new Uint8Array([data[9]!, 9, 9, 9, data[13]!]));
      expect(dev.activeMappings).toBe(0);
      return addr;
    });
  });

  it("bounces through swiotlb when the mask cannot reach the buffer", async () => {
    const options = { ramBytes: 64 * MIB, zones: "x86_64" as const, devices: [{ name: "isa", dmaMask: 24 }] };
    await onBoth(options, (sys) => {
      const dev = sys.device("isa");
      expect(sys.swiotlb!.end).toBeLessThanOrEqual(16 * MIB); // placed where the device can reach
      const data = pattern(PAGE, 7);
      const pfn = kernelBuffer(sys, 0, data); // from Normal... here DMA32, above 16 MiB
      expect(pfn * PAGE).toBeGreaterThanOrEqual(16 * MIB);
      const toDev = dev.dmaMapPage(pfn, 0, PAGE, "to_device");
      expect(sys.swiotlb!.contains(toDev)).toBe(true);
      expect(dev.dmaRead(toDev, PAGE)).toEqual(data);
      dev.dmaUnmapPage(toDev, PAGE, "to_device");

      const fromDev = dev.dmaMapPage(pfn, 0, PAGE, "from_device");
      dev.dmaWrite(fromDev, pattern(PAGE, 99));
      expect(sys.readPhys(pfn * PAGE, PAGE)).toEqual(data); // still in the bounce buffer
      dev.dmaSyncSingleForCpu(fromDev, PAGE, "from_device");
      expect(sys.readPhys(pfn * PAGE, PAGE)).toEqual(pattern(PAGE, 99));
      dev.dmaWrite(fromDev, pattern(PAGE, 5));
      dev.dmaUnmapPage(fromDev, PAGE, "from_device");
      expect(sys.readPhys(pfn * PAGE, PAGE)).toEqual(pattern(PAGE, 5));
      expect([dev.counters.bounced, sys.swiotlb!.used]).toEqual([2, 0]);
    });
  });

  it("refuses a bounce larger than 128 slots, and an address beyond the mask without swiotlb", async () => {
    await onBoth({ ramBytes: 64 * MIB, devices: [{ name: "isa", dmaMask: 24 }], swiotlbBytes: 256 * 1024 }, (sys) => {
      const dev = sys.device("isa");
      const pfn = 8192; // 32 MiB: beyond the 24-bit mask
      expect(sys.allocContigRange(pfn, pfn + 128)).toBe(0);
      expect(dev.dmaMapPage(pfn, 0, 128 * 2048 + 1, "to_device")).toBe(DMA_MAPPING_ERROR);
      expect(dev.dmaMapPage(pfn, 0, 128 * 2048, "to_device")).not.toBe(DMA_MAPPING_ERROR);
      expect(dev.dmaMapPage(pfn, 0, PAGE, "to_device")).toBe(DMA_MAPPING_ERROR); // the pool is full
      expect(sys.swiotlb!.fullEvents).toBe(2);
    });
    await onBoth({ ramBytes: 64 * MIB, devices: [{ name: "isa", dmaMask: 24 }], swiotlbBytes: 0 }, (sys) => {
      const pfn = 8192;
      expect(sys.allocContigRange(pfn, pfn + 1)).toBe(0);
      expect(sys.device("isa").dmaMapPage(pfn, 0, 100, "to_device")).toBe(DMA_MAPPING_ERROR);
      expect(() => sys.device("isa").dmaRead(pfn * PAGE, 4)).toThrow(expect.objectContaining({ code: "EFAULT" }));
    });
  });
});

describe("IOMMU", () => {
  const IOVA_BASE = 0x10000000;
  const gpu = { name: "gpu", iommu: { base: IOVA_BASE, size: 256 * MIB } };

  it("maps through IOVA space; unmapped and read-only pages fault", async () => {
    await onBoth({ ramBytes: 64 * MIB, devices: [gpu] }, (sys) => {
      const dev = sys.device("gpu");
      const data = pattern(100, 3);
      const pfn = kernelBuffer(sys, 0, pattern(PAGE, 3));
      const addr = dev.dmaMapPage(pfn, 40, 100, "to_device");
      // iommu_dma_alloc_iova(): top-down, so the last page of the 256 MiB domain.
      expect(addr).toBe(IOVA_BASE + 256 * MIB - PAGE + 40);
      expect(dev.iommu!.iovaToPhys(addr)).toBe(pfn * PAGE + 40);
      expect(dev.dmaRead(addr, 100)).toEqual(pattern(PAGE, 3).subarray(40, 140));
      expect(() => dev.dmaWrite(addr, data)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      expect(() => dev.dmaRead(IOVA_BASE + 64 * PAGE, 4)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      expect(dev.faults.map((f) => [f.iova - IOVA_BASE, f.write, f.reason])).toEqual([
        [256 * MIB - PAGE + 40, true, "permission"],
        [64 * PAGE, false, "unmapped"],
      ]);
      dev.dmaUnmapPage(addr, 100, "to_device");
      expect(dev.iommu!.iovaToPhys(addr)).toBe(0);
      expect(dev.iommu!.iovaBytesInUse).toBe(0);
    });
  });

  it("lets two devices share a buffer through different IOVAs", async () => {
    const cam = { name: "cam", iommu: { base: 0x40000000, size: 64 * MIB } };
    await onBoth({ ramBytes: 64 * MIB, devices: [gpu, cam] }, (sys) => {
      const pfn = sys.allocPages(2, "unmovable")!;
      const inCam = sys.device("cam").dmaMapPage(pfn, 0, 4 * PAGE, "from_device");
      const inGpu = sys.device("gpu").dmaMapPage(pfn, 0, 4 * PAGE, "to_device");
      expect(inCam).not.toBe(inGpu);
      sys.device("cam").dmaWrite(inCam + 5000, pattern(3000, 11));
      expect(sys.device("gpu").dmaRead(inGpu + 5000, 3000)).toEqual(pattern(3000, 11));
    });
  });

  it("allocates IOVA first fit from the bottom, aligned to the order capped at 2^8 pages, growing by extensions", async () => {
    await onBoth(
      { ramBytes: 64 * MIB, devices: [{ name: "gpu", iommu: { base: 0, size: 1024 * MIB, style: "arm" } }] },
      (sys) => {
        const io = sys.device("gpu").iommu!;
        expect(io.extensions).toBe(1);
        expect(io.allocIova(PAGE)).toBe(0);
        expect(io.allocIova(2 * PAGE)).toBe(2 * PAGE); // order 1: 2-page aligned
        expect(io.allocIova(PAGE)).toBe(PAGE); // first fit fills the hole
        expect(io.allocIova(3 * MIB)).toBe(1 * MIB); // order 10, capped at 8: 1 MiB aligned
        io.freeIova(2 * PAGE, 2 * PAGE);
        expect(io.allocIova(PAGE)).toBe(2 * PAGE);
        // Each extension covers 128 MiB (one page of bitmap): fill it and the next one appears.
        expect(io.allocIova(124 * MIB)).toBe(4 * MIB);
        expect(io.allocIova(8 * MIB)).toBe(128 * MIB);
        expect(io.extensions).toBe(2);
        expect(() => io.freeIova(127 * MIB, 2 * MIB)).toThrow(expect.objectContaining({ code: "EINVAL" }));
        expect(io.allocIova(129 * MIB)).toBeNull(); // no range spans two extensions
      },
    );
    // dma-iommu domains have no extensions, but alloc_iova() aligns to the size rounded up to a
    // power of two: 600 MiB needs a 1 GiB-aligned start, and pfn 0 is never handed out
    // (iommu_dma_init_domain() starts the IOVA space at pfn 1), so it fails; 512 MiB fits at the top.
    await onBoth({ ramBytes: 64 * MIB, devices: [{ name: "gpu", iommu: { base: 0, size: 1024 * MIB } }] }, (sys) => {
      expect(sys.device("gpu").iommu!.allocIova(600 * MIB)).toBeNull();
      expect(sys.device("gpu").iommu!.allocIova(512 * MIB)).toBe(512 * MIB);
    });
  });

  it("uses 64K, 1M and 16M IOMMU pages where both addresses are aligned", async () => {
    await onBoth(
      { ramBytes: 64 * MIB, storeContents: false, devices: [{ name: "gpu", iommu: { base: 0, size: 256 * MIB } }] },
      (sys) => {
        const io = sys.device("gpu").iommu!;
        expect(io.map(0, 0, 16 * MIB, 3).entries).toEqual([0, 0, 0, 1]);
        expect(io.map(32 * MIB, 16 * MIB + 64 * 1024, MIB + 4 * PAGE, 1).entries).toEqual([4, 16, 0, 0]);
        expect(io.map(48 * MIB, 32 * MIB, 2 * MIB + 64 * 1024, 2).entries).toEqual([0, 1, 2, 0]);
        expect(io.entries).toEqual([4, 17, 2, 1]);
        expect(io.protAt(32 * MIB)).toBe(1);
        expect(io.unmap(0, PAGE)).toBe(16 * MIB); // a whole 16 MiB page goes
        expect(io.entries).toEqual([4, 17, 2, 0]);
        expect(() => io.map(32 * MIB, 0, PAGE, 3)).toThrow(expect.objectContaining({ code: "EINVAL" })); // already mapped
      },
    );
  });

  it("refuses an IOVA space above 4 GiB with ERANGE", async () => {
    await expect(
      createSystem({ ramBytes: 16 * MIB, devices: [{ name: "x", iommu: { base: 0, size: 8 * 1024 * MIB } }] }),
    ).rejects.toMatchObject({ code: "ERANGE" });
  });
});

describe("dma_map_sg", () => {
  // 24 scattered pages: pfns 100, 102, 104, ...
  const scattered = Array.from({ length: 24 }, (_, i) => 100 + 2 * i);
  const mk = (style: "arm" | "dma-iommu", extra = {}) => ({
    ramBytes: 64 * MIB,
    devices: [{ name: "dev", iommu: { base: 0x80000000, size: 64 * MIB, style }, ...extra }],
  });

  for (const style of ["arm", "dma-iommu"] as const) {
    it(`${style}: merges scattered pages into device segments of at most the max segment size`, async () => {
      await onBoth(mk(style), (sys) => {
        const dev = sys.device("dev");
        const sgt = sgAllocTableFromPages(scattered, 0, 24 * PAGE, undefined, { system: sys });
        expect(sgt.origNents).toBe(24);
        expect(dev.dmaMapSgtable(sgt, "bidirectional")).toBe(0);
        expect(sgt.nents).toBe(2);
        // arm: first fit from the bottom; the second chunk is 8 pages, 8-page aligned, right after the first.
        // dma-iommu: one IOVA range for the whole list, 24 pages rounded up to 32 (alloc_iova_fast()),
        // 32-page aligned, top-down from the end of the 64 MiB domain: 64 MiB - 32 pages.
        const first = style === "arm" ? 0 : 64 * MIB - 32 * PAGE;
        expect(sgt.entries.slice(0, 2).map((e) => [e.dmaAddress! - 0x80000000, e.dmaLength])).toEqual([
          [first, 65536],
          [first + 65536, 32768],
        ]);
        // Bytes written through the device land in the scattered pages.
        dev.dmaWrite(sgt.entries[0]!.dmaAddress! + PAGE, pattern(PAGE, 4));
        expect(sys.readPhys(102 * PAGE, PAGE)).toEqual(pattern(PAGE, 4));
        dev.dmaUnmapSgtable(sgt, "bidirectional");
        expect(dev.iommu!.iovaBytesInUse).toBe(0);
        expect(sgt.nents).toBe(24);
      });
    });
  }

  it("starts a new segment at an entry with an offset and after one that ends inside a page", async () => {
    for (const style of ["arm", "dma-iommu"] as const) {
      await onBoth(mk(style), (sys) => {
        const table = new SgTable(
          [
            { pfn: 10, offset: 0, length: PAGE },
            { pfn: 20, offset: 512, length: 1000 },
            { pfn: 30, offset: 0, length: PAGE },
          ],
          PAGE,
        );
        const n = sys.device("dev").dmaMapSg(table, "to_device");
        expect(n).toBe(3);
        expect(table.entries.map((e) => e.dmaLength)).toEqual([PAGE, 1000, PAGE]);
        expect(table.entries[1]!.dmaAddress! % PAGE).toBe(512);
        return n;
      });
    }
  });

  it("dma-iommu: a segment never crosses the boundary mask", async () => {
    await onBoth(mk("dma-iommu", { segmentBoundaryMask: 0x3fff, maxSegmentSize: 65536 }), (sys) => {
      const sgt = sgAllocTableFromPages(scattered.slice(0, 6), 0, 6 * PAGE, undefined, { system: sys });
      const n = sys.device("dev").dmaMapSg(sgt, "to_device");
      expect(n).toBe(2); // 16 KiB boundary: 4 pages, then 2
      for (const e of sgt.entries.slice(0, n)) {
        const start = e.dmaAddress!;
        expect(Math.floor(start / 0x4000)).toBe(Math.floor((start + e.dmaLength! - 1) / 0x4000));
      }
    });
  });

  it("dma-iommu: unmapping a list laid out with boundary pads removes every page", async () => {
    await onBoth(mk("dma-iommu", { segmentBoundaryMask: 0xffff }), (sys) => {
      const dev = sys.device("dev");
      const table = new SgTable(
        Array.from({ length: 6 }, (_, i) => ({ pfn: 200 + 10 * i, offset: 0, length: 3 * PAGE })),
        PAGE,
      );
      expect(dev.dmaMapSg(table, "bidirectional")).toBeGreaterThan(1);
      dev.dmaUnmapSg(table, 6, "bidirectional");
      expect(dev.iommu!.entries).toEqual([0, 0, 0, 0]);
      expect(dev.iommu!.iovaBytesInUse).toBe(0);
      expect(dev.dmaMapSg(table, "bidirectional")).toBeGreaterThan(1); // the same table maps again
    });
  });

  it("direct: one segment per entry; a failure unmaps what was mapped and returns 0", async () => {
    await onBoth(
      { ramBytes: 64 * MIB, devices: [{ name: "isa", dmaMask: 24 }], swiotlbBytes: 0, zones: "x86_64" },
      (sys) => {
        const dev = sys.device("isa");
        const low = sys.allocPages(0, "unmovable", { zone: "DMA" })!;
        const high = sys.allocPages(0, "unmovable")!;
        const sgt = sgAllocTableFromPages([low, high], 0, 2 * PAGE, undefined, { system: sys });
        expect(dev.dmaMapSg(sgt, "to_device")).toBe(0);
        expect(dev.dmaMapSgtable(sgt, "to_device")).toBe(-5);
        expect(dev.activeMappings).toBe(0);
      },
    );
  });
});

describe("coherent allocations", () => {
  const options = {
    ramBytes: 64 * MIB,
    zones: "x86_64" as const,
    cma: [
      { name: "reserved", bytes: 8 * MIB },
      { name: "cam", bytes: 4 * MIB },
    ],
    devices: [
      { name: "eth0" },
      { name: "cam", cma: "cam" },
      { name: "isa", dmaMask: 24 },
      { name: "gpu", iommu: { base: 0, size: 64 * MIB } },
    ],
  };

  it("come from CMA, the device's area, the zone its mask reaches, IOMMU pages or the atomic pool", async () => {
    await onBoth(options, (sys) => {
      const alloc = (dev: string, size: number, atomic = false) => {
        const buf = sys.device(dev).dmaAllocAttrs(size, { atomic })!;
        expect(sys.device(dev).coherentRead(buf, 0, Math.min(size, 4096))).toEqual(
          new Uint8Array(Math.min(size, 4096)),
        );
        return buf;
      };
      const big = alloc("eth0", 64 * 1024);
      expect([big.source, sys.cma("reserved").basePfn * PAGE <= big.phys]).toEqual(["cma", true]);
      expect(alloc("eth0", PAGE).source).toBe("buddy"); // one page: not worth CMA
      const cam = alloc("cam", 8192);
      expect(cam.source).toBe("cma");
      expect(sys.cma("cam").available).toBe(1024 - 2);
      const isa = alloc("isa", 3 * PAGE);
      expect([isa.source, sys.zoneOf(isa.phys / PAGE)]).toEqual(["buddy", "DMA"]);
      const gpu = alloc("gpu", 20 * PAGE);
      expect(gpu.source).toBe("iommu");
      sys.device("gpu").dmaWrite(gpu.dmaAddress + 19 * PAGE, new Uint8Array([1, 2]));
      expect(sys.device("gpu").dmaRead(gpu.dmaAddress + 19 * PAGE, 2)).toEqual(new Uint8Array([1, 2]));
      expect(sys.device("cam").dmaMmapAttrs(cam, 1, 1)).toEqual([cam.phys / PAGE + 1]);
      expect(sys.device("cam").dmaMmapAttrs(cam, 1, 2)).toBe(-6); // -ENXIO: past the buffer
      expect(sys.device("gpu").dmaMmapAttrs(gpu, 0, 20)).toHaveLength(20);
      const atomic = alloc("eth0", 2 * PAGE, true);
      expect(atomic.source).toBe("atomic-pool");
      // coherent_pool: 128 KiB on a machine under 1 GiB.
      expect(sys.atomicPools.map((p) => p.bytes)).toEqual([128 * 1024, 128 * 1024, 128 * 1024]);
      expect(sys.device("eth0").dmaAllocAttrs(200 * 1024, { atomic: true })).toBeNull();
      for (const [dev, buf] of [
        ["eth0", big],
        ["cam", cam],
        ["isa", isa],
        ["gpu", gpu],
        ["eth0", atomic],
      ] as const)
        sys.device(dev).dmaFreeAttrs(buf);
      expect(sys.cma("cam").available).toBe(1024);
      expect(sys.device("gpu").iommu!.entries).toEqual([0, 0, 0, 0]);
      expectUntouched(sys, "EINVAL", () => sys.device("eth0").dmaFreeAttrs(big));
    });
  });
});

describe("zones and masks", () => {
  it("a 32-bit device on an 8 GiB machine gets coherent memory below 4 GiB; a 64-bit one from Normal", async () => {
    const options = {
      ramBytes: 8 * 1024 * MIB,
      storeContents: false,
      zones: "x86_64" as const,
      devices: [
        { name: "pci32", dmaMask: 32 },
        { name: "pci64", dmaMask: 64 },
      ],
    };
    await onBoth(options, (sys) => {
      const low = sys.device("pci32").dmaAllocAttrs(16 * PAGE)!;
      expect(low.phys + 16 * PAGE).toBeLessThanOrEqual(4 * 1024 * MIB);
      expect(sys.zoneOf(low.phys / PAGE)).toBe("DMA32");
      const high = sys.device("pci64").dmaAllocAttrs(16 * PAGE)!;
      expect(sys.zoneOf(high.phys / PAGE)).toBe("Normal");
      // Streaming: memory above 4 GiB bounces for the 32-bit device.
      const pfn = sys.allocPages(0, "unmovable")!;
      expect(sys.zoneOf(pfn)).toBe("Normal");
      const addr = sys.device("pci32").dmaMapPage(pfn, 0, 64, "to_device");
      expect(sys.swiotlb!.contains(addr)).toBe(true);
      expect(sys.device("pci64").dmaMapPage(pfn, 0, 64, "to_device")).toBe(pfn * PAGE);
    });
  });

  it("reports the IOMMU entries a mapping used", async () => {
    await onBoth({ ramBytes: 64 * MIB, devices: [{ name: "gpu", iommu: { base: 0, size: 64 * MIB } }] }, (sys) => {
      const dev = sys.device("gpu");
      expect(sys.allocContigRange(4096, 4096 + 512)).toBe(0); // 2 MiB, 1 MiB aligned
      dev.dmaMapPage(4096, 0, 2 * MIB, "bidirectional");
      expect(dev.lastIommuEntries).toEqual([0, 0, 2, 0]);
      dev.dmaMapPage(4096, 0, 3 * PAGE, "bidirectional");
      expect(dev.lastIommuEntries).toEqual([3, 0, 0, 0]);
    });
  });
});

describe("non-coherent cache model", () => {
  const options = {
    ramBytes: 16 * MIB,
    cacheModel: true,
    devices: [
      { name: "dsp", coherent: false },
      { name: "nic", coherent: true },
    ],
  };

  it("a missed sync_for_device sends stale bytes; a missed sync_for_cpu reads stale bytes", async () => {
    await onBoth(options, (sys) => {
      const dsp = sys.device("dsp");
      const pfn = sys.allocPages(0, "unmovable")!;
      const phys = pfn * PAGE;
      sys.writePhys(phys, pattern(256, 1));
      const addr = dsp.dmaMapSingle(phys, 256, "bidirectional"); // map cleans the cache: the device sees the data
      expect(dsp.dmaRead(addr, 256)).toEqual(pattern(256, 1));
      sys.writePhys(phys, pattern(256, 2)); // CPU writes without sync_for_device
      expect(dsp.dmaRead(addr, 256)).toEqual(pattern(256, 1)); // stale
      dsp.dmaSyncSingleForDevice(addr, 256, "bidirectional");
      expect(dsp.dmaRead(addr, 256)).toEqual(pattern(256, 2));
      dsp.dmaWrite(addr, pattern(256, 3));
      expect(sys.readPhys(phys, 256)).toEqual(pattern(256, 2)); // the CPU cache still holds the old lines
      dsp.dmaSyncSingleForCpu(addr, 256, "bidirectional");
      expect(sys.readPhys(phys, 256)).toEqual(pattern(256, 3));
      dsp.dmaUnmapSingle(addr, 256, "bidirectional");
    });
  });

  it("a coherent device snoops the cache: no stale bytes", async () => {
    await onBoth(options, (sys) => {
      const nic = sys.device("nic");
      const pfn = sys.allocPages(0, "unmovable")!;
      const addr = nic.dmaMapSingle(pfn * PAGE, 128, "bidirectional");
      sys.writePhys(pfn * PAGE, pattern(128, 8));
      expect(nic.dmaRead(addr, 128)).toEqual(pattern(128, 8));
      nic.dmaWrite(addr, pattern(128, 9));
      expect(sys.readPhys(pfn * PAGE, 128)).toEqual(pattern(128, 9));
    });
  });
});

describe("DMA-API checker", () => {
  it("reports wrong driver sequences with the kernel's messages, and nothing for a correct one", async () => {
    await onBoth({ ramBytes: 16 * MIB, dmaDebug: { showAllErrors: true }, devices: [{ name: "eth0" }] }, (sys) => {
      const dev = sys.device("eth0");
      const pfn = sys.allocPages(0, "unmovable")!;
      // Correct: map, check, sync, unmap.
      const ok = dev.dmaMapSingle(pfn * PAGE, 512, "to_device");
      expect(dev.dmaMappingError(ok)).toBe(false);
      dev.dmaSyncSingleForDevice(ok, 512, "to_device");
      dev.dmaUnmapSingle(ok, 512, "to_device");
      expect(sys.dmaDebug!.reports).toEqual([]);
      // Wrong: never checked, then unmapped with another direction and size.
      const a = dev.dmaMapSingle(pfn * PAGE, 512, "to_device");
      dev.dmaUnmapSingle(a, 256, "from_device");
      dev.dmaUnmapSingle(a, 512, "to_device"); // already gone
      const messages = sys.dmaDebug!.printed();
      expect(messages.some((m) => m.includes("frees DMA memory with different size"))).toBe(true);
      expect(messages.some((m) => m.includes("frees DMA memory with different direction"))).toBe(true);
      expect(messages.some((m) => m.includes("failed to check map error"))).toBe(true);
      expect(messages.some((m) => m.includes("tries to free DMA memory it has not allocated"))).toBe(true);
      expect(messages[0]).toMatch(/^DMA-API: eth0 eth0: /);
      // A mapping held when the driver lets go.
      dev.dmaMapSingle(pfn * PAGE, 64, "from_device");
      expect(dev.release()).toBe(1);
      expect(sys.dmaDebug!.printed().at(-1)).toMatch(/pending DMA allocations while released from device \[count=1\]/);
      // The CPU touching a buffer the device owns.
      sys.readPhys(pfn * PAGE, 4);
      expect(sys.dmaDebug!.printed().at(-1)).toMatch(/cpu reads from DMA memory owned by the device/);
    });
  });
});

describe("DMA bad input", () => {
  it("refuses bad arguments with DmaSimError and leaves the machine as it was", async () => {
    await onBoth(
      { ramBytes: 16 * MIB, devices: [{ name: "eth0" }, { name: "gpu", iommu: { base: 0, size: 16 * MIB } }] },
      (sys) => {
        const dev = sys.device("eth0");
        const pfn = sys.allocPages(0, "unmovable")!;
        expectUntouched(sys, "EINVAL", () => dev.dmaMapPage(pfn, PAGE, 4, "to_device"));
        expectUntouched(sys, "EINVAL", () => dev.dmaMapPage(pfn, 0, 0, "to_device"));
        expectUntouched(sys, "EINVAL", () => dev.dmaMapPage(pfn, 0, 4, "sideways" as never));
        expectUntouched(sys, "EINVAL", () => dev.dmaMapPage(pfn, 0, 4, "none"));
        expectUntouched(sys, "EINVAL", () => dev.dmaMapSingle(-1, 4, "to_device"));
        expectUntouched(sys, "EINVAL", () => dev.dmaUnmapSingle(12345, 4, "to_device"));
        expectUntouched(sys, "EINVAL", () => dev.dmaSyncSingleForCpu(12345, 4, "to_device"));
        expectUntouched(sys, "EINVAL", () => dev.dmaAllocAttrs(0));
        expectUntouched(sys, "EINVAL", () => sys.device("gpu").iommu!.map(1, 0, PAGE, 3));
        expectUntouched(sys, "EINVAL", () => sys.device("gpu").iommu!.allocIova(0));
        expectUntouched(sys, "ENODEV", () => sys.device("nope"));
      },
    );
    await expect(createSystem({ ramBytes: 16 * MIB, devices: [{ name: "a" }, { name: "a" }] })).rejects.toMatchObject({
      code: "EINVAL",
    });
    await expect(createSystem({ ramBytes: 16 * MIB, devices: [{ name: "a", cma: "none" }] })).rejects.toMatchObject({
      code: "EINVAL",
    });
    await expect(
      createSystem({ ramBytes: 16 * MIB, devices: [{ name: "a", segmentBoundaryMask: 1000 }] }),
    ).rejects.toMatchObject({ code: "EINVAL" });
  });
});

describe("atomic coherent buffers behind an IOMMU", () => {
  it("give their IOVA range back when freed (iommu_dma_free() unmaps before dma_free_from_pool())", async () => {
    await onBoth(
      { ramBytes: 64 * MIB, devices: [{ name: "gpu", iommu: { base: 0x10000000, size: 64 * MIB } }] },
      (sys) => {
        const dev = sys.device("gpu");
        const buf = dev.dmaAllocAttrs(3 * PAGE, { atomic: true })!;
        expect([buf.source, dev.iommu!.iovaBytesInUse, dev.iommu!.iovaToPhys(buf.dmaAddress)]).toEqual([
          "atomic-pool",
          3 * PAGE,
          buf.phys,
        ]);
        dev.dmaFreeAttrs(buf);
        expect([dev.iommu!.iovaBytesInUse, dev.iommu!.entries, sys.atomicPools[0]!.usedBytes]).toEqual([
          0,
          [0, 0, 0, 0],
          0,
        ]);
        expect(() => dev.dmaRead(buf.dmaAddress, 4)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      },
    );
  });
});

describe("the dma-iommu IOVA allocator (drivers/iommu/iova.c)", () => {
  const dev = (extra = {}) => ({
    ramBytes: 64 * MIB,
    devices: [{ name: "dev", iommu: { base: 0, size: 256 * MIB }, ...extra }],
  });

  it("keeps __finalise_sg()'s promise: no DMA segment crosses the segment boundary, even after a 1 MiB allocation", async () => {
    const options = dev({ segmentBoundaryMask: 4 * MIB - 1, maxSegmentSize: 0xffffffff });
    await onBoth(options, (sys) => {
      const d = sys.device("dev");
      // 1 MiB = 256 pages, aligned to 256 pages, top-down below the 256 MiB domain end: pfn 65280 (255 MiB).
      expect(d.iommu!.allocIova(MIB)).toBe(255 * MIB);
      // Six scattered 1 MiB entries: one IOVA range of 1536 pages, aligned to 2048 (8 MiB), walked down
      // from the cached node at 255 MiB: (65280 - 1536) & ~2047 = pfn 63488, 248 MiB. __finalise_sg() starts
      // a new segment where an entry begins on a 4 MiB boundary (252 MiB): 4 MiB + 2 MiB.
      const table = new SgTable(
        Array.from({ length: 6 }, (_, i) => ({ pfn: 1024 + i * 512, offset: 0, length: MIB })),
        PAGE,
      );
      expect(d.dmaMapSgtable(table, "to_device")).toBe(0);
      expect(table.entries.slice(0, table.nents).map((e) => [e.dmaAddress, e.dmaLength])).toEqual([
        [248 * MIB, 4 * MIB],
        [252 * MIB, 2 * MIB],
      ]);
      for (const e of table.entries.slice(0, table.nents)) {
        const first = Math.floor(e.dmaAddress! / (4 * MIB));
        expect(Math.floor((e.dmaAddress! + e.dmaLength! - 1) / (4 * MIB))).toBe(first);
      }
      d.dmaUnmapSgtable(table, "to_device");
      sys.check();
    });
  });

  it("rounds small sizes up to a power of two, walks down from the last allocation, and reuses cached ranges", async () => {
    await onBoth(dev(), (sys) => {
      const io = sys.device("dev").iommu!;
      const top = 256 * MIB;
      // 3 pages round up to 4 (alloc_iova_fast()), aligned to 4: the last 4 pages of the domain.
      const a = io.allocIova(3 * PAGE)!;
      expect(a).toBe(top - 4 * PAGE);
      // 1 page, walked down from the cached node (a): the page just below it.
      const b = io.allocIova(PAGE)!;
      expect(b).toBe(top - 5 * PAGE);
      // 40 pages (not rounded: 40 >= 32) aligned to 64: (65531 - 40) & ~63 = pfn 65472.
      const c = io.allocIova(40 * PAGE)!;
      expect(c).toBe(65472 * PAGE);
      expect(io.iovaTree).toEqual({ nodes: 3, cached: 0 });
      // Freed ranges of up to 32 pages go to the range cache and stay in the tree ...
      io.freeIova(a, 3 * PAGE);
      expect([io.iovaTree, io.iovaBytesInUse]).toEqual([{ nodes: 3, cached: 1 }, 41 * PAGE]);
      // ... and come back for the next allocation of their size class.
      expect(io.allocIova(4 * PAGE)).toBe(a);
      // A 40-page range is not cached: it leaves the tree.
      io.freeIova(c, 40 * PAGE);
      expect(io.iovaTree).toEqual({ nodes: 2, cached: 0 });
      // A range freed with the wrong size or address is EINVAL, nothing changed.
      expectUntouched(sys, "EINVAL", () => io.freeIova(b + PAGE, PAGE));
      expectUntouched(sys, "EINVAL", () => io.freeIova(b, 2 * PAGE));
      sys.check();
    });
  });

  it("respects the device's DMA limit, and flushes the caches before failing", async () => {
    await onBoth(dev({ dmaMask: 24 }), (sys) => {
      const io = sys.device("dev").iommu!;
      const d = sys.device("dev");
      // A 24-bit mask: top-down from 16 MiB, not from the domain's end.
      const addr = d.dmaMapPage(sys.allocPages(0, "unmovable")!, 0, PAGE, "to_device");
      expect(addr).toBe(16 * MIB - PAGE);
      d.dmaUnmapPage(addr, PAGE, "to_device");
      expect(io.iovaTree).toEqual({ nodes: 1, cached: 1 });
      // 4095 pages below 16 MiB, aligned to 4096: (4096 - 4095) & ~4095 = pfn 0, below the IOVA space's
      // first pfn (1), on the walk from the cached page and on the retry from the top. alloc_iova_fast()
      // then flushes the range caches (the cached page leaves the tree) and fails again.
      expect(io.allocIova(16 * MIB - PAGE, 16 * MIB - 1)).toBeNull();
      expect(io.iovaTree).toEqual({ nodes: 0, cached: 0 });
      sys.check();
    });
  });
});
