// State dicts as safetensors, the format PyTorch users share weights in: PyTorch key names and layouts
// (Linear [out, in], Conv2d [out, in/groups, kh, kw], ConvTranspose2d [in, out/groups, kh, kw]).
import { tensor } from '../ops/functional.js';
import type { Tensor } from '../autograd/tensor.js';
import '../tensor.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from './safetensors.js';

/** A tensor's values as a safetensors entry (reads it back from the GPU). */
export async function toSafeTensor(t: Tensor): Promise<SafeTensor> {
  return { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: [...t.shape], data: await t.toArray() };
}

/** Serialises a state dict (e.g. `model.stateDict()`) to safetensors bytes (reads the tensors back). */
export async function stateDictToSafetensors(sd: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const out = new Map<string, SafeTensor>();
  for (const [k, t] of sd) out.set(k, await toSafeTensor(t));
  return encodeSafetensors(out, metadata);
}

/** Tensors from decoded safetensors entries (F64 arrives as float32, I64 as int32). */
export function tensorsFromSafe(entries: Map<string, SafeTensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of entries) out.set(k, tensor(t.data, t.shape, { dtype: t.dtype === 'I32' ? 'int32' : 'float32' }));
  return out;
}

/**
 * A state dict from safetensors bytes, ready for `model.loadStateDict()`. A file saved by PyTorch
 * (`safetensors.torch.save_file(model.state_dict(), ...)`) loads as is. Dispose the tensors after loading.
 */
export function stateDictFromSafetensors(bytes: Uint8Array, what = 'safetensors'): { stateDict: Map<string, Tensor>; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  return { stateDict: tensorsFromSafe(tensors), metadata };
}
