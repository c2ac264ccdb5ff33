// Kiln's public entry: init, tensor factories, the functional ops (F), nn, optim and the Tensor class.
import { acquire, type InitOptions } from './backend/device.js';
import type { AdapterReport, MemoryReport } from './backend/backend.js';
import { backend, currentBackend, setBackend } from './autograd/context.js';
import './tensor.js';

export { Tensor } from './tensor.js';
export type { DType } from './autograd/tensor.js';
export { tidy } from './autograd/tensor.js';
export { compileStep, onReplay, CompiledStep, type CompiledStepStats, type HostInput } from './autograd/compile.js';
export type { ProgramMemory } from './backend/program.js';
export { tune, type TuneReport, type TuneChoice } from './ops/tune.js';
export { manualSeed, noGrad, getRngState, setRngState } from './autograd/context.js';
export { tensor, zeros, ones, full, randn, rand, arange, zerosLike, onesLike, cat, stack } from './ops/functional.js';
export * as F from './ops/functional.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { OP_NAMES } from './ops/names.js';
export * as io from './io/index.js';
export * as data from './data/index.js';
export { stateDictToSafetensors, stateDictFromSafetensors } from './io/state_dict.js';
export type { AdapterReport, MemoryReport, InitOptions };
export { KilnGpuError, KilnDeviceLostError, KilnStaleTensorError, onDeviceLost } from './backend/errors.js';

/**
 * Sets up WebGPU: the browser's navigator.gpu, Dawn in Node (with a CPU Vulkan driver where there is no GPU),
 * or the app's own device (`init({ device })`, never destroyed by Kiln). Returns what adapter it got.
 * Calling it again without options (or with the device already in use) returns the current adapter; after a
 * device loss it gets a new device. Moving to another device closes the old one: tensors made on it raise
 * KilnStaleTensorError at their next use.
 */
export async function init(opts: InitOptions = {}): Promise<AdapterReport> {
  const cur = currentBackend();
  if (cur && cur.state === 'ready' && (opts.device ? opts.device === cur.device : !opts.cpuDriver && !opts.dawnFlags)) {
    return cur.adapter;
  }
  const b = await acquire(opts);
  cur?.close('init() moved Kiln to another device');
  setBackend(b);
  return b.adapter;
}

/** The adapter in use. */
export function adapter(): AdapterReport { return backend().adapter; }

/** The device's limits. */
export function limits(): GPUSupportedLimits { return backend().limits; }

/** Exact accounting of the GPU memory Kiln holds. */
export function memory(): MemoryReport { return backend().memory(); }

/** Counters of GPU work since init: queue submissions, recorded dispatches and GPU buffers created. */
export function stats(): { submits: number; dispatches: number; buffersCreated: number } {
  const b = backend();
  return { submits: b.submits, dispatches: b.dispatches, buffersCreated: b.buffersCreated };
}

/** Submits recorded GPU work now (Kiln also submits at every readback). */
export function flush(): void { backend().flush(); }

/** Resolves when every submitted GPU command has finished. */
export function sync(): Promise<void> { return backend().sync(); }

/** Validation errors the device reported (owned devices only); empty in a healthy run. */
export function gpuErrors(): readonly string[] { return backend().gpuErrors; }

/** Releases pooled buffers that no tensor uses. */
export function trimMemory(): void { backend().trimPool(); }

/** Frees Kiln's GPU resources; destroys the device only if Kiln created it. */
export function shutdown(): void {
  currentBackend()?.destroy();
  setBackend(null);
}
