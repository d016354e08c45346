import * as tf from '@tensorflow/tfjs';
import { alloc, asKernelFunc, callKernel, offsetOf, release, type KernelArgs } from './backend.js';
import { activeNativeBlas } from './native-blas.js';
import { permute4d } from './permute.js';

/**
 * Conv2DBackpropFilter: dW[fh, fw, ci, co] = Σ_{b, oh, ow} x[b, oh·s + fh − pad, ow·s + fw − pad, ci] · dy[b, oh, ow, co],
 * the filter gradient of a 2-D convolution (NHWC). The shipped wasm backend has no such kernel
 * (tensorflow/tfjs#8474), so no conv net could train on it.
 *
 * Why fast: the sum is itself a convolution, run on the backend's XNNPACK Conv2D. Batch and
 * channels trade places: the input becomes x'[ci, h, w, b] (ci images of b channels), the filter
 * becomes dy'[oh, ow, b, co] dilated by the forward stride, and the output x' ⊛ dy' is
 * dW'[ci, fh, fw, co]. Three blocked copies (O(size)) frame one fast convolution. With the optional
 * native BLAS (native-blas.ts) it is instead im2col(x)ᵀ · dy in one sgemm.
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

  const native = activeNativeBlas();
  if (native) {
    // With the optional native BLAS: dW[fh·fw·ci, co] = colsᵀ · dy, cols the im2col of x.
    const p = nb * oh * ow;
    const kk = fh * fw * ci;
    const cols = alloc(backend, [p, kk]);
    const dw = alloc(backend, [fh, fw, ci, co]);
    const memory = backend.wasm.HEAPU8.buffer as ArrayBuffer;
    const geometry = [nb, h, w, ci, fh, fw, sh, sw, padInfo.top, padInfo.left, oh, ow] as const;
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

  // Rows the convolution would produce past fh (and columns past fw): trimmed from the bottom and
  // right padding, and cropped from the output if the padding alone is not enough.
  const extraH = h + padInfo.top + padInfo.bottom - fh - (oh - 1) * sh;
  const extraW = w + padInfo.left + padInfo.right - fw - (ow - 1) * sw;
  const bottom = Math.max(0, padInfo.bottom - extraH);
  const right = Math.max(0, padInfo.right - extraW);

  const xt = alloc(backend, [ci, h, w, nb]);
  const dyt = alloc(backend, [oh, ow, nb, co]);
  let heap = backend.wasm.HEAPF32;
  permute4d(heap, offsetOf(backend, x) >> 2, offsetOf(backend, xt) >> 2, [nb, h, w, ci], [3, 1, 2, 0]);
  permute4d(heap, offsetOf(backend, dy) >> 2, offsetOf(backend, dyt) >> 2, [nb, oh, ow, co], [1, 2, 0, 3]);
  let conv: tf.TensorInfo | undefined;
  try {
    conv = callKernel(
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
    const dw = alloc(backend, [fh, fw, ci, co]);
    heap = backend.wasm.HEAPF32;
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
    release(backend, xt, dyt);
    if (conv) release(backend, conv);
  }
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(conv2DBackpropFilter),
};
