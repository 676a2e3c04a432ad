import { describe, expect, it } from "vitest";
import { createSystem, setPageblockMigratetype, type System } from "dmasim";
import { BACKENDS, dmaSimErrorOf, expectUntouched, internals, onBoth } from "../helpers.ts";

// Per-cpu page lists, Linux 6.12 mm/page_alloc.c. Every expected value below is
// derived by hand from the kernel's rules for the default machine:
//
//   256 MiB of 4 KiB pages: one Normal zone of 65536 managed pages, all free
//   after boot as 64 order-10 blocks, queued to the tail (FPI_TO_TAIL) in pfn
//   order, so __rmqueue_smallest() splits the block at pfn 0 first and hands
//   out pfns 0, 1, 2, ... in ascending order (expand() queues the upper halves).
//
//   Watermarks: min_free_kbytes = int_sqrt(262144 KiB * 16) = 2048 KiB = 512
//   pages; low = 512 + max(512 / 4, 65536 * 10 / 10000) = 640; high = 768.
//
//   zone_batchsize(): min(65536 >> 10, 1 MiB / 4 KiB) = 64; / 4 = 16;
//     rounddown_pow_of_two(16 + 8) - 1 = 15.
//   zone_highsize(): high_min = low / cpus = 640 (>= 4 * 15 = 60);
//     high_max = (65536 / MIN_PERCPU_PAGELIST_HIGH_FRACTION) / cpus = 8192.
//   calculate_normal_threshold(): mem = 65536 >> (27 - 12) = 2;
//     2 * fls(cpus) * (1 + fls(2)) = 2 * 1 * 3 = 6 with one CPU, 12 with two.
//   pcp->high starts at BOOT_PAGESET_HIGH (0): pageset_update() sets batch,
//   high_min and high_max only; the first use clamps high into [min, max].
const TOTAL = 65536;

function pcp0(sys: System) {
  return sys.pcp()[0]!;
}

describe("pageset sizing (zone_batchsize, zone_highsize, pageset_update)", () => {
  it("sizes the default machine's pagesets and leaves high at 0 until first use", async () => {
    const r = await onBoth({}, (sys) => ({ pcp: sys.pcp(), fraction: sys.percpuPagelistHighFraction }));
    expect(r.pcp).toEqual([{ cpu: 0, count: 0, high: 0, batch: 15, highMin: 640, highMax: 8192 }]);
    expect(r.fraction).toBe(0);
  });

  it("splits high across CPUs: cpus 2 halves high_min and high_max", async () => {
    const r = await onBoth({ cpus: 2 }, (sys) => sys.pcp());
    // 640 / 2 = 320; 8192 / 2 = 4096.
    expect(r.map((p) => [p.cpu, p.batch, p.highMin, p.highMax])).toEqual([
      [0, 15, 320, 4096],
      [1, 15, 320, 4096],
    ]);
  });

  it("percpu_pagelist_high_fraction sets high_min = high_max = managed / fraction / cpus", async () => {
    await onBoth({}, (sys) => {
      sys.writeFile("/proc/sys/vm/percpu_pagelist_high_fraction", "8\n");
      // 65536 / 8 = 8192 for both (auto-tuning off).
      expect(pcp0(sys)).toMatchObject({ highMin: 8192, highMax: 8192, batch: 15 });
      sys.writeFile("/proc/sys/vm/percpu_pagelist_high_fraction", "100");
      // 65536 / 100 = 655.
      expect(pcp0(sys)).toMatchObject({ highMin: 655, highMax: 655 });
      sys.writeFile("/proc/sys/vm/percpu_pagelist_high_fraction", "2000");
      // 65536 / 2000 = 32 < 4 * batch: max(32, 60) = 60.
      expect(pcp0(sys)).toMatchObject({ highMin: 60, highMax: 60 });
      expect(sys.readFile("/proc/sys/vm/percpu_pagelist_high_fraction")).toBe("2000\n");
      // Back to 0: the low-watermark sizing again.
      sys.writeFile("/proc/sys/vm/percpu_pagelist_high_fraction", "0");
      expect(pcp0(sys)).toMatchObject({ highMin: 640, highMax: 8192 });
    });
  });

  it("refuses fractions 1..7 and negative ones with EINVAL, changing nothing", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ backend });
      sys.allocPages(0);
      for (const text of ["7", "1", "-1", "abc", ""]) {
        expectUntouched(sys, "EINVAL", () => sys.writeFile("/proc/sys/vm/percpu_pagelist_high_fraction", text));
      }
      expectUntouched(sys, "EINVAL", () => sys.setPercpuPagelistHighFraction(3));
      expect(sys.readFile("/proc/sys/vm/percpu_pagelist_high_fraction")).toBe("0\n");
      expect(pcp0(sys)).toMatchObject({ highMin: 640, highMax: 8192 });
    }
    for (const bad of [1, 7, -8]) {
      await expect(createSystem({ percpuPagelistHighFraction: bad })).rejects.toMatchObject({ code: "EINVAL" });
    }
  });
});

