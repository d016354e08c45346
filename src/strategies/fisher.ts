import * as tf from '@tensorflow/tfjs';
import { im2col } from '../backend/im2col.js';
import { exampleCount, exampleSize, type Dataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { denseStep, layerChain, type ConvStep, type DenseStep } from '../model/chain.js';
import type { Learner } from '../model/learner.js';
import { permutation, type Random } from '../random.js';
import { activeOutputs, headIndex, type Scenario } from '../scenarios/types.js';

/**
 * The diagonal of the Fisher information of a learner at its current weights,
 * `F_i = E_x E_{y~p(y|x,θ)} [(∂ log p(y|x,θ) / ∂θ_i)²]`, estimated from per-sample gradients on a task's
 * training inputs (never from the square of a batch's mean gradient, which is a different, much smaller
 * quantity).
 *
 * Two ways to get the per-sample gradients:
 * - `vectorised` (fast): for a trunk that is a chain of Dense, Conv2D and weightless layers (flatten,
 *   activation, dropout, pooling, reshape) followed by the Dense head. One backward pass over a chunk of
 *   examples gives every example's gradient `g_n` at each layer's pre-activation (an example's loss
 *   depends only on its own row), and from it the example's own weight gradient:
 *   - Dense: the outer product `a_n ⊗ g_n` of the layer's input and that gradient, so
 *     `Σ_n (a_n ⊗ g_n)²` is the matrix product `(a²)ᵀ(g²)`;
 *   - Conv2D: the sum over output positions p of `patch_n(p) ⊗ g_n(p)`, the patch being the input
 *     window the filter saw at p (im2col), so one batched product `P_nᵀ g_n` over the chunk gives
 *     every example's filter gradient, squared and summed over the examples.
 * - `perSample` (general): one forward and backward pass per example. It works for any trunk (the cnn,
 *   pretrained models), and is what `auto` falls back to when the vectorised way does not apply.
 */
export type FisherMethod = 'auto' | 'vectorised' | 'perSample';
export const fisherMethods: readonly FisherMethod[] = ['auto', 'vectorised', 'perSample'];

/**
 * Which label the log-likelihood is taken at:
 * - `sampled`: a label drawn from the model's predicted distribution, as the definition of the Fisher
 *   asks (the "true" Fisher; Kirkpatrick et al.);
 * - `predicted`: the model's most likely label, as van de Ven's code does (cheaper to explain, biased:
 *   it weighs confident examples' gradients, which are small, fully).
 */
export type FisherLabels = 'sampled' | 'predicted';
export const fisherLabelChoices: readonly FisherLabels[] = ['sampled', 'predicted'];

/** A weight the Fisher covers, named by where it sits in the learner (stable across save and load). */
export interface FisherParameter {
  /** 'trunk/<index in trunk.weights>' or 'head<h>/<index in that head's weights>'. */
  readonly key: string;
  readonly weight: tf.LayerVariable;
}

export interface FisherOptions {
  /** How many of the task's training examples to use (all of them if fewer). */
  samples: number;
  labels: FisherLabels;
  /** Picks the examples (when `samples` is below the task's size) and samples the labels. */
  random: Random;
  /** Default 'auto': vectorised where it applies, else per sample. */
  method?: FisherMethod;
  /** Examples per backward pass in the vectorised way. Default 256. */
  chunk?: number;
  /**
   * The inputs to estimate it on, instead of the task's training set (labels unused: they are drawn
   * from the model). E.g. another task's inputs when the task's own are gone.
   */
  inputs?: Dataset;
}

export interface FisherResult {
  /** One tensor per parameter (same shape as the weight), owned by the caller. */
  readonly fisher: Map<string, tf.Tensor>;
  /** How it was computed. */
  readonly method: 'vectorised' | 'perSample';
  readonly samples: number;
}

/**
 * The weights EWC protects after task `task`: every trainable trunk weight, and the head when heads are
 * shared (domain and class settings). In the task setting a task's head is trained by that task alone,
 * so a penalty on it would never be anything but zero.
 */
export function fisherParameters(learner: Learner, task: number): FisherParameter[] {
  const trainable = new Set(learner.trunk.trainableWeights);
  const out: FisherParameter[] = learner.trunk.weights
    .map((weight, i) => ({ key: `trunk/${i}`, weight }))
    .filter((p) => trainable.has(p.weight));
  if (learner.setting !== 'task') {
    const h = headIndex(learner.layout, task);
    const head = learner.heads[h];
    const headTrainable = new Set(head.trainableWeights);
    head.weights.forEach((weight, i) => {
      if (headTrainable.has(weight)) out.push({ key: `head${h}/${i}`, weight });
    });
  }
  return out;
}

/** The learner's weight named by a `FisherParameter` key. */
export function weightByKey(learner: Learner, key: string): tf.LayerVariable {
  const [where, index] = key.split('/');
  const model = where === 'trunk' ? learner.trunk : learner.heads[Number(where.slice('head'.length))];
  const weight = model?.weights[Number(index)];
  if (!weight)
    throw new OptionError(`the learner has no weight '${key}'; was the state saved from another network?`);
  return weight;
}

/**
 * The input patches of a convolution (im2col), [m, oh·ow, fh·fw·cin] for an NHWC input x: row p of
 * example n holds the window the filter sees at output position p, in the kernel's (kh, kw, c) order,
 * zero where the window hangs over the (padded) edge. Built on the host: TensorFlow.js's slices of
 * the input, one per filter tap, cost several times as much.
 */
function patchesOf(step: ConvStep, x: tf.Tensor4D, oh: number, ow: number): tf.Tensor3D {
  const [fh, fw, cin] = step.kernel.shape as number[];
  const [sh, sw] = step.strides;
  const [m, h, w] = x.shape;
  const top = step.padding === 'same' ? Math.floor(Math.max((oh - 1) * sh + fh - h, 0) / 2) : 0;
  const left = step.padding === 'same' ? Math.floor(Math.max((ow - 1) * sw + fw - w, 0) / 2) : 0;
  const row = fh * fw * cin;
  const out = new Float32Array(m * oh * ow * row);
  im2col(x.dataSync() as Float32Array, out, m, h, w, cin, fh, fw, sh, sw, top, left, oh, ow);
  return tf.tensor3d(out, [m, oh * ow, row]);
}

/**
 * Σ_n G_n², G_n being example n's own filter gradient of a convolution, from the layer's input x
 * [m, h, w, cin] and the gradient g [m, oh, ow, cout] at its pre-activation: G_n = P_nᵀ g_n, P_n the
 * example's input patches, for the whole chunk in one batched product.
 */
function convFisherSum(step: ConvStep, x: tf.Tensor4D, g: tf.Tensor4D): tf.Tensor {
  const [m, oh, ow, cout] = g.shape;
  const perExample = tf.matMul(
    patchesOf(step, x, oh, ow),
    g.reshape([m, oh * ow, cout]) as tf.Tensor3D,
    true,
    false,
  );
  return perExample
    .square()
    .sum(0)
    .reshape(step.kernel.shape as number[]);
}

/** Whether the vectorised way applies to this learner. */
export function canVectorise(learner: Learner): boolean {
  return learner.beforeForward.length === 0 && layerChain(learner.trunk) !== null;
}

function batchOf(data: Dataset, rows: ArrayLike<number>): tf.Tensor {
  const size = exampleSize(data);
  const inputs = new Float32Array(rows.length * size);
  for (let i = 0; i < rows.length; i++) {
    inputs.set(data.inputs.subarray(rows[i] * size, (rows[i] + 1) * size), i * size);
  }
  return tf.tensor(inputs, [rows.length, ...data.shape.slice(1)]);
}

/** Draws a label from each row of probabilities (or takes its largest). */
function pickLabels(probs: Float32Array, classes: number, labels: FisherLabels, random: Random): Int32Array {
  const rows = probs.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const p = probs.subarray(r * classes, (r + 1) * classes);
    let pick = 0;
    if (labels === 'predicted') {
      for (let k = 1; k < classes; k++) if (p[k] > p[pick]) pick = k;
    } else {
      let u = random();
      pick = classes - 1;
      for (let k = 0; k < classes; k++) {
        u -= p[k];
        if (u < 0) {
          pick = k;
          break;
        }
      }
    }
    out[r] = pick;
  }
  return out;
}

