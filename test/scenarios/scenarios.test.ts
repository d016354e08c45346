import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/data/mnist.js';
import type { Dataset } from '../../src/data/dataset.js';
import { OptionError, DataError } from '../../src/errors.js';
import { permuted, taskPermutations } from '../../src/scenarios/permuted.js';
import { rotateImages, rotated } from '../../src/scenarios/rotated.js';
import { split } from '../../src/scenarios/split.js';
import { transfer } from '../../src/scenarios/transfer.js';
import { activeOutputs, headSizes, targetIndex, taskTargets } from '../../src/scenarios/types.js';
import { mnistTransfer, splitMnist } from '../../src/scenarios/index.js';

const data = loadMnist();

function fingerprints(d: Dataset): Set<string> {
  const size = 784;
  const out = new Set<string>();
  for (let i = 0; i < d.shape[0]; i++)
    out.add(Buffer.from(d.inputs.buffer, d.inputs.byteOffset + i * size * 4, size * 4).toString('base64'));
  return out;
}

test('split MNIST deals the digits in pairs and keeps every task’s test images out of its training set', async () => {
  const s = await splitMnist({ tasks: 5, setting: 'task' });
  assert.deepEqual(
    s.tasks.map((t) => t.classes),
    [
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 9],
    ],
  );
  let trainTotal = 0;
  for (const t of s.tasks) {
    assert.ok(t.train.labels.every((y) => t.classes.includes(y)));
    assert.ok(t.test.labels.every((y) => t.classes.includes(y)));
    const train = fingerprints(t.train);
    for (const f of fingerprints(t.test))
      assert.ok(!train.has(f), `a test image of ${t.name} is in its training set`);
    trainTotal += t.train.shape[0];
  }
  assert.equal(trainTotal, data.train.shape[0]);
  assert.deepEqual(headSizes(s), [2, 2, 2, 2, 2]);
});

test('targets follow the setting: local in task and domain, global in class', () => {
  const task = split(data, { tasks: 5, setting: 'task' });
  const domain = split(data, { tasks: 5, setting: 'domain' });
  const klass = split(data, { tasks: 5, setting: 'class' });
  assert.equal(targetIndex(task, 2, 5), 1);
  assert.equal(targetIndex(domain, 2, 5), 1);
  assert.equal(targetIndex(klass, 2, 5), 5);
  assert.deepEqual(headSizes(domain), [2]);
  assert.deepEqual(headSizes(klass), [10]);
  assert.equal(activeOutputs(klass, 1), 4);
  assert.equal(activeOutputs(klass, 0, 3), 8);
  const targets = taskTargets(klass, 4, 'train');
  assert.ok(targets.every((y) => y === 8 || y === 9));
});

test('a shuffled class order is fixed by the seed', () => {
  const a = split(data, { tasks: 5, shuffleClasses: true, seed: 3 }).tasks.map((t) => t.classes);
  const b = split(data, { tasks: 5, shuffleClasses: true, seed: 3 }).tasks.map((t) => t.classes);
  const c = split(data, { tasks: 5, shuffleClasses: true, seed: 4 }).tasks.map((t) => t.classes);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(a.flat().sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('split refuses counts that do not divide the classes, and bad class orders', () => {
  assert.throws(
    () => split(data, { tasks: 3 }),
    (e: Error) => e instanceof OptionError && /tasks = 1, 2, 5$/.test(e.message),
  );
  assert.throws(() => split(data, { tasks: 0 }), /tasks must be a whole number between 1 and 10; got 0/);
  assert.throws(() => split(data, { classOrder: [0, 1, 2] }), /classOrder must list each class/);
  assert.throws(() => split(data, { setting: 'online' as never }), /unknown setting 'online'/);
  // One class per task leaves nothing to tell apart (and would crash one-hot encoding): refused, with the counts that work.
  assert.throws(
    () => split(data, { tasks: 10 }),
    (e: Error) => e instanceof OptionError && /one class per task.*use tasks = 1, 2, 5 /.test(e.message),
  );
});

test('permutations are fixed by the seed, differ per task, and move pixels without changing them', () => {
  const p1 = taskPermutations(3, 784, 7);
  const p2 = taskPermutations(3, 784, 7);
  const p3 = taskPermutations(3, 784, 8);
  assert.deepEqual(p1, p2);
  assert.notDeepEqual(p1[1], p3[1]);
  assert.deepEqual(
    Array.from(p1[0]),
    Array.from({ length: 784 }, (_, i) => i),
  );
  assert.notDeepEqual(p1[1], p1[2]);
  const s = permuted(data, { tasks: 3, seed: 7 });
  const original = data.train.inputs.subarray(0, 784);
  const moved = s.tasks[2].train.inputs.subarray(0, 784);
  for (let i = 0; i < 784; i++) assert.equal(moved[i], original[p1[2][i]]);
  assert.deepEqual(s.tasks[1].train.labels, data.train.labels);
});

test('rotation by 0° is the identity and by 90° turns the image a quarter', () => {
  const image: Dataset = {
    inputs: new Float32Array(9).map((_, i) => i + 1),
    shape: [1, 3, 3, 1],
    labels: new Int32Array([0]),
    classNames: ['x'],
  };
  assert.deepEqual(Array.from(rotateImages(image, 0).inputs), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const turned = Array.from(rotateImages(image, 90).inputs).map((v) => Math.round(v * 1e4) / 1e4);
  // Counter-clockwise in image coordinates: the top row 1 2 3 becomes the left column, read upwards.
  assert.deepEqual(turned, [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  const s = rotated(data, { tasks: 4 });
  assert.deepEqual(
    s.tasks.map((t) => t.name),
    ['task 1 (0°)', 'task 2 (45°)', 'task 3 (90°)', 'task 4 (135°)'],
  );
  assert.throws(() => rotated(data, { tasks: 3, angles: [0, 90] }), /one angle per task/);
});

test('transfer keeps the old task first and refuses examples of another shape', async () => {
  const s = await mnistTransfer({ setting: 'class' });
  assert.deepEqual(
    s.tasks.map((t) => t.classes),
    [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ],
  );
  assert.deepEqual(headSizes(s), [10]);
  const small: Dataset = {
    inputs: new Float32Array(4),
    shape: [1, 2, 2, 1],
    labels: new Int32Array([0]),
    classNames: ['a'],
  };
  assert.throws(
    () => transfer({ data }, { data: { train: small, test: small } }),
    (e: Error) => e instanceof DataError && /\[28,28,1\].*\[2,2,1\]/.test(e.message),
  );
  assert.throws(() => transfer({ data, classes: [11] }, { data }), /class 11 does not exist/);
});

test('a dataset with a label out of range is refused with the index', () => {
  const bad: Dataset = {
    inputs: new Float32Array(8),
    shape: [2, 2, 2, 1],
    labels: new Int32Array([0, 12]),
    classNames: ['a', 'b'],
  };
  assert.throws(
    () => split({ train: bad, test: bad }, { tasks: 1 }),
    /labels must be integers in \[0, 2\); got 12 at index 1/,
  );
});
