import { readFileSync } from "node:fs";
const dir = process.argv[2];
const mod = await WebAssembly.compile(readFileSync(dir + "/engine.wasm"));
const b = await import(dir + "/engine.js");
const e = await b.instantiate(mod, {});
const START = 16384, COUNT = 16384;
e.init(65536, 12, 10, 9, 0); e.boot();
const ids = [];
function refill2() {
  for (;;) { const p = e.allocPages(0, 1); if (p < 0) break; ids.push(e.ownerOf(p)); }
  let k = 0;
  for (const id of ids) { const pfn = e.ownerPfn(id); if (pfn >= START && pfn < START + COUNT) ids[k++] = id; else e.freePages(pfn, 0); }
  ids.length = k;
}
let tot = 0, tf = 0;
for (let i = 0; i < 40; i++) {
  refill2();
  let t = performance.now();
  const r = e.allocContigRange(START, START + COUNT, 1);
  tot += performance.now() - t; t = performance.now();
  e.freeContig(START, COUNT);
  tf += performance.now() - t;
  if (r) throw r;
}
console.log("avg alloc", (tot / 40).toFixed(2), "free", (tf / 40).toFixed(2));
