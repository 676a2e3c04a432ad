/**
 * Property and differential fuzzing with fast-check (issue 15).
 *
 * (a) Random operation sequences over the public API run on a wasm and a ts
 *     machine in lockstep: every return value or error code and the state hash
 *     after every step must agree, every error must be a DmaSimError, and
 *     check() must pass at the end. fast-check shrinks a failure to a minimal
 *     sequence.
 * (b) Hostile arguments for every public method of System, Device,
 *     IommuDomain, CmaArea, MovablePage, DmaBuf, Process and Mapping (methods
 *     read from the published declarations): each call either succeeds or
 *     throws a DmaSimError leaving the state hash unchanged and check()
 *     passing, never a TypeError/RangeError/RuntimeError.
 *
 * Bounded in `npm test`; DMASIM_FUZZ_RUNS=N runs N sequences (and N×5 hostile
 * calls per class) instead.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createSystem,
  DMA_HEAP_IOCTL_ALLOC,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  sgAllocTableFromPages,
  type DmaBuf,
  type DmaBufAttachment,
  type MovablePage,
  type Process,
  type SgTable,
  type System,
  type SystemOptions,
} from "dmasim";
import { BACKENDS, MIB, PAGE } from "../helpers.ts";

const RUNS = Number(process.env.DMASIM_FUZZ_RUNS ?? 0) || 0;

const OPTIONS: SystemOptions = {
  ramBytes: 4 * MIB,
  maxOrder: 8,
  pageblockOrder: 6,
  seed: 3,
  cma: [{ name: "reserved", bytes: MIB }],
  devices: [
    { name: "gpu", iommu: { base: 0x1000_0000, size: 2 ** 24 } },
    { name: "isa", dmaMask: 21 },
    { name: "cam", cma: "reserved" },
  ],
  swiotlbBytes: 256 * 1024,
};

/** A thrown value's summary: the errno name of a DmaSimError, else the constructor name (a bug). */
function errorOf(e: unknown): string {
  if (typeof e === "object" && e !== null && (e as { name?: string }).name === "DmaSimError")
    return (e as { code: string }).code;
  return `NOT-A-DmaSimError ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message ?? e)}`;
}

// ---- (a) differential sequences ------------------------------------------------------------------

const KINDS = [
  "alloc",
  "free",
  "movable",
  "migrate",
  "pin",
  "unpin",
  "pinLongterm",
  "pageFree",
  "cmaAlloc",
  "cmaRelease",
  "contig",
  "contigFree",
  "isolate",
  "undoIsolate",
  "dmaMap",
  "dmaSync",
  "dmaUnmap",
  "mapSg",
  "unmapSg",
  "coherent",
  "coherentFree",
  "heap",
  "close",
  "mmapWrite",
  "attach",
  "detach",
  "writePage",
  "exit",
] as const;
type Op = { k: (typeof KINDS)[number]; a: number; b: number; c: number };
const PRODUCERS: Op["k"][] = [
  "alloc",
  "movable",
  "cmaAlloc",
  "heap",
  "dmaMap",
  "mapSg",
  "coherent",
  "attach",
  "mmapWrite",
];
const opArb: fc.Arbitrary<Op> = fc.record({
  // Ops that create what others use come three times as often, so few steps find nothing to act on.
  k: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PRODUCERS) },
    { weight: 2, arbitrary: fc.constantFrom(...KINDS) },
  ),
  a: fc.nat(1 << 16),
  b: fc.nat(1 << 16),
  c: fc.nat(1 << 16),
});

/** What one machine holds while a sequence runs (same indices on both machines while they agree). */
class World {
  blocks: { pfn: number; order: number }[] = [];
  pages: MovablePage[] = [];
  cmaRuns: { pfn: number; count: number }[] = [];
  contig: [number, number][] = [];
  isolated: [number, number][] = [];
  dmaMaps: { dev: string; addr: number; size: number }[] = [];
  sgs: { dev: string; sgt: SgTable }[] = [];
  coherent: { dev: string; buf: NonNullable<ReturnType<ReturnType<System["device"]>["dmaAllocAttrs"]>> }[] = [];
  p: Process;
  fds: number[] = [];
  atts: { buf: DmaBuf; att: DmaBufAttachment; sgt: SgTable }[] = [];
  constructor(readonly sys: System) {
    this.p = sys.process("app", { dmabufLimitBytes: 2 * MIB });
  }
}

