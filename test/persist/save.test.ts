import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PersistenceError } from '../../src/errors.js';
import { Learner, learner } from '../../src/model/learner.js';
import { loadLearner, saveLearner } from '../../src/persist/save.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { registry, strategyEntry } from '../../src/strategies/index.js';
import { train } from '../../src/train/loop.js';
import type { Strategy } from '../../src/train/strategy.js';
import { sampledSplitMnist, testBackend } from '../helpers.js';

let folder: string;
let scenario: Scenario;
let x: tf.Tensor;

/** Options that keep each strategy quick on a tiny scenario. */
const quick: Record<string, Record<string, number>> = {
  ewc: { fisherSamples: 32 },
  onlineEwc: { fisherSamples: 32 },
  lwf: { warmupEpochs: 0 },
};

before(async () => {
  await testBackend();
  folder = await mkdtemp(join(tmpdir(), 'unforget-save-'));
  scenario = sampledSplitMnist(10);
  x = tf.tensor(scenario.tasks[1].test.inputs.subarray(0, 16 * 784), [16, 28, 28, 1]);
});

after(async () => {
  x.dispose();
  await rm(folder, { recursive: true, force: true });
});

async function trained(name: string, seed = 1): Promise<{ model: Learner; strategy: Strategy }> {
  const model = learner({ backbone: { kind: 'mlp', hidden: [32] }, scenario, seed });
  const strategy = strategyEntry(name).create(quick[name] ?? {});
  await train(model, scenario, strategy, { iterations: 6, batchSize: 32, seed });
  return { model, strategy };
}

