/**
 * dma-buf (drivers/dma-buf/dma-buf.c): a buffer one driver exports and others
 * import, shared through a file. The exporter supplies the ops; importers
 * attach their devices and map the buffer into each device's address space;
 * the CPU gets at it through begin/end_cpu_access, kmap, vmap and mmap.
 *
 * State lives in TS objects (this layer is not a hot path), but every page an
 * exporter uses comes from the System's allocators and every device mapping
 * goes through Device's DMA API, so sys.check() and sys.stateHash() keep
 * their meaning.
 *
 * Where the kernel would WARN or BUG on a driver's misuse (releasing a buffer
 * still attached or vmapped, detaching with mappings outstanding), dmasim
 * refuses with EBUSY or EINVAL and changes nothing.
 */
import type { Device, DmaDirection } from "../dma/device.ts";
import { pfnUp } from "../core/units.ts";
import { DmaSimError } from "../core/errors.ts";
import { requireBytes, requireInt, requireName, requireObject, show } from "../core/validate.ts";
import type { MovablePage } from "../mm/page.ts";
import type { SgTable } from "../lib/scatterlist.ts";
import type { StateHasher } from "../core/hash.ts";
import type { Mm } from "../mm/mm.ts";
import { DMA_BUF_NAME_LEN } from "../uapi/linux/dma-buf.ts";
import { FMODE_LSEEK, FMODE_OPENED, O_ACCMODE, O_NONBLOCK, openFmode } from "../uapi/linux/fcntl.ts";

// ---- exporter and importer interfaces ---------------------------------------------------------

/**
 * struct dma_buf_ops. Operations signal errors by throwing a DmaSimError with
 * the kernel's code; mapDmaBuf() may also return null (the kernel's NULL:
 * ENOMEM).
 */
export interface DmaBufOps {
  /** cache_sgt_mapping: the core keeps the first mapping of each attachment and hands it out again. */
  cacheSgtMapping?: boolean;
  /** attach(): may refuse a device (EBUSY when the backing cannot serve it and cannot move). */
  attach?(dmabuf: DmaBuf, attach: DmaBufAttachment): void;
  /** detach() */
  detach?(dmabuf: DmaBuf, attach: DmaBufAttachment): void;
  /** pin(): the backing must not move until unpin(). Set both or neither. */
  pin?(attach: DmaBufAttachment): void;
  /** unpin() */
  unpin?(attach: DmaBufAttachment): void;
  /** map_dma_buf(): a table mapped into attach.dev's address space. Required. */
  mapDmaBuf(attach: DmaBufAttachment, dir: DmaDirection): SgTable | null;
  /** unmap_dma_buf(). Required. */
  unmapDmaBuf(attach: DmaBufAttachment, sgt: SgTable, dir: DmaDirection): void;
  /** release(): the last reference is gone; free the backing. Required. */
  release(dmabuf: DmaBuf): void;
  /** begin_cpu_access() */
  beginCpuAccess?(dmabuf: DmaBuf, dir: DmaDirection): void;
  /** end_cpu_access() */
  endCpuAccess?(dmabuf: DmaBuf, dir: DmaDirection): void;
  /** mmap(): sets up `vma` (insert pages now, or set vma.fault to fault them in). */
  mmap?(dmabuf: DmaBuf, vma: VmArea): void;
  /** vmap(): a kernel mapping of the whole buffer. Called once however many vmaps are held. */
  vmap?(dmabuf: DmaBuf): DmaBufMap;
  /** vunmap(): the last vunmap. */
  vunmap?(dmabuf: DmaBuf, map: DmaBufMap): void;
  /** map() of kernels before v5.6 (dma_buf_kmap()): the pfn of page `pageNum`. */
  kmap?(dmabuf: DmaBuf, pageNum: number): number;
  /** unmap() of kernels before v5.6 (dma_buf_kunmap()). */
  kunmap?(dmabuf: DmaBuf, pageNum: number): void;
  /** dmasim: the exporter's invariants for sys.check(); "" when they hold. */
  check?(dmabuf: DmaBuf): string;
  /** dmasim: feeds the exporter's own state (its backing, its counters of moves) to sys.stateHash(). */
  hash?(dmabuf: DmaBuf, h: StateHasher): void;
}

/** struct dma_buf_attach_ops: what makes an importer dynamic. */
export interface DmaBufAttachOps {
  /** allow_peer2peer */
  allowPeer2peer?: boolean;
  /**
   * move_notify(): the exporter is about to move the backing. The importer
   * must drop its mappings (unmapAttachment()) and map again when it next
   * needs the buffer. Mappings still held when it returns are unmapped by
   * the exporter.
   */
  moveNotify(attach: DmaBufAttachment): void;
}

/** struct dma_buf_export_info */
export interface DmaBufExportInfo {
  /** exp_name, shown in bufinfo. Default "dmasim" (the kernel's default is the module name). */
  expName?: string;
  /** Bytes. */
  size: number;
  ops: DmaBufOps;
  /** File flags: the access mode (and O_NONBLOCK) of the dma-buf file. Default 0 (O_RDONLY), as DEFINE_DMA_BUF_EXPORT_INFO leaves it. */
  flags?: number;
  /** The exporter's private data; required. */
  priv: unknown;
}