const DEVS = ["gpu", "isa", "cam"] as const;
const DIRS = ["bidirectional", "to_device", "from_device"] as const;
const MTS = ["unmovable", "movable", "reclaimable"] as const;

function pick<T>(list: T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}
function take<T>(list: T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list.splice(i % list.length, 1)[0];
}

/** Runs one op; returns a comparable summary of its result. */
function step(w: World, op: Op): unknown {
  const { sys } = w;
  const { a, b, c } = op;
  switch (op.k) {
    case "alloc": {
      const order = a % 4;
      const pfn = sys.allocPages(order, MTS[b % 3], c % 3 === 0 ? { atomic: true } : undefined);
      if (pfn !== null) w.blocks.push({ pfn, order });
      return pfn;
    }
    case "free": {
      const blk = pick(w.blocks, a);
      if (!blk) return "none";
      sys.freePages(blk.pfn, blk.order);
      take(w.blocks, a);
      return "ok";
    }
    case "movable": {
      const page = sys.allocMovable(a % 3);
      if (page) w.pages.push(page);
      return page?.pfn ?? null;
    }
    case "migrate":
      return pick(w.pages, a)?.migrate() ?? "none";
    case "pin":
      return pick(w.pages, a)?.pin() ?? "none";
    case "unpin":
      return pick(w.pages, a)?.unpin() ?? "none";
    case "pinLongterm":
      return pick(w.pages, a)?.pinLongterm() ?? "none";
    case "pageFree": {
      const page = pick(w.pages, a);
      if (!page) return "none";
      page.free();
      take(w.pages, a);
      return "ok";
    }
    case "cmaAlloc": {
      const count = 1 + (a % 48);
      const pfn = sys.cma("reserved").alloc(count, b % 5);
      if (pfn !== null) w.cmaRuns.push({ pfn, count });
      return pfn;
    }
    case "cmaRelease": {
      const run = take(w.cmaRuns, a);
      return run ? sys.cma("reserved").release(run.pfn, run.count) : "none";
    }
    case "contig": {
      const start = a % sys.nrPages;
      const end = Math.min(sys.nrPages, start + 1 + (b % 80));
      const ret = sys.allocContigRange(start, end);
      if (ret === 0) w.contig.push([start, end - start]);
      return ret;
    }
    case "contigFree": {
      const r = take(w.contig, a);
      if (!r) return "none";
      sys.freeContigRange(r[0], r[1]);
      return "ok";
    }
    case "isolate": {
      const start = a % sys.nrPages;
      const end = Math.min(sys.nrPages, start + 1 + (b % 130));
      const ret = sys.isolatePageRange(start, end);
      if (ret === 0) w.isolated.push([start, end]);
      return ret;
    }
    case "undoIsolate": {
      const r = take(w.isolated, a);
      if (!r) return "none";
      sys.undoIsolatePageRange(r[0], r[1]);
      return "ok";
    }
    case "dmaMap": {
      const blk = pick(w.blocks, a);
      if (!blk) return "none";
      const dev = DEVS[b % 3]!;
      const size = Math.min(PAGE * 2 ** blk.order, 1 + (c % (2 * PAGE)));
      const addr = sys.device(dev).dmaMapPage(blk.pfn, 0, size, DIRS[c % 3]!);
      if (!sys.device(dev).dmaMappingError(addr)) w.dmaMaps.push({ dev, addr, size });
      return addr;
    }
    case "dmaSync": {
      const m = pick(w.dmaMaps, a);
      if (!m) return "none";
      sys.device(m.dev).dmaSyncSingleForCpu(m.addr, m.size, "bidirectional");
      return "ok";
    }
    case "dmaUnmap": {
      const m = take(w.dmaMaps, a);
      if (!m) return "none";
      sys.device(m.dev).dmaUnmapPage(m.addr, m.size, "bidirectional");
      return "ok";
    }
    case "mapSg": {
      const blks = [pick(w.blocks, a), pick(w.blocks, b)].filter((x) => x !== undefined);
      if (blks.length === 0 || blks[0] === blks[1]) return "none";
      const sgt = sgAllocTableFromPages(
        blks.map((x) => x.pfn),
        c % 64,
        blks.length * PAGE - (c % 64) - (c % 7),
        undefined,
        { system: sys },
      );
      const dev = DEVS[c % 3]!;
      const ret = sys.device(dev).dmaMapSgtable(sgt, "bidirectional");
      if (ret === 0) w.sgs.push({ dev, sgt });
      return [ret, sgt.nents];
    }
    case "unmapSg": {
      const m = take(w.sgs, a);
      if (!m) return "none";
      sys.device(m.dev).dmaUnmapSgtable(m.sgt, "bidirectional");
      return "ok";
    }
    case "coherent": {
      const dev = DEVS[b % 3]!;
      const buf = sys.device(dev).dmaAllocAttrs(1 + (a % (12 * PAGE)), { atomic: c % 4 === 0 });
      if (buf) w.coherent.push({ dev, buf });
      return buf ? [buf.dmaAddress, buf.phys] : null;
    }
    case "coherentFree": {
      const m = take(w.coherent, a);
      if (!m) return "none";
      sys.device(m.dev).dmaFreeAttrs(m.buf);
      return "ok";
    }
    case "heap": {
      const hfd = w.p.open(b % 2 ? "/dev/dma_heap/system" : "/dev/dma_heap/reserved", O_RDWR);
      try {
        const { fd } = w.p.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, {
          len: (1 + (a % 40)) * PAGE,
          fd: 0,
          fdFlags: O_RDWR | O_CLOEXEC,
          heapFlags: 0,
        });
        w.fds.push(fd);
        return fd;
      } finally {
        w.p.close(hfd);
      }
    }
    case "close": {
      const fd = take(w.fds, a);
      if (fd === undefined) return "none";
      w.p.close(fd);
      return "ok";
    }
    case "mmapWrite": {
      const fd = pick(w.fds, a);
      if (fd === undefined) return "none";
      const size = w.p.lseek(fd, 0, 2);
      const map = w.p.mmap(fd, size, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      map.write(b % size, new Uint8Array(Math.min(size - (b % size), 1 + (c % 9000))).fill(c & 0xff));
      const out = [map.residentPages, map.read(b % size, 1)[0]];
      if (c % 2) map.munmap();
      return out;
    }
    case "attach": {
      const fd = pick(w.fds, a);
      if (fd === undefined) return "none";
      const buf = w.p.dmaBufGet(fd);
      const att = buf.attach(sys.device(DEVS[b % 3]!));
      try {
        const sgt = buf.mapAttachment(att, "bidirectional");
        w.atts.push({ buf, att, sgt });
        return sgt.nents;
      } catch (e) {
        buf.detach(att);
        buf.put();
        throw e;
      }
    }
    case "detach": {
      const m = take(w.atts, a);
      if (!m) return "none";
      m.buf.unmapAttachment(m.att, m.sgt, "bidirectional");
      m.buf.detach(m.att);
      m.buf.put();
      return "ok";
    }
    case "writePage": {
      const blk = pick(w.blocks, a);
      if (!blk) return "none";
      sys.writePage(blk.pfn, new Uint8Array(1 + (b % 64)).fill(c & 0xff), c % 128);
      return "ok";
    }
    case "exit": {
      // Drivers let go first: a dma-buf's attachments belong to them, not to the process.
      for (const m of w.atts.splice(0)) {
        m.buf.unmapAttachment(m.att, m.sgt, "bidirectional");
        m.buf.detach(m.att);
        m.buf.put();
      }
      w.p.exit();
      w.fds = [];
      w.p = sys.process(`app${a % 5}`, { dmabufLimitBytes: 2 * MIB });
      return "ok";
    }
  }
}

