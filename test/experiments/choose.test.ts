import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { subset, type Dataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { chooseOnValidation, variantsOf } from '../../src/experiments/choose.js';
import { compare } from '../../src/experiments/compare.js';
import { comparisonCsv } from '../../src/experiments/csv.js';
import type { ComparisonOptions } from '../../src/experiments/plan.js';
import type { RunRecord } from '../../src/experiments/store.js';
import { reportCharts } from '../../src/report/html.js';
import { summarize } from '../../src/report/summary.js';
import { comparisonTable } from '../../src/report/table.js';
import { seededRandom } from '../../src/random.js';
import { namedScenarios } from '../../src/scenarios/named.js';
import { split } from '../../src/scenarios/split.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { fakeRecord } from '../report/fixtures.js';
import { testBackend } from '../helpers.js';

/** An ewc run at `lambda` whose validation ACC is `validation` and whose test accuracies are all `testAcc`. */
function gridRecord(lambda: number, seed: number, validation: number, testAcc: number): RunRecord {
  const r = fakeRecord('ewc', seed, [
    [testAcc, 0.5],
    [testAcc, testAcc],
  ]);
  r.spec = { ...r.spec, id: `ewc-lambda=${lambda}-seed${seed}`, grid: { lambda }, validation: 0.1 };
  r.spec.strategyOptions = { lambda };
  r.result.validation = {
    fraction: 0.1,
    examples: [100, 100],
    accuracyMatrix: [
      [validation, 0.5],
      [validation, validation],
    ],
    averageAccuracy: validation,
  };
  return r;
}

// λ = 10 is best on validation; λ = 100 is best on test: a choice that peeked would pick 100.
const records = [
  gridRecord(1, 0, 0.7, 0.7),
  gridRecord(10, 0, 0.9, 0.8),
  gridRecord(100, 0, 0.8, 0.95),
  gridRecord(1, 1, 0.72, 0.7),
  gridRecord(10, 1, 0.88, 0.82),
  gridRecord(100, 1, 0.85, 0.97),
];

/** The record with its test results behind a tripwire: reading them throws. */
function tripwired(record: RunRecord): RunRecord {
  const test = new Set(['accuracyMatrix', 'initialAccuracy', 'metrics', 'withoutTaskLabel']);
  const result = new Proxy(record.result, {
    get(target, key, receiver) {
      if (typeof key === 'string' && test.has(key)) throw new Error(`the choice read test data (${key})`);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { ...record, result };
}

test('each strategy’s grid point is chosen on mean validation ACC, without reading test results', () => {
  const chosen = chooseOnValidation(variantsOf(records));
  assert.deepEqual(
    chosen.map((v) => v.name),
    ['ewc lambda=10'],
  );
  assert.deepEqual(
    chooseOnValidation(variantsOf(records.map(tripwired))).map((v) => v.name),
    ['ewc lambda=10'],
    'the same choice when touching test results throws',
  );
  const noValidation = fakeRecord('finetune', 0, [[0.9]]);
  assert.throws(
    () => chooseOnValidation(variantsOf([noValidation])),
    /finetune-seed0 has no validation accuracy/,
  );
});

test('the table shows the chosen options with their test accuracy; every grid point stays in the summary and CSV', () => {
  const s = summarize(records, [], { choose: 'validation' });
  assert.deepEqual(
    s.methods.map((m) => [m.label, m.options]),
    [['ewc lambda=10', { lambda: 10 }]],
  );
  assert.ok(Math.abs(s.methods[0].averageAccuracy.mean - 0.81) < 1e-9, 'the chosen point’s test ACC');
  assert.ok(Math.abs((s.methods[0].validationAccuracy?.mean ?? 0) - 0.89) < 1e-9);
  assert.deepEqual(
    s.grids.map((g) => [g.strategy, g.options, g.points.map((p) => [p.options.lambda, p.chosen])]),
    [
      [
        'ewc',
        ['lambda'],
        [
          [1, false],
          [10, true],
          [100, false],
        ],
      ],
    ],
  );
  const table = comparisonTable(s);
  assert.match(table, /^criterion\s+ewc lambda=10$/m);
  assert.match(table, /^options chosen on validation\s+lambda=10$/m);
  assert.match(table, /^average accuracy ACC on test data \(%\)\s+81\.0 ± 1\.4$/m);
  assert.match(table, /^ACC on the validation part \(%\)\s+89\.0 ± 1\.4$/m);
  assert.match(
    table,
    /Options chosen on a validation split of 10% of each task's training data; test data never used for choosing\./,
  );

  const all = summarize(records);
  assert.deepEqual(
    all.methods.map((m) => m.label),
    ['ewc lambda=1', 'ewc lambda=10', 'ewc lambda=100'],
    'without a choice every grid point is a column',
  );
  assert.doesNotMatch(comparisonTable(all), /chosen/);

  const csv = comparisonCsv(records, { choose: 'validation' }).trim().split('\n');
  const header = csv[0].split(',');
  const column = (name: string) => csv.slice(1).map((l) => l.split(',')[header.indexOf(name)]);
  assert.deepEqual(
    column('run'),
    records.map((r) => r.spec.id),
  );
  assert.deepEqual(column('chosen'), ['no', 'yes', 'no', 'no', 'yes', 'no']);
  assert.deepEqual(column('validation_average_accuracy'), ['0.7', '0.9', '0.8', '0.72', '0.88', '0.85']);

  const charts = reportCharts(s).filter((c) => c.section === 'grid');
  assert.equal(charts.length, 1, 'one chart per strategy × gridded option');
  const option = charts[0].option as { xAxis: { type: string }; series: { name: string; data: unknown[] }[] };
  assert.equal(option.xAxis.type, 'log', 'λ from 1 to 100 spans decades');
  assert.deepEqual(
    option.series.map((x) => [x.name, x.data.length]),
    [
      ['validation', 3],
      ['test', 3],
    ],
  );
});

/** Test data turned to garbage: random pixels, random labels among the task's classes. */
function poisoned(s: Scenario): Scenario {
  const random = seededRandom(99);
  const garbage = (d: Dataset, classes: readonly number[]): Dataset => ({
    ...d,
    inputs: d.inputs.map(() => random()),
    labels: d.labels.map(() => classes[Math.floor(random() * classes.length)]),
  });
  return { ...s, tasks: s.tasks.map((t) => ({ ...t, test: garbage(t.test, t.classes) })) };
}

test('a comparison chooses the same options, from the same validation numbers, when its test data is garbage', async () => {
  const backend = (await testBackend()) as 'cpu';
  const data = loadMnist();
  const every = (d: Dataset, k: number) =>
    subset(
      d,
      Array.from({ length: Math.floor(d.labels.length / k) }, (_, i) => i * k),
    );
  const clean = split(
    { train: every(data.train, 4), test: every(data.test, 4) },
    { tasks: 2, setting: 'task' },
  );
  const added = [
    { name: 'test-clean', summary: '', build: () => Promise.resolve(clean) },
    { name: 'test-poisoned', summary: '', build: () => Promise.resolve(poisoned(clean)) },
  ];
  namedScenarios.push(...added);
  const folder = await mkdtemp(join(tmpdir(), 'unforget-choose-'));
  try {
    const options = (scenario: string): ComparisonOptions => ({
      scenario,
      setting: 'task',
      strategies: ['finetune'],
      grid: { finetune: { learningRate: [1e-5, 1e-2] } },
      choose: 'validation',
      seeds: [0],
      backbone: { kind: 'mlp', hidden: [16] },
      iterations: 40,
      batchSize: 32,
      backend,
    });
    const before = tf.memory().numTensors;
    const a = await compare(options('test-clean'), { folder: join(folder, 'clean'), workers: 0 });
    const b = await compare(options('test-poisoned'), { folder: join(folder, 'poisoned'), workers: 0 });
    assert.equal(tf.memory().numTensors, before, 'every tensor of the runs is disposed');
    assert.deepEqual(
      a.records.map((r) => r.spec.id),
      ['finetune-learningRate=1e-5-seed0', 'finetune-learningRate=0.01-seed0'],
    );
    const validation = (rs: RunRecord[]) => rs.map((r) => r.result.validation);
    assert.deepEqual(
      validation(b.records),
      validation(a.records),
      'validation numbers do not depend on the test data',
    );
    assert.notDeepEqual(
      b.records.map((r) => r.result.accuracyMatrix),
      a.records.map((r) => r.result.accuracyMatrix),
      'the test data did change',
    );
    const chosen = (rs: RunRecord[]) => chooseOnValidation(variantsOf(rs)).map((v) => v.name);
    assert.deepEqual(chosen(b.records), chosen(a.records));
    // A learning rate of 1e-2 learns in 40 steps, 1e-5 barely moves: validation tells them apart.
    assert.deepEqual(chosen(a.records), ['finetune learningRate=0.01']);
    assert.ok((a.records[1].result.validation?.averageAccuracy ?? 0) > 0.8);
    assert.ok(
      (b.records[1].result.metrics?.averageAccuracy ?? 1) < 0.7,
      'garbage test data scores near chance',
    );
    assert.deepEqual(
      a.records[0].result.validation?.examples,
      clean.tasks.map((t) =>
        t.classes.reduce((n, c) => n + Math.round(0.1 * t.train.labels.filter((y) => y === c).length), 0),
      ),
      '10% of each class of each task',
    );
    const again = await compare(options('test-clean'), { folder: join(folder, 'clean'), workers: 0 });
    assert.deepEqual([again.ran, again.skipped], [0, 2], 'a grid resumes: every point found done');
    const csv = await readFile(a.csvPath, 'utf8');
    assert.match(csv, /\nfinetune-learningRate=0\.01-seed0,.*,yes,/);
  } finally {
    namedScenarios.splice(namedScenarios.length - added.length, added.length);
    await rm(folder, { recursive: true, force: true });
  }
});

test('a strategy with two gridded options gets a chart per option; words go on a category axis', () => {
  const run = (temperature: number, optimizer: string, acc: number): RunRecord => {
    const r = fakeRecord('lwf', 0, [
      [acc, 0.5],
      [acc, acc],
    ]);
    const grid = { temperature, optimizer };
    r.spec = { ...r.spec, id: `lwf-temperature=${temperature}-optimizer=${optimizer}-seed0`, grid };
    return r;
  };
  const s = summarize([run(1, 'adam', 0.8), run(1, 'sgd', 0.7), run(4, 'adam', 0.9), run(4, 'sgd', 0.6)]);
  assert.deepEqual(
    s.methods.map((m) => m.label),
    [
      'lwf temperature=1 optimizer=adam',
      'lwf temperature=1 optimizer=sgd',
      'lwf temperature=4 optimizer=adam',
      'lwf temperature=4 optimizer=sgd',
    ],
  );
  type Chart = {
    xAxis: { type: string; data?: string[] };
    series: { name: string; data: { value: unknown[] }[] }[];
  };
  const charts = reportCharts(s)
    .filter((c) => c.section === 'grid')
    .map((c) => c.option as Chart);
  assert.equal(charts.length, 2);
  const [temperature, optimizer] = charts;
  assert.equal(temperature.xAxis.type, 'value', '1 to 4 does not span decades');
  assert.deepEqual(
    temperature.series.map((x) => [x.name, x.data.map((d) => d.value)]),
    [
      [
        'test (optimizer=adam)',
        [
          [1, 80],
          [4, 90],
        ],
      ],
      [
        'test (optimizer=sgd)',
        [
          [1, 70],
          [4, 60],
        ],
      ],
    ],
    'no validation part: test only, one line per value of the other option',
  );
  assert.equal(optimizer.xAxis.type, 'category');
  assert.deepEqual(optimizer.xAxis.data, ['adam', 'sgd']);
  assert.deepEqual(
    optimizer.series.map((x) => x.name),
    ['test (temperature=1)', 'test (temperature=4)'],
  );
});
