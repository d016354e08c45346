import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanInterval, pairedInterval, tQuantile975 } from '../../../src/experiments/study/interval.js';

const close = (a: number | null, b: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

test('the paired 95% interval is the t-interval of the per-seed differences, as computed by hand', () => {
  // Differences 0.02, 0.05, 0.01, 0.04: mean 0.03; squares of deviations 1e-4 + 4e-4 + 4e-4 + 1e-4 = 1e-3,
  // s = √(1e-3 / 3) = 0.0182574; t(0.975, 3) = 3.182; half width 3.182 · 0.0182574 / 2 = 0.0290475.
  const e = pairedInterval([0.92, 0.95, 0.91, 0.94], [0.9, 0.9, 0.9, 0.9]);
  close(e.mean, 0.03, 'mean');
  const half = (3.182 * Math.sqrt(1e-3 / 3)) / 2;
  close(e.low, 0.03 - half, 'low');
  close(e.high, 0.03 + half, 'high');
  assert.equal(e.n, 4);
  // [1, 2, 3]: mean 2, s = 1, t(0.975, 2) = 4.303: 2 ± 4.303 / √3.
  const m = meanInterval([1, 2, 3]);
  close(m.low, 2 - 4.303 / Math.sqrt(3), 'low of [1, 2, 3]');
  close(m.high, 2 + 4.303 / Math.sqrt(3), 'high of [1, 2, 3]');
});

test('one seed has no interval; unequal sides and bad degrees of freedom are refused', () => {
  assert.deepEqual(pairedInterval([0.5], [0.25]), { mean: 0.25, low: null, high: null, n: 1 });
  assert.throws(() => pairedInterval([0.5, 0.6], [0.5]), /one value per seed on both sides; got 2 and 1/);
  assert.throws(() => tQuantile975(0), /degrees of freedom must be ≥ 1/);
});

test('t quantiles: the table, and beyond it the expansion meets the tables’ 40, 60 and 120', () => {
  assert.equal(tQuantile975(1), 12.706);
  assert.equal(tQuantile975(4), 2.776);
  assert.equal(tQuantile975(30), 2.042);
  for (const [df, t] of [
    [40, 2.021],
    [60, 2.0],
    [120, 1.98],
  ]) {
    assert.ok(Math.abs(tQuantile975(df) - t) < 1e-3, `df ${df}: ${tQuantile975(df)} vs ${t}`);
  }
  assert.ok(tQuantile975(1e6) > 1.959 && tQuantile975(1e6) < 1.961);
});
