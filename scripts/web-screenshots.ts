/**
 * Takes the README's screenshots of the web page: trains split MNIST in headless Chromium (Debian's
 * chromium), draws a digit, and writes docs/web.png (desktop) and docs/web-phone.png (390 px wide).
 * Run with `npx tsx scripts/web-screenshots.ts`.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startServer } from '../src/cli/serve.js';
import { launchChromium } from '../test-browser/chromium.js';
import { buildWeb } from './build-web.js';

const docs = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');

async function drawTwo(page: Page): Promise<void> {
  await page.locator('#draw').scrollIntoViewIfNeeded();
  const box = await page.locator('#draw').boundingBox();
  if (!box) throw new Error('no drawing pad');
  const at = (x: number, y: number) => page.mouse.move(box.x + box.width * x, box.y + box.height * y);
  const points: [number, number][] = [
    [0.3, 0.3],
    [0.4, 0.2],
    [0.55, 0.18],
    [0.66, 0.26],
    [0.66, 0.4],
    [0.55, 0.55],
    [0.4, 0.7],
    [0.3, 0.8],
    [0.5, 0.8],
    [0.72, 0.8],
  ];
  await at(...points[0]);
  await page.mouse.down();
  for (const p of points.slice(1)) await at(...p);
  await page.mouse.up();
}

await buildWeb();
const server = await startServer({ port: 0 });
const browser = await launchChromium();
try {
  await mkdir(docs, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${server.url}?backend=wasm`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#scenario', 'split-mnist');
  await page.fill('#tasks', '5');
  await page.selectOption('#setting', 'class');
  await page.selectOption('#strategy', 'finetune');
  await page.fill('#iterations', '60');
  await page.click('#train');
  await page.waitForSelector('body[data-trained="5"]', { timeout: 120_000 });
  await drawTwo(page);
  await page.waitForSelector('#predictions li[data-prediction]');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(docs, 'web.png'), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('#train-panel').evaluate((el) => el.scrollIntoView());
  await page.screenshot({ path: join(docs, 'web-phone.png') });
  console.log(`unforget: wrote ${join(docs, 'web.png')} and ${join(docs, 'web-phone.png')}`);
} finally {
  await browser.close();
  await server.close();
}
