import * as tf from '@tensorflow/tfjs';
import { alloc, asKernelFunc, release, type KernelArgs, type WasmBackend } from './backend.js';
import { product, type Epilogue } from './product.js';

/**
 * BatchMatMul: out[..., m, n] = op(a)[..., m, k] · op(b)[..., k, n], op transposing the last two
 * axes when `transposeA`/`transposeB` is set, leading axes broadcast.
 *
 * Why faster: the shipped kernel sends every transposed or batched product to a scalar triple loop
 * (1–2 GFLOPS here), and a Dense layer's backward pass is made of exactly those (dW = xᵀ·dy,
 * dx = dy·Wᵀ). This one lays transposed operands out explicitly (the backend's Transpose kernel, O(size)) and runs
 * every product, slice by slice for batches, on XNNPACK's fully-connected path (about 20–25 GFLOPS
 * with 128-bit SIMD on one thread).
 */

function broadcastIndex(index: number, outOuter: number[], inOuter: number[]): number {
  // Maps a flat index over the broadcast leading axes to the flat index into one operand's axes.
  let rest = index;
  let at = 0;
  let stride = 1;
  for (let d = outOuter.length - 1; d >= 0; d--) {
    const i = rest % outOuter[d];
    rest = Math.floor(rest / outOuter[d]);
    const dIn = d - (outOuter.length - inOuter.length);
    if (dIn >= 0) {
      if (inOuter[dIn] !== 1) at += i * stride;
      stride *= inOuter[dIn];
    }
  }
  return at;
}

/** The batched product shared by BatchMatMul and _FusedMatMul. */
export function batchedProduct(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  epilogue?: Epilogue,
): tf.TensorInfo {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [aRows, aCols] = [a.shape[ra - 2], a.shape[ra - 1]];
  const [bRows, bCols] = [b.shape[rb - 2], b.shape[rb - 1]];
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const kb = transposeB ? bCols : bRows;
  const n = transposeB ? bRows : bCols;
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const out = alloc(backend, [...outer, m, n]);
  const batches = tf.util.sizeFromShape(outer);
  const batchesA = tf.util.sizeFromShape(outerA);
  const batchesB = tf.util.sizeFromShape(outerB);
  if (m * n === 0) return out;
  if (k === 0) {
    release(backend, out);
    return alloc(backend, [...outer, m, n], true);
  }
  try {
    if (batchesB === 1 && !transposeA && batchesA === batches) {
      // Every slice of a meets the same b: one product over all of a's rows at once.
      const rows = batchesA * aRows;
      product(
        backend,
        { t: a, at: 0, rows, cols: aCols },
        { t: b, at: 0, rows: bRows, cols: bCols },
        false,
        transposeB,
        out,
        0,
        epilogue,
      );
      return out;
    }
    for (let i = 0; i < batches; i++) {
      const ia = broadcastIndex(i, outer, outerA);
      const ib = broadcastIndex(i, outer, outerB);
      product(
        backend,
        { t: a, at: ia * aRows * aCols, rows: aRows, cols: aCols },
        { t: b, at: ib * bRows * bCols, rows: bRows, cols: bCols },
        transposeA,
        transposeB,
        out,
        i * m * n,
        epilogue,
      );
    }
    return out;
  } catch (e) {
    release(backend, out);
    throw e;
  }
}

function batchMatMul({
  inputs,
  backend,
  attrs,
}: KernelArgs<tf.BatchMatMulInputs, tf.BatchMatMulAttrs>): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error('BatchMatMul on the wasm backend takes float32 tensors only');
  }
  return batchedProduct(backend, a, b, attrs.transposeA, attrs.transposeB);
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(batchMatMul),
};
