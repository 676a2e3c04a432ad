import { describe, it, expect } from "vitest";
import {
  DmaDebug,
  DMA_MAPPING_ERROR,
  DMA_SEG_BOUNDARY_NONE,
  TYPE2NAME,
  DIR2NAME,
  type DmaSgSegment,
} from "../../bindings/dma/debug.ts";
import { dmaSimErrorOf } from "../helpers.ts";

// The expected lines were written by hand from the err_printk() format strings
// in kernel/dma/debug.c (v6.10 to v6.12): "DMA-API: %s %s: " followed by the
// check's own text. Without setDevice() the device name is printed for both %s.

const LIMITS = { maxSegmentSize: 65536, segmentBoundaryMask: 0xffffffff };

/** A DmaDebug that prints every error, so printed() shows them all. */
function loud(): DmaDebug {
  return new DmaDebug({ showAllErrors: true });
}

describe("DmaDebug: bounded reports", () => {
  it("keeps the newest maxReports reports, counts every one, and error_count is unchanged", () => {
    const dd = new DmaDebug({ showAllErrors: true, maxReports: 3 });
    // Five unmaps of nothing: "device driver tries to free DMA memory it has not allocated".
    for (let i = 0; i < 5; i++) dd.unmapPage("eth0", 0x1000 * (i + 1), 4096, "to_device");
    expect([dd.reports.length, dd.reportCount, dd.errorCount()]).toEqual([3, 5, 5]);
    expect(dd.printed()[0]).toContain("[device address=0x0000000000003000]");
    expect(() => new DmaDebug({ maxReports: -1 })).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });
});

describe("DmaDebug: a correct driver", () => {
  it("map, dma_mapping_error, syncs, unmap, coherent and sg raise nothing", () => {
    const dd = loud();
    // streaming single, DMA_FROM_DEVICE (an RX buffer)
    dd.mapPage("eth0", 0x10000, 0xfff00000, 4096, "from_device");
    dd.mappingError("eth0", 0xfff00000);
    dd.syncSingleForCpu("eth0", 0xfff00000, 4096, "from_device");
    dd.cpuAccess("eth0", 0x10000, 4096, false);
    dd.syncSingleForDevice("eth0", 0xfff00000, 4096, "from_device");
    dd.syncSingleForCpu("eth0", 0xfff00000 + 0x100, 0x80, "from_device"); // partial sync
    dd.unmapPage("eth0", 0xfff00000, 4096, "from_device");
    dd.cpuAccess("eth0", 0x10000, 4096, true);

    // map_single, to the device (a TX buffer): syncing it for the CPU with the same direction is allowed
    dd.mapPage("eth0", 0x11000, 0x11000, 1500, "to_device", "single");
    dd.mappingError("eth0", 0x11000);
    dd.syncSingleForCpu("eth0", 0x11000, 1500, "to_device");
    dd.syncSingleForDevice("eth0", 0x11000, 1500, "to_device");
    dd.unmapPage("eth0", 0x11000, 1500, "to_device", "single");

    // coherent: CPU access is always fine
    dd.allocCoherent("eth0", 8192, 0x20000, 0xffff888000020000n, 0x20000);
    dd.cpuAccess("eth0", 0x20000, 8192, true);
    dd.freeCoherent("eth0", 8192, 0xffff888000020000n, 0x20000);

    // scatter-gather
    const segs: DmaSgSegment[] = [
      { paddr: 0x30000, devAddr: 0x30000, length: 4096, dmaLength: 4096 },
      { paddr: 0x32000, devAddr: 0x32000, length: 4096, dmaLength: 4096 },
    ];
    dd.mapSg("nvme0", segs, 2, 2, "bidirectional", LIMITS);
    dd.syncSgForCpu("nvme0", segs, 2, "bidirectional");
    dd.cpuAccess("nvme0", 0x30000, 0x3000, true);
    dd.syncSgForDevice("nvme0", segs, 2, "bidirectional");
    dd.unmapSg("nvme0", segs, 2, "bidirectional");

    // a resource mapping, checked
    dd.mapResource("nvme0", 0xfe000000, 0x80000000, 4096, "bidirectional");
    dd.mappingError("nvme0", 0x80000000);
    dd.unmapResource("nvme0", 0x80000000, 4096, "bidirectional");

    expect(dd.reports).toEqual([]);
    expect(dd.errorCount()).toBe(0);
    expect(dd.activeMappings()).toBe(0);
  });

  it("counts live entries per device, one per mapped sg segment", () => {
    const dd = loud();
    dd.mapPage("a", 0x1000, 0x1000, 64, "to_device");
    dd.mapSg(
      "b",
      [
        { paddr: 0x8000, devAddr: 0x8000, length: 512, dmaLength: 512 },
        { paddr: 0x9000, devAddr: 0x9000, length: 512, dmaLength: 512 },
      ],
      2,
      2,
      "to_device",
      LIMITS,
    );
    expect(dd.activeMappings()).toBe(3);
    expect(dd.activeMappings("a")).toBe(1);
    expect(dd.activeMappings("b")).toBe(2);
    expect(dd.activeMappings("c")).toBe(0);
  });
});

