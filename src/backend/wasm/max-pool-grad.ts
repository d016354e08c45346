import * as tf from '@tensorflow/tfjs';
import { convGeometry } from '../im2col.js';
import { alloc, asKernelFunc, f32, offsetOf, type KernelArgs } from './backend.js';
import { poolInfo } from './max-pool.js';
import { activeNativeBlas } from './native-blas.js';

/**
 * MaxPoolGrad: dx[b, i, j, c] = Σ dy[b, oh, ow, c] over the pooling windows whose (first) maximum
 * of x[·, ·, ·, c] sits at (i, j): the gradient of a 2-D max pool (NHWC).
 *
 * Why faster: one pass over the windows, each channel's maximum found in registers and its
 * gradient added once; about 3× faster than the shipped kernel on a 64×26×26×32 input here. With the
 * optional native BLAS addon (native-blas.ts), a vectorised C loop (each window's maximum, then its
 * gradient to the first tap holding it), about four times faster again.
 */
function maxPoolGrad({
  inputs,
  backend,
  attrs,
}: KernelArgs<tf.MaxPoolGradInputs, tf.MaxPoolGradAttrs>): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = poolInfo(input.shape, attrs);
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, padInfo } = info;
  const native = activeNativeBlas();
  if (native) {
    const dx = alloc(backend, input.shape);
    const at = [input, dy, dx].map((t) => offsetOf(backend, t)) as [number, number, number];
    native.maxPoolGrad(backend.wasm.HEAPU8.buffer as ArrayBuffer, ...at, ...convGeometry(info));
    return dx;
  }
  const out = alloc(backend, input.shape, true);
  const xs = f32(backend, input);
  const dys = f32(backend, dy);
  const dxs = f32(backend, out);
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < oh; y++) {
      const r0 = Math.max(0, y * sh - padInfo.top);
      const r1 = Math.min(h, y * sh - padInfo.top + fh);
      for (let x = 0; x < ow; x++) {
        const c0 = Math.max(0, x * sw - padInfo.left);
        const c1 = Math.min(w, x * sw - padInfo.left + fw);
        const g = ((b * oh + y) * ow + x) * ch;
        const corner = ((b * h + r0) * w + c0) * ch;
        if (r1 - r0 === 2 && c1 - c0 === 2) {
          // The common 2×2 window, unrolled.
          const right = corner + ch;
          const below = corner + w * ch;
          const diagonal = below + ch;
          for (let k = 0; k < ch; k++) {
            let best = -Infinity;
            let where = -1;
            if (xs[corner + k] > best) {
              best = xs[corner + k];
              where = corner + k;
            }
            if (xs[right + k] > best) {
              best = xs[right + k];
              where = right + k;
            }
            if (xs[below + k] > best) {
              best = xs[below + k];
              where = below + k;
            }
            if (xs[diagonal + k] > best) where = diagonal + k;
            if (where >= 0) dxs[where] += dys[g + k];
          }
          continue;
        }
        for (let k = 0; k < ch; k++) {
          // The first maximum in row-major order within the window, as TensorFlow.js's cpu kernel.
          let best = -Infinity;
          let where = -1;
          for (let r = r0, row = corner + k; r < r1; r++, row += w * ch) {
            for (let c = c0, at = row; c < c1; c++, at += ch) {
              const v = xs[at];
              if (v > best) {
                best = v;
                where = at;
              }
            }
          }
          if (where >= 0) dxs[where] += dys[g + k];
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(maxPoolGrad),
};
