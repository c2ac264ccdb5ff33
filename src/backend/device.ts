// Device acquisition: the browser's navigator.gpu, Dawn in Node, or a GPUDevice the host app already owns.
import { Backend, type AdapterReport } from './backend.js';
import type { CpuDriver } from './node.js';

export interface InitOptions {
  /** Adopt this device: Kiln runs on it and its queue and never destroys it. */
  device?: GPUDevice;
  /** Node: force a CPU Vulkan driver (default: automatic when no hardware GPU is present). */
  cpuDriver?: CpuDriver;
  /** Node: extra Dawn flags, e.g. ['enable-dawn-features=allow_unsafe_apis,disable_robustness']. */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

function report(source: AdapterReport['source'], info: GPUAdapterInfo | undefined, fallback: boolean, icd?: string): AdapterReport {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const software = SOFTWARE.test(`${vendor} ${architecture} ${device} ${description} ${icd ?? ''}`);
  return { source, vendor, architecture, device, description, isFallbackAdapter: fallback || software, icd };
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

export async function acquire(opts: InitOptions = {}): Promise<Backend> {
  if (opts.device) {
    const info = (opts.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return new Backend(opts.device, report('adopted', info, false), false);
  }
  let gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  let source: AdapterReport['source'] = 'browser';
  let icd: string | undefined;
  if (!gpu && isNode()) {
    const spec = './node.js';
    const mod = (await import(/* @vite-ignore */ spec)) as typeof import('./node.js');
    const ng = await mod.nodeGpu({ cpuDriver: opts.cpuDriver, dawnFlags: opts.dawnFlags });
    gpu = ng.gpu;
    icd = ng.icd;
    source = 'dawn-node';
  }
  if (!gpu) {
    throw new Error('kiln: WebGPU is not available here. Use Chrome or Edge 113+ (or Firefox 141+, Safari 26+); ' +
      'on Linux Chrome start it with --enable-unsafe-webgpu (and --enable-features=Vulkan), or open ' +
      'chrome://flags/#enable-unsafe-webgpu. In Node, install the `webgpu` package.');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  if (!adapter) {
    throw new Error('kiln: no WebGPU adapter was found. In Node on Linux install libvulkan1 and a Vulkan driver ' +
      '(Mesa lavapipe >= 24, or chromium for its SwiftShader ICD): bash scripts/setup.sh does this.');
  }
  const l = adapter.limits;
  // Ask for the adapter's own maxima on the limits large tensors hit; the defaults are much lower.
  const device = await adapter.requestDevice({
    // shader-f16 backs the optional f16 matmul path; without it that path reports a clear error.
    requiredFeatures: adapter.features.has('shader-f16') ? ['shader-f16'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 16),
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  });
  const info = adapter.info;
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const b = new Backend(device, report(source, info, fallback, icd), true);
  // Dawn's Node bindings destroy the instance when its JS object is collected, taking the device with it
  // (seen as futex/mutex aborts mid-run): the backend holds the instance and adapter for its lifetime.
  b.keepAlive = [gpu, adapter];
  return b;
}
