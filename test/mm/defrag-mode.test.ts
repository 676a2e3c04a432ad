/**
 * vm.defrag_mode (Linux 6.15's "mm: page_alloc: defrag_mode" series, so the
 * 6.18 profile only) and NR_FREE_PAGES_BLOCKS, on small machines whose
 * expected state is worked out from the 6.15 patches (cross-checked against
 * 7.2's mm/page_alloc.c, mm/vmscan.c, mm/compaction.c) in the comments.
 *
 * The machines: pageblock order 3 (8-page pageblocks), MAX_PAGE_ORDER 4 (16-page
 * blocks), one Normal zone, no per-cpu lists (frees reach the buddy lists at
 * once). With min_free_kbytes 0 and watermark_scale_factor 10 on 64 pages every
 * watermark is 0 (min 0 >> 2 = 0; the step max(0 / 4, 64 * 10 / 10000) = 0).
 */
import { describe, expect, it } from "vitest";
import { createSystem, type MovablePage, type System, type SystemOptions } from "dmasim";
import { BACKENDS, PAGE, dmaSimErrorOf, onBoth } from "../helpers.ts";

const SMALL = {
  ramBytes: 64 * PAGE,
  maxOrder: 4,
  pageblockOrder: 3,
  minFreeKbytes: 0,
  pcp: false,
  kernel: "6.18",
} as const satisfies SystemOptions;

const DEFRAG_MODE = "/proc/sys/vm/defrag_mode";

/** Allocates order-0 movable (anonymous) pages until the allocator says no. */
function fillAnon(sys: System): MovablePage[] {
  const pages: MovablePage[] = [];
  for (let p = sys.allocMovable(0); p; p = sys.allocMovable(0)) pages.push(p);
  return pages;
}

/** Frees the anonymous pages whose pfn passes `which` (pfns read before any is freed); returns the others. */
function freeAnon(pages: MovablePage[], which: (pfn: number) => boolean): MovablePage[] {
  const chosen = pages.map((p) => which(p.pfn));
  pages.forEach((p, i) => chosen[i] && p.free());
  return pages.filter((_, i) => !chosen[i]);
}

/** /proc/vmstat's value of `name`, or undefined when the file has no such line. */
function vmstatValue(sys: System, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(sys.readFile("/proc/vmstat"));
  return m ? Number(m[1]) : undefined;
}

describe("/proc/sys/vm/defrag_mode", () => {
  it("reads 0 at boot, takes 0 and 1, refuses the rest with EINVAL and nothing changed", async () => {
    // proc_dointvec_minmax() with extra1 = SYSCTL_ZERO, extra2 = SYSCTL_ONE.
    await onBoth(SMALL, (sys) => {
      expect(sys.readFile(DEFRAG_MODE)).toBe("0\n");
      sys.writeFile(DEFRAG_MODE, "1\n");
      expect(sys.readFile(DEFRAG_MODE)).toBe("1\n");
      expect(sys.defragMode).toBe(1);
      const hash = sys.stateHash();
      for (const bad of ["2", "-1", "abc", ""]) {
        expect(dmaSimErrorOf(() => sys.writeFile(DEFRAG_MODE, bad)).code).toBe("EINVAL");
        expect(sys.readFile(DEFRAG_MODE)).toBe("1\n");
        expect(sys.stateHash()).toBe(hash);
        sys.check();
      }
      sys.writeFile(DEFRAG_MODE, "0");
      expect(sys.readFile(DEFRAG_MODE)).toBe("0\n");
      // The value is state: 0 and 1 hash apart.
      expect(sys.stateHash()).not.toBe(hash);
      return sys.defragMode;
    });
  });

  it("does not exist on the 6.1 and 6.12 profiles (the sysctl came with v6.15)", async () => {
    for (const backend of BACKENDS) {
      for (const kernel of ["6.1", "6.12"] as const) {
        const sys = await createSystem({ ...SMALL, backend, kernel });
        expect(dmaSimErrorOf(() => sys.readFile(DEFRAG_MODE)).code).toBe("ENOENT");
        expect(dmaSimErrorOf(() => sys.writeFile(DEFRAG_MODE, "1")).code).toBe("ENOENT");
        const hash = sys.stateHash();
        expect(dmaSimErrorOf(() => sys.setPolicy({ defragMode: 1 })).code).toBe("EINVAL");
        // 0 is what kernels without the sysctl do: accepted, nothing changes.
        sys.setPolicy({ defragMode: 0 });
        expect(sys.defragMode).toBe(0);
        expect(sys.stateHash()).toBe(hash);
        sys.check();
      }
    }
  });

  it("is a createSystem option (0..1, 1 on 6.18 only) and a setPolicy() knob", async () => {
    for (const backend of BACKENDS) {
      const sys = await createSystem({ ...SMALL, backend, defragMode: 1 });
      expect(sys.readFile(DEFRAG_MODE)).toBe("1\n");
      sys.setPolicy({ defragMode: 0 });
      expect(sys.readFile(DEFRAG_MODE)).toBe("0\n");
      expect(dmaSimErrorOf(() => sys.setPolicy({ defragMode: 2 })).code).toBe("EINVAL");
      expect(dmaSimErrorOf(() => sys.setPolicy({ defragMode: true as unknown as number })).code).toBe("EINVAL");
      expect(sys.defragMode).toBe(0);
      await expect(createSystem({ ...SMALL, backend, kernel: "6.12", defragMode: 1 })).rejects.toMatchObject({
        code: "EINVAL",
        message: expect.stringMatching(/defragMode needs kernel "6\.18"/),
      });
      await expect(createSystem({ ...SMALL, backend, defragMode: 2 })).rejects.toMatchObject({ code: "EINVAL" });
      expect((await createSystem({ ...SMALL, backend, kernel: "6.12", defragMode: 0 })).defragMode).toBe(0);
    }
  });
});

