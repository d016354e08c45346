import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echartsBundle, reportCharts, reportHtml } from '../../src/report/html.js';
import { summarize } from '../../src/report/summary.js';
import { fakeRecord } from './fixtures.js';

const records = [
  fakeRecord('finetune', 0, [
    [0.9, 0.2],
    [0.5, 0.95],
  ]),
  fakeRecord('finetune', 1, [
    [0.8, 0.2],
    [0.6, 0.9],
  ]),
  fakeRecord('</script><b>x', 0, [
    [0.9, 0.2],
    [0.9, 0.9],
  ]),
];

test('the report has a heat map per method, a line chart per task and bars per criterion', () => {
  const charts = reportCharts(summarize(records));
  const count = (section: string) => charts.filter((c) => c.section === section).length;
  assert.equal(count('matrix'), 2);
  assert.equal(count('tasks'), 2);
  assert.equal(count('bars'), 9);
  const heat = charts[0].option as { series: { type: string; data: { value: number[] }[] }[] };
  assert.equal(heat.series[0].type, 'heatmap');
  // Cell (row: after T2, column: T1) of finetune is the mean over seeds, in percent.
  assert.deepEqual(heat.series[0].data.find((d) => d.value[0] === 0 && d.value[1] === 1)?.value, [0, 1, 55]);
  const line = charts.find((c) => c.id === 'task-0')?.option as {
    series: { name: string; data: number[] }[];
  };
  assert.deepEqual(line.series[0].data, [85, 55]);
  const bars = charts.find((c) => c.id === 'bars-newTask')?.option as {
    series: { type: string; data: unknown[] }[];
  };
  assert.deepEqual(
    bars.series.map((s) => s.type),
    ['bar', 'boxplot'],
  );
});

test('the page inlines ECharts and its chart data, escaped, so it opens offline', () => {
  const html = reportHtml(summarize(records), { notes: ['a <note>'], runs: records });
  assert.ok(html.includes(echartsBundle().code), 'ECharts is inlined');
  assert.doesNotMatch(html, /<script[^>]+src=/, 'no external scripts');
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)[^"'\s]*\.(js|css)/);
  assert.equal(html.split('</script>').length - 1, 3, 'a strategy name cannot close a script element');
  assert.match(html, /a &lt;note&gt;/);
  assert.match(html, /<summary>Every run \(3\)<\/summary>/);
  assert.match(html, /<td>finetune-seed1\.json<\/td><td>cpu<\/td><td>75\.0<\/td><td>-20\.0<\/td>/);
  const data = /<script type="application\/json" id="unforget-charts">(.*?)<\/script>/s.exec(html);
  const charts = JSON.parse(data?.[1] ?? 'null') as { id: string }[];
  assert.equal(charts.length, 13);
  for (const c of charts) assert.match(html, new RegExp(`<div class="chart" id="${c.id}"`));
  assert.match(echartsBundle().version, /^\d+\.\d+\.\d+$/);
});
