import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { conv2DConfig, fusedConv2DConfig } from '../../src/backend/wasm/conv2d.js';
import { maxPoolConfig } from '../../src/backend/wasm/max-pool.js';
import {
  disableWasmTrainingKernels,
  enableWasmTrainingKernels,
  nativeBlasStatus,
} from '../../src/backend/wasm/index.js';
import { loadNativeBlas, nativeBlasState } from '../../src/backend/wasm/native-blas.js';

// The convolution's forward pass (Conv2D, FusedConv2D) and the max-pool gradient on the native BLAS
// addon, against the wasm backend's shipped XNNPACK convolution and unforget's wasm max-pool
// gradient: the same computation from the same inputs, with the addon on and off in turn.

const blas = loadNativeBlas(true);
const skip = blas ? false : `no native BLAS here: ${nativeBlasState().reason}`;

let seed = 11;
function random(shape: number[], round = false): tf.Tensor {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    values[i] = seed / 1073741824 - 1;
    // Few distinct values, so that pooling windows hold ties (+ 0: no −0, whose max with 0 may be either).
    if (round) values[i] = Math.round(values[i] * 2) + 0;
  }
  return tf.tensor(values, shape);
}

/** f's outputs with the addon off, then on: [wasm alone, native]. */
function both(f: () => tf.Tensor | tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = (native: boolean) => {
    enableWasmTrainingKernels({ nativeBlas: native });
    assert.equal(nativeBlasStatus().active, native);
    return tf.tidy(() => [f()].flat().map((t) => t.dataSync() as Float32Array));
  };
  try {
    return [run(false), run(true)];
  } finally {
    enableWasmTrainingKernels({ nativeBlas: true });
  }
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

/** Asserts the two agree to float tolerance; returns whether they differ in any bit (other sums ran). */
function assertClose(name: string, f: () => tf.Tensor | tf.Tensor[], tolerance = 2e-5): boolean {
  const [want, got] = both(f);
  assert.equal(got.length, want.length, name);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].length, want[i].length, `${name}: size of output ${i}`);
    const err = relativeError(got[i], want[i]);
    assert.ok(err < tolerance, `${name}: output ${i} differs by ${err.toExponential(2)} (relative)`);
  }
  return want.some((w, i) => w.some((v, j) => v !== got[i][j]));
}

/** relu(x ⊛ f + bias) as one FusedConv2D. */
function reluConv(
  x: tf.Tensor,
  f: tf.Tensor,
  bias: tf.Tensor,
  strides: number,
  pad: 'valid' | 'same',
): tf.Tensor {
  return tf.fused.conv2d({
    x: x as tf.Tensor4D,
    filter: f as tf.Tensor4D,
    strides,
    pad,
    bias,
    activation: 'relu',
  });
}

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
type Case = { x: number[]; f: number[]; strides: number | [number, number]; pad: Pad };

const cases: Case[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [3, 11, 10, 1], f: [3, 3, 1, 8], strides: 2, pad: 'same' },
  { x: [1, 13, 7, 1], f: [5, 2, 1, 3], strides: 2, pad: 'valid' },
  { x: [2, 8, 7, 4], f: [2, 3, 4, 6], strides: [1, 2], pad: 'same' },
  { x: [2, 7, 9, 5], f: [1, 1, 5, 7], strides: 1, pad: 'valid' },
  { x: [2, 7, 9, 5], f: [1, 1, 5, 7], strides: 2, pad: 'same' },
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
];

before(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  enableWasmTrainingKernels();
});

