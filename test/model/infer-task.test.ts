import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { TaskError } from '../../src/errors.js';
import { inferredAccuracy } from '../../src/eval/infer.js';
import { inferTask } from '../../src/model/infer-task.js';
import { learner } from '../../src/model/learner.js';
import { packnet } from '../../src/strategies/packnet.js';
import { train } from '../../src/train/loop.js';
import { subset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { permuted } from '../../src/scenarios/permuted.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { leakedTensors, sampledSplitMnist, testBackend } from '../helpers.js';

before(async () => {
  await testBackend();
});

/** Permuted MNIST (3 tasks, task setting) on every 10th image. */
function sampledPermuted(): Scenario {
  const data = loadMnist();
  const every = (n: number) => Array.from({ length: Math.floor(n / 10) }, (_, i) => i * 10);
  return permuted(
    {
      train: subset(data.train, every(data.train.labels.length)),
      test: subset(data.test, every(data.test.labels.length)),
    },
    { tasks: 3, setting: 'task', seed: 1 },
  );
}

test('task inference on a trained learner picks the right task well above chance', async () => {
  const scenario = sampledPermuted();
  const l = learner({ backbone: { kind: 'mlp', hidden: [64] }, scenario, seed: 1 });
  const strategy = packnet();
  const r = await train(l, scenario, strategy, {
    iterations: 25,
    batchSize: 32,
    seed: 1,
    inferTask: ['example', 'batch'],
    inferBatch: 20,
  });
  const [example, batch] = r.withoutTaskLabel ?? [];
  assert.equal(example.per, 'example');
  assert.equal(batch.batchSize, 20);
  // Chance is 1 in 3; one batch of 20 examples of one task tells it far better than one example.
  assert.ok(example.averageTaskInferred > 0.6, `per example: ${example.averageTaskInferred}`);
  assert.ok(batch.averageTaskInferred >= 0.85, `per batch: ${batch.averageTaskInferred}`);
  assert.ok(batch.averageTaskInferred >= example.averageTaskInferred);
  assert.ok(example.averageAccuracy <= (r.metrics?.averageAccuracy ?? 0) + 1e-9, 'the label never hurts');

  const data = scenario.tasks[2].test;
  const x = tf.tensor(data.inputs.subarray(0, 20 * 784), [20, 28, 28, 1]);
  assert.throws(() => l.predict(x), TaskError, 'predict without a task still asks for one');
  const leaked = await leakedTensors(() => {
    const { tasks, probabilities } = inferTask(l, x, 'batch');
    assert.deepEqual(new Set(tasks), new Set([2]), 'one task for the whole batch: the right one');
    assert.deepEqual(probabilities.shape, [20, 10]);
    probabilities.dispose();
    const p = l.predict(x, { inferTask: 'example' });
    p.dispose();
    inferredAccuracy(l, scenario, 'example');
  });
  assert.equal(leaked, 0);
  x.dispose();
  strategy.dispose?.();
  l.dispose();
});

test('task inference is refused outside the task setting, before training', async () => {
  const scenario = { ...sampledSplitMnist(50), setting: 'domain' as const };
  const l = learner({ backbone: { kind: 'mlp', hidden: [8] }, scenario, seed: 1 });
  await assert.rejects(
    () => train(l, scenario, packnet(), { iterations: 1, inferTask: ['batch'] }),
    /needs the task setting|task setting/,
  );
  l.dispose();
});
