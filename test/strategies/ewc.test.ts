import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/data/mnist.js';
import { Learner, learner } from '../../src/model/learner.js';
import { fromPretrained } from '../../src/model/pretrained.js';
import { seededRandom } from '../../src/random.js';
import { split } from '../../src/scenarios/split.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { ewc, finetune, onlineEwc, registry } from '../../src/strategies/index.js';
import { canVectorise, diagonalFisher, fisherParameters } from '../../src/strategies/fisher.js';
import { train } from '../../src/train/loop.js';
import type { Batch } from '../../src/train/strategy.js';
import { firstTaskAfterLast, leakedTensors, testBackend, withoutFusedStep } from '../helpers.js';
import { assertClose, context, tinyLearner, tinyScenario, values } from './tiny.js';

before(testBackend);

/**
 * The diagonal Fisher of the tiny learner (3 inputs → hidden ReLU → 2-output head), by hand in float64:
 * for each example, the gradient of log p(y|x) at the model's most likely label y, squared, averaged.
 */
function handFisher(l: Learner, s: Scenario, task: number): number[][] {
  const [w1, b1] = l.trunk.getWeights().map(values);
  const [w2, b2] = l.heads[l.setting === 'task' ? task : 0].getWeights().map(values);
  const hidden = b1.length;
  const outputs = b2.length;
  const data = s.tasks[task].train;
  const n = data.shape[0];
  const sums = [w1, b1, w2, b2].map((w) => w.map(() => 0));
  for (let e = 0; e < n; e++) {
    const x = Array.from(data.inputs.subarray(e * 3, e * 3 + 3));
    const z1 = b1.map((b, j) => b + x.reduce((acc, xi, i) => acc + xi * w1[i * hidden + j], 0));
    const a1 = z1.map((z) => Math.max(0, z));
    const z2 = b2.map((b, k) => b + a1.reduce((acc, a, j) => acc + a * w2[j * outputs + k], 0));
    const max = Math.max(...z2);
    const ex = z2.map((z) => Math.exp(z - max));
    const p = ex.map((v) => v / ex.reduce((a, b) => a + b, 0));
    const y = p.indexOf(Math.max(...p));
    const dz2 = p.map((pk, k) => (k === y ? 1 : 0) - pk); // ∂ log p_y / ∂ z2
    const dz1 = a1.map((_, j) =>
      z1[j] > 0 ? dz2.reduce((acc, d, k) => acc + d * w2[j * outputs + k], 0) : 0,
    );
    x.forEach((xi, i) => dz1.forEach((d, j) => (sums[0][i * hidden + j] += (xi * d) ** 2)));
    dz1.forEach((d, j) => (sums[1][j] += d ** 2));
    a1.forEach((a, j) => dz2.forEach((d, k) => (sums[2][j * outputs + k] += (a * d) ** 2)));
    dz2.forEach((d, k) => (sums[3][k] += d ** 2));
  }
  return sums.map((s) => s.map((v) => v / n));
}

test('the Fisher of a tiny model matches a hand computation, both ways', () => {
  const s = tinyScenario('domain');
  const l = tinyLearner(s);
  assert.ok(canVectorise(l));
  const expected = handFisher(l, s, 1);
  for (const method of ['vectorised', 'perSample'] as const) {
    const r = diagonalFisher(l, s, 1, { samples: 100, labels: 'predicted', random: seededRandom(1), method });
    assert.equal(r.method, method);
    assert.equal(r.samples, 6);
    assert.deepEqual([...r.fisher.keys()], ['trunk/0', 'trunk/1', 'head0/0', 'head0/1']);
    [...r.fisher.values()].forEach((f, i) => assertClose(values(f), expected[i], 1e-5, `${method} ${i}`));
    tf.dispose([...r.fisher.values()]);
  }
  l.dispose();
});

test('with sampled labels both ways agree; the task setting leaves the heads out; the weights do not move', () => {
  const s = tinyScenario('task', 2, 40);
  const l = tinyLearner(s);
  const before = l.trunk.getWeights().map(values);
  const a = diagonalFisher(l, s, 1, {
    samples: 25,
    labels: 'sampled',
    random: seededRandom(5),
    method: 'vectorised',
  });
  const b = diagonalFisher(l, s, 1, {
    samples: 25,
    labels: 'sampled',
    random: seededRandom(5),
    method: 'perSample',
  });
  assert.deepEqual([...a.fisher.keys()], ['trunk/0', 'trunk/1']);
  for (const key of a.fisher.keys()) {
    assertClose(values(a.fisher.get(key) as tf.Tensor), values(b.fisher.get(key) as tf.Tensor), 1e-5, key);
  }
  assert.deepEqual(l.trunk.getWeights().map(values), before);
  tf.dispose([...a.fisher.values(), ...b.fisher.values()]);
  l.dispose();
});

