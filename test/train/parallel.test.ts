import { availableParallelism, loadavg } from 'node:os';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { enableWasmTrainingKernels, nativeBlasStatus } from '../../src/backend/wasm/index.js';
import { learner, type Learner } from '../../src/model/learner.js';
import { fromPretrained } from '../../src/model/pretrained.js';
import { closeWorkers, learn, train, workerCount } from '../../src/parallel/train.js';
import { finetune, registry, strategyEntry } from '../../src/strategies/index.js';
import { OptionError } from '../../src/errors.js';
import type { Scenario } from '../../src/scenarios/types.js';
import type { Strategy } from '../../src/train/strategy.js';
import { firstTaskOutputs, sampledSplitMnist, testBackend } from '../helpers.js';

let scenario: Scenario;
after(closeWorkers);
before(async () => {
  // Threads train with the wasm kernels alone: with the native BLAS on, runs keep to one thread.
  process.env.UNFORGET_NATIVE_BLAS = '0';
  await testBackend();
  scenario = sampledSplitMnist(10);
});

const small = { kind: 'mlp', hidden: [50] } as const;
/** Options that make each registry strategy do its per-task work on a tiny budget (DER++'s logit term included). */
const tiny: Record<string, Record<string, number | string>> = {
  ewc: { fisherSamples: 100 },
  onlineEwc: { fisherSamples: 100 },
  replay: { memory: 200, alpha: 0.5 },
  packnet: { retrainEpochs: 0 },
  lwf: { warmupEpochs: 0 },
};

/** Trains the scenario with `name` on `workers` threads; the accuracy matrix, the first task's logits and the threads used. */
async function runWith(name: string, workers: number, iterations = 6) {
  const l = learner({ backbone: small, scenario, seed: 3 });
  const strategy = strategyEntry(name).create(tiny[name] ?? {});
  try {
    const r = await train(l, scenario, strategy, { iterations, batchSize: 64, seed: 3, workers });
    const x = tf.tensor(scenario.tasks[0].test.inputs.subarray(0, 16 * 784), [16, 28, 28, 1]);
    const logits = firstTaskOutputs(l, x);
    x.dispose();
    return { matrix: r.accuracyMatrix, logits, workers: r.workers };
  } finally {
    l.dispose();
    strategy.dispose?.();
  }
}

/** The largest difference between two float arrays, relative to the values' size (at least 1). */
function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
  return worst;
}

test('every registry strategy gives the same numbers with 1 and 2 workers (same seed)', async () => {
  for (const { name } of registry) {
    const one = await runWith(name, 1);
    const two = await runWith(name, 2);
    assert.deepEqual(one.workers, { count: 1 }, name);
    assert.deepEqual(two.workers, { count: 2 }, `${name}: ${JSON.stringify(two.workers)}`);
    assert.equal(two.matrix.length, scenario.tasks.length, name);
    // The summed shard gradients round differently from the whole batch's: float tolerance, not bits.
    const drift = largestDifference(one.logits, two.logits);
    assert.ok(drift < 1e-3, `${name}: logits differ by ${drift}`);
    one.matrix.forEach((row, i) => {
      const gap = Math.max(...row.map((v, j) => Math.abs(v - two.matrix[i][j])));
      // One test image of a task's ~200 may flip where the logits are close: 1%.
      assert.ok(gap <= 0.01, `${name}: accuracy after task ${i + 1} differs by ${gap}`);
    });
    // Not a vacuous match: the first task was learned (chance is 50%).
    assert.ok(one.matrix[0][0] > 0.7, `${name}: ${one.matrix[0]}`);
  }
});