describe("DmaDebug: check_unmap()", () => {
  it("free of memory never mapped", () => {
    const dd = loud();
    dd.unmapPage("eth0", 0x5000, 256, "to_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000005000] [size=256 bytes]",
    ]);
    expect(dd.reports[0]?.kind).toBe("free-not-allocated");
    expect(dd.reports[0]?.origin).toBe("kernel");
  });

  it("free of DMA_MAPPING_ERROR", () => {
    const dd = loud();
    dd.unmapPage("eth0", DMA_MAPPING_ERROR, 256, "to_device");
    expect(dd.printed()).toEqual(["DMA-API: eth0 eth0: device driver tries to free an invalid DMA memory address"]);
  });

  it("a map that failed with DMA_MAPPING_ERROR is not recorded", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x1000, DMA_MAPPING_ERROR, 64, "to_device");
    expect(dd.activeMappings()).toBe(0);
  });

  it("unmap with a different size", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x1000, 0x1000, 512, "to_device");
    dd.mappingError("eth0", 0x1000);
    dd.unmapPage("eth0", 0x1000, 256, "to_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver frees DMA memory with different size [device address=0x0000000000001000] [map size=512 bytes] [unmap size=256 bytes]",
    ]);
    expect(dd.activeMappings()).toBe(0);
  });

  it("unmap with a different direction", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x2000, 0x2000, 128, "to_device");
    dd.mappingError("eth0", 0x2000);
    dd.unmapPage("eth0", 0x2000, 128, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver frees DMA memory with different direction [device address=0x0000000000002000] [size=128 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]",
    ]);
    expect(dd.reports[0]?.kind).toBe("direction-mismatch");
  });

  it("unmap with the wrong function, with the kernel's type names", () => {
    const dd = loud();
    dd.mapResource("eth0", 0xfe000000, 0x80000000, 4096, "bidirectional");
    dd.mappingError("eth0", 0x80000000);
    dd.unmapPage("eth0", 0x80000000, 4096, "bidirectional");

    dd.mapSg("eth0", [{ paddr: 0x40000, devAddr: 0x40000, length: 4096, dmaLength: 4096 }], 1, 1, "to_device", LIMITS);
    dd.unmapPage("eth0", 0x40000, 4096, "to_device");

    dd.allocCoherent("eth0", 4096, 0x50000, 0x150000, 0x50000);
    dd.unmapPage("eth0", 0x50000, 4096, "bidirectional");

    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver frees DMA memory with wrong function [device address=0x0000000080000000] [size=4096 bytes] [mapped as resource] [unmapped as single]",
      "DMA-API: eth0 eth0: device driver frees DMA memory with wrong function [device address=0x0000000000040000] [size=4096 bytes] [mapped as scather-gather] [unmapped as single]",
      "DMA-API: eth0 eth0: device driver frees DMA memory with wrong function [device address=0x0000000000050000] [size=4096 bytes] [mapped as coherent] [unmapped as single]",
    ]);
    expect(TYPE2NAME).toEqual(["single", "scather-gather", "coherent", "resource"]);
    expect(DIR2NAME).toEqual(["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE"]);
  });

  it("map_single then unmap_page is not a wrong function in v6.x: both record 'single'", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x1000, 0x1000, 64, "to_device", "single");
    dd.mappingError("eth0", 0x1000);
    dd.unmapPage("eth0", 0x1000, 64, "to_device", "page");
    expect(dd.reports).toEqual([]);
  });

  it("unmap of a mapping whose error was never checked", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x3000, 0x3000, 64, "to_device");
    dd.unmapPage("eth0", 0x3000, 64, "to_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver failed to check map error[device address=0x0000000000003000] [size=64 bytes] [mapped as single]",
    ]);
    expect(dd.reports[0]?.kind).toBe("map-error-not-checked");
  });

  it("coherent free with a different CPU address", () => {
    const dd = loud();
    dd.allocCoherent("gpu", 4096, 0x50000, 0x100000, 0x50000);
    dd.allocCoherent("gpu", 4096, 0x60000, 0x200000, 0x60000);
    dd.freeCoherent("gpu", 4096, 0x200000, 0x50000);
    expect(dd.printed()).toEqual([
      "DMA-API: gpu gpu: device driver frees DMA memory with different CPU address [device address=0x0000000000050000] [size=4096 bytes] [cpu alloc address=0x0000000000050000] [cpu free address=0x0000000000060000]",
    ]);
  });

  it("coherent free uses virtToPhys when given, and ignores addresses it rejects", () => {
    const dd = new DmaDebug({
      showAllErrors: true,
      virtToPhys: (va) => (va >= 0x900000n ? undefined : va - 0x100000n),
    });
    dd.allocCoherent("gpu", 4096, 0x50000, 0x150000, 0x50000);
    dd.freeCoherent("gpu", 4096, 0x950000, 0x50000); // rejected: nothing happens
    expect(dd.activeMappings()).toBe(1);
    dd.freeCoherent("gpu", 4096, 0x150000, 0x50000);
    expect(dd.activeMappings()).toBe(0);
    expect(dd.reports).toEqual([]);
  });

  it("sg unmap with a different entry count", () => {
    const dd = loud();
    const segs: DmaSgSegment[] = [0, 1, 2].map((i) => ({
      paddr: 0x100000 + i * 0x2000,
      devAddr: 0x100000 + i * 0x2000,
      length: 4096,
      dmaLength: 4096,
    }));
    dd.mapSg("nvme0", segs, 3, 3, "from_device", LIMITS);
    dd.unmapSg("nvme0", segs, 2, "from_device");
    const line =
      "DMA-API: nvme0 nvme0: device driver frees DMA sg list with different entry count [map count=3] [unmap count=2]";
    expect(dd.printed()).toEqual([line, line]);
    expect(dd.activeMappings()).toBe(1);
  });

  it("sg unmap stops at the mapped entry count (IOMMU merged the list)", () => {
    const dd = loud();
    const segs: DmaSgSegment[] = [
      { paddr: 0x40000, devAddr: 0x1000000, length: 0x1000, dmaLength: 0x2000 },
      { paddr: 0x80000, length: 0x1000 },
    ];
    dd.mapSg("nvme0", segs, 2, 1, "to_device", LIMITS);
    expect(dd.activeMappings()).toBe(1);
    dd.unmapSg("nvme0", [segs[0] as DmaSgSegment, { paddr: 0x80000, devAddr: 0, length: 0x1000 }], 2, "to_device");
    expect(dd.reports).toEqual([]);
    expect(dd.activeMappings()).toBe(0);
  });

  it("best fit: two mappings at one DMA address and no perfect match means 'not allocated'", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x6000, 0x6000, 64, "to_device");
    dd.mappingError("eth0", 0x6000);
    dd.mapPage("eth0", 0x6000, 0x6000, 128, "to_device");
    dd.mappingError("eth0", 0x6000);
    dd.unmapPage("eth0", 0x6000, 256, "to_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000006000] [size=256 bytes]",
    ]);
    expect(dd.activeMappings()).toBe(2);
  });

  it("debug_dma_map_page()'s own dma_mapping_error() marks an older mapping at the same address as checked", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x6000, 0x6000, 64, "to_device");
    dd.mapPage("eth0", 0x6000, 0x6000, 64, "to_device"); // marks the first one checked
    dd.unmapPage("eth0", 0x6000, 64, "to_device"); // perfect fit: the first one
    expect(dd.reports).toEqual([]);
    dd.unmapPage("eth0", 0x6000, 64, "to_device"); // the second was never checked
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver failed to check map error[device address=0x0000000000006000] [size=64 bytes] [mapped as single]",
    ]);
  });
});

