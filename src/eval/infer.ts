import * as tf from '@tensorflow/tfjs';
import { exampleCount, exampleSize } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { inferTask, type TaskInference } from '../model/infer-task.js';
import type { Learner } from '../model/learner.js';
import type { Scenario } from '../scenarios/types.js';

/** Accuracy without the task label (task setting): the task inferred, then its head's answer. */
export interface InferredAccuracy {
  /** Per example, or once per batch of `batchSize` test examples of one task. */
  per: TaskInference;
  batchSize: number;
  /** Per task: the share of its test examples answered right with the task inferred. */
  accuracy: number[];
  /** Per task: the share of its test examples whose task was inferred right. */
  taskInferred: number[];
  /** Means over the tasks. */
  averageAccuracy: number;
  averageTaskInferred: number;
}

/**
 * Tests every learned task of `scenario` without telling the learner which task it is: for each test
 * example (or batch of `batchSize`, all of one task) `inferTask` picks a task, and the answer counts
 * when the picked head's class is the example's label.
 *
 * ```ts
 * inferredAccuracy(l, s, 'batch', 64).averageAccuracy;
 * ```
 */
export function inferredAccuracy(
  learner: Learner,
  scenario: Scenario,
  per: TaskInference,
  batchSize = per === 'batch' ? 64 : 1000,
): InferredAccuracy {
  if (learner.setting !== 'task') {
    throw new OptionError(
      `task inference is for the task setting (a head or mask per task); this learner is ${learner.setting}-incremental, ` +
        'where predict needs no task',
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new OptionError(`the batch size of task inference must be a whole number ≥ 1; got ${batchSize}`);
  }
  const accuracy: number[] = [];
  const taskInferred: number[] = [];
  for (let j = 0; j < learner.trainedTasks; j++) {
    const data = scenario.tasks[j].test;
    const n = exampleCount(data);
    const size = exampleSize(data);
    let right = 0;
    let found = 0;
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const x = tf.tensor(data.inputs.subarray(start * size, (start + count) * size), [
        count,
        ...data.shape.slice(1),
      ]);
      const { tasks, probabilities } = inferTask(learner, x, per);
      const best = probabilities.argMax(1);
      const answers = best.dataSync();
      tf.dispose([x, probabilities, best]);
      for (let i = 0; i < count; i++) {
        if (tasks[i] === j) found++;
        if (learner.layout.tasks[tasks[i]].classes[answers[i]] === data.labels[start + i]) right++;
      }
    }
    accuracy.push(n === 0 ? 0 : right / n);
    taskInferred.push(n === 0 ? 0 : found / n);
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return {
    per,
    batchSize,
    accuracy,
    taskInferred,
    averageAccuracy: mean(accuracy),
    averageTaskInferred: mean(taskInferred),
  };
}