describe("rmqueue_pcplist(): refills by batch, serves LIFO", () => {
  it("refills an empty list with batch pages from the buddy lists; they leave NR_FREE_PAGES", async () => {
    const r = await onBoth({}, (sys) => {
      // First order-0 movable allocation: nr_pcp_alloc(): high = clamp(0, 640,
      // 8192) = 640, raised by batch (not below the high watermark) to 655;
      // max_nr_alloc = max(655 - 0 - 15, 15) = 640 >= 15, so alloc_factor
      // becomes 1 and batch stays 15. rmqueue_bulk() takes pfns 0..14 onto the
      // tail of the list; the first (0) is handed out, 14 stay.
      const first = sys.allocMovable()!.pfn;
      const after1 = { pcp: pcp0(sys), free: sys.stats().nrFreePages, state: sys.pageInfo(1).state };
      // 14 more allocations empty the list (pfns 1..14); the 16th refills with
      // 15 << alloc_factor(1) = 30 (high 655 + 30 = 685, max_nr_alloc 670):
      // pfns 15..44, alloc_factor 2.
      const pfns = [first];
      for (let i = 0; i < 15; i++) pfns.push(sys.allocMovable()!.pfn);
      return { after1, pfns, pcp: pcp0(sys), free: sys.stats().nrFreePages, pageInfo44: sys.pageInfo(44).state };
    });
    expect(r.after1).toEqual({
      pcp: { cpu: 0, count: 14, high: 655, batch: 15, highMin: 640, highMax: 8192 },
      free: TOTAL - 15,
      state: "pcp",
    });
    expect(r.pfns).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(r.pcp).toMatchObject({ count: 29, high: 685 });
    expect(r.free).toBe(TOTAL - 45);
    expect(r.pageInfo44).toBe("pcp");
  });

  it("hands the last freed page out first (LIFO through the pcp list)", async () => {
    const r = await onBoth({}, (sys) => {
      const a = sys.allocPages(0, "movable")!; // 0 (list: 1..14)
      const b = sys.allocPages(0, "movable")!; // 1 (list: 2..14)
      sys.freePages(a); // list_add() at the head: 0, 2..14
      sys.freePages(b); // 1, 0, 2..14
      const freeWhileOnPcp = sys.stats().nrFreePages;
      const next = [sys.allocPages(0, "movable"), sys.allocPages(0, "movable"), sys.allocPages(0, "movable")];
      const s = sys.stats();
      return { next, freeWhileOnPcp, pgalloc: s.pgalloc, pgfree: s.pgfree };
    });
    // Freed pages stay off NR_FREE_PAGES: 65536 - 15 throughout.
    expect(r.freeWhileOnPcp).toBe(TOTAL - 15);
    expect(r.next).toEqual([1, 0, 2]);
    // PGALLOC per allocation, PGFREE at free_unref_page_commit(): 5, and 2 on
    // top of boot's 65536 (__free_pages_core() of every page).
    expect([r.pgalloc, r.pgfree]).toEqual([5, TOTAL + 2]);
  });

  it("without pcp lists (pcp: false) the freed pages merge back at once", async () => {
    const r = await onBoth({ pcp: false }, (sys) => {
      const a = sys.allocPages(0, "movable")!;
      const b = sys.allocPages(0, "movable")!;
      sys.freePages(a);
      sys.freePages(b); // merges 0..1023 again
      return { next: sys.allocPages(0, "movable"), pcp: pcp0(sys), free: sys.stats().nrFreePages };
    });
    expect(r.next).toBe(0);
    expect(r.pcp.count).toBe(0);
    expect(r.free).toBe(TOTAL - 1);
  });
});

