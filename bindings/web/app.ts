/**
 * The browser Lab (`npm run web`, `dmasim web`): pick a built-in scenario, a
 * seed, a scale, a backend and a kernel profile, run it in a Web Worker on the
 * WASM or the portable engine, and see what `dmasim run` would report: the
 * summary, the same Vega-Lite charts and the memory map. A result JSON (a
 * run's result.json or `--json` output) can be opened to render it again.
 * Everything is in the bundle: nothing is fetched but the page's own files.
 */
import * as vega from "vega";
import { compile } from "vega-lite";
import { KERNEL_VERSIONS } from "../index.ts";
import { headline, runSummaryRows, summaryCell } from "../cli/format.ts";
import { chartsFor } from "../lab/report-charts.ts";
import { memoryMapSvg } from "../lab/report-map.ts";
import type { LabResult } from "../lab/result.ts";
import { builtinScenarioNames, builtinScenarioSpec, resultInFile } from "../lab/scenario.ts";
import type { RunRequest, WorkerReply } from "./protocol.ts";

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
    ...runSummaryRows(result).map(([label, value]) => {
      const tr = el("tr");
      tr.append(el("th", {}, label.trim()), el("td", {}, value));
      if (label.startsWith("  ")) tr.classList.add("sub");
      return tr;
    }),
  );
  $("state-hash").textContent = result.stateHash;
  const t = result.timing;
  $("speed").textContent =
    t.opsPerSecond !== undefined
      ? `${result.backend} engine: ${Math.round(t.opsPerSecond).toLocaleString("en-US")} operations/s, ${(t.wallMs / 1000).toFixed(2)} s`
      : `${result.backend} engine, ${(t.wallMs / 1000).toFixed(2)} s`;
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

let views: vega.View[] = [];

async function renderCharts(result: LabResult): Promise<void> {
  for (const v of views) v.finalize();
  views = [];
  const box = $("charts");
  box.replaceChildren();
  for (const chart of chartsFor(result)) {
    const figure = el("figure", { class: "chart", "data-chart": chart.file.replace(/\.svg$/, "") });
    const target = el("div");
    figure.append(target, el("figcaption", {}, chart.caption));
    box.append(figure);
    const view = new vega.View(vega.parse(compile(chart.spec).spec), {
      renderer: "svg",
      container: target,
      hover: true,
    });
    views.push(view);
    await view.runAsync();
  }
  $("charts-section").hidden = false;
}

async function render(result: LabResult): Promise<void> {
  renderSummary(result);
  renderMap(result);
  await renderCharts(result);
  document.body.dataset.state = "done";
}

// ---- running, opening --------------------------------------------------------------------------

let worker: Worker | null = null;

function run(req: RunRequest): void {
  worker?.terminate();
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const progress = $<HTMLProgressElement>("progress");
  progress.value = 0;
  progress.hidden = false;
  document.body.dataset.state = "running";
  setStatus(`running ${req.scenario} (seed ${req.seed}, scale ${req.scale}) on the ${req.backend} engine…`);
  $<HTMLButtonElement>("run").disabled = true;
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    const reply = e.data;
    if (reply.kind === "progress") {
      progress.value = reply.done / Math.max(1, reply.total);
      return;
    }
    if (reply.kind === "map") {
      // The live picture while the run goes; the result's snapshots replace it at the end.
      $("map").hidden = false;
      $("map-picture").innerHTML = memoryMapSvg(reply.map, {
        pageSize: reply.pageSize,
        title: `live: operation ${reply.map.t.toLocaleString("en-US")}`,
      });
      $("map-label").textContent = "running…";
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
    setStatus(`ran ${req.scenario}`);
    render(reply.result).catch((err: unknown) => setStatus(String(err), true));
  };
  worker.postMessage(req);
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
    run({
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
  document.body.dataset.state = "ready";
}

init();
