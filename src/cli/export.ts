import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { backendNames, useBackend, type BackendName } from '../backend/select.js';
import { exportTask } from '../model/export.js';
import { fileHandler } from '../persist/io.js';
import { checkNewFolder, openLearner } from './task-data.js';

interface ExportFlags {
  task: string;
  out: string;
  backend: BackendName | 'auto';
}

export function exportCommand(): Command {
  return new Command('export')
    .description(
      'write one task of a learner as a plain TensorFlow.js layers model (model.json + weights.bin, softmax outputs)',
    )
    .argument('<learner>', 'an unforget learner folder')
    .requiredOption('--task <name>', 'the task to export')
    .requiredOption('--out <folder>', 'a new or empty folder for model.json and weights.bin')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .action(async (folder: string, flags: ExportFlags) => exportAction(folder, flags));
}

async function exportAction(folder: string, flags: ExportFlags): Promise<void> {
  const out = resolve(flags.out);
  await checkNewFolder(out, '--out');
  await useBackend(flags.backend);
  const { learner, strategy } = await openLearner(folder);
  try {
    const index = learner.taskIndex(flags.task);
    const model = exportTask(learner, index);
    try {
      await model.save(fileHandler(out));
      const task = learner.layout.tasks[index];
      const outputs = model.outputs[0].shape[1];
      console.log(
        `exported task '${task.name}' to ${out} (model.json + weights.bin): input [${learner.layout.inputShape.join(', ')}], ` +
          `${outputs} softmax outputs (${learner.setting === 'task' ? task.classNames.join(', ') : `${learner.setting} setting`}), ` +
          `${model.countParams()} parameters`,
      );
      console.log(
        `load it with tf.loadLayersModel (in Node: fileHandler('${out}') or file://${out}/model.json)`,
      );
    } finally {
      model.dispose();
    }
  } finally {
    learner.dispose();
    strategy?.dispose?.();
  }
}
