// The Lab's server scenario with and without direct compaction.
// Run: node examples/lab-compaction.mjs
import assert from "node:assert/strict";
import { loadScenario, runScenario } from "dmasim/lab";

const scenario = loadScenario("server");
const rows = [];
for (const compaction of [true, false]) {
  const r = await runScenario(scenario, { compaction });
  const s = r.summary;
  rows.push({
    compaction,
    "order-9 requests": s["alloc.order9.requests"],
    "order-9 failed": s["alloc.order9.failed"],
    "compact stalls": s.compactStall,
    "compact successes": s.compactSuccess,
    state: r.stateHash,
  });
}
console.table(rows);
assert.equal(rows[1]["compact stalls"], 0, "no compaction stalls with compaction off");
assert.equal(rows[0]["order-9 requests"], rows[1]["order-9 requests"], "the same workload either way");
