/**
 * A reference model of Linux 6.1's buddy free lists (mm/page_alloc.c), kept
 * beside the twin's dmasim machine in follow mode: the same free blocks, but on
 * the lists and in the order 6.1 keeps them. It answers the same question as
 * dmasim (which block would __rmqueue_smallest() take?) and measures what
 * dmasim's own list rules (v6.10+) cost against a 6.1 trace.
 *
 * 6.1's rules modelled:
 * - __rmqueue_smallest() takes the head of the first non-empty list of the
 *   request's type from its order up; expand() puts each split-off half at the
 *   head of the request's list (break_down_buddy_pages() likewise for a block
 *   taken from its middle);
 * - __free_one_page(page, pfn, zone, order, migratetype): merges with free
 *   buddies (not across zones; at >= pageblock order not between a pageblock
 *   without fallbacks and another type), then adds the block at the tail when
 *   buddy_merge_likely() (order < MAX_ORDER - 2 and the next-higher buddy free),
 *   else at the head, of `migratetype`'s list: a drain's per-cpu migratetype
 *   (free_pcppages_bulk()), the pageblock's for __free_pages_ok();
 * - a traced steal's move_freepages_block() moves the pageblock's free blocks to
 *   the tails of the new type's lists.
 * Not modelled: fallbacks (the twin scores them from dmasim), highatomic, CMA.
 * The order within each list at the boot snapshot is unknown: blocks start in
 * ascending pfn order.
 */
import type { MigratetypeName, System, ZoneName } from "../../index.ts";

const NONE = -1;

export class Linux61Lists {
  private readonly order: Int8Array;
  private readonly listType: Int8Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly heads = new Map<number, number>();
  private readonly tails = new Map<number, number>();
  private readonly zoneIndex: Uint8Array;
  private readonly maxOrder: number;

  /**
   * Starts from the twin's free blocks as loaded, each on its dmasim list's
   * type; `kernelMtOf` maps dmasim names to the kernel's enum.
   */
  constructor(
    private readonly sys: System,
    private readonly kernelMtOf: (name: MigratetypeName) => number,
    zones: { name: ZoneName; startPfn: number; endPfn: number }[],
  ) {
    const n = sys.nrPages;
    this.maxOrder = sys.maxOrder;
    this.order = new Int8Array(n).fill(NONE);
    this.listType = new Int8Array(n).fill(NONE);
    this.next = new Int32Array(n).fill(NONE);
    this.prev = new Int32Array(n).fill(NONE);
    this.zoneIndex = new Uint8Array(n);
    zones.forEach((z, i) => this.zoneIndex.fill(i, z.startPfn, z.endPfn));
    let pfn = 0;
    while (pfn < n) {
      const info = sys.pageInfo(pfn);
      if (info.state === "free") this.add(pfn, info.order, kernelMtOf(info.migratetype!), true);
      pfn += info.state === "tail" ? 1 : 2 ** info.order;
    }
  }

  private key(pfn: number, order: number, mt: number): number {
    return (this.zoneIndex[pfn]! * 32 + order) * 8 + mt;
  }

  private add(pfn: number, order: number, mt: number, toTail: boolean): void {
    const k = this.key(pfn, order, mt);
    this.order[pfn] = order;
    this.listType[pfn] = mt;
    if (toTail) {
      const tail = this.tails.get(k) ?? NONE;
      this.prev[pfn] = tail;
      this.next[pfn] = NONE;
      if (tail === NONE) this.heads.set(k, pfn);
      else this.next[tail] = pfn;
      this.tails.set(k, pfn);
    } else {
      const head = this.heads.get(k) ?? NONE;
      this.next[pfn] = head;
      this.prev[pfn] = NONE;
      if (head === NONE) this.tails.set(k, pfn);
      else this.prev[head] = pfn;
      this.heads.set(k, pfn);
    }
  }

