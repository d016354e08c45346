import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonCsv } from '../../src/experiments/csv.js';
import { fakeRecord } from '../report/fixtures.js';

test('the CSV has one row per run, the metrics, the costs and the accuracy matrix', () => {
  const a = fakeRecord('finetune', 0, [
    [0.9, 0.1],
    [0.5, 0.8],
  ]);
  a.result.strategyOptions = { optimizer: 'adam', note: 'a "quoted", text' };
  const csv = comparisonCsv([
    a,
    fakeRecord('joint', 2, [
      [0.9, 0.1],
      [0.85, 0.8],
    ]),
  ]);
  const [header, first, second, end] = csv.split('\n');
  const columns = header.split(',');
  assert.deepEqual(columns.slice(0, 3), ['run', 'strategy', 'seed']);
  assert.deepEqual(columns.slice(-4), ['R1_1', 'R1_2', 'R2_1', 'R2_2']);
  assert.equal(end, '');
  const at = (row: string, name: string) => row.split(',')[columns.indexOf(name)];
  assert.equal(at(second, 'seed'), '2');
  assert.equal(at(second, 'R2_1'), '0.85');
  assert.equal(at(second, 'old_tasks_accuracy'), '0.85');
  assert.equal(at(second, 'new_task_accuracy'), '0.8');
  assert.equal(at(second, 'train_ms'), '2000');
  assert.match(first, /"\{""optimizer"":""adam"",""note"":""a \\""quoted\\"", text""\}"/);
});
