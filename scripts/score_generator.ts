// Scores generator state dicts saved by PyTorch (scripts/mlp_gan_torch.py) with Kiln's MNIST classifier, as
// `kiln eval` scores Kiln checkpoints: classes present among 1,000 samples, mean confidence, Fréchet distance.
// Usage: npx tsx scripts/score_generator.ts G-*.safetensors
import { readFileSync } from 'node:fs';
import { init, stateDictFromSafetensors } from '../src/node.js';
import { mnistMlpGenerator } from '../src/gan/mnist_mlp.js';
import { digitQuality } from '../src/gan/quality.js';
import { asDigits, classifier, fixedLatent, generate } from '../src/cli/common.js';

await init();
const cls = await classifier();
const config = { recipe: 'mnist-mlp' as const, seed: 0 };
for (const path of process.argv.slice(2)) {
  const G = mnistMlpGenerator();
  G.loadStateDict(stateDictFromSafetensors(readFileSync(path)).stateDict);
  const z = fixedLatent(config, 1000, 99);
  const q = await digitQuality(cls.model, asDigits(config, await generate(G, z), 1000), cls.heldOut);
  console.log(`${path}: ${JSON.stringify(q)}`);
}
process.exit(0);