test('a pretrained Dense model (tanh, dropout) takes the vectorised way and agrees with the general one', () => {
  const s = tinyScenario('class', 2, 12);
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 5, activation: 'relu', name: 'a' }),
      tf.layers.dropout({ rate: 0.5, name: 'drop' }),
      tf.layers.dense({ units: 4, activation: 'tanh', name: 'b' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'old' }),
    ],
  });
  const l = fromPretrained(model, { scenario: s, cutAt: 'b', seed: 2 });
  assert.ok(canVectorise(l));
  const [a, b] = (['vectorised', 'perSample'] as const).map((method) =>
    diagonalFisher(l, s, 1, { samples: 12, labels: 'sampled', random: seededRandom(3), method }),
  );
  assert.deepEqual([...a.fisher.keys()], ['trunk/0', 'trunk/1', 'trunk/2', 'trunk/3', 'head0/0', 'head0/1']);
  for (const key of a.fisher.keys()) {
    assertClose(values(a.fisher.get(key) as tf.Tensor), values(b.fisher.get(key) as tf.Tensor), 1e-5, key);
  }
  tf.dispose([...a.fisher.values(), ...b.fisher.values()]);
  l.dispose(); // the trunk shares its layers with the model; the old classifier goes with it
  model.getLayer('old').dispose();
});

test("the cnn backbone's Fisher takes the vectorised way (fisher-conv.test.ts compares it with per-sample)", () => {
  const s: Scenario = {
    ...tinyScenario('task', 2, 4),
    inputShape: [4, 4, 1],
  };
  const images: Scenario = {
    ...s,
    tasks: s.tasks.map((t) => {
      const data = {
        ...t.train,
        inputs: Float32Array.from({ length: 4 * 16 }, (_, i) => Math.sin(i)),
        shape: [4, 4, 4, 1],
      };
      return { ...t, train: data, test: data };
    }),
  };
  const l = learner({ backbone: { kind: 'cnn', filters: [2], dense: 3 }, scenario: images, seed: 1 });
  assert.equal(canVectorise(l), true);
  const r = diagonalFisher(l, images, 0, { samples: 4, labels: 'sampled', random: seededRandom(1) });
  assert.equal(r.method, 'vectorised');
  assert.equal(r.fisher.size, fisherParameters(l, 0).length);
  for (const f of r.fisher.values()) assert.ok(values(f).every((v) => Number.isFinite(v) && v >= 0));
  assert.ok(values(r.fisher.get('trunk/0') as tf.Tensor).some((v) => v > 0));
  tf.dispose([...r.fisher.values()]);
  l.dispose();
});

/** Adds `delta` to every trunk weight. */
function shiftTrunk(l: Learner, delta: number) {
  const shifted = l.trunk.getWeights().map((w) => tf.tidy(() => w.add(delta)));
  l.trunk.setWeights(shifted);
  tf.dispose(shifted);
}

test('the penalty is zero at the anchor and grows as (λ/2) Σ F (θ − θ*)²', () => {
  const s = tinyScenario('domain');
  const l = tinyLearner(s);
  const lambda = 3;
  const strategy = ewc({ lambda, fisherLabels: 'predicted', fisherSamples: 6 });
  const ctx = context(l, s, 0);
  const fisher = handFisher(l, s, 0);
  strategy.finishTask?.(ctx);
  assert.equal(strategy.penalty(ctx), 0);
  const batch = {} as Batch;
  const atAnchor = tf.tidy(() => strategy.extraLoss?.(context(l, s, 1), batch)?.dataSync()[0]);
  assert.equal(atAnchor, 0);
  shiftTrunk(l, 0.1);
  // Only the trunk moved: its kernel and bias, each weight by 0.1.
  const byHand = (lambda / 2) * [...fisher[0], ...fisher[1]].reduce((a, f) => a + f * 0.01, 0);
  assertClose([strategy.penalty(ctx)], [byHand], 1e-5, 'penalty');
  const inLoss = tf.tidy(() => strategy.extraLoss?.(context(l, s, 1), batch)?.dataSync()[0]) as number;
  assertClose([inLoss], [byHand], 1e-5, 'extraLoss');
  // Its gradient is λ F (θ − θ*).
  const kernel = l.trunk.weights[0].read() as tf.Variable;
  const { grads } = tf.variableGrads(
    () => strategy.extraLoss?.(context(l, s, 1), batch) as tf.Scalar,
    [kernel],
  );
  assertClose(
    values(grads[kernel.name]),
    fisher[0].map((f) => lambda * f * 0.1),
    1e-5,
    'gradient',
  );
  tf.dispose(grads);
  shiftTrunk(l, 0.1); // twice as far: four times the penalty
  assertClose([strategy.penalty(ctx)], [4 * byHand], 1e-5, 'penalty at 2δ');
  assert.equal(strategy.memoryBytes?.(), 2 * 4 * (3 * 4 + 4 + 4 * 2 + 2));
  strategy.dispose?.();
  l.dispose();
});

