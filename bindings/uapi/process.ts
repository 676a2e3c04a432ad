/**
 * The userspace face: processes with fd tables, /dev/dma_heap/* device nodes,
 * the dma-heap and dma-buf ioctls, mmap, lseek, dup, close and fd passing
 * (SCM_RIGHTS), with the kernel's checks and error codes.
 *
 * Isolation: a process reaches a buffer only through an fd in its own table
 * (or a mapping it made); a heap's device node admits only the processes its
 * CMA area lists in `heapUsers`.
 *
 * Accounting: a buffer allocated through a heap ioctl is charged to the
 * allocating process until it is released, wherever its fds went (as memory
 * cgroups charge the allocator: a receiver cannot be charged against its will,
 * and a sender cannot shed its charge by passing fds around). Over
 * `dmabufLimitBytes`, the ioctl fails with ENOMEM, as a charge over a memory
 * cgroup's limit fails, and nothing is allocated.
 */
import type { StateHasher } from "../core/hash.ts";
import { DmaBuf, VmArea, dmaBufList, dmaBufState } from "../dma-buf/dma-buf.ts";
import { dmaHeaps, type DmaHeap } from "../dma-buf/dma-heap.ts";
import { DmaSimError } from "../core/errors.ts";
import { rejectUnknownKeys, requireBytes, requireInt, requireName, requireObject, show } from "../core/validate.ts";
import type { Mm } from "../mm/mm.ts";
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_VALID_FLAGS_MASK,
  DMA_BUF_SYNC_WRITE,
  type DmaBufSync,
} from "./linux/dma-buf.ts";
import {
  DMA_HEAP_ALLOCATION_DATA_SIZE,
  DMA_HEAP_IOCTL_ALLOC,
  DMA_HEAP_VALID_FD_FLAGS,
  DMA_HEAP_VALID_HEAP_FLAGS,
  type DmaHeapAllocationArg,
  type DmaHeapAllocationData,
} from "./linux/dma-heap.ts";
import {
  FMODE_LSEEK,
  FMODE_READ,
  FMODE_WRITE,
  O_CLOEXEC,
  O_RDWR,
  SEEK_END,
  SEEK_MAX,
  SEEK_SET,
  openFmode,
} from "./linux/fcntl.ts";
import { IOC_IN, IOC_OUT, _IOC_NR, _IOC_SIZE } from "./linux/ioctl.ts";
import { MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, PROT_EXEC, PROT_READ, PROT_WRITE } from "./linux/mman.ts";
import { pageAlign } from "../core/units.ts";

/** An open file. */
type OpenFile =
  /** fds 0–2: the terminal a process starts with. */
  | { kind: "tty"; fMode: number }
  /** /dev/dma_heap/<name>, opened nonseekable (dma_heap_open()). */
  | { kind: "heap"; heap: DmaHeap; fMode: number }
  /** A dma-buf's file. */
  | { kind: "dmabuf"; dmabuf: DmaBuf };

interface FdEntry {
  file: OpenFile;
  /** FD_CLOEXEC */
  cloexec: boolean;
}

export interface ProcessOptions {
  /** Bytes of dma-buf memory the process may have allocated at once. Default: no limit. */
  dmabufLimitBytes?: number;
  /** RLIMIT_NOFILE: fds 0..nofile-1. Default 1024. */
  nofile?: number;
}

/** A process's dma-buf memory. */
export interface DmaBufAccounting {
  /** Bytes of live buffers this process allocated through heap ioctls: what the limit counts. */
  chargedBytes: number;
  chargedBuffers: number;
  /** dmabufLimitBytes, or null. */
  limitBytes: number | null;
  /** Distinct live buffers the process reaches through its fds or mappings, and their bytes. */
  heldBuffers: number;
  heldBytes: number;
  /** Bytes of dma-bufs mapped into the process (each mapping counted). */
  mappedBytes: number;
  /** Bytes of private (MAP_PRIVATE copy-on-write) copies the process has written: counted against the limit too. */
  privateCopyBytes: number;
}

interface ProcessTable {
  processes: Process[];
  lastPid: number;
  /** Which process each heap-allocated buffer is charged to. */
  charges: Map<DmaBuf, Process>;
}

const TABLES = new WeakMap<Mm, ProcessTable>();

function table(sys: Mm): ProcessTable {
  const t = TABLES.get(sys);
  if (!t) throw new DmaSimError("ENODEV", "process: this machine has no process table (createSystem() registers it)");
  return t;
}

/** @internal Boot: the process table of a machine; released buffers are uncharged from their processes. */
export function registerProcesses(sys: Mm): void {
  const t: ProcessTable = { processes: [], lastPid: 0, charges: new Map() };
  TABLES.set(sys, t);
  dmaBufState(sys).onRelease.push((dmabuf) => {
    const owner = t.charges.get(dmabuf);
    if (owner) owner.uncharge(dmabuf.size);
    t.charges.delete(dmabuf);
  });
  sys.registry.add({
    name: "processes",
    check: () => checkProcesses(sys, t),
    hash(h) {
      if (t.lastPid === 0) return;
      h.num(t.lastPid);
      h.list(t.processes, (p) => p.hashState(h));
      h.list(t.charges, ([dmabuf, owner]) => h.num(dmabuf.ino).num(owner.pid));
    },
  });
}

