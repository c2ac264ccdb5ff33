// Device loss mid-run: the CLI trainer notices that its GPUDevice is gone, re-initialises Kiln on a new
// device and resumes from its newest checkpoint by itself; the run then ends bit-identical to one that was
// never interrupted (resume is exact), having lost only the steps since that checkpoint.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentBackend } from '../../src/autograd/context.js';
import { train } from '../../src/cli/train.js';
import { trainCycleGan } from '../../src/cli/cyclegan.js';
import { setup } from '../helpers.js';

describe('device loss in the CLI trainer', () => {
  it('destroying the device mid-run: the trainer re-initialises, resumes from its last checkpoint and ends as the uninterrupted run', async () => {
    await setup();
    const dir = mkdtempSync(join(tmpdir(), 'kiln-device-loss-'));
    const config = { recipe: 'gaussian' as const, seed: 4, ema: 0.99 };
    const straight = await train({ config, steps: 60, every: 20, out: join(dir, 'straight'), quiet: true });
    straight.trainer.dispose();
    const first = currentBackend();
    let destroyedAt = 0;
    const stepsSeen: number[] = [];
    const lost = await train({
      config, steps: 60, every: 20, out: join(dir, 'lost'), quiet: true,
      onStep: (s) => {
        stepsSeen.push(s);
        if (s === 50 && !destroyedAt) { destroyedAt = s; currentBackend()!.device.destroy(); }
      },
    });
    expect(destroyedAt).toBe(50);
    expect(first!.lost?.reason).toBe('destroyed');
    expect(currentBackend()).not.toBe(first);
    expect(currentBackend()!.lost).toBeNull();
    // Resumed from step-40: steps 41.. ran twice, nothing before it.
    expect(stepsSeen.filter((s) => s === 41)).toHaveLength(2);
    expect(stepsSeen.filter((s) => s === 40)).toHaveLength(1);
    expect(lost.summary.steps).toBe(60);
    const a = readFileSync(join(dir, 'straight', 'checkpoints', 'final.safetensors'));
    const b = readFileSync(join(dir, 'lost', 'checkpoints', 'final.safetensors'));
    expect(b.equals(a)).toBe(true);
    const csv = readFileSync(join(dir, 'lost', 'losses.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBe(61);
    lost.trainer.dispose();
  }, 180_000);

  it('the CycleGAN runner recovers the same way (same loop): resumes from its last checkpoint and ends as the uninterrupted run', async () => {
    await setup();
    const dir = mkdtempSync(join(tmpdir(), 'kiln-device-loss-cyc-'));
    const config = { recipe: 'cyclegan' as const, seed: 6, task: 'toy' as const, batch: 8 };
    const straight = await trainCycleGan({ config, steps: 30, every: 10, out: join(dir, 'straight'), quiet: true });
    straight.trainer.dispose();
    const first = currentBackend();
    const stepsSeen: number[] = [];
    const lost = await trainCycleGan({
      config, steps: 30, every: 10, out: join(dir, 'lost'), quiet: true,
      onStep: (s) => {
        stepsSeen.push(s);
        if (s === 25 && stepsSeen.filter((x) => x === 25).length === 1) currentBackend()!.device.destroy();
      },
    });
    expect(first!.lost?.reason).toBe('destroyed');
    expect(currentBackend()).not.toBe(first);
    // Resumed from step-20: steps 21.. ran twice, step 20 once.
    expect(stepsSeen.filter((s) => s === 21)).toHaveLength(2);
    expect(stepsSeen.filter((s) => s === 20)).toHaveLength(1);
    expect(lost.summary.steps).toBe(30);
    const a = readFileSync(join(dir, 'straight', 'checkpoints', 'final.safetensors'));
    const b = readFileSync(join(dir, 'lost', 'checkpoints', 'final.safetensors'));
    expect(b.equals(a)).toBe(true);
    expect(readFileSync(join(dir, 'lost', 'losses.csv'), 'utf8').trim().split('\n')).toEqual(readFileSync(join(dir, 'straight', 'losses.csv'), 'utf8').trim().split('\n'));
    lost.trainer.dispose();
  }, 180_000);
});
