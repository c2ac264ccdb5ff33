// Writes a benchmark run to bench/results/ (JSON with its metadata, markdown, and latest-<runner>.md) and
// prints the table and the three rows furthest from their targets. Node only; both runners use it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { markdown, ratio, target, type Row } from './run.js';

export function report(runner: 'node' | 'chromium', meta: { date: string; quick: boolean; wallSeconds: number } & Record<string, unknown>,
  rows: Row[], header: string): void {
  const md = markdown(rows, header, runner);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const stem = `${runner}-${meta.quick ? 'quick-' : ''}${meta.date.replace(/[:.]/g, '-')}`;
  writeFileSync(new URL(`./results/${stem}.json`, import.meta.url), JSON.stringify({ meta, rows }, null, 2));
  writeFileSync(new URL(`./results/${stem}.md`, import.meta.url), md);
  writeFileSync(new URL(`./results/latest-${runner}${meta.quick ? '-quick' : ''}.md`, import.meta.url), md);
  console.log(`\n${md}`);
  const short = rows.filter((r) => ratio(r) !== null).map((r) => ({ r, gap: ratio(r)! / target(r, runner) })).sort((x, y) => x.gap - y.gap).slice(0, 3);
  console.log(`furthest from target: ${short.map(({ r }) => `${r.name} (${ratio(r)!.toFixed(2)}x of ${target(r, runner)}x)`).join('; ')}`);
  console.log(`wrote bench/results/${stem}.{json,md} in ${meta.wallSeconds.toFixed(0)} s`);
}
