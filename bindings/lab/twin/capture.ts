/**
 * Reading a real kernel's capture directory (the realkernel harness's output:
 * `<phase>/` snapshots of /proc files and kpageflags, `static/`, and
 * `trace.txt` or `trace.txt.gz`). Everything about the machine comes from the
 * capture itself: zones and their spans from zoneinfo, pageblock order and the
 * migratetype names from pagetypeinfo, the highest order from buddyinfo's
 * columns, RAM from iomem, CMA areas from the command line, the kernel from uname.
 */
import { existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DmaSimError } from "../../core/errors.ts";
import { pfnUp } from "../../core/units.ts";

/** One zone as /proc/zoneinfo describes it (pages). */
export interface CaptureZone {
  /** "DMA", "DMA32", "Normal", … */
  name: string;
  startPfn: number;
  spannedPages: number;
  presentPages: number;
  managedPages: number;
  freePages: number;
  /** Watermarks min, low, high (pages). */
  watermarks: { min: number; low: number; high: number };
}

/** /proc/pagetypeinfo, parsed. */
export interface Pagetypeinfo {
  pageblockOrder: number;
  /** Migratetype names in the kernel's enum order, as the "Number of blocks type" header lists them. */
  migratetypes: string[];
  /** free[zone][migratetype] = free blocks per order. */
  free: Record<string, Record<string, number[]>>;
  /** blocks[zone][migratetype] = pageblocks of that type. */
  blocks: Record<string, Record<string, number>>;
}

/** One phase's snapshot (`<phase>/`), read at its `HARNESS_MMSNAP <phase> begin` marker. */
export interface CaptureSnapshot {
  phase: string;
  /** buddyinfo[zone] = free blocks per order. */
  buddyinfo: Record<string, number[]>;
  pagetypeinfo: Pagetypeinfo;
  vmstat: Record<string, number>;
  /** Zones with populated spans (spanned > 0), lowest first. */
  zones: CaptureZone[];
  /** The directory, for the lazily read kpageflags. */
  dir: string;
  /** CMA areas as debugfs showed them (`cma/<name>/`; CONFIG_CMA_DEBUGFS), by name; {} without. */
  cma: Record<string, CaptureCmaDebugfs>;
}

/** One CMA area's debugfs files (mm/cma_debug.c), in pages. */
export interface CaptureCmaDebugfs {
  basePfn: number;
  count: number;
  orderPerBit: number;
  /** Pages allocated (bits set × pages per bit). */
  used: number;
  /** The longest run of free pages. */
  maxchunk: number;
}

/** A CMA area named on the kernel command line (`cma=SIZE[@BASE]`). */
export interface CaptureCmaArea {
  bytes: number;
  baseBytes?: number;
}

export interface Capture {
  dir: string;
  /** `uname -a`. */
  uname: string;
  /** The kernel release (`uname -r`), e.g. "6.1.0-57-amd64". */
  release: string;
  /** The upstream version the release is built from when the version string tells it (Debian's "6.1.192"), else the release's x.y.z. */
  kernelVersion: string;
  cmdline: string;
  /** System RAM ranges from iomem, in pfns [start, end). */
  ramRanges: [number, number][];
  /** CMA areas asked for on the command line (the kernel may lack CONFIG_CMA: see `cmaConfigured`). */
  cmaAreas: CaptureCmaArea[];
  /**
   * The CMA areas the kernel made, where they are (the boot snapshot's debugfs
   * `cma/<name>/`), in base order; [] when the capture has none (no
   * CONFIG_CMA, or no CONFIG_CMA_DEBUGFS).
   */
  cmaLayout: (CaptureCmaDebugfs & { name: string })[];
  /** Whether the kernel has CONFIG_CMA (pagetypeinfo lists a CMA type). */
  cmaConfigured: boolean;
  /** Bytes per page. The harness captures x86-64: 4096. */
  pageSize: number;
  pageblockOrder: number;
  /** MAX_PAGE_ORDER (the highest order, inclusive): buddyinfo's columns minus one. */
  maxOrder: number;
  /** Zones of the first phase's zoneinfo with pages. */
  zones: CaptureZone[];
  /** Phases in the order of the trace's markers (directory order when the trace is not read). */
  phases: CaptureSnapshot[];
  /** `trace.txt` or `trace.txt.gz`. */
  tracePath: string;
}

const PAGE_SIZE = 4096;
/** The harness's phase directories, in the order its init runs them. */
const PHASE_ORDER = [
  "boot",
  "after_workload",
  "after_compact",
  "after_cma_alloc",
  "after_cma_freeodd",
  "after_cma_free",
];

