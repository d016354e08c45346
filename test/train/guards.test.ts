import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { DivergenceError, OptionError, TaskError, ModelError } from '../../src/errors.js';
import { learner } from '../../src/model/learner.js';
import { split } from '../../src/scenarios/split.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { finetune } from '../../src/strategies/index.js';
import { train } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';
import * as tf from '@tensorflow/tfjs';

before(testBackend);

function tiny(values: number[], labels: number[]): Dataset {
  return {
    inputs: new Float32Array(values),
    shape: [labels.length, 2],
    labels: new Int32Array(labels),
    classNames: ['a', 'b'],
  };
}

const tinyScenario = (train: Dataset): Scenario => ({
  name: 'tiny',
  setting: 'task',
  inputShape: [2],
  tasks: [
    { name: 'one', classes: [0, 1], classNames: ['a', 'b'], train, test: tiny([0, 1, 1, 0], [0, 1]) },
    { name: 'two', classes: [0, 1], classNames: ['a', 'b'], train, test: tiny([0, 1, 1, 0], [0, 1]) },
  ],
});

test('a loss that becomes NaN stops training with a clear error and restores the weights', async () => {
  // Inputs near the float32 limit overflow the first layer (NaN inputs are refused before training).
  const s = tinyScenario(tiny([0, 1, 3e38, -3e38], [0, 1]));
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, scenario: s });
  const before = l.trunk.getWeights()[0].dataSync().slice();
  await assert.rejects(
    train(l, s, finetune(), { epochs: 1, batchSize: 2 }),
    (e: Error) =>
      e instanceof DivergenceError &&
      /the loss became NaN at task 1, train epoch 1, step 1; lower the learning rate \(now 0.001\)/.test(
        e.message,
      ),
  );
  assert.deepEqual(l.trunk.getWeights()[0].dataSync(), before);
  assert.equal(l.trainedTasks, 0);
  l.dispose();
});

test('an abort keeps what was learned and marks the result as stopped', async () => {
  const s = split(loadMnist(), { tasks: 2 });
  const l = learner({ backbone: { kind: 'mlp', hidden: [16] }, scenario: s });
  const controller = new AbortController();
  const r = await train(l, s, finetune(), {
    epochs: 1,
    batchSize: 32,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.step === 20) controller.abort();
    },
  });
  assert.equal(r.stopped, true);
  assert.equal(r.metrics, null);
  assert.equal(r.accuracyMatrix.length, 1);
  assert.ok(r.accuracyMatrix[0][0] > 0.5, 'twenty steps learned something');
  assert.equal(l.trainedTasks, 1);
  l.dispose();
});

test('bad training options and mismatched learners are refused before any work', async () => {
  const s = split(loadMnist(), { tasks: 2 });
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, scenario: s });
  await assert.rejects(
    train(l, s, finetune(), { epochs: 0 }),
    /epochs must be a whole number at least 1; got 0/,
  );
  await assert.rejects(train(l, s, finetune(), { batchSize: 2.5 }), /batchSize must be a whole number/);
  const other = split(loadMnist(), { tasks: 5 });
  await assert.rejects(train(l, other, finetune()), /built for 2 tasks but the scenario has 5/);
  const classSetting = split(loadMnist(), { tasks: 2, setting: 'class' });
  await assert.rejects(
    train(l, classSetting, finetune()),
    (e: Error) => e instanceof OptionError && /task setting/.test(e.message),
  );
  assert.throws(() => finetune({ learningRate: -1 }), /learningRate must be a positive number; got -1/);
  assert.throws(
    () => finetune({ optimizer: 'rmsprop' as never }),
    /unknown optimizer 'rmsprop'; use one of: adam, sgd/,
  );
  l.dispose();
});

test('predict refuses untrained tasks, a missing task and inputs of the wrong shape', async () => {
  const s = split(loadMnist(), { tasks: 2 });
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, scenario: s });
  const x = tf.zeros([3, 28, 28, 1]);
  assert.throws(() => l.predict(x, 0), /has not been trained on any task yet/);
  await train(l, s, finetune(), { iterations: 1 });
  const p = l.predict(x, 0);
  assert.deepEqual(p.shape, [3, 5]);
  p.dispose();
  assert.throws(
    () => l.predict(x),
    (e: Error) => e instanceof TaskError && /predict\(x, task\)/.test(e.message),
  );
  assert.throws(
    () => l.predict(x, 5),
    /task 5 has not been learned; its tasks are: task 1 \(0, 1, 2, 3, 4\), task 2 \(5, 6, 7, 8, 9\)/,
  );
  const wrong = tf.zeros([3, 784]);
  assert.throws(
    () => l.predict(wrong, 0),
    (e: Error) => e instanceof ModelError && /shape \[784\]/.test(e.message),
  );
  tf.dispose([x, wrong]);
  l.dispose();
});