function predictions(model: Learner): Float32Array[] {
  return scenario.tasks.map((_, t) => {
    const p = model.predict(x, t);
    const values = p.dataSync() as Float32Array;
    p.dispose();
    return values;
  });
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

for (const entry of registry) {
  test(`a saved and reloaded ${entry.name} learner predicts every task bit for bit as before`, async () => {
    const { model, strategy } = await trained(entry.name);
    const expected = predictions(model);
    const path = join(folder, entry.name);
    // A strategy keeps the tensors of its last state(); count with them already there.
    const saved = strategy.state?.();
    const tensors = tf.memory().numTensors;
    await saveLearner(path, model, strategy);
    const loaded = await loadLearner(path);
    assert.equal(loaded.strategy?.name, entry.name);
    assert.deepEqual(loaded.strategy?.options, strategy.options);
    assert.equal(loaded.learner.trainedTasks, 5);
    const got = predictions(loaded.learner);
    for (const t of expected.keys())
      assert.ok(sameBits(got[t], expected[t]), `task ${t + 1} predictions differ`);
    // The state taken back is the state saved.
    const back = loaded.strategy?.state?.();
    assert.deepEqual(back?.values, saved?.values);
    assert.deepEqual(Object.keys(back?.tensors ?? {}).sort(), Object.keys(saved?.tensors ?? {}).sort());
    for (const [name, t] of Object.entries(saved?.tensors ?? {})) {
      const other = back?.tensors[name] as tf.Tensor;
      assert.equal(other.dtype, t.dtype, name);
      assert.deepEqual(other.shape, t.shape, name);
      assert.deepEqual(other.dataSync(), t.dataSync(), name);
    }
    loaded.strategy?.dispose?.();
    loaded.learner.dispose();
    assert.equal(tf.memory().numTensors, tensors, 'saving and loading left tensors behind');
    strategy.dispose?.();
    model.dispose();
  });
}

test('a class-incremental learner (one shared head) saves and loads too', async () => {
  const s: Scenario = { ...scenario, setting: 'class', tasks: scenario.tasks.slice(0, 2) };
  const model = learner({ backbone: { kind: 'mlp', hidden: [16] }, scenario: s, seed: 2 });
  const strategy = strategyEntry('ewc').create({ fisherSamples: 16 });
  await train(model, s, strategy, { iterations: 4, batchSize: 32 });
  const path = join(folder, 'class');
  await saveLearner(path, model, strategy);
  const loaded = await loadLearner(path);
  assert.equal(loaded.learner.heads.length, 1);
  assert.equal(loaded.learner.setting, 'class');
  const a = model.predict(x);
  const b = loaded.learner.predict(x);
  assert.ok(sameBits(a.dataSync() as Float32Array, b.dataSync() as Float32Array));
  tf.dispose([a, b]);
  loaded.strategy?.dispose?.();
  loaded.learner.dispose();
  strategy.dispose?.();
  model.dispose();
});

test('binary and small-integer state is packed: packnet owners take a byte, piggyback masks a bit', async () => {
  for (const [name, perWeight] of [
    ['packnet', 1],
    ['piggyback', 1 / 8],
  ] as const) {
    const path = join(folder, name);
    const manifest = JSON.parse(await readFile(join(path, 'unforget.json'), 'utf8'));
    const entries = manifest.strategy.tensors as { encoding: string; bytes: number; shape: number[] }[];
    assert.ok(entries.length > 0);
    for (const e of entries) {
      assert.equal(e.encoding, name === 'packnet' ? 'uint8' : 'bits');
      assert.equal(e.bytes, Math.ceil(e.shape[0] * perWeight));
    }
    assert.equal(manifest.versions.unforget, (await import('../../src/version.js')).version);
    assert.deepEqual(manifest.scenario.tasks[0].classes, [0, 1]);
  }
});

async function copyOf(name: string, into: string): Promise<string> {
  const { cp } = await import('node:fs/promises');
  const target = join(folder, into);
  await rm(target, { recursive: true, force: true });
  await cp(join(folder, name), target, { recursive: true });
  return target;
}

async function loadFails(path: string, pattern: RegExp): Promise<void> {
  const tensors = tf.memory().numTensors;
  await assert.rejects(
    loadLearner(path),
    (e: unknown) => e instanceof PersistenceError && pattern.test(e.message),
  );
  assert.equal(tf.memory().numTensors, tensors);
}

test('loading an incomplete, corrupt or newer save fails naming what is wrong', async () => {
  let path = await copyOf('packnet', 'missing');
  await rm(join(path, 'heads', '2', 'weights.bin'));
  await loadFails(path, /heads\/2\/weights\.bin is missing/);

  path = await copyOf('packnet', 'corrupt');
  const state = await readFile(join(path, 'state.bin'));
  state[3] ^= 0x10;
  await writeFile(join(path, 'state.bin'), state);
  await loadFails(path, /state\.bin is corrupt/);

  path = await copyOf('packnet', 'truncated');
  const trunk = await readFile(join(path, 'trunk', 'weights.bin'));
  await writeFile(join(path, 'trunk', 'weights.bin'), trunk.subarray(0, 100));
  await loadFails(path, /trunk\/weights\.bin holds 100 bytes/);

  path = await copyOf('packnet', 'newer');
  const manifest = JSON.parse(await readFile(join(path, 'unforget.json'), 'utf8'));
  await writeFile(join(path, 'unforget.json'), JSON.stringify({ ...manifest, formatVersion: 99 }));
  await loadFails(path, /format 99.*upgrade unforget/);

  path = await copyOf('packnet', 'garbled');
  await writeFile(join(path, 'unforget.json'), '{"format": "unforget-learner", ');
  await loadFails(path, /not valid JSON/);

  path = await copyOf('packnet', 'unknown');
  const m2 = JSON.parse(await readFile(join(path, 'unforget.json'), 'utf8'));
  await writeFile(
    join(path, 'unforget.json'),
    JSON.stringify({ ...m2, strategy: { ...m2.strategy, name: 'hat' } }),
  );
  await loadFails(path, /strategy 'hat'/);

  await loadFails(join(folder, 'nothing-here'), /no saved learner/);
});

test('a failed save leaves the previous save whole, and a folder of other files is not replaced', async () => {
  const { model, strategy } = await trained('packnet', 2);
  const path = join(folder, 'packnet');
  const before = await readFile(join(path, 'unforget.json'), 'utf8');
  const failing: Strategy = {
    ...strategy,
    state: () => {
      throw new Error('disk on fire');
    },
  };
  await assert.rejects(
    saveLearner(path, model, failing),
    /disk on fire.*previous save there is left as it was/,
  );
  assert.equal(await readFile(join(path, 'unforget.json'), 'utf8'), before);
  const lossy: Strategy = { ...strategy, state: () => ({ values: { lambda: Number.NaN }, tensors: {} }) };
  await assert.rejects(saveLearner(path, model, lossy), /do not survive JSON/);
  assert.equal(await readFile(join(path, 'unforget.json'), 'utf8'), before);
  assert.deepEqual(
    (await readdir(folder)).filter((f) => f.startsWith('.')),
    [],
    'no staging folder is left',
  );
  const loaded = await loadLearner(path);
  loaded.strategy?.dispose?.();
  loaded.learner.dispose();

  await assert.rejects(
    saveLearner(join(folder, 'no-strategy'), model),
    /pass it too, saveLearner\(path, learner, strategy\)/,
  );

  const other = join(folder, 'photos');
  await rm(other, { recursive: true, force: true });
  await import('node:fs/promises').then((f) => f.mkdir(other));
  await writeFile(join(other, 'cat.jpg'), 'meow');
  await assert.rejects(saveLearner(other, model, strategy), /holds files but no saved learner/);
  assert.equal(await readFile(join(other, 'cat.jpg'), 'utf8'), 'meow');
  strategy.dispose?.();
  model.dispose();
});

test('a loaded learner saves again as it was loaded', async () => {
  for (const name of ['packnet', 'piggyback']) {
    const first = await loadLearner(join(folder, name));
    const again = join(folder, `${name}-again`);
    await saveLearner(again, first.learner, first.strategy);
    const second = await loadLearner(again);
    const a = predictions(first.learner);
    const b = predictions(second.learner);
    a.forEach((p, t) => assert.ok(sameBits(p, b[t]), `${name} task ${t + 1}`));
    for (const { learner: l, strategy } of [first, second]) {
      strategy?.dispose?.();
      l.dispose();
    }
  }
});
