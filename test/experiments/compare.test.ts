import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { compare, type RunOutcome } from '../../src/experiments/compare.js';
import type { ComparisonOptions } from '../../src/experiments/plan.js';
import type { RunRecord } from '../../src/experiments/store.js';
import { testBackend } from '../helpers.js';

const options: ComparisonOptions = {
  scenario: 'mnist-transfer',
  setting: 'task',
  strategies: ['finetune', 'Joint'],
  seeds: [0, 1],
  backbone: { kind: 'mlp', hidden: [16] },
  iterations: 6,
  batchSize: 32,
};

test('compare runs strategy × seed, saves each run, resumes, and redoes what is not whole', async () => {
  const backend = (await testBackend()) as 'cpu';
  const opts = { ...options, backend };
  const folder = await mkdtemp(join(tmpdir(), 'unforget-compare-'));
  try {
    const ended: string[] = [];
    const before = tf.memory().numTensors;
    const first = await compare(opts, {
      folder,
      workers: 0,
      hooks: { onRunEnd: (spec, _w, o: RunOutcome) => ended.push(`${spec.id}:${o.status}`) },
    });
    assert.equal(tf.memory().numTensors, before, 'every tensor of the runs is disposed');
    assert.deepEqual(ended, [
      'finetune-seed0:done',
      'joint-seed0:done',
      'finetune-seed1:done',
      'joint-seed1:done',
    ]);
    assert.equal(first.ran, 4);
    assert.equal(first.skipped, 0);
    assert.equal(first.stopped, false);
    assert.deepEqual(
      first.records.map((r) => r.spec.id),
      ['finetune-seed0', 'joint-seed0', 'finetune-seed1', 'joint-seed1'],
    );
    assert.deepEqual((await readdir(folder)).sort(), [
      'comparison.csv',
      'comparison.json',
      'finetune-seed0.json',
      'finetune-seed1.json',
      'joint-seed0.json',
      'joint-seed1.json',
    ]);
    const csv = (await readFile(first.csvPath, 'utf8')).trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[1], /^finetune-seed0,finetune,0,mnist-transfer,task,mlp 16,,6,32,/);
    const saved = JSON.parse(await readFile(join(folder, 'finetune-seed1.json'), 'utf8')) as RunRecord;
    assert.equal(saved.result.training.seed, 1);
    assert.equal(saved.result.accuracyMatrix.length, 2);
    assert.equal(saved.spec.strategy, 'finetune');

    // A second call finds everything done.
    const again = await compare(opts, { folder, workers: 0 });
    assert.equal(again.ran, 0);
    assert.equal(again.skipped, 4);

    // A half-written file and a stopped run are redone, not read; the redone run gives the same numbers.
    const path = join(folder, 'finetune-seed1.json');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, 200));
    const stopped = JSON.parse(await readFile(join(folder, 'joint-seed0.json'), 'utf8')) as RunRecord;
    stopped.result.stopped = true;
    await writeFile(join(folder, 'joint-seed0.json'), JSON.stringify(stopped));
    const redo: string[] = [];
    const third = await compare(opts, {
      folder,
      workers: 0,
      hooks: { onPlan: (p) => redo.push(...p.redo.map((r) => `${r.spec.id}: ${r.reason}`)) },
    });
    assert.deepEqual(redo, [
      'joint-seed0: its training was stopped before the last task',
      'finetune-seed1: it is not valid JSON (half-written?)',
    ]);
    assert.equal(third.ran, 2);
    assert.equal(third.skipped, 2);
    const redone = JSON.parse(await readFile(path, 'utf8')) as RunRecord;
    assert.deepEqual(redone.result.accuracyMatrix, saved.result.accuracyMatrix);

    // Another budget in the same folder is refused rather than mixed in.
    await assert.rejects(
      compare({ ...opts, iterations: 7 }, { folder, workers: 0 }),
      /finetune-seed0\.json is a run of a different comparison \(iterations: 6 saved, 7 now\); give another --results folder/,
    );
  } finally {
    await rm(folder, { recursive: true });
  }
});

test('a stopped comparison saves nothing of the run it stopped', async () => {
  const backend = (await testBackend()) as 'cpu';
  const folder = await mkdtemp(join(tmpdir(), 'unforget-compare-'));
  try {
    const controller = new AbortController();
    const out = await compare(
      { ...options, backend, strategies: ['finetune'], seeds: [0] },
      {
        folder,
        workers: 0,
        signal: controller.signal,
        hooks: { onRunProgress: (_s, _w, p) => p.task === 1 && controller.abort() },
      },
    );
    assert.equal(out.stopped, true);
    assert.equal(out.ran, 0);
    assert.deepEqual((await readdir(folder)).sort(), ['comparison.csv', 'comparison.json']);
  } finally {
    await rm(folder, { recursive: true });
  }
});

test('unknown strategies and bad worker counts fail before anything runs', async () => {
  await assert.rejects(
    compare({ ...options, strategies: ['magic'] }, { folder: 'unused' }),
    /unknown strategy 'magic'/,
  );
  await assert.rejects(
    compare(options, { folder: 'unused', workers: -1 }),
    /workers must be a whole number ≥ 0/,
  );
});

test('a run that fails is reported and left undone; the other runs go on', async () => {
  const backend = (await testBackend()) as 'cpu';
  const folder = await mkdtemp(join(tmpdir(), 'unforget-compare-'));
  try {
    const out = await compare(
      // A learning rate this large makes the loss overflow at once: the loop throws a DivergenceError.
      {
        ...options,
        backend,
        seeds: [0],
        strategyOptions: { finetune: { learningRate: 1e30 } },
      },
      { folder, workers: 0 },
    );
    assert.deepEqual(
      out.failed.map((f) => [f.spec.id, f.error.name]),
      [['finetune-seed0', 'DivergenceError']],
    );
    assert.deepEqual(
      out.records.map((r) => r.spec.id),
      ['joint-seed0'],
    );
    assert.deepEqual((await readdir(folder)).sort(), [
      'comparison.csv',
      'comparison.json',
      'joint-seed0.json',
    ]);
  } finally {
    await rm(folder, { recursive: true });
  }
});
