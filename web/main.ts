/**
 * The unforget page: pick a scenario and a strategy, train task after task, watch what the network
 * keeps, try it on a drawing, save it. Plain DOM: a handful of controls and three small views need
 * no framework, and the bundle stays TensorFlow.js plus a few kilobytes.
 */
import * as tf from '@tensorflow/tfjs';
import type { BrowserBackend } from '../src/browser.js';
import { drawLines, drawLoss } from './charts.js';
import { resumeLife, startLife } from './life.js';
import { backendInUse, startBackend } from './backend.js';
import { startReportPanel } from './report-panel.js';
import { showError } from './messages.js';
import { savedInBrowser } from './model-store.js';
import { setBusy, state, ui } from './compare/state.js';
import { initForm, initStrategyOptions } from './compare/form.js';
import { initTraining, showRows } from './compare/training.js';
import { initImages } from './compare/images.js';
import { initTry } from './compare/try.js';
import { initKeep } from './compare/keep.js';

// In the order the page's parts were wired when they all lived in this file.
initStrategyOptions();
initForm();
initTraining();
initImages();
initTry();
initKeep();

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
