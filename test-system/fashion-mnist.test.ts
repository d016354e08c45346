import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fashionMnistClassNames, loadFashionMnist } from '../src/data/idx.js';
import { validateDataset } from '../src/data/dataset.js';

// Needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist); run with `npm run test:system`.
test('the real Fashion-MNIST: 60,000 + 10,000 images of 28×28, balanced classes, values in [0, 1]', async () => {
  const { train, test: testSet } = await loadFashionMnist();
  validateDataset(train, 'train');
  validateDataset(testSet, 'test');
  assert.deepEqual(train.shape, [60000, 28, 28, 1]);
  assert.deepEqual(testSet.shape, [10000, 28, 28, 1]);
  assert.deepEqual(train.classNames, fashionMnistClassNames);
  assert.equal(train.classNames[9], 'Ankle boot');
  const trainCounts = new Array(10).fill(0);
  for (const y of train.labels) trainCounts[y]++;
  assert.deepEqual(trainCounts, new Array(10).fill(6000));
  const testCounts = new Array(10).fill(0);
  for (const y of testSet.labels) testCounts[y]++;
  assert.deepEqual(testCounts, new Array(10).fill(1000));
  // The first training image of the set is an ankle boot (label 9).
  assert.equal(train.labels[0], 9);
  for (const set of [train, testSet]) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of set.inputs) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
  }
});
