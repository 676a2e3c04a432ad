import { describe, expect, it } from "vitest";
import { MIB, expectUntouched, onBoth } from "../helpers.ts";

// A 16 MiB machine with min_free_kbytes 0: 4096 pages, eight pageblocks of 512.
// __setup_per_zone_wmarks(): min 0; the step is max(min / 4, 4096 * 10 / 10000 = 4)
// = 4, so low 4 and high 8. boost_watermark(): the zone has 4096 >= 4 * 512
// pages, max_boost = mult_frac(high 8, 15000, 10000) = 12, raised to a pageblock: 512.
const RAM = 16 * MIB;
// Buddy-level rules: the per-cpu lists would hold the order-0 pages these tests place.
const OPTIONS = { pcp: false, ramBytes: RAM, minFreeKbytes: 0 };

/** Fills RAM with order-0 movable pages (pfn i is page i), then frees the first `n`. */
function fillThenFree(sys: import("dmasim").System, n: number): void {
  for (let i = 0; i < 4096; i++) expect(sys.allocPages(0, "movable")).toBe(i);
  for (let pfn = 0; pfn < n; pfn++) sys.freePages(pfn, 0);
}

/** The zone's lines of /proc/zoneinfo from "pages free" to "promo". */
function zoneinfoWatermarks(sys: import("dmasim").System): string {
  const text = sys.readFile("/proc/zoneinfo");
  const at = text.indexOf("zone   Normal");
  const m =
    /\n {2}pages free {5}\d+\n {8}boost {4}\d+\n {8}min {6}\d+\n {8}low {6}\d+\n {8}high {5}\d+\n {8}promo {4}\d+/.exec(
      text.slice(at),
    );
  return m![0];
}

