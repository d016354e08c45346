/**
 * The page's main flow, a model's life, in Chromium: adopt a plain TF.js model from a ZIP, add a task
 * from a folder, reload and add another from drawings, export a task and load it with
 * tf.loadLayersModel in a fresh page, continue in Node and back, and bad inputs that lose nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.js';
import { startServer, type RunningServer } from '../src/cli/serve.js';
import { rgbaToInput } from '../src/data/image-split.js';
import { loadMnist } from '../src/data/mnist.js';
import { loadDataSpec, parseDataSpec } from '../src/data/spec.js';
import { fileHandler } from '../src/persist/io.js';
import { unzip, zip } from '../web/zip.js';
import { launchChromium } from './chromium.js';

let server: RunningServer;
let browser: Browser;
let scratch: string;
const shots = join(process.cwd(), '.tmp', 'web');

before(async () => {
  await buildWeb();
  server = await startServer({ port: 0 });
  browser = await launchChromium();
  scratch = await mkdtemp(join(tmpdir(), 'unforget-life-'));
  await mkdir(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function openPage(page?: Page, query = '?backend=wasm') {
  const p =
    page ?? (await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true }));
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(server.url + query);
  await p.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return { page: p, errors };
}

/** The model's-life matrix: per row, each cell's accuracy ('none': no test data kept; '' not learned yet). */
async function lifeMatrix(page: Page): Promise<string[][]> {
  return page.$$eval('#life-matrix tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td as HTMLElement).dataset.accuracy ?? '')),
  );
}

async function message(page: Page): Promise<string> {
  await page.waitForSelector('#message:not([hidden])');
  const text = (await page.textContent('#message-text')) ?? '';
  await page.click('#message-close');
  return text;
}

async function waitTasks(page: Page, n: number): Promise<void> {
  await page.waitForSelector(`body[data-life-tasks="${n}"]`, { timeout: 90_000 });
}

function pngOf(pixels: Float32Array): Buffer {
  const image = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) {
    const v = Math.round(pixels[i] * 255);
    image.data.set([v, v, v, 255], i * 4);
  }
  return PNG.sync.write(image);
}

/** What the page (and Node's image loader) makes of a 28×28 grayscale PNG. */
function asLoaded(png: Buffer): Float32Array {
  const image = PNG.sync.read(png);
  const out = new Float32Array(784);
  rgbaToInput({ width: 28, height: 28, data: image.data }, 28, 28, 1, out);
  return out;
}

/** Draws a stroke on the life pad: 'a' a vertical line, 'b' a horizontal one, shifted by `k`. */
async function drawStroke(page: Page, kind: 'a' | 'b', k: number): Promise<void> {
  await page.click('#life-clear');
  const box = await page.locator('#life-draw').boundingBox();
  assert.ok(box);
  const at = (u: number, v: number) => [box.x + box.width * u, box.y + box.height * v] as const;
  const shift = (k % 3) * 0.05;
  const from = kind === 'a' ? at(0.4 + shift, 0.15) : at(0.15, 0.4 + shift);
  await page.mouse.move(...from);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    const t = 0.15 + i * 0.09;
    await page.mouse.move(...(kind === 'a' ? at(0.4 + shift, t) : at(t, 0.4 + shift)));
  }
  await page.mouse.up();
}

