// Measures what WESL (`wesl` on npm) would cost Kiln, for the README's choice between it and gen-shaders'
// #import: the time to link each kernel of shaders/ with the prelude as an imported module (what a runtime
// link would add per pipeline; compileStep's fused kernels would each need one more) and the bytes the linker
// adds to a browser bundle. wesl is not a dependency: `npm i --no-save wesl@0.7.31 && node scripts/wesl_eval.mjs`.
import { build } from 'esbuild';
import { generateShaders } from './gen-shaders.mjs';

const { link } = await import('wesl');
const target = generateShaders();
const { outputFiles: [mod] } = await build({ entryPoints: [target], format: 'esm', write: false, logLevel: 'error' });
const { wgslSources } = await import(`data:text/javascript;base64,${Buffer.from(mod.text).toString('base64')}`);

const prelude = wgslSources.prelude;
const preludeFns = [...prelude.matchAll(/^(?:fn|var<private>) (\w+)/gm)].map((m) => m[1]);
const times = [];
const failed = [];
for (const [name, src] of Object.entries(wgslSources)) {
  if (name === 'prelude') continue;
  const used = preludeFns.filter((f) => new RegExp(`\\b${f}\\b`).test(src));
  // WESL wants imports ahead of directives such as `enable f16;`.
  const root = (used.length ? `import package::prelude::{${used.join(', ')}};\n` : '') + src;
  const t0 = performance.now();
  try {
    await link({ weslSrc: { './main.wesl': root, './prelude.wesl': prelude }, rootModuleName: 'main' });
    times.push(performance.now() - t0);
  } catch (e) {
    failed.push(`${name}: ${String(e.message).split('\n')[0]}`);
  }
}
times.sort((a, b) => a - b);
console.log(`linked ${times.length} kernels: median ${times[times.length >> 1].toFixed(2)} ms, total ${times.reduce((a, b) => a + b, 0).toFixed(0)} ms`);
if (failed.length) console.log(`not linked:\n  ${failed.join('\n  ')}`);
const size = async (contents) => {
  const r = await build({ stdin: { contents, resolveDir: process.cwd() }, bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error' });
  return r.outputFiles[0].contents.length;
};
console.log(`wesl's link() in a minified browser bundle: ${await size("import { link } from 'wesl'; globalThis.link = link;")} B`);
console.log(`Kiln (src/index.ts) minified: ${await size("export * from './src/index.ts';")} B`);
