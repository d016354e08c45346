/**
 * Training step time with 1 and 2 worker threads (issue 13, part 1), taking turns within one process:
 * the MLP 784-400-400-10 at batch 128 and the CNN (32, 64 filters, dense 128) at batch 64, on MNIST's
 * ten classes. Each repeat trains `--steps` steps per network and thread count and takes the wall time
 * and the CPU time of all threads per step (from step 10 to the last, the gradient exchange included;
 * on a busy machine the CPU time shows the threads' overhead, which the wall time hides behind waiting
 * for turns). The threads are started once and kept between runs.
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
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

/** Wall and CPU (every thread's) ms per step from step 10 to the last, by the loop's progress reports. */
async function stepMs(backbone: BackboneSpec, batchSize: number, workers: number): Promise<[number, number]> {
  const l = learner({ backbone, scenario, seed: 1 });
  const marks: { at: number; cpu: NodeJS.CpuUsage }[] = [];
  const r = await train(l, scenario, finetune(), {
    iterations: steps,
    batchSize,
    seed: 1,
    workers,
    onProgress: (p) => {
      if (p.step === 10 || p.step === steps) marks.push({ at: performance.now(), cpu: process.cpuUsage() });
    },
  });
  l.dispose();
  if (r.workers?.count !== workers)
    throw new Error(`asked for ${workers} threads, got ${JSON.stringify(r.workers)}`);
  const [from, to] = marks;
  const cpu = process.cpuUsage(from.cpu);
  const after = process.cpuUsage(to.cpu);
  // cpuUsage(previous) is the time since `previous`: from step 10 minus from the last step.
  const cpuMs = (cpu.user + cpu.system - (after.user + after.system)) / 1000;
  return [(to.at - from.at) / (steps - 10), cpuMs / (steps - 10)];
}

console.log(`load average before: ${load()}`);
for (const net of nets) {
  // A first round of each starts the threads and warms the kernels up; it is not counted.
  for (const w of [1, 2]) await stepMs(net.backbone, net.batchSize, w);
  const wall: Record<number, number[]> = { 1: [], 2: [] };
  const cpu: Record<number, number[]> = { 1: [], 2: [] };
  for (let r = 0; r < repeats; r++) {
    for (const w of r % 2 === 0 ? [1, 2] : [2, 1]) {
      const [ms, cpuMs] = await stepMs(net.backbone, net.batchSize, w);
      wall[w].push(ms);
      cpu[w].push(cpuMs);
    }
  }
  const list = (xs: number[]) => xs.map((t) => t.toFixed(1)).join(' ');
  const [w1, w2, c1, c2] = [median(wall[1]), median(wall[2]), median(cpu[1]), median(cpu[2])];
  console.log(
    `${net.name} (medians of ${repeats}): wall ${w1.toFixed(1)} ms/step with 1 thread, ${w2.toFixed(1)} with 2 ` +
      `(${(w1 / w2).toFixed(2)}×); CPU of all threads ${c1.toFixed(1)} vs ${c2.toFixed(1)} ms/step (${(c2 / c1).toFixed(2)}×)\n` +
      `  wall 1: ${list(wall[1])} | 2: ${list(wall[2])}\n  cpu 1: ${list(cpu[1])} | 2: ${list(cpu[2])}\n  load: ${load()}`,
  );
}
await closeWorkers();