const DIRS: readonly DmaDirection[] = ["bidirectional", "to_device", "from_device"];

function dirArg(where: string, dir: unknown): DmaDirection {
  if (!DIRS.includes(dir as DmaDirection)) {
    throw new DmaSimError(
      "EINVAL",
      `${where}: direction must be "bidirectional", "to_device" or "from_device", got ${show(dir)}`,
    );
  }
  return dir as DmaDirection;
}

// ---- physical runs and kernel mappings -----------------------------------------------------------

/** A physically contiguous run of pages. */
export interface PageRun {
  pfn: number;
  pages: number;
}

/** The physical ranges covering [offset, offset + length) of a buffer laid out as `runs`. */
export function physRanges(
  pageSize: number,
  runs: readonly PageRun[],
  offset: number,
  length: number,
): { phys: number; len: number }[] {
  const out: { phys: number; len: number }[] = [];
  let skip = offset;
  let left = length;
  for (const r of runs) {
    if (left === 0) break;
    const bytes = r.pages * pageSize;
    if (skip >= bytes) {
      skip -= bytes;
      continue;
    }
    const len = Math.min(bytes - skip, left);
    out.push({ phys: r.pfn * pageSize + skip, len });
    left -= len;
    skip = 0;
  }
  return out;
}

/** The pfn of page `index` of a buffer laid out as `runs`, or -1 past its end. */
export function pfnAt(runs: readonly PageRun[], index: number): number {
  let i = index;
  for (const r of runs) {
    if (i < r.pages) return r.pfn + i;
    i -= r.pages;
  }
  return -1;
}

/**
 * struct iosys_map: a kernel virtual mapping (vmap() of the buffer, or kmap()
 * of one page). CPU loads and stores go through the CPU cache model when on.
 */
export class DmaBufMap {
  /** @internal False once vunmap()/kunmap() dropped it. */
  valid = true;

  constructor(
    private readonly sys: Mm,
    /** The pages mapped, in order. */
    readonly runs: readonly PageRun[],
    /** Bytes mapped. */
    readonly size: number,
  ) {}

  private ranges(where: string, offset: number, length: number): { phys: number; len: number }[] {
    if (!this.valid) throw new DmaSimError("EFAULT", `DmaBufMap.${where}: the mapping was dropped`);
    if (!this.sys.storeContents)
      throw new DmaSimError("EINVAL", `DmaBufMap.${where}: this machine keeps no page contents`);
    requireInt(`DmaBufMap.${where}`, "offset", offset, 0, this.size);
    requireInt(`DmaBufMap.${where}`, "length", length, 0, this.size - offset);
    return physRanges(this.sys.pageSize, this.runs, offset, length);
  }

  /** A CPU load of `length` bytes at `offset`. */
  read(offset = 0, length?: number): Uint8Array {
    const len = length ?? this.size - offset;
    const out = new Uint8Array(len);
    let at = 0;
    for (const r of this.ranges("read", offset, len)) {
      out.set(this.sys.cpuRead(r.phys, r.len), at);
      at += r.len;
    }
    return out;
  }

  /** A CPU store of `bytes` at `offset`. */
  write(offset: number, bytes: Uint8Array): void {
    requireBytes("DmaBufMap.write", "bytes", bytes);
    let at = 0;
    for (const r of this.ranges("write", offset, bytes.length)) {
      this.sys.cpuWrite(r.phys, bytes.subarray(at, at + r.len));
      at += r.len;
    }
  }
}

/** A kernel memcpy of whole runs (migration): through the CPU cache, not a CPU access the DMA-API checker flags. */
export function copyRuns(sys: Mm, from: readonly PageRun[], to: readonly PageRun[], bytes: number): void {
  if (!sys.storeContents) return;
  const src = physRanges(sys.pageSize, from, 0, bytes);
  let offset = 0;
  for (const s of src) {
    const data = sys.kernelRead(s.phys, s.len);
    let at = 0;
    for (const d of physRanges(sys.pageSize, to, offset, s.len)) {
      sys.kernelWrite(d.phys, data.subarray(at, at + d.len));
      at += d.len;
    }
    offset += s.len;
  }
}

/** __GFP_ZERO / memset(): zeroes the pages; stale cached lines go, so no earlier owner's bytes survive. */
export function zeroRuns(sys: Mm, runs: readonly PageRun[]): void {
  for (const r of runs) sys.kernelZero(r.pfn * sys.pageSize, r.pages * sys.pageSize);
}

// ---- user mappings --------------------------------------------------------------------------------

/** What a vma fault handler returns: a pfn, or null for VM_FAULT_SIGBUS. */
export type VmFault = (vma: VmArea, pgoff: number) => number | null;

/**
 * struct vm_area_struct of a mapping of a dma-buf: the exporter's mmap() either
 * inserts pages at once (remap_pfn_range()) or sets `fault` so that pages are
 * faulted in on first touch (vm_ops->fault). The exporter can zap the page
 * table entries (unmap_mapping_range()); the next touch faults again.
 */
