import { describe, expect, it } from "vitest";
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_HEAP_IOCTL_ALLOC,
  MAP_SHARED,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  SEEK_END,
  _IOWR,
  createSystem,
  dmaHeapFind,
  dmaHeaps,
  type DmaHeapAllocationData,
  type Process,
  type System,
} from "dmasim";
import { MIB, expectUntouched, onBoth } from "../helpers.ts";

const PAGE = 4096;
const CAM = { name: "cam", dmaMask: 32, maxSegmentSize: 0xffffffff };

/** DMA_HEAP_IOCTL_ALLOC as a userspace program calls it; returns the new fd. */
function alloc(p: Process, heapFd: number, len: number, fdFlags = O_RDWR | O_CLOEXEC): number {
  return p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags, heapFlags: 0 }).fd;
}

/** The DMA segments a direct-mapped device gets for a buffer fd: [pfn, bytes] per entry. */
function layout(sys: System, p: Process, fd: number, dev = "cam"): [number, number][] {
  const buf = p.dmaBufGet(fd);
  const att = buf.attach(sys.device(dev));
  const sgt = buf.mapAttachment(att, "bidirectional");
  const out = sgt.entries.map((e) => [e.pfn, e.length] as [number, number]);
  buf.unmapAttachment(att, sgt, "bidirectional");
  buf.detach(att);
  buf.put();
  return out;
}

describe("the system heap", () => {
  it("takes blocks of orders 8, 4 and 0, largest first, unmovable, one table entry each", async () => {
    await onBoth({ ramBytes: 32 * MIB, devices: [CAM] }, (sys) => {
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/system");
      const fd = alloc(p, heap, MIB + 64 * 1024 + 3 * PAGE - 100); // rounded up to 256 + 16 + 3 pages
      expect(p.lseek(fd, 0, SEEK_END)).toBe(MIB + 64 * 1024 + 3 * PAGE);
      const entries = layout(sys, p, fd);
      expect(entries.map(([, len]) => len)).toEqual([MIB, 64 * 1024, PAGE, PAGE, PAGE]);
      for (const [pfn, len] of entries) {
        expect(sys.pageInfo(pfn)).toMatchObject({
          state: "allocated",
          order: Math.log2(len / PAGE),
          migratetype: "unmovable",
        });
      }
      p.close(fd);
      return entries.length;
    });
  });

  it("falls back to smaller orders when large blocks run out; block orders never go up", async () => {
    await onBoth({ ramBytes: 32 * MIB, devices: [CAM] }, (sys) => {
      // The device's unmovable boot-time pages make the fill below fall back into
      // their pageblock, which boosts the watermarks by a pageblock (boost_watermark());
      // with no clock moving, kswapd never clears it and the fill stops 17 blocks
      // early. Boosting off keeps this test about the heap's order fallback
      // (watermark-boost.test.ts covers boosting).
      sys.writeFile("/proc/sys/vm/watermark_boost_factor", "0");
      // Fragment memory: take it all in 64 KiB blocks, give every other one back.
      const held: number[] = [];
      for (let pfn = sys.allocPages(4, "movable"); pfn !== null; pfn = sys.allocPages(4, "movable")) held.push(pfn);
      const kept = held.filter((pfn) => (pfn >> 4) % 2 === 1);
      for (const pfn of held) if ((pfn >> 4) % 2 === 0) sys.freePages(pfn, 4);
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/system");
      const fd = alloc(p, heap, 2 * MIB + 2 * PAGE);
      const lens = layout(sys, p, fd).map(([, len]) => len);
      expect(lens).toEqual([...new Array(32).fill(64 * 1024), PAGE, PAGE]);
      p.close(fd);
      // One whole 1 MiB block back: it goes first, then 64 KiB blocks.
      const region = kept[0]! & ~0xff;
      for (const pfn of kept.filter((q) => (q & ~0xff) === region)) sys.freePages(pfn, 4);
      const fd2 = alloc(p, heap, 2 * MIB);
      const lens2 = layout(sys, p, fd2).map(([, len]) => len);
      expect(lens2).toEqual([MIB, ...new Array(16).fill(64 * 1024)]);
      p.close(fd2);
      for (const pfn of kept) if ((pfn & ~0xff) !== region) sys.freePages(pfn, 4);
      return lens2.length;
    });
  });

  it("zeroes what it hands out: freed memory never shows old contents to the next owner", async () => {
    await onBoth({ ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }], devices: [CAM] }, (sys) => {
      const p = sys.process("first");
      const q = sys.process("next");
      const results: boolean[] = [];
      for (const heapName of ["system", "reserved"]) {
        const size = 256 * 1024;
        const ph = p.open(`/dev/dma_heap/${heapName}`);
        const fd = alloc(p, ph, size);
        const before = layout(sys, p, fd);
        const m = p.mmap(fd, size, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
        m.fill(0xa5);
        m.munmap();
        p.close(fd);
        const qh = q.open(`/dev/dma_heap/${heapName}`);
        const fd2 = alloc(q, qh, size);
        const after = layout(sys, q, fd2);
        // The test bites only if the next owner got some of the same pages.
        expect(after.some(([pfn]) => before.some(([b, len]) => pfn >= b && pfn < b + len / PAGE))).toBe(true);
        const m2 = q.mmap(fd2, size, 0, PROT_READ, MAP_SHARED);
        results.push(m2.read().every((v) => v === 0));
        m2.munmap();
        q.close(fd2);
        p.close(ph);
        q.close(qh);
      }
      expect(results).toEqual([true, true]);
    });
  });
});

