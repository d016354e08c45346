/**
 * The unforget page: pick a scenario and a strategy, train task after task, watch what the network
 * keeps, try it on a drawing, save it. Plain DOM: a handful of controls and three small views need
 * no framework, and the bundle stays TensorFlow.js plus a few kilobytes.
 */
import * as tf from '@tensorflow/tfjs';
import {
  learner as buildLearner,
  headIndex,
  outputNames,
  permuted,
  registry,
  seededRandom,
  split,
  strategyEntry,
  taskPermutations,
  train,
  OptionError,
  parseOptionValue,
  scenarioCatalog,
  type BackboneSpec,
  type BrowserBackend,
  type Dataset,
  type Learner,
  type RunResult,
  type Scenario,
  type ScenarioLayout,
  type Setting,
  type Strategy,
} from '../src/browser.js';
import { drawLines, drawLoss, renderMatrix, type LossPoint } from './charts.js';
import {
  bundledMnist,
  fromDrop,
  fromInput,
  readImageFolders,
  taskFolderScenario,
  type ImageFolders,
  type PickedFile,
} from './data.js';
import { drawPad } from './draw.js';
import { resumeLife, startLife } from './life.js';
import { backendInUse, startBackend } from './backend.js';
import { startReportPanel } from './report-panel.js';
import { showError, showMessage } from './messages.js';
import {
  download,
  loadFromBrowser,
  loadFromFiles,
  saveInBrowser,
  savedInBrowser,
  type PageNotes,
} from './model-store.js';
import { learnerFolder, type Folder, type OpenedLearner } from './learner-folder.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const ui = {
  form: $<HTMLFormElement>('setup'),
  scenario: $<HTMLSelectElement>('scenario'),
  imagesBox: $('images-box'),
  drop: $('drop'),
  folder: $<HTMLInputElement>('folder'),
  imagesSummary: $('images-summary'),
  tasks: $<HTMLInputElement>('tasks'),
  setting: $<HTMLSelectElement>('setting'),
  strategy: $<HTMLSelectElement>('strategy'),
  strategySummary: $('strategy-summary'),
  strategyOptions: $('strategy-options'),
  backbone: $<HTMLSelectElement>('backbone'),
  hidden: $<HTMLInputElement>('hidden'),
  iterations: $<HTMLInputElement>('iterations'),
  batch: $<HTMLInputElement>('batch'),
  seed: $<HTMLInputElement>('seed'),
  backendChoice: $<HTMLSelectElement>('backend-choice'),
  backend: $('backend'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  loss: $<HTMLCanvasElement>('loss'),
  matrix: $<HTMLTableElement>('matrix'),
  lines: document.getElementById('lines') as unknown as SVGSVGElement,
  metrics: $('metrics'),
  draw: $<HTMLCanvasElement>('draw'),
  clear: $<HTMLButtonElement>('clear'),
  sample: $<HTMLButtonElement>('sample'),
  predictions: $<HTMLOListElement>('predictions'),
  saveBrowser: $<HTMLButtonElement>('save-browser'),
  loadBrowser: $<HTMLButtonElement>('load-browser'),
  download: $<HTMLButtonElement>('download'),
  loadFilesButton: $<HTMLButtonElement>('load-files-button'),
  loadFiles: $<HTMLInputElement>('load-files'),
  loadFolderButton: $<HTMLButtonElement>('load-folder-button'),
  loadFolder: $<HTMLInputElement>('load-folder'),
  modelStatus: $('model-status'),
  reportButton: $<HTMLButtonElement>('report-button'),
  reportFile: $<HTMLInputElement>('report-file'),
  report: $<HTMLIFrameElement>('report'),
  message: $('message'),
  messageText: $('message-text'),
  messageClose: $<HTMLButtonElement>('message-close'),
};

/** Everything the page holds between clicks. */
const state: {
  learner: Learner | null;
  strategy: Strategy | null;
  /** What the page saves with the learner to show the run again. */
  notes: PageNotes | null;
  /** Per task, the pixel order its inputs use (permuted scenarios), else null. */
  permutations: Int32Array[] | null;
  /** Unpermuted test images for the "Test image" button. */
  samples: Dataset | null;
  images: ImageFolders | null;
  running: AbortController | null;
  loss: LossPoint[];
} = {
  learner: null,
  strategy: null,
  notes: null,
  permutations: null,
  samples: null,
  images: null,
  running: null,
  loss: [],
};

