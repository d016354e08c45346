import { describeGridPoint } from '../experiments/grid.js';
import type { ComparisonSummary, InferredSummary, MethodSummary, Stat } from './summary.js';

/** A row of the comparison table that holds a number per method (every row but "needs old data"). */
export interface Criterion {
  key: string;
  /** The row's name in the table, with its unit. */
  label: string;
  /** A few words for a chart's title. */
  short: string;
  /** The unit on a bar chart's axis. */
  unit: string;
  /** Which way is better, for the reader. */
  better: 'higher' | 'lower';
  /** Multiplies the stat for display (e.g. 100 for a percentage). */
  scale: number;
  /** Signed values (transfer) show a '+'. */
  signed?: boolean;
  value(m: MethodSummary): Stat | null;
}

/** The criteria, in the table's order. */
export const criteria: readonly Criterion[] = [
  {
    key: 'newTask',
    short: 'new task accuracy',
    label: 'new task (% on the last task)',
    unit: '%',
    better: 'higher',
    scale: 100,
    value: (m) => m.newTask,
  },
  {
    key: 'oldTasks',
    short: 'old tasks accuracy',
    label: 'old tasks (% on the earlier ones)',
    unit: '%',
    better: 'higher',
    scale: 100,
    value: (m) => m.oldTasks,
  },
  {
    key: 'trainSeconds',
    short: 'training time',
    label: 'training time (s)',
    unit: 's',
    better: 'lower',
    scale: 1,
    value: (m) => m.trainSeconds,
  },
  {
    key: 'testMicroseconds',
    short: 'test time per example',
    label: 'test time (µs per example)',
    unit: 'µs',
    better: 'lower',
    scale: 1000,
    value: (m) => m.testMsPerExample,
  },
  {
    key: 'strategyBytes',
    short: 'extra memory kept',
    label: 'memory (extra bytes kept)',
    unit: 'bytes',
    better: 'lower',
    scale: 1,
    value: (m) => m.strategyBytes,
  },
];

/** The metrics over the accuracy matrix, after the criteria. */
export const metricRows: readonly Criterion[] = [
  {
    key: 'averageAccuracy',
    short: 'average accuracy (ACC)',
    label: 'average accuracy ACC (%)',
    unit: '%',
    better: 'higher',
    scale: 100,
    value: (m) => m.averageAccuracy,
  },
  {
    key: 'backwardTransfer',
    short: 'backward transfer (BWT)',
    label: 'backward transfer BWT (pp)',
    unit: 'pp',
    better: 'higher',
    scale: 100,
    signed: true,
    value: (m) => m.backwardTransfer,
  },
  {
    key: 'forwardTransfer',
    short: 'forward transfer (FWT)',
    label: 'forward transfer FWT (pp)',
    unit: 'pp',
    better: 'higher',
    scale: 100,
    signed: true,
    value: (m) => m.forwardTransfer,
  },
  {
    key: 'forgetting',
    short: 'forgetting',
    label: 'forgetting (pp)',
    unit: 'pp',
    better: 'lower',
    scale: 100,
    value: (m) => m.forgetting,
  },
];

/** "12.3 KiB" for a byte count. */
export function formatBytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = count;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A stat as "mean ± std" in the criterion's display unit ("-" when there is none). */
export function formatStat(c: Criterion, s: Stat | null): string {
  if (s === null || !Number.isFinite(s.mean)) return '-';
  if (c.unit === 'bytes') {
    return s.std ? `${formatBytes(s.mean)} ± ${formatBytes(s.std)}` : formatBytes(s.mean);
  }
  const mean = s.mean * c.scale;
  const text = `${c.signed && mean >= 0 ? '+' : ''}${mean.toFixed(1)}`;
  return s.std === null ? text : `${text} ± ${(s.std * c.scale).toFixed(1)}`;
}

/** "yes", "no", or what the strategy keeps of old data itself (replay's memory). */
function oldDataCell(m: MethodSummary): string {
  if (m.needsOldData) return 'yes';
  return m.keptExamples > 0 ? `keeps ${m.keptExamples.toLocaleString('en-US')} examples` : 'no';
}

/**
 * The table's rows in its three parts: what each column ran (the header, and the options chosen on
 * validation data when they were), the criteria, and the metrics.
 */