describe("DmaDebug: check_sync()", () => {
  function mapped(dir: "to_device" | "from_device" | "bidirectional"): DmaDebug {
    const dd = loud();
    dd.mapPage("eth0", 0x4000, 0x4000, 256, dir);
    dd.mappingError("eth0", 0x4000);
    return dd;
  }

  it("sync of memory never mapped", () => {
    const dd = loud();
    dd.syncSingleForCpu("eth0", 0x9000, 16, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver tries to sync DMA memory it has not allocated [device address=0x0000000000009000] [size=16 bytes]",
    ]);
  });

  it("a sync running past the end of the mapping fails the containing lookup", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x10000, 0x10000, 4096, "from_device");
    dd.mappingError("eth0", 0x10000);
    dd.syncSingleForCpu("eth0", 0x10800, 4096, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver tries to sync DMA memory it has not allocated [device address=0x0000000000010800] [size=4096 bytes]",
    ]);
  });

  it("a partial sync in a later hash bucket finds the mapping by walking back", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x100000, 0x100000, 0x10000, "from_device"); // spans 8 buckets
    dd.mappingError("eth0", 0x100000);
    dd.syncSingleForCpu("eth0", 0x10e000, 0x1000, "from_device");
    expect(dd.reports).toEqual([]);
  });

  it("outside allocated range: only reachable when the 64-bit end wraps", () => {
    const dd = loud();
    const base = (1n << 64n) - 0x2000n;
    dd.mapPage("eth0", 0x1000, base, 0x1000, "from_device");
    dd.mappingError("eth0", base);
    dd.syncSingleForCpu("eth0", base, 0x3000, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver syncs DMA memory outside allocated range [device address=0xffffffffffffe000] [allocation size=4096 bytes] [sync offset+size=12288]",
    ]);
  });

  it("sync with a different direction", () => {
    const dd = mapped("to_device");
    dd.syncSingleForDevice("eth0", 0x4000, 256, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver syncs DMA memory with different direction [device address=0x0000000000004000] [size=256 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]",
    ]);
  });

  it("sync for cpu of device read-only memory", () => {
    const dd = mapped("to_device");
    dd.syncSingleForCpu("eth0", 0x4000, 256, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver syncs DMA memory with different direction [device address=0x0000000000004000] [size=256 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]",
      "DMA-API: eth0 eth0: device driver syncs device read-only DMA memory for cpu [device address=0x0000000000004000] [size=256 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]",
    ]);
    expect(dd.reports.map((r) => r.kind)).toEqual(["sync-direction-mismatch", "sync-read-only-for-cpu"]);
  });

  it("sync to device of device write-only memory", () => {
    const dd = mapped("from_device");
    dd.syncSingleForDevice("eth0", 0x4000, 256, "to_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver syncs DMA memory with different direction [device address=0x0000000000004000] [size=256 bytes] [mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]",
      "DMA-API: eth0 eth0: device driver syncs device write-only DMA memory to device [device address=0x0000000000004000] [size=256 bytes] [mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]",
    ]);
  });

  it("a DMA_BIDIRECTIONAL mapping skips the direction checks", () => {
    const dd = mapped("bidirectional");
    dd.syncSingleForCpu("eth0", 0x4000, 256, "to_device");
    dd.syncSingleForDevice("eth0", 0x4000, 256, "from_device");
    expect(dd.reports).toEqual([]);
  });

  it("sg sync with a different entry count", () => {
    const dd = loud();
    const segs: DmaSgSegment[] = [
      { paddr: 0x30000, devAddr: 0x30000, length: 4096, dmaLength: 4096 },
      { paddr: 0x32000, devAddr: 0x32000, length: 4096, dmaLength: 4096 },
    ];
    dd.mapSg("nvme0", segs, 2, 2, "from_device", LIMITS);
    dd.syncSgForCpu("nvme0", segs, 1, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: nvme0 nvme0: device driver syncs DMA sg list with different entry count [map count=2] [sync count=1]",
    ]);
  });

  it("sg sync of a list that was never mapped checks nothing", () => {
    const dd = loud();
    dd.syncSgForCpu("nvme0", [{ paddr: 0x30000, devAddr: 0x30000, length: 4096 }], 1, "from_device");
    expect(dd.reports).toEqual([]);
  });
});

