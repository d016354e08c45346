/**
 * The page's main flow: a model's life. Start from a new network, a saved learner or a plain TF.js
 * model (adopted with its classifier as the first task); add a task from a folder of images, drawings
 * or built-in digits; watch the accuracy matrix grow; try it; take it with you. After every task the
 * learner and the test images of each task are kept in this browser (IndexedDB).
 */
import * as tf from '@tensorflow/tfjs';
import {
  DataError,
  ModelError,
  OptionError,
  TaskError,
  exportTask,
  fromPretrained,
  learn,
  learner as buildLearner,
  registry,
  splitPerClass,
  strategyEntry,
  withClasses,
  type Dataset,
  type Learner,
  type Strategy,
} from '../src/browser.js';
import { drawLoss, type LossPoint } from './charts.js';
import { bundledMnist, decodeImage, fromDrop, fromInput, readImageFolders, type PickedFile } from './data.js';
import { drawPad } from './draw.js';
import { learnerFolder, openLearnerFolder, stripTopFolder, type Folder } from './learner-folder.js';
import { hideMessage, showError, showMessage } from './messages.js';
import { download, filesToFolder, loadLife, offer, saveLife, type KeptTest } from './model-store.js';
import { zip } from './zip.js';
import { manifestName } from '../src/persist/format.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const ui = {
  status: $('life-status'),
  newButton: $<HTMLButtonElement>('life-new'),
  openButton: $<HTMLButtonElement>('life-open-button'),
  open: $<HTMLInputElement>('life-open'),
  openFolderButton: $<HTMLButtonElement>('life-open-folder-button'),
  openFolder: $<HTMLInputElement>('life-open-folder'),
  form: $<HTMLFormElement>('life-task'),
  name: $<HTMLInputElement>('life-name'),
  source: $<HTMLSelectElement>('life-source'),
  sourceFolder: $('life-source-folder'),
  sourceDraw: $('life-source-draw'),
  sourceDigits: $('life-source-digits'),
  folderButton: $<HTMLButtonElement>('life-folder-button'),
  folder: $<HTMLInputElement>('life-folder'),
  folderSummary: $('life-folder-summary'),
  classes: $<HTMLInputElement>('life-classes'),
  classList: $<HTMLUListElement>('life-class-list'),
  digits: $<HTMLInputElement>('life-digits'),
  method: $<HTMLSelectElement>('life-method'),
  methodNote: $('life-method-note'),
  steps: $<HTMLInputElement>('life-steps'),
  batch: $<HTMLInputElement>('life-batch'),
  learn: $<HTMLButtonElement>('life-learn'),
  stop: $<HTMLButtonElement>('life-stop'),
  progress: $<HTMLProgressElement>('life-progress'),
  trainStatus: $('life-train-status'),
  loss: $<HTMLCanvasElement>('life-loss'),
  matrix: $<HTMLTableElement>('life-matrix'),
  storage: $('life-storage'),
  draw: $<HTMLCanvasElement>('life-draw'),
  clear: $<HTMLButtonElement>('life-clear'),
  tryButton: $<HTMLButtonElement>('life-try-button'),
  tryFile: $<HTMLInputElement>('life-try'),
  predictions: $<HTMLOListElement>('life-predictions'),
  download: $<HTMLButtonElement>('life-download'),
  exportTask: $<HTMLSelectElement>('life-export-task'),
  exportButton: $<HTMLButtonElement>('life-export'),
};

/** The page's notes saved in the learner's folder (page.json). */
interface LifeNotes {
  life: true;
  /** Per task learned, test accuracy on every task so far (null: no test data kept). */
  rows: (number | null)[][];
}

const life: {
  learner: Learner | null;
  strategy: Strategy | null;
  rows: (number | null)[][];
  tests: Record<string, KeptTest>;
  folder: PickedFile[] | null;
  drawn: Float32Array[][];
  running: AbortController | null;
  loss: LossPoint[];
} = {
  learner: null,
  strategy: null,
  rows: [],
  tests: {},
  folder: null,
  drawn: [],
  running: null,
  loss: [],
};

/** The page works on 28×28 grayscale images; a learner takes them in its own shape of 784 values. */
const pageSize = 784;

function checkInputShape(learner: Learner, from: string): void {
  const shape = learner.layout.inputShape;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== pageSize) {
    throw new ModelError(
      `${from} takes inputs of shape [${shape.join(', ')}] (${size} values); this page gives 28×28 grayscale ` +
        'images (784 values): pick a model made for 28×28 grayscale input. Nothing was changed.',
    );
  }
}

