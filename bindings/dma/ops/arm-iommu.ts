/**
 * The ARM IOMMU mapping code (arch/arm/mm/dma-mapping.c, the arm_iommu_*
 * dma_map_ops of 32-bit ARM). Single mappings, syncs and coherent allocations
 * work as dma-iommu's do here (IommuOps); scatterlists are laid out the ARM way:
 * arm_iommu_map_sg() cuts the list into IOVA chunks, each mapped as one device segment.
 */
import type { SgTable } from "../../lib/scatterlist.ts";
import type { DmaDirection } from "../direction.ts";
import { dmaInfoToProt, IommuOps, type IovaRange } from "./iommu-dma.ts";
import type { DmaSgMapping } from "./ops.ts";
import { pageAlign } from "../../core/units.ts";

/** arm_iommu_map_sg(): one IOVA chunk per device segment. */
export interface ArmSgMapping extends DmaSgMapping {
  /** The chunks, in segment order (`count` of them). */
  readonly chunks: readonly IovaRange[];
}

export class ArmIommuOps extends IommuOps<ArmSgMapping> {
  readonly name = "arm-iommu";

  /**
   * arm_iommu_map_sg(): walks the list keeping a running chunk; a new IOVA
   * chunk starts when an entry has an offset, the running size is not page
   * aligned, or the max segment size would be exceeded (__map_sg_chunk()).
   */
  protected mapTable(sgt: SgTable, dir: DmaDirection): ArmSgMapping | null {
    const page = this.dev.mm.pageSize;
    const domain = this.domain;
    const n = sgt.origNents;
    const max = this.dev.maxSegmentSize;
    const prot = dmaInfoToProt(dir);
    const segments: { addr: number; len: number }[] = [];
    const mapped: IovaRange[] = [];
    const mapChunk = (from: number, to: number, size: number): number | null => {
      const bytes = pageAlign(size, page);
      const iova = domain.allocIova(bytes);
      if (iova === null) return null;
      let cursor = iova;
      for (let i = from; i < to; i++) {
        const e = sgt.entries[i]!;
        const len = pageAlign(e.offset + e.length, page);
        domain.mapPages(cursor, e.pfn * page, len, prot);
        cursor += len;
      }
      mapped.push({ iova, bytes });
      return iova;
    };
    let start = 0;
    let offset = sgt.entries[0]!.offset;
    let size = offset + sgt.entries[0]!.length;
    for (let i = 1; i <= n; i++) {
      const s = sgt.entries[i];
      if (i === n || s!.offset || size % page !== 0 || size + s!.length > max) {
        const iova = mapChunk(start, i, size);
        if (iova === null) {
          for (const m of mapped) {
            domain.unmap(m.iova, m.bytes);
            domain.freeIova(m.iova, m.bytes);
          }
          return null;
        }
        segments.push({ addr: iova + offset, len: size - offset });
        if (i === n) break;
        size = offset = s!.offset;
        start = i;
      }
      size += s!.length;
    }
    this.setSegments(sgt, segments);
    return { count: segments.length, dir, chunks: mapped };
  }

  protected tableWords(s: ArmSgMapping): number[] {
    return s.chunks.flatMap((c) => [c.iova, c.bytes]);
  }

  /** One chunk per device segment, each mapped with the direction's permissions. */
  protected checkTable(_sgt: SgTable, s: ArmSgMapping): string {
    if (s.chunks.length !== s.count)
      return `a mapped table holds ${s.chunks.length} IOVA chunks for ${s.count} segments`;
    for (const c of s.chunks) {
      const msg = this.checkMapped(c.iova, c.bytes, -1, dmaInfoToProt(s.dir));
      if (msg) return msg;
    }
    return "";
  }

  /** arm_iommu_unmap_sg(): each chunk unmapped and its IOVA space freed. */
  protected releaseTable(_sgt: SgTable, s: ArmSgMapping): void {
    for (const c of s.chunks) {
      this.domain.unmap(c.iova, c.bytes);
      this.domain.freeIova(c.iova, c.bytes);
    }
  }
}
