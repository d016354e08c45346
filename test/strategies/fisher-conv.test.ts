import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Learner } from '../../src/model/learner.js';
import { seededRandom } from '../../src/random.js';
import type { Scenario, Setting } from '../../src/scenarios/types.js';
import { canVectorise, diagonalFisher, type FisherMethod } from '../../src/strategies/fisher.js';
import { leakedTensors, testBackend } from '../helpers.js';
import { tinyScenario, values } from './tiny.js';

before(testBackend);

/** The tiny scenario's tasks with 7×7×2 images (smooth, seeded) instead of 3 numbers. */
function imageScenario(setting: Setting): Scenario {
  const s = tinyScenario(setting, 2, 10);
  const shape = [7, 7, 2];
  const size = 7 * 7 * 2;
  return {
    ...s,
    inputShape: shape,
    tasks: s.tasks.map((t, k) => {
      const inputs = Float32Array.from(
        { length: 10 * size },
        (_, i) => Math.sin(0.37 * i + k) + 0.1 * Math.cos(i),
      );
      const data = { ...t.train, inputs, shape: [10, ...shape] };
      return { ...t, train: data, test: data };
    }),
  };
}

/** Two convolutions (valid; same padding with stride 2 and no bias), batch norm if asked, pooling, a Dense layer. */
function convLearner(s: Scenario, batchNorm = false): Learner {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const bias = (seed: number) => tf.initializers.randomUniform({ minval: -0.1, maxval: 0.2, seed });
  const input = tf.input({ shape: s.inputShape as number[] });
  let x = tf.layers
    .conv2d({
      filters: 3,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(1),
      biasInitializer: bias(2),
    })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: [3, 2],
      strides: 2,
      padding: 'same',
      useBias: false,
      activation: 'tanh',
      kernelInitializer: init(3),
    })
    .apply(x) as tf.SymbolicTensor;
  if (batchNorm) x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({ units: 5, activation: 'relu', kernelInitializer: init(4), biasInitializer: bias(5) })
    .apply(x) as tf.SymbolicTensor;
  return new Learner(tf.model({ inputs: input, outputs: x }), s, { seed: 6 });
}

function fisherBy(l: Learner, s: Scenario, method: FisherMethod) {
  return diagonalFisher(l, s, 1, {
    samples: 10,
    labels: 'sampled',
    random: seededRandom(4),
    method,
    chunk: 4,
  });
}

for (const setting of ['task', 'domain'] as const) {
  test(`a convolutional trunk's vectorised Fisher equals the per-sample one (${setting} setting)`, async () => {
    const s = imageScenario(setting);
    const l = convLearner(s);
    assert.ok(canVectorise(l));
    const leaked = await leakedTensors(() => {
      const a = fisherBy(l, s, 'auto');
      const b = fisherBy(l, s, 'perSample');
      assert.equal(a.method, 'vectorised');
      assert.equal(b.method, 'perSample');
      // Two conv layers (kernel, bias; kernel) and the Dense layer, plus the shared head outside the task setting.
      assert.equal(a.fisher.size, setting === 'task' ? 5 : 7);
      assert.deepEqual([...a.fisher.keys()], [...b.fisher.keys()]);
      for (const [key, f] of a.fisher) {
        const got = values(f);
        const want = values(b.fisher.get(key) as tf.Tensor);
        const scale = Math.max(...want);
        assert.ok(scale > 1e-6, `${key}: the per-sample Fisher is all zero`);
        const diff = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
        assert.ok(diff <= 1e-4 * scale, `${key}: differs by ${diff} (largest value ${scale})`);
      }
      tf.dispose([...a.fisher.values(), ...b.fisher.values()]);
    });
    assert.equal(leaked, 0);
    l.dispose();
  });
}

test('a trunk with batch normalisation is left to the per-sample way', () => {
  const s = imageScenario('task');
  const l = convLearner(s, true);
  assert.equal(canVectorise(l), false);
  const r = fisherBy(l, s, 'auto');
  assert.equal(r.method, 'perSample');
  assert.throws(() => fisherBy(l, s, 'vectorised'), /Conv2D/);
  tf.dispose([...r.fisher.values()]);
  l.dispose();
});
