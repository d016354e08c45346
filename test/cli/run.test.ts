import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cli, unforget } from './spawn.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../src/eval/result.js';
import { loadLearner } from '../../src/persist/save.js';
import { testBackend } from '../helpers.js';

before(testBackend);

test('run prints the accuracy matrix and writes the result as JSON', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-cli-'));
  const output = join(folder, 'nested', 'run.json');
  const r = await unforget(
    'run',
    '--scenario',
    'split-mnist',
    '--tasks',
    '2',
    '--hidden',
    '32',
    '--iterations',
    '20',
    '--batch-size',
    '64',
    '--strategy',
    'finetune',
    '--learning-rate',
    '0.003',
    '--output',
    output,
    '--save',
    join(folder, 'model'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /using the TensorFlow.js '\w+' backend/);
  assert.match(r.stdout, /Test accuracy \(row: after training task i; column: task j\)/);
  assert.match(r.stdout, /average accuracy\s+\d+\.\d%/);
  assert.match(r.stdout, /learningRate=0.003/);
  const saved = JSON.parse(await readFile(output, 'utf8')) as RunResult;
  assert.equal(saved.strategy, 'finetune');
  assert.equal(saved.accuracyMatrix.length, 2);
  assert.equal(saved.training.iterations, 20);
  assert.ok(saved.accuracyMatrix[1][1] > 0.5, `second task ${saved.accuracyMatrix[1][1]}`);
  assert.match(r.stdout, /model saved to /);
  const { learner, strategy } = await loadLearner(join(folder, 'model'));
  assert.equal(learner.trainedTasks, 2);
  assert.equal(strategy?.name, 'finetune');
  learner.dispose();
  await rm(folder, { recursive: true });
});

test('--infer-task both adds the accuracy without the task label, and is refused outside the task setting', async () => {
  const r = await unforget(
    'run',
    '--tasks',
    '2',
    '--hidden',
    '16',
    '--iterations',
    '5',
    '--strategy',
    'packnet',
    '--infer-task',
    'both',
    '--infer-batch',
    '32',
    '--no-progress',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /average accuracy \(task label given\)\s+\d+\.\d%/);
  assert.match(r.stdout, /accuracy without the task label \(per example\)\s+\d+\.\d%/);
  assert.match(r.stdout, /task inferred right \(per batch of 32\)\s+\d+\.\d%/);
  const refused = await unforget('run', '--setting', 'class', '--infer-task', 'batch');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--infer-task is for the task setting/);
});

test('--json prints the result instead of the table', async () => {
  const r = await unforget(
    'run',
    '--tasks',
    '2',
    '--hidden',
    '8',
    '--iterations',
    '2',
    '--strategy',
    'joint',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.equal(result.strategy, 'joint');
  assert.equal(result.cost.needsOldData, true);
});

test('bad options fail with a message that says what to do', async () => {
  const unknown = await unforget('run', '--epochs-per-task', '3');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown option '--epochs-per-task'/);
  const strategy = await unforget('run', '--strategy', 'magic');
  assert.notEqual(strategy.code, 0);
  assert.match(strategy.stderr, /Allowed choices are finetune, featureExtraction, joint/);
  const wrongOption = await unforget('run', '--strategy', 'joint', '--freeze-layers', '1');
  assert.equal(wrongOption.code, 1);
  assert.match(
    wrongOption.stderr,
    /the joint strategy takes no --freeze-layers; its options are: --learning-rate/,
  );
  const tasks = await unforget('run', '--tasks', '3');
  assert.equal(tasks.code, 1);
  assert.match(tasks.stderr, /10 classes cannot be split evenly into 3 tasks; use tasks = 1, 2, 5$/m);
  const help = await unforget('run', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--learning-rate <value>/);
  assert.match(help.stdout, /Scenarios:/);
});

test('Ctrl-C stops after the current step and still prints what was learned', async () => {
  const child = spawn(
    process.execPath,
    [...cli, 'run', '--tasks', '2', '--hidden', '16', '--epochs', '500', '--no-progress'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    // Once training has started, interrupt it as a terminal's Ctrl-C would.
    if (!interrupted && /backend/.test(stderr)) {
      interrupted = true;
      setTimeout(() => child.kill('SIGINT'), 1500);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  // 130: stopped by Ctrl-C (what was learned is still printed), as a shell reports a SIGINT.
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopping after this step/);
  assert.match(stdout, /\(stopped early\)/);
  assert.match(stdout, /Test accuracy/);
});
