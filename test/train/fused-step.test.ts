import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { enableWasmTrainingKernels, nativeBlasStatus } from '../../src/backend/wasm/index.js';
import { Learner } from '../../src/model/learner.js';
import { fusedPlan, fusedStep } from '../../src/train/fused-step.js';
import { sparseSoftmaxCrossEntropy } from '../../src/train/cross-entropy.js';
import { train } from '../../src/train/loop.js';
import { finetune } from '../../src/strategies/finetune.js';
import type { Scenario } from '../../src/scenarios/types.js';

before(async () => {
  await tf.setBackend('wasm');
  enableWasmTrainingKernels();
});

function native(t: { skip(message: string): void }): boolean {
  if (nativeBlasStatus().active) return true;
  t.skip(`no native BLAS here: ${nativeBlasStatus().reason}`);
  return false;
}

/** A task's layout: its name and classes. */
function task(name: string, classes: number[]) {
  return { name, classes, classNames: classes.map(String) };
}

/** A trunk of Dense layers (with a Flatten when the input is an image) and one head of `outputs`. */
function net(
  inputShape: number[],
  hidden: { units: number; activation: 'relu' | 'linear'; useBias: boolean }[],
  outputs: number,
  seed: number,
): Learner {
  const trunk = tf.sequential();
  if (inputShape.length > 1) trunk.add(tf.layers.flatten({ inputShape }));
  hidden.forEach((h, i) =>
    trunk.add(
      tf.layers.dense({
        ...h,
        ...(i === 0 && inputShape.length === 1 ? { inputShape } : {}),
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 10 + i, stddev: 0.1 }),
      }),
    ),
  );
  const layout = {
    name: 'test',
    setting: 'task' as const,
    inputShape,
    tasks: [
      task(
        'a',
        Array.from({ length: outputs }, (_, c) => c),
      ),
    ],
  };
  return new Learner(trunk, layout, { seed });
}

/** The same step through TensorFlow.js's gradients, as the general path of the loop takes it. */
function reference(
  learner: Learner,
  x: tf.Tensor,
  targets: Int32Array,
  active: number,
  variables: tf.Variable[],
) {
  const { value, grads } = tf.variableGrads(() => {
    const logits = learner.headLogits(learner.features(x, 0, true), 0);
    const sliced = logits.shape[1] === active ? logits : logits.slice([0, 0], [-1, active]);
    return sparseSoftmaxCrossEntropy(sliced as tf.Tensor2D, tf.tensor1d(targets, 'int32'));
  }, variables);
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads };
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  });
}

const cases = [
  {
    name: 'flat input, two relu layers',
    input: [20],
    hidden: [
      [16, 'relu', true],
      [12, 'relu', true],
    ],
    out: 5,
  },
  {
    name: 'image input (Flatten), a linear layer and one without bias',
    input: [4, 3, 2],
    hidden: [
      [10, 'linear', false],
      [7, 'relu', true],
    ],
    out: 4,
  },
] as const;

for (const c of cases) {
  test(`the fused step gives TensorFlow.js's loss and gradients: ${c.name}`, (t) => {
    if (!native(t)) return;
    const hidden = c.hidden.map(([units, activation, useBias]) => ({ units, activation, useBias }));
    const learner = net([...c.input], hidden, c.out, 3);
    const size = c.input.reduce((a, b) => a * b, 1);
    const rows = 9;
    const inputs = seeded(rows * size, 5);
    const x = tf.tensor(inputs, [rows, ...c.input]);
    const all = learner.trainableVariables([0]);
    // Every variable; the head alone; all but the first layer (the gradient stops above it).
    for (const variables of [all, all.slice(-2), all.slice(hidden[0].useBias ? 2 : 1)]) {
      // The head's full width, and fewer live outputs than it has.
      for (const active of [c.out, c.out - 2]) {
        const targets = Int32Array.from({ length: rows }, (_, r) => (r * 7) % active);
        const plan = fusedPlan(learner, 0, variables);
        assert.ok(plan, 'a Dense chain under a linear head is fused');
        const before = tf.memory().numTensors;
        const got = fusedStep(plan, inputs, targets, rows, active);
        assert.equal(
          tf.memory().numTensors,
          before + variables.length,
          'one tensor per gradient, nothing else',
        );
        const want = reference(learner, x, targets, active, variables);
        assert.ok(
          Math.abs(got.loss - want.loss) < 1e-5 * Math.max(1, want.loss),
          `loss ${got.loss} vs ${want.loss}`,
        );
        assert.deepEqual(Object.keys(got.gradients).sort(), Object.keys(want.grads).sort());
        for (const [name, g] of Object.entries(want.grads)) {
          const a = got.gradients[name].dataSync();
          const b = g.dataSync();
          assert.deepEqual(got.gradients[name].shape, g.shape);
          let scale = 1e-6;
          for (const v of b) scale = Math.max(scale, Math.abs(v));
          for (let i = 0; i < b.length; i++)
            assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * scale, `${name}[${i}]: ${a[i]} vs ${b[i]}`);
        }
        tf.dispose([got.gradients, want.grads]);
      }
    }
    x.dispose();
    learner.dispose();
  });
}

