/**
 * dma-direct (kernel/dma/direct.c, include/linux/dma-direct.h): a device
 * without an IOMMU sees physical addresses. A buffer beyond the device's mask
 * is bounced through swiotlb (kernel/dma/swiotlb.c); coherent memory comes from
 * CMA, the page allocator or the atomic pools, within the mask.
 */
import { requireInt } from "../../core/validate.ts";
import type { SgTable } from "../../lib/scatterlist.ts";
import type { ZoneName } from "../../mm/mm.ts";
import type { DmaDirection } from "../direction.ts";
import { dmaFreeFromPool } from "../pool.ts";
import type { SwiotlbPool } from "../swiotlb.ts";
import { MappingOps, type Mapped, type StreamingMapping } from "./mappings.ts";
import { type CoherentBuffer, type DmaDev, type DmaSgMapping } from "./ops.ts";
import { getOrder, pfnUp } from "../../core/units.ts";
import { cmaAlignOrder } from "../../mm/cma.ts";

/** A buffer the device reaches where it is: its bus address is its physical address. */
export interface DirectMapping extends StreamingMapping {
  readonly kind: "direct";
}

/** A buffer bounced through swiotlb: its bus address is the bounce buffer's. */
export interface BounceMapping extends StreamingMapping {
  readonly kind: "bounce";
}

export type DirectStreamingMapping = DirectMapping | BounceMapping;

/** dma_direct_map_sg(): one streaming mapping per entry, no merging. */
export interface DirectSgMapping extends DmaSgMapping {
  /** The entries' mappings, in entry order (held in the streaming table too). */
  readonly entries: readonly Mapped<DirectStreamingMapping>[];
}

export class DirectOps extends MappingOps<DirectStreamingMapping, DirectSgMapping> {
  readonly name = "direct";

  constructor(
    dev: DmaDev,
    /** The swiotlb bounce pool, or null. */
    private readonly swiotlb: SwiotlbPool | null,
  ) {
    super(dev);
  }

  // ---- streaming mappings ------------------------------------------------------------------------

  /** dma_direct_map_phys(): the physical address itself, or a bounce buffer when the mask cannot reach it. */
  protected map(phys: number, size: number, dir: DmaDirection): Mapped<DirectStreamingMapping> | null {
    if (this.dev.capable(phys, size)) return { addr: phys, m: { kind: "direct", phys, size, dir } };
    if (!this.swiotlb) return null;
    // swiotlb_map()
    const tlb = this.swiotlb.map(phys, size, this.dev.segmentBoundaryMask);
    if (tlb === null) return null;
    if (!this.dev.capable(tlb, size)) {
      this.swiotlb.unmap(tlb);
      return null;
    }
    // The kernel always fills the bounce buffer, whatever the direction, so a
    // device never sees an earlier user's data.
    this.dev.copyPhys(phys, tlb, size);
    this.dev.syncForDevice(tlb, size);
    this.dev.counters.bounced++;
    return { addr: tlb, m: { kind: "bounce", phys, size, dir } };
  }

  /** dma_direct_unmap_phys(): a bounce buffer is copied back for DMA_FROM_DEVICE / BIDIRECTIONAL, then released. */
  protected release(addr: number, m: DirectStreamingMapping): void {
    if (m.kind === "direct") {
      this.dev.syncForCpu(m.phys, m.size, m.dir);
      return;
    }
    this.dev.syncForCpu(addr, m.size, m.dir);
    if (m.dir === "from_device" || m.dir === "bidirectional") this.dev.copyPhys(addr, m.phys, m.size);
    this.swiotlb?.unmap(addr);
  }

  /**
   * dma_direct_sync_single_for_{cpu,device}(): cache maintenance on what the
   * device accesses; a bounce buffer's data is copied back for the CPU
   * (DMA_FROM_DEVICE / BIDIRECTIONAL) or refilled for the device (DMA_TO_DEVICE / BIDIRECTIONAL).
   */
  protected syncMapping(
    m: DirectStreamingMapping,
    dmaAddr: number,
    off: number,
    size: number,
    dir: DmaDirection,
    forCpu: boolean,
  ): void {
    if (m.kind === "direct") {
      if (forCpu) this.dev.syncForCpu(m.phys + off, size, dir);
      else this.dev.syncForDevice(m.phys + off, size);
      return;
    }
    if (forCpu) {
      this.dev.syncForCpu(dmaAddr, size, dir);
      if (dir === "from_device" || dir === "bidirectional") this.dev.copyPhys(dmaAddr, m.phys + off, size);
    } else {
      if (dir === "to_device" || dir === "bidirectional") this.dev.copyPhys(m.phys + off, dmaAddr, size);
      this.dev.syncForDevice(dmaAddr, size);
    }
  }

