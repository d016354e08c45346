import { OptionError } from '../errors.js';
import { chooseOnValidation, variantsOf, type Variant } from '../experiments/choose.js';
import type { GridPoint } from '../experiments/grid.js';
import type { RunRecord } from '../experiments/store.js';

/** A mean over seeds, with the sample standard deviation (null with a single seed). */
export interface Stat {
  mean: number;
  std: number | null;
  n: number;
}

/** One method's results over its seeds: the criteria of the comparison table and the metrics. */
export interface MethodSummary {
  /** The table's column name: the strategy, with its grid point when there is a grid (e.g. 'ewc lambda=1e3'). */
  label: string;
  strategy: string;
  /** The values of the strategy's gridded options (the chosen ones, when options were chosen); empty without a grid. */
  options: GridPoint;
  /** ACC on the validation part held out of each task's training data, when there is one. */
  validationAccuracy: Stat | null;
  seeds: number[];
  /** Accuracy on the last task after learning it. */
  newTask: Stat;
  /** Mean accuracy on the earlier tasks after the last one (null with a single task). */
  oldTasks: Stat | null;
  /** Wall time to learn all the tasks, in seconds. */
  trainSeconds: Stat;
  /** Time to test one example, in ms. */
  testMsPerExample: Stat;
  /** Bytes the strategy keeps beyond the network. */
  strategyBytes: Stat;
  needsOldData: boolean;
  /** Old training examples the strategy keeps itself (replay's memory); 0: none. */
  keptExamples: number;
  /** Task setting, when measured: the accuracy without the task label (inferred per example or batch). */
  withoutTaskLabel: InferredSummary[];
  averageAccuracy: Stat;
  backwardTransfer: Stat | null;
  forwardTransfer: Stat | null;
  forgetting: Stat | null;
  /** The accuracy matrix, cell by cell over seeds. */
  accuracyMatrix: Stat[][];
}

/** The accuracy without the task label of one way of inferring it, over seeds. */
export interface InferredSummary {
  per: 'example' | 'batch';
  batchSize: number;
  /** Mean accuracy over the tasks after the last, with the task inferred. */
  accuracy: Stat;
  /** Mean share of test examples whose task was inferred right. */
  taskInferred: Stat;
}

/** A comparison: the setup its runs share and one summary per method. */
export interface ComparisonSummary {
  scenario: string;
  setting: string;
  taskNames: string[];
  /** e.g. 'mlp 400-400' */
  backbone: string;
  /** e.g. '2 epochs per task, batch 128' */
  budget: string;
  backends: string[];
  seeds: number[];
  methods: MethodSummary[];
  /** The share of each task's training data held out as validation data; null: none. */
  validation: number | null;
  /** 'validation' when each strategy's grid point was chosen on validation ACC (`methods` holds the chosen ones). */
  choice: 'validation' | null;
  /** Every point of every strategy's grid, for the plots of accuracy against an option; empty without grids. */
  grids: GridSummary[];
}

/** One strategy's grid: every point with its validation and test ACC over seeds. */
export interface GridSummary {
  strategy: string;
  /** The gridded options, in the grid's order. */
  options: string[];
  points: {
    options: GridPoint;
    /** ACC on the validation part, when there is one. */
    validation: Stat | null;
    /** ACC on the test data. */
    test: Stat;
    /** The point the table shows, when options were chosen on validation data. */
    chosen: boolean;
  }[];
}

/** How `summarize` shows grids: each point as its own method (default), or each strategy's point chosen on validation. */
export interface SummarizeOptions {
  choose?: 'validation' | null;
}

/** Mean and sample standard deviation (n − 1) of `values`. */
export function stat(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) throw new RangeError('stat needs at least one value');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/** The inferences every run measured (matched by how and by batch size), over the runs. */
function inferredSummaries(results: readonly RunRecord['result'][]): InferredSummary[] {
  const first = results[0]?.withoutTaskLabel ?? [];
  return first.flatMap((w) => {
    const same = results.map((r) =>
      (r.withoutTaskLabel ?? []).find((x) => x.per === w.per && x.batchSize === w.batchSize),
    );
    if (same.some((x) => x === undefined)) return [];
    const found = same as NonNullable<(typeof same)[number]>[];
    return [
      {
        per: w.per,
        batchSize: w.batchSize,
        accuracy: stat(found.map((x) => x.averageAccuracy)),
        taskInferred: stat(found.map((x) => x.averageTaskInferred)),
      },
    ];
  });
}

function maybeStat(values: readonly (number | null)[]): Stat | null {
  return values.some((v) => v === null) ? null : stat(values as number[]);
}

/** A network in a few words: 'mlp 400-400', 'cnn 32-64, dense 128'. */
export function backboneText(b: RunRecord['spec']['backbone']): string {
  return b.kind === 'mlp'
    ? `mlp ${(b.hidden ?? [400, 400]).join('-')}`
    : `cnn ${(b.filters ?? [32, 64]).join('-')}, dense ${b.dense ?? 128}`;
}

/** A training budget in a few words: '2 epochs per task, batch 128', '500 steps per task, batch 64'. */
export function budgetText(t: {
  epochs: number | null;
  iterations: number | null;
  batchSize: number;
}): string {
  const steps =
    t.iterations === null ? `${t.epochs} epoch${t.epochs === 1 ? '' : 's'}` : `${t.iterations} steps`;
  return `${steps} per task, batch ${t.batchSize}`;
}