describe("CMA heaps", () => {
  it("one per area, named after it: contiguous, aligned to the buffer's order (at most 8), in the area", async () => {
    const options = {
      ramBytes: 64 * MIB,
      cma: [
        { name: "reserved", bytes: 16 * MIB },
        { name: "camera", bytes: 8 * MIB },
      ],
      devices: [CAM],
    };
    await onBoth(options, (sys) => {
      expect(dmaHeaps(sys).map((h) => h.name)).toEqual(["system", "reserved", "camera"]);
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/camera");
      const area = sys.cma("camera");
      const out: [number, number][] = [];
      for (const len of [5 * PAGE, 300 * 1024, 3 * MIB]) {
        const fd = alloc(p, heap, len);
        const entries = layout(sys, p, fd);
        expect(entries).toHaveLength(1);
        const [pfn, bytes] = entries[0]!;
        const order = Math.min(Math.ceil(Math.log2(bytes / PAGE)), 8);
        expect(pfn % 2 ** order).toBe(0);
        expect(pfn >= area.basePfn && pfn + bytes / PAGE <= area.basePfn + area.count).toBe(true);
        expect(sys.pageInfo(pfn).cma).toBe(true);
        out.push([pfn - area.basePfn, bytes]);
      }
      expect(sys.readFile("/sys/kernel/debug/dma_buf/bufinfo")).toContain("\tcamera\t");
      // More than the area has left: ENOMEM (cma_alloc() counts the failure), no buffer, no fd used.
      const fds = p.openFds;
      expect(() => alloc(p, heap, 8 * MIB)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
      expect([p.openFds, sys.dmabufs.length, area.stats.allocsFailed]).toEqual([fds, 3, 1]);
      expect(() => alloc(p, heap, 9 * MIB)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
      expect(area.stats.allocsFailed).toBe(2);
      return out;
    });
  });
});

describe("DMA_HEAP_IOCTL_ALLOC", () => {
  it("validates as the kernel does, leaving the machine and the fd table untouched", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/system");
      const fds = p.openFds;
      const bad: [string, number, unknown][] = [
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: 0, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }],
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 7, fdFlags: O_RDWR, heapFlags: 0 }],
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR | O_NONBLOCK, heapFlags: 0 }],
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 1 }],
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 1n << 40n }],
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: 2n ** 64n - 1n, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }], // PAGE_ALIGN() wraps to 0
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: -1, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }], // 2^64 - 1 as a __u64: wraps too
        ["ENOMEM", DMA_HEAP_IOCTL_ALLOC, { len: 2n ** 52n + 1n, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }],
        ["ENOMEM", DMA_HEAP_IOCTL_ALLOC, { len: 2 ** 40, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }],
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: -1 }],
        ["EINVAL", _IOWR("H", 1, 24), { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }], // past the table: EINVAL, not ENOTTY
        ["EINVAL", DMA_BUF_IOCTL_SYNC, { flags: 3 }], // number 0, in_size 8: an allocation of len 0
        ["EINVAL", DMA_HEAP_IOCTL_ALLOC, { len: "4096", fd: 0 }],
        ["EFAULT", DMA_HEAP_IOCTL_ALLOC, null],
        ["EFAULT", DMA_HEAP_IOCTL_ALLOC, 4096],
        ["ENOMEM", DMA_HEAP_IOCTL_ALLOC, { len: 32 * MIB, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }],
        ["EBADF", DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 }],
      ];
      for (const [code, request, arg] of bad) {
        expectUntouched(sys, code, () => p.ioctl(code === "EBADF" ? 99 : heap, request, arg));
        expect(p.openFds).toEqual(fds);
      }
      return bad.length;
    });
  });

  it("accepts shorter (older) and longer (newer) argument structs", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/system");
      // Fields missing from the object read as zero: fdFlags 0 is O_RDONLY.
      const short = p.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0 });
      expect(short).toEqual({ len: PAGE, fd: 4 });
      expectUntouched(sys, "EACCES", () => p.mmap(short.fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED));
      // A 16-byte struct (no heap_flags): garbage past it is never read.
      const v16 = p.ioctl(heap, _IOWR("H", 0, 16), {
        len: PAGE,
        fd: 0,
        fdFlags: O_RDWR,
        heapFlags: 99,
      }) as DmaHeapAllocationData;
      expect(v16.fd).toBe(5);
      // A 32-byte struct from a newer kernel's header: its extra field is ignored and copied back unchanged.
      const v32 = p.ioctl(heap, _IOWR("H", 0, 32), {
        len: 3 * PAGE,
        fd: 0,
        fdFlags: O_RDWR,
        heapFlags: 0,
        reserved: 7,
      }) as DmaHeapAllocationData;
      expect(v32).toEqual({ len: 3 * PAGE, fd: 6, fdFlags: O_RDWR, heapFlags: 0, reserved: 7 });
      expect(p.lseek(v32.fd, 0, SEEK_END)).toBe(3 * PAGE);
      // An 8-byte struct holds only len: the buffer is made, but the fd cannot be copied back.
      const arg = { len: PAGE, fd: 0 };
      const v8 = p.ioctl(heap, _IOWR("H", 0, 8), arg) as DmaHeapAllocationData;
      expect([v8.fd, arg.fd, p.openFds]).toEqual([0, 0, [0, 1, 2, 3, 4, 5, 6, 7]]);
      // The ioctl writes the fd into the argument, as copy_to_user() does.
      const full = { len: PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 };
      const got = p.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, full);
      expect([got.fd, full.fd]).toEqual([8, 8]);
      for (const fd of [4, 5, 6, 7, 8]) p.close(fd);
      expect(sys.dmabufs).toHaveLength(0);
    });
  });

  it("rounds len up to whole pages; fdFlags set the file's access mode and FD_CLOEXEC", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
      expect(p.fdInfo(heap)).toEqual({ kind: "heap", heap: "system", cloexec: true });
      const a = alloc(p, heap, 1);
      const b = alloc(p, heap, PAGE + 1, O_RDONLY);
      expect([p.lseek(a, 0, SEEK_END), p.lseek(b, 0, SEEK_END)]).toEqual([PAGE, 2 * PAGE]);
      expect([p.fdInfo(a).cloexec, p.fdInfo(b).cloexec]).toEqual([true, false]);
      const [bb, aa] = sys.dmabufs;
      expect([aa!.fFlags, bb!.fFlags]).toEqual([O_RDWR, O_RDONLY]);
      p.close(a);
      p.close(b);
    });
  });
});

