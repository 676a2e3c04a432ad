/**
 * The live mappings a dma_map_ops implementation made, as the simulator keeps
 * them: what the kernel's drivers hold as dma handles and scatterlists, looked
 * up as the DMA API's calls name them (a bus address, a size, a direction).
 * MappingOps does that bookkeeping; each implementation (direct.ts,
 * iommu-dma.ts, arm-iommu.ts) supplies the mapping itself and its own record types.
 */
import type { StateHasher } from "../../core/hash.ts";
import type { SgTable } from "../../lib/scatterlist.ts";
import { DMA_DIRECTIONS, type DmaDirection } from "../direction.ts";
import { DMA_MAPPING_ERROR, type CoherentBuffer, type DmaDev, type DmaMapOps, type DmaSgMapping } from "./ops.ts";

/** What every streaming mapping record holds: the CPU's buffer and the direction it was mapped for. */
export interface StreamingMapping {
  /** Physical address of the buffer. */
  readonly phys: number;
  /** Bytes mapped. */
  readonly size: number;
  readonly dir: DmaDirection;
}

/** A mapping an implementation made: its bus address and its record. */
export interface Mapped<M> {
  readonly addr: number;
  readonly m: M;
}

/** A direction as its enum dma_data_direction value (for the state hash). */
export function dirIndex(dir: DmaDirection): number {
  return DMA_DIRECTIONS.indexOf(dir);
}

