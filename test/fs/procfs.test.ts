import { describe, expect, it } from "vitest";
import { MIB, onBoth } from "../helpers.ts";

// 16 MiB with a 4 MiB CMA area at pfns 3072..4095. State A: one unmovable page
// allocated (it claimed pfns 0..1023, leaving one unmovable block of each order 0..9).
const OPTIONS = { ramBytes: 16 * MIB, minFreeKbytes: 0, cma: [{ name: "reserved", bytes: 4 * MIB }] };

const BUDDYINFO_A =
  "Node 0, zone   Normal      1      1      1      1      1      1      1      1      1      1      3 \n";

const PAGETYPEINFO_A =
  "Page block order: 9\n" +
  "Pages per block:  512\n" +
  "\n" +
  "Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n" +
  "Node    0, zone   Normal, type    Unmovable      1      1      1      1      1      1      1      1      1      1      0 \n" +
  "Node    0, zone   Normal, type      Movable      0      0      0      0      0      0      0      0      0      0      2 \n" +
  "Node    0, zone   Normal, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 \n" +
  "Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 \n" +
  "Node    0, zone   Normal, type          CMA      0      0      0      0      0      0      0      0      0      0      1 \n" +
  "Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 \n" +
  "\n" +
  "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n" +
  "Node 0, zone   Normal            2            4            0            0            2            0 \n";

// State B: then three order-10 movable blocks: 1024, 2048, and (CMA now holding
// over half the free pages) the CMA block 3072. Free: 1023 unmovable pages, orders 0..9.
const EXTFRAG_B =
  "Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000  0.801 \n";
const UNUSABLE_B = "Node 0, zone   Normal 0.000 0.000 0.002 0.006 0.014 0.030 0.061 0.124 0.249 0.499 1.000 \n";

