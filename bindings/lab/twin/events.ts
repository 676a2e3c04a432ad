/**
 * The twin's view of a text ftrace capture: every page-allocator event the
 * kernel traces, buddy-level ones included (which the Lab's replay does not
 * read), and the harness's `tracing_mark_write` markers. Streams `trace.txt`
 * or `trace.txt.gz` (node:zlib) in constant memory. The kmem events the Lab's
 * parser knows (ftrace.ts) are parsed by it; the rest here.
 */
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { DmaSimError } from "../../core/errors.ts";
import { parseTraceLine } from "../ftrace.ts";

export type TwinEvent =
  /** `tracing_mark_write: <text>` */
  | { kind: "marker"; text: string }
  /** mm_page_alloc_zone_locked: __rmqueue_smallest() took this block off the buddy lists. */
  | { kind: "buddy-alloc"; pfn: number; order: number; migratetype: number; percpuRefill: boolean }
  /** mm_page_pcpu_drain: free_pcppages_bulk() gave a per-cpu page back to the buddy lists. */
  | { kind: "pcp-drain"; pfn: number; order: number; migratetype: number }
  /** mm_page_free: the caller freed a block (to the per-cpu lists for pcp orders, else to the buddy lists). */
  | { kind: "free"; pfn: number; order: number }
  /** mm_page_free_batched: an order-0 page freed to the per-cpu lists by free_unref_page_list(). */
  | { kind: "free-batched"; pfn: number }
  /** mm_page_alloc: the caller got a block (from the per-cpu lists or the buddy lists); pfn null when it failed. */
  | { kind: "alloc"; pfn: number | null; order: number; migratetype: number }
  /** mm_page_alloc_extfrag: __rmqueue_fallback() stole from another type's block. */
  | {
      kind: "extfrag";
      pfn: number;
      allocOrder: number;
      fallbackOrder: number;
      allocMigratetype: number;
      fallbackMigratetype: number;
      changeOwnership: boolean;
    }
  /**
   * cma_alloc_finish (cma_alloc before v5.13): cma_alloc() ended, with the
   * range it took (pfn null when it failed); area null before v5.13 (one area).
   */
  | { kind: "cma-alloc"; pfn: number | null; count: number; align: number; area: string | null }
  /** cma_release: cma_release() gave back the range (free_contig_range(): its pages go to the per-cpu lists). */
  | { kind: "cma-release"; pfn: number; count: number; area: string | null }
  /** mm_compaction_migratepages: one migrate_pages() round of compaction (nr_migrated, nr_failed). */
  | { kind: "compaction-migrated"; nrMigrated: number; nrFailed: number }
  /** Any other event (compaction, migration, …), or a line that is not an event. */
  | { kind: "other"; name: string };

// `comm-pid [cpu] flags timestamp: name: body`
const HEAD_RE = /\]\s+\S+\s+\d+\.\d+:\s+(\w+):\s?/;

function fields(body: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const token of body.split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) raw[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return raw;
}

function num(raw: Record<string, string>, key: string): number {
  const v = raw[key];
  const n = v === undefined ? NaN : v.startsWith("0x") ? Number.parseInt(v.slice(2), 16) : Number(v);
  if (!Number.isSafeInteger(n)) throw new DmaSimError("EINVAL", `twin: bad ${key}=${String(v)}`);
  return n;
}

/** One line of a text trace as a TwinEvent; null for blank and comment lines. */
export function parseTwinLine(line: string): TwinEvent | null {
  if (line.length === 0 || line.charCodeAt(0) === 35 /* # */) return null;
  const m = HEAD_RE.exec(line);
  if (!m) return { kind: "other", name: "" };
  const name = m[1]!;
  const body = line.slice(m.index + m[0].length);
  switch (name) {
    case "tracing_mark_write":
      return { kind: "marker", text: body.trim() };
    case "mm_page_alloc_zone_locked":
    case "mm_page_pcpu_drain": {
      const raw = fields(body);
      const pfn = num(raw, "pfn");
      const order = num(raw, "order");
      const migratetype = num(raw, "migratetype");
      if (name === "mm_page_pcpu_drain") return { kind: "pcp-drain", pfn, order, migratetype };
      return { kind: "buddy-alloc", pfn, order, migratetype, percpuRefill: raw.percpu_refill === "1" };
    }
    case "mm_page_alloc":
    case "mm_page_free":
    case "mm_page_free_batched":
    case "mm_page_alloc_extfrag": {
      const parsed = parseTraceLine(line);
      if (!("event" in parsed)) throw new DmaSimError("EINVAL", `twin: ${name}: ${parsed.skip}`);
      const ev = parsed.event;
      if (name === "mm_page_alloc")
        return { kind: "alloc", pfn: ev.pfn, order: ev.order ?? 0, migratetype: ev.migratetype ?? 0 };
      if (name === "mm_page_free") return { kind: "free", pfn: ev.pfn!, order: ev.order ?? 0 };
      if (name === "mm_page_free_batched") return { kind: "free-batched", pfn: ev.pfn! };
      return {
        kind: "extfrag",
        pfn: ev.pfn!,
        allocOrder: ev.order ?? 0,
        fallbackOrder: num(ev.raw, "fallback_order"),
        allocMigratetype: ev.migratetype ?? 0,
        fallbackMigratetype: num(ev.raw, "fallback_migratetype"),
        changeOwnership: ev.raw.change_ownership === "1",
      };
    }
    case "cma_alloc":
    case "cma_alloc_finish":
    case "cma_release": {
      const parsed = parseTraceLine(line);
      if (!("event" in parsed)) throw new DmaSimError("EINVAL", `twin: ${name}: ${parsed.skip}`);
      const ev = parsed.event;
      const area = ev.area ?? null;
      if (name === "cma_release") return { kind: "cma-release", pfn: ev.pfn!, count: ev.count!, area };
      return { kind: "cma-alloc", pfn: ev.pfn, count: ev.count!, align: ev.align ?? 0, area };
    }
    case "mm_compaction_migratepages": {
      const raw = fields(body);
      return { kind: "compaction-migrated", nrMigrated: num(raw, "nr_migrated"), nrFailed: num(raw, "nr_failed") };
    }
    default:
      return { kind: "other", name };
  }
}

/** The lines of `path` (gunzipped when it ends in .gz), in arrays of one chunk each. */
export async function* readTwinLines(path: string): AsyncGenerator<string[]> {
  const file = createReadStream(path);
  const source = path.endsWith(".gz") ? file.pipe(createGunzip()) : file;
  source.setEncoding("utf8");
  let rest = "";
  try {
    for await (const chunk of source as AsyncIterable<string>) {
      const text = rest + chunk;
      const lines = text.split("\n");
      rest = lines.pop()!;
      yield lines;
    }
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new DmaSimError("EINVAL", `twin: cannot read trace ${JSON.stringify(path)}: ${why}`);
  } finally {
    file.destroy();
  }
  if (rest.length > 0) yield [rest];
}
