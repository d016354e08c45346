/** Training on the "Compare methods" page: the run, its loss curve, its accuracy matrix and metrics. */
import {
  learner as buildLearner,
  strategyEntry,
  train,
  type RunResult,
  type ScenarioLayout,
} from '../../src/browser.js';
import { drawLines, drawLoss, renderMatrix } from '../charts.js';
import { startBackend } from '../backend.js';
import { showError } from '../messages.js';
import { countTensors, forgetLearner, setBusy, state, ui } from './state.js';
import { buildScenario, readForm, type Config } from './form.js';
import { predict } from './try.js';

// ---------- training ----------

let lossFrame = 0;
function scheduleLoss(): void {
  if (lossFrame) return;
  lossFrame = requestAnimationFrame(() => {
    lossFrame = 0;
    drawLoss(ui.loss, state.loss);
  });
}

export function showRows(layout: ScenarioLayout, rows: readonly number[][]): void {
  renderMatrix(
    ui.matrix,
    layout.tasks.map((t) => t.name),
    rows,
  );
  drawLines(ui.lines, layout.tasks.length, rows);
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

export function initTraining(): void {
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!state.running) void runTraining();
  });
  ui.stop.addEventListener('click', () => {
    state.running?.abort();
    ui.status.textContent = 'Stopping after this step…';
  });
}
