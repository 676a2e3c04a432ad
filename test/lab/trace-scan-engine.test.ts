// The engine's trace scanner (assembly/trace-scan.ts), which the replay's
// reader thread runs, against the bindings' byte scanner (scanKmemLine) it
// stands in for: every line it reads itself it reads as that scanner does,
// number for number, on both builds; the lines it leaves are few.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  TRACE_PAGE_ALLOC,
  TRACE_PAGE_FREE,
  TRACE_PAGE_FREE_BATCHED,
  TRACE_PCPU_DRAIN,
  TRACE_ZONE_LOCKED,
  TraceScanner,
} from "../../dist/bindings/lib/trace-scanner.js";
import {
  FAST_ALLOC,
  FAST_BATCHED,
  FAST_FREE,
  FAST_PCP_DRAIN,
  FAST_ZONE_LOCKED,
  KmemScan,
  scanKmemLine,
} from "../../bindings/lab/ftrace.ts";
import { BACKENDS } from "../helpers.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

/** What the engine read of each line of `bytes`: kind, the four numbers, and the gfp or percpu_refill field. */
function engineScan(scanner: TraceScanner, bytes: Buffer): { kind: number; numbers: number[]; extra: string }[] {
  const out: { kind: number; numbers: number[]; extra: string }[] = [];
  scanner.load(bytes);
  for (let n = scanner.next(); n > 0; n = scanner.next()) {
    const { kinds, numbers, spans } = scanner;
    for (let i = 0; i < n; i++) {
      const kind = kinds[i]!;
      const extra =
        kind === FAST_ALLOC
          ? bytes.toString("latin1", spans[4 * i + 2]!, spans[4 * i + 3]!)
          : kind === FAST_ZONE_LOCKED
            ? String(spans[4 * i + 2])
            : "";
      out.push({ kind, numbers: kind === 0 ? [] : Array.from(numbers.subarray(4 * i, 4 * i + 4)), extra });
    }
  }
  return out;
}

/** scanKmemLine() of each line of `bytes`, in the engine's terms. */
function jsScan(bytes: Buffer): { kind: number; numbers: number[]; extra: string }[] {
  const scan = new KmemScan();
  const out: { kind: number; numbers: number[]; extra: string }[] = [];
  for (let from = 0; from < bytes.length;) {
    let lf = bytes.indexOf(10, from);
    if (lf < 0) lf = bytes.length;
    const to = lf > from && bytes[lf - 1] === 13 ? lf - 1 : lf;
    const kind = scanKmemLine(bytes, from, to, scan);
    const numbers = [scan.pfn, scan.order, kind === FAST_ALLOC || kind >= FAST_ZONE_LOCKED ? scan.migratetype : 0];
    const extra =
      kind === FAST_ALLOC
        ? bytes.toString("latin1", scan.valueFrom[4]!, scan.valueTo[4]!)
        : kind === FAST_ZONE_LOCKED
          ? String(scan.percpuRefill ? 1 : 0)
          : "";
    out.push({ kind, numbers: [...numbers, scan.timestamp], extra });
    from = lf + 1;
  }
  return out;
}

/** The engine's answers equal scanKmemLine's on every line it reads; returns how many it left. */
function agree(inst: TraceScanner, text: Buffer): number {
  const mine = engineScan(inst, text);
  const ref = jsScan(text);
  expect(mine.length).toBe(ref.length);
  let left = 0;
  for (let i = 0; i < mine.length; i++) {
    const m = mine[i]!;
    if (m.kind === 0) {
      left++;
      continue;
    }
    const r = ref[i]!;
    // The engine leaves migratetype 0 for kinds that print none; so does this comparison.
    if (m.kind !== FAST_ALLOC && m.kind < FAST_ZONE_LOCKED) m.numbers[2] = 0;
    const same = m.kind === r.kind && m.extra === r.extra && m.numbers.every((x, k) => Object.is(x, r.numbers[k]));
    if (!same) expect(m, `line ${i + 1}: ${text.toString("latin1").split("\n")[i]}`).toEqual(r);
  }
  return left;
}

