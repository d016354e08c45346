import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../src/backend/select.js';
import { wasmTrainingKernelsEnabled } from '../../src/backend/wasm/index.js';
import { loadMnist } from '../../src/data/mnist.js';
import { leakedTensors } from '../helpers.js';

// The learner's CNN backbone (conv 3×3×32 relu, max-pool 2, conv 3×3×64 relu, max-pool 2, dense 10)
// trains end to end on the wasm backend: the shipped backend cannot (no Conv2DBackpropFilter).

function cnn(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}

test('the CNN backbone trains on wasm with unforget kernels: loss falls, held-out accuracy far above chance', async (t) => {
  assert.equal(await useBackend('wasm', null), 'wasm');
  assert.ok(wasmTrainingKernelsEnabled(), 'selecting wasm registers the training kernels');
  const { train, test: held } = loadMnist();
  const size = 28 * 28;
  // The training set is stored digit by digit; visit it in a fixed shuffled order.
  const order = Array.from({ length: train.labels.length }, (_, i) => i);
  let seed = 7;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const batch = 64;
  const steps = 40;
  const batchAt = (step: number) => {
    const xs = new Float32Array(batch * size);
    const ys = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const e = order[(step * batch + i) % order.length];
      xs.set(train.inputs.subarray(e * size, (e + 1) * size), i * size);
      ys[i] = train.labels[e];
    }
    return { xs, ys };
  };
  const model = cnn();
  const optimizer = tf.train.adam(1e-3);
  const losses: number[] = [];
  const step = (at: number) => {
    const { xs, ys } = batchAt(at);
    const loss = tf.tidy((): tf.Scalar => {
      const x = tf.tensor4d(xs, [batch, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d(ys, 'int32'), 10);
      return optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
        true,
      ) as tf.Scalar;
    });
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  };
  step(0); // Adam makes its moment estimates on the first step; they stay.
  const leaked = await leakedTensors(() => {
    for (let at = 1; at < steps; at++) step(at);
  });
  assert.equal(leaked, 0, 'training steps leave no tensors behind');
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(
    last < 0.5 * first,
    `loss falls clearly: first steps ${first.toFixed(3)}, last steps ${last.toFixed(3)}`,
  );

  // Held out: the first 500 images of the test split, in a spread of all digits.
  const count = 500;
  const pick = Array.from({ length: count }, (_, i) => Math.floor((i * held.labels.length) / count));
  const xs = new Float32Array(count * size);
  pick.forEach((e, i) => xs.set(held.inputs.subarray(e * size, (e + 1) * size), i * size));
  const predicted = tf.tidy(() =>
    (model.predict(tf.tensor4d(xs, [count, 28, 28, 1])) as tf.Tensor).argMax(-1).dataSync(),
  );
  const correct = pick.filter((e, i) => predicted[i] === held.labels[e]).length;
  const accuracy = correct / count;
  t.diagnostic(
    `loss ${first.toFixed(3)} → ${last.toFixed(3)} over ${steps} steps; held-out accuracy ${accuracy.toFixed(3)}`,
  );
  assert.ok(accuracy > 0.7, `held-out accuracy ${accuracy.toFixed(3)} beats chance (0.1) by a wide margin`);
  model.dispose();
  optimizer.dispose();
});