/**
 * Estimates the diagonal Fisher information of `learner` for task `task` on (up to) `options.samples`
 * of its training examples. Returns one tensor per parameter of `fisherParameters(learner, task)`; the
 * learner's weights are not changed.
 */
export function diagonalFisher(
  learner: Learner,
  scenario: Scenario,
  task: number,
  options: FisherOptions,
): FisherResult {
  const data = options.inputs ?? scenario.tasks[task].train;
  const n = exampleCount(data);
  if (n === 0) {
    throw new OptionError(
      `the Fisher of task ${task + 1} needs inputs, and it has none here; give its inputs (old data) or other inputs`,
    );
  }
  const count = Math.min(options.samples, n);
  const rows =
    count === n
      ? Int32Array.from({ length: n }, (_, i) => i)
      : permutation(n, options.random).slice(0, count);
  const outputs = activeOutputs(learner.layout, task, task);
  const chunk = options.chunk ?? 256;

  // The labels the log-likelihood is taken at, from the model's own predictions.
  const labels = new Int32Array(count);
  for (let start = 0; start < count; start += chunk) {
    const part = rows.subarray(start, Math.min(count, start + chunk));
    const probs = tf.tidy(() => tf.softmax(learner.logits(batchOf(data, part), task, task)));
    const values = probs.dataSync() as Float32Array;
    probs.dispose();
    labels.set(pickLabels(values, outputs, options.labels, options.random), start);
  }

  const params = fisherParameters(learner, task);
  const method = options.method ?? 'auto';
  // A strategy's forward hooks (e.g. masks) may change what the trunk computes: then go through the
  // learner's own forward pass, one sample at a time.
  const headLayers = learner.heads[headIndex(learner.layout, task)].layers.filter(
    (l) => l.getClassName() !== 'InputLayer',
  );
  const chain =
    method === 'perSample' || learner.beforeForward.length > 0 || headLayers.length !== 1
      ? null
      : layerChain(learner.trunk);
  if (method === 'vectorised' && !chain) {
    throw new OptionError(
      'the vectorised Fisher needs a trunk that is a chain of Dense, Conv2D and weightless layers and no forward ' +
        "hooks; use method 'perSample' (or 'auto')",
    );
  }
  const sums = new Map(params.map((p) => [p.key, tf.zeros(p.weight.shape as number[])]));
  const add = (key: string, value: tf.Tensor) => {
    const old = sums.get(key);
    if (!old) return;
    sums.set(key, tf.keep(old.add(value)));
    old.dispose();
  };
  const keyOf = new Map(params.map((p) => [p.weight, p.key]));

  if (chain) {
    const headStep = denseStep(headLayers[0]);
    if (!headStep) throw new OptionError('the head is not a Dense layer');
    const weighted = [...chain.filter((s): s is DenseStep | ConvStep => s.kind !== 'plain'), headStep];
    for (let start = 0; start < count; start += chunk) {
      const part = rows.subarray(start, Math.min(count, start + chunk));
      const m = part.length;
      const inputs: tf.Tensor[] = [];
      try {
        tf.tidy(() => {
          const x = batchOf(data, part);
          const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + m), 'int32'), outputs);
          // A zero added to each layer's pre-activation: the gradient with respect to it is, example by
          // example, each example's own gradient there.
          const probes = weighted.map((d) => tf.zeros([m, ...(d.layer.outputShape as number[]).slice(1)]));
          const logLikelihood = (...z: tf.Tensor[]): tf.Scalar => {
            let a = x;
            let k = 0;
            const forward = (d: DenseStep | ConvStep, input: tf.Tensor) => {
              inputs.push(tf.keep(input));
              let pre =
                d.kind === 'dense'
                  ? tf.matMul(input as tf.Tensor2D, d.kernel.read() as tf.Tensor2D)
                  : tf.conv2d(input as tf.Tensor4D, d.kernel.read() as tf.Tensor4D, d.strides, d.padding);
              if (d.bias) pre = pre.add(d.bias.read());
              pre = pre.add(z[k++]);
              return d.activation ? (d.activation.apply(pre) as tf.Tensor) : pre;
            };
            for (const step of chain) {
              if (step.kind === 'plain') a = step.layer.apply(a, { training: false }) as tf.Tensor;
              else {
                const rank = step.kind === 'dense' ? 2 : 4;
                if (a.rank !== rank)
                  throw new OptionError(`a ${step.layer.getClassName()} layer got input of rank ${a.rank}`);
                a = forward(step, a);
              }
            }
            if (a.rank !== 2) a = a.reshape([m, -1]);
            let logits = forward(headStep, a);
            if (logits.shape[1] !== outputs) logits = logits.slice([0, 0], [-1, outputs]);
            return tf.sum(tf.mul(tf.logSoftmax(logits), y));
          };
          const g = tf.grads(logLikelihood)(probes);
          // Each layer's squares are summed in a tidy of their own: a convolution's patches are large.
          weighted.forEach((d, i) =>
            tf.tidy(() => {
              const kernelKey = keyOf.get(d.kernel);
              const biasKey = d.bias ? keyOf.get(d.bias) : undefined;
              if (d.kind === 'dense') {
                const g2 = g[i].square();
                if (kernelKey) add(kernelKey, tf.matMul(inputs[i].square(), g2, true, false));
                if (biasKey) add(biasKey, g2.sum(0));
              } else {
                const gi = g[i] as tf.Tensor4D;
                if (kernelKey) add(kernelKey, convFisherSum(d, inputs[i] as tf.Tensor4D, gi));
                if (biasKey) add(biasKey, gi.sum([1, 2]).square().sum(0));
              }
            }),
          );
        });
      } finally {
        tf.dispose(inputs);
      }
    }
  } else {
    const variables = params.map((p) => p.weight.read() as tf.Variable);
    for (let i = 0; i < count; i++) {
      tf.tidy(() => {
        const x = batchOf(data, [rows[i]]);
        const label = labels[i];
        const { grads } = tf.variableGrads(() => {
          const logits = learner.headLogits(learner.features(x, task, false), task, task);
          return tf.logSoftmax(logits).slice([0, label], [1, 1]).sum() as tf.Scalar;
        }, variables);
        params.forEach((p, k) => add(p.key, grads[variables[k].name].square()));
      });
    }
  }
  const fisher = new Map<string, tf.Tensor>();
  for (const [key, sum] of sums) {
    fisher.set(
      key,
      tf.tidy(() => sum.div(Math.max(count, 1))),
    );
    sum.dispose();
  }
  return { fisher, method: chain ? 'vectorised' : 'perSample', samples: count };
}
