import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadFashionMnist, loadIdxFolder, parseIdx, readIdxFile } from '../../src/data/idx.js';
import { validateDataset } from '../../src/data/dataset.js';
import { DataError } from '../../src/errors.js';

/** The bytes of an IDX file: magic 00 00 type rank, big-endian dims, then the values. */
function idx(type: number, dims: number[], values: ArrayLike<number>): Buffer {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type] ?? 1;
  const buf = Buffer.alloc(4 + 4 * dims.length + values.length * size);
  buf[2] = type;
  buf[3] = dims.length;
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  let at = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++, at += size) {
    const v = values[i];
    if (type === 0x08) buf.writeUInt8(v, at);
    else if (type === 0x09) buf.writeInt8(v, at);
    else if (type === 0x0b) buf.writeInt16BE(v, at);
    else if (type === 0x0c) buf.writeInt32BE(v, at);
    else if (type === 0x0d) buf.writeFloatBE(v, at);
    else buf.writeDoubleBE(v, at);
  }
  return buf;
}

const rows = 2;
const cols = 3;
/** n images of 2×3 whose pixel p of image i is (i * 6 + p) * 5 (so all fit in a byte for n ≤ 8). */
const pixels = (n: number): number[] => Array.from({ length: n * rows * cols }, (_, j) => j * 5);

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'unforget-idx-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let folders = 0;
/** Writes a folder of the four IDX files (train: 4 images, test: 2); `edit` can change or drop files. */
async function fixture(
  options: { gzip?: boolean; edit?: (files: Map<string, Buffer>) => void } = {},
): Promise<string> {
  const folder = join(root, `set${folders++}`);
  await mkdir(folder);
  const files = new Map<string, Buffer>([
    ['train-images-idx3-ubyte', idx(0x08, [4, rows, cols], pixels(4))],
    ['train-labels-idx1-ubyte', idx(0x08, [4], [0, 1, 2, 1])],
    ['t10k-images-idx3-ubyte', idx(0x08, [2, rows, cols], pixels(2).reverse())],
    ['t10k-labels-idx1-ubyte', idx(0x08, [2], [2, 0])],
  ]);
  options.edit?.(files);
  for (const [name, bytes] of files) {
    if (options.gzip) await writeFile(join(folder, `${name}.gz`), gzipSync(bytes));
    else await writeFile(join(folder, name), bytes);
  }
  return folder;
}

const names = ['a', 'b', 'c'];

for (const gzip of [false, true]) {
  test(`loadIdxFolder reads ${gzip ? 'gzipped' : 'plain'} IDX files, scaled to [0, 1]`, async () => {
    const folder = await fixture({ gzip });
    const { train, test: testSet } = await loadIdxFolder(folder, { classNames: names });
    validateDataset(train, 'train');
    validateDataset(testSet, 'test');
    assert.deepEqual(train.shape, [4, rows, cols, 1]);
    assert.deepEqual(testSet.shape, [2, rows, cols, 1]);
    assert.deepEqual([...train.labels], [0, 1, 2, 1]);
    assert.deepEqual([...testSet.labels], [2, 0]);
    assert.deepEqual(train.classNames, names);
    assert.deepEqual(
      [...train.inputs],
      pixels(4).map((v) => Math.fround(v / 255)),
    );
    assert.equal(testSet.inputs[0], Math.fround(55 / 255));
    assert.equal(testSet.inputs[11], 0);
  });
}

test('a gzipped file is recognised by its magic bytes, whatever its name', async () => {
  const path = join(root, 'labels-without-gz-suffix');
  await writeFile(path, gzipSync(idx(0x08, [3], [7, 8, 9])));
  const read = await readIdxFile(path);
  assert.equal(read.type, 'uint8');
  assert.deepEqual(read.dims, [3]);
  assert.deepEqual([...read.data], [7, 8, 9]);
});

test('parseIdx reads every IDX element type, big-endian', () => {
  assert.deepEqual([...parseIdx(idx(0x09, [2], [-3, 4])).data], [-3, 4]);
  assert.deepEqual([...parseIdx(idx(0x0b, [2], [-300, 1000])).data], [-300, 1000]);
  const ints = parseIdx(idx(0x0c, [2, 1], [-70000, 123456789]));
  assert.equal(ints.type, 'int32');
  assert.deepEqual(ints.dims, [2, 1]);
  assert.deepEqual([...ints.data], [-70000, 123456789]);
  assert.deepEqual([...parseIdx(idx(0x0d, [2], [0.5, -2.25])).data], [0.5, -2.25]);
  assert.deepEqual([...parseIdx(idx(0x0e, [1], [Math.PI])).data], [Math.PI]);
});

