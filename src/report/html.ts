import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EChartsOption } from 'echarts';
import type { RunRecord } from '../experiments/store.js';
import { version } from '../version.js';
import {
  describeGridPoint,
  formatOptionValue,
  type GridPoint,
  type OptionValue,
} from '../experiments/grid.js';
import type { ComparisonSummary, GridSummary, MethodSummary, Stat } from './summary.js';
import {
  choiceNote,
  comparisonSections,
  comparisonTitle,
  criteria,
  metricRows,
  type Criterion,
} from './table.js';

/** One chart of a page: the section it goes in and the ECharts option that draws it (plain JSON). */
export interface ReportChart {
  id: string;
  /** The comparison report's sections are 'matrix', 'tasks' and 'bars'. */
  section: string;
  title: string;
  height: number;
  option: EChartsOption;
}

// Paul Tol's bright scheme, black, then four of his vibrant and muted colours: 12 lines apart.
export const palette = [
  '#4477aa',
  '#ee6677',
  '#228833',
  '#ccbb44',
  '#66ccee',
  '#aa3377',
  '#bbbbbb',
  '#000000',
  '#ee7733',
  '#009988',
  '#882255',
  '#999933',
];
const pct = (v: number) => Math.round(v * 1000) / 10;
const short = (names: readonly string[]) => names.map((_, j) => `T${j + 1}`);

