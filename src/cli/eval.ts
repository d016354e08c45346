import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { backendNames, useBackend, type BackendName } from '../backend/select.js';
import type { Dataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { percent, textTable } from './table.js';
import {
  learnedTaskData,
  openLearner,
  parseAssignment,
  recordedTaskData,
  testAccuracies,
} from './task-data.js';

interface EvalFlags {
  task: string[];
  json?: boolean;
  backend: BackendName | 'auto';
}

/** One task's result in `eval --json`. */
export interface TaskEvaluation {
  name: string;
  /** Where the test data came from (the recorded source, or the data given). */
  source: string;
  /** Test accuracy in [0, 1]; null when there was no test data. */
  accuracy: number | null;
  examples: number;
  /** Why there is no accuracy. */
  note?: string;
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('test a learner folder on its tasks: each task’s test accuracy')
    .argument('<learner>', 'an unforget learner folder')
    .option(
      '--task <name=data>',
      'test this task on this data (repeatable); without it, every task whose recorded data can be read',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option('--json', 'print a JSON object')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .action(async (folder: string, flags: EvalFlags) => evalAction(folder, flags));
}

async function evalAction(folder: string, flags: EvalFlags): Promise<void> {
  const explicit = new Map<string, string>();
  for (const value of flags.task) {
    const [name, spec] = parseAssignment(value, '--task');
    if (explicit.has(name)) throw new OptionError(`--task names the task '${name}' twice`);
    explicit.set(name, spec);
  }
  await useBackend(flags.backend, flags.json ? null : undefined);
  const { learner, strategy } = await openLearner(folder);
  try {
    const indices = [...explicit.keys()].map((name) => learner.taskIndex(name));
    const tasks = learner.layout.tasks.slice(0, learner.trainedTasks);
    const tests: (Dataset | undefined)[] = tasks.map(() => undefined);
    const results: TaskEvaluation[] = tasks.map((t, i) => ({
      name: t.name,
      source: learner.history[i]?.source ?? '',
      accuracy: null,
      examples: 0,
    }));
    for (const [i, t] of tasks.entries()) {
      if (explicit.size > 0 && !indices.includes(i)) continue;
      const spec = explicit.get(t.name);
      const d =
        spec === undefined ? await recordedTaskData(learner, i) : await learnedTaskData(learner, i, spec);
      if (typeof d === 'string') {
        results[i].note = d;
        continue;
      }
      tests[i] = d.test;
      results[i].source = d.source;
      results[i].examples = d.test.labels.length;
      if (d.test.labels.length === 0) results[i].note = 'its data have no test part';
    }
    const accuracies = testAccuracies(learner, tests);
    accuracies.forEach((a, i) => (results[i].accuracy = a));
    const shown = explicit.size > 0 ? results.filter((_, i) => indices.includes(i)) : results;
    if (flags.json) {
      console.log(
        JSON.stringify(
          {
            learner: resolve(folder),
            setting: learner.setting,
            strategy: strategy?.name ?? null,
            accuracies: Object.fromEntries(shown.map((r) => [r.name, r.accuracy])),
            tasks: shown,
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(`Test accuracy of ${folder} (${learner.setting} setting):`);
    console.log(
      textTable(
        [
          ['task', 'accuracy', 'examples', 'test data'],
          ...shown.map((r) => [
            r.name,
            r.accuracy === null ? 'no test data' : percent(r.accuracy),
            String(r.examples),
            r.note ?? r.source,
          ]),
        ],
        'left',
      ),
    );
  } finally {
    learner.dispose();
    strategy?.dispose?.();
  }
}
