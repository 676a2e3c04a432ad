/**
 * Scaling a scenario: the same experiment on a smaller (or larger) machine.
 *
 * `scale` F shrinks the machine and the work together so that the pressure and
 * what it causes (migrations, fallbacks, failures, the free share at the end)
 * keep their proportions:
 *  - RAM, CMA areas (size, base, limit), explicit zone ends, cma-consumer frame
 *    sizes, processes' dma-buf limits and file sizes: × F, rounded to what the
 *    kernel allows (whole pageblocks for RAM and zones, whole CMA granules for
 *    areas, whole pages for frames, limits and files);
 *  - every duration in operations (phase lengths, periods, start and hold
 *    times): × F, so each mix does F times the work, and memory fills in the
 *    same proportion;
 *  - msPerOp: ÷ F, so the simulated run lasts as long and kcompactd's proactive
 *    passes (every 500 ms, each over F times the memory) come as often;
 *  - vm.min_free_kbytes: the full-size machine's value × F (as an administrator
 *    would write the sysctl), because the kernel's default,
 *    calculate_min_free_kbytes(), grows with the square root of RAM and would
 *    take 1/√F times the share of memory.
 * Kept as they are, because they are what a scenario studies: allocation
 * orders (an order-9 request stays a pageblock), pageblock_order, cma/contig
 * page counts, `heap` buffer sizes (the system heap's order-8/4/0 chunks; F
 * times as many buffers are allocated instead), pages per read and write (F
 * times as many are made), IOVA spaces, sample counts.
 *
 * What cannot keep its proportion (an area or frame that rounds far from its
 * share, frames that no longer fit their area, a fixed zone boundary, a buffer
 * larger than its heap) is listed in `warnings`; the CLI prints them as one line.
 */
import { DmaSimError } from "../core/errors.ts";
import { show } from "../core/validate.ts";
import type { Area, Machine, Op, Range, Scenario } from "./scenario.ts";

/** A size off its proportional value by more than this share is warned about. */
export const SCALE_TOLERANCE = 0.1;

/** A heap buffer above this share of its process's limit or of its heap is coarse (see coarseBuffers). */
export const COARSE_SHARE = 1 / 8;

/** Below this many pageblocks, pageblock-sized effects (order-9 requests, claims, free pageblocks) are coarse. */
export const MIN_PAGEBLOCKS = 64;

/** The scaled scenario and what could not keep its proportions. */
export interface ScaledScenario {
  scenario: Scenario;
  warnings: string[];
}

/**
 * calculate_min_free_kbytes() (mm/page_alloc.c): int_sqrt(lowmem_kbytes * 16)
 * clamped to [128, 262144], with every page of a Lab machine lowmem (no
 * ZONE_HIGHMEM/ZONE_MOVABLE) and managed.
 */
export function defaultMinFreeKbytes(ramBytes: number): number {
  const lowmemKbytes = Math.floor(ramBytes / 1024);
  return Math.min(262144, Math.max(128, Math.floor(Math.sqrt(lowmemKbytes * 16))));
}

