import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { backendNames, useBackend, type BackendName } from '../backend/select.js';
import { bytes, percent, textTable } from './table.js';
import { folderBytes, openLearner } from './task-data.js';

interface InfoFlags {
  json?: boolean;
  backend: BackendName | 'auto';
}

export function infoCommand(): Command {
  return new Command('info')
    .description(
      'describe a learner folder: its tasks, strategy, size and history (the accuracy matrix so far)',
    )
    .argument('<learner>', 'an unforget learner folder')
    .option('--json', 'print a JSON object')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .action(async (folder: string, flags: InfoFlags) => infoAction(folder, flags));
}

async function infoAction(folder: string, flags: InfoFlags): Promise<void> {
  await useBackend(flags.backend, null);
  const path = resolve(folder);
  const { learner, strategy } = await openLearner(path);
  try {
    const tasks = learner.layout.tasks.slice(0, learner.trainedTasks);
    const info = {
      folder: path,
      setting: learner.setting,
      inputShape: [...learner.layout.inputShape],
      pretrained: learner.pretrained,
      parameters: learner.parameterCount(),
      folderBytes: await folderBytes(path),
      strategy:
        strategy === undefined
          ? null
          : {
              name: strategy.name,
              options: { ...strategy.options },
              stateBytes: strategy.memoryBytes?.() ?? 0,
            },
      tasks: tasks.map((t, i) => ({
        name: t.name,
        classes: [...t.classNames],
        source: learner.history[i]?.source ?? '',
        strategy: learner.history[i]?.strategy ?? '',
        learnedAt: learner.history[i]?.learnedAt ?? '',
      })),
      history: tasks.map((_, i) => [...(learner.history[i]?.accuracies ?? [])]),
    };
    if (flags.json) {
      console.log(JSON.stringify(info, null, 2));
      return;
    }
    const options = info.strategy
      ? Object.entries(info.strategy.options)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ')
      : '';
    console.log(
      [
        `learner   ${info.folder}`,
        `setting   ${info.setting}-incremental, input [${info.inputShape.join(', ')}]${info.pretrained ? ', from a trained model' : ''}`,
        `strategy  ${info.strategy ? `${info.strategy.name} (${options}); keeps ${bytes(info.strategy.stateBytes)}` : 'none saved'}`,
        `size      ${info.parameters.toLocaleString('en')} parameters, ${bytes(info.folderBytes)} on disk`,
        '',
        'Tasks:',
        textTable(
          [
            ['task', 'classes', 'source', 'learned with', 'learned at'],
            ...info.tasks.map((t) => [
              t.name,
              t.classes.length > 6
                ? `${t.classes.length}: ${t.classes.slice(0, 6).join(', ')}, …`
                : t.classes.join(', '),
              t.source || '-',
              t.strategy,
              t.learnedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
            ]),
          ],
          'left',
        ),
        '',
        'Test accuracy after each task (row: after learning task i; column: task j; - where not measured):',
        textTable([
          ['after learning', ...info.tasks.map((t) => t.name)],
          ...info.history.map((row, i) => [
            info.tasks[i].name,
            ...info.tasks.map((_, j) => (j < row.length ? percent(row[j]) : '')),
          ]),
        ]),
      ].join('\n'),
    );
  } finally {
    learner.dispose();
    strategy?.dispose?.();
  }
}