describe("DmaDebug: device release", () => {
  it("reports pending mappings with the last entry in hash order; the notifier sees the bus name", () => {
    const dd = loud();
    dd.setDevice("0000:00:1f.2", { driver: "ahci", bus: "pci" });
    dd.mapPage("0000:00:1f.2", 0x1000, 0x1000, 512, "to_device");
    dd.allocCoherent("0000:00:1f.2", 4096, 0x100000, 0x300000, 0x100000);
    dd.unmapPage("0000:00:1f.2", 0x7000, 8, "to_device");
    dd.deviceRelease("0000:00:1f.2");
    expect(dd.printed()).toEqual([
      "DMA-API: ahci 0000:00:1f.2: device driver tries to free DMA memory it has not allocated [device address=0x0000000000007000] [size=8 bytes]",
      "DMA-API: pci 0000:00:1f.2: device driver has pending DMA allocations while released from device [count=2]\n" +
        "One of leaked entries details: [device address=0x0000000000100000] [size=4096 bytes] [mapped with DMA_BIDIRECTIONAL] [mapped as coherent]",
    ]);
    expect(dd.reports[1]?.kind).toBe("pending-on-release");
    expect(dd.activeMappings("0000:00:1f.2")).toBe(2); // the kernel keeps the entries
  });

  it("uses the device name for both strings without setDevice(), and is silent with nothing mapped", () => {
    const dd = loud();
    dd.deviceRelease("eth0");
    expect(dd.reports).toEqual([]);
    dd.mapPage("eth0", 0x1000, 0x1000, 64, "from_device");
    dd.deviceRelease("eth0");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver has pending DMA allocations while released from device [count=1]\n" +
        "One of leaked entries details: [device address=0x0000000000001000] [size=64 bytes] [mapped with DMA_FROM_DEVICE] [mapped as single]",
    ]);
  });

  it("prints an empty driver string for an unbound device without a bus", () => {
    const dd = loud();
    dd.setDevice("vdev0", {});
    dd.unmapPage("vdev0", 0x1000, 8, "to_device");
    expect(dd.printed()[0]).toBe(
      "DMA-API:  vdev0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=8 bytes]",
    );
  });
});

