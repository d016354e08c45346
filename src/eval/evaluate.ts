import * as tf from '@tensorflow/tfjs';
import { emptyDataset, exampleCount, exampleSize, type Dataset } from '../data/dataset.js';
import { DataError, TaskError } from '../errors.js';
import type { Learner } from '../model/learner.js';
import { taskTargets, type Scenario } from '../scenarios/types.js';

/**
 * Test accuracy on task `task` after `seen + 1` tasks were learned. In the class setting the outputs of
 * every class up to task max(task, seen) compete; in the task setting the task's own head is used.
 */
export function taskAccuracy(
  learner: Learner,
  scenario: Scenario,
  task: number,
  seen: number,
  batchSize = 1000,
): number {
  const data = scenario.tasks[task].test;
  const targets = taskTargets(scenario, task, 'test');
  const n = exampleCount(data);
  const size = exampleSize(data);
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const predicted = tf.tidy(() => {
      const x = tf.tensor(data.inputs.subarray(start * size, (start + count) * size), [
        count,
        ...data.shape.slice(1),
      ]);
      return learner.logits(x, task, seen).argMax(1);
    });
    const labels = predicted.dataSync();
    predicted.dispose();
    for (let i = 0; i < count; i++) if (labels[i] === targets[start + i]) correct++;
  }
  return n === 0 ? 0 : correct / n;
}

/** Accuracy on every task of the scenario after `seen + 1` tasks: one row of the accuracy matrix. */
export function accuracyRow(learner: Learner, scenario: Scenario, seen: number): number[] {
  return scenario.tasks.map((_, j) => taskAccuracy(learner, scenario, j, seen));
}

/**
 * Test accuracy of the learner's tasks on the test sets given by task name, as `predict` answers now
 * (after every task learned so far); null for a learned task not given (or given no examples).
 *
 * ```ts
 * evaluate(l, { 'digits 0-4': old.test, 'digits 5-9': now.test }); // { 'digits 0-4': 0.96, 'digits 5-9': 0.94 }
 * ```
 */
export function evaluate(
  learner: Learner,
  tests: Readonly<Record<string, Dataset>>,
): Record<string, number | null> {
  const learned = learner.layout.tasks.slice(0, learner.trainedTasks);
  for (const name of Object.keys(tests)) {
    if (!learned.some((t) => t.name === name)) {
      throw new TaskError(
        `evaluate got test data for '${name}', which the learner has not learned; its tasks: ${learned.map((t) => t.name).join(', ') || 'none'}`,
      );
    }
  }
  const shape = learner.layout.inputShape;
  const empty = emptyDataset(shape);
  const scenario: Scenario = {
    ...learner.layout,
    tasks: learned.map((t) => ({ ...t, train: empty, test: tests[t.name] ?? empty })),
  };
  const out: Record<string, number | null> = {};
  learned.forEach((t, j) => {
    const test = tests[t.name];
    if (test && test.shape.slice(1).join('x') !== shape.join('x')) {
      throw new DataError(
        `the test data of '${t.name}' has examples of shape [${test.shape.slice(1).join(', ')}]; the learner takes [${shape.join(', ')}]`,
      );
    }
    out[t.name] =
      !test || exampleCount(test) === 0 ? null : taskAccuracy(learner, scenario, j, learner.trainedTasks - 1);
  });
  return out;
}
