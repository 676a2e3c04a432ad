/**
 * The file operations of a Lab run (`read`, `write`, `fsync`, `truncate`):
 * applications reading and writing files through the page cache
 * (sys.pageCache), so that the run meets memory pressure as a kernel does, with
 * clean cache that kswapd and direct reclaim can drop and dirty pages that
 * wait for writeback.
 *
 * The runner draws every random number (page counts, offsets); this module
 * keeps the files' cursors, acts and counts, so runs stay deterministic.
 */
import { DmaSimError } from "../core/errors.ts";
import type { CachedFile, System } from "../index.ts";
import type { Op, Scenario, ScenarioFile } from "./scenario.ts";

type FileOp = Extract<Op, { kind: "read" | "write" | "fsync" | "truncate" }>;

interface FileState {
  spec: ScenarioFile;
  file: CachedFile;
  /** Where the next sequential read starts, and the next append (page indexes, wrapping at the size). */
  readCursor: number;
  appendCursor: number;
}

/** The summary's file counters, in the order they are declared. */
export const FILE_COUNTERS = [
  "file.reads",
  "file.readPages",
  "file.readHits",
  "file.readFailed",
  "file.writes",
  "file.writePages",
  "file.writeHits",
  "file.writeFailed",
  "file.fsyncs",
  "file.writtenBack",
  "file.truncates",
  "file.truncatedPages",
] as const;
export type FileCounter = (typeof FILE_COUNTERS)[number];

export class FileWorkload {
  private readonly files = new Map<string, FileState>();

  private constructor(
    private readonly scenario: Scenario,
    private readonly count: (key: FileCounter, n?: number) => void,
  ) {}

  /** The scenario's files, created empty; null when it has none. */
  static create(sys: System, scenario: Scenario, count: (key: FileCounter, n?: number) => void): FileWorkload | null {
    if (scenario.files.length === 0) return null;
    const w = new FileWorkload(scenario, count);
    for (const spec of scenario.files) {
      w.files.set(spec.name, { spec, file: sys.pageCache.createFile(spec.name), readCursor: 0, appendCursor: 0 });
    }
    return w;
  }

  private state(name: string): FileState {
    return this.files.get(name)!;
  }

  /**
   * Where an operation of `pages` pages starts: `draw(n)` gives a uniform
   * integer below n for a random offset; a cursor otherwise. Returns
   * [index, count], the count cut at the end of the file.
   */
  private extent(f: FileState, pages: number, sequential: "read" | "append" | null, draw: (n: number) => number) {
    const size = f.spec.pages;
    const n = Math.min(pages, size);
    if (sequential === null) return [draw(size - n + 1), n] as const;
    const key = sequential === "read" ? "readCursor" : "appendCursor";
    const start = f[key];
    const count = Math.min(n, size - start);
    f[key] = start + count === size ? 0 : start + count;
    return [start, count] as const;
  }

  /** One file operation; `pages` was drawn by the runner for read and write. */
  execute(op: FileOp, pages: number, draw: (n: number) => number): void {
    switch (op.kind) {
      case "read":
      case "write": {
        const read = op.kind === "read";
        const f = this.state(op.file);
        const sequential = read
          ? op.pattern === "sequential"
            ? "read"
            : null
          : op.pattern === "append"
            ? "append"
            : null;
        const [index, n] = this.extent(f, pages, sequential, draw);
        this.count(read ? "file.reads" : "file.writes");
        const hits = this.tryOp(
          () => (read ? f.file.read(index, n) : f.file.write(index, n)),
          read ? "file.readFailed" : "file.writeFailed",
        );
        if (hits === null) return;
        this.count(read ? "file.readPages" : "file.writePages", n);
        this.count(read ? "file.readHits" : "file.writeHits", hits);
        return;
      }
      case "fsync": {
        this.count("file.fsyncs");
        const targets = op.file === null ? [...this.files.values()] : [this.state(op.file)];
        for (const f of targets) this.count("file.writtenBack", f.file.writeback());
        return;
      }
      case "truncate": {
        const f = this.state(op.file);
        this.count("file.truncates");
        // A page pinned by someone else keeps the truncate from finishing (EBUSY): counted as nothing removed.
        const removed = this.tryOp(() => f.file.truncate(0), null);
        this.count("file.truncatedPages", removed ?? 0);
        f.readCursor = 0;
        f.appendCursor = 0;
        return;
      }
    }
  }

  /** Runs `op`; an ENOMEM (no memory even after reclaim) or EBUSY is counted under `failed` and gives null. */
  private tryOp(op: () => number, failed: FileCounter | null): number | null {
    try {
      return op();
    } catch (e) {
      if (e instanceof DmaSimError && (e.code === "ENOMEM" || e.code === "EBUSY")) {
        if (failed !== null) this.count(failed);
        return null;
      }
      throw e;
    }
  }

  /** Pages cached per file at the end, under `file.NAME.cachedPages`. */
  summarize(out: Record<string, number>): void {
    for (const f of this.files.values()) out[`file.${f.spec.name}.cachedPages`] = f.file.nrPages;
  }
}
