/**
 * `npm run bench`: milliseconds per Adam training step, and samples per second, of
 *  - an MLP 784-400-400-10 at batch 128, and
 *  - a small CNN (conv 3×3×32 relu, max-pool 2, conv 3×3×64 relu, max-pool 2, dense 10) at batch 64,
 * on TensorFlow.js's `cpu` backend, its `wasm` backend as shipped, and `wasm` with unforget's
 * training kernels (src/backend/wasm/); and, when `python3 -c "import torch"` works, the same
 * models in PyTorch on one thread (bench/torch_reference.py), with the ratio to it.
 *
 * With the optional native BLAS addon (src/backend/wasm/native-blas.ts; built here when a C compiler,
 * Node's headers and a system BLAS are present) it also times `wasm` + unforget + the addon, and for
 * the MLP the training loop's fused step of Dense networks (src/train/fused-step.ts: forward, loss and
 * backward in one native call, then the fused Adam), which is what `unforget run` takes for an MLP.
 *
 * Options: --repeats N (runs per configuration, default 7; the median is reported), --steps N
 * (steps per run, default 20), --cpu-seconds S (time budget per cpu configuration, default 20),
 * --no-cpu, --no-torch, --no-native, --torch-python PATH (default /usr/bin/python3), --blas-threads
 * LIST (thread counts to time the addon with, e.g. 1,2; default 1), --adam LIST (the Adam the
 * unforget configurations use: fused (unforget's, which the training loop uses with the addon), tf
 * (tf.train.adam), or tf,fused for both; default fused). Every configuration computes the loss as the
 * training loop does (sparseSoftmaxCrossEntropy: one kernel each way with unforget's kernels, TF.js's
 * own ops on the shipped backends).
 * The wasm configurations and PyTorch take turns run by run, so a change in the machine's load
 * falls on all of them; the cpu backend is timed first, alone. Kept out of the tests: it takes minutes.
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
  nativeBlasStatus,
  setNativeBlasThreads,
} from '../src/backend/wasm/index.js';
import { sparseSoftmaxCrossEntropy } from '../src/train/cross-entropy.js';
import { FusedAdam } from '../src/train/optimizers.js';
import { fusedPlan, fusedStep } from '../src/train/fused-step.js';
import { learner } from '../src/model/learner.js';

const { values: options } = parseArgs({
  options: {
    repeats: { type: 'string', default: '7' },
    steps: { type: 'string', default: '20' },
    'cpu-seconds': { type: 'string', default: '20' },
    'no-cpu': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
    'torch-python': { type: 'string', default: '/usr/bin/python3' },
    'blas-threads': { type: 'string', default: '1' },
    adam: { type: 'string', default: 'fused' },
  },
});
const repeats = Number(options.repeats);
const steps = Number(options.steps);
const cpuSeconds = Number(options['cpu-seconds']);
const blasThreads = options['blas-threads'].split(',').map(Number);
const adams = options.adam.split(',') as ('tf' | 'fused')[];

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

interface Trainer {
  /** One Adam step on a fixed random batch, reading the loss back (as PyTorch's loss.item()). */
  step(): void;
  dispose(): void;
}

/**
 * The training loop's fused native step (src/train/fused-step.ts) on the MLP: the same network as a
 * learner (a 784-400-400 trunk and a 10-way head), a fixed random batch, the fused Adam.
 */
function fusedTrainer(model: Model): Trainer {
  if (model.inputShape.length !== 1) throw new Error('the fused step is for Dense networks');
  const classes = Array.from({ length: 10 }, (_, c) => c);
  const l = learner({
    backbone: { kind: 'mlp', hidden: [400, 400] },
    scenario: {
      name: 'bench',
      setting: 'task',
      inputShape: model.inputShape,
      tasks: [{ name: 'digits', classes, classNames: classes.map(String) }],
    },
  });
  const variables = l.trainableVariables([0]);
  const plan = fusedPlan(l, 0, variables);
  if (!plan) throw new Error('the fused step does not apply here (it needs the native BLAS)');
  const optimizer = new FusedAdam(1e-3);
  const size = model.inputShape[0];
  const inputs = Float32Array.from({ length: model.batch * size }, () => Math.random());
  const targets = Int32Array.from({ length: model.batch }, () => Math.floor(Math.random() * 10));
  return {
    step() {
      const { gradients } = fusedStep(plan, inputs, targets, model.batch, 10);
      optimizer.applyGradients(gradients);
      tf.dispose(gradients);
    },
    dispose() {
      l.dispose();
      optimizer.dispose();
    },
  };
}

