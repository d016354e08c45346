/**
 * Issue 4's costs, measured in one process so that every method sees the same machine:
 * - the time of a training step of lwf, ewc and onlineEwc over fine-tuning's (split MNIST, 5 tasks,
 *   MLP 2×400, batch 128): methods run in interleaved rounds, and a step's time is the interval between
 *   two progress reports of tasks 2–5 (when the extra terms are active); the median per method;
 * - the diagonal Fisher for the MLP: vectorised per-example gradients vs one sample at a time, per task.
 *
 *   npx tsx bench/strategies-step-time.ts [--setting task] [--rounds 3] [--iterations 40] [--out .tmp/step-time.json]
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/select.js';
import { learner } from '../src/model/learner.js';
import { seededRandom } from '../src/random.js';
import { namedScenario } from '../src/scenarios/named.js';
import type { Setting } from '../src/scenarios/types.js';
import { diagonalFisher } from '../src/strategies/fisher.js';
import { ewc, finetune, lwf, onlineEwc } from '../src/strategies/index.js';
import { train } from '../src/train/loop.js';
import type { Strategy } from '../src/train/strategy.js';

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
const rounds = Number(arg('rounds', '3'));
const iterations = Number(arg('iterations', '40'));
const out = arg('out', `.tmp/step-time-${setting}.json`);
const s = await namedScenario('split-mnist').build({ setting, seed: 0 });
const backbone = { kind: 'mlp', hidden: [400, 400] } as const;

const methods: [string, () => Strategy][] = [
  ['finetune', () => finetune()],
  ['lwf', () => lwf()],
  ['ewc', () => ewc()],
  ['onlineEwc', () => onlineEwc()],
];
const steps: Record<string, number[]> = Object.fromEntries(methods.map(([n]) => [n, []]));
const loopMs: Record<string, number[]> = Object.fromEntries(methods.map(([n]) => [n, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, make] of methods) {
    const l = learner({ backbone, scenario: s, seed: round });
    const strategy = make();
    let last: { task: number; at: number } | null = null;
    const intervals: number[] = [];
    const r = await train(l, s, strategy, {
      iterations,
      batchSize: 128,
      seed: round,
      onProgress: (p) => {
        const at = performance.now();
        if (p.phase === 'train' && p.task > 0 && last && last.task === p.task) intervals.push(at - last.at);
        last = { task: p.task, at };
      },
    });
    steps[name].push(median(intervals));
    loopMs[name].push(r.cost.msPerStep);
    strategy.dispose?.();
    l.dispose();
  }
  console.log(
    `round ${round + 1}: ` + methods.map(([n]) => `${n} ${steps[n][round].toFixed(1)} ms`).join(', '),
  );
}
const base = median(steps.finetune);
const stepRows = methods.map(([n]) => ({
  method: n,
  msPerStep: median(steps[n]),
  ratio: median(steps[n]) / base,
  loopMsPerStepAllTasks: median(loopMs[n]),
}));
console.log(
  `\nstep time (${setting} setting, tasks 2-5, median of ${rounds} rounds × ${4 * (iterations - 1)} steps):`,
);
for (const r of stepRows)
  console.log(`  ${r.method.padEnd(10)} ${r.msPerStep.toFixed(1)} ms  ×${r.ratio.toFixed(2)}`);

// The Fisher after each task, both ways, on the network as training left it.
const fisherRows: { task: number; method: string; samples: number; ms: number }[] = [];
const l = learner({ backbone, scenario: s, seed: 0 });
const samples = Number(arg('fisher-samples', '1000'));
let maxRelative = 0;
await train(l, s, finetune(), {
  iterations,
  batchSize: 128,
  onTaskEnd: (task) => {
    const results = (['vectorised', 'perSample'] as const).map((method) => {
      const started = performance.now();
      const r = diagonalFisher(l, s, task, {
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
l.dispose();
console.log(`largest difference between the two ways: ${maxRelative.toExponential(1)} of the largest value`);
writeFileSync(
  out,
  JSON.stringify(
    {
      backend,
      setting,
      rounds,
      iterations,
      steps: stepRows,
      fisher: fisherRows,
      fisherMaxRelativeDifference: maxRelative,
    },
    null,
    2,
  ),
);
