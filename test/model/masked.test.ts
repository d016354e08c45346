import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from '../../src/errors.js';
import { buildBackbone } from '../../src/model/backbones.js';
import { fileHandler } from '../../src/persist/io.js';
import { Learner } from '../../src/model/learner.js';
import {
  InferenceKernels,
  isMasked,
  maskedLayers,
  maskedTwin,
  packBits,
  unmaskableLayers,
  unpackBits,
} from '../../src/model/masked.js';
import { testBackend } from '../helpers.js';

let folder: string;
before(async () => {
  await testBackend();
  folder = await mkdtemp(join(tmpdir(), 'unforget-masked-'));
});
after(() => rm(folder, { recursive: true, force: true }));

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

function outputs(model: tf.LayersModel, x: tf.Tensor): number[] {
  const y = model.predict(x) as tf.Tensor;
  const out = bits(y);
  y.dispose();
  return out;
}

test('the masked twin of the built-in backbones computes exactly what they compute', () => {
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 7);
  for (const spec of [
    { kind: 'mlp', hidden: [24, 12] },
    { kind: 'cnn', filters: [4, 6], dense: 10 },
  ] as const) {
    const model = buildBackbone(spec, [28, 28, 1], 3);
    const twin = maskedTwin(model);
    assert.deepEqual(outputs(twin, x), outputs(model, x), spec.kind);
    const names = maskedLayers(twin).map((l) => `${l.name}:${l.twinOf}`);
    assert.deepEqual(
      names,
      spec.kind === 'mlp'
        ? ['dense1:Dense', 'dense2:Dense']
        : ['conv1:Conv2D', 'conv2:Conv2D', 'dense1:Dense'],
    );
    assert.equal(maskedLayers(model).length, 0, 'the original is left as it was');
    // The twin's weights are its own copies.
    twin.layers.find(isMasked)?.maskedWeight.write(tf.zerosLike(twin.getWeights()[0]));
    assert.notDeepEqual(outputs(twin, x), outputs(model, x));
    model.dispose();
    twin.dispose();
  }
  x.dispose();
});

test('a transform makes the kernel W ⊙ M, and the forward pass leaves no tensors behind', () => {
  const model = buildBackbone({ kind: 'mlp', hidden: [8, 6] }, [5], 1);
  const twin = maskedTwin(model);
  const [first] = maskedLayers(twin);
  const maskValues = Float32Array.from({ length: 5 * 8 }, (_, i) => (i % 3 === 0 ? 0 : 1));
  const mask = tf.tensor(maskValues, [5, 8]);
  first.transform = (w) => w.mul(mask);
  // The same network with the mask multiplied into its weights.
  const weights = model.getWeights();
  const masked = tf.mul(weights[0], mask);
  model.setWeights([masked, ...weights.slice(1)]);
  masked.dispose();
  const x = tf.randomNormal([3, 5], 0, 1, 'float32', 2);
  const tensors = tf.memory().numTensors;
  const got = outputs(twin, x);
  assert.equal(tf.memory().numTensors, tensors);
  assert.deepEqual(got, outputs(model, x));
  first.transform = null;
  assert.notDeepEqual(outputs(twin, x), got);
  tf.dispose([x, mask]);
  model.dispose();
  twin.dispose();
});

test('depthwise convolutions, batch normalisation and nested models are twinned too', () => {
  const input = tf.input({ shape: [8, 8, 3] });
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'dw' }).apply(input);
  y = tf.layers.batchNormalization({ name: 'bn' }).apply(y);
  const inner = tf.sequential({
    name: 'inner',
    layers: [tf.layers.flatten({ inputShape: [6, 6, 6] }), tf.layers.dense({ units: 3, name: 'fc' })],
  });
  y = inner.apply(y);
  const model = tf.model({ inputs: input, outputs: y as tf.SymbolicTensor });
  const twin = maskedTwin(model);
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1);
  assert.deepEqual(outputs(twin, x), outputs(model, x));
  assert.deepEqual(
    maskedLayers(twin).map((l) => `${l.name}:${l.twinOf}`),
    ['dw:DepthwiseConv2D', 'fc:Dense'],
  );
  assert.deepEqual(maskedLayers(twin)[0].maskedWeight.shape, [3, 3, 3, 2]);
  x.dispose();
  model.dispose();
  twin.dispose();
});