  private del(pfn: number): void {
    const k = this.key(pfn, this.order[pfn]!, this.listType[pfn]!);
    const next = this.next[pfn]!;
    const prev = this.prev[pfn]!;
    if (prev === NONE) this.heads.set(k, next);
    else this.next[prev] = next;
    if (next === NONE) this.tails.set(k, prev);
    else this.prev[next] = prev;
    this.order[pfn] = NONE;
    this.listType[pfn] = NONE;
  }

  private isFreeHead(pfn: number, order: number): boolean {
    return pfn >= 0 && pfn < this.order.length && this.order[pfn] === order;
  }

  /** The free block covering `pfn`, or -1. */
  private cover(pfn: number): number {
    for (let o = 0; o <= this.maxOrder; o++) {
      const head = pfn - (pfn % 2 ** o);
      if (this.order[head]! >= 0) return this.order[head]! >= o ? head : NONE;
    }
    return NONE;
  }

  /** The 6.1 list type (kernel enum) of the free block covering `pfn`, or -1. */
  listTypeAt(pfn: number): number {
    const head = this.cover(pfn);
    return head === NONE ? NONE : this.listType[head]!;
  }

  /** The order of the free block covering `pfn`, or -1. */
  orderAt(pfn: number): number {
    const head = this.cover(pfn);
    return head === NONE ? NONE : this.order[head]!;
  }

  /** __rmqueue_smallest(): the block 6.1 would take for `order` of type `mt` in the zone of `zonePfn`, or -1. */
  peek(zonePfn: number, order: number, mt: number): number {
    const z = this.zoneIndex[zonePfn]!;
    for (let o = order; o <= this.maxOrder; o++) {
      const head = this.heads.get((z * 32 + o) * 8 + mt) ?? NONE;
      if (head !== NONE) return head;
    }
    return NONE;
  }

  /** Takes [pfn, pfn + 2^order) off the lists; the halves go to the head of the block's list. False when not free. */
  claim(pfn: number, order: number): boolean {
    const head = this.cover(pfn);
    if (head === NONE || this.order[head]! < order) return false;
    let high = this.order[head]!;
    const mt = this.listType[head]!;
    this.del(head);
    let blk = head;
    while (high > order) {
      high--;
      const size = 2 ** high;
      if (pfn >= blk + size) {
        this.add(blk, high, mt, false);
        blk += size;
      } else {
        this.add(blk + size, high, mt, false);
      }
    }
    return true;
  }

  /** Whether a block of `mt` may merge at >= pageblock order with the buddy's pageblock (migratetype_is_mergeable()). */
  private mergeable(mt: number, buddyPfn: number): boolean {
    const buddyMt = this.kernelMtOf(this.sys.pageblockMigratetype(buddyPfn));
    return mt === buddyMt || (mt < 3 && buddyMt < 3);
  }

  /** __free_one_page() of [pfn, pfn + 2^order) onto `mt`'s lists (kernel enum; null: the pageblock's type). */
  free(pfn: number, order: number, mt: number | null): void {
    const type = mt ?? this.kernelMtOf(this.sys.pageblockMigratetype(pfn));
    while (order < this.maxOrder) {
      const buddy = pfn ^ (2 ** order);
      if (!this.isFreeHead(buddy, order) || this.zoneIndex[buddy] !== this.zoneIndex[pfn]) break;
      if (order >= this.sys.pageblockOrder && !this.mergeable(type, buddy)) break;
      this.del(buddy);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    let toTail = false;
    if (order < this.maxOrder - 1) {
      const higher = pfn - (pfn % 2 ** (order + 1));
      toTail = this.isFreeHead(higher ^ (2 ** (order + 1)), order + 1);
    }
    this.add(pfn, order, type, toTail);
  }

  /** move_freepages_block() of a traced claim: the free blocks of [start, end) to the tails of `mt`'s lists. */
  retype(start: number, end: number, mt: number): void {
    let pfn = start;
    while (pfn < end) {
      const head = this.cover(pfn);
      if (head === NONE) {
        pfn++;
        continue;
      }
      const order = this.order[head]!;
      this.del(head);
      this.add(head, order, mt, true);
      pfn = head + 2 ** order;
    }
  }
}
