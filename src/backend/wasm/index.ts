import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { fusedAdamConfig } from './adam.js';
import { shippedKernel } from './backend.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2DConfig, fusedConv2DConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { fusedMatMulConfig } from './fused-mat-mul.js';
import { identityConfig } from './identity.js';
import { maxPoolConfig } from './max-pool.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { loadNativeBlas, nativeBlasState, useNativeBlas, type NativeBlasStatus } from './native-blas.js';
import { softmaxCrossEntropyConfig, softmaxCrossEntropyGradConfig } from './softmax-cross-entropy.js';
import { sumConfig } from './sum.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** unforget's training kernels for the wasm backend, one per file in this folder. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DConfig,
  fusedConv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  sumConfig,
  fusedAdamConfig,
  identityConfig,
  softmaxCrossEntropyConfig,
  softmaxCrossEntropyGradConfig,
];

let enabled = false;

export interface WasmTrainingKernelOptions {
  /**
   * Also route matrix products and convolution gradients to the system's BLAS through a small
   * native addon, compiled once with the system's C compiler on first use and checked against a
   * reference product (see native-blas.ts). Where that is not possible the wasm kernels run alone,
   * and `nativeBlasStatus()` says why. Default: on in Node.js, unless the UNFORGET_NATIVE_BLAS
   * environment variable is '0'.
   */
  nativeBlas?: boolean;
}

/**
 * Registers unforget's fast training kernels for TensorFlow.js's `wasm` backend: transposed and
 * batched matrix products on XNNPACK's fast path, the convolution, depthwise-convolution and
 * segment-sum gradients the backend lacks, faster max-pool and bias gradients, a fused Adam update
 * and a one-kernel softmax cross-entropy (used by unforget's training loop), an Identity that shares
 * bytes instead of copying them, and, with the native BLAS, the convolution's and the max pool's
 * forward passes. Other backends are untouched. Calling it again
 * registers nothing twice (it only applies `nativeBlas` when given); `disableWasmTrainingKernels`
 * puts the shipped kernels back.
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
  const envOff = typeof process !== 'undefined' && process.env?.UNFORGET_NATIVE_BLAS === '0';
  const native = options.nativeBlas ?? (enabled ? undefined : !envOff);
  if (native !== undefined) {
    if (native) loadNativeBlas(true);
    useNativeBlas(
      native,
      options.nativeBlas === false
        ? 'turned off ({ nativeBlas: false })'
        : 'turned off (UNFORGET_NATIVE_BLAS=0)',
    );
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

/**
 * Whether the wasm training kernels multiply with the native BLAS addon; where they do not, why
 * (and what to install); where they do, the library and how many threads it uses.
 *
 * ```ts
 * const blas = nativeBlasStatus();
 * if (!blas.active) console.error(`native BLAS off: ${blas.reason}`);
 * ```
 */
export function nativeBlasStatus(): NativeBlasStatus {
  if (!enabled) return { active: false, reason: "unforget's wasm training kernels are not enabled" };
  return nativeBlasState();
}

export { setNativeBlasThreads, type NativeBlasStatus } from './native-blas.js';

/** Puts the wasm backend's shipped kernels back (for comparisons); the reverse of `enableWasmTrainingKernels`. */
export function disableWasmTrainingKernels(): void {
  if (!enabled) return;
  for (const config of wasmTrainingKernels) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    const old = shippedKernel(config.kernelName);
    if (old) tf.registerKernel(old);
  }
  useNativeBlas(false, "unforget's wasm training kernels are disabled");
  enabled = false;
}

/** Whether unforget's wasm training kernels are registered. */
export function wasmTrainingKernelsEnabled(): boolean {
  return enabled;
}
