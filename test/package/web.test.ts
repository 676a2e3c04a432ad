import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryTraceKind, loadScenario, replayTrace, runScenario, type LabResult } from "dmasim/lab";
// The report's chart list (not part of the package's API).
import { chartsFor } from "../../dist/bindings/lab/report-charts.js";

// The browser Lab end to end: `dmasim web` serves dist/web/ (npm run build:web),
// Debian's Chromium (headless, through playwright-core) runs a scenario in the
// page's Web Worker, and the page must show what the Node Lab computes for the
// same seed, scale and backend: the same figures and the same state hash.

const CHROMIUM = "/usr/bin/chromium";
const REQUIRED = process.env.DMASIM_REQUIRE_BROWSER === "1";
const HAVE_BROWSER = existsSync(CHROMIUM);
const CLI = resolve(import.meta.dirname, "../../dist/bindings/cli/main.js");
const SEED = 3;
const SCALE = 0.1;
const TRACE = resolve(import.meta.dirname, "../fixtures/small.trace");

/** One redraw of the live plots, as a MutationObserver in the page saw it. */
interface LiveDraw {
  /** Samples drawn (the charts' data-live-samples). */
  samples: number;
  /** Marks in the extfrag heatmap: one per sample and order. */
  extfragMarks: number;
  /** Total length of the free-memory plot's path data. */
  freePathChars: number;
  state: string;
}

/** Starts recording each redraw of the live plots in window.__liveDraws. */
async function watchLiveCharts(page: import("playwright-core").Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __liveDraws: LiveDraw[]; __liveObserver?: MutationObserver };
    w.__liveObserver?.disconnect();
    w.__liveDraws = [];
    const charts = document.getElementById("charts")!;
    w.__liveObserver = new MutationObserver(() => {
      const samples = charts.dataset.liveSamples;
      if (samples === undefined) return;
      w.__liveDraws.push({
        samples: Number(samples),
        extfragMarks: charts.querySelectorAll("figure[data-chart=extfrag] g.mark-rect path").length,
        freePathChars: Array.from(charts.querySelectorAll("figure[data-chart=free-pages] g.mark-area path"))
          .map((p) => p.getAttribute("d")?.length ?? 0)
          .reduce((a, b) => a + b, 0),
        state: document.body.dataset.state ?? "",
      });
    });
    w.__liveObserver.observe(charts, { attributes: true, attributeFilter: ["data-live-samples"] });
  });
}

async function liveDraws(page: import("playwright-core").Page): Promise<LiveDraw[]> {
  return page.evaluate(() => (window as unknown as { __liveDraws: LiveDraw[] }).__liveDraws);
}

/** The page's figures, as the result holds them. */
async function shownFigures(page: import("playwright-core").Page): Promise<Record<string, number>> {
  const shown = await page
    .locator("#all-figures tr")
    .evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-key"), Number(r.getAttribute("data-value"))]));
  return Object.fromEntries(shown) as Record<string, number>;
}

/**
 * Debian's Chromium through playwright-core: headless, with a fresh profile and
 * no background networking (this machine's network is closed).
 */
async function launchChromium(profileDir: string): Promise<import("playwright-core").BrowserContext> {
  const { chromium } = await import("playwright-core");
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
}

describe("dmasim web's file server", () => {
  it("serves only files under its root", async () => {
    const { webFile } = await import("../../dist/bindings/cli/web.js");
    const root = "/srv/lab/";
    expect(webFile(root, "/")).toBe("/srv/lab/index.html");
    expect(webFile(root, "/engine/engine.wasm?v=1")).toBe("/srv/lab/engine/engine.wasm");
    // ".." stops at the root, as in a URL: nothing above it is reachable.
    expect(webFile(root, "/../package.json")).toBe("/srv/lab/package.json");
    expect(webFile(root, "/%2e%2e/%2e%2e/etc/passwd")).toBe("/srv/lab/etc/passwd");
    expect(webFile(root, "/engine/../../x")).toBe("/srv/lab/x");
    expect(webFile(root, "/%E0%A4%A")).toBeNull(); // not decodable
  });
});

if (!HAVE_BROWSER && !REQUIRED)
  console.warn(
    `web.test.ts: skipped, no browser at ${CHROMIUM} (apt-get install chromium; CI sets DMASIM_REQUIRE_BROWSER=1 and installs it)`,
  );

