/**
 * MovablePage: the owner of an in-use movable block (an anonymous mapping, a
 * page cache entry). Its pfn follows the page when migration moves it.
 *
 * With swap (createSystem's `swapBytes`), reclaim may swap an anonymous page
 * out: it then has no frame (`swapped`, `swapSlot`). A CPU access (`read`,
 * `write`, `touch`) or a pin (`pin`, `pinLongterm`: get_user_pages() faults the page in)
 * brings it back as do_swap_page() does, into a new frame allocated through the
 * slow path (which may reclaim; ENOMEM when nothing is found, the page staying
 * swapped out). `pfn` of a swapped-out page is EINVAL (reading the handle is no
 * access), `migrate` ENOENT (move_pages()'s "not present"), `pins` zero, and
 * `free` frees the swap slot. Each access also sets the pte's young bit, which
 * reclaim's folio_referenced() tests.
 */
import { decodePagePins } from "../core/abi.ts";
import { DmaSimError, ERRNO, errnoName } from "../core/errors.ts";
import type { Engine } from "../core/backend.ts";

/** @internal What a MovablePage needs of its machine (Mm provides it). */
export interface MovablePageHost {
  readonly engine: Engine;
  readBlock(pfn: number, order: number, offset: number, length: number | undefined, where: string): Uint8Array;
  writeBlock(pfn: number, order: number, bytes: Uint8Array, offset: number, where: string): void;
  freePages(pfn: number, order: number): void;
  /** Frees a swapped-out page's slot and its owner (free_swap_and_cache_nr()). */
  freeSwappedPage(id: number): void;
  checkBlockAccess(
    order: number,
    offset: number,
    length: number | undefined,
    bytes: Uint8Array | undefined,
    where: string,
  ): void;
  /** Whether the machine has swap (accesses then reach the engine). */
  readonly swapEnabled: boolean;
}

export class MovablePage {
  /** False once the block is freed: the handle is dead and its methods throw EINVAL. */
  alive = true;

  /** @internal */
  constructor(
    private readonly sys: MovablePageHost,
    /** Owner id, stable for the life of the allocation. */
    readonly id: number,
    /** Order of the block. */
    readonly order: number,
  ) {}

  private live(where: string): void {
    if (!this.alive) throw new DmaSimError("EINVAL", `MovablePage.${where}: the page was freed`);
  }

  /** Current head pfn (page_to_pfn()); changes when the page migrates. */
  get pfn(): number {
    this.live("pfn");
    const pfn = this.sys.engine.ownerPfn(this.id);
    if (pfn < 0) {
      if (this.swapped)
        throw new DmaSimError("EINVAL", "MovablePage.pfn: the page is swapped out (read, write or pin faults it in)");
      // A page cache page that reclaim, truncation or drop_caches removed is gone.
      throw new DmaSimError("EINVAL", "MovablePage.pfn: the page is no longer cached");
    }
    return pfn;
  }

  /** Whether reclaim swapped the page out (it has no frame until touched). */
  get swapped(): boolean {
    return this.swapSlot !== null;
  }

  /** The swap slot holding a swapped-out page (slot 0 is the swap header, so from 1), else null. */
  get swapSlot(): number | null {
    this.live("swapSlot");
    if (!this.sys.swapEnabled) return null;
    const slot = this.sys.engine.ownerSwapSlotOf(this.id);
    return slot < 0 ? null : slot;
  }

  /** Short-term pins (transient references such as I/O in flight) and long-term pins (FOLL_LONGTERM). */
  get pins(): { shortTerm: number; longTerm: number } {
    if (this.swapped) return { shortTerm: 0, longTerm: 0 };
    const { shortPins, longPins } = decodePagePins(this.sys.engine.pagePins(this.pfn));
    return { shortTerm: shortPins, longTerm: longPins };
  }

  /** get_user_pages(): a transient reference; migration of the page fails while it is held. Returns the pfn. */
  pin(): number {
    return this.pinAs("pin", false);
  }

  /** pin_user_pages(FOLL_LONGTERM): moves the page out of CMA first, then pins it. Returns the (new) pfn. */
  pinLongterm(): number {
    return this.pinAs("pinLongterm", true);
  }

  /** put_page() for a short-term pin. */
  unpin(): void {
    this.unpinAs("unpin", false);
  }

  /** unpin_user_page() for a long-term pin. */
  unpinLongterm(): void {
    this.unpinAs("unpinLongterm", true);
  }

  /** migrate_pages() of this block alone: moves it to another free frame. Returns the new pfn. */
  migrate(): number {
    this.live("migrate");
    if (this.swapped) throw new DmaSimError("ENOENT", "MovablePage.migrate: the page is swapped out (not present)");
    const ret = this.sys.engine.migrateOwner(this.id);
    if (ret < 0) throw DmaSimError.fromErrno(ret, `MovablePage.migrate: ${errnoName(ret)} (pinned, or no free frame)`);
    return ret;
  }

  /** Reads `length` bytes at byte `offset` of the block (a swapped-out page faults in first). */
  read(offset = 0, length?: number): Uint8Array {
    this.live("read");
    this.sys.checkBlockAccess(this.order, offset, length, undefined, "MovablePage.read");
    return this.sys.readBlock(this.faultIn("read"), this.order, offset, length, "MovablePage.read");
  }

  /** Writes bytes at byte `offset` of the block (a swapped-out page faults in first). */
  write(bytes: Uint8Array, offset = 0): void {
    this.live("write");
    this.sys.checkBlockAccess(this.order, offset, undefined, bytes, "MovablePage.write");
    this.sys.writeBlock(this.faultIn("write"), this.order, bytes, offset, "MovablePage.write");
  }

  /** Frees the block (the last put_page()); a swapped-out page frees its swap slot. */
  free(): void {
    this.live("free");
    if (this.swapped) this.sys.freeSwappedPage(this.id);
    else this.sys.freePages(this.pfn, this.order);
  }

  /**
   * A CPU access without data (a load through the mapping): with swap, a
   * swapped-out page faults in (ENOMEM when no frame is found, the page staying
   * out) and the pte turns young. Returns the pfn. Without swap it is `pfn`.
   */
  touch(): number {
    this.live("touch");
    return this.faultIn("touch");
  }

  /** touch() for a method that checked its arguments. */
  private faultIn(where: string): number {
    if (!this.sys.swapEnabled) return this.pfn;
    const ret = this.sys.engine.anonFault(this.id);
    if (ret === -ERRNO.ENOMEM)
      throw new DmaSimError("ENOMEM", `MovablePage.${where}: no free frame to fault the swapped-out page into`);
    if (ret < 0) return this.pfn; // a page cache page that is gone: pfn says so
    return ret;
  }

  private pinAs(where: string, longterm: boolean): number {
    this.live(where);
    this.faultIn(where);
    const ret = this.sys.engine.pin(this.id, longterm ? 1 : 0);
    if (ret < 0) throw DmaSimError.fromErrno(ret, `MovablePage.${where}: ${errnoName(ret)}`);
    return ret;
  }

  private unpinAs(where: string, longterm: boolean): void {
    this.live(where);
    const ret = this.sys.engine.unpin(this.id, longterm ? 1 : 0);
    if (ret < 0)
      throw DmaSimError.fromErrno(
        ret,
        `MovablePage.${where}: the page holds no ${longterm ? "long-term" : "short-term"} pin`,
      );
  }
}
