import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/data/mnist.js';
import { validateDataset, exampleSize } from '../../src/data/dataset.js';

test('the bundled MNIST splits each digit 80/20 in package order', () => {
  const { train, test: testSet } = loadMnist();
  validateDataset(train, 'train');
  validateDataset(testSet, 'test');
  assert.equal(train.shape[0] + testSet.shape[0], 10000);
  assert.deepEqual(train.shape.slice(1), [28, 28, 1]);
  assert.equal(exampleSize(train), 784);
  const counts = new Array(10).fill(0);
  for (const y of train.labels) counts[y]++;
  // The package holds 1001 zeros and 1127 ones: 80% of each, rounded down.
  assert.equal(counts[0], 800);
  assert.equal(counts[1], 901);
  let max = 0;
  for (const v of train.inputs) max = Math.max(max, v);
  assert.ok(max <= 1 && max > 0.9, `pixels are in [0, 1]; max ${max}`);
});
