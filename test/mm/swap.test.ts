import { describe, expect, it } from "vitest";
import { createSystem, type MovablePage, type System, type SystemOptions } from "dmasim";
import { BACKENDS, PAGE, dmaSimErrorOf, expectUntouched, onBoth } from "../helpers.ts";

// 256 pages, one Normal zone, no pcp lists (NR_FREE_PAGES is all free memory).
// min_free_kbytes 128: min = 32 pages; the watermark step is max(min / 4,
// managed * 10 / 10000) = 8: low 40, high 48 (as in reclaim.test.ts).
const MACHINE: SystemOptions = { ramBytes: 256 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 128, pcp: false };
// 128 pages of swap: page 0 holds the swap header (read_swap_header():
// maxpages = last_page + 1 = 128, si->pages = maxpages - 1), so 127 slots, 1..127.
const SWAP: SystemOptions = { ...MACHINE, swapBytes: 128 * PAGE };

/** `n` anonymous pages, each written with its index (so none is zero-filled unless `zero`). */
function anon(sys: System, n: number, zero = false): MovablePage[] {
  return Array.from({ length: n }, (_, i) => {
    const page = sys.allocMovable(0)!;
    if (!zero) page.write(Uint8Array.of(i & 0xff, 0x5a, i >> 8, 0xa5));
    return page;
  });
}

function counters(sys: System) {
  const s = sys.stats();
  return {
    pgscanDirect: s.pgscanDirect,
    pgstealDirect: s.pgstealDirect,
    pgscanAnon: s.pgscanAnon,
    pgstealAnon: s.pgstealAnon,
    pgscanFile: s.pgscanFile,
    pgstealFile: s.pgstealFile,
    pgactivate: s.pgactivate,
    pswpout: s.pswpout,
    pswpin: s.pswpin,
    pgmajfault: s.pgmajfault,
  };
}

/** Indexes of `pages` that are swapped out. */
function swappedOut(pages: MovablePage[]): number[] {
  return pages.flatMap((p, i) => (p.swapped ? [i] : []));
}

/** The last get_scan_count() (an internal view of the machine). */
function scanBalance(sys: System): { balance: string; ap: number; fp: number; anonCost: number; fileCost: number } {
  return (sys as unknown as { scanBalance(): ReturnType<typeof scanBalance> }).scanBalance();
}

function meminfoKb(sys: System, label: string): number {
  const line = sys
    .readFile("/proc/meminfo")
    .split("\n")
    .find((l) => l.startsWith(`${label}:`));
  return Number(/(\d+) kB/.exec(line!)![1]);
}

