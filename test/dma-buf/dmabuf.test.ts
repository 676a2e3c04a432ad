import { describe, expect, it } from "vitest";
import {
  DmaBuf,
  DmaBufMap,
  DmaSimError,
  MAP_SHARED,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SgTable,
  deferredInfo,
  dmaBufExport,
  dmaBufExportDeferred,
  dmaHeapFind,
  type DmaBufAttachment,
  type DmaBufOps,
  type System,
} from "dmasim";
// An internal helper, tested from source (not part of the public API).
import { pfnAt } from "../../bindings/dma-buf/dma-buf.ts";
import { MIB, expectUntouched, onBoth, freeMemory } from "../helpers.ts";

const PAGE = 4096;
const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
/** Large arrays: one comparison instead of vitest's element-wise diff. */
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const GPU = { name: "gpu", iommu: { base: 0x1000_0000, size: 256 * MIB } };
const CAM = { name: "cam", dmaMask: 32, maxSegmentSize: 0xffffffff };

/** The calls a test exporter saw. */
interface Calls {
  attach: number;
  detach: number;
  map: number;
  unmap: number;
  release: number;
  vmap: number;
  vunmap: number;
  begin: string[];
  end: string[];
}

/**
 * A minimal exporter over one block of `2^order` pages: a table per map,
 * mapped on the importer's device with the DMA API.
 */
function blockExporter(
  sys: System,
  order: number,
  extra: Partial<DmaBufOps> = {},
): { buf: DmaBuf; calls: Calls; pfn: number } {
  const pfn = sys.allocPages(order, "unmovable")!;
  const pages = 2 ** order;
  const calls: Calls = { attach: 0, detach: 0, map: 0, unmap: 0, release: 0, vmap: 0, vunmap: 0, begin: [], end: [] };
  const ops: DmaBufOps = {
    attach: () => void calls.attach++,
    detach: () => void calls.detach++,
    mapDmaBuf(att, dir) {
      calls.map++;
      const sgt = new SgTable([{ pfn, offset: 0, length: pages * sys.pageSize }], sys.pageSize);
      const ret = att.dev.dmaMapSgtable(sgt, dir);
      if (ret < 0) throw DmaSimError.fromErrno(ret, "map");
      return sgt;
    },
    unmapDmaBuf(att, sgt, dir) {
      calls.unmap++;
      att.dev.dmaUnmapSgtable(sgt, dir);
    },
    release() {
      calls.release++;
      sys.freePages(pfn, order);
    },
    beginCpuAccess: (_b, dir) => void calls.begin.push(dir),
    endCpuAccess: (_b, dir) => void calls.end.push(dir),
    vmap(b) {
      calls.vmap++;
      return new DmaBufMap(b.sys, [{ pfn, pages }], pages * sys.pageSize);
    },
    vunmap: () => void calls.vunmap++,
    kmap: (_b, n) => pfn + n,
    mmap(_b, vma) {
      vma.fault = (_v, pgoff) => (pgoff < pages ? pfn + pgoff : null);
    },
    ...extra,
  };
  const buf = dmaBufExport(sys, { expName: "test", size: pages * sys.pageSize, ops, flags: O_RDWR, priv: { pfn } });
  return { buf, calls, pfn };
}

