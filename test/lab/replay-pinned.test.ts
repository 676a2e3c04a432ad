// Every figure of a replay of the fixture traces, pinned: the replay's speed-ups
// (the scanner, the event buffer, the engine-side tables) must not move a single
// number. The digests were taken from the replayer as it was before them
// (commit af041dd), on both backends, reading on a worker thread and on the
// replay's own; the explicit figures beside them make a failure readable.
// Retaken when reclaim landed (the LRU lists are in the state hash, and samples
// gained `reclaim`): the replayer before the speed-ups and after them gave the
// same digests on that base, on both backends.
// Retaken again when the replay counters gained the vmscan observations
// (trace*Reclaim*, simPgscan, …): the state hashes did not move.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem } from "dmasim";
import { createReplayer, DEFAULT_REPLAY_SYSTEM, replayTrace } from "dmasim/lab";
import { BACKENDS } from "../helpers.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

/** What a replay computes (no timing): everything the result JSON carries of it. */
interface Figures {
  machine: unknown;
  samples: unknown;
  maps: unknown;
  summary: Record<string, number>;
  events: { parsed: number };
  replay: Record<string, number>;
  stateHash: string;
  warnings?: string[];
}

const digest = (r: Figures): string =>
  createHash("sha256")
    .update(
      JSON.stringify({
        machine: r.machine,
        samples: r.samples,
        maps: r.maps,
        summary: r.summary,
        events: r.events,
        replay: r.replay,
        stateHash: r.stateHash,
        warnings: r.warnings ?? [],
      }),
    )
    .digest("hex")
    .slice(0, 16);

const PINNED = [
  { trace: "small.trace", stateHash: "3e6b84b0", digest: "056a8bc347ed6ded", parsed: 32, allocs: 9, frees: 4 },
  {
    trace: "twin-small/trace.txt",
    stateHash: "3668c377",
    digest: "7990b54dd19d4f10",
    parsed: 31,
    allocs: 11,
    frees: 3,
  },
  {
    trace: "twin-debian61/trace.txt.gz",
    stateHash: "67f355a4",
    digest: "3574d24169930cd7",
    parsed: 377_034,
    allocs: 135_021,
    frees: 97_443,
  },
  {
    trace: "twin-rkcma61/trace.txt.gz",
    stateHash: "c8c7621d",
    digest: "a76683729dcca41c",
    parsed: 416_575,
    allocs: 138_519,
    frees: 102_155,
  },
] as const;

describe("replay figures stay pinned", () => {
  for (const p of PINNED) {
    it(`${p.trace}: same figures on both backends, read on a worker thread or not`, async () => {
      for (const backend of BACKENDS) {
        for (const readerThread of [true, false]) {
          const r = await replayTrace(join(FIXTURES, p.trace), { backend, readerThread });
          const where = `${backend}, readerThread ${readerThread}`;
          expect(r.stateHash, where).toBe(p.stateHash);
          expect([r.events!.parsed, r.replay!.allocs, r.replay!.frees], where).toEqual([p.parsed, p.allocs, p.frees]);
          expect(digest(r as Figures), where).toBe(p.digest);
        }
      }
    }, 60_000);
  }

  it("feeding the lines one by one (strings) gives the pinned figures too", async () => {
    const FED = [
      { trace: "small.trace", stateHash: "3e6b84b0", digest: "9f29091ecf305e43" },
      { trace: "twin-small/trace.txt", stateHash: "3668c377", digest: "3153c56f8e15a27c" },
    ];
    for (const f of FED) {
      for (const backend of BACKENDS) {
        const sys = await createSystem({ ...DEFAULT_REPLAY_SYSTEM, backend });
        const replayer = createReplayer(sys);
        // split() leaves one empty last line: it is fed too (a "blank" skip).
        for (const line of readFileSync(join(FIXTURES, f.trace), "utf8").split("\n")) replayer.feed(line);
        const pieces = replayer.finish();
        sys.check();
        expect(pieces.stateHash, `${f.trace} ${backend}`).toBe(f.stateHash);
        expect(digest(pieces as Figures), `${f.trace} ${backend}`).toBe(f.digest);
      }
    }
  });
});
