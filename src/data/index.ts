// Datasets for the trainers.
export { type Dataset, permutation, mulberry32 } from './dataset.js';
export { ImageDataset, padImages, squareResize, toSigned } from './images.js';
export { mnistFromClasses, splitMnist, type MnistDigits, MNIST_PIXELS } from './mnist.js';
