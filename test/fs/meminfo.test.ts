import { describe, expect, it } from "vitest";
import type { SystemOptions } from "dmasim";
import { PAGE, onBoth } from "../helpers.ts";

// 256 pages (1024 kB), no pcp lists; min 32, low 40, high 48 pages.
const OPTIONS: SystemOptions = { ramBytes: 256 * PAGE, pageblockOrder: 4, maxOrder: 6, minFreeKbytes: 128, pcp: false };

function field(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[()]/g, "\\$&")}:\\s+(\\d+) kB$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in meminfo`);
  return Number(m[1]);
}

describe("/proc/meminfo (fs/proc/meminfo.c, si_mem_available())", () => {
  it("prints the kernel's lines and MemAvailable's arithmetic", async () => {
    await onBoth(OPTIONS, (sys) => {
      const f = sys.pageCache.createFile("f");
      f.add(0, 100);
      f.read(0, 10);
      f.read(0, 10); // 10 active, 90 inactive file pages
      for (let i = 0; i < 5; i++) sys.allocMovable(0); // 5 inactive anon pages
      const text = sys.readFile("/proc/meminfo");
      // show_val_kb(): the label padded to 16 columns, the value to 8, " kB".
      expect(text.startsWith("MemTotal:           1024 kB\nMemFree:             604 kB\n")).toBe(true);
      // free = 256 - 105 = 151; totalreserve_pages = high 48 (+ lowmem_reserve 0);
      // file LRU 100 - min(100 / 2, low 40) = 60: 151 - 48 + 60 = 163 pages = 652 kB.
      expect(field(text, "MemAvailable")).toBe(652);
      expect(field(text, "Buffers")).toBe(0);
      expect(field(text, "Cached")).toBe(400);
      expect(field(text, "Active")).toBe(40);
      expect(field(text, "Inactive")).toBe(380);
      expect(field(text, "Active(anon)")).toBe(0);
      expect(field(text, "Inactive(anon)")).toBe(20);
      expect(field(text, "Active(file)")).toBe(40);
      expect(field(text, "Inactive(file)")).toBe(360);
      expect(field(text, "AnonPages")).toBe(20);
      expect(field(text, "SwapTotal")).toBe(0);
      expect(field(text, "CommitLimit")).toBe(512);
      // CONFIG_CMA: both lines, 0 without an area.
      expect(text.endsWith("CmaTotal:              0 kB\nCmaFree:               0 kB\n")).toBe(true);
      expect(
        text
          .split("\n")
          .map((l) => l.split(":")[0])
          .slice(0, 8),
      ).toEqual(["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive"]);
      // A small page cache keeps half of itself: 20 pages - min(10, 40) = 10.
      f.truncate(20);
      const t2 = sys.readFile("/proc/meminfo");
      // free 151 + 80 = 231: 231 - 48 + 10 = 193 pages = 772 kB.
      expect(field(t2, "MemFree")).toBe(924);
      expect(field(t2, "MemAvailable")).toBe(772);
      return text;
    });
  });

  it("shows the CMA areas and their free pages", async () => {
    await onBoth({ ...OPTIONS, cma: [{ name: "c", bytes: 64 * PAGE }] }, (sys) => {
      const text = sys.readFile("/proc/meminfo");
      expect(field(text, "CmaTotal")).toBe(256);
      expect(field(text, "CmaFree")).toBe(256);
      sys.cma("c").alloc(16);
      expect(field(sys.readFile("/proc/meminfo"), "CmaFree")).toBe(192);
      return text;
    });
  });
});
