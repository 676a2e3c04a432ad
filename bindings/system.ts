/**
 * The one wiring point: createSystem() assembles a machine from its options,
 * layer by layer (engine, mm, dma, dma-buf, processes, files), and System is
 * the face it returns: the kernel-side API of mm (which it extends) plus the
 * devices, dma-buf and userspace of the layers above. Nothing below imports
 * this module; each subsystem registers its files, invariants and hashed state
 * in the machine's registry (core/registry.ts).
 */
import { loadEngine, type EngineInstance } from "./core/backend.ts";
import { DmaSimError, errnoName } from "./core/errors.ts";
import { show } from "./core/validate.ts";
import { pfnUp } from "./core/units.ts";
import type { DmaDebug } from "./dma/debug.ts";
import { DmaSubsystem } from "./dma/dma.ts";
import type { Device } from "./dma/device.ts";
import type { AtomicPool } from "./dma/pool.ts";
import { IO_TLB_SIZE, SwiotlbPool } from "./dma/swiotlb.ts";
import { dmaBufList, registerDmaBuf, type DmaBuf } from "./dma-buf/dma-buf.ts";
import { registerProcFiles } from "./fs/procfs.ts";
import { Mm, type Geometry } from "./mm/mm.ts";
import { resolveOptions, type SystemOptions } from "./options.ts";
import type { KernelVersion } from "./mm/mm.ts";
import { KERNEL_6_1, KERNEL_6_12, KERNEL_6_18 } from "./core/abi.generated.ts";

/** createSystem's `kernel` → the engine's profile (KERNEL_* of assembly/abi.ts). */
const KERNEL_PROFILE_OF: Record<KernelVersion, number> = {
  "6.1": KERNEL_6_1,
  "6.12": KERNEL_6_12,
  "6.18": KERNEL_6_18,
};
import { createProcess, registerProcesses, type Process, type ProcessOptions } from "./uapi/process.ts";

export type {
  AdvanceResult,
  AllocFlags,
  KcompactdState,
  KswapdState,
  PageInfo,
  Policy,
  SystemStats,
  ZoneInfo,
  ZoneName,
  ZoneReserves,
  SwapInfo,
} from "./mm/mm.ts";

