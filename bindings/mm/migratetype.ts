/** Migratetypes by name, in enum migratetype order (include/linux/mmzone.h). */
import { DmaSimError } from "../core/errors.ts";

export const MIGRATETYPES = ["unmovable", "movable", "reclaimable", "highatomic", "cma", "isolate"] as const;
export type MigratetypeName = (typeof MIGRATETYPES)[number];
/** What a caller may ask the page allocator for (gfp_migratetype()). */
export type Migratetype = "unmovable" | "movable" | "reclaimable";
/** What alloc_contig_range() and isolation accept. */
export type ContigMigratetype = "movable" | "cma";

export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_RECLAIMABLE = 2;
export const MIGRATE_HIGHATOMIC = 3;
export const MIGRATE_CMA = 4;
export const MIGRATE_ISOLATE = 5;

export function allocMigratetype(where: string, name: unknown): number {
  const i = name === "unmovable" ? 0 : name === "movable" ? 1 : name === "reclaimable" ? 2 : -1;
  if (i < 0) throw new DmaSimError("EINVAL", `${where}: migratetype must be "unmovable", "movable" or "reclaimable", got ${String(name)}`);
  return i;
}

export function contigMigratetype(where: string, name: unknown): number {
  if (name === "movable") return MIGRATE_MOVABLE;
  if (name === "cma") return MIGRATE_CMA;
  throw new DmaSimError("EINVAL", `${where}: migratetype must be "movable" or "cma", got ${String(name)}`);
}