test('a target outside the live outputs is refused by name', (t) => {
  if (!native(t)) return;
  const learner = net([6], [{ units: 4, activation: 'relu', useBias: true }], 3, 1);
  const plan = fusedPlan(learner, 0, learner.trainableVariables([0]));
  assert.ok(plan);
  const before = tf.memory().numTensors;
  assert.throws(
    () => fusedStep(plan, seeded(12, 1), Int32Array.from([0, 3]), 2, 3),
    /targets must be integers in \[0, 3\); got 3 at row 1/,
  );
  assert.equal(tf.memory().numTensors, before);
  learner.dispose();
});

test('what cannot be fused is not: dropout, a softmax layer, masks, and a variable outside the chain', (t) => {
  if (!native(t)) return;
  const trunk = tf.sequential({
    layers: [tf.layers.dense({ units: 4, inputShape: [6] }), tf.layers.dropout({ rate: 0.5 })],
  });
  const layout = {
    name: 't',
    setting: 'task' as const,
    inputShape: [6],
    tasks: [task('a', [0, 1])],
  };
  const withDropout = new Learner(trunk, layout, { seed: 1 });
  assert.equal(fusedPlan(withDropout, 0, withDropout.trainableVariables([0])), null);
  withDropout.dispose();
  const soft = net([6], [{ units: 4, activation: 'relu', useBias: true }], 2, 1);
  assert.ok(fusedPlan(soft, 0, soft.trainableVariables([0])));
  const stray = tf.variable(tf.zeros([2]));
  assert.equal(fusedPlan(soft, 0, [...soft.trainableVariables([0]), stray]), null);
  soft.beforeForward.push(() => {});
  assert.equal(fusedPlan(soft, 0, soft.trainableVariables([0])), null);
  soft.beforeForward.pop();
  process.env.UNFORGET_FUSED_STEP = '0';
  try {
    assert.equal(fusedPlan(soft, 0, soft.trainableVariables([0])), null);
    process.env.UNFORGET_FUSED_STEP = 'yes';
    assert.throws(() => fusedPlan(soft, 0, soft.trainableVariables([0])), /UNFORGET_FUSED_STEP must be 0/);
  } finally {
    delete process.env.UNFORGET_FUSED_STEP;
  }
  const tanh = new Learner(
    tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [6], activation: 'tanh' })] }),
    layout,
    { seed: 1 },
  );
  assert.equal(fusedPlan(tanh, 0, tanh.trainableVariables([0])), null);
  tf.dispose(stray);
  soft.dispose();
  tanh.dispose();
});

/** Two tasks of a small flat problem whose labels follow the inputs, so that learning shows. */
function scenario(): Scenario {
  const make = (n: number, seed: number, shift: number) => {
    const inputs = seeded(n * 10, seed);
    const labels = Int32Array.from({ length: n }, (_, i) =>
      inputs[i * 10 + shift] > 0.5 ? shift : shift + 1,
    );
    return { inputs, labels, shape: [n, 10], classNames: ['0', '1', '2', '3'] };
  };
  return {
    name: 'toy',
    setting: 'task',
    inputShape: [10],
    tasks: [
      { ...task('a', [0, 1]), train: make(400, 1, 0), test: make(200, 2, 0) },
      { ...task('b', [2, 3]), train: make(400, 3, 2), test: make(200, 4, 2) },
    ],
  } as unknown as Scenario;
}

test('training with the fused step learns as the general path does, uses it only where it applies, and leaks nothing', async (t) => {
  if (!native(t)) return;
  const results: number[][][] = [];
  const fusedSteps: number[] = [];
  const losses: number[][] = [];
  for (const off of [false, true]) {
    if (off) process.env.UNFORGET_FUSED_STEP = '0';
    try {
      const s = scenario();
      const learner = new Learner(
        tf.sequential({
          layers: [
            tf.layers.dense({
              units: 32,
              inputShape: [10],
              activation: 'relu',
              kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
            }),
          ],
        }),
        s,
        { seed: 4 },
      );
      const before = tf.memory().numTensors;
      const result = await train(learner, s, finetune({ learningRate: 0.01 }), {
        epochs: 6,
        batchSize: 32,
        onProgress: (p) => (losses[off ? 1 : 0] ??= []).push(p.loss),
      });
      results.push(result.accuracyMatrix);
      fusedSteps.push(result.cost.fusedSteps ?? -1);
      assert.ok(result.cost.fusedSteps !== undefined);
      learner.dispose();
      assert.ok(tf.memory().numTensors <= before, 'no tensor left behind');
    } finally {
      delete process.env.UNFORGET_FUSED_STEP;
    }
  }
  // Tasks learned (j ≤ i) agree; an unlearned task's head is at chance either way.
  // 400 examples in batches of 32, 6 epochs, 2 tasks: every step fused, or none.
  assert.deepEqual(fusedSteps, [2 * 6 * 13, 0]);
  const [fused, general] = results;
  for (const row of [fused, general])
    assert.ok(row[1][0] > 0.8 && row[1][1] > 0.8, `learned: ${JSON.stringify(row)}`);
  // The same steps: the losses follow each other until float rounding grows (checked over the first 20).
  for (let k = 0; k < 20; k++) {
    const [a, b] = [losses[0][k], losses[1][k]];
    assert.ok(Math.abs(a - b) <= 1e-3 * Math.max(1, b), `step ${k + 1}: loss ${a} fused vs ${b}`);
  }
});
