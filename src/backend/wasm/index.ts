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
import {
  activeNativeBlas,
  loadNativeBlas,
  nativeBlas,
  nativeBlasStatus,
  useNativeBlas,
} from './native-blas.js';
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

export interface WasmTrainingKernelOptions {
  /**
   * Also route matrix products and convolution gradients to the system's BLAS through a small
   * native addon, compiled once with the system's C compiler (see native-blas.ts). Where that is
   * not possible the wasm kernels run alone. Default: the UNFORGET_NATIVE_BLAS environment variable
   * is '1'.
   */
  nativeBlas?: boolean;
}

/**
 * Registers unforget's fast training kernels for TensorFlow.js's `wasm` backend: transposed and
 * batched matrix products on XNNPACK's fast path, the convolution, depthwise-convolution and
 * segment-sum gradients the backend lacks, and faster max-pool and bias gradients. Other backends
 * are untouched. Calling it again registers nothing twice (it only applies `nativeBlas` when given);
 * `disableWasmTrainingKernels` puts the shipped kernels back.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { enableWasmTrainingKernels } from 'unforget';
 * await tf.setBackend('wasm');
 * enableWasmTrainingKernels(); // conv nets now train on wasm, Dense layers several times faster
 * ```
 */
export function enableWasmTrainingKernels(options: WasmTrainingKernelOptions = {}): void {
  const native =
    options.nativeBlas ??
    (enabled ? undefined : typeof process !== 'undefined' && process.env?.UNFORGET_NATIVE_BLAS === '1');
  if (native !== undefined) {
    if (native) loadNativeBlas(true);
    useNativeBlas(native);
  }
  if (enabled) return;
  for (const config of wasmTrainingKernels) {
    const old = shippedKernel(config.kernelName);
    if (old) tf.unregisterKernel(config.kernelName, 'wasm');
    // A kernel we replace keeps the shipped one's setup, which binds its wasm function when the
    // backend starts; our kernels call the shipped ones for the cases they leave to them.
    tf.registerKernel({ ...config, setupFunc: old?.setupFunc ?? config.setupFunc });
  }
  enabled = true;
}

/** Whether the kernels use the native BLAS addon, and where it came from or why not. */
export function wasmNativeBlasStatus(): { active: boolean; detail: string } {
  return {
    active: enabled && nativeBlas() !== null && activeNativeBlas() !== null,
    detail: nativeBlasStatus(),
  };
}

/** Puts the wasm backend's shipped kernels back (for comparisons); the reverse of `enableWasmTrainingKernels`. */
export function disableWasmTrainingKernels(): void {
  if (!enabled) return;
  for (const config of wasmTrainingKernels) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    const old = shippedKernel(config.kernelName);
    if (old) tf.registerKernel(old);
  }
  useNativeBlas(false);
  enabled = false;
}

/** Whether unforget's wasm training kernels are registered. */
export function wasmTrainingKernelsEnabled(): boolean {
  return enabled;
}