/** Creates a machine: validates options, loads an engine, declares CMA areas and boots. */
export async function createSystem(options: SystemOptions = {}): Promise<System> {
  const o = resolveOptions(options);
  const inst = await loadEngine(o.backend);
  const e = inst.engine;
  if (e.init(o.nrPages, o.pageShift, o.maxOrder, o.pageblockOrder, o.storeContents ? o.ramBytes : 0) < 0) {
    throw new DmaSimError("ENOMEM", `createSystem: cannot reserve ${o.ramBytes} bytes of RAM contents`);
  }
  if (e.setKernelProfile(KERNEL_PROFILE_OF[o.kernel]) < 0) {
    throw new DmaSimError("EINVAL", `createSystem: the engine has no profile for kernel ${o.kernel}`);
  }
  if (e.setCpus(o.cpus, o.pcp) < 0) throw new DmaSimError("EINVAL", `createSystem: cpus must be 1..256, got ${o.cpus}`);
  if (e.setZones(o.dmaEndPfn, o.dma32EndPfn) < 0) {
    throw new DmaSimError("EINVAL", "createSystem: zone boundaries must be pageblock-aligned and ascending");
  }
  o.cma.forEach((area, i) => {
    const pages = pfnUp(area.bytes, o.pageSize);
    const base = (area.base ?? 0) / o.pageSize;
    const limit = Math.min((area.limit ?? 0) / o.pageSize, o.nrPages);
    const align = area.alignment === undefined || area.alignment < o.pageSize ? 0 : area.alignment / o.pageSize;
    if (pages > o.nrPages || base >= o.nrPages) {
      throw new DmaSimError("EINVAL", `createSystem: cma[${i}] "${area.name}" does not fit in RAM`);
    }
    const ret = e.cmaDeclare(base, pages, limit, Math.min(align, 2 ** 30), area.orderPerBit ?? 0);
    if (ret < 0) {
      const why: Record<string, string> = {
        EINVAL: "base, size and bit granularity must be aligned (a pageblock at least)",
        EBUSY: "the range overlaps another area",
        ENOMEM: "no room below the limit",
        ENOSPC: "too many CMA areas (CONFIG_CMA_AREAS)",
      };
      const code = errnoName(ret);
      throw DmaSimError.fromErrno(
        ret,
        `createSystem: cma[${i}] "${area.name}" cannot be declared: ${why[code] ?? code}`,
      );
    }
  });
  // swiotlb_init(): the bounce pool, reserved below 4 GiB after the CMA areas.
  let swiotlbBase = -1;
  if (o.swiotlbBytes > 0) {
    const pages = pfnUp(o.swiotlbBytes, o.pageSize);
    // Below 4 GiB, and below the narrowest direct-mapped device's reach so that
    // its bounce buffers are usable (an ISA-style 24-bit device bounces below 16 MiB).
    const narrowest = Math.min(2 ** 32, ...o.devices.filter((d) => !d.iommu).map((d) => 2 ** (d.dmaMask ?? 32)));
    swiotlbBase = e.memblockAllocLow(pages, 1, Math.min(o.nrPages, Math.floor(narrowest / o.pageSize)));
    if (swiotlbBase < 0)
      throw new DmaSimError("ENOMEM", `createSystem: no room below 4 GiB for a ${o.swiotlbBytes}-byte swiotlb pool`);
  }
  const [r0, r1, r2, r3] = o.lowmemReserveRatio as [number, number, number, number];
  e.boot(o.minFreeKbytes, o.watermarkScaleFactor, r0, r1, r2, r3);
  // A boot-time vm.percpu_pagelist_high_fraction (validated above), as a sysctl.conf write would set it.
  if (o.percpuPagelistHighFraction !== 0) e.setPercpuPagelistHighFractionValue(o.percpuPagelistHighFraction);
  // swapon(8) of the swap device at boot, before any user page exists.
  if (o.swapBytes > 0 && e.swapOn(o.swapBytes / o.pageSize) < 0)
    throw new DmaSimError("EINVAL", `createSystem: swapBytes ${o.swapBytes} cannot be swapped on`);
  o.cma.forEach((area, i) => {
    if (e.cmaActivateArea(i) < 0) {
      throw new DmaSimError(
        "EINVAL",
        `createSystem: CMA area "${area.name}" could not be activated: it spans two zones`,
      );
    }
  });
  const swiotlb =
    swiotlbBase >= 0 ? new SwiotlbPool(swiotlbBase * o.pageSize, o.swiotlbBytes / IO_TLB_SIZE, o.pageSize) : null;
  const sys = new System(
    inst,
    o.cma.map((a) => a.name),
    {
      ramBytes: o.ramBytes,
      pageSize: o.pageSize,
      maxOrder: o.maxOrder,
      pageblockOrder: o.pageblockOrder,
      storeContents: o.storeContents,
      seed: o.seed,
      kernel: o.kernel,
      faultInjection: o.faultInjection,
      cacheLineBytes: !o.cacheModel || !o.storeContents ? 0 : o.cacheModel === true ? 64 : o.cacheModel.lineBytes,
    },
    (mm) => new DmaSubsystem(mm, o.devices, swiotlb, DmaSubsystem.debugFor(o.dmaDebug)),
  );
  if (swiotlb) swiotlb.faults = sys.faultInjection;
  for (const area of o.cma) if (area.heapUsers) sys.cmaHeapUsers.set(area.name, Object.freeze([...area.heapUsers]));
  if (!o.compaction) sys.setPolicy({ compaction: false });
  // The boot value: kcompactd's first wait uses it, no sysctl write wakes it.
  e.setCompactionProactiveness(o.compactionProactiveness, false);
  // A boot-time vm.defrag_mode (validated above: 6.18 only).
  if (o.defragMode !== 0 && e.setDefragMode(o.defragMode) < 0)
    throw new DmaSimError("EINVAL", `createSystem: the engine refused defragMode ${o.defragMode}`);
  return sys;
}

/** One simulated machine. */
export class System extends Mm {
  private readonly dma: DmaSubsystem;

