/**
 * Fault injection (issue 15): every multi-step public operation runs under an
 * injected failure at each of its allocation steps in turn (`interval: k + 1`,
 * `times: 1`: the (k+1)-th call at that point fails), on both backends in
 * lockstep. Each run must fail with the kernel's errno (a DmaSimError) or
 * succeed; check() must pass; after everything is released the machine's
 * footprint (free pages, free CMA pages, IOVA bytes, swiotlb slots, coherent
 * buffers, dma-bufs, page holds) is that of the fresh machine; and both
 * backends agree on every outcome and state hash.
 */
import { describe, expect, it } from "vitest";
import {
  createSystem,
  dmaBufExportDeferred,
  sgAllocTableFromPages,
  DMA_HEAP_IOCTL_ALLOC,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  type DmaBuf,
  type DmaBufAttachment,
  type FaultPoint,
  type Process,
  type SgTable,
  type System,
  type SystemOptions,
} from "dmasim";
import { BACKENDS, MIB, PAGE, dmaSimErrorOf, expectUntouched } from "../helpers.ts";

const OPTIONS: SystemOptions = {
  ramBytes: 24 * MIB,
  zones: "x86_64",
  seed: 7,
  cma: [{ name: "reserved", bytes: 4 * MIB, limit: 16 * MIB }],
  devices: [
    { name: "gpu", iommu: { base: 0x1000_0000, size: 2 ** 28 } },
    { name: "isa", dmaMask: 24 },
    { name: "cam", cma: "reserved" },
  ],
  swiotlbBytes: 256 * 1024,
};

const POINTS: FaultPoint[] = ["failPageAlloc", "failslab", "failIommu", "failSwiotlb", "failCma"];
/** Errors a failed allocation may surface as, by the kernel's conventions. */
const CLEAN_CODES = new Set(["ENOMEM", "EBUSY", "EFAULT", "EIO", "ENOSPC"]);

/** Every point armed to fail the (k+1)-th call it sees, once, with no filter letting anything through. */
function arm(sys: System, point: FaultPoint, k: number): void {
  const extra =
    point === "failPageAlloc"
      ? { ignoreGfpWait: false, ignoreGfpHighmem: false, minOrder: 0 }
      : point === "failslab"
        ? { ignoreGfpWait: false }
        : {};
  sys.faultInjection.configure(point, { probability: 100, interval: k + 1, times: 1, space: 0, verbose: 0, ...extra });
}

function footprint(sys: System) {
  // Pages freed onto per-cpu lists are free but not in NR_FREE_PAGES: drain
  // them (drain_all_pages()) so that the counts compare whole.
  sys.drainPages();
  const s = sys.stats();
  return {
    free: s.nrFreePages,
    freeCma: s.nrFreeCmaPages,
    iova: sys.devices.map((d) => d.iommu?.iovaBytesInUse ?? 0),
    swiotlb: sys.swiotlb?.used ?? 0,
    coherent: sys.devices.map((d) => (d as unknown as { coherentBufferList(): unknown[] }).coherentBufferList().length),
    dmabufs: sys.dmabufs.length,
    holds: (sys as unknown as { pageHolds: { count: number } }).pageHolds.count,
  };
}

/** One operation: `run` may leave partial results in `ctx` for `teardown`, which releases everything. */
interface Case {
  name: string;
  /** Points the operation must reach (at least one failure injected at each). */
  reaches?: FaultPoint[];
  run(sys: System, ctx: Ctx): unknown;
  teardown(sys: System, ctx: Ctx): void;
}
interface Ctx {
  p?: Process;
  fd?: number;
  buf?: DmaBuf;
  atts?: DmaBufAttachment[];
  sgts?: [DmaBufAttachment, SgTable][];
  pfns?: number[];
  sgt?: SgTable;
  mapped?: boolean;
  coherent?: ReturnType<ReturnType<System["device"]>["dmaAllocAttrs"]>;
  pfn?: number | null;
  range?: [number, number];
  pages?: NonNullable<ReturnType<System["allocMovable"]>>[];
  drv?: { sgt: SgTable | null };
}

function heapAlloc(p: Process, heap: string, len: number): number {
  const hfd = p.open(`/dev/dma_heap/${heap}`, O_RDWR);
  try {
    return p.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags: O_RDWR | O_CLOEXEC, heapFlags: 0 }).fd;
  } finally {
    p.close(hfd);
  }
}

