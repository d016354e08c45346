import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { PersistenceError } from '../../src/errors.js';
import { decodeLearner, encodeLearner, type Folder } from '../../src/persist/codec.js';
import type { Manifest } from '../../src/persist/format.js';
import { loadLearner, saveLearner } from '../../src/persist/save.js';
import { packnet } from '../../src/strategies/index.js';
import { train } from '../../src/train/loop.js';
import { testBackend } from '../helpers.js';
import { tinyLearner, tinyScenario } from '../strategies/tiny.js';

/**
 * Damaged learner folders (a manifest whose counts, shapes or sizes disagree with its files, a file
 * gone) never load into a learner that then fails with a raw error: either loading is refused with a
 * PersistenceError naming the mismatch, or every trained task predicts. Loading never changes the folder.
 */

let whole: Folder;

before(async () => {
  await testBackend();
  const s = tinyScenario('task', 2);
  const l = tinyLearner(s, 6);
  const strategy = packnet();
  await train(l, s, strategy, { iterations: 2, batchSize: 4 });
  whole = await encodeLearner(l, strategy);
  strategy.dispose?.();
  l.dispose();
});

const manifestOf = (folder: Folder): Manifest =>
  JSON.parse(new TextDecoder().decode(folder.get('unforget.json'))) as Manifest;

/** The manifest's scenario with its fields writable, to damage them. */
interface LooseScenario {
  setting: string;
  inputShape: number[];
  tasks: { classes: number[]; classNames: string[] }[];
}
const sc = (m: Manifest): LooseScenario => m.scenario as unknown as LooseScenario;

type Mutation = (m: Manifest, folder: Folder, a: number, b: number) => void;

const at = <T>(list: T[], b: number): T | undefined =>
  list.length === 0 ? undefined : list[b % list.length];

/** Ways a manifest can disagree with its files. */
const mutations: Mutation[] = [
  (m, _f, a) => (m.trainedTasks = a),
  (m, _f, a) => (m.heads = a),
  (m, _f, a) => (sc(m).tasks = sc(m).tasks.slice(0, Math.max(0, a))),
  (m, _f, a, b) => {
    const t = at(sc(m).tasks, b);
    if (t) t.classes = Array.from({ length: Math.max(0, a) }, (_, i) => i);
  },
  (m, _f, a, b) => {
    const t = at(sc(m).tasks, b);
    if (t) t.classNames = Array.from({ length: Math.max(0, a) }, (_, i) => `n${i}`);
  },
  (m, _f, a) =>
    (m.history = Array.from({ length: Math.max(0, a) }, (_, i) => m.history?.[0] ?? ({ i } as never))),
  (m, _f, a, b) => {
    const file = at(m.files, b);
    if (file) file.bytes += a === 0 ? 1 : a;
  },
  (m, _f, a, b) => {
    const entry = at(m.strategy?.tensors ?? [], b);
    if (entry) entry.shape = b % 2 === 0 ? [Math.max(0, a)] : [...entry.shape, Math.max(0, a)];
  },
  (m, _f, a, b) => {
    const entry = at(m.strategy?.tensors ?? [], b);
    if (entry) entry.offset += a;
  },
  (m, _f, a) => {
    if (m.strategy) m.strategy.values.tasksDone = a;
  },
  (m, _f, a) => {
    if (m.strategy) m.strategy.values.layers = Array.from({ length: Math.max(0, a) }, (_, i) => `layer${i}`);
  },
  (m, _f, a) => (sc(m).inputShape = [Math.max(0, a)]),
  (m, _f, _a, b) => (sc(m).setting = (['task', 'domain', 'class'] as const)[b % 3]),
  (m, folder, _a, b) => {
    const file = at(m.files, b);
    if (file) folder.delete(file.path);
  },
  (m, _f, _a, b) => {
    const entry = at(m.strategy?.tensors ?? [], b);
    if (entry) entry.encoding = (['bits', 'uint8', 'uint16', 'int32', 'float32'] as const)[b % 5];
  },
];

test('a damaged learner folder is refused naming the mismatch, or loads and predicts every task', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(fc.nat({ max: mutations.length - 1 }), fc.integer({ min: -2, max: 9 }), fc.nat({ max: 20 })),
        { minLength: 1, maxLength: 3 },
      ),
      async (changes) => {
        const folder: Folder = new Map(whole);
        const m = manifestOf(folder);
        for (const [kind, a, b] of changes) mutations[kind](m, folder, a, b);
        folder.set('unforget.json', new TextEncoder().encode(JSON.stringify(m)));
        const tensors = tf.memory().numTensors;
        let loaded: Awaited<ReturnType<typeof decodeLearner>> | undefined;
        try {
          loaded = await decodeLearner(folder);
        } catch (e) {
          assert.ok(e instanceof PersistenceError, `not a PersistenceError: ${String((e as Error).stack)}`);
          assert.doesNotMatch(e.message, /TypeError|Cannot read|undefined|is not a function/);
          assert.equal(tf.memory().numTensors, tensors, 'a refused load left tensors behind');
          return;
        }
        const { learner, strategy } = loaded;
        try {
          const x = tf.ones([2, ...learner.layout.inputShape]);
          for (let t = 0; t < learner.trainedTasks; t++) {
            const y = learner.predict(x, t);
            const values = Array.from(y.dataSync());
            assert.ok(values.every(Number.isFinite), `task ${t} predicts ${values.join(', ')}`);
            y.dispose();
          }
          x.dispose();
        } finally {
          strategy?.dispose?.();
          learner.dispose();
        }
      },
    ),
    { seed: 15, numRuns: 150, interruptAfterTimeLimit: 12_000 },
  );
});

async function folderDigest(folder: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else hash.update(name).update(await readFile(path));
    }
  };
  await walk(folder);
  return hash.digest('hex');
}

test('loading a damaged folder from disk changes nothing in it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'unforget-damaged-'));
  const decoded = await decodeLearner(whole);
  const base = join(root, 'whole');
  await saveLearner(base, decoded.learner, decoded.strategy);
  decoded.strategy?.dispose?.();
  decoded.learner.dispose();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.tuple(fc.nat({ max: mutations.length - 1 }), fc.integer({ min: -2, max: 9 }), fc.nat({ max: 20 })),
      async ([kind, a, b]) => {
        const folder = new Map(whole);
        const m = manifestOf(folder);
        mutations[kind](m, folder, a, b);
        folder.set('unforget.json', new TextEncoder().encode(JSON.stringify(m)));
        const path = join(root, `d${n++}`);
        // Written as files, the damage as it is (not through saveLearner, which would make it whole).
        const { mkdir, writeFile } = await import('node:fs/promises');
        for (const [file, bytes] of folder) {
          await mkdir(join(path, file, '..'), { recursive: true });
          await writeFile(join(path, file), bytes);
        }
        const before = await folderDigest(path);
        try {
          const { learner, strategy } = await loadLearner(path);
          strategy?.dispose?.();
          learner.dispose();
        } catch (e) {
          assert.ok(e instanceof PersistenceError, String((e as Error).stack));
        }
        assert.equal(await folderDigest(path), before);
        assert.deepEqual(await readdir(root).then((names) => names.filter((x) => x.startsWith('.'))), []);
      },
    ),
    { seed: 15, numRuns: 20, interruptAfterTimeLimit: 6000 },
  );
});
