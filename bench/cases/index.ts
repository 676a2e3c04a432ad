// The benchmark cases, in the order they run and print.
import type { Case } from "../case.ts";
import { bitmapScan } from "./bitmap-scan.ts";
import { buddyMixed } from "./buddy-mixed.ts";
import { buddyOrder0Batch } from "./buddy-order0-batch.ts";
import { buddyOrder0 } from "./buddy-order0.ts";
import { cmaAllocRelease } from "./cma-alloc-release.ts";
import { compactMemory1gib } from "./compact-memory-1gib.ts";
import { dmabufRoundtrip } from "./dmabuf-roundtrip.ts";
import { iovaAllocFree } from "./iova-alloc-free.ts";
import { migrate64mib } from "./migrate-64mib.ts";
import { reclaim1gib } from "./reclaim-1gib.ts";
import { reclaimAnon } from "./reclaim-anon.ts";
import { sgBuildMap } from "./sg-build-map.ts";
import { traceReplayReal } from "./trace-replay-real.ts";
import { traceReplay } from "./trace-replay.ts";

export const CASES: readonly Case[] = [
  cmaAllocRelease,
  buddyOrder0,
  buddyOrder0Batch,
  buddyMixed,
  migrate64mib,
  compactMemory1gib,
  reclaim1gib,
  reclaimAnon,
  iovaAllocFree,
  sgBuildMap,
  dmabufRoundtrip,
  traceReplay,
  traceReplayReal,
  bitmapScan,
];
