import * as tf from '@tensorflow/tfjs';
import { alloc, asKernelFunc, callKernel, f32, offsetOf, release, type KernelArgs } from './backend.js';
import { activeNativeBlas } from './native-blas.js';

/**
 * Sum over leading axes: out[j] = Σ_i x[i, j] with x seen as rows × columns. This is every bias
 * gradient (dy summed over batch and pixels), the rest goes to the shipped kernel.
 *
 * Why faster: the shipped kernel first transposes x so the summed axes come last (a full copy
 * through its generic N-d transpose), then sums each row. Adding whole rows of x into the output
 * reads x once, contiguously, about twice as fast here. With the optional native BLAS
 * (native-blas.ts) it is the product onesᵀ·x, about five times faster again on a conv layer's
 * bias gradient.
 */
function sum({ inputs, backend, attrs }: KernelArgs<tf.SumInputs, tf.SumAttrs>): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = attrs;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) {
    return callKernel(backend, tf.Sum, { x }, { ...attrs });
  }
  const inner = x.shape.slice(axes.length);
  const cols = tf.util.sizeFromShape(inner);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  const shape = keepDims ? [...axes.map(() => 1), ...inner] : inner;
  const out = backend.makeOutput(shape, 'float32');
  const native = activeNativeBlas();
  if (native && rows > 1 && cols > 0) {
    const ones = alloc(backend, [rows]);
    f32(backend, ones).fill(1);
    const memory = backend.wasm.HEAPU8.buffer as ArrayBuffer;
    native.gemm(
      memory,
      0,
      0,
      1,
      cols,
      rows,
      offsetOf(backend, ones),
      offsetOf(backend, x),
      offsetOf(backend, out),
      0,
      0,
    );
    release(backend, ones);
    return out;
  }
  const src = f32(backend, x);
  const dst = f32(backend, out);
  dst.fill(0);
  // Four rows at a time: a quarter of the read-modify-writes of the output.
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const a = i * cols;
    const b = a + cols;
    const c = b + cols;
    const d = c + cols;
    for (let j = 0; j < cols; j++) dst[j] += src[a + j] + src[b + j] + src[c + j] + src[d + j];
  }
  for (; i < rows; i++) {
    const at = i * cols;
    for (let j = 0; j < cols; j++) dst[j] += src[at + j];
  }
  return out;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(sum),
};
