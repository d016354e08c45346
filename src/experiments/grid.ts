import { OptionError } from '../errors.js';
import { parseOptionValue, strategyEntry, type StrategyOption } from '../strategies/index.js';

/** An option's value in a grid or a run: a number, or one of a choice option's words. */
export type OptionValue = number | string;

/**
 * Values to try for strategies' options, by strategy and option name (the registry's), e.g.
 * `{ ewc: { lambda: [1e2, 1e3, 1e4] }, lwf: { temperature: [1, 2, 4] } }`. A strategy with several
 * gridded options runs every combination of their values.
 */
export type OptionGrid = Readonly<Record<string, Readonly<Record<string, readonly OptionValue[]>>>>;

/** One combination of a strategy's gridded options, e.g. `{ lambda: 1000 }`. */
export type GridPoint = Record<string, OptionValue>;

/**
 * An option value as run ids and tables write it: numbers of 10⁴ and more, or below 10⁻³, in short
 * exponent form (1e5, 2.5e-4), others as JavaScript writes them (100, 0.5); words as they are. Every
 * number has its own text, so the ids of a grid's runs differ.
 *
 * ```ts
 * formatOptionValue(1e5); // '1e5'
 * formatOptionValue(100); // '100'
 * ```
 */
export function formatOptionValue(value: OptionValue): string {
  if (typeof value === 'string') return value;
  const size = Math.abs(value);
  return size !== 0 && (size >= 1e4 || size < 1e-3)
    ? value.toExponential().replace('e+', 'e')
    : String(value);
}

/**
 * A grid point as words; `joiner` goes between the options.
 *
 * ```ts
 * describeGridPoint({ lambda: 1e5, gamma: 0.9 }); // 'lambda=1e5 gamma=0.9'
 * describeGridPoint({ lambda: 1e5, gamma: 0.9 }, '-'); // 'lambda=1e5-gamma=0.9' (as in run ids)
 * ```
 */
export function describeGridPoint(point: Readonly<GridPoint>, joiner = ' '): string {
  return Object.entries(point)
    .map(([name, value]) => `${name}=${formatOptionValue(value)}`)
    .join(joiner);
}

/**
 * Every combination of the values of `grid` (one strategy's), the first option outermost. No grid:
 * one empty point.
 *
 * ```ts
 * gridPoints({ a: [1, 2], b: ['x', 'y'] });
 * // [{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]
 * ```
 */
export function gridPoints(grid: Readonly<Record<string, readonly OptionValue[]>> = {}): GridPoint[] {
  return Object.entries(grid).reduce<GridPoint[]>(
    (points, [name, values]) =>
      points.flatMap((point) => values.map((value) => ({ ...point, [name]: value }))),
    [{}],
  );
}

function optionOf(strategy: string, name: string): StrategyOption {
  const entry = strategyEntry(strategy);
  const option = entry.options.find((o) => o.name === name);
  if (!option) {
    throw new OptionError(
      `the ${entry.name} strategy has no option '${name}'; its options are: ${entry.options.map((o) => o.name).join(', ')}`,
    );
  }
  return option;
}

/**
 * One strategy's grid checked against the registry: each option is one the strategy takes, each list
 * holds values of the option's kind (a choice among its words, a whole number where one is needed),
 * at least one and none twice. Returns the values as numbers or words.
 *
 * ```ts
 * checkStrategyGrid('ewc', { lambda: ['1e2', 1000] }); // { lambda: [100, 1000] }
 * checkStrategyGrid('ewc', { lamda: [1] }); // throws: the ewc strategy has no option 'lamda'; …
 * ```
 */
export function checkStrategyGrid(
  strategy: string,
  grid: Readonly<Record<string, readonly OptionValue[]>>,
): Record<string, OptionValue[]> {
  const name = strategyEntry(strategy).name;
  const out: Record<string, OptionValue[]> = {};
  for (const [option, values] of Object.entries(grid)) {
    const o = optionOf(name, option);
    if (!Array.isArray(values) || values.length === 0) {
      throw new OptionError(
        `the grid of ${name}.${option} has no values; give at least one, e.g. ${name}.${option}=1,2`,
      );
    }
    const parsed = values.map((v) => {
      try {
        return parseOptionValue(o, String(v));
      } catch (error) {
        throw new OptionError(`the grid of ${name}.${option}: ${(error as Error).message}`);
      }
    });
    const twice = parsed.find((v, i) => parsed.indexOf(v) !== i);
    if (twice !== undefined) {
      throw new OptionError(
        `the grid of ${name}.${option} lists ${formatOptionValue(twice)} twice; list each value once`,
      );
    }
    out[option] = parsed;
  }
  return out;
}

/**
 * Reads grids as the command line writes them, one `strategy.option=v1,v2,…` per text, e.g.
 * `['ewc.lambda=1e2,1e3', 'lwf.temperature=1,2,4']`; strategy and option names are the registry's
 * (the strategy's in any case), values are read by the option's kind. Throws an OptionError naming
 * the text and what to write instead.
 *
 * ```ts
 * parseGrid(['ewc.lambda=1e2,1e3']); // { ewc: { lambda: [100, 1000] } }
 * ```
 */
export function parseGrid(texts: readonly string[]): Record<string, Record<string, OptionValue[]>> {
  const grid: Record<string, Record<string, OptionValue[]>> = {};
  for (const text of texts) {
    const match = /^\s*([^.=\s]+)\.([^=\s]+)\s*=(.*)$/.exec(text);
    if (!match) {
      throw new OptionError(
        `a grid is written strategy.option=value,value,…, e.g. ewc.lambda=1e2,1e3,1e4; got '${text}'`,
      );
    }
    const [, strategyName, option, list] = match;
    const strategy = strategyEntry(strategyName).name;
    if (grid[strategy]?.[option] !== undefined) {
      throw new OptionError(`${strategy}.${option} has two grids; give its values in one list`);
    }
    const values = list
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (values.length === 0) {
      throw new OptionError(`the grid '${text}' lists no values; e.g. ${strategy}.${option}=1,2`);
    }
    grid[strategy] = { ...grid[strategy], ...checkStrategyGrid(strategy, { [option]: values }) };
  }
  return grid;
}
