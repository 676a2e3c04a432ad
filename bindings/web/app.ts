/**
 * The browser Lab (`npm run web`, `dmasim web`): pick a built-in scenario, a
 * seed, a scale, a backend and a kernel profile, run it in a Web Worker on the
 * WASM or the portable engine, and see what `dmasim run` would report: the
 * summary, the same Vega-Lite charts and the memory map, the map and the charts
 * growing while the run goes. An ftrace capture (text or gzip) dropped on the
 * page, or picked, is replayed there as `dmasim replay` would; a result JSON (a
 * run's result.json or `--json` output) can be opened to render it again.
 * Everything is in the bundle: nothing is fetched but the page's own files.
 */
import * as vega from "vega";
import { compile } from "vega-lite";
import { KERNEL_VERSIONS } from "../index.ts";
import { allSummaryRows, formatNumber, headline, runSummaryRows, summaryCell } from "../cli/format.ts";
import { chartsFor } from "../lab/report-charts.ts";
import { memoryMapSvg } from "../lab/report-map.ts";
import type { MetricsSample } from "../lab/metrics.ts";
import type { LabResult } from "../lab/result.ts";
import { builtinScenarioNames, builtinScenarioSpec, resultInFile } from "../lab/scenario.ts";
import type { ReplayRequest, RunRequest, WorkerReply, WorkerRequest } from "./protocol.ts";

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function options(select: HTMLSelectElement, values: readonly string[], selected: string): void {
  select.replaceChildren(
    ...values.map((v) => {
      const o = el("option", { value: v }, v);
      o.selected = v === selected;
      return o;
    }),
  );
}

