/**
 * CmaArea: one Contiguous Memory Allocator area (struct cma), a thin handle over
 * the engine's bitmap allocator (assembly/cma.ts).
 */
import {
  CMA_STAT_ALLOCS_FAILED,
  CMA_STAT_ALLOCS_SUCCEEDED,
  CMA_STAT_BUSY_RETRIES,
  CMA_STAT_COUNT,
  CMA_STAT_PAGES_FAILED,
  CMA_STAT_PAGES_MIGRATED,
  CMA_STAT_PAGES_RELEASED,
  CMA_STAT_PAGES_SUCCEEDED,
  byIndex,
} from "../core/abi.ts";
import { DmaSimError } from "../core/errors.ts";
import { orderOfPages } from "../core/units.ts";
import type { PageHolds } from "./page-holds.ts";
import type { FaultInjection } from "../core/fault-inject.ts";
import { requireInt } from "../core/validate.ts";
import type { Engine } from "../core/backend.ts";

/** Per-area counters: the sysfs alloc_pages_success/fail and release_pages_success, plus the cost of winning pages back. */
export interface CmaStats {
  /** Pages handed out by successful cma_alloc() calls (alloc_pages_success). */
  pagesSucceeded: number;
  /** Pages asked for by failed calls (alloc_pages_fail). */
  pagesFailed: number;
  /** Pages given back by cma_release() (release_pages_success). */
  pagesReleased: number;
  allocsSucceeded: number;
  allocsFailed: number;
  /** Ranges found busy (-EBUSY) and retried further on (trace_cma_alloc_busy_retry). */
  busyRetries: number;
  /** Pages migrated out of the area to satisfy its allocations. */
  pagesMigrated: number;
}

/** A run of free bitmap bits: `pages` pages from bit `bitNo`. */
export interface CmaFreeRun {
  bitNo: number;
  pages: number;
}

/** @internal The CmaStats field of each engine counter, cmaStat(id, index) (CMA_STAT_* of assembly/abi.ts). */
/** CONFIG_CMA_ALIGNMENT: the largest alignment order dma_alloc_contiguous() and the CMA heap ask for. */
export const CMA_ALIGNMENT = 8;

/** The alignment order the kernel's CMA users pass for `count` pages: their order, capped at CMA_ALIGNMENT. */
export function cmaAlignOrder(count: number): number {
  return Math.min(orderOfPages(count), CMA_ALIGNMENT);
}

export const STAT_KEYS = byIndex<keyof CmaStats>("STAT_KEYS", CMA_STAT_COUNT, {
  [CMA_STAT_PAGES_SUCCEEDED]: "pagesSucceeded",
  [CMA_STAT_PAGES_FAILED]: "pagesFailed",
  [CMA_STAT_PAGES_RELEASED]: "pagesReleased",
  [CMA_STAT_ALLOCS_SUCCEEDED]: "allocsSucceeded",
  [CMA_STAT_ALLOCS_FAILED]: "allocsFailed",
  [CMA_STAT_BUSY_RETRIES]: "busyRetries",
  [CMA_STAT_PAGES_MIGRATED]: "pagesMigrated",
});

export class CmaArea {
  /** First pfn of the area. */
  readonly basePfn: number;
  /** Size of the area in pages. */
  readonly count: number;
  /** Pages per bitmap bit, as an order. */
  readonly orderPerBit: number;

  /** @internal */
  constructor(
    private readonly engine: Engine,
    private readonly pageSize: number,
    /** Engine area index (declaration order). */
    readonly id: number,
    /** Area name (cma_get_name()). */
    readonly name: string,
    private readonly holds: PageHolds,
    private readonly faults: FaultInjection,
  ) {
    const e = engine;
    this.basePfn = e.cmaBasePfn(id);
    this.count = e.cmaCount(id);
    this.orderPerBit = e.cmaOrderPerBit(id);
  }

  /** Physical base address in bytes (cma_get_base()). */
  get baseBytes(): number {
    return this.basePfn * this.pageSize;
  }

  /** Size in bytes (cma_get_size()). */
  get sizeBytes(): number {
    return this.count * this.pageSize;
  }

  /** Pages not handed out (cma->available_count). */
  get available(): number {
    return this.engine.cmaAvailable(this.id);
  }

  /** The `ret` of the last alloc(): 0, or -EBUSY / -ENOMEM as cma_alloc() logs it. */
  get lastError(): number {
    return this.engine.cmaLastRet();
  }

  /**
   * cma_alloc(): `count` contiguous pages whose first pfn is aligned to
   * `alignOrder`, won back from whatever borrowed them. Returns the first pfn, or
   * null as the kernel returns NULL (count 0, no room, or busy everywhere).
   */
  alloc(count: number, alignOrder = 0): number | null {
    requireInt("CmaArea.alloc", "count", count, 0, 2 ** 31 - 1);
    requireInt("CmaArea.alloc", "alignOrder", alignOrder, 0, 30);
    if (count > 0 && this.faults.enabled && this.faults.shouldFail("failCma", { size: count })) return null;
    const ret = this.engine.cmaAllocPages(this.id, count, alignOrder);
    return ret < 0 ? null : ret;
  }

  /**
   * cma_release(): gives back `count` pages from `pfn`. False when `pfn` is not in
   * the area; a DmaSimError when the pages were not allocated from it.
   */
  release(pfn: number, count: number): boolean {
    requireInt("CmaArea.release", "pfn", pfn, 0, 2 ** 31 - 1);
    requireInt("CmaArea.release", "count", count, 0, 2 ** 31 - 1);
    this.holds.refuseHeld("CmaArea.release", pfn, count);
    const ret = this.engine.cmaReleasePages(this.id, pfn, count);
    if (ret < 0) {
      throw DmaSimError.fromErrno(
        ret,
        `CmaArea.release: pages ${pfn}..${pfn + count - 1} were not allocated from area "${this.name}" as a whole`,
      );
    }
    return ret === 1;
  }

  get stats(): CmaStats {
    const out = {} as CmaStats;
    STAT_KEYS.forEach((key, i) => (out[key] = this.engine.cmaStat(this.id, i)));
    return out;
  }

  /** Runs of free bits, in bitmap order. */
  freeRuns(): CmaFreeRun[] {
    const e = this.engine;
    const nbits = e.cmaBitmapBits(this.id);
    const runs: CmaFreeRun[] = [];
    let start = 0;
    for (;;) {
      const zero = e.cmaNextZeroBit(this.id, start);
      if (zero >= nbits) break;
      const set = e.cmaNextSetBit(this.id, zero);
      runs.push({ bitNo: zero, pages: (set - zero) * 2 ** this.orderPerBit });
      start = set;
    }
    return runs;
  }

  /** cma_debug_show_areas(): the free runs as the kernel logs them after a failed allocation. */
  debugShowAreas(): string {
    const parts = this.freeRuns().map((r, i) => `${i ? "+" : ""}${r.pages}@${r.bitNo}`);
    return `cma: number of available pages: ${parts.join("")}=> ${this.available} free of ${this.count} total pages\n`;
  }

  /** The message cma_alloc() logs when it fails, or "" after a success. */
  failureMessage(count: number): string {
    const ret = this.lastError;
    if (ret === 0) return "";
    return `cma: cma_alloc: ${this.name}: alloc failed, req-size: ${count} pages, ret: ${ret}\n`;
  }
}