describe("NR_FREE_PAGES_BLOCKS", () => {
  it("counts free pages in blocks of pageblock order or more, isolated ones left out", async () => {
    await onBoth(SMALL, (sys) => {
      const seen: [number, number][] = [];
      const note = () => seen.push([sys.stats().nrFreePages, sys.freePagesBlocks("Normal")]);
      // Boot frees four order-4 blocks: every free page is in a block of order >= 3.
      note();
      expect(seen.at(-1)).toEqual([64, 64]);
      // An unmovable page: __rmqueue_claim() takes an order-4 movable block whole
      // (cur >= pageblock_order) and expand() leaves halves of order 3, 2, 1, 0:
      // 64 - 16 + 8 = 56 pages still in blocks of order >= 3; 63 free.
      expect(sys.allocPages(0, "unmovable")).toBe(0);
      note();
      expect(seen.at(-1)).toEqual([63, 56]);
      // An order-3 unmovable block: the order-3 half at pfn 8, off its list: 48.
      expect(sys.allocPages(3, "unmovable")).toBe(8);
      note();
      expect(seen.at(-1)).toEqual([55, 48]);
      // Isolating pageblock 48..55 splits its free order-4 block: one order-3 half
      // moves to the isolate list (move_to_free_list() from movable to isolate:
      // -8), neither free memory nor in blocks; undoing it brings both back.
      expect(sys.isolatePageRange(48, 56)).toBe(0);
      note();
      expect(seen.at(-1)).toEqual([47, 40]);
      sys.undoIsolatePageRange(48, 56);
      note();
      expect(seen.at(-1)).toEqual([55, 48]);
      return seen;
    });
  });

  it("is printed by 6.18's /proc/vmstat and /proc/zoneinfo right after nr_free_pages, not by 6.12's", async () => {
    await onBoth(SMALL, (sys) => {
      sys.allocPages(0, "unmovable"); // 63 free, 56 in blocks (above)
      const vmstat = sys.readFile("/proc/vmstat");
      expect(vmstat.startsWith("nr_free_pages 63\nnr_free_pages_blocks 56\nnr_zone_inactive_anon 0\n")).toBe(true);
      const zoneinfo = sys.readFile("/proc/zoneinfo");
      expect(zoneinfo).toContain(
        "\n      nr_free_pages 63\n      nr_free_pages_blocks 56\n      nr_zone_inactive_anon 0\n",
      );
      return vmstat;
    });
    await onBoth({ ...SMALL, kernel: "6.12" }, (sys) => {
      sys.allocPages(0, "unmovable");
      expect(vmstatValue(sys, "nr_free_pages_blocks")).toBeUndefined();
      expect(sys.readFile("/proc/zoneinfo")).not.toContain("nr_free_pages_blocks");
      expect(sys.readFile("/proc/zoneinfo")).toContain("\n      nr_free_pages 63\n      nr_zone_inactive_anon 0\n");
      // Kept on every profile all the same (check() recomputes it): 6.12's claim also takes the order-4 block.
      expect(sys.freePagesBlocks("Normal")).toBe(56);
      return sys.stats().nrFreePages;
    });
  });
});

