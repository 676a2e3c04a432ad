/**
 * The reference pipeline: a camera without an IOMMU captures frames into
 * dma-bufs from its CMA heap; a GPU behind an IOMMU imports each frame and
 * writes a transformed copy into a buffer it exports with deferred allocation;
 * a display without an IOMMU scans that out; a gallery process makes a
 * thumbnail of each frame through mmap, inside DMA_BUF_IOCTL_SYNC brackets.
 *
 * Userspace does what a real program does (open the heap, ioctl, pass fds over
 * a socket, mmap); the drivers do what kernel drivers do (dma_buf_get, attach,
 * map, DMA, unmap, detach, put). Every byte is checked end to end, and copies
 * are counted: none on the device path.
 *
 *   node dist/bindings/examples/pipeline.js [--backend ts] [--frames 4]
 */
import { pathToFileURL } from "node:url";
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_START,
  DMA_HEAP_IOCTL_ALLOC,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  SEEK_END,
  createSystem,
  deferredInfo,
  dmaBufExportDeferred,
  type Backend,
  type Device,
  type DmaBuf,
  type SgTable,
  type System,
} from "../index.ts";

export interface PipelineOptions {
  backend?: Backend;
  /** Frames to capture. Default 4. */
  frames?: number;
  /** Frame size in pixels (RGBA). Default 320 × 240. */
  width?: number;
  height?: number;
  /** Run with the DMA-API checker on. Default true. */
  dmaDebug?: boolean;
}

export interface PipelineResult {
  backend: Backend;
  frames: number;
  frameBytes: number;
  /** Where each stage's memory came from, as the device sees it. */
  placement: {
    /** Camera frames: CMA heap, physically contiguous (one DMA segment), below the camera's mask. */
    camera: { heap: string; segments: number; belowMask: boolean };
    /** GPU imports: DMA segments in its IOVA space. */
    gpu: { segments: number; iova: boolean };
    /** The GPU's output buffer: chosen at the first map for GPU + display. */
    display: { placement: string; segments: number; belowMask: boolean };
  };
  /** Every stage's bytes as expected. */
  checked: { captured: number; transformed: number; scannedOut: number; thumbnails: number };
  /** Copies: CPU copies between buffers, swiotlb bounces, backing migrations. All zero on the device path. */
  copies: { cpu: number; bounces: number; migrations: number; total: number };
  /** move_notify() calls importers got (none: nothing moves). */
  moveNotifies: number;
  /** Bytes the CPU read for thumbnails (reads, not copies). */
  thumbnailReadBytes: number;
  /** DMA-API checker reports, and the first few messages. */
  dmaDebugErrors: number;
  dmaDebugMessages: string[];
  /** bufinfo while the first frame is in flight. */
  bufinfo: string;
  /** Live dma-bufs and pages of the CMA areas in use at the end (all given back). */
  leftover: { dmabufs: number; cmaPagesInUse: number };
  stateHash: string;
}

const MIB = 2 ** 20;
const IOVA_BASE = 0x4000_0000;
const THUMB = 8; // the thumbnail keeps one pixel in 8×8

/** The camera's picture of frame `n`: a gradient that moves. */
function scene(n: number, width: number, height: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      px[i] = (x + n * 7) & 0xff;
      px[i + 1] = (y * 3 + n) & 0xff;
      px[i + 2] = (x ^ y ^ n) & 0xff;
      px[i + 3] = 0xff;
    }
  }
  return px;
}

/** The GPU's work: invert the colour channels, keep alpha. */
function transform(px: Uint8Array): Uint8Array {
  const out = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) out[i] = (i & 3) === 3 ? px[i]! : 255 - px[i]!;
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The device reads `length` bytes through the DMA segments of a mapped table. */
function dmaReadTable(dev: Device, sgt: SgTable, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < sgt.nents && at < length; i++) {
    const e = sgt.entries[i]!;
    const n = Math.min(e.dmaLength!, length - at);
    out.set(dev.dmaRead(e.dmaAddress!, n), at);
    at += n;
  }
  return out;
}

/** The device writes `bytes` through the DMA segments of a mapped table. */
function dmaWriteTable(dev: Device, sgt: SgTable, bytes: Uint8Array): void {
  let at = 0;
  for (let i = 0; i < sgt.nents && at < bytes.length; i++) {
    const e = sgt.entries[i]!;
    const n = Math.min(e.dmaLength!, bytes.length - at);
    dev.dmaWrite(e.dmaAddress!, bytes.subarray(at, at + n));
    at += n;
  }
}

function below(sys: System, dev: Device, sgt: SgTable): boolean {
  return sgt.entries.every((e) => e.pfn * sys.pageSize + e.length - 1 <= dev.dmaLimit);
}

