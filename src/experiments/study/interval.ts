import { stat } from '../../report/summary.js';

/** A mean over seeds with its 95% confidence interval (null bounds with fewer than two seeds). */
export interface Interval {
  mean: number;
  /** Lower and upper bound of the 95% t-interval; null when there is a single value. */
  low: number | null;
  high: number | null;
  /** Number of values (seeds). */
  n: number;
}

/** Student's t 0.975 quantiles for 1 to 30 degrees of freedom (from the usual tables, to 3 decimals). */
const table = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom: the table up to 30, beyond that the
 * Cornish–Fisher expansion around the normal quantile (off by less than 1e-3).
 *
 * ```ts
 * tQuantile975(4); // 2.776
 * ```
 */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be ≥ 1; got ${df}`);
  if (df <= table.length) return table[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/**
 * The mean of `values` with its 95% t-interval: mean ± t(0.975, n − 1) · s / √n.
 *
 * ```ts
 * meanInterval([1, 2, 3]); // { mean: 2, low: -0.484, high: 4.484, n: 3 }  (t = 4.303, s = 1)
 * ```
 */
export function meanInterval(values: readonly number[]): Interval {
  const { mean, std, n } = stat(values);
  if (std === null) return { mean, low: null, high: null, n };
  const half = (tQuantile975(n - 1) * std) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, n };
}

/**
 * The effect of a change measured on the same seeds: the 95% t-interval of the per-seed differences
 * `after[i] − before[i]` (a paired interval, so what the seeds share cancels out).
 *
 * ```ts
 * pairedInterval([0.91, 0.93], [0.90, 0.90]); // mean 0.02 (= (0.01 + 0.03) / 2), interval 0.02 ± 12.706 · 0.0141 / √2
 * ```
 */
export function pairedInterval(after: readonly number[], before: readonly number[]): Interval {
  if (after.length !== before.length) {
    throw new RangeError(
      `a paired interval needs one value per seed on both sides; got ${after.length} and ${before.length}`,
    );
  }
  return meanInterval(after.map((a, i) => a - before[i]));
}