  /** @internal Use createSystem(). */
  constructor(inst: EngineInstance, areaNames: string[], g: Geometry, dma: (mm: Mm) => DmaSubsystem) {
    super(inst, areaNames, g);
    this.dma = dma(this);
    registerDmaBuf(this, this.dma);
    registerProcesses(this);
    registerProcFiles(this);
  }

  // ---- DMA -------------------------------------------------------------------------------------

  /** The device named `name`. */
  device(name: string): Device {
    const dev = this.dma.devices.find((d) => d.name === name);
    if (!dev) throw new DmaSimError("ENODEV", `device: no device named ${show(name)}`);
    return dev;
  }

  /** All devices. */
  get devices(): readonly Device[] {
    return this.dma.devices;
  }

  /** The swiotlb bounce pool, or null. */
  get swiotlb(): SwiotlbPool | null {
    return this.dma.swiotlb;
  }

  /** The DMA-API checker (CONFIG_DMA_API_DEBUG), when enabled with `dmaDebug`. */
  get dmaDebug(): DmaDebug | null {
    return this.dma.dmaDebug;
  }

  /** The atomic DMA pools (kernel, DMA, DMA32 as the zones allow). */
  get atomicPools(): readonly AtomicPool[] {
    return this.dma.atomicPools;
  }

  // ---- dma-buf and userspace -------------------------------------------------------------------

  /**
   * A userspace process (uapi/process.ts): its own fd table with fds 0–2 taken
   * by its standard streams, /dev/dma_heap/* to open, and an optional cap on
   * the dma-buf memory it may allocate (`dmabufLimitBytes`).
   */
  process(name: string, options: ProcessOptions = {}): Process {
    return createProcess(this, name, options);
  }

  /** Live dma-bufs, newest first (db_list, as bufinfo lists them). */
  get dmabufs(): readonly DmaBuf[] {
    return dmaBufList(this);
  }

  // ---- files, invariants, digest ---------------------------------------------------------------

  /** Reads a virtual /proc, sysfs or debugfs file (fs/procfs.ts lists them). */
  readFile(path: string): string {
    if (typeof path !== "string") throw new DmaSimError("EINVAL", "readFile: path must be a string");
    const text = this.registry.readFile(path);
    if (text === undefined) throw new DmaSimError("ENOENT", `readFile: ${path}: no such file`);
    return text;
  }

  /**
   * Writes a virtual /proc/sys file, as `echo text > path` would (fs/procfs.ts
   * lists the writable ones: /proc/sys/vm/compact_memory,
   * /proc/sys/vm/extfrag_threshold, /proc/sys/vm/compaction_proactiveness), and the
   * fault-injection attributes under /sys/kernel/debug/fail_* (core/fault-inject.ts). A value the kernel refuses is EINVAL, a
   * read-only file EACCES, an unknown one ENOENT; none changes the machine.
   */
  writeFile(path: string, text: string): void {
    if (typeof path !== "string") throw new DmaSimError("EINVAL", "writeFile: path must be a string");
    if (typeof text !== "string") throw new DmaSimError("EINVAL", "writeFile: text must be a string");
    if (this.registry.writeFile(path, text)) return;
    if (this.registry.readFile(path) !== undefined)
      throw new DmaSimError("EACCES", `writeFile: ${path}: permission denied (read-only)`);
    throw new DmaSimError("ENOENT", `writeFile: ${path}: no such file`);
  }

  /** Verifies every invariant, the engine's first, then each subsystem's; throws a DmaSimError naming the first broken one. */
  check(): void {
    const msg = this.engine.check() || this.registry.check();
    if (msg.length > 0) throw new DmaSimError("EUCLEAN", `check: ${msg}`);
  }

  /**
   * A digest of the whole machine's state (8 hex digits): the engine's, then
   * each subsystem's (devices, swiotlb, IOMMU faults, the cache model,
   * dma-debug, dma-bufs, processes). Equal on both backends for the same operations.
   */
  stateHash(): string {
    return this.registry.hash(this.engine.hash()).toString(16).padStart(8, "0");
  }
}
