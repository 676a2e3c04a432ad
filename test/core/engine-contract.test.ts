// The engine contract: both builds of assembly/ export the same functions, and
// the bindings read the engine's ABI constants (assembly/abi.ts) rather than copies.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createSystem, ERRNO, MIB, MIGRATETYPES, type System } from "dmasim";
// The compiled backend: it finds the WASM build relative to dist/bindings/core/.
import { loadEngine } from "../../dist/bindings/core/backend.js";
import * as abi from "../../bindings/core/abi.generated.ts";
import { byIndex, decodePagePins, decodePageState, encodePagePins, encodePageState } from "../../bindings/core/abi.ts";
import { EVENT_KEYS, SWAP_EVENT_KEYS, ZONE_NAMES } from "../../bindings/mm/mm.ts";
import { STAT_KEYS } from "../../bindings/mm/cma.ts";
import { internals } from "../helpers.ts";

const root = new URL("../../", import.meta.url);

/** Every function an engine object exposes (own or inherited), with its arity. */
function functionsOf(engine: object): Map<string, number> {
  const out = new Map<string, number>();
  for (const key in engine) {
    const value = (engine as Record<string, unknown>)[key];
    if (typeof value === "function") out.set(key, value.length);
  }
  return out;
}

describe("engine exports", () => {
  it("the WASM build, its generated typings and the portable build export the same functions with the same arities", async () => {
    const dts = readFileSync(new URL("dist/engine/engine.d.ts", root), "utf8");
    const declared = new Map(
      [...dts.matchAll(/export function (\w+)\(([^)]*)\)/g)].map((m) => [
        m[1]!,
        m[2]!.trim() ? m[2]!.split(",").length : 0,
      ]),
    );
    const wasm = functionsOf((await loadEngine("wasm")).engine);
    const portable = functionsOf((await loadEngine("ts")).engine);
    expect(declared.size).toBeGreaterThan(80);
    expect(Object.fromEntries(wasm)).toEqual(Object.fromEntries(declared));
    expect(Object.fromEntries(portable)).toEqual(Object.fromEntries(declared));
  });
});

describe("ABI constants", () => {
  it("bindings/core/abi.generated.ts is what scripts/gen-abi.mjs makes of assembly/abi.ts", async () => {
    const { generateAbi } = (await import("../../scripts/gen-abi.mjs")) as { generateAbi(source: string): string };
    const source = readFileSync(new URL("assembly/abi.ts", root), "utf8");
    expect(readFileSync(new URL("bindings/core/abi.generated.ts", root), "utf8")).toBe(generateAbi(source));
  });

  it("holds the values the engine was compiled with (the portable build's own abi.js)", async () => {
    const compiled = (await import("../../build/portable/abi.js")) as Record<string, unknown>;
    const { ERRNO: _group, ...constants } = abi;
    expect(Object.keys(compiled).length).toBeGreaterThan(50);
    expect(constants).toEqual({ ...compiled });
    expect(ERRNO).toEqual(abi.ERRNO);
  });

  it("rejects anything but integer constants", async () => {
    const { generateAbi } = (await import("../../scripts/gen-abi.mjs")) as { generateAbi(source: string): string };
    expect(
      generateAbi(
        "// ---- x\n// @ts-ignore: decorator\n@inline export const A: i32 = 1 << 4;\nexport const B: i32 = A | 1;\n",
      ),
    ).toContain("export const B = 17; // A | 1");
    for (const bad of [
      "export let A: i32 = 1;",
      "export const A: i32 = 1;\nexport const A: i32 = 2;",
      "export const A: f64 = 1.5;",
      "export const A: i32 = B;",
      "export const A: i32 = 7 / 2;",
      "export function f(): i32 { return 1; }",
      'import { X } from "./x.ts";',
      "const A: i32 = 1;",
      "export const A: i32 = 0x7fffffff + 1;",
    ]) {
      expect(() => generateAbi(bad), bad).toThrow();
    }
  });

  it("byIndex() tables have exactly one entry per engine index", () => {
    expect(EVENT_KEYS).toHaveLength(abi.EV_COUNT);
    expect(STAT_KEYS).toHaveLength(abi.CMA_STAT_COUNT);
    expect(MIGRATETYPES).toHaveLength(abi.MIGRATE_TYPES);
    expect(ZONE_NAMES).toHaveLength(abi.MAX_NR_ZONES);
    for (const list of [EVENT_KEYS, STAT_KEYS, MIGRATETYPES, ZONE_NAMES]) expect(new Set(list).size).toBe(list.length);
    expect(EVENT_KEYS[abi.EV_PGFREE]).toBe("pgfree");
    expect(STAT_KEYS[abi.CMA_STAT_BUSY_RETRIES]).toBe("busyRetries");
    expect(MIGRATETYPES[abi.MIGRATE_CMA]).toBe("cma");
    expect(ZONE_NAMES[abi.ZONE_DMA32]).toBe("DMA32");
    // A table that misses an index, has one too many, or names a value twice is refused at load.
    expect(() => byIndex("t", 3, { 0: "a", 1: "b" })).toThrow(/no entry for engine index 2/);
    expect(() => byIndex("t", 2, { 0: "a", 1: "b", 2: "c" })).toThrow(/beyond/);
    expect(() => byIndex("t", 2, { 0: "a", 1: "a" })).toThrow(/two indexes/);
    expect(byIndex("t", 2, { 1: "b", 0: "a" })).toEqual(["a", "b"]);
  });
});

