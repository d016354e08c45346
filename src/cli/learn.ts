import * as tf from '@tensorflow/tfjs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { backendNames, useBackend, type BackendName } from '../backend/select.js';
import { loadDataSpec, parseDataSpec, type LoadedData } from '../data/spec.js';
import { ModelError, OptionError, TaskError } from '../errors.js';
import { backboneKinds, type BackboneSpec } from '../model/backbones.js';
import { learner as buildLearner, type Learner } from '../model/learner.js';
import { fromPretrained } from '../model/pretrained.js';
import { fileHandler } from '../persist/io.js';
import { checkSaveTarget, saveLearner } from '../persist/save.js';
import { settings, type Setting } from '../scenarios/types.js';
import { registry } from '../strategies/index.js';
import { learn } from '../parallel/train.js';
import type { OldTaskData } from '../train/loop.js';
import type { Strategy } from '../train/strategy.js';
import {
  addStrategyFlags,
  addWorkersFlag,
  buildStrategy,
  givenStrategyOptions,
  kebab,
  numberList,
  wholeNumber,
} from './options.js';
import { progressBar } from './progress.js';
import { workersText } from './report-run.js';
import { duration, percent, textTable } from './table.js';
import {
  checkNewFolder,
  folderKind,
  learnedTaskData,
  openLearner,
  parseAssignment,
  peekManifest,
  recordedTaskData,
} from './task-data.js';

interface LearnFlags {
  task: string;
  data: string;
  strategy?: string;
  out?: string;
  oldData: string[];
  cutAt?: string;
  keepHead?: string;
  classes?: string[];
  backbone?: 'mlp' | 'cnn';
  hidden?: number[];
  filters?: number[];
  setting?: Setting;
  imageSize?: [number, number];
  channels?: 1 | 3;
  epochs: number;
  iterations?: number;
  batchSize: number;
  seed: number;
  backend: BackendName | 'auto';
  progress: boolean;
  workers: number | 'auto';
  [option: string]: unknown;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function imageSize(value: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(value.trim());
  const size = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [];
  if (!m || size.some((s) => s < 1))
    throw new InvalidArgumentError(`expected HEIGHTxWIDTH, e.g. 28x28; got '${value}'`);
  return size as [number, number];
}

function nameList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === ''))
    throw new InvalidArgumentError(`expected comma-separated names, e.g. cat,dog; got '${value}'`);
  return names;
}

