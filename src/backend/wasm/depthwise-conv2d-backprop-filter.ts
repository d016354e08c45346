import * as tf from '@tensorflow/tfjs';
import { alloc, asKernelFunc, f32, type KernelArgs } from './backend.js';

/**
 * DepthwiseConv2dNativeBackpropFilter: dW[fh, fw, c, q] = Σ_{b, oh, ow} x[b, oh·s + fh·d − pad, ow·s + fw·d − pad, c] · dy[b, oh, ow, c·m + q],
 * the filter gradient of a depthwise convolution with channel multiplier m (NHWC). The shipped wasm
 * backend has none, so no MobileNet-style network could train on it.
 *
 * Why fast enough: a depthwise convolution does little arithmetic per byte, so a direct loop over
 * the heap with the channel axis innermost (contiguous in both x and dy) is bound by memory, not by
 * the missing SIMD; there is no gemm to route it to.
 */
function depthwiseBackpropFilter({
  inputs,
  backend,
  attrs,
}: KernelArgs<
  tf.DepthwiseConv2dNativeBackpropFilterInputs,
  tf.DepthwiseConv2dNativeBackpropFilterAttrs
>): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const m = co / ci;
  const out = alloc(backend, [fh, fw, ci, m], true);
  const xs = f32(backend, x);
  const dys = f32(backend, dy);
  const dws = f32(backend, out);
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < oh; y++) {
      for (let kh = 0; kh < fh; kh++) {
        const r = y * sh + kh * dh - padInfo.top;
        if (r < 0 || r >= h) continue;
        for (let xx = 0; xx < ow; xx++) {
          const g = ((b * oh + y) * ow + xx) * co;
          for (let kw = 0; kw < fw; kw++) {
            const c = xx * sw + kw * dw - padInfo.left;
            if (c < 0 || c >= w) continue;
            const xi = ((b * h + r) * w + c) * ci;
            const wi = (kh * fw + kw) * co;
            if (m === 1) {
              for (let k = 0; k < ci; k++) dws[wi + k] += xs[xi + k] * dys[g + k];
            } else {
              for (let k = 0; k < ci; k++) {
                const v = xs[xi + k];
                for (let q = 0; q < m; q++) dws[wi + k * m + q] += v * dys[g + k * m + q];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(depthwiseBackpropFilter),
};
