import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSaveTarget, checkWritableParent, saveLearner } from '../persist/save.js';
import { Command, Option } from 'commander';
import { backendNames, useBackend, type BackendName } from '../backend/select.js';
import { OptionError } from '../errors.js';
import { writeJsonAtomic } from '../experiments/files.js';
import { backboneKinds, type BackboneSpec } from '../model/backbones.js';
import { learner, type Learner } from '../model/learner.js';
import type { RunResult } from '../eval/result.js';
import type { Strategy } from '../train/strategy.js';
import { namedScenario, namedScenarios } from '../scenarios/named.js';
import { settings, type Setting } from '../scenarios/types.js';
import { registry } from '../strategies/index.js';
import {
  addInferenceFlags,
  addWorkersFlag,
  addStrategyFlags,
  buildStrategy,
  givenStrategyOptions,
  inferences,
  numberList,
  wholeNumber,
} from './options.js';
import { train } from '../parallel/train.js';
import { partialResult } from '../train/loop.js';
import { progressBar } from './progress.js';
import { formatRun } from './report-run.js';

interface RunFlags {
  scenario: string;
  setting: Setting;
  tasks?: number;
  data?: string;
  strategy: string;
  backbone: 'mlp' | 'cnn';
  hidden: number[];
  filters: number[];
  epochs: number;
  iterations?: number;
  batchSize: number;
  seed: number;
  backend: BackendName | 'auto';
  output?: string;
  save?: string;
  json?: boolean;
  progress: boolean;
  inferTask?: 'example' | 'batch' | 'both';
  inferBatch: number;
  workers: number | 'auto';
  [option: string]: unknown;
}

export function runCommand(): Command {
  const command = new Command('run')
    .description('learn a scenario task after task with one strategy; print the accuracy matrix and metrics')
    .addOption(
      new Option('--scenario <name>', 'which tasks to learn')
        .choices(namedScenarios.map((s) => s.name))
        .default('split-mnist'),
    )
    .addOption(
      new Option('--setting <setting>', 'task-, domain- or class-incremental')
        .choices(settings)
        .default('task'),
    )
    .option('--data <folder>', 'the folder of the fashion scenarios (IDX files) or of the images scenario')
    .option('--tasks <n>', 'number of tasks (default: the scenario’s own)', wholeNumber(1))
    .addOption(
      new Option('--strategy <name>', 'the continual-learning method')
        .choices(registry.map((e) => e.name))
        .default('finetune'),
    )
    .addOption(new Option('--backbone <kind>', 'the network').choices(backboneKinds).default('mlp'))
    .option('--hidden <widths>', 'hidden layer widths of the mlp', numberList(1, '400,400'), [400, 400])
    .option('--filters <counts>', 'filters of each convolution of the cnn', numberList(1, '32,64'), [32, 64])
    .option('--epochs <n>', 'passes over each task’s training data', wholeNumber(1), 4)
    .option('--iterations <n>', 'optimizer steps per task (instead of epochs)', wholeNumber(1))
    .option('--batch-size <n>', 'examples per step', wholeNumber(1), 128)
    .option('--seed <n>', 'seeds weights, data order and scenario', wholeNumber(0), 0)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .option('--output <file>', 'write the result as JSON to this file')
    .option(
      '--save <folder>',
      'save the learned model with its strategy to this folder (loadLearner reads it)',
    )
    .option('--json', 'print the result as JSON instead of a table')
    .option('--no-progress', 'do not draw the progress bar');
  addInferenceFlags(command);
  addWorkersFlag(command);
  addStrategyFlags(command);
  command.addHelpText(
    'after',
    [
      '',
      'Scenarios:',
      ...namedScenarios.map((s) => `  ${s.name.padEnd(16)} ${s.summary}`),
      '',
      'Strategies:',
      ...registry.map((e) => `  ${e.name.padEnd(18)} ${e.summary}`),
      '',
      'Example:',
      '  unforget run --scenario split-mnist --setting task --strategy finetune --epochs 4 --batch-size 128',
      '  unforget run --scenario split-mnist --setting class --strategy replay --memory 1100',
      '  unforget run --scenario permuted-mnist --strategy packnet --infer-task both',
    ].join('\n'),
  );
  command.action(async (flags: RunFlags) => runAction(flags));
  return command;
}

