import { OptionError } from '../errors.js';
import type { Strategy } from '../train/strategy.js';

/** An option a strategy takes, described for the command line and the web page. */
export interface StrategyOption {
  name: string;
  kind: 'number' | 'integer' | 'choice';
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

/**
 * One strategy option's value as written (a flag on the command line, a field on the page), read by the
 * option's kind: a choice must be one of its choices, a number finite, an integer whole. Throws an
 * OptionError saying what is expected.
 */
export function parseOptionValue(o: StrategyOption, value: string): number | string {
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
