// The shape of a benchmark case (one file per case in cases/, listed in cases/index.ts).
import type { Backend, System } from "dmasim";
import type { BenchOptions, TaskResultWithStatistics } from "tinybench";

export type { Backend };

/** A hardware bound a case's MB/s is compared to (see limits.ts). */
export type LimitKey = "memcpy" | "read-in-cache";

/** The tinybench result the child hands to CaseRun.info(). */
export type BenchResult = TaskResultWithStatistics;

/**
 * One machine built by Case.make(), its measured operation and its reports.
 * `Op` is the op's return type: void, or Promise<void> for async cases.
 */
export interface CaseRun<Op extends void | Promise<void> = void> {
  /** The System whose stateHash() and check() the harness uses (unless stateHash/check are given). */
  sys: System;
  /** The measured operation (one tinybench iteration, or one op of a batch). */
  op(): Op;
  /** Unmeasured per-iteration set-up (tinybench beforeEach); also run before each replayed op. */
  prep?(): void;
  /** A check after an op, used during the replay only. */
  verify?(): void;
  /** Fold of the op results, printed so the work cannot be optimised away. */
  checksum(): number;
  /** Bytes migrated (or scanned) per op, for the MB/s column. */
  bytesPerOp?(): number;
  /** Pages processed per op, for the pages/s column. */
  pagesPerOp?(): number;
  /** Trace events replayed per op, for the events/s column. */
  eventsPerOp?(): number;
  /** The hash to compare instead of sys.stateHash() (a machine the op creates itself). */
  stateHash?(): string;
  /** The consistency check instead of sys.check(). */
  check?(): void;
  /** Extra report lines, given the tinybench result. */
  info(res: BenchResult): string[];
  /** Runs after the benchmark in the same process (a baseline measured side by side); returns report lines. */
  afterBench?(): Promise<string[]>;
}

interface CaseBase<Op extends void | Promise<void>> {
  /** The name on the command line (--case) and in the table. */
  name: string;
  description: string;
  /** Ops replayed (with prep() and verify()) before benchmarking; the state hashes are taken around them. */
  replayOps: number;
  /** tinybench options of the case. */
  bench: Pick<BenchOptions, "time" | "warmup" | "warmupTime" | "warmupIterations" | "iterations">;
  /** The bound the MB/s column is compared to, measured in the child right after the case. */
  limit?: LimitKey;
  /**
   * Run by the parent once before the children: writes shared input into `dir`,
   * the run's temporary directory (DMASIM_BENCH_DIR in the children); returns report lines.
   */
  prepare?(dir: string): string[];
  /** Builds the case's machine on `backend` from the fixed seed. */
  make(backend: Backend): Promise<CaseRun<Op>>;
}

/** A case whose op is synchronous; `batch` ops may be timed as one tinybench iteration. */
export interface SyncCase extends CaseBase<void> {
  async?: false;
  /** Ops per tinybench iteration (the sample is their mean); default 1. */
  batch?: number;
}

/** A case whose op returns a promise (tinybench's async mode; no batching). */
export interface AsyncCase extends CaseBase<Promise<void>> {
  async: true;
  batch?: undefined;
}

export type Case = SyncCase | AsyncCase;
