/**
 * Tensor counts while training, on the default backend (wasm with unforget's kernels and, where it
 * builds, the native BLAS): every strategy, an MLP and a CNN trunk, split MNIST's five tasks (an
 * eighth of the data, 12 steps of 32 per task). Prints, for each phase of each task, whether
 * tf.memory().numTensors stayed the same from its third step on, and the count before the run, after
 * it, after the learner and the strategy are disposed, and how many steps took the fused native step
 * (src/train/fused-step.ts). Never run by the tests.
 *
 *   node --import tsx bench/tensor-counts.ts
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/select.js';
import { nativeBlasStatus } from '../src/backend/wasm/index.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { learner } from '../src/model/learner.js';
import { train } from '../src/parallel/train.js';
import { split } from '../src/scenarios/split.js';
import { registry, strategyEntry } from '../src/strategies/index.js';
await useBackend('wasm', null);
console.log(`native BLAS: ${nativeBlasStatus().active}`);
const d = loadMnist();
const every = (n: number, k: number) => Array.from({ length: Math.floor(n / k) }, (_, i) => i * k);
const scenario = split(
  { train: subset(d.train, every(7996, 8)), test: subset(d.test, every(2004, 8)) },
  { tasks: 5, setting: 'task' },
);
for (const { name } of registry) {
  for (const backbone of [
    { kind: 'mlp', hidden: [64, 64] },
    { kind: 'cnn', filters: [8, 16], dense: 32 },
  ] as const) {
    const l = learner({ backbone, scenario, seed: 1 });
    const counts: Record<string, number[]> = {};
    const start = tf.memory().numTensors;
    const strategy = strategyEntry(name).create({});
    const result = await train(l, scenario, strategy, {
      iterations: 12,
      batchSize: 32,
      seed: 1,
      workers: 1,
      onProgress: (p) => {
        (counts[`${p.task}/${p.phase}`] ??= []).push(tf.memory().numTensors);
      },
    });
    const grows = Object.values(counts).map((c) => c.slice(2).some((v) => v !== c[2]));
    const after = tf.memory().numTensors;
    l.dispose();
    strategy.dispose?.();
    console.log(
      name.padEnd(18),
      backbone.kind,
      'flat in every phase:',
      grows.every((g) => !g),
      'start',
      start,
      'after run',
      after,
      'after dispose',
      tf.memory().numTensors,
      'fused steps',
      result.cost.fusedSteps,
    );
  }
}