async function text(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new DmaSimError("ENOENT", `twin: the capture has no ${what} (${path})`);
  }
}

/** "Node 0, zone      DMA      0      0 …" */
export function parseBuddyinfo(body: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of body.split("\n")) {
    const m = /^Node\s+\d+,\s+zone\s+(\S+)\s+([\d\s]+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.trim().split(/\s+/).map(Number);
  }
  return out;
}

export function parsePagetypeinfo(body: string): Pagetypeinfo {
  const order = /Page block order:\s*(\d+)/.exec(body);
  if (!order) throw new DmaSimError("EINVAL", 'twin: pagetypeinfo has no "Page block order:" line');
  const free: Pagetypeinfo["free"] = {};
  const blocks: Pagetypeinfo["blocks"] = {};
  let migratetypes: string[] = [];
  for (const raw of body.split("\n")) {
    const line = raw.trim();
    const f = /^Node\s+\d+,\s+zone\s+(\S+),\s+type\s+(\S+)\s+([\d\s]+)$/.exec(line);
    if (f) {
      (free[f[1]!] ??= {})[f[2]!] = f[3]!.trim().split(/\s+/).map(Number);
      continue;
    }
    const h = /^Number of blocks type\s+(.*)$/.exec(line);
    if (h) {
      migratetypes = h[1]!.trim().split(/\s+/);
      continue;
    }
    // CONFIG_PAGE_OWNER adds "Number of mixed blocks", in the same shape: not block counts.
    if (line.startsWith("Number of mixed blocks")) break;
    const b = /^Node\s+\d+,\s+zone\s+(\S+)\s+([\d\s]+)$/.exec(line);
    if (b && migratetypes.length > 0) {
      const counts = b[2]!.trim().split(/\s+/).map(Number);
      blocks[b[1]!] = Object.fromEntries(migratetypes.map((mt, i) => [mt, counts[i] ?? 0]));
    }
  }
  if (migratetypes.length === 0)
    throw new DmaSimError("EINVAL", 'twin: pagetypeinfo has no "Number of blocks type" header');
  return { pageblockOrder: Number(order[1]), migratetypes, free, blocks };
}