export class VmArea {
  /** vm_ops->fault, or null: a missing page is then a SIGBUS. */
  fault: VmFault | null = null;
  /** vm_private_data */
  privateData: unknown = null;
  /** Page faults served by `fault`. */
  faults = 0;
  /** unmap_mapping_range() calls that reached this mapping. */
  zaps = 0;
  /** @internal Page table: page index in the mapping → pfn. */
  readonly ptes = new Map<number, number>();
  /** @internal Private (MAP_PRIVATE) copies made on write: page index → anonymous page. */
  readonly cow = new Map<number, MovablePage>();
  /** @internal */
  live = true;
  /**
   * @internal Charges (bytes > 0) or uncharges (bytes < 0) the private copies
   * to the mapping's process, as anonymous memory is charged to its memcg; a
   * charge over the limit throws and the fault fails (VM_FAULT_OOM).
   */
  chargeAnon: ((bytes: number) => void) | null = null;

  /** @internal */
  constructor(
    private readonly sys: Mm,
    /** The buffer mapped. */
    readonly dmabuf: DmaBuf,
    /** vm_pgoff: the first page of the buffer mapped. */
    readonly pgoff: number,
    /** vma_pages() */
    readonly pages: number,
    /** VM_SHARED: MAP_SHARED (else a private, copy-on-write mapping). */
    readonly shared: boolean,
    /** VM_WRITE */
    readonly writable: boolean,
  ) {}

  /** remap_pfn_range() / vmf_insert_pfn(): maps page `index` of the mapping to `pfn`. */
  insertPfn(index: number, pfn: number): void {
    requireInt("VmArea.insertPfn", "index", index, 0, this.pages - 1);
    requireInt("VmArea.insertPfn", "pfn", pfn, 0, this.sys.nrPages - 1);
    this.ptes.set(index, pfn);
  }

  /** @internal Its state for sys.stateHash(): the page table and the private copies, by page index. */
  hashState(h: StateHasher): void {
    h.num(this.pgoff)
      .num(this.pages)
      .bool(this.shared)
      .bool(this.writable)
      .bool(this.fault !== null);
    h.list(sortedEntries(this.ptes), ([index, pfn]) => h.num(index).num(pfn));
    h.list(sortedEntries(this.cow), ([index, page]) => h.num(index).num(page.id));
  }

  /** Pages present in the page table (file pages and private copies). */
  get residentPages(): number {
    const set = new Set([...this.ptes.keys(), ...this.cow.keys()]);
    return set.size;
  }

  /** @internal handle_mm_fault(): the physical address of page `index`, faulting it in (and copying it for a private write). */
  pagePhys(index: number, write: boolean): number {
    const anon = this.cow.get(index);
    // A private copy is anonymous memory: with swap it may have to fault back in.
    if (anon) return anon.touch() * this.sys.pageSize;
    let pfn = this.ptes.get(index);
    if (pfn === undefined) {
      const got = this.fault ? this.fault(this, this.pgoff + index) : null;
      if (got === null || got === undefined) {
        throw new DmaSimError("EFAULT", `SIGBUS: page ${this.pgoff + index} of the dma-buf cannot be faulted in`);
      }
      this.faults++;
      this.dmabuf.stats.faults++;
      this.ptes.set(index, got);
      pfn = got;
    }
    if (write && !this.shared) {
      // do_wp_page() on a private mapping: an anonymous copy takes the write,
      // charged first (mem_cgroup_charge() comes before the copy is mapped).
      this.chargeAnon?.(this.sys.pageSize);
      const page = this.sys.allocMovable(0);
      if (!page) {
        this.chargeAnon?.(-this.sys.pageSize);
        throw new DmaSimError("ENOMEM", "VM_FAULT_OOM: no page for the private copy");
      }
      if (this.sys.storeContents) page.write(this.sys.cpuRead(pfn * this.sys.pageSize, this.sys.pageSize));
      this.cow.set(index, page);
      return page.pfn * this.sys.pageSize;
    }
    return pfn * this.sys.pageSize;
  }

  /** @internal zap_page_range() of the file pages (private copies stay, as with even_cows = 0). */
  zap(): void {
    this.ptes.clear();
    this.zaps++;
  }

  /** @internal munmap(): drops every page and the private copies. */
  close(): void {
    this.ptes.clear();
    for (const page of this.cow.values()) page.free();
    this.chargeAnon?.(-this.cow.size * this.sys.pageSize);
    this.cow.clear();
    this.live = false;
  }
}

// ---- attachments ----------------------------------------------------------------------------------

/** struct dma_buf_attachment */
export class DmaBufAttachment {
  /** attach->priv: the exporter's data. */
  priv: unknown = null;
  /** attach->sgt: the cached mapping (cache_sgt_mapping, or a static importer of a dynamic exporter). */
  sgt: SgTable | null = null;
  /** attach->dir: the cached mapping's direction. */
  dir: DmaDirection | null = null;
  /** peer2peer */
  readonly peer2peer: boolean;
  /** @internal Tables handed out by mapAttachment() and not yet unmapped (the cached one excluded). */
  readonly mappings = new Map<SgTable, DmaDirection>();
  /** @internal dma_buf_pin() calls not yet undone. */
  pins = 0;
  /** @internal */
  detached = false;

