import { describe, expect, it } from "vitest";
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  _IOW,
  _IOWR,
  type Process,
} from "dmasim";
import { MIB, expectUntouched, onBoth, freeMemory } from "../helpers.ts";

const PAGE = 4096;
const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

function alloc(p: Process, heapFd: number, len: number, fdFlags = O_RDWR | O_CLOEXEC): number {
  return p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags, heapFlags: 0 }).fd;
}

describe("uapi constants", () => {
  it("carry the kernel's names and values", () => {
    expect([
      DMA_HEAP_IOCTL_ALLOC,
      DMA_BUF_IOCTL_SYNC,
      DMA_BUF_SET_NAME,
      DMA_BUF_SET_NAME_A,
      DMA_BUF_SET_NAME_B,
    ]).toEqual([0xc0184800, 0x40086200, 0x40086201, 0x40046201, 0x40086201]);
    expect([_IOWR("H", 0, 24), _IOW("b", 0, 8), _IOW("b", 1, 8), _IOW("b", 1, 4)]).toEqual([
      0xc0184800, 0x40086200, 0x40086201, 0x40046201,
    ]);
    expect([DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_START, DMA_BUF_SYNC_END]).toEqual([
      1, 2, 3, 0, 4,
    ]);
    expect([O_RDONLY, O_WRONLY, O_RDWR, O_CLOEXEC]).toEqual([0, 1, 2, 0o2000000]);
    expect([SEEK_SET, SEEK_CUR, SEEK_END, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE]).toEqual([
      0, 1, 2, 1, 2, 1, 2,
    ]);
  });
});

describe("fd tables", () => {
  it("start with 0–2 taken; open and dup return the lowest free fd; close frees it; EMFILE past RLIMIT_NOFILE", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app", { nofile: 6 });
      expect(p.openFds).toEqual([0, 1, 2]);
      const a = p.open("/dev/dma_heap/system");
      const b = p.open("/dev/dma_heap/system");
      expect([a, b]).toEqual([3, 4]);
      p.close(a);
      expect(p.open("/dev/dma_heap/system")).toBe(3);
      p.close(0);
      expect(p.dup(4)).toBe(0);
      expect(p.dup(4)).toBe(5);
      expectUntouched(sys, "EMFILE", () => p.open("/dev/dma_heap/system"));
      expectUntouched(sys, "EMFILE", () => p.dup(3));
      p.close(5);
      expectUntouched(sys, "EBADF", () => p.close(5));
      expectUntouched(sys, "EBADF", () => p.close(-1));
      expectUntouched(sys, "EBADF", () => p.dup(42));
      expectUntouched(sys, "EBADF", () => p.ioctl(42, DMA_BUF_IOCTL_SYNC, { flags: 0 }));
      expectUntouched(sys, "EBADF", () => p.lseek(42, 0, SEEK_END));
      expectUntouched(sys, "EBADF", () => p.dmaBufGet(42));
      return p.openFds;
    });
  });

  it("answer each kind of file as the kernel does: ENOTTY, ESPIPE, ENODEV, EINVAL", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const heap = p.open("/dev/dma_heap/system", O_RDWR);
      const buf = alloc(p, heap, PAGE);
      expectUntouched(sys, "ENOTTY", () => p.ioctl(1, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_RW }));
      expectUntouched(sys, "ENOTTY", () => p.ioctl(buf, DMA_HEAP_IOCTL_ALLOC, { len: PAGE, fd: 0 }));
      expectUntouched(sys, "ENOTTY", () => p.ioctl(buf, _IOW("b", 2, 8), {}));
      expectUntouched(sys, "ESPIPE", () => p.lseek(heap, 0, SEEK_SET));
      expectUntouched(sys, "ESPIPE", () => p.lseek(0, 0, SEEK_END));
      expectUntouched(sys, "ENODEV", () => p.mmap(heap, PAGE, 0, PROT_READ, MAP_SHARED));
      expectUntouched(sys, "ENODEV", () => p.mmap(2, PAGE, 0, PROT_READ, MAP_SHARED));
      expectUntouched(sys, "EINVAL", () => p.dmaBufGet(heap)); // dma_buf_get() of an fd of the wrong kind
      expectUntouched(sys, "EINVAL", () => p.dmaBufGet(0));
      expectUntouched(sys, "ENOENT", () => p.open("/dev/null"));
      expect(p.fdInfo(buf)).toEqual({ kind: "dmabuf", ino: 1, cloexec: true });
      p.close(buf);
    });
  });
});