test(
  'a model’s life: adopt a ZIP, a folder task, reload, a drawn task, export, Node and back, bad inputs',
  { timeout: 300_000 },
  async () => {
    const mnist = loadMnist();
    // A plain TF.js classifier of digits 0-2, seeded and untrained: its answers are its own.
    const plain = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [784],
          units: 32,
          activation: 'relu',
          name: 'hidden',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
        tf.layers.dense({
          units: 3,
          activation: 'softmax',
          name: 'digits',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
        }),
      ],
    });
    const plainDir = join(scratch, 'plain');
    await plain.save(fileHandler(plainDir));
    const plainZip = join(scratch, 'digits.zip');
    const plainFiles = new Map<string, Uint8Array>();
    for (const f of await readdir(plainDir)) plainFiles.set(`digits/${f}`, await readFile(join(plainDir, f)));
    await writeFile(plainZip, zip(plainFiles));
    // Three test images as PNG files, and what the plain model answers for them.
    const tries: { path: string; answer: string; pixels: Float32Array }[] = [];
    for (let i = 0; i < 3; i++) {
      const bytes = pngOf(mnist.test.inputs.subarray(i * 784, (i + 1) * 784));
      const path = join(scratch, `try-${i}.png`);
      await writeFile(path, bytes);
      const pixels = asLoaded(bytes);
      const answer = tf
        .tidy(() => plain.predict(tf.tensor2d(pixels, [1, 784])) as tf.Tensor)
        .argMax(-1)
        .dataSync()[0];
      tries.push({ path, answer: String(answer), pixels });
    }

    const { page, errors } = await openPage();
    assert.equal(await page.getAttribute('body', 'data-life-tasks'), '0');

    // A model for another input size is refused, and nothing changes.
    const wide = tf.sequential({ layers: [tf.layers.dense({ inputShape: [100], units: 2 })] });
    const wideDir = join(scratch, 'wide');
    await wide.save(fileHandler(wideDir));
    const wideFiles = new Map<string, Uint8Array>();
    for (const f of await readdir(wideDir)) wideFiles.set(f, await readFile(join(wideDir, f)));
    await writeFile(join(scratch, 'wide.zip'), zip(wideFiles));
    await page.setInputFiles('#life-open', join(scratch, 'wide.zip'));
    assert.match(await message(page), /takes inputs of shape \[100\].*28×28 grayscale/);
    assert.equal(await page.getAttribute('body', 'data-life-tasks'), '0');

    // 1. Adopt the plain model from its ZIP: its classifier is the first task, with its own answers.
    await page.setInputFiles('#life-open', plainZip);
    await waitTasks(page, 1);
    assert.match(await message(page), /Opened: 1 task/);
    assert.deepEqual(await lifeMatrix(page), [['none']]);
    for (const t of tries) {
      await page.click('#life-clear'); // no answers until the image's
      await page.setInputFiles('#life-try', t.path);
      await page.waitForSelector('#life-predictions li[data-prediction]');
      assert.equal(
        await page.getAttribute('#life-predictions li[data-task="digits"]', 'data-prediction'),
        t.answer,
      );
    }

    // 2. A task from a folder of images (one sub-folder per class).
    const folder = join(scratch, 'ones-sevens');
    for (const [name, digit] of [
      ['one', 1],
      ['seven', 7],
    ] as const) {
      await mkdir(join(folder, name), { recursive: true });
      let n = 0;
      for (let i = 0; i < mnist.test.labels.length && n < 40; i++) {
        if (mnist.test.labels[i] !== digit) continue;
        await writeFile(
          join(folder, name, `img-${String(n).padStart(3, '0')}.png`),
          pngOf(mnist.test.inputs.subarray(i * 784, (i + 1) * 784)),
        );
        n++;
      }
    }
    // A folder with one class is refused.
    const lonely = join(scratch, 'lonely');
    await mkdir(join(lonely, 'one'), { recursive: true });
    for (let i = 0; i < 3; i++)
      await writeFile(join(lonely, 'one', `${i}.png`), pngOf(mnist.test.inputs.subarray(0, 784)));
    await page.selectOption('#life-source', 'folder');
    await page.fill('#life-name', 'lonely');
    await page.setInputFiles('#life-folder', lonely);
    await page.click('#life-learn');
    assert.match(await message(page), /one class/);
    assert.equal(await page.getAttribute('body', 'data-life-tasks'), '1');
    // A name already used is refused.
    await page.setInputFiles('#life-folder', folder);
    await page.fill('#life-name', 'digits');
    await page.click('#life-learn');
    assert.match(await message(page), /already knows a task named 'digits'/);
    await page.fill('#life-name', 'strokes');
    await page.click('#life-learn');
    await waitTasks(page, 2);
    let rows = await lifeMatrix(page);
    assert.equal(rows.length, 2);
    assert.equal(rows[1][0], 'none');
    assert.ok(Number(rows[1][1]) > 0.8, `the folder task is learned: ${rows[1][1]}`);

    // The page's test set for the folder is Node's: the same images, in the same order.
    const kept = await page.evaluate(
      () =>
        new Promise<{ labels: number[]; inputs: number[] }>((done, fail) => {
          const open = indexedDB.open('unforget', 1);
          open.onsuccess = () => {
            const get = open.result.transaction('learners').objectStore('learners').get('life');
            get.onsuccess = () => {
              const t = get.result.tests.strokes;
              done({ labels: [...t.labels], inputs: [...t.inputs] });
              open.result.close();
            };
            get.onerror = () => fail(get.error);
          };
        }),
    );
    const node = await loadDataSpec(await parseDataSpec(folder), { inputShape: [28, 28, 1] });
    assert.deepEqual(kept.labels, [...node.test.labels]);
    let diff = 0;
    for (let i = 0; i < kept.inputs.length; i++)
      diff = Math.max(diff, Math.abs(kept.inputs[i] - node.test.inputs[i]));
    assert.equal(kept.inputs.length, node.test.inputs.length);
    assert.ok(diff < 1e-6, `page and Node test images differ by ${diff}`);

    // 3. Reload: the learner is back; add a task from drawings.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await waitTasks(page, 2);
    assert.deepEqual(await lifeMatrix(page), rows);
    await page.selectOption('#life-source', 'draw');
    await page.fill('#life-classes', 'bar, dash');
    for (let k = 0; k < 5; k++) {
      await drawStroke(page, 'a', k);
      await page.click('[data-add-class="0"]');
      await drawStroke(page, 'b', k);
      await page.click('[data-add-class="1"]');
    }
    assert.equal(await page.textContent('.count[data-class="1"]'), 'dash: 5');
    await page.fill('#life-name', 'lines');
    await page.click('#life-learn');
    await waitTasks(page, 3);
    rows = await lifeMatrix(page);
    assert.equal(rows.length, 3, 'the matrix has three rows');
    assert.equal(rows[2].length, 3);
    assert.equal(rows[2][0], 'none');
    assert.ok(Number(rows[2][1]) >= 0, `the folder task is tested again: ${rows[2][1]}`);
    await drawStroke(page, 'a', 1);
    await page.waitForSelector('#life-predictions li[data-task="lines"]');
    assert.equal(
      await page.getAttribute('#life-predictions li[data-task="lines"]', 'data-prediction'),
      'bar',
    );
    const storage = JSON.parse(
      (await page.getAttribute('#life-storage', 'data-per-task')) ?? '[]',
    ) as unknown[];
    assert.equal(storage.length, 3);
    await page.screenshot({ fullPage: true, path: join(shots, 'life.png') });

    // 4. Export the folder task as a plain TF.js model; a fresh page loads it with tf.loadLayersModel.
    const answers: string[] = [];
    for (const t of tries) {
      await page.click('#life-clear'); // no answers until the image's
      await page.setInputFiles('#life-try', t.path);
      await page.waitForSelector('#life-predictions li[data-task="strokes"]');
      answers.push(
        (await page.getAttribute('#life-predictions li[data-task="strokes"]', 'data-prediction')) ?? '',
      );
    }
    await page.selectOption('#life-export-task', 'strokes');
    const [exported] = await Promise.all([page.waitForEvent('download'), page.click('#life-export')]);
    assert.equal(exported.suggestedFilename(), 'strokes-tfjs-model.zip');
    const exportPath = join(scratch, 'strokes.zip');
    await exported.saveAs(exportPath);
    const files = await unzip(new Uint8Array(await readFile(exportPath)));
    assert.deepEqual([...files.keys()].sort(), ['model.json', 'weights.bin']);
    const fresh = await browser.newPage();
    await fresh.route(`${server.url}exported/**`, (route) => {
      const name = route.request().url().split('/').pop() ?? '';
      const body = files.get(name);
      return body ? route.fulfill({ body: Buffer.from(body) }) : route.abort();
    });
    await openPage(fresh, '?backend=wasm');
    const freshAnswers = await fresh.evaluate(
      async ({ url, inputs }) => {
        const t = (globalThis as unknown as { tf: typeof tf }).tf;
        const model = await t.loadLayersModel(url);
        return inputs.map((x) => {
          const shape = model.inputs[0].shape.map((d) => d ?? 1);
          const y = model.predict(t.tensor(x, shape)) as tf.Tensor;
          return y.argMax(-1).dataSync()[0];
        });
      },
      { url: `${server.url}exported/model.json`, inputs: tries.map((t) => [...t.pixels]) },
    );
    assert.deepEqual(
      freshAnswers.map((i) => ['one', 'seven'][i]),
      answers,
    );
    await fresh.close();

    // 5. Download the learner; Node's `unforget learn` goes on with it; the page opens the result.
    const [saving] = await Promise.all([page.waitForEvent('download'), page.click('#life-download')]);
    const learnerZip = join(scratch, 'learner.zip');
    await saving.saveAs(learnerZip);
    const learnerDir = join(scratch, 'from-page');
    for (const [path, bytes] of await unzip(new Uint8Array(await readFile(learnerZip)))) {
      await mkdir(join(learnerDir, path, '..'), { recursive: true });
      await writeFile(join(learnerDir, path), bytes);
    }
    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'learn',
        join(learnerDir, 'unforget-learner'),
        '--task',
        'fives',
        '--data',
        'mnist:5-6',
        '--iterations',
        '30',
        '--no-progress',
        '--out',
        join(scratch, 'from-node'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr + cli.stdout);
    const back = new Map<string, Uint8Array>();
    for (const entry of await readdir(join(scratch, 'from-node'), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = join(entry.parentPath, entry.name);
      back.set(full.slice(join(scratch, 'from-node').length + 1), await readFile(full));
    }
    await writeFile(join(scratch, 'from-node.zip'), zip(back));
    await page.setInputFiles('#life-open', join(scratch, 'from-node.zip'));
    assert.match(await message(page), /Opened: 4 task/);
    await waitTasks(page, 4);
    rows = await lifeMatrix(page);
    assert.equal(rows.length, 4);

    // 6. Storage full: the task is learned and kept in the page, and the message says so.
    await page.evaluate(() => {
      IDBObjectStore.prototype.put = function () {
        throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
      };
    });
    await page.selectOption('#life-source', 'digits');
    await page.fill('#life-digits', '0-1');
    await page.fill('#life-name', 'zero-one');
    await page.fill('#life-steps', '20');
    await page.click('#life-learn');
    assert.match(await message(page), /storage is full.*still here in the page/);
    await waitTasks(page, 5);
    assert.equal(await page.isDisabled('#life-download'), false);

    // At a phone's width every part fits: nothing wider than the screen, the pad big enough for a finger,
    // and the help beside the (empty) compare matrix is not squeezed to a word a line.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(
      (await page.evaluate(() => document.documentElement.scrollWidth)) <= 390,
      'nothing is wider than a phone',
    );
    const pad = await page.locator('#life-draw').boundingBox();
    assert.ok(pad && pad.width >= 200, `the pad is ${pad?.width} px wide`);
    assert.equal(await page.$eval('#life-draw', (el) => getComputedStyle(el).touchAction), 'none');
    const help = await page.locator('#matrix-help').boundingBox();
    assert.ok(help && help.width > 200, `the help beside the empty matrix is ${help?.width} px wide`);

    // A finger draws: touch pointer events on the pad make a drawing each task answers.
    await page.click('#life-clear');
    await page.locator('#life-draw').scrollIntoViewIfNeeded();
    const box = await page.locator('#life-draw').boundingBox();
    assert.ok(box);
    const touch = (type: string, v: number) =>
      page.dispatchEvent('#life-draw', type, {
        pointerId: 7,
        pointerType: 'touch',
        isPrimary: true,
        clientX: box.x + box.width * 0.45,
        clientY: box.y + box.height * v,
      });
    await touch('pointerdown', 0.15);
    for (let i = 1; i <= 8; i++) await touch('pointermove', 0.15 + i * 0.09);
    await touch('pointerup', 0.87);
    await page.waitForSelector('#life-predictions li[data-task="lines"]');
    assert.deepEqual(errors, []);
    await page.close();
  },
);
