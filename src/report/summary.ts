import { OptionError } from '../errors.js';
import type { RunRecord } from '../experiments/store.js';

/** A mean over seeds, with the sample standard deviation (null with a single seed). */
export interface Stat {
  mean: number;
  std: number | null;
  n: number;
}

/** One method's results over its seeds: the criteria of the comparison table and the metrics. */
export interface MethodSummary {
  strategy: string;
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

const describeBackbone = (r: RunRecord) => backboneText(r.spec.backbone);
const describeBudget = (r: RunRecord) => budgetText(r.result.training);

/**
 * Groups finished runs by strategy (in the order of `order`, then of first appearance) and reduces
 * each criterion to mean ± std over seeds. All runs must share the scenario, setting, network and
 * budget: results of different setups are not comparable.
 */
export function summarize(records: readonly RunRecord[], order: readonly string[] = []): ComparisonSummary {
  if (records.length === 0) throw new OptionError('there are no finished runs to summarize');
  const first = records[0];
  const setup = (r: RunRecord) =>
    `${r.result.scenario}, ${r.result.setting}-incremental, ${describeBackbone(r)}, ${describeBudget(r)}`;
  const odd = records.find((r) => setup(r) !== setup(first));
  if (odd) {
    throw new OptionError(
      `the runs come from different setups (${setup(first)} vs ${setup(odd)} in ${odd.spec.id}); ` +
        'keep each comparison in its own results folder',
    );
  }
  const names = [...new Set([...order, ...records.map((r) => r.result.strategy)])];
  const methods = names.flatMap((strategy): MethodSummary[] => {
    const runs = records.filter((r) => r.result.strategy === strategy);
    if (runs.length === 0) return [];
    const R = runs.map((r) => r.result.accuracyMatrix);
    const T = R[0].length;
    const last = (m: number[][]) => m[T - 1];
    return [
      {
        strategy,
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
      },
    ];
  });
  return {
    scenario: first.result.scenario,
    setting: first.result.setting,
    taskNames: first.result.taskNames,
    backbone: describeBackbone(first),
    budget: describeBudget(first),
    backends: [...new Set(records.map((r) => r.result.backend))],
    seeds: [...new Set(records.map((r) => r.result.training.seed))].sort((a, b) => a - b),
    methods,
  };
}
