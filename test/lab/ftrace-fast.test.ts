// The replay's fast path (a byte scanner for the hot kmem events) against the
// general parser it stands in for: same answer, key for key, on every line of
// the fixtures and on lines built to hit its edges; and a file replayed through
// the byte path ends exactly where feeding its lines one by one does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSystem } from "dmasim";
import { createReplayer, DEFAULT_REPLAY_SYSTEM, parseTraceLine, replayTrace } from "dmasim/lab";
import { parseTraceLineGeneral } from "../../dist/bindings/lab/ftrace.js";
import { BACKENDS } from "../helpers.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const SMALL = join(FIXTURES, "small.trace");
const TWIN_SMALL = join(FIXTURES, "twin-small", "trace.txt");
const DEBIAN61 = join(FIXTURES, "twin-debian61", "trace.txt.gz");

const linesOf = (text: string): string[] => text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
const same = (line: string): void => {
  expect(JSON.stringify(parseTraceLine(line)), line).toBe(JSON.stringify(parseTraceLineGeneral(line)));
};

describe("parseTraceLine's fast path", () => {
  it("answers as the general parser on every line of the fixtures", () => {
    for (const path of [SMALL, TWIN_SMALL]) for (const line of linesOf(readFileSync(path, "utf8"))) same(line);
    const real = linesOf(gunzipSync(readFileSync(DEBIAN61)).toString("utf8"));
    expect(real.length).toBeGreaterThan(377_000);
    let differ = 0;
    for (const line of real)
      if (JSON.stringify(parseTraceLine(line)) !== JSON.stringify(parseTraceLineGeneral(line))) differ++;
    expect(differ).toBe(0);
  });

  const ALLOC =
    "          <idle>-0       [000] d..1.     0.120053: mm_page_alloc: page=(____ptrval____) pfn=0x8aef order=0 migratetype=1 gfp_flags=GFP_KERNEL";

  it("reads the canonical lines itself: numbers, timestamp, raw fields", () => {
    const p = parseTraceLine(ALLOC);
    expect(p).toEqual({
      event: {
        name: "mm_page_alloc",
        pfn: 0x8aef,
        order: 0,
        migratetype: 1,
        raw: { page: "(____ptrval____)", pfn: "0x8aef", order: "0", migratetype: "1", gfp_flags: "GFP_KERNEL" },
        timestamp: 0.120053,
      },
    });
    expect(parseTraceLine("   bash-1 [001] ..... 7.5: mm_lru_insertion: page=x pfn=0x1 lru=file")).toEqual({
      skip: "other event",
    });
  });

  it("agrees with the general parser on lines built around its edges", () => {
    const pieces = [
      " ",
      "  ",
      "\t",
      "\r",
      "\u00a0",
      "é",
      "(null)",
      "          (null)",
      "0000000000000000",
      "0x0",
      "[LOST 3 EVENTS]",
      "CPU:0",
      "CPU: 1",
      "[000]",
      "12.345678:",
      "1.:",
      ".5:",
      "kmem:",
      "mm_page_alloc:",
      "mm_page_free:",
      "mm_page_free_batched:",
      "mm_page_alloc_zone_locked:",
      "cma_release:",
      "kmem:mm_page_free:",
      "a:b:",
      "page=ffffea0004a93000",
      "pfn=0x1f",
      "pfn=31",
      "pfn=0x",
      "pfn=-1",
      "pfn=99999999999999999",
      "order=3",
      "order=64",
      "order=x",
      "migratetype=-1",
      "migratetype=0x1",
      "migratetype=",
      "gfp_flags=GFP_KERNEL|__GFP_ZERO",
      "gfp_flags=",
      "cold=0",
      "=5",
      "junk",
      "#",
      "a=b=c",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => same(parts.join(" "))),
      { numRuns: 3000, seed: 0x5eed },
    );
    // Mutations of a canonical line: one piece replaced, inserted or dropped.
    const tokens = ALLOC.trim().split(" ");
    fc.assert(
      fc.property(
        fc.nat(tokens.length),
        fc.constantFrom(...pieces),
        fc.constantFrom("replace", "insert", "drop"),
        (at, piece, how) => {
          const t = [...tokens];
          if (how === "replace") t[at % t.length] = piece;
          else if (how === "insert") t.splice(at, 0, piece);
          else t.splice(at % t.length, 1);
          same(t.join(" "));
          same(`   ${t.join(" ")}  `);
        },
      ),
      { numRuns: 3000, seed: 0xface },
    );
  });
});

describe("replayTrace's byte path", () => {
  const CASES = BACKENDS.flatMap((backend) => [true, false].map((readerThread) => [backend, readerThread] as const));
  it.each(CASES)(
    "ends where feeding the lines one by one ends (%s, reader thread %s)",
    async (backend, readerThread) => {
      for (const path of [SMALL, DEBIAN61]) {
        const fromFile = await replayTrace(path, { backend, readerThread });
        const sys = await createSystem({ ...DEFAULT_REPLAY_SYSTEM, backend });
        const replayer = createReplayer(sys);
        const text = path.endsWith(".gz")
          ? gunzipSync(readFileSync(path)).toString("utf8")
          : readFileSync(path, "utf8");
        const lines = linesOf(text);
        if (lines.at(-1) === "") lines.pop();
        for (const line of lines) replayer.feed(line);
        const fed = replayer.finish();
        expect(fromFile.stateHash).toBe(fed.stateHash);
        expect(fromFile.events).toEqual(fed.events);
        expect(fromFile.replay).toEqual(fed.replay);
        expect(fromFile.samples).toEqual(fed.samples);
      }
    },
    120_000,
  );

  it("refuses a readerThread that is not a boolean, before reading anything", async () => {
    for (const bad of [1, "yes", null])
      await expect(replayTrace(SMALL, { readerThread: bad as unknown as boolean })).rejects.toMatchObject({
        code: "EINVAL",
      });
  });

  it("reports a missing file from the reader thread as the in-thread reader does", async () => {
    const missing = join(FIXTURES, "no-such-trace.txt");
    const errors = await Promise.all(
      [true, false].map((readerThread) => replayTrace(missing, { readerThread }).catch((e: unknown) => e)),
    );
    expect(errors[0]).toMatchObject({ code: "ENOENT" });
    expect((errors[0] as Error).message).toBe((errors[1] as Error).message);
  });

  it("holds blocks at trace pfns beyond 2^32 (the lookup tables are sparse)", async () => {
    const sys = await createSystem({ ...DEFAULT_REPLAY_SYSTEM, backend: "wasm" });
    const replayer = createReplayer(sys);
    const far = 2 ** 40 + 8;
    replayer.feed(`mm_page_alloc: page=0000000011112222 pfn=${far} order=3 migratetype=0 gfp_flags=GFP_KERNEL`);
    expect(replayer.lookup(far)).toMatchObject({ order: 3, movable: false });
    // A free of a page inside the block: a partial free, found through the containment search.
    replayer.feed(`mm_page_free: page=0000000011112222 pfn=${far + 5} order=0`);
    replayer.feed(`mm_page_free: page=0000000011112222 pfn=${far} order=3`);
    expect(replayer.lookup(far)).toBeNull();
    const r = replayer.finish();
    expect(r.replay.partialFrees).toBe(1);
    expect(r.replay.frees).toBe(1);
    expect(r.replay.liveBlocks).toBe(0);
    sys.check();
  });
});
