import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/select.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { learner, type Learner } from '../src/model/learner.js';
import { split } from '../src/scenarios/split.js';
import type { Scenario } from '../src/scenarios/types.js';
import { train } from '../src/train/loop.js';
import type { Strategy } from '../src/train/strategy.js';

/** Starts the backend the tests run on (UNFORGET_TEST_BACKEND, default: the automatic choice). */
export async function testBackend(): Promise<string> {
  const name = (process.env.UNFORGET_TEST_BACKEND ?? 'auto') as Parameters<typeof useBackend>[0];
  return useBackend(name, null);
}

/** Runs `f` and returns how many tensors it left behind. */
export async function leakedTensors(f: () => Promise<unknown> | unknown): Promise<number> {
  const before = tf.memory().numTensors;
  await f();
  return tf.memory().numTensors - before;
}

/** Split MNIST (5 tasks, task setting) on every `k`-th training and test image: small and still balanced. */
export function sampledSplitMnist(k: number): Scenario {
  const data = loadMnist();
  const every = (n: number) => Array.from({ length: Math.floor(n / k) }, (_, i) => i * k);
  return split(
    {
      train: subset(data.train, every(data.train.labels.length)),
      test: subset(data.test, every(data.test.labels.length)),
    },
    { tasks: 5, setting: 'task' },
  );
}

/** The learner's task-1 logits for `x`, as numbers. */
export function firstTaskOutputs(l: Learner, x: tf.Tensor): Float32Array {
  const y = l.logits(x, 0);
  const values = y.dataSync() as Float32Array;
  y.dispose();
  return values;
}

/** True when both hold the same float32 values bit for bit (NaN and -0 included). */
export const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

/**
 * Learns `scenario` with the strategy `make` builds (MLP 100, 50 steps per task, seed 1) and returns
 * the first task's accuracy after the last: how much of it the strategy kept.
 */
export async function firstTaskAfterLast(scenario: Scenario, make: () => Strategy): Promise<number> {
  const l = learner({ backbone: { kind: 'mlp', hidden: [100] }, scenario, seed: 1 });
  const strategy = make();
  const r = await train(l, scenario, strategy, { iterations: 50, batchSize: 64, seed: 1 });
  strategy.dispose?.();
  l.dispose();
  return r.accuracyMatrix[scenario.tasks.length - 1][0];
}

/**
 * Runs `f` with every training step through TensorFlow.js's gradients (UNFORGET_FUSED_STEP=0), for
 * tests that compare a strategy with an extra loss (which always takes that path) to fine-tuning bit
 * for bit: fine-tuning would otherwise take the fused native step, which rounds differently.
 */
export async function withoutFusedStep<T>(f: () => Promise<T>): Promise<T> {
  const before = process.env.UNFORGET_FUSED_STEP;
  process.env.UNFORGET_FUSED_STEP = '0';
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.UNFORGET_FUSED_STEP;
    else process.env.UNFORGET_FUSED_STEP = before;
  }
}