/** One variant's runs reduced over seeds. */
function methodSummary({ name, strategy, point, records: runs }: Variant): MethodSummary {
  const R = runs.map((r) => r.result.accuracyMatrix);
  const T = R[0].length;
  const last = (m: number[][]) => m[T - 1];
  const withValidation = runs.every((r) => typeof r.result.validation?.averageAccuracy === 'number');
  return {
    label: name,
    strategy,
    options: point,
    validationAccuracy: withValidation
      ? stat(runs.map((r) => r.result.validation?.averageAccuracy ?? NaN))
      : null,
    seeds: runs.map((r) => r.result.training.seed),
    newTask: stat(R.map((m) => last(m)[T - 1])),
    oldTasks:
      T < 2
        ? null
        : stat(
            R.map(
              (m) =>
                last(m)
                  .slice(0, T - 1)
                  .reduce((a, b) => a + b, 0) /
                (T - 1),
            ),
          ),
    trainSeconds: stat(runs.map((r) => r.result.cost.trainMs.reduce((a, b) => a + b, 0) / 1000)),
    testMsPerExample: stat(runs.map((r) => r.result.cost.testMsPerExample)),
    strategyBytes: stat(runs.map((r) => r.result.cost.strategyBytes)),
    needsOldData: runs.some((r) => r.result.cost.needsOldData),
    keptExamples: Math.max(0, ...runs.map((r) => r.result.cost.keptExamples ?? 0)),
    withoutTaskLabel: inferredSummaries(runs.map((r) => r.result)),
    averageAccuracy: stat(runs.map((r) => r.result.metrics?.averageAccuracy ?? NaN)),
    backwardTransfer: maybeStat(runs.map((r) => r.result.metrics?.backwardTransfer ?? null)),
    forwardTransfer: maybeStat(runs.map((r) => r.result.metrics?.forwardTransfer ?? null)),
    forgetting: maybeStat(runs.map((r) => r.result.metrics?.forgetting ?? null)),
    accuracyMatrix: Array.from({ length: T }, (_, i) =>
      Array.from({ length: T }, (_, j) => stat(R.map((m) => m[i][j]))),
    ),
  };
}

/** The grids of the strategies that have one: every point's validation and test ACC. */
function gridSummaries(methods: readonly MethodSummary[], chosen: ReadonlySet<string>): GridSummary[] {
  const strategies = [...new Set(methods.map((m) => m.strategy))];
  return strategies.flatMap((strategy) => {
    const points = methods.filter((m) => m.strategy === strategy && Object.keys(m.options).length > 0);
    if (points.length === 0) return [];
    return [
      {
        strategy,
        options: [...new Set(points.flatMap((m) => Object.keys(m.options)))],
        points: points.map((m) => ({
          options: m.options,
          validation: m.validationAccuracy,
          test: m.averageAccuracy,
          chosen: chosen.has(m.label),
        })),
      },
    ];
  });
}

const describeBackbone = (r: RunRecord) => backboneText(r.spec.backbone);
const describeBudget = (r: RunRecord) => budgetText(r.result.training);

/**
 * Groups finished runs by strategy and grid point (strategies in the order of `order`, then of first
 * appearance) and reduces each criterion to mean ± std over seeds. With `choose: 'validation'` the
 * methods are, for each strategy, the grid point with the best mean validation ACC (see
 * `chooseOnValidation`); every point stays in `grids`. All runs must share the scenario, setting,
 * network, budget and validation share: results of different setups are not comparable.
 *
 * ```ts
 * const s = summarize(records, ['finetune', 'ewc'], { choose: 'validation' });
 * s.methods.map((m) => m.label); // ['finetune', 'ewc lambda=1e3']
 * ```
 */
export function summarize(
  records: readonly RunRecord[],
  order: readonly string[] = [],
  options: SummarizeOptions = {},
): ComparisonSummary {
  if (records.length === 0) throw new OptionError('there are no finished runs to summarize');
  const first = records[0];
  const share = (r: RunRecord) => r.spec.validation ?? null;
  const setup = (r: RunRecord) =>
    `${r.result.scenario}, ${r.result.setting}-incremental, ${describeBackbone(r)}, ${describeBudget(r)}` +
    (share(r) === null ? '' : `, ${100 * (share(r) ?? 0)}% held out for validation`);
  const odd = records.find((r) => setup(r) !== setup(first));
  if (odd) {
    throw new OptionError(
      `the runs come from different setups (${setup(first)} vs ${setup(odd)} in ${odd.spec.id}); ` +
        'keep each comparison in its own results folder',
    );
  }
  const variants = variantsOf(records, order);
  const choice = options.choose ?? null;
  const chosen = new Set(choice === 'validation' ? chooseOnValidation(variants).map((v) => v.name) : []);
  const all = variants.map(methodSummary);
  const methods = choice === 'validation' ? all.filter((m) => chosen.has(m.label)) : all;
  return {
    scenario: first.result.scenario,
    setting: first.result.setting,
    taskNames: first.result.taskNames,
    backbone: describeBackbone(first),
    budget: describeBudget(first),
    backends: [...new Set(records.map((r) => r.result.backend))],
    seeds: [...new Set(records.map((r) => r.result.training.seed))].sort((a, b) => a - b),
    methods,
    validation: share(first),
    choice,
    grids: gridSummaries(all, chosen),
  };
}
