/**
 * Kernel-version profiles (createSystem({ ...BUDDY_ONLY, kernel })): each rule where Linux
 * 6.1, 6.12 and 6.18 differ, on a small machine whose expected state is
 * worked out from that version's mm/page_alloc.c (mm/page_isolation.c,
 * mm/cma.c) in the comments.
 *
 * The machine: 64 pages of 4 KiB, MAX_PAGE_ORDER 4 (16-page blocks),
 * pageblock order 3 (8 pages, so the claim threshold 1 << (3 - 1) is 4 pages),
 * one Normal zone, min_free_kbytes 0 and ALLOC_NOFRAGMENT off (on a one-zone
 * machine the kernel retries without it anyway). Boot frees four order-4
 * blocks at 0, 16, 32, 48 to the movable list, every pageblock movable.
 */
import { describe, expect, it } from "vitest";
import {
  claimFreeBlock,
  createRandom,
  createSystem,
  type MovablePage,
  peekRmqueue,
  releaseHeldBlock,
  rmqueueInZone,
  stealWithoutClaim,
  setPageblockMigratetype,
  type KernelVersion,
  type System,
} from "dmasim";
import { BACKENDS, onBoth, PAGE } from "../helpers.ts";

// Buddy-level rules: frees go straight to the buddy lists (no per-cpu page lists),
// so every page lands where the rules tested here put it.
const BUDDY_ONLY = { pcp: false } as const;

const SMALL = { ramBytes: 64 * PAGE, maxOrder: 4, pageblockOrder: 3, minFreeKbytes: 0 } as const;

async function small(kernel: KernelVersion | undefined, backend: (typeof BACKENDS)[number], cma = false) {
  const sys = await createSystem({
    ...BUDDY_ONLY,
    ...SMALL,
    backend,
    ...(kernel === undefined ? {} : { kernel }),
    ...(cma ? { cma: [{ name: "c", bytes: 8 * PAGE }] } : {}),
  });
  sys.setPolicy({ allocNoFragment: false });
  return sys;
}

/** /proc/pagetypeinfo's free-page rows of zone Normal, by type name: blocks per order. */
function freeRows(sys: System): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of sys.readFile("/proc/pagetypeinfo").split("\n")) {
    const m = /^Node\s+0, zone\s+Normal, type\s+(\S+)((?:\s+\d+)+)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().split(/\s+/).map(Number);
  }
  return out;
}

/** /proc/pagetypeinfo's "Number of blocks type" row of zone Normal. */
function blockCounts(sys: System): number[] {
  const line = sys
    .readFile("/proc/pagetypeinfo")
    .split("\n")
    .find((l) => /^Node 0, zone\s+Normal\s+\d/.test(l))!;
  return line.trim().split(/\s+/).slice(4).map(Number);
}

/** Runs `scenario` under `kernel` on both backends (results and state hashes equal, check() passing). */
function onBothAs<T>(kernel: KernelVersion, scenario: (sys: System) => T): Promise<T> {
  return onBoth({ ...BUDDY_ONLY, ...SMALL, kernel }, (sys) => {
    sys.setPolicy({ allocNoFragment: false });
    return scenario(sys);
  });
}

