/** Trying it on the "Compare methods" page: each trained task's answer for a drawing or a test image. */
import * as tf from '@tensorflow/tfjs';
import { headIndex, outputNames, seededRandom, OptionError } from '../../src/browser.js';
import { bundledMnist } from '../data.js';
import { drawPad, type DrawPad } from '../draw.js';
import { showError } from '../messages.js';
import { countTensors, state, ui } from './state.js';

// ---------- trying it ----------

const sampleRandom = seededRandom(2024);

let pad: DrawPad;

/** Each trained task's answer for the pad's image. */
export function predict(): void {
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

export function initTry(): void {
  pad = drawPad(ui.draw, () => predict());

  ui.clear.addEventListener('click', () => {
    pad.clear();
    predict();
  });
  ui.sample.addEventListener('click', async () => {
    try {
      if (!state.samples && state.learner?.layout.name === 'images') {
        throw new OptionError(
          'the test images of this learner are your own: drop their folder again, or draw',
        );
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
}
