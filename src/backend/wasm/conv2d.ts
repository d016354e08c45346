import * as tf from '@tensorflow/tfjs';
import { convGeometry } from '../im2col.js';
import {
  alloc,
  asKernelFunc,
  callKernel,
  offsetOf,
  release,
  type KernelArgs,
  type WasmBackend,
} from './backend.js';
import { activeNativeBlas } from './native-blas.js';

/**
 * Conv2D and FusedConv2D: y[b, oh, ow, co] = act(Σ_{fh, fw, ci} x[b, oh·s + fh − pad, ow·s + fw − pad, ci] ·
 * W[fh, fw, ci, co] + bias[co]), the forward pass of a 2-D convolution (NHWC).
 *
 * Why faster: with the optional native BLAS (native-blas.ts) it is im2col(x) · W in one sgemm of the
 * system BLAS (AVX2 and wider), the bias and relu fused into it, as the convolution gradients
 * already are; the shipped kernel is XNNPACK on 128-bit wasm SIMD. W[fh, fw, ci, co] is already the
 * [fh·fw·ci, co] matrix the columns multiply, and the product's rows are the NHWC output. Without the
 * addon, and for what it does not cover (dilations, NCHW, activations other than relu, PReLU, a bias
 * that is not one value per output channel), the shipped kernel runs.
 */

/** The most floats of columns held at once: the batch is done in chunks beyond it (32 MB). */
const maxColumns = 1 << 23;

/** act(x ⊛ W + bias) on the native BLAS, or null where the shipped kernel must run it. */
function nativeConv2D(
  backend: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DAttrs,
  bias?: tf.TensorInfo,
  relu = false,
): tf.TensorInfo | null {
  const native = activeNativeBlas();
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  const dilated = dilations !== undefined && [dilations].flat().some((d) => d !== 1);
  if (!native || dataFormat === 'NCHW' || dilated || x.dtype !== 'float32' || filter.dtype !== 'float32') {
    return null;
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, padInfo } = info;
  const kk = fh * fw * ci;
  if (kk === 0 || (bias && !(bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === co))) {
    return null;
  }
  const y = alloc(backend, info.outShape);
  if (nb * oh * ow * co === 0) return y;
  // A 1×1 filter with stride 1 and no padding multiplies the input itself: no columns needed.
  const pointwise =
    kk === ci && info.strideHeight === 1 && info.strideWidth === 1 && padInfo.top === 0 && padInfo.left === 0;
  const chunk = Math.max(1, Math.min(nb, Math.floor(maxColumns / Math.max(1, oh * ow * kk))));
  const cols = pointwise ? null : alloc(backend, [chunk * oh * ow, kk]);
  // Only now, after the last allocation (which may grow the heap), are the offsets and buffer final.
  const memory = backend.wasm.HEAPU8.buffer as ArrayBuffer;
  const geometry = convGeometry(info);
  const [xAt, wAt, yAt] = [x, filter, y].map((t) => offsetOf(backend, t));
  const biasAt = bias ? offsetOf(backend, bias) : 0;
  for (let b = 0; b < nb; b += chunk) {
    const n = Math.min(chunk, nb - b);
    const inAt = xAt + 4 * b * h * w * ci;
    if (cols) {
      geometry[0] = n;
      native.im2col(memory, inAt, offsetOf(backend, cols), ...geometry);
    }
    const colsAt = cols ? offsetOf(backend, cols) : inAt;
    native.gemm(memory, 0, 0, n * oh * ow, co, kk, colsAt, wAt, yAt + 4 * b * oh * ow * co, biasAt, +relu);
  }
  if (cols) release(backend, cols);
  return y;
}

function conv2D({ inputs, backend, attrs }: KernelArgs<tf.Conv2DInputs, tf.Conv2DAttrs>): tf.TensorInfo {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  return (
    nativeConv2D(backend, x, filter, attrs) ?? callKernel(backend, tf.Conv2D, { x, filter }, { ...attrs })
  );
}

function fusedConv2D({
  inputs,
  backend,
  attrs,
}: KernelArgs<tf.FusedConv2DInputs, tf.FusedConv2DAttrs>): tf.TensorInfo {
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
  const { activation } = attrs;
  const fits = !preluActivationWeights && (activation === 'linear' || activation === 'relu');
  const y = fits && x && filter ? nativeConv2D(backend, x, filter, attrs, bias, activation === 'relu') : null;
  return y ?? callKernel(backend, tf.FusedConv2D, inputs as Record<string, tf.TensorInfo>, { ...attrs });
}

export const conv2DConfig: tf.KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(conv2D),
};

export const fusedConv2DConfig: tf.KernelConfig = {
  kernelName: tf.FusedConv2D,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(fusedConv2D),
};
