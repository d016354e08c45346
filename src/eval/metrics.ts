/**
 * Metrics over the accuracy matrix R, where R[i][j] is the test accuracy on task j after training
 * tasks 0..i, and b[j] is task j's accuracy before any training (for forward transfer).
 */
export interface Metrics {
  /** ACC = (1/T) Σ_j R[T−1][j]: mean accuracy over all tasks after the last one. */
  averageAccuracy: number;
  /** BWT = 1/(T−1) Σ_{j<T−1} (R[T−1][j] − R[j][j]): how later tasks changed earlier ones (negative: forgetting). */
  backwardTransfer: number | null;
  /** FWT = 1/(T−1) Σ_{j≥1} (R[j−1][j] − b[j]): how earlier tasks help a task before it is trained. */
  forwardTransfer: number | null;
  /** F = 1/(T−1) Σ_{j<T−1} max_{j≤l<T−1} (R[l][j] − R[T−1][j]): the average drop from each task's best (Chaudhry et al. 2018). */
  forgetting: number | null;
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function checkSquare(R: readonly (readonly number[])[]): number {
  const T = R.length;
  if (T === 0 || R.some((row) => row.length !== T)) {
    throw new RangeError(
      `the accuracy matrix must be T×T with T ≥ 1; got ${R.map((r) => r.length).join(', ')}`,
    );
  }
  return T;
}

export function averageAccuracy(R: readonly (readonly number[])[]): number {
  const T = checkSquare(R);
  return R[T - 1].reduce((a, b) => a + b, 0) / T;
}

export function backwardTransfer(R: readonly (readonly number[])[]): number | null {
  const T = checkSquare(R);
  return mean(Array.from({ length: T - 1 }, (_, j) => R[T - 1][j] - R[j][j]));
}

export function forwardTransfer(R: readonly (readonly number[])[], b: readonly number[]): number | null {
  const T = checkSquare(R);
  return mean(Array.from({ length: T - 1 }, (_, k) => R[k][k + 1] - b[k + 1]));
}

export function forgetting(R: readonly (readonly number[])[]): number | null {
  const T = checkSquare(R);
  return mean(
    Array.from({ length: T - 1 }, (_, j) => {
      let best = -Infinity;
      for (let l = j; l < T - 1; l++) best = Math.max(best, R[l][j]);
      return best - R[T - 1][j];
    }),
  );
}

export function metrics(R: readonly (readonly number[])[], b: readonly number[]): Metrics {
  return {
    averageAccuracy: averageAccuracy(R),
    backwardTransfer: backwardTransfer(R),
    forwardTransfer: forwardTransfer(R, b),
    forgetting: forgetting(R),
  };
}
