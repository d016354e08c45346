import type { BackendName } from '../backend/select.js';
import { OptionError } from '../errors.js';
import type { BackboneSpec } from '../model/backbones.js';
import type { TaskInference } from '../model/infer-task.js';
import type { Setting } from '../scenarios/types.js';
import { strategyEntry } from '../strategies/index.js';
import { checkStrategyGrid, describeGridPoint, gridPoints, type GridPoint, type OptionGrid } from './grid.js';

/**
 * What a comparison runs: every strategy in `strategies` once per seed (and per point of its grid,
 * if it has one), on one scenario and budget.
 */
export interface ComparisonOptions {
  /** A named scenario (see `namedScenarios`), e.g. 'mnist-transfer'. */
  scenario: string;
  setting: Setting;
  /** Number of tasks, where the scenario lets it vary. */
  tasks?: number;
  /** The scenario's data folder (Fashion-MNIST's IDX files, an image folder). */
  data?: string;
  /** Strategy names from the registry, in the order the table shows them. */
  strategies: readonly string[];
  /** Options per strategy name, e.g. `{ ewc: { lambda: 100 } }`; unlisted options keep their defaults. */
  strategyOptions?: Readonly<Record<string, Readonly<Record<string, number | string>>>>;
  seeds: readonly number[];
  backbone: BackboneSpec;
  /** Passes over each task's data (ignored when `iterations` is given). */
  epochs?: number;
  /** Optimizer steps per task, instead of epochs. */
  iterations?: number;
  batchSize: number;
  /** Default 'auto' (the best backend each worker can start). */
  backend?: BackendName | 'auto';
  /** Task setting: also test without the task label, the task inferred per example and/or per batch. */
  inferTask?: readonly TaskInference[];
  /** Test examples per batch when the task is inferred per batch. Default 64. */
  inferBatch?: number;
  /**
   * Option values to try per strategy, e.g. `{ ewc: { lambda: [1e2, 1e3] } }`: each listed strategy
   * runs once per combination of its grid's values (and per seed). A gridded option may not also be
   * in `strategyOptions`.
   */
  grid?: OptionGrid;
  /**
   * The share of each task's training data held out as validation data (0 < v < 1): runs train on
   * the rest and report their accuracy on it beside the test accuracy. Default: none, or
   * `defaultValidation` when `choose` is 'validation'.
   */
  validation?: number;
  /**
   * 'validation': the table shows, for each strategy, the grid point with the best mean validation
   * ACC over seeds (test data never takes part in the choice). Default: every grid point is shown.
   */
  choose?: 'validation';
}

/** The share of each task's training data held out when options are chosen on validation data. */
export const defaultValidation = 0.1;

/** One run of a comparison: everything needed to repeat it, saved with its result. */
export interface RunSpec {
  /** `<strategy>-seed<seed>`, or `<strategy>-<option>=<value>…-seed<seed>` for a grid point: the run's name in the results folder. */
  id: string;
  scenario: string;
  setting: Setting;
  tasks: number | null;
  data: string | null;
  strategy: string;
  strategyOptions: Record<string, number | string>;
  seed: number;
  backbone: BackboneSpec;
  epochs: number | null;
  iterations: number | null;
  batchSize: number;
  backend: BackendName | 'auto';
  /** Absent (null) when the task label is always given. */
  inferTask?: TaskInference[] | null;
  inferBatch?: number | null;
  /** The run's point of its strategy's grid (those options are in `strategyOptions` too); absent without a grid. */
  grid?: GridPoint;
  /** The share of each task's training data held out as validation data; null (or absent): none. */
  validation?: number | null;
}

function checkWhole(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new OptionError(`${name} must be a whole number ≥ ${min}; got ${value}`);
  }
}

/** The validation share a comparison's runs hold out: `validation`, else the default when choosing on it. */
export function validationShare(options: Pick<ComparisonOptions, 'validation' | 'choose'>): number | null {
  const share = options.validation ?? (options.choose === 'validation' ? defaultValidation : null);
  if (share !== null && !(share > 0 && share < 1)) {
    throw new OptionError(
      `validation is the share of each task's training data held out, between 0 and 1 (e.g. 0.1); got ${share}`,
    );
  }
  return share;
}

