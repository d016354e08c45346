import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../../src/errors.js';
import { buildBackbone } from '../../src/model/backbones.js';
import { learner } from '../../src/model/learner.js';
import { fromPretrained } from '../../src/model/pretrained.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { piggyback } from '../../src/strategies/piggyback.js';
import { train } from '../../src/train/loop.js';
import { firstTaskOutputs, sameBits, sampledSplitMnist, testBackend } from '../helpers.js';

let scenario: Scenario;

before(async () => {
  await testBackend();
  scenario = sampledSplitMnist(5);
});

test('piggyback freezes the trunk after task 1, learns a mask per task, and keeps task 1 bit for bit', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [48, 32] }, scenario, seed: 4 });
  const strategy = piggyback();
  const x = tf.tensor(scenario.tasks[0].test.inputs.subarray(0, 32 * 784), [32, 28, 28, 1]);
  let firstOutputs: ArrayLike<number> = new Float32Array();
  let trunkAfterFirst: Float32Array[] = [];
  const bytes: number[] = [];
  const tensorCounts: number[] = [];
  const r = await train(l, scenario, strategy, {
    iterations: 30,
    batchSize: 32,
    seed: 4,
    onTaskEnd: (task) => {
      bytes.push(strategy.memoryBytes?.() ?? -1);
      tensorCounts.push(tf.memory().numTensors);
      if (task === 0) {
        firstOutputs = firstTaskOutputs(l, x);
        trunkAfterFirst = l.trunk.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      }
    },
  });
  assert.ok(sameBits(firstTaskOutputs(l, x), firstOutputs), 'task 1 outputs changed');
  l.trunk
    .getWeights()
    .forEach((w, i) => assert.ok(sameBits(w.dataSync() as Float32Array, trunkAfterFirst[i])));
  assert.equal(r.metrics?.backwardTransfer, 0);
  r.accuracyMatrix.forEach((row, t) => assert.ok(row[t] > 0.7, `task ${t + 1}: ${row[t]}`));
  // One bit per maskable weight per task after the first (which trained the trunk itself).
  const perTask = Math.ceil((784 * 48) / 8) + Math.ceil((48 * 32) / 8);
  assert.deepEqual(
    bytes,
    [0, 1, 2, 3, 4].map((t) => t * perTask),
  );
  const kept = strategy.keptFractions();
  assert.equal(kept[0], null);
  // The straight-through gradient reached the scores: every mask dropped some weights.
  for (const k of kept.slice(1)) assert.ok(k !== null && k > 0.3 && k < 1, `kept fraction ${k}`);
  // Nothing grows but the cache of masked kernels (2 layers) of each task learned with a mask.
  assert.deepEqual(
    tensorCounts.map((n) => n - tensorCounts[0]),
    [0, 2, 4, 6, 8],
    `tensors after each task: ${tensorCounts}`,
  );
  x.dispose();
  strategy.dispose();
  l.dispose();
});

test('on a pretrained trunk piggyback masks the first task too, and never moves the trunk', async () => {
  const trunk = buildBackbone({ kind: 'mlp', hidden: [24] }, [28, 28, 1], 9);
  const before = trunk.getWeights().map((w) => w.dataSync().slice());
  const s: Scenario = { ...scenario, tasks: scenario.tasks.slice(0, 1) };
  const model = tf.model({
    inputs: trunk.inputs,
    outputs: tf.layers.dense({ units: 2 }).apply(trunk.outputs[0]) as tf.SymbolicTensor,
  });
  const l = fromPretrained(model, { scenario: s });
  const strategy = piggyback({ maskInit: 2e-3, threshold: 1e-3 });
  const r = await train(l, s, strategy, { iterations: 20, batchSize: 32 });
  assert.notEqual(strategy.keptFractions()[0], null);
  l.trunk.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before[i]));
  assert.ok(r.accuracyMatrix[0][0] > 0.9, `accuracy ${r.accuracyMatrix[0][0]}`);
  strategy.dispose();
  // The trunk shares its layers with `model`: disposing the learner frees them.
  l.dispose();
});

test('piggyback checks its options and the setting', async () => {
  assert.throws(() => piggyback({ maskInit: 1e-3, threshold: 5e-3 }), OptionError);
  assert.throws(() => piggyback({ threshold: Number.NaN }), OptionError);
  const s: Scenario = { ...scenario, setting: 'domain', tasks: scenario.tasks.slice(0, 1) };
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, scenario: s });
  const strategy = piggyback();
  await assert.rejects(train(l, s, strategy, { iterations: 1 }), /needs the task setting/);
  strategy.dispose();
  l.dispose();
});