const TITLE = HAVE_BROWSER
  ? "the browser Lab in headless Chromium"
  : `the browser Lab in headless Chromium (skipped: no ${CHROMIUM}; apt-get install chromium)`;

describe.skipIf(!HAVE_BROWSER && !REQUIRED)(TITLE, () => {
  const tmp = mkdtempSync(join(tmpdir(), "dmasim-web-"));
  let server: ChildProcess | null = null;
  let url = "";
  // playwright-core's types, loaded only when a browser is there.
  let context: import("playwright-core").BrowserContext | null = null;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `DMASIM_REQUIRE_BROWSER=1 but there is no ${CHROMIUM}`).toBe(true);
    server = spawn(process.execPath, [CLI, "web", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    url = await new Promise<string>((resolveUrl, reject) => {
      let out = "";
      server!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/[\d.]+:\d+\//.exec(out);
        if (m) resolveUrl(m[0]);
      });
      server!.stderr!.on("data", (d: Buffer) => reject(new Error(`dmasim web: ${d.toString()}`)));
      server!.on("exit", (code) => reject(new Error(`dmasim web exited with ${code}`)));
    });
    context = await launchChromium(join(tmp, "profile"));
  });

  afterAll(async () => {
    await context?.close();
    server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("runs a scenario in the page to the Node Lab's figures and state hash, on both engines, and renders it", async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // Nothing but the page's own files is requested.
    const foreign: string[] = [];
    page.on("request", (r) => !r.url().startsWith(url) && !r.url().startsWith("data:") && foreign.push(r.url()));
    await page.goto(url);
    await page.waitForSelector("body[data-state=ready]");
    expect(await page.locator("#scenario option").allTextContents()).toEqual(["camera", "server", "heaps"]);

    const results: Record<string, LabResult> = {};
    for (const backend of ["wasm", "ts"] as const) {
      await page.selectOption("#scenario", "camera");
      await page.fill("#seed", String(SEED));
      await page.fill("#scale", String(SCALE));
      await page.selectOption("#backend", backend);
      await page.click("#run");
      await page.waitForSelector("body[data-state=done]", { timeout: 60_000 });
      const node = await runScenario(loadScenario("camera"), { seed: SEED, scale: SCALE, backend });
      results[backend] = node;
      // Every figure the page shows is the Node Lab's, and so is the state hash.
      expect(await shownFigures(page)).toEqual(node.summary);
      expect(await page.textContent("#state-hash")).toBe(node.stateHash);
      expect(await page.textContent("#headline")).toContain(
        `scenario camera, seed ${SEED}, ${backend} backend: 52 MiB RAM`,
      );
      expect(await page.textContent("#speed")).toMatch(new RegExp(`^${backend} engine: [\\d,]+ operations/s`));
      // The scale's one warning line (26 pageblocks at 0.1), as the CLI prints it.
      expect(await page.textContent("#warnings")).toBe(`warning: ${node.warnings![0]}`);
      // The report's charts, as many as the report draws, and the memory map.
      expect(await page.locator("#charts figure.chart svg").count()).toBe(chartsFor(node).length);
      expect(await page.locator("#map-picture svg rect").count()).toBeGreaterThan(26);
      await page.evaluate(() => (document.body.dataset.state = "ready"));
    }
    expect(results.ts!.stateHash).toBe(results.wasm!.stateHash);
    await page.screenshot({ path: join(tmp, "web-lab.png"), fullPage: true });
    expect(statSync(join(tmp, "web-lab.png")).size).toBeGreaterThan(20_000);

    // A result JSON opened in the page renders the same figures.
    const server = await runScenario(loadScenario("server"), { seed: 2, scale: 0.25, backend: "wasm" });
    writeFileSync(join(tmp, "server.json"), JSON.stringify(server));
    await page.evaluate(() => (document.body.dataset.state = "ready"));
    await page.setInputFiles("#open", join(tmp, "server.json"));
    await page.waitForSelector("body[data-state=done]");
    expect(await page.textContent("#status")).toBe("opened server.json");
    expect(await page.textContent("#state-hash")).toBe(server.stateHash);
    expect(await page.textContent("#headline")).toContain("scenario server, seed 2, wasm backend: 128 MiB RAM");
    // Anything else is refused in one line.
    writeFileSync(join(tmp, "other.json"), JSON.stringify({ hello: 1 }));
    await page.setInputFiles("#open", join(tmp, "other.json"));
    await page.waitForSelector("#status.error");
    expect(await page.textContent("#status")).toContain("other.json: not a dmasim result");

    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it("draws the plots while a run goes: the charts grow from frame to frame, then show the result", async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);
    await page.waitForSelector("body[data-state=ready]");
    // A run long enough (2-3 s on the portable engine) to outlast several drawings of the charts.
    await page.selectOption("#scenario", "camera");
    await page.fill("#seed", "1");
    await page.fill("#scale", "2");
    await page.selectOption("#backend", "ts");
    await watchLiveCharts(page);
    await page.click("#run");
    await page.waitForSelector("body[data-state=done]", { timeout: 60_000 });
    const during = (await liveDraws(page)).filter((d) => d.state === "running");
    const finalSamples = 201; // camera's `samples: 200`, plus the one at operation 0
    expect(during.length).toBeGreaterThanOrEqual(2);
    // Each redraw has more samples than the one before, all before the end of the run...
    for (let i = 1; i < during.length; i++) expect(during[i]!.samples).toBeGreaterThan(during[i - 1]!.samples);
    expect(during[0]!.samples).toBeLessThan(finalSamples);
    // ...and the drawings grow with them: the heatmap's cells, the free-memory area's outline.
    const first = during[0]!;
    const last = during[during.length - 1]!;
    expect(last.extfragMarks).toBeGreaterThan(first.extfragMarks);
    expect(last.freePathChars).toBeGreaterThan(first.freePathChars);
    // At the end, the result's charts, with every sample.
    const marks = await page.locator("#charts figure[data-chart=extfrag] g.mark-rect path").count();
    expect(marks).toBeGreaterThanOrEqual(last.extfragMarks);
    expect(await page.locator("#charts").getAttribute("data-live-samples")).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it("replays a dropped or picked ftrace file to dmasim replay's figures and state hash, and refuses binary captures", async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);
    await page.waitForSelector("body[data-state=ready]");
    const text = readFileSync(TRACE);

    // A picked text trace, on each engine: the figures and state hash of replayTrace() in Node.
    const hashes: string[] = [];
    for (const backend of ["wasm", "ts"] as const) {
      const node = await replayTrace(TRACE, { backend });
      await page.selectOption("#backend", backend);
      await page.setInputFiles("#trace", TRACE);
      await page.waitForSelector("body[data-state=done]", { timeout: 60_000 });
      expect(await page.textContent("#status")).toBe("replayed small.trace");
      expect(await shownFigures(page)).toEqual(node.summary);
      expect(await page.textContent("#state-hash")).toBe(node.stateHash);
      expect(await page.textContent("#headline")).toContain("small.trace");
      // And every replay counter: the simulation against the traced kernel.
      const counters = await page
        .locator("#replay-counters tr")
        .evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-key"), Number(r.getAttribute("data-value"))]));
      expect(Object.fromEntries(counters)).toEqual(node.replay);
      expect(await page.textContent("#speed")).toMatch(new RegExp(`^${backend} engine: [\\d,]+ trace events/s`));
      expect(await page.locator("#map-picture svg rect").count()).toBeGreaterThan(0);
      expect(await page.locator("#charts figure.chart svg").count()).toBe(chartsFor(node).length);
      hashes.push(node.stateHash);
      await page.evaluate(() => (document.body.dataset.state = "ready"));
    }
    expect(hashes[1]).toBe(hashes[0]);

    // The same trace gzipped and dropped on the page: decompressed in the browser, the same replay.
    const gz = gzipSync(text);
    const node = await replayTrace(TRACE, { backend: "wasm" });
    await page.selectOption("#backend", "wasm");
    const drop = async (name: string, bytes: Buffer): Promise<void> => {
      const dataTransfer = await page.evaluateHandle(
        ([fileName, data]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(data)], fileName));
          return dt;
        },
        [name, [...bytes]] as [string, number[]],
      );
      await page.dispatchEvent("main", "drop", { dataTransfer });
    };
    await drop("small.trace.gz", gz);
    await page.waitForSelector("body[data-state=done]", { timeout: 60_000 });
    expect(await page.textContent("#status")).toBe("replayed small.trace.gz");
    expect(await page.textContent("#state-hash")).toBe(node.stateHash);
    expect(await shownFigures(page)).toEqual(node.summary);

    // trace-cmd's binary trace.dat, plain or gzipped, and perf.data: one line, as the CLI says it.
    const traceDat = Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from("tracing6\0\0\0\0")]);
    const perfData = Buffer.concat([Buffer.from("PERFILE2"), Buffer.alloc(64)]);
    for (const [name, bytes, expected] of [
      ["trace.dat", traceDat, `EINVAL: "trace.dat" is ${binaryTraceKind(traceDat, "trace.dat")}`],
      ["trace.dat.gz", gzipSync(traceDat), `EINVAL: "trace.dat.gz" (gzip) is ${binaryTraceKind(traceDat, "FILE")}`],
      ["perf.data", perfData, `EINVAL: "perf.data" is ${binaryTraceKind(perfData, "perf.data")}`],
    ] as const) {
      await page.evaluate(() => (document.body.dataset.state = "ready"));
      await drop(name, bytes);
      await page.waitForSelector("body[data-state=error]");
      expect(await page.textContent("#status")).toBe(expected);
      expect(await page.locator("#status.error").count()).toBe(1);
    }
    // The CLI refuses the same file with the same words.
    writeFileSync(join(tmp, "trace.dat"), traceDat);
    const cli = spawnSync(process.execPath, [CLI, "replay", join(tmp, "trace.dat")], { encoding: "utf8" });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain(binaryTraceKind(traceDat, join(tmp, "trace.dat"))!);

    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});