  /** @internal */
  constructor(
    /** The buffer. */
    readonly dmabuf: DmaBuf,
    /** The importing device. */
    readonly dev: Device,
    /** importer_ops: set for a dynamic importer. */
    readonly importerOps: DmaBufAttachOps | null,
    /** importer_priv */
    readonly importerPriv: unknown,
  ) {
    this.peer2peer = importerOps?.allowPeer2peer ?? false;
  }

  /** dma_buf_attachment_is_dynamic() */
  get isDynamic(): boolean {
    return this.importerOps !== null;
  }

  /** Tables mapped for the importer: the cached one and those handed out. */
  get mappedTables(): number {
    return this.mappings.size + (this.sgt ? 1 : 0);
  }

  /** @internal Its state for sys.stateHash(). */
  hashState(h: StateHasher): void {
    h.str(this.dev.name)
      .bool(this.isDynamic)
      .bool(this.peer2peer)
      .num(this.pins)
      .str(this.dir ?? "");
    hashSgTable(h, this.sgt);
    h.list(this.mappings, ([sgt, dir]) => {
      hashSgTable(h, sgt);
      h.str(dir);
    });
  }
}

// ---- the registry (db_list) ------------------------------------------------------------------------

interface DmaBufState {
  /** db_list: newest first (list_add()). */
  list: DmaBuf[];
  /** dma_buf_getfile()'s dmabuf_inode counter: the first buffer gets inode 1. */
  lastIno: number;
  /** The devices of the machine (an attach names one of them). */
  devices: readonly Device[];
  /** Called after each release (accounting). */
  onRelease: ((dmabuf: DmaBuf) => void)[];
}

const STATES = new WeakMap<Mm, DmaBufState>();

/** @internal The dma-buf state of a machine (registerDmaBuf() creates it at boot). */
export function dmaBufState(sys: Mm): DmaBufState {
  const st = STATES.get(sys);
  if (!st) throw new DmaSimError("ENODEV", "dma-buf: this machine has no dma-buf layer (createSystem() registers it)");
  return st;
}

/** Map entries in ascending key order, for a canonical hash. */
function sortedEntries<V>(map: ReadonlyMap<number, V>): [number, V][] {
  return [...map].sort((a, b) => a[0] - b[0]);
}

/** A mapped table: its entries and, once mapped, their DMA segments. */
function hashSgTable(h: StateHasher, sgt: SgTable | null): void {
  if (!sgt) {
    h.word(-1);
    return;
  }
  h.num(sgt.nents).num(sgt.origNents).bool(sgt.ended);
  h.list(sgt.entries, (e) =>
    h
      .num(e.pfn)
      .num(e.offset)
      .num(e.length)
      .num(e.dmaAddress ?? -1)
      .num(e.dmaLength ?? -1),
  );
}

/** @internal Boot: the dma-buf layer of a machine, with its debugfs file and invariants. */
export function registerDmaBuf(sys: Mm, dma: { readonly devices: readonly Device[] }): void {
  STATES.set(sys, { list: [], lastIno: 0, devices: dma.devices, onRelease: [] });
  sys.registry.add({
    name: "dma-buf",
    readFile: (path) => (path === "/sys/kernel/debug/dma_buf/bufinfo" ? formatBufinfo(sys) : undefined),
    check: () => dmaBufCheck(sys),
    hash(h) {
      const st = dmaBufState(sys);
      // Nothing exported yet: nothing to feed (the machine hashes as its engine).
      if (st.lastIno === 0) return;
      h.num(st.lastIno);
      h.list(st.list, (b) => b.hashState(h));
    },
  });
}

/** Live dma-bufs of `sys`, newest first, as db_list holds them. */
export function dmaBufList(sys: Mm): readonly DmaBuf[] {
  return STATES.get(sys)?.list.slice() ?? [];
}

// ---- the buffer ---------------------------------------------------------------------------------------

/** Which kind of reference holds a dma-buf's file. */
export type FileRef = "fd" | "vma" | "kernel";

/** struct dma_buf with its struct file. */
export class DmaBuf {
  /** exp_name */
  readonly expName: string;
  /** Bytes. */
  readonly size: number;
  readonly ops: DmaBufOps;
  /** The exporter's private data. */
  readonly priv: unknown;
  /** The inode number (unique per machine, from 1, as the kernel's dmabuf_inode counter). */
  readonly ino: number;
  /** f_flags of the file: the access mode and O_NONBLOCK of the export flags. */
  readonly fFlags: number;
  /**
   * f_mode of the file: FMODE_READ/WRITE by the access mode, FMODE_LSEEK,
   * FMODE_OPENED, as v6.12 prints it (v6.14 adds FMODE_NONOTIFY to pseudo files).
   */
  readonly fMode: number;
  /** Counters: page faults and zaps of user mappings. */
  readonly stats = { faults: 0, zaps: 0 };
  /** @internal References to the file by kind; their sum is file_count(). */
  readonly refs: Record<FileRef, number> = { fd: 0, vma: 0, kernel: 1 };
  /** @internal attachments, newest first (list_add()). */
  readonly attachmentList: DmaBufAttachment[] = [];
  /** @internal User mappings of the buffer (the file's i_mmap). */
  readonly vmas = new Set<VmArea>();
  private nameValue: string | null = null;
  private vmappingCounter = 0;
  private vmapPtr: DmaBufMap | null = null;
  private readonly kmaps = new Map<number, DmaBufMap>();
  private releasedFlag = false;