const sampleRandom = seededRandom(2024);

/** Shows how many tensors are alive on the body, so that a test can check nothing leaks. */
function countTensors(): void {
  document.body.dataset.tensors = String(tf.memory().numTensors);
}

// ---------- strategy options ----------

function renderStrategyOptions(): void {
  const entry = strategyEntry(ui.strategy.value);
  ui.strategySummary.textContent = entry.summary + (entry.needsOldData ? ' — keeps the old tasks’ data' : '');
  ui.strategyOptions.replaceChildren(
    ...entry.options.map((o) => {
      const label = document.createElement('label');
      label.textContent = o.name;
      let input: HTMLInputElement | HTMLSelectElement;
      if (o.kind === 'choice') {
        const select = document.createElement('select');
        select.append(new Option('default', ''), ...(o.choices ?? []).map((c) => new Option(c, c)));
        input = select;
      } else {
        const field = document.createElement('input');
        field.type = 'number';
        field.step = o.kind === 'integer' ? '1' : 'any';
        field.placeholder = 'default';
        input = field;
      }
      input.name = `option-${o.name}`;
      input.dataset.option = o.name;
      input.dataset.kind = o.kind;
      input.title = o.description;
      const help = document.createElement('span');
      help.className = 'help';
      help.textContent = ` ${o.description}`;
      label.append(help, input);
      return label;
    }),
  );
}

/** The options filled in, read by the library's own parser (the same as the command line's flags). */
function strategyOptionValues(): Record<string, number | string> {
  const entry = strategyEntry(ui.strategy.value);
  const out: Record<string, number | string> = {};
  for (const input of ui.strategyOptions.querySelectorAll<HTMLInputElement | HTMLSelectElement>(
    '[data-option]',
  )) {
    const name = input.dataset.option as string;
    const raw = input.value.trim();
    if (raw === '') continue;
    const option = entry.options.find((o) => o.name === name);
    if (option) out[name] = parseOptionValue(option, raw);
  }
  return out;
}

for (const entry of registry) ui.strategy.append(new Option(`${entry.name}: ${entry.summary}`, entry.name));
ui.strategy.addEventListener('change', renderStrategyOptions);
renderStrategyOptions();

// ---------- the form ----------

function whole(input: HTMLInputElement, name: string, min: number, max = Infinity): number {
  const n = Number(input.value);
  if (input.value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    input.focus();
    throw new OptionError(
      `${name} must be a whole number ${max === Infinity ? `of at least ${min}` : `from ${min} to ${max}`}`,
    );
  }
  return n;
}

interface Config {
  scenario: string;
  tasks: number;
  setting: Setting;
  strategy: string;
  options: Record<string, number | string>;
  backbone: BackboneSpec;
  iterations: number;
  batchSize: number;
  seed: number;
  backend: BrowserBackend;
}

function readForm(): Config {
  const widths = ui.hidden.value.split(',').map((w) => Number(w.trim()));
  if (widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    ui.hidden.focus();
    throw new OptionError(
      'hidden widths must be positive whole numbers separated by commas, e.g. 100 or 256,128',
    );
  }
  const backbone: BackboneSpec =
    ui.backbone.value === 'cnn'
      ? { kind: 'cnn', filters: [8, 16], dense: widths[0] }
      : { kind: 'mlp', hidden: widths };
  return {
    scenario: ui.scenario.value,
    tasks: whole(ui.tasks, 'Tasks', 1, 10),
    setting: ui.setting.value as Setting,
    strategy: ui.strategy.value,
    options: strategyOptionValues(),
    backbone,
    iterations: whole(ui.iterations, 'Steps per task', 1, 100_000),
    batchSize: whole(ui.batch, 'Batch size', 1, 4096),
    seed: whole(ui.seed, 'Seed', 0),
    backend: ui.backendChoice.value as BrowserBackend,
  };
}

