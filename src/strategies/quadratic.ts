import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../errors.js';
import type { Learner } from '../model/learner.js';
import type { StrategyState } from '../train/strategy.js';
import { weightByKey } from './fisher.js';

/**
 * The quadratic penalty EWC, online EWC and SI keep, per weight: `Σ_i F_i (θ_i − θ*_i)² + c`, where F is
 * an importance (EWC's Fisher, SI's Ω) and θ* an anchor, both by weight key (see `weightByKey`).
 *
 * EWC keeps one penalty per earlier task, `Σ_k Σ_i F_k,i (θ_i − θ*_k,i)²`. A sum of quadratics in θ is one
 * quadratic: with `F = Σ_k F_k` and `θ* = Σ_k F_k θ*_k / F` (the importance-weighted mean of the
 * anchors), `Σ_k F_k (θ − θ*_k)² = F (θ − θ*)² + c`, where c does not depend on θ. So it keeps one
 * importance and one anchor however many tasks it has seen, and its step costs the same after 2 tasks or
 * 20, with the same gradients as the per-task sum. Merging a new task (F_new, θ_new) into (F, θ*):
 * `F' = F + F_new`, `θ*' = (F θ* + F_new θ_new) / F'`, `c' = c + Σ_i (F F_new / F')_i (θ*_i − θ_new,i)²`.
 */
export interface Quadratic {
  importance: Map<string, tf.Tensor>;
  anchor: Map<string, tf.Tensor>;
  constant: number;
  tasks: number;
}

export function emptyQuadratic(): Quadratic {
  return { importance: new Map(), anchor: new Map(), constant: 0, tasks: 0 };
}

export function clearQuadratic(q: Quadratic): void {
  tf.dispose([...q.importance.values(), ...q.anchor.values()]);
  q.importance.clear();
  q.anchor.clear();
  q.constant = 0;
  q.tasks = 0;
}

/**
 * `Σ_i F_i (θ_i − θ*_i)²` for one weight, with its gradient `2 F (θ − θ*)` written out: one product
 * on the way back instead of the four elementwise ops automatic differentiation would take.
 */
function quadraticOf(importance: tf.Tensor, anchor: tf.Tensor) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [theta, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const d = tf.sub(theta, anchor);
    const fd = tf.mul(importance, d);
    save([fd]);
    return {
      value: tf.sum(tf.mul(fd, d)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.mul(dy, 2)),
    };
  });
}

/** `Σ_i F_i (θ_i − θ*_i)²` over every protected weight, without c (inside the caller's tidy or tape). */
export function quadraticTerm(q: Quadratic, learner: Learner): tf.Scalar | undefined {
  let total: tf.Scalar | undefined;
  for (const [key, importance] of q.importance) {
    const theta = weightByKey(learner, key).read();
    const anchor = q.anchor.get(key) as tf.Tensor;
    const term = quadraticOf(importance, anchor)(theta) as tf.Scalar;
    total = total ? (total.add(term) as tf.Scalar) : term;
  }
  return total;
}

/**
 * Merges a new task's importance (taken over) at the learner's current weights: 'mean' keeps the
 * per-task sum exactly (EWC); 'latest' is `F ← γ·F + F_new` anchored at the current weights (online
 * EWC, SI with γ = 1).
 */
export function mergeTask(
  q: Quadratic,
  importanceNew: Map<string, tf.Tensor>,
  learner: Learner,
  mode: 'mean' | 'latest',
  gamma = 1,
): void {
  for (const [key, fNew] of importanceNew) {
    const thetaNew = weightByKey(learner, key).read().clone();
    const fOld = q.importance.get(key);
    const aOld = q.anchor.get(key);
    if (!fOld || !aOld) {
      q.importance.set(key, fNew);
      q.anchor.set(key, thetaNew);
      continue;
    }
    if (mode === 'latest') {
      // F ← γ·F + F_new, anchored at the latest weights.
      q.importance.set(
        key,
        tf.tidy(() => fOld.mul(gamma).add(fNew)),
      );
      q.anchor.set(key, thetaNew);
    } else {
      const [f, a, c] = tf.tidy(() => {
        const f = fOld.add(fNew);
        const safe = tf.where(f.greater(0), f, tf.onesLike(f));
        const a = tf.where(f.greater(0), fOld.mul(aOld).add(fNew.mul(thetaNew)).div(safe), thetaNew);
        const c = fOld.mul(fNew).div(safe).mul(aOld.sub(thetaNew).square()).sum();
        return [f, a, c];
      });
      q.constant += (c.dataSync() as Float32Array)[0];
      c.dispose();
      thetaNew.dispose();
      q.importance.set(key, f);
      q.anchor.set(key, a);
    }
    tf.dispose([fOld, aOld, fNew]);
  }
  q.tasks++;
}

/**
 * A shared head that grew new outputs (class setting) has weights wider than their importance: the new
 * outputs get a zero importance (nothing to keep) and their current values as anchor.
 */
export function fitShapes(q: Quadratic, learner: Learner): void {
  for (const [key, importance] of [...q.importance]) {
    const weight = weightByKey(learner, key).read();
    if (weight.shape.join('x') === importance.shape.join('x')) continue;
    const axis = weight.shape.length - 1;
    const had = importance.shape[axis];
    const anchor = q.anchor.get(key) as tf.Tensor;
    const [f, a] = tf.tidy(() => {
      const begin = weight.shape.map((_, i) => (i === axis ? had : 0));
      const fresh = tf.slice(
        weight,
        begin,
        weight.shape.map((d, i) => (i === axis ? d - had : d)),
      );
      return [tf.concat([importance, tf.zerosLike(fresh)], axis), tf.concat([anchor, fresh], axis)];
    });
    tf.dispose([importance, anchor]);
    q.importance.set(key, f);
    q.anchor.set(key, a);
  }
}

export function quadraticBytes(q: Quadratic): number {
  let n = 0;
  for (const t of [...q.importance.values(), ...q.anchor.values()]) n += t.size * 4;
  return n;
}

/** The state to save: tensors named `<importanceName>/<key>` and `anchor/<key>`. */
export function quadraticState(q: Quadratic, importanceName: string): StrategyState {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [key, t] of q.importance) tensors[`${importanceName}/${key}`] = t;
  for (const [key, t] of q.anchor) tensors[`anchor/${key}`] = t;
  return { values: { tasks: q.tasks, constant: q.constant }, tensors };
}

/** Takes back a saved state (copying its tensors) into `q`, cleared first. */
export function loadQuadratic(
  q: Quadratic,
  state: StrategyState,
  importanceName: string,
  strategy: string,
): void {
  clearQuadratic(q);
  for (const [tensorName, t] of Object.entries(state.tensors)) {
    const [kind, ...rest] = tensorName.split('/');
    const key = rest.join('/');
    if (kind === importanceName) q.importance.set(key, t.clone());
    else if (kind === 'anchor') q.anchor.set(key, t.clone());
    else throw new OptionError(`unexpected tensor '${tensorName}' in a saved ${strategy} state`);
  }
  for (const key of q.importance.keys()) {
    if (!q.anchor.has(key)) throw new OptionError(`the saved ${strategy} state has no anchor for '${key}'`);
  }
  q.tasks = Number(state.values.tasks ?? (q.importance.size > 0 ? 1 : 0));
  q.constant = Number(state.values.constant ?? 0);
}