describe("kernel profiles: selection", () => {
  it('the default is "6.12" exactly: same state hash, files and results as no option', async () => {
    for (const backend of BACKENDS) {
      const runs = await Promise.all([small(undefined, backend), small("6.12", backend)]);
      const seen = runs.map((sys) => {
        const pfns: (number | null)[] = [];
        for (let i = 0; i < 40; i++) pfns.push(sys.allocPages(i % 3, i % 2 ? "movable" : "unmovable"));
        for (let i = 0; i < 40; i += 3) if (pfns[i] !== null) sys.freePages(pfns[i]!, i % 3);
        sys.check();
        return {
          kernel: sys.kernel,
          pfns,
          hash: sys.stateHash(),
          pagetypeinfo: sys.readFile("/proc/pagetypeinfo"),
          vmstat: sys.readFile("/proc/vmstat"),
        };
      });
      expect(seen[0]!.kernel).toBe("6.12");
      expect(seen[1]).toEqual(seen[0]);
      // Other profiles hash differently even where their states agree (a fresh machine).
      const fresh = await Promise.all(
        (["6.12", "6.1", "6.18"] as const).map(async (k) => (await small(k, backend)).stateHash()),
      );
      expect(new Set(fresh).size).toBe(3);
    }
  });

  it("bad kernel values are EINVAL, and a bad drain type leaves the machine untouched", async () => {
    for (const kernel of ["6.2", "5.15", "", 6.1, "6.12 ", "v6.18"]) {
      await expect(createSystem({ ...BUDDY_ONLY, ...SMALL, kernel: kernel as KernelVersion })).rejects.toMatchObject({
        code: "EINVAL",
        errno: -22,
      });
    }
    for (const kernel of ["6.1", "6.12", "6.18"] as const) {
      await onBothAs(kernel, (sys) => {
        expect(claimFreeBlock(sys, 0, 0, "movable")).toBe(true);
        const before = sys.stateHash();
        expect(() => releaseHeldBlock(sys, 0, 0, "cma")).toThrow(expect.objectContaining({ code: "EINVAL" }));
        expect(() => releaseHeldBlock(sys, 0, 0, "sideways" as "movable")).toThrow(
          expect.objectContaining({ code: "EINVAL" }),
        );
        expect(sys.stateHash()).toBe(before);
        expect(releaseHeldBlock(sys, 0, 0)).toBe(true);
      });
    }
  });

  it("every profile keeps check()'s invariants through a mixed workload, the same on both backends", async () => {
    for (const kernel of ["6.1", "6.12", "6.18"] as const) {
      await onBothAs(kernel, (sys) => {
        // Movable blocks are held by their handles: direct compaction may move them.
        const held: (readonly [number, number] | MovablePage)[] = [];
        for (let i = 0; i < 400; i++) {
          const r = sys.random.int(2 ** 30);
          if (r % 3 !== 0 || held.length === 0) {
            const order = r % 4 === 0 ? 1 : 0;
            const mt = (["unmovable", "movable", "reclaimable"] as const)[(r >>> 3) % 3]!;
            const got = mt === "movable" ? sys.allocMovable(order) : sys.allocPages(order, mt);
            if (got !== null) held.push(typeof got === "number" ? ([got, order] as const) : got);
          } else {
            const block = held.splice((r >>> 5) % held.length, 1)[0]!;
            if (Array.isArray(block)) sys.freePages(block[0]!, block[1]!);
            else (block as MovablePage).free();
          }
          if (i % 50 === 0) sys.check();
        }
        return { kernel: sys.kernel, rows: freeRows(sys), blocks: blockCounts(sys) };
      });
    }
  });
});

describe("kernel profiles: peekRmqueue() follows each profile's rules", () => {
  it("names the block rmqueueInZone() then takes, fallbacks included (random workload with typed drains)", async () => {
    for (const kernel of ["6.1", "6.12", "6.18"] as const) {
      await onBoth({ ...BUDDY_ONLY, ramBytes: 8 * 2 ** 20, minFreeKbytes: 0, kernel }, (sys) => {
        const rnd = createRandom(11);
        const held: [number, number][] = [];
        const types = ["unmovable", "movable", "reclaimable"] as const;
        let fallbacks = 0;
        for (let i = 0; i < 4000; i++) {
          if (held.length > 0 && rnd.float() < (i < 2000 ? 0.25 : 0.55)) {
            const [pfn, order] = held.splice(rnd.int(held.length), 1)[0]!;
            // A drain carrying a per-cpu type (used by 6.1 only).
            expect(releaseHeldBlock(sys, pfn, order, rnd.float() < 0.2 ? types[rnd.int(3)] : undefined)).toBe(true);
            continue;
          }
          const order = rnd.float() < 0.8 ? 0 : rnd.int(6);
          const mt = types[rnd.int(3)]!;
          const peek = peekRmqueue(sys, "Normal", order, mt);
          const pfn = rmqueueInZone(sys, "Normal", order, mt);
          expect(pfn).toBe(peek?.pfn ?? null);
          if (peek?.fallback) fallbacks++;
          if (pfn !== null) held.push([pfn, order]);
          if (i % 500 === 0) sys.check();
        }
        expect(fallbacks).toBeGreaterThan(10);
        return [fallbacks, freeRows(sys)];
      });
    }
  });
});