  /** @internal Use dmaBufExport(). */
  constructor(
    /** The machine. */
    readonly sys: Mm,
    info: Required<Omit<DmaBufExportInfo, "flags">> & { flags: number },
    ino: number,
  ) {
    this.expName = info.expName;
    this.size = info.size;
    this.ops = info.ops;
    this.priv = info.priv;
    this.ino = ino;
    this.fFlags = info.flags & (O_ACCMODE | O_NONBLOCK);
    this.fMode = openFmode(info.flags) | FMODE_LSEEK | FMODE_OPENED;
  }

  /** The name set with DMA_BUF_SET_NAME, or null. */
  get name(): string | null {
    return this.nameValue;
  }

  /** dma_buf_set_name() (the DMA_BUF_SET_NAME ioctl): at most DMA_BUF_NAME_LEN - 1 characters. */
  setName(name: string): void {
    if (typeof name !== "string") throw new DmaSimError("EFAULT", "dma_buf_set_name: the name must be a string");
    // strndup_user(buf, DMA_BUF_NAME_LEN): the string ends at its NUL, and with it must fit in 32 bytes.
    const str = name.split("\0")[0]!;
    if (new TextEncoder().encode(str).length + 1 > DMA_BUF_NAME_LEN) {
      throw new DmaSimError(
        "EINVAL",
        `dma_buf_set_name: "${str.slice(0, 40)}" is longer than ${DMA_BUF_NAME_LEN - 1} bytes`,
      );
    }
    this.live("setName");
    this.nameValue = str;
  }

  /** file_count(): fds, user mappings and kernel references holding the buffer. */
  get fileCount(): number {
    return this.refs.fd + this.refs.vma + this.refs.kernel;
  }

  /** True once the last reference went and release() ran. */
  get released(): boolean {
    return this.releasedFlag;
  }

  /** @internal Its state for sys.stateHash(): references, name, attachments, kernel and user mappings, the exporter's own. */
  hashState(h: StateHasher): void {
    h.num(this.ino)
      .num(this.size)
      .str(this.expName)
      .num(this.fFlags)
      .str(this.nameValue ?? "")
      .bool(this.nameValue !== null);
    h.num(this.refs.fd).num(this.refs.vma).num(this.refs.kernel);
    h.num(this.vmappingCounter).bool(this.vmapPtr !== null);
    h.list(
      [...this.kmaps.keys()].sort((a, b) => a - b),
      (page) => h.num(page),
    );
    h.list(this.attachmentList, (a) => a.hashState(h));
    h.list(this.vmas, (vma) => vma.hashState(h));
    this.ops.hash?.(this, h);
  }

  /** dma_buf_is_dynamic(): the exporter can move the backing (it has pin/unpin). */
  get isDynamic(): boolean {
    return this.ops.pin !== undefined;
  }

  /** The attachments, newest first. */
  get attachments(): readonly DmaBufAttachment[] {
    return this.attachmentList;
  }

  /** vmapping_counter */
  get vmapCount(): number {
    return this.vmappingCounter;
  }

  /** User mappings of the buffer (across processes). */
  get userMappings(): number {
    return this.vmas.size;
  }

  private live(where: string): void {
    if (this.releasedFlag) throw new DmaSimError("EINVAL", `${where}: the dma-buf was released`);
  }

  // ---- references ----

  /** get_dma_buf(): one more kernel reference. */
  get(): void {
    this.live("get_dma_buf");
    this.refs.kernel++;
  }

  /** dma_buf_put(): drops a kernel reference; the last reference releases the buffer. */
  put(): void {
    this.live("dma_buf_put");
    if (this.refs.kernel === 0) throw new DmaSimError("EINVAL", "dma_buf_put: no kernel reference is held");
    this.fput("kernel");
  }

  /** @internal Takes a reference of `kind` (fd install, mmap, dma_buf_get()). */
  fget(kind: FileRef): void {
    this.live("fget");
    this.refs[kind]++;
  }

  /**
   * @internal Refuses (EBUSY, nothing changed) a put that would release a
   * buffer still attached, vmapped or kmapped: the kernel WARNs / BUGs there.
   */
  checkPut(where: string): void {
    this.checkPuts(where, 1);
  }

  /** @internal checkPut() for `count` references dropped together (a process exiting). */
  checkPuts(where: string, count: number): void {
    if (this.fileCount > count) return;
    if (this.vmappingCounter > 0 || this.kmaps.size > 0) {
      const what =
        this.vmappingCounter > 0
          ? "vmapped (BUG_ON(dmabuf->vmapping_counter))"
          : `kmapped (${this.kmaps.size} pages never kunmapped)`;
      throw new DmaSimError("EBUSY", `${where}: the last reference would release a dma-buf still ${what}`);
    }
    if (this.attachmentList.length > 0) {
      throw new DmaSimError(
        "EBUSY",
        `${where}: the last reference would release a dma-buf still attached to ${this.attachmentList.map((a) => a.dev.name).join(", ")} (an importer must hold a reference while attached)`,
      );
    }
  }

