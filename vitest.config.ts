import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM helper without types
import { generateShaders } from './scripts/gen-shaders.mjs';

// The WGSL module is generated from shaders/ before any test imports the library.
generateShaders();

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    // One Dawn device per worker; two workers on two cores. GPU work on a CPU adapter is slow.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 10_000,
  },
});
