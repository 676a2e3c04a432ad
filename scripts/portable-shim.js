// The few std/portable builtins the engine uses, as module-local functions that
// esbuild injects into the portable bundle. Same semantics as
// assemblyscript/std/portable/index.js, without defining globals in the host.
export const i8 = (v) => (v << 24) >> 24;
export const i16 = (v) => (v << 16) >> 16;
export const i32 = (v) => v | 0;
export const isize = i32;
export const u8 = (v) => v & 0xff;
export const u16 = (v) => v & 0xffff;
export const u32 = (v) => v >>> 0;
export const usize = u32;
export const bool = (v) => !!v;
export const f32 = Math.fround;
export const f64 = (v) => +v;
export const clz = Math.clz32;
export const ctz = (v) => 32 - Math.clz32(~v & (v - 1));
export const popcnt = (v) => {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
};
export const unchecked = (v) => v;
