/** The "Compare methods" page's shared pieces: its elements, what it holds between clicks, small helpers. */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, Learner, Strategy } from '../../src/browser.js';
import type { LossPoint } from '../charts.js';
import type { ImageFolders } from '../data.js';
import type { PageNotes } from '../model-store.js';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

export const ui = {
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
export const state: {
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

/** Shows how many tensors are alive on the body, so that a test can check nothing leaks. */
export function countTensors(): void {
  document.body.dataset.tensors = String(tf.memory().numTensors);
}

export function setBusy(busy: boolean): void {
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

export function forgetLearner(): void {
  state.strategy?.dispose?.();
  state.learner?.dispose();
  state.strategy = null;
  state.learner = null;
  state.notes = null;
}