/** Orders lists of numbers lexicographically. */
export function compareWords(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Feeds a list of number lists, each as its length then its numbers. */
export function hashWordLists(h: StateHasher, lists: readonly (readonly number[])[]): void {
  h.list(lists, (words) => h.list(words, (x) => h.num(x)));
}

/**
 * The bookkeeping of one device's ops: streaming mappings by bus address and
 * mapped tables. `M` is the implementation's streaming record, `S` its table record.
 */
export abstract class MappingOps<M extends StreamingMapping, S extends DmaSgMapping> implements DmaMapOps {
  abstract readonly name: DmaMapOps["name"];
  /** Streaming mappings by bus address; a buffer may be mapped more than once at one address. */
  private readonly streaming = new Map<number, M[]>();
  private streamingCount = 0;
  /** Mapped tables. */
  private readonly sgMaps = new Map<SgTable, S>();

  constructor(protected readonly dev: DmaDev) {}

  // ---- what each implementation provides --------------------------------------------------------

  /** Maps a buffer; null when it cannot (the caller answers DMA_MAPPING_ERROR). */
  protected abstract map(phys: number, size: number, dir: DmaDirection): Mapped<M> | null;
  /** Undoes map() for the mapping at bus address `addr` (the bookkeeping is done by the caller). */
  protected abstract release(addr: number, m: M): void;
  /** Syncs `size` bytes at bus address `dmaAddr`, `off` bytes into mapping `m`. */
  protected abstract syncMapping(
    m: M,
    dmaAddr: number,
    off: number,
    size: number,
    dir: DmaDirection,
    forCpu: boolean,
  ): void;
  /** Maps a table, writing its device segments; null on failure, the table untouched. */
  protected abstract mapTable(sgt: SgTable, dir: DmaDirection): S | null;
  /** Undoes mapTable(). */
  protected abstract releaseTable(sgt: SgTable, s: S): void;
  protected abstract syncTable(
    where: string,
    sgt: SgTable,
    s: S,
    nents: number,
    dir: DmaDirection,
    forCpu: boolean,
  ): void;
  abstract alloc(size: number, atomic: boolean): CoherentBuffer | null;
  abstract free(buf: CoherentBuffer): void;
  /** The numbers that describe a streaming record beyond its bus address, phys, size and direction, for the state hash. */
  protected abstract mappingWords(m: M): number[];
  /** The numbers that describe a table record beyond what the table shows (see tableStateWords()), for the state hash. */
  protected abstract tableWords(s: S): number[];
  /** A streaming record's invariants: "" or the first broken one. */
  protected abstract checkMapping(addr: number, m: M): string;
  /** A table record's invariants. */
  protected abstract checkTable(sgt: SgTable, s: S): string;
  /** The invariants that span all records and the device's coherent buffers. */
  protected checkAll(_coherent: readonly CoherentBuffer[]): string {
    return "";
  }
  /** Streaming mappings a table record holds in the streaming table too (dma-direct's per-entry mappings). */
  protected tableSingles(_s: S): number {
    return 0;
  }

  // ---- dma_map_ops -----------------------------------------------------------------------------

  mapPhys(phys: number, size: number, dir: DmaDirection): number {
    const r = this.map(phys, size, dir);
    if (r === null) return DMA_MAPPING_ERROR;
    this.add(r.addr, r.m);
    return r.addr;
  }

  unmapPhys(where: string, dmaAddr: number, size: number, dir: DmaDirection): void {
    const m = this.best(dmaAddr, size, dir);
    if (!m) return this.dev.misuse(where, `0x${dmaAddr.toString(16)} is not mapped by ${this.dev.name}`);
    if (size > m.size) return this.dev.misuse(where, `size ${size} is larger than the mapping (${m.size})`);
    this.unmapMapping(dmaAddr, m);
  }

  syncSingleForCpu(where: string, dmaAddr: number, size: number, dir: DmaDirection): void {
    this.syncSingle(where, dmaAddr, size, dir, true);
  }

  syncSingleForDevice(where: string, dmaAddr: number, size: number, dir: DmaDirection): void {
    this.syncSingle(where, dmaAddr, size, dir, false);
  }

  mapSg(sgt: SgTable, dir: DmaDirection): number {
    const s = this.mapTable(sgt, dir);
    if (s === null) return 0;
    this.sgMaps.set(sgt, s);
    return s.count;
  }

  unmapSg(sgt: SgTable): void {
    const s = this.sgMaps.get(sgt);
    if (!s) return;
    this.releaseTable(sgt, s);
    this.sgMaps.delete(sgt);
  }

  syncSgForCpu(where: string, sgt: SgTable, nents: number, dir: DmaDirection): void {
    const s = this.sgMaps.get(sgt);
    if (s) this.syncTable(where, sgt, s, nents, dir, true);
  }

  syncSgForDevice(where: string, sgt: SgTable, nents: number, dir: DmaDirection): void {
    const s = this.sgMaps.get(sgt);
    if (s) this.syncTable(where, sgt, s, nents, dir, false);
  }

  // ---- bookkeeping -----------------------------------------------------------------------------

  sgMapping(sgt: SgTable): DmaSgMapping | undefined {
    return this.sgMaps.get(sgt);
  }

  get activeMappings(): number {
    let singles = 0;
    for (const s of this.sgMaps.values()) singles += this.tableSingles(s);
    return this.streamingCount - singles + this.sgMaps.size;
  }

  swiotlbMappings(): { tlbAddr: number; phys: number; size: number }[] {
    return [];
  }

  get pristine(): boolean {
    return this.streaming.size === 0 && this.streamingCount === 0 && this.sgMaps.size === 0;
  }

  /**
   * Streaming mappings by ascending bus address (those at one address in the
   * order lookups try them), then the mapped tables, each as its entries, its
   * device segments and its record, sorted so that the order they were mapped
   * in does not count. (A sync at an address no mapping starts at takes the
   * first mapping holding it in the order they were made; only overlapping
   * direct mappings make that order matter, and it is not fed.)
   */
  hash(h: StateHasher): void {
    h.num(this.streamingCount);
    const addrs = [...this.streaming.keys()].sort((a, b) => a - b);
    h.list(addrs, (addr) => {
      h.num(addr);
      const list = this.streaming.get(addr) ?? [];
      hashWordLists(
        h,
        list.map((m) => [m.phys, m.size, dirIndex(m.dir), ...this.mappingWords(m)]),
      );
    });
    const tables = [...this.sgMaps].map(([sgt, s]) => [...tableStateWords(sgt, s), ...this.tableWords(s)]);
    hashWordLists(h, tables.sort(compareWords));
  }

  check(coherent: readonly CoherentBuffer[]): string {
    let n = 0;
    for (const [addr, list] of this.streaming) {
      if (list.length === 0) return `an empty list of mappings at 0x${addr.toString(16)}`;
      n += list.length;
      for (const m of list) {
        const msg = this.checkMapping(addr, m);
        if (msg) return msg;
      }
    }
    if (n !== this.streamingCount) return `${this.streamingCount} streaming mappings counted, ${n} held`;
    for (const [sgt, s] of this.sgMaps) {
      if (s.count < 1 || s.count > sgt.origNents)
        return `a mapped table has ${s.count} device segments for ${sgt.origNents} entries`;
      const msg = this.checkTable(sgt, s);
      if (msg) return msg;
    }
    return this.checkAll(coherent);
  }

  /** Whether `m` is one of the records held at bus address `addr`. */
  protected holds(addr: number, m: M): boolean {
    return this.streaming.get(addr)?.includes(m) ?? false;
  }

  /** Every streaming record with its bus address. */
  protected *mappings(): Generator<Mapped<M>> {
    for (const [addr, list] of this.streaming) for (const m of list) yield { addr, m };
  }

  /** Enters a streaming mapping made by map(). */
  protected add(addr: number, m: M): void {
    const list = this.streaming.get(addr);
    if (list) list.push(m);
    else this.streaming.set(addr, [m]);
    this.streamingCount++;
  }

  /** Releases a streaming mapping and forgets it. */
  protected unmapMapping(addr: number, m: M): void {
    this.release(addr, m);
    const list = this.streaming.get(addr);
    const i = list ? list.indexOf(m) : -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.streaming.delete(addr);
    this.streamingCount--;
  }

  /** The mapping at `dmaAddr` that fits an unmap best: same size and direction, then same size, then the oldest. */
  private best(dmaAddr: number, size: number, dir: DmaDirection): M | undefined {
    const list = this.streaming.get(dmaAddr);
    if (!list) return undefined;
    return list.find((m) => m.size === size && m.dir === dir) ?? list.find((m) => m.size === size) ?? list[0];
  }

  /** The mapping a sync of [dmaAddr, +size) refers to: one starting there that holds it, else one containing it. */
  private find(dmaAddr: number, size: number, dir: DmaDirection): { start: number; m: M } | undefined {
    const exact = this.streaming.get(dmaAddr);
    if (exact && exact.length > 0) {
      const fits = exact.filter((m) => m.size >= size);
      return { start: dmaAddr, m: fits.find((m) => m.dir === dir) ?? fits[0] ?? exact[0]! };
    }
    for (const [start, list] of this.streaming) {
      for (const m of list) if (dmaAddr >= start && dmaAddr < start + m.size) return { start, m };
    }
    return undefined;
  }

  /** A single sync: the mapping it names, checked, then the implementation's sync. */
  protected syncSingle(where: string, dmaAddr: number, size: number, dir: DmaDirection, forCpu: boolean): void {
    const found = this.find(dmaAddr, size, dir);
    if (!found) return this.dev.misuse(where, `0x${dmaAddr.toString(16)} is not mapped by ${this.dev.name}`);
    const off = dmaAddr - found.start;
    if (size > found.m.size - off) return this.dev.misuse(where, `the sync runs past the end of the mapping`);
    this.syncMapping(found.m, dmaAddr, off, size, dir, forCpu);
  }
}

/** A mapped table as the driver sees it: its entries, its nents, its device segments and the mapping's direction. */
function tableStateWords(sgt: SgTable, s: DmaSgMapping): number[] {
  const words = [sgt.origNents, sgt.nents, s.count, dirIndex(s.dir)];
  for (let i = 0; i < sgt.origNents; i++) {
    const e = sgt.entries[i];
    words.push(e?.pfn ?? -1, e?.offset ?? -1, e?.length ?? -1);
    if (i < s.count) words.push(e?.dmaAddress ?? -1, e?.dmaLength ?? -1);
  }
  return words;
}
