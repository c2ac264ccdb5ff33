// A GPU validation error outside an error scope discards the work submitted with it; the next readback fails
// with it rather than returning stale values. (Its own file: it leaves an entry in gpuErrors().)
import { beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../src/autograd/context.js';
import { setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });

describe('uncaptured GPU validation errors', () => {
  it('fail the next readback, once, naming the error', async () => {
    const x = k.full([2], 4);
    expect(Array.from(await x.toArray())).toEqual([4, 4]);
    // An invalid buffer descriptor: Dawn reports it only through the uncaptured-error event.
    backend().device.createBuffer({ size: 4, usage: 0 });
    await k.sync().catch(() => undefined);
    await expect(x.toArray()).rejects.toThrow(/kiln: the GPU reported a validation error since the previous readback.*cannot be trusted/);
    expect(k.gpuErrors().length).toBe(1);
    expect(Array.from(await x.toArray())).toEqual([4, 4]);
    x.dispose();
  });
});
