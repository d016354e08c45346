import type { DataSplit } from '../data/dataset.js';
import { validateDataset, withClasses } from '../data/dataset.js';
import { DataError, OptionError } from '../errors.js';
import { checkSetting } from './options.js';
import type { Scenario, Setting, Task } from './types.js';

/** One side of a transfer: a dataset, optionally restricted to some of its classes. */
export interface TransferPart {
  data: DataSplit;
  /** Which classes (label values) to keep. Default: all. */
  classes?: readonly number[];
  /** A name for the task, e.g. 'clothing'. */
  name?: string;
}

export interface TransferOptions {
  setting?: Setting;
  name?: string;
}

function transferTask(part: TransferPart, fallbackName: string): Task {
  const train = validateDataset(part.data.train, `${fallbackName} training set`);
  const test = validateDataset(part.data.test, `${fallbackName} test set`);
  const all = train.classNames.map((_, i) => i);
  const classes = part.classes ? [...part.classes] : all;
  for (const c of classes) {
    if (!all.includes(c)) {
      throw new OptionError(
        `${fallbackName} task: class ${c} does not exist; the data has classes 0..${all.length - 1}`,
      );
    }
  }
  const classNames = classes.map((c) => train.classNames[c]);
  return {
    name: part.name ?? `${fallbackName} (${classNames.join(', ')})`,
    classes,
    classNames,
    train: part.classes ? withClasses(train, classes) : train,
    test: part.classes ? withClasses(test, classes) : test,
  };
}

/**
 * Transfer: an "old" task the network learns first, then a "new" one, possibly from another dataset
 * (e.g. Fashion-MNIST, then MNIST). Both must have examples of the same shape.
 */
export function transfer(
  oldPart: TransferPart,
  newPart: TransferPart,
  options: TransferOptions = {},
): Scenario {
  const setting = checkSetting(options.setting);
  const oldTask = transferTask(oldPart, 'old');
  const newTask = transferTask(newPart, 'new');
  const oldShape = oldTask.train.shape.slice(1);
  const newShape = newTask.train.shape.slice(1);
  if (oldShape.join('x') !== newShape.join('x')) {
    throw new DataError(
      `the old task's examples are [${oldShape}] but the new task's are [${newShape}]; ` +
        'load both datasets at the same size (e.g. loadImageFolder with size)',
    );
  }
  return { name: options.name ?? 'transfer', setting, inputShape: oldShape, tasks: [oldTask, newTask] };
}