ui.backbone.addEventListener('change', () => {
  const cnn = ui.backbone.value === 'cnn';
  $('hidden-label').textContent = cnn ? 'Dense width (after 8, 16 filters)' : 'Hidden widths';
  if (cnn) ui.hidden.value = ui.hidden.value.split(',')[0];
});

// The scenarios this page builds, named and described by the library's catalog (as on the command line).
const pageScenarios: Record<string, string> = {
  'split-mnist': 'Split MNIST',
  'permuted-mnist': 'Permuted MNIST',
  images: 'Your images',
};
ui.scenario.replaceChildren(
  ...scenarioCatalog
    .filter((s) => s.name in pageScenarios)
    .map(
      (s) =>
        new Option(`${pageScenarios[s.name]}: ${s.summary.replace(/ \(--data folder,[^)]*\)/, '')}`, s.name),
    ),
);

const defaultTasks: Record<string, string> = { 'split-mnist': '5', 'permuted-mnist': '5', images: '2' };
ui.scenario.addEventListener('change', () => {
  ui.imagesBox.hidden = ui.scenario.value !== 'images';
  ui.tasks.value = defaultTasks[ui.scenario.value] ?? ui.tasks.value;
});

/** The scenario to train, with the pixel order of each task (permuted) and the test images to sample. */
async function buildScenario(
  config: Config,
): Promise<{ scenario: Scenario; permutations: Int32Array[] | null; samples: Dataset }> {
  if (config.scenario === 'images') {
    const images = state.images;
    if (!images) {
      throw new OptionError(
        'drop a folder of images first (one sub-folder per class), or pick one with Enter',
      );
    }
    const scenario = images.taskClasses
      ? taskFolderScenario(images, config.setting)
      : split(images.data, { name: 'images', tasks: config.tasks, setting: config.setting });
    return { scenario, permutations: null, samples: images.data.test };
  }
  ui.status.textContent = 'Fetching the bundled MNIST…';
  const data = await bundledMnist();
  if (config.scenario === 'permuted-mnist') {
    const scenario = permuted(data, {
      name: 'permuted-mnist',
      tasks: config.tasks,
      setting: config.setting,
      seed: config.seed,
    });
    return { scenario, permutations: taskPermutations(config.tasks, 784, config.seed), samples: data.test };
  }
  const scenario = split(data, { name: 'split-mnist', tasks: config.tasks, setting: config.setting });
  return { scenario, permutations: null, samples: data.test };
}

// ---------- training ----------

let lossFrame = 0;
function scheduleLoss(): void {
  if (lossFrame) return;
  lossFrame = requestAnimationFrame(() => {
    lossFrame = 0;
    drawLoss(ui.loss, state.loss);
  });
}

function showRows(layout: ScenarioLayout, rows: readonly number[][]): void {
  renderMatrix(
    ui.matrix,
    layout.tasks.map((t) => t.name),
    rows,
  );
  drawLines(ui.lines, layout.tasks.length, rows);
}

function setBusy(busy: boolean): void {
  ui.train.disabled = busy;
  ui.stop.disabled = !busy;
  for (const el of ui.form.querySelectorAll<HTMLInputElement>('input, select')) el.disabled = busy;
  ui.saveBrowser.disabled = busy || !state.learner;
  ui.download.disabled = busy || !state.learner;
  ui.loadBrowser.disabled = busy;
  ui.loadFilesButton.disabled = busy;
  ui.loadFolderButton.disabled = busy;
  document.body.dataset.busy = String(busy);
}

function forgetLearner(): void {
  state.strategy?.dispose?.();
  state.learner?.dispose();
  state.strategy = null;
  state.learner = null;
  state.notes = null;
}

function showMetrics(result: RunResult): void {
  const pct = (v: number | null | undefined) =>
    v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;
  const m = result.metrics;
  ui.metrics.textContent = m
    ? `Average accuracy ${pct(m.averageAccuracy)} · backward transfer ${pct(m.backwardTransfer)} · ` +
      `forgetting ${pct(m.forgetting)} · ${result.cost.msPerStep.toFixed(1)} ms a step on ${result.backend}`
    : `Stopped after ${result.accuracyMatrix.length} task(s); the matrix shows what was kept.`;
}