/** A page dataset ([n, 28, 28, 1]) in the learner's input shape. */
function fitted(d: Dataset, learner: Learner): Dataset {
  return { ...d, shape: [d.labels.length, ...learner.layout.inputShape] };
}

const taskNames = (learner: Learner | null): string[] =>
  learner ? learner.layout.tasks.slice(0, learner.trainedTasks).map((t) => t.name) : [];

// ---------- showing it ----------

function pct(v: number | null): string {
  return v === null ? '' : `${(v * 100).toFixed(1)}%`;
}

function shade(a: number): string {
  const light = Math.round(96 - a * 40);
  return `hsl(${Math.round(a * 120)}, 60%, ${light}%)`;
}

function renderLifeMatrix(): void {
  const names = taskNames(life.learner);
  const head = ui.matrix.tHead ?? ui.matrix.createTHead();
  const body = ui.matrix.tBodies[0] ?? ui.matrix.createTBody();
  head.replaceChildren();
  body.replaceChildren();
  if (names.length === 0) return;
  const top = head.insertRow();
  const corner = document.createElement('th');
  corner.textContent = 'after \\ on';
  top.append(corner);
  names.forEach((name, j) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = `T${j + 1}`;
    th.title = name;
    top.append(th);
  });
  names.forEach((name, i) => {
    const tr = body.insertRow();
    tr.dataset.task = String(i);
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = name;
    tr.append(th);
    for (let j = 0; j < names.length; j++) {
      const td = tr.insertCell();
      const a = life.rows[i]?.[j];
      if (j > i) continue;
      if (a === null || a === undefined) {
        td.className = 'none';
        td.textContent = 'no test data kept';
        td.dataset.accuracy = 'none';
      } else {
        td.textContent = pct(a);
        td.dataset.accuracy = String(a);
        td.style.background = shade(a);
      }
    }
  });
}

function describe(): void {
  const l = life.learner;
  const names = taskNames(l);
  document.body.dataset.lifeTasks = String(names.length);
  if (!l) {
    ui.status.textContent =
      'No learner yet: start from a new network, or add a task (a new network is made).';
  } else {
    const method = life.strategy ? life.strategy.name : 'no method yet';
    ui.status.textContent =
      `Learner: ${names.length} task(s)${names.length ? ` (${names.join(', ')})` : ''}, method ${method}.` +
      (l.pretrained ? ' Adopted from a TF.js model.' : '');
  }
  // The method is chosen for the learner's first new task; later tasks keep it.
  ui.method.disabled = !!life.strategy || !!life.running;
  if (life.strategy) ui.method.value = life.strategy.name;
  ui.methodNote.textContent = life.strategy
    ? `This learner keeps ${life.strategy.name} for every later task (its state carries what it remembers).`
    : 'Chosen for the first new task; later tasks keep it.';
  ui.exportTask.replaceChildren(
    ...names.map((n) => {
      const o = document.createElement('option');
      o.value = n;
      o.textContent = n;
      return o;
    }),
  );
  const busy = !!life.running;
  ui.download.disabled = busy || !l;
  ui.exportButton.disabled = busy || names.length === 0;
  ui.learn.disabled = busy;
  ui.stop.disabled = !busy;
  ui.newButton.disabled = busy;
  ui.openButton.disabled = busy;
  ui.openFolderButton.disabled = busy;
  renderLifeMatrix();
}

function setLearner(learner: Learner | null, strategy: Strategy | null, rows: (number | null)[][]): void {
  if (life.learner && life.learner !== learner) {
    life.strategy?.dispose?.();
    life.learner.dispose();
  }
  life.learner = learner;
  life.strategy = strategy;
  life.rows = rows;
  ui.predictions.replaceChildren();
  describe();
}

/** Pads the matrix to one row per learned task (tasks learned elsewhere have no row of their own). */
function rowsFor(learner: Learner, notes: unknown): (number | null)[][] {
  const n = notes as Partial<LifeNotes> | null;
  const rows = n && Array.isArray(n.rows) ? n.rows.slice(0, learner.trainedTasks) : [];
  while (rows.length < learner.trainedTasks) rows.push(Array.from({ length: rows.length + 1 }, () => null));
  return rows;
}

// ---------- keeping it in this browser ----------

function notes(): LifeNotes {
  return { life: true, rows: life.rows };
}

const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

