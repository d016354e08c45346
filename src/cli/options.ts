import { InvalidArgumentError, Option, type Command } from 'commander';
import { OptionError } from '../errors.js';
import type { TaskInference } from '../model/infer-task.js';
import type { Setting } from '../scenarios/types.js';
import { parseOptionValue } from '../strategies/entry.js';
import { registry, strategyEntry, type StrategyOption } from '../strategies/index.js';
import type { Strategy } from '../train/strategy.js';

/** `learningRate` → `learning-rate`, as the flag is spelled. */
export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A parser for a whole-number flag, at least `min`. */
export function wholeNumber(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}; got '${value}'`);
    }
    return n;
  };
}

/** A parser for a comma-separated list of whole numbers, each at least `min`. */
export function numberList(min: number, example: string) {
  return (value: string): number[] => {
    const parts = value
      .split(',')
      .filter((p) => p.trim() !== '')
      .map((p) => Number(p));
    if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < min)) {
      throw new InvalidArgumentError(
        `expected comma-separated whole numbers ≥ ${min}, e.g. ${example}; got '${value}'`,
      );
    }
    return parts;
  };
}

/** Every option any strategy takes, once each: one flag per option on the command line. */
export function strategyOptions(): StrategyOption[] {
  const seen = new Map<string, { option: StrategyOption; by: Map<string, string[]> }>();
  for (const entry of registry) {
    for (const o of entry.options) {
      const found = seen.get(o.name) ?? { option: o, by: new Map<string, string[]>() };
      found.by.set(o.description, [...(found.by.get(o.description) ?? []), entry.name]);
      seen.set(o.name, found);
    }
  }
  // An option several strategies describe differently (lambda) says what it is for each.
  return [...seen.values()].map(({ option, by }) =>
    by.size === 1
      ? option
      : { ...option, description: [...by].map(([text, names]) => `${names.join(', ')}: ${text}`).join('; ') },
  );
}

/** A parser for one strategy option's flag, by the option's kind (the library's parseOptionValue). */
export function parseStrategyOption(o: StrategyOption) {
  return (value: string): number | string => {
    try {
      return parseOptionValue(o, value);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message.replace(`${o.name}: `, ''));
    }
  };
}

/**
 * The command-line flag of one strategy option: `--name <value>` read by the option's kind, or a bare
 * `--name` for a flag option (on when given).
 */
export function strategyFlag(o: StrategyOption, description: string): Option {
  if (o.kind === 'flag') return new Option(`--${kebab(o.name)}`, description);
  return new Option(`--${kebab(o.name)} <value>`, description).argParser(parseStrategyOption(o));
}

/** One flag per strategy option on `command`, each saying which strategies take it. */
export function addStrategyFlags(command: Command): void {
  for (const o of strategyOptions()) {
    const users = registry.filter((e) => e.options.some((x) => x.name === o.name)).map((e) => e.name);
    const note = users.length === registry.length ? '' : ` [${users.join(', ')}]`;
    command.addOption(strategyFlag(o, `${o.description}${note}`));
  }
}

/** The strategy options given as flags, as an option map (a flag option given is 1). */
export function givenStrategyOptions(
  flags: Readonly<Record<string, unknown>>,
): Record<string, number | string> {
  const given: Record<string, number | string> = {};
  for (const o of strategyOptions()) {
    const value = flags[o.name];
    if (value === true) given[o.name] = 1;
    else if (value !== undefined) given[o.name] = value as number | string;
  }
  return given;
}

/** The strategy `name` built with `given` options; an option it does not take is an error listing its own. */
export function buildStrategy(name: string, given: Readonly<Record<string, number | string>>): Strategy {
  const entry = strategyEntry(name);
  for (const option of Object.keys(given)) {
    if (!entry.options.some((x) => x.name === option)) {
      throw new OptionError(
        `the ${entry.name} strategy takes no --${kebab(option)}; its options are: ` +
          entry.options.map((x) => `--${kebab(x.name)}`).join(', '),
      );
    }
  }
  return entry.create({ ...given });
}

/** The task inferences --infer-task asks for, refused outside the task setting before any work. */
export function inferences(flags: {
  inferTask?: 'example' | 'batch' | 'both';
  setting: Setting;
}): TaskInference[] | undefined {
  if (!flags.inferTask) return undefined;
  if (flags.setting !== 'task') {
    throw new OptionError(
      `--infer-task is for the task setting (a head per task to pick); with --setting ${flags.setting} every answer ` +
        'is already given without the task: leave --infer-task out',
    );
  }
  return flags.inferTask === 'both' ? ['example', 'batch'] : [flags.inferTask];
}

/** `--infer-task` and `--infer-batch` (run and compare): also test without the task label. */
export function addInferenceFlags(command: Command): void {
  command
    .addOption(
      new Option(
        '--infer-task <per>',
        'task setting: also test without the task label, the task inferred per example, per batch or both',
      ).choices(['example', 'batch', 'both']),
    )
    .option(
      '--infer-batch <n>',
      'test examples per batch when the task is inferred per batch',
      wholeNumber(1),
      64,
    );
}

/** A parser for --workers: a whole number ≥ 1, or 'auto'. */
function workersValue(value: string): number | 'auto' {
  return value === 'auto' ? 'auto' : wholeNumber(1)(value);
}

/** `--workers` (run and learn): threads that share each training step. */
export function addWorkersFlag(command: Command): void {
  command.option(
    '--workers <n>',
    "threads that share each training step, or 'auto': the cores (up to 4) for a run long enough to gain " +
      '(UNFORGET_WORKERS=n sets the automatic choice)',
    workersValue,
    'auto',
  );
}