describe("DmaDebug: active cacheline tracking", () => {
  it("two device-writable mappings starting in one cacheline", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x7000, 0x7000, 32, "from_device");
    dd.mapPage("eth0", 0x7020, 0x7020, 32, "from_device");
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: cacheline tracking EEXIST, overlapping mappings aren't supported",
    ]);
    expect(dd.reports[0]?.kind).toBe("cacheline-overlap");
  });

  it("DMA_TO_DEVICE mappings, DMA_ATTR_SKIP_CPU_SYNC and other cachelines are not reported", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x7000, 0x7000, 32, "from_device");
    dd.mapPage("eth0", 0x7020, 0x7020, 32, "to_device");
    dd.mapPage("eth0", 0x7010, 0x7010, 16, "bidirectional", "page", { skipCpuSync: true });
    dd.mapPage("eth0", 0x7040, 0x7040, 32, "from_device");
    expect(dd.reports).toEqual([]);
    // only the first cacheline of a mapping is tracked
    dd.mapPage("eth0", 0x8000, 0x8000, 256, "from_device");
    dd.mapPage("eth0", 0x8080, 0x8080, 64, "from_device");
    expect(dd.reports).toEqual([]);
  });

  it("the overlap counter saturates at 7 with one WARN_ONCE", () => {
    const dd = loud();
    for (let i = 0; i < 10; i++) dd.mapPage("eth0", 0x8000 + 4 * i, 0x100000 + 0x100 * i, 4, "from_device");
    const eexist = "DMA-API: eth0 eth0: cacheline tracking EEXIST, overlapping mappings aren't supported";
    const warn = "DMA-API: exceeded 7 overlapping mappings of cacheline 0x0000000000000200";
    expect(dd.printed()).toEqual([...Array<string>(7).fill(eexist), warn, eexist, eexist]);
    expect(dd.reports.filter((r) => r.kind === "cacheline-overlap-exceeded").map((r) => r.suppressed)).toEqual([
      false,
      true,
    ]);
    expect(dd.errorCount()).toBe(9); // WARN_ONCE is not an err_printk
  });
});