describe("free_unref_page_commit(): count reaching high returns nr_pcp_free() pages", () => {
  it("drains 20, 40, then 50 pages from the list's tail as frees run in a row", async () => {
    // percpu_pagelist_high_fraction 1000: high_min = high_max = max(65536 / 1000, 60) = 65.
    // 100 allocations: refills of 15 (alloc_factor 0→1), 30 (1→2), then 50 and
    // 50 (15 << 2 = 60 > max_nr_alloc = 65 - 15 = 50): 145 pages taken from the
    // buddy lists, pfns 0..99 handed out, 45 (100..144) left on the list.
    // Freeing 0..99 in order: count climbs from 45 by one a free; free_count
    // counts the frees in a row. At count == high (65):
    //   free #20: nr_pcp_free = clamp(free_count 20, batch 15, high - batch 50) = 20 → 45
    //   free #40: clamp(40, 15, 50) = 40 → 25
    //   free #80: clamp(80, 15, 50) = 50 → 15
    // and 20 more frees leave 35.
    const r = await onBoth({ percpuPagelistHighFraction: 1000 }, (sys) => {
      const pfns: number[] = [];
      for (let i = 0; i < 100; i++) pfns.push(sys.allocPages(0, "movable")!);
      const before = { count: pcp0(sys).count, free: sys.stats().nrFreePages };
      const drains: [number, number][] = [];
      let last = pcp0(sys).count;
      pfns.forEach((pfn, i) => {
        sys.freePages(pfn);
        const now = pcp0(sys).count;
        if (now < last) drains.push([i + 1, now]);
        last = now;
      });
      return { pfns, before, drains, count: last, free: sys.stats().nrFreePages, pgfree: sys.stats().pgfree };
    });
    expect(r.pfns).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.before).toEqual({ count: 45, free: TOTAL - 145 });
    expect(r.drains).toEqual([
      [20, 45],
      [40, 25],
      [80, 15],
    ]);
    expect(r.count).toBe(35);
    expect(r.free).toBe(TOTAL - 35);
    expect(r.pgfree).toBe(TOTAL + 100); // boot's frees, then one PGFREE a free, none at the drains
  });

  it("keeps THP-order blocks on their own list and returns whole blocks", async () => {
    // allocPages(9, movable): pcp_allowed_order(9) (pageblock order = HPAGE_PMD_ORDER).
    // nr_pcp_alloc(order 9): batch 15, high 640 + 15 = 655; scaled: max(15 >> 9, 2) = 2.
    // rmqueue_bulk() splits block 0 of order 10: pfns 0 and 512; 0 is handed out.
    // Freeing it: list_add() → [0, 512], count 1024 >= high 655: nr_pcp_free =
    // clamp(free_count 512, 15, 640) = 512 → the tail block (512) goes back whole.
    const r = await onBoth({}, (sys) => {
      const pfn = sys.allocPages(9, "movable")!;
      const held = { count: pcp0(sys).count, free: sys.stats().nrFreePages, at512: sys.pageInfo(512) };
      sys.freePages(pfn, 9);
      return { pfn, held, count: pcp0(sys).count, free: sys.stats().nrFreePages, at0: sys.pageInfo(0).state };
    });
    expect(r.pfn).toBe(0);
    expect(r.held).toMatchObject({ count: 512, free: TOTAL - 1024, at512: { state: "pcp", order: 9 } });
    expect(r.count).toBe(512);
    expect(r.free).toBe(TOTAL - 512);
    expect(r.at0).toBe("pcp");
  });
});