describe("a userspace program's flow", () => {
  it("allocates from a heap, mmaps, brackets CPU access with SYNC, finds the buffer zeroed, names it, closes it", async () => {
    await onBoth({ ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }] }, (sys) => {
      const p = sys.process("app");
      const freeBefore = freeMemory(sys);
      const heapFd = p.open("/dev/dma_heap/reserved", O_RDONLY | O_CLOEXEC);
      const data = p.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, {
        len: 10_000,
        fd: 0,
        fdFlags: O_RDWR | O_CLOEXEC,
        heapFlags: 0,
      });
      const fd = data.fd;
      const size = p.lseek(fd, 0, SEEK_END);
      expect([fd, size, p.lseek(fd, 0, SEEK_SET)]).toEqual([4, 3 * PAGE, 0]);
      const map = p.mmap(fd, size, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      expect(p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW })).toBe(0);
      expect(map.read().every((v) => v === 0)).toBe(true);
      map.fill(0x5a, 0, 100);
      map.write(PAGE - 2, pattern(8, 3)); // across a page boundary
      expect(p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW })).toBe(0);
      map.munmap();
      expect(p.ioctl(fd, DMA_BUF_SET_NAME, "preview-0")).toBe(0);
      const again = p.mmap(fd, PAGE, PAGE, PROT_READ, MAP_SHARED);
      p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
      expect(again.read(0, 6)).toEqual(pattern(8, 3).subarray(2));
      p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ });
      again.munmap();
      expect(sys.readFile("/sys/kernel/debug/dma_buf/bufinfo")).toContain("\treserved\t00000001\tpreview-0\n");
      p.close(fd);
      p.close(heapFd);
      expect([sys.dmabufs.length, freeMemory(sys)]).toEqual([0, freeBefore]);
    });
  });

  it("lseek on a dma-buf: SEEK_END gives the size, SEEK_SET 0, only with offset 0", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const fd = alloc(p, p.open("/dev/dma_heap/system"), 5 * PAGE);
      expect([p.lseek(fd, 0, SEEK_END), p.lseek(fd, 0n, SEEK_SET)]).toEqual([5 * PAGE, 0]);
      expectUntouched(sys, "EINVAL", () => p.lseek(fd, 0, SEEK_CUR));
      expectUntouched(sys, "EINVAL", () => p.lseek(fd, 0, 3)); // SEEK_DATA
      expectUntouched(sys, "EINVAL", () => p.lseek(fd, 0, 5)); // past SEEK_MAX
      expectUntouched(sys, "EINVAL", () => p.lseek(fd, 4, SEEK_END));
      expectUntouched(sys, "EINVAL", () => p.lseek(fd, -1, SEEK_SET));
      p.close(fd);
    });
  });

  it("DMA_BUF_IOCTL_SYNC and DMA_BUF_SET_NAME check their arguments as the kernel does", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const fd = alloc(p, p.open("/dev/dma_heap/system"), PAGE);
      for (const flags of [
        DMA_BUF_SYNC_READ,
        DMA_BUF_SYNC_WRITE,
        DMA_BUF_SYNC_RW,
        DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
        7n,
      ]) {
        expect(p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags })).toBe(0);
      }
      for (const flags of [0, DMA_BUF_SYNC_END, 8, 1n << 40n, DMA_BUF_SYNC_RW | 16]) {
        expectUntouched(sys, "EINVAL", () => p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags }));
      }
      expectUntouched(sys, "EINVAL", () => p.ioctl(fd, DMA_BUF_IOCTL_SYNC, {})); // flags 0
      expectUntouched(sys, "EFAULT", () => p.ioctl(fd, DMA_BUF_IOCTL_SYNC, null as never));
      expectUntouched(sys, "EINVAL", () => p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: 1.5 }));
      const name31 = "n".repeat(31);
      expect(p.ioctl(fd, DMA_BUF_SET_NAME_A, name31)).toBe(0);
      expect(sys.dmabufs[0]!.name).toBe(name31);
      expectUntouched(sys, "EINVAL", () => p.ioctl(fd, DMA_BUF_SET_NAME, "n".repeat(32)));
      expect(sys.dmabufs[0]!.name).toBe(name31);
      expectUntouched(sys, "EFAULT", () => p.ioctl(fd, DMA_BUF_SET_NAME_B, 42 as never));
      expect(p.ioctl(fd, DMA_BUF_SET_NAME_B, "cut\0here")).toBe(0);
      expect(sys.dmabufs[0]!.name).toBe("cut");
      p.close(fd);
      expectUntouched(sys, "EBADF", () => p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_RW }));
    });
  });
});

