import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileHandler, registerFileRouter, type SaveFileSystem } from '../../src/persist/io.js';
import { ModelError, PersistenceError } from '../../src/errors.js';
import { leakedTensors, testBackend } from '../helpers.js';

let root: string;
before(async () => {
  await testBackend();
  root = await mkdtemp(join(tmpdir(), 'unforget-io-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let folders = 0;
const freshFolder = (): string => join(root, `model${folders++}`);

/** A small model whose weights depend on `seed`; compiled, so its save has a trainingConfig. */
function smallModel(seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      units: 4,
      inputShape: [5],
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: tf.initializers.randomNormal({ seed: seed + 1 }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    }),
  );
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  return model;
}

/** The model's outputs on a fixed batch, as plain numbers. */
function predictions(model: tf.LayersModel): number[] {
  return tf.tidy(() => {
    const x = tf.tensor2d(
      Array.from({ length: 15 }, (_, i) => Math.sin(i) * 2),
      [3, 5],
    );
    return [...(model.predict(x) as tf.Tensor).dataSync()];
  });
}

/** Saves a fresh model of `seed` to `folder` (with the default file system) and returns its predictions. */
async function saveModel(folder: string, seed: number): Promise<number[]> {
  const model = smallModel(seed);
  await model.save(fileHandler(folder));
  const out = predictions(model);
  model.dispose();
  return out;
}

async function loadPredictions(path: string | tf.io.IOHandler): Promise<number[]> {
  const model = await tf.loadLayersModel(path);
  const out = predictions(model);
  model.dispose();
  return out;
}

test('a saved model loads back with bit-identical predictions, in the tfjs-node layout', async () => {
  const folder = freshFolder();
  const leaked = await leakedTensors(async () => {
    const model = smallModel(1);
    model.setUserDefinedMetadata({ task: 'digits' });
    const result = await model.save(fileHandler(folder));
    assert.equal(result.modelArtifactsInfo.weightDataBytes, 156);
    const expected = predictions(model);
    model.dispose();
    assert.deepEqual(await loadPredictions(fileHandler(folder)), expected);
    // The path of model.json works too, as with tfjs-node.
    assert.deepEqual(await loadPredictions(fileHandler(join(folder, 'model.json'))), expected);
  });
  assert.equal(leaked, 0);

  assert.deepEqual((await readdir(folder)).sort(), ['model.json', 'weights.bin']);
  assert.deepEqual(await readdir(root).then((names) => names.filter((n) => n.startsWith('.'))), []);
  const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
  assert.deepEqual(Object.keys(json), [
    'modelTopology',
    'weightsManifest',
    'format',
    'generatedBy',
    'convertedBy',
    'userDefinedMetadata',
  ]);
  assert.equal(json.format, 'layers-model');
  assert.match(json.generatedBy, /^TensorFlow\.js tfjs-layers v/);
  assert.equal(json.convertedBy, null);
  assert.equal(json.modelTopology.class_name, 'Sequential');
  assert.deepEqual(json.userDefinedMetadata, { task: 'digits' });
  assert.equal(json.weightsManifest.length, 1);
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  assert.deepEqual(
    json.weightsManifest[0].weights.map((w: tf.io.WeightsManifestEntry) => [
      w.name.split('/').pop(),
      w.shape,
      w.dtype,
    ]),
    [
      ['kernel', [5, 4], 'float32'],
      ['bias', [4], 'float32'],
      ['kernel', [4, 3], 'float32'],
      ['bias', [3], 'float32'],
    ],
  );
  assert.equal((await readFile(join(folder, 'weights.bin'))).length, (20 + 4 + 12 + 3) * 4);
});

test('with includeOptimizer, the training config and optimizer state are saved and restored', async () => {
  // Not counted: tfjs itself leaks the SGD iteration scalar once on save and once on load.
  const folder = freshFolder();
  const model = smallModel(10);
  await model.save(fileHandler(folder), { includeOptimizer: true });
  const expected = predictions(model);
  model.dispose();
  const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
  assert.deepEqual(Object.keys(json).slice(5), ['trainingConfig']);
  assert.equal(json.trainingConfig.loss, 'categorical_crossentropy');
  const specs: tf.io.WeightsManifestEntry[] = json.weightsManifest[0].weights;
  assert.ok(
    specs.some((w) => w.group === 'optimizer'),
    'the optimizer state is saved',
  );
  const bytes = specs.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  assert.equal((await readFile(join(folder, 'weights.bin'))).length, bytes);
  const loaded = await tf.loadLayersModel(fileHandler(folder));
  assert.ok(loaded.optimizer !== undefined && loaded.optimizer !== null, 'the loaded model is compiled');
  assert.deepEqual(predictions(loaded), expected);
  loaded.dispose();
});

test('a model.json written by tfjs-node loads', async () => {
  // What tfjs-node 4.22's file:// handler writes for a Dense(1) layer on 2 inputs, kernel [2, 3], bias 1.
  const folder = freshFolder();
  await mkdir(folder);
  const dense = {
    class_name: 'Dense',
    config: {
      units: 1,
      activation: 'linear',
      use_bias: true,
      kernel_initializer: {
        class_name: 'VarianceScaling',
        config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
      },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name: 'dense_Dense1',
      trainable: true,
      batch_input_shape: [null, 2],
      dtype: 'float32',
    },
  };
  const modelJson =
    '{"modelTopology":' +
    JSON.stringify({
      class_name: 'Sequential',
      config: { name: 'sequential_1', layers: [dense] },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    }) +
    ',"weightsManifest":[{"paths":["weights.bin"],"weights":[' +
    '{"name":"dense_Dense1/kernel","shape":[2,1],"dtype":"float32"},' +
    '{"name":"dense_Dense1/bias","shape":[1],"dtype":"float32"}]}],' +
    '"format":"layers-model","generatedBy":"TensorFlow.js tfjs-layers v4.22.0","convertedBy":null}';
  await writeFile(join(folder, 'model.json'), modelJson);
  await writeFile(join(folder, 'weights.bin'), new Uint8Array(new Float32Array([2, 3, 1]).buffer));
  const leaked = await leakedTensors(async () => {
    const model = await tf.loadLayersModel(fileHandler(join(folder, 'model.json')));
    const y = tf.tidy(() => [...(model.predict(tf.tensor2d([1, 1, 2, 0], [2, 2])) as tf.Tensor).dataSync()]);
    assert.deepEqual(y, [6, 5]);
    model.dispose();
  });
  assert.equal(leaked, 0);
});

test('registerFileRouter makes file:// URLs work, once', async () => {
  registerFileRouter();
  registerFileRouter();
  assert.equal(tf.io.getSaveHandlers('file:///tmp/x').length, 1);
  assert.equal(tf.io.getLoadHandlers('file:///tmp/x/model.json').length, 1);
  assert.equal(tf.io.getSaveHandlers('indexeddb://x').length, 0);
  const folder = freshFolder();
  const model = smallModel(2);
  await model.save(`file://${folder}`);
  const expected = predictions(model);
  model.dispose();
  assert.deepEqual(await loadPredictions(`file://${folder}/model.json`), expected);
});

test('weights split over several shard files load', async () => {
  const folder = freshFolder();
  const expected = await saveModel(folder, 3);
  const weights = await readFile(join(folder, 'weights.bin'));
  // Shard boundaries that cut through weights, as the converter's 4 MB shards do.
  const cuts = [0, 30, 101, weights.length];
  const names = ['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin'];
  for (let i = 0; i < 3; i++) await writeFile(join(folder, names[i]), weights.subarray(cuts[i], cuts[i + 1]));
  await rm(join(folder, 'weights.bin'));
  const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
  // Two groups, as the converter writes them: the first two shards, then the last.
  const specs = json.weightsManifest[0].weights;
  json.weightsManifest = [
    { paths: names.slice(0, 2), weights: specs.slice(0, 2) },
    { paths: names.slice(2), weights: specs.slice(2) },
  ];
  await writeFile(join(folder, 'model.json'), JSON.stringify(json));
  assert.deepEqual(await loadPredictions(fileHandler(folder)), expected);
});

/** A file system that works until `failAt` is called with a matching path, then throws there. */
function failing(failAt: 'writeFile' | 'rename', when: (path: string) => boolean): Partial<SaveFileSystem> {
  const boom = (path: string): Error => new Error(`simulated crash at ${failAt} ${path}`);
  if (failAt === 'writeFile') {
    return {
      writeFile: async (path, data) => {
        if (when(path)) {
          // Half the data reaches the disk, then the process "dies".
          await writeFile(
            path,
            typeof data === 'string' ? data.slice(0, data.length / 2) : data.subarray(0, 7),
          );
          throw boom(path);
        }
        await writeFile(path, data);
      },
    };
  }
  return {
    rename: async (from, to) => {
      if (when(from)) throw boom(from);
      await rename(from, to);
    },
  };
}

test('a save that fails at any step leaves the previous save whole', async () => {
  const folder = freshFolder();
  const old = await saveModel(folder, 4);
  const steps: Array<[string, Partial<SaveFileSystem>]> = [
    ['writing model.json', failing('writeFile', (p) => p.endsWith('model.json'))],
    ['writing weights.bin', failing('writeFile', (p) => p.endsWith('weights.bin'))],
    ['moving the old save aside', failing('rename', (from) => from === folder)],
    ['renaming the new save in', failing('rename', (from) => from.includes('.saving-'))],
  ];
  for (const [step, fileSystem] of steps) {
    const model = smallModel(5);
    await assert.rejects(
      model.save(fileHandler(folder, { fileSystem })),
      (e: unknown) => {
        assert.ok(e instanceof PersistenceError, `${step}: ${String(e)}`);
        assert.match(e.message, /simulated crash/);
        assert.match(e.message, /the previous save there is left as it was/);
        return true;
      },
      step,
    );
    model.dispose();
    assert.deepEqual(await loadPredictions(fileHandler(folder)), old, `after a failure ${step}`);
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.startsWith('.')),
      [],
      `no temporary folders are left after a failure ${step}`,
    );
  }
  // A save that works replaces the old one and cleans up after itself.
  const replaced = await saveModel(folder, 5);
  assert.notDeepEqual(replaced, old);
  assert.deepEqual(await loadPredictions(fileHandler(folder)), replaced);
  assert.deepEqual(
    (await readdir(root)).filter((n) => n.startsWith('.')),
    [],
  );
});