  /**
   * @internal fput(): drops a reference of `kind`; the last one releases the
   * buffer. Release cannot fail in the kernel: when the exporter's release()
   * throws, the buffer is released all the same (off the list, uncharged) and
   * the error is passed on, so no caller is left holding half a release.
   */
  fput(kind: FileRef): void {
    this.checkPut("fput");
    this.refs[kind]--;
    if (this.fileCount > 0) return;
    // dma_buf_file_release(): off db_list; dma_buf_release(): the exporter frees.
    const st = dmaBufState(this.sys);
    st.list.splice(st.list.indexOf(this), 1);
    try {
      this.ops.release(this);
    } finally {
      this.releasedFlag = true;
      for (const fn of st.onRelease) fn(this);
    }
  }

  // ---- attachments ----

  /** dma_buf_attach(): attaches a static importer (dma_buf_dynamic_attach() without importer ops). */
  attach(dev: Device): DmaBufAttachment {
    return this.dynamicAttach(dev, null, null);
  }

  /**
   * dma_buf_dynamic_attach(): attaches `dev`; with `importerOps` the importer is
   * dynamic (it gets move_notify()). When importer and exporter differ in
   * dynamism, the buffer is mapped BIDIRECTIONAL now and the mapping cached,
   * a dynamic exporter pinning it first, as the kernel does. EBUSY from the
   * exporter: the backing cannot serve the device and cannot move.
   */
  dynamicAttach(
    dev: Device,
    importerOps: DmaBufAttachOps | null = null,
    importerPriv: unknown = null,
  ): DmaBufAttachment {
    const where = "dma_buf_dynamic_attach";
    this.live(where);
    if (!dev || typeof dev !== "object" || !dmaBufState(this.sys).devices.includes(dev))
      throw new DmaSimError("EINVAL", `${where}: dev must be a Device of this machine`);
    if (importerOps !== null && (typeof importerOps !== "object" || typeof importerOps.moveNotify !== "function")) {
      throw new DmaSimError("EINVAL", `${where}: importer ops need move_notify`);
    }
    const faults = this.sys.faultInjection;
    if (faults.enabled && faults.shouldFail("failslab", { size: 1, mayWait: true }))
      throw new DmaSimError("ENOMEM", `${where}: kzalloc() of the attachment failed (failslab)`);
    const att = new DmaBufAttachment(this, dev, importerOps, importerPriv);
    this.ops.attach?.(this, att);
    this.attachmentList.unshift(att);
    if (att.isDynamic !== this.isDynamic) {
      let pinned = false;
      try {
        if (this.isDynamic) {
          this.ops.pin!(att);
          pinned = true;
        }
        const sgt = this.ops.mapDmaBuf(att, "bidirectional");
        if (!sgt) throw new DmaSimError("ENOMEM", `${where}: map_dma_buf returned NULL`);
        att.sgt = sgt;
        att.dir = "bidirectional";
      } catch (e) {
        if (pinned) this.ops.unpin!(att);
        this.attachmentList.shift();
        this.ops.detach?.(this, att);
        att.detached = true;
        throw e;
      }
    }
    return att;
  }

  private attArg(where: string, att: DmaBufAttachment): void {
    if (!(att instanceof DmaBufAttachment) || att.dmabuf !== this || att.detached) {
      throw new DmaSimError("EINVAL", `${where}: not an attachment of this dma-buf`);
    }
  }

  /** dma_buf_detach(): drops the cached mapping (and a dynamic exporter's pin), then the attachment. */
  detach(att: DmaBufAttachment): void {
    const where = "dma_buf_detach";
    this.attArg(where, att);
    if (att.mappings.size > 0)
      throw new DmaSimError(
        "EBUSY",
        `${where}: ${att.dev.name} still holds ${att.mappings.size} mapping(s); unmap them first`,
      );
    if (att.sgt) {
      this.ops.unmapDmaBuf(att, att.sgt, att.dir!);
      if (this.isDynamic) this.ops.unpin!(att);
      att.sgt = null;
      att.dir = null;
    }
    this.attachmentList.splice(this.attachmentList.indexOf(att), 1);
    this.ops.detach?.(this, att);
    att.detached = true;
  }

  /** dma_buf_pin(): for dynamic importers only; the backing stays put until dma_buf_unpin(). */
  pin(att: DmaBufAttachment): void {
    this.attArg("dma_buf_pin", att);
    if (!att.isDynamic) throw new DmaSimError("EINVAL", "dma_buf_pin: only dynamic importers pin");
    this.ops.pin?.(att);
    att.pins++;
  }

  /** dma_buf_unpin() */
  unpin(att: DmaBufAttachment): void {
    this.attArg("dma_buf_unpin", att);
    if (!att.isDynamic) throw new DmaSimError("EINVAL", "dma_buf_unpin: only dynamic importers pin");
    if (att.pins === 0) throw new DmaSimError("EINVAL", "dma_buf_unpin: the attachment is not pinned");
    this.ops.unpin?.(att);
    att.pins--;
  }

