import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { binaryTraceKind, replayTrace, type LabResult } from "dmasim/lab";
import { MIB } from "../helpers.ts";

// What `dmasim replay` accepts as input: text, gzip (by its magic bytes), stdin;
// and what it refuses: binary captures, and traces with nothing to replay.

const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
const FIXTURE = join(import.meta.dirname, "..", "fixtures", "small.trace");
const SMALL = { ramBytes: 64 * MIB, storeContents: false, cma: [{ name: "reserved", bytes: 16 * MIB }] };
const tmp = mkdtempSync(join(tmpdir(), "dmasim-replay-input-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, data: string | Uint8Array): string {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
}

function dmasim(args: string[], input?: string | Uint8Array) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, input, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The parts of a result that depend on the trace and the machine only. */
function outcome(r: LabResult) {
  return { events: r.events, replay: r.replay, summary: r.summary, samples: r.samples, stateHash: r.stateHash };
}

const TRACE_DAT = Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from("tracing6\0\0\0\0\x08\0\0\0")]);

describe("replay input", () => {
  it("reads gzip transparently, recognised by its magic bytes rather than its name", async () => {
    const text = await replayTrace(FIXTURE, { system: SMALL });
    const gz = gzipSync(readFileSync(FIXTURE));
    const byName = await replayTrace(file("capture.trace.gz", gz), { system: SMALL });
    const byMagic = await replayTrace(file("capture.txt", gz), { system: SMALL });
    expect(text.events!.parsed).toBeGreaterThan(20);
    expect(outcome(byName)).toEqual(outcome(text));
    expect(outcome(byMagic)).toEqual(outcome(text));
    expect(byName.name).toBe("capture.trace.gz");
  });

  it("replay - reads standard input, plain or gzip, to the same result as the file", () => {
    const fromFile = JSON.parse(dmasim(["replay", FIXTURE, "--json"]).stdout) as LabResult;
    for (const input of [readFileSync(FIXTURE), gzipSync(readFileSync(FIXTURE))]) {
      const r = dmasim(["replay", "-", "--json"], input);
      expect(r.status).toBe(0);
      const fromStdin = JSON.parse(r.stdout) as LabResult;
      expect(fromStdin.name).toBe("stdin");
      expect(fromStdin.stateHash).toBe(fromFile.stateHash);
      expect(fromStdin.replay).toEqual(fromFile.replay);
    }
  });

  it("refuses binary captures with one line that says what they are and how to get text", async () => {
    const cases: [string, Uint8Array, string][] = [
      ["trace.dat", TRACE_DAT, "trace-cmd report -i "],
      ["perf.data", Buffer.from("PERFILE2\x68\0\0\0\0\0\0\0"), "perf script -i "],
      ["nul.txt", Buffer.from("mm_page_free: pfn=0x1 order=0\n\0\0\x01binary"), "NUL byte at offset 30"],
      ["trace.dat.gz", gzipSync(TRACE_DAT), "trace-cmd binary trace"],
    ];
    for (const [name, data, says] of cases) {
      const path = file(name, data);
      const err = (await replayTrace(path).then(
        () => null,
        (e: unknown) => e,
      )) as Error & { code: string };
      expect(err, name).toMatchObject({ name: "DmaSimError", code: "EINVAL" });
      expect(err.message).toContain(says);
      expect(err.message).toContain(name);
      expect(err.message).not.toContain("\n");
      const r = dmasim(["replay", name]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd().split("\n")).toEqual([`dmasim: ${err.message.replaceAll(path, name)}`]);
    }
    expect(binaryTraceKind(Buffer.from("trace.dat is text here\n"))).toBeNull();
    // Stdin is sniffed too.
    const r = dmasim(["replay", "-"], TRACE_DAT);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("trace-cmd report -i FILE > trace.txt");
  });

  it("a trace of which no line is a replayable event is an error, not 'events 0'", async () => {
    const other = file(
      "sched.txt",
      "# tracer: nop\n  bash-1 [000] d..1. 1.000000: sched_switch: prev_comm=bash prev_pid=1\nhello\n",
    );
    await expect(replayTrace(other)).rejects.toMatchObject({
      code: "EINVAL",
      message: expect.stringMatching(
        /sched\.txt: none of its 3 lines is a replayable event \(1 comment, 1 other event, 1 not an event line\)/,
      ),
    });
    await expect(replayTrace(file("empty.txt", ""))).rejects.toMatchObject({
      code: "EINVAL",
      message: expect.stringContaining("empty.txt: the trace is empty"),
    });
    const r = dmasim(["replay", "sched.txt"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^dmasim: EINVAL: replay: sched\.txt: none of its 3 lines/);
  });

  it("warns in one line when lines of known events fail to parse: their count and the first line number", async () => {
    const lines = readFileSync(FIXTURE, "utf8").split("\n");
    const text = [
      "mm_page_alloc: page=0000000000000001 pfn=0x100 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
      "mm_page_free: page=0000000000000001 pfn=0xzz order=0",
      "sched_switch: whatever",
      "mm_page_alloc: page=0000000000000001 pfn=0x200 order=99 migratetype=0 gfp_flags=GFP_KERNEL",
      "mm_page_free: page=0000000000000001 pfn=0x100 order=0",
    ].join("\n");
    const path = file("some-bad.txt", text);
    const warnings: string[] = [];
    const result = await replayTrace(path, { system: SMALL, onWarning: (w) => warnings.push(w) });
    const expected = "some-bad.txt: 2 lines of known events did not parse (first: line 2, malformed: bad pfn)";
    expect(warnings).toEqual([expected]);
    expect(result.warnings).toEqual([expected]);
    expect(result.events!.parsed).toBe(2);
    const r = dmasim(["replay", "some-bad.txt", "--no-report"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`dmasim: warning: ${expected}\n`);
    // A clean trace has no warnings at all.
    const clean = await replayTrace(file("clean.txt", [lines[0], text.split("\n")[0]].join("\n")), { system: SMALL });
    expect(clean.warnings).toBeUndefined();
  });

  it("corrupt gzip data is a one-line EINVAL naming the file", async () => {
    const gz = gzipSync(Buffer.from("mm_page_free: page=0 pfn=0x1 order=0\n".repeat(5000)));
    const path = file("cut.gz", gz.subarray(0, 200));
    const read = replayTrace(path);
    await expect(read).rejects.toMatchObject({ code: "EINVAL", message: expect.stringContaining('"') });
    await expect(replayTrace(path)).rejects.toThrow(/cut\.gz.*corrupt or truncated gzip data/);
  });
});