/** Runs the pipeline on a fresh machine and reports what happened. */
export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineResult> {
  const backend = options.backend ?? "wasm";
  const frames = options.frames ?? 4;
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const frameBytes = width * height * 4;
  const sys = await createSystem({
    backend,
    ramBytes: 256 * MIB,
    cma: [
      { name: "reserved", bytes: 32 * MIB }, // the global area: scanout buffers
      { name: "camera", bytes: 16 * MIB, heapUsers: ["camera-hal"] }, // the camera's own, its HAL's heap
    ],
    // Drivers of devices that take whole frames raise their max segment size (dma_set_max_seg_size()).
    devices: [
      { name: "camera", dmaMask: 32, cma: "camera", maxSegmentSize: 0xffffffff }, // no IOMMU: needs contiguous memory
      { name: "gpu", iommu: { base: IOVA_BASE, size: 1024 * MIB }, maxSegmentSize: 0xffffffff },
      { name: "display", dmaMask: 32, maxSegmentSize: 0xffffffff }, // no IOMMU either
    ],
    dmaDebug: options.dmaDebug ?? true,
  });
  const camera = sys.device("camera");
  const gpu = sys.device("gpu");
  const display = sys.device("display");

  // Userspace: the camera HAL allocates, the compositor drives GPU and display, the gallery makes thumbnails.
  const hal = sys.process("camera-hal");
  const compositor = sys.process("compositor");
  const gallery = sys.process("gallery");
  const heapFd = hal.open("/dev/dma_heap/camera", O_RDWR | O_CLOEXEC);

  const checked = { captured: 0, transformed: 0, scannedOut: 0, thumbnails: 0 };
  const placement: PipelineResult["placement"] = {
    camera: { heap: "camera", segments: 0, belowMask: true },
    gpu: { segments: 0, iova: true },
    display: { placement: "none", segments: 0, belowMask: true },
  };
  let thumbnailReadBytes = 0;
  let migrations = 0;
  let moveNotifies = 0;
  let bufinfo = "";

  for (let n = 0; n < frames; n++) {
    // 1. The HAL allocates a frame from the camera's CMA heap and names it.
    const { fd } = hal.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, {
      len: frameBytes,
      fd: 0,
      fdFlags: O_RDWR | O_CLOEXEC,
      heapFlags: 0,
    });
    hal.ioctl(fd, DMA_BUF_SET_NAME, `frame-${n}`);
    const size = hal.lseek(fd, 0, SEEK_END);

    // 2. The camera driver imports the fd and captures into it by DMA.
    const picture = scene(n, width, height);
    {
      const frame = hal.dmaBufGet(fd);
      const att = frame.attach(camera);
      const sgt = frame.mapAttachment(att, "from_device");
      placement.camera.segments = Math.max(placement.camera.segments, sgt.nents);
      placement.camera.belowMask &&= below(sys, camera, sgt);
      dmaWriteTable(camera, sgt, picture);
      frame.unmapAttachment(att, sgt, "from_device");
      frame.detach(att);
      frame.put();
    }

    // 3. The frame goes to the compositor over a socket; the HAL lets go of it.
    const frameFd = hal.sendFd(compositor, fd);
    hal.close(fd);

    // 4. The GPU driver exports an output buffer; nothing is allocated yet.
    const out: DmaBuf = dmaBufExportDeferred(sys, { size, expName: "gpu" });
    const outFd = compositor.dmaBufFd(out);
    compositor.ioctl(outFd, DMA_BUF_SET_NAME, `scanout-${n}`);

    // GPU and display import as dynamic importers (they would get move_notify()).
    // Both attach before anyone maps, so the first map sees both devices.
    const gpuIn = compositor.dmaBufGet(frameFd);
    const gpuOut = compositor.dmaBufGet(outFd);
    const scanout = compositor.dmaBufGet(outFd);
    const importer = { moveNotify: () => void moveNotifies++ };
    const inAtt = gpuIn.dynamicAttach(gpu, importer);
    const outAtt = gpuOut.dynamicAttach(gpu, importer);
    const dispAtt = scanout.dynamicAttach(display, importer);

    // 5. The GPU reads the frame and writes the transformed picture. Its map of
    // the output is the first: the exporter allocates contiguous memory below
    // the display's mask, since the display has no IOMMU.
    const inSgt = gpuIn.mapAttachment(inAtt, "to_device");
    const outSgt = gpuOut.mapAttachment(outAtt, "from_device");
    placement.gpu.segments = Math.max(placement.gpu.segments, inSgt.nents);
    placement.gpu.iova &&= inSgt.entries.slice(0, inSgt.nents).every((e) => e.dmaAddress! >= IOVA_BASE);
    const seen = dmaReadTable(gpu, inSgt, frameBytes);
    if (equal(seen, picture)) checked.captured++;
    dmaWriteTable(gpu, outSgt, transform(seen));
    if (n === 0) bufinfo = sys.readFile("/sys/kernel/debug/dma_buf/bufinfo");
    gpuIn.unmapAttachment(inAtt, inSgt, "to_device");
    gpuOut.unmapAttachment(outAtt, outSgt, "from_device");
    gpuIn.detach(inAtt);
    gpuOut.detach(outAtt);
    gpuIn.put();
    gpuOut.put();

    // 6. The display maps the output and scans it out.
    const dispSgt = scanout.mapAttachment(dispAtt, "to_device");
    const info = deferredInfo(scanout)!;
    placement.display = {
      placement: info.placement,
      segments: dispSgt.nents,
      belowMask: placement.display.belowMask && below(sys, display, dispSgt),
    };
    const shown = dmaReadTable(display, dispSgt, frameBytes);
    if (equal(shown, transform(picture))) {
      checked.transformed++;
      checked.scannedOut++;
    }
    migrations += info.stats.migrations;
    scanout.unmapAttachment(dispAtt, dispSgt, "to_device");
    scanout.detach(dispAtt);
    scanout.put();

    // 7. The gallery gets the frame and makes a thumbnail through mmap, inside SYNC brackets.
    const galleryFd = compositor.sendFd(gallery, frameFd);
    const map = gallery.mmap(galleryFd, size, 0, PROT_READ, MAP_SHARED);
    gallery.ioctl(galleryFd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
    const tw = Math.floor(width / THUMB);
    const th = Math.floor(height / THUMB);
    const thumb = new Uint8Array(tw * th * 4);
    const expected = new Uint8Array(tw * th * 4);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const src = (y * THUMB * width + x * THUMB) * 4;
        thumb.set(map.read(src, 4), (y * tw + x) * 4);
        expected.set(picture.subarray(src, src + 4), (y * tw + x) * 4);
        thumbnailReadBytes += 4;
      }
    }
    gallery.ioctl(galleryFd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ });
    if (equal(thumb, expected)) checked.thumbnails++;
    map.munmap();
    gallery.close(galleryFd);

    // 8. The compositor is done: the last closes release both buffers.
    compositor.close(frameFd);
    compositor.close(outFd);
  }
  hal.close(heapFd);

  const bounces = sys.devices.reduce((s, d) => s + d.counters.bounced, 0);
  const copies = { cpu: 0, bounces, migrations, total: bounces + migrations };
  sys.check();
  return {
    backend,
    frames,
    frameBytes,
    placement,
    checked,
    copies,
    moveNotifies,
    thumbnailReadBytes,
    dmaDebugErrors: sys.dmaDebug?.errorCount() ?? 0,
    dmaDebugMessages: sys.dmaDebug?.printed().slice(0, 5) ?? [],
    bufinfo,
    leftover: {
      dmabufs: sys.dmabufs.length,
      cmaPagesInUse: sys.cmaAreas.reduce((s, a) => s + a.count - a.available, 0),
    },
    stateHash: sys.stateHash(),
  };
}

