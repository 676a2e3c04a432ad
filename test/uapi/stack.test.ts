import { describe, expect, it } from "vitest";
import {
  DMA_HEAP_IOCTL_ALLOC,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  sgAllocTableFromPages,
  type CoherentBuffer,
  type Device,
  type DmaDirection,
  type Mapping,
  type MovablePage,
  type SgTable,
  type System,
} from "dmasim";
import { MIB, onBoth } from "../helpers.ts";

const PAGE = 4096;
/** STRESS_OPS and STRESS_SEEDS (comma-separated) let a longer hunt run the same test. */
const OPS = Number(process.env.STRESS_OPS ?? 12_000);
const SEEDS = (process.env.STRESS_SEEDS ?? "1,2").split(",").map(Number);
const DIRS: DmaDirection[] = ["to_device", "from_device", "bidirectional"];

/** Removes and returns a random element. */
function take<T>(sys: System, list: T[]): T {
  const i = sys.random.int(list.length);
  const item = list[i]!;
  list[i] = list[list.length - 1]!;
  list.pop();
  return item;
}

/**
 * The whole stack at once under a seeded random mix: kernel and movable pages,
 * pins, coherent and streaming DMA on direct, bounced, IOMMU (both styles) and
 * non-coherent devices, scatterlists, dma-buf heaps with mmap, and CMA, with
 * every invariant checked along the way. `correct` keeps to what the DMA-API
 * checker accepts: tables split at the device's max segment, and no overlapping
 * mappings the device could write (the EEXIST cacheline rule).
 */
function stress(sys: System, correct = false): { hash: string; free: number } {
  const r = sys.random;
  const devs = sys.devices;
  const kernel: [number, number][] = [];
  const movable: MovablePage[] = [];
  const coherent: [Device, CoherentBuffer][] = [];
  const streaming: [Device, number, number, DmaDirection][] = [];
  const tables: [Device, SgTable, number[]][] = [];
  const bufs: [number, Mapping | null][] = [];
  const cmaAllocs: [string, number, number][] = [];
  const app = sys.process("app", { dmabufLimitBytes: 24 * MIB });
  const heaps = [app.open("/dev/dma_heap/system", O_RDWR), app.open("/dev/dma_heap/reserved", O_RDWR)];
  const dev = () => devs[r.int(devs.length)]!;
  for (let op = 1; op <= OPS; op++) {
    switch (r.int(20)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const order = r.int(4);
        const pfn = sys.allocPages(
          order,
          r.int(2) ? "unmovable" : "reclaimable",
          r.int(5) === 0 ? { zone: "DMA32" } : {},
        );
        if (pfn !== null) kernel.push([pfn, order]);
        break;
      }
      case 4:
      case 5:
        if (kernel.length) sys.freePages(...take(sys, kernel));
        break;
      case 6:
      case 7: {
        const page = sys.allocMovable(r.int(3));
        if (page) movable.push(page);
        break;
      }
      case 8:
        if (movable.length) {
          const page = take(sys, movable);
          const { shortTerm, longTerm } = page.pins;
          for (let i = 0; i < shortTerm; i++) page.unpin();
          for (let i = 0; i < longTerm; i++) page.unpinLongterm();
          page.free();
        }
        break;
      case 9:
        if (movable.length) {
          const page = movable[r.int(movable.length)]!;
          try {
            if (r.int(3)) page.pin();
            else page.pinLongterm();
          } catch (e) {
            expect((e as { code: string }).code).toBe("ENOMEM");
          }
        }
        break;
      case 10: {
        const d = dev();
        const buf = d.dmaAllocAttrs((1 + r.int(20)) * PAGE, { atomic: r.int(4) === 0 });
        if (buf) coherent.push([d, buf]);
        break;
      }
      case 11:
        if (coherent.length) {
          const [d, buf] = take(sys, coherent);
          d.dmaFreeAttrs(buf);
        }
        break;
      case 12:
        if (kernel.length) {
          const d = dev();
          const [pfn, order] = kernel[r.int(kernel.length)]!;
          const size = 1 + r.int(PAGE * 2 ** order - 1);
          const dir = correct ? "to_device" : DIRS[r.int(3)]!;
          const addr = d.dmaMapPage(pfn, 0, size, dir);
          if (!d.dmaMappingError(addr)) streaming.push([d, addr, size, dir]);
        }
        break;
      case 13:
        if (streaming.length) {
          const [d, addr, size, dir] = take(sys, streaming);
          if (r.int(2)) d.dmaSyncSingleForCpu(addr, size, dir);
          d.dmaUnmapPage(addr, size, dir);
        }
        break;
      case 14: {
        const pfns: number[] = [];
        for (let i = 1 + r.int(30); i > 0; i--) {
          const pfn = sys.allocPages(0, "unmovable");
          if (pfn === null) break;
          pfns.push(pfn);
        }
        if (!pfns.length) break;
        const d = dev();
        const sgt = sgAllocTableFromPages(pfns, 0, pfns.length * PAGE, correct ? d.maxSegmentSize : undefined, {
          system: sys,
        });
        if (d.dmaMapSgtable(sgt, "bidirectional") === 0) tables.push([d, sgt, pfns]);
        else for (const pfn of pfns) sys.freePages(pfn, 0);
        break;
      }
      case 15:
        if (tables.length) {
          const [d, sgt, pfns] = take(sys, tables);
          d.dmaUnmapSgtable(sgt, "bidirectional");
          for (const pfn of pfns) sys.freePages(pfn, 0);
        }
        break;
      case 16:
        try {
          const { fd } = app.ioctl(heaps[r.int(2)]!, DMA_HEAP_IOCTL_ALLOC, {
            len: (1 + r.int(64)) * PAGE,
            fd: 0,
            fdFlags: O_RDWR | O_CLOEXEC,
            heapFlags: 0,
          });
          const map = r.int(2) ? app.mmap(fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED) : null;
          map?.write(0, new Uint8Array([1, 2, 3]));
          bufs.push([fd, map]);
        } catch (e) {
          expect((e as { code: string }).code).toBe("ENOMEM");
        }
        break;
      case 17:
        if (bufs.length) {
          const [fd, map] = take(sys, bufs);
          map?.munmap();
          app.close(fd);
        }
        break;
      case 18: {
        const name = r.int(2) ? "reserved" : "cam";
        const count = 1 + r.int(64);
        const pfn = sys.cma(name).alloc(count, r.int(4));
        if (pfn !== null) cmaAllocs.push([name, pfn, count]);
        break;
      }
      default:
        if (cmaAllocs.length) {
          const [name, pfn, count] = take(sys, cmaAllocs);
          sys.cma(name).release(pfn, count);
        }
    }
    if (op % 1000 === 0) sys.check();
  }
  return { hash: sys.stateHash(), free: sys.stats().nrFreePages };
}

