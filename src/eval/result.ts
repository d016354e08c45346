import type { InferredAccuracy } from './infer.js';
import type { Metrics } from './metrics.js';
import type { Setting } from '../scenarios/types.js';

/** How many threads trained (see RunResult.workers). */
export interface Workers {
  count: number;
  /** Why no more threads (e.g. 'the batch is too small to share'), when fewer than asked or 'auto' kept to one. */
  reason?: string;
  /** The native BLAS's threads during the run, when it multiplied (it then takes the cores instead of training threads). */
  blasThreads?: number;
}

/** What one run of a strategy over a scenario produced: the accuracy matrix, metrics and costs. */
export interface RunResult {
  scenario: string;
  setting: Setting;
  strategy: string;
  strategyOptions: Record<string, number | string | boolean>;
  training: { epochs: number | null; iterations: number | null; batchSize: number; seed: number };
  backend: string;
  versions: { unforget: string; tfjs: string };
  taskNames: string[];
  /** R[i][j]: test accuracy on task j after training tasks 0..i. Rows exist for the tasks trained. */
  accuracyMatrix: number[][];
  /** Test accuracy on each task before any training (the reference for forward transfer). */
  initialAccuracy: number[];
  /** Null when training stopped early (there is no full matrix to summarise). */
  metrics: Metrics | null;
  /**
   * Task setting, when asked for (`inferTask`): the accuracy after the last task without the task label
   * (the task inferred per example or per batch) beside the task-labelled `accuracyMatrix`.
   */
  withoutTaskLabel?: InferredAccuracy[];
  /**
   * When part of each task's training data was held out (a comparison's `validation`; `train` itself
   * does not hold any out): the share held out, its examples per task, and the accuracy matrix and
   * ACC on it, measured as the test ones are. Options are chosen on these, never on test accuracy.
   */
  validation?: {
    fraction: number;
    examples: number[];
    accuracyMatrix: number[][];
    averageAccuracy: number | null;
  };
  cost: {
    /** Wall time to learn each task, including the strategy's work before and after, in ms. */
    trainMs: number[];
    /** Mean training time per optimizer step over the run, in ms. */
    msPerStep: number;
    /**
     * Steps computed by the fused native step of Dense networks (train/fused-step.ts) rather than
     * through TensorFlow.js's gradients; absent in results saved before it existed.
     */
    fusedSteps?: number;
    /** Time to test every task after the last one, per test example, in ms. */
    testMsPerExample: number;
    /** Weights in the trunk and all heads. */
    parameters: number;
    /** Bytes the strategy keeps beyond the network (snapshots, Fisher, masks, stored data). */
    strategyBytes: number;
    needsOldData: boolean;
    /** Old training examples the strategy keeps (replay's memory); absent or 0: none. */
    keptExamples?: number;
  };
  /**
   * Threads that shared each training step (data-parallel training; 1: the caller's thread alone),
   * and, when fewer than asked or 'auto' kept to one, why. Absent in results of older versions.
   */
  workers?: Workers;
  /** True when training was stopped (by an abort signal) before the last task. */
  stopped: boolean;
  /**
   * Present when the run did not finish: how many tasks were learned in full (their rows are in the
   * matrix; a stopped task's row is there too) and why it ended.
   */
  incomplete?: { tasks: number; reason: string };
}