test('learn with 2 workers matches learn alone, old task tested again', async () => {
  const results = [];
  for (const workers of [1, 2]) {
    const l = learner({ backbone: small, inputShape: [28, 28, 1], seed: 5 });
    const s = strategyEntry('lwf').create({});
    const [a, b] = scenario.tasks;
    await learn(l, { name: 'a', train: a.train, test: a.test }, s, { iterations: 5, batchSize: 64, workers });
    const r = await learn(l, { name: 'b', train: b.train, test: b.test }, s, {
      iterations: 5,
      batchSize: 64,
      workers,
      oldData: { a: { test: a.test } },
    });
    const x = tf.tensor(a.test.inputs.subarray(0, 8 * 784), [8, 28, 28, 1]);
    results.push({ r, logits: firstTaskOutputs(l, x) });
    x.dispose();
    l.dispose();
    s.dispose?.();
  }
  const [one, two] = results;
  assert.deepEqual(two.r.workers, { count: 2 });
  assert.equal(two.r.accuracies.length, 2);
  two.r.accuracies.forEach((v, i) => {
    assert.ok(v !== null && Math.abs(v - (one.r.accuracies[i] as number)) <= 0.01, `task ${i + 1}: ${v}`);
  });
  assert.ok(largestDifference(one.logits, two.logits) < 1e-3);
});

test('no tensor and no wasm-heap growth over many steps with workers', async () => {
  const heap = () =>
    tf.getBackend() === 'wasm'
      ? (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length
      : 0;
  const before = tf.memory().numTensors;
  const l = learner({ backbone: small, scenario, seed: 1 });
  const strategy = strategyEntry('ewc').create({ fisherSamples: 50 });
  const seen: { step: number; task: number; tensors: number; heap: number }[] = [];
  const r = await train(l, scenario, strategy, {
    iterations: 40,
    batchSize: 64,
    workers: 2,
    onProgress: (p) => {
      if (p.step === 10 || p.step === 40)
        seen.push({ step: p.step, task: p.task, tensors: tf.memory().numTensors, heap: heap() });
    },
  });
  assert.deepEqual(r.workers, { count: 2 });
  // Within the last task (the penalty's tensors all there): the same tensors and heap after 30 more steps.
  const last = seen.filter((s) => s.task === scenario.tasks.length - 1);
  assert.equal(last.length, 2);
  assert.equal(last[1].tensors, last[0].tensors, 'tensors grew over 30 steps');
  assert.equal(last[1].heap, last[0].heap, 'the wasm heap grew over 30 steps');
  strategy.dispose?.();
  l.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensors left after the run');
});

test('a thread that cannot start leaves the run to this thread, with the reason', async () => {
  // A layer class only this thread knows: the other threads cannot read the learner back.
  class Twice extends tf.layers.Layer {
    static className = 'TwiceForTheParallelTest';
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 2);
    }
  }
  tf.serialization.registerClass(Twice);
  const input = tf.input({ shape: [28, 28, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const twice = new Twice({}).apply(flat) as tf.SymbolicTensor;
  const features = tf.layers.dense({ units: 20, activation: 'relu' }).apply(twice) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10 }).apply(features) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const l: Learner = fromPretrained(model, { scenario });
  model.dispose();
  const strategy: Strategy = strategyEntry('finetune').create({});
  const r = await train(l, scenario, strategy, { iterations: 3, batchSize: 64, workers: 2 });
  assert.equal(r.workers?.count, 1);
  assert.match(r.workers?.reason ?? '', /could not start.*TwiceForTheParallelTest/);
  assert.equal(r.accuracyMatrix.length, scenario.tasks.length);
  l.dispose();
});

