// Packs what bench/gpu.ts needs onto a GPU machine that has no Node: this machine's node binary (xz), Dawn's
// binding (xz), the Vulkan loader, the bundled benchmark and the PyTorch script, into .gpu/ (gitignored).
// Then copy .gpu/ to that machine and run the command printed at the end.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, '.gpu');
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'webgpu', 'dist', 'linux-x64'), { recursive: true });
const xz = (src, dst) => writeFileSync(dst, execFileSync('xz', ['-T2', '-6', '-c', src], { maxBuffer: 1 << 28 }));
xz(realpathSync(process.execPath), join(dir, 'node.xz'));
xz(join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node'), join(dir, 'webgpu/dist/linux-x64/dawn.node.xz'));
for (const f of ['index.js', 'package.json']) copyFileSync(join(root, 'node_modules/webgpu', f), join(dir, 'webgpu', f));
copyFileSync(realpathSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1'), join(dir, 'libvulkan.so.1'));
copyFileSync(join(root, 'bench/torch_bench.py'), join(dir, 'torch_bench.py'));
// ignoreAnnotations: tfjs marks its packages side-effect free, which would drop the backend's registration
// import when tfjs.ts is not the entry point.
await build({
  entryPoints: [join(root, 'bench/gpu.ts')], bundle: true, format: 'esm', platform: 'node', mainFields: ['module', 'main'],
  outfile: join(dir, 'bench.mjs'), logLevel: 'error', ignoreAnnotations: true, alias: { webgpu: './webgpu/index.js' }, external: ['./webgpu/index.js'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
console.log(`packed ${dir}; run there:\n  cd .gpu && xz -dc node.xz > /tmp/node && chmod +x /tmp/node && xz -dkf webgpu/dist/linux-x64/dawn.node.xz && ` +
  'LD_LIBRARY_PATH=$PWD /tmp/node bench.mjs --out $OUT');
