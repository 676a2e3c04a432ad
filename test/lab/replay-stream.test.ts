import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DmaSimError } from "dmasim";
import {
  binaryTraceKind,
  loadScenario,
  replayTrace,
  replayTraceStream,
  runScenario,
  type LabResult,
  type MemoryMapSnapshot,
  type MetricsSample,
} from "dmasim/lab";
import { BACKENDS, MIB } from "../helpers.ts";

// The browser's way into a replay (replayTraceStream(): a web stream, as a
// dropped File gives) against Node's (replayTrace(): a file read on a worker
// thread): the same bytes must give the same replay, on both engines, whatever
// the chunking, and the same refusals. Runs in Node, whose web streams and
// DecompressionStream are the browser's; test/package/web.test.ts does it in Chromium.

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "small.trace");
const TEXT = readFileSync(FIXTURE);
const SMALL = { ramBytes: 64 * MIB, storeContents: false, cma: [{ name: "reserved", bytes: 16 * MIB }] };

/** A stream of `bytes` in chunks of `chunkBytes` (odd sizes cut lines, CRLFs and gzip blocks anywhere). */
function streamOf(bytes: Uint8Array, chunkBytes = 1 << 16): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunkBytes));
      at += chunkBytes;
    },
  });
}

/** The parts of a result that depend on the trace and the machine only. */
function outcome(r: LabResult) {
  return {
    events: r.events,
    replay: r.replay,
    summary: r.summary,
    samples: r.samples,
    maps: r.maps,
    stateHash: r.stateHash,
    machine: r.machine,
    replayConfig: r.replayConfig,
  };
}

async function streamError(name: string, bytes: Uint8Array): Promise<DmaSimError> {
  const e: unknown = await replayTraceStream(name, streamOf(bytes), { system: SMALL }).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(DmaSimError);
  return e as DmaSimError;
}

