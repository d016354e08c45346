import * as tf from '@tensorflow/tfjs';
import { alloc, asKernelFunc, f32, type KernelArgs } from './backend.js';

/**
 * DepthwiseConv2dNativeBackpropInput: dx[b, i, j, c] = Σ_{fh, fw, q} dy[b, oh, ow, c·m + q] · W[fh, fw, c, q]
 * over i = oh·s + fh·d − pad, j = ow·s + fw·d − pad: the input gradient of a depthwise convolution
 * with channel multiplier m (NHWC). Missing from the shipped wasm backend.
 *
 * Why fast enough: each output pixel of dy is scattered once per filter tap with the channel axis
 * innermost (contiguous in dy, W and dx); like the forward depthwise convolution it is bound by
 * memory traffic, not arithmetic.
 */
function depthwiseBackpropInput({
  inputs,
  backend,
  attrs,
}: KernelArgs<
  tf.DepthwiseConv2dNativeBackpropInputInputs,
  tf.DepthwiseConv2dNativeBackpropInputAttrs
>): tf.TensorInfo {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
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
  const out = alloc(backend, [nb, h, w, ci], true);
  const dys = f32(backend, dy);
  const ws = f32(backend, filter);
  const dxs = f32(backend, out);
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
              for (let k = 0; k < ci; k++) dxs[xi + k] += dys[g + k] * ws[wi + k];
            } else {
              for (let k = 0; k < ci; k++) {
                let s = 0;
                for (let q = 0; q < m; q++) s += dys[g + k * m + q] * ws[wi + k * m + q];
                dxs[xi + k] += s;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(depthwiseBackpropInput),
};
