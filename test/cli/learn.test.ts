import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cli, unforget, type Run } from './spawn.js';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { loadImageFile } from '../../src/data/images.js';
import { fileHandler } from '../../src/persist/io.js';
import { loadLearner } from '../../src/persist/save.js';
import { seededRandom } from '../../src/random.js';
import { testBackend } from '../helpers.js';

/** Runs the commands `limit` at a time (each is a process of its own, mostly starting up). */
async function unforgetAll(commands: string[][], limit = 4): Promise<Run[]> {
  const results: Run[] = new Array<Run>(commands.length);
  let next = 0;
  const worker = async () => {
    while (next < commands.length) {
      const k = next++;
      results[k] = await unforget(...commands[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, commands.length) }, worker));
  return results;
}

/** A tiny, easy image task: each class is a pattern with noise; `size`×`size` RGB PNGs. */
type Pattern = (x: number, y: number, size: number) => number;
const patterns: Record<string, Pattern> = {
  hstripes: (_x, y) => (Math.floor(y / 3) % 2 ? 230 : 20),
  vstripes: (x) => (Math.floor(x / 3) % 2 ? 230 : 20),
  checks: (x, y) => ((Math.floor(x / 4) + Math.floor(y / 4)) % 2 ? 230 : 20),
  circle: (x, y, s) => (Math.hypot(x - s / 2, y - s / 2) < s / 3 ? 230 : 20),
  square: (x, y, s) => (Math.abs(x - s / 2) < s / 4 && Math.abs(y - s / 2) < s / 4 ? 230 : 20),
  cross: (x, y, s) => (Math.abs(x - s / 2) < 2 || Math.abs(y - s / 2) < 2 ? 230 : 20),
};

async function imageFolder(root: string, classes: string[], size: number, count: number, seed: number) {
  const random = seededRandom(seed);
  for (const name of classes) {
    await mkdir(join(root, name), { recursive: true });
    for (let i = 0; i < count; i++) {
      const png = new PNG({ width: size, height: size });
      const shift = Math.floor(random() * 3);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const v = patterns[name]((x + shift) % size, y, size) + (random() - 0.5) * 60;
          const p = 4 * (y * size + x);
          png.data[p] = png.data[p + 1] = png.data[p + 2] = Math.max(0, Math.min(255, Math.round(v)));
          png.data[p + 3] = 255;
        }
      }
      await writeFile(join(root, name, `${String(i).padStart(2, '0')}.png`), PNG.sync.write(png));
    }
  }
}

let root: string;
let dataA: string;
let dataB: string;
let learnerDir: string;
const small = ['--hidden', '32', '--epochs', '12', '--batch-size', '16', '--learning-rate', '0.01'];
const manifest = () => readFile(join(learnerDir, 'unforget.json'), 'utf8');

