// PyTorch programs ported line by line, and the misuses a port makes: each either behaves as PyTorch or
// fails with an error naming the function, the argument, what it got and what it expected — before any GPU
// work, leaving no tensor behind and no GPU validation error.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoGpuErrors, setup } from '../helpers.js';
import { sgdStep } from '../../src/ops/kernels.js';
import { decodeCheckpoint, encodeCheckpoint, restoreCheckpoint } from '../../src/gan/checkpoint.js';
import { buildRun, type RunConfig } from '../../src/gan/recipes.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import { DataLoader, TensorDataset } from '../../src/data/loader.js';
import { imageToPng } from '../../src/io/save_image.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

/** Runs `fn`, expects it to throw matching `re`, and checks it left no tensor behind. */
function refuses(fn: () => unknown, re: RegExp): void {
  const before = k.memory().liveTensors;
  expect(fn).toThrow(re);
  expect(k.memory().liveTensors).toBe(before);
}

describe('duplicate parameters and aliased writable bindings', () => {
  it('Adam([p, p]) keeps one copy of p, warns once as PyTorch, and the queued work of other tensors survives', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const p = k.ones([3], { requiresGrad: true });
    const m = new k.nn.Linear(2, 2);
    const opt = new k.optim.Adam([p, p], { lr: 0.1 });
    const opt2 = new k.optim.Adam([...m.parameters(), ...m.parameters()], 0.1);
    expect(opt.params).toEqual([p]);
    expect(opt2.params.length).toBe(2);
    const warnings = warn.mock.calls.map((c) => String(c[0])).filter((s) => /duplicate parameters/.test(s));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/Adam: optimizer contains a parameter group with duplicate parameters/);
    warn.mockRestore();
    const other = k.full([2], 5);
    p.grad = k.ones([3]).keep();
    opt.step();
    // Adam's first step moves each element by lr (m_hat / sqrt(v_hat) = 1).
    expect(Array.from(await p.toArray()).map((v) => Number(v.toFixed(5)))).toEqual([0.9, 0.9, 0.9]);
    expect(Array.from(await other.toArray())).toEqual([5, 5]);
    for (const t of [p, other]) t.dispose();
    opt.dispose(); opt2.dispose();
  });

  it('a kernel launch that would bind one buffer twice with a write is refused before dispatch', async () => {
    const p = k.ones([4]);
    const other = k.full([2], 3);
    expect(() => sgdStep(p, p, null, () => ({ lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, first: true })))
      .toThrow(/binding \d is written and overlaps binding \d/);
    expect(Array.from(await other.toArray())).toEqual([3, 3]);
    p.dispose(); other.dispose();
  });
});

