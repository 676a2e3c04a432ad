/**
 * Ownership and atomicity (issue #15): pages a kernel-side owner holds cannot
 * be freed through another path, and operations that run user callbacks either
 * complete or change nothing.
 */
import { describe, expect, it } from "vitest";
import {
  DMA_HEAP_IOCTL_ALLOC,
  DmaBufMap,
  MAP_PRIVATE,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  dmaBufExport,
  dmaBufExportDeferred,
  deferredInfo,
  type DmaBufOps,
  type System,
} from "dmasim";
import { MIB, expectUntouched, onBoth, freeMemory } from "../helpers.ts";

const PAGE = 4096;
const OPTIONS = {
  ramBytes: 64 * MIB,
  cma: [{ name: "reserved", bytes: 8 * MIB, heapUsers: ["app-reserved"] }],
  devices: [{ name: "cam", dmaMask: 32 }],
};

/** A heap buffer through the uapi: the process, its fd, and the buffer's first pfn. */
function heapBuffer(sys: System, heap: string, len: number) {
  const p = sys.process(`app-${heap}`);
  const heapFd = p.open(`/dev/dma_heap/${heap}`);
  const fd = p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }).fd;
  const buf = p.dmaBufGet(fd);
  const vmap = buf.vmap();
  const pfn = vmap.runs[0]!.pfn;
  buf.vunmap(vmap);
  buf.put(); // dmaBufGet()'s reference
  return { p, fd, pfn };
}

describe("pages held by kernel-side owners are theirs to free", () => {
  it("a heap buffer's pages: freePages() and CmaArea.release() are EBUSY, its release frees them", async () => {
    await onBoth(OPTIONS, (sys) => {
      const system = heapBuffer(sys, "system", 16 * PAGE);
      expectUntouched(sys, "EBUSY", () => sys.freePages(system.pfn, 4));
      expectUntouched(sys, "EBUSY", () => sys.freePages(system.pfn, 0));
      expectUntouched(sys, "EBUSY", () => sys.freePagesBatch([system.pfn], 4));
      const cma = heapBuffer(sys, "reserved", 8 * PAGE);
      const area = sys.cma("reserved");
      expect(cma.pfn >= area.basePfn && cma.pfn < area.basePfn + area.count).toBe(true);
      expectUntouched(sys, "EBUSY", () => area.release(cma.pfn, 8));
      expectUntouched(sys, "EBUSY", () => area.release(cma.pfn + 4, 1));
      const free = freeMemory(sys);
      system.p.close(system.fd);
      cma.p.close(cma.fd);
      expect(freeMemory(sys)).toBe(free + 16 + 8);
      sys.check();
    });
  });

  it("coherent DMA buffers and the atomic pools", async () => {
    await onBoth(OPTIONS, (sys) => {
      const cam = sys.device("cam");
      const buf = cam.dmaAllocAttrs(3 * PAGE)!;
      const pfn = buf.phys / PAGE;
      expectUntouched(sys, "EBUSY", () => sys.freePages(pfn, 2));
      const pooled = cam.dmaAllocAttrs(PAGE, { atomic: true })!;
      expect(pooled.source).toBe("atomic-pool");
      expectUntouched(sys, "EBUSY", () => sys.freePages(sys.atomicPools[0]!.start / PAGE, 0));
      cam.dmaFreeAttrs(pooled);
      cam.dmaFreeAttrs(buf);
      sys.check();
    });
  });

  it("a deferred dma-buf's backing", async () => {
    await onBoth(OPTIONS, (sys) => {
      const buf = dmaBufExportDeferred(sys, { size: 4 * PAGE });
      const att = buf.attach(sys.device("cam"));
      const runs = deferredInfo(buf)!.runs;
      expectUntouched(sys, "EBUSY", () => sys.cma("reserved").release(runs[0]!.pfn, runs[0]!.pages));
      buf.detach(att);
      buf.put();
      sys.check();
    });
  });
});

/** A one-page exporter whose callbacks can be told to throw. */
function exporter(sys: System, throwOnRelease: boolean) {
  const pfn = sys.allocPages(0, "unmovable")!;
  const ops: DmaBufOps = {
    mapDmaBuf: () => null as never,
    unmapDmaBuf: () => {},
    release() {
      sys.freePages(pfn, 0);
      if (throwOnRelease) throw new Error("exporter bug");
    },
    vmap: (b) => new DmaBufMap(b.sys, [{ pfn, pages: 1 }], PAGE),
    vunmap: () => {},
    kmap: () => pfn,
  };
  return dmaBufExport(sys, { expName: "test", size: PAGE, ops, flags: O_RDWR, priv: {} });
}

