/**
 * dma-iommu (drivers/iommu/dma-iommu.c): a device behind an IOMMU sees IOVAs.
 * A streaming mapping takes IOVA space for its pages and maps them with the
 * direction's permissions; a scatterlist gets one IOVA range for the whole
 * list, its entries merged into device segments under the max segment size and
 * the segment boundary; coherent memory is pages mapped contiguously in IOVA space.
 *
 * IommuOps holds what dma-iommu and the ARM IOMMU code (arm-iommu.ts) do alike
 * here: single mappings, syncs, coherent allocations. Each lays scatterlists out
 * its own way.
 */
import type { SgTable } from "../../lib/scatterlist.ts";
import type { DmaDirection } from "../direction.ts";
import { IOMMU_READ, IOMMU_WRITE, type IommuDomain } from "../iommu.ts";
import { dmaFreeFromPool } from "../pool.ts";
import { MappingOps, type Mapped, type StreamingMapping } from "./mappings.ts";
import { type CoherentBlock, type CoherentBuffer, type DmaDev, type DmaSgMapping } from "./ops.ts";
import { getOrder, offsetInPage, pageAlign, pfnUp } from "../../core/units.ts";

/** A streaming mapping through the IOMMU: the IOVA range taken for the buffer's pages. */
export interface IommuMapping extends StreamingMapping {
  /** First IOVA of the range (page-aligned); the bus address adds the buffer's offset in its page. */
  readonly iovaStart: number;
  readonly iovaBytes: number;
}

/** An IOVA range. */
export interface IovaRange {
  readonly iova: number;
  readonly bytes: number;
}

/** iommu_dma_map_sg(): one IOVA range for the list. */
export interface IommuDmaSgMapping extends DmaSgMapping {
  readonly iovaStart: number;
  readonly iovaBytes: number;
  /** The pieces of the range that are mapped (boundary pads are not), as unmapping walks them. */
  readonly ranges: readonly IovaRange[];
}

/** dma_info_to_prot(): what the IOMMU lets the device do. */
export function dmaInfoToProt(dir: DmaDirection): number {
  return dir === "to_device" ? IOMMU_READ : dir === "from_device" ? IOMMU_WRITE : IOMMU_READ | IOMMU_WRITE;
}

/** The dma_map_ops of a device behind an IOMMU domain, but for scatterlists. */
export abstract class IommuOps<S extends DmaSgMapping> extends MappingOps<IommuMapping, S> {
  constructor(
    dev: DmaDev,
    /** The device's IOMMU domain. */
    protected readonly domain: IommuDomain,
  ) {
    super(dev);
  }

  // ---- streaming mappings ------------------------------------------------------------------------

  /** iommu_dma_map_phys() / arm_iommu_map_page(): IOVA space for the pages, mapped with the direction's permissions. */
  protected map(phys: number, size: number, dir: DmaDirection): Mapped<IommuMapping> | null {
    const page = this.dev.mm.pageSize;
    const offset = offsetInPage(phys, page);
    const bytes = pageAlign(offset + size, page);
    const iova = this.domain.allocIova(bytes, this.dev.dmaLimit);
    if (iova === null) return null;
    this.dev.setLastIommuEntries(this.domain.map(iova, phys - offset, bytes, dmaInfoToProt(dir)).entries);
    return { addr: iova + offset, m: { phys, size, dir, iovaStart: iova, iovaBytes: bytes } };
  }

  /** iommu_dma_unmap_phys(): cache maintenance, then the IOVA range unmapped and freed. */
  protected release(_addr: number, m: IommuMapping): void {
    this.dev.syncForCpu(m.phys, m.size, m.dir);
    this.domain.unmap(m.iovaStart, m.iovaBytes);
    this.domain.freeIova(m.iovaStart, m.iovaBytes);
  }

  /** iommu_dma_sync_single_for_{cpu,device}(): cache maintenance on the physical pages. */
  protected syncMapping(
    m: IommuMapping,
    _dmaAddr: number,
    off: number,
    size: number,
    dir: DmaDirection,
    forCpu: boolean,
  ): void {
    if (forCpu) this.dev.syncForCpu(m.phys + off, size, dir);
    else this.dev.syncForDevice(m.phys + off, size);
  }