describe("heap permissions", () => {
  it("a CMA area's heapUsers may open its heap; anyone else gets EACCES", async () => {
    const options = {
      ramBytes: 32 * MIB,
      cma: [
        { name: "reserved", bytes: 4 * MIB },
        { name: "camera", bytes: 4 * MIB, heapUsers: ["camera-hal"] },
        { name: "secure", bytes: 4 * MIB, heapUsers: [] },
      ],
    };
    await onBoth(options, (sys) => {
      const hal = sys.process("camera-hal");
      const app = sys.process("app");
      expect(hal.open("/dev/dma_heap/camera")).toBe(3);
      expect(app.open("/dev/dma_heap/reserved")).toBe(3);
      expect(app.open("/dev/dma_heap/system")).toBe(4);
      expectUntouched(sys, "EACCES", () => app.open("/dev/dma_heap/camera"));
      expectUntouched(sys, "EACCES", () => hal.open("/dev/dma_heap/secure"));
      expectUntouched(sys, "ENOENT", () => app.open("/dev/dma_heap/nope"));
      expectUntouched(sys, "ENOENT", () => app.open("/dev/dma_heap"));
      expect(dmaHeapFind(sys, "camera")!.users).toEqual(["camera-hal"]);
      // An fd passed by a process that may open the heap works, as a real fd would.
      const passed = hal.sendFd(app, 3);
      expect(app.fdInfo(passed)).toMatchObject({ kind: "heap", heap: "camera" });
      const fd = alloc(app, passed, PAGE);
      app.close(fd);
      return app.openFds;
    });
  });

  it("heapUsers must be a list of process names", async () => {
    for (const heapUsers of ["app", [""], [3]]) {
      await expect(
        createSystem({ ramBytes: 16 * MIB, cma: [{ name: "a", bytes: 4 * MIB, heapUsers: heapUsers as never }] }),
      ).rejects.toMatchObject({ code: "EINVAL" });
    }
  });
});

