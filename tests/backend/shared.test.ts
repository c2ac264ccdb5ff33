// Kiln on an app's own device: the app's buffers and passes before and after Kiln's work keep their
// contents, zero-copy tensors over app buffers (and app access to Kiln's storage) see the right values,
// bad buffers are refused with clear errors, and Kiln never destroys the device or touches its error scopes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';

const U = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, VERTEX: 0x20, UNIFORM: 0x40, STORAGE: 0x80 };
let device: GPUDevice;
const calls = { destroy: 0, pushErrorScope: 0, listeners: 0 };
let keep: unknown[] = [];

async function readApp(buf: GPUBuffer, offset: number, bytes: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: bytes, usage: U.MAP_READ | U.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, offset, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1);
  const v = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return v;
}

/** The app's own compute pass: data[i] = data[i] * 10 + 1. */
function appPass(buf: GPUBuffer, n: number): void {
  const module = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> d: array<f32>;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < ${n}u) { d[g.x] = d[g.x] * 10.0 + 1.0; } }` });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  device.queue.submit([enc.finish()]);
}

beforeAll(async () => {
  const { create } = await import('webgpu');
  await k.init(); // picks the same CPU driver Kiln would
  const gpu = create([]);
  const adapter = (await gpu.requestAdapter())!;
  device = await adapter.requestDevice();
  keep = [gpu, adapter];
  const d = device as GPUDevice & Record<string, unknown>;
  const destroy = device.destroy.bind(device);
  const push = device.pushErrorScope.bind(device);
  const add = device.addEventListener.bind(device);
  d.destroy = () => { calls.destroy++; destroy(); };
  d.pushErrorScope = (f: GPUErrorFilter) => { calls.pushErrorScope++; push(f); };
  d.addEventListener = ((...a: Parameters<GPUDevice['addEventListener']>) => { calls.listeners++; add(...a); }) as GPUDevice['addEventListener'];
  await k.init({ device });
});

afterAll(async () => {
  k.shutdown();
  expect(calls.destroy).toBe(0);
  device.destroy();
  keep = [];
  await k.init();
});

describe('shared device', () => {
  it("the app's buffers and passes before and after Kiln's work keep their contents", async () => {
    expect(k.adapter().source).toBe('adopted');
    const appBuf = device.createBuffer({ size: 256, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST });
    device.queue.writeBuffer(appBuf, 0, new Float32Array(64).map((_, i) => i));
    appPass(appBuf, 64);
    // Kiln work in between, including its pooled buffers being reused.
    const x = k.randn([128, 64]);
    const y = k.F.relu(x.matmul(k.randn([64, 32]))).sum();
    const yv = await y.item();
    expect(Number.isFinite(yv)).toBe(true);
    x.dispose(); y.dispose();
    appPass(appBuf, 64);
    const v = await readApp(appBuf, 0, 256);
    expect(Array.from(v.subarray(0, 4))).toEqual([11, 111, 211, 311]);
    expect(v[63]).toBe((63 * 10 + 1) * 10 + 1);
    expect(calls.pushErrorScope).toBe(0);
    expect(calls.listeners).toBe(0);
    appBuf.destroy();
  });

  it('Tensor.fromGPUBuffer reads an app buffer in place; gpuBuffer() hands Kiln storage to the app', async () => {
    const buf = device.createBuffer({ size: 1024, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST | U.VERTEX });
    device.queue.writeBuffer(buf, 256, new Float32Array([1, 2, 3, 4, 5, 6]));
    const t = k.Tensor.fromGPUBuffer(buf, [2, 3], { offset: 256 });
    expect(Array.from(await t.mul(2).toArray())).toEqual([2, 4, 6, 8, 10, 12]);
    expect(Array.from(await t.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    // Generator-style output written straight into the app's vertex buffer, read by the app's own copy.
    const out = k.tensor([[0.5, -1], [2, 3], [4, 5]]);
    const dst = k.Tensor.fromGPUBuffer(buf, [3, 2]);
    dst.copy_(out.mul(10));
    k.flush();
    expect(Array.from(await readApp(buf, 0, 24))).toEqual([5, -10, 20, 30, 40, 50]);
    // Kiln storage handed to the app.
    const y = t.add(100);
    const h = y.gpuBuffer();
    expect(h.size).toBe(24);
    expect(Array.from(await readApp(h.buffer, h.offset, h.size))).toEqual([101, 102, 103, 104, 105, 106]);
    t.dispose(); dst.dispose(); y.dispose();
    // dispose() of a wrapped tensor leaves the app's buffer alone.
    expect(Array.from(await readApp(buf, 256, 8))).toEqual([1, 2]);
    buf.destroy();
  });

  it('refuses unusable buffers with clear errors before any GPU work', async () => {
    const noStorage = device.createBuffer({ size: 64, usage: U.COPY_SRC | U.COPY_DST });
    expect(() => k.Tensor.fromGPUBuffer(noStorage, [4])).toThrow(/lacks STORAGE \(0x80\)/);
    const buf = device.createBuffer({ size: 64, usage: U.STORAGE | U.COPY_DST });
    expect(() => k.Tensor.fromGPUBuffer(buf, [4], { offset: 4 })).toThrow(/offset 4 must be a non-negative multiple of minStorageBufferOffsetAlignment \(256\)/);
    expect(() => k.Tensor.fromGPUBuffer(buf, [17])).toThrow(/shape \[17\] needs 68 bytes from offset 0, but the buffer holds 64/);
    expect(() => k.Tensor.fromGPUBuffer(buf, [2.5])).toThrow(/shape must be non-negative integers/);
    const t = k.Tensor.fromGPUBuffer(buf, [4]);
    await expect(t.toArray()).rejects.toThrow(/reading a tensor back needs COPY_SRC usage/);
    expect(Array.from(await t.add(1).toArray())).toEqual([1, 1, 1, 1]); // kernels still read it (zero-initialised)
    expect(k.gpuErrors()).toEqual([]);
    noStorage.destroy(); buf.destroy();
  });
});