function endProcess(ctx: Ctx): void {
  try {
    ctx.p?.exit();
  } catch (e) {
    if ((e as { code?: string }).code !== "ESRCH") throw e; // it exited already
  }
}

function mapSgCase(name: string, dev: string, reaches: FaultPoint[]): Case {
  return {
    name,
    reaches,
    run(sys, ctx) {
      // Three pages from DMA32 (above the ISA device's 16 MiB: they bounce).
      ctx.pfns = [];
      for (let i = 0; i < 3; i++) {
        const pfn = sys.allocPages(0, "unmovable", { zone: "DMA32" });
        if (pfn === null) return null;
        ctx.pfns.push(pfn);
      }
      ctx.sgt = sgAllocTableFromPages(ctx.pfns, 100, 3 * PAGE - 200, undefined, { system: sys });
      const ret = sys.device(dev).dmaMapSgtable(ctx.sgt, "to_device");
      ctx.mapped = ret === 0;
      return ret;
    },
    teardown(sys, ctx) {
      if (ctx.mapped) sys.device(dev).dmaUnmapSgtable(ctx.sgt!, "to_device");
      for (const pfn of ctx.pfns ?? []) sys.freePages(pfn, 0);
    },
  };
}

function coherentCase(name: string, dev: string, size: number, reaches: FaultPoint[], atomic = false): Case {
  return {
    name,
    reaches,
    run(sys, ctx) {
      ctx.coherent = sys.device(dev).dmaAllocAttrs(size, { atomic });
      return ctx.coherent === null ? null : "ok";
    },
    teardown(sys, ctx) {
      if (ctx.coherent) sys.device(dev).dmaFreeAttrs(ctx.coherent);
    },
  };
}

