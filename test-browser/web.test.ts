import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.js';
import { startServer, type RunningServer } from '../src/cli/serve.js';
import { loadMnist } from '../src/data/mnist.js';
import { accuracyRow } from '../src/eval/evaluate.js';
import { learner } from '../src/model/learner.js';
import { loadLearner, saveLearner } from '../src/persist/save.js';
import { reportHtml } from '../src/report/html.js';
import { split } from '../src/scenarios/split.js';
import { registry } from '../src/strategies/index.js';
import { train } from '../src/train/loop.js';
import { crc32, unzip } from '../web/zip.js';
import { summarize } from '../src/report/summary.js';
import { fakeRecord } from '../test/report/fixtures.js';
import { launchChromium } from './chromium.js';

/** Screenshots the test takes and inspects; kept (git-ignored) for a person to look at. */
const shots = join(process.cwd(), '.tmp', 'web');

let server: RunningServer;
let browser: Browser;
let scratch: string;
/** The learner the first test downloaded, for the phone-width test to load. */
let downloaded = '';
/** The accuracy matrix the page showed for that learner. */
let pageRows: number[][] = [];

before(async () => {
  await buildWeb();
  server = await startServer({ port: 0 });
  browser = await launchChromium();
  scratch = await mkdtemp(join(tmpdir(), 'unforget-web-'));
  await mkdir(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A page that may only reach the unforget server: anything else is blocked and counted. */
async function openPage(viewport = { width: 1280, height: 900 }, query = '?backend=wasm') {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  const outside: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url) || url.startsWith('blob:') || url.startsWith('data:'))
      return route.continue();
    outside.push(url);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + query);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return { page, outside, errors };
}

async function matrix(page: Page): Promise<number[][]> {
  return page.$$eval('#matrix tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((td) => Number(td.dataset.accuracy))),
  );
}

/** Draws a vertical stroke, a "1", on the drawing pad. */
async function drawOne(page: Page): Promise<void> {
  await page.click('#clear');
  await page.locator('#draw').scrollIntoViewIfNeeded();
  const box = await page.locator('#draw').boundingBox();
  assert.ok(box, 'the drawing pad is on the page');
  const x = box.x + box.width * 0.5;
  await page.mouse.move(x, box.y + box.height * 0.15);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(x + i * 0.3, box.y + box.height * (0.15 + i * 0.058));
  await page.mouse.up();
}

async function predictions(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction(
    (n) => document.querySelectorAll('#predictions li[data-prediction]').length === n,
    count,
  );
  return page.$$eval('#predictions li[data-prediction]', (items) =>
    items.map((li) => (li as HTMLElement).dataset.prediction ?? ''),
  );
}

/** Where an element is on the whole page (as a full-page screenshot shows it), in CSS pixels. */
async function pageBox(page: Page, selector: string) {
  return page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
  });
}

function png(bytes: Buffer): PNG {
  return PNG.sync.read(bytes);
}

/** How many pixels in a region look like the matrix's shaded cells (light green: G well above R and B). */
function greenPixels(image: PNG, box: { x: number; y: number; width: number; height: number }): number {
  let count = 0;
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(image.height, box.y + box.height); y++) {
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(image.width, box.x + box.width); x++) {
      const i = (y * image.width + x) * 4;
      const [r, g, b] = [image.data[i], image.data[i + 1], image.data[i + 2]];
      if (g > r + 15 && g > b + 15) count++;
    }
  }
  return count;
}

/** A ZIP of a folder with every file deflated (as zip tools write them), its paths under `top/`. */
async function deflatedZip(folder: string, top: string): Promise<Buffer> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries.filter((x) => x.isFile())) {
    const full = join(e.parentPath, e.name);
    const name = Buffer.from(`${top}/${relative(folder, full).split(sep).join('/')}`);
    const data = await readFile(full);
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += 30 + name.length + packed.length;
  }
  const size = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** Distinct colours in the image: a blank or single-colour page has very few. */
function colours(image: PNG): number {
  const seen = new Set<number>();
  for (let i = 0; i < image.data.length; i += 4) {
    seen.add((image.data[i] << 16) | (image.data[i + 1] << 8) | image.data[i + 2]);
  }
  return seen.size;
}

