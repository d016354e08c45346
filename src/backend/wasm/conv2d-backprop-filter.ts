import * as tf from '@tensorflow/tfjs';
import { convGeometry, im2col } from '../im2col.js';
import { alloc, asKernelFunc, callKernel, f32, offsetOf, release, type KernelArgs } from './backend.js';
import { activeNativeBlas } from './native-blas.js';
import { permute4d } from './permute.js';
import { product, whole } from './product.js';

/**
 * Conv2DBackpropFilter: dW[fh, fw, ci, co] = Σ_{b, oh, ow} x[b, oh·s + fh − pad, ow·s + fw − pad, ci] · dy[b, oh, ow, co],
 * the filter gradient of a 2-D convolution (NHWC). The shipped wasm backend has no such kernel
 * (tensorflow/tfjs#8474), so no conv net could train on it.
 *
 * Why fast: both ways below end in XNNPACK, whose cost beyond the arithmetic is packing its
 * weights operand, so the kernel picks the way whose weights are smaller.
 * - Few filter taps per output channel (fh·fw·ci < co, e.g. a first layer on grey images):
 *   im2col, then dW = colsᵀ · dy as a matrix product (product.ts packs the columns).
 * - Otherwise the sum is itself a convolution, run on the backend's Conv2D: batch and channels
 *   trade places, the input becomes x'[ci, h, w, b] (ci images of b channels), the filter
 *   dy'[oh, ow, b, co] dilated by the forward stride, and x' ⊛ dy' = dW'[ci, fh, fw, co].
 * With the optional native BLAS (native-blas.ts) it is im2col(x)ᵀ · dy in one sgemm.
 */
function conv2DBackpropFilter({
  inputs,
  backend,
  attrs,
}: KernelArgs<tf.Conv2DBackpropFilterInputs, tf.Conv2DBackpropFilterAttrs>): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat === 'NCHW') {
    throw new Error("Conv2DBackpropFilter on the wasm backend takes NHWC data only; use dataFormat 'NHWC'");
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  if (nb * oh * ow === 0 || ci * co === 0) return alloc(backend, [fh, fw, ci, co], true);
  const geometry = convGeometry(info);
  const p = nb * oh * ow;
  const kk = fh * fw * ci;

  const native = activeNativeBlas();
  if (native) {
    const cols = alloc(backend, [p, kk]);
    const dw = alloc(backend, [fh, fw, ci, co]);
    const memory = backend.wasm.HEAPU8.buffer as ArrayBuffer;
    native.im2col(memory, offsetOf(backend, x), offsetOf(backend, cols), ...geometry);
    native.gemm(
      memory,
      1,
      0,
      kk,
      co,
      p,
      offsetOf(backend, cols),
      offsetOf(backend, dy),
      offsetOf(backend, dw),
      0,
      0,
    );
    release(backend, cols);
    return dw;
  }

  if (kk < co) {
    const cols = alloc(backend, [p, kk]);
    im2col(f32(backend, x), f32(backend, cols), ...geometry);
    const dw = alloc(backend, [fh, fw, ci, co]);
    try {
      product(backend, whole(cols, p, kk), whole(dy, p, co), true, false, dw, 0);
      return dw;
    } catch (e) {
      release(backend, dw);
      throw e;
    } finally {
      release(backend, cols);
    }
  }

  // Rows the convolution would produce past fh (and columns past fw): trimmed from the bottom and
  // right padding, and cropped from the output if the padding alone is not enough.
  const extraH = h + padInfo.top + padInfo.bottom - fh - (oh - 1) * sh;
  const extraW = w + padInfo.left + padInfo.right - fw - (ow - 1) * sw;
  const bottom = Math.max(0, padInfo.bottom - extraH);
  const right = Math.max(0, padInfo.right - extraW);
  const temps: tf.TensorInfo[] = [];
  try {
    const xt = callKernel(backend, tf.Transpose, { x }, { perm: [3, 1, 2, 0] });
    temps.push(xt);
    const dyt = callKernel(backend, tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] });
    temps.push(dyt);
    const conv = callKernel(
      backend,
      tf.Conv2D,
      { x: xt, filter: dyt },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padInfo.top, bottom],
          [padInfo.left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [sh, sw],
      },
    );
    temps.push(conv);
    if (conv.shape[1] === fh && conv.shape[2] === fw) {
      return callKernel(backend, tf.Transpose, { x: conv }, { perm: [1, 2, 0, 3] });
    }
    const dw = alloc(backend, [fh, fw, ci, co]);
    const heap = backend.wasm.HEAPF32;
    permute4d(
      heap,
      offsetOf(backend, conv) >> 2,
      offsetOf(backend, dw) >> 2,
      conv.shape,
      [1, 2, 0, 3],
      [fh, fw, ci, co],
    );
    return dw;
  } finally {
    release(backend, ...temps);
  }
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(conv2DBackpropFilter),
};
