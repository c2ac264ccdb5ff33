// torch.utils.data and torchvision.transforms for Kiln, plus the datasets the trainers read.
export { type Dataset, permutation, mulberry32 } from './dataset.js';
export { ImageDataset, mapSamples, squareResize } from './images.js';
export { mnistFromClasses, splitMnist, type MnistDigits, MNIST_PIXELS } from './mnist.js';
export { DataLoader, TensorDataset, MappedDataset, collate, type DataLoaderOptions, type HostArray, type MapDataset,
  type Sample } from './loader.js';
export * as transforms from './transforms.js';
export type { DecodedImage, Transform } from './transforms.js';
