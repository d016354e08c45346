import type { DataSplit } from '../data/dataset.js';
import { validateDataset, withClasses } from '../data/dataset.js';
import { DataError, OptionError } from '../errors.js';
import { permutation, seededRandom } from '../random.js';
import { checkCount, checkSetting } from './options.js';
import type { Scenario, Setting } from './types.js';

export interface SplitOptions {
  /** Number of tasks; the classes must divide evenly among them. Default 5. */
  tasks?: number;
  setting?: Setting;
  /** The order in which classes are dealt into tasks. Default: 0, 1, 2, … */
  classOrder?: readonly number[];
  /** Deal the classes in a seeded random order instead (ignored when classOrder is given). */
  shuffleClasses?: boolean;
  seed?: number;
  /** The scenario's name. Default 'split'. */
  name?: string;
}

/**
 * Split: the dataset's classes are divided into tasks of equal size, e.g. MNIST into 0/1, 2/3, 4/5,
 * 6/7, 8/9. No example appears in two tasks, and no test example in a training set.
 */
export function split(data: DataSplit, options: SplitOptions = {}): Scenario {
  const setting = checkSetting(options.setting);
  const train = validateDataset(data.train, 'training set');
  const test = validateDataset(data.test, 'test set');
  const classCount = train.classNames.length;
  if (classCount < 2) {
    throw new DataError(
      `the data has ${classCount} class${classCount === 1 ? '' : 'es'} (${train.classNames.join(', ') || 'none'}); ` +
        'splitting it into tasks needs at least 2 classes: add examples of more classes',
    );
  }
  const tasks = checkCount('tasks', options.tasks ?? 5, 1, classCount);
  let order: number[];
  if (options.classOrder) {
    order = [...options.classOrder];
    const sorted = [...order].sort((a, b) => a - b);
    if (sorted.length !== classCount || sorted.some((c, i) => c !== i)) {
      throw new OptionError(
        `classOrder must list each class 0..${classCount - 1} once; got [${order.join(', ')}]`,
      );
    }
  } else if (options.shuffleClasses) {
    order = Array.from(permutation(classCount, seededRandom(options.seed ?? 0)));
  } else {
    order = Array.from({ length: classCount }, (_, i) => i);
  }
  if (classCount % tasks !== 0) {
    const fits = Array.from({ length: classCount }, (_, i) => i + 1).filter(
      (n) => classCount % n === 0 && classCount / n >= 2,
    );
    throw new OptionError(
      `${classCount} classes cannot be split evenly into ${tasks} tasks; use tasks = ${fits.join(', ')}`,
    );
  }
  const per = classCount / tasks;
  if (per < 2) {
    const fits = Array.from({ length: classCount }, (_, i) => i + 1).filter(
      (n) => classCount % n === 0 && classCount / n >= 2,
    );
    throw new OptionError(
      `${classCount} classes in ${tasks} tasks leaves one class per task, and a task of one class has nothing to tell apart; ` +
        `use tasks = ${fits.join(', ') || '1'} (at least 2 classes per task)`,
    );
  }
  return {
    name: options.name ?? 'split',
    setting,
    inputShape: train.shape.slice(1),
    tasks: Array.from({ length: tasks }, (_, t) => {
      const classes = order.slice(t * per, (t + 1) * per);
      return {
        name: `task ${t + 1} (${classes.map((c) => train.classNames[c]).join(', ')})`,
        classes,
        classNames: classes.map((c) => train.classNames[c]),
        train: withClasses(train, classes),
        test: withClasses(test, classes),
      };
    }),
  };
}
