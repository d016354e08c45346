import * as tf from '@tensorflow/tfjs';
import { alloc, offsetOf, release, type WasmBackend } from '../backend/wasm/backend.js';
import { activeNativeBlas } from '../backend/wasm/native-blas.js';
import { OptionError } from '../errors.js';
import { denseStep, layerChain } from '../model/chain.js';
import type { Learner } from '../model/learner.js';

/**
 * The training step of a Dense network in one native call. For a trunk that is a chain of Dense
 * layers (relu or linear, flattened input) under a linear Dense head, trained on the classification
 * loss alone, the forward pass, the softmax cross-entropy and the backward pass run in the native BLAS
 * addon on the wasm heap: five products and a few loops instead of about 50 TensorFlow.js kernels and
 * their gradient tape. It returns the loss and the gradients of the variables being trained, which the
 * optimizer applies as usual; the weights stay TensorFlow.js variables, so models save as they always did.
 *
 * Used by the training loop when the wasm backend runs with the native BLAS and nothing in the step
 * needs TensorFlow.js's own gradients (no extra loss, no forward hooks, one head per batch, one
 * thread); otherwise, or with `UNFORGET_FUSED_STEP=0`, the loop takes the general path. Both compute
 * the same step to float rounding (test/train/fused-step.test.ts).
 */

interface FusedLayer {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  relu: boolean;
  /** Whether the step computes this layer's kernel and bias gradients. */
  trainKernel: boolean;
  trainBias: boolean;
}

/** A learner's head and trunk as the fused step computes them, for one set of trained variables. */
export interface FusedPlan {
  layers: FusedLayer[];
  /** The lowest layer the gradient reaches (the first with a trained variable). */
  lowest: number;
  /** Floats per example at the input (the first Dense layer's input width). */
  inputSize: number;
}

/** The name a layer weight's variable has, by which gradients are keyed. */
function nameOf(w: tf.LayerVariable): string {
  return (w.read() as tf.Variable).name;
}

/** Header numbers of the plan handed to the addon, then 8 per layer (see dense_step in native-blas.ts). */
const header = 7;
const perLayer = 8;

/** Whether `UNFORGET_FUSED_STEP` turns the fused step off ('0'); anything else but '1' is refused. */
function fusedStepAllowed(): boolean {
  // No process in the browser, where there is no addon either.
  const value = typeof process === 'undefined' ? undefined : process.env?.UNFORGET_FUSED_STEP;
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new OptionError(`UNFORGET_FUSED_STEP must be 0 (off) or 1 (on, the default); got '${value}'`);
}

/**
 * The fused plan for training `variables` of `learner` with head `head`, or null when the step cannot
 * be fused: not the wasm backend with the native BLAS, a layer other than Dense (relu or linear) and
 * Flatten, a head that is not one linear Dense layer, forward hooks (masks), or a variable outside
 * those layers.
 */
export function fusedPlan(
  learner: Learner,
  head: number,
  variables: readonly tf.Variable[],
): FusedPlan | null {
  if (!fusedStepAllowed() || tf.getBackend() !== 'wasm' || activeNativeBlas() === null) return null;
  if (learner.beforeForward.length > 0) return null;
  const chain = layerChain(learner.trunk);
  if (!chain) return null;
  const steps = [];
  let flat = learner.layout.inputShape.length === 1;
  for (const step of chain) {
    if (step.kind === 'plain') {
      // Flatten before the first Dense layer is the row-major layout the batch already has.
      if (step.layer.getClassName() !== 'Flatten' || steps.length > 0) return null;
      flat = true;
    } else if (step.kind === 'dense' && flat) steps.push(step);
    else return null;
  }
  const headLayers = learner.heads[head].layers.filter((l) => l.getClassName() !== 'InputLayer');
  const last = headLayers.length === 1 ? denseStep(headLayers[0]) : null;
  if (!last || last.activationName !== 'linear') return null;
  steps.push(last);
  if (steps.some((s) => s.activationName !== 'relu' && s.activationName !== 'linear')) return null;
  const weights = steps.flatMap((s) => [s.kernel, s.bias]).filter((w) => w !== null);
  if (weights.some((w) => w.dtype !== 'float32')) return null;
  const trained = new Set(variables.map((v) => v.name));
  const known = new Set(weights.map((w) => nameOf(w)));
  if ([...trained].some((name) => !known.has(name))) return null;
  const layers = steps.map((s) => ({
    kernel: s.kernel,
    bias: s.bias,
    relu: s.activationName === 'relu',
    trainKernel: trained.has(nameOf(s.kernel)),
    trainBias: s.bias !== null && trained.has(nameOf(s.bias)),
  }));
  const lowest = layers.findIndex((l) => l.trainKernel || l.trainBias);
  if (lowest < 0) return null;
  return { layers, lowest, inputSize: layers[0].kernel.shape[0] as number };
}