describe("DmaDebug: check_sg_segment()", () => {
  it("segment longer than the device supports, and across its boundary", () => {
    const dd = loud();
    dd.mapSg(
      "nvme0",
      [{ paddr: 0x100000, devAddr: 0x100000, length: 0x20000, dmaLength: 0x20000 }],
      1,
      1,
      "to_device",
      {
        maxSegmentSize: 0x10000,
        segmentBoundaryMask: 0xffff,
      },
    );
    expect(dd.printed()).toEqual([
      "DMA-API: nvme0 nvme0: mapping sg segment longer than device claims to support [len=131072] [max=65536]",
      "DMA-API: nvme0 nvme0: mapping sg segment across boundary [start=0x0000000000100000] [end=0x000000000011ffff] [boundary=0x000000000000ffff]",
    ]);
  });

  it("the defaults (64 KiB, no boundary) and debugSg: false", () => {
    const seg = [{ paddr: 0x100000, devAddr: 0x100000, length: 0x10000, dmaLength: 0x10000 }];
    const dd = loud();
    dd.mapSg("nvme0", seg, 1, 1, "to_device");
    dd.mapSg("nvme1", seg, 1, 1, "to_device", { maxSegmentSize: 0x10000, segmentBoundaryMask: DMA_SEG_BOUNDARY_NONE });
    expect(dd.reports).toEqual([]);
    const off = new DmaDebug({ showAllErrors: true, debugSg: false });
    off.mapSg("nvme0", seg, 1, 1, "to_device", { maxSegmentSize: 512, segmentBoundaryMask: 0xfff });
    expect(off.reports).toEqual([]);
  });
});

describe("DmaDebug: err_printk() rate limiting", () => {
  function threeErrors(dd: DmaDebug): void {
    dd.unmapPage("eth0", 0x1000, 8, "to_device");
    dd.unmapPage("eth0", 0x2000, 8, "to_device");
    dd.unmapPage("sda", 0x3000, 8, "to_device");
  }

  it("prints only the first error of the system by default", () => {
    const dd = new DmaDebug();
    threeErrors(dd);
    expect(dd.errorCount()).toBe(3);
    expect(dd.reports.map((r) => r.suppressed)).toEqual([false, true, true]);
    expect(dd.printed()).toEqual([
      "DMA-API: eth0 eth0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=8 bytes]",
    ]);
  });

  it("prints all with showAllErrors, and num_errors of them otherwise", () => {
    const all = new DmaDebug({ showAllErrors: true });
    threeErrors(all);
    expect(all.printed()).toHaveLength(3);

    const two = new DmaDebug({ showNumErrors: 2 });
    threeErrors(two);
    expect(two.reports.map((r) => r.suppressed)).toEqual([false, false, true]);

    const none = new DmaDebug({ showNumErrors: 0 });
    threeErrors(none);
    expect(none.printed()).toEqual([]);
    expect(none.errorCount()).toBe(3);
    none.setShowNumErrors(1);
    none.unmapPage("eth0", 0x4000, 8, "to_device");
    expect(none.printed()).toHaveLength(1);
    none.setShowAllErrors(true);
    threeErrors(none);
    expect(none.printed()).toHaveLength(4);
  });

  it("the driver filter hides other drivers, whose errors still use up num_errors", () => {
    const dd = new DmaDebug({ driverFilter: "ahci" });
    dd.setDevice("0000:00:19.0", { driver: "e1000e", bus: "pci" });
    dd.setDevice("0000:00:1f.2", { driver: "ahci", bus: "pci" });
    dd.unmapPage("0000:00:19.0", 0x1000, 8, "to_device");
    dd.unmapPage("0000:00:1f.2", 0x1000, 8, "to_device");
    expect(dd.printed()).toEqual([]);
    expect(dd.errorCount()).toBe(2);

    const all = new DmaDebug({ showAllErrors: true, driverFilter: "ahci" });
    all.setDevice("0000:00:19.0", { driver: "e1000e", bus: "pci" });
    all.setDevice("0000:00:1f.2", { driver: "ahci", bus: "pci" });
    all.unmapPage("0000:00:19.0", 0x1000, 8, "to_device");
    all.unmapPage("0000:00:1f.2", 0x1000, 8, "to_device");
    expect(all.printed()).toEqual([
      "DMA-API: ahci 0000:00:1f.2: device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=8 bytes]",
    ]);
    all.setDriverFilter(null);
    all.unmapPage("0000:00:19.0", 0x1000, 8, "to_device");
    expect(all.printed()).toHaveLength(2);
  });
});

