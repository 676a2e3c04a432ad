import { describe, expect, it } from "vitest";
import {
  DMA_HEAP_IOCTL_ALLOC,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  createSystem,
  type DmaHeapAllocationData,
  type Process,
  type System,
} from "dmasim";
import { BACKENDS, MIB, PAGE, dmaSimErrorOf, onBoth } from "../helpers.ts";

// stateHash() digests the whole machine: the engine's state, then each
// subsystem's TS-side state. Each kind of state below must move the hash when
// it appears and give the exact previous digest back once it is undone;
// check() must see a broken invariant in it.

const OPTIONS = {
  ramBytes: 16 * MIB,
  cacheModel: true,
  // Direct-mapped: an IOMMU mapping also leaves history (the last mapping's page-table entries) that unmapping keeps.
  devices: [{ name: "gpu", dmaMask: 64 }],
};

/** A 64 KiB system-heap buffer of `app`: its fd. */
function heapBuffer(app: Process): number {
  const heap = app.open("/dev/dma_heap/system", O_RDWR);
  const { fd } = app.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, {
    len: 16 * PAGE,
    fd: 0,
    fdFlags: O_RDWR | O_CLOEXEC,
    heapFlags: 0,
  }) as DmaHeapAllocationData;
  app.close(heap);
  return fd;
}

/** Runs `change`, expects the digest to move, runs `undo`, expects it back; returns the three digests. */
function movesAndComesBack(sys: System, change: () => void, undo: () => void): string[] {
  const before = sys.stateHash();
  change();
  const during = sys.stateHash();
  sys.check();
  undo();
  const after = sys.stateHash();
  sys.check();
  expect(during).not.toBe(before);
  expect(after).toBe(before);
  return [before, during, after];
}

describe("stateHash() covers the whole machine", () => {
  it("a machine whose subsystems hold nothing hashes as its engine does", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ ...OPTIONS, backend });
      const engineDigest = (sys as unknown as { engine: { hash(): number } }).engine
        .hash()
        .toString(16)
        .padStart(8, "0");
      expect(sys.stateHash()).toBe(engineDigest);
    }
  });

  it("a dirty CPU cache line", () =>
    onBoth(OPTIONS, (sys) => {
      const phys = 3 * PAGE + 64;
      // Written through the cache: RAM keeps its bytes, the line is dirty; dropping it undoes the store.
      return movesAndComesBack(
        sys,
        () => sys.writePhys(phys, new Uint8Array([1, 2, 3])),
        () => sys.cpuCache!.invalidate(phys, 3),
      );
    }));

  it("an fd", () =>
    onBoth(OPTIONS, (sys) => {
      const app = sys.process("app");
      const fd = heapBuffer(app);
      let copy = -1;
      return movesAndComesBack(
        sys,
        () => (copy = app.dup(fd)),
        () => app.close(copy),
      );
    }));

  it("a dma-buf attachment, and a table mapped for it", () =>
    onBoth(OPTIONS, (sys) => {
      const app = sys.process("app");
      const buf = app.dmaBufGet(heapBuffer(app));
      const gpu = sys.device("gpu");
      let att: ReturnType<typeof buf.attach> | null = null;
      const attached = movesAndComesBack(
        sys,
        () => (att = buf.attach(gpu)),
        () => buf.detach(att!),
      );
      att = buf.attach(gpu);
      let sgt: ReturnType<typeof buf.mapAttachment> | null = null;
      const mapped = movesAndComesBack(
        sys,
        () => (sgt = buf.mapAttachment(att!, "to_device")),
        () => buf.unmapAttachment(att!, sgt!, "to_device"),
      );
      return [attached, mapped];
    }));

  it("a user mapping", () =>
    onBoth(OPTIONS, (sys) => {
      const app = sys.process("app");
      const fd = heapBuffer(app);
      let map: ReturnType<Process["mmap"]> | null = null;
      return movesAndComesBack(
        sys,
        () => (map = app.mmap(fd, 16 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED)),
        () => map!.munmap(),
      );
    }));
});

describe("check() sees the TS-side state", () => {
  it("a process charged for bytes it holds no buffer for", () =>
    onBoth(OPTIONS, (sys) => {
      const app = sys.process("app");
      heapBuffer(app);
      (app as unknown as { chargedBytes: number }).chargedBytes += PAGE;
      const msg = dmaSimErrorOf(() => sys.check()).message;
      (app as unknown as { chargedBytes: number }).chargedBytes -= PAGE;
      return msg;
    }));

  it("a CPU cache line of the wrong size", () =>
    onBoth(OPTIONS, (sys) => {
      sys.writePhys(0, new Uint8Array([7]));
      const lines = (sys.cpuCache as unknown as { lines: Map<number, { data: Uint8Array }> }).lines;
      const line = lines.get(0)!;
      const data = line.data;
      line.data = data.subarray(0, 8);
      const err = dmaSimErrorOf(() => sys.check());
      line.data = data;
      expect(err.code).toBe("EUCLEAN");
      return err.message;
    }));
});