async function runTraining(): Promise<void> {
  let config: Config;
  try {
    config = readForm();
  } catch (error) {
    showError(error);
    return;
  }
  ui.message.hidden = true;
  const controller = new AbortController();
  state.running = controller;
  setBusy(true);
  try {
    await startBackend(config.backend);
    const { scenario, permutations, samples } = await buildScenario(config);
    const strategy = strategyEntry(config.strategy).create(config.options);
    forgetLearner();
    state.permutations = permutations;
    state.samples = samples;
    const learner = buildLearner({ backbone: config.backbone, scenario, seed: config.seed });
    state.learner = learner;
    state.strategy = strategy;
    state.loss = [];
    const rows: number[][] = [];
    showRows(scenario, rows);
    ui.predictions.replaceChildren();
    ui.metrics.textContent = '';
    ui.progress.value = 0;
    const tasks = scenario.tasks.length;
    const started = performance.now();
    const result = await train(learner, scenario, strategy, {
      iterations: config.iterations,
      batchSize: config.batchSize,
      seed: config.seed,
      signal: controller.signal,
      onProgress: (p) => {
        ui.progress.value = (p.task + p.step / p.steps) / tasks;
        ui.status.textContent =
          `Task ${p.task + 1} of ${tasks} · ${p.phase} step ${p.step}/${p.steps} · ` +
          `loss ${p.loss.toFixed(3)} · ${p.examplesPerSecond} examples/s`;
        state.loss.push({ task: p.task, loss: p.loss });
        scheduleLoss();
      },
      onTaskEnd: (task, row) => {
        rows.push(row);
        showRows(scenario, rows);
        ui.status.textContent = `Task ${task + 1} of ${tasks} learned; testing every task…`;
      },
    });
    drawLoss(ui.loss, state.loss);
    state.notes = {
      savedAt: '',
      scenario: { kind: config.scenario, seed: config.seed, tasks: config.tasks },
      backbone: config.backbone,
      accuracyMatrix: result.accuracyMatrix,
    };
    ui.progress.value = result.stopped ? ui.progress.value : 1;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    ui.status.textContent = result.stopped
      ? `Stopped during task ${result.accuracyMatrix.length}; kept what it learned (${seconds} s).`
      : `Done: ${tasks} tasks in ${seconds} s on ${result.backend}.`;
    document.body.dataset.trained = String(learner.trainedTasks);
    showMetrics(result);
    predict();
  } catch (error) {
    ui.status.textContent = 'Training did not finish.';
    showError(error);
  } finally {
    state.running = null;
    setBusy(false);
    countTensors();
  }
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!state.running) void runTraining();
});
ui.stop.addEventListener('click', () => {
  state.running?.abort();
  ui.status.textContent = 'Stopping after this step…';
});

// ---------- your images ----------

async function takeImages(files: PickedFile[]): Promise<void> {
  state.images = null;
  ui.imagesSummary.textContent = 'Reading images…';
  try {
    const folders = await readImageFolders(files, undefined, (done, total) => {
      ui.imagesSummary.textContent = `Reading images… ${done}/${total}`;
    });
    state.images = folders;
    const classes = folders.data.train.classNames.length;
    const how = folders.taskClasses
      ? `${folders.taskClasses.length} tasks (${folders.taskNames.join(', ')})`
      : `${classes} classes, dealt into tasks`;
    ui.imagesSummary.textContent =
      `${folders.images - folders.skipped.filter((s) => s.endsWith('(does not decode)')).length} images, ` +
      `${classes} classes: ${how}.`;
    if (folders.taskClasses) ui.tasks.value = String(folders.taskClasses.length);
    if (folders.skipped.length > 0) {
      const shown = folders.skipped.slice(0, 8).join('\n');
      const more = folders.skipped.length > 8 ? `\n…and ${folders.skipped.length - 8} more` : '';
      showMessage(
        `Skipped ${folders.skipped.length} file(s) that are not usable images:\n${shown}${more}`,
        'info',
      );
    }
  } catch (error) {
    ui.imagesSummary.textContent = 'No usable images yet.';
    showError(error);
  }
}