export function learnCommand(): Command {
  const command = new Command('learn')
    .description(
      'learn one new task onto a learner folder (or a TensorFlow.js model, or a new network) and save it',
    )
    .argument(
      '[folder]',
      'an unforget learner folder to go on with, or a TensorFlow.js layers model folder (model.json) to adopt; ' +
        'leave it out for a new network (then --out is needed)',
    )
    .requiredOption('--task <name>', 'the new task’s name')
    .requiredOption(
      '--data <data>',
      'the new task’s data: an image folder (one sub-folder per class), a folder of IDX files, ' +
        'mnist, mnist:5-9, mnist:0,2,4, fashion',
    )
    .addOption(
      new Option(
        '--strategy <name>',
        'the continual-learning method (default finetune; a learner folder keeps its own)',
      ).choices(registry.map((e) => e.name)),
    )
    .option('--out <folder>', 'where to save the learner (default: the learner folder itself)')
    .option(
      '--old-data <name=data>',
      'an old task’s data (training and test parts), for strategies that use it and to test it again; repeatable',
      collect,
      [],
    )
    .option('--cut-at <layer>', 'adopting a model: the layer whose output becomes the features')
    .option('--keep-head <name>', 'adopting a model: keep its classifier as the first task, named so')
    .option(
      '--classes <names>',
      'adopting a model with --keep-head: the names of its outputs (default 0…n−1)',
      nameList,
    )
    .addOption(new Option('--backbone <kind>', 'a new network: mlp (default) or cnn').choices(backboneKinds))
    .option('--hidden <widths>', 'a new mlp: hidden layer widths (default 400,400)', numberList(1, '400,400'))
    .option(
      '--filters <counts>',
      'a new cnn: filters of each convolution (default 32,64)',
      numberList(1, '32,64'),
    )
    .addOption(
      new Option(
        '--setting <setting>',
        'a new network or adopted model: task-, domain- or class-incremental (default task)',
      ).choices(settings),
    )
    .option(
      '--image-size <HxW>',
      'a new network on an image folder: the image size (default: the first image’s)',
      imageSize,
    )
    .addOption(
      new Option(
        '--channels <n>',
        'a new network on an image folder: 1 grayscale or 3 RGB (default: as the first image)',
      ).argParser((v) => {
        if (v !== '1' && v !== '3')
          throw new InvalidArgumentError(`use 1 (grayscale) or 3 (RGB); got '${v}'`);
        return Number(v) as 1 | 3;
      }),
    )
    .option('--epochs <n>', 'passes over the task’s training data', wholeNumber(1), 4)
    .option('--iterations <n>', 'optimizer steps (instead of epochs)', wholeNumber(1))
    .option('--batch-size <n>', 'examples per step', wholeNumber(1), 128)
    .option('--seed <n>', 'seeds a new network’s weights and the data order', wholeNumber(0), 0)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .option('--no-progress', 'do not draw the progress bar');
  addWorkersFlag(command);
  addStrategyFlags(command);
  command.addHelpText(
    'after',
    [
      '',
      'Examples:',
      '  unforget learn --task digits --data mnist:0-4 --hidden 100 --out my-learner',
      '  unforget learn my-learner --task more-digits --data mnist:5-9',
      '  unforget learn models/clothing --keep-head clothing --task photos --data ./photos --strategy lwf --out my-learner',
    ].join('\n'),
  );
  command.action(async (folder: string | undefined, flags: LearnFlags) => learnAction(folder, flags));
  return command;
}

/** The saved strategy, checked against what the command line asks for. */
function keepStrategy<S extends Pick<Strategy, 'name'> & { options: Readonly<Record<string, unknown>> }>(
  saved: S,
  flags: LearnFlags,
  given: Record<string, number | string>,
): S {
  if (flags.strategy !== undefined && flags.strategy !== saved.name) {
    throw new OptionError(
      `the learner was trained with the ${saved.name} strategy, and its state (what it keeps of the old tasks) is ` +
        `${saved.name}'s; it goes on with ${saved.name}: drop --strategy ${flags.strategy}, or start a new learner`,
    );
  }
  for (const [name, value] of Object.entries(given)) {
    if (saved.options[name] !== value) {
      throw new OptionError(
        `the learner's ${saved.name} strategy was saved with ${name}=${String(saved.options[name])}; its options ` +
          `come from the folder: drop --${kebab(name)}`,
      );
    }
  }
  return saved;
}

/** The checks that need only the learner folder's manifest, before anything is loaded. */
async function checkAgainstSaved(
  folder: string,
  flags: LearnFlags,
  given: Record<string, number | string>,
  oldSpecs: Map<string, string>,
): Promise<void> {
  const saved = await peekManifest(folder);
  if (!saved || !Array.isArray(saved.scenario?.tasks) || typeof saved.trainedTasks !== 'number') return;
  const names = saved.scenario.tasks.slice(0, saved.trainedTasks).map((t) => t.name);
  if (names.includes(flags.task)) throw alreadyLearned(flags.task, names);
  for (const name of oldSpecs.keys()) {
    if (!names.includes(name)) {
      throw new TaskError(
        `--old-data names the task '${name}', which the learner has not learned; its tasks are: ${names.join(', ')}`,
      );
    }
  }
  if (saved.strategy) {
    keepStrategy({ name: saved.strategy.name, options: saved.strategy.options }, flags, given);
  }
}

const alreadyLearned = (task: string, names: readonly string[]) =>
  new OptionError(
    `the learner has already learned a task named '${task}'; give the new task another name ` +
      `(its tasks: ${names.join(', ')})`,
  );

function refuse(flags: LearnFlags, names: (keyof LearnFlags)[], why: string): void {
  for (const name of names) {
    if (flags[name] !== undefined) throw new OptionError(`--${kebab(String(name))} ${why}`);
  }
}

