import { chooseOnValidation, variantName, variantsOf } from './choose.js';
import type { RunRecord } from './store.js';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The comparison as CSV, one row per run: what ran, the four metrics, the criteria (accuracy
 * on the new task and on the old ones), the costs, the grid point and validation ACC (when there are
 * any), whether the run's grid point is the one chosen on validation data (with `choose`), and every
 * cell of the accuracy matrix as `R<i>_<j>` (after training task i, tested on task j; 1-based).
 */
export function comparisonCsv(
  records: readonly RunRecord[],
  options: { choose?: 'validation' | null } = {},
): string {
  const chosen =
    options.choose === 'validation'
      ? new Set(chooseOnValidation(variantsOf(records)).map((v) => v.name))
      : null;
  const T = Math.max(0, ...records.map((r) => r.result.taskNames.length));
  const matrixColumns = Array.from({ length: T * T }, (_, k) => `R${Math.floor(k / T) + 1}_${(k % T) + 1}`);
  const header = [
    'run',
    'strategy',
    'seed',
    'scenario',
    'setting',
    'backbone',
    'epochs',
    'iterations',
    'batch_size',
    'backend',
    'average_accuracy',
    'backward_transfer',
    'forward_transfer',
    'forgetting',
    'new_task_accuracy',
    'old_tasks_accuracy',
    'train_ms',
    'ms_per_step',
    'test_ms_per_example',
    'parameters',
    'strategy_bytes',
    'needs_old_data',
    'strategy_options',
    'grid',
    'validation',
    'validation_average_accuracy',
    'chosen',
    ...matrixColumns,
  ];
  const rows = records.map(({ spec, result: r }) => {
    const last = r.accuracyMatrix[r.accuracyMatrix.length - 1];
    const n = last.length;
    const old = n > 1 ? sum(last.slice(0, n - 1)) / (n - 1) : null;
    const cells = Array.from({ length: T * T }, (_, k) => r.accuracyMatrix[Math.floor(k / T)]?.[k % T]);
    return [
      spec.id,
      r.strategy,
      r.training.seed,
      r.scenario,
      r.setting,
      spec.backbone.kind === 'mlp'
        ? `mlp ${(spec.backbone.hidden ?? [400, 400]).join('-')}`
        : `cnn ${(spec.backbone.filters ?? [32, 64]).join('-')}`,
      r.training.epochs,
      r.training.iterations,
      r.training.batchSize,
      r.backend,
      r.metrics?.averageAccuracy,
      r.metrics?.backwardTransfer,
      r.metrics?.forwardTransfer,
      r.metrics?.forgetting,
      last[n - 1],
      old,
      sum(r.cost.trainMs),
      r.cost.msPerStep,
      r.cost.testMsPerExample,
      r.cost.parameters,
      r.cost.strategyBytes,
      r.cost.needsOldData,
      r.strategyOptions,
      spec.grid,
      spec.validation,
      r.validation?.averageAccuracy,
      chosen === null ? null : chosen.has(variantName(spec)) ? 'yes' : 'no',
      ...cells,
    ].map(cell);
  });
  return [header, ...rows].map((row) => row.join(',')).join('\n') + '\n';
}