function setStatus(text: string, isError = false): void {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// ---- rendering a result ------------------------------------------------------------------------

function renderSummary(result: LabResult): void {
  $("headline").textContent = headline(result);
  $("summary-rows").replaceChildren(
    // What the CLI prints: `run`'s short table, or every summary figure for a replay.
    ...(result.kind === "replay" ? allSummaryRows(result) : runSummaryRows(result)).map(([label, value]) => {
      const tr = el("tr");
      tr.append(el("th", {}, label.trim()), el("td", {}, value));
      if (label.startsWith("  ")) tr.classList.add("sub");
      return tr;
    }),
  );
  $("state-hash").textContent = result.stateHash;
  const t = result.timing;
  const rate =
    t.opsPerSecond !== undefined
      ? `${Math.round(t.opsPerSecond).toLocaleString("en-US")} operations/s, `
      : t.eventsPerSec !== undefined
        ? `${Math.round(t.eventsPerSec).toLocaleString("en-US")} trace events/s, `
        : "";
  $("speed").textContent = `${result.backend} engine${rate ? ": " : ", "}${rate}${(t.wallMs / 1000).toFixed(2)} s`;
  const warnings = result.warnings ?? [];
  $("warnings").textContent = warnings.map((w) => `warning: ${w}`).join("\n");
  $("warnings").hidden = warnings.length === 0;
  // Every figure, as the result holds it (data-value: the raw number).
  $("all-figures").replaceChildren(
    ...Object.entries(result.summary).map(([key, value]) => {
      const tr = el("tr", { "data-key": key, "data-value": String(value) });
      tr.append(el("td", {}, key), el("td", { class: "n" }, String(summaryCell(key, value))));
      return tr;
    }),
  );
  // A replay's counters: how the simulation fared against the traced kernel (replay.ts, REPLAY_COUNTERS).
  const counters = Object.entries(result.replay ?? {});
  $("replay-counters").replaceChildren(
    ...counters.map(([key, value]) => {
      const tr = el("tr", { "data-key": key, "data-value": String(value) });
      tr.append(el("td", {}, key), el("td", { class: "n" }, formatNumber(value)));
      return tr;
    }),
  );
  $("replay-details").hidden = counters.length === 0;
  $("summary").hidden = false;
}

function renderMap(result: LabResult): void {
  const slider = $<HTMLInputElement>("map-index");
  const picture = $("map-picture");
  const maps = result.maps;
  $("map").hidden = maps.length === 0;
  if (maps.length === 0) return;
  const show = (i: number) => {
    // Hand-written SVG from our own renderer: no user text but escaped labels.
    picture.innerHTML = memoryMapSvg(maps[i]!, { pageSize: result.machine.pageSize });
    $("map-label").textContent = `snapshot ${i + 1} of ${maps.length}`;
  };
  slider.hidden = false;
  slider.min = "0";
  slider.max = String(maps.length - 1);
  slider.value = String(maps.length - 1);
  slider.oninput = () => show(Number(slider.value));
  show(maps.length - 1);
}

/** A chart on the page: its view, and what its spec is apart from its data (to tell whether new data fits it). */
interface ShownChart {
  view: vega.View;
  figure: HTMLElement;
  shape: string;
  /** The compiled spec's dataset that holds the values. */
  dataset: string;
}

let shown = new Map<string, ShownChart>();

function clearCharts(): void {
  for (const c of shown.values()) c.view.finalize();
  shown = new Map();
  $("charts").replaceChildren();
  $("charts-section").hidden = true;
}

/**
 * Draws `result`'s charts: a chart whose spec is the same but for its data
 * gets the new values in its view (cheap: what happens while a run streams
 * samples); any other is drawn afresh. Charts no longer in the list go.
 */
async function drawCharts(result: LabResult): Promise<void> {
  const box = $("charts");
  const next = new Map<string, ShownChart>();
  const pending: Promise<unknown>[] = [];
  for (const chart of chartsFor(result)) {
    const key = chart.file.replace(/\.svg$/, "");
    const { data, ...rest } = chart.spec as { data?: { values?: unknown[] } };
    const shape = JSON.stringify(rest);
    const old = shown.get(key);
    if (old !== undefined && old.shape === shape && data?.values !== undefined) {
      shown.delete(key);
      next.set(key, old);
      box.append(old.figure);
      pending.push(old.view.data(old.dataset, data.values).runAsync());
      continue;
    }
    const figure = el("figure", { class: "chart", "data-chart": key });
    const target = el("div");
    figure.append(target, el("figcaption", {}, chart.caption));
    box.append(figure);
    const compiled = compile(chart.spec).spec;
    const dataset = compiled.data?.find((d) => "values" in d)?.name ?? "source_0";
    const view = new vega.View(vega.parse(compiled), { renderer: "svg", container: target, hover: true });
    next.set(key, { view, figure, shape, dataset });
    pending.push(view.runAsync());
  }
  for (const c of shown.values()) {
    c.view.finalize();
    c.figure.remove();
  }
  shown = next;
  $("charts-section").hidden = next.size === 0;
  await Promise.all(pending);
}

// ---- live plots ----------------------------------------------------------------------------------

/** The samples of the run going on, and whether a redraw waits for the next frame. */
const live = {
  samples: [] as MetricsSample[],
  kind: "run" as LabResult["kind"],
  pageSize: 4096,
  frame: 0,
  drawing: false,
  dirty: false,
};

function resetLive(kind: LabResult["kind"]): void {
  if (live.frame !== 0) cancelAnimationFrame(live.frame);
  Object.assign(live, { samples: [], kind, frame: 0, dirty: false });
  clearCharts();
}

/** Samples from the worker: the charts redraw at the next animation frame, at most once a frame. */
function addLiveSamples(samples: MetricsSample[], kind: LabResult["kind"], pageSize: number): void {
  live.samples.push(...samples);
  live.kind = kind;
  live.pageSize = pageSize;
  live.dirty = true;
  if (live.frame === 0 && !live.drawing) live.frame = requestAnimationFrame(drawLive);
}

function drawLive(): void {
  live.frame = 0;
  if (!live.dirty || document.body.dataset.state !== "running") return;
  live.dirty = false;
  live.drawing = true;
  // What the charts read of a result; the machine's CMA areas are the ones the samples name.
  const partial = {
    kind: live.kind,
    machine: { pageSize: live.pageSize, cma: (live.samples[0]?.cma ?? []).map((a) => ({ name: a.name })) },
    samples: live.samples,
  } as unknown as LabResult;
  const count = live.samples.length;
  drawCharts(partial)
    .then(() => ($("charts").dataset.liveSamples = String(count)))
    .catch((err: unknown) => setStatus(String(err), true))
    .finally(() => {
      live.drawing = false;
      // Samples that came while drawing: one more frame.
      if (live.dirty && live.frame === 0) live.frame = requestAnimationFrame(drawLive);
    });
}

async function render(result: LabResult): Promise<void> {
  renderSummary(result);
  renderMap(result);
  delete $("charts").dataset.liveSamples;
  await drawCharts(result);
  document.body.dataset.state = "done";
}

// ---- running, opening --------------------------------------------------------------------------

let worker: Worker | null = null;

function describeRequest(req: WorkerRequest): string {
  return req.kind === "run"
    ? `running ${req.scenario} (seed ${req.seed}, scale ${req.scale}) on the ${req.backend} engine…`
    : `replaying ${req.name} on the ${req.backend} engine…`;
}

function start(req: WorkerRequest): void {
  worker?.terminate();
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const progress = $<HTMLProgressElement>("progress");
  progress.value = 0;
  progress.hidden = false;
  document.body.dataset.state = "running";
  resetLive(req.kind);
  $("summary").hidden = true;
  setStatus(describeRequest(req));
  $<HTMLButtonElement>("run").disabled = true;
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    const reply = e.data;
    if (reply.kind === "progress") {
      progress.value = reply.done / Math.max(1, reply.total);
      return;
    }
    if (reply.kind === "samples") {
      addLiveSamples(reply.samples, reply.timeTitle === "trace event" ? "replay" : "run", reply.pageSize);
      return;
    }
    if (reply.kind === "map") {
      // The live picture while the run goes; the result's snapshots replace it at the end.
      $("map").hidden = false;
      $("map-picture").innerHTML = memoryMapSvg(reply.map, {
        pageSize: reply.pageSize,
        title: `live: ${req.kind === "run" ? "operation" : "event"} ${reply.map.t.toLocaleString("en-US")}`,
      });
      $("map-label").textContent = req.kind === "run" ? "running…" : "replaying…";
      $("map-index").hidden = true;
      return;
    }
    progress.hidden = true;
    $<HTMLButtonElement>("run").disabled = false;
    worker?.terminate();
    worker = null;
    if (reply.kind === "error") {
      document.body.dataset.state = "error";
      setStatus(reply.message, true);
      return;
    }
    setStatus(req.kind === "run" ? `ran ${req.scenario}` : `replayed ${req.name}`);
    render(reply.result).catch((err: unknown) => setStatus(String(err), true));
  };
  worker.postMessage(req);
}

