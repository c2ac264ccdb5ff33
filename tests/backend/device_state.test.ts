// Device state: tensors from a device Kiln has closed or left raise a clear error at their first use, and a
// lost device surfaces as one KilnDeviceLostError (and one onDeviceLost call) until init() is called again.
import { afterEach, describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';

// Every Dawn instance, adapter and device made here stays referenced until the process ends: a GPU object that
// is garbage-collected tears its devices down from a finalizer, which crashed the worker now and then (a native
// crash, not a test failure) once a destroyed device's instance went away while another was in use.
const alive: unknown[] = [];

async function appDevice(): Promise<{ device: GPUDevice; keep: unknown[] }> {
  const { create } = await import('webgpu');
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  alive.push(gpu, adapter, device);
  return { device, keep: [gpu, adapter] };
}

/** A readback as a promise, whether the error comes synchronously or from the GPU. */
const read = async (t: k.Tensor) => t.toArray();

afterEach(() => { k.shutdown(); });

describe('stale tensors', () => {
  it('a tensor from before shutdown() and init() names its shape and what happened', async () => {
    await k.init();
    const old = k.tensor([[1, 2, 3], [4, 5, 6]]);
    k.shutdown();
    await k.init();
    const fresh = k.ones([2, 3]);
    expect(() => old.add(1)).toThrow(k.KilnStaleTensorError);
    expect(() => old.add(1)).toThrow(/shape \[2, 3\].*shutdown\(\) was called/);
    expect(() => fresh.mul(old)).toThrow(/shape \[2, 3\].*no longer uses/);
    await expect(read(old)).rejects.toThrow(k.KilnStaleTensorError);
    old.dispose();
    expect(Array.from(await fresh.add(1).toArray())).toEqual([2, 2, 2, 2, 2, 2]);
    expect(k.gpuErrors()).toEqual([]);
  });

  it('a second init({ device }) with another device makes the old tensors stale; the same device keeps them', async () => {
    await k.init();
    const before = k.tensor([1, 2]);
    const app = await appDevice();
    await k.init({ device: app.device });
    expect(() => before.neg()).toThrow(/shape \[2\].*init\(\) moved Kiln to another device/);
    const mine = k.tensor([3, 4]);
    await k.init({ device: app.device });
    expect(Array.from(await mine.neg().toArray())).toEqual([-3, -4]);
    k.shutdown();
    app.device.destroy();
  });

  it('a compiled step captured on a closed device names the stale tensor it holds', async () => {
    await k.init();
    const w = k.randn([8, 8]).keep();
    const step = k.compileStep((x: k.Tensor) => x.matmul(w));
    for (let i = 0; i < 3; i++) step.run(k.randn([4, 8]));
    k.shutdown();
    await k.init();
    expect(() => step.run(k.randn([4, 8]))).toThrow(/shape \[4, 8\].*shutdown\(\) was called/);
    expect(k.gpuErrors()).toEqual([]);
  });

  it('disposing a stale tensor is allowed and does not touch the new device', async () => {
    await k.init();
    const old = k.randn([64]);
    k.shutdown();
    await k.init();
    const m = k.memory();
    old.dispose();
    expect(k.memory()).toEqual(m);
  });
});

describe('device loss', () => {
  it('destroying the device gives one clear error from the next op and readback, and one callback', async () => {
    const app = await appDevice();
    await k.init({ device: app.device });
    const t = k.ones([4]);
    const seen: k.KilnDeviceLostError[] = [];
    const off = k.onDeviceLost((e) => seen.push(e));
    app.device.destroy();
    await app.device.lost;
    await Promise.resolve();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(k.KilnDeviceLostError);
    expect(seen[0].reason).toBe('destroyed');
    expect(() => t.add(1)).toThrow(k.KilnDeviceLostError);
    expect(() => k.zeros([2])).toThrow(/GPU device was lost \(destroyed/);
    await expect(read(t)).rejects.toThrow(k.KilnDeviceLostError);
    // init() again recovers; the old tensor now says its device was lost and left behind.
    await k.init();
    expect(Array.from(await k.ones([2]).add(1).toArray())).toEqual([2, 2]);
    expect(() => t.add(1)).toThrow(/shape \[4\].*device was lost \(destroyed\), then init\(\)/);
    k.shutdown();
    expect(seen).toHaveLength(1); // Kiln's own shutdown is not a loss
    off();
  });

  it('a compiled step whose device is lost mid-run throws the same error on its next run', async () => {
    const app = await appDevice();
    await k.init({ device: app.device });
    const w = k.randn([8, 8]).keep();
    const step = k.compileStep((x: k.Tensor) => x.matmul(w).relu());
    const x = k.randn([4, 8]);
    for (let i = 0; i < 3; i++) step.run(x);
    expect(step.stats.replays).toBe(1);
    app.device.destroy();
    await app.device.lost;
    expect(() => step.run(x)).toThrow(k.KilnDeviceLostError);
    step.dispose();
  });

  it('a readback in flight when the device is lost rejects with KilnDeviceLostError', async () => {
    const app = await appDevice();
    await k.init({ device: app.device });
    const t = k.randn([1024]).mul(2);
    const pending = t.toArray();
    app.device.destroy();
    await expect(pending).rejects.toThrow(k.KilnDeviceLostError);
  });
});
