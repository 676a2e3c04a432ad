/**
 * PfnTable: a sparse int32 per trace pfn, for the replay's hot lookups (which
 * block is headed at a pfn, which pfn was freed recently). Pages of 4096
 * entries are made when first written, so a trace of a 1 TiB machine costs
 * only the pfns it touches. Pages below pfn 2^32 sit in an array indexed by
 * page number (one array load to reach one); pages above it, in a map.
 *
 *   pfn < 2^32:  pfn ─► dir[pfn >>> 12]: Int32Array[PAGE_ENTRIES] ─► [pfn & 4095] = value (0: none)
 *   pfn ≥ 2^32:  pfn ─► far.get(floor(pfn / PAGE_ENTRIES)): Int32Array ─► [pfn % PAGE_ENTRIES]
 */
const PAGE_SHIFT_ENTRIES = 12;
const PAGE_ENTRIES = 1 << PAGE_SHIFT_ENTRIES;
const PAGE_MASK = PAGE_ENTRIES - 1;
/** Pfns below this reach their page through `dir`. */
const DIRECT_LIMIT = 2 ** 32;

export class PfnTable {
  /** Pages by page number, below DIRECT_LIMIT (null: none yet). */
  private readonly dir: (Int32Array | null)[] = [];
  private readonly far = new Map<number, Int32Array>();

  /** The value at `pfn` (a non-negative safe integer), 0 when never set. */
  get(pfn: number): number {
    if (pfn < DIRECT_LIMIT) {
      const entries = this.dir[pfn >>> PAGE_SHIFT_ENTRIES];
      return entries ? entries[pfn & PAGE_MASK]! : 0;
    }
    const entries = this.far.get(Math.floor(pfn / PAGE_ENTRIES));
    return entries ? entries[pfn % PAGE_ENTRIES]! : 0;
  }

  set(pfn: number, value: number): void {
    if (pfn < DIRECT_LIMIT) {
      const page = pfn >>> PAGE_SHIFT_ENTRIES;
      let entries = this.dir[page];
      if (!entries) {
        if (value === 0) return;
        // Grow densely (null-filled), so the array keeps fast elements.
        while (this.dir.length <= page) this.dir.push(null);
        entries = this.dir[page] = new Int32Array(PAGE_ENTRIES);
      }
      entries[pfn & PAGE_MASK] = value;
      return;
    }
    const page = Math.floor(pfn / PAGE_ENTRIES);
    let entries = this.far.get(page);
    if (!entries) {
      if (value === 0) return;
      entries = new Int32Array(PAGE_ENTRIES);
      this.far.set(page, entries);
    }
    entries[pfn % PAGE_ENTRIES] = value;
  }
}
