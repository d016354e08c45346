import { OptionError } from '../errors.js';
import type { Strategy } from '../train/strategy.js';

/**
 * An option a strategy takes, described for the command line and the web page. A 'flag' is on or off:
 * 1 or 0 in an option map, a bare `--name` on the command line, off when not given.
 */
export interface StrategyOption {
  name: string;
  kind: 'number' | 'integer' | 'choice' | 'flag';
  description: string;
  choices?: readonly string[];
}

/**
 * A strategy the command line and web page can build by name. Each method's file exports its own
 * entry (its options, their defaults in the help, and how to build it); index.ts lists them.
 */
export interface StrategyEntry {
  name: string;
  summary: string;
  needsOldData: boolean;
  options: readonly StrategyOption[];
  create(options: Record<string, number | string>): Strategy;
}

/** The options every strategy takes: how its steps are taken. */
export const stepOptionList: readonly StrategyOption[] = [
  { name: 'learningRate', kind: 'number', description: 'step size (default 1e-3)' },
  { name: 'optimizer', kind: 'choice', choices: ['adam', 'sgd'], description: 'adam or sgd (default adam)' },
  { name: 'momentum', kind: 'number', description: 'momentum for sgd (default 0)' },
];

/** The words a flag option's value may be written as, and what each means (1 on, 0 off). */
const flagWords: ReadonlyMap<string, number> = new Map([
  ['1', 1],
  ['true', 1],
  ['0', 0],
  ['false', 0],
]);

/**
 * One strategy option's value as written (a flag on the command line, a field on the page), read by the
 * option's kind: a choice must be one of its choices, a number finite, an integer whole, a flag one of
 * 1, 0, true, false (given as 1 or 0). Throws an OptionError saying what is expected.
 *
 * ```ts
 * parseOptionValue({ name: 'pick', kind: 'flag', description: '' }, 'true'); // 1
 * ```
 */
export function parseOptionValue(o: StrategyOption, value: string): number | string {
  if (o.kind === 'flag') {
    const on = flagWords.get(value.trim().toLowerCase());
    if (on === undefined)
      throw new OptionError(`${o.name} is on or off: use 1, 0, true or false; got '${value}'`);
    return on;
  }
  if (o.kind === 'choice') {
    if (!o.choices?.includes(value)) throw new OptionError(`${o.name}: use one of: ${o.choices?.join(', ')}`);
    return value;
  }
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (o.kind === 'integer' && !Number.isInteger(n))) {
    throw new OptionError(
      `${o.name} must be ${o.kind === 'integer' ? 'a whole number' : 'a number'}; got '${value}'`,
    );
  }
  return n;
}

/**
 * A flag option's value in an option map, as a boolean: 1 is on, 0 or absent off (what `create` hands
 * its strategy). Anything else is an OptionError.
 *
 * ```ts
 * const pick = flagOption({ pick: 1 }, 'pick'); // true
 * ```
 */
export function flagOption(options: Readonly<Record<string, number | string>>, name: string): boolean {
  const value = options[name];
  if (value === undefined || value === 0) return false;
  if (value === 1) return true;
  throw new OptionError(`${name} is a flag: 1 (on) or 0 (off); got ${JSON.stringify(value)}`);
}