describe('strict options: every F function and factory', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['crossEntropy label_smoothing', () => k.F.crossEntropy(k.zeros([2, 3]), k.tensor([0, 1], undefined, { dtype: 'int32' }), { label_smoothing: 0.1 } as never), /crossEntropy: unknown option 'label_smoothing' \(did you mean 'labelSmoothing'\?\); its options are reduction, weight, ignoreIndex, labelSmoothing/],
    ['crossEntropy ignore_index', () => k.F.crossEntropy(k.zeros([2, 3]), k.tensor([0, 1], undefined, { dtype: 'int32' }), { ignore_index: 1 } as never), /did you mean 'ignoreIndex'/],
    ['conv2d padding_mode', () => k.F.conv2d(k.zeros([1, 1, 4, 4]), k.zeros([1, 1, 3, 3]), null, { padding_mode: 'reflect' } as never), /conv2d: unknown option 'padding_mode' \(.*ReflectionPad2d\)/],
    ['mseLoss size_average', () => k.F.mseLoss(k.zeros([2]), k.zeros([2]), { size_average: false } as never), /mseLoss: unknown option 'size_average' \(.*reduction/],
    ['bceWithLogits pos_weight', () => k.F.binaryCrossEntropyWithLogits(k.zeros([2]), k.zeros([2]), { pos_weight: k.ones([2]) } as never), /binaryCrossEntropyWithLogits: unknown option 'pos_weight' \(did you mean 'posWeight'\?\)/],
    ['linear bias option', () => k.F.linear(k.zeros([2, 3]), k.zeros([4, 3]), null, { bias: true } as never), /linear: unknown option 'bias'; its options are activation, slope, precision/],
    ['batchNorm train', () => k.F.batchNorm(k.zeros([2, 3]), null, null, null, null, { train: true } as never), /batchNorm: unknown option 'train'; its options are training, momentum, eps/],
    ['dropout prob', () => k.F.dropout(k.zeros([2]), { prob: 0.5 } as never), /dropout: unknown option 'prob'/],
    ['dropout bad positional', () => k.F.dropout(k.zeros([2]), 'a' as never), /dropout: argument 'p' must be a number, got "a"/],
    ['interpolate scale_factor', () => k.F.interpolate(k.zeros([1, 1, 2, 2]), { scale_factor: 2 } as never), /interpolate: unknown option 'scale_factor' \(did you mean 'scaleFactor'\?\)/],
    ['instanceNorm use_input_stats', () => k.F.instanceNorm(k.zeros([1, 1, 2, 2]), { use_input_stats: true } as never), /did you mean 'useInputStats'/],
    ['matmul transpose', () => k.F.matmul(k.zeros([2, 2]), k.zeros([2, 2]), { transpose: true } as never), /matmul: unknown option 'transpose'; its options are transA, transB/],
    ['pad circular', () => k.F.pad(k.zeros([1, 2, 2]), [1, 1], 'circular' as never), /pad: mode must be/],
    ['backward create_graph', () => { const x = k.ones([1], { requiresGrad: true }); const y = x.mul(2); try { y.backward({ create_graph: true } as never); } finally { y.dispose(); x.dispose(); } }, /backward: unknown option 'create_graph' \(higher-order gradients are not supported\)/],
    ['tensor requires_grad', () => k.tensor([1, 2], undefined, { requires_grad: true } as never), /tensor: unknown option 'requires_grad' \(did you mean 'requiresGrad'\?\); its options are dtype, requiresGrad/],
    ['zeros device', () => k.zeros([2], { device: 'cuda' } as never), /zeros: unknown option 'device'/],
    ['randn stddev', () => k.randn([2], { stddev: 2 } as never), /randn: unknown option 'stddev'; its options are dtype, requiresGrad, mean, std/],
    ['rand from', () => k.rand([2], { from: 1 } as never), /rand: unknown option 'from'/],
    ['arange requires_grad', () => k.arange(0, 3, 1, { requires_grad: true } as never), /arange: unknown option 'requires_grad'/],
    ['full dtype typo', () => k.full([2], 1, { dtyp: 'int32' } as never), /full: unknown option 'dtyp'/],
    ['toArray options', () => { const x = k.zeros([1]); try { return x.toArray({ flsh: false } as never); } finally { x.dispose(); } }, /toArray: unknown option 'flsh'/],
  ];
  for (const [name, fn, re] of cases) {
    it(name, () => {
      // Inputs are made inside fn: measure around a tidy so they are freed, and only the error matters.
      const before = k.memory().liveTensors;
      expect(() => k.tidy(fn as () => void)).toThrow(re);
      expect(k.memory().liveTensors).toBe(before);
    });
  }

  it('PyTorch positional scalars: dropout(x, p, training), conv2d(x, w, b, stride, padding), pad(x, pads, mode, value)', async () => {
    const x = k.ones([20000]);
    const y = k.F.dropout(x, 0.9);
    const v = await y.toArray();
    const kept = v.filter((e) => e !== 0);
    expect(kept.length / v.length).toBeGreaterThan(0.07);
    expect(kept.length / v.length).toBeLessThan(0.13);
    expect(kept.every((e) => Math.abs(e - 10) < 1e-4)).toBe(true);
    const z = k.F.dropout(x, 0.9, false);
    expect(Array.from(await z.toArray()).every((e) => e === 1)).toBe(true);
    const img = k.randn([1, 2, 7, 7]);
    const w = k.randn([3, 2, 3, 3]);
    const a = k.F.conv2d(img, w, null, 2, 1);
    const b = k.F.conv2d(img, w, null, { stride: 2, padding: 1 });
    expect(a.shape).toEqual([1, 3, 4, 4]);
    expect(Array.from(await a.toArray())).toEqual(Array.from(await b.toArray()));
    const p = k.F.pad(k.ones([1, 2]), [1, 1], 'constant', 3);
    expect(Array.from(await p.toArray())).toEqual([3, 1, 1, 3]);
    for (const t of [x, y, z, img, w, a, b, p]) t.dispose();
  });
});

