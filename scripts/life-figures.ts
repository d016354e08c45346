/**
 * The figures of the page's model's life: the time to add a 2-class task of 100 dropped images (50 a
 * class, 28×28 MNIST digits as PNG files) to a new network, on wasm and on WebGL, and the bytes the
 * browser keeps per task. Run with `npx tsx scripts/life-figures.ts`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startServer } from '../src/cli/serve.js';
import { loadMnist } from '../src/data/mnist.js';
import { launchChromium } from '../test-browser/chromium.js';
import { buildWeb } from './build-web.js';

const mnist = loadMnist();
const scratch = await mkdtemp(join(tmpdir(), 'unforget-figures-'));
const files: string[][] = [[], []];
for (const [c, digit] of [1, 7].entries()) {
  await mkdir(join(scratch, String(digit)));
  for (let i = 0, n = 0; n < 50; i++) {
    if (mnist.test.labels[i] !== digit) continue;
    const image = new PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) {
      const v = Math.round(mnist.test.inputs[i * 784 + p] * 255);
      image.data.set([v, v, v, 255], p * 4);
    }
    const path = join(scratch, String(digit), `${n++}.png`);
    await writeFile(path, PNG.sync.write(image));
    files[c].push(path);
  }
}

await buildWeb();
const server = await startServer({ port: 0 });
const browser = await launchChromium();
try {
  for (const backend of ['wasm', 'webgl']) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}?backend=${backend}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    const used = await page.getAttribute('body', 'data-backend');
    await page.click('#life-new');
    await page.click('#message-close');
    for (const task of ['first', 'second']) {
      await page.selectOption('#life-source', 'draw');
      await page.fill('#life-classes', 'one, seven');
      const started = Date.now();
      await page.setInputFiles('[data-files-class="0"]', files[0]);
      await page.setInputFiles('[data-files-class="1"]', files[1]);
      await page.waitForFunction(
        () => document.querySelector('.count[data-class="1"]')?.textContent === 'seven: 50',
      );
      const before = Number(await page.getAttribute('body', 'data-life-tasks'));
      const read = Date.now() - started;
      await page.fill('#life-name', task);
      await page.click('#life-learn');
      await page.waitForSelector(`body[data-life-tasks="${before + 1}"]`, { timeout: 300_000 });
      // The task is kept in this browser once the storage line names it.
      await page.waitForFunction(
        (name) =>
          (document.querySelector('#life-storage')?.getAttribute('data-per-task') ?? '').includes(
            `"${name}"`,
          ),
        task,
      );
      const wall = Date.now() - started;
      const ms = await page.getAttribute('#life-train-status', 'data-ms');
      console.log(
        `${backend} (running on ${used}) task '${task}': images read in ${read} ms, learned in ${ms} ms ` +
          `(${wall} ms from picking the files to saved); ` +
          `${await page.textContent('#life-train-status')}`,
      );
    }
    console.log(`  storage: ${await page.textContent('#life-storage')}`);
    console.log(
      `  bytes: ${await page.getAttribute('#life-storage', 'data-bytes')} per task: ${await page.getAttribute('#life-storage', 'data-per-task')}`,
    );
    await page.evaluate(() => indexedDB.deleteDatabase('unforget'));
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
  await rm(scratch, { recursive: true, force: true });
}
