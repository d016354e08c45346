import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import type { DataSplit, Dataset } from './dataset.js';

const gunzipAsync = promisify(gunzip);

/** The element types an IDX file can hold, by the type byte of its magic number. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const idxTypes: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

/** The contents of one IDX file: its element type, its dimensions and its values in row-major order. */
export interface IdxArray {
  readonly type: IdxType;
  readonly dims: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Where Debian's package `dataset-fashion-mnist` puts the four gzipped IDX files. */
export const fashionMnistFolder = '/usr/share/datasets/fashion-mnist';

/** The ten Fashion-MNIST classes, in label order. */
export const fashionMnistClassNames: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const digitNames = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)';

/**
 * Parses the bytes of an IDX file (already decompressed). The header is a magic number — two zero
 * bytes, a type byte (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
 * 0x0E float64) and the number of dimensions — then one big-endian uint32 per dimension, then the values,
 * big-endian. `name` is used in error messages.
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  const fix = 'download it again or pass the right file';
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || idxTypes[bytes[2]] === undefined) {
    throw new DataError(
      `${name} is not an IDX file: its magic number is ${hex(bytes.subarray(0, 4))}, ` +
        `expected 00 00 then a type byte (08 for unsigned bytes) then the number of dimensions; ${fix}`,
    );
  }
  const { type, bytes: size } = idxTypes[bytes[2]];
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DataError(
      `${name} is truncated: its header needs ${headerBytes} bytes for ${rank} dimensions but the file ` +
        `holds ${bytes.length}; ${fix}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const needed = headerBytes + count * size;
  if (bytes.length < needed) {
    throw new DataError(
      `${name} is truncated: its header announces [${dims.join(', ')}] ${type} values ` +
        `(${needed} bytes with the header) but the file holds ${bytes.length} bytes; ${fix}`,
    );
  }
  let data: IdxArray['data'];
  switch (type) {
    case 'uint8':
      // A copy (a Buffer's slice would be a view that keeps the whole file alive).
      data = new Uint8Array(bytes.subarray(headerBytes, needed));
      break;
    case 'int8':
      data = new Int8Array(new Uint8Array(bytes.subarray(headerBytes, needed)).buffer);
      break;
    default: {
      const out =
        type === 'int16'
          ? new Int16Array(count)
          : type === 'int32'
            ? new Int32Array(count)
            : type === 'float32'
              ? new Float32Array(count)
              : new Float64Array(count);
      for (let i = 0, at = headerBytes; i < count; i++, at += size) {
        out[i] =
          type === 'int16'
            ? view.getInt16(at, false)
            : type === 'int32'
              ? view.getInt32(at, false)
              : type === 'float32'
                ? view.getFloat32(at, false)
                : view.getFloat64(at, false);
      }
      data = out;
    }
  }
  return { type, dims, data };
}

/**
 * Reads one IDX file, gzipped or not (a gzip file is recognised by its first bytes, 1f 8b, whatever its
 * name). Throws a DataError if it is missing, cannot be decompressed, or is not a whole IDX file.
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DataError(`cannot read the IDX file ${path}: ${(e as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (e) {
      throw new DataError(
        `${path} is gzipped but cannot be decompressed (${(e as Error).message}); ` +
          'it is probably truncated: download it again',
      );
    }
  }
  return parseIdx(bytes, path);
}

/** Options of `loadIdxFolder`. */
export interface IdxFolderOptions {
  /** The name of each class, in label order; labels must lie in [0, classNames.length). Default: '0'…'9'. */
  readonly classNames?: readonly string[];
}

const isFile = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
};

/** Finds `base` in `folder` as it is, gzipped, or with the '.' spelling some mirrors use (t10k-images.idx3-ubyte). */
async function findIdxFile(folder: string, base: string): Promise<string> {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  const candidates = [base, `${base}.gz`, dotted, `${dotted}.gz`];
  for (const name of candidates) {
    const path = join(folder, name);
    if (await isFile(path)) return path;
  }
  throw new DataError(
    `${join(folder, base)} not found (looked for ${candidates.join(', ')}); ` +
      'put the IDX file there or pass the folder that holds all four IDX files',
  );
}

