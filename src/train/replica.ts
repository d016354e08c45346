import type * as tf from '@tensorflow/tfjs';

/**
 * One of several threads that take every training step together (data-parallel training, as
 * PyTorch's DDP): each runs the same training program on the same learner, data, strategy and seed,
 * so everything but the gradient step is computed alike in all of them. Each replica computes the
 * gradient of its own shard of the batch; `reduce` sums the shards' gradients in replica order, so
 * every replica gets the same bits and applies the same update, and the replicas stay identical.
 * Replica 0 is the caller's thread: it alone evaluates and reports. The machinery that starts the
 * other threads is in src/parallel/; the loop knows only this interface, and trains alone with `solo`.
 */
export interface Replica {
  /** This replica's index; 0 evaluates and reports. */
  readonly index: number;
  /** How many replicas share each step. */
  readonly count: number;
  /**
   * Sums the replicas' gradients (by variable name; a variable absent from a replica's map had no
   * gradient there) and losses, in replica order, and tells whether any replica asked to stop.
   * Every replica must call it once per step, with the same `variables` in the same order. The
   * gradients returned are new tensors, one per variable some replica had a gradient for.
   */
  reduce(
    variables: readonly tf.Variable[],
    gradients: tf.NamedTensorMap,
    loss: number,
    stop: boolean,
  ): { gradients: tf.NamedTensorMap; loss: number; stop: boolean };
  /**
   * Whether to stop before the next step. Alone: when `signal` is aborted. Together: when a replica
   * asked to at the last `reduce`, so that every replica stops after the same step.
   */
  stopping(signal: AbortSignal | undefined): boolean;
}

/** Training on this thread alone. */
export const solo: Replica = {
  index: 0,
  count: 1,
  reduce: (_variables, gradients, loss, stop) => ({ gradients, loss, stop }),
  stopping: (signal) => signal?.aborted ?? false,
};

/** The rows [start, end) of a batch of `rows` that replica `index` of `count` takes: contiguous, sizes differing by one at most. */
export function shardOf(rows: number, index: number, count: number): { start: number; end: number } {
  return { start: Math.floor((index * rows) / count), end: Math.floor(((index + 1) * rows) / count) };
}
