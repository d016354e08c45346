import type { DataSplit, Dataset } from './dataset.js';
import { DataError } from '../errors.js';

/**
 * A compact binary form of a 28×28 grayscale DataSplit, for sending the bundled MNIST to a browser.
 * The `mnist` package's pixels take exactly 256 distinct values, so each pixel is stored as one byte
 * indexing a table of float32 values: lossless, 1 byte a pixel instead of ~6 in the package's JSON.
 *
 * Layout (little-endian): 'UFMN', version 1, train count, test count, pixels per example, class
 * count (u32 each); the value table (256 × f32); train labels, test labels (u8 each); train
 * pixels, test pixels (u8 indices).
 */
const magic = 0x4e4d4655; // 'UFMN' read as a little-endian u32
const headerBytes = 24;
const tableBytes = 256 * 4;

/** Packs a split whose pixels take at most 256 distinct values and whose labels fit in a byte. */
export function encodeImageSplit(split: DataSplit): Uint8Array {
  const { train, test } = split;
  const size = train.shape.slice(1).reduce((a, b) => a * b, 1);
  const seen = new Set<number>();
  for (const d of [train, test]) for (const v of d.inputs) seen.add(v);
  const values = [...seen].sort((a, b) => a - b);
  if (values.length > 256)
    throw new DataError(`the pixels take ${values.length} distinct values; at most 256 fit`);
  if (train.classNames.length > 256) throw new DataError('at most 256 classes fit');
  const index = new Map(values.map((v, i) => [v, i]));
  const trainCount = train.labels.length;
  const testCount = test.labels.length;
  const total = headerBytes + tableBytes + (trainCount + testCount) * (1 + size);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  [magic, 1, trainCount, testCount, size, train.classNames.length].forEach((v, i) =>
    view.setUint32(i * 4, v, true),
  );
  values.forEach((v, i) => view.setFloat32(headerBytes + i * 4, v, true));
  let at = headerBytes + tableBytes;
  bytes.set(train.labels, at);
  at += trainCount;
  bytes.set(test.labels, at);
  at += testCount;
  for (const d of [train, test]) {
    for (let i = 0; i < d.inputs.length; i++) bytes[at + i] = index.get(d.inputs[i]) as number;
    at += d.inputs.length;
  }
  return bytes;
}

/** Unpacks what `encodeImageSplit` wrote into 28×28×1 datasets with the digit names as classes. */
export function decodeImageSplit(buffer: ArrayBuffer, side = 28): DataSplit {
  if (buffer.byteLength < headerBytes + tableBytes) {
    throw new DataError(`the data file is ${buffer.byteLength} bytes, too short to hold MNIST`);
  }
  const view = new DataView(buffer);
  const [m, version, trainCount, testCount, size, classCount] = [0, 1, 2, 3, 4, 5].map((i) =>
    view.getUint32(i * 4, true),
  );
  if (m !== magic || version !== 1 || size !== side * side) {
    throw new DataError('the data file is not unforget binary MNIST (version 1, 28×28)');
  }
  const expected = headerBytes + tableBytes + (trainCount + testCount) * (1 + size);
  if (buffer.byteLength !== expected) {
    throw new DataError(`the data file is ${buffer.byteLength} bytes; expected ${expected} (truncated?)`);
  }
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) table[i] = view.getFloat32(headerBytes + i * 4, true);
  const bytes = new Uint8Array(buffer);
  const classNames = Array.from({ length: classCount }, (_, i) => String(i));
  let labelsAt = headerBytes + tableBytes;
  let pixelsAt = labelsAt + trainCount + testCount;
  const read = (count: number): Dataset => {
    const labels = Int32Array.from(bytes.subarray(labelsAt, labelsAt + count));
    labelsAt += count;
    const inputs = new Float32Array(count * size);
    for (let i = 0; i < inputs.length; i++) inputs[i] = table[bytes[pixelsAt + i]];
    pixelsAt += count * size;
    return { inputs, labels, shape: [count, side, side, 1], classNames };
  };
  return { train: read(trainCount), test: read(testCount) };
}
