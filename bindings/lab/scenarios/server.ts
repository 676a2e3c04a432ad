/**
 * `server`: no CMA, no devices; a long-running box whose kernel churns
 * unmovable (network buffers, page tables) and reclaimable (dentry and inode
 * slabs) memory beside movable anonymous memory, while applications ask for
 * 2 MiB transparent huge pages: order-9 movable allocations that succeed only
 * while a whole free pageblock can be found. A database reads and updates its
 * file and appends to its log through the page cache, which fills whatever the
 * rest leaves free; kswapd and direct reclaim give clean cache back under
 * pressure, scattering free pages as they go. When a batch job squeezes free
 * memory, unmovable allocations fall back into movable pageblocks and claim
 * them, the free memory left is scattered in small blocks (the extfrag index at
 * order 9 nears 1), and huge-page requests fail while order-0 ones still
 * succeed. A few alloc_contig_range() calls (as for gigantic pages) show what
 * migration can win back where the buddy allocator alone cannot.
 */
import type { MixSpec, ScenarioSpec } from "../scenario-spec.ts";

const ANON_ORDERS = { "0": 90, "1": 3, "2": 4, "3": 3 };
const KERNEL_ORDERS = { "0": 70, "1": 12, "2": 10, "3": 8 };
const SLAB_ORDERS = { "0": 80, "1": 15, "2": 5 };
/** How long a huge page lives: an application's heap, mapped and unmapped. */
const THP_LIFE = { min: 2_000, max: 40_000 };

/** Steady service: `randomFreeWeight` below 42 lets memory fill up. */
function serving(randomFreeWeight: number): MixSpec {
  return {
    alloc: [
      { weight: 34, migratetype: "movable", orders: ANON_ORDERS },
      { weight: 8, migratetype: "unmovable", orders: KERNEL_ORDERS },
      { weight: 8, migratetype: "reclaimable", orders: SLAB_ORDERS },
      { weight: 0.15, migratetype: "movable", orders: { "9": 1 }, label: "thp", holdOps: THP_LIFE },
    ],
    free: [
      { weight: randomFreeWeight, policy: "random" },
      { weight: 8, policy: "fifo", migratetype: "reclaimable" },
    ],
    pin: { weight: 1, holdOps: { min: 20, max: 1_000 } },
    contig: { weight: 0.02, count: 512, holdOps: { min: 2_000, max: 20_000 } },
    ...fileTraffic(1),
  };
}

/** The database and its log: random reads, random updates, appends, fsync, and now and then a log rotation. */
function fileTraffic(factor: number): Pick<MixSpec, "read" | "write" | "fsync" | "truncate"> {
  return {
    read: { weight: 6 * factor, file: "db", pages: { min: 1, max: 16 } },
    write: [
      { weight: 1 * factor, file: "db", pages: { min: 1, max: 4 }, pattern: "random" },
      { weight: 2 * factor, file: "log", pages: { min: 1, max: 8 } },
    ],
    fsync: { weight: 0.3 * factor },
    truncate: { weight: 0.002 * factor, file: "log" },
  };
}

export const server: ScenarioSpec = {
  name: "server",
  description:
    "a server: unmovable and reclaimable churn beside anonymous memory, and 2 MiB huge-page requests that fail as fragmentation bites",
  seed: 1,
  machine: { ramBytes: "512 MiB" },
  files: [
    { name: "db", bytes: "192 MiB" },
    { name: "log", bytes: "64 MiB" },
  ],
  phases: [
    {
      // Services start: memory fills to about 80%.
      name: "warmup",
      ops: 60_000,
      mix: {
        alloc: [
          { weight: 50, migratetype: "movable", orders: ANON_ORDERS },
          { weight: 15, migratetype: "unmovable", orders: KERNEL_ORDERS },
          { weight: 15, migratetype: "reclaimable", orders: SLAB_ORDERS },
          { weight: 0.3, migratetype: "movable", orders: { "9": 1 }, label: "thp", holdOps: THP_LIFE },
        ],
        free: { weight: 4, policy: "random" },
        ...fileTraffic(1),
      },
    },
    { name: "load", ops: 120_000, mix: serving(38) },
    // A batch job squeezes free memory down to a few percent.
    { name: "pressure", ops: 100_000, mix: serving(24) },
  ],
  samples: 200,
};
