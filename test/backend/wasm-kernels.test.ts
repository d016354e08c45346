import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  enableWasmTrainingKernels,
  nativeBlasStatus,
  wasmTrainingKernelsEnabled,
} from '../../src/backend/wasm/index.js';

// Each case runs the same computation on the `cpu` backend (the reference) and on `wasm` with
// unforget's kernels, from the same seeded inputs, and compares them.

let seed = 1;
function random(shape: number[]): { values: Float32Array; shape: number[] } {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    values[i] = seed / 1073741824 - 1;
  }
  return { values, shape };
}

type Inputs = { values: Float32Array; shape: number[] }[];

async function on(backend: string, inputs: Inputs, f: (...ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ts = inputs.map((i) => tf.tensor(i.values, i.shape));
    const out = f(...ts);
    return (Array.isArray(out) ? out : [out]).map((t) => ({
      values: t.dataSync() as Float32Array,
      shape: t.shape,
    }));
  });
}

/** Largest difference relative to the largest magnitude of the reference. */
function relativeError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

type Computation = (...ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

async function check(name: string, inputs: Inputs, f: Computation, reference: Computation = f) {
  const want = await on('cpu', inputs, reference);
  const got = await on('wasm', inputs, f);
  assert.equal(got.length, want.length, name);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i].shape, want[i].shape, `${name}: shape of output ${i}`);
    const err = relativeError(got[i].values, want[i].values);
    assert.ok(err < 2e-5, `${name}: output ${i} differs from cpu by ${err.toExponential(2)} (relative)`);
  }
}

before(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  // The wasm kernels alone, unless UNFORGET_NATIVE_BLAS=1 (set by wasm-kernels-native.test.ts) asks
  // for the same cases on the addon.
  const native = process.env.UNFORGET_NATIVE_BLAS === '1';
  enableWasmTrainingKernels({ nativeBlas: native });
  enableWasmTrainingKernels();
  assert.ok(wasmTrainingKernelsEnabled());
  assert.equal(nativeBlasStatus().active, native, nativeBlasStatus().reason);
});

describe('BatchMatMul and _FusedMatMul', () => {
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [5, 7, 3],
    [33, 17, 65],
    [128, 100, 40],
  ];
  const flags: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  test('2-D products with every transpose, and their gradients', async () => {
    for (const [m, k, n] of sizes) {
      for (const [ta, tb] of flags) {
        const a = random(ta ? [k, m] : [m, k]);
        const b = random(tb ? [n, k] : [k, n]);
        const r = random([m, n]);
        const name = `${m}×${k}×${n} transposeA=${ta} transposeB=${tb}`;
        await check(name, [a, b], (x, y) => tf.matMul(x, y, ta, tb));
        await check(`${name} grads`, [a, b, r], (x, y, z) =>
          tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, ta, tb), z)))([x, y]),
        );
      }
    }
  });
  test('batched and broadcast products', async () => {
    const cases: [number[], number[]][] = [
      [
        [3, 5, 7],
        [3, 7, 4],
      ],
      [
        [3, 5, 7],
        [1, 7, 4],
      ],
      [
        [2, 3, 6, 5],
        [2, 3, 5, 8],
      ],
      [
        [1, 5, 7],
        [3, 7, 4],
      ],
      [
        [2, 1, 5, 7],
        [1, 3, 7, 4],
      ],
    ];
    for (const [sa, sb] of cases) {
      for (const [ta, tb] of flags) {
        const swap = (s: number[], t: boolean) =>
          t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s;
        const a = random(swap(sa, ta));
        const b = random(swap(sb, tb));
        const name = `${sa}·${sb} transposeA=${ta} transposeB=${tb}`;
        // The reference broadcasts explicitly: the cpu kernel maps batch i to i mod (a's batch count),
        // which is wrong when both operands broadcast over different axes.
        const outer = tf.backend_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
        const full = (t: tf.Tensor) => tf.broadcastTo(t, [...outer, ...t.shape.slice(-2)]);
        await check(
          name,
          [a, b],
          (x, y) => tf.matMul(x, y, ta, tb),
          (x, y) => tf.matMul(full(x), full(y), ta, tb),
        );
        // TensorFlow.js's BatchMatMul gradient does not reduce over broadcast axes; check it where none are.
        if (sa.length === sb.length && sa.slice(0, -2).every((d, i) => d === sb[i])) {
          await check(`${name} grads`, [a, b], (x, y) =>
            tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q, ta, tb))))([x, y]),
          );
        }
      }
    }
  });
  test('fused products with bias and activation, and their gradients', async () => {
    for (const activation of ['linear', 'relu', 'sigmoid'] as const) {
      for (const [ta, tb] of flags) {
        const [m, k, n] = [9, 13, 6];
        const a = random(ta ? [k, m] : [m, k]);
        const b = random(tb ? [n, k] : [k, n]);
        const bias = random([n]);
        const name = `fused ${activation} transposeA=${ta} transposeB=${tb}`;
        const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
          tf.fused.matMul({ a: x, b: y, transposeA: ta, transposeB: tb, bias: z, activation });
        await check(name, [a, b, bias], f);
        await check(`${name} grads`, [a, b, bias], (x, y, z) =>
          tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.sum(tf.square(f(p, q, s))))([x, y, z]),
        );
      }
    }
  });
});

