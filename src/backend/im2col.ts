import type { backend_util } from '@tensorflow/tfjs';

/** Where the patches come from: the input, filter, strides, top and left padding and output sizes. */
export type Geometry = [
  nb: number,
  h: number,
  w: number,
  ch: number,
  fh: number,
  fw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  oh: number,
  ow: number,
];

/**
 * The geometry of a convolution (channels last, dilation 1) as TensorFlow.js describes it, in the
 * order `im2col` and the native addon's im2col/col2im take it.
 *
 * ```ts
 * const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, 1, 'same');
 * im2col(input, cols, ...convGeometry(info));
 * ```
 */
export function convGeometry(info: backend_util.Conv2DInfo): Geometry {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, padInfo } = info;
  return [
    ...[batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth],
    ...[info.strideHeight, info.strideWidth, padInfo.top, padInfo.left, info.outHeight, info.outWidth],
  ] as Geometry;
}

/**
 * The input patches of a convolution as rows, for products with the filter (the convolution
 * gradients on wasm, EWC's per-example Fisher): row (b·oh + y)·ow + x holds, at column
 * (kh·fw + kw)·ch + c, x[b, y·sh + kh − pt, x·sw + kw − pl, c] of the NHWC input (zero outside it).
 * No TensorFlow.js: plain arrays, so any backend and the page can use it.
 *
 * ```ts
 * const cols = new Float32Array(nb * oh * ow * fh * fw * ch);
 * im2col(input, cols, nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow);
 * ```
 */
export function im2col(
  src: Float32Array,
  cols: Float32Array,
  ...[nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow]: Geometry
): void {
  let o = 0;
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        for (let kh = 0; kh < fh; kh++) {
          const r = y * sh + kh - pt;
          for (let kw = 0; kw < fw; kw++) {
            const c = xx * sw + kw - pl;
            if (r < 0 || r >= h || c < 0 || c >= w) {
              for (let k = 0; k < ch; k++) cols[o++] = 0;
            } else {
              const at = ((b * h + r) * w + c) * ch;
              for (let k = 0; k < ch; k++) cols[o++] = src[at + k];
            }
          }
        }
      }
    }
  }
}