async function loadModel(folder: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(fileHandler(folder));
  } catch (e) {
    throw new ModelError(`cannot load the TensorFlow.js model in ${folder}: ${(e as Error).message}`);
  }
}

async function learnAction(folderArg: string | undefined, flags: LearnFlags): Promise<void> {
  if (flags.task.trim() === '') throw new OptionError('--task needs a name, e.g. --task digits');
  const oldSpecs = new Map<string, string>();
  for (const value of flags.oldData) {
    const [name, spec] = parseAssignment(value, '--old-data');
    if (oldSpecs.has(name)) throw new OptionError(`--old-data names the task '${name}' twice`);
    oldSpecs.set(name, spec);
  }
  const folder = folderArg === undefined ? undefined : resolve(folderArg);
  const kind = folder === undefined ? undefined : await folderKind(folder);
  if (kind !== undefined && kind !== 'learner' && kind !== 'model') {
    throw new OptionError(
      kind === 'missing'
        ? `${folder} not found; pass an unforget learner folder, a TensorFlow.js model folder, or leave it out (with --out) for a new network`
        : `${folder} is neither an unforget learner folder (unforget.json) nor a TensorFlow.js model folder (model.json)`,
    );
  }
  if (kind !== 'model')
    refuse(flags, ['cutAt', 'keepHead', 'classes'], 'is for adopting a TensorFlow.js model folder');
  if (flags.classes !== undefined && flags.keepHead === undefined) {
    throw new OptionError(
      '--classes names the outputs of the model’s own classifier: give it with --keep-head NAME',
    );
  }
  if (kind !== undefined) {
    refuse(
      flags,
      ['backbone', 'hidden', 'filters', 'imageSize', 'channels'],
      'is for a new network; the folder brings its own',
    );
  }
  if (kind === 'learner') refuse(flags, ['setting'], 'is fixed by the learner folder');
  if (kind !== 'learner' && flags.out === undefined) {
    throw new OptionError(
      kind === 'model'
        ? '--out is needed: the learner made from the model is saved to a new folder (the model folder stays as it is)'
        : '--out is needed for a new network: the folder to save the learner to',
    );
  }
  const out = resolve(flags.out ?? (folder as string));
  if (kind === 'model' && out === folder) {
    throw new OptionError('--out must be a new folder: the model folder stays as it is');
  }
  if (out !== folder) {
    const outKind = await folderKind(out);
    if (outKind === 'learner') {
      throw new OptionError(
        `--out ${out} holds another learner; pick a new or empty folder (or learn into it directly)`,
      );
    }
    await checkNewFolder(out, '--out');
  }
  // Where the learner goes is checked before the work: a folder that cannot be written costs nothing.
  await checkSaveTarget(out);
  const given = givenStrategyOptions(flags);
  if (kind === 'learner') await checkAgainstSaved(folder as string, flags, given, oldSpecs);
  const dataSpec = await parseDataSpec(flags.data);

  // Ctrl-C stops training after the current step (or before it starts) and saves nothing.
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) {
      console.error('unforget: stopped; nothing was saved');
      process.exit(130);
    }
    console.error('\nunforget: stopping; nothing will be saved (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  let model: Learner | undefined;
  let strategy: Strategy | undefined;
  try {
    await useBackend(flags.backend);
    let data: LoadedData | undefined;
    if (kind === 'learner') {
      const loaded = await openLearner(folder as string);
      model = loaded.learner;
      strategy = loaded.strategy
        ? keepStrategy(loaded.strategy, flags, given)
        : buildStrategy(flags.strategy ?? 'finetune', given);
    } else if (kind === 'model') {
      const plain = await loadModel(folder as string);
      model = fromPretrained(plain, {
        cutAt: flags.cutAt,
        keepHead:
          flags.keepHead === undefined ? undefined : { name: flags.keepHead, classNames: flags.classes },
        setting: flags.setting,
        seed: flags.seed,
      });
      strategy = buildStrategy(flags.strategy ?? 'finetune', given);
      console.log(
        `adopted the model ${folder}: features from layer '${model.trunk.outputs[0].sourceLayer.name}' ` +
          `(${model.featureCount} values), input [${model.layout.inputShape.join(', ')}]` +
          (flags.keepHead ? `; its classifier is task '${flags.keepHead}'` : ''),
      );
    } else {
      strategy = buildStrategy(flags.strategy ?? 'finetune', given);
      data = await loadDataSpec(dataSpec, { imageSize: flags.imageSize, channels: flags.channels });
      const backbone: BackboneSpec =
        flags.backbone === 'cnn'
          ? { kind: 'cnn', filters: flags.filters ?? [32, 64] }
          : { kind: 'mlp', hidden: flags.hidden ?? [400, 400] };
      if (flags.backbone !== 'cnn' && flags.filters) throw new OptionError('--filters is for --backbone cnn');
      if (flags.backbone === 'cnn' && flags.hidden) throw new OptionError('--hidden is for --backbone mlp');
      model = buildLearner({
        backbone,
        inputShape: data.train.shape.slice(1),
        setting: flags.setting ?? 'task',
        seed: flags.seed,
      });
    }
    const learner = model;
    const learned = learner.layout.tasks.slice(0, learner.trainedTasks);
    if (learned.some((t) => t.name === flags.task)) {
      throw alreadyLearned(
        flags.task,
        learned.map((t) => t.name),
      );
    }
    data ??= await loadDataSpec(dataSpec, { inputShape: learner.layout.inputShape });
    console.log(`task '${flags.task}' from ${data.source}: ${data.notes.filter((n) => n).join('; ')}`);

    const oldData: Record<string, OldTaskData> = {};
    const notes: (string | null)[] = learned.map(() => null);
    for (const [name, spec] of oldSpecs) {
      const index = learner.taskIndex(name);
      const d = await learnedTaskData(learner, index, spec);
      oldData[name] = { train: d.train, test: d.test };
      console.log(`old task '${name}' from ${d.source}: ${d.notes.filter((n) => n).join('; ')}`);
    }
    for (const [index, t] of learned.entries()) {
      if (oldData[t.name]) continue;
      const d = await recordedTaskData(learner, index);
      if (typeof d === 'string') {
        notes[index] = d;
        continue;
      }
      // Its recorded data: tested again; trained on too when the strategy needs old data.
      oldData[t.name] = strategy.needsOldData ? { train: d.train, test: d.test } : { test: d.test };
      if (strategy.needsOldData)
        console.log(`old task '${t.name}': ${strategy.name} trains on its recorded data ${d.source} too`);
    }

    const bar = flags.progress ? progressBar() : undefined;
    let result;
    try {
      result = await learn(
        learner,
        { name: flags.task, train: data.train, test: data.test, source: data.source },
        strategy,
        {
          epochs: flags.epochs,
          iterations: flags.iterations,
          batchSize: flags.batchSize,
          seed: flags.seed,
          oldData,
          signal: controller.signal,
          onProgress: bar?.update,
          workers: flags.workers,
        },
      );
    } finally {
      bar?.stop();
    }
    if (controller.signal.aborted) {
      console.error(`unforget: interrupted; nothing was saved (${out} is as it was)`);
      process.exitCode = 130;
      return;
    }
    await saveLearner(out, learner, strategy);
    console.log(
      `learned task '${flags.task}' with ${strategy.name} in ${duration(result.trainMs)} ` +
        `(${result.steps} ${result.steps > 0 && result.fusedSteps === result.steps ? 'fused native steps' : 'steps'}, ` +
        `${duration(result.msPerStep)} per step, ${workersText(result.workers)})`,
    );
    console.log(`\nTest accuracy after learning '${flags.task}':`);
    const rows = learner.layout.tasks.slice(0, learner.trainedTasks).map((t, i) => {
      const acc = result.accuracies[i] ?? null;
      const why = i === result.task ? null : notes[i];
      return [t.name, acc !== null ? percent(acc) : why ? `no test data (${why})` : 'no test data'];
    });
    console.log(textTable([['task', 'accuracy'], ...rows], 'left'));
    console.log(`\nsaved to ${out}`);
  } finally {
    process.off('SIGINT', onInterrupt);
    model?.dispose();
    strategy?.dispose?.();
  }
}
