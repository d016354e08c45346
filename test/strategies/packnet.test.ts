import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../../src/errors.js';
import { learner } from '../../src/model/learner.js';
import { maskedLayers } from '../../src/model/masked.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { packnet } from '../../src/strategies/packnet.js';
import { train } from '../../src/train/loop.js';
import { firstTaskOutputs, sameBits, sampledSplitMnist, testBackend } from '../helpers.js';

let scenario: Scenario;

before(async () => {
  await testBackend();
  scenario = sampledSplitMnist(5);
});

test('packnet keeps task 1 bit for bit through five tasks, and owned weights never move', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [48, 32] }, scenario, seed: 3 });
  const strategy = packnet({ pruneRatio: 0.75, retrainEpochs: 1 });
  const x = tf.tensor(scenario.tasks[0].test.inputs.subarray(0, 32 * 784), [32, 28, 28, 1]);
  let firstOutputs: ArrayLike<number> = new Float32Array();
  let firstKernels: Float32Array[] = [];
  let firstOwners: Uint8Array[] = [];
  const free: number[] = [];
  const tensorCounts: number[] = [];
  const r = await train(l, scenario, strategy, {
    iterations: 40,
    batchSize: 32,
    seed: 3,
    onTaskEnd: (task) => {
      free.push(strategy.freeFraction());
      tensorCounts.push(tf.memory().numTensors);
      if (task === 0) {
        firstOutputs = firstTaskOutputs(l, x);
        firstKernels = maskedLayers(l.trunk).map(
          (m) => m.maskedWeight.read().dataSync().slice() as Float32Array,
        );
        firstOwners = strategy.owners().map((o) => o.slice());
      }
    },
  });
  assert.ok(sameBits(firstTaskOutputs(l, x), firstOutputs), 'task 1 outputs changed');
  assert.equal(r.metrics?.backwardTransfer, 0);
  assert.equal(r.metrics?.forgetting, 0);
  r.accuracyMatrix.forEach((row, t) => assert.ok(row[t] > 0.7, `task ${t + 1}: ${row[t]}`));
  // Each task keeps a quarter of what was free: 3/4, 9/16, … of the weights stay free.
  free.forEach((f, t) => assert.ok(Math.abs(f - 0.75 ** (t + 1)) < 1e-3, `free after task ${t + 1}: ${f}`));
  // Task 1's weights are where task 1 left them; every other weight changed owner only from free.
  maskedLayers(l.trunk).forEach((layer, i) => {
    const now = layer.maskedWeight.read().dataSync();
    const owners = strategy.owners()[i];
    for (let j = 0; j < now.length; j++) {
      if (firstOwners[i][j] === 1) assert.ok(Object.is(now[j], firstKernels[i][j]) && owners[j] === 1);
      else assert.ok(owners[j] !== 1 && owners[j] <= 5);
    }
  });
  // Nothing grows from task to task but the cache of each trained task's masked kernels (2 layers).
  assert.deepEqual(
    tensorCounts.map((n) => n - tensorCounts[0]),
    [0, 2, 4, 6, 8],
    `tensors after each task: ${tensorCounts}`,
  );
  assert.equal(strategy.memoryBytes?.(), 784 * 48 + 48 * 32, 'one byte per maskable weight');
  x.dispose();
  strategy.dispose();
  l.dispose();
});

test('packnet says so when no free weights remain, and suggests a higher pruneRatio', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, scenario, seed: 1 });
  // 3136 weights: task 1 releases 31, task 2 releases none of those 31.
  const strategy = packnet({ pruneRatio: 0.01, retrainEpochs: 0 });
  await assert.rejects(
    train(l, scenario, strategy, { iterations: 2, batchSize: 16 }),
    (e: unknown) =>
      e instanceof OptionError &&
      /no free weights remain in dense1 after 2 tasks/.test(e.message) &&
      /higher pruneRatio \(now 0\.01\)/.test(e.message),
  );
  strategy.dispose();
  l.dispose();
});

test('packnet needs the task setting and sensible options', async () => {
  assert.throws(() => packnet({ pruneRatio: 1 }), OptionError);
  assert.throws(() => packnet({ pruneRatio: 0 }), OptionError);
  assert.throws(() => packnet({ retrainEpochs: 0.5 }), OptionError);
  const s: Scenario = { ...scenario, setting: 'class', tasks: scenario.tasks.slice(0, 2) };
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, scenario: s });
  const strategy = packnet();
  await assert.rejects(train(l, s, strategy, { iterations: 1 }), /needs the task setting/);
  strategy.dispose();
  l.dispose();
});

test('packnet masks a conv trunk the same way: task 1 stays exact', async () => {
  const s: Scenario = { ...scenario, tasks: scenario.tasks.slice(0, 2) };
  const l = learner({ backbone: { kind: 'cnn', filters: [4], dense: 16 }, scenario: s, seed: 5 });
  const strategy = packnet({ retrainEpochs: 0 });
  const x = tf.tensor(s.tasks[0].test.inputs.subarray(0, 8 * 784), [8, 28, 28, 1]);
  let first: ArrayLike<number> = [];
  const r = await train(l, s, strategy, {
    iterations: 8,
    batchSize: 32,
    onTaskEnd: (task) => {
      if (task === 0) first = firstTaskOutputs(l, x);
    },
  });
  assert.deepEqual(
    maskedLayers(l.trunk).map((m) => m.name),
    ['conv1', 'dense1'],
  );
  assert.ok(sameBits(firstTaskOutputs(l, x), first));
  assert.equal(r.metrics?.backwardTransfer, 0);
  x.dispose();
  strategy.dispose();
  l.dispose();
});
