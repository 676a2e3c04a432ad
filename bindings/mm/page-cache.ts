/**
 * The page cache (mm/filemap.c of Linux 6.12, reduced): files whose pages are
 * movable order-0 folios on the file LRU lists (assembly/lru.ts), reclaimed by
 * kswapd and direct reclaim (assembly/vmscan.ts), dropped by drop_caches.
 *
 *   const f = sys.pageCache.createFile("app.db");
 *   f.add(0, 256);            // 256 clean pages at indexes 0..255 (filemap_add_folio)
 *   f.read(0, 16);            // hits mark accessed: a second access activates
 *   f.write(300, 4);          // 4 dirty pages
 *   f.writeback();            // dirty → writeback → clean (at once; { wait: false }: at the next advanceTime())
 *   f.truncate(128);          // indexes 128.. removed and freed
 *   f.delete();
 *
 * Every range operation is one engine call. An allocation that fails (after
 * reclaim and compaction) is ENOMEM with the pages that call added removed
 * again; bad arguments are EINVAL with nothing changed.
 */
import { DmaSimError, errnoName } from "../core/errors.ts";
import { optionalBoolean, requireInt, requireObject } from "../core/validate.ts";
import type { Engine } from "../core/backend.ts";
import { MovablePage, type MovablePageHost } from "./page.ts";

/** The highest page index (pgoff_t kept to 31 bits here). */
export const MAX_PAGE_INDEX = 2 ** 31 - 2;

/** LRU list names (enum lru_list; no unevictable list is modelled). */
export type LruName = "inactive_anon" | "active_anon" | "inactive_file" | "active_file";
const LRU_NAMES: readonly LruName[] = ["inactive_anon", "active_anon", "inactive_file", "active_file"];

/** A cached page's folio flags. */
export interface CachedPageState {
  /** The LRU list it is on. */
  lru: LruName;
  /** PG_referenced: accessed once since it was last scanned or activated. */
  referenced: boolean;
  dirty: boolean;
  writeback: boolean;
  /** PG_reclaim: reclaim met it dirty or under writeback (it rotates to the inactive tail when written back). */
  reclaim: boolean;
  /** PG_workingset: it was deactivated from the active list. */
  workingset: boolean;
  /** The page's current pfn (it migrates with compaction and CMA). */
  pfn: number;
}

/** Page counts of the LRU lists and the page cache (node totals, or one zone's). */
export interface LruStats {
  inactiveAnon: number;
  activeAnon: number;
  inactiveFile: number;
  activeFile: number;
  /** NR_FILE_PAGES (node only; a zone's filePages is its file LRU pages). */
  filePages: number;
  /** NR_FILE_DIRTY */
  dirty: number;
  /** NR_WRITEBACK */
  writeback: number;
}

/** @internal What the page cache needs of its machine. */
export interface PageCacheHost extends MovablePageHost {
  readonly engine: Engine;
}

function check(ret: number, where: string): number {
  if (ret < 0) throw DmaSimError.fromErrno(ret, `${where}: ${errnoName(ret)}`);
  return ret;
}

/** One file's cached pages (an inode's address_space). */
export class CachedFile {
  /** @internal */
  constructor(
    private readonly cache: PageCache,
    /** The engine's file id. */
    readonly id: number,
    readonly name: string,
  ) {}

  private get engine(): Engine {
    return this.cache.host.engine;
  }

  private live(where: string): void {
    if (!this.alive) throw new DmaSimError("EINVAL", `${where}: file ${JSON.stringify(this.name)} was deleted`);
  }

  /** False once deleted. */
  get alive(): boolean {
    return this.cache.isLive(this);
  }

  /** mapping->nrpages: pages cached. */
  get nrPages(): number {
    return this.alive ? this.engine.pageCacheFilePages(this.id) : 0;
  }

  private range(where: string, index: unknown, count: unknown): [number, number] {
    this.live(where);
    const i = requireInt(where, "index", index, 0, MAX_PAGE_INDEX);
    const n = requireInt(where, "count", count, 1, MAX_PAGE_INDEX + 1 - i);
    return [i, n];
  }

  /**
   * filemap_add_folio() of `count` new pages from `index` (on the inactive
   * file list), clean or `{ dirty: true }`. EEXIST when one is cached already.
   */
  add(index: number, count = 1, options?: { dirty?: boolean }): void {
    const where = "CachedFile.add";
    const [i, n] = this.range(where, index, count);
    const dirty =
      options === undefined
        ? false
        : optionalBoolean(
            where,
            "options.dirty",
            (requireObject(where, "options", options) as { dirty?: boolean }).dirty,
            false,
          );
    check(this.engine.pageCacheAdd(this.id, i, n, dirty), where);
  }

  /**
   * A read of `count` pages from `index`: each page is marked accessed
   * (folio_mark_accessed(): first access PG_referenced, second activates),
   * except the first when the file's previous read ended in it (filemap_read()'s
   * pos_same_folio() against ra->prev_pos: the file is one open file as well as
   * its inode); a missing page is read in (added clean) first. Returns the hits.
   */
  read(index: number, count = 1): number {
    const [i, n] = this.range("CachedFile.read", index, count);
    return check(this.engine.pageCacheRead(this.id, i, n), "CachedFile.read");
  }

