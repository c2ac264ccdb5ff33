// Reverse-mode autodiff: ops record a GraphNode on their output; backward() visits the graph in reverse
// topological order, accumulates gradients, and releases each node's saved tensors as soon as it has run
// (unless retainGraph keeps them for another backward, as PyTorch's retain_graph=True).
import { isGradEnabled, noGrad } from './context.js';
import { Tensor, type GraphNode } from './tensor.js';

/** True when an op on these inputs must record a node. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return isGradEnabled() && inputs.some((t) => t.requiresGrad);
}

/** Attaches a node to `out` (which then requires grad). */
export function record(out: Tensor, op: string, inputs: Tensor[], saved: Tensor[],
  backward: GraphNode['backward']): Tensor {
  out.requiresGrad = true;
  for (const s of saved) s.savedBy++;
  out.node = { op, inputs, saved, backward };
  return out;
}

/** The op whose node a backward freed, for the error a second backward through it raises. */
const freedOp = new WeakMap<Tensor, string>();

function releaseNode(t: Tensor): void {
  const n = t.node!;
  freedOp.set(t, n.op);
  t.node = null;
  t.graphFreed = true;
  for (const s of n.saved) {
    s.savedBy--;
    if (s.graphOwned && s.savedBy === 0) s.dispose();
  }
}

/** Tensors reachable from `root` through graph nodes, inputs before outputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) { order.push(t); continue; }
    if (visited.has(t)) continue;
    visited.add(t);
    if (t.graphFreed && !t.node) throw freedError(t);
    if (!t.node && t.isDisposed) {
      throw new Error(`backward: leaf tensor #${t.id} (shape [${t.shape.join(', ')}]) that requires grad was disposed ` +
        'while a graph through it was alive, so its gradient has nowhere to go (a parameter disposed before backward()?)');
    }
    stack.push([t, true]);
    if (t.node) for (const i of t.node.inputs) if (i?.requiresGrad && !visited.has(i)) stack.push([i, false]);
  }
  return order;
}

/** The few ops backward() itself needs, passed in by the ops layer (this layer sits below it). */
export interface BackwardOps {
  ones: (shape: readonly number[]) => Tensor;
  add: (a: Tensor, b: Tensor) => Tensor;
  clone: (t: Tensor) => Tensor;
  /** dst += g in dst's own buffer (what PyTorch's AccumulateGrad does to an existing .grad). */
  addInto: (dst: Tensor, g: Tensor) => void;
}

function freedError(t: Tensor): Error {
  const op = freedOp.get(t);
  return new Error(`backward: trying to backward through the graph a second time: tensor #${t.id} ` +
    `(shape [${t.shape.join(', ')}]${op ? `, made by ${op}` : ''}) belongs to a graph that an earlier backward() ` +
    'already freed. Pass { retainGraph: true } to the first backward() to keep it (PyTorch: ' +
    'retain_graph=True), or detach() the tensor if no gradient should flow through it again.');
}

export interface BackwardOptions {
  /** Keep the graph (and the tensors it saved) for another backward through it. */
  retainGraph?: boolean;
}

/** Backpropagates from `root`; `grad` defaults to 1 for a single-element root. */
export function runBackward(root: Tensor, grad: Tensor | undefined, ops: BackwardOps, opts: BackwardOptions = {}): void {
  const retain = opts.retainGraph ?? false;
  if (!root.requiresGrad) {
    throw new Error('backward: this tensor does not require grad (no input of the ops that made it had ' +
      'requiresGrad: true, or it was made under noGrad)');
  }
  if (root.graphFreed && !root.node) throw freedError(root);
  if (!grad && root.numel !== 1) {
    throw new Error(`backward: grad can be implicitly created only for a single-element tensor; got shape ` +
      `[${root.shape.join(', ')}]. Pass a gradient of that shape: t.backward(g)`);
  }
  if (grad && grad.shape.join(',') !== root.shape.join(',')) {
    throw new Error(`backward: gradient has shape [${grad.shape.join(', ')}] but the tensor has shape ` +
      `[${root.shape.join(', ')}]`);
  }
  // Walked first: a freed graph anywhere below `root` throws before any gradient is written.
  const order = topoOrder(root);
  noGrad(() => {
    // Every tensor in `grads` is owned by this loop: the user's gradient is copied first.
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ? ops.clone(grad) : ops.ones(root.shape));
    const accumulate = (t: Tensor, g: Tensor) => {
      const prev = grads.get(t);
      if (!prev) { grads.set(t, g); return; }
      grads.set(t, ops.add(prev, g));
      prev.dispose();
      g.dispose();
    };
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      grads.delete(t);
      if (!g) { if (t.node && !retain) releaseNode(t); continue; }
      if (t.node) {
        const node = t.node;
        const gs = node.backward(g);
        // An op may hand the same tensor (often g itself) to several inputs: each gets its own.
        const given = new Set<Tensor>();
        node.inputs.forEach((inp, k) => {
          let gi = gs[k];
          if (!gi || !inp?.requiresGrad) return;
          if (given.has(gi)) gi = ops.clone(gi);
          given.add(gi);
          accumulate(inp, gi);
        });
        for (const gi of gs) if (gi && !given.has(gi) && gi !== g) gi.dispose();
        if (!given.has(g)) g.dispose();
        if (!retain) releaseNode(t);
      } else if (t.grad) {
        // A leaf: accumulate into .grad in place, as PyTorch does. The .grad tensor keeps its buffer, so a
        // compiled step that does not zero gradients keeps reading and writing the same buffer on every replay.
        ops.addInto(t.grad, g);
        g.dispose();
      } else {
        t.grad = g.keep();
      }
    }
  });
}