function mib(bytes: number): string {
  const v = bytes / 2 ** 20;
  return `${Number.isInteger(v) ? v : v.toFixed(2)} MiB`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** `value` × F rounded to a multiple of `granule`, at least one granule. */
function scaleTo(value: number, factor: number, granule: number): number {
  return Math.max(granule, Math.round((value * factor) / granule) * granule);
}

/** Whether `actual` is off `ideal` by more than the tolerance. */
function offShare(actual: number, ideal: number): boolean {
  return Math.abs(actual / ideal - 1) > SCALE_TOLERANCE;
}

function scaleOps(n: number, factor: number): number {
  return Math.max(1, Math.round(n * factor));
}

function scaleRange(r: Range, factor: number): Range {
  return { min: scaleOps(r.min, factor), max: Math.max(scaleOps(r.min, factor), scaleOps(r.max, factor)) };
}

function pageblockBytes(m: Machine): number {
  return m.pageSize * 2 ** m.pageblockOrder;
}

/**
 * cma_declare_contiguous_nid(): an area's size and base are multiples of its
 * alignment, at least CMA_MIN_ALIGNMENT_BYTES (a pageblock), and of its bitmap's
 * granule (2^orderPerBit pages).
 */
function cmaGranuleBytes(area: Area, m: Machine): number {
  return Math.max(pageblockBytes(m), area.alignment ?? 0, m.pageSize * 2 ** (area.orderPerBit ?? 0));
}

function scaleMachine(m: Machine, factor: number, warn: (s: string) => void): Machine {
  const pb = pageblockBytes(m);
  const ramBytes = scaleTo(m.ramBytes, factor, pb);
  if (offShare(ramBytes, m.ramBytes * factor))
    warn(`RAM ${mib(m.ramBytes)} × ${factor} rounds to ${mib(ramBytes)} (whole ${mib(pb)} pageblocks)`);
  const pageblocks = ramBytes / pb;
  if (pageblocks < MIN_PAGEBLOCKS && m.ramBytes / pb >= MIN_PAGEBLOCKS)
    warn(
      `RAM holds ${pageblocks} pageblocks (fewer than ${MIN_PAGEBLOCKS}): pageblock-sized effects (order-${m.pageblockOrder} requests, fallback claims, free pageblocks) come in coarse steps`,
    );
  let zones = m.zones;
  if (zones === "x86_64") {
    // ZONE_DMA ends at 16 MiB on any x86_64 machine (MAX_DMA_PFN): its share of RAM grows as RAM shrinks.
    const dmaEnd = 16 * 2 ** 20;
    if (offShare(Math.min(dmaEnd, ramBytes) / ramBytes, Math.min(dmaEnd, m.ramBytes) / m.ramBytes))
      warn(
        `zones "x86_64": ZONE_DMA ends at 16 MiB on any machine, ${pct(Math.min(1, dmaEnd / ramBytes))} of RAM instead of ${pct(Math.min(1, dmaEnd / m.ramBytes))}`,
      );
  } else if (zones !== null) {
    zones = zones.map((z) => ({
      name: z.name,
      endBytes: z.endBytes >= m.ramBytes ? ramBytes : Math.min(ramBytes, scaleTo(z.endBytes, factor, pb)),
    }));
  }
  const minFreeKbytes = Math.max(0, Math.round((m.minFreeKbytes ?? defaultMinFreeKbytes(m.ramBytes)) * factor));
  // Swap keeps its share of RAM, in whole pages (at least the two a swap area needs).
  const swapPages = Math.round((m.swapBytes * factor) / m.pageSize);
  const swapBytes = m.swapBytes === 0 ? 0 : Math.max(2, swapPages) * m.pageSize;
  return { ...m, ramBytes, zones, minFreeKbytes, swapBytes };
}

function scaleAreas(areas: Area[], m: Machine, ramBytes: number, factor: number, warn: (s: string) => void): Area[] {
  return areas.map((a) => {
    const granule = cmaGranuleBytes(a, m);
    const bytes = Math.min(scaleTo(a.bytes, factor, granule), Math.floor(ramBytes / granule) * granule);
    if (offShare(bytes, a.bytes * factor))
      warn(`area "${a.name}" ${mib(a.bytes)} × ${factor} rounds to ${mib(bytes)} (whole ${mib(granule)} CMA granules)`);
    const out: Area = { ...a, bytes };
    if (a.base !== undefined) out.base = Math.floor((a.base * factor) / granule) * granule;
    if (a.limit !== undefined) out.limit = Math.max(bytes, Math.ceil((a.limit * factor) / granule) * granule);
    return out;
  });
}

/** Pages a frame occupies in its area: cma_alloc() places it at a multiple of 2^alignOrder pages. */
function framePitchPages(framePages: number, alignOrder: number): number {
  const align = 2 ** alignOrder;
  return Math.ceil(framePages / align) * align;
}

function ceilLog2(n: number): number {
  return Math.ceil(Math.log2(n));
}

/**
 * The same scenario at `factor` times the size (see the file comment), and a
 * warning per thing that cannot keep its proportion. Factor 1 returns the
 * scenario itself.
 */
export function scaleScenarioChecked(scenario: Scenario, factor: number): ScaledScenario {
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor <= 0) {
    throw new DmaSimError("EINVAL", `scale must be a number above 0, got ${show(factor)}`);
  }
  if (factor === 1) return { scenario, warnings: [] };
  const warnings: string[] = [];
  const warn = (s: string) => warnings.push(s);
  const m = scenario.machine;
  const machine = scaleMachine(m, factor, warn);
  const areas = scaleAreas(scenario.areas, m, machine.ramBytes, factor, warn);
  const areaPagesOf = (areaName: string, list: Area[]) =>
    Math.floor(list.find((a) => a.name === areaName)!.bytes / m.pageSize);

  const devices = scenario.devices.map((d) => {
    if (d.kind !== "cma-consumer") return d;
    const framePages = Math.max(1, Math.round(d.framePages * factor));
    // dma_alloc_from_contiguous() aligns to get_order(size), capped at CONFIG_CMA_ALIGNMENT: a
    // smaller frame never asks for more alignment than its own order.
    const alignOrder = Math.min(d.alignOrder, ceilLog2(framePages));
    const before = (d.buffers * framePitchPages(d.framePages, d.alignOrder)) / areaPagesOf(d.area, scenario.areas);
    const areaPages = areaPagesOf(d.area, areas);
    const after = (d.buffers * framePitchPages(framePages, alignOrder)) / areaPages;
    if (after > 1 && before <= 1)
      warn(
        `device "${d.name}": ${d.buffers} frames of ${framePages} pages (aligned to ${2 ** alignOrder}) no longer fit area "${d.area}" (${areaPages} pages)`,
      );
    else if (offShare(after, before))
      warn(`device "${d.name}": its frames take ${pct(after)} of area "${d.area}" instead of ${pct(before)}`);
    return {
      ...d,
      framePages,
      alignOrder,
      periodOps: scaleOps(d.periodOps, factor),
      holdOps: scaleRange(d.holdOps, factor),
      startOps: d.startOps === 0 ? 0 : scaleOps(d.startOps, factor),
    };
  });

  const processes = scenario.processes.map((p) =>
    p.dmabufLimitBytes === null || p.dmabufLimitBytes === 0
      ? p
      : { ...p, dmabufLimitBytes: scaleTo(p.dmabufLimitBytes, factor, m.pageSize) },
  );

  const files = scenario.files.map((f) => ({ ...f, pages: Math.max(1, Math.round(f.pages * factor)) }));

  const warned = new Set<string>();
  const warnOnce = (key: string, s: string) => {
    if (!warned.has(key)) warn(s);
    warned.add(key);
  };
  const ramPages = machine.ramBytes / m.pageSize;
  // Heap buffers keep their size (F times as many are allocated), so each is 1/F times the share of
  // what it is counted against: its process's dma-buf limit, or its heap. Past COARSE_SHARE the last
  // buffer that fits, or not, moves the totals by whole percents.
  const coarseBuffers = (proc: string, heap: string, bytes: number) => {
    const limitOf = (list: typeof scenario.processes) => list.find((p) => p.name === proc)?.dmabufLimitBytes ?? null;
    const heapOf = (ram: number, list: Area[]) => (heap === "system" ? ram : areaPagesOf(heap, list) * m.pageSize);
    const against = (limit: number | null, heapBytes: number) =>
      limit !== null && limit > 0 && limit < heapBytes ? limit : heapBytes;
    const what =
      limitOf(processes) !== null && limitOf(processes)! > 0 ? `process "${proc}"'s dma-buf limit` : `the ${heap} heap`;
    const before = bytes / against(limitOf(scenario.processes), heapOf(m.ramBytes, scenario.areas));
    const after = bytes / against(limitOf(processes), heapOf(machine.ramBytes, areas));
    if (after > COARSE_SHARE && before <= COARSE_SHARE)
      warnOnce(
        `coarse.${proc}.${heap}`,
        `${mib(bytes)} ${heap} heap buffers of "${proc}" are ${pct(after)} of ${what} (${pct(before)} at scale 1)`,
      );
  };
  const scaleOp = (o: Op, phase: string): Op => {
    const hold = "hold" in o && o.hold !== null ? scaleRange(o.hold, factor) : null;
    switch (o.kind) {
      case "alloc":
      case "pin":
        return { ...o, hold };
      case "cma": {
        const areaPages = areaPagesOf(o.area, areas);
        if (o.count <= areaPages) return { ...o, hold };
        warnOnce(
          `cma.${o.area}.${o.count}`,
          `phase "${phase}": cma requests of ${o.count} pages exceed area "${o.area}" (${areaPages} pages), cut to its size`,
        );
        return { ...o, count: areaPages, hold };
      }
      case "contig": {
        if (o.count <= ramPages) return { ...o, hold };
        warnOnce(
          `contig.${o.count}`,
          `phase "${phase}": contig requests of ${o.count} pages exceed RAM, cut to its size`,
        );
        return { ...o, count: ramPages, hold };
      }
      case "heap": {
        const heapBytes = o.heap === "system" ? machine.ramBytes : areaPagesOf(o.heap, areas) * m.pageSize;
        const sizes = o.sizes.map((b) => {
          if (b <= heapBytes) return b;
          warnOnce(
            `heap.${o.heap}.${b}`,
            `phase "${phase}": ${o.heap} heap buffers of ${mib(b)} exceed the heap's ${mib(heapBytes)}, cut to its size`,
          );
          return heapBytes;
        });
        coarseBuffers(o.process, o.heap, Math.max(...sizes));
        return { ...o, sizes, hold };
      }
      default:
        return o;
    }
  };

  return {
    scenario: {
      ...scenario,
      machine,
      areas,
      devices,
      processes,
      files,
      phases: scenario.phases.map((p) => ({
        ...p,
        ops: scaleOps(p.ops, factor),
        mix: p.mix.map((o) => scaleOp(o, p.name)),
      })),
      msPerOp: scenario.msPerOp / factor,
    },
    warnings,
  };
}

/** One line for the CLI and the result: what `scale` could not keep, and why. */
export function scaleWarningLine(factor: number, warnings: string[]): string | null {
  if (warnings.length === 0) return null;
  return `scale ${factor} cannot keep every proportion: ${warnings.join("; ")}`;
}

/** scaleScenarioChecked() without its warnings: the scenario as it runs at `factor`. */
export function scaleScenario(scenario: Scenario, factor: number): Scenario {
  return scaleScenarioChecked(scenario, factor).scenario;
}