describe("per-CPU separation (cpus: 2)", () => {
  it("each CPU refills and reuses its own lists", async () => {
    const r = await onBoth({ cpus: 2 }, (sys) => {
      const a0 = sys.allocPages(0, "movable", { cpu: 0 })!; // cpu 0 takes 0..14, hands out 0
      const a1 = sys.allocPages(0, "movable", { cpu: 1 })!; // cpu 1 takes 15..29, hands out 15
      sys.freePages(a1, 0, { cpu: 1 }); // back on cpu 1's list
      const b0 = sys.allocPages(0, "movable", { cpu: 0 }); // cpu 0: 1
      const b1 = sys.allocPages(0, "movable", { cpu: 1 }); // cpu 1: 15 again
      sys.freePages(b1!, 0, { cpu: 0 }); // freed on cpu 0: onto cpu 0's list
      return { a0, a1, b0, b1, pcp: sys.pcp().map((p) => [p.count, p.high]), zoneinfo: pagesets(sys) };
    });
    expect([r.a0, r.a1, r.b0, r.b1]).toEqual([0, 15, 1, 15]);
    // cpu 0: 13 left of its refill + 15 freed on it = 14; cpu 1: 14 after its refill,
    // +1 free, -1 allocation. high: 320 + 15 = 335 on both (first use raises by batch).
    expect(r.pcp).toEqual([
      [14, 335],
      [14, 335],
    ]);
    expect(r.zoneinfo).toBe(
      [
        "  pagesets",
        "    cpu: 0",
        "              count: 14",
        "              high:  335",
        "              batch: 15",
        "  vm stats threshold: 12",
        "    cpu: 1",
        "              count: 14",
        "              high:  335",
        "              batch: 15",
        "  vm stats threshold: 12",
      ].join("\n"),
    );
  });

  it("prints the boot pageset's high of 0 for an unused CPU", async () => {
    const text = await onBoth({}, (sys) => pagesets(sys));
    expect(text).toBe(
      [
        "  pagesets",
        "    cpu: 0",
        "              count: 0",
        "              high:  0",
        "              batch: 15",
        "  vm stats threshold: 6",
      ].join("\n"),
    );
  });
});

