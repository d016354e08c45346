import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subset, withClasses, type Dataset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { permutation, seededRandom } from '../../src/random.js';
import { DataError, OptionError, TaskError } from '../../src/errors.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { exportTask } from '../../src/model/export.js';
import { learner } from '../../src/model/learner.js';
import { fromPretrained } from '../../src/model/pretrained.js';
import { fileHandler } from '../../src/persist/io.js';
import { loadLearner, saveLearner } from '../../src/persist/save.js';
import { registry, strategyEntry } from '../../src/strategies/index.js';
import { learn } from '../../src/train/loop.js';
import { sameBits, testBackend } from '../helpers.js';

const mnist = loadMnist();
const every = (d: Dataset, k: number) =>
  subset(
    d,
    Array.from({ length: Math.floor(d.labels.length / k) }, (_, i) => i * k),
  );
/** Flat [n, 784] examples, as a model with a flat input takes them. */
const flat = (d: Dataset): Dataset => ({ ...d, shape: [d.shape[0], 784] });
const low = {
  train: withClasses(every(mnist.train, 2), [0, 1, 2, 3, 4]),
  test: withClasses(mnist.test, [0, 1, 2, 3, 4]),
};
const high = {
  train: withClasses(every(mnist.train, 4), [5, 6, 7, 8, 9]),
  test: withClasses(mnist.test, [5, 6, 7, 8, 9]),
};

let folder: string;
before(async () => {
  await testBackend();
  folder = await mkdtemp(join(tmpdir(), 'unforget-learn-'));
  // A classifier of digits 0-4 trained with plain TensorFlow.js (not unforget), with a flat input,
  // saved in TensorFlow.js's own format: the model a user brings.
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: 128,
        activation: 'relu',
        name: 'hidden',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 5,
        activation: 'softmax',
        name: 'digits',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(2e-3), loss: 'sparseCategoricalCrossentropy' });
  // Shuffled once, seeded (the set is ordered by digit); fit's own shuffling is not seeded.
  const d = flat(subset(low.train, permutation(low.train.labels.length, seededRandom(4))));
  const x = tf.tensor(d.inputs, d.shape as number[]);
  const y = tf.tensor1d(d.labels, 'float32');
  // Seeded weights and no shuffling: the same model every run.
  await model.fit(x, y, { epochs: 2, batchSize: 64, verbose: 0, shuffle: false });
  tf.dispose([x, y]);
  await model.save(fileHandler(join(folder, 'plain')));
  model.dispose();
});
after(() => rm(folder, { recursive: true, force: true }));

const adopt = async () => {
  const model = await tf.loadLayersModel(fileHandler(join(folder, 'plain')));
  const l = fromPretrained(model, {
    cutAt: 'hidden',
    keepHead: { name: 'low', classNames: ['zero', 'one', 'two', 'three', 'four'] },
  });
  return { model, l };
};

function accuracy(probs: tf.Tensor, labels: Int32Array, offset = 0): number {
  const predicted = probs.argMax(1).dataSync();
  let right = 0;
  predicted.forEach((p, i) => (right += p + offset === labels[i] ? 1 : 0));
  return right / labels.length;
}

test('an adopted classifier answers as the model itself, and its first task is its own', async () => {
  const { model, l } = await adopt();
  const d = flat(low.test);
  const x = tf.tensor(d.inputs, d.shape as number[]);
  const own = model.predict(x, { batchSize: d.shape[0] }) as tf.Tensor;
  const learned = l.predict(x, 'low');
  assert.ok(sameBits(own.dataSync(), learned.dataSync()), "the learner's answers differ from the model's");
  assert.ok(accuracy(own, d.labels) > 0.9, 'the plain classifier learned digits 0-4');
  assert.equal(l.trainedTasks, 1);
  assert.deepEqual(l.layout.tasks[0].classNames, ['zero', 'one', 'two', 'three', 'four']);
  assert.equal(l.history[0].strategy, 'adopted');
  tf.dispose([x, own, learned]);
  l.dispose();
  model.dispose();
});

