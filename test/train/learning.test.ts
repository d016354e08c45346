import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/data/mnist.js';
import { learner } from '../../src/model/learner.js';
import { split } from '../../src/scenarios/split.js';
import { featureExtraction, finetune, joint } from '../../src/strategies/index.js';
import { train } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';

before(testBackend);

const small = { kind: 'mlp', hidden: [100] } as const;

test('fine-tuning learns each new task of a 2-task split (task-incremental)', async () => {
  const s = split(loadMnist(), { tasks: 2, setting: 'task' });
  const l = learner({ backbone: small, scenario: s, seed: 1 });
  const r = await train(l, s, finetune(), { epochs: 1, batchSize: 64, seed: 1 });
  l.dispose();
  assert.equal(r.accuracyMatrix.length, 2);
  assert.ok(r.accuracyMatrix[1][1] > 0.9, `newest task accuracy ${r.accuracyMatrix[1][1]}`);
  assert.ok(r.accuracyMatrix[0][0] > 0.9, `first task accuracy ${r.accuracyMatrix[0][0]}`);
  // Chance on a 5-class task is 20%: the untrained heads sit near it.
  assert.ok(
    r.initialAccuracy.every((a) => a < 0.5),
    `untrained accuracy ${r.initialAccuracy}`,
  );
  assert.ok(r.metrics !== null && r.metrics.averageAccuracy > 0.8);
  assert.ok(
    r.cost.msPerStep > 0 &&
      r.cost.trainMs.length === 2 &&
      r.cost.parameters === 784 * 100 + 100 + 2 * (5 * 100 + 5),
  );
});

test('class-incremental fine-tuning forgets the first task', async () => {
  const s = split(loadMnist(), { tasks: 2, setting: 'class' });
  const l = learner({ backbone: small, scenario: s, seed: 1 });
  const r = await train(l, s, finetune(), { epochs: 1, batchSize: 64, seed: 1 });
  l.dispose();
  const [[firstBefore], [firstAfter, second]] = r.accuracyMatrix;
  assert.ok(firstBefore > 0.9, `first task right after training: ${firstBefore}`);
  assert.ok(second > 0.8, `second task: ${second}`);
  assert.ok(firstAfter < firstBefore - 0.5, `first task fell from ${firstBefore} to ${firstAfter}`);
  assert.ok((r.metrics?.backwardTransfer ?? 0) < -0.5);
});

test('joint training keeps the first task in the class-incremental setting', async () => {
  const s = split(loadMnist(), { tasks: 2, setting: 'class' });
  const l = learner({ backbone: small, scenario: s, seed: 1 });
  const r = await train(l, s, joint(), { epochs: 1, batchSize: 64, seed: 1 });
  l.dispose();
  assert.ok(r.accuracyMatrix[1][0] > 0.8, `first task after the second: ${r.accuracyMatrix[1][0]}`);
  assert.ok(r.accuracyMatrix[1][1] > 0.8, `second task: ${r.accuracyMatrix[1][1]}`);
  assert.equal(r.cost.needsOldData, true);
});

test('feature extraction leaves the trunk exactly as the first task left it', async () => {
  const s = split(loadMnist(), { tasks: 5, setting: 'task' });
  const l = learner({ backbone: small, scenario: s, seed: 2 });
  let afterFirst: tf.TypedArray | undefined;
  let firstTaskRow: number[] = [];
  const r = await train(l, s, featureExtraction(), {
    iterations: 15,
    batchSize: 64,
    onTaskEnd: (task, row) => {
      if (task === 0) {
        afterFirst = l.trunk.getWeights()[0].dataSync().slice();
        firstTaskRow = row;
      }
    },
  });
  assert.deepEqual(l.trunk.getWeights()[0].dataSync(), afterFirst);
  l.dispose();
  // The first task's head and features are untouched, so its accuracy cannot move.
  assert.equal(r.accuracyMatrix[4][0], firstTaskRow[0]);
  assert.equal(r.metrics?.forgetting, 0);
});

test('freezeLayers keeps the leading trunk layers as they were', async () => {
  const s = split(loadMnist(), { tasks: 2, setting: 'task' });
  const l = learner({ backbone: { kind: 'mlp', hidden: [32, 32] }, scenario: s, seed: 3 });
  const first = l.trunk.getLayer('dense1').getWeights()[0].dataSync().slice();
  const second = l.trunk.getLayer('dense2').getWeights()[0].dataSync().slice();
  await train(l, s, finetune({ freezeLayers: 1 }), { iterations: 10, batchSize: 32 });
  assert.deepEqual(l.trunk.getLayer('dense1').getWeights()[0].dataSync(), first);
  assert.notDeepEqual(l.trunk.getLayer('dense2').getWeights()[0].dataSync(), second);
  await assert.rejects(
    train(
      learner({ backbone: { kind: 'mlp', hidden: [8] }, scenario: s }),
      s,
      finetune({ freezeLayers: 3 }),
      { iterations: 1 },
    ),
    /freezeLayers is 3 but the trunk has only 1 layers with weights \(dense1\); use at most 1/,
  );
  l.dispose();
});

test('training many tasks does not grow the number of tensors', async () => {
  for (const strategy of [finetune(), featureExtraction(), joint()]) {
    const s = split(loadMnist(), { tasks: 5, setting: 'class' });
    const l = learner({ backbone: small, scenario: s, seed: 1 });
    const counts: number[] = [];
    const start = tf.memory().numTensors;
    await train(l, s, strategy, {
      iterations: 3,
      batchSize: 32,
      onTaskEnd: () => counts.push(tf.memory().numTensors),
    });
    assert.equal(new Set(counts).size, 1, `${strategy.name}: tensors after each task ${counts}`);
    assert.equal(counts[0], start, `${strategy.name}: training left ${counts[0] - start} tensors`);
    l.dispose();
  }
});

test('the same seed gives the same run', async () => {
  const s = split(loadMnist(), { tasks: 2, setting: 'task' });
  const run = async () => {
    const l = learner({ backbone: { kind: 'mlp', hidden: [16] }, scenario: s, seed: 5 });
    const r = await train(l, s, finetune(), { iterations: 10, batchSize: 32, seed: 5 });
    l.dispose();
    return r.accuracyMatrix;
  };
  assert.deepEqual(await run(), await run());
});
