import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../../src/data/dataset.js';
import { fitDataset, imageLayout, matchClasses } from '../../src/data/fit.js';
import { loadDataSpec, parseDataSpec } from '../../src/data/spec.js';
import { DataError } from '../../src/errors.js';

const images = (count: number, shape: number[], fill: (i: number) => number): Dataset => {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    inputs: Float32Array.from({ length: count * size }, (_, i) => fill(i)),
    shape: [count, ...shape],
    labels: Int32Array.from({ length: count }, (_, i) => i % 2),
    classNames: ['cat', 'dog'],
  };
};

test('imageLayout reads image-like input shapes, flat square ones included', () => {
  assert.deepEqual(imageLayout([28, 28, 1]), { height: 28, width: 28, channels: 1, shape: [28, 28, 1] });
  assert.deepEqual(imageLayout([784]), { height: 28, width: 28, channels: 1, shape: [784] });
  assert.deepEqual(imageLayout([3 * 32 * 32]), { height: 32, width: 32, channels: 3, shape: [3072] });
  assert.equal(imageLayout([10]), null);
  assert.equal(imageLayout([4, 4, 2]), null);
});

test('fitDataset keeps, reshapes or resizes, and says what it did', () => {
  const d = images(2, [4, 4, 1], (i) => (i % 16) / 16);
  assert.equal(fitDataset(d, [4, 4, 1]).data, d);
  const flat = fitDataset(d, [16]);
  assert.deepEqual(flat.data.shape, [2, 16]);
  assert.equal(flat.data.inputs, d.inputs);
  assert.equal(flat.note, 'reshaped [4, 4, 1] → [16]');
  const bigger = fitDataset(d, [8, 8, 3]);
  assert.deepEqual(bigger.data.shape, [2, 8, 8, 3]);
  assert.equal(bigger.note, 'resized 4×4 grayscale → 8×8 RGB');
  // A constant image stays constant through resizing; gray → RGB copies the value to every channel.
  const flatGray = fitDataset(
    images(1, [4, 4, 1], () => 0.5),
    [2, 2, 3],
  ).data.inputs;
  assert.ok(flatGray.every((v) => Math.abs(v - 0.5) < 1e-6));
  const rgb = fitDataset(
    images(1, [2, 2, 3], (i) => [1, 0, 0][i % 3]),
    [2, 2, 1],
  ).data.inputs;
  assert.ok(
    rgb.every((v) => Math.abs(v - 0.2989) < 1e-6),
    'red as TensorFlow weighs it',
  );
  assert.throws(
    () => fitDataset(d, [10], 'mine'),
    (e: unknown) =>
      e instanceof DataError && /mine has examples of shape \[4, 4, 1\].*\[10\]/.test(e.message),
  );
});

test('matchClasses relabels by class name and names a class the task lacks', () => {
  const d = images(4, [1], () => 0);
  const task = { name: 't', classes: [5, 7], classNames: ['dog', 'cat'] };
  const m = matchClasses(d, task);
  assert.deepEqual([...m.labels], [7, 5, 7, 5]);
  assert.equal(m.classNames[5], 'dog');
  assert.equal(m.classNames[7], 'cat');
  assert.throws(
    () => matchClasses(d, { name: 't', classes: [0, 1], classNames: ['dog', 'bird'] }),
    /the class 'cat', which task 't' does not have; its classes are: dog, bird/,
  );
});

test('parseDataSpec: built-in sets with class ranges and lists, folders, and clear errors', async () => {
  assert.deepEqual(await parseDataSpec('mnist'), { kind: 'mnist', classes: null, source: 'mnist' });
  assert.deepEqual(await parseDataSpec('mnist:5-9'), {
    kind: 'mnist',
    classes: [5, 6, 7, 8, 9],
    source: 'mnist:5-9',
  });
  assert.deepEqual(await parseDataSpec('fashion:0,2,4'), {
    kind: 'fashion',
    classes: [0, 2, 4],
    source: 'fashion:0,2,4',
  });
  await assert.rejects(parseDataSpec('mnist:9-3'), /give a range or a list of classes 0-9/);
  await assert.rejects(parseDataSpec('mnist:12'), /give a range or a list/);
  await assert.rejects(parseDataSpec('no/such/folder'), /unknown data 'no\/such\/folder'/);
  const root = await mkdtemp(join(tmpdir(), 'unforget-spec-'));
  await assert.rejects(parseDataSpec(root), /neither an image folder .* nor a folder of IDX files/);
  await mkdir(join(root, 'cats'));
  assert.deepEqual(await parseDataSpec(root), { kind: 'images', path: root, source: root });
  await rm(root, { recursive: true });
});

test('loadDataSpec selects classes and brings the data to the learner’s shape', async () => {
  const d = await loadDataSpec(await parseDataSpec('mnist:0,1'), { inputShape: [784] });
  assert.deepEqual(d.train.shape.slice(1), [784]);
  assert.deepEqual([...new Set(d.train.labels)].sort(), [0, 1]);
  assert.match(d.notes[0], /^2 classes \(0, 1\), \d+ training and \d+ test examples$/);
  assert.equal(d.notes[1], 'reshaped [28, 28, 1] → [784]');
});
