/**
 * MovablePage: the owner of an in-use movable block (an anonymous mapping, a
 * page cache entry). Its pfn follows the page when migration moves it.
 */
import { decodePagePins } from "../core/abi.ts";
import { DmaSimError, errnoName } from "../core/errors.ts";
import type { Engine } from "../core/backend.ts";

/** @internal What a MovablePage needs of its machine (Mm provides it). */
export interface MovablePageHost {
  readonly engine: Engine;
  readBlock(pfn: number, order: number, offset: number, length: number | undefined, where: string): Uint8Array;
  writeBlock(pfn: number, order: number, bytes: Uint8Array, offset: number, where: string): void;
  freePages(pfn: number, order: number): void;
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
    // A page cache page that reclaim, truncation or drop_caches removed is gone.
    if (pfn < 0) throw new DmaSimError("EINVAL", "MovablePage.pfn: the page is no longer cached");
    return pfn;
  }

  /** Short-term pins (transient references such as I/O in flight) and long-term pins (FOLL_LONGTERM). */
  get pins(): { shortTerm: number; longTerm: number } {
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
    const ret = this.sys.engine.migrateOwner(this.id);
    if (ret < 0) throw DmaSimError.fromErrno(ret, `MovablePage.migrate: ${errnoName(ret)} (pinned, or no free frame)`);
    return ret;
  }

  /** Reads `length` bytes at byte `offset` of the block. */
  read(offset = 0, length?: number): Uint8Array {
    this.live("read");
    return this.sys.readBlock(this.pfn, this.order, offset, length, "MovablePage.read");
  }

  /** Writes bytes at byte `offset` of the block. */
  write(bytes: Uint8Array, offset = 0): void {
    this.live("write");
    this.sys.writeBlock(this.pfn, this.order, bytes, offset, "MovablePage.write");
  }

  /** Frees the block (the last put_page()). */
  free(): void {
    this.live("free");
    this.sys.freePages(this.pfn, this.order);
  }

  private pinAs(where: string, longterm: boolean): number {
    this.live(where);
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
