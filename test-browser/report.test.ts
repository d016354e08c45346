import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { reportHtml } from '../src/report/html.js';
import { summarize } from '../src/report/summary.js';
import { fakeRecord } from '../test/report/fixtures.js';
import { launchChromium } from './chromium.js';

const records = ['finetune', 'featureExtraction', 'joint'].flatMap((strategy, k) =>
  [0, 1, 2].map((seed) =>
    fakeRecord(
      strategy,
      seed,
      [
        [0.95 - 0.01 * seed, 0.2],
        [0.5 + 0.2 * k + 0.01 * seed, 0.97 - 0.1 * k],
      ],
      { strategyBytes: k * 40_000, needsOldData: strategy === 'joint' },
    ),
  ),
);

test('the report renders offline in Chromium with every plot drawn', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'unforget-report-'));
  const browser = await launchChromium();
  try {
    const file = join(folder, 'report.html');
    await writeFile(file, reportHtml(summarize(records)));
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    const outside: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-charts-drawn]', { timeout: 20_000 });
    assert.deepEqual(errors, []);
    assert.deepEqual(outside, [], 'the page asks for nothing outside its file');

    const charts = await page.$$eval('div.chart', (divs) =>
      divs.map((d) => {
        const svg = d.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: d.id,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          shapes: svg?.querySelectorAll('path, rect').length ?? 0,
          texts: [...(svg?.querySelectorAll('text') ?? [])].map((x) => x.textContent ?? ''),
        };
      }),
    );
    assert.equal(
      charts.length,
      3 + 2 + 9,
      'a heat map per method, a line chart per task, bars per criterion',
    );
    for (const c of charts) {
      assert.ok(c.width > 100 && c.height > 100, `${c.id} has an SVG of ${c.width}×${c.height}`);
      assert.ok(c.shapes >= 4, `${c.id} draws ${c.shapes} shapes`);
    }
    // The heat map of finetune shows its mean accuracy after the last task on the old task (seeds 0-2: 50, 51, 52 %).
    const heat = charts.find((c) => c.id === 'matrix-0');
    assert.ok(
      heat?.texts.some((x) => x.includes('51.0')),
      heat?.texts.join(' | '),
    );
    const bars = charts.find((c) => c.id === 'bars-newTask');
    assert.ok(bars?.texts.includes('featureExtraction'), bars?.texts.join(' | '));
    const table = await page.$$eval('table.comparison th', (th) => th.map((x) => x.textContent));
    assert.deepEqual(table, ['criterion', 'finetune', 'featureExtraction', 'joint']);

    const shot = join(folder, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = PNG.sync.read(await readFile(shot));
    let inked = 0;
    const colors = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r < 235 || g < 235 || b < 235) inked++;
      colors.add((r << 16) | (g << 8) | b);
    }
    const share = inked / (png.width * png.height);
    t.diagnostic(
      `screenshot ${png.width}×${png.height}, ${(100 * share).toFixed(1)}% inked, ${colors.size} colors`,
    );
    assert.ok(png.height > 1500, `the full page is ${png.height} px tall`);
    assert.ok(share > 0.05, `only ${(100 * share).toFixed(1)}% of the screenshot is drawn`);
    assert.ok(colors.size > 50, `the screenshot has ${colors.size} colors`);
  } finally {
    await browser.close();
    await rm(folder, { recursive: true });
  }
});
