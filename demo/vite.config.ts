// The demo is served and built by Vite; 'kiln' resolves to the library's source. The MNIST digits are packed
// into one compact binary when the dev server or the build starts (never committed).
import { defineConfig, type Plugin } from 'vite';
import { buildMnistAsset, MNIST_ASSET } from './mnist_asset.js';

const src = new URL('../src/', import.meta.url).pathname;

function mnistAsset(): Plugin {
  let bytes: Buffer | null = null;
  const get = () => (bytes ??= buildMnistAsset());
  return {
    name: 'kiln-mnist-asset',
    configureServer(server) {
      server.middlewares.use(`/${MNIST_ASSET}`, (_req, res) => { res.setHeader('content-type', 'application/octet-stream'); res.end(get()); });
    },
    generateBundle() { this.emitFile({ type: 'asset', fileName: MNIST_ASSET, source: get() }); },
  };
}

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  resolve: { alias: [{ find: /^kiln\/gan$/, replacement: `${src}gan/index.ts` }, { find: /^kiln$/, replacement: `${src}index.ts` }] },
  plugins: [mnistAsset()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1', port: 5173 },
});
