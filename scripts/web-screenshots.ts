/**
 * Takes the README's screenshots of the web page: a learner with three tasks grown in the page's
 * "Your model's life" flow (two built-in digit tasks and one drawn task), in headless Chromium
 * (Debian's chromium): docs/web.png (1280 px) and docs/web-phone.png (390 px wide).
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

/** A stroke on the life pad: 'bar' vertical, 'dash' horizontal, shifted by `k`. */
async function stroke(page: Page, kind: 'bar' | 'dash', k: number): Promise<void> {
  await page.click('#life-clear');
  const box = await page.locator('#life-draw').boundingBox();
  if (!box) throw new Error('no drawing pad');
  const at = (u: number, v: number) => page.mouse.move(box.x + box.width * u, box.y + box.height * v);
  const s = (k % 3) * 0.05;
  await (kind === 'bar' ? at(0.4 + s, 0.15) : at(0.15, 0.4 + s));
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    const t = 0.15 + i * 0.09;
    await (kind === 'bar' ? at(0.4 + s, t) : at(t, 0.4 + s));
  }
  await page.mouse.up();
}

async function digitsTask(page: Page, name: string, digits: string): Promise<void> {
  const before = Number(await page.getAttribute('body', 'data-life-tasks'));
  await page.selectOption('#life-source', 'digits');
  await page.fill('#life-digits', digits);
  await page.fill('#life-name', name);
  await page.click('#life-learn');
  await page.waitForSelector(`body[data-life-tasks="${before + 1}"]`, { timeout: 120_000 });
}

await buildWeb();
const server = await startServer({ port: 0 });
const browser = await launchChromium();
try {
  await mkdir(docs, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}?backend=wasm`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.click('#life-new');
  await page.click('#message-close');
  await page.selectOption('#life-method', 'ewc');
  await digitsTask(page, 'digits 0-4', '0-4');
  await digitsTask(page, 'digits 5-9', '5-9');
  await page.selectOption('#life-source', 'draw');
  await page.fill('#life-classes', 'bar, dash');
  for (let k = 0; k < 5; k++) {
    await stroke(page, 'bar', k);
    await page.click('[data-add-class="0"]');
    await stroke(page, 'dash', k);
    await page.click('[data-add-class="1"]');
  }
  await page.fill('#life-name', 'lines');
  await page.click('#life-learn');
  await page.waitForSelector('body[data-life-tasks="3"]', { timeout: 120_000 });
  await stroke(page, 'bar', 1);
  await page.waitForSelector('#life-predictions li[data-prediction]');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(docs, 'web.png') });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('#life-matrix').evaluate((el) => el.scrollIntoView());
  await page.screenshot({ path: join(docs, 'web-phone.png') });
  console.log(`unforget: wrote ${join(docs, 'web.png')} and ${join(docs, 'web-phone.png')}`);
} finally {
  await browser.close();
  await server.close();
}