function settle(fn: () => unknown): { ok: unknown } | { err: string } {
  try {
    const ok = fn();
    return { ok: ok === undefined ? null : ok };
  } catch (e) {
    return { err: errorOf(e) };
  }
}

/** Outcomes over every sequence run: the fuzzer must mostly do things, not mostly miss. */
const tally = { steps: 0, ok: 0, none: 0, err: 0 };

async function runSequence(ops: Op[]): Promise<void> {
  const worlds = await Promise.all(
    BACKENDS.map(async (backend) => new World(await createSystem({ ...OPTIONS, backend }))),
  );
  for (const [i, op] of ops.entries()) {
    const outs = worlds.map((w) => settle(() => step(w, op)));
    const where = `step ${i} ${JSON.stringify(op)}`;
    for (const out of outs) if ("err" in out) expect(out.err.startsWith("NOT-A"), `${where}: ${out.err}`).toBe(false);
    expect(outs[1], `${where}: results differ`).toEqual(outs[0]);
    const out = outs[0]!;
    tally.steps++;
    if ("err" in out) tally.err++;
    else if (out.ok === "none") tally.none++;
    else tally.ok++;
    expect(worlds[1]!.sys.stateHash(), `${where}: state hashes differ`).toBe(worlds[0]!.sys.stateHash());
  }
  for (const w of worlds) w.sys.check();
}

