/**
 * `dmasim twin CAPTURE_DIR`: replays a real kernel's capture (the realkernel
 * harness's output directory) on a machine laid out like it and scores how
 * often dmasim makes the kernel's choices (see bindings/lab/twin/twin.ts).
 */
import { Option, type Command } from "commander";
import {
  runTwin,
  writeTwinReport,
  type Agreement,
  type Explanation,
  type FollowMiss,
  type TwinMode,
  type TwinResult,
} from "../lab/twin/index.ts";
import { KERNEL_VERSIONS, type Backend, type KernelVersion } from "../index.ts";

interface TwinOpts {
  mode: TwinMode;
  backend: Backend;
  kernel?: KernelVersion;
  json?: boolean;
  out?: string;
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "n/a" : `${(100 * x).toFixed(2)}%`;
}

function agreementCells(map: Record<string, Agreement>): string {
  return Object.entries(map)
    .map(([k, a]) => `${k}: ${pct(a.agreement)} of ${a.decisions}`)
    .join(", ");
}

/** The text summary: a dozen lines. */
export function formatTwinSummary(r: TwinResult): string {
  const out: string[] = [];
  const c = r.capture;
  out.push(
    `dmasim twin (${r.machine.backend}, ${r.machine.kernel} rules${r.machine.kernelFrom === "uname" ? " from uname" : ""}): ${c.dir}`,
  );
  out.push(
    `  kernel   ${c.kernelVersion} (${c.release}); zones ${c.zones.map((z) => `${z.name} ${z.startPfn}+${z.spannedPages}`).join(", ")}; pageblock order ${c.pageblockOrder}, max order ${c.maxOrder}` +
      (c.cmaAreas.length > 0 ? `; cma= on the command line${c.cmaConfigured ? "" : " (no CONFIG_CMA: ignored)"}` : ""),
  );
  out.push(
    `  boot     ${r.load.freePages} free, ${r.load.heldPages} held pages; buddyinfo ${r.load.buddyinfoMatches ? "matches" : "DIFFERS"}; per-type free-list distance ${r.load.freeListDistance.toFixed(4)}`,
  );
  const f = r.fidelity.follow;
  if (f) {
    out.push(`  follow   agreement ${pct(f.agreement)} (${f.agreed} of ${f.decisions} buddy-level allocations)`);
    out.push(`           by order: ${agreementCells(f.byOrder)}`);
    out.push(`           by migratetype: ${agreementCells(f.byMigratetype)}`);
    out.push(
      `           fallbacks: ${f.fallbacks.kernel} traced, ${f.fallbacks.sameBlock} same block (${pct(f.fallbacks.agreement)}); unapplied: ${f.unapplied.allocs} allocs, ${f.unapplied.frees} frees; traced type differs from the pageblock's: ${f.typeDiffers.allocs} allocs, ${f.typeDiffers.drains} drains`,
    );
    const m = f.missCauses;
    out.push(
      `           a model of 6.1's free lists: ${pct(f.linux61Lists.agreement)}; dmasim's misses: ${m.otherListIn61} picks on another type's list in 6.1, ${m.kernelBlockOnOtherList} kernel blocks on another list in dmasim, ${m.otherOrder} other order, ${m.listOrder} list order`,
    );
    for (const p of f.phases)
      out.push(
        `           at ${p.phase}: ${p.freePfnsDiffering ?? "?"} pfns free in one and not the other; free-list distance ${p.freeListDistance.toFixed(4)}`,
      );
    // The first misses with their context (all of them in --json's firstMisses).
    for (const miss of f.firstMisses.slice(0, 3)) out.push(`           ${missText(miss)}`);
  }
  const fr = r.fidelity.freeRun;
  if (fr) {
    out.push(
      `  free-run ${fr.allocs} allocations (${fr.failed} failed), ${fr.frees} frees; max distance ${fr.maxDistance === null ? "n/a" : fr.maxDistance.toFixed(4)}`,
    );
    const c = fr.compaction;
    if (c.runs > 0)
      out.push(
        `           compact_memory: dmasim migrated ${c.migrated} pages, the kernel ${c.kernelMigrated} (${c.runs} run${c.runs === 1 ? "" : "s"})`,
      );
    for (const p of fr.phases)
      out.push(`           at ${p.phase}: free-list distance ${p.freeListDistance.toFixed(4)}`);
  }
  for (const note of r.fidelity.explanations) out.push(`  note     ${noteText(note)}`);
  out.push(
    `  time     load ${r.timing.loadMs.toFixed(0)} ms, replay ${r.timing.replayMs.toFixed(0)} ms of ${r.trace.lines} lines`,
  );
  return out.join("\n");
}

/** One line per explanation: its cause, the snapshots it concerns and the misses it accounts for (the text is in --json). */
function noteText(n: Explanation): string {
  const where = n.phases.length > 0 ? ` at ${n.phases.join(", ")}` : "";
  const misses = n.misses === null ? "" : `; ${n.misses} follow-mode misses`;
  const what: Record<Explanation["cause"], string> = {
    "compaction-free-scanner": "compact_memory's free scanner takes pages without a trace event",
    "boot-list-order": "the boot snapshot does not tell the order of blocks on a free list",
    "linux61-lists": "a 6.1 capture under another profile: 6.1's free-list rules differ (see linux61Lists)",
  };
  return `${what[n.cause]} (${n.modes.join(", ")}${where}${misses})`;
}

function blockText(b: FollowMiss["kernelBlock"]): string {
  return b === null ? "not free in the twin" : `from ${b.list} order-${b.order} block ${b.pfn}`;
}

/** "first miss at line N: movable o0 → pfn P (from …); dmasim: pfn Q (from …)" */
function missText(m: FollowMiss): string {
  const ours = m.dmasim === null ? "nothing" : `pfn ${m.dmasim.pfn} (${blockText(m.dmasim)})`;
  return `miss at line ${m.line}: ${m.migratetype} order ${m.order}${m.percpuRefill ? " refill" : ""} → pfn ${m.pfn} (${blockText(m.kernelBlock)}); dmasim: ${ours}`;
}

async function twinCommand(dir: string, opts: TwinOpts): Promise<void> {
  const result = await runTwin(dir, { mode: opts.mode, backend: opts.backend, kernel: opts.kernel });
  const written = opts.out ? await writeTwinReport(result, opts.out) : [];
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  else
    process.stdout.write(
      formatTwinSummary(result) + (written.length > 0 ? `\n  wrote    ${written.join(", ")}` : "") + "\n",
    );
}

/** Adds `twin` to the program. */
export function addTwinCommand(program: Command): void {
  program
    .command("twin")
    .description("replay a real kernel's capture directory on a machine laid out like it and score fidelity")
    .argument("<capture-dir>", "a realkernel capture: boot/ (and later phase) snapshots, trace.txt[.gz], static/")
    .addOption(
      new Option("--mode <mode>", "follow the kernel, run free, or both")
        .choices(["follow", "free-run", "both"])
        .default("both"),
    )
    .addOption(new Option("--backend <backend>", "engine build").choices(["wasm", "ts"]).default("wasm"))
    .addOption(
      new Option("--kernel <version>", "the rules dmasim follows (default: from the capture's uname)").choices([
        ...KERNEL_VERSIONS,
      ]),
    )
    .option("-o, --out <dir>", "also write the result as twin.json and the report (index.html) in this directory")
    .option("--json", "print the result as JSON on stdout, and nothing else")
    .action((dir: string, opts: TwinOpts) => twinCommand(dir, opts));
}