describe("kernel profiles: 6.1's free lists (mm/page_alloc.c, v6.1)", () => {
  it("free_pcppages_bulk() frees a drained page to its per-cpu migratetype's list; merging does not retype", async () => {
    // claimFreeBlock(0, 0) splits the order-4 block at 0 (expand(): 8 o3, 4 o2, 2 o1, 1 o0 on the movable
    // list). The page comes back as a drain whose get_pcppage_migratetype() is unmovable:
    // - 6.1 __free_one_page(page, 0, zone, 0, MIGRATE_UNMOVABLE): merges with 1, 2, 4 (below pageblock
    //   order no type check), then at order 3 with 8 (pageblock 1 movable; unmovable and movable are both
    //   mergeable), and puts the order-4 block at 0 on the UNMOVABLE list; no pageblock is retyped.
    //   An unmovable order-0 request then finds it in __rmqueue_smallest(): pfn 0, no fallback, the
    //   halves on the unmovable list, both pageblocks still movable.
    // - 6.12 free_pcppages_bulk() reads the pageblock (movable): the block goes back to the movable
    //   list; the unmovable request falls back (__rmqueue_fallback(), order 4 first) and, at >= pageblock
    //   order, claims both pageblocks (change_pageblock_range()): pfn 0 too, but 2 unmovable pageblocks.
    const run = (sys: System) => {
      expect(claimFreeBlock(sys, 0, 0, "movable")).toBe(true);
      expect(releaseHeldBlock(sys, 0, 0, "unmovable")).toBe(true);
      const afterFree = freeRows(sys);
      const pfn = sys.allocPages(0, "unmovable");
      return { afterFree, pfn, rows: freeRows(sys), blocks: blockCounts(sys), pb1: sys.pageblockMigratetype(8) };
    };
    const six1 = await onBothAs("6.1", run);
    expect(six1.afterFree).toMatchObject({ Unmovable: [0, 0, 0, 0, 1], Movable: [0, 0, 0, 0, 3] });
    expect(six1.pfn).toBe(0);
    expect(six1.rows).toMatchObject({ Unmovable: [1, 1, 1, 1, 0], Movable: [0, 0, 0, 0, 3] });
    expect(six1.blocks).toEqual([0, 8, 0, 0, 0, 0]);
    const six12 = await onBothAs("6.12", run);
    expect(six12.afterFree).toMatchObject({ Unmovable: [0, 0, 0, 0, 0], Movable: [0, 0, 0, 0, 4] });
    expect(six12.pfn).toBe(0);
    expect(six12.rows).toMatchObject({ Unmovable: [1, 1, 1, 1, 0], Movable: [0, 0, 0, 0, 3] });
    expect(six12.blocks).toEqual([2, 6, 0, 0, 0, 0]);
  });

  it("__free_one_page() merging at pageblock order keeps the buddy's pageblock type (6.12 retypes it)", async () => {
    // Pageblock 0 (pfns 0-7) held and made unmovable; pageblock 1's order-3 block at 8 free on the
    // movable list. Freeing 0-7 (order 3, __free_pages_ok(): the pageblock's type, unmovable) merges
    // with 8: 6.1 leaves pageblock 1 movable (a free block on the unmovable list over a movable
    // pageblock); 6.12's __free_one_page() "if (buddy_mt != migratetype) set_pageblock_migratetype()"
    // makes it unmovable. Both put the order-4 block on the unmovable list.
    const run = (sys: System) => {
      expect(claimFreeBlock(sys, 0, 3, "unmovable")).toBe(true);
      setPageblockMigratetype(sys, 0, "unmovable");
      expect(releaseHeldBlock(sys, 0, 3)).toBe(true);
      return { rows: freeRows(sys), pb1: sys.pageblockMigratetype(8), info: sys.pageInfo(0) };
    };
    const six1 = await onBothAs("6.1", run);
    expect(six1).toMatchObject({ pb1: "movable", info: { state: "free", order: 4, migratetype: "unmovable" } });
    expect(six1.rows).toMatchObject({ Unmovable: [0, 0, 0, 0, 1], Movable: [0, 0, 0, 0, 3] });
    const six12 = await onBothAs("6.12", run);
    expect(six12).toMatchObject({ pb1: "unmovable", info: { state: "free", order: 4, migratetype: "unmovable" } });
    expect(six12.rows).toEqual(six1.rows);
  });
});

