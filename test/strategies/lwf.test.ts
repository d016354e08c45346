import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/data/mnist.js';
import { learner } from '../../src/model/learner.js';
import { split } from '../../src/scenarios/split.js';
import { finetune, lwf, registry } from '../../src/strategies/index.js';
import { train } from '../../src/train/loop.js';
import type { Batch, Phase } from '../../src/train/strategy.js';
import { firstTaskAfterLast, leakedTensors, testBackend, withoutFusedStep } from '../helpers.js';
import { assertClose, context, tinyLearner, tinyScenario, values } from './tiny.js';

before(testBackend);

const inputsOf = (s: ReturnType<typeof tinyScenario>, task: number) =>
  tf.tensor(s.tasks[task].train.inputs, [...s.tasks[task].train.shape]);

test("the recorded targets are the old model's outputs on the new task's inputs (every old head)", async () => {
  const s = tinyScenario('task', 3);
  const l = tinyLearner(s);
  const strategy = lwf();
  await strategy.prepareTask?.(context(l, s, 2));
  const recorded = strategy.recorded();
  assert.deepEqual([...recorded.keys()], [0, 1]);
  const x = inputsOf(s, 2);
  for (const old of [0, 1]) {
    const expected = l.logits(x, old, 1);
    assert.deepEqual(values(recorded.get(old) as tf.Tensor), values(expected));
    expected.dispose();
  }
  // Saved and loaded, the records come back the same.
  const copy = lwf();
  copy.load?.(strategy.state?.() ?? { values: {}, tensors: {} });
  assert.deepEqual(values(copy.recorded().get(1) as tf.Tensor), values(recorded.get(1) as tf.Tensor));
  copy.dispose?.();
  strategy.finishTask?.(context(l, s, 2));
  assert.equal(strategy.recorded().size, 0);
  x.dispose();
  l.dispose();
});

test('in the class setting it records the old classes of the shared head', async () => {
  const s = tinyScenario('class', 3);
  const l = tinyLearner(s);
  const strategy = lwf();
  await strategy.prepareTask?.(context(l, s, 2));
  const recorded = strategy.recorded().get(1) as tf.Tensor;
  assert.deepEqual(recorded.shape, [6, 4]);
  const x = inputsOf(s, 2);
  const expected = l.logits(x, 1, 1); // after two tasks: the first four classes
  assert.deepEqual(values(recorded), values(expected));
  tf.dispose([x, expected]);
  strategy.dispose?.();
  l.dispose();
});

test('the distillation term is T² times the cross-entropy of the softened outputs', async () => {
  const s = tinyScenario('domain', 2);
  const l = tinyLearner(s);
  const temperature = 3;
  const lambda = 0.7;
  const strategy = lwf({ lambda, temperature });
  const ctx = context(l, s, 1);
  await strategy.prepareTask?.(ctx);
  const rows = [4, 0, 2];
  const x = tf.gather(inputsOf(s, 1), rows);
  const features = l.features(x, 1, true);
  const batch: Batch = {
    x,
    features,
    tasks: Int32Array.from(rows, () => 1),
    indices: Int32Array.from(rows),
    targets: Int32Array.from(rows, () => 0),
  };
  const got = tf.tidy(() => strategy.extraLoss?.(ctx, batch)?.dataSync()[0]) as number;
  // The network has not changed since recording: the term is the entropy of the softened outputs.
  const logits = values(l.headLogits(features, 1)).map((v) => v / temperature);
  let byHand = 0;
  for (let r = 0; r < rows.length; r++) {
    const z = logits.slice(2 * r, 2 * r + 2);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    byHand -= z.reduce((a, v) => a + Math.exp(v - lse) * (v - lse), 0);
  }
  byHand *= (lambda * temperature ** 2) / rows.length;
  assertClose([got], [byHand], 1e-5, 'distillation');
  tf.dispose([x, features]);
  strategy.dispose?.();
  l.dispose();
});