const CASES: Case[] = [
  {
    name: "DMA_HEAP_IOCTL_ALLOC on the system heap",
    reaches: ["failPageAlloc", "failslab"],
    run(sys, ctx) {
      ctx.p = sys.process("app", { dmabufLimitBytes: 4 * MIB });
      ctx.fd = heapAlloc(ctx.p, "system", MIB + 17 * PAGE);
      return ctx.p.accounting();
    },
    teardown: (_sys, ctx) => endProcess(ctx),
  },
  {
    name: "DMA_HEAP_IOCTL_ALLOC on a CMA heap",
    reaches: ["failCma", "failslab"],
    run(sys, ctx) {
      ctx.p = sys.process("app");
      ctx.fd = heapAlloc(ctx.p, "reserved", 64 * PAGE);
      return ctx.p.accounting();
    },
    teardown: (_sys, ctx) => endProcess(ctx),
  },
  {
    name: "dma-buf attach and map through an IOMMU",
    reaches: ["failPageAlloc", "failslab", "failIommu"],
    run(sys, ctx) {
      ctx.p = sys.process("app");
      ctx.fd = heapAlloc(ctx.p, "system", MIB + 5 * PAGE);
      ctx.buf = ctx.p.dmaBufGet(ctx.fd);
      const att = ctx.buf.attach(sys.device("gpu"));
      ctx.atts = [att];
      const sgt = ctx.buf.mapAttachment(att, "bidirectional");
      ctx.sgts = [[att, sgt]];
      return sgt.nents;
    },
    teardown(_sys, ctx) {
      for (const [att, sgt] of ctx.sgts ?? []) ctx.buf!.unmapAttachment(att, sgt, "bidirectional");
      for (const att of ctx.atts ?? []) ctx.buf!.detach(att);
      ctx.buf?.put();
      endProcess(ctx);
    },
  },
  mapSgCase("dmaMapSgtable through swiotlb", "isa", ["failPageAlloc", "failSwiotlb"]),
  mapSgCase("dmaMapSgtable through an IOMMU", "gpu", ["failPageAlloc", "failIommu"]),
  coherentCase("dmaAllocAttrs direct", "isa", 5 * PAGE, ["failCma"]),
  coherentCase("dmaAllocAttrs through an IOMMU", "gpu", 70 * PAGE, ["failPageAlloc", "failIommu"]),
  coherentCase("dmaAllocAttrs from CMA", "cam", 16 * PAGE, ["failCma"]),
  coherentCase("dmaAllocAttrs atomic (pool)", "gpu", 2 * PAGE, ["failIommu"], true),
  {
    name: "cma_alloc",
    run(sys, ctx) {
      ctx.pfn = sys.cma("reserved").alloc(64, 6);
      return ctx.pfn === null ? null : "ok";
    },
    teardown(sys, ctx) {
      if (ctx.pfn != null) sys.cma("reserved").release(ctx.pfn, 64);
    },
  },
  {
    name: "allocContigRange over movable pages",
    run(sys, ctx) {
      ctx.pages = [];
      for (let i = 0; i < 40; i++) {
        const page = sys.allocMovable(0);
        if (!page) break;
        ctx.pages.push(page);
      }
      if (ctx.pages.length === 0) return null;
      const start = ctx.pages[0]!.pfn - (ctx.pages[0]!.pfn % sys.pageblockNrPages);
      const ret = sys.allocContigRange(start, start + 64);
      if (ret === 0) ctx.range = [start, 64];
      return ret;
    },
    teardown(sys, ctx) {
      if (ctx.range) sys.freeContigRange(...ctx.range);
      for (const page of ctx.pages ?? []) page.free();
    },
  },
  {
    name: "allocPagesBatch",
    run(sys, ctx) {
      const got = sys.allocPagesBatch(6, 1);
      ctx.pfns = [...got].filter((pfn) => pfn >= 0);
      return [...got].map((pfn) => pfn >= 0);
    },
    teardown(sys, ctx) {
      for (const pfn of ctx.pfns ?? []) sys.freePages(pfn, 1);
    },
  },
  {
    name: "mmap MAP_PRIVATE and write (copy-on-write)",
    run(sys, ctx) {
      ctx.p = sys.process("app", { dmabufLimitBytes: MIB });
      // system_heap_mmap() maps MAP_PRIVATE one page at most: two one-page buffers.
      ctx.fd = heapAlloc(ctx.p, "system", PAGE);
      const map = ctx.p.mmap(ctx.fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
      map.write(2, new Uint8Array(PAGE - 2).fill(0x5a));
      const map2 = ctx.p.mmap(heapAlloc(ctx.p, "system", PAGE), PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
      map2.write(0, new Uint8Array(8).fill(0x5b));
      return [map.residentPages, ctx.p.accounting().privateCopyBytes];
    },
    teardown: (_sys, ctx) => endProcess(ctx),
  },
  {
    name: "deferred dma-buf: first map, then a stricter importer forces migration",
    reaches: ["failPageAlloc", "failslab", "failIommu", "failCma"],
    run(sys, ctx) {
      ctx.p = sys.process("app");
      const buf = dmaBufExportDeferred(sys, { size: MIB + 3 * PAGE });
      ctx.buf = buf;
      ctx.atts = [];
      ctx.sgts = [];
      const drv = { sgt: null as SgTable | null };
      ctx.drv = drv;
      const gpuAtt = buf.dynamicAttach(sys.device("gpu"), {
        moveNotify(att) {
          if (drv.sgt) buf.unmapAttachment(att, drv.sgt, "bidirectional");
          drv.sgt = null;
        },
      });
      ctx.atts.push(gpuAtt);
      drv.sgt = buf.mapAttachment(gpuAtt, "bidirectional");
      ctx.fd = ctx.p.dmaBufFd(buf);
      const map = ctx.p.mmap(ctx.fd, MIB + 3 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      map.write(0, new Uint8Array(3 * PAGE).fill(7));
      ctx.atts.push(buf.attach(sys.device("isa")));
      return [map.read(0, 4)[0], drv.sgt === null];
    },
    teardown(_sys, ctx) {
      if (ctx.drv?.sgt) ctx.buf!.unmapAttachment(ctx.atts![0]!, ctx.drv.sgt, "bidirectional");
      for (const att of ctx.atts ?? []) ctx.buf!.detach(att);
      // dma_buf_fd() took over the exporter's reference; before it, the test holds it.
      if (ctx.fd === undefined) ctx.buf?.put();
      endProcess(ctx);
    },
  },
  {
    name: "process exit with buffers, mappings and private copies",
    run(sys, ctx) {
      const p = sys.process("app");
      ctx.p = p;
      const fd = heapAlloc(p, "system", PAGE);
      heapAlloc(p, "reserved", 8 * PAGE);
      heapAlloc(p, "system", 20 * PAGE);
      const map = p.mmap(fd, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
      map.write(0, new Uint8Array(PAGE).fill(1));
      p.dup(fd);
      p.exit();
      return "exited";
    },
    teardown: (_sys, ctx) => endProcess(ctx),
  },
];

interface Outcome {
  injected: number;
  result: unknown;
  code: string | null;
  /** After teardown. */
  hash: string;
}

/** Steps tried at each point: every one up to 20, then a sample (loops of identical steps). */
const STEPS = [...Array.from({ length: 20 }, (_, k) => k), 31, 47];

function runOnce(sys: System, c: Case, point: FaultPoint, k: number): Outcome {
  const where = `${c.name}: ${point} k=${k} (${sys.backend})`;
  const before = footprint(sys);
  const ctx: Ctx = {};
  const injectedBefore = sys.faultInjection.injected(point);
  arm(sys, point, k);
  const pgallocBefore = sys.stats().pgalloc;
  // (stateHash() digests RAM too: taken only where it is compared.)
  const hashBefore = c.name.startsWith("dmaAllocAttrs") ? sys.stateHash() : "";
  let result: unknown = undefined;
  let code: string | null = null;
  try {
    result = c.run(sys, ctx);
  } catch (e) {
    expect(e, `${where}: ${String(e)}`).toMatchObject({ name: "DmaSimError" });
    code = (e as { code: string }).code;
    expect(CLEAN_CODES.has(code), `${where}: unexpected ${String(e)}`).toBe(true);
  }
  const injected = sys.faultInjection.injected(point) - injectedBefore;
  sys.faultInjection.configure(point, { probability: 0 });
  sys.check();
  // A coherent allocation that failed before any page was allocated left the machine exactly as it was.
  if (code === null && result === null && sys.stats().pgalloc === pgallocBefore && c.name.startsWith("dmaAllocAttrs"))
    expect(sys.stateHash(), where).toBe(hashBefore);
  c.teardown(sys, ctx);
  sys.check();
  expect(footprint(sys), `${where}: leak`).toEqual(before);
  return { injected, result, code, hash: sys.stateHash() };
}

describe("fault injection at every step of every operation, both backends", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const machines = await Promise.all(BACKENDS.map((backend) => createSystem({ ...OPTIONS, backend })));
      let total = 0;
      const reached = new Set<FaultPoint>();
      for (const point of POINTS) {
        for (const k of STEPS) {
          const outcomes = machines.map((sys) => runOnce(sys, c, point, k));
          expect(outcomes[1], `${c.name}: ${point} k=${k}: backends differ`).toEqual(outcomes[0]);
          if (outcomes[0]!.injected === 0) break;
          reached.add(point);
          total++;
        }
      }
      // Every case allocates somewhere: something was injected.
      expect(total).toBeGreaterThan(0);
      for (const point of c.reaches ?? []) expect(reached.has(point), `${c.name} reaches ${point}`).toBe(true);
    });
  }
});