describe("dma_buf_export()", () => {
  const noop = () => {};
  const base = { mapDmaBuf: () => null, unmapDmaBuf: noop, release: noop } as DmaBufOps;

  it("checks the exporter's ops as the kernel does (EINVAL)", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const bad: [string, unknown][] = [
        ["no priv", { size: PAGE, ops: base }],
        ["no ops", { size: PAGE, priv: {} }],
        ["no map_dma_buf", { size: PAGE, priv: {}, ops: { ...base, mapDmaBuf: undefined } }],
        ["no unmap_dma_buf", { size: PAGE, priv: {}, ops: { ...base, unmapDmaBuf: undefined } }],
        ["no release", { size: PAGE, priv: {}, ops: { ...base, release: undefined } }],
        ["pin without unpin", { size: PAGE, priv: {}, ops: { ...base, pin: noop } }],
        ["unpin without pin", { size: PAGE, priv: {}, ops: { ...base, unpin: noop } }],
        [
          "cache_sgt_mapping with pin/unpin",
          { size: PAGE, priv: {}, ops: { ...base, pin: noop, unpin: noop, cacheSgtMapping: true } },
        ],
      ];
      for (const [, info] of bad) {
        expectUntouched(sys, "EINVAL", () => dmaBufExport(sys, info as never));
      }
      expect(sys.dmabufs).toHaveLength(0);
      const ok = dmaBufExport(sys, { size: PAGE, priv: {}, ops: { ...base, pin: noop, unpin: noop } });
      expect([ok.isDynamic, ok.ino, ok.fileCount, sys.dmabufs.length]).toEqual([true, 1, 1, 1]);
      ok.put();
      expect(sys.dmabufs).toHaveLength(0);
      return bad.length;
    });
  });

  it("counts references through fds, mappings and get/put, and releases exactly once at the last", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const { buf, calls } = blockExporter(sys, 1);
      const a = sys.process("a");
      const b = sys.process("b");
      const fd = a.dmaBufFd(buf); // hands over the exporter's reference
      const dupFd = a.dup(fd);
      const inB = a.sendFd(b, fd);
      expect([fd, dupFd, inB, buf.fileCount]).toEqual([3, 4, 3, 3]);
      buf.get();
      const map = b.mmap(inB, 2 * PAGE, 0, PROT_READ, MAP_SHARED);
      expect(buf.fileCount).toBe(5);
      a.close(fd);
      a.close(dupFd);
      b.close(inB);
      buf.put();
      expect([buf.fileCount, buf.released, calls.release]).toEqual([1, false, 0]); // the mapping holds it
      map.munmap();
      expect([buf.released, calls.release, sys.dmabufs.length]).toEqual([true, 1, 0]);
      expect(() => buf.put()).toThrow(expect.objectContaining({ code: "EINVAL" }));
      expect(() => buf.get()).toThrow(expect.objectContaining({ code: "EINVAL" }));
      expect(calls.release).toBe(1);
    });
  });

  it("refuses the put that would release a buffer still attached or vmapped (EBUSY, nothing changed)", async () => {
    await onBoth({ ramBytes: 16 * MIB, devices: [CAM] }, (sys) => {
      const { buf, calls } = blockExporter(sys, 0);
      const att = buf.attach(sys.device("cam"));
      expectUntouched(sys, "EBUSY", () => buf.put());
      buf.detach(att);
      const map = buf.vmap();
      const p = sys.process("p");
      const fd = p.dmaBufFd(buf);
      expectUntouched(sys, "EBUSY", () => p.close(fd));
      expect(p.openFds).toContain(fd);
      buf.vunmap(map);
      p.close(fd);
      expect(calls.release).toBe(1);
    });
  });
});

