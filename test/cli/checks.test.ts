import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import type { RunResult } from '../../src/eval/result.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { unforget, type Run } from './spawn.js';

/**
 * Inputs found wrong only after the work used to cost a stack trace or the run; each is now refused
 * before the work starts, in one line that says what to do, with exit code 1 and no stack trace.
 */

let root: string;

function idx(dims: number[], values: ArrayLike<number>): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(Uint8Array.from(values))]);
}

function png(value: number): Buffer {
  const image = new PNG({ width: 28, height: 28 });
  image.data.fill(value);
  return PNG.sync.write(image);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'unforget-cli-checks-'));
  // Fashion-MNIST's layout, whose training part lacks classes 8 and 9.
  const idxFolder = join(root, 'idx');
  await mkdir(idxFolder);
  const pixels = (n: number) => Array.from({ length: n * 784 }, (_, i) => (i * 37) % 256);
  await writeFile(join(idxFolder, 'train-images-idx3-ubyte'), idx([16, 28, 28], pixels(16)));
  await writeFile(
    join(idxFolder, 'train-labels-idx1-ubyte'),
    idx(
      [16],
      Array.from({ length: 16 }, (_, i) => i % 8),
    ),
  );
  await writeFile(join(idxFolder, 't10k-images-idx3-ubyte'), idx([10, 28, 28], pixels(10)));
  await writeFile(
    join(idxFolder, 't10k-labels-idx1-ubyte'),
    idx(
      [10],
      Array.from({ length: 10 }, (_, i) => i),
    ),
  );
  // Four classes of images, three each (two to train, one to test).
  for (const [c, name] of ['a', 'b', 'c', 'd'].entries()) {
    await mkdir(join(root, 'images', name), { recursive: true });
    for (let i = 0; i < 3; i++) await writeFile(join(root, 'images', name, `${i}.png`), png(40 * c + 10 * i));
  }
  await mkdir(join(root, 'a-folder'));
});

function refused(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace reached the user');
}

test('bad inputs are refused before the work, in one line, with no stack trace', async () => {
  const small = ['--hidden', '4', '--iterations', '2', '--no-progress'];
  const [output, save, missing, oneClass, host, images] = await Promise.all([
    unforget('run', '--tasks', '2', ...small, '--output', join(root, 'a-folder')),
    unforget('run', '--tasks', '2', ...small, '--save', join(root, 'idx')),
    unforget(
      'run',
      '--scenario',
      'split-fashion',
      '--data',
      join(root, 'idx'),
      '--iterations',
      '1000000000',
      '--hidden',
      '4',
      '--no-progress',
    ),
    unforget('run', '--tasks', '10', ...small),
    unforget('serve', '--host', '192.0.2.1', '--port', '0'),
    unforget(
      'run',
      '--scenario',
      'images',
      '--data',
      join(root, 'images'),
      ...small,
      '--output',
      join(root, 'images.json'),
    ),
  ]);
  refused(output, /--output .*a-folder is a folder; give the path of a file to write the result to/);
  refused(save, /idx holds files but no saved learner \(unforget.json\); saving would replace them/);
  // No spin: the task without training examples is named before the first step.
  refused(
    missing,
    /task 5 \('task 5 \(Bag, Ankle boot\)'\) training data is empty .*give every task training examples/,
  );
  refused(oneClass, /10 classes in 10 tasks leaves one class per task.*use tasks = 1, 2, 5 /);
  refused(host, /--host 192\.0\.2\.1 is not an address of this machine; use 127\.0\.0\.1/);
  // The images scenario keeps its own default of 2 tasks when --tasks is not given.
  assert.equal(images.code, 0, images.stderr);
  assert.match(images.stdout, /T2: task 2 \(c, d\)/);
  assert.deepEqual(
    (await readdir(root)).sort(),
    ['a-folder', 'idx', 'images', 'images.json'],
    'a refused run wrote nothing',
  );
});

test('a run that fails at a later task keeps the tasks before it: result marked incomplete, model saved', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-cli-partial-'));
  const output = join(folder, 'run.json');
  const model = join(folder, 'model');
  // λ at the float32 limit: task 1 has no old task to distil, task 2's distillation term overflows.
  const r = await unforget(
    'run',
    '--tasks',
    '2',
    '--strategy',
    'lwf',
    '--lambda',
    '3e38',
    '--hidden',
    '4',
    '--iterations',
    '3',
    '--no-progress',
    '--output',
    output,
    '--save',
    model,
  );
  refused(r, /the loss became Infinity at task 2/);
  assert.match(
    r.stderr,
    /the result of task 1 \(marked incomplete\) written to .*run\.json; the model after task 1 saved to/,
  );
  assert.match(r.stdout, /\(incomplete: 1 of 2 tasks learned\)/);
  const result = JSON.parse(await readFile(output, 'utf8')) as RunResult;
  assert.equal(result.accuracyMatrix.length, 1);
  assert.equal(result.metrics, null);
  assert.match(result.incomplete?.reason ?? '', /^task 2 of 2 failed: the loss became Infinity/);
  const manifest = JSON.parse(await readFile(join(model, 'unforget.json'), 'utf8')) as {
    trainedTasks: number;
  };
  assert.equal(manifest.trainedTasks, 1);
});