describe("differential fuzzing: wasm and ts in lockstep", () => {
  it(
    "random operation sequences agree step by step (results, errors, state hash)",
    async () => {
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), runSequence), {
        numRuns: RUNS || 25,
        seed: RUNS ? undefined : 0x15,
      });
      expect(tally.ok, JSON.stringify(tally)).toBeGreaterThan(tally.steps / 3);
      expect(tally.err, JSON.stringify(tally)).toBeGreaterThan(0);
      if (process.env.DMASIM_FUZZ_VERBOSE) console.log("differential steps", tally);
    },
    RUNS ? 24 * 3600_000 : 120_000,
  );
});

// ---- (b) hostile arguments ------------------------------------------------------------------------

class HostileError extends Error {}
const throwingGetter = Object.defineProperty({}, "x", {
  enumerable: true,
  get() {
    throw new HostileError("getter");
  },
});
const hostileProxy = new Proxy(
  {},
  {
    get() {
      throw new HostileError("proxy get");
    },
    has() {
      throw new HostileError("proxy has");
    },
    ownKeys() {
      throw new HostileError("proxy ownKeys");
    },
    getOwnPropertyDescriptor() {
      throw new HostileError("proxy descriptor");
    },
    getPrototypeOf() {
      throw new HostileError("proxy prototype");
    },
  },
);
/** Values a careless or hostile caller passes. */
const HOSTILE: unknown[] = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  2 ** 53,
  -1,
  1.5,
  2 ** 32,
  10n,
  -1n,
  Symbol("s"),
  null,
  undefined,
  "",
  "1",
  "0x10",
  Object.create(null),
  throwingGetter,
  hostileProxy,
  [],
  [NaN],
  [1, 2],
  new Uint8Array(0),
  true,
  () => 0,
  { length: -1 },
  { len: NaN, fd: 0, fdFlags: 0, heapFlags: 0 },
];
/** Plausible values, so hostile ones also meet otherwise valid calls. */
const PLAUSIBLE: unknown[] = [
  0,
  1,
  2,
  3,
  4,
  64,
  PAGE,
  2 * PAGE,
  "bidirectional",
  "to_device",
  "movable",
  new Uint8Array(8),
];

