import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadImageFolder } from '../../src/data/images.js';
import { validateDataset } from '../../src/data/dataset.js';
import { DataError, OptionError } from '../../src/errors.js';

type Rgb = readonly [number, number, number];

/** A PNG of width × height whose pixel (x, y) has colour `colour(x, y)` (alpha 255 unless given). */
function png(width: number, height: number, colour: (x: number, y: number) => Rgb, alpha = 255): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colour(x, y);
      image.data.set([r, g, b, alpha], 4 * (y * width + x));
    }
  }
  return PNG.sync.write(image);
}

function jpg(width: number, height: number, colour: Rgb): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...colour, 255], 4 * p);
  return jpeg.encode({ width, height, data }, 100).data;
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'unforget-images-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let folders = 0;
/** Writes `files` (path inside the folder → bytes; a path ending in '/' makes an empty folder). */
async function fixture(files: Record<string, Buffer | string>): Promise<string> {
  const folder = join(root, `set${folders++}`);
  for (const [path, bytes] of Object.entries(files)) {
    if (path.endsWith('/')) {
      await mkdir(join(folder, path), { recursive: true });
      continue;
    }
    await mkdir(join(folder, path, '..'), { recursive: true });
    await writeFile(join(folder, path), bytes);
  }
  return folder;
}

const red: Rgb = [255, 0, 0];
const grey: Rgb = [128, 128, 128];

/** Two classes: 'cats' with five 4×4 red PNGs, 'dogs' with five 4×4 grey JPEGs. */
async function twoClasses(extra: Record<string, Buffer | string> = {}): Promise<string> {
  const files: Record<string, Buffer | string> = { ...extra };
  for (let i = 0; i < 5; i++) {
    files[`cats/c${i}.png`] = png(4, 4, () => red);
    files[`dogs/d${i}.JPG`] = jpg(4, 4, grey);
  }
  return fixture(files);
}

const close = (a: number, b: number, tolerance: number): void =>
  assert.ok(Math.abs(a - b) <= tolerance, `${a} should be within ${tolerance} of ${b}`);

test('loadImageFolder reads PNG and JPEG classes as RGB, resized, in [0, 1]', async () => {
  const folder = await twoClasses({
    'notes.txt': 'ignored',
    'cats/readme.md': 'ignored',
    'dogs/.hidden.png': 'x',
  });
  const { train, test: testSet } = await loadImageFolder(folder, { size: [2, 3], channels: 3, seed: 1 });
  validateDataset(train, 'train');
  validateDataset(testSet, 'test');
  assert.deepEqual(train.classNames, ['cats', 'dogs']);
  assert.deepEqual(train.shape, [8, 2, 3, 3]);
  assert.deepEqual(testSet.shape, [2, 2, 3, 3]);
  assert.deepEqual([...train.labels], [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual([...testSet.labels], [0, 1]);
  for (let p = 0; p < 6; p++) {
    assert.deepEqual([...train.inputs.subarray(3 * p, 3 * p + 3)], [1, 0, 0]);
  }
  const dog = train.inputs.subarray(4 * 18, 5 * 18);
  for (const v of dog) close(v, 128 / 255, 3 / 255);
});

test('grayscale uses the luma weights and drops alpha', async () => {
  const folder = await fixture({
    'a/1.png': png(2, 2, () => [255, 0, 0], 0),
    'b/1.png': png(2, 2, () => [0, 0, 255]),
  });
  const { train } = await loadImageFolder(folder, { size: [2, 2], channels: 1, testShare: 0 });
  assert.deepEqual(train.shape, [2, 2, 2, 1]);
  close(train.inputs[0], 0.2989, 1e-6);
  close(train.inputs[4], 0.114, 1e-6);
});

test('grayscale PNG files are read as RGB with equal channels', async () => {
  const image = new PNG({ width: 1, height: 1 });
  image.data.set([200, 200, 200, 255]);
  const gray = PNG.sync.write(image, { colorType: 0, inputColorType: 6 });
  const folder = await fixture({ 'a/gray.png': gray, 'b/red.png': png(1, 1, () => red) });
  const { train } = await loadImageFolder(folder, { size: [1, 1], channels: 3, testShare: 0 });
  assert.deepEqual([...train.inputs], [200 / 255, 200 / 255, 200 / 255, 1, 0, 0].map(Math.fround));
});

test('resizing is bilinear with half-pixel centres', async () => {
  // A 4×1 ramp 0, 80, 160, 240 shrunk to 2×1 samples at x = 0.5 and 2.5: 40 and 200.
  const ramp = png(4, 1, (x) => [80 * x, 80 * x, 80 * x]);
  const folder = await fixture({
    'a/ramp.png': ramp,
    'b/up.png': png(1, 2, (_x, y) => (y ? [255, 255, 255] : [0, 0, 0])),
  });
  const { train } = await loadImageFolder(folder, { size: [1, 2], channels: 1, testShare: 0 });
  close(train.inputs[0], 40 / 255, 1e-4);
  close(train.inputs[1], 200 / 255, 1e-4);
  // A 1×2 column (black over white) grown to 4 rows: 0, 0.25, 0.75, 1 (edges clamp).
  const { train: tall } = await loadImageFolder(folder, { size: [4, 1], channels: 1, testShare: 0 });
  assert.deepEqual(
    [...tall.inputs.subarray(4, 8)].map((v) => Math.round(v * 100) / 100),
    [0, 0.25, 0.75, 1],
  );
});

test('the split is per class, seeded and deterministic', async () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 10; i++) {
    files[`a/${i}.png`] = png(1, 1, () => [i * 20, 0, 0]);
    files[`b/${i}.png`] = png(1, 1, () => [0, i * 20, 0]);
  }
  const folder = await fixture(files);
  const load = (seed: number) => loadImageFolder(folder, { size: [1, 1], channels: 3, testShare: 0.3, seed });
  const first = await load(7);
  const again = await load(7);
  const other = await load(8);
  assert.deepEqual(first, again);
  assert.deepEqual([...first.test.labels], [0, 0, 0, 1, 1, 1]);
  assert.deepEqual([...first.train.labels], [...new Array(7).fill(0), ...new Array(7).fill(1)]);
  assert.notDeepEqual(first.test.inputs, other.test.inputs);
  // Every image lands in exactly one set.
  const reds = [...first.train.inputs, ...first.test.inputs]
    .filter((_, j) => j % 3 === 0)
    .map((v) => Math.round(v * 255))
    .filter((v) => v > 0)
    .sort((x, y) => x - y);
  assert.deepEqual(reds, [20, 40, 60, 80, 100, 120, 140, 160, 180]);
});