test('the default class names are the ten digits', async () => {
  const folder = await fixture();
  const { train } = await loadIdxFolder(folder);
  assert.deepEqual(train.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
});

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a missing folder is a DataError that says how to get Fashion-MNIST', async () => {
  await rejects(
    loadIdxFolder(join(root, 'nowhere')),
    /nowhere not found; pass the folder that holds the IDX files/,
  );
  await rejects(
    loadFashionMnist(join(root, 'nowhere')),
    /not found; install Debian's dataset-fashion-mnist .*or pass the folder that holds the IDX files/,
  );
});

test('a missing file is named', async () => {
  const folder = await fixture({ gzip: true, edit: (files) => files.delete('t10k-labels-idx1-ubyte') });
  await rejects(loadIdxFolder(folder, { classNames: names }), /t10k-labels-idx1-ubyte not found/);
});

test('a bad magic number is a DataError naming the file', async () => {
  const folder = await fixture({
    edit: (files) => files.set('train-labels-idx1-ubyte', Buffer.from('PK\x03\x04 not an idx file')),
  });
  await rejects(
    loadIdxFolder(folder, { classNames: names }),
    /train-labels-idx1-ubyte is not an IDX file: its magic number is 50 4b 03 04/,
  );
  assert.throws(() => parseIdx(new Uint8Array(0)), /magic number is \(empty\)/);
});

test('a truncated file is a DataError, plain or gzipped', async () => {
  const cut = (files: Map<string, Buffer>): void => {
    const whole = files.get('train-images-idx3-ubyte') as Buffer;
    files.set('train-images-idx3-ubyte', whole.subarray(0, whole.length - 5));
  };
  const plain = await fixture({ edit: cut });
  await rejects(
    loadIdxFolder(plain, { classNames: names }),
    /train-images-idx3-ubyte is truncated: its header announces \[4, 2, 3\] uint8 values \(40 bytes with the header\) but the file holds 35 bytes/,
  );
  const gzipped = await fixture({ gzip: true, edit: cut });
  await rejects(loadIdxFolder(gzipped, { classNames: names }), /train-images-idx3-ubyte.gz is truncated/);
  assert.throws(() => parseIdx(idx(0x08, [4, 2], []).subarray(0, 9)), /truncated: its header needs 12 bytes/);

  const path = join(root, 'cut.gz');
  const zipped = gzipSync(
    idx(
      0x08,
      [100],
      pixels(100).map((v) => v % 256),
    ),
  );
  await writeFile(path, zipped.subarray(0, zipped.length - 20));
  await rejects(readIdxFile(path), /cut.gz is gzipped but cannot be decompressed .*download it again/);
});

test('image and label counts must match', async () => {
  const folder = await fixture({
    edit: (files) => files.set('t10k-labels-idx1-ubyte', idx(0x08, [3], [0, 1, 2])),
  });
  await rejects(
    loadIdxFolder(folder, { classNames: names }),
    /t10k-images-idx3-ubyte holds 2 images but .*t10k-labels-idx1-ubyte holds 3 labels/,
  );
});

test('labels out of range are a DataError with the index', async () => {
  const folder = await fixture({
    edit: (files) => files.set('train-labels-idx1-ubyte', idx(0x08, [4], [0, 1, 2, 12])),
  });
  await rejects(
    loadIdxFolder(folder, { classNames: names }),
    /labels must be integers in \[0, 3\); got 12 at index 3; pass classNames/,
  );
});

test('images must be unsigned bytes and labels one-dimensional', async () => {
  const floats = await fixture({
    edit: (files) => files.set('train-images-idx3-ubyte', idx(0x0d, [4, rows, cols], pixels(4))),
  });
  await rejects(loadIdxFolder(floats, { classNames: names }), /must hold unsigned bytes .*it holds float32/);
  const flat = await fixture({
    edit: (files) => files.set('train-labels-idx1-ubyte', idx(0x08, [2, 2], [0, 1, 2, 1])),
  });
  await rejects(loadIdxFolder(flat, { classNames: names }), /one integer label per image, shaped \[count\]/);
});

test('training and test images must have one size', async () => {
  const folder = await fixture({
    edit: (files) => files.set('t10k-images-idx3-ubyte', idx(0x08, [2, 3, 2], pixels(2))),
  });
  await rejects(
    loadIdxFolder(folder, { classNames: names }),
    /training images are \[2, 3, 1\] but the test images are \[3, 2, 1\]/,
  );
});