describe("fault injection attributes", () => {
  it("createSystem validates faultInjection: unknown points and attributes, ranges", async () => {
    for (const bad of [
      { failNothing: {} },
      { failPageAlloc: { probability: 101 } },
      { failPageAlloc: { probability: -1 } },
      { failIommu: { minOrder: 1 } },
      { failslab: { times: -2 } },
      { failCma: { interval: 0 } },
      { failSwiotlb: { verbose: 3 } },
      { failPageAlloc: { ignoreGfpWait: 1 } },
      { failPageAlloc: null },
      { failPageAlloc: { probability: NaN } },
      { failPageAlloc: { probability: 10n } },
      [],
      "fail",
    ]) {
      await expect(
        createSystem({ faultInjection: bad as never }),
        JSON.stringify(bad, (_k, v) => String(v)),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
    }
  });

  it("debugfs files read the kernel's defaults and take writes, validated", async () => {
    const sys = await createSystem({ ramBytes: 16 * MIB });
    const dir = "/sys/kernel/debug/fail_page_alloc";
    expect(
      [
        "probability",
        "interval",
        "times",
        "space",
        "verbose",
        "ignore-gfp-wait",
        "ignore-gfp-highmem",
        "min-order",
        "injected",
      ].map((f) => sys.readFile(`${dir}/${f}`)),
    ).toEqual(["0\n", "1\n", "1\n", "0\n", "2\n", "Y\n", "Y\n", "1\n", "0\n"]);
    expect(sys.readFile("/sys/kernel/debug/failslab/ignore-gfp-wait")).toBe("Y\n");
    expect(() => sys.readFile("/sys/kernel/debug/fail_iommu/min-order")).toThrow(/ENOENT/);
    const before = sys.stateHash();
    for (const [file, text, code] of [
      ["probability", "101", "EINVAL"],
      ["probability", "abc", "EINVAL"],
      ["times", "-2", "EINVAL"],
      ["ignore-gfp-wait", "maybe", "EINVAL"],
      ["injected", "0", "EACCES"],
      ["nonsense", "1", "ENOENT"],
    ] as const) {
      expect(dmaSimErrorOf(() => sys.writeFile(`${dir}/${file}`, text)).code).toBe(code);
    }
    expect(dmaSimErrorOf(() => sys.writeFile("/proc/buddyinfo", "1")).code).toBe("EACCES");
    expectUntouched(sys, "EINVAL", () => sys.writeFile(`${dir}/probability`, 5 as never));
    expect(sys.stateHash()).toBe(before);
    expect(sys.faultInjection.enabled).toBe(false);
    // Armed through debugfs: order-0 GFP_KERNEL allocations fail twice, then the point is spent.
    sys.writeFile(`${dir}/probability`, "100\n");
    sys.writeFile(`${dir}/times`, "2");
    sys.writeFile(`${dir}/min-order`, "0");
    expect(sys.allocPages(0)).not.toBeNull(); // ignore-gfp-wait: a sleeping allocation never fails
    sys.writeFile(`${dir}/ignore-gfp-wait`, "N");
    expect(sys.allocPages(0, "movable")).not.toBeNull(); // ignore-gfp-highmem
    expect([sys.allocPages(0), sys.allocPages(0), sys.allocPages(0) === null]).toEqual([null, null, false]);
    expect(sys.readFile(`${dir}/injected`)).toBe("2\n");
    expect(sys.readFile(`${dir}/times`)).toBe("0\n");
    expect(sys.faultInjection.log.length).toBe(2);
    sys.check();
  });

  it("space, interval and times follow should_fail_ex()", async () => {
    const sys = await createSystem({
      ramBytes: 16 * MIB,
      faultInjection: {
        failPageAlloc: { probability: 100, space: 3 * 2, interval: 2, times: -1, minOrder: 0, ignoreGfpWait: false },
      },
    });
    // order-1 requests consume 2 of space while space > 2: two pass; then every second call fails.
    const got = Array.from({ length: 9 }, () => sys.allocPages(1) !== null);
    expect(got).toEqual([true, true, true, false, true, false, true, false, true]);
    expect(sys.faultInjection.injected("failPageAlloc")).toBe(3);
  });

  it("probability draws from a seeded stream: same seed, same failures, both backends; sys.random untouched", async () => {
    const draws: boolean[][] = [];
    const randoms: number[] = [];
    for (const backend of BACKENDS) {
      const sys = await createSystem({
        backend,
        ramBytes: 16 * MIB,
        seed: 42,
        faultInjection: { failIommu: { probability: 30, times: -1 } },
        devices: [{ name: "gpu", iommu: { base: 0x1000_0000, size: 2 ** 24 } }],
      });
      const dom = sys.device("gpu").iommu!;
      draws.push(
        Array.from({ length: 64 }, () => {
          const iova = dom.allocIova(PAGE);
          if (iova !== null) dom.freeIova(iova, PAGE);
          return iova === null;
        }),
      );
      randoms.push(sys.random.next());
    }
    expect(draws[1]).toEqual(draws[0]);
    const fails = draws[0]!.filter(Boolean).length;
    expect(fails).toBeGreaterThan(5);
    expect(fails).toBeLessThan(40);
    const plain = await createSystem({ ramBytes: 16 * MIB, seed: 42 });
    const first = plain.random.next();
    expect(randoms).toEqual([first, first]);
  });
});