async function rejects(promise: Promise<unknown>, type: typeof DataError, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

const opts = { size: [4, 4] as [number, number], channels: 1 as const };

test('folder problems are DataErrors that say what to do', async () => {
  await rejects(loadImageFolder(join(root, 'nowhere'), opts), DataError, /nowhere not found; pass a folder/);
  const flat = await fixture({ 'a.png': png(1, 1, () => red) });
  await rejects(loadImageFolder(flat, opts), DataError, /has no class sub-folders; put the images/);
  const one = await fixture({ 'only/a.png': png(1, 1, () => red) });
  await rejects(
    loadImageFolder(one, opts),
    DataError,
    /only one class sub-folder \(only\); .*at least 2 classes/,
  );
  const empty = await twoClasses({ 'emus/notes.txt': 'no images here' });
  await rejects(loadImageFolder(empty, opts), DataError, /class emus .* has no images that can be read/);
});

test('a file that does not decode fails by default, naming it, or is skipped with a warning', async () => {
  const folder = await twoClasses({
    'cats/broken.png': 'not a png at all',
    'dogs/cut.jpg': jpg(4, 4, grey).subarray(0, 30),
  });
  await rejects(
    loadImageFolder(folder, opts),
    DataError,
    /cats\/broken.png does not decode as an image .*remove it or convert it to PNG or JPEG, or pass onBadImage: 'skip'/,
  );
  const warnings: string[] = [];
  const { train, test: testSet } = await loadImageFolder(folder, {
    ...opts,
    onBadImage: 'skip',
    log: (line) => warnings.push(line),
  });
  assert.equal(train.shape[0] + testSet.shape[0], 10);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /skipping .*cats\/broken.png/);
  assert.match(warnings[1], /skipping .*dogs\/cut.jpg/);

  const allBad = await twoClasses({ 'emus/x.png': 'bad' });
  await rejects(
    loadImageFolder(allBad, { ...opts, onBadImage: 'skip', log: null }),
    DataError,
    /class emus .* has no images that can be read/,
  );
});

test('bad options are OptionErrors', async () => {
  const folder = await twoClasses();
  const bad = (o: object) => loadImageFolder(folder, { ...opts, ...o });
  await rejects(bad({ size: [0, 4] }), OptionError, /size must be \[height, width\]/);
  await rejects(bad({ channels: 4 }), OptionError, /channels must be 1 \(grayscale\) or 3 \(RGB\); got 4/);
  await rejects(bad({ testShare: 1 }), OptionError, /testShare must be in \[0, 1\)/);
  await rejects(bad({ onBadImage: 'ignore' }), OptionError, /onBadImage must be 'fail' or 'skip'/);
});
