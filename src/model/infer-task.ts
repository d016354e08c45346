import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import type { Learner } from './learner.js';

/** Whether the task is picked for each example on its own, or once for a batch known to be one task. */
export type TaskInference = 'example' | 'batch';
export const taskInferences: readonly TaskInference[] = ['example', 'batch'];

/** What `inferTask` found. */
export interface InferredTasks {
  /** The task picked for each example (0-based, among the tasks learned). */
  readonly tasks: Int32Array;
  /**
   * Each example's class probabilities under its picked task's head, [count, widest head]; a narrower
   * head's row is padded with zeros. Owned by the caller: dispose it.
   */
  readonly probabilities: tf.Tensor2D;
}

/**
 * Picks the task of `x` when nobody says which, for a learner with a head (or mask) per task: every
 * learned task answers, and the answer with the lowest entropy `H(p) = −Σ_c p_c log p_c` wins (as SupSup,
 * Wortsman et al. 2020) — per example, or (`per: 'batch'`) by the lowest mean entropy over the batch,
 * when the caller knows the batch comes from one task. It costs one forward pass per learned task.
 *
 * ```ts
 * const { tasks, probabilities } = inferTask(l, x, 'batch');
 * ```
 */
export function inferTask(learner: Learner, x: tf.Tensor, per: TaskInference = 'example'): InferredTasks {
  if (!taskInferences.includes(per)) {
    throw new ModelError(`task inference is per ${taskInferences.join(' or ')}; got '${String(per)}'`);
  }
  const count = learner.trainedTasks;
  const n = x.shape[0];
  const seen = count - 1;
  const widths = Array.from({ length: count }, (_, t) => learner.layout.tasks[t].classes.length);
  const widest = Math.max(...widths);
  let tasks = new Int32Array(n);
  const probabilities = tf.tidy(() => {
    // p_t = softmax(head_t(features_t(x))) for every learned task t, padded to the widest head.
    const probs = Array.from({ length: count }, (_, t) => {
      const p = tf.softmax(learner.logits(x, t, seen));
      return widths[t] === widest
        ? p
        : p.pad([
            [0, 0],
            [0, widest - widths[t]],
          ]);
    });
    const stacked = tf.stack(probs, 1) as tf.Tensor3D; // [n, tasks, widest]
    // H(p) = −Σ_c p_c log p_c (0 log 0 = 0), [n, tasks]
    const entropy = tf.neg(tf.sum(tf.mul(stacked, tf.log(tf.maximum(stacked, 1e-30))), 2));
    if (per === 'batch') {
      const best = (tf.argMin(tf.mean(entropy, 0)).dataSync() as Int32Array)[0];
      tasks = new Int32Array(n).fill(best);
    } else {
      tasks = Int32Array.from(tf.argMin(entropy, 1).dataSync());
    }
    return tf.gather(
      stacked.reshape([n * count, widest]),
      tf.tensor1d(
        Array.from(tasks, (t, i) => i * count + t),
        'int32',
      ),
    ) as tf.Tensor2D;
  });
  return { tasks, probabilities };
}