describe("swap off (the default)", () => {
  it("never scans anon: the allocation fails once page cache is gone, no swap in /proc", async () => {
    await onBoth(MACHINE, (sys) => {
      const pages = anon(sys, 224, true);
      expect(sys.stats().nrFreePages).toBe(32);
      // get_scan_count(): no swap space → SCAN_FILE; zone_reclaimable_pages() counts no
      // anon, so should_reclaim_retry() gives up and the allocation returns NULL.
      expect(sys.allocMovable(0)).toBeNull();
      expect(sys.stats().pgscanAnon).toBe(0);
      expect(sys.stats().pswpout).toBe(0);
      expect(pages.some((p) => p.swapped)).toBe(false);
      // swap_show() prints the header alone; meminfo's swap lines are 0.
      expect(sys.readFile("/proc/swaps")).toBe("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
      expect(meminfoKb(sys, "SwapTotal")).toBe(0);
      expect(meminfoKb(sys, "SwapFree")).toBe(0);
      expect(sys.swap).toEqual({ totalPages: 0, freePages: 0, usedPages: 0, cachedPages: 0, priority: -2 });
      return sys.stats().allocstallMovable;
    });
  });
});

describe("anon reclaim with swap (6.12)", () => {
  it("file_is_tiny scans anon alone; young ptes buy a second trip; priority 0 scans equally and swaps the LRU tail", async () => {
    // 224 anon pages leave free = 32 (the min watermark; kswapd woken, not run).
    // The 225th enters direct reclaim (try_to_free_pages(), nr_to_reclaim 32):
    // prepare_scan_control(): file 0 + free 32 <= high 48, the inactive anon list is
    // not low (224 vs 0 active), so file_is_tiny holds once anon >> priority != 0.
    //   priority 12..8: 224 >> p = 0: SCAN_FRACT of nothing
    //   priority 7..1: SCAN_ANON, 224 >> p = 1, 3, 7, 14, 28, 56, 112 pages from the
    //     tail: every pte is still young from its fault, so folio_check_references()
    //     clears it, sets PG_referenced and keeps the folio (back to the head):
    //     pages 0..220 scanned once, 221 in all; the tail is now 221, 222, 223, 0, 1, ...
    //   priority 0: SCAN_EQUAL (swappiness 60 != 0): 224 pages in bites of 32. Bite 1:
    //     221..223 young → kept; 0..28 old → add_to_swap() (slots 1..29), written
    //     (PSWPOUT), freed: 29 < 32, go on; bite 2: 29..60 → 61 reclaimed, and with no
    //     file pages left to balance against, shrink_lruvec() stops.
    // pgscan_direct = 221 + 64 = 285, pgsteal 61.
    await onBoth(SWAP, (sys) => {
      const pages = anon(sys, 224);
      expect(sys.stats().nrFreePages).toBe(32);
      expect(sys.stats().pgscanAnon).toBe(0);
      const extra = sys.allocMovable(0);
      expect(extra).not.toBeNull();
      expect(swappedOut(pages)).toEqual(Array.from({ length: 61 }, (_, i) => i));
      // The lowest free slot first: page i in slot i + 1 (slot 0 is the header).
      expect(pages.slice(0, 61).map((p) => p.swapSlot)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
      expect(counters(sys)).toEqual({
        pgscanDirect: 285,
        pgstealDirect: 61,
        pgscanAnon: 285,
        pgstealAnon: 61,
        pgscanFile: 0,
        pgstealFile: 0,
        pgactivate: 0,
        pswpout: 61,
        pswpin: 0,
        pgmajfault: 0,
      });
      // 32 free + 61 reclaimed - 1 allocated.
      expect(sys.stats().nrFreePages).toBe(92);
      expect(sys.swap).toMatchObject({ totalPages: 127, freePages: 66, usedPages: 61, cachedPages: 0 });
      // lru_note_cost(anon, nr_pageout * 32 + scanned - reclaimed) after each bite, both
      // costs halved when their sum passes a quarter of the LRU pages:
      //   p7..p3: 1, 4, 11, 25, 53 (limit 224 / 4 = 56)
      //   p2: 53 + 32 = 85 → 42; 42 + 24 = 66 → 33
      //   p1: 33 + 32 → 32; + 32 → 32; + 32 → 32; + 16 = 48
      //   p0: 48 + 29 * 32 + 3 = 979 > 195 / 4 → 489; 489 + 32 * 32 = 1513 > 163 / 4 → 756
      expect(scanBalance(sys)).toMatchObject({ balance: "equal", anonCost: 756, fileCost: 0 });
      // /proc/meminfo: SwapTotal 127 pages = 508 kB, SwapFree 66 pages = 264 kB;
      // CommitLimit 256 * 50 / 100 + 127 = 255 pages; Committed_AS counts the
      // swapped-out pages (225 anon pages in all), AnonPages only the resident 164.
      expect(meminfoKb(sys, "SwapTotal")).toBe(508);
      expect(meminfoKb(sys, "SwapFree")).toBe(264);
      expect(meminfoKb(sys, "SwapCached")).toBe(0);
      expect(meminfoKb(sys, "CommitLimit")).toBe(1020);
      expect(meminfoKb(sys, "Committed_AS")).toBe(900);
      expect(meminfoKb(sys, "AnonPages")).toBe(656);
      // swap_show(): "/dev/zram0" padded to 40 columns, Size and Used in kB (each
      // followed by two tabs below 10000000), priority -2 (--least_priority from -1).
      expect(sys.readFile("/proc/swaps")).toBe(
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" +
          "/dev/zram0" +
          " ".repeat(30) +
          "partition\t508\t\t244\t\t-2\n",
      );
      const vmstat = sys.readFile("/proc/vmstat");
      expect(vmstat).toContain("\nnr_swapcached 0\npswpin 0\npswpout 61\n");
      return counters(sys);
    });
  });

  it("zero-filled pages go to the zeromap: no PSWPOUT, no PSWPIN (6.12); 6.1 writes them", async () => {
    for (const [kernel, written] of [
      ["6.12", 0],
      ["6.1", 61],
    ] as const) {
      await onBoth({ ...SWAP, kernel }, (sys) => {
        const pages = anon(sys, 224, true);
        sys.allocMovable(0);
        // The same 61 pages as above: 6.1's folio_check_references() and
        // get_scan_count() decide alike here (only lru_note_cost() differs).
        expect(swappedOut(pages)).toEqual(Array.from({ length: 61 }, (_, i) => i));
        expect(sys.stats().pswpout).toBe(written);
        // 6.1's lru_note_cost() adds nr_pageout alone: 0 until priority 0, then 29
        // (under 195 / 4), then 29 + 32 = 61 > 163 / 4 → 30. 6.12: 756 (above).
        expect(scanBalance(sys).anonCost).toBe(kernel === "6.1" ? 30 : 756);
        sys.allocMovable(0)!.free();
        const bytes = pages[0]!.read(0, 8);
        expect(Array.from(bytes)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
        // do_swap_page(): a major fault either way; swap_read_folio() reads only a written slot.
        expect(sys.stats()).toMatchObject({ pgmajfault: 1, pswpin: written === 0 ? 0 : 1 });
        return sys.stats().pswpout;
      });
    }
  });

  it("a swapped-out page faults back in with its bytes; freeing a swapped-out page frees its slot", async () => {
    await onBoth(SWAP, (sys) => {
      const pages = anon(sys, 224);
      sys.allocMovable(0);
      const page = pages[5]!;
      expect(page.swapped).toBe(true);
      expect(dmaSimErrorOf(() => page.pfn).code).toBe("EINVAL");
      expect(page.pins).toEqual({ shortTerm: 0, longTerm: 0 });
      // do_swap_page(): SWP_SYNCHRONOUS_IO and a swap count of 1 skip the swap cache;
      // the new folio is read (PSWPIN), the fault is major, swap_free_nr() frees slot 6.
      const bytes = page.read(0, 4);
      expect(Array.from(bytes)).toEqual([5, 0x5a, 0, 0xa5]);
      expect(page.swapped).toBe(false);
      expect(sys.pageInfo(page.pfn)).toMatchObject({ state: "allocated", owner: page.id });
      expect(sys.stats()).toMatchObject({ pswpin: 1, pgmajfault: 1 });
      expect(sys.swap).toMatchObject({ freePages: 67, usedPages: 60, cachedPages: 0 });
      // The folio went on the inactive anon list (folio_add_lru()): 225 - 61 + 1 resident.
      expect(sys.pageCache.lruStats()).toMatchObject({ inactiveAnon: 165, activeAnon: 0 });
      // Writes fault in too, and every page keeps what was written.
      pages[60]!.write(Uint8Array.of(0xee), 3);
      expect(Array.from(pages[60]!.read(0, 4))).toEqual([60, 0x5a, 0, 0xee]);
      pages.forEach((p, i) => i !== 60 && expect(Array.from(p.read(0, 4))).toEqual([i & 0xff, 0x5a, i >> 8, 0xa5]));
      // free_swap_and_cache_nr(): freeing frees the slot, and slots are handed out lowest first again.
      sys.check();
      return sys.swap;
    });
    await onBoth(SWAP, (sys) => {
      const pages = anon(sys, 224);
      sys.allocMovable(0);
      pages[3]!.free();
      expect(pages[3]!.alive).toBe(false);
      expect(sys.swap).toMatchObject({ freePages: 67, usedPages: 60 });
      expect(dmaSimErrorOf(() => pages[3]!.free()).code).toBe("EINVAL");
      pages.slice(0, 61).forEach((p) => p.alive && p.free());
      expect(sys.swap).toMatchObject({ freePages: 127, usedPages: 0 });
      return sys.stats().nrFreePages;
    });
  });

  it("swap-in allocates through the slow path: ENOMEM leaves the page swapped out", async () => {
    // Swap of 2 pages: one slot. The 225th allocation swaps page 0 out and the rest of
    // the old pages meet a full swap device. Filling memory again, nothing is left
    // to reclaim; page 0's fault then finds no frame.
    await onBoth({ ...MACHINE, swapBytes: 2 * PAGE }, (sys) => {
      const pages = anon(sys, 224);
      sys.allocMovable(0);
      while (sys.allocMovable(0)) {
        /* fill */
      }
      const page = pages[0]!;
      expect(page.swapped).toBe(true);
      const before = sys.stats().pgmajfault;
      expect(dmaSimErrorOf(() => page.read(0, 4)).code).toBe("ENOMEM");
      expect(page.swapped).toBe(true);
      expect(page.swapSlot).toBe(1);
      expect(sys.stats().pgmajfault).toBe(before);
      return sys.swap;
    });
  });

  it("swap full: add_to_swap() fails and the old folios are activated; the anon list is then aged", async () => {
    // One slot. As above up to priority 0; bite 1: 221..223 kept (young), page 0
    // swapped to slot 1, pages 1..28 find no slot → activate_locked (PGACTIVATE); the
    // scan goes on (1 < 32 reclaimed) through bites 2..7: pages 29..220 activated.
    // 220 activated, 1 reclaimed. shrink_lruvec()'s anon aging: inactive 3 * 1 <
    // active 220 → shrink_active_list(32) deactivates the active tail, pages 1..32
    // (PGREFILL 32, PGDEACTIVATE 32). free 32 + 1 → the allocation takes it.
    await onBoth({ ...MACHINE, swapBytes: 2 * PAGE }, (sys) => {
      const pages = anon(sys, 224);
      expect(sys.allocMovable(0)).not.toBeNull();
      expect(swappedOut(pages)).toEqual([0]);
      const s = sys.stats();
      expect({ pgactivate: s.pgactivate, pgrefill: s.pgrefill, pgdeactivate: s.pgdeactivate }).toEqual({
        pgactivate: 220,
        pgrefill: 32,
        pgdeactivate: 32,
      });
      // inactive: 221..223, pages 1..32 deactivated, and the new page; active: 33..220.
      expect(sys.pageCache.lruStats()).toMatchObject({ inactiveAnon: 36, activeAnon: 188 });
      expect(meminfoKb(sys, "SwapFree")).toBe(0);
      // No free slot: get_scan_count() is SCAN_FILE again, and zone_reclaimable_pages()
      // stops counting anon; the next allocation at the watermark fails.
      const scanned = sys.stats().pgscanAnon;
      expect(sys.allocMovable(0)).toBeNull();
      expect(sys.stats().pgscanAnon).toBe(scanned);
      return sys.stats().pgactivate;
    });
  });

  it("long-term pinned anon folios are kept (folio_maybe_dma_pinned() before add_to_swap())", async () => {
    // As the first case, with page 0 pinned: at priority 0 it is old and referenced
    // but pinned → keep_locked (back to the head, not activated). Bite 1 swaps
    // pages 1..28; bite 2 pages 29..60: 60 reclaimed.
    await onBoth(SWAP, (sys) => {
      const pages = anon(sys, 224);
      pages[0]!.pinLongterm();
      sys.allocMovable(0);
      expect(swappedOut(pages)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(pages[0]!.pins).toEqual({ shortTerm: 0, longTerm: 1 });
      expect(sys.stats()).toMatchObject({ pgactivate: 0, pgstealAnon: 60 });
      return sys.swap;
    });
  });

  it("SCAN_FRACT splits by swappiness and the lists' costs; cache_trim_mode scans file alone", async () => {
    // 24 clean page cache pages (owners 0..23), then 200 anon pages (24..223): free 32.
    // vm.swappiness 100. The 201st anon page enters direct reclaim:
    //   file + free = 56 > high 48: never file_is_tiny. cache_trim_mode while the
    //   inactive file list has pages to scan (24 >> p != 0: p <= 4) and is not low.
    //   p7: SCAN_FRACT with costs 0: total 0, anon 0, file 0, ap = 100 * 1 / 1 = 100,
    //       fp = 100 * 1 / 1 = 100; anon 200 >> 7 = 1, * 100 / 200 = 0
    //   p6: anon 3 * 100 / 200 = 1: page 24, young → kept. anon_cost 1
    //   p5: total 1, anon 2, file 1, total 3: ap = 100 * 4 / 3 = 133, fp = 100 * 4 / 2
    //       = 200; anon 6 * 133 / 333 = 2: pages 25, 26 kept; anon_cost 3
    //   p4..p1: SCAN_FILE (cache_trim_mode): 1, 2, 5, 8 file pages reclaimed (16)
    //   p0: SCAN_EQUAL: anon 200 in bites of 32, file 8. Bite 1: anon 27..58 kept,
    //       file 16..23 reclaimed (24 in all, 8 here); bites 2..6: 59..218 kept; bite 7
    //       (8 pages): 219..223 kept, 24, 25, 26 (old now) swapped out.
    // Reclaimed 16 + 8 + 3 = 27: all priorities used, progress made.
    await onBoth(SWAP, (sys) => {
      sys.setSwappiness(100);
      const f = sys.pageCache.createFile("data");
      f.add(0, 24);
      const pages = anon(sys, 200);
      expect(sys.stats().nrFreePages).toBe(32);
      expect(sys.allocMovable(0)).not.toBeNull();
      expect(swappedOut(pages)).toEqual([0, 1, 2]);
      expect(f.nrPages).toBe(0);
      expect(counters(sys)).toEqual({
        pgscanDirect: 227,
        pgstealDirect: 27,
        pgscanAnon: 203,
        pgstealAnon: 3,
        pgscanFile: 24,
        pgstealFile: 24,
        pgactivate: 0,
        pswpout: 3,
        pswpin: 0,
        pgmajfault: 0,
      });
      // anon_cost: 3 at p0's start; bite 1 + 32 = 35 (limit 208 / 4 = 52); the file
      // bite adds 0; bites 2..6 each + 32 past 200 / 4 = 50: 67 → 33, 65 → 32, 64 → 32,
      // 64 → 32, 64 → 32; bite 7: 3 * 32 + 5 = 101 → 133 > 197 / 4 → 66.
      expect(scanBalance(sys)).toMatchObject({ balance: "equal", anonCost: 66, fileCost: 0 });
      return counters(sys);
    });
  });

  it("SCAN_FRACT's ap/fp for the cost state reclaim left; the costs decay", async () => {
    // After the first case: anon_cost 756, file_cost 0, free 92, 164 anon pages
    // inactive. 60 page cache pages bring free to 32; the next allocation reclaims.
    //   p12..p6: file 60 + free 32 > 48 (not tiny), 60 >> p = 0 (no cache_trim_mode):
    //     SCAN_FRACT: total = 756, anon = 756 + 756 = 1512, file = 756 + 0 = 756,
    //     total = 2268: ap = 60 * 2269 / 1513 = 89, fp = 140 * 2269 / 757 = 419;
    //     anon 164 >> 7 = 1 and >> 6 = 2, * 89 / 508 = 0; file 60 >> p = 0: no scan
    //   p5..p1: cache_trim_mode → SCAN_FILE: 1, 59 >> 4 = 3, 56 >> 3 = 7, 49 >> 2 = 12,
    //     37 >> 1 = 18 clean pages reclaimed: 41 >= 32, done at p1
    // lru_note_cost(file, 0) after each bite halves the costs while anon_cost is over a
    // quarter of the LRU: 756 → 378 (223 / 4 = 55), 189 (220), 94 (213), 47 (201), 23 (183).
    await onBoth(SWAP, (sys) => {
      anon(sys, 224);
      sys.allocMovable(0);
      expect(scanBalance(sys).anonCost).toBe(756);
      const f = sys.pageCache.createFile("log");
      f.add(0, 60);
      expect(sys.stats().nrFreePages).toBe(32);
      const before = counters(sys);
      expect(sys.allocMovable(0)).not.toBeNull();
      expect(scanBalance(sys)).toEqual({ balance: "file", ap: 89, fp: 419, anonCost: 23, fileCost: 0 });
      expect(f.nrPages).toBe(19);
      const after = counters(sys);
      expect(after.pgscanAnon - before.pgscanAnon).toBe(0);
      expect(after.pgstealFile - before.pgstealFile).toBe(41);
      return scanBalance(sys);
    });
  });
});

describe("swap input checks", () => {
  it("createSystem rejects a bad swapBytes with EINVAL", async () => {
    for (const swapBytes of [NaN, -PAGE, PAGE + 1, PAGE, 1.5, 2 ** 24 * PAGE + PAGE, 4096n, "8192", 3 * 2 ** 30]) {
      for (const backend of BACKENDS) {
        await expect(
          createSystem({ ...MACHINE, backend, swapBytes: swapBytes as unknown as number }),
          String(swapBytes),
        ).rejects.toMatchObject({ code: "EINVAL" });
      }
    }
    // Metadata-only machines have no contents to keep: any size up to 2^24 pages.
    const big = await createSystem({ ...MACHINE, storeContents: false, swapBytes: 2 ** 24 * PAGE });
    expect(big.swap.totalPages).toBe(2 ** 24 - 1);
  });

  it("vm.swappiness is 0..200 (proc_dointvec_minmax()); bad writes change nothing", async () => {
    await onBoth(SWAP, (sys) => {
      expect(sys.readFile("/proc/sys/vm/swappiness")).toBe("60\n");
      sys.writeFile("/proc/sys/vm/swappiness", "200\n");
      expect(sys.swappiness).toBe(200);
      sys.writeFile("/proc/sys/vm/swappiness", "0");
      expect(sys.readFile("/proc/sys/vm/swappiness")).toBe("0\n");
      for (const bad of ["201", "-1", "x"])
        expectUntouched(sys, "EINVAL", () => sys.writeFile("/proc/sys/vm/swappiness", bad));
      for (const bad of [201, -1, 1.5, NaN]) expectUntouched(sys, "EINVAL", () => sys.setSwappiness(bad));
      return sys.swappiness;
    });
  });

  it("bad arguments to a swapped-out page are refused before it faults in", async () => {
    await onBoth(SWAP, (sys) => {
      const pages = anon(sys, 224);
      sys.allocMovable(0);
      const page = pages[0]!;
      expectUntouched(sys, "EINVAL", () => page.read(-1, 4));
      expectUntouched(sys, "EINVAL", () => page.read(0, PAGE + 1));
      expectUntouched(sys, "EINVAL", () => page.write(new Uint8Array(8), PAGE - 4));
      expectUntouched(sys, "EINVAL", () => page.write("x" as unknown as Uint8Array));
      // move_pages() of a page that is not present: -ENOENT.
      expectUntouched(sys, "ENOENT", () => page.migrate());
      expectUntouched(sys, "EINVAL", () => page.unpin());
      expect(page.swapped).toBe(true);
      return page.swapSlot;
    });
  });
});

describe("kswapd with swap", () => {
  it("balance_pgdat() never reaches priority 0: a first pass over young anon ptes only marks them; the next one swaps", async () => {
    // 224 anon pages: free 32 < low 40 wakes kswapd. balance_pgdat(order 0),
    // nr_to_reclaim max(high 48, 32) = 48: kswapd_age_node() finds the inactive anon
    // list not low; shrink_node() as in direct reclaim: SCAN_FRACT of nothing at
    // priorities 12..8, SCAN_ANON (file_is_tiny) at 7..1: 1 + 3 + 7 + 14 + 28 + 56 +
    // 112 = 221 pages, all young: kept with PG_referenced. The loop ends at priority 1
    // (it runs while priority >= 1) with nothing reclaimed: kswapd_failures 1.
    // Still unbalanced, kswapd() does not sleep: a second pass. Priority 7: page 221
    // (young) kept; 6: 224 >> 6 = 3: 222, 223 kept, page 0 (old) swapped out; 5:
    // 223 >> 5 = 6: pages 1..6; 4: 217 >> 4 = 13: pages 7..19. free 32 + 20 = 52 >
    // high 48: balanced; progress resets kswapd_failures.
    await onBoth(SWAP, (sys) => {
      const pages = anon(sys, 224);
      expect(sys.kswapdState()).toMatchObject({ woken: true });
      sys.advanceTime(0);
      const s = sys.stats();
      expect({ scan: s.pgscanKswapd, steal: s.pgstealKswapd, pswpout: s.pswpout, direct: s.pgscanDirect }).toEqual({
        scan: 221 + 23,
        steal: 20,
        pswpout: 20,
        direct: 0,
      });
      expect(sys.kswapdState()).toMatchObject({ passesLastAdvance: 2, failures: 0 });
      expect(swappedOut(pages)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(sys.stats().nrFreePages).toBe(52);
      return s.pswpout;
    });
  });
});

describe("swap state in check() and the state hash", () => {
  it("the hash covers swappiness, the slots and the costs; swapless machines hash as before", async () => {
    const hashes = new Set<string>();
    for (const backend of BACKENDS) {
      const plain = await createSystem({ ...MACHINE, backend });
      const plainHash = plain.stateHash();
      plain.setSwappiness(61);
      expect(plain.stateHash()).not.toBe(plainHash);
      plain.setSwappiness(60);
      expect(plain.stateHash()).toBe(plainHash);
      const a = await createSystem({ ...SWAP, backend });
      const b = await createSystem({ ...SWAP, backend });
      expect(a.stateHash()).not.toBe(plainHash);
      anon(a, 224);
      const pb = anon(b, 224);
      expect(a.stateHash()).toBe(b.stateHash());
      // b keeps page 0 pinned through reclaim (kept, not swapped): after the unpin
      // only the swap slots, the owners and the LRU differ.
      pb[0]!.pinLongterm();
      a.allocMovable(0)!.free();
      b.allocMovable(0)!.free();
      pb[0]!.unpinLongterm();
      expect(a.stateHash()).not.toBe(b.stateHash());
      a.check();
      b.check();
      hashes.add(a.stateHash());
    }
    expect(hashes.size).toBe(1);
  });
});

describe("swap on a metadata-only machine", () => {
  it("keeps no contents: every swap-out is a write; touch() faults a page in", async () => {
    // The first case's reclaim without contents: the same 61 pages (0..60) go out,
    // and with no bytes to find zero-filled, each is written (PSWPOUT 61).
    await onBoth({ ...SWAP, storeContents: false }, (sys) => {
      const pages = anon(sys, 224, true);
      sys.allocMovable(0);
      expect(swappedOut(pages)).toEqual(Array.from({ length: 61 }, (_, i) => i));
      expect(sys.stats().pswpout).toBe(61);
      const pfn = pages[7]!.touch();
      expect(pages[7]!.swapped).toBe(false);
      expect(pages[7]!.pfn).toBe(pfn);
      expect(sys.stats()).toMatchObject({ pswpin: 1, pgmajfault: 1 });
      // A resident page: touch() is its pfn, and no fault.
      expect(pages[100]!.touch()).toBe(pages[100]!.pfn);
      expect(sys.stats().pgmajfault).toBe(1);
      return sys.swap;
    });
  });
});
