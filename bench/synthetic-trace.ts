// The synthetic ftrace capture that trace-replay replays.
import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import { createRandom } from "dmasim";
import { SEED } from "./constants.ts";
import { formatTraceLine, type TraceEvent } from "./lab-imports.ts";

/**
 * Writes a text ftrace capture (the `trace` file with its header) of `events`
 * mm_page_alloc / mm_page_free events, as formatTraceLine() prints them in the
 * v6.3+ format with the `comm-pid [cpu] flags timestamp:` prefix. The traced
 * machine has 4 GiB (pfns 0..2^20); blocks are of order 0-3 (60/20/12/8%), of
 * migratetype movable, unmovable or reclaimable (50/35/15%), placed at random
 * aligned pfns not in use. The workload ramps up to 56,000 live blocks (about
 * 118,000 pages: 45% of the replay machine) and then allocates and frees around
 * that level; every free is of a live block, with its order. Seeded: the same
 * file on every run.
 */
export function writeSyntheticTrace(path: string, events: number): { allocs: number; frees: number; live: number } {
  const rnd = createRandom(SEED ^ 0x7ace);
  const TRACE_PFNS = 1 << 20;
  const LIVE_TARGET = 56_000;
  const ORDER_CUM = [60, 80, 92, 100];
  const MT_CUM: readonly (readonly [number, number])[] = [
    [50, 1],
    [85, 0],
    [100, 2],
  ]; // cumulative percent, migratetype (v4.4+ enum: 0 unmovable, 1 movable, 2 reclaimable)
  const TASKS = [
    "kworker/u8:3-1187",
    "chrome-4242",
    "kswapd0-97",
    "systemd-journal-311",
    "surfaceflinger-655",
    "cc1-20716",
  ];
  const used = new Uint8Array(TRACE_PFNS);
  const live: number[] = []; // pfn * 4 + order
  const header = [
    "# tracer: nop",
    "#",
    `# entries-in-buffer/entries-written: ${events}/${events}   #P:4`,
    "#",
    "#                                _-----=> irqs-off/BH-disabled",
    "#                               / _----=> need-resched",
    "#                              | / _---=> hardirq/softirq",
    "#                              || / _--=> preempt-depth",
    "#                              ||| / _-=> migrate-disable",
    "#                              |||| /     delay",
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
    "#              | |         |   |||||     |         |",
  ];
  const tmp = `${path}.part`;
  const fd = openSync(tmp, "w");
  let lines = header.slice();
  let timestamp = 5021.5;
  let allocs = 0;
  let frees = 0;
  const event: TraceEvent = { name: "", pfn: 0, order: 0, migratetype: 0, raw: {} };
  for (let n = 0; n < events; n++) {
    const allocPct = live.length < LIVE_TARGET ? 75 : 45;
    if (live.length === 0 || rnd.int(100) < allocPct) {
      let order = 0;
      for (const r = rnd.int(100); r >= ORDER_CUM[order]!;) order++;
      const r = rnd.int(100);
      const mt = MT_CUM.find(([cum]) => r < cum)![1];
      const pages = 1 << order;
      let pfn;
      for (;;) {
        pfn = rnd.int(TRACE_PFNS >> order) << order;
        let free = true;
        for (let i = 0; i < pages; i++) if (used[pfn + i]) free = false;
        if (free) break;
      }
      used.fill(1, pfn, pfn + pages);
      live.push(pfn * 4 + order);
      event.name = "mm_page_alloc";
      event.pfn = pfn;
      event.order = order;
      event.migratetype = mt;
      allocs++;
    } else {
      const i = rnd.int(live.length);
      const x = live[i]!;
      live[i] = live[live.length - 1]!;
      live.pop();
      const pfn = Math.floor(x / 4);
      const order = x & 3;
      used.fill(0, pfn, pfn + (1 << order));
      event.name = "mm_page_free";
      event.pfn = pfn;
      event.order = order;
      frees++;
    }
    timestamp += (1 + rnd.int(40)) / 1e6;
    lines.push(formatTraceLine(event, { task: TASKS[rnd.int(TASKS.length)]!, cpu: rnd.int(4), timestamp }));
    if (lines.length >= 16384) {
      writeSync(fd, `${lines.join("\n")}\n`);
      lines = [];
    }
  }
  if (lines.length) writeSync(fd, `${lines.join("\n")}\n`);
  closeSync(fd);
  renameSync(tmp, path);
  return { allocs, frees, live: live.length };
}