export function parseVmstat(body: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of body.split("\n")) {
    const m = /^(\w+)\s+(-?\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** /proc/zoneinfo's zones (only those with spanned pages). */
export function parseZoneinfo(body: string): CaptureZone[] {
  const zones: CaptureZone[] = [];
  for (const part of body.split(/^(?=Node\s+\d+,\s+zone\s+)/m)) {
    const head = /^Node\s+\d+,\s+zone\s+(\S+)/.exec(part);
    if (!head) continue;
    const num = (re: RegExp): number => {
      const m = re.exec(part);
      return m ? Number(m[1]) : 0;
    };
    const zone: CaptureZone = {
      name: head[1]!,
      startPfn: num(/start_pfn:\s+(\d+)/),
      spannedPages: num(/\bspanned\s+(\d+)/),
      presentPages: num(/\bpresent\s+(\d+)/),
      managedPages: num(/\bmanaged\s+(\d+)/),
      freePages: num(/pages free\s+(\d+)/),
      watermarks: { min: num(/\bmin\s+(\d+)/), low: num(/\blow\s+(\d+)/), high: num(/\bhigh\s+(\d+)/) },
    };
    if (zone.spannedPages > 0) zones.push(zone);
  }
  return zones;
}

/** Top-level "System RAM" ranges of /proc/iomem, in pfns [start, end). */
export function parseIomemRam(body: string, pageSize: number): [number, number][] {
  const out: [number, number][] = [];
  for (const line of body.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) : System RAM$/i.exec(line);
    if (!m) continue;
    const start = Number.parseInt(m[1]!, 16);
    const end = Number.parseInt(m[2]!, 16) + 1;
    out.push([pfnUp(start, pageSize), Math.floor(end / pageSize)]);
  }
  return out;
}

/** Parses a memparse() size: digits with an optional K, M, G or T suffix. */
function memparse(s: string): number {
  const m = /^(\d+)([KMGT]?)$/i.exec(s);
  if (!m) return NaN;
  const shift = { "": 0, K: 10, M: 20, G: 30, T: 40 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G" | "T"];
  return Number(m[1]) * 2 ** shift;
}

/** `cma=SIZE[@BASE]` areas of a kernel command line (the `cma=` parameter names one area). */
export function parseCmdlineCma(cmdline: string): CaptureCmaArea[] {
  const out: CaptureCmaArea[] = [];
  for (const token of cmdline.split(/\s+/)) {
    const m = /^cma=([^@]+)(?:@(.+))?$/.exec(token);
    if (!m) continue;
    const bytes = memparse(m[1]!);
    if (!(bytes > 0)) continue;
    const area: CaptureCmaArea = { bytes };
    if (m[2] !== undefined) {
      const base = memparse(m[2]);
      if (base >= 0) area.baseBytes = base;
    }
    out.push(area);
  }
  return out;
}

/** "Linux host 6.1.0-57-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26) x86_64 GNU/Linux" */
export function parseUname(uname: string): { release: string; kernelVersion: string } {
  const release = uname.trim().split(/\s+/)[2] ?? "";
  const distro = /#\S+.*?\s(\d+\.\d+\.\d+)(?:[-+~]\S*)?\s+\(/.exec(uname);
  const base = /^(\d+\.\d+(?:\.\d+)?)/.exec(release);
  return { release, kernelVersion: distro?.[1] ?? base?.[1] ?? release };
}

async function readSnapshot(dir: string, phase: string): Promise<CaptureSnapshot> {
  const at = join(dir, phase);
  const [buddy, ptype, vmstat, zoneinfo] = await Promise.all([
    text(join(at, "buddyinfo"), `${phase}/buddyinfo`),
    text(join(at, "pagetypeinfo"), `${phase}/pagetypeinfo`),
    text(join(at, "vmstat"), `${phase}/vmstat`).catch(() => ""),
    text(join(at, "zoneinfo"), `${phase}/zoneinfo`),
  ]);
  return {
    phase,
    buddyinfo: parseBuddyinfo(buddy),
    pagetypeinfo: parsePagetypeinfo(ptype),
    vmstat: parseVmstat(vmstat),
    zones: parseZoneinfo(zoneinfo),
    dir: at,
    cma: await readCmaDebugfs(join(at, "cma"), `${phase}/cma`),
  };
}

/** `<phase>/cma/<name>/{base_pfn,count,order_per_bit,used,maxchunk}`: one decimal number each. */
async function readCmaDebugfs(dir: string, what: string): Promise<Record<string, CaptureCmaDebugfs>> {
  const out: Record<string, CaptureCmaDebugfs> = {};
  if (!existsSync(dir)) return out;
  for (const name of (await readdir(dir)).sort()) {
    const num = async (file: string): Promise<number> => {
      const body = (await text(join(dir, name, file), `${what}/${name}/${file}`)).trim();
      if (!/^\d+$/.test(body))
        throw new DmaSimError("EINVAL", `twin: ${what}/${name}/${file} is not a number: ${body}`);
      return Number(body);
    };
    out[name] = {
      basePfn: await num("base_pfn"),
      count: await num("count"),
      orderPerBit: await num("order_per_bit"),
      used: await num("used"),
      maxchunk: await num("maxchunk"),
    };
  }
  return out;
}

/** A snapshot's kpageflags file as bytes (8 per pfn, little-endian; `kpageflags` or `kpageflags.gz`). */
async function readKpageflags(snapshot: CaptureSnapshot): Promise<Buffer> {
  const plain = join(snapshot.dir, "kpageflags");
  // kpageflags.gz: a capture shrunk for storage (the file is mostly runs of equal words).
  const path = existsSync(plain) || !existsSync(plain + ".gz") ? plain : plain + ".gz";
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
    if (path.endsWith(".gz")) bytes = gunzipSync(bytes);
  } catch {
    throw new DmaSimError("ENOENT", `twin: the capture has no ${snapshot.phase}/kpageflags (${path})`);
  }
  if (bytes.length % 8 !== 0)
    throw new DmaSimError("EINVAL", `twin: ${path}: ${bytes.length} bytes is not a whole number of 8-byte words`);
  return bytes;
}

/** Bit `bit` (< 32) of pfn's kpageflags word. */
function kpfBit(bytes: Buffer, pfn: number, bit: number): number {
  return (bytes[pfn * 8 + (bit >> 3)]! >> (bit & 7)) & 1;
}

// include/uapi/linux/kernel-page-flags.h
const KPF_LRU = 5;
const KPF_BUDDY = 10;
const KPF_COMPOUND_HEAD = 15;
const KPF_COMPOUND_TAIL = 16;

/**
 * The free pfns of a snapshot: every page with KPF_BUDDY in its kpageflags
 * word. 6.1 marks a free block's head and tails; pages on per-cpu lists are
 * not marked.
 */
export async function readFreePfns(snapshot: CaptureSnapshot): Promise<Uint8Array> {
  const bytes = await readKpageflags(snapshot);
  const free = new Uint8Array(bytes.length / 8);
  for (let pfn = 0; pfn < free.length; pfn++) free[pfn] = kpfBit(bytes, pfn, KPF_BUDDY);
  return free;
}

/**
 * The folios on an LRU list at a snapshot (KPF_LRU): `order + 1` at each
 * folio's head pfn, 0 elsewhere. These are the pages compaction and
 * alloc_contig_range() can migrate (isolate_migratepages_block() takes LRU
 * folios), and the ones move_freepages_block() counts as movable. A compound
 * head's order is its run of KPF_COMPOUND_TAIL pages, when that makes an
 * aligned power of two; otherwise its pages count as order-0 folios.
 */
export async function readLruFolios(snapshot: CaptureSnapshot): Promise<Uint8Array> {
  const bytes = await readKpageflags(snapshot);
  const nrPages = bytes.length / 8;
  const heads = new Uint8Array(nrPages);
  for (let pfn = 0; pfn < nrPages;) {
    if (!kpfBit(bytes, pfn, KPF_LRU)) {
      pfn++;
      continue;
    }
    let pages = 1;
    if (kpfBit(bytes, pfn, KPF_COMPOUND_HEAD))
      while (pfn + pages < nrPages && kpfBit(bytes, pfn + pages, KPF_COMPOUND_TAIL)) pages++;
    const order = Math.log2(pages);
    if (Number.isInteger(order) && pfn % pages === 0) heads[pfn] = order + 1;
    // Not an aligned power of two: each of its pages an order-0 folio.
    else heads.fill(1, pfn, pfn + pages);
    pfn += pages;
  }
  return heads;
}

/**
 * Reads a capture directory. Bad input (no directory, no trace, no boot
 * snapshot, unparsable files) is a DmaSimError naming what is missing.
 */
export async function readCapture(dir: string): Promise<Capture> {
  if (typeof dir !== "string" || dir.length === 0)
    throw new DmaSimError("EINVAL", "twin: the capture directory must be a non-empty path");
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DmaSimError("ENOENT", `twin: no capture directory ${JSON.stringify(dir)}`);
  const tracePath = ["trace.txt", "trace.txt.gz"].map((f) => join(dir, f)).find((p) => existsSync(p));
  if (tracePath === undefined)
    throw new DmaSimError("ENOENT", `twin: ${JSON.stringify(dir)} holds no trace.txt or trace.txt.gz`);
  if (!existsSync(join(dir, "boot", "buddyinfo")))
    throw new DmaSimError("ENOENT", `twin: ${JSON.stringify(dir)} holds no boot/ snapshot (boot/buddyinfo)`);
  const phases: CaptureSnapshot[] = [];
  for (const phase of PHASE_ORDER) {
    if (existsSync(join(dir, phase, "buddyinfo"))) phases.push(await readSnapshot(dir, phase));
  }
  const boot = phases[0]!;
  const uname = (await text(join(dir, "static", "uname"), "static/uname").catch(() => "")).trim();
  const cmdline = (await text(join(dir, "static", "cmdline"), "static/cmdline").catch(() => "")).trim();
  const iomem = await text(join(dir, "static", "iomem"), "static/iomem").catch(() => "");
  const { release, kernelVersion } = parseUname(uname);
  const columns = Object.values(boot.buddyinfo)[0]?.length ?? 0;
  if (columns === 0) throw new DmaSimError("EINVAL", `twin: ${boot.dir}/buddyinfo lists no zone`);
  if (boot.zones.length === 0) throw new DmaSimError("EINVAL", `twin: ${boot.dir}/zoneinfo lists no populated zone`);
  const migratetypes = boot.pagetypeinfo.migratetypes;
  return {
    dir,
    uname,
    release,
    kernelVersion,
    cmdline,
    ramRanges: parseIomemRam(iomem, PAGE_SIZE),
    cmaAreas: parseCmdlineCma(cmdline),
    cmaLayout: Object.entries(boot.cma)
      .map(([name, a]) => ({ name, ...a }))
      .sort((a, b) => a.basePfn - b.basePfn),
    cmaConfigured: migratetypes.includes("CMA"),
    pageSize: PAGE_SIZE,
    pageblockOrder: boot.pagetypeinfo.pageblockOrder,
    maxOrder: columns - 1,
    zones: boot.zones,
    phases,
    tracePath,
  };
}