  // ---- scatterlists ------------------------------------------------------------------------------

  /** iommu_dma_sync_sg_for_{cpu,device}(): cache maintenance on every entry's pages. */
  protected syncTable(_where: string, sgt: SgTable, _s: S, _nents: number, dir: DmaDirection, forCpu: boolean): void {
    for (const e of sgt.entries) {
      const phys = e.pfn * this.dev.mm.pageSize + e.offset;
      if (forCpu) this.dev.syncForCpu(phys, e.length, dir);
      else this.dev.syncForDevice(phys, e.length);
    }
  }

  /** Writes device segments into the first entries (sg_dma_address/len); the rest carry none. */
  protected setSegments(sgt: SgTable, segments: { addr: number; len: number }[]): void {
    for (let i = 0; i < sgt.origNents; i++) {
      const e = sgt.entries[i]!;
      e.dmaAddress = i < segments.length ? segments[i]!.addr : undefined;
      e.dmaLength = i < segments.length ? segments[i]!.len : undefined;
    }
  }

  // ---- state -------------------------------------------------------------------------------------

  protected mappingWords(m: IommuMapping): number[] {
    return [m.iovaStart, m.iovaBytes];
  }

  protected checkMapping(addr: number, m: IommuMapping): string {
    const page = this.dev.mm.pageSize;
    if (addr !== m.iovaStart + (m.phys % page))
      return `IOMMU mapping at 0x${addr.toString(16)}: its IOVA range starts at 0x${m.iovaStart.toString(16)}`;
    return this.checkMapped(m.iovaStart, m.iovaBytes, m.phys - (m.phys % page), dmaInfoToProt(m.dir));
  }

  /**
   * The coherent buffers' IOVA ranges mapped read-write to their memory. (The
   * domain's IOVA space in use is not checked against the mappings: a driver
   * may allocate and map IOVA in its domain itself, through the IOMMU API.)
   */
  protected checkAll(coherent: readonly CoherentBuffer[]): string {
    const page = this.dev.mm.pageSize;
    for (const buf of coherent) {
      const bytes = pageAlign(buf.size, page);
      if (buf.source !== "iommu" && buf.source !== "atomic-pool")
        return `coherent buffer at 0x${buf.dmaAddress.toString(16)}: ${buf.source} memory behind an IOMMU`;
      if (buf.source === "atomic-pool" || buf.blocks.length === 0) {
        const msg = this.checkMapped(buf.dmaAddress, bytes, buf.phys, IOMMU_READ | IOMMU_WRITE);
        if (msg) return msg;
        continue;
      }
      let cursor = buf.dmaAddress;
      for (const b of buf.blocks) {
        const len = Math.min(b.pages * page, buf.dmaAddress + bytes - cursor);
        const msg = this.checkMapped(cursor, len, b.pfn * page, IOMMU_READ | IOMMU_WRITE);
        if (msg) return msg;
        cursor += len;
      }
    }
    return "";
  }

  /** [iova, +bytes) is mapped page by page to physical [phys, +bytes) with permissions `prot`. */
  protected checkMapped(iova: number, bytes: number, phys: number, prot: number): string {
    const page = this.dev.mm.pageSize;
    for (let off = 0; off < bytes; off += page) {
      const got = this.domain.protAt(iova + off);
      if (got !== prot)
        return `IOVA 0x${(iova + off).toString(16)}: ${got === 0 ? "unmapped" : `permissions ${got}`}, expected mapped with permissions ${prot}`;
      const to = this.domain.iovaToPhys(iova + off);
      if (phys >= 0 && to !== phys + off)
        return `IOVA 0x${(iova + off).toString(16)} maps 0x${to.toString(16)}, expected 0x${(phys + off).toString(16)}`;
    }
    return "";
  }

  // ---- coherent allocations ----------------------------------------------------------------------

