import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import type { Dataset } from '../../src/data/dataset.js';
import { UnforgetError } from '../../src/errors.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { finetune } from '../../src/strategies/index.js';
import { learn, train, type TrainOptions } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';
import { tinyLearner, tinyScenario } from '../strategies/tiny.js';

/**
 * Random bad data and options given to `train` and `learn`: each call ends quickly, either refused
 * with an UnforgetError (never a TypeError or a one-hot crash) and nothing learned, or trained with
 * accuracies in [0, 1] and finite costs; no tensor is left behind either way.
 */

before(testBackend);

type Defect = (d: Dataset, a: number, b: number) => Dataset;

const oddValues: unknown[] = [NaN, Infinity, -Infinity, -1, 0.5, 1e9, '1', null, undefined];

/** Ways a dataset can be wrong (or, for some values, still right). */
const defects: Defect[] = [
  (d, a, b) => {
    const labels = Array.from(d.labels) as unknown[];
    labels[b % labels.length] = oddValues[a % oddValues.length];
    return { ...d, labels: labels as unknown as Int32Array };
  },
  (d, a, b) => {
    const labels = Int32Array.from(d.labels);
    labels[b % labels.length] = a - 3;
    return { ...d, labels };
  },
  (d, a, b) => {
    const inputs = Float32Array.from(d.inputs);
    inputs[b % inputs.length] = [NaN, Infinity, -Infinity, 1e30][a % 4];
    return { ...d, inputs };
  },
  (d, a) => ({ ...d, shape: [d.shape[0], ...(a % 2 === 0 ? [a] : [1, 3])] }),
  (d, a) => ({ ...d, shape: [d.shape[0] + (a % 3) - 1, ...d.shape.slice(1)] }),
  (d) => ({ ...d, inputs: new Float32Array(0), labels: new Int32Array(0), shape: [0, ...d.shape.slice(1)] }),
  (d, a) => ({ ...d, labels: d.labels.map((y) => (a % 2 === 0 ? y - (y % 2) : y | 1)) }),
  (d, a) => ({ ...d, classNames: d.classNames.slice(0, a % d.classNames.length) }),
  (d) => ({ ...d, labels: d.labels.slice(1) }),
  (d, a) => ({ ...d, [['inputs', 'labels', 'shape', 'classNames'][a % 4]]: undefined }) as unknown as Dataset,
];

const optionValue = fc.oneof(
  fc.integer({ min: -2, max: 3 }),
  fc.constantFrom(NaN, Infinity, 0.5, -0),
  fc.constant(undefined),
);

const options = fc.record({
  epochs: optionValue,
  iterations: optionValue,
  batchSize: fc.oneof(fc.integer({ min: -1, max: 8 }), fc.constantFrom(NaN, 2.5)),
  seed: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(0.5, NaN)),
});

const damage = fc.array(
  fc.tuple(
    fc.nat({ max: defects.length - 1 }),
    fc.nat({ max: 1 }),
    fc.constantFrom('train', 'test'),
    fc.nat({ max: 20 }),
    fc.nat({ max: 20 }),
  ),
  { maxLength: 2 },
);

function damaged(s: Scenario, changes: [number, number, 'train' | 'test', number, number][]): Scenario {
  const tasks = s.tasks.map((t) => ({ ...t }));
  for (const [kind, task, part, a, b] of changes) tasks[task][part] = defects[kind](tasks[task][part], a, b);
  return { ...s, tasks };
}

function checkOutcome(error: unknown, ms: number): void {
  assert.ok(ms < 10_000, `took ${ms} ms`);
  if (error === undefined) return;
  assert.ok(
    error instanceof UnforgetError,
    `not an UnforgetError: ${(error as Error)?.stack ?? String(error)}`,
  );
  assert.doesNotMatch(error.message, /Cannot read|is not a function|depth must be|undefined is/);
}

test('train: random bad data and options are refused with a clear error, or train to sane numbers', async () => {
  await fc.assert(
    fc.asyncProperty(damage, options, async (changes, given) => {
      const tensors = tf.memory().numTensors;
      const s = damaged(tinyScenario('task', 2), changes);
      const l = tinyLearner(tinyScenario('task', 2));
      const strategy = finetune();
      const opts = { ...given, iterations: given.iterations ?? (given.epochs === undefined ? 2 : undefined) };
      const started = performance.now();
      let error: unknown;
      try {
        const r = await train(l, s, strategy, opts as TrainOptions);
        for (const row of r.accuracyMatrix) for (const v of row) assert.ok(v >= 0 && v <= 1, `accuracy ${v}`);
        assert.ok(Number.isFinite(r.cost.testMsPerExample), `test time ${r.cost.testMsPerExample}`);
        assert.ok(r.metrics !== null && Number.isFinite(r.metrics.averageAccuracy));
      } catch (e) {
        error = e;
      }
      checkOutcome(error, performance.now() - started);
      if (error !== undefined) assert.equal(l.trainedTasks, 0, 'a refused run learned something');
      l.dispose();
      assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
    }),
    { seed: 15, numRuns: 60, interruptAfterTimeLimit: 8000 },
  );
});

test('learn: random bad data and options are refused with a clear error, the learner unchanged', async () => {
  await fc.assert(
    fc.asyncProperty(damage, options, async (changes, given) => {
      const s = damaged(tinyScenario('task', 2), changes);
      const l = tinyLearner({ ...s, tasks: [] });
      const strategy = finetune();
      const opts = { ...given, iterations: given.iterations ?? (given.epochs === undefined ? 2 : undefined) };
      const started = performance.now();
      let error: unknown;
      try {
        const r = await learn(
          l,
          { name: 'new', train: s.tasks[1].train, test: s.tasks[1].test },
          strategy,
          opts,
        );
        for (const v of r.accuracies) assert.ok(v === null || (v >= 0 && v <= 1), `accuracy ${v}`);
      } catch (e) {
        error = e;
      }
      checkOutcome(error, performance.now() - started);
      if (error !== undefined) assert.equal(l.trainedTasks, 0);
      l.dispose();
    }),
    { seed: 15, numRuns: 60, interruptAfterTimeLimit: 6000 },
  );
});
