// Reverse-mode autograd: topological order from the output, one gradient rule per node (gradients.ts),
// accumulation where a tensor feeds several ops, leaf gradients stored in `.grad` (accumulating across calls).
import {binaryK} from './kernels/elementwise/index.js';
import {fillK} from './kernels/layout/index.js';
import {keep, noGrad} from './engine.js';
import {empty, fmt, idMark, setBackward, type Tensor} from './tensor.js';
import {checkArgs, setCurrentOp} from './validate.js';
import {anomalyCheck} from './anomaly.js';
import {isUnitSeed, unitSeed} from './unit-seed.js';

/**
 * A disposed tensor inside the graph would cut it silently (dispose() drops the node, so the tensor would look
 * like a leaf and the parameters below it would get no gradient): refuse, naming the tensor and its consumer.
 */
function checkLive(t: Tensor, consumer: Tensor | null): void {
  if (!t.disposed) return;
  const made = t.disposedOutputOf ? `output of '${t.disposedOutputOf}'` : 'a leaf';
  const used = consumer?.node ? `, input of '${consumer.node.op}' (${consumer.describe()})` : '';
  throw new Error(`webgpu-transfer: backward: tensor ${t.describe()} (${made}${used}) was disposed before backward(); ` +
    'the gradients that flow through it would be lost. Keep it alive until backward() (e.g. return it from tidy, or call backward inside)');
}

/** Nodes reachable from `root` through tensors that require grad, inputs before users. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const inp = inputs[i];
      if (inp.requiresGrad && !seen.has(inp)) {
        checkLive(inp, t);
        seen.add(inp);
        stack.push([inp, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Reverse-mode autograd from `root` (what `root.backward(grad)` runs): accumulates into the .grad of every tensor
 * that requires a gradient; `grad` defaults to ones for a one-element root.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  checkLive(root, null);
  checkArgs('backward', root, grad);
  if (!root.requiresGrad) throw new Error(`webgpu-transfer: backward: ${root.describe()} does not require grad (no input has requiresGrad, or it was made under noGrad)`);
  if (!grad && root.size !== 1) throw new Error(`webgpu-transfer: backward: ${root.describe()} is not a scalar; pass the gradient of the output`);
  if (grad && (grad.rank !== root.rank || grad.shape.some((d, i) => d !== root.shape[i]))) {
    throw new Error(`webgpu-transfer: backward: gradient ${grad.describe()} does not match the shape of output ${root.describe()}`);
  }
  const order = topoOrder(root); // checks the graph before any gradient is computed
  setCurrentOp('backward');
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    const mark = idMark(); // only tensors made by this backward pass are freed here
    // How many entries of `grads` hold each gradient object: a rule may pass g itself on to its inputs (add's
    // rule returns g for both when nothing was broadcast), so a gradient is freed once no pending entry holds it.
    const holders = new Map<Tensor, number>();
    const hold = (t: Tensor, g: Tensor) => { grads.set(t, g); holders.set(g, (holders.get(g) ?? 0) + 1); };
    const release = (t: Tensor) => {
      const g = grads.get(t)!;
      grads.delete(t);
      const n = (holders.get(g) ?? 1) - 1;
      if (n > 0) { holders.set(g, n); return; }
      holders.delete(g);
      if (g.id >= mark) g.dispose(); // never the caller's gradient, nor a tensor a custom rule handed back
    };
    const dropIfUnheld = (z: Tensor) => { if (z.id >= mark && !holders.has(z)) z.dispose(); };
    hold(root, grad ?? unitSeed(root.shape));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      const node = t.node;
      if (!node) {
        // A leaf: its own view object, so disposing one leaf's grad never frees another's; the shared unit seed
        // never becomes a .grad that later code could write to.
        const view = keep(isUnitSeed(g) ? fillK(empty(t.shape), 1) : g.viewAs(t.shape));
        if (t.grad) {
          const acc = keep(binaryK('add', t.grad, view));
          t.grad.dispose();
          view.dispose();
          t.grad = acc;
        } else t.grad = view;
        release(t);
        continue;
      }
      let gIn: (Tensor | null)[];
      try {
        gIn = node.backward(g, node, t);
      } catch (e) {
        const msg = (e as Error).message.replace(/^webgpu-transfer: /, '');
        throw new Error(`webgpu-transfer: backward of '${node.op}' (output ${t.describe()}, inputs ${node.inputs.map((x) => x.describe()).join(', ')}): ${msg}`);
      }
      anomalyCheck(`backward of ${node.op}`, [g], gIn.filter((x, i): x is Tensor => !!x && node.inputs[i]?.requiresGrad));
      node.inputs.forEach((inp, i) => {
        const gi = gIn[i];
        if (!gi || !inp.requiresGrad) return;
        if (gi.size !== inp.size) throw new Error(`webgpu-transfer: backward: rule '${node.op}' gave ${fmt(gi.shape)} for input ${inp.describe()}`);
        // Rules may return a same-size tensor of another shape (a flat view): give it the input's shape.
        const same = gi.rank === inp.rank && gi.shape.every((d, j) => d === inp.shape[j]);
        const g2 = same ? gi : gi.viewAs(inp.shape);
        if (grads.has(inp)) {
          const sum = binaryK('add', grads.get(inp)!, g2);
          release(inp);
          hold(inp, sum);
          dropIfUnheld(g2);
          if (gi !== g2) dropIfUnheld(gi);
        } else hold(inp, g2);
      });
      release(t);
    }
  });
}

// Tensor.backward() calls this (tensor.ts cannot import this module without an import cycle).
setBackward(backward);
