import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOptionValue, gridPoints, parseGrid } from '../../src/experiments/grid.js';
import { planRuns, specDifferences, type ComparisonOptions } from '../../src/experiments/plan.js';

const options: ComparisonOptions = {
  scenario: 'split-mnist',
  setting: 'task',
  strategies: ['finetune', 'ewc', 'lwf'],
  strategyOptions: { lwf: { lambda: 2 } },
  seeds: [0, 4],
  backbone: { kind: 'mlp', hidden: [400, 400] },
  epochs: 2,
  batchSize: 128,
};

test('a grid expands into one run per strategy, grid point and seed, in plan order', () => {
  const runs = planRuns({
    ...options,
    grid: { ewc: { lambda: [100, 1e5] }, lwf: { temperature: [1, 2], warmupEpochs: [0, 1] } },
  });
  const perSeed = [
    'finetune',
    'ewc-lambda=100',
    'ewc-lambda=1e5',
    'lwf-temperature=1-warmupEpochs=0',
    'lwf-temperature=1-warmupEpochs=1',
    'lwf-temperature=2-warmupEpochs=0',
    'lwf-temperature=2-warmupEpochs=1',
  ];
  assert.deepEqual(
    runs.map((r) => r.id),
    [...perSeed.map((id) => `${id}-seed0`), ...perSeed.map((id) => `${id}-seed4`)],
  );
  assert.deepEqual(
    runs.map((r) => r.seed),
    [...perSeed.map(() => 0), ...perSeed.map(() => 4)],
  );
  const byId = new Map(runs.map((r) => [r.id, r]));
  assert.deepEqual(byId.get('finetune-seed0')?.strategyOptions, {});
  assert.equal(byId.get('finetune-seed0')?.grid, undefined, 'a run without a grid has no grid point');
  assert.deepEqual(byId.get('ewc-lambda=1e5-seed4')?.strategyOptions, { lambda: 1e5 });
  assert.deepEqual(byId.get('ewc-lambda=1e5-seed4')?.grid, { lambda: 1e5 });
  // Fixed options stay; the grid point is added to them.
  assert.deepEqual(byId.get('lwf-temperature=2-warmupEpochs=1-seed0')?.strategyOptions, {
    lambda: 2,
    temperature: 2,
    warmupEpochs: 1,
  });
  assert.deepEqual(byId.get('lwf-temperature=2-warmupEpochs=1-seed0')?.grid, {
    temperature: 2,
    warmupEpochs: 1,
  });
  assert.ok(runs.every((r) => r.validation === null));
  assert.equal(new Set(runs.map((r) => r.id)).size, runs.length, 'ids are unique');
});

test('runs without a grid keep their ids and specs, so folders of earlier comparisons resume', () => {
  const [finetune] = planRuns({ ...options, grid: { ewc: { lambda: [1, 10] } } });
  assert.equal(finetune.id, 'finetune-seed0');
  // A spec saved before grids and validation existed has neither field.
  const saved = { ...finetune } as Partial<typeof finetune>;
  delete saved.validation;
  delete saved.grid;
  assert.deepEqual(specDifferences(saved as typeof finetune, finetune), []);
  // Choosing on validation holds data out, which changes every run: a folder made without it is not reused.
  const [held] = planRuns({ ...options, choose: 'validation' });
  assert.equal(held.validation, 0.1);
  assert.deepEqual(specDifferences(saved as typeof finetune, held), ['validation: null saved, 0.1 now']);
  assert.equal(planRuns({ ...options, validation: 0.25 })[0].validation, 0.25);
});

test('grids are read from the command line text by the options’ kinds', () => {
  assert.deepEqual(
    parseGrid(['ewc.lambda=1e2, 1e3,1e4', 'LwF.temperature=1,2,4', 'ewc.fisherLabels=predicted,sampled']),
    {
      ewc: { lambda: [100, 1000, 10000], fisherLabels: ['predicted', 'sampled'] },
      lwf: { temperature: [1, 2, 4] },
    },
  );
  assert.deepEqual(parseGrid([]), {});
  const bad: [string[], RegExp][] = [
    [
      ['ewc=1,2'],
      /a grid is written strategy\.option=value,value,…, e\.g\. ewc\.lambda=1e2,1e3,1e4; got 'ewc=1,2'/,
    ],
    [['ewk.lambda=1'], /unknown strategy 'ewk'; use one of: .*ewc/],
    [['ewc.lamda=1'], /the ewc strategy has no option 'lamda'; its options are: .*lambda/],
    [['ewc.lambda=1,x'], /the grid of ewc\.lambda: lambda must be a number; got 'x'/],
    [['packnet.retrainEpochs=1,1.5'], /retrainEpochs must be a whole number; got '1\.5'/],
    [['ewc.fisherLabels=sampled,maybe'], /fisherLabels: use one of: /],
    [['ewc.lambda=100,1e2'], /lists 100 twice; list each value once/],
    [['ewc.lambda='], /lists no values/],
    [['ewc.lambda=1', 'EWC.lambda=2'], /ewc\.lambda has two grids; give its values in one list/],
  ];
  for (const [texts, message] of bad) assert.throws(() => parseGrid(texts), message, texts.join(' '));
});

test('a grid the plan cannot run fails with a message that says what to fix', () => {
  assert.throws(
    () => planRuns({ ...options, grid: { si: { c: [0.1, 1] } } }),
    /there is a grid for si, which is not compared \(finetune, ewc, lwf\): add it to the strategies or drop its grid/,
  );
  assert.throws(
    () => planRuns({ ...options, grid: { lwf: { lambda: [1, 2] } } }),
    /lwf's lambda has both a fixed value \(2\) and a grid; drop one of them/,
  );
  assert.throws(() => planRuns({ ...options, grid: { ewc: { lambda: [] } } }), /has no values/);
  assert.throws(
    () => planRuns({ ...options, grid: { ewc: { gamma: [1] } } }),
    /the ewc strategy has no option 'gamma'/,
  );
  assert.throws(
    () => planRuns({ ...options, grid: { ewc: { lambda: ['big'] } } }),
    /lambda must be a number/,
  );
  assert.throws(() => planRuns({ ...options, validation: 1 }), /between 0 and 1/);
  assert.throws(() => planRuns({ ...options, validation: 0 }), /between 0 and 1/);
});

test('grid points are the cartesian product; values print short and distinct', () => {
  assert.deepEqual(gridPoints({ a: [1, 2], b: ['x', 'y'] }), [
    { a: 1, b: 'x' },
    { a: 1, b: 'y' },
    { a: 2, b: 'x' },
    { a: 2, b: 'y' },
  ]);
  assert.deepEqual(gridPoints(), [{}]);
  assert.deepEqual([1e5, 100, 0.5, 2.5e-4, 1e-3, 12345, 0, -1e6, 'adam'].map(formatOptionValue), [
    '1e5',
    '100',
    '0.5',
    '2.5e-4',
    '0.001',
    '1.2345e4',
    '0',
    '-1e6',
    'adam',
  ]);
});