describe("mmap", () => {
  it("runs the kernel's checks in order, taking no reference when it fails", async () => {
    await onBoth({ ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }] }, (sys) => {
      const p = sys.process("app");
      const sysHeap = p.open("/dev/dma_heap/system");
      const cmaHeap = p.open("/dev/dma_heap/reserved");
      const fd = alloc(p, sysHeap, 4 * PAGE);
      const ro = alloc(p, sysHeap, PAGE, O_RDONLY);
      const wo = alloc(p, sysHeap, PAGE, O_WRONLY);
      const cma = alloc(p, cmaHeap, 2 * PAGE);
      const counts = () => sys.dmabufs.map((b) => b.fileCount);
      const before = counts();
      const cases: [string, () => unknown][] = [
        ["EINVAL", () => p.mmap(99, PAGE, 1, PROT_READ, MAP_SHARED)], // the offset is checked before the fd
        ["EBADF", () => p.mmap(99, PAGE, 0, PROT_READ, MAP_SHARED)],
        ["EINVAL", () => p.mmap(fd, 0, 0, PROT_READ, MAP_SHARED)],
        ["ENOMEM", () => p.mmap(fd, 2n ** 64n - 1n, 0, PROT_READ, MAP_SHARED)], // PAGE_ALIGN(len) wraps
        ["EOVERFLOW", () => p.mmap(fd, PAGE, 2n ** 63n, PROT_READ, MAP_SHARED)],
        ["EOVERFLOW", () => p.mmap(fd, 2 * PAGE, -PAGE, PROT_READ, MAP_SHARED)], // (unsigned long)-4096
        ["EINVAL", () => p.mmap(fd, PAGE, 0, PROT_READ, 0)],
        ["EINVAL", () => p.mmap(fd, PAGE, 0, PROT_READ, MAP_SHARED | 0x20)],
        ["EINVAL", () => p.mmap(fd, PAGE, 0, 8, MAP_SHARED)],
        ["EACCES", () => p.mmap(ro, PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED)],
        ["EACCES", () => p.mmap(wo, PAGE, 0, PROT_WRITE, MAP_SHARED)], // any mapping needs read access
        ["EINVAL", () => p.mmap(fd, 5 * PAGE, 0, PROT_READ, MAP_SHARED)], // past the buffer
        ["EINVAL", () => p.mmap(fd, PAGE, 4 * PAGE, PROT_READ, MAP_SHARED)],
        ["EINVAL", () => p.mmap(fd, 3 * PAGE + 1, PAGE, PROT_READ, MAP_SHARED)], // rounds up to 4 pages from page 1
        ["EINVAL", () => p.mmap(cma, PAGE, 0, PROT_READ, MAP_PRIVATE)], // cma_heap_mmap(): shared only
        ["EINVAL", () => p.mmap(fd, 2 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE)], // remap_pfn_range() of a COW vma
      ];
      for (const [code, fn] of cases) {
        expectUntouched(sys, code, fn);
        expect(counts()).toEqual(before);
      }
      const ok = p.mmap(ro, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE); // a read-only fd maps privately, even writable
      ok.munmap();
      for (const f of [fd, ro, wo, cma]) p.close(f);
      return cases.length;
    });
  });

  it("faults, protections and the end of a mapping: SIGSEGV and SIGBUS are EFAULT", async () => {
    await onBoth({ ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }] }, (sys) => {
      const p = sys.process("app");
      const fd = alloc(p, p.open("/dev/dma_heap/reserved"), 3 * PAGE);
      const m = p.mmap(fd, 2 * PAGE - 100, PAGE, PROT_READ, MAP_SHARED); // covers pages 1 and 2 of the buffer
      expect([m.length, m.offset, m.faults]).toEqual([2 * PAGE - 100, PAGE, 0]);
      expect(m.read(2 * PAGE - 4, 4)).toEqual(new Uint8Array(4)); // the whole last page is mapped
      expect(m.faults).toBe(1);
      expect(() => m.read(2 * PAGE - 4, 5)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      expect(() => m.write(0, new Uint8Array(1))).toThrow(expect.objectContaining({ code: "EFAULT" }));
      expect(() => m.fill(1)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      m.munmap();
      m.munmap(); // nothing mapped: nothing to do
      expect(() => m.read(0, 1)).toThrow(expect.objectContaining({ code: "EFAULT" }));
      expect(m.mapped).toBe(false);
      p.close(fd);
    });
  });

  it("a private mapping copies on write: the buffer and other mappings keep their bytes", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const p = sys.process("app");
      const fd = alloc(p, p.open("/dev/dma_heap/system"), PAGE);
      const shared = p.mmap(fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      shared.write(0, pattern(16, 1));
      const priv = p.mmap(fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
      expect(priv.read(0, 16)).toEqual(pattern(16, 1));
      const free = freeMemory(sys);
      priv.write(0, pattern(16, 2));
      expect(freeMemory(sys)).toBe(free - 1); // the anonymous copy
      expect([priv.read(0, 16), shared.read(0, 16)]).toEqual([pattern(16, 2), pattern(16, 1)]);
      priv.munmap();
      expect(freeMemory(sys)).toBe(free);
      shared.munmap();
      p.close(fd);
    });
  });
});