ui.drop.addEventListener('click', () => ui.folder.click());
ui.drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    ui.folder.click();
  }
});
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
// A folder dropped anywhere on the page is taken as your images (and the browser does not leave the
// page to show a dropped file).
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  if (!e.dataTransfer || state.running) return;
  ui.scenario.value = 'images';
  ui.scenario.dispatchEvent(new Event('change'));
  void fromDrop(e.dataTransfer.items).then(takeImages, showError);
});
ui.folder.addEventListener('change', () => {
  const picked = ui.folder.files && ui.folder.files.length > 0 ? fromInput(ui.folder.files) : [];
  ui.folder.value = ''; // so that picking the same folder again (after fixing it) reads it again
  if (picked.length > 0) void takeImages(picked);
});

// ---------- trying it ----------

const pad = drawPad(ui.draw, () => predict());

/** Each trained task's answer for the pad's image. */
function predict(): void {
  const learner = state.learner;
  if (!learner || learner.trainedTasks === 0) {
    ui.predictions.replaceChildren();
    return;
  }
  const pixels = pad.pixels();
  if (!pixels) {
    ui.predictions.replaceChildren();
    return;
  }
  const layout = learner.layout;
  const items: HTMLLIElement[] = [];
  // In the class setting every task shares one head over all classes so far: one answer says it all.
  const single = layout.setting === 'class' && !state.permutations;
  const tasks = single
    ? [learner.trainedTasks - 1]
    : Array.from({ length: learner.trainedTasks }, (_, t) => t);
  for (const task of tasks) {
    // Each permuted task sees its own pixel order (Float32Array.from: an Int32Array's map would round the values).
    const order = state.permutations?.[task];
    const input = order ? Float32Array.from(order, (p) => pixels[p]) : pixels;
    const probs = tf.tidy(() => learner.predict(tf.tensor4d(Float32Array.from(input), [1, 28, 28, 1]), task));
    const values = probs.dataSync();
    probs.dispose();
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    // In the domain setting the shared head's outputs mean this task's classes.
    const names =
      layout.setting === 'domain'
        ? layout.tasks[task].classNames
        : outputNames(layout, headIndex(layout, task));
    const name = names[best] ?? String(best);
    const li = document.createElement('li');
    li.dataset.task = String(task);
    li.dataset.prediction = name;
    const who = single ? `All ${values.length} classes learned so far` : layout.tasks[task].name;
    li.textContent = `${who}: ${name} (${(values[best] * 100).toFixed(0)}%)`;
    items.push(li);
  }
  ui.predictions.replaceChildren(...items);
  countTensors();
}

ui.clear.addEventListener('click', () => {
  pad.clear();
  predict();
});
ui.sample.addEventListener('click', async () => {
  try {
    if (!state.samples && state.learner?.layout.name === 'images') {
      throw new OptionError('the test images of this learner are your own: drop their folder again, or draw');
    }
    if (!state.samples) state.samples = (await bundledMnist()).test;
    const d = state.samples;
    const i = Math.floor(sampleRandom() * d.labels.length);
    pad.show(d.inputs.subarray(i * 784, (i + 1) * 784));
    ui.predictions.dataset.truth = d.classNames[d.labels[i]];
    predict();
    const li = document.createElement('li');
    li.className = 'help';
    li.textContent = `(the test image is a ${d.classNames[d.labels[i]]})`;
    if (state.learner) ui.predictions.append(li);
  } catch (error) {
    showError(error);
  }
});

// ---------- keeping it ----------

function isNotes(value: unknown): value is PageNotes {
  const n = value as Partial<PageNotes> | null;
  return !!n && typeof n === 'object' && Array.isArray(n.accuracyMatrix) && typeof n.scenario === 'object';
}