/** Saves the learner and the kept test images; says how many bytes each task costs. */
async function keep(): Promise<void> {
  const l = life.learner;
  if (!l) return;
  const files = await learnerFolder(l, life.strategy, notes());
  const tests = Object.fromEntries(
    Object.entries(life.tests).filter(([name]) => taskNames(l).includes(name)),
  );
  await saveLife(files, tests);
  const size = (prefix: string) =>
    [...files].filter(([p]) => p.startsWith(prefix)).reduce((s, [, b]) => s + b.length, 0);
  const total = [...files.values()].reduce((s, b) => s + b.length, 0);
  const testBytes = (name: string) => {
    const t = tests[name];
    return t ? t.inputs.byteLength + t.labels.byteLength : 0;
  };
  const perTask = taskNames(l).map((name) => {
    const i = l.layout.setting === 'task' ? l.taskIndex(name) : 0;
    const head = size(`heads/${i + 1}/`);
    return { name, head, test: testBytes(name) };
  });
  const all = total + perTask.reduce((s, t) => s + t.test, 0);
  ui.storage.textContent =
    `Kept in this browser: ${kB(all)} — the network ${kB(size('trunk/'))}, method state ${kB(size('state.bin'))}; ` +
    perTask.map((t) => `${t.name}: head ${kB(t.head)} + test images ${kB(t.test)}`).join('; ') +
    '.';
  ui.storage.dataset.bytes = String(all);
  ui.storage.dataset.shared = JSON.stringify({ trunk: size('trunk/'), state: size('state.bin') });
  ui.storage.dataset.perTask = JSON.stringify(perTask);
}

async function keepOrSay(): Promise<void> {
  try {
    await keep();
  } catch (error) {
    showError(error);
  }
}

// ---------- starting from ----------

function newLearner(): Learner {
  return buildLearner({
    backbone: { kind: 'mlp', hidden: [100] },
    inputShape: [28, 28, 1],
    setting: 'task',
    seed: 1,
  });
}

/** A plain TF.js model (model.json and its weight files) from a folder of files. */
async function plainModel(folder: Folder): Promise<tf.LayersModel> {
  const jsonPath = [...folder.keys()].find((p) => p === 'model.json' || p.endsWith('/model.json'));
  if (!jsonPath) {
    throw new ModelError(
      'found neither a learner (unforget.json) nor a TF.js model (model.json); pick a learner’s ZIP or folder, or a model.json with its weights',
    );
  }
  const base = jsonPath.slice(0, jsonPath.length - 'model.json'.length);
  const json = JSON.parse(new TextDecoder().decode(folder.get(jsonPath))) as {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  if (!json.modelTopology)
    throw new ModelError(`${jsonPath} has no modelTopology: it is not a TF.js layers model`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const bytes = folder.get(base + p) ?? folder.get(p.split('/').pop() ?? p);
      if (!bytes)
        throw new ModelError(
          `the weights file ${p} named in ${jsonPath} is missing; pick it with model.json`,
        );
      parts.push(bytes);
    }
  }
  const total = parts.reduce((s, b) => s + b.length, 0);
  const weights = new Uint8Array(total);
  let at = 0;
  for (const b of parts) {
    weights.set(b, at);
    at += b.length;
  }
  return tf.loadLayersModel(tf.io.fromMemory(json.modelTopology, specs, weights.buffer));
}

