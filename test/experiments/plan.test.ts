import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  planRuns,
  specDifferences,
  type ComparisonOptions,
} from '../../src/experiments/plan.js';

const options: ComparisonOptions = {
  scenario: 'mnist-transfer',
  setting: 'task',
  strategies: ['finetune', 'ewc'],
  strategyOptions: { ewc: { lambda: 100 } },
  seeds: [0, 3],
  backbone: { kind: 'mlp', hidden: [400, 400] },
  epochs: 2,
  batchSize: 128,
};

test('the plan is every strategy for each seed in turn', () => {
  const runs = planRuns(options);
  assert.deepEqual(
    runs.map((r) => r.id),
    ['finetune-seed0', 'ewc-seed0', 'finetune-seed3', 'ewc-seed3'],
  );
  assert.deepEqual(runs[1].strategyOptions, { lambda: 100 });
  assert.deepEqual(runs[0].strategyOptions, {});
  assert.equal(runs[3].seed, 3);
  assert.equal(runs[0].epochs, 2);
  assert.equal(runs[0].iterations, null);
  assert.equal(runs[0].backend, 'auto');
  const steps = planRuns({ ...options, iterations: 50 });
  assert.equal(steps[0].epochs, null);
  assert.equal(steps[0].iterations, 50);
});

test('a bad plan fails with a message that says what to fix', () => {
  assert.throws(() => planRuns({ ...options, strategies: [] }), /at least one strategy/);
  assert.throws(() => planRuns({ ...options, seeds: [] }), /at least one seed/);
  assert.throws(() => planRuns({ ...options, seeds: [1, 1] }), /'1' is listed twice/);
  assert.throws(() => planRuns({ ...options, seeds: [-1] }), /each seed must be a whole number ≥ 0/);
  assert.throws(() => planRuns({ ...options, strategies: ['../x'] }), /not a strategy name/);
  assert.throws(() => planRuns({ ...options, batchSize: 0 }), /batchSize must be a whole number ≥ 1/);
});

test('canonical JSON ignores key order; specDifferences names what changed', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 3 } }),
    '{"a":{"c":3,"d":[1,{"x":1,"y":2}]},"b":1}',
  );
  const [a] = planRuns(options);
  const [b] = planRuns({ ...options, epochs: 4 });
  assert.deepEqual(specDifferences(a, { ...a }), []);
  assert.deepEqual(specDifferences(a, b), ['epochs: 2 saved, 4 now']);
});