function report(r: PipelineResult): string {
  const ok = (good: number) => (good === r.frames ? "ok" : `FAILED (${good} of ${r.frames})`);
  const lines = [
    `dmasim reference pipeline (${r.backend}): ${r.frames} frame${r.frames === 1 ? "" : "s"} of ${r.frameBytes} bytes`,
    `  camera   CMA heap "${r.placement.camera.heap}": ${r.placement.camera.segments} DMA segment per frame, below its mask: ${r.placement.camera.belowMask}`,
    `  gpu      through its IOMMU: ${r.placement.gpu.segments} IOVA segment per frame`,
    `  display  GPU output allocated at the first map: ${r.placement.display.placement}, ${r.placement.display.segments} segment, below its mask: ${r.placement.display.belowMask}`,
    `  captured ${ok(r.checked.captured)}, transformed ${ok(r.checked.transformed)}, scanned out ${ok(r.checked.scannedOut)}, thumbnails ${ok(r.checked.thumbnails)}`,
    `  copies on the device path: ${r.copies.total} (CPU ${r.copies.cpu}, swiotlb bounces ${r.copies.bounces}, migrations ${r.copies.migrations}); thumbnails read ${r.thumbnailReadBytes} bytes through mmap`,
    `  dma-debug errors: ${r.dmaDebugErrors}; left over: ${r.leftover.dmabufs} dma-bufs, ${r.leftover.cmaPagesInUse} CMA pages; sys.check() ok; state ${r.stateHash}`,
    ...r.dmaDebugMessages.map((m) => `  ${m}`),
    "",
    "bufinfo while frame 0 was in flight:",
    r.bufinfo,
  ];
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = arg("--backend") ?? "wasm";
  const frames = Number(arg("--frames") ?? 4);
  if ((backend !== "wasm" && backend !== "ts") || !Number.isInteger(frames) || frames < 1) {
    process.stderr.write("usage: node dist/bindings/examples/pipeline.js [--backend wasm|ts] [--frames N]\n");
    process.exit(1);
  }
  const r = await runPipeline({ backend, frames });
  process.stdout.write(report(r));
  const good = Object.values(r.checked).every((v) => v === r.frames) && r.copies.total === 0 && r.dmaDebugErrors === 0;
  process.exitCode = good ? 0 : 1;
}
