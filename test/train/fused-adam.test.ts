import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  disableWasmTrainingKernels,
  enableWasmTrainingKernels,
  nativeBlasStatus,
} from '../../src/backend/wasm/index.js';
import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import { FusedAdam, fusedAdamAvailable, makeOptimizer, stepOptions } from '../../src/train/optimizers.js';

before(async () => {
  await tf.setBackend('wasm');
  enableWasmTrainingKernels({ nativeBlas: false });
});

/** Two weights of a small regression, the same starting values for every optimizer. */
function problem(seed: number) {
  const w = tf.tidy(() => tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', seed)));
  const b = tf.tidy(() => tf.variable(tf.randomNormal([4], 0, 1, 'float32', seed + 1)));
  const x = tf.randomNormal([16, 6], 0, 1, 'float32', seed + 2);
  const y = tf.randomNormal([16, 4], 0, 1, 'float32', seed + 3);
  const loss = () => tf.losses.meanSquaredError(y, x.matMul(w).add(b)) as tf.Scalar;
  return { w, b, loss, dispose: () => tf.dispose([w, b, x, y]) };
}

for (const native of [false, true]) {
  const where = native ? 'in the native addon' : 'in JavaScript';
  test(`the fused Adam update (${where}) follows tf.train.adam step by step, and leaves no tensor behind nor grows the heap`, (t) => {
    enableWasmTrainingKernels({ nativeBlas: native });
    if (nativeBlasStatus().active !== native) {
      t.skip(`no native BLAS here: ${nativeBlasStatus().reason}`);
      return;
    }
    // makeOptimizer picks it only where it runs natively (its JavaScript loop is no faster than
    // tf's Adam). tf.Optimizer's instanceof answers true for any optimizer: class names tell them apart.
    assert.equal(fusedAdamAvailable(), native);
    const picked = makeOptimizer(stepOptions({ optimizer: 'adam' }));
    assert.equal(picked.getClassName(), native ? FusedAdam.className : 'Adam');
    picked.dispose();
    const ours = problem(3);
    const theirs = problem(3);
    const fused = new FusedAdam(0.05);
    const reference = tf.train.adam(0.05);
    // Warm up both once (moments are created on the first step), then count tensors.
    tf.dispose([fused.minimize(ours.loss, true)!, reference.minimize(theirs.loss, true)!]);
    const before = tf.memory().numTensors;
    const heap = (tf.backend() as unknown as WasmBackend).wasm.HEAPU8.length;
    for (let step = 0; step < 30; step++) {
      tf.dispose([fused.minimize(ours.loss, true)!, reference.minimize(theirs.loss, true)!]);
      for (const [a, b] of [
        [ours.w, theirs.w],
        [ours.b, theirs.b],
      ]) {
        const got = a.dataSync();
        const want = b.dataSync();
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `step ${step}: ${got[i]} vs ${want[i]}`);
        }
      }
    }
    const start = problem(3);
    const moved = tf.tidy(() => ours.w.sub(start.w).abs().max().dataSync()[0]);
    start.dispose();
    // 31 steps of 0.05 move the weights well beyond the tolerance above (float32 rounding, compounded over
    // the steps): the comparison means something; a step without the bias correction is off by ~0.05.
    assert.ok(moved > 0.3, `the weights moved only ${moved}`);
    assert.equal(tf.memory().numTensors, before);
    assert.equal((tf.backend() as unknown as WasmBackend).wasm.HEAPU8.length, heap, 'the wasm heap grew');
    const withMoments = tf.memory().numTensors;
    fused.dispose();
    reference.dispose();
    assert.equal(tf.memory().numTensors, withMoments - 2 * 2 - (2 * 2 + 2));
    ours.dispose();
    theirs.dispose();
    enableWasmTrainingKernels({ nativeBlas: false });
  });
}

test('without the kernel (other backends, kernels disabled) makeOptimizer falls back to tf.train.adam', () => {
  enableWasmTrainingKernels({ nativeBlas: true });
  disableWasmTrainingKernels();
  try {
    assert.equal(fusedAdamAvailable(), false);
    const optimizer = makeOptimizer(stepOptions({ optimizer: 'adam' }));
    assert.equal(optimizer.getClassName(), 'Adam');
    optimizer.dispose();
  } finally {
    enableWasmTrainingKernels({ nativeBlas: false });
  }
});