  // ---- scatterlists ------------------------------------------------------------------------------

  /** dma_direct_map_sg(): each entry mapped as dma_direct_map_phys() maps it; on failure the ones mapped are released. */
  protected mapTable(sgt: SgTable, dir: DmaDirection): DirectSgMapping | null {
    const page = this.dev.mm.pageSize;
    const n = sgt.origNents;
    const entries: Mapped<DirectStreamingMapping>[] = [];
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const mapped = this.map(e.pfn * page + e.offset, e.length, dir);
      if (mapped === null) {
        for (const d of entries) this.release(d.addr, d.m);
        for (let j = 0; j < i; j++) {
          sgt.entries[j]!.dmaAddress = undefined;
          sgt.entries[j]!.dmaLength = undefined;
        }
        return null;
      }
      entries.push(mapped);
      e.dmaAddress = mapped.addr;
      e.dmaLength = e.length;
    }
    for (const d of entries) this.add(d.addr, d.m);
    return { count: n, dir, entries };
  }

  /** dma_direct_unmap_sg() */
  protected releaseTable(_sgt: SgTable, s: DirectSgMapping): void {
    for (const d of s.entries) this.unmapMapping(d.addr, d.m);
  }

  /** dma_direct_sync_sg_for_{cpu,device}(): each mapped entry, as a single sync of it. */
  protected syncTable(
    where: string,
    sgt: SgTable,
    s: DirectSgMapping,
    nents: number,
    dir: DmaDirection,
    forCpu: boolean,
  ): void {
    for (let i = 0; i < Math.min(nents, s.count); i++) {
      const length = sgt.entries[i]!.length;
      requireInt(where, "size", length, 1, Number.MAX_SAFE_INTEGER);
      this.syncSingle(where, s.entries[i]!.addr, length, dir, forCpu);
    }
  }

  protected tableSingles(s: DirectSgMapping): number {
    return s.entries.length;
  }

  // ---- state -------------------------------------------------------------------------------------

  swiotlbMappings(): { tlbAddr: number; phys: number; size: number }[] {
    const out: { tlbAddr: number; phys: number; size: number }[] = [];
    for (const { addr, m } of this.mappings())
      if (m.kind === "bounce") out.push({ tlbAddr: addr, phys: m.phys, size: m.size });
    return out;
  }

  protected mappingWords(m: DirectStreamingMapping): number[] {
    return [m.kind === "bounce" ? 1 : 0];
  }

  protected tableWords(s: DirectSgMapping): number[] {
    return s.entries.flatMap((d) => [d.addr, d.m.kind === "bounce" ? 1 : 0]);
  }

  protected checkMapping(addr: number, m: DirectStreamingMapping): string {
    const at = `${m.kind} mapping at 0x${addr.toString(16)}`;
    if (!this.dev.capable(addr, m.size)) return `${at}: beyond the device's mask`;
    if (m.kind === "direct") return addr === m.phys ? "" : `${at}: maps 0x${m.phys.toString(16)}`;
    const b = this.swiotlb?.lookup(addr);
    if (!b) return `${at}: no such swiotlb bounce buffer`;
    if (b.origPhys !== m.phys || b.size !== m.size) {
      return `${at}: swiotlb bounces 0x${b.origPhys.toString(16)} (${b.size} bytes) there, the mapping 0x${m.phys.toString(16)} (${m.size} bytes)`;
    }
    return "";
  }

  protected checkTable(_sgt: SgTable, s: DirectSgMapping): string {
    if (s.entries.length !== s.count)
      return `a mapped table holds ${s.entries.length} entry mappings for ${s.count} segments`;
    for (const d of s.entries) {
      if (!this.holds(d.addr, d.m)) return `a mapped table's entry at 0x${d.addr.toString(16)} is no longer mapped`;
    }
    return "";
  }

  protected checkAll(coherent: readonly CoherentBuffer[]): string {
    for (const buf of coherent) {
      const at = `coherent buffer at 0x${buf.dmaAddress.toString(16)}`;
      if (buf.source === "iommu") return `${at}: IOMMU memory on a device without an IOMMU`;
      if (buf.dmaAddress !== buf.phys || !this.dev.capable(buf.dmaAddress, buf.size))
        return `${at}: not where the device can reach it directly`;
      if (buf.source === "atomic-pool" && !this.dev.pools.some((p) => p.contains(buf.phys)))
        return `${at}: in no atomic pool`;
    }
    return "";
  }

  // ---- coherent allocations ----------------------------------------------------------------------

  /**
   * dma_direct_alloc(): CMA memory (the device's own area, or the global one
   * for more than a page) when it lies within the mask, else pages from the
   * highest zone the mask can reach; `atomic` requests from the atomic pools.
   */
  alloc(size: number, atomic: boolean): CoherentBuffer | null {
    return atomic ? this.allocFromPool(size) : this.allocPages(size);
  }

  /** dma_direct_free() */
  free(buf: CoherentBuffer): void {
    if (buf.source === "atomic-pool") {
      dmaFreeFromPool(this.dev.pools, buf.phys, buf.size);
      return;
    }
    const mm = this.dev.mm;
    for (const b of buf.blocks) {
      if (buf.source === "cma") (this.dev.cmaArea ?? mm.cmaAreas[0]!).release(b.pfn, b.pages);
      else mm.freePages(b.pfn, b.order);
    }
  }

  /** dma_direct_optimal_gfp_mask(): the highest populated zone entirely within the mask. */
  private zoneForMask(): ZoneName {
    const mm = this.dev.mm;
    const zones = mm.zones();
    let best: ZoneName | null = null;
    for (const z of zones) if (z.endPfn * mm.pageSize - 1 <= this.dev.dmaLimit) best = z.name;
    return best ?? zones[zones.length - 1]!.name;
  }

  /** __dma_direct_alloc_pages(): dma_alloc_contiguous(), then the page allocator zone by zone. */
  private allocPages(size: number): CoherentBuffer | null {
    const mm = this.dev.mm;
    const page = mm.pageSize;
    const pages = pfnUp(size, page);
    // dma_alloc_contiguous(): the device's area, or the global area for more than a page.
    const area = this.dev.cmaArea ?? (pages > 1 ? (mm.cmaAreas[0] ?? null) : null);
    if (area) {
      const pfn = area.alloc(pages, cmaAlignOrder(pages));
      if (pfn !== null) {
        if (this.dev.capable(pfn * page, size)) {
          this.dev.counters.coherentCma++;
          return {
            device: this.dev.name,
            size,
            dmaAddress: pfn * page,
            phys: pfn * page,
            source: "cma",
            blocks: [{ pfn, order: -1, pages }],
          };
        }
        area.release(pfn, pages);
      }
    }
    const order = getOrder(size, page);
    // Try the zone the mask suggests, then lower ones (GFP_DMA32, then GFP_DMA).
    const order3: ZoneName[] = ["Normal", "DMA32", "DMA"];
    const populated = new Set(mm.zones().map((z) => z.name));
    for (const zone of order3.slice(order3.indexOf(this.zoneForMask()))) {
      if (!populated.has(zone) && zone !== this.zoneForMask()) continue;
      const pfn = mm.allocPages(order, "unmovable", { zone });
      if (pfn === null) continue;
      if (this.dev.capable(pfn * page, size)) {
        this.dev.counters.coherentBuddy++;
        return {
          device: this.dev.name,
          size,
          dmaAddress: pfn * page,
          phys: pfn * page,
          source: "buddy",
          blocks: [{ pfn, order, pages: 2 ** order }],
        };
      }
      mm.freePages(pfn, order);
    }
    return null;
  }

  /** dma_direct_alloc_from_pool(): the first pool within the mask with room. */
  private allocFromPool(size: number): CoherentBuffer | null {
    for (const pool of this.dev.pools) {
      if (!this.dev.capable(pool.start, pool.bytes)) continue;
      const phys = pool.alloc(size);
      if (phys === null) continue;
      this.dev.counters.coherentPool++;
      return { device: this.dev.name, size, dmaAddress: phys, phys, source: "atomic-pool", blocks: [] };
    }
    return null;
  }
}