describe("DmaDebug: dmasim buffer ownership", () => {
  const DEV = 0xfff00000;

  it("reports CPU access while the device owns the buffer, not after sync_for_cpu", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x10000, DEV, 4096, "from_device");
    dd.mappingError("eth0", DEV);
    dd.cpuAccess("eth0", 0x10100, 16, false);
    expect(dd.printed()).toEqual([
      "DMA-API (dmasim): eth0 eth0: cpu reads from DMA memory owned by the device [phys address=0x0000000000010100] [access size=16 bytes] [device address=0x00000000fff00000] [size=4096 bytes] [mapped with DMA_FROM_DEVICE] [mapped as single]",
    ]);
    expect(dd.reports[0]?.origin).toBe("dmasim");
    expect(dd.reports[0]?.kind).toBe("cpu-access-device-owned");

    dd.syncSingleForCpu("eth0", DEV, 4096, "from_device");
    dd.cpuAccess("eth0", 0x10100, 16, true);
    expect(dd.reports).toHaveLength(1);

    dd.syncSingleForDevice("eth0", DEV, 4096, "from_device");
    dd.cpuAccess("eth0", 0x10ff0, 0x100, true); // overlaps the last 16 bytes
    expect(dd.printed()[1]).toBe(
      "DMA-API (dmasim): eth0 eth0: cpu writes to DMA memory owned by the device [phys address=0x0000000000010ff0] [access size=256 bytes] [device address=0x00000000fff00000] [size=4096 bytes] [mapped with DMA_FROM_DEVICE] [mapped as single]",
    );

    dd.unmapPage("eth0", DEV, 4096, "from_device");
    dd.cpuAccess("eth0", 0x10000, 4096, true);
    expect(dd.reports).toHaveLength(2);
  });

  it("tracks partial syncs byte by byte", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x10000, DEV, 4096, "bidirectional");
    dd.mappingError("eth0", DEV);
    dd.syncSingleForCpu("eth0", DEV + 0x800, 0x800, "bidirectional");
    dd.cpuAccess("eth0", 0x10800, 0x800, true);
    expect(dd.reports).toEqual([]);
    dd.cpuAccess("eth0", 0x107ff, 1, false);
    expect(dd.reports).toHaveLength(1);
  });

  it("scopes the check to the given device, or every device with null", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x10000, DEV, 4096, "to_device");
    dd.cpuAccess("sda", 0x10000, 8, false);
    expect(dd.reports).toEqual([]);
    dd.cpuAccess(null, 0x10000, 8, false);
    expect(dd.reports).toHaveLength(1);
    expect(dd.reports[0]?.device).toBe("eth0");
  });

  it("follows merged sg segments back to their pages", () => {
    const dd = loud();
    const segs: DmaSgSegment[] = [
      { paddr: 0x40000, devAddr: 0x1000000, length: 0x1000, dmaLength: 0x2000 },
      { paddr: 0x80000, length: 0x1000 },
    ];
    dd.mapSg("nvme0", segs, 2, 1, "from_device", LIMITS);
    dd.cpuAccess("nvme0", 0x80010, 4, false);
    expect(dd.printed()).toEqual([
      "DMA-API (dmasim): nvme0 nvme0: cpu reads from DMA memory owned by the device [phys address=0x0000000000080010] [access size=4 bytes] [device address=0x0000000001000000] [size=8192 bytes] [mapped with DMA_FROM_DEVICE] [mapped as scather-gather]",
    ]);
    dd.syncSingleForCpu("nvme0", 0x1001000, 0x1000, "from_device"); // the second page only
    dd.cpuAccess("nvme0", 0x80010, 4, false);
    expect(dd.reports).toHaveLength(1);
    dd.cpuAccess("nvme0", 0x40010, 4, false);
    expect(dd.reports).toHaveLength(2);
    dd.syncSgForCpu("nvme0", segs, 2, "from_device");
    dd.cpuAccess("nvme0", 0x40000, 0x1000, true);
    expect(dd.reports).toHaveLength(2);
  });

  it("optionally runs the removed debug_dma_assert_idle() cacheline check", () => {
    const dd = new DmaDebug({ showAllErrors: true, assertIdle: true });
    dd.mapPage("eth0", 0x10000, 0x10000, 4096, "from_device");
    dd.mappingError("eth0", 0x10000);
    dd.mapPage("eth0", 0x20000, 0x20000, 4096, "to_device");
    dd.mappingError("eth0", 0x20000);
    dd.syncSingleForCpu("eth0", 0x10000, 4096, "from_device");
    dd.syncSingleForCpu("eth0", 0x20000, 4096, "to_device");
    dd.cpuAccess(null, 0x10040, 64, false); // not the first cacheline
    dd.cpuAccess(null, 0x20000, 64, false); // DMA_TO_DEVICE is not tracked
    expect(dd.reports).toEqual([]);
    dd.cpuAccess(null, 0xf000, 0x2000, false);
    expect(dd.printed()).toEqual([
      "DMA-API (dmasim): eth0 eth0: cpu touching an active dma mapped cacheline [cln=0x0000000000000400]",
    ]);
    dd.unmapPage("eth0", 0x10000, 4096, "from_device");
    dd.cpuAccess(null, 0x10000, 64, false);
    expect(dd.reports).toHaveLength(1);
  });
});

