import * as tf from '@tensorflow/tfjs';
import { alloc, asKernelFunc, f32, type KernelArgs } from './backend.js';

/**
 * MaxPoolGrad: dx[b, i, j, c] = Σ dy[b, oh, ow, c] over the pooling windows whose (first) maximum
 * of x[·, ·, ·, c] sits at (i, j): the gradient of a 2-D max pool (NHWC).
 *
 * Why faster: the shipped kernel re-scans every window per channel with strided reads (about
 * 30 ms for one 64×26×26×32 input here). This one walks each window once for all channels
 * together, keeping the running maximum and its position per channel in small arrays, so every
 * read is contiguous; a few ms for the same input.
 */
function maxPoolGrad({
  inputs,
  backend,
  attrs,
}: KernelArgs<tf.MaxPoolGradInputs, tf.MaxPoolGradAttrs>): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, padInfo } = info;
  const out = alloc(backend, input.shape, true);
  const xs = f32(backend, input);
  const dys = f32(backend, dy);
  const dxs = f32(backend, out);
  const best = new Float32Array(ch);
  const where = new Int32Array(ch);
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < oh; y++) {
      const r0 = Math.max(0, y * sh - padInfo.top);
      const r1 = Math.min(h, y * sh - padInfo.top + fh);
      for (let x = 0; x < ow; x++) {
        const c0 = Math.max(0, x * sw - padInfo.left);
        const c1 = Math.min(w, x * sw - padInfo.left + fw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            const at = ((b * h + r) * w + c) * ch;
            for (let k = 0; k < ch; k++) {
              const v = xs[at + k];
              if (v > best[k]) {
                best[k] = v;
                where[k] = at + k;
              }
            }
          }
        }
        const g = ((b * oh + y) * ow + x) * ch;
        for (let k = 0; k < ch; k++) if (where[k] >= 0) dxs[where[k]] += dys[g + k];
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
