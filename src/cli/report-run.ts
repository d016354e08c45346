import type { RunResult, Workers } from '../eval/result.js';
import { bytes, duration, percent, points, textTable } from './table.js';

function inferredPer(w: { per: string; batchSize: number }): string {
  return w.per === 'batch' ? `batch of ${w.batchSize}` : 'example';
}

/** "yes", "no", or what a strategy keeps of old data itself (replay's memory). */
export function oldData(cost: RunResult['cost']): string {
  if (cost.needsOldData) return 'yes';
  return cost.keptExamples ? `keeps ${cost.keptExamples.toLocaleString('en-US')} examples` : 'no';
}

/**
 * How many threads shared each training step, and why not more: '2 threads', '1 thread (batches of 16
 * are too small to share)', '1 thread, native BLAS on 2 (the native BLAS is on: …)'.
 */
export function workersText(w: Workers): string {
  const blas = w.blasThreads ? `, native BLAS on ${w.blasThreads}` : '';
  return `${w.count} thread${w.count === 1 ? '' : 's'}${blas}${w.reason ? ` (${w.reason})` : ''}`;
}

/** The accuracy matrix, metrics and costs of one run, as text for the terminal. */
export function formatRun(r: RunResult): string {
  const short = r.taskNames.map((_, j) => `T${j + 1}`);
  const matrix = textTable([
    ['after training', ...short],
    ...r.accuracyMatrix.map((row, i) => [`T${i + 1}`, ...row.map((v) => percent(v))]),
  ]);
  const tasks = r.taskNames.map((name, j) => `  T${j + 1}: ${name}`).join('\n');
  const m = r.metrics;
  const summary = textTable(
    [
      ['metric', 'value'],
      [
        r.withoutTaskLabel?.length ? 'average accuracy (task label given)' : 'average accuracy',
        percent(m?.averageAccuracy ?? null),
      ],
      ...(r.withoutTaskLabel ?? []).flatMap((w) => [
        [`accuracy without the task label (per ${inferredPer(w)})`, percent(w.averageAccuracy)],
        [`task inferred right (per ${inferredPer(w)})`, percent(w.averageTaskInferred)],
      ]),
      ['backward transfer', points(m?.backwardTransfer ?? null)],
      ['forward transfer', points(m?.forwardTransfer ?? null)],
      ['forgetting', points(m?.forgetting ?? null)],
      ['training time', duration(r.cost.trainMs.reduce((a, b) => a + b, 0))],
      ['time per step', duration(r.cost.msPerStep)],
      // Steps that ran as one native call (a Dense network on the native BLAS), for who compares times.
      ...(r.cost.fusedSteps !== undefined
        ? [['fused native steps', r.cost.fusedSteps.toLocaleString('en-US')]]
        : []),
      ...(r.workers ? [['training threads', workersText(r.workers)]] : []),
      ['test time per example', duration(r.cost.testMsPerExample)],
      ['parameters', r.cost.parameters.toLocaleString('en-US')],
      ['extra memory kept', bytes(r.cost.strategyBytes)],
      ['needs old data', oldData(r.cost)],
    ],
    'left',
  );
  const options = Object.entries(r.strategyOptions)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const budget = r.training.iterations ? `${r.training.iterations} steps` : `${r.training.epochs} epochs`;
  return [
    `${r.strategy} (${options}) on ${r.scenario}, ${r.setting}-incremental; ${budget} per task, ` +
      `batch ${r.training.batchSize}, seed ${r.training.seed}, backend ${r.backend}` +
      (r.stopped ? ' (stopped early)' : '') +
      (r.incomplete && !r.stopped
        ? ` (incomplete: ${r.incomplete.tasks} of ${r.taskNames.length} tasks learned)`
        : ''),
    '',
    'Tasks:',
    tasks,
    '',
    'Test accuracy (row: after training task i; column: task j):',
    matrix,
    '',
    summary,
  ].join('\n');
}
