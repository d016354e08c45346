import * as tf from '@tensorflow/tfjs';
import { subset, withClasses, type Dataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import type { Learner } from '../../src/model/learner.js';
import type { LearnOptions, NewTask } from '../../src/train/loop.js';

const every = (d: Dataset, k: number) =>
  subset(
    d,
    Array.from({ length: Math.floor(d.labels.length / k) }, (_, i) => i * k),
  );

/** Three small tasks of split MNIST, the same in both sessions. */
export function sessionTasks(): NewTask[] {
  const m = loadMnist();
  return [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8, 9],
  ].map((classes) => ({
    name: `digits ${classes.join('')}`,
    train: withClasses(every(m.train, 8), classes),
    test: withClasses(every(m.test, 8), classes),
  }));
}

/** The training options of task `index`; joint gets the earlier tasks’ data. */
export function sessionOptions(strategy: string, tasks: NewTask[], index: number): LearnOptions {
  const oldData = Object.fromEntries(
    tasks.slice(0, index).map((t) => [t.name, { train: t.train, test: t.test }]),
  );
  return { iterations: 8, batchSize: 32, seed: 3, oldData: strategy === 'joint' ? oldData : {} };
}

/** Every learned task's logits on a few test images, as numbers. */
export function outputsOf(learner: Learner): number[][] {
  const m = loadMnist();
  const x = tf.tensor(m.test.inputs.subarray(0, 6 * 784), [6, 28, 28, 1]);
  const out = Array.from({ length: learner.trainedTasks }, (_, t) => {
    const y = learner.logits(x, t, learner.trainedTasks - 1);
    const values = Array.from(y.dataSync());
    y.dispose();
    return values;
  });
  x.dispose();
  return out;
}