/** The model, its optimizer and a batch, on the current backend. */
function trainer(model: Model, adam: 'tf' | 'fused' = 'tf'): Trainer {
  const net = model.build();
  const optimizer = adam === 'fused' ? new FusedAdam(1e-3) : tf.train.adam(1e-3);
  const x = tf.randomUniform([model.batch, ...model.inputShape]);
  const labels = tf.randomUniform([model.batch], 0, 10, 'int32') as tf.Tensor1D;
  return {
    step() {
      // The training loop's loss: one kernel each way where unforget's kernels are on, TF.js ops elsewhere.
      const loss = optimizer.minimize(
        () => sparseSoftmaxCrossEntropy(net.apply(x) as tf.Tensor2D, labels),
        true,
      );
      loss?.dataSync();
      loss?.dispose();
    },
    dispose() {
      tf.dispose([x, labels]);
      net.dispose();
      optimizer.dispose();
    },
  };
}

/** ms per step over one run of `stepsPerRun` steps (fewer if `budgetMs` runs out first). */
function timeRun(t: Trainer, stepsPerRun: number, budgetMs = Infinity): number {
  const start = performance.now();
  let n = 0;
  do {
    t.step();
    n++;
  } while (n < stepsPerRun && performance.now() - start < budgetMs);
  return (performance.now() - start) / n;
}

function failure(e: unknown): { error: string } {
  return { error: (e as Error).message.split('\n')[0] };
}

/** The cpu backend, timed alone and within a time budget (a CNN step there takes tens of seconds). */
function timeCpu(model: Model): Result {
  const budget = cpuSeconds * 1000;
  const t = trainer(model);
  try {
    const start = performance.now();
    t.step();
    const runs: number[] = [];
    while (runs.length < repeats && performance.now() - start < budget) {
      runs.push(timeRun(t, steps, budget - (performance.now() - start)));
    }
    if (runs.length === 0) runs.push(performance.now() - start);
    return { runs };
  } catch (e) {
    return failure(e);
  } finally {
    t.dispose();
  }
}

interface TorchRun {
  version: string;
  mlp: number[];
  cnn: number[];
}

