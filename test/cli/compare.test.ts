import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cli, unforget } from './spawn.js';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { RunRecord } from '../../src/experiments/store.js';

const env = { ...process.env, NO_COLOR: '1' };

const tiny = ['--hidden', '16', '--iterations', '8', '--batch-size', '32'];

test('compare: a tiny comparison end to end, then resume and redo of a corrupt result', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-cli-compare-'));
  try {
    const args = ['compare', '--strategies', 'finetune,joint', '--seeds', '2', ...tiny, '--workers', '2'];
    const first = await unforget(...args, '--results', folder);
    assert.equal(first.code, 0, first.stderr);
    const lines = first.stdout.split('\n');
    assert.match(
      lines[0],
      /^mnist-transfer, task-incremental; mlp 16, 8 steps per task, batch 32; mean ± std over 2 seeds \(0, 1\)/,
    );
    assert.match(lines[2], /^criterion\s+finetune\s+joint$/, 'one column per method');
    for (const row of [
      /^new task \(% on the last task\)\s+\d+\.\d ± \d+\.\d\s+\d+\.\d ± \d+\.\d$/m,
      /^old tasks \(% on the earlier ones\)\s+\d+\.\d ± \d+\.\d\s+\d+\.\d ± \d+\.\d$/m,
      /^training time \(s\)\s+\d/m,
      /^test time \(µs per example\)\s+\d/m,
      /^memory \(extra bytes kept\)\s+0 B\s+0 B$/m,
      /^needs old data\s+no\s+yes$/m,
      /^average accuracy ACC \(%\)\s+\d/m,
      /^backward transfer BWT \(pp\)\s+[-+]\d/m,
      /^forward transfer FWT \(pp\)\s+[-+]\d/m,
      /^forgetting \(pp\)\s+-?\d/m,
    ]) {
      assert.match(first.stdout, row);
    }
    assert.match(first.stdout, /4 runs done now, 0 already done/);
    assert.match(first.stderr, /finetune-seed1 done \(\d\/4\): ACC \d+\.\d%/);
    const files = (await readdir(folder)).sort();
    assert.deepEqual(files, [
      'comparison.csv',
      'comparison.json',
      'finetune-seed0.json',
      'finetune-seed1.json',
      'joint-seed0.json',
      'joint-seed1.json',
      'report.html',
      'table.md',
    ]);
    const csv = (await readFile(join(folder, 'comparison.csv'), 'utf8')).trim().split('\n');
    assert.deepEqual(
      csv.slice(1).map((l) => l.split(',')[0]),
      ['finetune-seed0', 'joint-seed0', 'finetune-seed1', 'joint-seed1'],
    );
    const record = JSON.parse(await readFile(join(folder, 'joint-seed1.json'), 'utf8')) as RunRecord;
    assert.equal(record.result.training.seed, 1);
    assert.equal(record.result.training.iterations, 8);
    assert.equal(record.result.cost.needsOldData, true);
    assert.match(record.result.backend, /^(wasm|cpu|tensorflow)$/);
    assert.ok(record.host.cpus >= 1);
    const html = await readFile(join(folder, 'report.html'), 'utf8');
    assert.match(html, /<div class="chart" id="matrix-1"/);

    // Resume: the finished runs are skipped, and a half-written result is redone, not read.
    const path = join(folder, 'finetune-seed1.json');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.length - 40));
    const second = await unforget(...args, '--results', folder);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /3 of 4 runs already done; running the other 1/);
    assert.match(second.stderr, /redoing finetune-seed1: the saved file is unusable \(it is not valid JSON/);
    assert.match(second.stderr, /finetune-seed1 done \(4\/4\)/);
    assert.doesNotMatch(second.stderr, /(joint-seed0|joint-seed1|finetune-seed0) done/);
    assert.match(second.stdout, /1 run done now, 3 already done/);
    assert.match(second.stdout, /^criterion\s+finetune\s+joint$/m);
    const redone = JSON.parse(await readFile(path, 'utf8')) as RunRecord;
    assert.deepEqual(redone.result.accuracyMatrix, (JSON.parse(text) as RunRecord).result.accuracyMatrix);

    // The report command rebuilds the page from the folder.
    const out = join(folder, 'again.html');
    const report = await unforget('report', folder, '--output', out);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /^criterion\s+finetune\s+joint$/m);
    assert.match(report.stdout, /report of 4 runs written to/);
    assert.match(await readFile(out, 'utf8'), /id="unforget-charts"/);
  } finally {
    await rm(folder, { recursive: true });
  }
});

test('compare: Ctrl-C stops cleanly and keeps only the finished runs', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-cli-compare-'));
  try {
    const args = [...cli, 'compare', '--strategies', 'finetune', '--seeds', '2', '--hidden', '16'];
    const budget = ['--iterations', '300', '--batch-size', '16', '--workers', '1', '--results', folder];
    // Its own process group, so that SIGINT reaches the workers too, as Ctrl-C in a terminal does.
    const child = spawn(process.execPath, [...args, ...budget], { env, detached: true });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (/finetune-seed0 done/.test(stderr) && !sent) {
        sent = true;
        process.kill(-(child.pid ?? 0), 'SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after the current steps/);
    assert.match(stderr, /stopped with 1 of 2 runs done .*rerun the same command/);
    // The stopped run leaves no file (not even a temporary one), so a rerun does it again.
    assert.deepEqual((await readdir(folder)).sort(), [
      'comparison.csv',
      'comparison.json',
      'finetune-seed0.json',
    ]);
  } finally {
    await rm(folder, { recursive: true });
  }
});

test('compare and report: bad arguments fail with a message that says what to do', async () => {
  // In this process: commander throws instead of exiting, and the command's own errors propagate.
  const { compareCommand } = await import('../../src/cli/compare.js');
  const { reportCommand } = await import('../../src/cli/report.js');
  const run = (make: () => Command, ...args: string[]) => {
    const command = make()
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} });
    return command.parseAsync(args, { from: 'user' });
  };
  await assert.rejects(
    run(compareCommand, '--strategies', 'finetune,magic'),
    /unknown strategy 'magic'; use one of: finetune/,
  );
  await assert.rejects(
    run(compareCommand, '--seeds', '0'),
    /expected a number of seeds \(e\.g\. 3\) or a list \(e\.g\. 0,1,2; one seed: 5,\)/,
  );
  await assert.rejects(
    run(compareCommand, '--hidden', '0,4'),
    /expected comma-separated whole numbers ≥ 1, e\.g\. 400,400/,
  );
  await assert.rejects(
    run(compareCommand, '--strategies', 'joint', '--freeze-layers', '1'),
    /none of the strategies compared \(joint\) takes --freeze-layers/,
  );
  await assert.rejects(
    run(reportCommand, join(tmpdir(), 'unforget-no-such-folder')),
    /there is no results folder .*; run 'unforget compare' first/,
  );
});
