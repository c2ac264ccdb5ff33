// kiln/gan: GANLoss, the D-then-G trainer, the seeds' recipes, checkpoints and quality metrics.
export { GANLoss, type GANLossOptions, type DLoss, type GObjective, type DStep } from './gan_loss.js';
export { GanTrainer, sampleGenerator, type GanSetup, type StepRecord } from './trainer.js';
export { gaussianSetup, gaussianErrors, impliedGaussian, GaussianData, GAUSSIAN_A, GAUSSIAN_MU, GAUSSIAN_COV } from './gaussian.js';
export { mnistMlpSetup, mnistMlpGenerator, mnistMlpDiscriminator } from './mnist_mlp.js';
export { dcganSetup, dcganGenerator, dcganDiscriminator, type DcganArch } from './dcgan.js';
export { buildRun, makeGenerator, checkConfig, RECIPES, type RunConfig, type RecipeName, type ImageSource } from './recipes.js';
export { encodeCheckpoint, decodeCheckpoint, restoreCheckpoint, loadSampler, type Checkpoint } from './checkpoint.js';
export { mnistClassifier, trainClassifier, classifierAccuracy, digitQuality, frechetDistance, type DigitQuality } from './quality.js';
export * from '../data/index.js';