describe("the whole stack under a seeded random workload", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: invariants hold and both backends agree`, async () => {
      const result = await onBoth(
        {
          seed,
          ramBytes: 64 * MIB,
          zones: "x86_64",
          cma: [
            { name: "reserved", bytes: 8 * MIB },
            { name: "cam", bytes: 4 * MIB },
          ],
          devices: [
            { name: "isa", dmaMask: 24 },
            { name: "cam", cma: "cam" },
            { name: "gpu", iommu: { base: 0x10000000, size: 256 * MIB } },
            { name: "old", iommu: { base: 0x40000000, size: 64 * MIB, style: "arm" }, segmentBoundaryMask: 0xffff },
            { name: "dsp", coherent: false },
          ],
        },
        stress,
      );
      expect(result.free).toBeGreaterThan(0);
    });
  }

  it("with the DMA-API checker and the cache model on, a correct driver mix draws no report", async () => {
    await onBoth(
      {
        seed: 5,
        ramBytes: 64 * MIB,
        dmaDebug: { showAllErrors: true },
        cacheModel: true,
        cma: [
          { name: "reserved", bytes: 8 * MIB },
          { name: "cam", bytes: 4 * MIB },
        ],
        devices: [
          { name: "isa", dmaMask: 24 },
          { name: "cam", cma: "cam" },
          { name: "gpu", iommu: { base: 0x10000000, size: 256 * MIB } },
          { name: "old", iommu: { base: 0x40000000, size: 64 * MIB, style: "arm" } },
          { name: "dsp", coherent: false },
        ],
      },
      (sys) => {
        stress(sys, true);
        expect(sys.dmaDebug!.printed()).toEqual([]);
      },
    );
  });
});

describe("streaming mappings", () => {
  it("map the same buffer twice from one device; each unmap releases one", async () => {
    await onBoth({ ramBytes: 16 * MIB, devices: [{ name: "eth0" }] }, (sys) => {
      const dev = sys.device("eth0");
      const pfn = sys.allocPages(0, "unmovable")!;
      const a = dev.dmaMapPage(pfn, 0, 100, "to_device");
      const b = dev.dmaMapPage(pfn, 0, 2000, "from_device");
      expect(a).toBe(b); // direct mapping: the same bus address
      expect(dev.activeMappings).toBe(2);
      dev.dmaSyncSingleForCpu(b, 2000, "from_device");
      dev.dmaUnmapPage(b, 2000, "from_device");
      dev.dmaUnmapPage(a, 100, "to_device");
      expect(dev.activeMappings).toBe(0);
    });
  });
});
