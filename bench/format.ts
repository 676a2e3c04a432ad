// Number formats of the bench output.

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");

// Rates below 100/s (cases whose op takes tens of ms or more) keep two decimals;
// `ref` picks the format, so that the cells of one row are alike.
export const fmtRate = (n: number, ref = n): string => (Math.abs(ref) >= 100 ? fmtInt(n) : n.toFixed(2));

/** "median ± MAD" of a backend's ops/s, formatted after `ref`. */
export const opsCell = (r: { opsPerSec: number; opsPerSecMad: number }, ref = r.opsPerSec): string =>
  `${fmtRate(r.opsPerSec, ref)} ± ${fmtRate(r.opsPerSecMad, ref)}`;