test('workerCount: auto, the environment, and the runs that keep to one thread', () => {
  const l = learner({ backbone: small, scenario, seed: 1 });
  const s = strategyEntry('finetune').create({});
  const shape = { learner: l, strategy: s, batchSize: 128, steps: 1000 };
  const saved = process.env.UNFORGET_WORKERS;
  try {
    delete process.env.UNFORGET_WORKERS;
    assert.equal(workerCount(3, shape).count, 3);
    assert.equal(workerCount(1, shape).count, 1);
    const auto = workerCount('auto', shape);
    assert.ok(auto.count >= 1 && auto.count <= 4);
    assert.match(workerCount('auto', { ...shape, batchSize: 40 }).reason ?? '', /too small/);
    assert.match(workerCount(undefined, { ...shape, steps: 20 }).reason ?? '', /too few/);
    process.env.UNFORGET_WORKERS = '2';
    assert.equal(workerCount('auto', { ...shape, steps: 20 }).count, 2);
    assert.equal(workerCount(1, shape).count, 1, 'a number given wins over the environment');
    process.env.UNFORGET_WORKERS = 'two';
    assert.throws(() => workerCount('auto', shape), /UNFORGET_WORKERS must be a whole number/);
    assert.throws(() => workerCount(0, shape), OptionError);
    const own: Strategy = { ...s, afterStep: () => {} };
    assert.match(workerCount(2, { ...shape, strategy: own }).reason ?? '', /not one of unforget's/);
  } finally {
    if (saved === undefined) delete process.env.UNFORGET_WORKERS;
    else process.env.UNFORGET_WORKERS = saved;
    l.dispose();
  }
});

test('unforget run --workers 2 trains on two threads and the process exits by itself', async () => {
  const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
  // execFile resolves when the process has exited: threads holding it would run into the timeout.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', main, 'run', '--tasks', '2', '--hidden', '20', '--iterations', '3', '--workers', '2'],
    { env: { ...process.env, UNFORGET_WORKERS: '' }, timeout: 180_000, maxBuffer: 16 * 2 ** 20 },
  );
  assert.match(stdout, /training threads\s+2 threads/);
});

test('with the native BLAS on, a run keeps to one thread, lends the cores to the BLAS and says so', async () => {
  delete process.env.UNFORGET_NATIVE_BLAS;
  enableWasmTrainingKernels({ nativeBlas: true });
  try {
    const status = nativeBlasStatus();
    const net = learner({ backbone: small, inputShape: scenario.inputShape, setting: 'task' });
    try {
      const counted = workerCount(2, {
        learner: net,
        strategy: strategyEntry('finetune').create({}),
        batchSize: 128,
        steps: 1000,
      });
      if (tf.getBackend() === 'wasm' && status.active) {
        assert.equal(counted.count, 1);
        assert.match(counted.reason ?? '', /native BLAS is on/);
        // The cores go to the BLAS instead: the number asked, or for 'auto' the cores (one when busy);
        // UNFORGET_BLAS_THREADS (compare's processes set it to 1) overrides both.
        assert.equal(counted.blasThreads, 2);
        const shape = {
          learner: net,
          strategy: strategyEntry('finetune').create({}),
          batchSize: 128,
          steps: 10,
        };
        const auto = workerCount('auto', shape);
        const busy = loadavg()[0] >= availableParallelism() + 1;
        assert.equal(auto.blasThreads, busy ? 1 : Math.min(availableParallelism(), 4));
        process.env.UNFORGET_BLAS_THREADS = '1';
        try {
          assert.equal(workerCount('auto', shape).blasThreads, 1);
          process.env.UNFORGET_BLAS_THREADS = 'two';
          assert.throws(
            () => workerCount('auto', shape),
            /UNFORGET_BLAS_THREADS must be a whole number ≥ 1; got 'two'/,
          );
        } finally {
          delete process.env.UNFORGET_BLAS_THREADS;
        }
        // A run borrows the BLAS threads it was given and gives them back.
        const threadsBefore = nativeBlasStatus().threads;
        const r = await train(net, scenario, finetune(), { iterations: 2, batchSize: 16, workers: 2 });
        assert.deepEqual(r.workers, { count: 1, reason: counted.reason, blasThreads: 2 });
        assert.equal(nativeBlasStatus().threads, threadsBefore);
      } else assert.equal(counted.count, 2);
    } finally {
      net.dispose();
    }
  } finally {
    enableWasmTrainingKernels({ nativeBlas: false });
    process.env.UNFORGET_NATIVE_BLAS = '0';
  }
});