describe("isolation and lifetime across processes", () => {
  it("a process reaches only buffers whose fds it holds", async () => {
    await onBoth({ ramBytes: 16 * MIB }, (sys) => {
      const owner = sys.process("owner");
      const other = sys.process("other");
      const fd = alloc(owner, owner.open("/dev/dma_heap/system"), PAGE);
      expect(fd).toBe(4);
      // The same number means nothing in another fd table.
      expectUntouched(sys, "EBADF", () => other.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_RW }));
      expectUntouched(sys, "EBADF", () => other.mmap(fd, PAGE, 0, PROT_READ, MAP_SHARED));
      expectUntouched(sys, "EBADF", () => other.lseek(fd, 0, SEEK_END));
      expectUntouched(sys, "EBADF", () => other.dmaBufGet(fd));
      expect(other.accounting().heldBuffers).toBe(0);
      const mine = owner.mmap(fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      mine.write(0, pattern(32, 7));
      // Passed explicitly, it arrives at the receiver's lowest free fd.
      const got = owner.sendFd(other, fd);
      expect(got).toBe(3);
      const theirs = other.mmap(got, PAGE, 0, PROT_READ, MAP_SHARED);
      expect(theirs.read(0, 32)).toEqual(pattern(32, 7));
      expect(() => owner.sendFd({} as never, fd)).toThrow(expect.objectContaining({ code: "EINVAL" }));
      theirs.munmap();
      mine.munmap();
      owner.exit();
      other.exit();
    });
  });

  it("releases the buffer at the last close, across processes, and gives its memory back", async () => {
    await onBoth({ ramBytes: 16 * MIB, cma: [{ name: "reserved", bytes: 4 * MIB }] }, (sys) => {
      const area = sys.cma("reserved");
      const a = sys.process("a");
      const b = sys.process("b");
      const c = sys.process("c");
      const fd = alloc(a, a.open("/dev/dma_heap/reserved"), MIB);
      const inB = a.sendFd(b, fd);
      const inC = b.sendFd(c, inB);
      const buf = sys.dmabufs[0]!;
      expect(buf.fileCount).toBe(3);
      a.close(fd);
      b.mmap(inB, MIB, 0, PROT_READ, MAP_SHARED);
      b.close(inB);
      c.close(inC);
      expect([buf.released, buf.fileCount, area.available]).toEqual([false, 1, area.count - 256]);
      b.exit(); // its mapping was the last reference
      expect([buf.released, sys.dmabufs.length, area.available, a.accounting().chargedBytes]).toEqual([
        true,
        0,
        area.count,
        0,
      ]);
      expectUntouched(sys, "ESRCH", () => b.open("/dev/dma_heap/system"));
    });
  });
});