/** The accuracy matrix of one method as a heat map: row i = after training task i, column j = task j. */
function matrixChart(m: MethodSummary, s: ComparisonSummary, index: number): ReportChart {
  const T = s.taskNames.length;
  const tasks = short(s.taskNames);
  const data = m.accuracyMatrix.flatMap((row, i) =>
    row.map((cell, j) => ({
      value: [j, i, pct(cell.mean)],
      label: {
        formatter: `${(100 * cell.mean).toFixed(1)}${cell.std === null ? '' : `\n± ${(100 * cell.std).toFixed(1)}`}`,
      },
    })),
  );
  return {
    id: `matrix-${index}`,
    section: 'matrix',
    title: m.label,
    height: 100 + 64 * T,
    option: {
      animation: false,
      title: { text: m.label, left: 'center', textStyle: { fontSize: 14 } },
      tooltip: { position: 'top' },
      grid: { left: 90, right: 20, top: 36, bottom: 44 },
      xAxis: { type: 'category', data: tasks, name: 'tested on', nameLocation: 'middle', nameGap: 26 },
      yAxis: {
        type: 'category',
        data: tasks.map((t) => `after ${t}`),
        inverse: true,
      },
      visualMap: {
        show: false,
        min: 0,
        max: 100,
        dimension: 2,
        inRange: { color: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'] },
      },
      series: [
        {
          type: 'heatmap',
          name: `${m.label}: accuracy (%)`,
          data,
          label: { show: true, fontSize: 11, lineHeight: 15 },
          itemStyle: { borderColor: '#fff', borderWidth: 1 },
        },
      ],
    },
  };
}

/** A line chart: one line per series over the categories of the x axis, the legend below. */
export interface LineChartSpec {
  id: string;
  section: string;
  title: string;
  x: { name: string; data: readonly string[] };
  y: { name: string; min?: number; max?: number };
  series: readonly { name: string; data: readonly (number | null)[] }[];
}

/**
 * A line chart for a page, one line per series (a method, a strategy) in the report's colours.
 *
 * ```ts
 * lineChart({ id: 'memory', section: 'costs', title: 'Memory kept', x: { name: 'task', data: ['T1', 'T2'] },
 *   y: { name: 'MiB' }, series: [{ name: 'ewc', data: [5.4, 5.4] }] });
 * ```
 */
export function lineChart(spec: LineChartSpec): ReportChart {
  const rows = Math.ceil(spec.series.length / 4);
  return {
    id: spec.id,
    section: spec.section,
    title: spec.title,
    height: 300 + 22 * rows,
    option: {
      animation: false,
      color: palette,
      title: { text: spec.title, left: 'center', textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0, type: 'plain' },
      grid: { left: 50, right: 20, top: 40, bottom: 50 + 22 * rows },
      xAxis: {
        type: 'category',
        data: [...spec.x.data],
        name: spec.x.name,
        nameLocation: 'middle',
        nameGap: 26,
      },
      yAxis: { type: 'value', min: spec.y.min, max: spec.y.max, name: spec.y.name },
      series: spec.series.map((line) => ({
        type: 'line',
        name: line.name,
        data: [...line.data],
        symbolSize: 7,
      })),
    },
  };
}

/** Task j's accuracy after each task is learned, one line per method. */
function taskChart(s: ComparisonSummary, j: number): ReportChart {
  const tasks = short(s.taskNames);
  // The axis starts at the lowest value rounded down to 10, so that a few points of forgetting show.
  const lowest = Math.min(...s.methods.flatMap((m) => m.accuracyMatrix.map((row) => 100 * row[j].mean)));
  return lineChart({
    id: `task-${j}`,
    section: 'tasks',
    title: `${tasks[j]}: ${s.taskNames[j]}`,
    x: { name: 'tasks learned', data: tasks.map((t) => `after ${t}`) },
    y: { name: 'accuracy (%)', min: Math.max(0, Math.floor(lowest / 10) * 10), max: 100 },
    series: s.methods.map((m) => ({
      name: m.label,
      data: m.accuracyMatrix.map((row) => pct(row[j].mean)),
    })),
  });
}

/** How to show a criterion on an axis: bytes get a unit that fits the largest value. */
function axisScale(c: Criterion, stats: (Stat | null)[]): { scale: number; unit: string } {
  if (c.unit !== 'bytes') return { scale: c.scale, unit: c.unit };
  const largest = Math.max(0, ...stats.map((x) => x?.mean ?? 0));
  const [scale, unit] =
    largest >= 1024 ** 2 ? [1 / 1024 ** 2, 'MiB'] : largest >= 1024 ? [1 / 1024, 'KiB'] : [1, 'B'];
  return { scale, unit };
}

const round = (v: number) => Math.round(v * 100) / 100;

/** One row of the table as bars (mean) with whiskers (± std, drawn as a flat box plot). */
function barChart(s: ComparisonSummary, c: Criterion): ReportChart {
  const stats = s.methods.map((m) => c.value(m));
  const { scale, unit } = axisScale(c, stats);
  const mean = stats.map((x) => (x === null ? null : round(x.mean * scale)));
  const whiskers = stats.map((x) => {
    if (x === null || x.std === null) return [];
    const [m, d] = [x.mean * scale, x.std * scale];
    return [round(m - d), round(m), round(m), round(m), round(m + d)];
  });
  const title = c.short;
  return {
    id: `bars-${c.key}`,
    section: 'bars',
    title,
    height: 280,
    option: {
      animation: false,
      title: {
        text: title,
        subtext: `${unit}, ${c.better} is better`,
        left: 'center',
        textStyle: { fontSize: 13 },
        itemGap: 8,
      },
      tooltip: { trigger: 'item' },
      grid: { left: 60, right: 20, top: 64, bottom: 60 },
      xAxis: {
        type: 'category',
        data: s.methods.map((m) => m.label),
        axisLabel: { interval: 0, rotate: s.methods.length > 4 ? 30 : 0 },
      },
      yAxis: { type: 'value', scale: false },
      series: [
        {
          type: 'bar',
          name: 'mean',
          data: mean.map((v, i) => ({ value: v ?? 0, itemStyle: { color: palette[i % palette.length] } })),
        },
        {
          type: 'boxplot',
          name: '± std over seeds',
          data: whiskers,
          boxWidth: [12, 12],
          itemStyle: { color: 'transparent', borderColor: '#333', borderWidth: 1.2 },
        },
      ],
    },
  };
}

/** How a grid's values go on an axis: words as categories, numbers on a log axis when they span decades. */
function optionAxis(values: readonly OptionValue[]): 'category' | 'log' | 'value' {
  if (values.some((v) => typeof v === 'string')) return 'category';
  const numbers = values as number[];
  const [low, high] = [Math.min(...numbers), Math.max(...numbers)];
  return low > 0 && high / low >= 100 ? 'log' : 'value';
}

/**
 * ACC against one gridded option of one strategy: validation (solid) and test (dashed), one pair of
 * lines per combination of the strategy's other gridded options; the chosen point drawn larger.
 */
function gridChart(grid: GridSummary, option: string, index: number): ReportChart {
  const values = [...new Set(grid.points.map((p) => p.options[option]))];
  const axis = optionAxis(values);
  const others = grid.options.filter((o) => o !== option);
  const rest = (p: GridPoint) => describeGridPoint(Object.fromEntries(others.map((o) => [o, p[o]])));
  const groups = [...new Set(grid.points.map((p) => rest(p.options)))];
  const sorted = [...values].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : 0));
  const chosen = grid.points.find((p) => p.chosen);
  const series = groups.flatMap((group, g) =>
    (['validation', 'test'] as const).flatMap((part) => {
      const points = grid.points
        .filter((p) => rest(p.options) === group && (part === 'test' || p.validation !== null))
        .sort((a, b) => sorted.indexOf(a.options[option]) - sorted.indexOf(b.options[option]));
      if (points.length === 0) return [];
      const x = (v: OptionValue) => (axis === 'category' ? formatOptionValue(v) : v);
      return [
        {
          type: 'line' as const,
          name: `${part}${group ? ` (${group})` : ''}`,
          color: palette[g % palette.length],
          lineStyle: { type: part === 'test' ? ('dashed' as const) : ('solid' as const) },
          symbolSize: 7,
          data: points.map((p) => {
            const stat = part === 'test' ? p.test : p.validation;
            return {
              value: [x(p.options[option]), pct(stat?.mean ?? NaN)],
              ...(p === chosen ? { symbolSize: 15, symbol: 'diamond' } : {}),
            };
          }),
        },
      ];
    }),
  );
  const title = `${grid.strategy}: ACC against ${option}`;
  return {
    id: `grid-${index}`,
    section: 'grid',
    title,
    height: 320,
    option: {
      animation: false,
      title: {
        text: title,
        subtext: chosen
          ? `chosen on validation: ${describeGridPoint(chosen.options)} (diamond)`
          : 'mean over seeds',
        left: 'center',
        textStyle: { fontSize: 13 },
      },
      tooltip: { trigger: 'item' },
      legend: { bottom: 0, type: 'scroll' },
      grid: { left: 56, right: 24, top: 64, bottom: 70 },
      xAxis: {
        type: axis,
        name: option,
        nameLocation: 'middle',
        nameGap: 26,
        ...(axis === 'category' ? { data: sorted.map(formatOptionValue) } : { scale: true }),
      },
      yAxis: { type: 'value', scale: true, name: 'ACC (%)' },
      series,
    },
  };
}

