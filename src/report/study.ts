import type { EChartsOption } from 'echarts';
import type { Interval } from '../experiments/study/interval.js';
import type { StudyEffect, StudyPlot } from '../experiments/study/questions.js';
import type { StudyFile } from '../experiments/study/study.js';
import { points } from '../experiments/study/answers.js';
import { chartDiv, escapeHtml, htmlPage, palette, type PageChart } from './html.js';

const pct = (v: number) => Math.round(v * 1000) / 10;
/** An accuracy bound drawn within the axis (an interval over few seeds can reach past 0 or 100%). */
const clampPct = (v: number) => pct(Math.min(1, Math.max(0, v)));

/**
 * One plot of the study as an ECharts option. Lines: the mean over seeds with its 95% interval as a
 * shaded band. Bars: a box per series and category spanning the 95% interval, the line in it the mean.
 */
export function studyChartOption(plot: StudyPlot): EChartsOption {
  const all = plot.series.flatMap((s) => s.values.map((v) => clampPct(v.low ?? v.mean)));
  const lowest = Math.max(0, Math.floor(Math.min(...all) / 10) * 10);
  const base: EChartsOption = {
    animation: false,
    color: palette,
    title: { text: plot.title, left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: plot.kind === 'line' ? 'axis' : 'item' },
    legend: { bottom: 0, data: plot.series.map((s) => s.name) },
    grid: { left: 60, right: 20, top: 40, bottom: 70 },
    xAxis: {
      type: 'category',
      data: plot.x.categories,
      name: plot.x.name,
      nameLocation: 'middle',
      nameGap: 26,
    },
    yAxis: { type: 'value', min: lowest, max: 100, name: plot.y.name, nameLocation: 'middle', nameGap: 40 },
  };
  const bounds = (v: Interval) => [clampPct(v.low ?? v.mean), clampPct(v.high ?? v.mean)];
  if (plot.kind === 'bar') {
    return {
      ...base,
      series: plot.series.map((s) => ({
        type: 'boxplot',
        name: s.name,
        data: s.values.map((v) => {
          const [low, high] = bounds(v);
          return [low, low, pct(v.mean), high, high];
        }),
      })),
    };
  }
  return {
    ...base,
    series: plot.series.flatMap((s, i) => [
      { type: 'line', name: s.name, data: s.values.map((v) => pct(v.mean)), symbolSize: 7 },
      {
        type: 'line',
        name: `${s.name}: 95% interval, low`,
        stack: `band-${i}`,
        data: s.values.map((v) => bounds(v)[0]),
        lineStyle: { opacity: 0 },
        showSymbol: false,
        tooltip: { show: false },
      },
      {
        type: 'line',
        name: `${s.name}: 95% interval`,
        stack: `band-${i}`,
        data: s.values.map((v) => Math.round((bounds(v)[1] - bounds(v)[0]) * 10) / 10),
        lineStyle: { opacity: 0 },
        areaStyle: { color: palette[i % palette.length], opacity: 0.15 },
        showSymbol: false,
        tooltip: { show: false },
      },
    ]),
  };
}

function effectsTable(effects: readonly StudyEffect[]): string {
  const cell = (c: string, tag: string) => `<${tag}>${escapeHtml(c)}</${tag}>`;
  const rows = effects.map((e) =>
    [
      e.label,
      points(e.mean),
      e.low === null || e.high === null ? '-' : `${points(e.low)} to ${points(e.high)}`,
      String(e.n),
      e.values.map(points).join(', '),
    ]
      .map((c) => cell(c, 'td'))
      .join(''),
  );
  const head = ['effect', 'mean (points)', '95% interval', 'seeds', 'per seed']
    .map((c) => cell(c, 'th'))
    .join('');
  return `<table class="comparison"><thead><tr>${head}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table>`;
}

/**
 * The study as one self-contained page: per question the seed's question, the setup in two sentences,
 * the plots, the effects with their 95% intervals over seeds, and the answer written from them.
 */
export function studyHtml(file: StudyFile): string {
  const charts: PageChart[] = [];
  const s = file.setup;
  const sections = file.questions.map((q, i) => {
    const lines = [
      `<h2 id="${q.name}">${i + 1}. ${escapeHtml(q.name)}: ${escapeHtml(q.asks)}</h2>`,
      `<p class="note">${escapeHtml(q.setup)}</p>`,
    ];
    if (q.status === 'skipped' || q.status === 'not run') {
      lines.push(
        `<p class="answer">Not answered: ${escapeHtml(q.note ?? 'none of its runs has finished yet')}.</p>`,
      );
    } else if (q.note) lines.push(`<p class="note">${escapeHtml(q.note)}</p>`);
    for (const part of q.parts) {
      lines.push(
        `<h3>${escapeHtml(part.label)} (seeds ${part.seeds.join(', ')})</h3>`,
        '<div class="grid wide">',
      );
      for (const plot of part.plots) {
        const id = `chart-${charts.length}`;
        charts.push({ id, option: studyChartOption(plot) });
        lines.push(chartDiv({ id, height: 340, title: plot.title }));
      }
      lines.push('</div>', effectsTable(part.effects), `<p class="answer">${escapeHtml(part.answer)}</p>`);
    }
    return lines.join('\n');
  });
  const title = 'What the seed asked, and what we measured';
  const body = [
    `<h1>${title}</h1>`,
    `<p class="note">unforget study: seeds ${s.seeds.join(', ')}; ${escapeHtml(s.budget)}; ${escapeHtml(s.backbone)}; ` +
      `Fashion-MNIST ${s.fashion ? 'used' : 'not used'}; written ${escapeHtml(file.writtenAt)}. ` +
      'Every effect is a paired difference over seeds with its 95% t-interval; a box or band is the 95% interval of a mean.</p>',
    ...sections,
  ].join('\n');
  return htmlPage(`unforget study: ${title}`, body, charts);
}
