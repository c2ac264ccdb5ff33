// The demo is served and built by Vite; 'kiln' resolves to the library's source.
import { defineConfig } from 'vite';

const src = new URL('../src/', import.meta.url).pathname;

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  resolve: { alias: [{ find: /^kiln\/gan$/, replacement: `${src}gan/index.ts` }, { find: /^kiln$/, replacement: `${src}index.ts` }] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { host: '127.0.0.1', port: 5173 },
});
