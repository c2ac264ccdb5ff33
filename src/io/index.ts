// Bytes in, bytes out: safetensors (PyTorch-compatible weights), PNG, SVG plots. No file system access.
export { encodeSafetensors, decodeSafetensors, encodeSealed, decodeSealed, type SafeTensor, type SafeDType } from './safetensors.js';
export { encodePng, imageGrid } from './png.js';
export { lineChartSvg, scatterRgba, type Series } from './plot.js';
export { stateDictToSafetensors, stateDictFromSafetensors } from './state_dict.js';
export { tensorsFromSafe } from './state_dict.js';
export { makeGrid, gridToPng, imageToPng, type SaveImageOptions } from './save_image.js';
