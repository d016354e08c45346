import type { DataSplit, Dataset } from '../data/dataset.js';
import { exampleSize, mapExamples, validateDataset } from '../data/dataset.js';
import { permutation, seededRandom } from '../random.js';
import { checkCount, checkSetting } from './options.js';
import type { Scenario, Setting } from './types.js';

export interface PermutedOptions {
  /** Number of tasks. Default 10. */
  tasks?: number;
  setting?: Setting;
  seed?: number;
  /** Keep the first task's pixels in their original order (the usual protocol). Default true. */
  originalFirst?: boolean;
  name?: string;
}

/** The fixed pixel permutation of each task, derived from the seed alone. */
export function taskPermutations(
  tasks: number,
  size: number,
  seed: number,
  originalFirst = true,
): Int32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: tasks }, (_, t) => {
    const p = permutation(size, random);
    return t === 0 && originalFirst ? p.map((_, i) => i) : p;
  });
}

function permute(d: Dataset, p: Int32Array): Dataset {
  return mapExamples(d, (x, out) => {
    for (let i = 0; i < p.length; i++) out[i] = x[p[i]];
  });
}

/**
 * Permuted: every task holds all the classes, with the pixels of every image shuffled by a fixed
 * random permutation per task (seeded). The usual domain-incremental benchmark.
 */
export function permuted(data: DataSplit, options: PermutedOptions = {}): Scenario {
  const setting = checkSetting(options.setting);
  const train = validateDataset(data.train, 'training set');
  const test = validateDataset(data.test, 'test set');
  const tasks = checkCount('tasks', options.tasks ?? 10, 1);
  const perms = taskPermutations(tasks, exampleSize(train), options.seed ?? 0, options.originalFirst ?? true);
  const classes = train.classNames.map((_, i) => i);
  return {
    name: options.name ?? 'permuted',
    setting,
    inputShape: train.shape.slice(1),
    tasks: perms.map((p, t) => ({
      name: `task ${t + 1} (permutation ${t + 1})`,
      classes,
      classNames: train.classNames,
      train: permute(train, p),
      test: permute(test, p),
    })),
  };
}
