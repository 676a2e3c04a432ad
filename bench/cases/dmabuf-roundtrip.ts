import { DMA_HEAP_IOCTL_ALLOC, O_CLOEXEC, O_RDWR, createSystem, dmaHeapFind } from "dmasim";
import type { Case } from "../case.ts";
import { GIB, MIB, SEED } from "../constants.ts";

export const dmabufRoundtrip: Case = {
  name: "dmabuf-roundtrip",
  description:
    "userspace DMA_HEAP_IOCTL_ALLOC of 1 MiB from /dev/dma_heap/system + dma_buf_get, attach to a device behind an IOMMU, " +
    "map_attachment(bidirectional), unmap, detach, put, close (256 MiB RAM without contents)",
  replayOps: 1000,
  // One op is a few microseconds: each sample times a batch (see buddy-order0).
  batch: 32,
  bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
  async make(backend) {
    const IOVA_BASE = 0x4000_0000;
    // storeContents false: the heap zeroes buffers only when the machine keeps contents (zeroRuns()).
    const sys = await createSystem({
      backend,
      ramBytes: 256 * MIB,
      seed: SEED,
      storeContents: false,
      devices: [{ name: "gpu", iommu: { base: IOVA_BASE, size: GIB }, maxSegmentSize: 0xffffffff }],
    });
    const gpu = sys.device("gpu");
    const io = gpu.iommu;
    if (!io) throw new Error("dmabuf-roundtrip: gpu has no IOMMU domain");
    const heap = dmaHeapFind(sys, "system");
    if (!heap) throw new Error("dmabuf-roundtrip: no system heap");
    const p = sys.process("bench");
    const heapFd = p.open("/dev/dma_heap/system", O_RDWR);
    const setupFds = p.openFds.join(","); // stdin, stdout, stderr and the heap
    const LEN = MIB;
    const page = sys.pageSize;
    // Free memory: NR_FREE_PAGES plus the pages on per-cpu lists.
    const freeMemory = () => sys.stats().nrFreePages + sys.pcpPages;
    const setupFree = freeMemory();
    let sum = 0;
    let ops = 0;
    const last = { fd: -1, origNents: 0, nents: 0, dmaAddress: 0, dmaLength: 0, size: 0 };
    return {
      sys,
      op() {
        ops++;
        const { fd } = p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, {
          len: LEN,
          fd: 0,
          fdFlags: O_RDWR | O_CLOEXEC,
          heapFlags: 0,
        });
        const buf = p.dmaBufGet(fd);
        const att = buf.attach(gpu);
        const sgt = buf.mapAttachment(att, "bidirectional");
        const e = sgt.entries[0]!;
        const dmaAddress = e.dmaAddress!; // set by the mapping, as dmaLength
        sum = (sum + fd + sgt.nents + dmaAddress / page) >>> 0;
        last.fd = fd;
        last.origNents = sgt.origNents;
        last.nents = sgt.nents;
        last.dmaAddress = dmaAddress;
        last.dmaLength = e.dmaLength!;
        last.size = buf.size;
        buf.unmapAttachment(att, sgt, "bidirectional");
        buf.detach(att);
        buf.put();
        p.close(fd);
      },
      verify() {
        // One order-8 block (SYSTEM_HEAP_ORDERS) on this unfragmented machine: one entry, one IOVA segment.
        if (last.size !== LEN || last.origNents !== 1 || last.nents !== 1 || last.dmaLength !== LEN) {
          throw new Error(
            `dmabuf-roundtrip: ${last.size}-byte buffer mapped as ${last.origNents} entries / ${last.nents} segments of ${last.dmaLength} bytes`,
          );
        }
        if (last.dmaAddress < IOVA_BASE || last.dmaAddress + LEN > IOVA_BASE + GIB)
          throw new Error(`dmabuf-roundtrip: IOVA 0x${last.dmaAddress.toString(16)} outside the domain`);
        if (sys.dmabufs.length !== 0 || heap.stats.liveBuffers !== 0)
          throw new Error("dmabuf-roundtrip: a dma-buf outlived its close()");
        if (io.iovaBytesInUse !== 0 || io.entries.some((k) => k !== 0))
          throw new Error("dmabuf-roundtrip: IOVA space or page table not empty after unmap");
        if (p.openFds.join(",") !== setupFds)
          throw new Error(`dmabuf-roundtrip: open fds ${p.openFds.join(",")}, ${setupFds} at set-up`);
        if (freeMemory() !== setupFree) throw new Error("dmabuf-roundtrip: pages leaked");
      },
      checksum: () => sum,
      info() {
        return [
          `per op: fd ${last.fd}, ${last.size} bytes as ${last.origNents} sg entry / ${last.nents} DMA segment at IOVA 0x${last.dmaAddress.toString(16)}`,
          `ops run (replay + warm-up + measured): ${ops}, heap allocations ${heap.stats.allocations}, failures ${heap.stats.failures}, ` +
            `map errors ${gpu.counters.mapErrors}; live dma-bufs now ${sys.dmabufs.length}`,
        ];
      },
    };
  },
};
