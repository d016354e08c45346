import { subset, type Dataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { seededRandom, shuffleInPlace, type Random } from '../random.js';
import type { Scenario } from './types.js';

/** A scenario whose tasks train on part of their training data, and the part held out of each. */
export interface ValidationSplit {
  /** The tasks with the rest of their training data; their test data as it was. */
  training: Scenario;
  /** The same tasks with the held-out part as their test data (and no training data): for accuracyRow. */
  validation: Scenario;
}

/** The indices of `data` to hold out: `fraction` of each class's examples, at random. */
function heldOut(data: Dataset, fraction: number, random: Random): Set<number> {
  const byClass = new Map<number, number[]>();
  data.labels.forEach((label, i) => {
    const list = byClass.get(label);
    if (list) list.push(i);
    else byClass.set(label, [i]);
  });
  const out = new Set<number>();
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const indices = byClass.get(label) ?? [];
    // Every class keeps at least one training example, and one in validation when it has two.
    const count = Math.min(indices.length - 1, Math.max(1, Math.round(fraction * indices.length)));
    for (const i of shuffleInPlace(indices, random).slice(0, count)) out.add(i);
  }
  return out;
}

/**
 * Holds out `fraction` of each task's training data as validation data: that share of each class
 * (stratified), picked at random with `seed`, so the same seed holds out the same examples. The test
 * data is neither read nor changed: options chosen on the validation part never see it.
 *
 * ```ts
 * const { training, validation } = holdOutValidation(await scenarios.splitMnist(), 0.1, 0);
 * await train(l, training, s, { onTaskEnd: (t) => console.log(accuracyRow(l, validation, t)) });
 * ```
 */
export function holdOutValidation(scenario: Scenario, fraction: number, seed: number): ValidationSplit {
  if (!(fraction > 0 && fraction < 1)) {
    throw new OptionError(
      `the validation share must be between 0 and 1 (e.g. 0.1 for 10% of each task's training data); got ${fraction}`,
    );
  }
  const random = seededRandom(seed);
  const parts = scenario.tasks.map((task) => {
    const n = task.train.labels.length;
    const out = heldOut(task.train, fraction, random);
    const keep: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (out.has(i) ? held : keep).push(i);
    return { task, train: subset(task.train, keep), validation: subset(task.train, held) };
  });
  // The validation tasks are built field by field: not even a reference to the test data is taken.
  const layout = ({ name, classes, classNames }: Scenario['tasks'][number]) => ({
    name,
    classes,
    classNames,
  });
  const base = { name: scenario.name, setting: scenario.setting, inputShape: scenario.inputShape };
  return {
    training: { ...scenario, tasks: parts.map(({ task, train }) => ({ ...task, train })) },
    validation: {
      ...base,
      tasks: parts.map(({ task, train, validation }) => ({
        ...layout(task),
        train: subset(train, []),
        test: validation,
      })),
    },
  };
}
