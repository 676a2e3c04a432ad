// FNV-1a over 32-bit words, the multiply by the FNV prime spelled as shifts so
// that JS doubles and wasm i32 give the same digest:
// 16777619 = 2^24 + 2^8 + 2^7 + 2^4 + 2^1 + 2^0.

// @ts-ignore: decorator
@inline export const FNV_OFFSET_BASIS: i32 = -2128831035; // 0x811c9dc5

// @ts-ignore: decorator
@inline export function fnvMix(h: i32, w: i32): i32 {
  h ^= w;
  return (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) | 0;
}
