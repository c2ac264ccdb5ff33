// State dicts as safetensors, the format PyTorch users share weights in: PyTorch key names and layouts
// (Linear [out, in], Conv2d [out, in/groups, kh, kw], ConvTranspose2d [in, out/groups, kh, kw]).
import { tensor } from '../ops/functional.js';
import { Tensor } from '../autograd/tensor.js';
import { tensorArg } from '../ops/args.js';
import '../tensor.js';
import { decodeSafetensors, encodeSafetensors, bytesArg, metadataArg, type SafeTensor } from './safetensors.js';

/** A tensor's values as a safetensors entry (reads it back from the GPU). */
export async function toSafeTensor(t: Tensor, what = 'toSafeTensor'): Promise<SafeTensor> {
  tensorArg(what, 'tensor', t);
  return { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: [...t.shape], data: await t.toArray() };
}

/** A state dict's entries (a Map or a plain object of tensors), each checked, or an error naming `op`. */
function stateDictArg(op: string, sd: unknown): [string, Tensor][] {
  const hint = sd !== null && typeof sd === 'object' && typeof (sd as { stateDict?: unknown }).stateDict === 'function'
    ? ' (pass model.stateDict(), not the model)' : '';
  let entries: [string, unknown][];
  if (sd instanceof Map) entries = [...sd.entries()];
  else if (sd !== null && typeof sd === 'object' && !hint && !Array.isArray(sd) && !(sd instanceof Tensor) &&
    Object.getPrototypeOf(sd) === Object.prototype) entries = Object.entries(sd);
  else throw new Error(`${op}: expected a state dict (a Map of name -> Tensor)${hint}, got ${sd === null ? 'null' : Array.isArray(sd) ? 'an array' : typeof sd === 'object' ? `a ${(sd as object).constructor?.name ?? 'object'}` : typeof sd}`);
  for (const [k, t] of entries) {
    if (typeof k !== 'string') throw new Error(`${op}: keys must be strings, got ${typeof k}`);
    tensorArg(op, `entry ${JSON.stringify(k)}`, t);
  }
  return entries as [string, Tensor][];
}

/** Serialises a state dict (e.g. `model.stateDict()`) to safetensors bytes (reads the tensors back). */
export async function stateDictToSafetensors(sd: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const op = 'stateDictToSafetensors';
  const entries = stateDictArg(op, sd);
  metadataArg(op, metadata);
  const out = new Map<string, SafeTensor>();
  for (const [k, t] of entries) out.set(k, await toSafeTensor(t, op));
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
  const { tensors, metadata } = decodeSafetensors(bytesArg(`stateDictFromSafetensors (${what})`, bytes), what);
  return { stateDict: tensorsFromSafe(tensors), metadata };
}
