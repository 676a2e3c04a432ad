import { IOMMU_PAGE_SIZES, createSystem, sgAllocTableFromPages, type SgTable } from "dmasim";
import type { Case } from "../case.ts";
import { GIB, MIB, SEED } from "../constants.ts";

export const sgBuildMap: Case = {
  name: "sg-build-map",
  description:
    "sgAllocTableFromPages() over 1 GiB of scattered pages (262144 pfns in runs of 1-4) + dmaMapSg(bidirectional) + dmaUnmapSg(), " +
    "dma-iommu style, 2 GiB IOVA space, 4 GiB RAM without contents; one table, one IOVA range",
  replayOps: 2,
  // One op takes ~80-100 ms: at least 4 s and 16 samples, after the replay and 4 warm-up iterations.
  bench: { time: 4000, warmupTime: 0, warmupIterations: 4, iterations: 16 },
  async make(backend) {
    const sys = await createSystem({
      backend,
      ramBytes: 4 * GIB,
      seed: SEED,
      storeContents: false,
      devices: [{ name: "iommu-dev", iommu: { base: 0, size: 2 * GIB, style: "dma-iommu" } }],
    });
    const dev = sys.device("iommu-dev");
    const io = dev.iommu;
    if (!io) throw new Error("sg-build-map: iommu-dev has no IOMMU domain");
    const rnd = sys.random;
    const page = sys.pageSize;
    const PAGES = GIB / page; // 262144
    // The buffer: runs of 1-4 consecutive pfns at random places, no two runs
    // touching, so each run is one scatterlist entry. (Synthetic pfns: nothing
    // on the map path consults the page allocator.)
    const taken = new Uint8Array(sys.nrPages);
    const pfns: number[] = [];
    const runs: number[] = [];
    while (pfns.length < PAGES) {
      const len = Math.min(1 + rnd.int(4), PAGES - pfns.length);
      const start = 1 + rnd.int(sys.nrPages - len - 1);
      let free = true;
      for (let p = start - 1; p <= start + len; p++) if (taken[p]) free = false;
      if (!free) continue;
      for (let p = start; p < start + len; p++) {
        taken[p] = 1;
        pfns.push(p);
      }
      runs.push(len);
    }
    // dma-iommu maps the whole table into one IOVA range (one bitmap, no extensions).
    const TABLE_PAGES = PAGES;
    const TABLES = PAGES / TABLE_PAGES;
    const slices = Array.from({ length: TABLES }, (_, t) => pfns.slice(t * TABLE_PAGES, (t + 1) * TABLE_PAGES));
    // Expected entries and device segments per table (__finalise_sg(): page-aligned
    // entries concatenate while the segment stays within the max segment size).
    const expected = slices.map((slice) => {
      let entries = 0;
      let segments = 0;
      let cur = 0;
      for (let i = 0; i < slice.length;) {
        let j = i + 1;
        while (j < slice.length && slice[j] === slice[j - 1]! + 1) j++;
        const len = (j - i) * page;
        entries++;
        if (cur && dev.maxSegmentSize - cur >= len) cur += len;
        else {
          segments++;
          cur = len;
        }
        i = j;
      }
      return { entries, segments };
    });
    let sum = 0;
    let ops = 0;
    const last = { nents: [] as number[], segments: [] as number[], addrs: [] as number[], ptes: [] as number[][] };
    return {
      sys,
      op() {
        ops++;
        const tables: SgTable[] = [];
        for (let t = 0; t < TABLES; t++) {
          const sgt = sgAllocTableFromPages(slices[t]!, 0, TABLE_PAGES * page, undefined, { system: sys });
          const n = dev.dmaMapSg(sgt, "bidirectional");
          if (n === 0) throw new Error(`sg-build-map: dmaMapSg failed on table ${t}`);
          const addr = sgt.entries[0]!.dmaAddress!; // set by dmaMapSg()
          sum = (sum + sgt.origNents + n + addr / page) >>> 0;
          last.nents[t] = sgt.origNents;
          last.segments[t] = n;
          last.addrs[t] = addr;
          last.ptes[t] = dev.lastIommuEntries.slice();
          tables.push(sgt);
        }
        for (const sgt of tables) dev.dmaUnmapSg(sgt, sgt.origNents, "bidirectional");
      },
      verify() {
        for (let t = 0; t < TABLES; t++) {
          const want = expected[t]!;
          if (last.nents[t] !== want.entries || last.segments[t] !== want.segments) {
            throw new Error(
              `sg-build-map: table ${t}: ${last.nents[t]} entries / ${last.segments[t]} segments, expected ${want.entries} / ${want.segments}`,
            );
          }
          // iova.c hands out size-aligned ranges top-down: table t sits t + 1 tables below the domain end.
          if (last.addrs[t] !== io.size - (t + 1) * TABLE_PAGES * page)
            throw new Error(`sg-build-map: table ${t} mapped at 0x${last.addrs[t]!.toString(16)}`);
          const mapped = last.ptes[t]!.reduce((s, k, c) => s + k * Math.max(1, IOMMU_PAGE_SIZES[c]! / page), 0);
          if (mapped !== TABLE_PAGES)
            throw new Error(`sg-build-map: table ${t}: page-table entries cover ${mapped} pages`);
        }
        if (io.iovaBytesInUse !== 0 || io.entries.some((k) => k !== 0))
          throw new Error("sg-build-map: IOVA space or page table not empty after unmap");
      },
      checksum: () => sum,
      pagesPerOp: () => PAGES,
      info() {
        const entries = expected.reduce((s, e) => s + e.entries, 0);
        const segments = expected.reduce((s, e) => s + e.segments, 0);
        return [
          `setup: ${PAGES} pfns in ${runs.length} runs of 1-4 pages out of ${sys.nrPages}`,
          `per op: ${TABLES} tables of ${TABLE_PAGES} pages, ${entries} entries, ${segments} device segments (max segment ${dev.maxSegmentSize}), ` +
            `all ${TABLES} mapped at once (${(TABLES * TABLE_PAGES * page) / MIB} MiB of IOVA), then unmapped`,
          `ops run (replay + warm-up + measured): ${ops}, map errors: ${dev.counters.mapErrors}, bitmap extensions: ${io.extensions}`,
        ];
      },
    };
  },
};
