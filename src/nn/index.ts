// torch.nn for Kiln: modules, layers, losses and initialisers.
export { Module, Parameter } from './module.js';
export * from './layers.js';
export * as init from './init.js';
export * from './layers_extra.js';