describe("DmaDebug: debugfs dump", () => {
  it("prints each entry like dma-api/dump", () => {
    const dd = loud();
    dd.mapPage("eth0", 0x12345040, 0xabc000, 4096, "to_device");
    expect(dd.dump()).toEqual([
      "eth0 eth0 single idx 1374 P=12345040 N=12345 D=abc000 L=1000 cln=0x000000000048d141 DMA_TO_DEVICE dma map error not checked",
    ]);
  });
});

describe("DmaDebug: bad arguments", () => {
  const einval = (fn: () => void) => expect(dmaSimErrorOf(fn).code).toBe("EINVAL");

  it("rejects non-integers, negatives, out-of-range values and unknown names", () => {
    const dd = loud();
    einval(() => dd.mapPage("eth0", -1, 0, 8, "to_device"));
    einval(() => dd.mapPage("eth0", 0, 1.5, 8, "to_device"));
    einval(() => dd.mapPage("eth0", 0, 0, 2 ** 53, "to_device"));
    einval(() => dd.mapPage("eth0", 0, 1n << 64n, 8, "to_device"));
    einval(() => dd.mapPage("eth0", 0, 0, 8, "sideways" as never));
    einval(() => dd.mapPage("", 0, 0, 8, "to_device"));
    einval(() => dd.mapPage("eth0", 0, 0, 8, "to_device", "sg" as never));
    einval(() => dd.unmapPage("eth0", 0, Number.NaN, "to_device"));
    einval(() => dd.mapSg("eth0", [], 1, 1, "to_device", LIMITS));
    einval(() => dd.mapSg("eth0", [{ paddr: 0, devAddr: 0, length: 8, dmaLength: 8 }], 1, 2, "to_device", LIMITS));
    einval(() => dd.mapSg("eth0", [{ paddr: 0, devAddr: 0, length: 8 }], 1, 1, "to_device", LIMITS));
    einval(() =>
      dd.mapSg("eth0", [{ paddr: 0, devAddr: 0, length: 2 ** 32, dmaLength: 8 }], 1, 1, "to_device", LIMITS),
    );
    einval(() => dd.syncSgForCpu("eth0", [{ paddr: 0, length: 8 }], 1, "to_device"));
    einval(() => dd.cpuAccess("eth0", 0, 8, 1 as never));
    einval(() => new DmaDebug({ showNumErrors: -1 }));
    einval(() => new DmaDebug({ cachelineBytes: 48 }));
    expect(dd.reports).toEqual([]);
    expect(dd.activeMappings()).toBe(0);
  });
});