/** Public methods of a class and their arity, from its published declaration. */
function publicMethods(file: string, cls: string): [string, number][] {
  const path = fileURLToPath(new URL(`../../dist/bindings/${file}.d.ts`, import.meta.url));
  const text = readFileSync(path, "utf8");
  const start = text.indexOf(`declare class ${cls} `);
  expect(start, `${cls} in ${file}.d.ts`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start, text.indexOf("\n}", start));
  const out = new Map<string, number>();
  for (const m of body.matchAll(/^ {4}(\w+)\((.*)$/gm)) {
    const params = (m[2]!.match(/(?:^|, )(?:\.\.\.)?\w+\??: /g) ?? []).length;
    out.set(m[1]!, Math.max(out.get(m[1]!) ?? 0, params, m[2]!.trim() === "" ? 1 : 0));
  }
  return [...out];
}

interface Target {
  cls: string;
  file: string;
  /** A live instance on `sys` (created fresh per call). */
  make(sys: System): object;
  skip?: string[];
}

const TARGETS: Target[] = [
  { cls: "System", file: "system", make: (sys) => sys },
  { cls: "Mm", file: "mm/mm", make: (sys) => sys },
  { cls: "Device", file: "dma/device", make: (sys) => sys.device("gpu") },
  { cls: "Device", file: "dma/device", make: (sys) => sys.device("isa") },
  { cls: "IommuDomain", file: "dma/iommu", make: (sys) => sys.device("gpu").iommu! },
  { cls: "CmaArea", file: "mm/cma", make: (sys) => sys.cma("reserved") },
  { cls: "MovablePage", file: "mm/page", make: (sys) => sys.allocMovable(0)! },
  {
    cls: "DmaBuf",
    file: "dma-buf/dma-buf",
    make(sys) {
      const p = sys.process("owner");
      const hfd = p.open("/dev/dma_heap/system", O_RDWR);
      const { fd } = p.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, { len: 3 * PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 });
      return p.dmaBufGet(fd);
    },
  },
  {
    cls: "Process",
    file: "uapi/process",
    make(sys) {
      const p = sys.process("hostile");
      const hfd = p.open("/dev/dma_heap/system", O_RDWR);
      p.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, { len: 2 * PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 });
      return p;
    },
  },
  {
    cls: "Mapping",
    file: "uapi/process",
    make(sys) {
      const p = sys.process("mapper");
      const hfd = p.open("/dev/dma_heap/system", O_RDWR);
      const { fd } = p.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, { len: 2 * PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 });
      return p.mmap(fd, 2 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
    },
  },
];

/** Outcome of one call: a DmaSimError code with the machine untouched, "ok", or a failure message. */
function hostileCall(sys: System, target: object, method: string, args: unknown[]): string {
  const before = sys.stateHash();
  let thrown: unknown = null;
  let threw = false;
  try {
    (target as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
  } catch (e) {
    thrown = e;
    threw = true;
  }
  if (!threw) {
    sys.check();
    return "ok";
  }
  const code = thrown instanceof HostileError ? "hostile" : errorOf(thrown);
  if (code.startsWith("NOT-A")) return `${method}: ${code}`;
  const after = sys.stateHash();
  if (after !== before) return `${method}: ${code} but the state changed`;
  sys.check();
  return code;
}

describe("hostile arguments: a DmaSimError and an untouched machine, never a TypeError", () => {
  for (const t of TARGETS) {
    const methods = publicMethods(t.file, t.cls).filter(([name]) => !(t.skip ?? []).includes(name));
    it(`${t.cls} (${methods.length} methods)`, async () => {
      expect(methods.length).toBeGreaterThan(0);
      const machines = await Promise.all(BACKENDS.map((backend) => createSystem({ ...OPTIONS, backend })));
      let calls = 0;
      // Indices into HOSTILE / PLAUSIBLE: fast-check never holds (or prints) a Proxy or a throwing getter.
      const argArb = fc.oneof(
        { weight: 3, arbitrary: fc.nat(HOSTILE.length - 1).map((i) => ({ h: i })) },
        { weight: 2, arbitrary: fc.nat(PLAUSIBLE.length - 1).map((i) => ({ p: i })) },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...methods),
          fc.array(argArb, { minLength: 0, maxLength: 5 }),
          fc.nat(HOSTILE.length * 5),
          async ([method, arity], picks, hostileAt) => {
            // Once in a while a fresh machine, so one run's effects do not pile up.
            if (++calls % 40 === 0)
              for (let i = 0; i < machines.length; i++)
                machines[i] = await createSystem({ ...OPTIONS, backend: BACKENDS[i]! });
            // At least one hostile value, at an argument position the method has.
            const n = Math.max(arity, 1);
            const chosen = picks.slice(0, n);
            if (!chosen.some((v) => "h" in v)) chosen[hostileAt % n] = { h: hostileAt % HOSTILE.length };
            const args = () => chosen.map((v) => ("h" in v ? HOSTILE[v.h] : PLAUSIBLE[v.p]));
            const outs = machines.map((sys) => {
              let target: object;
              try {
                target = t.make(sys);
              } catch {
                return "skipped: the machine is full"; // rare; the next fresh machine continues
              }
              return hostileCall(sys, target, method, args());
            });
            if (outs.some((o) => o.startsWith("skipped"))) return;
            for (const out of outs) expect(out.includes(":"), out).toBe(false);
            expect(outs[1], `${method}: backends differ`).toBe(outs[0]);
          },
        ),
        { numRuns: RUNS ? RUNS * 5 : 60, seed: RUNS ? undefined : 0x15 },
      );
    }, 120_000);
  }
});

