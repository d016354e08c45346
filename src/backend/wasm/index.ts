import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { shippedKernel } from './backend.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { fusedMatMulConfig } from './fused-mat-mul.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { sumConfig } from './sum.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** unforget's training kernels for the wasm backend, one per file in this folder. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolGradConfig,
  sumConfig,
];

let enabled = false;

/**
 * Registers unforget's fast training kernels for TensorFlow.js's `wasm` backend: transposed and
 * batched matrix products on XNNPACK's fast path, the convolution, depthwise-convolution and
 * segment-sum gradients the backend lacks, and a faster max-pool gradient. Other backends are
 * untouched. Calling it again does nothing; `disableWasmTrainingKernels` puts the shipped kernels
 * back.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { enableWasmTrainingKernels } from 'unforget';
 * await tf.setBackend('wasm');
 * enableWasmTrainingKernels(); // conv nets now train on wasm, Dense layers train ~5× faster
 * ```
 */
export function enableWasmTrainingKernels(): void {
  if (enabled) return;
  for (const config of wasmTrainingKernels) {
    const old = shippedKernel(config.kernelName);
    if (old) tf.unregisterKernel(config.kernelName, 'wasm');
    // A kernel we replace keeps the shipped one's setup, which binds its wasm function when the
    // backend starts; our kernels call the shipped ones for the untransposed fast path.
    tf.registerKernel({ ...config, setupFunc: old?.setupFunc ?? config.setupFunc });
  }
  enabled = true;
}

/** Puts the wasm backend's shipped kernels back (for comparisons); the reverse of `enableWasmTrainingKernels`. */
export function disableWasmTrainingKernels(): void {
  if (!enabled) return;
  for (const config of wasmTrainingKernels) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    const old = shippedKernel(config.kernelName);
    if (old) tf.registerKernel(old);
  }
  enabled = false;
}

/** Whether unforget's wasm training kernels are registered. */
export function wasmTrainingKernelsEnabled(): boolean {
  return enabled;
}