test('layers a mask cannot cover are listed, not skipped', () => {
  const input = tf.input({ shape: [6, 4] });
  const seq = tf.layers.lstm({ units: 3, returnSequences: true, name: 'memory' }).apply(input);
  const conv = tf.layers.conv1d({ filters: 2, kernelSize: 2, name: 'wave' }).apply(seq);
  const out = tf.layers.dense({ units: 2, name: 'out' }).apply(tf.layers.flatten().apply(conv));
  const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  assert.deepEqual(unmaskableLayers(model), [
    { name: 'memory', className: 'LSTM' },
    { name: 'wave', className: 'Conv1D' },
  ]);
  assert.throws(
    () => maskedTwin(model),
    (e: unknown) =>
      e instanceof ModelError &&
      /memory \(LSTM\), wave \(Conv1D\)/.test(e.message) &&
      /cutAt/.test(e.message),
  );
  model.dispose();
});

test('a masked trunk saves as a plain TensorFlow.js model', async () => {
  const model = buildBackbone({ kind: 'cnn', filters: [3], dense: 5 }, [10, 10, 1], 4);
  const twin = maskedTwin(model);
  await twin.save(fileHandler(join(folder, 'twin')));
  const json = await readFile(join(folder, 'twin', 'model.json'), 'utf8');
  assert.match(json, /"class_name":"Conv2D"/);
  assert.doesNotMatch(json, /Masked/);
  const plain = await tf.loadLayersModel(fileHandler(join(folder, 'twin')));
  assert.equal(maskedLayers(plain).length, 0);
  const x = tf.randomUniform([2, 10, 10, 1], 0, 1, 'float32', 5);
  assert.deepEqual(outputs(plain, x), outputs(model, x));
  x.dispose();
  [model, twin, plain].forEach((m) => m.dispose());
});

test('bits pack eight to a byte and unpack to what they were', () => {
  const values = Array.from({ length: 21 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
  const packed = packBits(values);
  assert.equal(packed.length, 3);
  assert.deepEqual(Array.from(unpackBits(packed, 21)), values);
  const long = Array.from({ length: 1001 }, (_, i) => (i % 7 === 2 || i % 5 === 0 ? 1 : 0));
  assert.deepEqual(Array.from(unpackBits(packBits(long), 1001)), long);
  assert.equal(packBits([1, 0, 0, 0, 0, 0, 0, 1, 1])[0], 0b10000001);
});

test('a learner swaps in a trunk only if it fits', () => {
  const layout = {
    name: 'toy',
    setting: 'task' as const,
    inputShape: [5],
    tasks: [{ name: 'a', classes: [0, 1], classNames: ['0', '1'] }],
  };
  const l = new Learner(buildBackbone({ kind: 'mlp', hidden: [4] }, [5]), layout);
  const wider = buildBackbone({ kind: 'mlp', hidden: [6] }, [5]);
  assert.throws(
    () => l.replaceTrunk(wider),
    (e: unknown) => e instanceof ModelError && /give 4 features/.test(e.message),
  );
  const twin = maskedTwin(l.trunk);
  const old = l.trunk;
  l.replaceTrunk(twin);
  assert.equal(l.trunk, twin);
  assert.throws(() => old.getWeights(), /disposed/, 'the old trunk is disposed');
  wider.dispose();
  l.dispose();
});

test('inference kernels are cached per task within a byte budget', () => {
  const model = maskedTwin(buildBackbone({ kind: 'mlp', hidden: [10] }, [6], 1));
  const layers = maskedLayers(model);
  let computed = 0;
  const kernels = (task: number) => {
    computed++;
    return layers.map((l) => tf.mul(l.maskedWeight.read(), task));
  };
  const tensors = tf.memory().numTensors;
  // Room for two tasks' kernels (6×10 floats each).
  const cache = new InferenceKernels(2 * 4 * 60);
  for (const task of [0, 1, 0, 1, 0, 2, 0]) cache.use(layers, task, kernels);
  // 0 and 1 are computed once; 2 pushes out 1 (used longer ago than 0), so 0 is still there.
  assert.equal(computed, 3);
  assert.equal(tf.memory().numTensors, tensors + 2);
  const x = tf.ones([1, 6]);
  const y = model.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), new Array(10).fill(0), 'task 0 kernels are W × 0');
  cache.forget();
  assert.equal(tf.memory().numTensors, tensors + 2, 'only x and y remain');
  tf.dispose([x, y]);
  model.dispose();
});
