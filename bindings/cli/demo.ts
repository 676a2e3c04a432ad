/**
 * `npm start`: CMA lending its memory to movable pages and winning it back.
 *
 *   node dist/bindings/cli/demo.js [--backend wasm|ts] [--seed N]
 *
 * A 256 MiB machine with a 64 MiB CMA area fills up with movable (anonymous)
 * pages, which the CMA-first rule places in the area's pageblocks too; then a
 * camera driver asks the area for six 8 MiB frame buffers, and alloc_contig_range()
 * migrates the borrowed pages out. /proc/buddyinfo and /proc/pagetypeinfo are
 * printed before and after.
 */
import { parseArgs } from "node:util";
import { createSystem, type MovablePage } from "../index.ts";

const MIB = 1024 * 1024;
const FRAME_BYTES = 8 * MIB;
const FRAMES = 6;

function section(title: string): void {
  console.log(`\n=== ${title} ${"=".repeat(Math.max(0, 70 - title.length))}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: "string", default: "wasm" },
      seed: { type: "string", default: "1" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log("usage: npm start -- [--backend wasm|ts] [--seed N]");
    return;
  }
  const backend = values.backend === "ts" ? "ts" : "wasm";
  const sys = await createSystem({
    backend,
    seed: Number(values.seed),
    ramBytes: 256 * MIB,
    cma: [{ name: "reserved", bytes: 64 * MIB }],
  });
  const area = sys.cma("reserved");
  const areaEnd = area.basePfn + area.count;
  console.log(
    `dmasim demo (${backend} backend, seed ${sys.seed}): ${sys.ramBytes / MIB} MiB RAM, CMA area "${area.name}" ` +
      `${area.sizeBytes / MIB} MiB at pfn ${area.basePfn}..${areaEnd - 1}`,
  );

  section("after boot: /proc/buddyinfo");
  process.stdout.write(sys.readFile("/proc/buddyinfo"));

  // Userspace fills memory: anonymous pages (movable), with kernel allocations mixed in.
  const anon: MovablePage[] = [];
  let kernelPages = 0;
  for (;;) {
    if (sys.random.int(10) === 0) {
      if (sys.allocPages(sys.random.int(3), sys.random.int(2) ? "unmovable" : "reclaimable") === null) break;
      kernelPages++;
      continue;
    }
    const page = sys.allocMovable(0);
    if (!page) break;
    page.write(new Uint8Array([page.id & 0xff, (page.id >> 8) & 0xff]));
    anon.push(page);
  }
  // Some processes exit: a third of the anonymous pages are freed.
  for (let i = anon.length - 1; i >= 0; i--) {
    if (sys.random.int(3) === 0) {
      anon[i]!.free();
      anon[i] = anon[anon.length - 1]!;
      anon.pop();
    }
  }
  const inCma = anon.filter((p) => p.pfn >= area.basePfn && p.pfn < areaEnd).length;
  section("memory in use: CMA pageblocks lent to movable pages");
  console.log(
    `${anon.length} anonymous pages live, ${inCma} of them (${((inCma * sys.pageSize) / MIB).toFixed(1)} MiB) in the CMA area; ` +
      `${kernelPages} kernel allocations; ${sys.stats().nrFreePages} pages free`,
  );
  process.stdout.write(sys.readFile("/proc/buddyinfo"));
  process.stdout.write(sys.readFile("/proc/pagetypeinfo"));

  section(`camera: ${FRAMES} frame buffers of ${FRAME_BYTES / MIB} MiB from CMA`);
  const frames: number[] = [];
  const count = FRAME_BYTES / sys.pageSize;
  for (let i = 0; i < FRAMES; i++) {
    const before = area.stats.pagesMigrated;
    const t0 = performance.now();
    const pfn = area.alloc(count, 8);
    const ms = performance.now() - t0;
    if (pfn === null) {
      process.stdout.write(area.failureMessage(count) + area.debugShowAreas());
      continue;
    }
    frames.push(pfn);
    console.log(
      `frame ${i}: pfn ${pfn}..${pfn + count - 1}, migrated ${area.stats.pagesMigrated - before} pages in ${ms.toFixed(1)} ms`,
    );
  }
  const intact = anon.every((p) => {
    const b = p.read(0, 2);
    return b[0] === (p.id & 0xff) && b[1] === ((p.id >> 8) & 0xff);
  });
  console.log(`every anonymous page still holds its data at its new place: ${intact}`);
  sys.check();

  section("after the camera won its memory back");
  process.stdout.write(sys.readFile("/proc/buddyinfo"));
  process.stdout.write(sys.readFile("/proc/pagetypeinfo"));
  process.stdout.write(area.debugShowAreas());
  const st = area.stats;
  console.log(
    `cma stats: ${st.allocsSucceeded} allocations ok, ${st.allocsFailed} failed, ${st.pagesMigrated} pages migrated, ${st.busyRetries} busy retries`,
  );
  process.stdout.write(sys.readFile("/proc/vmstat"));

  for (const pfn of frames) area.release(pfn, count);
  sys.check();
  console.log(`\nframes released; state hash ${sys.stateHash()} (the same on --backend ts)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