/** Checks, before any work, that the result file can be written at `path`. */
async function checkOutputPath(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new OptionError(
      `--output ${path} is a folder; give the path of a file to write the result to, e.g. ${join(path, 'result.json')}`,
    );
  }
  await checkWritableParent(path, 'write the result to');
}

async function runAction(flags: RunFlags): Promise<void> {
  inferences(flags);
  const strategy = buildStrategy(flags.strategy, givenStrategyOptions(flags));
  // Every path is checked before the work starts: a bad one must not cost a finished run.
  if (flags.output) await checkOutputPath(flags.output);
  if (flags.save) await checkSaveTarget(flags.save);
  // Ctrl-C is taken from here on, loading included: training then stops before its first step.
  const controller = new AbortController();
  const started: { bar?: { stop(): void } } = {};
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    started.bar?.stop();
    console.error('unforget: stopping after this step (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  let model: Learner | undefined;
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    const backend = await useBackend(flags.backend);
    const scenario = await namedScenario(flags.scenario).build({
      setting: flags.setting,
      tasks: flags.tasks,
      seed: flags.seed,
      data: flags.data,
    });
    const backbone: BackboneSpec =
      flags.backbone === 'cnn'
        ? { kind: 'cnn', filters: flags.filters }
        : { kind: 'mlp', hidden: flags.hidden };
    model = learner({ backbone, scenario, seed: flags.seed });
    bar = flags.progress && !flags.json ? progressBar() : undefined;
    started.bar = bar;
    let result: RunResult;
    try {
      result = await train(model, scenario, strategy, {
        epochs: flags.epochs,
        iterations: flags.iterations,
        batchSize: flags.batchSize,
        seed: flags.seed,
        signal: controller.signal,
        onProgress: bar?.update,
        inferTask: inferences(flags),
        inferBatch: flags.inferBatch,
        workers: flags.workers,
      });
    } catch (error) {
      bar?.stop();
      const partial = partialResult(error);
      if (partial && partial.accuracyMatrix.length > 0) await keepPartial(flags, partial, model, strategy);
      throw error;
    }
    bar?.stop();
    if (flags.output) await writeJsonAtomic(flags.output, result);
    if (flags.save) await saveLearner(flags.save, model, strategy);
    console.log(flags.json ? JSON.stringify(result, null, 2) : formatRun(result));
    if (flags.output && !flags.json) console.log(`\nresult written to ${flags.output}`);
    if (flags.save && !flags.json) console.log(`model saved to ${flags.save}`);
    if (result.stopped) {
      console.error(`unforget: ${result.incomplete?.reason ?? 'stopped'}; what was learned so far is kept`);
      process.exitCode = 130;
    }
    if (result.backend !== backend)
      throw new OptionError(`backend changed during the run (${backend} → ${result.backend})`);
  } finally {
    bar?.stop();
    process.off('SIGINT', onInterrupt);
    model?.dispose();
    strategy.dispose?.();
  }
  if (controller.signal.aborted) process.exitCode = 130;
}

/**
 * A run failed at some task: the tasks before it are kept. The result (marked incomplete) goes to
 * --output and the learner as it was after the last good task to --save, and the table is printed.
 */
async function keepPartial(
  flags: RunFlags,
  partial: RunResult,
  model: Learner,
  strategy: Strategy,
): Promise<void> {
  const kept: string[] = [];
  const n = partial.accuracyMatrix.length;
  const done = n === 1 ? 'task 1' : `tasks 1-${n}`;
  try {
    if (flags.output) {
      await writeJsonAtomic(flags.output, partial);
      kept.push(`the result of ${done} (marked incomplete) written to ${flags.output}`);
    }
    if (flags.save) {
      await saveLearner(flags.save, model, strategy);
      kept.push(`the model after task ${n} saved to ${flags.save}`);
    }
  } catch (e) {
    console.error(
      `unforget: could not keep the finished tasks: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (flags.json) console.log(JSON.stringify(partial, null, 2));
  else console.log(formatRun(partial));
  if (kept.length > 0) console.error(`unforget: ${kept.join('; ')}`);
}
