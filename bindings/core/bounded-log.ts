/**
 * Logs that keep the newest entries only: the kernel prints a fault or a
 * DMA-API error and forgets it (dmesg is a ring), so a long run must not grow
 * without bound. The caller keeps the running total beside the log.
 */

/** Appends `item`, dropping the oldest entry once the log holds more than `limit`. */
export function appendBounded<T>(log: T[], item: T, limit: number): void {
  log.push(item);
  if (log.length > limit) log.shift();
}