async function readSplit(
  folder: string,
  prefix: 'train' | 't10k',
  classNames: readonly string[],
): Promise<Dataset> {
  const imagesPath = await findIdxFile(folder, `${prefix}-images-idx3-ubyte`);
  const labelsPath = await findIdxFile(folder, `${prefix}-labels-idx1-ubyte`);
  const [images, labels] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  if (images.type !== 'uint8' || (images.dims.length !== 3 && images.dims.length !== 4)) {
    throw new DataError(
      `${imagesPath} must hold unsigned bytes shaped [count, rows, cols] or [count, rows, cols, channels]; ` +
        `it holds ${images.type} shaped [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dims.length !== 1 || labels.type === 'float32' || labels.type === 'float64') {
    throw new DataError(
      `${labelsPath} must hold one integer label per image, shaped [count]; ` +
        `it holds ${labels.type} shaped [${labels.dims.join(', ')}]`,
    );
  }
  const [count, rows, cols, channels = 1] = images.dims;
  if (labels.dims[0] !== count) {
    throw new DataError(
      `${imagesPath} holds ${count} images but ${labelsPath} holds ${labels.dims[0]} labels; ` +
        'the two files must come from the same set: download them again',
    );
  }
  const k = classNames.length;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const y = labels.data[i];
    if (!(y >= 0 && y < k)) {
      throw new DataError(
        `${labelsPath}: labels must be integers in [0, ${k}); got ${y} at index ${i}; ` +
          `pass classNames with one name per class`,
      );
    }
    out[i] = y;
  }
  const pixels = images.data;
  const inputs = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) inputs[i] = pixels[i] / 255;
  return { inputs, labels: out, shape: [count, rows, cols, channels], classNames };
}

/**
 * Reads a folder of IDX files in the MNIST layout — train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each plain or gzipped (`.gz`) — into a training
 * and a test set of images [count, rows, cols, 1] with values in [0, 1].
 *
 * @example
 * const { train, test } = await loadIdxFolder('./data/mnist', { classNames: ['0', '1', ..., '9'] });
 */
export async function loadIdxFolder(
  folder: string = fashionMnistFolder,
  options: IdxFolderOptions = {},
): Promise<DataSplit> {
  const classNames = options.classNames ?? digitNames;
  let isFolder = false;
  try {
    isFolder = (await stat(folder)).isDirectory();
  } catch {
    isFolder = false;
  }
  if (!isFolder) {
    throw new DataError(
      `the IDX folder ${folder} not found` +
        (folder === fashionMnistFolder
          ? "; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass the folder that holds the IDX files"
          : '; pass the folder that holds the IDX files'),
    );
  }
  const train = await readSplit(folder, 'train', classNames);
  const test = await readSplit(folder, 't10k', classNames);
  if (train.shape.slice(1).join() !== test.shape.slice(1).join()) {
    throw new DataError(
      `in ${folder} the training images are [${train.shape.slice(1).join(', ')}] but the test images are ` +
        `[${test.shape.slice(1).join(', ')}]; both sets must have images of one size`,
    );
  }
  return { train, test };
}

/**
 * Fashion-MNIST (Xiao et al., 2017): 60,000 training and 10,000 test grayscale 28×28 images of ten
 * kinds of clothing, 6,000 training images per class, values in [0, 1]. Reads the files installed by
 * Debian's `dataset-fashion-mnist` (in /usr/share/datasets/fashion-mnist) or those in `folder`.
 *
 * @example
 * const { train, test } = await loadFashionMnist();
 * train.classNames[train.labels[0]]; // e.g. 'Ankle boot'
 */
export async function loadFashionMnist(folder: string = fashionMnistFolder): Promise<DataSplit> {
  if (
    !(await stat(folder).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new DataError(
      `Fashion-MNIST folder ${folder} not found; install Debian's dataset-fashion-mnist ` +
        '(apt-get install dataset-fashion-mnist) or pass the folder that holds the IDX files',
    );
  }
  return loadIdxFolder(folder, { classNames: fashionMnistClassNames });
}
