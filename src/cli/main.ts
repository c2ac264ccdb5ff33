#!/usr/bin/env node
// The `kiln` command: train the recipes of the table in src/gan/recipes.ts, sample from and evaluate
// checkpoints. Options are parsed with util.parseArgs from one table per command, which also gives --help.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { init, shutdown, tune } from '../index.js';
import { decodeCheckpoint, loadSampler } from '../gan/checkpoint.js';
import { loadCycleGenerator } from '../gan/cyclegan_checkpoint.js';
import { cycleGenerator } from '../gan/cyclegan_task.js';
import { makeGenerator, RECIPE_NAMES, RECIPES, recipeOf, type Recipe, type RecipeName, type RunConfig } from '../gan/recipes.js';
import { int, num, optionLines, parseArgs, str, UsageError, type OptTable, type Parsed } from './args.js';
import { classifier, evalEnv, fixedLatent, samplePng } from './common.js';
import { sampleCycleGan, trainCycleGan } from './cyclegan.js';
import { ensureWritableDir, readBytes, writeFileAtomic } from '../node/files.js';
import { train } from './train.js';

const TRAIN_COMMON: OptTable = {
  steps: { type: 'string', value: 'N', help: 'training steps (default: the recipe\'s)' },
  batch: { type: 'string', value: 'N', help: 'batch size (default: the recipe\'s)' },
  lr: { type: 'string', value: 'X', help: 'learning rate (default: the recipe\'s)' },
  seed: { type: 'string', value: 'N', help: 'random seed (default 0)' },
  out: { type: 'string', value: 'DIR', help: 'output folder (default runs/<recipe>)' },
  every: { type: 'string', value: 'N', help: 'write samples, plot and a checkpoint every N steps' },
  resume: { type: 'string', value: 'CKPT', help: 'continue a run from its checkpoint (the recipe and its options come from it)' },
  eval: { type: 'boolean', help: 'score the final samples with the MNIST classifier(s) (MNIST runs and the cyclegan digit task)' },
  seeds: { type: 'string', value: 'N', help: 'train seeds S..S+N-1 and report the median and worst of their scores (gaussian: the implied Gaussian\'s errors)' },
  tune: { type: 'boolean', help: "time the matmul kernel's workgroup shapes on this adapter first (a few seconds)" },
};

const SAMPLE_OPTS: OptTable = {
  checkpoint: { type: 'string', value: 'F', help: 'a checkpoint written by kiln train (required)' },
  n: { type: 'string', value: 'N', help: 'samples in the grid (default 64)' },
  seed: { type: 'string', value: 'N', help: 'seed of the latent batch (default 1234)' },
  out: { type: 'string', value: 'F|DIR', help: 'the grid PNG (default grid.png); for cyclegan the output folder' },
  direction: { type: 'string', value: 'a2b|b2a', help: '(cyclegan) translate with G (a2b, default) or F (b2a)' },
  input: { type: 'string', value: 'DIR', help: '(cyclegan) folder of PNG/JPEG images to translate (default: held-out digits of the built-in task)' },
};

const EVAL_OPTS: OptTable = {
  checkpoint: { type: 'string', value: 'F', help: 'a checkpoint written by kiln train (required)' },
  n: { type: 'string', value: 'N', help: 'samples to score (default: the recipe\'s, 1000 for GANs, 500 per direction for cyclegan)' },
  classifier: { type: 'string', value: 'F', help: 'the MNIST classifier (default: the cached one, trained on first use)' },
};

const CLASSIFIER_OPTS: OptTable = { out: { type: 'string', value: 'F', help: 'where to cache it (default ~/.cache/kiln/)' } };

function recipeOptions(r: Recipe): OptTable {
  const t: OptTable = {};
  for (const o of r.options) {
    const values = o.kind === 'choice' ? o.choices!.join('|') : o.value;
    t[o.name] = { type: 'string', value: values, help: o.help };
  }
  return t;
}

/** All recipes' options: what `kiln train --resume` accepts before it knows the recipe. */
function allRecipeOptions(): OptTable {
  return Object.assign({}, ...Object.values(RECIPES).map(recipeOptions)) as OptTable;
}

