// The table of training recipes. Each recipe is one module (its setup, defaults, sample shape, checks and
// command-line options); this table is the only place that lists them, so the CLI, the demo and the
// checkpoints build every run through the same entry.
import type { nn } from '../index.js';
import { cycleganRecipe } from './cyclegan_task.js';
import { dcganRecipe } from './dcgan.js';
import { gaussianRecipe } from './gaussian.js';
import { mnistMlpRecipe } from './mnist_mlp.js';
import type { GanRecipe, GanRun, ImageSource, Recipe, RecipeName, RunConfig } from './recipe.js';

export type { RecipeName, DataNeed, GanRecipe, GanRun, ImageSource, OwnRecipe, Recipe, RecipeOption, RunConfig } from './recipe.js';

/** Every recipe by name, in the order `kiln --help` lists them. */
export const RECIPES: Readonly<Record<RecipeName, Recipe>> = {
  gaussian: gaussianRecipe,
  'mnist-mlp': mnistMlpRecipe,
  dcgan: dcganRecipe,
  cyclegan: cycleganRecipe,
};

export const RECIPE_NAMES = Object.keys(RECIPES) as RecipeName[];

/** The recipe of a configuration; throws listing the known ones. */
export function recipeOf(c: Pick<RunConfig, 'recipe'>): Recipe {
  const r = Object.hasOwn(RECIPES, c.recipe) ? RECIPES[c.recipe as RecipeName] : undefined;
  if (!r) throw new Error(`kiln: unknown recipe '${String(c.recipe)}' (expected ${RECIPE_NAMES.join(', ')})`);
  return r;
}

function ganRecipe(c: RunConfig): GanRecipe {
  const r = recipeOf(c);
  if (r.trainer !== 'gan') throw new Error(`${c.recipe}: is not a D-then-G recipe; it has its own trainer`);
  return r;
}

/** Checks a configuration read from the command line or a checkpoint; throws naming the bad field. */
export function checkConfig(c: RunConfig): RunConfig {
  const r = recipeOf(c);
  const num = (k: keyof RunConfig, ok: (v: number) => boolean, want: string) => {
    const v = c[k];
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) throw new Error(`${c.recipe}: ${k} must be ${want}, got ${String(v)}`);
  };
  num('seed', (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  num('batch', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  num('lr', (v) => v > 0 && Number.isFinite(v), 'a positive number');
  num('ema', (v) => v >= 0 && v < 1, 'in [0, 1)');
  if (c.objective !== undefined && c.objective !== 'nonSaturating' && c.objective !== 'minimax') {
    throw new Error(`${c.recipe}: objective must be nonSaturating or minimax, got ${String(c.objective)}`);
  }
  r.check(c);
  return c;
}

/** The default number of steps of each recipe's run. */
export function defaultSteps(c: RunConfig): number { return recipeOf(c).defaultSteps(c); }

/** The generator alone (for sampling from a checkpoint): no data, no optimizers. */
export function makeGenerator(c: RunConfig): nn.Module {
  checkConfig(c);
  return ganRecipe(c).generator(c);
}

/** The shape of one generated sample: [2] or [c, h, w]. */
export function sampleShape(c: RunConfig): number[] { return recipeOf(c).sampleShape(c); }

/** The latent shape of one sample. */
export function latentShape(c: RunConfig): number[] { return ganRecipe(c).latentShape(c); }

/** Builds the models, optimizers, GANLoss and data of a D-then-G run. Image recipes need `images`. */
export function buildRun(c: RunConfig, images?: ImageSource): GanRun {
  checkConfig(c);
  return ganRecipe(c).build(c, images);
}
