// Device acquisition, adapter report, adopted devices and device loss.
import { describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';

// Dawn instances, adapters and devices made here stay referenced until the process ends (a collected instance
// tears its devices down from a finalizer; see device_state.test.ts).
const alive: unknown[] = [];

describe('backend', () => {
  it('init picks Dawn in Node and reports the adapter', async () => {
    const info = await k.init();
    expect(info.source).toBe('dawn-node');
    expect(typeof info.description).toBe('string');
    expect(typeof info.isFallbackAdapter).toBe('boolean');
    expect(k.limits().maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
  });

  it('adopts an app-owned device and never destroys it', async () => {
    await k.init();
    const own = k.memory(); void own;
    const { create } = await import('webgpu');
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    alive.push(gpu, adapter, device);
    const info = await k.init({ device });
    expect(info.source).toBe('adopted');
    const t = k.tensor([1, 2, 3]);
    expect(Array.from(await t.add(1).toArray())).toEqual([2, 3, 4]);
    k.shutdown();
    // still usable by the app
    const buf = device.createBuffer({ size: 16, usage: 0x8 | 0x1 });
    await buf.mapAsync(1);
    buf.unmap();
    device.destroy();
    void gpu;
  });

  it('a lost device surfaces as a clear error on the next call', async () => {
    const { create } = await import('webgpu');
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    alive.push(gpu, adapter, device);
    await k.init({ device });
    const t = k.ones([4]);
    device.destroy();
    await device.lost;
    expect(() => t.add(1)).toThrow(/GPU device was lost/);
    k.shutdown();
    await k.init();
    expect(Array.from(await k.ones([2]).toArray())).toEqual([1, 1]);
  });
});