describe('convolution forward pass on the native BLAS', { skip }, () => {
  test('Conv2D equals the shipped XNNPACK convolution', () => {
    for (const c of cases) {
      const [x, f] = [random(c.x), random(c.f)];
      const name = `conv2d x=${c.x} filter=${c.f} strides=${c.strides} pad=${JSON.stringify(c.pad)}`;
      assertClose(name, () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad));
      tf.dispose([x, f]);
    }
  });

  test('FusedConv2D with bias and relu or linear equals the shipped one; other epilogues fall back', () => {
    const activations: tf.fused.Activation[] = ['relu', 'linear', 'elu', 'leakyrelu'];
    for (const [i, c] of cases.entries()) {
      const [x, f, bias] = [random(c.x), random(c.f), random([c.f[3]])];
      for (const activation of activations) {
        for (const withBias of [true, false]) {
          const name = `fused conv2d ${activation} bias=${withBias} x=${c.x} filter=${c.f} strides=${c.strides}`;
          assertClose(name, () =>
            tf.fused.conv2d({
              x: x as tf.Tensor4D,
              filter: f as tf.Tensor4D,
              strides: c.strides,
              pad: c.pad,
              bias: withBias ? bias : undefined,
              activation,
              leakyreluAlpha: 0.3,
            }),
          );
        }
      }
      if (i < 2) {
        const prelu = random([c.f[3]]);
        assertClose(`fused conv2d prelu x=${c.x}`, () =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: f as tf.Tensor4D,
            strides: c.strides,
            pad: c.pad,
            bias,
            activation: 'prelu',
            preluActivationWeights: prelu,
          }),
        );
        prelu.dispose();
      }
      tf.dispose([x, f, bias]);
    }
  });

  test('dilated convolutions fall back to the shipped kernel, with the same results', () => {
    const [x, f] = [random([2, 10, 9, 3]), random([3, 3, 3, 4])];
    assertClose('dilated conv2d', () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2));
    tf.dispose([x, f]);
  });

  test('a batch whose columns exceed the chunk (32 MB) is done in chunks, with the same results', () => {
    // 576 rows × 200 columns per image: 72 images per chunk, so 100 take two chunks.
    const [x, f, bias] = [random([100, 28, 28, 8]), random([5, 5, 8, 16]), random([16])];
    const differs = assertClose('chunked fused conv2d', () => reluConv(x, f, bias, 1, 'valid'));
    // Sums of 200 products in another order (the BLAS's, not XNNPACK's) cannot all round alike.
    assert.ok(differs, 'the results are bit for bit those of XNNPACK: the native path did not run');
    tf.dispose([x, f, bias]);
  });

  test('the kernels are registered with the addon and the shipped ones come back when disabled', () => {
    const ours = [conv2DConfig, fusedConv2DConfig, maxPoolConfig];
    const current = () => ours.map((c) => tf.getKernel(c.kernelName, 'wasm')?.kernelFunc);
    assert.deepEqual(
      current(),
      ours.map((c) => c.kernelFunc),
    );
    disableWasmTrainingKernels();
    try {
      for (const [i, f] of current().entries()) {
        assert.ok(f && f !== ours[i].kernelFunc, `${ours[i].kernelName} is still unforget's`);
      }
    } finally {
      enableWasmTrainingKernels({ nativeBlas: true });
    }
    assert.deepEqual(
      current(),
      ours.map((c) => c.kernelFunc),
    );
  });

  test('max pool and its gradient in C equal the shipped max pool and the wasm gradient, ties included', () => {
    const pools: [number[], number, number, 'valid' | 'same'][] = [
      [[2, 8, 8, 3], 2, 2, 'valid'],
      [[2, 9, 7, 5], 2, 2, 'same'],
      [[1, 10, 11, 4], 3, 2, 'same'],
      [[3, 9, 9, 2], 3, 1, 'valid'],
      // More channels than the C loop's block of 64.
      [[2, 6, 6, 70], 2, 2, 'same'],
    ];
    for (const [shape, size, stride, pad] of pools) {
      for (const ties of [false, true]) {
        const x = random(shape, ties);
        const pooled = tf.tidy(() => tf.maxPool(x as tf.Tensor4D, size, stride, pad).shape);
        const weights = random(pooled);
        const [want, got] = both(() => [
          tf.maxPool(x as tf.Tensor4D, size, stride, pad),
          ...tf.grads((a: tf.Tensor) =>
            tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), weights)),
          )([x]),
        ]);
        const name = `maxPool ${shape} size=${size} stride=${stride} ${pad} ties=${ties}`;
        assert.deepEqual(got[0], want[0], `${name}: forward`);
        assert.deepEqual(got[1], want[1], `${name}: gradient`);
        tf.dispose([x, weights]);
      }
    }
  });

  test("a small CNN's loss and gradients are those of the wasm kernels alone", () => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 3, activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
    );
    // A linear convolution with bias runs as FusedConv2D under the tape too.
    model.add(tf.layers.conv2d({ filters: 5, kernelSize: 1 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 4 }));
    const x = random([5, 12, 12, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 1], 'int32'), 4);
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    assertClose('small CNN gradients', () => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
        weights,
      );
      return [value, ...weights.map((w) => grads[w.name])];
    });
    // Inference (no tape): the layers fuse bias and relu into FusedConv2D.
    assertClose('small CNN predictions', () => model.predict(x) as tf.Tensor);
    tf.dispose([x, y]);
    model.dispose();
  });

  test('no tensors and no wasm heap left behind over many calls', () => {
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const [x, f, bias] = [random([4, 12, 12, 3]), random([3, 3, 3, 8]), random([8])];
    const round = () =>
      tf.tidy(() => {
        const out = [
          reluConv(x, f, bias, 2, 'same'),
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) =>
            tf.sum(tf.relu(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'valid'))),
          )([x, f]),
          ...tf.grads((p: tf.Tensor) => tf.sum(tf.maxPool(p as tf.Tensor4D, 2, 2, 'same')))([x]),
        ];
        for (const t of out) t.dataSync();
      });
    for (let i = 0; i < 5; i++) round();
    const tensors = tf.memory().numTensors;
    const bytes = heap();
    for (let i = 0; i < 100; i++) round();
    assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
    assert.equal(heap(), bytes, 'the wasm heap grew');
    tf.dispose([x, f, bias]);
  });
});
