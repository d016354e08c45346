import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subset, withClasses, type Dataset } from '../../src/data/dataset.js';

/** Six examples of 2×2×1, stored class by class (0, 0, 1, 1, 2, 2), example i holding 10i + pixel. */
const data: Dataset = {
  inputs: Float32Array.from({ length: 24 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4)),
  labels: Int32Array.from([0, 0, 1, 1, 2, 2]),
  shape: [6, 2, 2, 1],
  classNames: ['a', 'b', 'c'],
};

test('subset gives the examples asked for, in order; a consecutive run shares the inputs, others are copied', () => {
  for (const indices of [[2, 3, 4], [4, 1], [0], [5, 4, 3], []]) {
    const s = subset(data, indices);
    assert.deepEqual(s.shape, [indices.length, 2, 2, 1]);
    assert.deepEqual(
      [...s.labels],
      indices.map((i) => data.labels[i]),
    );
    assert.deepEqual(
      [...s.inputs],
      indices.flatMap((i) => [0, 1, 2, 3].map((p) => 10 * i + p)),
    );
    const run = indices.length > 0 && indices.every((v, i) => v === indices[0] + i);
    assert.equal(s.inputs.buffer === data.inputs.buffer, run, `[${indices}] shares the inputs: ${run}`);
    // Labels are always the subset's own.
    assert.notEqual(s.labels.buffer, data.labels.buffer);
  }
  // One class of data stored class by class is a run.
  const b = withClasses(data, [1]);
  assert.equal(b.inputs.buffer, data.inputs.buffer);
  assert.deepEqual([...b.inputs], [20, 21, 22, 23, 30, 31, 32, 33]);
});
