import * as tf from '@tensorflow/tfjs';
import { asKernelFunc, f32, offsetOf, type KernelArgs } from './backend.js';
import { activeNativeBlas } from './native-blas.js';

/** The name the fused Adam kernel is registered under (not one of TensorFlow.js's own kernels). */
export const fusedAdamKernel = 'UnforgetFusedAdam';

/** The tensors one variable's Adam update reads. */
export interface FusedAdamInputs extends tf.NamedTensorInfoMap {
  value: tf.TensorInfo;
  gradient: tf.TensorInfo;
  m: tf.TensorInfo;
  v: tf.TensorInfo;
}

/** Adam's hyper-parameters, and `step`, the 1-based count of updates so far (for the bias correction). */
export interface FusedAdamAttrs extends tf.NamedAttrMap {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  step: number;
}

/**
 * One variable's Adam update in one pass over its floats (Kingma & Ba 2015, as tf.train.adam):
 * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε).
 * Returns the new θ as a fresh tensor, which the optimizer assigns to its variable; the moments m and
 * v are overwritten in place, so they must be tensors only the optimizer holds (FusedAdam's own
 * variables; the kernel refuses moments that share their memory).
 *
 * Why faster: TensorFlow.js's Adam runs about ten element-wise kernels per variable, each a pass over
 * memory with its own output tensor; this reads g, m, v and θ once and writes three arrays, two of them
 * where it just read. θ's result is fresh rather than written in place: a variable may share its
 * bytes with another tensor (after `assign`, `setWeights` or a clone kept for a gradient), and
 * XNNPACK caches packed weights by tensor id.
 */
function fusedAdam({ inputs, backend, attrs }: KernelArgs<FusedAdamInputs, FusedAdamAttrs>): tf.TensorInfo {
  const { value, gradient, m, v } = inputs;
  const { learningRate, beta1, beta2, epsilon, step } = attrs;
  for (const t of [value, gradient, m, v]) {
    if (t.dtype !== 'float32') throw new Error(`the fused Adam update takes float32 tensors, not ${t.dtype}`);
  }
  for (const t of [m, v]) {
    if (backend.refCount(t.dataId) !== 1)
      throw new Error('the fused Adam update overwrites its moments; give it moments no other tensor shares');
  }
  const outValue = backend.makeOutput(value.shape, 'float32');
  // η / (1−β₁ᵗ) folded into one factor; √(v / (1−β₂ᵗ)) = √v · 1/√(1−β₂ᵗ).
  const rate = learningRate / (1 - beta1 ** step);
  const root = 1 / Math.sqrt(1 - beta2 ** step);
  const native = activeNativeBlas();
  if (native) {
    // The same loop in C, vectorised by the compiler: several times the speed of JavaScript's.
    const at = (t: tf.TensorInfo) => offsetOf(backend, t);
    native.adam(
      backend.wasm.HEAPU8.buffer as ArrayBuffer,
      tf.util.sizeFromShape(value.shape),
      at(value),
      at(gradient),
      at(m),
      at(v),
      at(outValue),
      beta1,
      beta2,
      epsilon,
      rate,
      root,
    );
    return outValue;
  }
  const theta = f32(backend, value);
  const g = f32(backend, gradient);
  const m1 = f32(backend, m);
  const v1 = f32(backend, v);
  const theta1 = f32(backend, outValue);
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < theta.length; i++) {
    const gi = g[i];
    const mi = beta1 * m1[i] + c1 * gi;
    const vi = beta2 * v1[i] + c2 * gi * gi;
    m1[i] = mi;
    v1[i] = vi;
    theta1[i] = theta[i] - (rate * mi) / (Math.sqrt(vi) * root + epsilon);
  }
  return outValue;
}

/** Whether the kernel runs in the native addon (in C) rather than in JavaScript. */
export function fusedAdamNative(): boolean {
  return activeNativeBlas() !== null;
}

export const fusedAdamConfig: tf.KernelConfig = {
  kernelName: fusedAdamKernel,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(fusedAdam),
};
