/**
 * Text of byte ranges, for the trace readers' hot paths. Node's Buffer slices
 * strings out of a Uint8Array without a copy or a decoder call; elsewhere (the
 * browser build) the standard TextDecoder and String.fromCharCode do the same
 * job. Buffer is looked up as a global, not imported, so that the browser build
 * stays free of node: modules.
 */
type SliceFn = (this: Uint8Array, from: number, to: number) => string;
const nodeBuffer = (globalThis as { Buffer?: { prototype: { latin1Slice?: SliceFn; utf8Slice?: SliceFn } } }).Buffer;
const nodeLatin1 = nodeBuffer?.prototype.latin1Slice;
const nodeUtf8 = nodeBuffer?.prototype.utf8Slice;
const utf8Decoder = new TextDecoder();

/** Latin-1 text of bytes[from, to) (callers pass ASCII). */
export function latin1Text(bytes: Uint8Array, from: number, to: number): string {
  if (nodeLatin1 !== undefined) return nodeLatin1.call(bytes, from, to);
  let text = "";
  // In slices, so that a long range never overflows the argument list.
  for (let at = from; at < to; at += 4096) text += String.fromCharCode(...bytes.subarray(at, Math.min(to, at + 4096)));
  return text;
}

/** UTF-8 text of bytes[from, to); bad sequences become U+FFFD, as both decoders do. */
export function utf8Text(bytes: Uint8Array, from: number, to: number): string {
  if (nodeUtf8 !== undefined) return nodeUtf8.call(bytes, from, to);
  return utf8Decoder.decode(bytes.subarray(from, to));
}