/**
 * A movable pageblock 0 with pfns 0-4 movable (owned) and 5 (o0), 6-7 (o1)
 * free; everything else held unmovable. An unmovable order-0 request must
 * fall back into pageblock 0: free 3, movable 5, alike 8 - (3 + 5) = 0, so
 * 3 + 0 < 4 and no version claims the pageblock.
 */
function stealSetup(sys: System): void {
  for (let i = 0; i < 5; i++) expect(sys.allocMovable(0)!.pfn).toBe(i); // 0, then 1, 2, 3, 4 as expand() left them
  for (const [pfn, order] of [
    [8, 3],
    [16, 4],
    [32, 4],
    [48, 4],
  ] as const)
    expect(claimFreeBlock(sys, pfn, order, "unmovable")).toBe(true);
  expect(freeRows(sys)).toMatchObject({ Unmovable: [0, 0, 0, 0, 0], Movable: [1, 1, 0, 0, 0] });
}

describe("kernel profiles: stealing without claiming", () => {
  const run = (sys: System) => {
    stealSetup(sys);
    const peek = peekRmqueue(sys, "Normal", 0, "unmovable");
    const pfn = sys.allocPages(0, "unmovable");
    return {
      peek: peek?.pfn,
      pfn,
      rows: freeRows(sys),
      pb0: sys.pageblockMigratetype(0),
      stats: sys.stats().extfragEvents,
    };
  };

  it("6.1: move_freepages_block() moves the block's free pages to the requester's lists and keeps them there", async () => {
    // __rmqueue_fallback(): largest order first — order 1, pfn 6 (movable). steal_suitable_fallback():
    // whole_block (unmovable may steal), move_freepages_block(zone, page, MIGRATE_UNMOVABLE) moves 5 (o0)
    // and 6 (o1) to the unmovable lists' tails; 3 + 0 < 4, no claim, pageblock 0 stays movable. __rmqueue()
    // retries __rmqueue_smallest(UNMOVABLE): order 0 holds 5. Left: 6 (o1) on the unmovable list.
    const r = await onBothAs("6.1", run);
    expect(r).toMatchObject({ peek: 5, pfn: 5, pb0: "movable", stats: 1 });
    expect(r.rows).toMatchObject({ Unmovable: [0, 1, 0, 0, 0], Movable: [0, 0, 0, 0, 0] });
  });

  it("6.12: the largest fallback block is split on its pageblock's list, nothing moved", async () => {
    // __rmqueue_fallback(): order 1, pfn 6; steal_suitable_fallback() counts (prep_move_freepages_block())
    // but does not claim, and page_del_and_expand(zone, page, 0, 1, block_type) keeps the half 7 on the
    // movable list beside 5.
    const r = await onBothAs("6.12", run);
    expect(r).toMatchObject({ peek: 6, pfn: 6, pb0: "movable", stats: 1 });
    expect(r.rows).toMatchObject({ Unmovable: [0, 0, 0, 0, 0], Movable: [2, 0, 0, 0, 0] });
  });

  it("6.18: __rmqueue_claim() fails at every order, __rmqueue_steal() splits the smallest block", async () => {
    // __rmqueue_claim(): should_try_claim_block() is true for unmovable at every order; order 1 (pfn 6)
    // and order 0 (pfn 5) both fail try_to_claim_block() (3 + 0 < 4). __rmqueue_steal(): from order 0 up,
    // the first fallback block is 5: taken whole. 6 (o1) stays on the movable list.
    const r = await onBothAs("6.18", run);
    expect(r).toMatchObject({ peek: 5, pfn: 5, pb0: "movable", stats: 1 });
    expect(r.rows).toMatchObject({ Unmovable: [0, 0, 0, 0, 0], Movable: [0, 1, 0, 0, 0] });
  });
});