  /**
   * dma_buf_map_attachment(): the buffer as a table mapped into att.dev's
   * address space. A cached mapping is handed out again; asking it for another
   * direction is EBUSY unless it is DMA_BIDIRECTIONAL.
   */
  mapAttachment(att: DmaBufAttachment, dir: DmaDirection): SgTable {
    const where = "dma_buf_map_attachment";
    this.attArg(where, att);
    dirArg(where, dir);
    if (att.sgt) {
      if (att.dir !== dir && att.dir !== "bidirectional") {
        throw new DmaSimError("EBUSY", `${where}: the cached mapping is ${att.dir}, asked for ${dir}`);
      }
      return att.sgt;
    }
    const sgt = this.ops.mapDmaBuf(att, dir);
    if (!sgt) throw new DmaSimError("ENOMEM", `${where}: map_dma_buf returned NULL`);
    if (this.ops.cacheSgtMapping) {
      att.sgt = sgt;
      att.dir = dir;
    } else {
      att.mappings.set(sgt, dir);
    }
    return sgt;
  }

  /** dma_buf_unmap_attachment(): a no-op for the cached mapping. */
  unmapAttachment(att: DmaBufAttachment, sgt: SgTable, dir: DmaDirection): void {
    const where = "dma_buf_unmap_attachment";
    this.attArg(where, att);
    dirArg(where, dir);
    if (att.sgt === sgt) return;
    if (!att.mappings.has(sgt))
      throw new DmaSimError("EINVAL", `${where}: the table is not mapped for ${att.dev.name}`);
    this.ops.unmapDmaBuf(att, sgt, dir);
    att.mappings.delete(sgt);
  }

  /**
   * dma_buf_move_notify(): tells every dynamic importer that the backing is
   * moving. dmasim then unmaps what an importer still holds, so that no device
   * keeps a mapping of pages about to be freed.
   */
  moveNotify(): void {
    this.live("dma_buf_move_notify");
    // move_notify() returns void in the kernel: an importer whose callback
    // throws still loses its mappings, every importer is told, and the first
    // error is passed on once the move is safe.
    let failed = false;
    let firstError: unknown;
    for (const att of [...this.attachmentList]) {
      if (!att.importerOps) continue;
      try {
        att.importerOps.moveNotify(att);
      } catch (err) {
        if (!failed) [failed, firstError] = [true, err];
      }
      for (const [sgt, dir] of [...att.mappings]) {
        if (att.detached) break;
        this.ops.unmapDmaBuf(att, sgt, dir);
        att.mappings.delete(sgt);
      }
    }
    if (failed) throw firstError;
  }

  // ---- CPU access ----

  /** dma_buf_begin_cpu_access(): the exporter makes the buffer coherent for the CPU in `dir`. */
  beginCpuAccess(dir: DmaDirection): void {
    this.live("dma_buf_begin_cpu_access");
    this.ops.beginCpuAccess?.(this, dirArg("dma_buf_begin_cpu_access", dir));
  }

  /** dma_buf_end_cpu_access(): hands the buffer back to the devices. */
  endCpuAccess(dir: DmaDirection): void {
    this.live("dma_buf_end_cpu_access");
    this.ops.endCpuAccess?.(this, dirArg("dma_buf_end_cpu_access", dir));
  }

  /** dma_buf_vmap(): the whole buffer in kernel address space; refcounted, the exporter's vmap() runs once. EINVAL without one. */
  vmap(): DmaBufMap {
    const where = "dma_buf_vmap";
    this.live(where);
    if (!this.ops.vmap) throw new DmaSimError("EINVAL", `${where}: the exporter has no vmap`);
    if (this.vmappingCounter > 0) {
      this.vmappingCounter++;
      return this.vmapPtr!;
    }
    const map = this.ops.vmap(this);
    this.vmapPtr = map;
    this.vmappingCounter = 1;
    return map;
  }

  /** dma_buf_vunmap(): the last one calls the exporter's vunmap(). */
  vunmap(map: DmaBufMap): void {
    const where = "dma_buf_vunmap";
    if (this.vmappingCounter === 0 || map !== this.vmapPtr)
      throw new DmaSimError("EINVAL", `${where}: not this dma-buf's vmap (BUG_ON)`);
    if (--this.vmappingCounter === 0) {
      this.ops.vunmap?.(this, map);
      map.valid = false;
      this.vmapPtr = null;
    }
  }

  /** dma_buf_kmap() (before v5.6): one page in kernel address space, or null when the exporter has no map op. */
  kmap(pageNum: number): DmaBufMap | null {
    const where = "dma_buf_kmap";
    this.live(where);
    requireInt(where, "pageNum", pageNum, 0, pfnUp(this.size, this.sys.pageSize) - 1);
    if (!this.ops.kmap) return null;
    const pfn = this.ops.kmap(this, pageNum);
    const map = new DmaBufMap(
      this.sys,
      [{ pfn, pages: 1 }],
      Math.min(this.sys.pageSize, this.size - pageNum * this.sys.pageSize),
    );
    this.kmaps.set(pageNum, map);
    return map;
  }

  /** dma_buf_kunmap() */
  kunmap(pageNum: number, map: DmaBufMap): void {
    const where = "dma_buf_kunmap";
    // A page not kmapped has no entry: undefined must not match a missing map.
    if (!(map instanceof DmaBufMap) || this.kmaps.get(pageNum) !== map)
      throw new DmaSimError("EINVAL", `${where}: page ${show(pageNum)} is not kmapped as given`);
    this.ops.kunmap?.(this, pageNum);
    this.kmaps.delete(pageNum);
    map.valid = false;
  }

