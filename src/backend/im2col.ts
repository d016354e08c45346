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
  ...[nb, h, w, ch, fh, fw, sh, sw, pt, pl, oh, ow]: readonly number[]
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