function adopt(opened: OpenedLearner, from: string): void {
  forgetLearner();
  state.learner = opened.learner;
  state.strategy = opened.strategy;
  const notes = isNotes(opened.page) ? opened.page : null;
  state.notes = notes;
  const layout = opened.learner.layout;
  state.permutations =
    notes?.scenario.kind === 'permuted-mnist'
      ? taskPermutations(notes.scenario.tasks, 784, notes.scenario.seed)
      : null;
  state.samples = layout.name === 'images' ? (state.images?.data.test ?? null) : null;
  showRows(layout, notes?.accuracyMatrix ?? []);
  const trained = opened.learner.trainedTasks;
  document.body.dataset.trained = String(trained);
  const strategy = opened.strategy?.name ?? 'no strategy saved';
  ui.metrics.textContent = `Loaded (${strategy}, ${trained} task(s) learned).`;
  ui.modelStatus.textContent = `Loaded from ${from}: ${layout.name}, ${trained} task(s), ${strategy}.`;
  if (!notes && layout.name.startsWith('permuted')) {
    showMessage(
      'This learner was saved outside the page: its pixel permutations are unknown here, so drawings are shown to it unpermuted.',
      'info',
    );
  }
  setBusy(false);
  countTensors();
  predict();
}

async function currentFolder(): Promise<Folder> {
  if (!state.learner || !state.notes) throw new OptionError('train a learner first');
  return learnerFolder(state.learner, state.strategy, { ...state.notes, savedAt: new Date().toISOString() });
}

ui.saveBrowser.addEventListener('click', async () => {
  try {
    const folder = await currentFolder();
    const name = `${state.learner?.layout.name}, ${state.learner?.trainedTasks} task(s)`;
    await saveInBrowser(folder, name);
    ui.modelStatus.textContent = `Saved in this browser (${name}).`;
  } catch (error) {
    showError(error);
  }
});
ui.loadBrowser.addEventListener('click', async () => {
  try {
    await startBackend(ui.backendChoice.value as BrowserBackend);
    adopt(await loadFromBrowser(), 'this browser');
  } catch (error) {
    showError(error);
  }
});
ui.download.addEventListener('click', async () => {
  try {
    const name = download(await currentFolder());
    ui.modelStatus.textContent = `Downloaded ${name}: unzip it and Learner.load the folder in Node.`;
  } catch (error) {
    showError(error);
  }
});

async function loadPicked(input: HTMLInputElement): Promise<void> {
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length === 0) return;
  try {
    await startBackend(ui.backendChoice.value as BrowserBackend);
    adopt(await loadFromFiles(files), files.length === 1 ? files[0].name : 'a folder');
  } catch (error) {
    showError(error);
  }
}
ui.loadFilesButton.addEventListener('click', () => ui.loadFiles.click());
ui.loadFiles.addEventListener('change', () => void loadPicked(ui.loadFiles));
ui.loadFolderButton.addEventListener('click', () => ui.loadFolder.click());
ui.loadFolder.addEventListener('change', () => void loadPicked(ui.loadFolder));

// ---------- start ----------

let resizeFrame = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => drawLoss(ui.loss, state.loss));
});

// TensorFlow.js on the page's window, for trying an exported model from the console (and for tests).
(globalThis as unknown as { tf: typeof tf }).tf = tf;

async function start(): Promise<void> {
  startLife();
  startReportPanel();
  const params = new URLSearchParams(location.search);
  const asked = params.get('backend');
  if (asked && ['auto', 'webgl', 'wasm', 'cpu'].includes(asked)) ui.backendChoice.value = asked;
  drawLoss(ui.loss, []);
  showRows({ name: '', setting: 'task', inputShape: [28, 28, 1], tasks: [] }, []);
  drawLines(ui.lines, 0, []);
  try {
    await startBackend(ui.backendChoice.value as BrowserBackend);
    ui.status.textContent = 'Ready. Pick a scenario and a strategy, then Train.';
  } catch (error) {
    ui.status.textContent = 'No TensorFlow.js backend could start.';
    showError(error);
  }
  if (backendInUse()) await resumeLife();
  const saved = await savedInBrowser();
  if (saved)
    ui.modelStatus.textContent = `A learner is saved in this browser (${saved.name}, ${saved.savedAt}).`;
  setBusy(false);
  document.body.dataset.ready = 'true';
}

void start();