test('ewc keeps one penalty per task; online EWC one decayed Fisher at the latest anchor', () => {
  const s = tinyScenario('domain', 3);
  const lambda = 5;
  const gamma = 0.5;
  for (const online of [false, true]) {
    const l = tinyLearner(s);
    const strategy = online
      ? onlineEwc({ lambda, gamma, fisherLabels: 'predicted' })
      : ewc({ lambda, fisherLabels: 'predicted' });
    const fishers: number[][] = [];
    const anchors: number[][] = [];
    for (let task = 0; task < 2; task++) {
      if (task > 0) shiftTrunk(l, 0.05 * task);
      const f = handFisher(l, s, task);
      fishers.push([...f[0], ...f[1], ...f[2], ...f[3]]);
      anchors.push([...l.trunk.getWeights(), ...l.heads[0].getWeights()].flatMap(values));
      strategy.finishTask?.(context(l, s, task));
    }
    shiftTrunk(l, -0.12);
    const theta = [...l.trunk.getWeights(), ...l.heads[0].getWeights()].flatMap(values);
    const quad = (f: number[], anchor: number[]) =>
      f.reduce((a, fi, i) => a + fi * (theta[i] - anchor[i]) ** 2, 0);
    const byHand = online
      ? (lambda / 2) *
        quad(
          fishers[0].map((f0, i) => gamma * f0 + fishers[1][i]),
          anchors[1],
        )
      : (lambda / 2) * (quad(fishers[0], anchors[0]) + quad(fishers[1], anchors[1]));
    assertClose([strategy.penalty(context(l, s, 2))], [byHand], 1e-4, online ? 'online' : 'ewc');
    // What is saved brings the same penalty back in a fresh strategy.
    const copy = online ? onlineEwc({ lambda, gamma }) : ewc({ lambda });
    copy.load?.(strategy.state?.() ?? { values: {}, tensors: {} });
    assertClose([copy.penalty(context(l, s, 2))], [byHand], 1e-4, 'loaded');
    copy.dispose?.();
    strategy.dispose?.();
    l.dispose();
  }
});

test('the registry validates EWC options', () => {
  const entry = (name: string) => registry.find((e) => e.name === name);
  assert.throws(() => entry('ewc')?.create({ lambda: -1 }), /lambda/);
  assert.throws(() => entry('ewc')?.create({ fisherSamples: 0 }), /fisherSamples/);
  assert.throws(() => entry('ewc')?.create({ fisherLabels: 'true' }), /fisherLabels/);
  assert.throws(() => entry('onlineEwc')?.create({ gamma: 1.5 }), /gamma/);
  const made = entry('onlineEwc')?.create({ lambda: 7, gamma: 0.9, fisherSamples: 10 });
  assert.equal(made?.options.lambda, 7);
  assert.equal(made?.options.gamma, 0.9);
  assert.equal(made?.options.fisherLabels, 'sampled');
});

const small = { kind: 'mlp', hidden: [50] } as const;

test('λ = 0 is exactly fine-tuning', async () => {
  const s = split(loadMnist(), { tasks: 5, setting: 'domain' });
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
    const base = await run(() => finetune());
    assert.deepEqual(await run(() => ewc({ lambda: 0 })), base);
    assert.deepEqual(await run(() => onlineEwc({ lambda: 0 })), base);
  });
});

test('no tensors leak over several tasks (both Fisher ways, task and domain settings)', async () => {
  for (const [setting, method] of [
    ['task', 'vectorised'],
    ['domain', 'perSample'],
  ] as const) {
    const s = split(loadMnist(), { tasks: 5, setting });
    for (const make of [
      () => ewc({ fisherSamples: 20, fisherMethod: method }),
      () => onlineEwc({ fisherSamples: 20 }),
    ]) {
      let name = '';
      const leaked = await leakedTensors(async () => {
        const l = learner({ backbone: small, scenario: s, seed: 1 });
        const st = make();
        name = st.name;
        await train(l, s, st, { iterations: 3, batchSize: 16, seed: 1 });
        assert.ok((st.memoryBytes?.() ?? 0) > 0);
        st.dispose?.();
        l.dispose();
      });
      assert.equal(leaked, 0, `${name} (${setting}, ${method}) left ${leaked} tensors`);
    }
  }
});

test('EWC and online EWC forget the first task less than fine-tuning (split MNIST, domain)', async () => {
  // Five tasks, one shared 2-way head: fine-tuning keeps the first task (0 vs 1) at about a third right
  // after the fifth. Its test set has ~420 images (binomial standard error ≤ 2.5 points) and the spread
  // between seeds is about 5 points, so a 20-point margin is no accident.
  const s = split(loadMnist(), { tasks: 5, setting: 'domain' });
  const base = await firstTaskAfterLast(s, () => finetune());
  for (const [name, make] of [
    ['ewc', () => ewc({ lambda: 10000 })],
    ['onlineEwc', () => onlineEwc({ lambda: 10000 })],
  ] as const) {
    const acc = await firstTaskAfterLast(s, make);
    assert.ok(acc > base + 0.2, `${name}: first task ${acc} after the last vs fine-tuning's ${base}`);
  }
});