describe("replayTraceStream", () => {
  it("replays a stream as replayTrace() replays the file: plain, gzip, CRLF, any chunking, both engines", async () => {
    const crlf = Buffer.from(TEXT.toString("utf8").replace(/\n/g, "\r\n"));
    const hashes = new Set<string>();
    for (const backend of BACKENDS) {
      const file = await replayTrace(FIXTURE, { system: SMALL, backend });
      expect(file.events!.parsed).toBeGreaterThan(20);
      for (const [bytes, chunkBytes] of [
        [TEXT, 1 << 16],
        [TEXT, 7],
        [gzipSync(TEXT), 1 << 16],
        [gzipSync(TEXT), 5],
        [crlf, 13],
      ] as const) {
        const r = await replayTraceStream("small.trace", streamOf(bytes, chunkBytes), {
          system: SMALL,
          backend,
          totalBytes: bytes.length,
        });
        expect(outcome(r)).toEqual(outcome(file));
        expect(r.name).toBe("small.trace");
        expect(r.backend).toBe(backend);
      }
      hashes.add(file.stateHash);
    }
    expect(hashes.size).toBe(1);
  });

  it("streams its samples and live maps as it goes", async () => {
    const samples: MetricsSample[] = [];
    const maps: MemoryMapSnapshot[] = [];
    const progress: number[] = [];
    // A sample every 5 events and at most 4 kept: the kept ones are thinned, the streamed ones are all.
    const r = await replayTraceStream("small.trace", streamOf(TEXT, 512), {
      system: SMALL,
      sampleEvery: 5,
      maxSamples: 4,
      totalBytes: TEXT.length,
      onSample: (s) => samples.push(s),
      onLiveMap: (m) => maps.push(m),
      onProgress: (done, total) => {
        expect(total).toBe(TEXT.length);
        progress.push(done);
      },
    });
    expect(r.events!.parsed).toBe(32);
    // Every 5 events: 0 5 10 15 20; five samples are more than 4, so the interval
    // doubles to 10 and 0 10 20 stay (takeSample()); then 30, and 32 at the end.
    expect(samples.map((s) => s.t)).toEqual([0, 5, 10, 15, 20, 30, 32]);
    expect(r.samples.map((s) => s.t)).toEqual([0, 10, 20, 30, 32]);
    for (const kept of r.samples) expect(samples).toContainEqual(kept);
    // A live map after the chunk that passes each 1/40 of the input (136 bytes): the
    // first 4 KiB are read at once to look for binary data (SNIFF_BYTES), then
    // 512-byte chunks each pass the next mark: 1 + ceil((size - 4096) / 512) maps.
    expect(TEXT.length).toBeGreaterThan(4096);
    expect(maps.length).toBe(1 + Math.ceil((TEXT.length - 4096) / 512));
    expect(maps.every((m) => m.label === "live")).toBe(true);
    expect(progress[progress.length - 1]).toBe(TEXT.length);
  });

  it("refuses binary captures and bad gzip with the CLI's words, and bad arguments, before replaying", async () => {
    const traceDat = Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from("tracing6\0\0\0\0")]);
    const perf = Buffer.concat([Buffer.from("PERFFILE"), Buffer.alloc(16)]);
    const nul = Buffer.concat([TEXT.subarray(0, 100), Buffer.from([0]), TEXT.subarray(100)]);
    const cases: [string, Uint8Array, string][] = [
      ["trace.dat", traceDat, `"trace.dat" is ${binaryTraceKind(traceDat, "trace.dat")}`],
      ["t.gz", gzipSync(traceDat), `"t.gz" (gzip) is ${binaryTraceKind(traceDat, "FILE")}`],
      ["perf.data", perf, `"perf.data" is ${binaryTraceKind(perf, "perf.data")}`],
      ["x.trace", nul, `"x.trace" is ${binaryTraceKind(nul, "x.trace")}`],
    ];
    for (const [name, bytes, message] of cases) {
      const e = await streamError(name, bytes);
      expect(e.code).toBe("EINVAL");
      expect(e.detail).toBe(message);
    }
    // A truncated gzip member.
    const gz = gzipSync(TEXT);
    const cut = await streamError("cut.gz", gz.subarray(0, gz.length - 20));
    expect(cut.code).toBe("EINVAL");
    expect(cut.detail).toMatch(/^cannot read trace "cut\.gz": corrupt or truncated gzip data/);
    // Nothing to replay.
    expect((await streamError("empty.trace", new Uint8Array(0))).detail).toBe(
      "replay: empty.trace: the trace is empty",
    );
    // Arguments.
    const bad = async (fn: () => Promise<unknown>) => {
      const e: unknown = await fn().catch((err: unknown) => err);
      expect(e).toBeInstanceOf(DmaSimError);
      expect((e as DmaSimError).code).toBe("EINVAL");
    };
    await bad(() => replayTraceStream("", streamOf(TEXT)));
    await bad(() => replayTraceStream("t", "not a stream" as never));
    await bad(() => replayTraceStream("t", streamOf(TEXT), { totalBytes: -1 }));
    await bad(() => replayTraceStream("t", streamOf(TEXT), { onSample: 1 as never }));
    await bad(() => replayTraceStream("t", streamOf(TEXT), { onLiveMap: "x" as never }));
  });
});

describe("runScenario's onSample", () => {
  it("hands over each sample as it is taken: the result's samples, in order, on both engines", async () => {
    const hashes = new Set<string>();
    for (const backend of BACKENDS) {
      const streamed: MetricsSample[] = [];
      const r = await runScenario(loadScenario("camera"), {
        seed: 2,
        scale: 0.1,
        backend,
        onSample: (s) => streamed.push(structuredClone(s)),
      });
      expect(streamed).toEqual(r.samples);
      hashes.add(r.stateHash);
    }
    expect(hashes.size).toBe(1);
    const e: unknown = await runScenario(loadScenario("camera"), { scale: 0.1, onSample: 5 as never }).catch(
      (err: unknown) => err,
    );
    expect((e as DmaSimError).code).toBe("EINVAL");
  });
});