/** The fd references and charges agree with the buffers. */
function checkProcesses(sys: Mm, t: ProcessTable): string {
  const fdRefs = new Map<DmaBuf, number>();
  for (const p of t.processes) {
    for (const e of p.fdEntries()) {
      if (e.file.kind === "dmabuf") fdRefs.set(e.file.dmabuf, (fdRefs.get(e.file.dmabuf) ?? 0) + 1);
    }
  }
  for (const b of dmaBufList(sys)) {
    if ((fdRefs.get(b) ?? 0) !== b.refs.fd)
      return `dma-buf ino ${b.ino}: ${b.refs.fd} fd references counted, ${fdRefs.get(b) ?? 0} in fd tables`;
    fdRefs.delete(b);
  }
  if (fdRefs.size > 0) return "an fd table holds a released dma-buf";
  for (const b of t.charges.keys()) if (b.released) return `a released dma-buf (ino ${b.ino}) is still charged`;
  // The running charge totals agree with the charges.
  for (const p of t.processes) {
    let bytes = 0;
    for (const [b, owner] of t.charges) if (owner === p) bytes += b.size;
    const account = p.accounting();
    if (bytes !== account.chargedBytes)
      return `process ${p.name}: charged ${account.chargedBytes} bytes, buffers add up to ${bytes}`;
    let copies = 0;
    for (const m of p.mappings) copies += m.vma.cow.size * sys.pageSize;
    if (copies !== account.privateCopyBytes)
      return `process ${p.name}: ${account.privateCopyBytes} private-copy bytes charged, its mappings hold ${copies}`;
  }
  return "";
}

const PROCESS_OPTIONS: ReadonlySet<string> = new Set(["dmabufLimitBytes", "nofile"]);

/** @internal sys.process() */
export function createProcess(sys: Mm, name: string, options: ProcessOptions = {}): Process {
  requireName("process", "name", name);
  requireObject("process", "options", options);
  rejectUnknownKeys("process", options, PROCESS_OPTIONS, "option");
  const limit =
    options.dmabufLimitBytes === undefined
      ? null
      : requireInt("process", "dmabufLimitBytes", options.dmabufLimitBytes, 0, Number.MAX_SAFE_INTEGER);
  const nofile = requireInt("process", "nofile", options.nofile ?? 1024, 3, 1 << 20);
  const t = table(sys);
  const p = new Process(sys, ++t.lastPid, name, limit, nofile, t);
  t.processes.push(p);
  return p;
}

const U64 = 2n ** 64n;
const PAGE_MASK_OF = (page: number) => BigInt(page - 1);
/** PAGE_ALIGN() of a u64 length, wrapping at 2^64 (to 0 near the top). */
const pageAlignU64 = (len: bigint, page: number): bigint => {
  const mask = PAGE_MASK_OF(page);
  return ((len + mask) & ~mask) % U64;
};
/** MAX_LFS_FILESIZE on 64-bit: LLONG_MAX. */
const MAX_LFS_FILESIZE = 2n ** 63n - 1n;

/** A C integer argument of `bits` bits: numbers and bigints wrap as C's conversions do. */
function cInt(where: string, name: string, v: unknown, bits: number): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(bits, v);
  if (typeof v === "number" && Number.isInteger(v)) return BigInt.asUintN(bits, BigInt(v));
  throw new DmaSimError("EINVAL", `${where}: ${name} must be an integer (number or bigint), got ${show(v)}`);
}

/**
 * copy_from_user() of one C integer field of `bytes` bytes at `off` into the
 * zeroed `kdata`: only its bytes below `inSize` when a shorter struct ends inside
 * it. Non-negative numbers below 2^32, the usual case, skip the BigInt path.
 */
function copyFieldFromUser(
  kdata: DataView,
  off: number,
  bytes: number,
  inSize: number,
  where: string,
  name: string,
  value: unknown,
): void {
  if (value === undefined) return;
  const whole = off + bytes <= inSize;
  if (whole && typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
    kdata.setUint32(off, value, true); // the low word; an 8-byte field's high word stays 0
    return;
  }
  const v = cInt(where, name, value, bytes * 8);
  if (whole) {
    if (bytes === 8) kdata.setBigUint64(off, v, true);
    else kdata.setUint32(off, Number(v), true);
  } else {
    // Little-endian: the low bytes come first.
    for (let i = 0; off + i < inSize; i++) kdata.setUint8(off + i, Number((v >> BigInt(8 * i)) & 0xffn));
  }
}

/** pageAlignU64() of the u64 field at `off`, as a number; without BigInt below 2^52. */
function pageAlignedField(kdata: DataView, off: number, page: number): number {
  const hi = kdata.getUint32(off + 4, true);
  if (hi < 0x100000) {
    // Below 2^52: exact in a double, and so is the rounding up.
    return pageAlign(hi * 2 ** 32 + kdata.getUint32(off, true), page);
  }
  return Number(pageAlignU64(kdata.getBigUint64(off, true), page));
}

