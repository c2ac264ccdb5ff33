// Imports point down the layers: nothing outside src/cli imports the CLI, and the browser-facing library
// (everything but src/cli, src/node.ts and src/node/) imports no Node built-in.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = new URL('../../src', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

describe('layering', () => {
  const all = files(src).map((f) => relative(src, f));
  it('only src/cli imports src/cli', () => {
    const bad = all.filter((f) => !f.startsWith('cli/')).flatMap((f) => imports(join(src, f)).filter((s) => /(^|\/)cli\//.test(s)).map((s) => `${f} imports ${s}`));
    expect(bad).toEqual([]);
    expect(all.filter((f) => f.startsWith('cli/')).length).toBeGreaterThan(3);
  });
  it('outside src/cli and the Node side (src/node.ts, src/node/, the Dawn backend), no file imports node: modules', () => {
    const nodeSide = (f: string) => f.startsWith('cli/') || f === 'node.ts' || f.startsWith('node/') || f === 'backend/node.ts';
    const bad = all.filter((f) => !nodeSide(f)).flatMap((f) => imports(join(src, f)).filter((s) => s.startsWith('node:')).map((s) => `${f} imports ${s}`));
    expect(bad).toEqual([]);
  });
});
