/**
 * Issue 4's costs, measured in one process so that every method sees the same machine:
 * - the time of a training step of lwf, ewc and onlineEwc over fine-tuning's, on split MNIST's fifth
 *   task (MLP 2×400, batch 128) with four tasks behind (EWC holds their Fisher, LwF the four old heads'
 *   recorded outputs). The steps are taken as the training loop takes them (trunk forward in training
 *   mode, cross-entropy of the task's head, the strategy's extra term, Adam over the trunk and head,
 *   reading the loss back), and the methods take turns step by step, so that the load of a shared
 *   machine falls on all of them alike. Reported: each method's median step, and the median over turns
 *   of its step over fine-tuning's step in the same turn;
 * - the diagonal Fisher for the MLP after each task: vectorised per-example gradients vs one sample at a
 *   time, and the largest difference between the two.
 *
 *   npx tsx bench/strategies-step-time.ts [--setting task] [--turns 150] [--out .tmp/step-time-task.json]
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/select.js';
import { exampleCount, exampleSize } from '../src/data/dataset.js';
import { learner } from '../src/model/learner.js';
import { seededRandom } from '../src/random.js';
import { namedScenario } from '../src/scenarios/named.js';
import { taskTargets, type Setting } from '../src/scenarios/types.js';
import { diagonalFisher } from '../src/strategies/fisher.js';
import { ewc, finetune, lwf, onlineEwc } from '../src/strategies/index.js';
import { train } from '../src/train/loop.js';
import type { Batch, Strategy, TaskContext } from '../src/train/strategy.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const backend = await useBackend((arg('backend', 'auto') as 'auto') ?? 'auto', null);
const setting = arg('setting', 'task') as Setting;
const turns = Number(arg('turns', '150'));
const iterations = Number(arg('iterations', '40'));
const out = arg('out', `.tmp/step-time-${setting}.json`);
const s = await namedScenario('split-mnist').build({ setting, seed: 0 });
const backbone = { kind: 'mlp', hidden: [400, 400] } as const;
const batchSize = 128;

// Four tasks learned (briefly) by fine-tuning; the strategies take them in as the loop would have.
const l = learner({ backbone, scenario: s, seed: 0 });
const last = s.tasks.length - 1;
const ctxOf = (task: number): TaskContext => ({
  learner: l,
  scenario: s,
  task,
  random: seededRandom(task),
  fit: async () => {},
});
const methods: [string, Strategy][] = [
  ['finetune', finetune()],
  ['lwf', lwf()],
  ['ewc', ewc()],
  ['onlineEwc', onlineEwc()],
];
await train(l, s, finetune(), {
  iterations,
  batchSize,
  onTaskEnd: (task) => {
    if (task >= last) return;
    for (const [, strategy] of methods) void strategy.finishTask?.(ctxOf(task));
  },
});
const ctx = ctxOf(last);
for (const [, strategy] of methods) await strategy.prepareTask?.(ctx);

// One training step as the loop takes it.
const data = s.tasks[last].train;
const size = exampleSize(data);
const targets = taskTargets(s, last, 'train');
const random = seededRandom(1);
const optimizers = methods.map(() => tf.train.adam(1e-3));
const variables = l.trainableVariables([l.setting === 'task' ? last : 0]);
const step = (strategy: Strategy, optimizer: tf.Optimizer): number => {
  const started = performance.now();
  const indices = Int32Array.from({ length: batchSize }, () => Math.floor(random() * exampleCount(data)));
  const inputs = new Float32Array(batchSize * size);
  indices.forEach((j, i) => inputs.set(data.inputs.subarray(j * size, (j + 1) * size), i * size));
  const x = tf.tensor(inputs, [batchSize, ...data.shape.slice(1)]);
  const loss = optimizer.minimize(
    () => {
      const features = l.features(x, last, true);
      const logits = l.headLogits(features, last, last);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from(indices, (j) => targets[j]),
          'int32',
        ),
        logits.shape[1],
      );
      const base = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      const batch: Batch = {
        x,
        features,
        tasks: new Int32Array(batchSize).fill(last),
        indices,
        targets: Int32Array.from(indices, (j) => targets[j]),
      };
      const extra = strategy.extraLoss?.(ctx, batch);
      return extra ? base.add(extra) : base;
    },
    true,
    variables,
  ) as tf.Scalar;
  x.dispose();
  loss.dataSync();
  loss.dispose();
  return performance.now() - started;
};
for (let w = 0; w < 5; w++) methods.forEach(([, strategy], m) => step(strategy, optimizers[m]));
const times: number[][] = methods.map(() => []);
for (let turn = 0; turn < turns; turn++) {
  // Rotate who goes first, so no method always follows the same one.
  for (let k = 0; k < methods.length; k++) {
    const m = (turn + k) % methods.length;
    times[m].push(step(methods[m][1], optimizers[m]));
  }
}
const stepRows = methods.map(([name], m) => ({
  method: name,
  msPerStep: median(times[m]),
  ratio: median(times[m].map((t, turn) => t / times[0][turn])),
}));
console.log(`step time (${setting} setting, task 5 with 4 behind, ${turns} turns, ${backend}):`);
for (const r of stepRows) {
  console.log(
    `  ${r.method.padEnd(10)} median ${r.msPerStep.toFixed(1)} ms, ×${r.ratio.toFixed(2)} fine-tuning's step`,
  );
}
for (const [, strategy] of methods) strategy.dispose?.();
for (const o of optimizers) o.dispose();
l.dispose();

// The Fisher after each task, both ways, on the network as training left it.
const fisherRows: { task: number; method: string; samples: number; ms: number }[] = [];
const fl = learner({ backbone, scenario: s, seed: 0 });
const samples = Number(arg('fisher-samples', '1000'));
let maxRelative = 0;
await train(fl, s, finetune(), {
  iterations,
  batchSize,
  onTaskEnd: (task) => {
    const results = (['vectorised', 'perSample'] as const).map((method) => {
      const started = performance.now();
      const r = diagonalFisher(fl, s, task, {
        samples,
        labels: 'sampled',
        random: seededRandom(task),
        method,
      });
      const ms = performance.now() - started;
      fisherRows.push({ task, method, samples: r.samples, ms });
      return r;
    });
    for (const key of results[0].fisher.keys()) {
      const [a, b] = results.map((r) => r.fisher.get(key) as tf.Tensor);
      const rel = tf.tidy(() => a.sub(b).abs().max().div(b.abs().max().add(1e-30)).dataSync()[0]);
      maxRelative = Math.max(maxRelative, rel);
    }
    for (const r of results) tf.dispose([...r.fisher.values()]);
    const [v, p] = fisherRows.slice(-2);
    console.log(
      `Fisher after task ${task + 1} (${v.samples} samples): vectorised ${v.ms.toFixed(0)} ms, one at a time ${p.ms.toFixed(0)} ms (×${(p.ms / v.ms).toFixed(1)})`,
    );
  },
});
fl.dispose();
console.log(`largest difference between the two ways: ${maxRelative.toExponential(1)} of the largest value`);
writeFileSync(
  out,
  JSON.stringify(
    {
      backend,
      setting,
      turns,
      iterations,
      steps: stepRows,
      fisher: fisherRows,
      fisherMaxRelativeDifference: maxRelative,
    },
    null,
    2,
  ),
);