describe("operations with user callbacks complete or change nothing", () => {
  it("the last close of a kmapped dma-buf is EBUSY, as a vmapped one is", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const buf = exporter(sys, false);
      const p = sys.process("p");
      const fd = p.dmaBufFd(buf);
      const k = buf.kmap(0)!;
      expectUntouched(sys, "EBUSY", () => p.close(fd));
      expectUntouched(sys, "EBUSY", () => p.exit());
      expect(p.running).toBe(true);
      buf.kunmap(0, k);
      p.close(fd);
      expect(buf.released).toBe(true);
      sys.check();
    });
  });

  it("exit() with an exporter whose release() throws: the process is gone, uncharged, and the error reported", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const free = freeMemory(sys);
      const buf = exporter(sys, true);
      const other = exporter(sys, false);
      const p = sys.process("p");
      p.dmaBufFd(buf);
      p.dmaBufFd(other);
      expect(() => p.exit()).toThrow("exporter bug");
      expect([p.running, p.openFds, buf.released, other.released]).toEqual([false, [], true, true]);
      expect(freeMemory(sys)).toBe(free);
      sys.check();
    });
  });

  it("a heap ioctl whose argument throws on reading is EFAULT with no buffer, fd or charge", async () => {
    await onBoth(OPTIONS, (sys) => {
      const p = sys.process("p", { dmabufLimitBytes: MIB });
      const heapFd = p.open("/dev/dma_heap/system");
      const hostile = {
        len: PAGE,
        fd: 0,
        fdFlags: O_RDWR,
        heapFlags: 0,
        get extra(): number {
          throw new Error("getter");
        },
      };
      const lenThrows = Object.defineProperty({ fd: 0 }, "len", {
        enumerable: true,
        get() {
          throw new Error("getter");
        },
      });
      for (const arg of [hostile, lenThrows]) {
        expectUntouched(sys, "EFAULT", () => p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, arg as never));
        expect([p.openFds, p.accounting().chargedBytes]).toEqual([[0, 1, 2, heapFd], 0]);
      }
    });
  });

  it("a move_notify() that throws: the move completes, the old pages go back, the error is reported", async () => {
    const options = {
      ramBytes: 128 * MIB,
      cma: [{ name: "low", bytes: 8 * MIB, limit: 32 * MIB }],
      devices: [
        { name: "gpu", iommu: { base: 0x1000_0000, size: 256 * MIB } },
        { name: "isa", dmaMask: 26, cma: "low" },
      ],
    };
    await onBoth(options, (sys) => {
      // 259 pages: blocks of orders 8, 0, 0, 0 scattered above the ISA device's 64 MiB reach.
      const buf = dmaBufExportDeferred(sys, { size: MIB + 3 * PAGE });
      const gpu = sys.device("gpu");
      const att = buf.dynamicAttach(gpu, {
        moveNotify() {
          throw new Error("importer bug");
        },
      });
      buf.mapAttachment(att, "bidirectional");
      const oldRuns = deferredInfo(buf)!.runs;
      expect(deferredInfo(buf)!.placement).toBe("pages");
      const free = freeMemory(sys);
      expect(() => buf.attach(sys.device("isa"))).toThrow("importer bug");
      // Moved to the low CMA area; the importer's mapping of the old pages is gone.
      expect(deferredInfo(buf)!.placement).toBe("cma");
      expect(gpu.activeMappings).toBe(0);
      for (const r of oldRuns) expect(sys.pageInfo(r.pfn).state).not.toBe("allocated");
      expect(freeMemory(sys)).toBe(free);
      sys.check();
      buf.detach(att);
      buf.put();
      sys.check();
    });
  });
});

describe("every byte charged", () => {
  it("copy-on-write pages of private mappings count against the process's limit", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("p", { dmabufLimitBytes: 3 * PAGE });
      const heapFd = p.open("/dev/dma_heap/system");
      const fd = p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }).fd;
      const free = freeMemory(sys);
      // Two private copies fit beside the buffer (1 + 2 pages = the limit) ...
      const maps = [1, 2, 3].map(() => p.mmap(fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE));
      maps[0]!.write(0, new Uint8Array([1]));
      maps[1]!.write(0, new Uint8Array([2]));
      expect(p.accounting()).toMatchObject({ chargedBytes: PAGE, privateCopyBytes: 2 * PAGE });
      expect(freeMemory(sys)).toBe(free - 2);
      // ... a third is refused, with no page taken from the buddy allocator.
      expectUntouched(sys, "ENOMEM", () => maps[2]!.write(0, new Uint8Array([3])));
      // A new buffer counts the copies too.
      expectUntouched(sys, "ENOMEM", () =>
        p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }),
      );
      // munmap() gives the copies back, and their charge.
      maps[0]!.munmap();
      expect(p.accounting().privateCopyBytes).toBe(PAGE);
      maps[2]!.write(0, new Uint8Array([3]));
      p.exit();
      expect([p.accounting().privateCopyBytes, freeMemory(sys)]).toEqual([0, free + 1]);
      sys.check();
    });
  });
});