describe("attachments and mappings", () => {
  it("maps the buffer into each device's address space: IOVA behind an IOMMU, the physical address without", async () => {
    await onBoth({ ramBytes: 16 * MIB, devices: [GPU, CAM] }, (sys) => {
      const { buf, calls, pfn } = blockExporter(sys, 2);
      const gpu = sys.device("gpu");
      const cam = sys.device("cam");
      const vmap = buf.vmap();
      vmap.write(100, pattern(5000, 1));
      const ga = buf.attach(gpu);
      const ca = buf.attach(cam);
      expect(buf.attachments.map((a) => a.dev.name)).toEqual(["cam", "gpu"]); // newest first (list_add)
      const gs = buf.mapAttachment(ga, "to_device");
      const cs = buf.mapAttachment(ca, "bidirectional");
      expect(gs.entries[0]!.dmaAddress! >= GPU.iommu.base).toBe(true);
      expect(gpu.iommu!.iovaToPhys(gs.entries[0]!.dmaAddress!)).toBe(pfn * PAGE);
      expect(cs.entries[0]!.dmaAddress).toBe(pfn * PAGE);
      expect(gpu.dmaRead(gs.entries[0]!.dmaAddress! + 100, 5000)).toEqual(pattern(5000, 1));
      cam.dmaWrite(cs.entries[0]!.dmaAddress! + 8000, pattern(64, 2));
      expect(vmap.read(8000, 64)).toEqual(pattern(64, 2));
      // A detach with a mapping outstanding, an unknown table, a bad direction, a foreign attachment.
      expectUntouched(sys, "EBUSY", () => buf.detach(ga));
      expectUntouched(sys, "EINVAL", () => buf.unmapAttachment(ga, cs, "to_device"));
      expectUntouched(sys, "EINVAL", () => buf.mapAttachment(ga, "none" as never));
      const other = blockExporter(sys, 0).buf;
      expectUntouched(sys, "EINVAL", () => other.mapAttachment(ga, "to_device"));
      expectUntouched(sys, "EINVAL", () => buf.attach({} as never));
      buf.unmapAttachment(ga, gs, "to_device");
      buf.unmapAttachment(ca, cs, "bidirectional");
      expect([gpu.activeMappings, cam.activeMappings, gpu.iommu!.iovaBytesInUse]).toEqual([0, 0, 0]);
      buf.detach(ga);
      buf.detach(ca);
      expectUntouched(sys, "EINVAL", () => buf.detach(ca)); // twice
      buf.vunmap(vmap);
      buf.put();
      other.put();
      return [calls.attach, calls.detach, calls.map, calls.unmap, calls.release];
    });
  });

  it("hands a cached mapping out again; another direction is EBUSY unless it is BIDIRECTIONAL", async () => {
    await onBoth({ ramBytes: 16 * MIB, devices: [CAM] }, (sys) => {
      const { buf, calls } = blockExporter(sys, 0, { cacheSgtMapping: true });
      const cam = sys.device("cam");
      const a = buf.attach(cam);
      const s1 = buf.mapAttachment(a, "to_device");
      const held = cam.activeMappings;
      expect(held).toBeGreaterThan(0);
      expect(buf.mapAttachment(a, "to_device")).toBe(s1);
      expectUntouched(sys, "EBUSY", () => buf.mapAttachment(a, "from_device"));
      buf.unmapAttachment(a, s1, "to_device"); // a no-op for the cached table
      expect(cam.activeMappings).toBe(held);
      const b = buf.attach(cam);
      const s2 = buf.mapAttachment(b, "bidirectional");
      expect(buf.mapAttachment(b, "from_device")).toBe(s2);
      expect(buf.mapAttachment(b, "to_device")).toBe(s2);
      expect(calls.map).toBe(2);
      buf.detach(a); // the cached mapping goes with the attachment
      buf.detach(b);
      expect([cam.activeMappings, calls.unmap]).toEqual([0, 2]);
      buf.put();
    });
  });

  it("dynamic importers: move_notify is required; only they pin", async () => {
    await onBoth({ ramBytes: 16 * MIB, devices: [CAM] }, (sys) => {
      const buf = dmaBufExportDeferred(sys, { size: PAGE });
      const cam = sys.device("cam");
      expectUntouched(sys, "EINVAL", () => buf.dynamicAttach(cam, {} as never));
      const stat = buf.attach(cam); // a static importer of a dynamic exporter: pinned and mapped BIDIRECTIONAL now
      expect([stat.sgt !== null, stat.dir, deferredInfo(buf)!.pins]).toEqual([true, "bidirectional", 1]);
      expectUntouched(sys, "EINVAL", () => buf.pin(stat));
      let notified = 0;
      const dyn = buf.dynamicAttach(cam, { moveNotify: () => void notified++ });
      expect(dyn.sgt).toBe(null); // a dynamic importer of a dynamic exporter maps when it wants
      expectUntouched(sys, "EINVAL", () => buf.unpin(dyn));
      buf.pin(dyn);
      expect(deferredInfo(buf)!.pins).toBe(2);
      buf.unpin(dyn);
      buf.moveNotify();
      expect(notified).toBe(1);
      buf.detach(dyn);
      buf.detach(stat);
      expect([deferredInfo(buf)!.pins, cam.activeMappings]).toEqual([0, 0]);
      buf.put();
    });
  });
});