/** A tiny grayscale PNG with a bright quadrant that depends on the class (0-3). */
function classImage(cls: number, k: number): Buffer {
  const image = new PNG({ width: 16, height: 16 });
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      // Each class lights one quadrant: top-left, bottom-right, top-right, bottom-left.
      const on = [x < 8 && y < 8, x >= 8 && y >= 8, x >= 8 && y < 8, x < 8 && y >= 8][cls];
      const v = on ? 200 + k * 10 : 10;
      image.data.set([v, v, v, 255], (y * 16 + x) * 4);
    }
  }
  return PNG.sync.write(image);
}

test(
  'the page trains two tasks, predicts a drawing, saves, reloads and stops',
  { timeout: 120_000 },
  async () => {
    const { page, outside, errors } = await openPage();
    assert.equal(await page.textContent('#backend'), 'wasm');

    // The strategies offered are the library's registry.
    const offered = await page.$$eval('#strategy option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    assert.ok(offered.includes('finetune') && offered.length >= 3, `strategies: ${offered.join(', ')}`);

    // Set up by keyboard and start training with Enter in a field.
    await page.selectOption('#scenario', 'split-mnist');
    await page.fill('#tasks', '2');
    await page.fill('#iterations', '40');
    await page.fill('#batch', '64');
    await page.focus('#iterations');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-trained="2"]', { timeout: 60_000 });
    assert.match((await page.textContent('#status')) ?? '', /^Done: 2 tasks/);

    // Two rows; every task learned so far is well above chance (20%: two tasks of five digits).
    const rows = await matrix(page);
    assert.equal(rows.length, 2);
    for (const [i, row] of rows.entries()) {
      assert.equal(row.length, 2);
      for (let j = 0; j <= i; j++)
        assert.ok(row[j] > 0.7, `accuracy after task ${i + 1} on task ${j + 1}: ${row[j]}`);
    }
    assert.ok(rows[0][1] < 0.4, `task 2 before training is near chance: ${rows[0][1]}`);
    assert.ok((await page.locator('#lines polyline').count()) >= 1, 'the accuracy lines are drawn');

    // A drawn "1": task 1 (digits 0-4) should say 1; task 2 (5-9) answers with one of its digits.
    await drawOne(page);
    const drawn = await predictions(page, 2);
    assert.equal(drawn[0], '1');
    assert.ok(['5', '6', '7', '8', '9'].includes(drawn[1]), `task 2 predicted ${drawn[1]}`);

    // Save in the browser, reload the page, load it back: same matrix, same answers.
    await page.click('#save-browser');
    await page.waitForFunction(() =>
      /Saved in this browser/.test(document.querySelector('#model-status')?.textContent ?? ''),
    );
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#matrix tbody tr').count(), 0, 'a fresh page has no matrix');
    await page.click('#load-browser');
    await page.waitForSelector('body[data-trained="2"]');
    assert.deepEqual(await matrix(page), rows);
    await drawOne(page);
    assert.deepEqual(await predictions(page, 2), drawn);
    // Loading again replaces the learner without leaking its tensors.
    const alive = await page.getAttribute('body', 'data-tensors');
    await page.evaluate(() => delete document.body.dataset.trained);
    await page.click('#load-browser');
    await page.waitForSelector('body[data-trained="2"]');
    await drawOne(page);
    assert.deepEqual(await predictions(page, 2), drawn);
    assert.ok(Number(alive) > 0);
    assert.equal(await page.getAttribute('body', 'data-tensors'), alive, 'tensors alive after a second load');

    // Download (a ZIP of the learner's folder), then load it into a fresh page.
    const [saving] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(saving.suggestedFilename(), 'unforget-learner.zip');
    const zipPath = join(scratch, 'unforget-learner.zip');
    await saving.saveAs(zipPath);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#load-files', zipPath);
    await page.waitForSelector('body[data-trained="2"]');
    assert.deepEqual(await matrix(page), rows);
    await drawOne(page);
    assert.deepEqual(await predictions(page, 2), drawn);
    downloaded = zipPath;
    pageRows = rows;

    // The screenshot shows the page (not blank) and the matrix's shaded cells.
    const shot = await page.screenshot({ fullPage: true, path: join(shots, 'page.png') });
    const image = png(shot);
    assert.ok(colours(image) > 200, `the screenshot has ${colours(image)} colours`);
    const box = await pageBox(page, '#matrix');
    assert.ok(box.width > 50 && box.height > 40, 'the matrix has a size on the page');
    assert.ok(greenPixels(image, box) > 500, 'the matrix cells are shaded in the screenshot');

    // A model folder from another tool (a bare TensorFlow.js model), and a file that is not a ZIP,
    // get a message; the page stays usable.
    const foreign = join(scratch, 'keras-model');
    await mkdir(foreign);
    await writeFile(
      join(foreign, 'model.json'),
      JSON.stringify({ modelTopology: { class_name: 'Sequential' }, weightsManifest: [] }),
    );
    await writeFile(join(foreign, 'weights.bin'), Buffer.alloc(16));
    await page.setInputFiles('#load-folder', foreign);
    await page.waitForSelector('#message:not([hidden])');
    assert.match((await page.textContent('#message-text')) ?? '', /not a learner saved by unforget/);
    await page.click('#message-close');
    const notZip = join(scratch, 'model.zip');
    await writeFile(notZip, 'PK but not really a zip');
    await page.setInputFiles('#load-files', notZip);
    await page.waitForSelector('#message:not([hidden])');
    assert.match(
      (await page.textContent('#message-text')) ?? '',
      /model\.zip cannot be read: not a ZIP archive/,
    );
    await page.click('#message-close');

    // Stop keeps what was learned: one row, and the page says so.
    await page.fill('#iterations', '100000');
    await page.click('#train');
    await page.waitForFunction(() =>
      /step [1-9]\d*\//.test(document.querySelector('#status')?.textContent ?? ''),
    );
    await page.click('#stop');
    await page.waitForFunction(() => /^Stopped/.test(document.querySelector('#status')?.textContent ?? ''));
    assert.equal((await matrix(page)).length, 1);
    assert.equal(await page.isDisabled('#train'), false);

    assert.deepEqual(outside, [], 'the page reached only its own server');
    assert.deepEqual(errors, []);
    await page.close();
  },
);