before(async () => {
  await testBackend();
  root = await mkdtemp(join(tmpdir(), 'unforget-learn-'));
  dataA = join(root, 'A');
  dataB = join(root, 'B');
  learnerDir = join(root, 'learner');
  await imageFolder(dataA, ['hstripes', 'vstripes', 'checks'], 16, 20, 1);
  await imageFolder(dataB, ['circle', 'square', 'cross'], 24, 20, 2);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('learn, learn again in a new process, info, eval, predict and export', async () => {
  const first = await unforget('learn', '--task', 'a', '--data', dataA, ...small, '--out', learnerDir);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /task 'a' from .*A: 3 classes \(checks, hstripes, vstripes\), 48 training and 12 test/,
  );
  assert.match(first.stdout, /images loaded at 16×16 grayscale/);
  assert.match(first.stdout, /a\s+\d+\.\d%/);
  assert.match(first.stdout, /saved to /);

  const second = await unforget(
    'learn',
    learnerDir,
    '--task',
    'b',
    '--data',
    dataB,
    '--epochs',
    '12',
    '--batch-size',
    '16',
  );
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /images resized to 16×16 grayscale \(the first one is 24×24 grayscale\)/);
  assert.match(second.stdout, /after learning 'b'/);
  assert.match(second.stdout, /^a\s+\d+\.\d%$/m, 'the old task is tested again from its recorded folder');

  // The rest only reads the learner folder: all at once.
  const files = [join(dataA, 'checks', '00.png'), join(dataB, 'circle', '00.png')];
  const out = join(root, 'exported-b');
  const [info, table, ev, evB, pr, prB, ex, guessed] = await unforgetAll([
    ['info', learnerDir, '--json'],
    ['info', learnerDir],
    ['eval', learnerDir, '--json'],
    ['eval', learnerDir, '--task', `b=${dataB}`, '--json'],
    ['predict', learnerDir, ...files, '--json'],
    ['predict', learnerDir, '--task', 'b', files[1], '--json'],
    ['export', learnerDir, '--task', 'b', '--out', out],
    ['predict', learnerDir, ...files, '--infer-task', 'example', '--json'],
  ]);
  for (const r of [info, table, ev, evB, pr, prB, ex, guessed]) assert.equal(r.code, 0, r.stderr);
  // Without --task, --infer-task gives one answer per file, from the task it guessed.
  const g = JSON.parse(guessed.stdout) as { predictions: { file: string; task: string; class: string }[] };
  assert.deepEqual(
    g.predictions.map((x) => x.file),
    files,
  );
  const classesOf: Record<string, string[]> = {
    a: ['checks', 'hstripes', 'vstripes'],
    b: ['circle', 'cross', 'square'],
  };
  for (const x of g.predictions) assert.ok(classesOf[x.task]?.includes(x.class), JSON.stringify(x));

  const i = JSON.parse(info.stdout) as {
    tasks: { name: string; classes: string[]; source: string }[];
    history: (number | null)[][];
    strategy: { name: string };
    parameters: number;
    folderBytes: number;
  };
  assert.deepEqual(
    i.tasks.map((t) => [t.name, t.classes, t.source]),
    [
      ['a', ['checks', 'hstripes', 'vstripes'], dataA],
      ['b', ['circle', 'cross', 'square'], dataB],
    ],
  );
  assert.equal(i.history.length, 2);
  assert.equal(i.history[0].length, 1);
  assert.equal(i.history[1].length, 2);
  for (const a of i.history.flat()) assert.ok(typeof a === 'number' && a > 1 / 3, `accuracy ${a}`);
  assert.equal(i.strategy.name, 'finetune');
  assert.ok(i.parameters > 0 && i.folderBytes > 0);
  assert.match(table.stdout, /strategy\s+finetune/);
  assert.match(table.stdout, /after learning\s+a\s+b/);

  const e = JSON.parse(ev.stdout) as { accuracies: Record<string, number> };
  assert.deepEqual(Object.keys(e.accuracies), ['a', 'b']);
  assert.ok(e.accuracies.a > 1 / 3 && e.accuracies.b > 1 / 3, JSON.stringify(e.accuracies));
  assert.equal(e.accuracies.a, i.history[1][0], 'eval agrees with the accuracy measured after b');
  const one = JSON.parse(evB.stdout) as { accuracies: Record<string, number> };
  assert.deepEqual(Object.keys(one.accuracies), ['b']);

  const p = JSON.parse(pr.stdout) as {
    predictions: { file: string; task: string; class: string; probability: number }[];
  };
  assert.deepEqual(
    p.predictions.map((x) => [x.file, x.task]),
    [
      [files[0], 'a'],
      [files[0], 'b'],
      [files[1], 'a'],
      [files[1], 'b'],
    ],
    'two files × two tasks',
  );
  for (const x of p.predictions) assert.ok(x.probability > 0 && x.probability <= 1);
  assert.ok(['checks', 'hstripes', 'vstripes'].includes(p.predictions[0].class));
  assert.ok(['circle', 'cross', 'square'].includes(p.predictions[1].class));
  const onlyB = JSON.parse(prB.stdout) as { predictions: { task: string; class: string }[] };
  assert.deepEqual(
    onlyB.predictions.map((x) => [x.task, x.class]),
    [['b', p.predictions[3].class]],
  );

  assert.match(ex.stdout, /exported task 'b'/);
  const exported = await tf.loadLayersModel(fileHandler(out));
  const { learner, strategy } = await loadLearner(learnerDir);
  const x = tf.tensor(await loadImageFile(files[1], { size: [16, 16], channels: 1 }), [1, 16, 16, 1]);
  const mine = learner.predict(x, 'b');
  const theirs = exported.predict(x) as tf.Tensor;
  const [a, b] = [await mine.data(), await theirs.data()];
  assert.equal(a.length, 3);
  a.forEach((v, k) => assert.ok(Math.abs(v - b[k]) < 1e-5, `${v} vs ${b[k]}`));
  tf.dispose([x, mine, theirs]);
  exported.dispose();
  learner.dispose();
  strategy?.dispose?.();
});

