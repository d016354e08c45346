import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incompleteReason, readRunRecords, readSavedRun, saveRun } from '../../src/experiments/store.js';
import { fakeRecord } from '../report/fixtures.js';

test('a run is done only when its file parses and is complete', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-store-'));
  try {
    const record = fakeRecord('finetune', 0, [
      [0.9, 0.1],
      [0.5, 0.9],
    ]);
    assert.deepEqual(await readSavedRun(folder, 'finetune-seed0'), { status: 'missing' });
    const path = await saveRun(folder, record);
    assert.equal(path, join(folder, 'finetune-seed0.json'));
    assert.deepEqual(await readdir(folder), ['finetune-seed0.json'], 'no temporary file is left behind');
    const done = await readSavedRun(folder, 'finetune-seed0');
    assert.equal(done.status, 'done');
    assert.deepEqual(done.status === 'done' && done.record, record);

    // Half a file (a crash while writing without the atomic rename) is not read as whole.
    const text = JSON.stringify(record);
    await writeFile(path, text.slice(0, text.length / 2));
    assert.deepEqual(await readSavedRun(folder, 'finetune-seed0'), {
      status: 'unusable',
      reason: 'it is not valid JSON (half-written?)',
    });
    // A record of the wrong run in the file.
    await saveRun(
      folder,
      fakeRecord('joint', 0, [
        [1, 0],
        [1, 1],
      ]),
    );
    await writeFile(
      path,
      JSON.stringify(
        fakeRecord('joint', 0, [
          [1, 0],
          [1, 1],
        ]),
      ),
    );
    assert.deepEqual(await readSavedRun(folder, 'finetune-seed0'), {
      status: 'unusable',
      reason: 'it holds run joint-seed0',
    });
    await writeFile(join(folder, 'comparison.json'), JSON.stringify({ format: 'unforget-comparison' }));
    await writeFile(join(folder, 'broken.json'), '{');
    const all = await readRunRecords(folder);
    assert.deepEqual(
      all.records.map((r) => r.spec.id),
      ['joint-seed0'],
    );
    assert.deepEqual(all.skipped, [
      { file: 'broken.json', reason: 'it is not valid JSON' },
      { file: 'finetune-seed0.json', reason: 'it holds run joint-seed0' },
    ]);
  } finally {
    await rm(folder, { recursive: true });
  }
});

test('incompleteReason catches stopped, partial and malformed results', () => {
  const good = fakeRecord('finetune', 0, [
    [0.9, 0.1],
    [0.5, 0.9],
  ]);
  assert.equal(incompleteReason(good), null);
  const change = (f: (r: ReturnType<typeof fakeRecord>) => void) => {
    const r = structuredClone(good);
    f(r);
    return incompleteReason(r);
  };
  assert.equal(incompleteReason(null), 'it is not an unforget run record');
  assert.match(change((r) => (r.result.stopped = true)) ?? '', /stopped before the last task/);
  assert.match(change((r) => r.result.accuracyMatrix.pop()) ?? '', /does not have 2 rows/);
  assert.match(change((r) => (r.result.accuracyMatrix[1][1] = 1.5)) ?? '', /not 2×2 accuracies/);
  assert.match(change((r) => (r.result.metrics = null)) ?? '', /no metrics/);
  assert.match(change((r) => r.result.cost.trainMs.pop()) ?? '', /costs are missing/);
  assert.match(change((r) => (r.result.training.seed = 5)) ?? '', /seed does not match/);
  assert.match(change((r) => (r.result.strategy = 'joint')) ?? '', /strategy does not match/);
});
