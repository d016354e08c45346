import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/dataset.js';
import { Learner } from '../../src/model/learner.js';
import { seededRandom, type Random } from '../../src/random.js';
import type { Scenario, Setting } from '../../src/scenarios/types.js';
import type { TaskContext } from '../../src/train/strategy.js';

/** A scenario of `tasks` two-class tasks on 3-number inputs, `perTask` examples each (train = test). */
export function tinyScenario(setting: Setting, tasks = 2, perTask = 6, seed = 1): Scenario {
  const random = seededRandom(seed);
  const classNames = Array.from({ length: 2 * tasks }, (_, i) => `c${i}`);
  return {
    name: 'tiny',
    setting,
    inputShape: [3],
    tasks: Array.from({ length: tasks }, (_, t) => {
      const inputs = Float32Array.from({ length: perTask * 3 }, () => random() * 2 - 1);
      const labels = Int32Array.from({ length: perTask }, (_, i) => 2 * t + (i % 2));
      const data: Dataset = { inputs, labels, shape: [perTask, 3], classNames };
      return {
        name: `t${t}`,
        classes: [2 * t, 2 * t + 1],
        classNames: [`c${2 * t}`, `c${2 * t + 1}`],
        train: data,
        test: data,
      };
    }),
  };
}

/** A learner with one hidden ReLU layer of `hidden` units over the tiny scenario. */
export function tinyLearner(s: Scenario, hidden = 4, seed = 3): Learner {
  const input = tf.input({ shape: [3] });
  const out = tf.layers
    .dense({
      units: hidden,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.3, seed: seed + 1 }),
      name: 'hidden',
    })
    .apply(input) as tf.SymbolicTensor;
  return new Learner(tf.model({ inputs: input, outputs: out }), s, { seed });
}

/** A task context outside the training loop (its `fit` does nothing). */
export function context(
  learner: Learner,
  scenario: Scenario,
  task: number,
  random: Random = seededRandom(7),
): TaskContext {
  return { learner, scenario, task, random, fit: async () => {} };
}

/** The values of a tensor as a plain array. */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance = 1e-5,
  what = '',
): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance * scale)) {
      throw new Error(`${what}[${i}] = ${actual[i]}, expected ${expected[i]} (±${tolerance * scale})`);
    }
  }
}