// The HTML reports `dmasim run --out` and `dmasim compare --out` write, opened
// from disk in the same browser: every image loads, nothing errors.
describe.skipIf(!HAVE_BROWSER && !REQUIRED)(`${TITLE}: the HTML reports`, () => {
  const tmp = mkdtempSync(join(tmpdir(), "dmasim-reports-"));
  let context: import("playwright-core").BrowserContext | null = null;

  beforeAll(async () => {
    context = await launchChromium(join(tmp, "profile"));
  });

  afterAll(async () => {
    await context?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const cli = (...args: string[]): void => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
  };

  /** Opens a report from disk: what failed to load or logged an error, and the page's images and drawings. */
  async function open(path: string): Promise<{ problems: string[]; images: number; broken: string[]; svgs: number }> {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`failed: ${r.url()}`));
    await page.goto(`file://${path}`);
    await page.waitForLoadState("load");
    const images = await page
      .locator("img")
      .evaluateAll((imgs) =>
        (imgs as HTMLImageElement[]).map((i) => ({ src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0 })),
      );
    const svgs = await page.locator("svg").count();
    await page.close();
    return { problems, images: images.length, broken: images.filter((i) => !i.ok).map((i) => i.src!), svgs };
  }

  it("a run's report and a comparison's index load every image without an error", async () => {
    cli("run", "--scenario", "camera", "--scale", "0.25", "--out", join(tmp, "run"));
    const run = await open(join(tmp, "run", "index.html"));
    expect(run.problems).toEqual([]);
    expect(run.broken).toEqual([]);
    // The charts and the memory-map snapshots are SVG files beside index.html.
    expect(run.images).toBeGreaterThanOrEqual(8);

    cli(
      "compare",
      "--scenario",
      "camera",
      "--scale",
      "0.25",
      "--seeds",
      "1-2",
      "--preset",
      "compaction",
      "--out",
      join(tmp, "cmp"),
    );
    const cmp = await open(join(tmp, "cmp", "index.html"));
    expect(cmp.problems).toEqual([]);
    expect(cmp.broken).toEqual([]);
    // Five curves over time drawn inline, plus each configuration's own report.
    expect(cmp.svgs).toBeGreaterThanOrEqual(5);
    const first = await open(join(tmp, "cmp", "0-compaction-6.12-defaults-", "index.html"));
    expect(first.problems).toEqual([]);
    expect(first.broken).toEqual([]);
    expect(first.images).toBeGreaterThanOrEqual(8);
  }, 240_000);
});
