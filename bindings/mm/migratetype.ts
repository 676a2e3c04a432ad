/** Migratetypes by name, indexed by enum migratetype (include/linux/mmzone.h; the engine's MIGRATE_* of assembly/abi.ts). */
import {
  MIGRATE_CMA,
  MIGRATE_HIGHATOMIC,
  MIGRATE_ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  byIndex,
} from "../core/abi.ts";
import { DmaSimError } from "../core/errors.ts";
import { show } from "../core/validate.ts";

export type MigratetypeName = "unmovable" | "movable" | "reclaimable" | "highatomic" | "cma" | "isolate";
/** What a caller may ask the page allocator for (gfp_migratetype()). */
export type Migratetype = "unmovable" | "movable" | "reclaimable";
/** What alloc_contig_range() and isolation accept. */
export type ContigMigratetype = "movable" | "cma";

export const MIGRATETYPES: readonly MigratetypeName[] = byIndex<MigratetypeName>("MIGRATETYPES", MIGRATE_TYPES, {
  [MIGRATE_UNMOVABLE]: "unmovable",
  [MIGRATE_MOVABLE]: "movable",
  [MIGRATE_RECLAIMABLE]: "reclaimable",
  [MIGRATE_HIGHATOMIC]: "highatomic",
  [MIGRATE_CMA]: "cma",
  [MIGRATE_ISOLATE]: "isolate",
});

export { MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE };

export function allocMigratetype(where: string, name: unknown): number {
  const i =
    name === "unmovable"
      ? MIGRATE_UNMOVABLE
      : name === "movable"
        ? MIGRATE_MOVABLE
        : name === "reclaimable"
          ? MIGRATE_RECLAIMABLE
          : -1;
  if (i < 0)
    throw new DmaSimError(
      "EINVAL",
      `${where}: migratetype must be "unmovable", "movable" or "reclaimable", got ${show(name)}`,
    );
  return i;
}

export function contigMigratetype(where: string, name: unknown): number {
  if (name === "movable") return MIGRATE_MOVABLE;
  if (name === "cma") return MIGRATE_CMA;
  throw new DmaSimError("EINVAL", `${where}: migratetype must be "movable" or "cma", got ${show(name)}`);
}
