// scripts/gen-shaders.mjs: `#import name` pastes shaders/lib/name.wgsl once per kernel, nested imports
// included; unknown names, cycles and other directives are refused; shaders/lib is no kernel of its own.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { generateShaders } from '../../scripts/gen-shaders.mjs';
import { wgslSources } from '../../src/backend/wgsl.gen.js';

let root = '';
function tree(files: Record<string, string>): Record<string, string> {
  root = mkdtempSync(join(tmpdir(), 'kiln-gen-'));
  mkdirSync(join(root, 'shaders', 'lib'), { recursive: true });
  mkdirSync(join(root, 'src', 'backend'), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(root, 'shaders', f), text);
  const out = readFileSync(generateShaders(root), 'utf8');
  const body = out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1).replace(/,\n\}$/, '\n}');
  return JSON.parse(body.replace(/^ {2}"/gm, '"')) as Record<string, string>;
}
afterEach(() => { if (root) rmSync(root, { recursive: true, force: true }); root = ''; });

describe('gen-shaders #import', () => {
  it('pastes a lib once per kernel, nested imports included, without its comments', () => {
    const s = tree({
      'k.wgsl': '// k\n#import a\n#import b\nfn main() {}\n',
      'lib/a.wgsl': '// a: header\n#import b\nfn fa() {}\n',
      'lib/b.wgsl': '// b: header\nfn fb() {} // kept: not a comment line\n',
    });
    expect(Object.keys(s)).toEqual(['k']);
    expect(s.k.match(/fn fb\(\)/g)).toHaveLength(1);
    expect(s.k.indexOf('fn fb()')).toBeLessThan(s.k.indexOf('fn fa()'));
    expect(s.k).not.toContain('header');
    expect(s.k).not.toContain('#import');
  });

  it('refuses unknown libs, cycles and unknown directives, naming the line', () => {
    expect(() => tree({ 'k.wgsl': 'fn f() {}\n#import nope\n' })).toThrow(/k\.wgsl:2: no shaders\/lib\/nope\.wgsl/);
    expect(() => tree({ 'k.wgsl': '#import a\n', 'lib/a.wgsl': '#import b\n', 'lib/b.wgsl': '#import a\n' })).toThrow(/cycle/);
    expect(() => tree({ 'k.wgsl': '#define X 1\n' })).toThrow(/k\.wgsl:1: unknown directive/);
  });

  it("leaves every kernel of shaders/ plain WGSL with one entry point and one copy of each lib", () => {
    for (const [name, src] of Object.entries(wgslSources)) {
      expect(src, name).not.toMatch(/^#/m);
      if (name === 'prelude') continue;
      expect((src.match(/\bfn main\(/g) ?? []).length, name).toBe(1);
      const libs = [...src.matchAll(/^\/\/ shaders\/lib\/(\w+)\.wgsl:$/gm)].map((m) => m[1]);
      expect(new Set(libs).size, name).toBe(libs.length);
    }
  });
});
