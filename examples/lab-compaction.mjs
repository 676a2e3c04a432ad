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
// The same mix either way, but not draw for draw: which block a free or a pin
// picks depends on what earlier requests got, so the two runs' operations part
// after the first allocation that succeeds in one and fails in the other.
const [withC, withoutC] = [rows[0]["order-9 requests"], rows[1]["order-9 requests"]];
assert.ok(Math.abs(withC - withoutC) <= 0.02 * withoutC, "about the same huge-page workload either way");
assert.ok(rows[0]["order-9 failed"] < rows[1]["order-9 failed"], "fewer huge-page failures with compaction");