const USAGE = [
  'kiln — GANs on a WebGPU tensor engine',
  '',
  'Commands:',
  '  kiln train <recipe> [options]   train a recipe; outputs go to --out (samples/*.png, losses.csv, losses.svg,',
  '                                  checkpoints/*.safetensors, summary.json)',
  '  kiln sample --checkpoint F      a grid of samples (or, for cyclegan, a translated folder)',
  '  kiln eval --checkpoint F        score a checkpoint with its recipe\'s metrics (implied Gaussian, MNIST',
  '                                  classifier scores, CycleGAN label preservation / Fréchet / cycle L1)',
  '  kiln classifier                 train (or load) the MNIST classifier and print its held-out accuracy',
  '',
  'Recipes:',
  ...Object.values(RECIPES).map((r) => `  ${r.name.padEnd(10)} ${r.summary}`),
  '',
  "Run 'kiln <command> --help' or 'kiln train <recipe> --help' for the options.",
].join('\n');

function trainUsage(r?: Recipe): string {
  if (!r) {
    return [`usage: kiln train <${RECIPE_NAMES.join('|')}> [options]`, '       kiln train --resume CKPT [options]', '',
      'Options of every recipe:', ...optionLines(TRAIN_COMMON), '',
      'Recipes:', ...Object.values(RECIPES).map((x) => `  ${x.name.padEnd(10)} ${x.summary}`), '',
      "Run 'kiln train <recipe> --help' for a recipe's own options."].join('\n');
  }
  return [`usage: kiln train ${r.name} [options]`, '', r.summary, '', 'Options:', ...optionLines(TRAIN_COMMON), '',
    `${r.name} options:`, ...optionLines(recipeOptions(r))].join('\n');
}

const sampleUsage = () => ['usage: kiln sample --checkpoint F [options]', '', 'Options:', ...optionLines(SAMPLE_OPTS)].join('\n');
const evalUsage = () => ['usage: kiln eval --checkpoint F [options]', '', 'Options:', ...optionLines(EVAL_OPTS)].join('\n');
const classifierUsage = () => ['usage: kiln classifier [--out F]', '', 'Options:', ...optionLines(CLASSIFIER_OPTS)].join('\n');

