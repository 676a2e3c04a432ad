/**
 * Scatterlists (lib/scatterlist.c): tables of physically contiguous runs of
 * pages, built by the engine's merge loop (assembly/scatterlist.ts).
 *
 * Without a `system` option the functions run on a small portable engine of
 * their own with 4 KiB pages; with one, on that machine's backend and page size.
 */
import { portableInstance, type EngineInstance } from "../core/backend.ts";
import { DmaSimError } from "../core/errors.ts";
import { requireInt } from "../core/validate.ts";

/** One scatterlist entry. After dma_map_sg(), the first `nents` carry the DMA segments. */
export interface SgEntry {
  pfn: number;
  /** Byte offset into the first page (only the first entry of a table has one). */
  offset: number;
  /** Bytes. */
  length: number;
  /** sg_dma_address(), once mapped. */
  dmaAddress?: number;
  /** sg_dma_len(), once mapped. */
  dmaLength?: number;
}

/** struct sg_table (struct sg_append_table while being appended to). */
export class SgTable {
  /** Entries of the table; after mapping, `nents` counts DMA segments (sg_table.nents). */
  nents: number;
  /** Entries allocated (sg_table.orig_nents). */
  origNents: number;
  /** sg_mark_end() was called: nothing more is expected (leftPages was 0). */
  ended: boolean;

  /** A table of `entries` (an exporter's map_dma_buf() builds one). */
  constructor(
    readonly entries: SgEntry[],
    /** Page size of the machine the table describes. */
    readonly pageSize: number,
  ) {
    this.nents = entries.length;
    this.origNents = entries.length;
    this.ended = true;
  }

  /** Bytes described by the table. */
  get totalLength(): number {
    return this.entries.reduce((sum, e) => sum + e.length, 0);
  }
}

export interface SgOptions {
  /** Build on this machine's engine (its backend and page size). Default: a portable engine with 4 KiB pages. */
  system?: SgMachine;
}

/** UINT_MAX, the max_segment of sg_alloc_table_from_pages(). */
export const SG_MAX_SEGMENT_DEFAULT = 0xffffffff;

/** The machine a table is built on (a System): its engine and page size. */
export interface SgMachine {
  readonly pageSize: number;
  readonly nrPages: number;
  /** @internal */
  readonly inst: EngineInstance;
}

// Tables built without a machine run on a portable engine of their own with
// 4 KiB pages, created at the first such call (synchronously: the portable
// build is plain JS), never at import.
let standalone: EngineInstance | undefined;
function standaloneInstance(): EngineInstance {
  if (!standalone) {
    standalone = portableInstance();
    standalone.engine.init(512, 12, 9, 9, 0);
  }
  return standalone;
}

function context(options: SgOptions | undefined): { inst: EngineInstance; pageSize: number; nrPages: number } {
  if (options?.system)
    return { inst: options.system.inst, pageSize: options.system.pageSize, nrPages: options.system.nrPages };
  return { inst: standaloneInstance(), pageSize: 4096, nrPages: 2 ** 31 - 1 };
}