describe("backing negotiation (deferred allocation)", () => {
  // isa: no IOMMU, a 26-bit mask (64 MiB), and its own CMA area low in memory.
  const options = {
    ramBytes: 128 * MIB,
    cma: [
      { name: "reserved", bytes: 16 * MIB },
      { name: "low", bytes: 8 * MIB, limit: 32 * MIB },
    ],
    devices: [GPU, CAM, { name: "isa", dmaMask: 26, cma: "low", maxSegmentSize: 0xffffffff }],
  };
  const SIZE = MIB + 3 * PAGE;

  it("allocates at the first map, for every device attached then", async () => {
    await onBoth(options, (sys) => {
      const place = (devs: string[]) => {
        const buf = dmaBufExportDeferred(sys, { size: SIZE });
        const atts = devs.map((d) => buf.dynamicAttach(sys.device(d), { moveNotify: () => {} }));
        expect(deferredInfo(buf)!.placement).toBe("none");
        const sgt = buf.mapAttachment(atts[0]!, "bidirectional");
        const info = deferredInfo(buf)!;
        const out = {
          placement: info.placement,
          runs: info.runs.length,
          nents: sgt.nents,
          firstPfn: info.runs[0]!.pfn,
        };
        buf.unmapAttachment(atts[0]!, sgt, "bidirectional");
        for (const a of atts) buf.detach(a);
        buf.put();
        return out;
      };
      const gpuOnly = place(["gpu"]);
      expect(gpuOnly).toMatchObject({ placement: "pages", runs: 4 }); // 256 + 1 + 1 + 1 pages (orders 8, 0, 0, 0)
      const withCam = place(["gpu", "cam"]);
      expect(withCam).toMatchObject({ placement: "cma", runs: 1 });
      const reserved = sys.cma("reserved");
      expect(withCam.firstPfn >= reserved.basePfn && withCam.firstPfn < reserved.basePfn + reserved.count).toBe(true);
      const withIsa = place(["gpu", "isa"]);
      const low = sys.cma("low");
      expect(withIsa).toMatchObject({ placement: "cma", runs: 1 });
      expect(withIsa.firstPfn >= low.basePfn && (withIsa.firstPfn + 259) * PAGE <= 64 * MIB).toBe(true);
      return [gpuOnly, withCam, withIsa];
    });
  });

  it("moves the backing when a stricter device attaches: mappings zapped, importers told, data intact", async () => {
    await onBoth(options, (sys) => {
      const gpu = sys.device("gpu");
      const isa = sys.device("isa");
      const buf = dmaBufExportDeferred(sys, { size: SIZE });
      // The GPU driver: a dynamic importer that drops its mapping when told.
      const gpuDrv = { sgt: null as SgTable | null, att: null as DmaBufAttachment | null, notified: 0 };
      gpuDrv.att = buf.dynamicAttach(gpu, {
        moveNotify(att) {
          gpuDrv.notified++;
          if (gpuDrv.sgt) buf.unmapAttachment(att, gpuDrv.sgt, "bidirectional");
          gpuDrv.sgt = null;
        },
      });
      gpuDrv.sgt = buf.mapAttachment(gpuDrv.att, "bidirectional");
      expect(deferredInfo(buf)!.placement).toBe("pages");
      const oldRuns = deferredInfo(buf)!.runs;
      // Userspace maps it and writes; pages fault in as they are touched.
      const p = sys.process("app");
      const fd = p.dmaBufFd(buf);
      const map = p.mmap(fd, SIZE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      expect(map.residentPages).toBe(0);
      const data = pattern(SIZE, 5);
      map.write(0, data);
      expect([map.faults, map.residentPages]).toEqual([259, 259]);
      const iova = gpuDrv.sgt.entries[0]!.dmaAddress!;
      expect(gpu.dmaRead(iova + MIB, 3 * PAGE)).toEqual(data.subarray(MIB));
      const freeBefore = freeMemory(sys);

      // The ISA device attaches (static: mapped and pinned at attach): the backing moves below 64 MiB.
      const isaAtt = buf.attach(isa);
      const info = deferredInfo(buf)!;
      expect([info.placement, info.runs.length, info.stats.migrations, info.stats.bytesCopied]).toEqual([
        "cma",
        1,
        1,
        SIZE,
      ]);
      expect((info.runs[0]!.pfn + info.runs[0]!.pages) * PAGE <= isa.dmaLimit + 1).toBe(true);
      expect([gpuDrv.notified, gpuDrv.sgt, gpu.activeMappings]).toEqual([1, null, 0]);
      expect([map.zaps, map.residentPages, buf.stats.zaps]).toEqual([1, 0, 1]);
      for (const r of oldRuns) expect(sys.pageInfo(r.pfn).state).not.toBe("allocated"); // the old backing went back
      expect(freeMemory(sys)).toBe(freeBefore); // 259 CMA pages taken, 259 pages given back
      // Every view sees the data: the ISA device, the GPU after a remap, the mapping after faulting again.
      const isaAddr = isaAtt.sgt!.entries[0]!.dmaAddress!;
      expect(isaAddr).toBe(info.runs[0]!.pfn * PAGE);
      expect(same(isa.dmaRead(isaAddr, SIZE), data)).toBe(true);
      gpuDrv.sgt = buf.mapAttachment(gpuDrv.att, "bidirectional");
      expect(same(gpu.dmaRead(gpuDrv.sgt.entries[0]!.dmaAddress!, SIZE), data)).toBe(true);
      expect(same(map.read(0, SIZE), data)).toBe(true);
      expect([map.faults, map.residentPages]).toEqual([518, 259]);
      // Stores after the move land in the new backing.
      map.write(10, pattern(100, 9));
      expect(isa.dmaRead(isaAddr + 10, 100)).toEqual(pattern(100, 9));

      buf.unmapAttachment(gpuDrv.att, gpuDrv.sgt, "bidirectional");
      buf.detach(gpuDrv.att);
      buf.detach(isaAtt);
      map.munmap();
      p.close(fd);
      expect(sys.dmabufs).toHaveLength(0);
      return info.runs[0]!.pfn;
    });
  });

  it("refuses (EBUSY, nothing changed) while the backing is pinned; moves once it is not", async () => {
    await onBoth(options, (sys) => {
      const gpu = sys.device("gpu");
      const isa = sys.device("isa");
      const buf = dmaBufExportDeferred(sys, { size: SIZE });
      const stat = buf.attach(gpu); // static: pinned from attach to detach
      expect(deferredInfo(buf)!.placement).toBe("pages");
      expectUntouched(sys, "EBUSY", () => buf.attach(isa));
      buf.detach(stat);
      const dyn = buf.dynamicAttach(gpu, { moveNotify: () => {} });
      buf.pin(dyn);
      expectUntouched(sys, "EBUSY", () => buf.attach(isa));
      buf.unpin(dyn);
      const vmap = buf.vmap();
      expectUntouched(sys, "EBUSY", () => buf.attach(isa));
      buf.vunmap(vmap);
      const kmap = buf.kmap(0)!;
      expectUntouched(sys, "EBUSY", () => buf.attach(isa));
      buf.kunmap(0, kmap);
      expect(deferredInfo(buf)!.stats.refusedAttaches).toBe(4);
      const att = buf.dynamicAttach(isa, { moveNotify: () => {} });
      expect(deferredInfo(buf)!.placement).toBe("cma");
      // A device the backing already serves does not move it.
      const gpu2 = buf.attach(gpu);
      expect(deferredInfo(buf)!.stats.migrations).toBe(1);
      buf.detach(gpu2);
      buf.detach(att);
      buf.detach(dyn);
      buf.put();
    });
  });
});

describe("CPU access", () => {
  it("begin/end_cpu_access sync the devices' mappings: stale bytes without, fresh with", async () => {
    const options = {
      ramBytes: 16 * MIB,
      cacheModel: true,
      devices: [{ name: "dsp", coherent: false, maxSegmentSize: 0xffffffff }],
    };
    await onBoth(options, (sys) => {
      const dsp = sys.device("dsp");
      const buf = dmaHeapFind(sys, "system")!.bufferAlloc(2 * PAGE);
      const att = buf.attach(dsp);
      const sgt = buf.mapAttachment(att, "bidirectional");
      const addr = sgt.entries[0]!.dmaAddress!;
      const cpu = buf.vmap();
      expect(cpu.read(0, 64)).toEqual(new Uint8Array(64)); // now cached
      dsp.dmaWrite(addr, pattern(64, 1));
      expect(cpu.read(0, 64)).toEqual(new Uint8Array(64)); // stale: no begin_cpu_access
      buf.beginCpuAccess("from_device");
      expect(cpu.read(0, 64)).toEqual(pattern(64, 1));
      cpu.write(0, pattern(64, 2));
      expect(dsp.dmaRead(addr, 64)).toEqual(pattern(64, 1)); // still in the CPU cache
      buf.endCpuAccess("to_device");
      expect(dsp.dmaRead(addr, 64)).toEqual(pattern(64, 2));
      expectUntouched(sys, "EINVAL", () => buf.beginCpuAccess("sideways" as never));
      buf.vunmap(cpu);
      buf.unmapAttachment(att, sgt, "bidirectional");
      buf.detach(att);
      buf.put();
    });
  });

  it("vmap is refcounted (the exporter maps once); kmap maps single pages", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const { buf, calls, pfn } = blockExporter(sys, 2);
      const m1 = buf.vmap();
      const m2 = buf.vmap();
      expect([m1 === m2, buf.vmapCount, calls.vmap]).toEqual([true, 2, 1]);
      m1.write(PAGE * 3 + 10, pattern(20, 4));
      buf.vunmap(m1);
      expect(calls.vunmap).toBe(0);
      buf.vunmap(m2);
      expect([calls.vunmap, buf.vmapCount]).toEqual([1, 0]);
      expect(() => m1.read(0, 4)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      expectUntouched(sys, "EINVAL", () => buf.vunmap(m1));
      const k = buf.kmap(3)!;
      expect([k.size, k.runs[0]!.pfn]).toEqual([PAGE, pfn + 3]);
      expect(k.read(10, 20)).toEqual(pattern(20, 4));
      expectUntouched(sys, "EINVAL", () => buf.kmap(4));
      expectUntouched(sys, "EINVAL", () => buf.kunmap(2, k));
      buf.kunmap(3, k);
      buf.put();
      // Without a vmap op: EINVAL; without a map op, kmap returns NULL.
      const bare = blockExporter(sys, 0, { vmap: undefined, kmap: undefined }).buf;
      expectUntouched(sys, "EINVAL", () => bare.vmap());
      expect(bare.kmap(0)).toBe(null);
      bare.put();
    });
  });

  it("user mappings fault pages in lazily; the exporter can zap them; a missing page is SIGBUS", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const { buf, pfn } = blockExporter(sys, 2);
      const p = sys.process("p");
      const fd = p.dmaBufFd(buf);
      const m = p.mmap(fd, 3 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
      expect([m.faults, m.residentPages]).toEqual([0, 0]);
      m.write(PAGE + 5, pattern(10, 1));
      expect([m.faults, m.residentPages]).toEqual([1, 1]);
      expect(sys.readPhys((pfn + 2) * PAGE + 5, 10)).toEqual(pattern(10, 1)); // file page 2 = mapping page 1
      m.read();
      expect([m.faults, m.residentPages]).toEqual([3, 3]);
      buf.zapUserMappings();
      expect([m.zaps, m.residentPages]).toEqual([1, 0]);
      expect(m.read(PAGE + 5, 10)).toEqual(pattern(10, 1));
      expect(m.faults).toBe(4);
      const vmaPfn = pfnAt([{ pfn, pages: 4 }], 1);
      expect(vmaPfn).toBe(pfn + 1);
      m.munmap();
      // A fault handler that has no page: SIGBUS.
      const { buf: holey } = blockExporter(sys, 0, { mmap: (_b, vma) => void (vma.fault = () => null) });
      const hfd = p.dmaBufFd(holey);
      const hm = p.mmap(hfd, PAGE, 0, PROT_READ, MAP_SHARED);
      expect(() => hm.read(0, 1)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      hm.munmap();
      p.close(hfd);
      p.close(fd);
    });
  });
});