  /** Pages kmapped and not yet kunmapped. */
  get kmapCount(): number {
    return this.kmaps.size;
  }

  // ---- user mappings ----

  /**
   * @internal dma_buf_mmap_internal(): EINVAL without an exporter mmap or when
   * the range runs past the buffer; then the exporter's mmap().
   */
  mmapInternal(vma: VmArea): void {
    const where = "dma_buf_mmap";
    this.live(where);
    if (!this.ops.mmap) throw new DmaSimError("EINVAL", `${where}: the exporter does not support mmap`);
    if (vma.pgoff + vma.pages > Math.floor(this.size / this.sys.pageSize)) {
      throw new DmaSimError(
        "EINVAL",
        `${where}: pages ${vma.pgoff}..${vma.pgoff + vma.pages - 1} run past the buffer's ${Math.floor(this.size / this.sys.pageSize)} pages`,
      );
    }
    this.ops.mmap(this, vma);
  }

  /**
   * unmap_mapping_range() of the buffer's file: zaps every user mapping's page
   * table entries, in every process. The next access faults the page in again
   * (from the new backing after a move). Exporters call it.
   */
  zapUserMappings(): void {
    for (const vma of this.vmas) vma.zap();
    this.stats.zaps++;
  }
}

/**
 * dma_buf_export(): wraps an exporter's buffer in a dma-buf with one kernel
 * reference (the exporter's, until it hands the buffer to an fd or drops it
 * with put()). EINVAL without priv, ops, map_dma_buf, unmap_dma_buf or release;
 * with only one of pin/unpin; or with cache_sgt_mapping and pin/unpin.
 */
export function dmaBufExport(sys: Mm, info: DmaBufExportInfo): DmaBuf {
  const where = "dma_buf_export";
  requireObject(where, "export info", info);
  const ops = info.ops;
  if (info.priv === undefined || info.priv === null) throw new DmaSimError("EINVAL", `${where}: priv is required`);
  if (!ops || typeof ops !== "object") throw new DmaSimError("EINVAL", `${where}: ops are required`);
  for (const op of ["mapDmaBuf", "unmapDmaBuf", "release"] as const) {
    if (typeof ops[op] !== "function") throw new DmaSimError("EINVAL", `${where}: ops.${op} is required`);
  }
  if (ops.cacheSgtMapping && (ops.pin || ops.unpin))
    throw new DmaSimError("EINVAL", `${where}: cache_sgt_mapping cannot go with pin/unpin`);
  if (!ops.pin !== !ops.unpin) throw new DmaSimError("EINVAL", `${where}: pin and unpin come together`);
  requireInt(where, "size", info.size, 1, Number.MAX_SAFE_INTEGER);
  const flags = info.flags ?? 0;
  requireInt(where, "flags", flags, 0, 0xffffffff);
  const expName = info.expName ?? "dmasim";
  requireName(where, "expName", expName);
  const st = dmaBufState(sys);
  const dmabuf = new DmaBuf(sys, { expName, size: info.size, ops, priv: info.priv, flags }, ++st.lastIno);
  st.list.unshift(dmabuf);
  return dmabuf;
}

// ---- debugfs and checks -------------------------------------------------------------------------------

const pad8 = (n: number) => String(n).padStart(8, "0");
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** /sys/kernel/debug/dma_buf/bufinfo (dma_buf_debug_show()). No fences are modelled, so none are listed. */
export function formatBufinfo(sys: Mm): string {
  const list = dmaBufList(sys);
  let out = "\nDma-buf Objects:\n";
  out += `${"size".padEnd(8)}\t${"flags".padEnd(8)}\t${"mode".padEnd(8)}\t${"count".padEnd(8)}\texp_name\t${"ino".padEnd(8)}\tname\n`;
  let bytes = 0;
  for (const b of list) {
    out += `${pad8(b.size)}\t${hex8(b.fFlags)}\t${hex8(b.fMode)}\t${pad8(b.fileCount)}\t${b.expName}\t${pad8(b.ino)}\t${b.name ?? "<none>"}\n`;
    out += "\tAttached Devices:\n";
    for (const a of b.attachments) out += `\t${a.dev.name}\n`;
    out += `Total ${b.attachments.length} devices attached\n\n`;
    bytes += b.size;
  }
  out += `\nTotal ${list.length} objects, ${bytes} bytes\n`;
  return out;
}

/** @internal The dma-buf layer's invariants for sys.check(): "" when they hold. */
export function dmaBufCheck(sys: Mm): string {
  const st = STATES.get(sys);
  if (!st) return "";
  for (const b of st.list) {
    const at = `dma-buf ino ${b.ino} (${b.expName})`;
    if (b.released) return `${at}: released but still listed`;
    if (b.fileCount < 1) return `${at}: listed with no reference`;
    if (b.refs.vma !== b.vmas.size) return `${at}: ${b.refs.vma} mapping references for ${b.vmas.size} mappings`;
    for (const a of b.attachments) {
      if (a.detached || a.dmabuf !== b) return `${at}: a detached attachment is listed`;
    }
    const msg = b.ops.check?.(b) ?? "";
    if (msg) return `${at}: ${msg}`;
  }
  return "";
}
