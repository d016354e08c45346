/**
 * `npm run bench`: milliseconds per Adam training step, and samples per second, of
 *  - an MLP 784-400-400-10 at batch 128, and
 *  - a small CNN (conv 3×3×32 relu, max-pool 2, conv 3×3×64 relu, max-pool 2, dense 10) at batch 64,
 * on TensorFlow.js's `cpu` backend, its `wasm` backend as shipped, and `wasm` with unforget's
 * training kernels (src/backend/wasm/); and, when `python3 -c "import torch"` works, the same
 * models in PyTorch on one thread (bench/torch_reference.py), with the ratio to it.
 *
 * With the optional native BLAS addon (src/backend/wasm/native-blas.ts; built here when a C compiler,
 * Node's headers and a system BLAS are present) it also times `wasm` + unforget + the addon.
 *
 * Options: --repeats N (runs per configuration, default 7; the median is reported), --steps N
 * (steps per run, default 20), --cpu-seconds S (time budget per cpu configuration, default 20),
 * --no-cpu, --no-torch, --no-native, --torch-python PATH (default /usr/bin/python3).
 * Kept out of the tests: it takes a few minutes.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  disableWasmTrainingKernels,
  enableWasmTrainingKernels,
  wasmNativeBlasStatus,
} from '../src/backend/wasm/index.js';
import { loadNativeBlas } from '../src/backend/wasm/native-blas.js';

const { values: options } = parseArgs({
  options: {
    repeats: { type: 'string', default: '7' },
    steps: { type: 'string', default: '20' },
    'cpu-seconds': { type: 'string', default: '20' },
    'no-cpu': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
    'torch-python': { type: 'string', default: '/usr/bin/python3' },
  },
});
const repeats = Number(options.repeats);
const steps = Number(options.steps);
const cpuSeconds = Number(options['cpu-seconds']);

interface Model {
  name: string;
  batch: number;
  build(): tf.Sequential;
  inputShape: number[];
}

const models: Model[] = [
  {
    name: 'MLP 784-400-400-10',
    batch: 128,
    inputShape: [784],
    build() {
      const m = tf.sequential();
      m.add(tf.layers.dense({ inputShape: [784], units: 400, activation: 'relu' }));
      m.add(tf.layers.dense({ units: 400, activation: 'relu' }));
      m.add(tf.layers.dense({ units: 10 }));
      return m;
    },
  },
  {
    name: 'CNN conv32-pool-conv64-pool-dense10',
    batch: 64,
    inputShape: [28, 28, 1],
    build() {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 10 }));
      return m;
    },
  },
];

type Result = { runs: number[] } | { error: string };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Times `runs` runs of `stepsPerRun` training steps (after two warm-up steps); ms per step per run. */
function timeTraining(model: Model, runs: number, stepsPerRun: number, budgetMs = Infinity): Result {
  const net = model.build();
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([model.batch, ...model.inputShape]);
  const labels = tf.randomUniform([model.batch], 0, 10, 'int32');
  const y = tf.oneHot(labels, 10);
  const step = () => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    loss?.dataSync();
    loss?.dispose();
  };
  try {
    const start = performance.now();
    step();
    if (performance.now() - start < budgetMs / 4) step();
    const out: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      let n = 0;
      do {
        step();
        n++;
      } while (n < stepsPerRun && performance.now() - start < budgetMs);
      out.push((performance.now() - t) / n);
      if (performance.now() - start >= budgetMs) break;
    }
    return { runs: out };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  } finally {
    tf.dispose([x, labels, y]);
    net.dispose();
    optimizer.dispose();
  }
}

function torchReference(): { version: string; mlp: number[]; cnn: number[] } | string {
  if (options['no-torch']) return 'skipped (--no-torch)';
  const python = options['torch-python'];
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return `not available (${python} -c "import torch" failed)`;
  }
  const script = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
  const out = execFileSync(python, [script, String(repeats), String(steps), '1'], { encoding: 'utf8' });
  const parsed = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
    torch: string;
    mlp: number[];
    cnn: number[];
  };
  return { version: parsed.torch, mlp: parsed.mlp, cnn: parsed.cnn };
}

function row(label: string, model: Model, r: Result, reference?: number): string {
  if ('error' in r) return `  ${label.padEnd(26)} does not train: ${r.error}`;
  const ms = median(r.runs);
  const perSecond = (model.batch * 1000) / ms;
  const spread = `${Math.min(...r.runs).toFixed(1)}–${Math.max(...r.runs).toFixed(1)}`;
  const ratio = reference ? `  ${(ms / reference).toFixed(2)}× PyTorch` : '';
  return (
    `  ${label.padEnd(26)} ${ms.toFixed(1).padStart(8)} ms/step  ${perSecond.toFixed(0).padStart(6)} samples/s` +
    `  (${r.runs.length} runs: ${spread})${ratio}`
  );
}

async function main(): Promise<void> {
  console.log(
    `unforget kernel bench — node ${process.version}, @tensorflow/tfjs ${tf.version.tfjs}, ` +
      `${repeats} runs × ${steps} steps, medians`,
  );
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average at start: ${load()}`);
  const native = !options['no-native'] && loadNativeBlas(true) !== null;
  enableWasmTrainingKernels({ nativeBlas: native });
  const nativeNote = native
    ? ''
    : ` (${options['no-native'] ? '--no-native' : wasmNativeBlasStatus().detail})`;
  console.log(`native BLAS addon: ${native ? wasmNativeBlasStatus().detail : 'not used' + nativeNote}`);
  disableWasmTrainingKernels();
  const results = new Map<string, Result>();
  for (const model of models) {
    if (!options['no-cpu']) {
      await tf.setBackend('cpu');
      results.set(`${model.name}/cpu`, timeTraining(model, repeats, steps, cpuSeconds * 1000));
    }
    await tf.setBackend('wasm');
    disableWasmTrainingKernels();
    results.set(`${model.name}/shipped`, timeTraining(model, repeats, steps));
    enableWasmTrainingKernels({ nativeBlas: false });
    results.set(`${model.name}/ours`, timeTraining(model, repeats, steps));
    if (native) {
      enableWasmTrainingKernels({ nativeBlas: true });
      results.set(`${model.name}/native`, timeTraining(model, repeats, steps));
      enableWasmTrainingKernels({ nativeBlas: false });
    }
  }
  const torch = torchReference();
  console.log(`load average at end: ${load()}`);
  for (const [i, model] of models.entries()) {
    const ref = typeof torch === 'string' ? undefined : median(i === 0 ? torch.mlp : torch.cnn);
    console.log(`\n${model.name}, batch ${model.batch}:`);
    if (!options['no-cpu']) console.log(row('tfjs cpu', model, results.get(`${model.name}/cpu`)!, ref));
    console.log(row('tfjs wasm (shipped)', model, results.get(`${model.name}/shipped`)!, ref));
    console.log(row('tfjs wasm + unforget', model, results.get(`${model.name}/ours`)!, ref));
    if (native) console.log(row('  + native BLAS addon', model, results.get(`${model.name}/native`)!, ref));
    if (typeof torch === 'string') {
      console.log(`  PyTorch: ${torch}`);
    } else {
      const runs = i === 0 ? torch.mlp : torch.cnn;
      console.log(row(`PyTorch ${torch.version} (1 thread)`, model, { runs }));
    }
  }
}

await main();