/** The two builds' answers, line for line (compared cheaply, shown in full on a difference). */
function sameOnBothBuilds(wasm: TraceScanner, ts: TraceScanner, text: Buffer): void {
  const a = engineScan(wasm, text);
  const b = engineScan(ts, text);
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.kind !== y.kind || x.extra !== y.extra || !x.numbers.every((v, k) => Object.is(v, y.numbers[k])))
      expect(y, `line ${i + 1}`).toEqual(x);
  }
}

const engines = async (): Promise<TraceScanner[]> => Promise.all(BACKENDS.map((b) => TraceScanner.create(b)));

describe("the engine's trace scanner", () => {
  it("numbers the hot events as the bindings' scanner does", () => {
    expect([TRACE_PAGE_ALLOC, TRACE_PAGE_FREE, TRACE_PAGE_FREE_BATCHED, TRACE_ZONE_LOCKED, TRACE_PCPU_DRAIN]).toEqual([
      FAST_ALLOC,
      FAST_FREE,
      FAST_BATCHED,
      FAST_ZONE_LOCKED,
      FAST_PCP_DRAIN,
    ]);
  });

  it("reads the fixture captures as scanKmemLine does, on both builds, and leaves only the other events", async () => {
    const [wasm, ts] = await engines();
    for (const name of ["twin-debian61/trace.txt.gz", "small.trace", "twin-small/trace.txt"]) {
      const raw = readFileSync(join(FIXTURES, name));
      const text = name.endsWith(".gz") ? gunzipSync(raw) : raw;
      const leftWasm = agree(wasm!, text);
      // Both builds give the same answers, line for line.
      sameOnBothBuilds(wasm!, ts!, text);
      // Left to the bindings: the header, blank lines and events other than the five hot ones.
      const ref = jsScan(text);
      const notHot = ref.filter((r) => r.kind === 0 || r.kind === 4).length;
      expect(leftWasm, name).toBe(notHot);
    }
  }, 120_000);

  it("agrees with scanKmemLine on lines built around the edges, in chunks of any size", async () => {
    const [wasm, ts] = await engines();
    const ALLOC =
      "          <idle>-0       [000] d..1.     0.120053: mm_page_alloc: page=(____ptrval____) pfn=0x8aef order=0 migratetype=1 gfp_flags=GFP_KERNEL";
    const pieces = [
      " ",
      "  ",
      "\t",
      "\r",
      "\u00a0",
      "é",
      "(null)",
      "0x0",
      "[LOST 3 EVENTS]",
      "[000]",
      "12.345678:",
      "1234567890.1234567:",
      "1.:",
      "kmem:",
      "mm_page_alloc:",
      "mm_page_free:",
      "mm_page_free_batched:",
      "mm_page_alloc_zone_locked:",
      "mm_page_pcpu_drain:",
      "kmem:mm_page_free:",
      "a:b:",
      "page=ffffea0004a93000",
      "pfn=0x1f",
      "pfn=31",
      "pfn=0xfffffffffffff",
      "pfn=99999999999999999",
      "order=3",
      "order=64",
      "migratetype=-0",
      "migratetype=-1",
      "migratetype=999999999999999",
      "gfp_flags=GFP_KERNEL|__GFP_ZERO",
      "percpu_refill=1",
      "percpu_refill=10",
      "=5",
      "#",
    ];
    const tokens = ALLOC.trim().split(" ");
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((p) => p.join(" ")),
            fc
              .tuple(fc.nat(tokens.length), fc.constantFrom(...pieces), fc.constantFrom("replace", "insert", "drop"))
              .map(([at, piece, how]) => {
                const t = [...tokens];
                if (how === "replace") t[at % t.length] = piece;
                else if (how === "insert") t.splice(at, 0, piece);
                else t.splice(at % t.length, 1);
                return t.join(" ");
              }),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        fc.boolean(),
        (lines, crlf) => {
          const text = Buffer.from(lines.join(crlf ? "\r\n" : "\n"), "utf8");
          agree(wasm!, text);
          sameOnBothBuilds(wasm!, ts!, text);
        },
      ),
      { numRuns: 1500, seed: 0x5ca7 },
    );
  });
});