/** Opens a learner's folder, or adopts a plain TF.js model with its classifier as the first task. */
async function openFiles(files: readonly File[]): Promise<void> {
  const raw = await filesToFolder(files);
  const folder = stripTopFolder(raw);
  if (folder.has(manifestName)) {
    const opened = await openLearnerFolder(folder);
    try {
      checkInputShape(opened.learner, 'this learner');
    } catch (error) {
      opened.strategy?.dispose?.();
      opened.learner.dispose();
      throw error;
    }
    life.tests = {};
    setLearner(opened.learner, opened.strategy, rowsFor(opened.learner, opened.page));
    await keepOrSay();
    return;
  }
  const model = await plainModel(folder);
  let adopted: Learner;
  try {
    const shape = model.inputs[0].shape.slice(1);
    const size = shape.reduce<number>((a, b) => a * (b ?? 1), 1);
    if (size !== pageSize) {
      throw new ModelError(
        `this model takes inputs of shape [${shape.join(', ')}] (${size} values); this page gives 28×28 grayscale ` +
          'images (784 values): pick a model made for 28×28 grayscale input. Nothing was changed.',
      );
    }
    const outputs = model.outputs[0].shape[1] ?? 0;
    const given = ui.name.value.trim();
    const name = given || files[0].name.replace(/\.(zip|json)$/i, '') || 'adopted';
    adopted = fromPretrained(model, {
      keepHead: { name, classNames: Array.from({ length: outputs }, (_, i) => String(i)) },
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
  life.tests = {};
  setLearner(adopted, null, [[null]]);
  ui.name.value = '';
  await keepOrSay();
}

async function openPicked(input: HTMLInputElement): Promise<void> {
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length === 0 || life.running) return;
  hideMessage();
  try {
    await openFiles(files);
    showMessage(`Opened: ${taskNames(life.learner).length} task(s). Add the next one.`, 'info');
  } catch (error) {
    showError(error);
  }
}

// ---------- the new task's examples ----------

function classNamesGiven(): string[] {
  return ui.classes.value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

function renderClassList(): void {
  const names = classNamesGiven();
  while (life.drawn.length < names.length) life.drawn.push([]);
  life.drawn.length = names.length;
  ui.classList.replaceChildren(
    ...names.map((name, i) => {
      const li = document.createElement('li');
      const count = document.createElement('span');
      count.className = 'count';
      count.dataset.class = String(i);
      count.textContent = `${name}: ${life.drawn[i].length}`;
      const add = document.createElement('button');
      add.type = 'button';
      add.dataset.addClass = String(i);
      add.textContent = `Add drawing to ${name}`;
      add.addEventListener('click', () => {
        const pixels = pad.pixels();
        if (!pixels) {
          showMessage('draw an example on the pad first');
          return;
        }
        life.drawn[i].push(Float32Array.from(pixels));
        pad.clear();
        renderClassList();
      });
      const files = document.createElement('input');
      files.type = 'file';
      files.multiple = true;
      files.accept = 'image/*';
      files.dataset.filesClass = String(i);
      files.setAttribute('aria-label', `Image files for ${name}`);
      files.addEventListener('change', async () => {
        const picked = [...(files.files ?? [])];
        files.value = '';
        try {
          for (const f of picked) life.drawn[i].push(await decodeImage(f));
        } catch (error) {
          showError(new DataError(`an image does not decode (${String(error)}); use PNG, JPEG, GIF or WebP`));
        }
        renderClassList();
      });
      li.append(count, add, files);
      return li;
    }),
  );
}

function parseDigits(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d)\s*(?:-\s*(\d)\s*)?$/.exec(part);
    if (!m || Number(m[1]) > Number(m[2] ?? m[1])) {
      throw new OptionError(`'${text}' is not a set of digits; write a range or a list, e.g. 0-4 or 0,2,4`);
    }
    for (let d = Number(m[1]); d <= Number(m[2] ?? m[1]); d++) out.add(d);
  }
  return [...out].sort((a, b) => a - b);
}

/** The new task's training and test sets (28×28×1), its classes and where they came from. */
async function taskData(): Promise<{ train: Dataset; test: Dataset; classes?: number[]; source: string }> {
  const source = ui.source.value;
  if (source === 'folder') {
    if (!life.folder) throw new DataError('pick a folder of images first (one sub-folder per class)');
    const read = await readImageFolders(life.folder, undefined, (done, total) => {
      ui.trainStatus.textContent = `Reading images… ${done}/${total}`;
    });
    if (read.taskClasses) {
      throw new DataError(
        'this folder holds folders of folders; for one task give one sub-folder per class (images inside)',
      );
    }
    return { ...read.data, source: 'a folder of images' };
  }
  if (source === 'draw') {
    const names = classNamesGiven();
    if (names.length < 2) throw new DataError('a task needs at least two classes: name them, e.g. "a, b"');
    const thin = names.filter((_, i) => life.drawn[i].length < 2);
    if (thin.length > 0) {
      throw new DataError(
        `every class needs at least 2 examples (one to train, one to test); add more to: ${thin.join(', ')}`,
      );
    }
    const split = splitPerClass(life.drawn, names, [28, 28, 1]);
    return { ...split, source: 'drawn in the page' };
  }
  const digits = parseDigits(ui.digits.value);
  if (digits.length < 2) throw new DataError('pick at least two digits, e.g. 0-4');
  const mnist = await bundledMnist();
  return {
    train: withClasses(mnist.train, digits),
    test: withClasses(mnist.test, digits),
    classes: digits,
    source: `mnist:${ui.digits.value.replace(/\s/g, '')}`,
  };
}

/** A kept test set as a dataset (a built-in digit set's from the bundled MNIST). */
async function keptTest(kept: KeptTest): Promise<Dataset> {
  if (kept.digits) return withClasses((await bundledMnist()).test, kept.digits);
  return { inputs: kept.inputs, labels: kept.labels, shape: kept.shape, classNames: kept.classNames };
}

// ---------- learning a task ----------

async function learnTask(): Promise<void> {
  const name = ui.name.value.trim();
  if (name === '') {
    showError(new OptionError('give the task a name, e.g. "shapes"'));
    ui.name.focus();
    return;
  }
  if (taskNames(life.learner).includes(name)) {
    showError(
      new TaskError(
        `the learner already knows a task named '${name}'; give the new task another name (its tasks: ${taskNames(life.learner).join(', ')})`,
      ),
    );
    return;
  }
  hideMessage();
  const controller = new AbortController();
  life.running = controller;
  describe();
  let made: Learner | null = null;
  let madeStrategy: Strategy | null = null;
  try {
    const data = await taskData();
    const learner = life.learner ?? (made = newLearner());
    const strategy = life.strategy ?? (madeStrategy = strategyEntry(ui.method.value).create({}));
    const oldData: Record<string, { test: Dataset }> = {};
    for (const t of taskNames(learner).filter((t) => life.tests[t])) {
      oldData[t] = { test: fitted(await keptTest(life.tests[t]), learner) };
    }
    life.loss = [];
    ui.progress.value = 0;
    const started = performance.now();
    const result = await learn(
      learner,
      {
        name,
        train: fitted(data.train, learner),
        test: fitted(data.test, learner),
        classes: data.classes,
        source: data.source,
      },
      strategy,
      {
        iterations: Math.max(1, Number(ui.steps.value) || 60),
        batchSize: Math.max(1, Number(ui.batch.value) || 32),
        seed: learner.trainedTasks,
        signal: controller.signal,
        oldData,
        onProgress: (p) => {
          ui.progress.value = p.step / p.steps;
          ui.trainStatus.textContent = `${p.phase} step ${p.step}/${p.steps} · loss ${p.loss.toFixed(3)}`;
          life.loss.push({ task: 0, loss: p.loss });
          drawLoss(ui.loss, life.loss);
        },
      },
    );
    const ms = performance.now() - started;
    made = null;
    madeStrategy = null;
    life.learner = learner;
    life.strategy = strategy;
    life.tests[name] = data.classes
      ? {
          inputs: new Float32Array(0),
          labels: new Int32Array(0),
          shape: [0],
          classNames: [],
          digits: data.classes,
        }
      : {
          inputs: data.test.inputs,
          labels: data.test.labels,
          shape: [...data.test.shape],
          classNames: [...data.test.classNames],
        };
    life.rows.push([...result.accuracies]);
    ui.trainStatus.textContent =
      `${result.stopped ? 'Stopped early; kept what it learned' : 'Learned'} '${name}' in ${(ms / 1000).toFixed(1)} s ` +
      `(${result.steps} steps, ${data.train.labels.length} training and ${data.test.labels.length} test images).`;
    ui.trainStatus.dataset.ms = String(Math.round(ms));
    ui.name.value = '';
    life.drawn = life.drawn.map(() => []);
    renderClassList();
    life.running = null;
    describe();
    await keepOrSay();
    predict();
  } catch (error) {
    made?.dispose();
    madeStrategy?.dispose?.();
    ui.trainStatus.textContent = 'The task was not learned; the learner is as it was.';
    showError(error);
  } finally {
    life.running = null;
    describe();
    document.body.dataset.tensors = String(tf.memory().numTensors);
  }
}

// ---------- trying it ----------

function predictPixels(pixels: Float32Array | null): void {
  const l = life.learner;
  if (!l || !pixels || l.trainedTasks === 0) {
    ui.predictions.replaceChildren();
    return;
  }
  const items = taskNames(l).map((name) => {
    const probs = tf.tidy(() =>
      l.predict(tf.tensor(Float32Array.from(pixels), [1, ...l.layout.inputShape]), name),
    );
    const values = probs.dataSync();
    probs.dispose();
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    const t = l.layout.tasks[l.taskIndex(name)];
    const answer = t.classNames[best] ?? String(best);
    const li = document.createElement('li');
    li.dataset.task = name;
    li.dataset.prediction = answer;
    li.textContent = `${name}: ${answer} (${(values[best] * 100).toFixed(0)}%)`;
    return li;
  });
  ui.predictions.replaceChildren(...items);
}

const pad = drawPad(ui.draw, () => predict());

function predict(): void {
  predictPixels(pad.pixels());
}

// ---------- taking it with you ----------

/** One task as a plain TF.js model: model.json and weights.bin in a ZIP. */
async function exportZip(learner: Learner, task: string): Promise<Uint8Array> {
  const model = exportTask(learner, task);
  try {
    let files: Folder = new Map();
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
        const json = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: 'unforget',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        files = new Map([
          ['model.json', new TextEncoder().encode(JSON.stringify(json))],
          ['weights.bin', weights],
        ]);
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    return zip(files);
  } finally {
    model.dispose();
  }
}

// ---------- wiring ----------

function showSource(): void {
  ui.sourceFolder.hidden = ui.source.value !== 'folder';
  ui.sourceDraw.hidden = ui.source.value !== 'draw';
  ui.sourceDigits.hidden = ui.source.value !== 'digits';
}

async function takeFolder(files: PickedFile[]): Promise<void> {
  life.folder = files.length > 0 ? files : null;
  const classes = new Set(files.filter((f) => f.folders.length > 0).map((f) => f.folders.join('/')));
  ui.folderSummary.textContent = `${files.length} file(s) in ${classes.size} class folder(s): ${[...classes].slice(0, 8).join(', ')}`;
}

export function startLife(): void {
  for (const entry of registry.filter((e) => !e.needsOldData)) {
    const o = document.createElement('option');
    o.value = entry.name;
    o.textContent = `${entry.name}: ${entry.summary}`;
    ui.method.append(o);
  }
  ui.method.value = registry.some((e) => e.name === 'ewc') ? 'ewc' : ui.method.options[0].value;
  ui.source.addEventListener('change', showSource);
  ui.classes.addEventListener('input', renderClassList);
  renderClassList();
  showSource();
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!life.running) void learnTask();
  });
  ui.stop.addEventListener('click', () => life.running?.abort());
  ui.newButton.addEventListener('click', async () => {
    life.tests = {};
    setLearner(newLearner(), null, []);
    showMessage('A new network: name its first task and give it examples.', 'info');
  });
  ui.openButton.addEventListener('click', () => ui.open.click());
  ui.open.addEventListener('change', () => void openPicked(ui.open));
  ui.openFolderButton.addEventListener('click', () => ui.openFolder.click());
  ui.openFolder.addEventListener('change', () => void openPicked(ui.openFolder));
  ui.folderButton.addEventListener('click', () => ui.folder.click());
  ui.folder.addEventListener('change', () => {
    const picked = ui.folder.files ? fromInput(ui.folder.files) : [];
    ui.folder.value = '';
    void takeFolder(picked);
  });
  ui.sourceFolder.addEventListener('dragover', (e) => e.preventDefault());
  ui.sourceFolder.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    if (e.dataTransfer) void fromDrop(e.dataTransfer.items).then(takeFolder, showError);
  });
  ui.clear.addEventListener('click', () => {
    pad.clear();
    predict();
  });
  ui.tryButton.addEventListener('click', () => ui.tryFile.click());
  ui.tryFile.addEventListener('change', async () => {
    const file = ui.tryFile.files?.[0];
    ui.tryFile.value = '';
    if (!file) return;
    try {
      const pixels = await decodeImage(file);
      pad.show(pixels);
      predictPixels(pixels);
    } catch (error) {
      showError(new DataError(`${file.name} does not decode as an image (${String(error)})`));
    }
  });
  ui.download.addEventListener('click', async () => {
    if (!life.learner) return;
    try {
      download(await learnerFolder(life.learner, life.strategy, notes()));
    } catch (error) {
      showError(error);
    }
  });
  ui.exportButton.addEventListener('click', async () => {
    const task = ui.exportTask.value;
    if (!life.learner || !task) return;
    try {
      offer(await exportZip(life.learner, task), `${task.replace(/[^\w.-]+/g, '_')}-tfjs-model.zip`);
    } catch (error) {
      showError(error);
    }
  });
  describe();
}

/** Brings back the learner kept in this browser, if any (after the backend started). */
export async function resumeLife(): Promise<void> {
  const record = await loadLife();
  if (!record) return;
  try {
    const opened = await openLearnerFolder(record.files);
    life.tests = record.tests ?? {};
    setLearner(opened.learner, opened.strategy, rowsFor(opened.learner, opened.page));
    await keep();
  } catch (error) {
    showError(error);
  }
}
