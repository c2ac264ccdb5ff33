// The demo's tabs as data: each GAN tab names its recipe, its fields and defaults, how its samples are drawn
// and what the page says about it. A new tab (CycleGAN) is one more entry here plus, if it needs one, a new
// sample view in main.ts's VIEWS table.
import type { RecipeName, RunConfig } from 'kiln/gan';
import { TASK_DEFAULTS } from './cycle.js';

export interface FieldSpec { key: keyof RunConfig; label: string; kind: 'number' | 'select'; options?: string[] }

export interface GanTab {
  kind: 'gan';
  id: string;
  label: string;
  recipe: RecipeName;
  /** Defaults sized for a CPU adapter; the recipes' own values are one edit away. */
  defaults: RunConfig;
  fields: FieldSpec[];
  /** How samples are drawn (a key of main.ts's VIEWS). */
  view: 'scatter' | 'grid';
  /** Real data: none (generated in the recipe), the MNIST digits, or MNIST unless a folder was dropped. */
  data: 'none' | 'mnist' | 'mnist-or-folder';
  /** Fixed latent batch drawn every refresh. */
  samples: number;
  /** About how many steps until the result is recognisable, and what that looks like. */
  recognisable: { steps: number; what: string };
  /** HTML shown beside the plots. */
  explain: string;
  /** The page keeps an in-memory snapshot of the run every this many steps (restored after a device loss). */
  snapshotEvery: number;
}

/** CycleGAN: its own trainer; the `task` field picks the toy, the digit task or the user's two folders. */
export interface CycleTab {
  kind: 'cycle';
  id: string;
  label: string;
  recipe: 'cyclegan';
  defaults: RunConfig;
  fields: FieldSpec[];
  explain: string;
  /** Per task (toy, digits, folders). */
  snapshotEvery: Record<'toy' | 'digits' | 'folders', number>;
}

export interface AppTab { kind: 'app'; id: string; label: string; explain: string }
export type TabSpec = GanTab | CycleTab | AppTab;
/** Tabs with settings fields and a trainer that saves checkpoints. */
export type TrainTab = GanTab | CycleTab;

const common: FieldSpec[] = [
  { key: 'lr', label: 'learning rate', kind: 'number' },
  { key: 'batch', label: 'batch', kind: 'number' },
];
const tail: FieldSpec[] = [
  { key: 'objective', label: 'G objective', kind: 'select', options: ['nonSaturating', 'minimax'] },
  { key: 'ema', label: 'EMA of G (0 = off)', kind: 'number' },
  { key: 'seed', label: 'seed', kind: 'number' },
];

const SCORES = `<p><b>Chart.</b> Top: D's and G's losses. Bottom: D(x), the discriminator's mean probability that a
  real sample is real, and D(G(z)), the same for generated samples. Both panels share the step axis; the numbers
  arrive a few steps late because the page never waits for the GPU to read them.</p>`;

