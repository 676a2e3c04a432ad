import { createSystem } from "dmasim";
import type { Case } from "../case.ts";
import { GIB, MIB, SEED } from "../constants.ts";

export const iovaAllocFree: Case = {
  name: "iova-alloc-free",
  description:
    "IommuDomain.allocIova(1-16 pages) + freeIova() of the same range, ARM-style domain, 1 GiB IOVA space half filled with 1-64-page allocations, a seeded half of the 1-8-page ones freed",
  replayOps: 1000,
  // Ops of 1-8 pages take well under a microsecond, 9-16-page ones far longer:
  // each sample times a batch (see buddy-order0), so that it covers the mix of sizes.
  batch: 256,
  bench: { time: 3000, warmupTime: 500, warmupIterations: 200, iterations: 64 },
  async make(backend) {
    const sys = await createSystem({
      backend,
      ramBytes: 256 * MIB,
      seed: SEED,
      storeContents: false,
      // The seed's ARM bitmap allocator (first fit from the bottom): what this case has always measured.
      // dma-iommu domains (iova.c) serve these sizes from their range caches.
      devices: [{ name: "iommu-dev", iommu: { base: 0, size: GIB, style: "arm" } }],
    });
    const io = sys.device("iommu-dev").iommu;
    if (!io) throw new Error("iova-alloc-free: iommu-dev has no IOMMU domain");
    const rnd = sys.random;
    const page = sys.pageSize;
    const spacePages = io.size / page; // 262144
    // Fill: a seeded mix of 1-64-page allocations (first fit from the bottom,
    // each aligned to its order, which leaves alignment gaps) up to half the
    // space; then release a seeded half of the small ones (1-8 pages). Requests
    // up to 8 pages find those holes near the bottom; 9-16-page requests need a
    // free 16-aligned run and scan past holes and gaps, through full bitmap
    // extensions, far up the used half (see the first-fit line of the report).
    const target = spacePages / 2;
    const held: number[] = []; // addr, pages, addr, pages, ...
    let used = 0;
    while (used < target) {
      const n = 1 + rnd.int(64);
      const addr = io.allocIova(n * page);
      if (addr === null) throw new Error(`iova-alloc-free: fill failed at ${used}/${spacePages} pages`);
      held.push(addr, n);
      used += n;
    }
    const allocated = held.length / 2;
    let highWater = 0;
    for (let i = 0; i < held.length; i += 2) highWater = Math.max(highWater, held[i]! / page + held[i + 1]!);
    let holes = 0;
    for (let i = 0; i < held.length; i += 2) {
      if (held[i + 1]! <= 8 && rnd.int(2) === 0) {
        io.freeIova(held[i]!, held[i + 1]! * page);
        used -= held[i + 1]!;
        holes++;
      }
    }
    const inUse = io.iovaBytesInUse / page;
    if (inUse !== used) throw new Error(`iova-alloc-free: ${inUse} IOVA pages in use, expected ${used}`);
    // The seeded op sizes, and where each size fits first (a steady state: every op frees what it took).
    const sizes = Array.from({ length: 4096 }, () => 1 + rnd.int(16));
    const firstFit: number[] = [];
    for (let n = 1; n <= 16; n++) {
      const addr = io.allocIova(n * page);
      if (addr === null) throw new Error(`iova-alloc-free: no room for ${n} pages after set-up`);
      io.freeIova(addr, n * page);
      firstFit.push(addr / page);
    }
    const extensions = io.extensions;
    let k = 0;
    let sum = 0;
    let ops = 0;
    let failed = 0;
    const last = { addr: 0, n: 0 };
    return {
      sys,
      op() {
        ops++;
        const n = sizes[k++ & 4095]!;
        const bytes = n * page;
        const addr = io.allocIova(bytes);
        if (addr === null) {
          failed++;
          return;
        }
        sum = (sum + addr / page) >>> 0;
        io.freeIova(addr, bytes);
        last.addr = addr;
        last.n = n;
      },
      verify() {
        if (failed > 0) throw new Error("iova-alloc-free: an allocation failed");
        const { addr, n } = last;
        const align = 2 ** Math.min(Math.ceil(Math.log2(n)), 8);
        if (addr % (align * page) !== 0 || addr + n * page > io.size) {
          throw new Error(`iova-alloc-free: ${n} pages at 0x${addr.toString(16)}: misaligned or outside the space`);
        }
        if (addr / page !== firstFit[n - 1])
          throw new Error(`iova-alloc-free: ${n} pages at page ${addr / page}, first fit is ${firstFit[n - 1]}`);
        if (io.iovaBytesInUse / page !== used)
          throw new Error(`iova-alloc-free: ${io.iovaBytesInUse / page} pages in use after the op, expected ${used}`);
      },
      checksum: () => sum,
      info() {
        const now = io.iovaBytesInUse / page;
        return [
          `setup: ${allocated} allocations of 1-64 pages (high-water mark page ${highWater} of ${spacePages}), ` +
            `${holes} small ones freed again; ${used}/${spacePages} pages in use; ${extensions} bitmap extensions of ${page * 8} pages`,
          `first fit (IOVA page) for 1..16 pages: ${firstFit.join(" ")}`,
          `ops run (replay + warm-up + measured): ${ops}, failed allocs: ${failed}, pages in use now ${now} ` +
            `(${now === used ? "steady" : "DRIFTED"})`,
        ];
      },
    };
  },
};
