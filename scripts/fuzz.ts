// Runs the misuse fuzzer at scale and prints its figures: `npx tsx scripts/fuzz.ts [count] [seed]`
// (default 1,500 calls, seed 15). Exit code 1 when any call ended other than in a clear error.
import { init } from '../src/node.js';
import * as kiln from '../src/index.js';
import { fuzz, kinds, tally } from '../tests/fuzz/harness.js';

const count = Number(process.argv[2] ?? 1500);
const seed = Number(process.argv[3] ?? 15);
await init();
const t0 = performance.now();
const results = await fuzz(kiln, seed, count);
const secs = (performance.now() - t0) / 1000;
const t = tally(results);
const byKind = new Map<string, Record<string, number>>();
for (const r of results) {
  const row = byKind.get(r.kind) ?? {};
  row[r.outcome] = (row[r.outcome] ?? 0) + 1;
  byKind.set(r.kind, row);
}
console.log(`kiln fuzz: ${results.length} bad calls over ${kinds(kiln).length} kinds of misuse (seed ${seed}, ${secs.toFixed(1)} s)`);
console.log(`  clear errors ${t.clear}, unclear errors ${t.unclear}, silent results ${t.silent}, leaks ${t.leak}, ` +
  `GPU validation errors ${t.gpu}, hangs ${t.hang}`);
const firstOf = new Map<string, string>();
for (const r of results) if (r.outcome !== 'clear' && !firstOf.has(`${r.kind}/${r.outcome}`)) firstOf.set(`${r.kind}/${r.outcome}`, r.detail);
for (const [kind, row] of byKind) {
  const badParts = Object.entries(row).filter(([o]) => o !== 'clear');
  if (!badParts.length) continue;
  console.log(`  ${kind}: ${badParts.map(([o, n]) => `${n} ${o}`).join(', ')}`);
  for (const [o] of badParts) console.log(`      ${o}: ${firstOf.get(`${kind}/${o}`)}`);
}
process.exit(t.clear === results.length ? 0 : 1);