describe("decay_pcp_high() from the vmstat worker (every simulated second)", () => {
  it("lowers a stale high by an eighth a second, then returns what count exceeds", async () => {
    // percpu_pagelist_high_fraction 8: high_min = high_max = 8192 (no auto-tuning).
    // 1000 allocations: refills of 15, 30, 60, 120, 240 (alloc_factor 1..5), then
    // 480 and 480 (15 << 5): 1425 pages taken, 425 left on the list. 1000 frees
    // bring count to 1425, below high: nothing drains.
    // Writing 1000: high_min = high_max = max(65536 / 1000, 60) = 65, but
    // pageset_update() leaves pcp->high at 8192. Each second decay_pcp_high():
    //   high = max3(count - (batch << 5) = 945, high - high / 8, 65)
    //   8192 → 7168 → 6272 → 5488 → 4802 → 4202 → 3677 → 3218 → 2816 → 2464
    //        → 2156 → 1887 → 1652 → 1446 (13 s: still above count, nothing drained)
    //   14 s: 1446 - 180 = 1266 → 159 pages drained (count 1266)
    //   15 s: max(786, 1266 - 158 = 1108) → 158 drained; 16 s: 970 → 138 drained.
    const r = await onBoth({ percpuPagelistHighFraction: 8 }, (sys) => {
      const pfns: number[] = [];
      for (let i = 0; i < 1000; i++) pfns.push(sys.allocPages(0, "movable")!);
      for (const pfn of pfns) sys.freePages(pfn);
      const before = pcp0(sys);
      sys.writeFile("/proc/sys/vm/percpu_pagelist_high_fraction", "1000");
      const highs: [number, number][] = [];
      for (let s = 1; s <= 16; s++) {
        sys.advanceTime(1000);
        highs.push([pcp0(sys).high, pcp0(sys).count]);
      }
      return { before, highs, free: sys.stats().nrFreePages };
    });
    expect(r.before).toMatchObject({ count: 1425, high: 8192 });
    expect(r.highs.map(([h]) => h)).toEqual([
      7168, 6272, 5488, 4802, 4202, 3677, 3218, 2816, 2464, 2156, 1887, 1652, 1446, 1266, 1108, 970,
    ]);
    expect(r.highs.slice(12).map(([, c]) => c)).toEqual([1425, 1266, 1108, 970]);
    expect(r.free).toBe(TOTAL - 970);
  });

  it("does nothing without pcp lists, and leaves a settled pageset alone", async () => {
    const r = await onBoth({}, (sys) => {
      sys.freePages(sys.allocPages(0, "movable")!); // count 15, high 655
      sys.advanceTime(1000); // 655 → max3(15 - 480, 655 - 81, 640) = 640
      const first = pcp0(sys);
      sys.advanceTime(60_000); // high == high_min, count below it: nothing left to do
      return { first, later: pcp0(sys) };
    });
    expect(r.first).toMatchObject({ count: 15, high: 640 });
    expect(r.later).toEqual(r.first);
  });
});

/** The pagesets block of the Normal zone in /proc/zoneinfo. */
function pagesets(sys: System): string {
  const text = sys.readFile("/proc/zoneinfo");
  const normal = text.slice(text.indexOf("zone   Normal"));
  const lines = normal.split("\n");
  const from = lines.indexOf("  pagesets");
  const to = lines.findIndex((l) => l.startsWith("  node_unreclaimable"));
  return lines.slice(from, to).join("\n");
}