describe("defrag_mode in the allocator (6.18)", () => {
  /**
   * 64 anonymous pages fill the machine, then pageblock 0 (pfns 0..7) is freed
   * and taken by 8 page cache pages (the only free pages: the file lands exactly
   * there), and anonymous pfn 17 is freed: one free page, in movable pageblock 2.
   */
  function cacheBlockAndHole(sys: System) {
    let anon = fillAnon(sys);
    expect(anon.length).toBe(64);
    anon = freeAnon(anon, (pfn) => pfn < 8);
    const file = sys.pageCache.createFile("data");
    file.add(0, 8);
    freeAnon(anon, (pfn) => pfn === 17);
    expect(sys.stats().nrFreePages).toBe(1);
    return file;
  }

  it("an unmovable page: 0 steals the hole in a movable pageblock, 1 reclaims a whole pageblock and claims it", async () => {
    // defrag_mode 0: the fast path (low watermark 0) finds no unmovable page;
    // __rmqueue_claim() tries pfn 17's pageblock (1 free + 7 movable: 1 + 0
    // alike < 4, no claim), then __rmqueue_steal() splits the smallest fallback
    // block: pfn 17. Movable pageblock 2 now holds an unmovable page.
    const off = await onBoth(SMALL, (sys) => {
      const file = cacheBlockAndHole(sys);
      const pfn = sys.allocPages(0, "unmovable");
      return {
        pfn,
        block: sys.pageblockMigratetype(16),
        cached: file.nrPages,
        allocstall: sys.stats().allocstallNormal,
      };
    });
    expect(off).toEqual({ pfn: 17, block: "movable", cached: 8, allocstall: 0 });
    // defrag_mode 1: ALLOC_NOFRAGMENT everywhere, so __rmqueue_claim() only looks
    // at orders >= pageblock_order and __rmqueue_steal() is not tried: the fast
    // path and the min-watermark pass fail. wake_all_kswapds() asks kswapd for
    // max(0, pageblock_order) = 3. Direct reclaim (try_to_free_pages(),
    // nr_to_reclaim 32; inactive file 8 >> priority: nothing down to priority 4,
    // then 1, 1, 3, 3 at priorities 3..0) frees all 8 clean cache pages, which merge back into
    // the order-3 block 0..7, and get_page_from_freelist() (still
    // ALLOC_NOFRAGMENT) claims it whole: try_to_claim_block() retypes
    // pageblock 0 unmovable and hands out its head. One allocstall.
    const on = await onBoth({ ...SMALL, defragMode: 1 }, (sys) => {
      const file = cacheBlockAndHole(sys);
      const pfn = sys.allocPages(0, "unmovable");
      const s = sys.stats();
      return {
        pfn,
        block0: sys.pageblockMigratetype(0),
        block2: sys.pageblockMigratetype(16),
        cached: file.nrPages,
        pgstealDirect: s.pgstealDirect,
        allocstall: s.allocstallNormal,
        kswapdOrder: sys.kswapdState().order,
        buddyinfo: sys.nrFreeByOrder("Normal"),
      };
    });
    expect(on).toEqual({
      pfn: 0,
      block0: "unmovable",
      block2: "movable",
      cached: 0,
      pgstealDirect: 8,
      allocstall: 1,
      kswapdOrder: 3,
      // expand() of 0..7 leaves 1 (order 0), 2..3 (order 1), 4..7 (order 2); pfn 17 stays free.
      buddyinfo: [2, 1, 1, 0, 0],
    });
  });

  /** 64 anonymous pages (nothing reclaimable: no swap), then pfn 17 freed. */
  function anonAndHole(sys: System) {
    freeAnon(fillAnon(sys), (pfn) => pfn === 17);
  }

  it("takes the fallback only after reclaim and compaction have failed (the last retry before OOM)", async () => {
    // Nothing can be reclaimed. defrag_mode 0 steals pfn 17 in the fast path.
    const off = await onBoth(SMALL, (sys) => {
      anonAndHole(sys);
      return [sys.allocPages(0, "unmovable"), sys.stats().allocstallNormal];
    });
    expect(off).toEqual([17, 0]);
    // defrag_mode 1: every round of __alloc_pages_slowpath()'s retry loop runs
    // try_to_free_pages() without progress (each counts allocstall twice: the
    // memcg_full_walk retry), no direct compaction for order 0, and
    // should_reclaim_retry() allows MAX_RECLAIM_RETRIES (16) rounds without
    // progress: the 17th returns false. should_compact_retry() is not asked (no
    // progress). Then "Reclaim/compaction failed to prevent the fallback":
    // ALLOC_NOFRAGMENT is cleared and the loop retried from the top, whose
    // get_page_from_freelist() steals pfn 17 as defrag_mode 0 did. 17 * 2 = 34.
    const on = await onBoth({ ...SMALL, defragMode: 1 }, (sys) => {
      anonAndHole(sys);
      return [sys.allocPages(0, "unmovable"), sys.stats().allocstallNormal, sys.pageblockMigratetype(16)];
    });
    expect(on).toEqual([17, 34, "movable"]);
  });

  it("a request that cannot reclaim, or may not retry, fails instead of falling back (6.18)", async () => {
    // 6.18's slow path goes to nopage when !can_direct_reclaim (GFP_ATOMIC,
    // GFP_NOWAIT: no __GFP_DIRECT_RECLAIM) and, for __GFP_NORETRY, after one
    // round: both before the defrag_mode retry, with ALLOC_NOFRAGMENT still set.
    // defrag_mode 0 serves all three from pfn 17's pageblock.
    const run = (defragMode: number) =>
      onBoth({ ...SMALL, defragMode }, (sys) => {
        anonAndHole(sys);
        const atomic = sys.allocPages(0, "unmovable", { atomic: true });
        const nowait = sys.allocPages(0, "unmovable", { compact: false });
        const noretry = sys.allocPages(0, "unmovable", { noretry: true });
        return { atomic, nowait, noretry, allocstall: sys.stats().allocstallNormal, free: sys.stats().nrFreePages };
      });
    // The atomic request steals 17 (claim refused: 1 free + 0 alike < 4), leaving nothing for the others.
    expect(await run(0)).toEqual({ atomic: 17, nowait: null, noretry: null, allocstall: 2, free: 0 });
    // The noretry request's one round: one try_to_free_pages() (2 allocstalls), no progress, nopage.
    expect(await run(1)).toEqual({ atomic: null, nowait: null, noretry: null, allocstall: 2, free: 1 });
  });
});

