/**
 * Pages a kernel-side owner holds: a dma-buf's backing, a coherent DMA buffer,
 * an atomic pool. The engine sees them as plain allocations, so without this
 * record `sys.freePages()` or `CmaArea.release()` could free pages a buffer
 * still uses. Owners hold their pages after allocating and unhold them just
 * before freeing; every other free of a held page is EBUSY.
 *
 *   holderOf: Uint8Array, one byte per pfn (allocated at the first hold)
 *   ┌───┬───┬───┬───┬───┬───┐
 *   │ 0 │ 2 │ 2 │ 0 │ 1 │ … │   0 = not held, k = holder name k (names[k])
 *   └───┴───┴───┴───┴───┴───┘
 */
import { DmaSimError } from "../core/errors.ts";

/** Up to 255 distinct holder names (one byte per page). */
const MAX_HOLDERS = 255;

export class PageHolds {
  private holderOf: Uint8Array | null = null;
  private readonly names: string[] = [""];
  private readonly nameIds = new Map<string, number>();
  private heldPages = 0;

  constructor(private readonly nrPages: number) {}

  /** Pages held now. */
  get count(): number {
    return this.heldPages;
  }

  /** @internal Records pfn..pfn+nrPages-1 as held by `holder` (a kind: "dma-buf", "coherent buffer", …). */
  hold(pfn: number, nrPages: number, holder: string): void {
    let id = this.nameIds.get(holder);
    if (id === undefined) {
      if (this.names.length > MAX_HOLDERS) throw new Error(`PageHolds: more than ${MAX_HOLDERS} holder names`);
      id = this.names.push(holder) - 1;
      this.nameIds.set(holder, id);
    }
    const map = (this.holderOf ??= new Uint8Array(this.nrPages));
    for (let i = pfn; i < pfn + nrPages; i++) {
      if (map[i] !== 0) throw new Error(`PageHolds: pfn ${i} is already held by ${this.names[map[i]!]}`);
    }
    map.fill(id, pfn, pfn + nrPages);
    this.heldPages += nrPages;
  }

  /** @internal Forgets the hold on pfn..pfn+nrPages-1 (its owner is about to free the pages). */
  unhold(pfn: number, nrPages: number): void {
    const map = this.holderOf;
    for (let i = pfn; i < pfn + nrPages; i++) {
      if (!map || map[i] === 0) throw new Error(`PageHolds: pfn ${i} is not held`);
    }
    map!.fill(0, pfn, pfn + nrPages);
    this.heldPages -= nrPages;
  }

  /** @internal hold() of each run. */
  holdRuns(runs: readonly { pfn: number; pages: number }[], holder: string): void {
    for (const r of runs) this.hold(r.pfn, r.pages, holder);
  }

  /** @internal unhold() of each run. */
  unholdRuns(runs: readonly { pfn: number; pages: number }[]): void {
    for (const r of runs) this.unhold(r.pfn, r.pages);
  }

  /** Throws EBUSY when any page of pfn..pfn+nrPages-1 (clipped to RAM) is held. */
  refuseHeld(where: string, pfn: number, nrPages: number): void {
    const map = this.holderOf;
    if (!map) return;
    const end = Math.min(pfn + nrPages, this.nrPages);
    for (let i = pfn; i < end; i++) {
      if (map[i] !== 0)
        throw new DmaSimError(
          "EBUSY",
          `${where}: pfn ${i} belongs to a ${this.names[map[i]!]}; free it through its owner`,
        );
    }
  }

  /** The holder of `pfn`, or null. */
  holderAt(pfn: number): string | null {
    const id = this.holderOf?.[pfn] ?? 0;
    return id === 0 ? null : this.names[id]!;
  }

  /** Pages held, counted from the map (check() compares it with the running count). */
  countHeld(): number {
    let n = 0;
    if (this.holderOf) for (const id of this.holderOf) if (id !== 0) n++;
    return n;
  }
}