/** A plain TF.js classifier with three outputs, saved as model.json in `dir`. */
async function plainModel(dir: string, inputShape: number[]): Promise<void> {
  const model = tf.sequential({
    layers: [
      inputShape.length > 1
        ? tf.layers.flatten({ inputShape, name: 'flat' })
        : tf.layers.reshape({ inputShape, targetShape: inputShape, name: 'flat' }),
      tf.layers.dense({ units: 12, activation: 'relu', name: 'features' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
    ],
  });
  await model.save(fileHandler(dir));
  model.dispose();
}

test('learn adopts a TF.js model: its classifier is the first task (--keep-head), a new task beside it', async () => {
  const modelDir = join(root, 'model');
  await plainModel(modelDir, [16, 16, 1]);
  const out = join(root, 'adopted');
  const r = await unforget(
    'learn',
    modelDir,
    '--keep-head',
    'old',
    '--classes',
    'x,y,z',
    '--cut-at',
    'features',
    '--task',
    'new',
    '--data',
    dataA,
    ...small.slice(2),
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /adopted the model .*features from layer 'features' \(12 values\).*task 'old'/);
  assert.match(r.stdout, /old\s+no test data \(adopted/);
  const info = JSON.parse((await unforget('info', out, '--json')).stdout) as {
    tasks: { name: string; classes: string[] }[];
    history: (number | null)[][];
  };
  assert.deepEqual(
    info.tasks.map((t) => [t.name, t.classes]),
    [
      ['old', ['x', 'y', 'z']],
      ['new', ['checks', 'hstripes', 'vstripes']],
    ],
  );
  assert.equal(info.history[1][0], null);
  assert.ok((info.history[1][1] as number) > 1 / 3);
  assert.deepEqual(await readdir(modelDir), ['model.json', 'weights.bin'], 'the model folder is left alone');
});

test('bad input: a clear error, exit 1, and nothing changes on disk', async () => {
  const before = await manifest();
  const modelDir = join(root, 'model-flat');
  await plainModel(modelDir, [10]);
  const notEmpty = join(root, 'not-empty');
  await mkdir(notEmpty);
  await writeFile(join(notEmpty, 'keep.txt'), 'mine');
  const png = join(dataA, 'checks', '00.png');
  const cases: [string[], RegExp][] = [
    [['learn', learnerDir, '--task', 'a', '--data', dataA], /already learned a task named 'a'/],
    [['learn', learnerDir, '--task', 'c', '--data', 'nosuch'], /unknown data 'nosuch'.*mnist:5-9/],
    [['learn', learnerDir, '--task', 'c', '--data', 'mnist:7-3'], /give a range or a list of classes/],
    [
      ['learn', learnerDir, '--task', 'c', '--data', dataA, '--strategy', 'lwf'],
      /trained with the finetune strategy.*drop --strategy lwf/,
    ],
    [
      ['learn', learnerDir, '--task', 'c', '--data', dataA, '--old-data', `a=${dataB}`],
      /has the class 'circle', which task 'a' does not have/,
    ],
    [
      ['learn', learnerDir, '--task', 'c', '--data', dataA, '--old-data', `zz=${dataA}`],
      /--old-data names the task 'zz', which the learner has not learned; its tasks are: a, b/,
    ],
    [
      ['learn', dataA, '--task', 'c', '--data', dataA, '--out', join(root, 'x')],
      /neither an unforget learner folder .* nor a TensorFlow.js model folder/,
    ],
    [['learn', '--task', 'c', '--data', dataA], /--out is needed for a new network/],
    [['learn', '--task', 'c', '--data', dataA, '--out', notEmpty], /exists and is not empty/],
    [
      [
        'learn',
        join(root, 'model'),
        '--cut-at',
        'nope',
        '--task',
        'c',
        '--data',
        dataA,
        '--out',
        join(root, 'y'),
      ],
      /no layer named 'nope'; its layers are: flat, features, out/,
    ],
    [
      ['learn', modelDir, '--task', 'c', '--data', dataA, '--out', join(root, 'z')],
      /\[10\], which are not images/,
    ],
    [['eval', learnerDir, '--task', `a=${dataB}`], /has the class 'circle', which task 'a' does not have/],
    [['predict', learnerDir, '--task', 'nope', png], /no task named 'nope'; its tasks are: a, b/],
    [['export', learnerDir, '--task', 'nope', '--out', join(root, 'w')], /no task named 'nope'/],
    [['export', learnerDir, '--task', 'a', '--out', notEmpty], /exists and is not empty/],
    [['info', dataA], /not an unforget learner folder/],
  ];
  const results = await unforgetAll(cases.map(([args]) => args));
  results.forEach((r, k) => {
    const [args, message] = cases[k];
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /^unforget: /m, args.join(' '));
    assert.match(r.stderr, message, `${args.join(' ')}\n${r.stderr}`);
  });
  assert.equal(await manifest(), before, 'the learner folder is unchanged');
  assert.deepEqual(await readdir(notEmpty), ['keep.txt']);
  for (const made of ['x', 'y', 'z', 'w']) {
    await assert.rejects(readdir(join(root, made)), `${made} was not created`);
  }
});

test('Ctrl-C during learn saves nothing and exits 130', async () => {
  const before = await manifest();
  const child = spawn(
    process.execPath,
    [
      ...cli,
      'learn',
      learnerDir,
      '--task',
      'c',
      '--data',
      dataA,
      '--iterations',
      '1000000',
      '--batch-size',
      '4',
    ],
    { env: { ...process.env, NO_COLOR: '1' } },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes("task 'c' from")) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await started;
  await new Promise((resolve) => setTimeout(resolve, 500));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /interrupted; nothing was saved/);
  assert.equal(await manifest(), before);
});
