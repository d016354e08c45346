import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { taskCosts } from '../../bench/task-costs-measure.js';
import { loadMnist } from '../../src/data/mnist.js';

const tiny = { tasks: 2, trainPerTask: 256, testPerTask: 50, hidden: [32], batchSize: 64 };

test('task costs: two tiny tasks of EWC give positive times, its Fisher timed, memory that does not shrink', async () => {
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  const costs = await taskCosts('ewc', loadMnist(), { ...tiny, onTask: (c) => seen.push(c.task) });
  assert.deepEqual(
    costs.map((c) => c.task),
    [1, 2],
  );
  assert.deepEqual(seen, [1, 2], 'each task is reported as it ends');
  for (const c of costs) {
    assert.equal(c.steps, 4, '256 images in batches of 64: 4 steps');
    const keys = ['stepMs', 'stepCpuMs', 'trainMs', 'trainCpuMs', 'finishMs', 'testMs', 'testCpuMs'] as const;
    for (const key of keys) {
      assert.ok(c[key] > 0, `${key} of task ${c.task} is ${c[key]}`);
    }
    // The Fisher is part of the task's time, and only the training steps are in the step median.
    assert.ok(c.finishMs < c.trainMs);
    assert.ok(c.stepCpuMs < c.trainCpuMs / 3, 'a step is a fraction of the task');
    assert.ok(
      Math.abs(c.testCpuMsPerExample * 50 * c.task - c.testCpuMs) < 1e-6,
      'per example: of every task so far',
    );
    assert.equal(c.memoryBytes, c.strategyBytes + c.parameterBytes);
    assert.ok(c.accuracy >= 0 && c.accuracy <= 1 && c.averageAccuracy >= 0 && c.averageAccuracy <= 1);
  }
  // The network grows a head per task (32 × 10 weights + 10 biases, float32); EWC keeps its penalty.
  assert.equal(costs[1].parameterBytes - costs[0].parameterBytes, 4 * (32 * 10 + 10));
  assert.ok(costs[0].strategyBytes > 0);
  assert.ok(costs[1].memoryBytes >= costs[0].memoryBytes);
  assert.equal(tf.memory().numTensors, before, 'the learner and the strategy are disposed');
});

test('task costs: fine-tuning keeps nothing and does nothing after training', async () => {
  const costs = await taskCosts('finetune', loadMnist(), tiny);
  for (const c of costs) {
    assert.equal(c.strategyBytes, 0);
    // No finishTask at all: the timer around a missing hook reads (almost) nothing.
    assert.ok(c.finishMs < 5, `finishMs ${c.finishMs}`);
  }
});