test('with several old heads the term is the mean over heads (all heads in one product)', async () => {
  const s = tinyScenario('task', 3);
  const l = tinyLearner(s);
  const temperature = 2;
  const strategy = lwf({ temperature });
  const ctx = context(l, s, 2);
  await strategy.prepareTask?.(ctx);
  // Move the trunk so the current outputs differ from the recorded ones.
  const moved = l.trunk.getWeights().map((w) => tf.tidy(() => w.mul(1.3).add(0.05)));
  l.trunk.setWeights(moved);
  tf.dispose(moved);
  const rows = [5, 1, 3, 0];
  const x = tf.gather(inputsOf(s, 2), rows);
  const features = l.features(x, 2, true);
  const batch: Batch = {
    x,
    features,
    tasks: Int32Array.from(rows, () => 2),
    indices: Int32Array.from(rows),
    targets: Int32Array.from(rows, () => 0),
  };
  const got = tf.tidy(() => strategy.extraLoss?.(ctx, batch)?.dataSync()[0]) as number;
  const perHead = [0, 1].map((t) =>
    tf.tidy(() => {
      const y = tf.softmax(tf.gather(strategy.recorded().get(t) as tf.Tensor2D, rows).div(temperature));
      const logq = tf.logSoftmax(l.headLogits(features, t, 2).div(temperature));
      return tf
        .sum(tf.mul(y, logq), 1)
        .mean()
        .mul(-(temperature ** 2))
        .dataSync()[0];
    }),
  );
  assertClose([got], [(perHead[0] + perHead[1]) / 2], 1e-5, 'fused');
  tf.dispose([x, features]);
  strategy.dispose?.();
  l.dispose();
});

test('the warm-up trains the new head alone, without the distillation term (task setting)', async () => {
  const s = tinyScenario('task', 2);
  const l = tinyLearner(s);
  const phases: Phase[] = [];
  const ctx = { ...context(l, s, 1), fit: async (p: Phase) => void phases.push(p) };
  await lwf({ warmupEpochs: 2 }).prepareTask?.(ctx);
  assert.equal(phases.length, 1);
  assert.equal(phases[0].epochs, 2);
  assert.equal(phases[0].extraLoss, false);
  assert.deepEqual(
    phases[0].variables?.map((v) => v.name),
    l.heads[1].trainableWeights.map((w) => (w.read() as tf.Variable).name),
  );
  l.dispose();
});

test('the registry validates LwF options', () => {
  const entry = registry.find((e) => e.name === 'lwf');
  assert.throws(() => entry?.create({ temperature: 0 }), /temperature/);
  assert.throws(() => entry?.create({ warmupEpochs: 1.5 }), /warmupEpochs/);
  assert.throws(() => entry?.create({ lambda: -2 }), /lambda/);
  assert.deepEqual(
    { lambda: entry?.create({}).options.lambda, temperature: entry?.create({}).options.temperature },
    { lambda: 1, temperature: 2 },
  );
});

const small = { kind: 'mlp', hidden: [50] } as const;

test('λo = 0 is exactly fine-tuning (the outputs are still recorded)', async () => {
  const s = split(loadMnist(), { tasks: 5, setting: 'task' });
  const run = async (make: () => ReturnType<typeof finetune>) => {
    const l = learner({ backbone: small, scenario: s, seed: 4 });
    const st = make();
    const r = await train(l, s, st, { iterations: 8, batchSize: 32, seed: 4 });
    const weights = l.trunk.getWeights().map(values);
    st.dispose?.();
    l.dispose();
    return { matrix: r.accuracyMatrix, weights };
  };
  await withoutFusedStep(async () => {
    assert.deepEqual(await run(() => lwf({ lambda: 0 })), await run(() => finetune()));
  });
});

test('no tensors leak over several tasks (task and class settings, with warm-up)', async () => {
  for (const setting of ['task', 'class'] as const) {
    const s = split(loadMnist(), { tasks: 5, setting });
    const leaked = await leakedTensors(async () => {
      const l = learner({ backbone: small, scenario: s, seed: 1 });
      const st = lwf({ warmupEpochs: 1 });
      await train(l, s, st, { iterations: 3, batchSize: 256, seed: 1 });
      assert.ok((st.memoryBytes?.() ?? 0) > 0);
      st.dispose?.();
      l.dispose();
    });
    assert.equal(leaked, 0, `lwf (${setting}) left ${leaked} tensors`);
  }
});

test('LwF forgets the first task less than fine-tuning (split MNIST, domain)', async () => {
  // As in the EWC test: ~420 test images of the first task, seed spread ~5 points; 20 points is no accident.
  const s = split(loadMnist(), { tasks: 5, setting: 'domain' });
  const base = await firstTaskAfterLast(s, () => finetune());
  const acc = await firstTaskAfterLast(s, () => lwf());
  assert.ok(acc > base + 0.2, `lwf: first task ${acc} after the last vs fine-tuning's ${base}`);
});
