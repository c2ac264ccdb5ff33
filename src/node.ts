// Kiln's Node entry: the whole library, with Dawn (the `webgpu` package) and the CPU Vulkan driver choice
// loaded up front instead of on first init().
export * from './index.js';
export { nodeGpu, type CpuDriver } from './backend/node.js';