describe("drains", () => {
  it("alloc_contig_range() drains every CPU's lists of the zone first", async () => {
    // cpu 0 holds pfn 0 (owned, movable) and 1..14 on its list; cpu 1 holds 15..29
    // after taking and freeing 15. alloc_contig_range(0, 32): the pageblock
    // [0, 512) is isolated (has_unmovable_pages(): pcp pages have no refcount),
    // drain_all_pages() returns both CPUs' pages to the (isolated) free lists,
    // pfn 0 migrates: its target comes through cpu 0's empty list, refilled from
    // the next pageblock with 15 << alloc_factor (1, from the first refill) = 30
    // pages (512..541; high 655 + 30 = 685, max_nr_alloc 670), so it lands on
    // 512 and 513..541 stay listed.
    const r = await onBoth({ cpus: 2 }, (sys) => {
      const page = sys.allocMovable()!;
      sys.freePages(sys.allocPages(0, "movable", { cpu: 1 })!, 0, { cpu: 1 });
      const before = sys.pcp().map((p) => p.count);
      const ret = sys.allocContigRange(0, 32);
      return { ret, before, after: sys.pcp().map((p) => p.count), moved: page.pfn, at513: sys.pageInfo(513).state };
    });
    expect(r.ret).toBe(0);
    expect(r.before).toEqual([14, 15]);
    expect(r.after).toEqual([29, 0]);
    expect(r.moved).toBe(512);
    expect(r.at513).toBe("pcp");
  });

  it("start_isolate_page_range() alone does not drain: pcp pages keep the range busy", async () => {
    // 6.12's set_migratetype_isolate() leaves draining to its callers.
    const r = await onBoth({}, (sys) => {
      sys.allocPages(0, "movable"); // 0; 1..14 on the list
      const isolated = sys.isolatePageRange(512, 1024); // nothing on pcp lists there
      sys.undoIsolatePageRange(512, 1024);
      sys.isolatePageRange(0, 512);
      const busy = sys.testPagesIsolated(1, 512);
      sys.drainPages(); // drain_all_pages(): now 1..511 are free on the isolated lists
      const afterDrain = sys.testPagesIsolated(1, 512);
      sys.undoIsolatePageRange(0, 512);
      return { isolated, busy, afterDrain };
    });
    expect(r.isolated).toBe(0);
    expect(r.busy).toBe(-16); // -EBUSY
    expect(r.afterDrain).toBe(0);
  });

  it("drainPages() empties the lists back into NR_FREE_PAGES, chunk by chunk", async () => {
    const r = await onBoth({ cpus: 2 }, (sys) => {
      const pfns = [sys.allocPages(0, "movable")!, sys.allocPages(0, "movable", { cpu: 1 })!];
      sys.drainPages({ cpu: 1 }); // drain_local_pages() on cpu 1 only
      const afterLocal = sys.pcp().map((p) => p.count);
      sys.drainPages();
      return { pfns, afterLocal, after: sys.pcp().map((p) => p.count), free: sys.stats().nrFreePages };
    });
    expect(r.pfns).toEqual([0, 15]);
    expect(r.afterLocal).toEqual([14, 0]);
    expect(r.after).toEqual([0, 0]);
    expect(r.free).toBe(TOTAL - 2);
  });
});

describe("bad input", () => {
  it("rejects bad cpus and pcp options at createSystem", async () => {
    for (const cpus of [0, -1, 1.5, 257, "2"]) {
      const err = await createSystem({ cpus: cpus as number }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "EINVAL" });
    }
    const err = await createSystem({ pcp: "yes" as unknown as boolean }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "EINVAL" });
  });

  it("a cpu outside 0..cpus-1 is EINVAL with nothing changed", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ backend, cpus: 2 });
      const pfn = sys.allocPages(0, "movable")!;
      expectUntouched(sys, "EINVAL", () => sys.allocPages(0, "movable", { cpu: 2 }));
      expectUntouched(sys, "EINVAL", () => sys.allocPages(0, "unmovable", { cpu: -1 }));
      expectUntouched(sys, "EINVAL", () => sys.allocPagesBatch(4, 0, "movable", { cpu: 5 }));
      expectUntouched(sys, "EINVAL", () => sys.freePages(pfn, 0, { cpu: 2 }));
      expectUntouched(sys, "EINVAL", () => sys.freePagesBatch([pfn], 0, { cpu: 0.5 }));
      expectUntouched(sys, "EINVAL", () => sys.allocMovable(0, { cpu: 3 }));
      expectUntouched(sys, "EINVAL", () => sys.drainPages({ cpu: 2 }));
      // A bad free on another cpu leaves that cpu selected nowhere: the next call runs on cpu 0.
      expectUntouched(sys, "EINVAL", () => sys.freePages(pfn + 1, 0, { cpu: 1 }));
      sys.freePages(pfn);
      expect(sys.pcp().map((p) => p.count)).toEqual([15, 0]);
    }
  });

  it("check() catches a pcp count that disagrees with its lists", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ backend });
      sys.allocPages(0);
      internals(sys).engine.debugCorrupt(7);
      expect(dmaSimErrorOf(() => sys.check()).message).toMatch(/pcp: count of cpu 0 zone 2 is 15, its lists hold 14/);
    }
  });
});