/**
 * One step of the plan on a batch: `inputs` holds `rows` examples (row-major, `plan.inputSize` floats
 * each), `targets` their class within the head, in [0, `active`); the loss is the mean softmax
 * cross-entropy over the head's first `active` outputs. Returns the loss and the gradients, keyed by
 * variable name as `tf.variableGrads` keys them (the caller disposes them).
 */
export function fusedStep(
  plan: FusedPlan,
  inputs: Float32Array,
  targets: Int32Array,
  rows: number,
  active: number,
): { loss: number; gradients: tf.NamedTensorMap } {
  const blas = activeNativeBlas();
  if (!blas) throw new Error('the fused training step needs the native BLAS addon, which is off');
  for (let r = 0; r < rows; r++) {
    if (!(targets[r] >= 0 && targets[r] < active))
      throw new Error(`targets must be integers in [0, ${active}); got ${targets[r]} at row ${r}`);
  }
  const backend = tf.backend() as unknown as WasmBackend;
  const { layers, lowest } = plan;
  // The gradient at a layer's output, and at its input when it goes further down: both a layer's
  // output width (the input of layer l > 0 is the output of layer l − 1).
  const widest = Math.max(...layers.map((l) => l.kernel.shape[1] as number));
  const x = alloc(backend, [rows, plan.inputSize]);
  const outputs = layers.map((l) => alloc(backend, [rows, l.kernel.shape[1] as number]));
  const scratch = [alloc(backend, [rows, widest]), alloc(backend, [rows, widest])];
  const gradients: tf.NamedTensorMap = {};
  const grad = (w: tf.LayerVariable): number => {
    const t = alloc(backend, w.shape as number[]);
    gradients[nameOf(w)] = tf.engine().makeTensorFromTensorInfo(t);
    return offsetOf(backend, t);
  };
  try {
    const plan64 = new Float64Array(header + perLayer * layers.length);
    plan64.set([rows, layers.length, offsetOf(backend, x), active, lowest]);
    plan64.set([offsetOf(backend, scratch[0]), offsetOf(backend, scratch[1])], 5);
    layers.forEach((l, i) => {
      const [n, m] = l.kernel.shape as number[];
      plan64.set(
        [
          n,
          m,
          l.relu ? 1 : 0,
          offsetOf(backend, l.kernel.read()),
          l.bias ? offsetOf(backend, l.bias.read()) : 0,
          offsetOf(backend, outputs[i]),
          l.trainKernel ? grad(l.kernel) : 0,
          l.trainBias && l.bias ? grad(l.bias) : 0,
        ],
        header + perLayer * i,
      );
    });
    // The heap may have grown with the allocations above: take it only now.
    const heap = backend.wasm.HEAPU8.buffer as ArrayBuffer;
    new Float32Array(heap, offsetOf(backend, x), rows * plan.inputSize).set(
      inputs.subarray(0, rows * plan.inputSize),
    );
    const loss = blas.denseStep(heap, plan64, targets);
    return { loss, gradients };
  } catch (e) {
    tf.dispose(gradients);
    throw e;
  } finally {
    release(backend, x, ...outputs, ...scratch);
  }
}
