import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { disableWasmTrainingKernels, enableWasmTrainingKernels } from '../../src/backend/wasm/index.js';
import { sparseSoftmaxCrossEntropy } from '../../src/train/cross-entropy.js';

/**
 * The loss and its gradient by sparseSoftmaxCrossEntropy and by TensorFlow.js's own loss. Ours makes
 * its targets tensor inside the loss function, as the training loop does: it is disposed when the
 * forward pass ends, before the gradient runs.
 */
function both(logits: tf.Tensor2D, targets: number[]) {
  const theirs = tf.valueAndGrad(
    (x: tf.Tensor) =>
      tf.losses
        .softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets, 'int32'), x.shape[1]!), x)
        .mul(0.7) as tf.Scalar,
  )(logits);
  const ours = tf.valueAndGrad(
    (x: tf.Tensor) =>
      sparseSoftmaxCrossEntropy(x as tf.Tensor2D, tf.tensor1d(targets, 'int32')).mul(0.7) as tf.Scalar,
  )(logits);
  return { theirs, ours };
}

/**
 * 0.7 × the mean cross-entropy and its gradient, computed here in double precision from the logits:
 * a reference independent of TensorFlow.js (on backends without unforget's kernels the function under
 * test is TensorFlow.js's own loss, so comparing it with that alone could not fail).
 */
function reference(x: Float32Array, rows: number, classes: number, targets: number[]) {
  let loss = 0;
  const grad = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * classes, (r + 1) * classes));
    const max = Math.max(...row);
    const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
    loss += max + Math.log(sum) - row[targets[r]];
    row.forEach(
      (v, c) => (grad[r * classes + c] = (0.7 * (Math.exp(v - max) / sum - +(c === targets[r]))) / rows),
    );
  }
  return { loss: (0.7 * loss) / rows, grad };
}

for (const [backend, kernels] of [
  ['wasm', true],
  ['wasm', false],
  ['cpu', false],
] as const) {
  test(`sparseSoftmaxCrossEntropy equals tf.losses.softmaxCrossEntropy, value and gradient (${backend}${kernels ? " with unforget's kernels" : ''})`, async () => {
    await tf.setBackend(backend);
    if (kernels) enableWasmTrainingKernels({ nativeBlas: false });
    else disableWasmTrainingKernels();
    try {
      // Large logits (±40) check the max-shift; 7 classes, 13 rows, every target class used.
      const logits = tf.tidy(() => tf.randomUniform([13, 7], -40, 40, 'float32', 5) as tf.Tensor2D);
      const targets = Array.from({ length: 13 }, (_, i) => (i * 3) % 7);
      both(logits, targets); // warm up (kernel set-up), then count tensors
      const before = tf.memory().numTensors;
      const { theirs, ours } = both(logits, targets);
      const [a, b] = [theirs.value.dataSync()[0], ours.value.dataSync()[0]];
      assert.ok(a > 1, `a loss this large means something: ${a}`);
      assert.ok(Math.abs(a - b) < 1e-5 * a, `loss ${b} against ${a}`);
      const [ga, gb] = [theirs.grad.dataSync(), ours.grad.dataSync()];
      for (let i = 0; i < ga.length; i++)
        assert.ok(Math.abs(ga[i] - gb[i]) < 1e-6, `gradient ${i}: ${gb[i]} against ${ga[i]}`);
      const want = reference(logits.dataSync() as Float32Array, 13, 7, targets);
      assert.ok(
        Math.abs(b - want.loss) < 1e-5 * want.loss,
        `loss ${b} against ${want.loss} (double precision)`,
      );
      for (let i = 0; i < gb.length; i++) {
        assert.ok(
          Math.abs(gb[i] - want.grad[i]) < 1e-6,
          `gradient ${i}: ${gb[i]} against ${want.grad[i]} (double precision)`,
        );
      }
      tf.dispose([theirs.value, theirs.grad, ours.value, ours.grad]);
      assert.equal(tf.memory().numTensors, before);
      logits.dispose();
    } finally {
      enableWasmTrainingKernels({ nativeBlas: false });
    }
  });
}

test('the kernel names a target outside the classes', async () => {
  await tf.setBackend('wasm');
  enableWasmTrainingKernels({ nativeBlas: false });
  const logits = tf.zeros([2, 3]) as tf.Tensor2D;
  const targets = tf.tensor1d([1, 3], 'int32');
  assert.throws(
    () => sparseSoftmaxCrossEntropy(logits, targets),
    /targets must be integers in \[0, 3\); got 3 at row 1/,
  );
  tf.dispose([logits, targets]);
});
