import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { planStudy, study, type StudyFile, type StudyOptions } from '../../../src/experiments/study/study.js';
import { strategyEntry } from '../../../src/strategies/index.js';
import { testBackend } from '../../helpers.js';

const tiny = async (): Promise<StudyOptions> => ({
  questions: ['prune', 'mask'],
  seeds: [0, 1],
  iterations: 4,
  batchSize: 512,
  backbone: { kind: 'mlp', hidden: [16] },
  ratios: [0.9, 0.5],
  fashion: false,
  backend: (await testBackend()) as 'cpu',
});

test('a small study runs end to end, writes study.json and study.html, and resumes without redoing runs', async () => {
  const out = await mkdtemp(join(tmpdir(), 'unforget-study-'));
  try {
    const options = await tiny();
    const before = tf.memory().numTensors;
    const first = await study(options, { out, workers: 0 });
    assert.equal(tf.memory().numTensors, before, 'every tensor of the runs is disposed');
    // prune: unpruned + 2 fractions × (retrained, not); mask: piggyback, finetune, featureExtraction; × 2 seeds.
    assert.equal(first.runs.ran, 16);
    assert.equal(first.runs.failed.length, 0);
    assert.deepEqual(
      first.runs.runs.map((r) => r.seed),
      [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
      'seed by seed',
    );
    const files = (await readdir(join(out, 'runs'))).filter((f) => f.endsWith('.json')).sort();
    assert.equal(files.length, 16);
    assert.ok(
      files.includes('permuted-mnist-1task-packnet-pruneRatio-0.9-retrainEpochs-0-seed1.json'),
      files.join(),
    );
    assert.ok(files.includes('mnist-transfer-piggyback-seed0.json'), files.join());

    const file = JSON.parse(await readFile(join(out, 'study.json'), 'utf8')) as StudyFile;
    assert.equal(file.format, 'unforget-study');
    assert.deepEqual(file.setup.ratios, [0.5, 0.9]);
    assert.deepEqual(
      file.questions.map((q) => [q.name, q.status, q.parts.length]),
      [
        ['prune', 'answered', 1],
        ['mask', 'answered', 1],
      ],
    );
    const [prune, mask] = file.questions;
    assert.match(mask.note ?? '', /Fashion-MNIST was not used/);
    assert.equal(prune.runs.length, 10);
    const part = prune.parts[0];
    assert.deepEqual(part.seeds, [0, 1]);
    assert.deepEqual(part.plots[0].x.categories, ['0%', '50%', '90%']);
    assert.equal(part.plots[0].series.length, 2);
    assert.equal(part.effects.length, 4);
    for (const e of [...part.effects, ...mask.parts[0].effects]) {
      assert.equal(e.n, 2);
      assert.equal(e.values.length, 2);
      assert.ok(e.low !== null && e.high !== null && e.low <= e.mean && e.mean <= e.high, e.label);
    }
    assert.match(part.answer, /^The unpruned network reached \d+\.\d% on MNIST/);
    assert.deepEqual(
      mask.parts[0].effects.map((e) => e.label),
      ['mask − fine-tuning, new task', 'mask − feature extraction, new task'],
    );
    assert.match(mask.parts[0].answer, /^From a trunk trained on digits 0–4, learning digits 5–9/);

    const html = await readFile(join(out, 'study.html'), 'utf8');
    assert.match(html, /<h2 id="prune">1\. prune: /);
    assert.match(html, /<h2 id="mask">2\. mask: /);
    const charts = JSON.parse(
      /<script type="application\/json" id="unforget-charts">(.*?)<\/script>/s.exec(html)?.[1] ?? '[]',
    ) as { id: string }[];
    assert.equal(charts.length, 2);
    for (const c of charts) assert.ok(html.includes(`id="${c.id}"`), `the page has a place for ${c.id}`);
    assert.ok(html.includes(part.answer.replace(/'/g, '&#39;')), 'the page quotes the answer');

    // Again: every run is found finished and none is redone; the figures are the same.
    const again = await study(options, { out, workers: 0 });
    assert.equal(again.runs.ran, 0);
    assert.equal(again.runs.skipped, 16);
    assert.deepEqual(again.file.questions, first.file.questions);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a question whose options this build lacks is planned as skipped, and bad questions and fractions are refused', async () => {
  const plan = await planStudy({ questions: ['released', 'pick'], fashion: false, seeds: [0] });
  for (const [q, option] of [
    [plan.questions[0], 'released'],
    [plan.questions[1], 'pick'],
  ] as const) {
    const has = strategyEntry('packnet').options.some((o) => o.name === option);
    assert.equal(q.missing === null, has, option);
    if (!has) assert.match(q.missing ?? '', new RegExp(`packnet has no '${option}' option`));
  }
  // The paper's PackNet is one arm of both questions: its run is planned once.
  const ids = plan.runs.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  await assert.rejects(planStudy({ questions: ['prune', 'nope' as 'prune'] }), /unknown question 'nope'/);
  await assert.rejects(planStudy({ questions: ['prune'], ratios: [0.5, 1] }), /between 0 and 1; got 1/);
  await assert.rejects(
    planStudy({ questions: ['mask'], fashion: true, data: '/nowhere/fashion' }),
    /Fashion-MNIST not found in \/nowhere\/fashion/,
  );
});