describe("watermark boosting (boost_watermark())", () => {
  it("boosts by a pageblock on a fragmenting fallback and shows it in /proc/zoneinfo", async () => {
    await onBoth(OPTIONS, (sys) => {
      expect(sys.zones()[0]!.watermarks).toMatchObject({ min: 0, low: 4, high: 8 });
      expect(sys.zoneReserves().maxBoostPages).toBe(512);
      fillThenFree(sys, 300); // free: 0/o8, 256/o5, 288/o3, 296/o2, all in movable pageblock 0
      expect(sys.zoneReserves().boostPages).toBe(0); // no fallback yet
      // An unmovable request falls back to the order-8 block (< pageblock_order 9):
      // steal_suitable_fallback() calls boost_watermark(): min(0 + 512, 512) = 512.
      expect(sys.allocPages(0, "unmovable")).toBe(296);
      expect(sys.zoneReserves()).toMatchObject({ boostPages: 512, boostedFlag: false });
      // ZONE_BOOSTED_WATERMARK was set and, at the end of the same rmqueue(), cleared
      // again to wake kswapd (order 0, this zone).
      expect(sys.kswapdState()).toEqual({
        order: 0,
        highestZone: "Normal",
        woken: true,
        ranLastAdvance: false,
        passesLastAdvance: 0,
        failures: 0,
      });
      // zoneinfo prints watermark_boost and wmark_pages(): _watermark[] + boost.
      expect(zoneinfoWatermarks(sys)).toBe(
        "\n  pages free     299\n        boost    512\n        min      512\n        low      516\n        high     520\n        promo    524",
      );
    });
  });

  it("makes watermark checks fail until kswapd's pass clears the boost", async () => {
    await onBoth(OPTIONS, (sys) => {
      fillThenFree(sys, 300);
      sys.allocPages(0, "unmovable"); // boost 512, 299 pages free
      // GFP_KERNEL order 0: the fast path needs 299 > low 4 + 512, the slow path
      // 299 > min 0 + 512: both fail (no reclaim, no compaction at order 0).
      expect(sys.allocPages(0, "movable")).toBeNull();
      // __GFP_HIGH at order 0: zone_watermark_fast() retries the min watermark
      // without the boost: 299 > 0 - 0/2 = 0. No movable block is free, so it falls
      // back to pageblock 0 (now unmovable): the order-8 block, 299 free + 212
      // movable pages (300..511) >= 256 claims the block back, and the smallest
      // movable block is 297/o0 (left from splitting 296/o2).
      const high = sys.allocPages(0, "movable", { high: true });
      expect(high).toBe(297);
      // The boost stays at its maximum of 512 (min(512 + 512, 512)).
      expect(sys.zoneReserves().boostPages).toBe(512);
      const before = sys.stats().nrFreePages;
      expect(sys.advanceTime(0)).toEqual({ kcompactd: 0, proactive: 0 });
      // balance_pgdat(): one pass (pageoutrun 1). Unbalanced with the boost (298 free
      // below high + 512), so nr_boost_reclaim is dropped and the priority loop
      // restarts; nothing is reclaimable (no page cache, no swap) at priorities
      // 12..1: kswapd_failures 1. The boost is taken off; kcompactd, woken for
      // pageblock_order 9, is not suitable: 298 free < low 4 + compact_gap 1024.
      // Balanced at order 0 without the boost, kswapd goes to sleep.
      expect(sys.zoneReserves().boostPages).toBe(0);
      expect(sys.kswapdState()).toEqual({
        order: 0,
        highestZone: null,
        woken: false,
        ranLastAdvance: true,
        passesLastAdvance: 1,
        failures: 1,
      });
      expect(sys.readFile("/proc/vmstat")).toContain("\npageoutrun 1\n");
      expect(sys.kcompactdState().maxOrder).toBe(9);
      expect(sys.stats().nrFreePages).toBe(before);
      expect(sys.allocPages(0, "movable")).not.toBeNull();
      return high;
    });
  });

  it("caps the boost at mult_frac(high, factor, 10000) and follows writes to the sysctl", async () => {
    await onBoth(OPTIONS, (sys) => {
      expect(sys.readFile("/proc/sys/vm/watermark_boost_factor")).toBe("15000\n");
      // 700000: mult_frac(8, 700000, 10000) = 560 > 512, so the cap is 560.
      sys.writeFile("/proc/sys/vm/watermark_boost_factor", "700000\n");
      expect(sys.readFile("/proc/sys/vm/watermark_boost_factor")).toBe("700000\n");
      expect(sys.zoneReserves().maxBoostPages).toBe(560);
      fillThenFree(sys, 300);
      sys.allocPages(0, "unmovable"); // order-8 fallback: min(0 + 512, 560) = 512
      expect(sys.zoneReserves().boostPages).toBe(512);
      // GFP_ATOMIC passes the boosted min: 299 > 512 - 256 - 64 = 192. A reclaimable
      // request falls back to the unmovable order-8 block: min(512 + 512, 560) = 560.
      expect(sys.allocPages(0, "reclaimable", { atomic: true })).not.toBeNull();
      expect(sys.zoneReserves().boostPages).toBe(560);
      expect(sys.zones()[0]!.watermarks).toMatchObject({ min: 0, low: 4, high: 8 }); // _watermark[] unchanged
      return sys.stats().extfragEvents;
    });
  });

  it("does not boost a whole-block fallback, with factor 0, or in a zone under four pageblocks", async () => {
    await onBoth(OPTIONS, (sys) => {
      // The first unmovable request on a fresh machine takes an order-10 block:
      // ownership of whole pageblocks, no boost.
      expect(sys.allocPages(0, "unmovable")).toBe(0);
      expect(sys.zoneReserves().boostPages).toBe(0);
    });
    await onBoth(OPTIONS, (sys) => {
      sys.writeFile("/proc/sys/vm/watermark_boost_factor", "0");
      expect(sys.zoneReserves().maxBoostPages).toBe(0);
      fillThenFree(sys, 300);
      expect(sys.allocPages(0, "unmovable")).toBe(296);
      expect(sys.zoneReserves().boostPages).toBe(0);
      expect(sys.zoneReserves().boostedFlag).toBe(false);
    });
    // 4 MiB: 1024 pages, two pageblocks: 512 * 4 > 1024.
    await onBoth({ pcp: false, ramBytes: 4 * MIB, minFreeKbytes: 0 }, (sys) => {
      expect(sys.zoneReserves().maxBoostPages).toBe(0);
      for (let i = 0; i < 1024; i++) sys.allocPages(0, "movable");
      for (let pfn = 0; pfn < 300; pfn++) sys.freePages(pfn, 0);
      expect(sys.allocPages(0, "unmovable")).toBe(296);
      expect(sys.zoneReserves().boostPages).toBe(0);
    });
  });

  it("leaves everything untouched on bad writes to watermark_boost_factor", async () => {
    await onBoth(OPTIONS, (sys) => {
      const path = "/proc/sys/vm/watermark_boost_factor";
      for (const text of ["-1", "abc", "2147483648", "", "1.5"])
        expectUntouched(sys, "EINVAL", () => sys.writeFile(path, text));
      expectUntouched(sys, "EINVAL", () => sys.setPolicy({ watermarkBoostFactor: -1 }));
      expect(sys.readFile(path)).toBe("15000\n");
      sys.writeFile(path, "2147483647");
      expect(sys.watermarkBoostFactor).toBe(2147483647);
      // mult_frac(8, 2147483647, 10000) = 0 * 2147483647 + 8 * 2147483647 / 10000 = 1717986.
      expect(sys.zoneReserves().maxBoostPages).toBe(1717986);
    });
  });
});