describe("kernel profiles: replaying 6.1's non-claiming steals (the twin's stealWithoutClaim())", () => {
  it("moves the pageblock's free pages (or only the fallback block) to the requester's lists, 6.1 only", async () => {
    // stealSetup(): free 5 (o0) and 6 (o1) on the movable list of movable pageblock 0.
    // whole_block: move_freepages_block() moves both to the unmovable lists; otherwise
    // move_to_free_list() moves only the fallback block 6. No pageblock changes type.
    const whole = await onBothAs("6.1", (sys) => {
      stealSetup(sys);
      expect(stealWithoutClaim(sys, 6, "unmovable", true)).toBe(true);
      return { rows: freeRows(sys), pb0: sys.pageblockMigratetype(0) };
    });
    expect(whole).toEqual({
      rows: expect.objectContaining({ Unmovable: [1, 1, 0, 0, 0], Movable: [0, 0, 0, 0, 0] }),
      pb0: "movable",
    });
    const single = await onBothAs("6.1", (sys) => {
      stealSetup(sys);
      expect(stealWithoutClaim(sys, 6, "unmovable", false)).toBe(true);
      expect(stealWithoutClaim(sys, 0, "unmovable", false)).toBe(false); // pfn 0 is in use
      return freeRows(sys);
    });
    expect(single).toMatchObject({ Unmovable: [0, 1, 0, 0, 0], Movable: [1, 0, 0, 0, 0] });
    // Later kernels never leave a free block on another type's list: EINVAL, nothing changed.
    await onBothAs("6.12", (sys) => {
      stealSetup(sys);
      const before = sys.stateHash();
      expect(() => stealWithoutClaim(sys, 6, "unmovable", true)).toThrow(expect.objectContaining({ code: "EINVAL" }));
      expect(sys.stateHash()).toBe(before);
    });
  });
});

describe("kernel profiles: 6.18's claim at every order", () => {
  it("__rmqueue_claim() claims a smaller block's pageblock when the largest one's refuses", async () => {
    // Pageblock 0: 0-5 movable (owned), 6-7 free (o1): free 2 + alike 0 < 4. Pageblock 1: 8-14 held
    // unmovable, 15 free (o0): free 1 + alike 8 - (1 + 0) = 8 >= 4. Everything else held.
    // - 6.12 __rmqueue_fallback(): order 1 first, pfn 6; no claim; 6 taken, 7 back on the movable list.
    // - 6.18 __rmqueue_claim(): order 1, pfn 6: try_to_claim_block() NULL; order 0, pfn 15: claimed —
    //   __move_freepages_block() to unmovable, pageblock 1 unmovable, __rmqueue_smallest() takes 15.
    // - 6.1: order 1, pfn 6; move_freepages_block() moves 6 (o1) to the unmovable list without claiming;
    //   __rmqueue_smallest(UNMOVABLE) splits it: 6, and 7 on the unmovable list.
    const run = (sys: System) => {
      for (const [pfn, order, mt] of [
        [0, 2, "movable"],
        [4, 1, "movable"],
        [8, 2, "unmovable"],
        [12, 1, "unmovable"],
        [14, 0, "unmovable"],
        [16, 4, "unmovable"],
        [32, 4, "unmovable"],
        [48, 4, "unmovable"],
      ] as const)
        expect(claimFreeBlock(sys, pfn, order, mt)).toBe(true);
      const peek = peekRmqueue(sys, "Normal", 0, "unmovable");
      const pfn = sys.allocPages(0, "unmovable");
      return {
        peek: peek?.pfn,
        pfn,
        rows: freeRows(sys),
        types: [sys.pageblockMigratetype(0), sys.pageblockMigratetype(8)],
      };
    };
    const six12 = await onBothAs("6.12", run);
    expect(six12).toMatchObject({ peek: 6, pfn: 6, types: ["movable", "movable"] });
    expect(six12.rows).toMatchObject({ Unmovable: [0, 0, 0, 0, 0], Movable: [2, 0, 0, 0, 0] });
    const six18 = await onBothAs("6.18", run);
    expect(six18).toMatchObject({ peek: 15, pfn: 15, types: ["movable", "unmovable"] });
    expect(six18.rows).toMatchObject({ Unmovable: [0, 0, 0, 0, 0], Movable: [0, 1, 0, 0, 0] });
    const six1 = await onBothAs("6.1", run);
    expect(six1).toMatchObject({ peek: 6, pfn: 6, types: ["movable", "movable"] });
    expect(six1.rows).toMatchObject({ Unmovable: [1, 0, 0, 0, 0], Movable: [1, 0, 0, 0, 0] });
  });
});

