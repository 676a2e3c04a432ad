/**
 * The backend seam: loads one engine instance, either the WASM build (asc) or
 * the same AssemblyScript compiled to JS (tsc against std/portable). Both export
 * the same numeric functions; only access to RAM contents differs, and this
 * module hides that behind `ramView`.
 */

import createPortableEngine from "dmasim/engine/portable";

export type Backend = "wasm" | "ts";

/** The engine's exports (assembly/index.ts), as both builds provide them. */
export interface Engine {
  init(pages: number, pageShift: number, maxOrder: number, pageblockOrder: number, ramBytes: number): number;
  cmaDeclare(basePfn: number, pages: number, limitPfn: number, alignPages: number, orderPerBit: number): number;
  setZones(dmaEndPfn: number, dma32EndPfn: number): number;
  memblockAllocLow(pages: number, alignPages: number, limitPfn: number): number;
  boot(minKbytes: number, scaleFactor: number, r0: number, r1: number, r2: number, r3: number): void;
  cmaActivateArea(id: number): number;
  setCmaBalance(on: boolean | number): void;
  setNoFragment(on: boolean | number): void;
  setClaimThreshold(pages: number): void;
  allocPages(order: number, mt: number, highestZone: number, gfp: number): number;
  lastZone(): number;
  bitmapCreate(nbits: number): number;
  bitmapUpdate(id: number, start: number, nr: number, on: boolean | number): number;
  bitmapTestBit(id: number, bit: number): number;
  bitmapZeroArea(id: number, start: number, nr: number, alignMask: number, alignOffset: number): number;
  bitmapNextZero(id: number, start: number): number;
  bitmapNextSet(id: number, start: number): number;
  batchReserve(n: number): void;
  batchPtr(): number;
  batchArray(): Int32Array;
  allocPagesBatch(count: number, order: number, mt: number, highestZone: number, gfp: number): number;
  freePagesBatch(count: number, order: number): number;
  zoneOfPfn(pfn: number): number;
  zoneStartPfn(z: number): number;
  zoneEndPfn(z: number): number;
  zoneFree(z: number): number;
  zoneFreeCma(z: number): number;
  zoneCma(z: number): number;
  zoneWmarkPages(z: number, which: number): number;
  zoneProtection(z: number, highest: number): number;
  zonePgallocPages(z: number): number;
  minFreeKbytesInForce(): number;
  checkFreePages(pfn: number, order: number): number;
  freePages(pfn: number, order: number): number;
  ownerOf(pfn: number): number;
  ownerPfn(id: number): number;
  pin(id: number, longterm: number): number;
  unpin(id: number, longterm: number): number;
  migrateOwner(id: number): number;
  isolateRange(startPfn: number, endPfn: number, mt: number): number;
  undoIsolateRange(startPfn: number, endPfn: number, mt: number): number;
  testIsolated(startPfn: number, endPfn: number): number;
  allocContigRange(startPfn: number, endPfn: number, mt: number): number;
  freeContig(pfn: number, count: number): number;
  cmaAreas(): number;
  cmaAllocPages(id: number, count: number, alignOrder: number): number;
  cmaReleasePages(id: number, pfn: number, count: number): number;
  cmaLastRet(): number;
  cmaBasePfn(id: number): number;
  cmaCount(id: number): number;
  cmaOrderPerBit(id: number): number;
  cmaAvailable(id: number): number;
  cmaStat(id: number, stat: number): number;
  cmaNextZeroBit(id: number, start: number): number;
  cmaNextSetBit(id: number, start: number): number;
  cmaBitmapBits(id: number): number;
  freePagesCount(): number;
  freeCmaPagesCount(): number;
  freeBlocksOf(zone: number, order: number, mt: number): number;
  pageblockMigratetype(pfn: number): number;
  vmEvent(index: number): number;
  allocFailures(order: number): number;
  pageState(pfn: number): number;
  pagePins(pfn: number): number;
  pageblockFreePages(pfn: number): number;
  check(): string;
  /** Test hook: breaks one invariant on purpose (assembly/check.ts). */
  debugCorrupt(kind: number): void;
  hash(): number;
  ramPointer(): number;
  ramPortableArray(): Uint8Array;
  // scatterlists
  sgReservePages(n: number): void;
  sgFromPages(nPages: number, offset: number, size: number, maxSegment: number, hasPrv: number, prvPfn: number, prvOffset: number, prvLength: number): number;
  sgPagesPtr(): number;
  sgPfnPtr(): number;
  sgOffsetPtr(): number;
  sgLengthPtr(): number;
  sgPagesArray(): Int32Array;
  sgPfnArray(): Int32Array;
  sgOffsetArray(): Uint32Array;
  sgLengthArray(): Uint32Array;
  sgPrvLen(): number;
  // IOMMU
  domainCreate(basePage: number, sizePages: number, flat: number): number;
  iovaAlloc(d: number, count: number): number;
  iovaFree(d: number, iovaPage: number, count: number): number;
  iommuMap(d: number, iovaPage: number, pfn: number, count: number, prot: number): number;
  iommuUnmap(d: number, iovaPage: number, count: number): number;
  iovaToPfn(d: number, iovaPage: number): number;
  iovaProt(d: number, iovaPage: number): number;
  domainPtes(d: number, sizeCode: number): number;
  domainPages(d: number): number;
  domainBasePage(d: number): number;
  domainExtensions(d: number): number;
  iovaPagesInUse(d: number): number;
  domains(): number;
  lastMapPtes(sizeCode: number): number;
}

