/**
 * Training step time with 1 and 2 worker threads (issue 13, part 1), taking turns within one process:
 * the MLP 784-400-400-10 at batch 128 and the CNN (32, 64 filters, dense 128) at batch 64, on MNIST's
 * ten classes. Each repeat trains `--steps` steps per network and thread count and reads the loop's own
 * time per step (the gradient exchange included); the threads are started once and kept between runs.
 *
 *   node --import tsx bench/parallel-step.ts --repeats 5 --steps 60 [--backend wasm]
 */
import { loadavg } from 'node:os';
import { useBackend, type BackendName } from '../src/backend/select.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import type { BackboneSpec } from '../src/model/backbones.js';
import { learner } from '../src/model/learner.js';
import { closeWorkers, train } from '../src/parallel/train.js';
import { split } from '../src/scenarios/split.js';
import { finetune } from '../src/strategies/index.js';
import { arg } from './common.js';

const repeats = Number(arg('repeats', '5'));
const steps = Number(arg('steps', '60'));
await useBackend(arg('backend', 'wasm') as BackendName, null);
const data = loadMnist();
const every = (n: number, k: number) => Array.from({ length: Math.floor(n / k) }, (_, i) => i * k);
const scenario = split(
  { train: subset(data.train, every(60000, 6)), test: subset(data.test, every(10000, 10)) },
  { tasks: 1, setting: 'task' },
);
const nets: { name: string; backbone: BackboneSpec; batchSize: number }[] = [
  { name: 'MLP 784-400-400-10, batch 128', backbone: { kind: 'mlp', hidden: [400, 400] }, batchSize: 128 },
  {
    name: 'CNN 32-64-128, batch 64',
    backbone: { kind: 'cnn', filters: [32, 64], dense: 128 },
    batchSize: 64,
  },
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function stepMs(backbone: BackboneSpec, batchSize: number, workers: number): Promise<number> {
  const l = learner({ backbone, scenario, seed: 1 });
  const s = finetune();
  const r = await train(l, scenario, s, { iterations: steps, batchSize, seed: 1, workers });
  l.dispose();
  if (r.workers?.count !== workers)
    throw new Error(`asked for ${workers} threads, got ${JSON.stringify(r.workers)}`);
  return r.cost.msPerStep;
}

console.log(
  `load average before: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
for (const net of nets) {
  // A first round of each starts the threads and warms the kernels up; it is not counted.
  for (const w of [1, 2]) await stepMs(net.backbone, net.batchSize, w);
  const times: Record<number, number[]> = { 1: [], 2: [] };
  for (let r = 0; r < repeats; r++) {
    for (const w of r % 2 === 0 ? [1, 2] : [2, 1])
      times[w].push(await stepMs(net.backbone, net.batchSize, w));
  }
  const [one, two] = [median(times[1]), median(times[2])];
  console.log(
    `${net.name}: 1 thread ${one.toFixed(1)} ms, 2 threads ${two.toFixed(1)} ms per step (medians of ${repeats}; ` +
      `${(one / two).toFixed(2)}×) — 1: ${times[1].map((t) => t.toFixed(1)).join(' ')}; 2: ${times[2].map((t) => t.toFixed(1)).join(' ')}`,
  );
}
console.log(
  `load average after: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
await closeWorkers();