/** A thrown value as text, without calling anything the thrower supplied. */
function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}` : show(err);
}

/** The fields of struct dma_heap_allocation_data: name, byte offset, bytes. */
const HEAP_FIELDS = [
  ["len", 0, 8],
  ["fd", 8, 4],
  ["fdFlags", 12, 4],
  ["heapFlags", 16, 8],
] as const;

/** A mapping made by mmap(). Offsets are bytes from the start of the mapping. */
export class Mapping {
  /** @internal */
  constructor(
    private readonly sys: Mm,
    private readonly owner: Process,
    /** @internal */
    readonly vma: VmArea,
    /** The length asked for (the mapping covers whole pages). */
    readonly length: number,
    /** The file offset mapped (bytes). */
    readonly offset: number,
    /** PROT_* */
    readonly prot: number,
    /** MAP_* */
    readonly flags: number,
  ) {}

  /** @internal Its state for sys.stateHash() (the page table is its vma's, which the dma-buf feeds). */
  hashState(h: StateHasher): void {
    h.num(this.vma.dmabuf.ino).num(this.offset).num(this.length).num(this.prot).num(this.flags).bool(this.vma.live);
  }

  /** The mapping is still there (not munmap()ed, its process alive). */
  get mapped(): boolean {
    return this.vma.live;
  }

  /** Page faults this mapping took (pages faulted in on first touch, again after a zap). */
  get faults(): number {
    return this.vma.faults;
  }

  /** Times the exporter zapped this mapping's pages (unmap_mapping_range()). */
  get zaps(): number {
    return this.vma.zaps;
  }

  /** Pages present now. */
  get residentPages(): number {
    return this.vma.residentPages;
  }

  private access(
    where: string,
    offset: number,
    length: number,
    write: boolean,
    fn: (phys: number, at: number, n: number) => void,
  ): void {
    if (!this.vma.live) throw new DmaSimError("EFAULT", `Mapping.${where}: SIGSEGV: the range is not mapped`);
    const size = this.vma.pages * this.sys.pageSize;
    requireInt(`Mapping.${where}`, "offset", offset, 0, Number.MAX_SAFE_INTEGER);
    requireInt(`Mapping.${where}`, "length", length, 0, Number.MAX_SAFE_INTEGER);
    if (offset + length > size)
      throw new DmaSimError(
        "EFAULT",
        `Mapping.${where}: SIGSEGV: [${offset}, ${offset + length}) runs past the ${size}-byte mapping`,
      );
    const need = write ? PROT_WRITE : PROT_READ;
    if ((this.prot & need) === 0)
      throw new DmaSimError(
        "EFAULT",
        `Mapping.${where}: SIGSEGV: the mapping is not ${write ? "writable" : "readable"}`,
      );
    if (!this.sys.storeContents)
      throw new DmaSimError("EINVAL", `Mapping.${where}: this machine keeps no page contents`);
    const page = this.sys.pageSize;
    let at = 0;
    while (at < length) {
      const pos = offset + at;
      const n = Math.min(page - (pos % page), length - at);
      fn(this.vma.pagePhys(Math.floor(pos / page), write) + (pos % page), at, n);
      at += n;
    }
  }

  /** CPU loads of `length` bytes at `offset` (default: to the end of the mapping). */
  read(offset = 0, length?: number): Uint8Array {
    const size = this.vma.pages * this.sys.pageSize;
    const len = length ?? (typeof offset === "number" ? size - offset : 0);
    // Sized only once known sane: access() rejects any other length before reading.
    const out = new Uint8Array(Number.isSafeInteger(len) && len > 0 && len <= size ? len : 0);
    this.access("read", offset, len, false, (phys, at, n) => out.set(this.sys.cpuRead(phys, n), at));
    return out;
  }

  /** CPU stores of `bytes` at `offset`. */
  write(offset: number, bytes: Uint8Array): void {
    requireBytes("Mapping.write", "bytes", bytes);
    this.access("write", offset, bytes.length, true, (phys, at, n) =>
      this.sys.cpuWrite(phys, bytes.subarray(at, at + n)),
    );
  }

  /** memset(): `byte` over `length` bytes from `offset` (default: the whole mapping). */
  fill(byte: number, offset = 0, length?: number): void {
    requireInt("Mapping.fill", "byte", byte, 0, 255);
    const len = length ?? this.vma.pages * this.sys.pageSize - offset;
    this.access("fill", offset, len, true, (phys, _at, n) => this.sys.cpuWrite(phys, new Uint8Array(n).fill(byte)));
  }

  /** munmap(): drops the mapping and its reference to the buffer. Unmapping twice does nothing, as munmap() of an empty range. */
  munmap(): void {
    if (!this.vma.live) return;
    this.owner.dropMapping(this);
  }
}

/** A userspace process: an fd table (fds 0–2 taken by its standard streams) and its mappings. */
export class Process {
  private readonly fds: (FdEntry | undefined)[] = [];
  /** files->next_fd: every fd below it is in use. */
  private nextFd = 0;
  private readonly maps = new Set<Mapping>();
  private alive = true;
  /** Running totals of the buffers charged to this process (kept so the limit check is O(1)). */
  private chargedBytes = 0;
  private chargedBuffers = 0;
  /** Private copies of MAP_PRIVATE mappings, charged against the same limit. */
  private privateCopyBytes = 0;

  /** @internal Use sys.process(). */
  constructor(
    private readonly sys: Mm,
    /** Process id, counted from 1 per machine in creation order. */
    readonly pid: number,
    /** The name heap permissions (`heapUsers`) are checked against. */
    readonly name: string,
    /** dmabufLimitBytes, or null. */
    readonly dmabufLimitBytes: number | null,
    /** RLIMIT_NOFILE */
    readonly nofile: number,
    private readonly procs: ProcessTable,
  ) {
    for (let fd = 0; fd < 3; fd++)
      this.fds[fd] = { file: { kind: "tty", fMode: FMODE_READ | FMODE_WRITE }, cloexec: false };
  }

  /** @internal Its state for sys.stateHash(): the fd table, the mappings, the charges. */
  hashState(h: StateHasher): void {
    h.num(this.pid)
      .str(this.name)
      .num(this.dmabufLimitBytes ?? -1)
      .num(this.nofile)
      .bool(this.alive);
    h.num(this.chargedBytes).num(this.chargedBuffers);
    h.list(this.openFds, (fd) => {
      const { file, cloexec } = this.fds[fd]!;
      h.num(fd).bool(cloexec).str(file.kind);
      if (file.kind === "dmabuf") h.num(file.dmabuf.ino);
      else h.num(file.fMode).str(file.kind === "heap" ? file.heap.name : "");
    });
    h.list(this.maps, (m) => m.hashState(h));
  }

  /** @internal */
  fdEntries(): FdEntry[] {
    return this.fds.filter((e): e is FdEntry => e !== undefined);
  }

  /** The open fds, ascending. */
  get openFds(): number[] {
    const out: number[] = [];
    this.fds.forEach((e, fd) => e && out.push(fd));
    return out;
  }

  /** The process has not exited. */
  get running(): boolean {
    return this.alive;
  }

  private living(where: string): void {
    if (!this.alive) throw new DmaSimError("ESRCH", `${where}: process ${this.pid} (${this.name}) has exited`);
  }

  private entry(where: string, fd: unknown): FdEntry {
    this.living(where);
    const e = typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? this.fds[fd] : undefined;
    if (!e) throw new DmaSimError("EBADF", `${where}: fd ${show(fd)} is not open`);
    return e;
  }

  /** get_unused_fd_flags(): the lowest free fd, or EMFILE. Starts at the next_fd hint: no fd below it is free. */
  private freeFd(where: string): number {
    for (let fd = this.nextFd; fd < this.nofile; fd++) if (!this.fds[fd]) return fd;
    throw new DmaSimError("EMFILE", `${where}: all ${this.nofile} fds are in use (RLIMIT_NOFILE)`);
  }

  private install(where: string, file: OpenFile, cloexec: boolean): number {
    const fd = this.freeFd(where);
    if (file.kind === "dmabuf") file.dmabuf.fget("fd");
    this.fds[fd] = { file, cloexec };
    this.nextFd = fd + 1;
    return fd;
  }

  // ---- open, close, dup, fd passing ----

  /**
   * open(): /dev/dma_heap/<name> (ENOENT for anything else). A heap whose CMA
   * area lists `heapUsers` admits only those processes (EACCES). Returns the
   * lowest free fd.
   */
  open(path: string, flags = 0): number {
    const where = "open";
    this.living(where);
    if (typeof path !== "string") throw new DmaSimError("EFAULT", `${where}: path must be a string`);
    requireInt(where, "flags", flags, 0, 0xffffffff);
    const m = /^\/dev\/dma_heap\/([^/]+)$/.exec(path);
    const heap = m ? dmaHeaps(this.sys).find((h) => h.name === m[1]) : undefined;
    if (!heap) throw new DmaSimError("ENOENT", `${where}: ${path}: no such file or directory`);
    if (heap.users && !heap.users.includes(this.name)) {
      throw new DmaSimError(
        "EACCES",
        `${where}: ${path}: permission denied for process "${this.name}" (heap users: ${heap.users.join(", ") || "none"})`,
      );
    }
    // dma_heap_open() makes the file nonseekable: no FMODE_LSEEK.
    return this.install(where, { kind: "heap", heap, fMode: openFmode(flags) }, (flags & O_CLOEXEC) !== 0);
  }

  /** close(): EBADF for an fd not open. The last reference to a dma-buf releases it. */
  close(fd: number): void {
    const e = this.entry("close", fd);
    if (e.file.kind === "dmabuf") e.file.dmabuf.checkPut("close");
    this.fds[fd] = undefined;
    if (fd < this.nextFd) this.nextFd = fd; // __put_unused_fd()
    // The table shrinks with its top fds (expand_files() in reverse), so it never holds more than it needs.
    while (this.fds.length > 0 && this.fds[this.fds.length - 1] === undefined) this.fds.pop();
    if (e.file.kind === "dmabuf") e.file.dmabuf.fput("fd");
  }

  /** dup(): the lowest free fd, sharing the open file (FD_CLOEXEC is not copied). */
  dup(fd: number): number {
    const e = this.entry("dup", fd);
    return this.install("dup", e.file, false);
  }

  /**
   * Passes `fd` to `target` as an SCM_RIGHTS message does: the target gets the
   * lowest free fd of its own on the same open file. Returns that fd.
   */
  sendFd(target: Process, fd: number): number {
    const where = "sendFd";
    const e = this.entry(where, fd);
    if (!(target instanceof Process) || target.sys !== this.sys)
      throw new DmaSimError("EINVAL", `${where}: target must be a process of this machine`);
    target.living(where);
    return target.install(where, e.file, false);
  }

  /**
   * exit(): every mapping unmapped, every fd closed. Checked first: when the
   * references this process drops would release a dma-buf still attached,
   * vmapped or kmapped, exit fails with EBUSY and nothing changes. Once
   * started it always completes; an exporter's release() that throws is
   * reported after the rest is torn down.
   */
  exit(): void {
    this.living("exit");
    const dropped = new Map<DmaBuf, number>();
    const drop = (b: DmaBuf) => dropped.set(b, (dropped.get(b) ?? 0) + 1);
    for (const m of this.maps) drop(m.vma.dmabuf);
    for (const e of this.fds) if (e?.file.kind === "dmabuf") drop(e.file.dmabuf);
    for (const [dmabuf, count] of dropped) dmabuf.checkPuts("exit", count);
    let firstError: unknown = null;
    const attempt = (step: () => void) => {
      try {
        step();
      } catch (err) {
        firstError ??= err;
      }
    };
    for (const m of [...this.maps]) attempt(() => m.munmap());
    for (const fd of this.openFds) attempt(() => this.close(fd));
    this.alive = false;
    // Reaped: the table keeps running processes only (the Process object stays usable as a record).
    const t = this.procs;
    t.processes.splice(t.processes.indexOf(this), 1);
    if (firstError !== null) throw firstError;
  }

  // ---- ioctl ----

  /**
   * ioctl(). On a heap fd: DMA_HEAP_IOCTL_ALLOC with
   * `{ len, fd: 0, fdFlags, heapFlags }`, returning the argument with `fd`
   * set. On a dma-buf fd: DMA_BUF_IOCTL_SYNC with `{ flags }` and
   * DMA_BUF_SET_NAME with a string, returning 0. EBADF for an fd not open,
   * ENOTTY for a request the file does not know.
   */
  ioctl(fd: number, request: typeof DMA_HEAP_IOCTL_ALLOC, arg: DmaHeapAllocationArg): DmaHeapAllocationData;
  ioctl(fd: number, request: typeof DMA_BUF_IOCTL_SYNC, arg: DmaBufSync): number;
  ioctl(fd: number, request: typeof DMA_BUF_SET_NAME_A | typeof DMA_BUF_SET_NAME_B, arg: string): number;
  ioctl(fd: number, request: number, arg?: unknown): unknown;
  ioctl(fd: number, request: number, arg?: unknown): unknown {
    const e = this.entry("ioctl", fd);
    requireInt("ioctl", "request", request, 0, 0xffffffff);
    switch (e.file.kind) {
      case "heap":
        return this.heapIoctl(e.file.heap, request, arg);
      case "dmabuf":
        return dmaBufIoctl(e.file.dmabuf, request, arg);
      default:
        throw new DmaSimError(
          "ENOTTY",
          `ioctl: fd ${fd} is a terminal; request 0x${request.toString(16)} is not a tty ioctl`,
        );
    }
  }

  /**
   * dma_heap_ioctl(): the request's number picks the command (any number past
   * the table is EINVAL); its size says how much of the argument userspace has,
   * so an older, shorter struct reads as zeros past its end and a newer, longer
   * one has its extra fields ignored. Then dma_heap_ioctl_allocate().
   */
  private heapIoctl(heap: DmaHeap, request: number, arg: unknown): DmaHeapAllocationData {
    const where = "DMA_HEAP_IOCTL_ALLOC";
    if (_IOC_NR(request) >= 1)
      throw new DmaSimError(
        "EINVAL",
        `dma_heap_ioctl: request 0x${request.toString(16)}: number ${_IOC_NR(request)} is not a heap ioctl`,
      );
    const kcmd = DMA_HEAP_IOCTL_ALLOC;
    let outSize = _IOC_SIZE(request);
    let inSize = outSize;
    if ((request & kcmd & IOC_IN) === 0) inSize = 0;
    if ((request & kcmd & IOC_OUT) === 0) outSize = 0;
    const ksize = Math.max(inSize, outSize, DMA_HEAP_ALLOCATION_DATA_SIZE);
    if ((inSize > 0 || outSize > 0) && (typeof arg !== "object" || arg === null)) {
      throw new DmaSimError("EFAULT", `${where}: the argument must be a struct dma_heap_allocation_data object`);
    }
    const user = (arg ?? {}) as Record<string, unknown>;
    // copy_from_user() of in_size bytes, the rest zeroed; and the struct copied
    // back later, read now: after allocating, nothing the caller wrote may throw.
    const kdata = new DataView(new ArrayBuffer(ksize));
    let userCopy: Record<string, unknown>;
    const values: unknown[] = [];
    try {
      for (const field of HEAP_FIELDS) values.push(field[1] < inSize ? user[field[0]] : undefined);
      userCopy = { ...user };
    } catch (err) {
      throw new DmaSimError("EFAULT", `${where}: reading the argument failed (${errorText(err)})`);
    }
    for (let i = 0; i < HEAP_FIELDS.length; i++) {
      const field = HEAP_FIELDS[i]!; // [name, off, bytes]
      if (field[1] < inSize) copyFieldFromUser(kdata, field[1], field[2], inSize, where, field[0], values[i]);
    }
    const fdIn = kdata.getUint32(8, true);
    const fdFlags = kdata.getUint32(12, true);
    // dma_heap_ioctl_allocate()
    if (fdIn !== 0) throw new DmaSimError("EINVAL", `${where}: fd must be 0 on input, got ${fdIn}`);
    if ((fdFlags & ~DMA_HEAP_VALID_FD_FLAGS) !== 0)
      throw new DmaSimError("EINVAL", `${where}: fd flags 0${fdFlags.toString(8)} beyond O_CLOEXEC | O_ACCMODE`);
    // heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS, a word at a time (the valid flags fit in the low one).
    if ((kdata.getUint32(16, true) & ~DMA_HEAP_VALID_HEAP_FLAGS) !== 0 || kdata.getUint32(20, true) !== 0) {
      throw new DmaSimError(
        "EINVAL",
        `${where}: no heap flags are defined, got 0x${kdata.getBigUint64(16, true).toString(16)}`,
      );
    }
    // dma_heap_buffer_alloc(): PAGE_ALIGN() in 64 bits (a length near 2^64 wraps to 0).
    const aligned = pageAlignedField(kdata, 0, this.sys.pageSize);
    if (aligned === 0)
      throw new DmaSimError("EINVAL", `${where}: len ${kdata.getBigUint64(0, true)} is 0 after PAGE_ALIGN()`);
    // No heap can hold more than RAM: fail at once instead of allocating it all and giving it back.
    if (aligned > this.sys.ramBytes) {
      throw new DmaSimError(
        "ENOMEM",
        `${where}: len ${kdata.getBigUint64(0, true)} is more than RAM (${this.sys.ramBytes} bytes)`,
      );
    }
    const size = aligned;
    const charged = this.chargedBytes + this.privateCopyBytes;
    if (this.dmabufLimitBytes !== null && charged + size > this.dmabufLimitBytes) {
      throw new DmaSimError(
        "ENOMEM",
        `${where}: ${size} bytes would take process "${this.name}" past its dma-buf limit (${charged} of ${this.dmabufLimitBytes} bytes in use)`,
      );
    }
    this.freeFd(where); // fail before allocating: the buffer would only be freed again
    const dmabuf = heap.bufferAlloc(size, fdFlags, 0);
    const newFd = this.dmaBufFd(dmabuf, fdFlags);
    this.procs.charges.set(dmabuf, this);
    this.chargedBytes += dmabuf.size;
    this.chargedBuffers++;
    // copy_to_user() of out_size bytes: the fd reaches userspace only if the struct has room for it.
    const out = userCopy as unknown as DmaHeapAllocationData;
    if (outSize >= 12) {
      out.fd = newFd;
      try {
        user.fd = newFd;
      } catch {
        // a frozen argument: the returned copy carries the fd
      }
    }
    return out;
  }

  // ---- lseek, mmap ----

  /**
   * lseek(): on a dma-buf, SEEK_END gives the size and SEEK_SET 0, both only
   * with offset 0 (dma_buf_llseek()); other whence values are EINVAL. Heap
   * nodes and terminals cannot seek (ESPIPE).
   */
  lseek(fd: number, offset: number | bigint, whence: number): number {
    const where = "lseek";
    const e = this.entry(where, fd);
    const off = cInt(where, "offset", offset, 64);
    if (!Number.isInteger(whence) || whence < 0 || whence > SEEK_MAX)
      throw new DmaSimError("EINVAL", `${where}: whence ${show(whence)} is not valid`);
    if (e.file.kind !== "dmabuf" || (e.file.dmabuf.fMode & FMODE_LSEEK) === 0) {
      throw new DmaSimError("ESPIPE", `${where}: fd ${fd} is not seekable`);
    }
    let base: number;
    if (whence === SEEK_END) base = e.file.dmabuf.size;
    else if (whence === SEEK_SET) base = 0;
    else
      throw new DmaSimError(
        "EINVAL",
        `${where}: a dma-buf seeks only with SEEK_END (its size) or SEEK_SET, got whence ${whence}`,
      );
    if (off !== 0n) throw new DmaSimError("EINVAL", `${where}: a dma-buf seeks only with offset 0`);
    return base;
  }

  /**
   * mmap() of a dma-buf, with the syscall's checks in the kernel's order: an
   * offset not page-aligned (EINVAL), the fd (EBADF), length 0 (EINVAL), a
   * page offset that overflows (EOVERFLOW), the mapping type (EINVAL), the
   * file's access mode (EACCES), a file without mmap (ENODEV), then
   * dma_buf_mmap_internal(): a range past the buffer is EINVAL. `offset` may
   * be a bigint (an unsigned long).
   */
  mmap(fd: number, length: number | bigint, offset: number | bigint, prot: number, flags: number): Mapping {
    const where = "mmap";
    this.living(where);
    const page = this.sys.pageSize;
    const mask = PAGE_MASK_OF(page);
    const off = cInt(where, "offset", offset, 64);
    if ((off & mask) !== 0n)
      throw new DmaSimError("EINVAL", `${where}: offset 0x${off.toString(16)} is not page-aligned`);
    const e = this.entry(where, fd);
    const len = cInt(where, "length", length, 64);
    requireInt(where, "prot", prot, 0, 0xffffffff);
    requireInt(where, "flags", flags, 0, 0xffffffff);
    // do_mmap()
    if (len === 0n) throw new DmaSimError("EINVAL", `${where}: length is 0`);
    const alignedLen = pageAlignU64(len, page);
    if (alignedLen === 0n) throw new DmaSimError("ENOMEM", `${where}: length ${len} wraps when page-aligned`);
    const shift = BigInt(Math.log2(page));
    const pgoff = off >> shift;
    const pages = alignedLen >> shift;
    if ((pgoff + pages) % U64 < pgoff)
      throw new DmaSimError("EOVERFLOW", `${where}: page offset ${pgoff} + ${pages} pages overflows`);
    // file_mmap_ok(): the range must fit below MAX_LFS_FILESIZE.
    if (alignedLen > MAX_LFS_FILESIZE || pgoff > (MAX_LFS_FILESIZE - alignedLen) >> shift) {
      throw new DmaSimError(
        "EOVERFLOW",
        `${where}: offset 0x${off.toString(16)} + length ${alignedLen} is beyond the largest file offset`,
      );
    }
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0)
      throw new DmaSimError("EINVAL", `${where}: unknown prot bits 0x${prot.toString(16)}`);
    const type = flags & 0x0f;
    if (flags & ~0x0f)
      throw new DmaSimError(
        "EINVAL",
        `${where}: dmasim maps files with MAP_SHARED, MAP_SHARED_VALIDATE or MAP_PRIVATE and no other flags, got 0x${flags.toString(16)}`,
      );
    if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) {
      throw new DmaSimError("EINVAL", `${where}: flags must be MAP_SHARED or MAP_PRIVATE, got 0x${flags.toString(16)}`);
    }
    const shared = type !== MAP_PRIVATE;
    const fMode = e.file.kind === "dmabuf" ? e.file.dmabuf.fMode : e.file.fMode;
    if (shared && (prot & PROT_WRITE) !== 0 && (fMode & FMODE_WRITE) === 0) {
      throw new DmaSimError("EACCES", `${where}: a shared writable mapping needs an fd opened for writing`);
    }
    if ((fMode & FMODE_READ) === 0) throw new DmaSimError("EACCES", `${where}: mapping needs an fd opened for reading`);
    if (e.file.kind !== "dmabuf")
      throw new DmaSimError(
        "ENODEV",
        `${where}: fd ${fd} (${e.file.kind === "heap" ? e.file.heap.path : "a terminal"}) cannot be mapped`,
      );
    const dmabuf = e.file.dmabuf;
    const vma = new VmArea(this.sys, dmabuf, Number(pgoff), Number(pages), shared, (prot & PROT_WRITE) !== 0);
    if (!shared) vma.chargeAnon = (bytes) => this.chargePrivateCopy(bytes);
    dmabuf.mmapInternal(vma);
    dmabuf.vmas.add(vma);
    dmabuf.fget("vma");
    const mapping = new Mapping(this.sys, this, vma, Number(len), Number(off), prot, flags);
    this.maps.add(mapping);
    return mapping;
  }

  /** @internal munmap() */
  dropMapping(m: Mapping): void {
    const dmabuf = m.vma.dmabuf;
    dmabuf.checkPut("munmap");
    m.vma.close();
    dmabuf.vmas.delete(m.vma);
    this.maps.delete(m);
    dmabuf.fput("vma");
  }

  /** The process's live mappings. */
  get mappings(): readonly Mapping[] {
    return [...this.maps];
  }

  // ---- accounting ----

  /** The process's dma-buf memory: what it is charged for and what it holds. */
  /** @internal A charged buffer was released. */
  uncharge(bytes: number): void {
    this.chargedBytes -= bytes;
    this.chargedBuffers--;
  }

  /** Charges (or, negative, uncharges) private-copy bytes; ENOMEM past the limit. */
  private chargePrivateCopy(bytes: number): void {
    const limit = this.dmabufLimitBytes;
    const inUse = this.chargedBytes + this.privateCopyBytes;
    if (bytes > 0 && limit !== null && inUse + bytes > limit) {
      throw new DmaSimError(
        "ENOMEM",
        `VM_FAULT_OOM: a private copy would take process "${this.name}" past its dma-buf limit (${inUse} of ${limit} bytes in use)`,
      );
    }
    this.privateCopyBytes += bytes;
  }

  accounting(): DmaBufAccounting {
    const chargedBytes = this.chargedBytes;
    const chargedBuffers = this.chargedBuffers;
    const held = new Set<DmaBuf>();
    for (const e of this.fdEntries()) if (e.file.kind === "dmabuf") held.add(e.file.dmabuf);
    let mappedBytes = 0;
    for (const m of this.maps) {
      held.add(m.vma.dmabuf);
      mappedBytes += m.vma.pages * this.sys.pageSize;
    }
    let heldBytes = 0;
    for (const b of held) heldBytes += b.size;
    return {
      chargedBytes,
      chargedBuffers,
      limitBytes: this.dmabufLimitBytes,
      heldBuffers: held.size,
      heldBytes,
      mappedBytes,
      privateCopyBytes: this.privateCopyBytes,
    };
  }

  // ---- the kernel side of fds ----

  /**
   * dma_buf_get() in this process's context, as a driver does with an fd the
   * process passed it: the buffer with a new kernel reference (drop it with
   * put()). EBADF for an fd not open, EINVAL for an fd that is not a dma-buf.
   */
  dmaBufGet(fd: number): DmaBuf {
    const e = this.entry("dma_buf_get", fd);
    if (e.file.kind !== "dmabuf") throw new DmaSimError("EINVAL", `dma_buf_get: fd ${fd} is not a dma-buf`);
    e.file.dmabuf.fget("kernel");
    return e.file.dmabuf;
  }

  /**
   * dma_buf_fd(): installs the buffer at the lowest free fd, handing over the
   * caller's reference (the driver must not put() it afterwards). O_CLOEXEC in
   * `flags` sets FD_CLOEXEC.
   */
  dmaBufFd(dmabuf: DmaBuf, flags = O_CLOEXEC | O_RDWR): number {
    const where = "dma_buf_fd";
    this.living(where);
    if (!(dmabuf instanceof DmaBuf) || dmabuf.sys !== this.sys || dmabuf.released)
      throw new DmaSimError("EINVAL", `${where}: not a live dma-buf of this machine`);
    requireInt(where, "flags", flags, 0, 0xffffffff);
    if (dmabuf.refs.kernel < 1) throw new DmaSimError("EINVAL", `${where}: the caller holds no reference to hand over`);
    const fd = this.install(where, { kind: "dmabuf", dmabuf }, (flags & O_CLOEXEC) !== 0);
    dmabuf.refs.kernel--;
    return fd;
  }

  /** What `fd` is: "tty", "heap" (with its name) or "dmabuf" (with its inode), and FD_CLOEXEC. */
  fdInfo(fd: number): { kind: "tty" | "heap" | "dmabuf"; heap?: string; ino?: number; cloexec: boolean } {
    const e = this.entry("fdInfo", fd);
    const f = e.file;
    if (f.kind === "heap") return { kind: "heap", heap: f.heap.name, cloexec: e.cloexec };
    if (f.kind === "dmabuf") return { kind: "dmabuf", ino: f.dmabuf.ino, cloexec: e.cloexec };
    return { kind: "tty", cloexec: e.cloexec };
  }
}

/** dma_buf_ioctl(): SYNC and SET_NAME; anything else is ENOTTY. */
function dmaBufIoctl(dmabuf: DmaBuf, request: number, arg: unknown): number {
  switch (request) {
    case DMA_BUF_IOCTL_SYNC: {
      const where = "DMA_BUF_IOCTL_SYNC";
      if (typeof arg !== "object" || arg === null)
        throw new DmaSimError("EFAULT", `${where}: the argument must be a struct dma_buf_sync object`);
      const flags = cInt(where, "flags", (arg as DmaBufSync).flags ?? 0, 64);
      if ((flags & ~BigInt(DMA_BUF_SYNC_VALID_FLAGS_MASK)) !== 0n)
        throw new DmaSimError("EINVAL", `${where}: unknown flags 0x${flags.toString(16)}`);
      const rw = Number(flags & BigInt(DMA_BUF_SYNC_RW));
      const dir =
        rw === DMA_BUF_SYNC_READ
          ? "from_device"
          : rw === DMA_BUF_SYNC_WRITE
            ? "to_device"
            : rw === DMA_BUF_SYNC_RW
              ? "bidirectional"
              : null;
      if (dir === null)
        throw new DmaSimError("EINVAL", `${where}: flags need DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE`);
      if ((flags & BigInt(DMA_BUF_SYNC_END)) !== 0n) dmabuf.endCpuAccess(dir);
      else dmabuf.beginCpuAccess(dir);
      return 0;
    }
    case DMA_BUF_SET_NAME_A:
    case DMA_BUF_SET_NAME_B:
      dmabuf.setName(arg as string);
      return 0;
    default:
      throw new DmaSimError("ENOTTY", `dma_buf_ioctl: request 0x${request.toString(16)} is not a dma-buf ioctl`);
  }
}