describe("kernel profiles: 6.18's isolation bit and cma_alloc()", () => {
  it("undo_isolate_page_range() gives each pageblock back its own type in 6.18, the caller's in 6.12", async () => {
    // Pageblocks 0 and 1 made unmovable (the free order-4 block at 0 moves to the unmovable list).
    // start_isolate_page_range(0, 8, MOVABLE) isolates pageblock 0 (splitting the order-4 block:
    // 0 (o3) on the isolate list, 8 (o3) unmovable). Undo:
    // - 6.12 unset_migratetype_isolate(page, MIGRATE_MOVABLE): pageblock 0 becomes movable; its free
    //   order-3 block is freed again (__putback_isolated_page()) and merges with 8, retyping pageblock 1
    //   movable too: one order-4 block on the movable list.
    // - 6.18 unset_migratetype_isolate(page): clearing PB_migrate_isolate leaves "unmovable"; the merge
    //   gives one order-4 block on the unmovable list, both pageblocks unmovable.
    const run = (sys: System) => {
      setPageblockMigratetype(sys, 0, "unmovable");
      expect(sys.isolatePageRange(0, 8)).toBe(0);
      expect(sys.pageblockMigratetype(0)).toBe("isolate");
      sys.undoIsolatePageRange(0, 8);
      return { types: [sys.pageblockMigratetype(0), sys.pageblockMigratetype(8)], rows: freeRows(sys) };
    };
    const six12 = await onBothAs("6.12", run);
    expect(six12.types).toEqual(["movable", "movable"]);
    expect(six12.rows).toMatchObject({
      Unmovable: [0, 0, 0, 0, 0],
      Movable: [0, 0, 0, 0, 4],
      Isolate: [0, 0, 0, 0, 0],
    });
    const six18 = await onBothAs("6.18", run);
    expect(six18.types).toEqual(["unmovable", "unmovable"]);
    expect(six18.rows).toMatchObject({
      Unmovable: [0, 0, 0, 0, 1],
      Movable: [0, 0, 0, 0, 3],
      Isolate: [0, 0, 0, 0, 0],
    });
  });

  it("cma_alloc() from a full area: cma_range_alloc() logs -ENOMEM in 6.12, -EBUSY in 6.18", async () => {
    // An 8-page area: alloc(8) takes it all. alloc(1): "if (count > cma->available_count) break;" with
    // ret as initialised — 6.12 __cma_alloc(): int ret = -ENOMEM; 6.18 cma_range_alloc(): int ret = -EBUSY.
    // Both return NULL.
    for (const [kernel, errno] of [
      ["6.1", -12],
      ["6.12", -12],
      ["6.18", -16],
    ] as const) {
      await onBoth({ ...BUDDY_ONLY, ...SMALL, kernel, cma: [{ name: "c", bytes: 8 * PAGE }] }, (sys) => {
        const area = sys.cma("c");
        expect(area.alloc(8)).not.toBeNull();
        expect(area.lastError).toBe(0);
        expect(area.alloc(1)).toBeNull();
        expect(area.lastError).toBe(errno);
      });
    }
  });
});