  /** iommu_dma_alloc(): pages mapped contiguously in IOVA space; `atomic` requests from the atomic pools. */
  alloc(size: number, atomic: boolean): CoherentBuffer | null {
    return atomic ? this.allocFromPool(size) : this.allocPages(size);
  }

  /** iommu_dma_free(): __iommu_dma_unmap() of the IOVA range, then the memory back to its pool or the page allocator. */
  free(buf: CoherentBuffer): void {
    const bytes = pageAlign(buf.size, this.dev.mm.pageSize);
    this.domain.unmap(buf.dmaAddress, bytes);
    this.domain.freeIova(buf.dmaAddress, bytes);
    if (buf.source === "atomic-pool") {
      dmaFreeFromPool(this.dev.pools, buf.phys, buf.size);
      return;
    }
    for (const b of buf.blocks) this.dev.mm.freePages(b.pfn, b.order);
  }

  /** iommu_dma_alloc_remap(): IOVA space, then __iommu_dma_alloc_pages() (the largest blocks that fit, smaller when refused), mapped. */
  private allocPages(size: number): CoherentBuffer | null {
    const mm = this.dev.mm;
    const page = mm.pageSize;
    const pages = pfnUp(size, page);
    const domain = this.domain;
    const iova = domain.allocIova(pages * page, this.dev.dmaLimit);
    if (iova === null) return null;
    const blocks: CoherentBlock[] = [];
    let left = pages;
    let order = Math.min(getOrder(size, page), mm.maxOrder);
    while (left > 0) {
      while (order > 0 && 2 ** order > left) order--;
      // Higher orders are a convenience, not a necessity: __GFP_NORETRY until the minimum order.
      const pfn = order > 0 ? mm.allocPages(order, "unmovable", { noretry: true }) : mm.allocPages(order, "unmovable");
      if (pfn === null) {
        if (order > 0) {
          order--;
          continue;
        }
        for (const b of blocks) mm.freePages(b.pfn, b.order);
        domain.freeIova(iova, pages * page);
        return null;
      }
      blocks.push({ pfn, order, pages: 2 ** order });
      left -= 2 ** order;
    }
    let cursor = iova;
    for (const b of blocks) {
      const bytes = Math.min(b.pages, pages - (cursor - iova) / page) * page;
      domain.map(cursor, b.pfn * page, bytes, IOMMU_READ | IOMMU_WRITE);
      cursor += bytes;
    }
    this.dev.counters.coherentIommu++;
    return { device: this.dev.name, size, dmaAddress: iova, phys: blocks[0]!.pfn * page, source: "iommu", blocks };
  }

  /** dma_alloc_from_pool(), then __iommu_dma_map(): the first pool with room, mapped in IOVA space. */
  private allocFromPool(size: number): CoherentBuffer | null {
    for (const pool of this.dev.pools) {
      const phys = pool.alloc(size);
      if (phys === null) continue;
      const page = this.dev.mm.pageSize;
      const bytes = pageAlign(size, page);
      const iova = this.domain.allocIova(bytes, this.dev.dmaLimit);
      if (iova === null) {
        pool.free(phys, size);
        return null;
      }
      this.domain.map(iova, phys, bytes, IOMMU_READ | IOMMU_WRITE);
      this.dev.counters.coherentPool++;
      return { device: this.dev.name, size, dmaAddress: iova, phys, source: "atomic-pool", blocks: [] };
    }
    return null;
  }
}

/** dma-iommu's dma_map_ops. */
export class IommuDmaOps extends IommuOps<IommuDmaSgMapping> {
  readonly name = "iommu-dma";

