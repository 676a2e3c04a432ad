/**
 * A shadow of Linux 6.1's free-list types, kept beside the twin's machine to
 * explain where dmasim's prediction misses the kernel's block.
 *
 * dmasim keeps every free block on its pageblock's list (the v6.10+ rule).
 * 6.1 (mm/page_alloc.c) puts a drained per-cpu page on the list of its per-cpu
 * migratetype (free_pcppages_bulk() → __free_one_page(..., mt)), the halves of
 * a split on the request's list (expand() in __rmqueue_smallest()), and a block
 * freed by __free_pages_ok() on its pageblock's list. The shadow records, per
 * free-block head, the list 6.1 would have it on, so that a miss can be sorted:
 * - "otherListIn61": dmasim's pick sits, by 6.1's rules, on another type's list;
 * - "smallerBlockSkipped": dmasim's pick is on the right list by 6.1's rules but
 *   of a smaller order than the kernel's block (the shadow or the boot state's
 *   per-block list assignment is wrong about it);
 * - "listOrder": same list, same order: the position on the list differs.
 */
import type { System } from "../../index.ts";

export interface MissCauses {
  otherListIn61: number;
  smallerBlockSkipped: number;
  listOrder: number;
}

export class ListShadow {
  /** Per free-block head: the kernel migratetype enum value of its 6.1 list, -1 elsewhere. */
  private readonly type: Int8Array;
  readonly misses: MissCauses = { otherListIn61: 0, smallerBlockSkipped: 0, listOrder: 0 };

  /** Starts from the twin's lists as loaded (kernel enum values by dmasim name through `kernelMtOf`). */
  constructor(
    private readonly sys: System,
    private readonly kernelMtOf: (name: string) => number,
  ) {
    this.type = new Int8Array(sys.nrPages).fill(-1);
    this.markFree(0, sys.nrPages, null);
  }

  /** The head of the block covering `pfn` and its order. */
  private headOf(pfn: number): [number, number] {
    for (let order = 0; order <= this.sys.maxOrder; order++) {
      const head = pfn - (pfn % 2 ** order);
      const info = this.sys.pageInfo(head);
      if (info.state !== "tail") return [head, info.order];
    }
    return [pfn, 0];
  }

  /** Gives every free head in [start, end) list type `mt` (null: the twin's own list). */
  private markFree(start: number, end: number, mt: number | null): void {
    let pfn = start;
    while (pfn < end) {
      const info = this.sys.pageInfo(pfn);
      if (info.state === "free") this.type[pfn] = mt ?? this.kernelMtOf(info.migratetype!);
      pfn += info.state === "tail" ? 1 : 2 ** info.order;
    }
  }

  /** Sorts a miss: the kernel took `pfn` for `kernelMt`, dmasim named `pickPfn`. Call before the claim. */
  classify(pfn: number, kernelMt: number, pickPfn: number): void {
    const [pickHead, pickOrder] = this.headOf(pickPfn);
    const [, kernelOrder] = this.headOf(pfn);
    if (this.type[pickHead] !== kernelMt) this.misses.otherListIn61++;
    else if (pickOrder !== kernelOrder) this.misses.smallerBlockSkipped++;
    else this.misses.listOrder++;
  }

  /** Before claiming `pfn`: the covering free block; after: its split halves keep its 6.1 list. */
  beforeClaim(pfn: number): [number, number, number] {
    const [head, order] = this.headOf(pfn);
    return [head, order, this.type[head]!];
  }

  afterClaim([head, order, mt]: [number, number, number]): void {
    this.type[head] = -1;
    this.markFree(head, head + 2 ** order, mt);
  }

  /** A traced claim moved the free pages of [start, end) to `mt`'s lists (move_freepages_block()). */
  afterRetype(start: number, end: number, mt: number): void {
    this.markFree(start, end, mt);
  }

  /** After a free of `pfn` was applied: the merged block goes on the freeing type's list. */
  afterFree(pfn: number, kernelMt: number | null): void {
    const [head] = this.headOf(pfn);
    this.type[head] = kernelMt ?? this.kernelMtOf(this.sys.pageblockMigratetype(pfn));
  }
}