describe('values PyTorch would refuse or treat differently', () => {
  it('arange with a step of the wrong sign raises as PyTorch', async () => {
    refuses(() => k.arange(10, 0), /arange: upper bound and larger bound inconsistent with step sign/);
    refuses(() => k.arange(0, 10, -1), /inconsistent with step sign/);
    const t = k.arange(10, 0, -2);
    expect(Array.from(await t.toArray())).toEqual([10, 8, 6, 4, 2]);
    t.dispose();
  });

  it("keepdim, train(mode) and lr take booleans and numbers only", () => {
    const x = k.zeros([2, 3]);
    refuses(() => x.sum(1, 'no' as never), /sum: keepdim must be true or false, got "no"/);
    refuses(() => x.mean(1, 1 as never), /mean: keepdim must be true or false/);
    refuses(() => x.argmax(1, 'yes' as never), /argmax: keepdim must be true or false/);
    const m = new k.nn.Linear(2, 2);
    expect(() => m.train('no' as never)).toThrow(/Linear.train: mode must be true or false, got "no"/);
    expect(m.training).toBe(true);
    const opt = new k.optim.SGD(m.parameters(), 0.1);
    expect(() => { opt.lr = '0.1' as never; }).toThrow(/SGD: invalid lr "0.1" \(expected a finite number >= 0\)/);
    expect(() => { opt.lr = -1; }).toThrow(/SGD: invalid lr -1/);
    opt.lr = 0.05;
    expect(opt.lr).toBe(0.05);
    x.dispose();
  });

  it('backward() after a leaf of its graph was disposed raises instead of doing nothing', () => {
    const p = k.ones([2], { requiresGrad: true });
    const q = k.ones([2], { requiresGrad: true });
    const y = p.mul(q).sum();
    p.dispose();
    expect(() => y.backward()).toThrow(/backward: leaf tensor #\d+ \(shape \[2\]\) that requires grad was disposed/);
    expect(q.grad).toBeNull();
    y.dispose(); q.dispose();
  });

  it('nn.Parameter refuses int tensors and disposed ones; registerParameter refuses a disposed tensor', () => {
    const i = k.zeros([2], { dtype: 'int32' });
    expect(() => k.nn.Parameter(i)).toThrow(/Parameter: only float32 tensors can require gradients, got int32/);
    expect(i.requiresGrad).toBe(false);
    expect(k.nn.Parameter(i, false)).toBe(i);
    const d = k.zeros([2]);
    d.dispose();
    expect(() => k.nn.Parameter(d)).toThrow(/Parameter: tensor #\d+ .*was used after dispose\(\)/);
    const m = new k.nn.Linear(2, 2);
    expect(() => m.registerParameter('extra', d)).toThrow(/Linear.registerParameter: 'extra' .*was used after dispose\(\)/);
    expect(() => m.registerParameter('extra', i)).toThrow(/Linear.registerParameter: 'extra' is int32/);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    i.dispose();
  });

  it("loadStateDict(sd, false) loads what matches and returns PyTorch's missing and unexpected keys", async () => {
    const m = new k.nn.Linear(2, 2);
    const w = k.full([2, 2], 7);
    const extra = k.zeros([1]);
    const res = m.loadStateDict(new Map([['weight', w], ['extra', extra]]), false);
    expect(res).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    expect(Array.from(await m.weight.toArray())).toEqual([7, 7, 7, 7]);
    expect(m.loadStateDict(new Map([['weight', w]]), { strict: false }).missingKeys).toEqual(['bias']);
    expect(() => m.loadStateDict(new Map([['weight', w]]))).toThrow(/loadStateDict: keys do not match. Missing: bias/);
    expect(() => m.loadStateDict(new Map([['weight', w]]), 'no' as never)).toThrow(/Linear.loadStateDict: argument 'strict' must be true or false, got "no"/);
    w.dispose(); extra.dispose();
  });
});

describe('no leak from state dicts', () => {
  it('BatchNorm and InstanceNorm hand out one num_batches_tracked, kept current, however often stateDict() is called', async () => {
    const bn = new k.nn.BatchNorm1d(3);
    const inorm = new k.nn.InstanceNorm2d(2, { trackRunningStats: true });
    const live = k.memory().liveTensors;
    for (let i = 0; i < 5; i++) { bn.stateDict(); inorm.stateDict(); }
    expect(k.memory().liveTensors).toBe(live);
    const x = k.randn([4, 3]);
    const img = k.randn([2, 2, 3, 3]);
    k.tidy(() => { bn.forward(x); bn.forward(x); inorm.forward(img); });
    expect(Array.from(await bn.stateDict().get('num_batches_tracked')!.toArray())).toEqual([2]);
    expect(Array.from(await inorm.stateDict().get('num_batches_tracked')!.toArray())).toEqual([1]);
    const other = new k.nn.BatchNorm1d(3);
    other.loadStateDict(bn.stateDict());
    expect(other.numBatchesTracked).toBe(2);
    expect(k.memory().liveTensors).toBe(live + 2 + other.stateDict().size);
    x.dispose(); img.dispose();
  });

  it('encoding and restoring a DCGAN checkpoint leaves the live tensor count unchanged', async () => {
    const config: RunConfig = { recipe: 'dcgan', seed: 3, batch: 4, width: 2, latent: 8 };
    const images = { images: new Float32Array(8 * 28 * 28).map((_, i) => (i % 7) / 7), channels: 1 as const, side: 28 };
    const t = new GanTrainer(buildRun(config, images));
    t.trainStep();
    await t.metrics();
    const live = k.memory().liveTensors;
    const bytes = await encodeCheckpoint(t, config);
    expect(k.memory().liveTensors).toBe(live);
    restoreCheckpoint(t, decodeCheckpoint(bytes));
    await encodeCheckpoint(t, config);
    expect(k.memory().liveTensors).toBe(live);
    t.dispose();
  }, 120_000);
});

describe('clear errors naming the function', () => {
  it('io: state dicts, metadata, bytes and headers', async () => {
    const m = new k.nn.Linear(2, 2);
    await expect(k.stateDictToSafetensors(m as never)).rejects.toThrow(/stateDictToSafetensors: expected a state dict .*\(pass model.stateDict\(\), not the model\)/);
    await expect(k.stateDictToSafetensors(new Map([['a', [1, 2]]]) as never)).rejects.toThrow(/stateDictToSafetensors: entry "a" must be a Tensor, got \[1, 2\]/);
    await expect(k.stateDictToSafetensors(m.stateDict(), { step: 3 } as never)).rejects.toThrow(/stateDictToSafetensors: metadata "step" is number 3; safetensors metadata maps strings to strings/);
    const d = k.zeros([2]);
    d.dispose();
    await expect(k.stateDictToSafetensors(new Map([['a', d]]))).rejects.toThrow(/stateDictToSafetensors: entry "a": tensor #\d+ .*was used after dispose\(\)/);
    await expect(imageToPng(d)).rejects.toThrow(/saveImage: tensor: tensor #\d+ .*was used after dispose\(\)/);
    expect(() => d.toArray()).toThrow(/toArray: tensor/);
    expect(() => k.stateDictFromSafetensors('/path/model.safetensors' as never)).toThrow(/expected the file's bytes as a Uint8Array or ArrayBuffer, got the string "\/path\/model.safetensors" \(a path\?/);
    expect(() => k.stateDictFromSafetensors(new ArrayBuffer(8) as never)).toThrow(/safetensors: header is not valid JSON/);
    expect(() => decodeCheckpoint(null as never)).toThrow(/checkpoint: expected the file's bytes as a Uint8Array or ArrayBuffer, got null/);
    expect(() => decodeCheckpoint('/runs/ck.safetensors' as never)).toThrow(/a path\? read the file first/);
  });

  it('safetensors: I64 outside int32 and a shape that disagrees with the byte count are named', () => {
    const file = (header: object, data: Uint8Array) => {
      let json = JSON.stringify(header);
      while (json.length % 8) json += ' ';
      const head = new TextEncoder().encode(json);
      const bytes = new Uint8Array(8 + head.length + data.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
      bytes.set(head, 8);
      bytes.set(data, 8 + head.length);
      return bytes;
    };
    const big = new Uint8Array(new BigInt64Array([2n ** 40n]).buffer);
    const before = k.memory().liveTensors;
    expect(() => k.stateDictFromSafetensors(file({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, big)))
      .toThrow(/safetensors: n \(I64\) holds 1099511627776 at index 0, outside int32's range/);
    expect(() => k.stateDictFromSafetensors(file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))))
      .toThrow(/w has shape \[3\] of F32, which needs 12 bytes, but its data offsets \[0, 8\] hold 8: the header's shape disagrees with its byte count/);
    expect(k.memory().liveTensors).toBe(before);
    const ok = k.stateDictFromSafetensors(file({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, new Uint8Array(new BigInt64Array([-5n]).buffer)));
    expect(ok.stateDict.get('n')!.dtype).toBe('int32');
    ok.stateDict.get('n')!.dispose();
  });

  it('data: mis-sized host arrays, non-samples and a sync loop over the async DataLoader', async () => {
    expect(() => new TensorDataset({ data: new Float32Array(6), shape: [2, 2] }))
      .toThrow(/TensorDataset \(argument 1\): shape \[2, 2\] needs 4 values but data holds 6/);
    expect(() => new TensorDataset({ data: [1, 2] as never, shape: [2] })).toThrow(/TensorDataset \(argument 1\): expected a host array/);
    const loader = new DataLoader({ length: 2, get: () => 5 as never }, { batchSize: 2 });
    const before = k.memory().liveTensors;
    await expect((async () => { for await (const b of loader) void b; })()).rejects.toThrow(/DataLoader: the dataset's sample 0 \(field 0\): expected a host array/);
    expect(k.memory().liveTensors).toBe(before);
    expect(() => { for (const b of loader as unknown as Iterable<unknown>) void b; }).toThrow(/DataLoader is async: use for await \(const batch of loader\)/);
  });

  it('modules, tensors and compileStep', () => {
    const m = new k.nn.Sequential(new k.nn.Linear(2, 2));
    expect(() => m.apply(3 as never)).toThrow(/Sequential.apply: fn must be a function called with each module, got number/);
    expect(() => m.loadStateDict(m as never)).toThrow(/Sequential.loadStateDict: expected a state dict, got a module/);
    const x = k.ones([2]);
    x.dispose();
    refuses(() => x.add(1), /^add: input: tensor #\d+ \(shape \[2\]\) was used after dispose\(\)/);
    refuses(() => x.mul(2), /^mul: input/);
    refuses(() => x.gt(0), /^gt: input/);
    const a = k.tensor([1, 2], undefined, { dtype: 'int32' });
    refuses(() => k.F.l1Loss(a, a), /l1Loss: input must be float32, got int32/);
    refuses(() => k.F.mseLoss(a, a), /mseLoss: input must be float32, got int32/);
    expect(() => k.compileStep((async () => undefined) as never)).toThrow(/compileStep: fn must be synchronous/);
    a.dispose();
  });
});

describe('optimizer state dicts', () => {
  it('Adam stateDict()/loadStateDict() resume bit-exactly, with hyperparameters as PyTorch names them', async () => {
    const init = [0.5, -1, 2];
    const make = () => k.tensor(init, undefined, { requiresGrad: true });
    const grad = () => k.tensor([0.3, -0.2, 0.1]).keep();
    const p = make();
    const opt = new k.optim.Adam([p], { lr: 0.01, betas: [0.8, 0.99] });
    for (let i = 0; i < 2; i++) { p.grad = grad(); opt.step(); opt.zeroGrad(); }
    const sd = opt.stateDict();
    expect(sd.paramGroups[0]).toEqual({ lr: 0.01, betas: [0.8, 0.99], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [0] });
    expect([...sd.state.keys()]).toEqual(['0.exp_avg', '0.exp_avg_sq']);
    expect(sd.stepCount).toBe(2);
    const q = k.tensor(Array.from(await p.toArray()), undefined, { requiresGrad: true });
    const opt2 = new k.optim.Adam([q]);
    opt2.loadStateDict(sd);
    expect(opt2.lr).toBe(0.01);
    expect(opt2.betas).toEqual([0.8, 0.99]);
    p.grad = grad(); opt.step();
    q.grad = grad(); opt2.step();
    expect(Array.from(await q.toArray())).toEqual(Array.from(await p.toArray()));
    expect(() => opt2.loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0], params: [0, 1] }] })).toThrow(/Adam.loadStateDict: the state dict's group has 2 parameters, this optimizer has 1/);
    expect(() => opt2.loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0], lr: '1' as never }] })).toThrow(/Adam: invalid lr "1"/);
    expect(opt2.lr).toBe(0.01);
    opt.dispose(); opt2.dispose(); p.dispose(); q.dispose();
  });
});
