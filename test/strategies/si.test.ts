import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { si } from '../../src/strategies/si.js';
import { train } from '../../src/train/loop.js';
import { leakedTensors, testBackend } from '../helpers.js';
import { assertClose, context, tinyLearner, tinyScenario, values } from './tiny.js';

before(async () => {
  await testBackend();
});

// Two plain SGD steps on a tiny trunk, the loss Σ features²; ω, Ω and the penalty by hand in plain numbers.
test("SI's importance on a tiny model matches a hand computation", () => {
  const s = tinyScenario('task');
  const l = tinyLearner(s);
  const strategy = si({ c: 0.5, xi: 0.1 });
  const ctx = context(l, s, 0);
  const x = tf.tensor2d(s.tasks[0].train.inputs, [6, 3]);
  const weights = l.trunk.weights.map((w) => w.read() as tf.Variable);
  const start = weights.map((w) => values(w));
  const omega = start.map((w) => w.map(() => 0));
  strategy.prepareTask?.(ctx);
  for (let step = 0; step < 2; step++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(l.features(x, 0))), weights);
    strategy.observeGradients?.(ctx, grads);
    const g = weights.map((w) => values(grads[w.name]));
    const was = weights.map((w) => values(w));
    weights.forEach((w) => w.assign(w.sub(grads[w.name].mul(0.01))));
    strategy.afterStep?.(ctx);
    // ω_k += −g_k · Δθ_k
    weights.forEach((w, i) => values(w).forEach((v, k) => (omega[i][k] += -g[i][k] * (v - was[i][k]))));
    tf.dispose([value, ...Object.values(grads)]);
  }
  strategy.finishTask?.(ctx);
  const end = weights.map((w) => values(w));
  // Ω_k = ω_k / ((Δθ_k)² + ξ)
  const expected = omega.map((w, i) => w.map((o, k) => o / ((end[i][k] - start[i][k]) ** 2 + 0.1)));
  const importance = strategy.importance();
  assert.deepEqual([...importance.keys()], ['trunk/0', 'trunk/1']);
  expected.forEach((e, i) =>
    assertClose(values(importance.get(`trunk/${i}`) as tf.Tensor), e, 1e-4, `Ω ${i}`),
  );
  assert.ok(expected.flat().some((v) => v > 0));
  // c Σ_k Ω_k (θ̃_k − θ_k)², after moving every weight by 0.1
  weights.forEach((w) => w.assign(w.add(0.1)));
  const penalty = strategy.extraLoss?.(ctx, {} as never) as tf.Scalar;
  const hand = 0.5 * expected.flat().reduce((a, o) => a + o * 0.01, 0);
  assertClose([penalty.dataSync()[0]], [hand], 1e-4, 'penalty');
  tf.dispose([penalty, x]);
  strategy.dispose?.();
  l.dispose();
});

test('si trains a scenario with a penalty after the first task, keeps no tensor per task, and saves its Ω', async () => {
  const s = tinyScenario('domain', 3, 12);
  const l = tinyLearner(s);
  const strategy = si();
  const leaked = await leakedTensors(() => train(l, s, strategy, { iterations: 4, batchSize: 4, seed: 1 }));
  // Ω and θ̃ for the trunk's and the shared head's kernel and bias stay; nothing grows with the tasks.
  assert.equal(leaked, 8);
  const state = strategy.state?.();
  assert.deepEqual(Object.keys(state?.tensors ?? {}).sort(), [
    'anchor/head0/0',
    'anchor/head0/1',
    'anchor/trunk/0',
    'anchor/trunk/1',
    'omega/head0/0',
    'omega/head0/1',
    'omega/trunk/0',
    'omega/trunk/1',
  ]);
  assert.equal(state?.values.tasks, 3);
  strategy.dispose?.();
  l.dispose();
});