describe("defrag_mode in kswapd and kcompactd (6.18)", () => {
  // 128 pages, watermark_scale_factor 1000: min 0, step max(0, 128 * 1000 / 10000
  // = 12) = 12, so low 12, high 24.
  const MACHINE = { ...SMALL, ramBytes: 128 * PAGE, watermarkScaleFactor: 1000 } as const satisfies SystemOptions;

  /**
   * 128 anonymous pages, every odd pfn freed (64 single free pages, 4 in each
   * pageblock, none in a block of order >= 3), 32 of them taken by clean page
   * cache; then an order-3 unmovable GFP_NOWAIT request fails (no free order-3
   * block; it may not reclaim or compact) and wakes kswapd for order 3.
   * advanceTime(0) runs kswapd: balance_pgdat(order 3) is not balanced
   * (6.12: no order-3 block; defrag_mode: NR_FREE_PAGES_BLOCKS 0); reclaim of the
   * inactive file list (32 pages >> priority: 1, 1, 3, 6, 10 at priorities 5..1)
   * frees 21 pages and, past compact_gap(3) = 16, drops sc->order to 0;
   * kswapd_try_to_sleep(3, 0) finds the node balanced at order 0 (53 free > 24)
   * and wakes kcompactd for order 3, which runs in the same advanceTime().
   */
  function wakeKcompactdViaKswapd(sys: System) {
    expect(sys.zones()[0]!.watermarks).toMatchObject({ min: 0, low: 12, high: 24 });
    freeAnon(fillAnon(sys), (pfn) => pfn % 2 === 1);
    sys.pageCache.createFile("data").add(0, 32);
    expect([sys.stats().nrFreePages, sys.freePagesBlocks("Normal")]).toEqual([32, 0]);
    expect(sys.allocPages(3, "unmovable", { compact: false })).toBeNull();
    expect(sys.kswapdState()).toMatchObject({ woken: true, order: 3 });
    const ran = sys.advanceTime(0);
    const s = sys.stats();
    return {
      ran,
      pgstealKswapd: s.pgstealKswapd,
      free: s.nrFreePages,
      blocks: sys.freePagesBlocks("Normal"),
      buddyinfo: sys.nrFreeByOrder("Normal"),
    };
  }

  it("kcompactd stops at one suitable block with 0, at the high watermark in whole pageblocks with 1", async () => {
    // defrag_mode 0: kcompactd's __compact_finished() (GFP_KERNEL: unmovable)
    // stops at the first pageblock boundary where a free block of order >= 3 of
    // its type or a claimable fallback exists: one free pageblock, 8 pages in blocks.
    const off = await onBoth(MACHINE, wakeKcompactdViaKswapd);
    expect(off).toMatchObject({ ran: { kcompactd: 1 }, pgstealKswapd: 21, free: 53, blocks: 8 });
    // defrag_mode 1: kcompactd_do_work() compacts with ALLOC_WMARK_HIGH and
    // __compact_finished() of a non-direct compaction succeeds only when
    // __zone_watermark_ok(order 3, high 24) holds on NR_FREE_PAGES_BLOCKS:
    // blocks - (8 - 1) > 24 needs blocks >= 32 (24 gives 17); blocks move in
    // steps of a pageblock (8), so it stops at exactly 32.
    const on = await onBoth({ ...MACHINE, defragMode: 1 }, wakeKcompactdViaKswapd);
    expect(on).toMatchObject({ ran: { kcompactd: 1 }, pgstealKswapd: 21, free: 53, blocks: 32 });
    // The 32 pages merged into two order-4 blocks; the other 21 free pages are single.
    expect(on.buddyinfo).toEqual([21, 0, 0, 0, 2]);
  });

  it("kswapd counts a high order's watermark in whole pageblocks (pgdat_balanced())", async () => {
    // 128 anonymous pages, the odd pfns of pageblocks 1..15 freed (60 single
    // pages) and 36 of them taken by clean page cache: 24 free, no order-3
    // block. An order-3 unmovable GFP_NOWAIT request fails and wakes kswapd for
    // order 3 under both rules. Then pageblock 0 (pfns 0..7) is freed: 32 free,
    // one order-3 block, 8 pages in blocks.
    // balance_pgdat(order 3), first pgdat_balanced(): 6.12's rule counts
    // NR_FREE_PAGES, 32 - (8 - 1) = 25 > high 24 with an order-3 block free:
    // balanced, nothing reclaimed. defrag_mode counts NR_FREE_PAGES_BLOCKS:
    // 8 - 7 = 1 <= 24, so kswapd reclaims: the inactive file list (36 pages)
    // >> priority gives 1, 2, 4, 7, 11 at priorities 5..1 = 25 pages; past
    // compact_gap(3) = 16 sc->order drops to 0 and kswapd sleeps, waking
    // kcompactd for order 3, which compacts until NR_FREE_PAGES_BLOCKS - 7 > 24
    // (32 pages in blocks, as above).
    const run = (defragMode: number) =>
      onBoth({ ...MACHINE, defragMode }, (sys) => {
        const anon = freeAnon(fillAnon(sys), (pfn) => pfn >= 8 && pfn % 2 === 1);
        sys.pageCache.createFile("data").add(0, 36);
        expect(sys.allocPages(3, "unmovable", { compact: false })).toBeNull();
        expect(sys.kswapdState()).toMatchObject({ woken: true, order: 3 });
        freeAnon(anon, (pfn) => pfn < 8);
        const before = [sys.stats().nrFreePages, sys.freePagesBlocks("Normal")];
        const ran = sys.advanceTime(0);
        const s = sys.stats();
        return { before, ran, pgstealKswapd: s.pgstealKswapd, blocks: sys.freePagesBlocks("Normal") };
      });
    expect(await run(0)).toEqual({ before: [32, 8], ran: { kcompactd: 0, proactive: 0 }, pgstealKswapd: 0, blocks: 8 });
    expect(await run(1)).toEqual({
      before: [32, 8],
      ran: { kcompactd: 1, proactive: 0 },
      pgstealKswapd: 25,
      blocks: 32,
    });
  });
});