  /** A buffered write of `count` pages: cached pages are dirtied, missing ones added dirty (not marked accessed). Returns the hits. */
  write(index: number, count = 1): number {
    const [i, n] = this.range("CachedFile.write", index, count);
    return check(this.engine.pageCacheWrite(this.id, i, n), "CachedFile.write");
  }

  /**
   * Writes back the dirty pages among `count` from `index` (default: the whole
   * file). `{ wait: true }` (default) completes the I/O at once; `{ wait: false }`
   * leaves them under writeback until the next sys.advanceTime(). Returns the pages written.
   */
  writeback(index = 0, count = MAX_PAGE_INDEX + 1 - index, options?: { wait?: boolean }): number {
    const where = "CachedFile.writeback";
    const [i, n] = this.range(where, index, count);
    const wait =
      options === undefined
        ? true
        : optionalBoolean(
            where,
            "options.wait",
            (requireObject(where, "options", options) as { wait?: boolean }).wait,
            true,
          );
    return check(this.engine.pageCacheWriteback(this.id, i, n, wait), where);
  }

  /** truncate_inode_pages_range() from `fromIndex`: pages removed and freed in index order. EBUSY while one is pinned. Returns the pages removed. */
  truncate(fromIndex = 0): number {
    this.live("CachedFile.truncate");
    const i = requireInt("CachedFile.truncate", "fromIndex", fromIndex, 0, MAX_PAGE_INDEX);
    return check(this.engine.pageCacheTruncate(this.id, i), "CachedFile.truncate");
  }

  /** Deletes the file: every page removed and freed. EBUSY while one is pinned. Returns the pages removed. */
  delete(): number {
    this.live("CachedFile.delete");
    const n = check(this.engine.pageCacheDeleteFile(this.id), "CachedFile.delete");
    this.cache.forget(this);
    return n;
  }

  /** Whether `index` is cached. */
  has(index: number): boolean {
    this.live("CachedFile.has");
    const i = requireInt("CachedFile.has", "index", index, 0, MAX_PAGE_INDEX);
    return this.engine.pageCacheFind(this.id, i) >= 0;
  }

  /** The cached page at `index` as a MovablePage (pin it, migrate it, read its bytes), or null. */
  page(index: number): MovablePage | null {
    this.live("CachedFile.page");
    const i = requireInt("CachedFile.page", "index", index, 0, MAX_PAGE_INDEX);
    const id = this.engine.pageCacheFind(this.id, i);
    return id < 0 ? null : new MovablePage(this.cache.host, id, 0);
  }

  /** The cached page's folio flags and pfn, or null when `index` is not cached. */
  pageState(index: number): CachedPageState | null {
    this.live("CachedFile.pageState");
    const i = requireInt("CachedFile.pageState", "index", index, 0, MAX_PAGE_INDEX);
    const id = this.engine.pageCacheFind(this.id, i);
    if (id < 0) return null;
    const st = this.engine.folioState(id);
    return {
      lru: LRU_NAMES[st & 7]!,
      referenced: (st & 8) !== 0,
      dirty: (st & 16) !== 0,
      writeback: (st & 32) !== 0,
      reclaim: (st & 64) !== 0,
      workingset: (st & 128) !== 0,
      pfn: this.engine.ownerPfn(id),
    };
  }
}

/** sys.pageCache: files, drop_caches, the LRU counters. */
export class PageCache {
  private readonly files = new Map<number, CachedFile>();

  /** @internal */
  constructor(readonly host: PageCacheHost) {}

  /** Creates an empty file. */
  createFile(name: string): CachedFile {
    if (typeof name !== "string") throw new DmaSimError("EINVAL", "pageCache.createFile: name must be a string");
    const f = new CachedFile(this, this.host.engine.pageCacheCreateFile(), name);
    this.files.set(f.id, f);
    return f;
  }

  /** Live files, oldest first. */
  get list(): readonly CachedFile[] {
    return [...this.files.values()];
  }

  /** @internal */
  isLive(f: CachedFile): boolean {
    return this.files.get(f.id) === f;
  }

  /** @internal */
  forget(f: CachedFile): void {
    this.files.delete(f.id);
  }

  /**
   * Writing `mode` to /proc/sys/vm/drop_caches: 1 drops clean, unpinned page
   * cache (dirty and writeback pages stay), 2 slab (nothing here), 3 both; 4
   * is the quiet bit. EINVAL outside 1..4. Returns the pages dropped.
   */
  dropCaches(mode = 1): number {
    const m = requireInt("pageCache.dropCaches", "mode", mode, 1, 4);
    return check(this.host.engine.dropCaches(m), "pageCache.dropCaches");
  }

  /** The LRU and page cache counters of the node, or of zone index `zone` (ZONE_*). */
  lruStats(zone = -1): LruStats {
    const e = this.host.engine;
    const z = requireInt("pageCache.lruStats", "zone", zone, -1, 4);
    return {
      inactiveAnon: e.lruPages(z, 0),
      activeAnon: e.lruPages(z, 1),
      inactiveFile: e.lruPages(z, 2),
      activeFile: e.lruPages(z, 3),
      filePages: z === -1 ? e.pageCacheStat(2, -1) : e.lruPages(z, 2) + e.lruPages(z, 3),
      dirty: e.pageCacheStat(0, z),
      writeback: e.pageCacheStat(1, z),
    };
  }
}
