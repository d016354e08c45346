import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recordAll, type Recorded } from '../../scripts/record-matrices.js';

// Recorded by scripts/record-matrices.ts on the commit before `learn` existed (train had its own loop):
// the same seeds must give the same accuracy matrices and outputs, bit for bit, now that train is
// learn's training task after task. On the cpu backend (set by recordAll), so the numbers do not
// depend on the wasm kernels.
test('train gives every strategy the accuracy matrix and outputs it gave before learn existed', async () => {
  const fixture = join(import.meta.dirname, '..', 'fixtures', 'matrices-before.json');
  const before = JSON.parse(await readFile(fixture, 'utf8')) as Record<string, Recorded>;
  // The strategies recorded then (later ones, e.g. replay and si, have no earlier numbers to match).
  const names = [...new Set(Object.keys(before).map((key) => key.split('/')[0]))];
  const now = await recordAll(undefined, names);
  assert.deepEqual(Object.keys(now).sort(), Object.keys(before).sort());
  for (const [key, expected] of Object.entries(before)) {
    assert.deepEqual(now[key].accuracyMatrix, expected.accuracyMatrix, `${key}: accuracy matrix`);
    assert.deepEqual(now[key].initialAccuracy, expected.initialAccuracy, `${key}: initial accuracy`);
    assert.deepEqual(now[key].logits, expected.logits, `${key}: outputs after the last task`);
  }
});