function torchAvailable(): string | undefined {
  if (options['no-torch']) return 'skipped (--no-torch)';
  try {
    execFileSync(options['torch-python'], ['-c', 'import torch'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `not available (${options['torch-python']} -c "import torch" failed)`;
  }
}

/** One run of each PyTorch model (a fresh process; its start-up is not timed). */
function torchRun(): { torch: string; mlp: number[]; cnn: number[] } {
  const script = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
  const out = execFileSync(options['torch-python'], [script, '1', String(steps), '1'], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { torch: string; mlp: number[]; cnn: number[] };
}

function row(label: string, model: Model, r: Result, reference?: number): string {
  if ('error' in r) return `  ${label.padEnd(36)} does not train: ${r.error}`;
  const ms = median(r.runs);
  const perSecond = (model.batch * 1000) / ms;
  const spread = `${Math.min(...r.runs).toFixed(1)}–${Math.max(...r.runs).toFixed(1)}`;
  const ratio = reference ? `  ${(ms / reference).toFixed(2)}× PyTorch` : '';
  return (
    `  ${label.padEnd(36)} ${ms.toFixed(1).padStart(8)} ms/step  ${perSecond.toFixed(0).padStart(6)} samples/s` +
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
  enableWasmTrainingKernels({ nativeBlas: !options['no-native'] });
  const blas = nativeBlasStatus();
  const native = blas.active;
  const nativeNote = options['no-native'] ? '--no-native' : blas.reason;
  console.log(
    `native BLAS addon: ${native ? `${blas.library}, ${blas.threads ?? '?'} thread(s)` : `not used (${nativeNote})`}`,
  );
  const results = new Map<string, Result>();

  if (!options['no-cpu']) {
    await tf.setBackend('cpu');
    for (const model of models) results.set(`${model.name}/cpu`, timeCpu(model));
  }

  // The wasm configurations and PyTorch take turns, run by run, so that a change in the machine's
  // load during the bench falls on all of them alike.
  await tf.setBackend('wasm');
  type Adam = 'tf' | 'fused';
  type Config = {
    key: string;
    label: string;
    kernels: boolean;
    native: boolean;
    threads?: number;
    adam?: Adam;
    /** The training loop's fused step of Dense networks (the MLP only). */
    fused?: boolean;
  };
  const adamNote = (adam: Adam) => (adams.length > 1 ? `, ${adam === 'tf' ? 'tf Adam' : 'fused Adam'}` : '');
  const configs: Config[] = [
    { key: 'shipped', label: 'tfjs wasm (shipped)', kernels: false, native: false },
    ...adams.map((adam) => ({
      key: `ours-${adam}`,
      label: `tfjs wasm + unforget${adamNote(adam)}`,
      kernels: true,
      native: false,
      adam,
    })),
    ...(native
      ? blasThreads.flatMap((threads) =>
          adams.map((adam) => ({
            key: `native${threads}-${adam}`,
            label: `  + native BLAS, ${threads} thr.${adamNote(adam)}`,
            kernels: true,
            native: true,
            threads,
            adam,
          })),
        )
      : []),
    ...(native
      ? blasThreads.map((threads) => ({
          key: `fused${threads}`,
          label: `  + native BLAS, ${threads} thr., fused step`,
          kernels: true,
          native: true,
          threads,
          fused: true,
        }))
      : []),
  ];
  const use = (c: Config) => {
    if (c.kernels) enableWasmTrainingKernels({ nativeBlas: c.native });
    else disableWasmTrainingKernels();
    if (c.threads) setNativeBlasThreads(c.threads);
  };
  const trainers = new Map<string, Trainer>();
  for (const model of models) {
    for (const c of configs) {
      const key = `${model.name}/${c.key}`;
      use(c);
      if (c.fused && model.inputShape.length !== 1) continue;
      const t = c.fused ? fusedTrainer(model) : trainer(model, c.adam);
      try {
        t.step();
        t.step();
        trainers.set(key, t);
        results.set(key, { runs: [] });
      } catch (e) {
        t.dispose();
        results.set(key, failure(e));
      }
    }
  }
  const torchMissing = torchAvailable();
  const torch: TorchRun = { version: '', mlp: [], cnn: [] };
  for (let r = 0; r < repeats; r++) {
    for (const model of models) {
      for (const c of configs) {
        const key = `${model.name}/${c.key}`;
        const t = trainers.get(key);
        const result = results.get(key);
        if (!t || !result || 'error' in result) continue;
        use(c);
        result.runs.push(timeRun(t, steps));
      }
    }
    if (!torchMissing) {
      const run = torchRun();
      torch.version = run.torch;
      torch.mlp.push(...run.mlp);
      torch.cnn.push(...run.cnn);
    }
  }
  for (const t of trainers.values()) t.dispose();
  enableWasmTrainingKernels({ nativeBlas: false });
  console.log(`load average at end: ${load()}`);

  for (const [i, model] of models.entries()) {
    const torchRuns = i === 0 ? torch.mlp : torch.cnn;
    const ref = torchMissing ? undefined : median(torchRuns);
    console.log(`\n${model.name}, batch ${model.batch}:`);
    if (!options['no-cpu']) console.log(row('tfjs cpu', model, results.get(`${model.name}/cpu`)!, ref));
    for (const c of configs) {
      const result = results.get(`${model.name}/${c.key}`);
      if (result) console.log(row(c.label, model, result, ref));
    }
    if (torchMissing) console.log(`  PyTorch: ${torchMissing}`);
    else console.log(row(`PyTorch ${torch.version} (1 thread)`, model, { runs: torchRuns }));
  }
}

await main();
