import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StudyFile } from '../../src/experiments/study/study.js';
import { unforget } from './spawn.js';

test('unforget study runs the questions asked, prints the answers and writes study.json and study.html', async () => {
  const out = await mkdtemp(join(tmpdir(), 'unforget-study-cli-'));
  try {
    const args = [
      'study',
      'mask',
      '--seeds',
      '2',
      '--iterations',
      '2',
      '--batch-size',
      '512',
      '--hidden',
      '8',
    ];
    const run = await unforget(...args, '--no-fashion', '--workers', '2', '--out', out, '--backend', 'cpu');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^1\. mask: Piggyback claims/);
    assert.match(
      run.stdout,
      /digits 0–4 → digits 5–9, seeds 0, 1:\n {5}mask − fine-tuning, new task: −?\d+\.\d points \[/,
    );
    assert.match(
      run.stdout,
      /From a trunk trained on digits 0–4, learning digits 5–9 by choosing weights only/,
    );
    assert.match(run.stdout, /6 runs done now, 0 already done/);
    const file = JSON.parse(await readFile(join(out, 'study.json'), 'utf8')) as StudyFile;
    assert.equal(file.questions[0].parts[0].answer.length > 0, true);
    assert.ok(
      run.stdout.includes(file.questions[0].parts[0].answer),
      'the terminal shows the answer of study.json',
    );
    assert.match(await readFile(join(out, 'study.html'), 'utf8'), /<h2 id="mask">1\. mask: /);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('unforget study names the questions there are and refuses fractions outside (0, 1)', async () => {
  const bad = await unforget('study', 'prune', 'nope');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown question\(s\) nope; ask any of: released, pick, prune, mask/);
  const ratios = await unforget('study', 'prune', '--ratios', '0.5,1.5');
  assert.notEqual(ratios.code, 0);
  assert.match(ratios.stderr, /expected fractions between 0 and 1, e\.g\. 0\.5,0\.9,0\.95; got '0\.5,1\.5'/);
});