describe("regressions found by the hostile-argument fuzzer", () => {
  it("each is a DmaSimError (EINVAL/ENODEV/ENOENT) with the machine untouched, on both backends", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ ...OPTIONS, backend });
      const p = sys.process("app");
      const hfd = p.open("/dev/dma_heap/system", O_RDWR);
      const { fd } = p.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, { len: 2 * PAGE, fd: 0, fdFlags: O_RDWR, heapFlags: 0 });
      const buf = p.dmaBufGet(fd);
      const map = p.mmap(fd, 2 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
      const gpu = sys.device("gpu");
      const cases: [string, () => unknown][] = [
        // JSON.stringify() of a BigInt name threw a TypeError while building the message.
        ["ENODEV", () => sys.device(10n as never)],
        ["ENOENT", () => sys.cma(-1n as never)],
        // The table was read (sgt.origNents) before it was checked.
        ["EINVAL", () => gpu.dmaUnmapSgtable(null as never, "bidirectional")],
        ["EINVAL", () => gpu.dmaUnmapSgtable(undefined as never, "bidirectional")],
        // kmaps.get() of a page not kmapped is undefined, which matched a missing map.
        ["EINVAL", () => buf.kunmap(0, undefined as never)],
        ["EINVAL", () => buf.kunmap(Symbol("s") as never, undefined as never)],
        ["EINVAL", () => buf.kunmap(Object.create(null) as never, {} as never)],
        // The result array was sized from the length before the length was checked.
        ["EINVAL", () => map.read(0, Infinity)],
        ["EINVAL", () => map.read(0, 2 ** 53)],
        ["EINVAL", () => map.read(0, 10n as never)],
        ["EINVAL", () => map.read(0, Symbol("s") as never)],
        // The default length read buf.size of whatever was passed.
        ["EINVAL", () => gpu.coherentRead(null as never)],
        ["EINVAL", () => gpu.coherentRead(undefined as never, 0)],
        // Found by a longer run (DMASIM_FUZZ_RUNS=150): the default length computed from a non-number offset.
        ["EINVAL", () => gpu.coherentRead(undefined as never, Object.create(null) as never)],
        ["EINVAL", () => map.read(10n as never)],
        ["EINVAL", () => map.read(Symbol("s") as never)],
        // An array-like with a negative length sized a typed array.
        ["EINVAL", () => sys.freePagesBatch({ length: -1 } as never)],
        ["EINVAL", () => sys.freePagesBatch({ length: 2 ** 53 } as never)],
      ];
      for (const [code, fn] of cases) {
        const before = sys.stateHash();
        let thrown: unknown;
        try {
          fn();
        } catch (e) {
          thrown = e;
        }
        expect(thrown, `${backend}: ${fn.toString()}`).toMatchObject({ name: "DmaSimError", code });
        expect(sys.stateHash()).toBe(before);
      }
      sys.check();
    }
  });
});
