import { loadMnist } from '../data/mnist.js';
import { permuted, type PermutedOptions } from './permuted.js';
import { rotated, type RotatedOptions } from './rotated.js';
import { split, type SplitOptions } from './split.js';
import { transfer, type TransferOptions } from './transfer.js';
import type { Scenario } from './types.js';

export { split, permuted, rotated, transfer };
export type { SplitOptions, PermutedOptions, RotatedOptions, TransferOptions };
export * from './types.js';
export { holdOutValidation, type ValidationSplit } from './validation.js';

/** Split MNIST on the bundled digits: by default 5 tasks of 2 digits (0/1, 2/3, …). */
export async function splitMnist(options: SplitOptions = {}): Promise<Scenario> {
  return split(loadMnist(), { name: 'split-mnist', ...options });
}

/** Permuted MNIST on the bundled digits: by default 10 tasks, the first unpermuted. */
export async function permutedMnist(options: PermutedOptions = {}): Promise<Scenario> {
  return permuted(loadMnist(), { name: 'permuted-mnist', ...options });
}

/** Rotated MNIST on the bundled digits: by default 5 tasks at 0°, 36°, 72°, 108°, 144°. */
export async function rotatedMnist(options: RotatedOptions = {}): Promise<Scenario> {
  return rotated(loadMnist(), { name: 'rotated-mnist', ...options });
}

/** The "old task, then new task" case on the bundled digits: 0–4 first, then 5–9. */
export async function mnistTransfer(options: TransferOptions = {}): Promise<Scenario> {
  const data = loadMnist();
  return transfer(
    { data, classes: [0, 1, 2, 3, 4], name: 'old: digits 0-4' },
    { data, classes: [5, 6, 7, 8, 9], name: 'new: digits 5-9' },
    { name: 'mnist-0-4-to-5-9', ...options },
  );
}
