import type * as tf from '@tensorflow/tfjs';
import type { Learner } from '../model/learner.js';
import type { Scenario, Setting } from '../scenarios/types.js';
import type { Random } from '../random.js';

export type OptimizerName = 'adam' | 'sgd';
export const optimizerNames: readonly OptimizerName[] = ['adam', 'sgd'];

/** Options every strategy takes: how its steps are taken. */
export interface StepOptions {
  /** Default 1e-3. */
  learningRate?: number;
  /** Default 'adam'. */
  optimizer?: OptimizerName;
  /** Momentum for SGD. Default 0 (plain SGD). */
  momentum?: number;
}

/** A mini-batch as the training loop hands it to a strategy. */
export interface Batch {
  /** The inputs, [size, ...exampleShape]. */
  readonly x: tf.Tensor;
  /** The trunk's output for `x` (in training mode), [size, features]; gradients flow through it. */
  readonly features: tf.Tensor2D;
  /** Which task each example comes from. */
  readonly tasks: Int32Array;
  /** Each example's index in its task's training set. */
  readonly indices: Int32Array;
  /** Each example's target among the outputs of its head. */
  readonly targets: Int32Array;
  /**
   * How many rows at the end of the batch came from the strategy's `replay` (0 or absent: none); for
   * those rows `indices` are the strategy's own (e.g. memory slots), not indices into a training set.
   */
  readonly replayed?: number;
  /**
   * Set when this batch is one replica's shard of a larger batch (data-parallel training, see
   * replica.ts): the whole batch's rows. The loop weighs each shard's loss (the classification loss
   * and `extraLoss`) by the shard's share of the rows, which is exact for a mean over all rows and
   * for a term that does not depend on the batch (EWC's penalty); a mean over some of the rows only
   * must rescale itself (replay's DER++ term).
   */
  readonly whole?: Pick<Batch, 'tasks' | 'indices' | 'targets' | 'replayed'>;
}

/** Examples a strategy adds to a batch from what it keeps (experience replay's memory). */
export interface Replayed {
  /** [count × exampleSize] inputs. */
  readonly inputs: Float32Array;
  /** Which task each example comes from (its head and active outputs follow from it). */
  readonly tasks: Int32Array;
  /** Each example's target among the outputs of its head. */
  readonly targets: Int32Array;
  /** The strategy's own index of each example (handed back in `Batch.indices`). */
  readonly indices: Int32Array;
}

/** An extra round of training inside a task (LwF's warm-up, PackNet's retraining). */
export interface Phase {
  /** Shown in progress reports, e.g. 'warm-up'. */
  readonly name: string;
  /** Passes over the task's training data. */
  readonly epochs: number;
  /** The variables this phase trains. Default: the strategy's `trainableVariables`. */
  readonly variables?: tf.Variable[];
  /** Add the strategy's `extraLoss`. Default true. */
  readonly extraLoss?: boolean;
  /** Add the cross-entropy of the current task's labels. Default true (false: e.g. distillation alone). */
  readonly classification?: boolean;
}

/** What a strategy sees of the task being learned. */
export interface TaskContext {
  readonly learner: Learner;
  /**
   * Every task the learner knows, with its data. Earlier tasks whose data was not given (a loaded or
   * adopted learner, old data no longer kept) have empty training and test sets.
   */
  readonly scenario: Scenario;
  /** The index of the task being learned. */
  readonly task: number;
  /** Seeded randomness for this run. */
  readonly random: Random;
  /** Runs an extra phase of training on the current task's training data. */
  fit(phase: Phase): Promise<void>;
}

/**
 * What a strategy keeps between tasks, saved with the learner: plain values (as JSON) and named
 * tensors (Fisher information, anchors, recorded outputs, masks). Binary masks may be stored as
 * 'bool' or 'int32' tensors; the saver packs them as bits.
 */
export interface StrategyState {
  readonly values: Readonly<Record<string, unknown>>;
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
}

/**
 * A continual-learning method: the one training loop plus a few hooks. Every hook is optional; a
 * strategy with none is plain fine-tuning.
 */
export interface Strategy {
  /** The method's name, e.g. 'finetune'. */
  readonly name: string;
  /** Whether it trains on earlier tasks' data (which a user may no longer have). */
  readonly needsOldData: boolean;
  /** The settings it works in, when not all (PackNet and Piggyback pick weights by the task: 'task' only). */
  readonly settings?: readonly Setting[];
  /** The options in force, defaults filled in, as saved with results. */
  readonly options: Readonly<Required<StepOptions>> & Readonly<Record<string, number | string | boolean>>;
  /** Which tasks' training data the current task trains on. Default: the current task only. */
  trainingTasks?(ctx: TaskContext): number[];
  /** Before training a task: freeze layers, snapshot the old model, record targets. */
  prepareTask?(ctx: TaskContext): void | Promise<void>;
  /**
   * Refuses, before any training, a run of `tasks` tasks on `learner` that the strategy could not
   * finish (e.g. PackNet running out of free weights); throws an OptionError saying what to change.
   */
  checkPlan?(learner: Learner, tasks: number): void;
  /** The variables the optimizer updates. Default: the trainable trunk weights and the heads trained. */
  trainableVariables?(ctx: TaskContext): tf.Variable[];
  /** A term added to the loss of every step (runs inside the gradient tape). */
  extraLoss?(ctx: TaskContext, batch: Batch): tf.Scalar | undefined;
  /**
   * Examples to add to every batch of the task being learned (experience replay): they are trained on
   * with their targets like the task's own, and the strategy sees them at the end of the batch.
   */
  replay?(ctx: TaskContext, batchSize: number): Replayed | undefined;
  /**
   * Before each optimizer step, the gradients of the loss (classification + `extraLoss`) by variable
   * name (SI's path integral). They are the loop's: read them, keep nothing.
   */
  observeGradients?(ctx: TaskContext, gradients: tf.NamedTensorMap): void;
  /** After every optimizer step: keep frozen weights frozen, re-apply masks. */
  afterStep?(ctx: TaskContext): void;
  /** After a task's training: compute the Fisher information, prune, store a mask. */
  finishTask?(ctx: TaskContext): void | Promise<void>;
  /** Old training examples it keeps (replay's memory), counted in comparisons. Default 0. */
  keptExamples?(): number;
  /** Bytes the strategy keeps beyond the learner itself (snapshots, Fisher, masks, stored data). */
  memoryBytes?(): number;
  /** What the strategy keeps (for saving); the tensors stay owned by the strategy. */
  state?(): StrategyState;
  /** Binds the strategy to a loaded learner (e.g. puts its masks back into the trunk); called after `load`. */
  attach?(learner: Learner): void;
  /** Takes back a saved state (into a fresh strategy of the same name and options); copies the tensors it keeps. */
  load?(state: StrategyState): void;
  /** Frees every tensor the strategy holds. */
  dispose?(): void;
}