export const TABS: TabSpec[] = [
  {
    kind: 'gan', id: 'gaussian', label: '2-D Gaussian', recipe: 'gaussian', view: 'scatter', data: 'none', samples: 1000, snapshotEvery: 2000,
    defaults: { recipe: 'gaussian', seed: 0, preset: 'needle', lr: 0.01, batch: 32, ema: 0, objective: 'nonSaturating' },
    fields: [{ key: 'preset', label: 'recipe', kind: 'select', options: ['needle', 'd2l'] }, ...common, ...tail],
    recognisable: { steps: 2000, what: 'the red ellipse lies on the blue one' },
    explain: `<p><b>What is drawn.</b> Blue points: real samples of a 2-D Gaussian N(μ, AᵀA). Red points: the
      generator's samples (G is one linear layer, x = Aᵀz + b). The background is the discriminator's P(real)
      over the plane (blue: "real", orange: "fake"). Ellipses: 2-σ contours of the true (blue) and the learned
      (red) distribution.</p>
      <p><b>Healthy run.</b> The red cloud drifts onto the blue one and the red ellipse takes the blue one's tilt
      and size; the heat map fades towards even as D can no longer tell them apart. D(x) and D(G(z)) meet near
      0.5 and the losses flatten out at their equilibrium values (G: ln 2 ≈ 0.69; D: ln 4 ≈ 1.39 for its two terms
      summed, half that where the recipe averages them).</p>
      <p><b>Recipe.</b> "needle": the CMU Deep Learning Systems lecture (D 2-20-10-2, softmax loss, Adam 0.01,
      batch 32, 2000 steps). "d2l": Dive into Deep Learning's GAN chapter (D 2-5-3-1, BCE, batch 8).</p>${SCORES}`,
  },
  {
    kind: 'gan', id: 'mnist-mlp', label: 'MLP GAN (MNIST)', recipe: 'mnist-mlp', view: 'grid', data: 'mnist', samples: 64, snapshotEvery: 200,
    defaults: { recipe: 'mnist-mlp', seed: 0, lr: 2e-4, batch: 32, latent: 64, ema: 0, objective: 'nonSaturating' },
    fields: [...common, { key: 'latent', label: 'latent size', kind: 'number' }, ...tail],
    recognisable: { steps: 3000, what: 'strokes, then 7s and 2s' },
    explain: `<p><b>What is drawn.</b> 64 digits generated from a fixed batch of latent vectors, so the same cell
      shows the same z as training goes on. The slider under the grid scrubs back through earlier grids.</p>
      <p><b>Healthy run.</b> Noise, then blurry blobs, then strokes; digit shapes appear after a few thousand
      steps. D wins at first (D(G(z)) near 0 for a long stretch is normal for this recipe); it should not stay
      at D(x) = 1, D(G(z)) = 0 for good. All cells turning into the same digit is mode collapse.</p>
      <p><b>Recipe.</b> The MNIST MLP GAN blog post: G 64 → 256 → 512 → 1024 → 784 with LeakyReLU and Tanh, D the
      mirror with Sigmoid, BCE, Adam 2e-4, non-saturating G loss; trained on 7,996 digits of the <code>mnist</code>
      package.</p>${SCORES}`,
  },
  {
    kind: 'gan', id: 'dcgan', label: 'DCGAN', recipe: 'dcgan', view: 'grid', data: 'mnist-or-folder', samples: 64, snapshotEvery: 50,
    defaults: { recipe: 'dcgan', seed: 0, lr: 2e-4, batch: 16, latent: 100, width: 8, ema: 0, objective: 'nonSaturating' },
    fields: [...common, { key: 'latent', label: 'latent size', kind: 'number' }, { key: 'width', label: 'width (64 in the lecture)', kind: 'number' }, ...tail],
    recognisable: { steps: 800, what: 'digits of most classes, seen at width 16 and batch 32' },
    explain: `<p><b>What is drawn.</b> 64 images generated from a fixed latent batch: 32×32 digits, or 64×64 colour
      images once you drop a folder of your own PNG/JPEG files.</p>
      <p><b>Healthy run.</b> Textures first, then outlines, then digits; D(x) and D(G(z)) oscillate instead of
      pinning to 1 and 0. Faster than the MLP GAN per step in quality, slower per step in time.</p>
      <p><b>Recipe.</b> The DCGAN lecture slides: ConvTranspose2d + BatchNorm + ReLU generator, Conv2d + BatchNorm +
      LeakyReLU(0.2) discriminator, Adam 2e-4 with β₁ 0.5, weights N(0, 0.02). "width" is the lecture's 64,
      shrunk here for CPU adapters.</p>${SCORES}`,
  },
  {
    kind: 'cycle', id: 'cyclegan', label: 'CycleGAN', recipe: 'cyclegan', defaults: TASK_DEFAULTS.toy,
    snapshotEvery: { toy: 500, digits: 25, folders: 25 },
    fields: [
      { key: 'task', label: 'task', kind: 'select', options: ['toy', 'digits', 'folders'] },
      { key: 'lr', label: 'learning rate', kind: 'number' },
      { key: 'batch', label: 'batch', kind: 'number' },
      { key: 'steps', label: 'steps (lr → 0 over the 2nd half)', kind: 'number' },
      { key: 'ngf', label: 'G width ngf (images)', kind: 'number' },
      { key: 'blocks', label: 'residual blocks (images)', kind: 'number' },
      { key: 'ndf', label: 'D width ndf (images)', kind: 'number' },
      { key: 'seed', label: 'seed', kind: 'number' },
    ],
    explain: `<p><b>What it does.</b> CycleGAN learns two translations between domains that are never paired:
      G: A → B and F: B → A. Each has a discriminator (D_A judges B, D_B judges A), and a cycle loss asks that
      F(G(x)) ≈ x and G(F(y)) ≈ y, so a translation keeps what the image is about and changes only its style.</p>
      <p><b>What is drawn.</b> <i>toy</i>: domain A is a Gaussian blob (light blue), domain B a ring (light
      green). Red arrows go from points x of A to G(x) (red dots), orange arrows from points y of B to F(y)
      (orange dots). <i>digits</i> and <i>folders</i>: six rows of the same 8 fixed images: x from A, G(x),
      F(G(x)); then y from B, F(y), G(F(y)). The digit task's A is plain MNIST digits, B other digits drawn
      thick and inverted, so G must change both tone and stroke. <i>folders</i>: choose a folder for each
      domain below (resized to 32×32).</p>
      <p><b>Healthy run.</b> The cycle losses (top panel) fall steadily: the round trips F(G(x)) reproduce x.
      With least-squares (LSGAN) targets, D aims at 1 for real and 0 for fake; when neither side wins D scores
      both near 0.5, which puts D_A, D_B, G_A and G_B near 0.25 (bottom panel). A D loss sinking to 0 while G's
      climbs means D wins (blurry or collapsed translations). On the toy, the red dots spread round the whole
      ring, not one arc of it; on digits, row 2 shows the same digit as row 1 in B's thick inverted style.</p>
      <p><b>Recipe.</b> Zhu et al. 2017 as their PyTorch code: ResNet generators, 70×70 PatchGAN
      discriminators (here ngf 8, 2 blocks, ndf 8 for CPU adapters; the paper's are 64, 9, 64), cycle λ 10,
      identity 0.5λ, a 50-image pool of fakes for D, Adam 2e-4 with β₁ 0.5, the learning rate falling linearly
      to 0 over the second half of the steps (training stops there). The toy uses small MLPs and no identity
      loss (with it the MLPs stay at the identity map: the red dots never leave the blob).</p>
      <p class="note"><b>On a CPU (software) adapter</b>, measured in headless Chromium on SwiftShader, 2 shared
      cores under load: the toy ~30 steps/s (its 2000 steps in about 70 s); the digit task 0.1–0.2 steps/s, so
      the ~250 steps to a recognisable translation take 20–45 min. A GPU runs both far faster; the box under
      the numbers gives the rate measured in your browser.</p>`,
  },
  {
    kind: 'app', id: 'app', label: 'Kiln in an app',
    explain: `<p><b>What is drawn.</b> An app's own 3-D scene: the page owns the GPUDevice and its render pipeline;
      each frame the 2-D Gaussian generator (training alongside) writes 4,096 samples straight into the app's
      vertex buffer, fanned out in depth by index. No readback: Kiln and the app share the buffer.</p>
      <p><b>Healthy run.</b> The cloud of points shrinks and tilts into the Gaussian's ellipse as G trains.</p>`,
  },
];

export const tabById = (id: string): TabSpec | undefined => TABS.find((t) => t.id === id);
