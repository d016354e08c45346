import { test } from 'node:test';
import assert from 'node:assert/strict';
import { questions, type StudyContext } from '../../../src/experiments/study/questions.js';
import type { RunRecord } from '../../../src/experiments/store.js';

/** A made-up finished run: only its accuracy matrix (and ACC, its last row's mean) matter to the analysis. */
function record(matrix: number[][]): RunRecord {
  const last = matrix[matrix.length - 1];
  return {
    result: {
      accuracyMatrix: matrix,
      metrics: { averageAccuracy: last.reduce((a, b) => a + b, 0) / last.length },
    },
  } as unknown as RunRecord;
}

/** A T×T matrix where every learned task has accuracy `a` (plus a per-seed wobble). */
const flat = (T: number, a: number) =>
  Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? a : 0.1)));

const ctx: StudyContext = { seeds: [0, 1, 2], fashion: false, ratios: [0.5, 0.9] };
const byName = (name: string) => {
  const q = questions.find((x) => x.name === name);
  if (!q) throw new Error(name);
  return q;
};

test('released: keep − zero per seed, per-task bars, and an answer that says it raised ACC', () => {
  const q = byName('released');
  const [part] = q.parts(ctx);
  assert.deepEqual(
    part.arms.map((a) => [a.key, a.scenario, a.strategyOptions]),
    [
      ['zero', 'split-mnist', {}],
      ['keep', 'split-mnist', { released: 'keep' }],
    ],
  );
  const wobble = [0, 0.002, -0.002];
  const out = q.analyse(part, {
    zero: wobble.map((w) => record(flat(5, 0.9 + w))),
    keep: wobble.map((w, i) => record(flat(5, 0.92 + w + (i === 0 ? 0.002 : 0)))),
  });
  const [effect] = out.effects;
  assert.deepEqual(
    effect.values.map((v) => Math.round(v * 1e6) / 1e6),
    [0.022, 0.02, 0.02],
  );
  assert.ok(effect.low !== null && effect.low > 0);
  assert.deepEqual(out.plots[0].x.categories, ['T1', 'T2', 'T3', 'T4', 'T5', 'mean']);
  assert.match(out.answer, /raised the mean accuracy over the 5 tasks of split MNIST by 2\.1 points/);
});

test('pick: the effect after each number of tasks, the final one first, and the ACC-so-far curve', () => {
  const q = byName('pick');
  const [part] = q.parts({ ...ctx, fashion: true }).slice(1);
  assert.equal(part.label, 'split Fashion-MNIST');
  assert.deepEqual(part.arms[1].strategyOptions, { pick: 1 });
  // Without picking, old tasks fall to 0.8 once a later task is learned; with it, they stay at 0.9.
  const falling = (T: number) =>
    Array.from({ length: T }, (_, i) =>
      Array.from({ length: T }, (_, j) => (j < i ? 0.8 : j === i ? 0.9 : 0.1)),
    );
  const seeds = [0, 0.001, -0.001];
  const out = q.analyse(part, {
    all: seeds.map((w) => record(falling(3).map((row) => row.map((v) => v + w)))),
    pick: seeds.map((w) => record(flat(3, 0.9 + w))),
  });
  assert.deepEqual(
    out.effects.map((e) => [e.label, Math.round(e.mean * 1e4) / 1e4]),
    [
      ['pick − all, mean accuracy after 3 tasks', 0.0667],
      ['pick − all, mean accuracy after 1 task', 0],
      ['pick − all, mean accuracy after 2 tasks', 0.05],
    ],
  );
  assert.deepEqual(
    out.plots[0].series[0].values.map((v) => Math.round(v.mean * 1e4) / 1e4),
    [0.9, 0.85, 0.8333],
  );
  assert.match(out.answer, /The gap grew as tasks were added: 5\.0 points after 2 tasks, 6\.7 after 3\./);
});