describe("bufinfo", () => {
  it("lists buffers newest first in the kernel's format, with attached devices", async () => {
    await onBoth({ ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }], devices: [GPU, CAM] }, (sys) => {
      const p = sys.process("p");
      const sysHeap = p.open("/dev/dma_heap/system");
      const cmaHeap = p.open("/dev/dma_heap/reserved");
      const a = p.ioctl(sysHeap, 0xc0184800, { len: 3 * PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }).fd;
      const b = p.ioctl(cmaHeap, 0xc0184800, { len: 5000, fd: 0, fdFlags: 0, heapFlags: 0 }).fd;
      p.ioctl(b, 0x40086201, "preview");
      const bb = p.dmaBufGet(b);
      const ga = bb.attach(sys.device("gpu"));
      const ca = bb.attach(sys.device("cam"));
      const text = sys.readFile("/sys/kernel/debug/dma_buf/bufinfo");
      expect(text).toBe(
        "\nDma-buf Objects:\n" +
          "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n" +
          "00008192\t00000000\t00080005\t00000002\treserved\t00000002\tpreview\n" +
          "\tAttached Devices:\n\tcam\n\tgpu\nTotal 2 devices attached\n\n" +
          "00012288\t00000002\t00080007\t00000001\tsystem\t00000001\t<none>\n" +
          "\tAttached Devices:\nTotal 0 devices attached\n\n" +
          "\nTotal 2 objects, 20480 bytes\n",
      );
      bb.detach(ga);
      bb.detach(ca);
      bb.put();
      p.close(a);
      p.close(b);
      expect(sys.readFile("/sys/kernel/debug/dma_buf/bufinfo")).toBe(
        "\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n\nTotal 0 objects, 0 bytes\n",
      );
      return text;
    });
  });
});
