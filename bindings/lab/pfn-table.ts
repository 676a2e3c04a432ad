/**
 * PfnTable: a sparse int32 per trace pfn, for the replay's hot lookups (which
 * block is headed at a pfn, which pfn was freed recently). Pages of 4096
 * entries are made when first written, so a trace of a 1 TiB machine costs
 * only the pfns it touches; the last page used is kept at hand, as consecutive
 * events usually touch neighbouring pfns.
 *
 *   pfn ─► page = floor(pfn / PAGE_ENTRIES) ─► pages.get(page): Int32Array[PAGE_ENTRIES]
 *                                                                 [pfn % PAGE_ENTRIES] = value (0: none)
 */
const PAGE_SHIFT_ENTRIES = 12;
const PAGE_ENTRIES = 1 << PAGE_SHIFT_ENTRIES;

export class PfnTable {
  private readonly pages = new Map<number, Int32Array>();
  private lastPage = -1;
  private lastEntries: Int32Array | null = null;

  private entries(page: number, create: boolean): Int32Array | null {
    if (page === this.lastPage) return this.lastEntries;
    let entries = this.pages.get(page) ?? null;
    if (entries === null) {
      if (!create) return null;
      entries = new Int32Array(PAGE_ENTRIES);
      this.pages.set(page, entries);
    }
    this.lastPage = page;
    this.lastEntries = entries;
    return entries;
  }

  /** The value at `pfn` (a non-negative safe integer), 0 when never set. */
  get(pfn: number): number {
    const entries = this.entries(Math.floor(pfn / PAGE_ENTRIES), false);
    return entries === null ? 0 : entries[pfn % PAGE_ENTRIES]!;
  }

  set(pfn: number, value: number): void {
    if (value === 0 && this.get(pfn) === 0) return;
    this.entries(Math.floor(pfn / PAGE_ENTRIES), true)![pfn % PAGE_ENTRIES] = value;
  }
}
