import * as tf from '@tensorflow/tfjs';
import { asKernelFunc, f32, i32, type KernelArgs } from './backend.js';

/** The names the two kernels are registered under (not TensorFlow.js's own kernels). */
export const softmaxCrossEntropyKernel = 'UnforgetSoftmaxCrossEntropy';
export const softmaxCrossEntropyGradKernel = 'UnforgetSoftmaxCrossEntropyGrad';

export interface SoftmaxCrossEntropyInputs extends tf.NamedTensorInfoMap {
  /** [rows, classes] float32. */
  logits: tf.TensorInfo;
  /** [rows] int32, each in [0, classes). */
  targets: tf.TensorInfo;
}

export interface SoftmaxCrossEntropyGradInputs extends tf.NamedTensorInfoMap {
  /** The forward kernel's second output. */
  probs: tf.TensorInfo;
  targets: tf.TensorInfo;
  /** The gradient of the mean loss (a scalar). */
  dy: tf.TensorInfo;
}

/**
 * The mean over rows of −log softmax(logits)[target], and the softmax itself (kept for the gradient),
 * in one pass over the logits: each row's maximum, Σ exp(x − max) in double precision, then
 * loss = max + log Σ − x[target]. Returns [loss (scalar), probs ([rows, classes])].
 *
 * Why: TensorFlow.js builds this loss from about 25 kernels (one-hot, casts, log-softmax, products,
 * sums), and the engine's cost of each kernel is larger than the arithmetic on a batch of logits.
 */
function softmaxCrossEntropy({
  inputs,
  backend,
}: KernelArgs<SoftmaxCrossEntropyInputs, tf.NamedAttrMap>): tf.TensorInfo[] {
  const { logits, targets } = inputs;
  const [rows, classes] = logits.shape;
  const loss = backend.makeOutput([], 'float32');
  const probs = backend.makeOutput([rows, classes], 'float32');
  const x = f32(backend, logits);
  const t = i32(backend, targets);
  const p = f32(backend, probs);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    if (!(t[r] >= 0 && t[r] < classes))
      throw new Error(`targets must be integers in [0, ${classes}); got ${t[r]} at row ${r}`);
    const at = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, x[at + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += p[at + c] = Math.exp(x[at + c] - max);
    for (let c = 0; c < classes; c++) p[at + c] /= sum;
    total += max + Math.log(sum) - x[at + t[r]];
  }
  f32(backend, loss)[0] = total / rows;
  return [loss, probs];
}

/** d loss / d logits = dy · (probs − onehot(targets)) / rows. */
function softmaxCrossEntropyGrad({
  inputs,
  backend,
}: KernelArgs<SoftmaxCrossEntropyGradInputs, tf.NamedAttrMap>): tf.TensorInfo {
  const { probs, targets, dy } = inputs;
  const [rows, classes] = probs.shape;
  const out = backend.makeOutput([rows, classes], 'float32');
  const p = f32(backend, probs);
  const t = i32(backend, targets);
  const g = f32(backend, out);
  const scale = f32(backend, dy)[0] / rows;
  for (let i = 0; i < g.length; i++) g[i] = p[i] * scale;
  for (let r = 0; r < rows; r++) g[r * classes + t[r]] -= scale;
  return out;
}

export const softmaxCrossEntropyConfig: tf.KernelConfig = {
  kernelName: softmaxCrossEntropyKernel,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(softmaxCrossEntropy),
};

export const softmaxCrossEntropyGradConfig: tf.KernelConfig = {
  kernelName: softmaxCrossEntropyGradKernel,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(softmaxCrossEntropyGrad),
};