describe("accounting and limits", () => {
  it("charges the allocating process until release; dmabufLimitBytes refuses past it (ENOMEM)", async () => {
    await onBoth({ ramBytes: 32 * MIB }, (sys) => {
      const p = sys.process("limited", { dmabufLimitBytes: MIB });
      const q = sys.process("other");
      const heap = p.open("/dev/dma_heap/system");
      const a = alloc(p, heap, 512 * 1024);
      const b = alloc(p, heap, 512 * 1024);
      expectUntouched(sys, "ENOMEM", () => alloc(p, heap, 1));
      expect(p.accounting()).toEqual({
        chargedBytes: MIB,
        chargedBuffers: 2,
        limitBytes: MIB,
        heldBuffers: 2,
        heldBytes: MIB,
        mappedBytes: 0,
        privateCopyBytes: 0,
      });
      // Passing an fd moves what the receiver holds, not the charge.
      const inQ = p.sendFd(q, a);
      p.close(a);
      const m = q.mmap(inQ, 512 * 1024, 0, PROT_READ, MAP_SHARED);
      expect(q.accounting()).toEqual({
        chargedBytes: 0,
        chargedBuffers: 0,
        limitBytes: null,
        heldBuffers: 1,
        heldBytes: 512 * 1024,
        mappedBytes: 512 * 1024,
        privateCopyBytes: 0,
      });
      expect(p.accounting()).toMatchObject({ chargedBytes: MIB, heldBytes: 512 * 1024 });
      expectUntouched(sys, "ENOMEM", () => alloc(p, heap, PAGE));
      q.close(inQ);
      m.munmap(); // the last reference: released, uncharged
      expect(p.accounting().chargedBytes).toBe(512 * 1024);
      const c = alloc(p, heap, 512 * 1024);
      p.close(b);
      p.close(c);
      expect(p.accounting().chargedBytes).toBe(0);
      expect(() => sys.process("x", { dmabufLimitBytes: -1 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
      expect(() => sys.process("x", { quota: 1 } as never)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    });
  });

  it("a compromised video player exhausts the shared pool, but the disk driver's own area still serves it", async () => {
    const options = {
      ramBytes: 64 * MIB,
      cma: [
        { name: "reserved", bytes: 16 * MIB },
        { name: "disk", bytes: 4 * MIB, heapUsers: ["disk-daemon"] },
      ],
      devices: [{ name: "disk", cma: "disk", maxSegmentSize: 0xffffffff }],
    };
    await onBoth(options, (sys) => {
      const player = sys.process("video-player");
      const shared = player.open("/dev/dma_heap/reserved");
      const system = player.open("/dev/dma_heap/system");
      const count = (heap: number) => {
        let n = 0;
        for (;;) {
          try {
            alloc(player, heap, MIB);
            n++;
          } catch (e) {
            expect(e).toMatchObject({ code: "ENOMEM" });
            return n;
          }
        }
      };
      const fromShared = count(shared);
      const fromSystem = count(system);
      expect(fromShared).toBe(16);
      expect(fromSystem).toBeGreaterThan(30);
      expectUntouched(sys, "EACCES", () => player.open("/dev/dma_heap/disk"));
      // The disk driver's coherent buffer comes from its own CMA area.
      const disk = sys.device("disk");
      const area = sys.cma("disk");
      const buf = disk.dmaAllocAttrs(MIB);
      expect(buf).not.toBe(null);
      expect(buf!.source).toBe("cma");
      expect(buf!.phys / PAGE >= area.basePfn && buf!.phys / PAGE < area.basePfn + area.count).toBe(true);
      // So does the disk daemon's buffer from the area's heap.
      const daemon = sys.process("disk-daemon");
      const diskHeap = daemon.open("/dev/dma_heap/disk");
      const fd = alloc(daemon, diskHeap, MIB);
      expect(daemon.accounting().chargedBytes).toBe(MIB);
      const held = player.accounting();
      player.exit(); // killed: everything it held goes back
      expect(sys.dmabufs).toHaveLength(1);
      expect(() => player.open("/dev/dma_heap/system")).toThrow(expect.objectContaining({ code: "ESRCH" }));
      daemon.close(fd);
      disk.dmaFreeAttrs(buf!);
      return [fromShared, fromSystem, held.chargedBytes];
    });
  });

  it("with a limit, the player is refused while the pool still has room for others", async () => {
    const options = { ramBytes: 64 * MIB, cma: [{ name: "reserved", bytes: 16 * MIB }] };
    await onBoth(options, (sys) => {
      const player = sys.process("video-player", { dmabufLimitBytes: 8 * MIB });
      const heap = player.open("/dev/dma_heap/reserved");
      let n = 0;
      try {
        for (;;) {
          alloc(player, heap, MIB);
          n++;
        }
      } catch (e) {
        expect(e).toMatchObject({ code: "ENOMEM" });
      }
      expect([n, player.accounting().chargedBytes]).toEqual([8, 8 * MIB]);
      const camera = sys.process("camera-hal");
      const ch = camera.open("/dev/dma_heap/reserved");
      for (let i = 0; i < 8; i++) alloc(camera, ch, MIB);
      expect(sys.cma("reserved").available).toBe(0);
      player.exit();
      camera.exit();
      expect(sys.cma("reserved").available).toBe(sys.cma("reserved").count);
      return n;
    });
  });
});
