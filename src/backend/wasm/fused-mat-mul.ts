import * as tf from '@tensorflow/tfjs';
import { asKernelFunc, callKernel, offsetOf, type KernelArgs } from './backend.js';
import { batchedProduct } from './batch-mat-mul.js';
import { activeNativeBlas } from './native-blas.js';
import { nativeEpilogue } from './product.js';

/**
 * _FusedMatMul: act(op(a)·op(b) + bias), the product a Dense layer runs (tf.layers fuses its bias
 * and activation into it).
 *
 * Why faster: the shipped kernel reaches XNNPACK only for untransposed, unbatched operands and
 * otherwise runs a scalar triple loop. Those cases go here through the same explicit-layout path
 * as BatchMatMul, with bias and activation still fused into XNNPACK's output pass; the untransposed,
 * unbatched case is left to the shipped kernel, which is already fast, unless the optional native
 * BLAS is on (then every product with a linear or relu epilogue goes there).
 */

// The order of the backend's FusableActivation enum (tfjs-backend-wasm/src/kernels/types.ts).
const activations = ['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'sigmoid', 'elu'];

function fusedMatMul(args: KernelArgs<tf._FusedMatMulInputs, tf._FusedMatMulAttrs>): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs;
  const batched = a.shape.length > 2 && tf.util.sizeFromShape(a.shape.slice(0, -2)) > 1;
  const batchedB = b.shape.length > 2 && tf.util.sizeFromShape(b.shape.slice(0, -2)) > 1;
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const code = activations.indexOf(activation);
  const id = (t: tf.TensorInfo | undefined): number => (t ? (backend.dataIdMap.get(t.dataId)?.id ?? 0) : 0);
  const biasFits = bias === undefined || (bias.shape.length === 1 && bias.shape[0] === n);
  const epilogue = {
    activation: code,
    biasId: id(bias),
    biasAt: bias ? offsetOf(backend, bias) : 0,
    preluId: id(preluActivationWeights),
    leakyreluAlpha: leakyreluAlpha ?? 0,
  };
  const fastAlready = !transposeA && !transposeB && !batched && !batchedB;
  const native = activeNativeBlas() !== null && nativeEpilogue(epilogue);
  if ((fastAlready && !native) || code < 0 || !biasFits) {
    return callKernel(backend, tf._FusedMatMul, inputs as Record<string, tf.TensorInfo>, { ...attrs });
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error('_FusedMatMul on the wasm backend takes float32 tensors only');
  }
  return batchedProduct(backend, a, b, transposeA, transposeB, epilogue);
}

export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: tf._FusedMatMul,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(fusedMatMul),
};
