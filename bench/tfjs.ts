// TensorFlow.js as the benchmarks use it: core with every gradient registered and the WebGPU backend.
// Bundled with esbuild (module entry points) because tfjs-core's ESM files import directories, which Node's
// resolver refuses, and its CommonJS build leaves the gradients out.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