test('your own images: bad files get a message, a good folder is read', { timeout: 60_000 }, async () => {
  const { page, errors } = await openPage();
  // Loose files dropped on the page (not a folder of class folders) switch to your images and say why they do not fit.
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array([1, 2, 3])], 'loose.png', { type: 'image/png' }));
    document.body.dispatchEvent(
      new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }),
    );
  });
  await page.waitForSelector('#message:not([hidden])');
  assert.match((await page.textContent('#message-text')) ?? '', /no images found in sub-folders/);
  assert.equal(await page.inputValue('#scenario'), 'images');
  assert.equal(await page.isVisible('#drop'), true);
  await page.click('#message-close');

  // One class only.
  const lonely = join(scratch, 'lonely');
  await mkdir(join(lonely, 'cats'), { recursive: true });
  for (let k = 0; k < 3; k++) await writeFile(join(lonely, 'cats', `${k}.png`), classImage(0, k));
  await page.setInputFiles('#folder', lonely);
  await page.waitForSelector('#message:not([hidden])');
  assert.match((await page.textContent('#message-text')) ?? '', /one class/);
  await page.click('#message-close');

  // Two classes, one file that does not decode.
  const good = join(scratch, 'shapes');
  for (const [c, name] of ['top', 'bottom'].entries()) {
    await mkdir(join(good, name), { recursive: true });
    for (let k = 0; k < 5; k++) await writeFile(join(good, name, `${k}.png`), classImage(c, k));
  }
  await writeFile(join(good, 'top', 'broken.png'), Buffer.from('not a png at all'));
  await page.setInputFiles('#folder', good);
  await page.waitForFunction(() =>
    /classes/.test(document.querySelector('#images-summary')?.textContent ?? ''),
  );
  assert.match((await page.textContent('#images-summary')) ?? '', /^10 images, 2 classes/);
  assert.match((await page.textContent('#message-text')) ?? '', /broken\.png \(does not decode\)/);

  // It trains on them (one task of two classes).
  await page.fill('#tasks', '1');
  await page.fill('#iterations', '20');
  await page.click('#train');
  await page.waitForSelector('body[data-trained="1"]', { timeout: 30_000 });
  const rows = await matrix(page);
  assert.equal(rows.length, 1);
  assert.equal(rows[0][0], 1, 'two clearly different shapes are told apart');

  // One folder per task, each with a folder per class.
  const tasks = join(scratch, 'two-tasks');
  for (const [t, task] of ['first', 'second'].entries()) {
    for (const [c, name] of ['a', 'b'].entries()) {
      await mkdir(join(tasks, task, name), { recursive: true });
      for (let k = 0; k < 4; k++)
        await writeFile(join(tasks, task, name, `${k}.png`), classImage(2 * t + c, k));
    }
  }
  await page.setInputFiles('#folder', tasks);
  await page.waitForFunction(() =>
    /2 tasks/.test(document.querySelector('#images-summary')?.textContent ?? ''),
  );
  assert.match(
    (await page.textContent('#images-summary')) ?? '',
    /16 images, 4 classes: 2 tasks \(first, second\)/,
  );
  assert.equal(await page.inputValue('#tasks'), '2');
  await page.evaluate(() => delete document.body.dataset.trained);
  await page.click('#train');
  await page.waitForSelector('body[data-trained="2"]', { timeout: 30_000 });
  const taskRows = await matrix(page);
  assert.equal(taskRows.length, 2);
  assert.equal(taskRows[1][1], 1, 'the second task tells its two shapes apart');
  assert.deepEqual(await page.$$eval('#matrix tbody th', (th) => th.map((x) => x.getAttribute('title'))), [
    'first',
    'second',
  ]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('at a phone’s width the page fits and the matrix is visible', { timeout: 60_000 }, async () => {
  assert.ok(downloaded, 'the first test downloaded a learner');
  const { page } = await openPage({ width: 390, height: 844 });
  await page.setInputFiles('#load-files', downloaded);
  await page.waitForSelector('body[data-trained="2"]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
  const shot = await page.screenshot({ fullPage: true, path: join(shots, 'phone.png') });
  const image = png(shot);
  assert.equal(image.width, 390);
  const box = await pageBox(page, '#matrix');
  assert.ok(box.x >= 0 && box.x + box.width <= 390, 'the matrix fits the width');
  assert.ok(greenPixels(image, box) > 300, 'the matrix cells are shaded');
  await page.close();
});

test(
  'with backend auto the page starts webgl (here a software renderer) or falls back to wasm, and trains',
  { timeout: 90_000 },
  async () => {
    const { page, errors } = await openPage(undefined, '');
    const backend = (await page.textContent('#backend')) ?? '';
    assert.match(backend, /^(webgl|wasm)/);
    await page.fill('#tasks', '2');
    await page.fill('#iterations', '15');
    await page.click('#train');
    await page.waitForSelector('body[data-trained="2"]', { timeout: 80_000 });
    const rows = await matrix(page);
    assert.equal(rows.length, 2);
    assert.ok(rows[0][0] > 0.4 && rows[1][1] > 0.4, `after 15 steps a task is above chance (20%): ${rows}`);
    assert.match((await page.textContent('#status')) ?? '', new RegExp(`on ${backend.split(' ')[0]}\\.`));
    assert.deepEqual(errors, []);
    await page.close();
  },
);

test(
  'a compare report made in Node opens in the page with its plots drawn',
  { timeout: 60_000 },
  async () => {
    const records = ['finetune', 'joint'].flatMap((strategy, k) =>
      [0, 1].map((seed) =>
        fakeRecord(strategy, seed, [
          [0.95, 0.2],
          [0.5 + 0.3 * k, 0.96],
        ]),
      ),
    );
    const file = join(scratch, 'report.html');
    await writeFile(file, reportHtml(summarize(records)));
    const { page, outside, errors } = await openPage();
    assert.equal(await page.isVisible('#report'), false);
    await page.setInputFiles('#report-file', file);
    const frame = page.frameLocator('#report');
    await frame.locator('body[data-charts-drawn]').waitFor({ timeout: 30_000 });
    assert.ok((await frame.locator('div.chart svg').count()) >= 3, 'the report draws its charts');
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);

    // A file that is not a report gets a message.
    const text = join(scratch, 'notes.html');
    await writeFile(text, 'just some notes');
    await page.setInputFiles('#report-file', text);
    await page.waitForSelector('#message:not([hidden])');
    assert.match((await page.textContent('#message-text')) ?? '', /not an HTML report/);
    await page.close();
  },
);

test(
  'a learner saved by the page loads in Node, and one saved in Node loads in the page',
  { timeout: 90_000 },
  async () => {
    assert.ok(downloaded && pageRows.length === 2, 'the first test downloaded a learner');
    const mnist = loadMnist();
    const scenario = split(mnist, { tasks: 2, setting: 'task', name: 'split-mnist' });

    // Page → Node: unzip the download and load the folder with the library's loader.
    const fromPage = join(scratch, 'from-page');
    for (const [path, bytes] of await unzip(new Uint8Array(await readFile(downloaded)))) {
      await mkdir(dirname(join(fromPage, path)), { recursive: true });
      await writeFile(join(fromPage, path), bytes);
    }
    const opened = await loadLearner(join(fromPage, 'unforget-learner'));
    try {
      assert.equal(opened.learner.trainedTasks, 2);
      assert.equal(opened.strategy?.name, 'finetune');
      const row = accuracyRow(opened.learner, scenario, 1);
      row.forEach((a, j) =>
        assert.ok(
          Math.abs(a - pageRows[1][j]) <= 0.002,
          `task ${j + 1}: ${a} in Node, ${pageRows[1][j]} in the page`,
        ),
      );
    } finally {
      opened.strategy?.dispose?.();
      opened.learner.dispose();
    }

    // Node → page: train and save in Node, pick the folder in the page.
    const strategy = registry[0].create({});
    const inNode = learner({ backbone: { kind: 'mlp', hidden: [32] }, scenario, seed: 3 });
    const fromNode = join(scratch, 'from-node');
    try {
      await train(inNode, scenario, strategy, { iterations: 20, batchSize: 64, seed: 3 });
      await saveLearner(fromNode, inNode, strategy);
    } finally {
      strategy.dispose?.();
      inNode.dispose();
    }
    const { page, errors } = await openPage();
    await page.setInputFiles('#load-folder', fromNode);
    await page.waitForSelector('body[data-trained="2"]');
    assert.match((await page.textContent('#model-status')) ?? '', /split-mnist, 2 task\(s\), finetune/);
    await drawOne(page);
    const answers = await predictions(page, 2);
    assert.ok(
      ['0', '1', '2', '3', '4'].includes(answers[0]) && ['5', '6', '7', '8', '9'].includes(answers[1]),
    );

    // The same folder zipped with deflate, as zip tools do, loads the same.
    const zipped = join(scratch, 'from-node.zip');
    await writeFile(zipped, await deflatedZip(fromNode, 'from-node'));
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.setInputFiles('#load-files', zipped);
    await page.waitForSelector('body[data-trained="2"]');
    await drawOne(page);
    assert.deepEqual(await predictions(page, 2), answers);
    assert.deepEqual(errors, []);
    await page.close();
  },
);

test('permuted MNIST: each task sees test images in its own pixel order', { timeout: 90_000 }, async () => {
  const { page, errors } = await openPage();
  await page.selectOption('#scenario', 'permuted-mnist');
  await page.fill('#tasks', '2');
  await page.selectOption('#setting', 'domain');
  await page.fill('#iterations', '60');
  await page.click('#train');
  await page.waitForSelector('body[data-trained="2"]', { timeout: 60_000 });
  const rows = await matrix(page);
  assert.ok(rows[1][0] > 0.5 && rows[1][1] > 0.5, `both permutations are learned: ${rows[1]}`);
  let right = 0;
  const samples = 8;
  for (let i = 0; i < samples; i++) {
    await page.click('#sample');
    const answers = await predictions(page, 2);
    const truth = await page.getAttribute('#predictions', 'data-truth');
    right += answers.filter((a) => a === truth).length;
  }
  // Near the matrix's accuracy (both tasks above 50%), far above chance (10%): 16 answers in all.
  assert.ok(right >= 9, `${right} of ${2 * samples} answers are right`);
  assert.deepEqual(errors, []);
  await page.close();
});

test(
  'without WebGL, auto falls back to wasm, says why, and trains a conv net',
  { timeout: 60_000 },
  async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      // A browser with no WebGL: every WebGL context request fails, on canvases and offscreen ones.
      for (const type of [HTMLCanvasElement, OffscreenCanvas]) {
        const proto = type.prototype as { getContext(kind: string, ...rest: unknown[]): unknown };
        const getContext = proto.getContext;
        proto.getContext = function (this: unknown, kind: string, ...rest: unknown[]) {
          return /webgl/.test(kind) ? null : getContext.call(this, kind, ...rest);
        };
      }
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    assert.match((await page.textContent('#backend')) ?? '', /^wasm \(webgl: /);
    assert.equal(await page.getAttribute('body', 'data-backend'), 'wasm');
    // A conv net trains on this wasm: the shipped backend has no convolution filter gradient, unforget's
    // kernels add it.
    await page.selectOption('#backbone', 'cnn');
    await page.fill('#hidden', '32');
    await page.fill('#tasks', '2');
    await page.fill('#iterations', '8');
    await page.fill('#batch', '16');
    await page.click('#train');
    await page.waitForFunction(
      () =>
        document.body.dataset.trained === '2' || !document.querySelector('#message')?.hasAttribute('hidden'),
      undefined,
      { timeout: 60_000 },
    );
    assert.equal(await page.isVisible('#message'), false, (await page.textContent('#message-text')) ?? '');
    assert.match((await page.textContent('#status')) ?? '', /^Done: 2 tasks .* on wasm\./);
    await page.close();
  },
);

test(
  'strategy state saved by the page (PackNet masks, EWC Fisher) loads in Node and predicts the same',
  { timeout: 90_000 },
  async () => {
    const scenario = split(loadMnist(), { tasks: 2, setting: 'task', name: 'split-mnist' });
    const { page, errors } = await openPage();
    for (const strategy of ['packnet', 'ewc']) {
      await page.selectOption('#scenario', 'split-mnist');
      await page.fill('#tasks', '2');
      await page.selectOption('#setting', 'task');
      await page.selectOption('#strategy', strategy);
      await page.fill('#iterations', '30');
      await page.evaluate(() => delete document.body.dataset.trained);
      await page.click('#train');
      await page.waitForSelector('body[data-trained="2"]', { timeout: 60_000 });
      const rows = await matrix(page);
      const [saving] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      const zipPath = join(scratch, `${strategy}.zip`);
      await saving.saveAs(zipPath);
      const folder = join(scratch, `${strategy}-from-page`);
      for (const [path, bytes] of await unzip(new Uint8Array(await readFile(zipPath)))) {
        await mkdir(dirname(join(folder, path)), { recursive: true });
        await writeFile(join(folder, path), bytes);
      }
      const opened = await loadLearner(join(folder, 'unforget-learner'));
      try {
        assert.equal(opened.strategy?.name, strategy);
        const row = accuracyRow(opened.learner, scenario, 1);
        row.forEach((a, j) =>
          assert.ok(
            Math.abs(a - rows[1][j]) <= 0.002,
            `${strategy}, task ${j + 1}: ${a} in Node, ${rows[1][j]} in the page`,
          ),
        );
      } finally {
        opened.strategy?.dispose?.();
        opened.learner.dispose();
      }
    }
    assert.deepEqual(errors, []);
    await page.close();
  },
);

test('every control can be reached with the Tab key', { timeout: 60_000 }, async () => {
  const { page } = await openPage();
  await page.selectOption('#scenario', 'images');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const reached = new Set<string>();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.id ?? '');
    if (id) reached.add(id);
  }
  for (const id of [
    'scenario',
    'drop',
    'tasks',
    'setting',
    'strategy',
    'backbone',
    'hidden',
    'iterations',
    'batch',
    'seed',
    'backend-choice',
    'train',
    'clear',
    'sample',
    'load-browser',
    'load-files-button',
    'load-folder-button',
    'report-button',
  ]) {
    assert.ok(reached.has(id), `#${id} is reached by Tab (reached: ${[...reached].join(', ')})`);
  }
  // Enter and Space on the drop zone open the folder picker: the folder input is clicked. (Whether
  // headless Chromium then shows its chooser to Playwright varies from page to page, so the test
  // checks the click, which is what the page does.)
  await page.evaluate(() => {
    const input = document.querySelector('#folder') as HTMLInputElement;
    input.dataset.clicks = '0';
    input.addEventListener('click', (e) => {
      input.dataset.clicks = String(Number(input.dataset.clicks) + 1);
      e.preventDefault();
    });
  });
  await page.focus('#drop');
  await page.keyboard.press('Enter');
  await page.keyboard.press(' ');
  assert.equal(await page.getAttribute('#folder', 'data-clicks'), '2');
  await page.close();
});
