import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { validateDataset, type Dataset } from '../../src/data/dataset.js';
import { DataError, DivergenceError, OptionError, TaskError, UnforgetError } from '../../src/errors.js';
import { learner } from '../../src/model/learner.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { finetune, packnet } from '../../src/strategies/index.js';
import { partialResult, train } from '../../src/train/loop.js';
import type { Strategy } from '../../src/train/strategy.js';
import { leakedTensors, testBackend } from '../helpers.js';
import { tinyLearner, tinyScenario } from '../strategies/tiny.js';

before(testBackend);

/** `scenario` with task `t`'s `part` replaced by `d`. */
function withData(scenario: Scenario, t: number, part: 'train' | 'test', d: Dataset): Scenario {
  return { ...scenario, tasks: scenario.tasks.map((k, i) => (i === t ? { ...k, [part]: d } : k)) };
}

async function rejectsWith(s: Scenario, type: typeof UnforgetError, pattern: RegExp): Promise<void> {
  const l = tinyLearner(s);
  const strategy = finetune();
  const trunkBefore = l.trunk.getWeights().map((w) => Array.from(w.dataSync()));
  await assert.rejects(train(l, s, strategy, { iterations: 3, batchSize: 4 }), (e: Error) => {
    assert.ok(e instanceof type, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
  // Refused before the work started: no step was taken.
  assert.deepEqual(
    l.trunk.getWeights().map((w) => Array.from(w.dataSync())),
    trunkBefore,
  );
  l.dispose();
}

test('a task without training examples is refused up front, with --iterations and --epochs alike (no spin)', async () => {
  const s = tinyScenario('task', 3);
  const empty: Dataset = {
    ...s.tasks[1].train,
    inputs: new Float32Array(0),
    labels: new Int32Array(0),
    shape: [0, 3],
  };
  await rejectsWith(withData(s, 1, 'train', empty), DataError, /task 2 \('t1'\) training data is empty/);
  await rejectsWith(
    withData(s, 1, 'test', empty),
    DataError,
    /task 2 \('t1'\) test data is empty.*cannot be tested/,
  );
  // One class of a task missing from its training data.
  const onlyFirst: Dataset = { ...s.tasks[0].train, labels: s.tasks[0].train.labels.map(() => 0) };
  await rejectsWith(withData(s, 0, 'train', onlyFirst), DataError, /has no examples of class 'c1'/);
  // A phase with no examples at all is an error at once, never a loop that cannot make a step.
  const l = tinyLearner(s);
  const noTasks: Strategy = { ...finetune(), trainingTasks: () => [] };
  await assert.rejects(
    train(l, s, noTasks, { iterations: 1_000_000, batchSize: 4 }),
    /task 1 \('t0'\) has no training examples for its train phase/,
  );
  l.dispose();
});

test('labels outside the task, non-integer labels and NaN inputs are refused', async () => {
  const s = tinyScenario('task', 2);
  const d = s.tasks[1].train;
  // Label 0 belongs to the first task, not to the second one (classes 2, 3).
  const foreign: Dataset = { ...d, labels: d.labels.map((y, i) => (i === 2 ? 0 : y)) };
  await rejectsWith(
    withData(s, 1, 'train', foreign),
    DataError,
    /label 0 at index 2, which is not one of the task's classes \(2, 3\)/,
  );
  const floats = { ...d, labels: Float32Array.from(d.labels, (y) => y + 0.5) } as unknown as Dataset;
  assert.throws(() => validateDataset(floats), /labels must be integers in \[0, 4\); got 2\.5 at index 0/);
  const strings = { ...d, labels: Array.from(d.labels, String) } as unknown as Dataset;
  assert.throws(() => validateDataset(strings), /got the string '2' at index 0/);
  const nan = { ...d, inputs: d.inputs.map((v, i) => (i === 4 ? NaN : v)) };
  await rejectsWith(withData(s, 1, 'test', nan), DataError, /input value 1 of example 1 is NaN/);
  const infinite = { ...d, inputs: d.inputs.map((v, i) => (i === 0 ? -Infinity : v)) };
  assert.throws(() => validateDataset(infinite), /is -Infinity; every input must be a finite number/);
  assert.throws(() => validateDataset(undefined as unknown as Dataset, 'x'), /x is missing/);
  assert.throws(
    () => validateDataset({ ...d, labels: undefined } as unknown as Dataset, 'x'),
    /x has no labels/,
  );
});

test('examples of another shape name the part and both shapes', async () => {
  const s = tinyScenario('task', 2);
  const d = s.tasks[1].test;
  const wide: Dataset = { ...d, inputs: new Float32Array(d.shape[0] * 4), shape: [d.shape[0], 4] };
  await rejectsWith(
    withData(s, 1, 'test', wide),
    DataError,
    /task 2 \('t1'\) test data has examples of shape \[4\]; the learner takes \[3\]/,
  );
});

test('a task with one output is refused instead of crashing one-hot encoding', async () => {
  const s = tinyScenario('class', 2);
  const zeros = { ...s.tasks[0].train, labels: s.tasks[0].train.labels.map(() => 0) };
  const one: Scenario = {
    ...s,
    tasks: [{ ...s.tasks[0], classes: [0], classNames: ['c0'], train: zeros, test: zeros }, s.tasks[1]],
  };
  await rejectsWith(one, DataError, /task 1 \('t0'\) would be learned with a single output/);
});

test('a failing task keeps the result of the tasks before it, and the learner as it was after them', async () => {
  const s = tinyScenario('task', 3);
  const l = tinyLearner(s);
  const base = finetune({ learningRate: 0.05 });
  let afterFirst: number[][] = [];
  const failing: Strategy = {
    ...base,
    finishTask(ctx) {
      if (ctx.task === 0) afterFirst = l.trunk.getWeights().map((w) => Array.from(w.dataSync()));
      if (ctx.task === 1) throw new DivergenceError('the loss became NaN (a test stand-in)');
    },
  };
  const leaked = await leakedTensors(async () => {
    const error = await train(l, s, failing, { iterations: 5, batchSize: 4 }).catch((e: unknown) => e);
    assert.ok(error instanceof DivergenceError);
    const partial = partialResult(error);
    assert.ok(partial);
    assert.equal(partial.accuracyMatrix.length, 1);
    assert.equal(partial.metrics, null);
    assert.equal(partial.stopped, false);
    assert.deepEqual(partial.incomplete?.tasks, 1);
    assert.match(partial.incomplete?.reason ?? '', /task 2 of 3 failed: the loss became NaN/);
    assert.ok(partial.cost.testMsPerExample >= 0 && Number.isFinite(partial.cost.testMsPerExample));
  });
  assert.equal(leaked, 0);
  assert.equal(l.trainedTasks, 1);
  assert.deepEqual(
    l.trunk.getWeights().map((w) => Array.from(w.dataSync())),
    afterFirst,
  );
  assert.equal(partialResult(new Error('x')), undefined);
  l.dispose();
});

test('PackNet refuses a run that would run out of free weights before training', async () => {
  const s = tinyScenario('task', 5);
  const l = tinyLearner(s, 2);
  const strategy = packnet({ pruneRatio: 0.1 });
  const started = performance.now();
  await assert.rejects(
    train(l, s, strategy, { iterations: 2, batchSize: 4 }),
    (e: Error) =>
      e instanceof OptionError &&
      /no free weights remain in hidden after 2 tasks \(6 weights, pruneRatio 0\.1\), so packnet cannot learn task 3 of 5; use a higher pruneRatio \(now 0\.1\).*checked before any training/.test(
        e.message,
      ),
  );
  assert.equal(l.trainedTasks, 0);
  assert.ok(performance.now() - started < 5000);
  strategy.dispose?.();
  l.dispose();
});

test('an abort signal stops a long run within a fraction of a second', async () => {
  const s = tinyScenario('task', 2, 64);
  const l = tinyLearner(s);
  const strategy = finetune();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const started = performance.now();
  const r = await train(l, s, strategy, { iterations: 10_000_000, batchSize: 8, signal: controller.signal });
  const ms = performance.now() - started;
  assert.equal(r.stopped, true);
  assert.match(r.incomplete?.reason ?? '', /stopped during task 1 of 2/);
  assert.ok(ms < 5000, `took ${ms} ms to stop`);
  l.dispose();
});

test('predict with a task name that is a number says how to pick by index', () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [4] }, inputShape: [3], setting: 'task' });
  l.addTask({ name: 'a', classes: [0, 1], classNames: ['x', 'y'] });
  l.addTask({ name: 'b', classes: [2, 3], classNames: ['z', 'w'] });
  l.trainedTasks = 2;
  const x = tf.zeros([1, 3]);
  assert.throws(
    () => l.predict(x, '1'),
    (e: Error) =>
      e instanceof TaskError &&
      /no task named '1'; its tasks are: a, b; to pick a task by its index, pass the number: predict\(x, 1\) is 'b'/.test(
        e.message,
      ),
  );
  const y = l.predict(x, 1);
  assert.deepEqual(y.shape, [1, 2]);
  tf.dispose([x, y]);
  l.dispose();
});