describe.each(["wasm", "ts"] as const)("engine contract on the %s backend", (backend) => {
  async function machine(): Promise<System> {
    return createSystem({
      backend,
      ramBytes: 64 * MIB,
      zones: "x86_64",
      swiotlbBytes: MIB,
      cma: [{ name: "cam", bytes: 8 * MIB }],
    });
  }

  it("every engine event and CMA counter has exactly one stats key, and nothing else is reported", async () => {
    const sys = await machine();
    const stats = sys.stats() as unknown as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual(
      [...EVENT_KEYS, ...SWAP_EVENT_KEYS, "nrFreePages", "nrFreeCmaPages", "allocFailByOrder"].sort(),
    );
    sys.allocPages(0, "unmovable");
    sys.allocPages(1, "movable");
    EVENT_KEYS.forEach((key, i) => expect(sys.stats()[key], key).toBe(internals(sys).engine.vmEvent(i)));
    expect(sys.stats().pgalloc).toBe(3);
    const area = sys.cma("cam");
    expect(area.alloc(4)).not.toBeNull();
    expect(Object.keys(area.stats).sort()).toEqual([...STAT_KEYS].sort());
    STAT_KEYS.forEach((key, i) => expect(area.stats[key], key).toBe(internals(sys).engine.cmaStat(area.id, i)));
    expect(area.stats.pagesSucceeded).toBe(4);
  });

  it("pageState() and pagePins() decode and re-encode to the same numbers for every pfn", async () => {
    const sys = await machine();
    const e = internals(sys).engine;
    const unmovable = sys.allocPages(3, "unmovable", { zone: "DMA" })!;
    const reclaimable = sys.allocPages(0, "reclaimable")!;
    const page = sys.allocMovable(2)!;
    page.pin();
    page.pin();
    const longPfn = sys.allocMovable(0)!.pinLongterm();
    const cmaPfn = sys.cma("cam").alloc(8)!;
    const swiotlbPfn = sys.swiotlb!.start / sys.pageSize;

    const kinds = new Set<number>();
    for (let pfn = 0; pfn < sys.nrPages; pfn++) {
      const s = e.pageState(pfn);
      const decoded = decodePageState(s);
      kinds.add(decoded.kind);
      expect(encodePageState(decoded)).toBe(s);
      const pins = e.pagePins(pfn);
      expect(encodePagePins(decodePagePins(pins))).toBe(pins);
    }
    expect([...kinds].sort()).toEqual([abi.KIND_NONE, abi.KIND_BUDDY, abi.KIND_ALLOC]);

    const state = (pfn: number) => decodePageState(e.pageState(pfn));
    expect(state(unmovable)).toEqual({
      kind: abi.KIND_ALLOC,
      migratetype: abi.MIGRATE_UNMOVABLE,
      order: 3,
      cma: false,
      reserved: false,
    });
    expect(e.zoneOfPfn(unmovable)).toBe(abi.ZONE_DMA);
    expect(state(unmovable + 1).kind).toBe(abi.KIND_NONE);
    expect(state(reclaimable)).toMatchObject({ kind: abi.KIND_ALLOC, migratetype: abi.MIGRATE_RECLAIMABLE, order: 0 });
    expect(state(page.pfn)).toMatchObject({
      kind: abi.KIND_ALLOC,
      migratetype: abi.MIGRATE_MOVABLE,
      order: 2,
      cma: false,
    });
    expect(state(cmaPfn)).toMatchObject({ kind: abi.KIND_ALLOC, order: 0, cma: true, reserved: false });
    expect(state(swiotlbPfn)).toMatchObject({ kind: abi.KIND_ALLOC, order: 0, cma: false, reserved: true });
    expect(decodePagePins(e.pagePins(page.pfn))).toEqual({ shortPins: 2, longPins: 0 });
    expect(decodePagePins(e.pagePins(longPfn))).toEqual({ shortPins: 0, longPins: 1 });
    expect(sys.pageInfo(page.pfn)).toMatchObject({
      state: "allocated",
      order: 2,
      migratetype: "movable",
      shortPins: 2,
      longPins: 0,
    });
    const free = Array.from({ length: sys.nrPages }, (_, pfn) => pfn).find(
      (pfn) => state(pfn).kind === abi.KIND_BUDDY,
    )!;
    expect(sys.pageInfo(free)).toMatchObject({
      state: "free",
      order: state(free).order,
      migratetype: MIGRATETYPES[state(free).migratetype],
    });
  });

  it("the engine answers with the shared errno values, zone and gfp codes", async () => {
    const sys = await machine();
    const e = internals(sys).engine;
    expect(e.pageState(-1)).toBe(-ERRNO.EINVAL);
    expect(e.allocPages(0, abi.MIGRATE_CMA, abi.ZONE_NORMAL, 0)).toBe(-ERRNO.EINVAL);
    expect(e.allocPages(0, abi.MIGRATE_UNMOVABLE, abi.ZONE_MOVABLE, 0)).toBe(-ERRNO.EINVAL);
    expect(e.allocPages(0, abi.MIGRATE_UNMOVABLE, abi.ZONE_NORMAL, abi.GFP_VALID_MASK + 1)).toBe(-ERRNO.EINVAL);
    const pfn = e.allocPages(0, abi.MIGRATE_UNMOVABLE, abi.ZONE_DMA32, abi.GFP_HIGH | abi.GFP_NOBLOCK);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(e.lastZone()).toBe(abi.ZONE_DMA32);
    const page = sys.allocMovable(0)!;
    page.pin();
    expect(e.freePages(page.pfn, 0)).toBe(-ERRNO.EBUSY);
    expect(() => page.free()).toThrow(
      expect.objectContaining({ code: "EBUSY", message: expect.stringContaining("pinned") }),
    );
    expect(sys.zones().map((z) => z.name)).toEqual(["DMA", "DMA32"]); // 64 MiB: no Normal zone
    for (const zone of sys.zones()) {
      expect(ZONE_NAMES[zone.index]).toBe(zone.name);
      const w = [abi.WMARK_MIN, abi.WMARK_LOW, abi.WMARK_HIGH, abi.WMARK_PROMO].map((i) =>
        e.zoneWmarkPages(zone.index, i),
      );
      expect(w[0]).toBeGreaterThan(0);
      expect(w).toEqual([...w].sort((a, b) => a - b));
      expect(zone.watermarks).toEqual({ min: w[0], low: w[1], high: w[2], promo: w[3] });
    }
  });
});