/** Every chart of the report, in page order. */
export function reportCharts(summary: ComparisonSummary): ReportChart[] {
  const grids = summary.grids.flatMap((g) => g.options.map((o) => ({ g, o })));
  return [
    ...grids.map(({ g, o }, i) => gridChart(g, o, i)),
    ...summary.methods.map((m, i) => matrixChart(m, summary, i)),
    ...summary.taskNames.map((_, j) => taskChart(summary, j)),
    ...[...criteria, ...metricRows].map((c) => barChart(summary, c)),
  ];
}

let echartsSource: { code: string; version: string } | undefined;

/** The minified ECharts bundle from node_modules, to inline in the page so it opens offline. */
export function echartsBundle(): { code: string; version: string } {
  if (!echartsSource) {
    const file = createRequire(import.meta.url).resolve('echarts/dist/echarts.min');
    const pkg = JSON.parse(readFileSync(join(dirname(file), '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    echartsSource = { code: readFileSync(file, 'utf8'), version: pkg.version };
  }
  return echartsSource;
}

/** Text made safe inside HTML elements and attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

function runsTable(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return '';
  const f = (v: number | null | undefined, scale = 100) =>
    v === null || v === undefined ? '-' : (v * scale).toFixed(1);
  const validation = runs.some((r) => r.result.validation);
  const head = [
    'run',
    'backend',
    ...(validation ? ['validation ACC (%)'] : []),
    'ACC (%)',
    'BWT (pp)',
    'FWT (pp)',
    'forgetting (pp)',
    'training (s)',
    'finished',
  ];
  const rows = runs.map(({ spec, result: r, finishedAt }) => [
    `${spec.id}.json`,
    r.backend,
    ...(validation ? [f(r.validation?.averageAccuracy)] : []),
    f(r.metrics?.averageAccuracy),
    f(r.metrics?.backwardTransfer),
    f(r.metrics?.forwardTransfer),
    f(r.metrics?.forgetting),
    f(
      r.cost.trainMs.reduce((a, b) => a + b, 0),
      1 / 1000,
    ),
    finishedAt,
  ]);
  const line = (r: string[], tag: string) =>
    `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return [
    `<details><summary>Every run (${runs.length})</summary>`,
    '<table class="comparison runs">',
    `<thead>${line(head, 'th')}</thead>`,
    `<tbody>${rows.map((r) => line(r, 'td')).join('\n')}</tbody>`,
    '</table></details>',
  ].join('\n');
}

function htmlTable(summary: ComparisonSummary): string {
  const { head, criteria: middle, metrics } = comparisonSections(summary);
  const cells = (r: string[], tag: string) => r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');
  return [
    '<table class="comparison">',
    `<thead>${head.map((r) => `<tr>${cells(r, 'th')}</tr>`).join('')}</thead>`,
    '<tbody>',
    ...middle.map((r) => `<tr>${cells(r, 'td')}</tr>`),
    ...metrics.map((r, i) => `<tr${i === 0 ? ' class="metrics"' : ''}>${cells(r, 'td')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

function gridText(summary: ComparisonSummary): string {
  const runs = summary.grids.map((g) => `${g.strategy}: ${g.points.length} points`).join('; ');
  return (
    `Every grid point, mean ACC over seeds (${runs}). ` +
    (summary.validation === null
      ? 'Test ACC only: no validation part was held out.'
      : 'Solid: on the validation part of the training data; dashed: on the test data.')
  );
}

const renderScript = `
(function () {
  var charts = JSON.parse(document.getElementById('unforget-charts').textContent);
  var drawn = [];
  charts.forEach(function (c) {
    var chart = echarts.init(document.getElementById(c.id), null, { renderer: 'svg' });
    chart.setOption(c.option);
    drawn.push(chart);
  });
  window.addEventListener('resize', function () { drawn.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute('data-charts-drawn', String(drawn.length));
})();
`;

export interface ReportOptions {
  /** Shown at the top; default 'unforget comparison: <scenario>'. */
  title?: string;
  /** Lines about the runs (files, dates), shown under the table. */
  notes?: readonly string[];
  /** The runs summarized, listed one per line in a folded table at the end. */
  runs?: readonly RunRecord[];
}

/** A chart drawn in the page: the element's id and the ECharts option (plain JSON). */
export interface PageChart {
  id: string;
  option: EChartsOption;
}

/** A `<div>` for a chart, sized and labelled. */
export const chartDiv = (c: { id: string; height: number; title: string }): string =>
  `<div class="chart" id="${c.id}" style="height:${c.height}px" aria-label="${escapeHtml(c.title)}"></div>`;

/**
 * A self-contained HTML page around `body` (HTML): the report's style, and the charts drawn into their
 * `<div>`s by Apache ECharts, whose code is inlined so that the page opens offline.
 *
 * ```ts
 * htmlPage('My results', `<h1>My results</h1>${chartDiv({ id: 'c1', height: 300, title: 'ACC' })}`, [
 *   { id: 'c1', option: { xAxis: { type: 'category', data: ['a'] }, yAxis: {}, series: [{ type: 'bar', data: [1] }] } },
 * ]);
 * ```
 */
export function htmlPage(title: string, body: string, charts: readonly PageChart[]): string {
  const echarts = echartsBundle();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="unforget ${version}">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 32px; } h3 { font-size: 15px; margin-top: 20px; }
.note { color: #555; margin: 4px 0 12px; }
.answer { border-left: 3px solid #4477aa; padding: 2px 12px; margin: 8px 0 16px; }
table.comparison { border-collapse: collapse; font-variant-numeric: tabular-nums; overflow-x: auto; display: block; }
table.comparison th, table.comparison td { padding: 3px 8px; font-size: 13px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
table.comparison th:first-child, table.comparison td:first-child { text-align: left; }
table.comparison tr.metrics td { border-top: 2px solid #999; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.grid.wide { grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); }
.chart { border: 1px solid #eee; border-radius: 4px; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
</style>
</head>
<body>
${body}
<footer>Made by unforget ${version}; plots by Apache ECharts ${escapeHtml(echarts.version)} (Apache-2.0), inlined below.</footer>
<script>${echarts.code}</script>
<script type="application/json" id="unforget-charts">${scriptJson(charts.map(({ id, option }) => ({ id, option })))}</script>
<script>${renderScript}</script>
</body>
</html>
`;
}

/** A section of a charts page: a heading, a line saying how to read it, and its charts in a grid. */
export interface PageSection {
  heading: string;
  text: string;
  charts: readonly ReportChart[];
  /** Two charts a row instead of four. */
  wide?: boolean;
}

/** What `chartsPage` lays out, top to bottom. */
export interface ChartsPage {
  title: string;
  /** HTML under the title (the caller escapes what it writes). */
  intro: string;
  sections: readonly PageSection[];
  /** HTML after the sections. */
  outro?: string;
}

/**
 * One self-contained HTML page of charts (`htmlPage`): the title, the intro, each section's charts in a
 * grid.
 *
 * ```ts
 * const html = chartsPage({ title: 'Costs', intro: '<p>20 tasks</p>', sections: [{ heading: 'Memory', text: '…', charts }] });
 * ```
 */
export function chartsPage(page: ChartsPage): string {
  const section = ({ heading, text, charts: shown, wide }: PageSection) =>
    [
      `<h2>${escapeHtml(heading)}</h2>`,
      `<p class="note">${escapeHtml(text)}</p>`,
      `<div class="grid${wide ? ' wide' : ''}">`,
      ...shown.map(chartDiv),
      '</div>',
    ].join('\n');
  const body = [
    `<h1>${escapeHtml(page.title)}</h1>`,
    page.intro,
    ...page.sections.map(section),
    page.outro ?? '',
  ].join('\n');
  return htmlPage(
    page.title,
    body,
    page.sections.flatMap((s) => s.charts),
  );
}

/**
 * The comparison as one self-contained HTML page: the table, the accuracy matrix of each method as a
 * heat map, each task's accuracy as tasks are added, and every row of the table as bars with ± std
 * whiskers. The plots are drawn by Apache ECharts, whose code is inlined, so the page opens offline.
 */
export function reportHtml(summary: ComparisonSummary, options: ReportOptions = {}): string {
  const charts = reportCharts(summary);
  const of = (name: string) => charts.filter((c) => c.section === name);
  const tasks = summary.taskNames.map((n, j) => `<li>T${j + 1}: ${escapeHtml(n)}</li>`).join('');
  return chartsPage({
    title: options.title ?? `unforget comparison: ${summary.scenario}`,
    intro: [
      `<p class="note">${escapeHtml(comparisonTitle(summary))}</p>`,
      `<ul class="note">${tasks}</ul>`,
      '<h2>The table</h2>',
      '<p class="note">Criteria as rows, one column per method: mean ± standard deviation over seeds. Accuracies are on each task\'s test set.</p>',
      htmlTable(summary),
      ...[choiceNote(summary), ...(options.notes ?? [])].flatMap((n) =>
        n === null ? [] : [`<p class="note">${escapeHtml(n)}</p>`],
      ),
    ].join('\n'),
    sections: [
      ...(summary.grids.length > 0
        ? [
            {
              heading: 'Accuracy against each gridded option',
              text: gridText(summary),
              charts: of('grid'),
              wide: true,
            },
          ]
        : []),
      {
        heading: 'Accuracy matrix of each method',
        text: 'Row "after Ti": accuracy on every task (column) once task i is learned; the mean over seeds, ± std below it. The cells above the diagonal are tasks not learned yet.',
        charts: of('matrix'),
      },
      {
        heading: "Each task's accuracy as tasks are added",
        text: 'A line that drops after its task is the method forgetting that task.',
        charts: of('tasks'),
        wide: true,
      },
      {
        heading: 'The table as bars',
        text: 'Bars are the mean over seeds; whiskers span ± one standard deviation.',
        charts: of('bars'),
      },
    ],
    outro: runsTable(options.runs ?? []),
  });
}
