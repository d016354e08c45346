import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { backendNames, useBackend, type BackendName } from '../backend/select.js';
import { describeImages, imageLayout } from '../data/fit.js';
import { loadImageFile } from '../data/images.js';
import { DataError } from '../errors.js';
import { inferTask, type TaskInference } from '../model/infer-task.js';
import { outputNames } from '../scenarios/types.js';
import { percent, textTable } from './table.js';
import { openLearner } from './task-data.js';

interface PredictFlags {
  task?: string;
  inferTask?: TaskInference;
  json?: boolean;
  backend: BackendName | 'auto';
}

/** One answer of `predict --json`. */
export interface Prediction {
  file: string;
  /** The task whose head answered; null in the class and domain settings without --task (every class learned). */
  task: string | null;
  class: string;
  probability: number;
  /** Every class's probability, by name. */
  probabilities: Record<string, number>;
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('classify image files (PNG, JPEG) with a learner folder: the top class and its probability')
    .argument('<learner>', 'an unforget learner folder')
    .argument('<files...>', 'image files, prepared as the image folders it learned from')
    .option('--task <name>', 'answer for this task only (default: every task)')
    .addOption(
      new Option(
        '--infer-task <per>',
        'task setting, no --task: guess each image’s task (lowest entropy), per image or once for all the files',
      ).choices(['example', 'batch']),
    )
    .option('--json', 'print a JSON object')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .action(async (folder: string, files: string[], flags: PredictFlags) =>
      predictAction(folder, files, flags),
    );
}

async function predictAction(folder: string, files: string[], flags: PredictFlags): Promise<void> {
  await useBackend(flags.backend, flags.json ? null : undefined);
  const { learner, strategy } = await openLearner(folder);
  try {
    const shape = learner.layout.inputShape;
    const layout = imageLayout(shape);
    if (layout === null) {
      throw new DataError(
        `the learner takes examples of shape [${shape.join(', ')}], which are not images; predict reads image files`,
      );
    }
    const selected = flags.task === undefined ? undefined : learner.taskIndex(flags.task);
    const size = shape.reduce((a, b) => a * b, 1);
    const inputs = new Float32Array(files.length * size);
    for (const [i, file] of files.entries()) {
      inputs.set(
        await loadImageFile(resolve(file), {
          size: [layout.height, layout.width],
          channels: layout.channels,
        }),
        i * size,
      );
    }
    const learned = learner.layout.tasks.slice(0, learner.trainedTasks);
    // The task setting answers per task (each has its head); the others answer over every class learned.
    const heads: (number | undefined)[] =
      selected !== undefined
        ? [selected]
        : learner.setting === 'task'
          ? learned.map((_, i) => i)
          : [undefined];
    const predictions: Prediction[] = [];
    const x = tf.tensor(inputs, [files.length, ...shape]);
    try {
      if (flags.inferTask && selected === undefined && learner.setting === 'task') {
        // The task guessed: one answer per file, from the task whose answer is the most certain.
        const { tasks, probabilities } = inferTask(learner, x, flags.inferTask);
        const values = (await probabilities.array()) as number[][];
        probabilities.dispose();
        values.forEach((row, i) => {
          const names = learned[tasks[i]].classNames;
          const p = row.slice(0, names.length);
          const top = p.indexOf(Math.max(...p));
          predictions.push({
            file: files[i],
            task: learned[tasks[i]].name,
            class: names[top],
            probability: p[top],
            probabilities: Object.fromEntries(names.map((n, k) => [n, p[k]])),
          });
        });
        heads.length = 0;
      }
      for (const task of heads) {
        const probabilities = learner.predict(x, task);
        const values = (await probabilities.array()) as number[][];
        probabilities.dispose();
        const names =
          learner.setting === 'task'
            ? [...learned[task as number].classNames]
            : outputNames(learner.layout, 0).slice(0, values[0].length);
        values.forEach((p, i) => {
          const top = p.indexOf(Math.max(...p));
          predictions.push({
            file: files[i],
            task: task === undefined ? null : learned[task].name,
            class: names[top],
            probability: p[top],
            probabilities: Object.fromEntries(names.map((n, k) => [n, p[k]])),
          });
        });
      }
    } finally {
      x.dispose();
    }
    predictions.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file));
    if (flags.json) {
      console.log(
        JSON.stringify({ learner: resolve(folder), setting: learner.setting, predictions }, null, 2),
      );
      return;
    }
    console.log(`images read at ${describeImages(layout)}`);
    console.log(
      textTable(
        [
          ['file', 'task', 'class', 'probability'],
          ...predictions.map((p) => [p.file, p.task ?? '(all)', p.class, percent(p.probability)]),
        ],
        'left',
      ),
    );
  } finally {
    learner.dispose();
    strategy?.dispose?.();
  }
}
