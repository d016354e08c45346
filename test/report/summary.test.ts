import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, summarize } from '../../src/report/summary.js';
import { fakeRecord } from './fixtures.js';

test('stat is the mean and the sample standard deviation', () => {
  const s = stat([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs((s.std ?? 0) - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(s.n, 4);
  assert.equal(stat([7]).std, null);
  assert.throws(() => stat([]), RangeError);
});

test('summarize groups runs by strategy and reduces each criterion over seeds', () => {
  const records = [
    fakeRecord(
      'finetune',
      0,
      [
        [0.9, 0.2],
        [0.5, 0.95],
      ],
      { trainMs: [1000, 3000] },
    ),
    fakeRecord(
      'joint',
      0,
      [
        [0.9, 0.2],
        [0.88, 0.9],
      ],
      { needsOldData: true, strategyBytes: 10 },
    ),
    fakeRecord(
      'finetune',
      1,
      [
        [0.8, 0.2],
        [0.7, 0.85],
      ],
      { trainMs: [2000, 2000] },
    ),
  ];
  const s = summarize(records, ['joint']);
  assert.deepEqual(
    s.methods.map((m) => m.strategy),
    ['joint', 'finetune'],
  );
  const f = s.methods[1];
  assert.deepEqual(f.seeds, [0, 1]);
  assert.ok(Math.abs(f.newTask.mean - 0.9) < 1e-12);
  assert.ok(Math.abs((f.newTask.std ?? 0) - Math.sqrt(0.005)) < 1e-12);
  assert.ok(Math.abs((f.oldTasks?.mean ?? 0) - 0.6) < 1e-12);
  assert.equal(f.trainSeconds.mean, 4);
  assert.equal(f.trainSeconds.std, 0);
  // BWT = R[1][0] − R[0][0]: −0.4 and −0.1.
  assert.ok(Math.abs((f.backwardTransfer?.mean ?? 0) + 0.25) < 1e-12);
  assert.ok(Math.abs((f.forgetting?.mean ?? 0) - 0.25) < 1e-12);
  assert.ok(Math.abs(f.accuracyMatrix[1][0].mean - 0.6) < 1e-12);
  const j = s.methods[0];
  assert.equal(j.needsOldData, true);
  assert.equal(j.strategyBytes.mean, 10);
  assert.equal(j.newTask.std, null);
  assert.deepEqual(s.seeds, [0, 1]);
  assert.equal(s.budget, '2 epochs per task, batch 128');
  assert.equal(s.backbone, 'mlp 400-400');
});

test('summarize refuses runs of different setups', () => {
  const other = fakeRecord('joint', 0, [
    [1, 0],
    [1, 1],
  ]);
  other.result.training.epochs = 4;
  assert.throws(
    () =>
      summarize([
        fakeRecord('finetune', 0, [
          [1, 0],
          [1, 1],
        ]),
        other,
      ]),
    /different setups .*2 epochs.* vs .*4 epochs.*own results folder/,
  );
  assert.throws(() => summarize([]), /no finished runs/);
});