describe("/proc and debugfs files", () => {
  it("print the kernel's formats for known states", async () => {
    await onBoth(OPTIONS, (sys) => {
      expect(sys.readFile("/proc/buddyinfo")).toBe(
        "Node 0, zone   Normal      0      0      0      0      0      0      0      0      0      0      4 \n",
      );
      expect(sys.allocPages(0, "unmovable")).toBe(0);
      expect(sys.readFile("/proc/buddyinfo")).toBe(BUDDYINFO_A);
      expect(sys.readFile("/proc/pagetypeinfo")).toBe(PAGETYPEINFO_A);

      expect([sys.allocPages(10, "movable"), sys.allocPages(10, "movable"), sys.allocPages(10, "movable")]).toEqual([
        1024, 2048, 3072,
      ]);
      expect(sys.readFile("/sys/kernel/debug/extfrag/extfrag_index")).toBe(EXTFRAG_B);
      expect(sys.readFile("/sys/kernel/debug/extfrag/unusable_index")).toBe(UNUSABLE_B);
      expect(sys.readFile("/proc/vmstat")).toBe(
        "nr_free_pages 1023\n" +
          // the three order-10 movable blocks are anonymous folios on the inactive
          // anon list (lru_cache_add of a new anon folio), 3 * 1024 pages
          "nr_zone_inactive_anon 3072\n" +
          "nr_zone_active_anon 0\n" +
          "nr_zone_inactive_file 0\n" +
          "nr_zone_active_file 0\n" +
          "nr_zone_unevictable 0\n" +
          "nr_zone_write_pending 0\n" +
          "nr_free_cma 0\n" +
          "nr_inactive_anon 3072\n" +
          "nr_active_anon 0\n" +
          "nr_inactive_file 0\n" +
          "nr_active_file 0\n" +
          "nr_unevictable 0\n" +
          "nr_anon_pages 3072\n" +
          "nr_file_pages 0\n" +
          "nr_dirty 0\n" +
          "nr_writeback 0\n" +
          // CONFIG_SWAP's node item and swap events: no swap on this machine
          "nr_swapcached 0\n" +
          "pswpin 0\n" +
          "pswpout 0\n" +
          "pgalloc_dma 0\n" +
          "pgalloc_dma32 0\n" +
          "pgalloc_normal 3073\n" +
          "pgalloc_movable 0\n" +
          "pgalloc_device 0\n" +
          // no request reached direct reclaim
          "allocstall_dma 0\n" +
          "allocstall_dma32 0\n" +
          "allocstall_normal 0\n" +
          "allocstall_movable 0\n" +
          "pgskip_dma 0\n" +
          "pgskip_dma32 0\n" +
          "pgskip_normal 0\n" +
          "pgskip_movable 0\n" +
          "pgfree 4096\n" + // boot frees count too
          "pgactivate 0\n" +
          "pgdeactivate 0\n" +
          "pgmajfault 0\n" + // no swap-in
          "pgrefill 0\n" +
          "pgsteal_kswapd 0\n" +
          "pgsteal_direct 0\n" +
          "pgscan_kswapd 0\n" +
          "pgscan_direct 0\n" +
          "pgscan_anon 0\n" +
          "pgscan_file 0\n" +
          "pgsteal_anon 0\n" +
          "pgsteal_file 0\n" +
          "kswapd_low_wmark_hit_quickly 0\n" +
          "kswapd_high_wmark_hit_quickly 0\n" +
          // balance_pgdat() runs: kswapd was never woken (no fallback, no slow path)
          "pageoutrun 0\n" +
          "pgrotated 0\n" +
          "drop_pagecache 0\n" +
          "drop_slab 0\n" +
          "pgmigrate_success 0\n" +
          "pgmigrate_fail 0\n" +
          // mm/vmstat.c's compact_* items, between the migration and CMA counters
          "compact_migrate_scanned 0\n" +
          "compact_free_scanned 0\n" +
          "compact_isolated 0\n" +
          "compact_stall 0\n" +
          "compact_fail 0\n" +
          "compact_success 0\n" +
          "compact_daemon_wake 0\n" +
          "compact_daemon_migrate_scanned 0\n" +
          "compact_daemon_free_scanned 0\n" +
          "cma_alloc_success 0\n" +
          "cma_alloc_fail 0\n",
      );
    });
  });

  it("serve the CMA sysfs and debugfs files", async () => {
    await onBoth(OPTIONS, (sys) => {
      const area = sys.cma("reserved");
      const pfn = area.alloc(100)!;
      area.alloc(5000);
      area.release(pfn, 40);
      const mm = "/sys/kernel/mm/cma/reserved/";
      expect(sys.readFile(mm + "alloc_pages_success")).toBe("100\n");
      expect(sys.readFile(mm + "alloc_pages_fail")).toBe("5000\n");
      expect(sys.readFile(mm + "release_pages_success")).toBe("40\n");
      expect(sys.readFile(mm + "total_pages")).toBe("1024\n");
      expect(sys.readFile(mm + "available_pages")).toBe("964\n");
      const dbg = "/sys/kernel/debug/cma/reserved/";
      expect(sys.readFile(dbg + "base_pfn")).toBe("3072\n");
      expect(sys.readFile(dbg + "count")).toBe("1024\n");
      expect(sys.readFile(dbg + "order_per_bit")).toBe("0\n");
      expect(sys.readFile(dbg + "used")).toBe("60\n");
      expect(sys.readFile(dbg + "maxchunk")).toBe("924\n");
    });
  });

  it("answer ENOENT for files that do not exist", async () => {
    await onBoth(OPTIONS, (sys) => {
      for (const path of ["/sys/kernel/mm/cma/nope/total_pages", "/sys/kernel/mm/cma/reserved/bogus", ""]) {
        expect(() => sys.readFile(path)).toThrow(expect.objectContaining({ code: "ENOENT", errno: -2 }));
      }
      expect(() => sys.readFile(42 as never)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    });
  });
});

describe("memory map", () => {
  it("reports each pageblock's migratetype and free pages", async () => {
    await onBoth(OPTIONS, (sys) => {
      sys.allocPages(0, "unmovable"); // pfn 0, pageblocks 0-1 unmovable
      sys.allocMovable(3); // pfns 1024..1031
      const map = sys.memoryMap();
      expect(Array.from(map.migratetypes)).toEqual([0, 0, 1, 1, 1, 1, 4, 4]);
      expect(Array.from(map.freePages)).toEqual([511, 512, 504, 512, 512, 512, 512, 512]);
      return Array.from(map.freePages);
    });
  });
});