// Every strategy learns digits 5-9 on the adopted model without the first task's training data
// (only its test images, to measure it); joint, which needs that data, is given it.
for (const entry of registry) {
  test(`${entry.name} learns a second task on an adopted classifier without its training data`, async () => {
    const { model, l } = await adopt();
    const strategy = entry.create(
      entry.name === 'ewc' || entry.name === 'onlineEwc' ? { fisherSamples: 200 } : {},
    );
    const x = tf.tensor(flat(low.test).inputs, [low.test.shape[0], 784]);
    const firstBefore = l.predict(x, 'low');
    const start = tf.memory().numTensors;
    const oldData = {
      low: { test: flat(low.test), ...(entry.needsOldData ? { train: flat(low.train) } : {}) },
    };
    const r = await learn(
      l,
      { name: 'high', train: flat(high.train), test: flat(high.test), source: 'mnist:5-9' },
      strategy,
      { epochs: 3, batchSize: 64, seed: 1, oldData },
    );
    const [oldAcc, newAcc] = r.accuracies as number[];
    assert.ok(newAcc > 0.4, `${entry.name}: digits 5-9 reached only ${newAcc} (chance 0.2)`);
    const firstAfter = l.predict(x, 'low');
    const exact = sameBits(firstBefore.dataSync(), firstAfter.dataSync());
    if (entry.name === 'featureExtraction' || entry.name === 'piggyback') {
      assert.ok(exact, `${entry.name} changed the adopted task's answers`);
    }
    if (['lwf', 'ewc', 'onlineEwc', 'packnet', 'joint'].includes(entry.name)) {
      assert.ok(oldAcc > 0.8, `${entry.name} kept only ${oldAcc} of the adopted task`);
    }
    assert.equal(l.history[1].source, 'mnist:5-9');
    assert.deepEqual(l.history[1].accuracies, r.accuracies);
    tf.dispose([firstBefore, firstAfter]);
    // A second task leaves no tensors behind beyond the new head (and the strategy's kept state).
    const leaked = tf.memory().numTensors - start;
    assert.ok(leaked <= 24, `${entry.name} left ${leaked} tensors`);
    x.dispose();
    strategy.dispose?.();
    l.dispose();
    model.dispose();
  });
}

test('joint without the old data says how to give it', async () => {
  const { model, l } = await adopt();
  await assert.rejects(
    learn(l, { name: 'high', train: flat(high.train) }, strategyEntry('joint').create({}), { iterations: 1 }),
    (e: Error) =>
      e instanceof OptionError && /oldData: \{ 'low'/.test(e.message) && /--old-data/.test(e.message),
  );
  assert.equal(l.trainedTasks, 1);
  l.dispose();
  model.dispose();
});

test('bad tasks are refused before any training', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [8] }, inputShape: [28, 28, 1] });
  const s = strategyEntry('finetune').create({});
  await learn(l, { name: 'low', train: every(low.train, 8) }, s, { iterations: 2 });
  await assert.rejects(
    learn(l, { name: 'low', train: every(high.train, 8) }, s, { iterations: 1 }),
    TaskError,
  );
  await assert.rejects(
    learn(l, { name: 'flat', train: flat(every(high.train, 8)) }, s, { iterations: 1 }),
    (e: Error) => e instanceof DataError && /shape \[784\]/.test(e.message),
  );
  await assert.rejects(
    learn(l, { name: 'five', train: withClasses(every(high.train, 8), [5]) }, s, { iterations: 1 }),
    (e: Error) => e instanceof DataError && /at least 2 classes/.test(e.message),
  );
  await assert.rejects(
    learn(l, { name: 'odd', train: every(high.train, 8), classes: [5, 6] }, s, { iterations: 1 }),
    (e: Error) => e instanceof DataError && /not one of the task's classes/.test(e.message),
  );
  assert.throws(
    () => l.predict(tf.zeros([1, 28, 28, 1]), 'nope'),
    /no task named 'nope'; its tasks are: low/,
  );
  assert.equal(l.trainedTasks, 1);
  l.dispose();
});

test('class and domain learners grow with each task; the class head keeps its old outputs', async () => {
  for (const setting of ['class', 'domain'] as const) {
    const l = learner({ backbone: { kind: 'mlp', hidden: [16] }, inputShape: [28, 28, 1], setting, seed: 2 });
    const s = strategyEntry(setting === 'class' ? 'ewc' : 'lwf').create({ fisherSamples: 50 });
    const pairs = [
      [0, 1],
      [2, 3],
      [4, 5],
    ];
    const x = tf.tensor(mnist.test.inputs.subarray(0, 784 * 3), [3, 28, 28, 1]);
    let width = 0;
    for (const [k, pair] of pairs.entries()) {
      const before = k === 0 ? null : (l.heads[0].getWeights()[0].dataSync().slice() as Float32Array);
      await learn(l, { name: `t${k}`, train: withClasses(every(mnist.train, 4), pair) }, s, {
        iterations: 3,
        seed: 1,
      });
      const p = l.predict(x);
      width = p.shape[1];
      p.dispose();
      assert.equal(width, setting === 'class' ? 2 * (k + 1) : 2, `${setting} after ${k + 1} tasks`);
      if (before && setting === 'class') assert.equal(l.heads[0].getWeights()[0].shape[1], 2 * (k + 1));
    }
    x.dispose();
    s.dispose?.();
    l.dispose();
  }
});