export function comparisonSections(summary: ComparisonSummary): {
  head: string[][];
  criteria: string[][];
  metrics: string[][];
} {
  const row = (c: Criterion) => [c.label, ...summary.methods.map((m) => formatStat(c, c.value(m)))];
  const inferred = summary.methods[0]?.withoutTaskLabel ?? [];
  const percent = metricRows[0];
  const ways = inferred.flatMap((w, i) => {
    const how = w.per === 'batch' ? `per batch of ${w.batchSize}` : 'per example';
    const pick = (f: (x: InferredSummary) => Stat) =>
      summary.methods.map((m) =>
        formatStat(percent, m.withoutTaskLabel[i] ? f(m.withoutTaskLabel[i]) : null),
      );
    return [
      [`ACC without the task label, inferred ${how} (%)`, ...pick((x) => x.accuracy)],
      [`task inferred right, ${how} (%)`, ...pick((x) => x.taskInferred)],
    ];
  });
  const [acc, ...rest] = metricRows.map(row);
  const validation = summary.methods.some((m) => m.validationAccuracy !== null)
    ? [
        [
          'ACC on the validation part (%)',
          ...summary.methods.map((m) => formatStat(percent, m.validationAccuracy)),
        ],
      ]
    : [];
  if (inferred.length > 0) acc[0] = 'average accuracy ACC, task label given (%)';
  else if (validation.length > 0) acc[0] = 'average accuracy ACC on test data (%)';
  const chosen =
    summary.choice === 'validation' && summary.grids.length > 0
      ? [['options chosen on validation', ...summary.methods.map((m) => describeGridPoint(m.options) || '-')]]
      : [];
  return {
    head: [['criterion', ...summary.methods.map((m) => m.label)], ...chosen],
    criteria: [...criteria.map(row), ['needs old data', ...summary.methods.map(oldDataCell)]],
    metrics: [acc, ...validation, ...ways, ...rest],
  };
}

/** The table's cells: a header row (criterion, then one column per method), then one row per criterion. */
export function comparisonRows(summary: ComparisonSummary): string[][] {
  const { head, criteria: rows, metrics } = comparisonSections(summary);
  return [...head, ...rows, ...metrics];
}

/**
 * How the options were chosen, for under the table; null when they were not chosen. E.g. "Options
 * chosen on a validation split of 10% of each task's training data; test data never used for choosing."
 */
export function choiceNote(summary: ComparisonSummary): string | null {
  if (summary.choice !== 'validation' || summary.grids.length === 0) return null;
  const share = `${Math.round(1000 * (summary.validation ?? 0)) / 10}%`;
  return (
    `Options chosen on a validation split of ${share} of each task's training data; test data never used ` +
    'for choosing. The split is held out at random, class by class, with each run’s seed, and the runs train ' +
    'on the rest; for each strategy the table shows the grid point with the best mean validation ACC over ' +
    'seeds, with its test accuracy.'
  );
}

/** One line saying what was compared: scenario, network, budget, seeds and backend. */
export function comparisonTitle(s: ComparisonSummary): string {
  const seeds =
    s.seeds.length === 1 ? `seed ${s.seeds[0]}` : `${s.seeds.length} seeds (${s.seeds.join(', ')})`;
  const held =
    s.validation === null
      ? ''
      : `; ${Math.round(1000 * s.validation) / 10}% of each task's training data held out for validation`;
  return (
    `${s.scenario}, ${s.setting}-incremental; ${s.backbone}, ${s.budget}${held}; ` +
    `mean ± std over ${seeds}; backend ${s.backends.join(', ')}`
  );
}

/**
 * The comparison table for the terminal: criteria as rows, one column per method, mean ± std over
 * seeds; then average accuracy, backward and forward transfer and forgetting.
 */
export function comparisonTable(summary: ComparisonSummary): string {
  const { head, criteria: middle, metrics } = comparisonSections(summary);
  const rows = [...head, ...middle, ...metrics];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const note = choiceNote(summary);
  return [
    comparisonTitle(summary),
    '',
    ...head.map(line),
    rule,
    ...middle.map(line),
    rule,
    ...metrics.map(line),
    ...(note === null ? [] : ['', note]),
  ].join('\n');
}

/** The comparison table as Markdown (for a README or an issue), with the setup line above it. */
export function comparisonMarkdown(summary: ComparisonSummary): string {
  const rows = comparisonRows(summary);
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const line = (r: readonly string[]) => `| ${r.map(cell).join(' | ')} |`;
  return [
    `*${comparisonTitle(summary)}*`,
    '',
    line(rows[0]),
    `|${rows[0].map((_, c) => (c === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.slice(1).map(line),
    ...(choiceNote(summary) === null ? [] : ['', `*${choiceNote(summary)}*`]),
    '',
  ].join('\n');
}
