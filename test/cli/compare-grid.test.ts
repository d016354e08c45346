import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { RunRecord } from '../../src/experiments/store.js';
import { readComparison } from '../../src/report/write.js';
import { comparisonTable } from '../../src/report/table.js';
import { unforget } from './spawn.js';

test('compare --grid --choose validation: every grid point saved, the table shows the one validation chose', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-cli-grid-'));
  try {
    const args = [
      'compare',
      '--strategies',
      'finetune',
      '--grid',
      'finetune.learningRate=1e-5,1e-2',
      '--choose',
      'validation',
      '--seeds',
      '1',
      '--hidden',
      '16',
      '--iterations',
      '20',
      '--batch-size',
      '32',
      '--workers',
      '1',
      '--results',
      folder,
    ];
    const first = await unforget(...args);
    assert.equal(first.code, 0, first.stderr);
    const ids = ['finetune-learningRate=1e-5-seed0', 'finetune-learningRate=0.01-seed0'];
    assert.deepEqual(
      (await readdir(folder)).sort(),
      [
        'comparison.csv',
        'comparison.json',
        ...ids.map((id) => `${id}.json`),
        'report.html',
        'table.md',
      ].sort(),
    );
    const records = await Promise.all(
      ids.map(async (id) => JSON.parse(await readFile(join(folder, `${id}.json`), 'utf8')) as RunRecord),
    );
    assert.ok(records.every((r) => r.spec.validation === 0.1 && r.result.validation?.fraction === 0.1));
    const validation = records.map((r) => r.result.validation?.averageAccuracy ?? NaN);
    const best = records[validation.indexOf(Math.max(...validation))];
    const value = best.spec.grid?.learningRate === 1e-5 ? '1e-5' : '0.01';
    const acc = (100 * (best.result.metrics?.averageAccuracy ?? NaN)).toFixed(1);

    // What `unforget report` prints, from the folder alone (the choice is read back from comparison.json).
    const reread = comparisonTable((await readComparison(folder)).summary);
    for (const out of [first.stdout, reread]) {
      assert.match(out, new RegExp(`^criterion\\s+finetune learningRate=${value}$`, 'm'));
      assert.match(out, new RegExp(`^options chosen on validation\\s+learningRate=${value}$`, 'm'));
      assert.match(out, new RegExp(`^average accuracy ACC on test data \\(%\\)\\s+${acc}$`, 'm'));
      assert.match(
        out,
        /validation split of 10% of each task's training data; test data never used for choosing/,
      );
    }
    const csv = (await readFile(join(folder, 'comparison.csv'), 'utf8')).trim().split('\n');
    // Counted from the end: the options' JSON before it may hold commas.
    const header = csv[0].split(',');
    const chosen = (line: string) => line.split(',').at(header.indexOf('chosen') - header.length);
    assert.deepEqual(
      csv.slice(1).map((l) => [l.split(',')[0], chosen(l)]),
      ids.map((id) => [id, id === best.spec.id ? 'yes' : 'no']),
    );
    const html = await readFile(join(folder, 'report.html'), 'utf8');
    assert.match(html, /Accuracy against each gridded option/);
    assert.match(html, /<div class="chart" id="grid-0"/);
    assert.match(html, /test data never used for choosing/);
  } finally {
    await rm(folder, { recursive: true });
  }
});

test('compare: a grid it cannot run fails with a message that says what to fix', async () => {
  const { compareCommand } = await import('../../src/cli/compare.js');
  const run = (...args: string[]) =>
    compareCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} })
      .parseAsync(args, { from: 'user' }) as Promise<Command>;
  const noProgress = ['--no-progress', '--results', join(tmpdir(), 'unforget-grid-never-written')];
  await assert.rejects(
    run('--strategies', 'finetune', '--grid', 'ewc.lambda=1,2', ...noProgress),
    /there is a grid for ewc, which is not compared \(finetune\): add it to the strategies or drop its grid/,
  );
  await assert.rejects(
    run('--strategies', 'ewc', '--grid', 'ewc.lamda=1,2', ...noProgress),
    /the ewc strategy has no option 'lamda'; its options are: .*lambda/,
  );
  await assert.rejects(
    run('--strategies', 'ewc', '--grid', 'ewc.lambda=1,2', '--lambda', '5', ...noProgress),
    /--lambda fixes lambda and --grid ewc\.lambda=… tries several values of it; drop one of them/,
  );
  await assert.rejects(
    run('--strategies', 'ewc', '--grid', 'ewc.lambda=1,many', ...noProgress),
    /the grid of ewc\.lambda: lambda must be a number; got 'many'/,
  );
  await assert.rejects(
    run('--choose', 'test'),
    /argument 'test' is invalid\. Allowed choices are validation/,
  );
  await assert.rejects(
    run('--validation', '1.5'),
    /expected a share between 0 and 1, e\.g\. 0\.1 for 10%; got '1\.5'/,
  );
});
