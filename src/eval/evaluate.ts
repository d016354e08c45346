import * as tf from '@tensorflow/tfjs';
import { exampleCount, exampleSize } from '../data/dataset.js';
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
