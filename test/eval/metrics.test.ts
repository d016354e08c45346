import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averageAccuracy,
  backwardTransfer,
  forgetting,
  forwardTransfer,
  metrics,
} from '../../src/eval/metrics.js';

// R[i][j]: accuracy on task j after training task i.
const R = [
  [0.9, 0.2, 0.1],
  [0.7, 0.8, 0.3],
  [0.6, 0.75, 0.95],
];
const b = [0.1, 0.15, 0.2];

test('average accuracy is the mean of the last row', () => {
  assert.ok(Math.abs(averageAccuracy(R) - (0.6 + 0.75 + 0.95) / 3) < 1e-12);
});

test('backward transfer compares the last row with the diagonal', () => {
  // ((0.6 - 0.9) + (0.75 - 0.8)) / 2 = -0.175
  assert.ok(Math.abs((backwardTransfer(R) ?? NaN) - -0.175) < 1e-12);
});

test('forward transfer compares the entry above the diagonal with the untrained accuracy', () => {
  // ((0.2 - 0.15) + (0.3 - 0.2)) / 2 = 0.075
  assert.ok(Math.abs((forwardTransfer(R, b) ?? NaN) - 0.075) < 1e-12);
});

test("forgetting is the drop from each earlier task's best accuracy", () => {
  // task 0: best of 0.9, 0.7 is 0.9 → 0.3; task 1: best 0.8 → 0.05; mean 0.175
  assert.ok(Math.abs((forgetting(R) ?? NaN) - 0.175) < 1e-12);
  // A task that improves after it was learned counts its best, not its first, accuracy.
  const later = [
    [0.5, 0, 0],
    [0.9, 0.8, 0],
    [0.6, 0.8, 0.7],
  ];
  assert.ok(Math.abs((forgetting(later) ?? NaN) - (0.3 + 0) / 2) < 1e-12);
  assert.ok(Math.abs((backwardTransfer(later) ?? NaN) - (0.1 + 0) / 2) < 1e-12);
});

test('a single task has no transfer or forgetting, and a ragged matrix is refused', () => {
  const m = metrics([[0.8]], [0.1]);
  assert.equal(m.averageAccuracy, 0.8);
  assert.equal(m.backwardTransfer, null);
  assert.equal(m.forwardTransfer, null);
  assert.equal(m.forgetting, null);
  assert.throws(() => averageAccuracy([[1, 0], [1]]), /T×T/);
});