type TypedArrayCtor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T };

/** One engine instance and a way to see its RAM. */
export interface EngineInstance {
  readonly backend: Backend;
  readonly engine: Engine;
  /** A live view of RAM bytes [offset, offset + length); valid until the next engine call. */
  ramView(offset: number, length: number): Uint8Array;
  /**
   * A live view of an engine buffer: on WASM built from `pointer()` into linear
   * memory, on the portable build the array itself. Valid until the next engine call.
   */
  bufferView<T extends Int32Array | Uint32Array>(ctor: TypedArrayCtor<T>, pointer: () => number, array: () => T, length: number): T;
}

let wasmModule: Promise<WebAssembly.Module> | undefined;

async function compileWasm(): Promise<WebAssembly.Module> {
  const url = new URL("../../engine/engine.wasm", import.meta.url);
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  return WebAssembly.compileStreaming(fetch(url));
}

interface RawBindings {
  instantiate(module: WebAssembly.Module, imports?: object): Promise<Engine & { memory: WebAssembly.Memory }>;
}

/** Creates a fresh engine instance: two instances never share state. */
export async function loadEngine(backend: Backend): Promise<EngineInstance> {
  if (backend === "wasm") {
    wasmModule ??= compileWasm();
    const bindings = (await import(new URL("../../engine/engine.js", import.meta.url).href)) as RawBindings;
    const engine = await bindings.instantiate(await wasmModule, {});
    const memory = engine.memory;
    return {
      backend,
      engine,
      // memory.buffer changes identity when memory grows: build the view per call.
      ramView: (offset, length) => new Uint8Array(memory.buffer, engine.ramPointer() + offset, length),
      bufferView: (ctor, pointer, _array, length) => new ctor(memory.buffer, pointer(), length),
    };
  }
  return portableInstance();
}

/** @internal A fresh portable engine instance, created synchronously (the build is plain JS). */
export function portableInstance(): EngineInstance {
  const engine = createPortableEngine() as Engine;
  return {
    backend: "ts",
    engine,
    ramView: (offset, length) => engine.ramPortableArray().subarray(offset, offset + length),
    bufferView: (_ctor, _pointer, array, length) => array().subarray(0, length) as never,
  };
}