test('a first save that fails leaves nothing behind', async () => {
  const folder = freshFolder();
  const model = smallModel(6);
  await assert.rejects(
    model.save(fileHandler(folder, { fileSystem: failing('writeFile', (p) => p.endsWith('weights.bin')) })),
    PersistenceError,
  );
  model.dispose();
  assert.deepEqual(
    (await readdir(root)).filter((n) => n.includes(folder.split('/').pop() as string)),
    [],
  );
});

async function rejects(
  promise: Promise<unknown>,
  type: typeof PersistenceError | typeof ModelError,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test('loading problems are errors that say what to do', async () => {
  const load = (path: string) => fileHandler(path).load?.() as Promise<tf.io.ModelArtifacts>;
  await rejects(
    load(join(root, 'missing')),
    PersistenceError,
    /model folder .*missing not found; save a model there first/,
  );
  await rejects(
    load(join(root, 'missing', 'model.json')),
    PersistenceError,
    /model folder .*missing not found/,
  );

  const empty = freshFolder();
  await saveModel(empty, 7);
  await rm(join(empty, 'model.json'));
  await rejects(load(empty), PersistenceError, /model.json not found; the folder holds no saved model/);

  const garbled = freshFolder();
  await saveModel(garbled, 7);
  await writeFile(join(garbled, 'model.json'), '{"modelTopology": {"class_name": "Seq');
  await rejects(load(garbled), PersistenceError, /model.json is not valid JSON .*save the model again/);

  const foreign = freshFolder();
  await saveModel(foreign, 7);
  await writeFile(join(foreign, 'model.json'), '{"hello": 1}');
  await rejects(load(foreign), ModelError, /has no modelTopology; it is not a TensorFlow.js layers model/);

  const noWeights = freshFolder();
  await saveModel(noWeights, 7);
  await rm(join(noWeights, 'weights.bin'));
  await rejects(
    load(noWeights),
    PersistenceError,
    /weights file .*weights.bin listed in .*model.json is missing; copy it next to model.json/,
  );

  const short = freshFolder();
  await saveModel(short, 7);
  const weights = await readFile(join(short, 'weights.bin'));
  await writeFile(join(short, 'weights.bin'), weights.subarray(0, 100));
  await rejects(
    load(short),
    PersistenceError,
    /the weights file weights.bin in .* hold 100 bytes but .*model.json lists weights of 156 bytes/,
  );
});

test('an interrupted save points at the previous save', async () => {
  const folder = freshFolder();
  await saveModel(folder, 8);
  // The state a crash between the two renames leaves: the old save aside, the new one not yet in place.
  const aside = join(root, `.${folder.split('/').pop()}.previous`);
  await rename(folder, aside);
  await rejects(
    fileHandler(folder).load?.() as Promise<unknown>,
    PersistenceError,
    /a save there was interrupted and the previous save is at .*\.previous: rename it to/,
  );
  // The next save cleans the leftover up.
  await saveModel(folder, 8);
  assert.deepEqual(
    (await readdir(root)).filter((n) => n.startsWith('.')),
    [],
  );
});

test('saving onto a file is a PersistenceError', async () => {
  const path = join(root, 'a-file');
  await writeFile(path, 'x');
  const model = smallModel(9);
  await rejects(model.save(fileHandler(path)), PersistenceError, /a-file: it is a file; pass a folder path/);
  model.dispose();
});
