// kiln/gan: GANLoss, the D-then-G trainer, the seeds' recipes, checkpoints and quality metrics.
export { GANLoss, type GANLossOptions, type DLoss, type GObjective, type DStep } from './gan_loss.js';
export { GanTrainer, sampleGenerator, type GanSetup, type StepRecord } from './trainer.js';
export { gaussianSetup, gaussianErrors, impliedGaussian, GaussianData, GAUSSIAN_A, GAUSSIAN_MU, GAUSSIAN_COV } from './gaussian.js';
export { mnistMlpSetup, mnistMlpGenerator, mnistMlpDiscriminator } from './mnist_mlp.js';
export { dcganSetup, dcganGenerator, dcganDiscriminator, type DcganArch } from './dcgan.js';
export { buildRun, makeGenerator, checkConfig, recipeOf, RECIPES, RECIPE_NAMES, type RunConfig, type RecipeName, type ImageSource, type Recipe, type GanRecipe, type RecipeOption, type DataNeed } from './recipes.js';
export { resnetGenerator, nLayerDiscriminator, ResnetGenerator, ResnetBlock, NLayerDiscriminator, toyGenerator, toyDiscriminator, type ResnetGeneratorOptions, type NLayerDiscriminatorOptions } from './cyclegan_nets.js';
export { CycleGanTrainer, cycleGanSetup, cycleLr, ImagePool, translate, CYCLE_LOSSES, type CycleGanSetup, type CycleGanOptions, type CycleRecord, type DomainData } from './cyclegan.js';
export { buildCycleGan, cycleGenerator, cycleganRecipe, digitTask, toyDomains, styleB, directionQuality, CYCLEGAN_CHECKPOINT, StyleB, type DigitTask, type CycleSource, type DirectionQuality } from './cyclegan_task.js';
export { encodeCycleGanCheckpoint, decodeCycleGanCheckpoint, restoreCycleGanCheckpoint, loadCycleGenerator, isCycleGanCheckpointBytes, type CycleGanCheckpoint } from './cyclegan_checkpoint.js';
export { encodeCheckpoint, encodeRunCheckpoint, decodeCheckpoint, restoreCheckpoint, loadSampler, type Checkpoint } from './checkpoint.js';
export { mnistClassifier, trainClassifier, classifierAccuracy, digitQuality, frechetDistance, type DigitQuality } from './quality.js';
export * from '../data/index.js';