describe('the "6.1" profile: 6.1\'s per-cpu list rules', () => {
  // Linux 6.1 mm/page_alloc.c, on the default machine (see the top of this file):
  // zone_highsize() = max(low 640 / 1 cpu, 4 * 15) = 640, written by pageset_update()
  // at boot and never tuned (no high_min/high_max, no ZONE_BELOW_HIGH, no decay).
  it("sizes high once (640) and refills by batch >> order, at least 2", async () => {
    const r = await onBoth({ kernel: "6.1" }, (sys) => {
      const boot = pcp0(sys);
      // __rmqueue_pcplist(): batch = max(15 >> 1, 2) = 7 order-1 blocks (pfns 0, 2, ..., 12) onto
      // the list's tail; 0 and 2 are handed out: 5 blocks, 10 pages stay.
      const pfns = [sys.allocPages(1, "unmovable"), sys.allocPages(1, "unmovable")];
      return { boot, pfns, pcp: pcp0(sys), free: sys.stats().nrFreePages };
    });
    expect(r.boot).toEqual({ cpu: 0, count: 0, high: 640, batch: 15, highMin: 640, highMax: 640 });
    expect(r.pfns).toEqual([0, 2]);
    expect(r.pcp).toMatchObject({ count: 10, high: 640 });
    expect(r.free).toBe(TOTAL - 14);
  });

  it("drains batch << free_factor once count reaches high: 15, 30, 60, 120, 240 as frees run in a row", async () => {
    // 1000 order-0 allocations: 67 refills of 15 (1005 pages), 5 left on the list;
    // each allocation halves free_factor (0). Then 1000 frees, count +1 each:
    //   free 635: count 640 >= high: nr_pcp_free = 15 << 0 = 15 (15 < 625: free_factor 1) → 625
    //   free 650: 15 << 1 = 30 (free_factor 2) → 610;  free 680: 60 (3) → 580
    //   free 740: 120 (4) → 520;  free 860: 240 (240 < 625 and 4 < 5: 5) → 400
    // and 140 more frees leave 540 on the list; 465 pages went back to the buddy lists.
    const r = await onBoth({ kernel: "6.1" }, (sys) => {
      const pfns: number[] = [];
      for (let i = 0; i < 1000; i++) pfns.push(sys.allocPages(0, "unmovable")!);
      const afterAllocs = pcp0(sys).count;
      const drains: [number, number][] = [];
      let last = afterAllocs;
      pfns.forEach((pfn, i) => {
        sys.freePages(pfn);
        const now = pcp0(sys).count;
        if (now < last) drains.push([i + 1, now]);
        last = now;
      });
      return { afterAllocs, drains, count: last, traffic: sys.pcpTraffic, free: sys.stats().nrFreePages };
    });
    expect(r.afterAllocs).toBe(5);
    expect(r.drains).toEqual([
      [635, 625],
      [650, 610],
      [680, 580],
      [740, 520],
      [860, 400],
    ]);
    expect(r.count).toBe(540);
    expect(r.traffic).toEqual({ refillPages: 1005, drainPages: 465 });
    expect(r.free).toBe(TOTAL - 1005 + 465);
  });

  describe("a drain returns each block to the migratetype cached in its page", () => {
    // 6.1 free_unref_page_prepare() caches the pageblock's type in the page
    // (set_pcppage_migratetype()), as __rmqueue_smallest() caches the list a refill
    // took it from; free_pcppages_bulk() frees each block to get_pcppage_migratetype(),
    // unless the zone has isolated pageblocks (has_isolate_pageblock(zone)): then to
    // get_pageblock_migratetype(). Derived by hand on the default machine:
    //   allocPages(0, movable): the refill takes batch 15 pages, pfns 0..14, from the
    //     order-10 block at 0 (cached MOVABLE), hands out 0; its splits leave 15 (o0),
    //     16 (o4), 32 (o5), 64 (o6), 128 (o7), 256 (o8) free in pageblock 0, 512 (o9)
    //     in pageblock 1. Freeing 0 caches MOVABLE (its pageblock's type) and puts it
    //     at the list's head: 0, 1, ..., 14; count 15 < high 640, nothing drains.
    //   The pageblock [0, 512) is claimed for unmovable (steal_suitable_fallback()'s
    //     set_pageblock_migratetype() + move_freepages_block()): its buddy pages move to
    //     the unmovable lists; the pcp pages stay where they are.
    //   drain_pages_zone(): free_pcppages_bulk(15, pindex 0) takes the movable order-0
    //     list from its tail: 14 (+15 → 14/o1), 13, 12 (+13, +14 → 12/o2), 11, 10, 9,
    //     8 (→ 8/o3), 7 .. 1, then 0: + 1, 2, 4, 8 → 0/o4, + 16, 32, 64, 128, 256 (taken
    //     off the unmovable lists) → 0/o9, + 512 at order 9 (both pageblock types
    //     mergeable) → one order-10 block at 0, on the list of the type freed with.
    const drainAfterClaim = async (isolateElsewhere: boolean) =>
      onBoth({ kernel: "6.1" }, (sys) => {
        const pfn = sys.allocPages(0, "movable")!;
        sys.freePages(pfn);
        setPageblockMigratetype(sys, 0, "unmovable");
        // Another pageblock of the zone isolated, with no pcp page in it (the free
        // order-10 block at 1024 is split at 1536 first): the zone has_isolate_pageblock().
        if (isolateElsewhere) expect(sys.isolatePageRange(1024, 1536)).toBe(0);
        const listed = pcp0(sys).count;
        sys.drainPages();
        if (isolateElsewhere) sys.undoIsolatePageRange(1024, 1536);
        const head = sys.pageInfo(0);
        return {
          pfn,
          listed,
          head: { state: head.state, order: head.order, list: head.migratetype },
          pageblocks: [sys.pageblockMigratetype(0), sys.pageblockMigratetype(512)],
          free: sys.stats().nrFreePages,
        };
      });

    it("without isolated pageblocks: the cached type (movable), not the pageblock's (unmovable)", async () => {
      const r = await drainAfterClaim(false);
      expect(r.pfn).toBe(0);
      expect(r.listed).toBe(15);
      expect(r.head).toEqual({ state: "free", order: 10, list: "movable" });
      expect(r.pageblocks).toEqual(["unmovable", "movable"]);
      expect(r.free).toBe(TOTAL);
    });

    it("while the zone has an isolated pageblock: each block's pageblock type (unmovable)", async () => {
      const r = await drainAfterClaim(true);
      expect(r.listed).toBe(15);
      expect(r.head).toEqual({ state: "free", order: 10, list: "unmovable" });
      expect(r.pageblocks).toEqual(["unmovable", "movable"]);
      expect(r.free).toBe(TOTAL);
    });

    it("6.12 drains to the pageblock's type at drain time, isolated pageblocks or not", async () => {
      const r = await onBoth({}, (sys) => {
        sys.freePages(sys.allocPages(0, "movable")!);
        setPageblockMigratetype(sys, 0, "unmovable");
        sys.drainPages();
        // 6.12 retypes the buddy's pageblock when merging at pageblock order: 512's becomes unmovable too.
        return {
          list: sys.pageInfo(0).migratetype,
          order: sys.pageInfo(0).order,
          pb512: sys.pageblockMigratetype(512),
        };
      });
      expect(r).toEqual({ list: "unmovable", order: 10, pb512: "unmovable" });
    });
  });

  it("keeps high fixed on the simulated clock (6.1 has no decay_pcp_high())", async () => {
    await onBoth({ kernel: "6.1" }, (sys) => {
      for (let i = 0; i < 100; i++) sys.allocPages(0, "unmovable");
      const before = pcp0(sys);
      sys.advanceTime(16_000);
      expect(pcp0(sys)).toEqual(before);
      return before;
    });
  });
});