/** A run configuration from the recipe's own options (each sets one config field, checked by its kind). */
function configFrom(r: Recipe, p: Parsed): RunConfig {
  let c: RunConfig = { recipe: r.name, seed: int(p, 'seed') ?? 0 };
  const set = <K extends keyof RunConfig>(k: K, v: RunConfig[K] | undefined) => { if (v !== undefined) c[k] = v; };
  set('batch', int(p, 'batch', 1));
  set('lr', num(p, 'lr', (v) => v > 0, 'a positive number'));
  for (const o of r.options) {
    const v = str(p, o.name);
    if (v === undefined) continue;
    let val: string | number;
    if (o.kind === 'int') val = int(p, o.name, o.min ?? 0)!;
    else if (o.kind === 'number') val = num(p, o.name)!;
    else if (o.kind === 'choice') {
      const numeric = typeof o.choices![0] === 'number';
      val = numeric ? Number(v) : v;
      if (!o.choices!.includes(val)) throw new Error(`--${o.name} must be ${o.choices!.slice(0, -1).join(', ')} or ${o.choices![o.choices!.length - 1]}, got '${v}'`);
    } else val = v;
    (c as unknown as Record<string, unknown>)[o.key] = val;
  }
  if (r.complete) c = r.complete(c);
  return c;
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function trainCommand(rest: string[]): Promise<void> {
  const name = rest[0] && !rest[0].startsWith('-') ? rest[0] : undefined;
  const recipe = name !== undefined && Object.hasOwn(RECIPES, name) ? RECIPES[name as RecipeName] : undefined;
  if (name !== undefined && !recipe) throw new UsageError(`kiln train: unknown recipe '${name}' (name a recipe: ${RECIPE_NAMES.join(', ')})\n\n${trainUsage()}`);
  const usage = trainUsage(recipe);
  const p = parseArgs(recipe ? rest.slice(1) : rest, { ...TRAIN_COMMON, ...(recipe ? recipeOptions(recipe) : allRecipeOptions()) }, usage);
  if (p.opts.has('help')) { console.log(usage); return; }
  if (p.positional.length) throw new UsageError(`kiln train: unexpected argument '${p.positional[0]}'\n\n${usage}`);
  if (!recipe && !p.opts.has('resume')) throw new UsageError(`kiln train: name a recipe: ${RECIPE_NAMES.join(', ')}\n\n${usage}`);
  if (!recipe) {
    const extra = [...p.opts.keys()].filter((k) => !(k in TRAIN_COMMON));
    if (extra.length) throw new UsageError(`kiln train --resume: --${extra[0]} comes from the checkpoint; name the recipe to change options\n\n${usage}`);
  }
  const resumed = recipe ? undefined : recipeOf(decodeCheckpoint(readBytes(str(p, 'resume')!, 'checkpoint'), str(p, 'resume')).config);
  const run = (recipe ?? resumed)!;
  const config = configFrom(run, p);
  const out = str(p, 'out') ?? join('runs', recipe?.name ?? 'resumed');
  const steps = int(p, 'steps', 1);
  const every = int(p, 'every', 1);
  const seeds = int(p, 'seeds', 1);
  if (seeds !== undefined && (p.opts.has('resume') || run.trainer !== 'gan')) {
    throw new UsageError(`kiln train: --seeds trains a fresh D-then-G run per seed\n\n${usage}`);
  }
  ensureWritableDir(out);
  if (run.trainer === 'cyclegan') {
    await trainCycleGan({ config, steps, every, out, resume: str(p, 'resume'), tune: p.opts.has('tune'), evaluate: p.opts.has('eval') });
    return;
  }
  const info = await init();
  console.log(`adapter: ${info.description || info.device} (${info.source})`);
  if (p.opts.has('tune')) {
    const t = await tune();
    console.log(`tune: matmul workgroups ${(['NN', 'NT', 'TN'] as const).map((l) => `${l} ${t.matmul[l].workgroup.join('x')}`).join(', ')}`);
  }
  const q = run.quality;
  if (seeds !== undefined) {
    if (!q || !(q.always || p.opts.has('eval'))) throw new Error(`--seeds compares the runs' scores: ${run.name} has ${q ? 'them with --eval' : 'none'}`);
    const rows: Record<string, number>[] = [];
    for (let k = 0; k < seeds; k++) {
      const seed = config.seed + k;
      const { summary } = await train({ config: { ...config, seed }, steps, every, out: join(out, `seed-${seed}`), quiet: true, evaluate: p.opts.has('eval') });
      const scores = summary[q.key] as Record<string, unknown>;
      rows.push({ seed, ...Object.fromEntries(Object.entries(scores).filter(([, v]) => typeof v === 'number')) as Record<string, number>, stepsPerSecond: summary.stepsPerSecond as number });
      console.log(`seed ${seed}: ${q.line ? q.line(scores) : JSON.stringify(scores)}, ${(summary.stepsPerSecond as number).toFixed(0)} steps/s`);
    }
    const fields = Object.keys(rows[0]).filter((k) => k !== 'seed' && k !== 'stepsPerSecond');
    const result = {
      recipe: run.name, config, seeds: rows,
      median: Object.fromEntries(fields.map((f) => [f, median(rows.map((r) => r[f]))])),
      worst: Object.fromEntries(fields.map((f) => [f, Math.max(...rows.map((r) => r[f]))])),
      ...(q.reference ? { reference: q.reference } : {}),
    };
    writeFileAtomic(join(out, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`median ${fields.map((f) => `${f} ${result.median[f].toFixed(3)}`).join(', ')}; worst ${fields.map((f) => result.worst[f].toFixed(3)).join(' / ')} (${seeds} seeds; outputs in ${out})`);
    return;
  }
  const { summary } = await train({ config, steps, every, out, resume: str(p, 'resume'), evaluate: p.opts.has('eval') });
  if (q && summary[q.key]) console.log(q.line ? q.line(summary[q.key] as Record<string, unknown>) : `${q.key}: ${JSON.stringify(summary[q.key])}`);
  console.log(`${summary.steps} steps in ${summary.wallSeconds} s (${summary.stepsPerSecond} steps/s); outputs in ${out}`);
}

async function sampleCommand(p: Parsed): Promise<void> {
  const path = str(p, 'checkpoint');
  if (!path) throw new UsageError(`kiln sample: --checkpoint F is required\n\n${sampleUsage()}`);
  const ck = decodeCheckpoint(readBytes(path, 'checkpoint'), path);
  if (recipeOf(ck.config).trainer === 'cyclegan') {
    if (p.opts.has('n') || p.opts.has('seed')) throw new UsageError(`kiln sample: --n and --seed do not apply to a cyclegan checkpoint\n\n${sampleUsage()}`);
    await sampleCycleGan({ ck, direction: str(p, 'direction') ?? 'a2b', input: str(p, 'input'), out: str(p, 'out') ?? 'translated' });
    return;
  }
  for (const k of ['direction', 'input']) if (p.opts.has(k)) throw new UsageError(`kiln sample: --${k} applies to cyclegan checkpoints only\n\n${sampleUsage()}`);
  const n = int(p, 'n', 1) ?? 64;
  const out = str(p, 'out') ?? 'grid.png';
  await init();
  const G = loadSampler(makeGenerator(ck.config), ck);
  const z = fixedLatent(ck.config, n, int(p, 'seed') ?? 1234);
  writeFileAtomic(out, await samplePng(ck.config, G, z));
  console.log(`${n} samples of ${ck.config.recipe} (step ${ck.step}) written to ${out}`);
}

async function evalCommand(p: Parsed): Promise<void> {
  const path = str(p, 'checkpoint');
  if (!path) throw new UsageError(`kiln eval: --checkpoint F is required\n\n${evalUsage()}`);
  const ck = decodeCheckpoint(readBytes(path, 'checkpoint'), path);
  const r = recipeOf(ck.config);
  if (!r.quality) throw new Error(`kiln eval: the ${r.name} recipe has no quality scores`);
  const n = int(p, 'n', 2) ?? r.quality.n;
  const env = evalEnv(str(p, 'classifier'));
  await init();
  const q = r.trainer === 'gan'
    ? await r.quality!.run(loadSampler(makeGenerator(ck.config), ck), ck.config, env, n)
    : await r.quality.run({ GA: loadCycleGenerator(cycleGenerator(ck.config), ck, 'G_A'), GB: loadCycleGenerator(cycleGenerator(ck.config), ck, 'G_B') }, ck.config, env, n);
  console.log(JSON.stringify({ step: ck.step, ...q }, null, 2));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd) { console.error(USAGE); return 2; }
  if (cmd === '--help' || cmd === 'help' || cmd === '-h') { console.log(USAGE); return 0; }
  const simple = (table: OptTable, usage: () => string, run: (p: Parsed) => Promise<void>) => async () => {
    const p = parseArgs(rest, table, usage());
    if (p.opts.has('help')) { console.log(usage()); return; }
    if (p.positional.length) throw new UsageError(`kiln ${cmd}: unexpected argument '${p.positional[0]}'\n\n${usage()}`);
    await run(p);
  };
  const commands: Record<string, () => Promise<void>> = {
    train: () => trainCommand(rest),
    sample: simple(SAMPLE_OPTS, sampleUsage, sampleCommand),
    eval: simple(EVAL_OPTS, evalUsage, evalCommand),
    classifier: simple(CLASSIFIER_OPTS, classifierUsage, async (p) => {
      await init();
      const c = await classifier(str(p, 'out'));
      console.log(`MNIST classifier: held-out accuracy ${(c.accuracy * 100).toFixed(2)}%`);
    }),
  };
  if (!Object.hasOwn(commands, cmd)) throw new UsageError(`unknown command '${cmd}'\n\n${USAGE}`);
  await commands[cmd]();
  return 0;
}

// Dawn prints two lines on every start on some Vulkan drivers ("Warning: maxDynamic...PerPipelineLayout
// artificially reduced from ... to fit dynamic offset allocation limit.") from native code, straight to file
// descriptor 2, where no JavaScript hook sees them. So the command runs in a child process whose stderr
// passes through this filter; every other byte reaches the user unchanged.
const DAWN_NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const FILTERED = 'KILN_STDERR_FILTERED';

function runFiltered(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'pipe'], env: { ...process.env, [FILTERED]: '1' },
    });
    let rest = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      const keep = lines.filter((l) => !DAWN_NOISE.test(l));
      if (keep.length) process.stderr.write(keep.join('\n') + '\n');
    });
    child.stderr!.on('end', () => { if (rest && !DAWN_NOISE.test(rest)) process.stderr.write(rest); });
    // Ctrl-C reaches the child through the terminal's process group; the parent waits for its exit code.
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => { child.kill(s); });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
    child.on('error', (e) => { console.error(`kiln: ${e.message}`); resolve(1); });
  });
}

if (process.env[FILTERED] !== '1' && process.env.KILN_DAWN_WARNINGS !== '1') {
  runFiltered().then((code) => process.exit(code));
} else {
  main(process.argv.slice(2)).then((code) => { shutdown(); process.exit(code); }, (e: Error) => {
    console.error(`kiln: ${e.message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