/** A dropped or picked trace: replayed on the engine selected above. */
function replay(file: File): void {
  const request: ReplayRequest = {
    kind: "replay",
    file,
    name: file.name,
    backend: $<HTMLSelectElement>("backend").value as ReplayRequest["backend"],
  };
  start(request);
}

/** A dropped file: a result JSON is opened, anything else replayed as a trace (which refuses what is not one). */
function dropped(file: File): void {
  if (/\.json$/i.test(file.name)) open(file).catch((err: unknown) => setStatus(String(err), true));
  else replay(file);
}

async function open(file: File): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch (e) {
    setStatus(`${file.name}: not valid JSON (${(e as Error).message})`, true);
    return;
  }
  const result = resultInFile(json) as LabResult | null;
  if (result === null || !Array.isArray(result.samples) || !Array.isArray(result.maps)) {
    setStatus(`${file.name}: not a dmasim result (result.json of a run or replay, or run --json output)`, true);
    return;
  }
  setStatus(`opened ${file.name}`);
  await render(result);
}

function init(): void {
  const names = builtinScenarioNames();
  options($<HTMLSelectElement>("scenario"), names, "camera");
  options($<HTMLSelectElement>("kernel"), KERNEL_VERSIONS, "6.12");
  const describe = () =>
    ($("scenario-description").textContent =
      builtinScenarioSpec($<HTMLSelectElement>("scenario").value)?.description ?? "");
  $<HTMLSelectElement>("scenario").onchange = describe;
  describe();
  $<HTMLFormElement>("run-form").onsubmit = (e) => {
    e.preventDefault();
    const seed = Number($<HTMLInputElement>("seed").value);
    const scale = Number($<HTMLInputElement>("scale").value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      return setStatus("seed: an integer in 0..4294967295", true);
    if (!Number.isFinite(scale) || scale <= 0 || scale > 64)
      return setStatus("scale: a number above 0, at most 64", true);
    start({
      kind: "run",
      scenario: $<HTMLSelectElement>("scenario").value,
      seed,
      scale,
      backend: $<HTMLSelectElement>("backend").value as RunRequest["backend"],
      kernel: $<HTMLSelectElement>("kernel").value as RunRequest["kernel"],
    });
  };
  $<HTMLInputElement>("open").onchange = () => {
    const file = $<HTMLInputElement>("open").files?.[0];
    if (file) open(file).catch((err: unknown) => setStatus(String(err), true));
  };
  $<HTMLInputElement>("trace").onchange = () => {
    const input = $<HTMLInputElement>("trace");
    const file = input.files?.[0];
    // Cleared, so that picking the same file again replays it again.
    input.value = "";
    if (file) replay(file);
  };
  // Files dropped anywhere on the page.
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", (e) => {
    if (e.relatedTarget === null) document.body.classList.remove("dropping");
  });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("dropping");
    const file = e.dataTransfer?.files[0];
    if (file) dropped(file);
  });
  document.body.dataset.state = "ready";
}

init();