describe('convolution gradients', () => {
  type Case = {
    x: number[];
    f: number[];
    strides: number | [number, number];
    pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
  };
  const cases: Case[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'valid' },
    { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { x: [2, 10, 9, 3], f: [3, 3, 3, 5], strides: 2, pad: 'same' },
    { x: [1, 11, 12, 2], f: [5, 4, 2, 3], strides: 2, pad: 'valid' },
    { x: [3, 8, 7, 4], f: [2, 3, 4, 6], strides: [1, 2], pad: 'same' },
    { x: [2, 13, 11, 2], f: [4, 4, 2, 3], strides: 3, pad: 'same' },
    {
      x: [1, 8, 7, 2],
      f: [3, 2, 2, 5],
      strides: 1,
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    },
    { x: [4, 28, 28, 1], f: [3, 3, 1, 8], strides: 1, pad: 'valid' },
    // Fewer filter taps than output channels: the im2col way.
    { x: [2, 10, 10, 1], f: [3, 3, 1, 16], strides: 1, pad: 'valid' },
    { x: [2, 9, 9, 2], f: [2, 2, 2, 12], strides: 2, pad: 'same' },
    // The convolution way produces a row and column past the filter, cropped.
    { x: [2, 10, 10, 2], f: [3, 3, 2, 3], strides: 2, pad: 'valid' },
  ];
  test('Conv2DBackpropFilter and Conv2DBackpropInput through tf.grads of conv2d', async () => {
    for (const c of cases) {
      const x = random(c.x);
      const f = random(c.f);
      const name = `conv2d x=${c.x} filter=${c.f} strides=${c.strides} pad=${JSON.stringify(c.pad)}`;
      await check(name, [x, f], (p, q) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))),
        )([p, q]),
      );
    }
  });
  test('Conv2DBackpropInput directly, as conv2dTranspose', async () => {
    const x = random([2, 6, 7, 4]);
    const f = random([3, 3, 3, 4]);
    await check('conv2dTranspose', [x, f], (p, q) =>
      tf.conv2dTranspose(p as tf.Tensor4D, q as tf.Tensor4D, [2, 11, 13, 3], 2, 'same'),
    );
  });
  const depthwise: (Case & { dilations?: number })[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same' },
    { x: [2, 9, 8, 3], f: [3, 3, 3, 2], strides: 2, pad: 'valid' },
    { x: [1, 10, 11, 4], f: [5, 3, 4, 1], strides: 2, pad: 'same' },
    { x: [2, 7, 7, 2], f: [2, 2, 2, 3], strides: 1, pad: 'valid' },
  ];
  test('DepthwiseConv2dNativeBackpropFilter and Input through tf.grads of depthwiseConv2d', async () => {
    for (const c of depthwise) {
      const x = random(c.x);
      const f = random(c.f);
      const name = `depthwise x=${c.x} filter=${c.f} strides=${c.strides} pad=${c.pad}`;
      await check(name, [x, f], (p, q) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(
            tf.square(
              tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad as 'same' | 'valid'),
            ),
          ),
        )([p, q]),
      );
    }
  });
  test('depthwise gradient kernels with dilation, called directly', async () => {
    // TensorFlow.js has no gradient for dilated depthwise convolutions (and its cpu kernels ignore
    // the dilation), so the reference is the undilated gradient of the filter with zeros inserted
    // between its taps, the same convolution.
    const [d, fh, fw, c, m] = [2, 3, 3, 3, 2];
    const x = random([2, 11, 10, c]);
    const f = random([fh, fw, c, m]);
    const dy = random([2, 11, 10, c * m]);
    const spread = (q: tf.Tensor) => {
      const rows = tf.stack(tf.unstack(q).flatMap((r, i) => (i < fh - 1 ? [r, tf.zerosLike(r)] : [r])));
      return tf.stack(
        tf.unstack(rows, 1).flatMap((r, i) => (i < fw - 1 ? [r, tf.zerosLike(r)] : [r])),
        1,
      ) as tf.Tensor4D;
    };
    const big = [(fh - 1) * d + 1, (fw - 1) * d + 1, c, m];
    const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    const attrs = { strides: 1, pad: 'same' };
    await check(
      'DepthwiseConv2dNativeBackpropFilter dilated',
      [x, dy],
      (p, q) =>
        run(
          'DepthwiseConv2dNativeBackpropFilter',
          { x: p, dy: q },
          { ...attrs, dilations: d, filterShape: [fh, fw, c, m] },
        ),
      (p, q) =>
        tf.stridedSlice(
          run(
            'DepthwiseConv2dNativeBackpropFilter',
            { x: p, dy: q },
            { ...attrs, dilations: 1, filterShape: big },
          ),
          [0, 0, 0, 0],
          big,
          [d, d, 1, 1],
        ),
    );
    await check(
      'DepthwiseConv2dNativeBackpropInput dilated',
      [dy, f],
      (p, q) =>
        run(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: p, filter: q },
          { ...attrs, dilations: d, inputShape: [2, 11, 10, c] },
        ),
      (p, q) =>
        run(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: p, filter: spread(q) },
          { ...attrs, dilations: 1, inputShape: [2, 11, 10, c] },
        ),
    );
  });
});