  /**
   * iommu_dma_map_sg() + __finalise_sg(): one IOVA range for the list, each
   * entry padded to whole pages (and to the segment boundary where a segment
   * would otherwise cross it), then physically separate entries concatenated
   * into device segments while they start on a page, stay under the max segment
   * size and do not start at a boundary. (The kernel maps the boundary pad to
   * the pages after the previous entry; dmasim leaves it unmapped.)
   */
  protected mapTable(sgt: SgTable, dir: DmaDirection): IommuDmaSgMapping | null {
    const page = this.dev.mm.pageSize;
    const domain = this.domain;
    const n = sgt.origNents;
    const boundary = this.dev.segmentBoundaryMask;
    const span = Number.isFinite(boundary) ? boundary + 1 : Infinity;
    // Layout: where each entry's pages go in the IOVA range.
    const iovaOff: number[] = [];
    const iovaLen: number[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const sIovaOff = offsetInPage(e.offset, page);
      const sLength = pageAlign(e.length + sIovaOff, page);
      const pad = span === Infinity ? 0 : (span - (total % span)) % span;
      if (pad && pad < sLength - 1) {
        iovaLen[i - 1]! += pad;
        total += pad;
      }
      iovaOff.push(total);
      iovaLen.push(sLength);
      total += sLength;
    }
    const iova = domain.allocIova(total, this.dev.dmaLimit);
    if (iova === null) return null;
    const prot = dmaInfoToProt(dir);
    const before = domain.entries;
    const ranges: { iova: number; bytes: number }[] = [];
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const inPage = offsetInPage(e.offset, page);
      const bytes = pageAlign(e.length + inPage, page);
      domain.mapPages(iova + iovaOff[i]!, e.pfn * page + (e.offset - inPage), bytes, prot);
      // What unmapping walks: IOVA-contiguous pieces as one range (only boundary pads, left unmapped, split them).
      const last = ranges[ranges.length - 1];
      if (last && last.iova + last.bytes === iova + iovaOff[i]!) last.bytes += bytes;
      else ranges.push({ iova: iova + iovaOff[i]!, bytes });
    }
    this.dev.setLastIommuEntries(domain.entries.map((k, c) => k - before[c]!));
    // __finalise_sg(): concatenate into device segments.
    const maxLen = this.dev.maxSegmentSize;
    let count = 0;
    let curLen = 0;
    let cur = -1;
    const out: { addr: number; len: number }[] = [];
    for (let i = 0; i < n; i++) {
      const e = sgt.entries[i]!;
      const sIovaOff = e.offset % page;
      const sLength = e.length;
      const dmaAddr = iova + iovaOff[i]!;
      const atBoundary = span !== Infinity && dmaAddr % span === 0;
      if (curLen && !sIovaOff && !atBoundary && maxLen - curLen >= sLength) {
        curLen += sLength;
      } else {
        cur++;
        count++;
        curLen = sLength;
        out[cur] = { addr: dmaAddr + sIovaOff, len: 0 };
      }
      out[cur]!.len = curLen;
      if (sLength + sIovaOff < iovaLen[i]!) curLen = 0;
    }
    this.setSegments(sgt, out);
    return { count, dir, iovaStart: iova, iovaBytes: total, ranges };
  }

  protected tableWords(s: IommuDmaSgMapping): number[] {
    return [s.iovaStart, s.iovaBytes, ...s.ranges.flatMap((r) => [r.iova, r.bytes])];
  }

  /** The mapped pieces lie in the table's IOVA range and are mapped with the direction's permissions. */
  protected checkTable(_sgt: SgTable, s: IommuDmaSgMapping): string {
    for (const r of s.ranges) {
      if (r.iova < s.iovaStart || r.iova + r.bytes > s.iovaStart + s.iovaBytes)
        return `a mapped table's piece at 0x${r.iova.toString(16)} lies outside its IOVA range`;
      const msg = this.checkMapped(r.iova, r.bytes, -1, dmaInfoToProt(s.dir));
      if (msg) return msg;
    }
    return "";
  }

  /** iommu_dma_unmap_sg(): the mapped pieces unmapped, the IOVA range freed. */
  protected releaseTable(_sgt: SgTable, s: IommuDmaSgMapping): void {
    for (const r of s.ranges) this.domain.unmap(r.iova, r.bytes);
    this.domain.freeIova(s.iovaStart, s.iovaBytes);
  }
}
