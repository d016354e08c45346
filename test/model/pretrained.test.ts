import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { subset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { ModelError } from '../../src/errors.js';
import { fromPretrained } from '../../src/model/pretrained.js';
import { fileHandler } from '../../src/persist/io.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistTransfer } from '../../src/scenarios/index.js';
import { featureExtraction } from '../../src/strategies/index.js';
import { train } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';

before(testBackend);

function classifier(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1], name: 'flat' }),
      tf.layers.dense({ units: 64, activation: 'relu', name: 'features' }),
      tf.layers.dense({ units: 10, activation: 'softmax', name: 'classifier' }),
    ],
  });
}

test('a pretrained network is cut at a layer and its features serve a new task', async () => {
  // "Pretrain" on all ten digits, then reuse the features for the old/new transfer.
  const trained = classifier();
  // Every other training image: the set is ordered by digit, so a stride covers all ten.
  const data = subset(
    loadMnist().train,
    Array.from({ length: 4000 }, (_, i) => 2 * i),
  );
  const x = tf.tensor(data.inputs, [4000, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 10);
  trained.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  await trained.fit(x, y, { epochs: 2, batchSize: 64, verbose: 0 });
  tf.dispose([x, y]);
  // Saved in TensorFlow.js's own format and loaded back, as a user brings a trained model.
  const folder = await mkdtemp(join(tmpdir(), 'unforget-pretrained-'));
  await trained.save(fileHandler(folder));
  trained.dispose();
  const model = await tf.loadLayersModel(fileHandler(folder));
  await rm(folder, { recursive: true });
  const features = model.getLayer('features').getWeights()[0].dataSync().slice();

  const s = await mnistTransfer({ setting: 'task' });
  const l = fromPretrained(model, { scenario: s, cutAt: 'features' });
  assert.equal(l.pretrained, true);
  assert.deepEqual(
    l.trunk.layers.map((layer) => layer.name),
    [l.trunk.layers[0].name, 'flat', 'features'],
  );
  const r = await train(l, s, featureExtraction({ learningRate: 1e-2 }), { epochs: 2, batchSize: 64 });
  // The pretrained features were kept from the first task on, and they are good enough for both.
  assert.deepEqual(model.getLayer('features').getWeights()[0].dataSync(), features);
  assert.ok(
    r.accuracyMatrix[1].every((a) => a > 0.85),
    `accuracies ${r.accuracyMatrix[1]}`,
  );
  model.dispose();
  l.heads.forEach((h) => h.dispose());
});

test('cutting at a layer that does not exist names the layers there are', async () => {
  const model = classifier();
  const s = await mnistTransfer();
  assert.throws(
    () => fromPretrained(model, { scenario: s, cutAt: 'penultimate' }),
    (e: Error) =>
      e instanceof ModelError &&
      /no layer named 'penultimate'; its layers are: flat, features, classifier/.test(e.message),
  );
  // Without cutAt, the classifier (last layer) is dropped.
  const l = fromPretrained(model, { scenario: s });
  assert.equal(l.trunk.outputs[0].shape[1], 64);
  model.dispose();
  l.heads.forEach((h) => h.dispose());
});

test('a model whose input does not match the data is refused', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [100], units: 8, name: 'a' }),
      tf.layers.dense({ units: 2, name: 'b' }),
    ],
  });
  const s = await mnistTransfer();
  assert.throws(
    () => fromPretrained(model, { scenario: s }),
    /the model takes examples of shape \[100\] but the scenario's are \[28, 28, 1\]/,
  );
  model.dispose();
});