function build(
  where: string,
  prev: SgTable | null,
  pfns: ArrayLike<number>,
  offset: number,
  size: number,
  maxSegment: number,
  leftPages: number,
  options: SgOptions | undefined,
): SgTable {
  const { inst, pageSize, nrPages } = context(options);
  const e = inst.engine;
  if (pfns === null || typeof pfns !== "object" || typeof pfns.length !== "number") {
    throw new DmaSimError("EINVAL", `${where}: pfns must be an array of page frame numbers`);
  }
  const n = pfns.length;
  requireInt(where, "offset", offset, 0, pageSize - 1);
  requireInt(where, "maxSegment", maxSegment, 0, 0xffffffff);
  requireInt(where, "leftPages", leftPages, 0, 2 ** 31 - 1);
  if (n === 0) throw new DmaSimError("EINVAL", `${where}: no pages`);
  // Every page must hold some of the data: size ends inside the last page (and is never 0).
  requireInt(where, "size", size, Math.max(1, (n - 1) * pageSize - offset + 1), n * pageSize - offset);
  if (prev !== null && !(prev instanceof SgTable))
    throw new DmaSimError("EINVAL", `${where}: prev must be an SgTable or null`);
  if (prev && prev.pageSize !== pageSize)
    throw new DmaSimError("EINVAL", `${where}: prev was built for another page size`);
  if (prev && prev.ended) throw new DmaSimError("EINVAL", `${where}: prev was completed (built with leftPages 0)`);
  // Each pfn is read once, into the copy the engine gets: an array-like whose
  // elements are getters cannot pass the check with one value and use another.
  const pfnList = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const pfn = pfns[i];
    // The message is built only on failure: this loop runs once per page.
    if (!Number.isInteger(pfn) || pfn! < 0 || pfn! >= nrPages) requireInt(where, `pfns[${i}]`, pfn, 0, nrPages - 1);
    pfnList[i] = pfn!;
  }
  e.sgReservePages(n);
  inst
    .bufferView(
      Int32Array,
      () => e.sgPagesPtr(),
      () => e.sgPagesArray(),
      n,
    )
    .set(pfnList);
  const last = prev?.entries[prev.entries.length - 1];
  const ret = e.sgFromPages(
    n,
    offset,
    size,
    maxSegment,
    last !== undefined,
    last?.pfn ?? 0,
    last?.offset ?? 0,
    last?.length ?? 0,
  );
  if (ret < 0) {
    const why = prev && offset !== 0 ? "appending with an offset" : `maxSegment below one page (${maxSegment})`;
    throw DmaSimError.fromErrno(ret, `${where}: ${why}`);
  }
  const pfnView = inst.bufferView(
    Int32Array,
    () => e.sgPfnPtr(),
    () => e.sgPfnArray(),
    ret,
  );
  const offView = inst.bufferView(
    Uint32Array,
    () => e.sgOffsetPtr(),
    () => e.sgOffsetArray(),
    ret,
  );
  const lenView = inst.bufferView(
    Uint32Array,
    () => e.sgLengthPtr(),
    () => e.sgLengthArray(),
    ret,
  );
  const added: SgEntry[] = [];
  for (let i = 0; i < ret; i++) added.push({ pfn: pfnView[i]!, offset: offView[i]!, length: lenView[i]! });
  let table: SgTable;
  if (prev) {
    if (last) last.length = e.sgPrvLen();
    prev.entries.push(...added);
    prev.nents = prev.origNents = prev.entries.length;
    table = prev;
  } else {
    table = new SgTable(added, pageSize);
  }
  table.ended = leftPages === 0;
  return table;
}

/**
 * sg_alloc_table_from_pages_segment(): a table for `size` bytes starting at
 * byte `offset` of the first of `pfns`, merging consecutive pfns into entries of
 * at most `maxSegment` bytes (aligned down to the page size; below one page is
 * EINVAL). Default maxSegment: UINT_MAX, as sg_alloc_table_from_pages().
 */
export function sgAllocTableFromPages(
  pfns: ArrayLike<number>,
  offset: number,
  size: number,
  maxSegment: number = SG_MAX_SEGMENT_DEFAULT,
  options?: SgOptions,
): SgTable {
  return build("sgAllocTableFromPages", null, pfns, offset, size, maxSegment, 0, options);
}

/**
 * sg_alloc_append_table_from_pages(): appends to `prev` (or starts a table),
 * first growing prev's last entry with the pages that continue it. An offset
 * with a previous table is EINVAL. `leftPages` > 0 keeps the table open for
 * more appends (the end is marked only when it is 0).
 */
export function sgAppendTableFromPages(
  prev: SgTable | null,
  pfns: ArrayLike<number>,
  offset: number,
  size: number,
  maxSegment: number,
  leftPages: number,
  options?: SgOptions,
): SgTable {
  return build("sgAppendTableFromPages", prev, pfns, offset, size, maxSegment, leftPages, options);
}