/** Each strategy's grid, checked: its strategy is compared, its options and values valid, none also fixed. */
function strategyGrids(options: ComparisonOptions): Map<string, Record<string, (number | string)[]>> {
  const grids = new Map<string, Record<string, (number | string)[]>>();
  for (const [name, grid] of Object.entries(options.grid ?? {})) {
    const canonical = strategyEntry(name).name;
    const strategy = options.strategies.find((s) => strategyEntry(s).name === canonical);
    if (strategy === undefined) {
      throw new OptionError(
        `there is a grid for ${canonical}, which is not compared (${options.strategies.join(', ')}): ` +
          `add it to the strategies or drop its grid`,
      );
    }
    if (grids.has(strategy)) throw new OptionError(`${canonical} has two grids; merge them into one`);
    const checked = checkStrategyGrid(strategy, grid);
    const fixed = options.strategyOptions?.[strategy] ?? {};
    for (const option of Object.keys(checked)) {
      if (fixed[option] !== undefined) {
        throw new OptionError(
          `${canonical}'s ${option} has both a fixed value (${fixed[option]}) and a grid; drop one of them`,
        );
      }
    }
    grids.set(strategy, checked);
  }
  return grids;
}

/**
 * The runs of a comparison, seed by seed (every strategy with seed 0, then with seed 1, …), so that
 * a comparison stopped half-way has the same number of seeds for each strategy done so far. A
 * strategy with a grid runs each grid point in turn (the first option outermost), its id naming the
 * point; runs without a grid keep the id `<strategy>-seed<seed>`.
 *
 * ```ts
 * const runs = planRuns({ scenario: 'mnist-transfer', setting: 'task', strategies: ['finetune', 'ewc'],
 *   grid: { ewc: { lambda: [100, 1e4] } }, seeds: [0, 1], backbone: { kind: 'mlp', hidden: [400, 400] },
 *   epochs: 2, batchSize: 128 });
 * runs.map((r) => r.id);
 * // ['finetune-seed0', 'ewc-lambda=100-seed0', 'ewc-lambda=1e4-seed0', 'finetune-seed1', …]
 * ```
 */
export function planRuns(options: ComparisonOptions): RunSpec[] {
  if (options.strategies.length === 0) throw new OptionError('a comparison needs at least one strategy');
  if (options.seeds.length === 0) throw new OptionError('a comparison needs at least one seed');
  const twice = (list: readonly (string | number)[]) => list.find((x, i) => list.indexOf(x) !== i);
  const repeated = twice(options.strategies) ?? twice(options.seeds);
  if (repeated !== undefined)
    throw new OptionError(`'${repeated}' is listed twice; list each strategy and seed once`);
  for (const s of options.seeds) checkWhole('each seed', s, 0);
  for (const s of options.strategies) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(s)) {
      throw new OptionError(`'${s}' is not a strategy name (letters, digits, '-' and '_')`);
    }
  }
  if (options.iterations !== undefined) checkWhole('iterations', options.iterations, 1);
  else checkWhole('epochs', options.epochs ?? 4, 1);
  checkWhole('batchSize', options.batchSize, 1);
  if (options.tasks !== undefined) checkWhole('tasks', options.tasks, 1);
  const validation = validationShare(options);
  const grids = strategyGrids(options);
  const variants = options.strategies.flatMap((strategy) =>
    gridPoints(grids.get(strategy)).map((point) => ({ strategy, point })),
  );
  return options.seeds.flatMap((seed) =>
    variants.map(({ strategy, point }) => ({
      id: [strategy, describeGridPoint(point, '-'), `seed${seed}`].filter((part) => part !== '').join('-'),
      scenario: options.scenario,
      setting: options.setting,
      tasks: options.tasks ?? null,
      data: options.data ?? null,
      strategy,
      strategyOptions: { ...(options.strategyOptions?.[strategy] ?? {}), ...point },
      seed,
      backbone: options.backbone,
      epochs: options.iterations === undefined ? (options.epochs ?? 4) : null,
      iterations: options.iterations ?? null,
      batchSize: options.batchSize,
      backend: options.backend ?? 'auto',
      ...(options.inferTask?.length
        ? { inferTask: [...options.inferTask], inferBatch: options.inferBatch ?? 64 }
        : {}),
      ...(grids.has(strategy) ? { grid: point } : {}),
      validation,
    })),
  );
}

/** A JSON text with object keys sorted, so that equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** The settings where two specs differ, e.g. ['epochs: 2 ≠ 4']; empty when they describe the same run. */
export function specDifferences(saved: RunSpec, planned: RunSpec): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(planned)]) as Set<keyof RunSpec>;
  const out: string[] = [];
  for (const key of keys) {
    const a = canonicalJson(saved[key] ?? null);
    const b = canonicalJson(planned[key] ?? null);
    if (a !== b) out.push(`${key}: ${a} saved, ${b} now`);
  }
  return out;
}