test("exportTask gives a plain TF.js model with the learner's answers, masks baked in", async () => {
  for (const name of ['packnet', 'piggyback', 'lwf']) {
    const l = learner({ backbone: { kind: 'mlp', hidden: [16] }, inputShape: [28, 28, 1], seed: 4 });
    const s = strategyEntry(name).create({});
    await learn(l, { name: 'low', train: every(low.train, 4) }, s, { iterations: 5 });
    await learn(l, { name: 'high', train: every(high.train, 2) }, s, { iterations: 5 });
    const x = tf.tensor(mnist.test.inputs.subarray(0, 784 * 16), [16, 28, 28, 1]);
    for (const task of ['low', 'high']) {
      const out = join(folder, `export-${name}-${task}`);
      const exported = exportTask(l, task);
      await exported.save(fileHandler(out));
      exported.dispose();
      const plain = await tf.loadLayersModel(fileHandler(out));
      const a = plain.predict(x) as tf.Tensor;
      const b = l.predict(x, task);
      assert.ok(sameBits(a.dataSync(), b.dataSync()), `${name}: the exported '${task}' answers differently`);
      tf.dispose([a, b]);
      plain.dispose();
    }
    assert.throws(() => exportTask(l, 'third'), /no task named 'third'/);
    x.dispose();
    s.dispose?.();
    l.dispose();
  }
});

test('a class-setting export answers over every class learned so far', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [16] }, inputShape: [28, 28, 1], setting: 'class' });
  const s = strategyEntry('finetune').create({});
  await learn(l, { name: 'a', train: withClasses(every(mnist.train, 4), [0, 1]) }, s, { iterations: 3 });
  await learn(l, { name: 'b', train: withClasses(every(mnist.train, 4), [2, 3, 4]) }, s, { iterations: 3 });
  const x = tf.tensor(mnist.test.inputs.subarray(0, 784 * 4), [4, 28, 28, 1]);
  const exported = exportTask(l, 'a');
  const a = exported.predict(x) as tf.Tensor;
  const b = l.predict(x);
  assert.deepEqual(a.shape, [4, 5]);
  assert.ok(sameBits(a.dataSync(), b.dataSync()));
  tf.dispose([a, b, x]);
  exported.dispose();
  l.dispose();
});

test('the history and head seed are saved with the learner', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [8] }, inputShape: [28, 28, 1], seed: 7 });
  const s = strategyEntry('finetune').create({});
  await learn(
    l,
    { name: 'low', train: every(low.train, 8), test: every(low.test, 4), source: 'mnist:0-4' },
    s,
    {
      iterations: 2,
    },
  );
  const path = join(folder, 'history');
  await saveLearner(path, l, s);
  const back = await loadLearner(path);
  assert.deepEqual(back.learner.history, l.history);
  assert.equal(back.learner.headSeed, l.headSeed);
  assert.equal(back.learner.history[0].source, 'mnist:0-4');
  assert.equal(back.learner.history[0].accuracies.length, 1);
  back.learner.dispose();
  l.dispose();
});

test('an exported task is one flat model of built-in layers that unforget can adopt again', async () => {
  const l = learner({ backbone: { kind: 'cnn', filters: [4, 8] }, inputShape: [28, 28, 1], seed: 2 });
  const s = strategyEntry('packnet').create({ retrainEpochs: 0 });
  await learn(l, { name: 'low', train: every(low.train, 8) }, s, { iterations: 3 });
  await learn(l, { name: 'high', train: every(high.train, 4) }, s, { iterations: 3 });
  const exported = exportTask(l, 'high');
  assert.ok(
    exported.layers.every((layer) => !('layers' in layer)),
    'no nested models',
  );
  assert.equal(exported.layers[exported.layers.length - 1].getConfig().activation, 'softmax');
  const path = join(folder, 'export-cnn');
  await exported.save(fileHandler(path));
  exported.dispose();
  const plain = await tf.loadLayersModel(fileHandler(path));
  const again = fromPretrained(plain, { keepHead: { name: 'high' } });
  const x = tf.tensor(mnist.test.inputs.subarray(0, 784 * 8), [8, 28, 28, 1]);
  const a = l.predict(x, 'high');
  const b = again.predict(x, 'high');
  assert.ok(sameBits(a.dataSync(), b.dataSync()), 'the re-adopted export answers as the learner');
  tf.dispose([a, b, x]);
  again.dispose();
  plain.dispose();
  s.dispose?.();
  l.dispose();
});

test('evaluate measures the tasks it is given test data for, by name', async () => {
  const l = learner({ backbone: { kind: 'mlp', hidden: [16] }, inputShape: [28, 28, 1], seed: 3 });
  const s = strategyEntry('finetune').create({});
  await learn(l, { name: 'low', train: every(low.train, 2) }, s, { epochs: 2, batchSize: 32 });
  await learn(l, { name: 'high', train: every(high.train, 2) }, s, { epochs: 2, batchSize: 32 });
  const found = evaluate(l, { high: high.test });
  assert.equal(found.low, null);
  assert.ok((found.high as number) > 0.6, `high: ${found.high}`);
  assert.throws(() => evaluate(l, { shapes: high.test }), /not learned; its tasks: low, high/);
  l.dispose();
});
