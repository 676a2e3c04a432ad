import { createSystem, type MovablePage } from "dmasim";
import type { Case } from "../case.ts";
import { MIB, SEED } from "../constants.ts";

export const migrate64mib: Case = {
  name: "migrate-64mib",
  description: "allocContigRange over 64 MiB of movable pages with contents + freeContigRange (256 MiB RAM)",
  replayOps: 3,
  limit: "memcpy",
  bench: { time: 400, warmupTime: 0, warmupIterations: 3, iterations: 12 },
  async make(backend) {
    const sys = await createSystem({ backend, ramBytes: 256 * MIB, seed: SEED, storeContents: true });
    const COUNT = (64 * MIB) / sys.pageSize; // 16384 pages
    const START = COUNT; // [64 MiB, 128 MiB)
    const END = START + COUNT;
    const MAGIC = 0xd3a51a11;
    const marker = new Uint8Array(16);
    const view = new DataView(marker.buffer);
    let live: MovablePage[] = []; // the movable pages that filled the range at the last refill
    let gen = 0;
    let dirty = true;
    // Fill all free memory with movable pages, keep those inside the range, free
    // the rest (and the pages migrated out by the previous op), and tag each kept
    // page with a marker so the replay can check contents follow migration.
    const refill = (): void => {
      gen++;
      const all = live;
      for (let p = sys.allocMovable(0); p !== null; p = sys.allocMovable(0)) all.push(p);
      live = [];
      for (const p of all) {
        const pfn = p.pfn;
        if (pfn >= START && pfn < END) live.push(p);
        else p.free();
      }
      if (live.length !== COUNT) throw new Error(`migrate-64mib: refill left ${live.length}/${COUNT} pages in range`);
      for (const p of live) {
        view.setUint32(0, MAGIC, true);
        view.setUint32(4, p.id, true);
        view.setUint32(8, gen, true);
        view.setUint32(12, (p.id ^ gen ^ MAGIC) >>> 0, true);
        p.write(marker);
      }
      dirty = false;
    };
    refill();
    let sum = 0;
    let ops = 0;
    let verified = 0;
    const migratedAtStart = sys.stats().pgmigrateSuccess;
    return {
      sys,
      prep() {
        if (dirty) refill();
      },
      op() {
        ops++;
        const ret = sys.allocContigRange(START, END, "movable");
        if (ret !== 0) throw new Error(`migrate-64mib: allocContigRange returned ${ret}`);
        sys.freeContigRange(START, COUNT);
        dirty = true;
        sum = (sum + live[0]!.pfn + live[COUNT - 1]!.pfn) >>> 0;
      },
      verify() {
        for (const p of live) {
          const pfn = p.pfn;
          if (pfn >= START && pfn < END) throw new Error(`migrate-64mib: page ${p.id} still in range at ${pfn}`);
          const got = new DataView(p.read(0, 16).buffer);
          if (
            got.getUint32(0, true) !== MAGIC ||
            got.getUint32(4, true) !== p.id ||
            got.getUint32(8, true) !== gen ||
            got.getUint32(12, true) !== (p.id ^ gen ^ MAGIC) >>> 0
          ) {
            throw new Error(`migrate-64mib: contents of page ${p.id} lost in migration (now at pfn ${pfn})`);
          }
          verified++;
        }
      },
      checksum: () => sum,
      bytesPerOp: () => ((sys.stats().pgmigrateSuccess - migratedAtStart) / Math.max(ops, 1)) * sys.pageSize,
      info(res) {
        const migrated = sys.stats().pgmigrateSuccess - migratedAtStart;
        const perOp = migrated / Math.max(ops, 1);
        const mbPerOp = (perOp * sys.pageSize) / 1e6;
        return [
          `ops run (replay + warm-up + measured): ${ops}, pages migrated: ${migrated} (${perOp}/op = ${mbPerOp.toFixed(1)} MB/op), ` +
            `contents verified on ${verified} migrated pages`,
          `migration throughput: ${(mbPerOp * res.throughput.p50).toFixed(0)} MB/s (median op, 1 MB = 10^6 B; op = alloc + free)`,
        ];
      },
    };
  },
};