describe('pooling gradient and sums', () => {
  test('MaxPoolGrad through tf.grads of maxPool', async () => {
    const cases: [number[], number, number, 'valid' | 'same'][] = [
      [[2, 8, 8, 3], 2, 2, 'valid'],
      [[2, 9, 7, 5], 2, 2, 'same'],
      [[1, 10, 11, 4], 3, 2, 'same'],
      [[3, 9, 9, 2], 3, 1, 'valid'],
      [[2, 12, 12, 32], 2, 2, 'valid'],
    ];
    for (const [shape, size, stride, pad] of cases) {
      const x = random(shape);
      await check(`maxPool grad ${shape} size=${size} stride=${stride} ${pad}`, [x], (p) =>
        tf.grads((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, size, stride, pad))))([p]),
      );
    }
  });
  test('Sum over leading axes (bias gradients) and over others', async () => {
    const x = random([4, 5, 6, 7]);
    for (const axis of [0, [0, 1], [0, 1, 2], [1, 2], -1, [0, 3], [2, 3]]) {
      for (const keepDims of [false, true]) {
        await check(`sum axis=${axis} keepDims=${keepDims}`, [x], (p) => tf.sum(p, axis, keepDims));
      }
    }
  });
});

describe('UnsortedSegmentSum', () => {
  test('sums rows into segments, and is the gradient of gather (embeddings)', async () => {
    for (const shape of [[10], [12, 5], [7, 3, 4]]) {
      const x = random(shape);
      const ids = Array.from({ length: shape[0] }, (_, i) => ((i * 5) % 8) - 1);
      const idsInput = { values: Float32Array.from(ids), shape: [shape[0]] };
      await check(`segment sum ${shape}`, [x, idsInput], (p, q) =>
        tf.unsortedSegmentSum(p, tf.cast(q, 'int32') as tf.Tensor1D, 6),
      );
    }
    const table = random([20, 8]);
    const idx = { values: Float32Array.from([3, 1, 3, 19, 0, 3, 7, 1]), shape: [8] };
    await check('gather gradient', [table, idx], (t, i) =>
      tf.grads((e: tf.Tensor) => tf.sum(tf.square(tf.gather(e, tf.cast(i, 'int32')))))([t]),
    );
  });
});

describe('memory', () => {
  test('no tensors and no wasm heap left behind over many calls', async () => {
    await tf.setBackend('wasm');
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const x = tf.randomNormal([4, 12, 12, 3]);
    const f = tf.randomNormal([3, 3, 3, 8]);
    const dw = tf.randomNormal([3, 3, 3, 2]);
    const a = tf.randomNormal([3, 20, 30]);
    const b = tf.randomNormal([3, 40, 30]);
    const table = tf.randomNormal([50, 16]);
    const ids = tf.tensor1d([1, 4, 4, 9, 0], 'int32');
    const round = () =>
      tf.tidy(() => {
        const out = [
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) =>
            tf.sum(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 2, 'same')),
          )([x, f]),
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) =>
            tf.sum(tf.depthwiseConv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same')),
          )([x, dw]),
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, q, false, true)))([a, b]),
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, q, true, false)))([b, b]),
          ...tf.grads((p: tf.Tensor) => tf.sum(tf.gather(p, ids)))([table]),
          ...tf.grads((p: tf.Tensor) => tf.sum(tf.maxPool(p as tf.Tensor4D, 2, 2, 'same')))([x]),
          tf.sum(x, [0, 1, 2]),
        ];
        for (const t of out) t.dataSync();
      });
    for (let i = 0; i < 5; i++) round();
    const tensors = tf.memory().numTensors;
    const bytes = heap();
    for (let i = 0; i < 150; i++) round();
    assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
    assert.equal(heap(), bytes, 'the wasm heap grew');
    tf.dispose([x, f, dw, a, b, table, ids]);
  });
});
