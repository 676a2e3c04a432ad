/**
 * Fragmentation indexes (extfrag_index, unusable_index) are kept in thousandths,
 * as the kernel computes them; everything that shows one prints it as the
 * kernel's debugfs files do: three decimals, -1.000 … 1.000.
 */

/** Summary keys that hold a fragmentation index in thousandths. */
export const INDEX_KEY = /(^|\.)(extfragIndex|unusableIndex)(\.|$)/;

/** A fragmentation index in thousandths in the kernel's form ("%d.%03d"). */
export function formatIndex(thousandths: number): string {
  return (thousandths / 1000).toFixed(3);
}
