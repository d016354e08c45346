/**
 * `node --import tsx bench/fisher-conv.ts`: the time of EWC's diagonal Fisher on the cnn backbone
 * (conv 3×3×32, pool, conv 3×3×64, pool, dense 128) over split-MNIST task 1's examples, the vectorised
 * per-example way against one sample at a time, taking turns; medians. Also checks the two agree.
 *
 * Options: --samples N (examples per estimate, default 200), --repeats N (default 3),
 * --backend NAME (default auto: wasm with unforget's kernels here).
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { useBackend, type BackendName } from '../src/backend/select.js';
import { loadMnist } from '../src/data/mnist.js';
import { learner } from '../src/model/learner.js';
import { seededRandom } from '../src/random.js';
import { split } from '../src/scenarios/split.js';
import { diagonalFisher, type FisherMethod } from '../src/strategies/fisher.js';
import { arg } from './common.js';

const samples = Number(arg('samples', '200'));
const repeats = Number(arg('repeats', '3'));
try {
  await main();
} catch (e) {
  console.error(e);
  process.exit(1);
}

async function main(): Promise<void> {
  const backend = await useBackend(arg('backend', 'auto') as BackendName | 'auto');
  const scenario = split(loadMnist(), { tasks: 5, setting: 'task' });
  const model = learner({ backbone: { kind: 'cnn' }, scenario, seed: 1 });
  const load = () => loadavg()[0].toFixed(1);
  console.log(`Fisher of the cnn backbone, ${samples} samples, backend ${backend}, load average ${load()}`);

  const times: Record<string, number[]> = { vectorised: [], perSample: [] };
  let last: Record<string, Map<string, tf.Tensor>> = {};
  for (let r = 0; r < repeats; r++) {
    for (const method of ['vectorised', 'perSample'] as FisherMethod[]) {
      const start = performance.now();
      const { fisher } = diagonalFisher(model, scenario, 0, {
        samples,
        labels: 'sampled',
        random: seededRandom(1),
        method,
      });
      for (const f of fisher.values()) f.dataSync();
      times[method].push(performance.now() - start);
      for (const f of last[method]?.values() ?? []) f.dispose();
      last = { ...last, [method]: fisher };
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  let worst = 0;
  for (const [key, f] of last.vectorised) {
    const a = f.dataSync();
    const b = (last.perSample.get(key) as tf.Tensor).dataSync();
    const scale = (b as Float32Array).reduce((x, y) => Math.max(x, y), 0);
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  }
  const [v, p] = [median(times.vectorised), median(times.perSample)];
  console.log(
    `vectorised ${v.toFixed(0)} ms, per sample ${p.toFixed(0)} ms (${(p / v).toFixed(1)}× faster), runs:`,
  );
  console.log(`  vectorised ${times.vectorised.map((t) => t.toFixed(0)).join(', ')}`);
  console.log(`  per sample ${times.perSample.map((t) => t.toFixed(0)).join(', ')}`);
  console.log(
    `largest difference relative to each weight's largest value: ${worst.toExponential(1)}; load ${load()}`,
  );
  for (const m of Object.values(last)) for (const f of m.values()) f.dispose();
  model.dispose();
}
