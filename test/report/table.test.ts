import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../../src/report/summary.js';
import {
  comparisonMarkdown,
  comparisonRows,
  comparisonTable,
  criteria,
  formatBytes,
  formatStat,
} from '../../src/report/table.js';
import { fakeRecord } from './fixtures.js';

test('the table has the criteria as rows and one column per method', () => {
  const summary = summarize([
    fakeRecord('finetune', 0, [
      [0.9, 0.2],
      [0.5, 0.95],
    ]),
    fakeRecord('finetune', 1, [
      [0.9, 0.2],
      [0.7, 0.97],
    ]),
    fakeRecord(
      'packnet',
      0,
      [
        [0.9, 0.2],
        [0.9, 0.9],
      ],
      { strategyBytes: 3 * 1024 * 1024 },
    ),
    fakeRecord(
      'packnet',
      1,
      [
        [0.9, 0.2],
        [0.9, 0.9],
      ],
      { strategyBytes: 3 * 1024 * 1024 },
    ),
  ]);
  const rows = comparisonRows(summary);
  assert.deepEqual(rows[0], ['criterion', 'finetune', 'packnet']);
  assert.deepEqual(
    rows.map((r) => r[0]),
    [
      'criterion',
      'new task (% on the last task)',
      'old tasks (% on the earlier ones)',
      'training time (s)',
      'test time (µs per example)',
      'memory (extra bytes kept)',
      'needs old data',
      'average accuracy ACC (%)',
      'backward transfer BWT (pp)',
      'forward transfer FWT (pp)',
      'forgetting (pp)',
    ],
  );
  const row = (label: string) => rows.find((r) => r[0].startsWith(label)) ?? [];
  assert.deepEqual(row('new task'), ['new task (% on the last task)', '96.0 ± 1.4', '90.0 ± 0.0']);
  assert.deepEqual(row('old tasks').slice(1), ['60.0 ± 14.1', '90.0 ± 0.0']);
  assert.deepEqual(row('memory').slice(1), ['0 B', '3.0 MiB']);
  assert.deepEqual(row('backward').slice(1), ['-30.0 ± 14.1', '+0.0 ± 0.0']);
  const text = comparisonTable(summary);
  const lines = text.split('\n');
  assert.match(
    lines[0],
    /^mnist-transfer, task-incremental; mlp 400-400, 2 epochs per task, batch 128; mean ± std over 2 seeds \(0, 1\); backend cpu$/,
  );
  const header = lines.find((l) => l.startsWith('criterion')) ?? '';
  assert.match(header, /^criterion\s+finetune\s+packnet$/);
  // Every row is as wide as the header: the columns line up.
  const body = lines.slice(2);
  assert.ok(
    body.every((l) => l.length === header.length),
    body.join('\n'),
  );
});

test('formats', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatStat(criteria[0], null), '-');
  assert.equal(formatStat(criteria[0], { mean: 0.5, std: null, n: 1 }), '50.0');
});

test('the Markdown table has the same rows and a right-aligned column per method', () => {
  const summary = summarize([
    fakeRecord('finetune', 0, [
      [0.9, 0.2],
      [0.5, 0.95],
    ]),
    fakeRecord('joint', 0, [
      [0.9, 0.2],
      [0.9, 0.9],
    ]),
  ]);
  const lines = comparisonMarkdown(summary).trim().split('\n');
  assert.match(lines[0], /^\*mnist-transfer, task-incremental; .*seed 0; backend cpu\*$/);
  assert.equal(lines[2], '| criterion | finetune | joint |');
  assert.equal(lines[3], '| --- | ---: | ---: |');
  assert.equal(lines[4], '| new task (% on the last task) | 95.0 | 90.0 |');
  assert.equal(lines.length, 3 + comparisonRows(summary).length);
});
