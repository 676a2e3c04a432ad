// CMA lends its area to movable pages and wins it back by migrating them.
// Run: node examples/cma-contiguous.mjs [--backend ts]
import assert from "node:assert/strict";
import { createSystem, MIB } from "dmasim";

const backend = process.argv.includes("--backend") ? process.argv[process.argv.indexOf("--backend") + 1] : "wasm";
const sys = await createSystem({ backend, ramBytes: 64 * MIB, cma: [{ name: "reserved", bytes: 16 * MIB }] });
const area = sys.cma("reserved");

// Movable pages fill memory, the CMA area included (the CMA-first balance rule).
const pages = [];
for (let page = sys.allocMovable(0); page !== null && pages.length < 10000; page = sys.allocMovable(0))
  pages.push(page);
const inArea = pages.filter((p) => p.pfn >= area.basePfn && p.pfn < area.basePfn + area.count).length;
console.log(`movable pages: ${pages.length}, ${inArea} of them lent by the CMA area`);
assert.ok(inArea > 0, "the area lends pages to movable allocations");

// cma_alloc() of the whole area: every page it lent migrates out.
const before = sys.stats().pgmigrateSuccess;
const pfn = area.alloc(area.count, 8);
assert.notEqual(pfn, null, "cma_alloc() succeeds by migrating");
const migrated = sys.stats().pgmigrateSuccess - before;
console.log(`cma_alloc(${area.count} pages) at pfn ${pfn}: ${migrated} pages migrated out of the way`);
assert.equal(migrated, inArea, "exactly the lent pages moved");
for (const p of pages) assert.ok(p.pfn < pfn || p.pfn >= pfn + area.count, "no movable page left in the range");

area.release(pfn, area.count);
sys.check();
console.log(sys.readFile("/proc/buddyinfo").trimEnd());
console.log(`state ${sys.stateHash()} (${backend})`);
