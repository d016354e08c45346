import * as tf from '@tensorflow/tfjs';
import { asKernelFunc, f32, i32, type KernelArgs } from './backend.js';

/**
 * UnsortedSegmentSum: out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...] for s < numSegments (ids out
 * of range are dropped). It is the gradient of tf.gather, so every embedding layer needs it, and
 * the shipped wasm backend has none.
 *
 * Why fast: one pass over x adding each row into its segment's row on the heap, O(size of x); the
 * generic fallback in TensorFlow.js builds a numSegments × n mask, O(numSegments · size).
 */
function unsortedSegmentSum({
  inputs,
  backend,
  attrs,
}: KernelArgs<tf.UnsortedSegmentSumInputs, tf.UnsortedSegmentSumAttrs>): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on the wasm backend takes float32 or int32 values, not ${x.dtype}`);
  }
  const idCount = tf.util.sizeFromShape(segmentIds.shape);
  const inner = x.shape.slice(segmentIds.shape.length);
  const row = tf.util.sizeFromShape(inner);
  const out = backend.makeOutput([numSegments, ...inner], x.dtype);
  const view = x.dtype === 'float32' ? f32 : i32;
  const dst = view(backend, out);
  dst.fill(0);
  const src = view(backend, x);
  const ids = segmentIds.dtype === 'int32' ? i32(backend, segmentIds) : f32(backend, segmentIds);
  for (let i = 0; i < idCount; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const to = s * row;
    const from = i * row;
    for (let k = 0; k < row; k++) dst[to + k] += src[from + k];
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(unsortedSegmentSum),
};
