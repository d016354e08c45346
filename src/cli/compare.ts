import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { backendNames, type BackendName } from '../backend/select.js';
import { OptionError } from '../errors.js';
import { compare, type CompareHooks } from '../experiments/compare.js';
import { parseGrid } from '../experiments/grid.js';
import { defaultValidation, type RunSpec } from '../experiments/plan.js';
import { backboneKinds, type BackboneSpec } from '../model/backbones.js';
import { writeReport } from '../report/write.js';
import { summarize } from '../report/summary.js';
import { comparisonTable } from '../report/table.js';
import { namedScenarios } from '../scenarios/named.js';
import { settings, type Setting } from '../scenarios/types.js';
import { registry, strategyEntry } from '../strategies/index.js';
import {
  addInferenceFlags,
  givenStrategyOptions,
  inferences,
  kebab,
  numberList,
  strategyFlag,
  strategyOptions,
  wholeNumber,
} from './options.js';
import type { Progress } from '../train/loop.js';

/** `--seeds 3` is seeds 0, 1, 2; `--seeds 1,5,9` is those seeds. */
export function seedList(value: string): number[] {
  if (!value.includes(',')) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(
        `expected a number of seeds (e.g. 3) or a list (e.g. 0,1,2; one seed: 5,); got '${value}'`,
      );
    }
    return Array.from({ length: n }, (_, i) => i);
  }
  return numberList(0, '0,1,2')(value);
}

function strategyList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return strategyEntry(s).name;
      } catch (error) {
        throw new InvalidArgumentError((error as Error).message);
      }
    });
}

/** `--validation 0.2`: a share strictly between 0 and 1. */
function share(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n < 1)) {
    throw new InvalidArgumentError(`expected a share between 0 and 1, e.g. 0.1 for 10%; got '${value}'`);
  }
  return n;
}

interface CompareFlags {
  scenario: string;
  setting: Setting;
  tasks?: number;
  data?: string;
  strategies?: string[];
  seeds: number[];
  backbone: 'mlp' | 'cnn';
  hidden: number[];
  filters: number[];
  epochs: number;
  iterations?: number;
  batchSize: number;
  backend: BackendName | 'auto';
  results?: string;
  workers: number;
  queue?: string;
  json?: boolean;
  progress: boolean;
  inferTask?: 'example' | 'batch' | 'both';
  inferBatch: number;
  grid: string[];
  choose?: 'validation';
  validation?: number;
  [option: string]: unknown;
}

/** The defaults: the quick comparison `unforget compare` runs with no arguments. */
export const compareDefaults = {
  scenario: 'mnist-transfer',
  setting: 'task' as Setting,
  seeds: 3,
  hidden: [400, 400],
  epochs: 2,
  batchSize: 128,
  workers: 2,
};

export function compareCommand(): Command {
  const command = new Command('compare')
    .description(
      'run several strategies over one scenario and several seeds; print the table to choose a method by, ' +
        'save every run and write an HTML report (an interrupted comparison resumes where it stopped)',
    )
    .addOption(
      new Option('--scenario <name>', 'which tasks to learn')
        .choices(namedScenarios.map((s) => s.name))
        .default(compareDefaults.scenario),
    )
    .addOption(
      new Option('--setting <setting>', 'task-, domain- or class-incremental')
        .choices(settings)
        .default(compareDefaults.setting),
    )
    .option('--data <folder>', 'the folder of the fashion scenarios (IDX files) or of the images scenario')
    .option('--tasks <n>', 'number of tasks (default: the scenario’s own)', wholeNumber(1))
    .option(
      '--strategies <names>',
      `comma-separated strategies (default: all of ${registry.map((e) => e.name).join(', ')})`,
      strategyList,
    )
    .option(
      '--seeds <n|list>',
      'how many seeds (from 0), or a list of seeds, e.g. 0,1,2',
      seedList,
      Array.from({ length: compareDefaults.seeds }, (_, i) => i),
    )
    .addOption(new Option('--backbone <kind>', 'the network').choices(backboneKinds).default('mlp'))
    .option(
      '--hidden <widths>',
      'hidden layer widths of the mlp',
      numberList(1, '400,400'),
      compareDefaults.hidden,
    )
    .option('--filters <counts>', 'filters of each convolution of the cnn', numberList(1, '32,64'), [32, 64])
    .option('--epochs <n>', 'passes over each task’s training data', wholeNumber(1), compareDefaults.epochs)
    .option('--iterations <n>', 'optimizer steps per task (instead of epochs)', wholeNumber(1))
    .option('--batch-size <n>', 'examples per step', wholeNumber(1), compareDefaults.batchSize)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend of every worker')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .option('--results <folder>', 'where runs, CSV and report go (default results/<scenario>-<setting>)')
    .option('--workers <n>', 'runs at once, each in its own process', wholeNumber(1), compareDefaults.workers)
    .addOption(
      new Option(
        '--grid <strategy.option=values>',
        'values to try for a strategy option, e.g. ewc.lambda=1e2,1e3,1e4 (repeatable): one run per value ' +
          '(per combination, with several) and seed',
      )
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], 'none'),
    )
    .addOption(
      new Option(
        '--choose <how>',
        'validation: show each strategy’s grid point with the best mean ACC on a validation part held out of ' +
          'each task’s training data (test data is never used to choose); default: show every grid point',
      ).choices(['validation']),
    )
    .option(
      '--validation <share>',
      `share of each task’s training data held out as validation data (default ${defaultValidation} with --choose validation, else none)`,
      share,
    )
    .option(
      '--queue <url>',
      'put the runs on a BullMQ queue in Redis (redis://HOST:PORT) for `unforget worker`s on any machine ' +
        '(instead of --workers); results, CSV and report are still written here',
    )
    .option('--json', 'print the summary as JSON instead of the table')
    .option('--no-progress', 'do not draw the progress bars');
  addInferenceFlags(command);
  for (const o of strategyOptions()) {
    command.addOption(strategyFlag(o, `${o.description} (for every strategy that takes it)`));
  }
  command.addHelpText(
    'after',
    [
      '',
      'Examples:',
      '  unforget compare                         the quick default: mnist-transfer, every strategy, 3 seeds',
      '  unforget compare --strategies finetune,joint --seeds 0,1 --epochs 1 --results results/quick',
      '  unforget compare --scenario split-mnist --strategies ewc,lwf --grid ewc.lambda=1e2,1e3,1e4 \\',
      '    --grid lwf.temperature=1,2,4 --choose validation      each method’s options chosen on validation data',
      '  unforget report results/mnist-transfer-task',
    ].join('\n'),
  );
  command.action(async (flags: CompareFlags) => compareAction(flags));
  return command;
}

/**
 * Ctrl-C stops the runs after their current steps (a second Ctrl-C quits at once), said on the
 * progress display; `release` stops listening.
 */
export function stopOnCtrlC(display: { log(line: string): void }): {
  signal: AbortSignal;
  release(): void;
} {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    display.log(
      'unforget: stopping after the current steps; finished runs are kept, rerun the same command to resume ' +
        '(Ctrl-C again quits at once)',
    );
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, release: () => process.off('SIGINT', onInterrupt) };
}

/**
 * Progress on stderr: runs done, running and waiting, and one bar per running run with the worker it
 * runs on (1, 2, … in the local pool; host:pid on a queue).
 */
export function progressDisplay(enabled: boolean): CompareHooks & { log(line: string): void; stop(): void } {
  const draw = enabled && process.stderr.isTTY === true;
  const multi = draw
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
          autopadding: true,
          format: '{bar}',
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let overall: cliProgress.SingleBar | undefined;
  /** The bar of each running run, by run id. */
  const bars = new Map<string, cliProgress.SingleBar>();
  const running = new Set<string>();
  let done = 0;
  let failed = 0;
  let total = 0;
  const log = (line: string) => (multi ? multi.log(`${line}\n`) : console.error(line));
  const fraction = (p: Progress) => (p.task + p.step / Math.max(p.steps, 1)) / p.tasks;
  const counts = () => ({ running: running.size, waiting: total - done - failed - running.size });
  const ended = (spec: RunSpec) => {
    running.delete(spec.id);
    const bar = bars.get(spec.id);
    if (bar) multi?.remove(bar);
    bars.delete(spec.id);
    overall?.update(done, counts());
  };
  return {
    log,
    onNote(message) {
      log(`unforget: ${message}`);
    },
    onPlan(plan) {
      total = plan.runs.length;
      done = plan.done.length;
      if (done > 0) log(`unforget: ${done} of ${total} runs already done; running the other ${total - done}`);
      for (const { spec, reason } of plan.redo)
        log(`unforget: redoing ${spec.id}: the saved file is unusable (${reason})`);
      overall = multi?.create(total, done, counts(), {
        format: 'runs {value}/{total} done, {running} running, {waiting} waiting |{bar}| {percentage}%',
      });
    },
    onRunStart(spec, worker) {
      running.add(spec.id);
      overall?.update(done, counts());
      if (!multi) return;
      const payload = { run: spec.id, worker, task: 1, tasks: '?', phase: 'start' };
      const bar = bars.get(spec.id);
      if (bar) bar.update(0, payload);
      else
        bars.set(
          spec.id,
          multi.create(1000, 0, payload, {
            format: '  {run} on {worker} task {task}/{tasks} {phase} |{bar}| {percentage}%',
          }),
        );
    },
    onRunProgress(spec, worker, p) {
      bars.get(spec.id)?.update(Math.round(1000 * fraction(p)), {
        run: spec.id,
        worker,
        task: p.task + 1,
        tasks: p.tasks,
        phase: p.phase,
      });
    },
    onRunEnd(spec, worker, outcome) {
      if (outcome.status === 'done') {
        done++;
        const acc = outcome.record.result.metrics?.averageAccuracy ?? NaN;
        const seconds = outcome.record.result.cost.trainMs.reduce((a, b) => a + b, 0) / 1000;
        log(
          `unforget: ${spec.id} done (${done}/${total}): ACC ${(100 * acc).toFixed(1)}%, ${seconds.toFixed(1)} s, worker ${worker}`,
        );
      } else if (outcome.status === 'failed') {
        failed++;
        log(`unforget: ${spec.id} failed: ${outcome.error.message}`);
      }
      ended(spec);
    },
    stop() {
      multi?.stop();
    },
  };
}

async function compareAction(flags: CompareFlags): Promise<void> {
  inferences(flags);
  const strategies = flags.strategies ?? registry.map((e) => e.name);
  if (strategies.length === 0) throw new OptionError('--strategies names no strategy; list at least one');
  const entries = strategies.map(strategyEntry);
  const strategyOptionsByName: Record<string, Record<string, number | string>> = {};
  for (const [name, value] of Object.entries(givenStrategyOptions(flags))) {
    const takers = entries.filter((e) => e.options.some((x) => x.name === name));
    if (takers.length === 0) {
      throw new OptionError(
        `none of the strategies compared (${strategies.join(', ')}) takes --${kebab(name)}; drop it or add a strategy that does`,
      );
    }
    for (const e of takers) (strategyOptionsByName[e.name] ??= {})[name] = value;
  }
  const grid = parseGrid(flags.grid);
  for (const [strategy, options] of Object.entries(grid)) {
    for (const option of Object.keys(options)) {
      if (flags[option] !== undefined) {
        throw new OptionError(
          `--${kebab(option)} fixes ${option} and --grid ${strategy}.${option}=… tries several values of it; ` +
            'drop one of them',
        );
      }
    }
  }
  const backbone: BackboneSpec =
    flags.backbone === 'cnn'
      ? { kind: 'cnn', filters: flags.filters }
      : { kind: 'mlp', hidden: flags.hidden };
  const folder = flags.results ?? join('results', `${flags.scenario}-${flags.setting}`);
  const display = progressDisplay(flags.progress && !flags.json);
  const interrupt = stopOnCtrlC(display);
  const started = performance.now();
  let outcome: Awaited<ReturnType<typeof compare>>;
  try {
    outcome = await compare(
      {
        scenario: flags.scenario,
        setting: flags.setting,
        tasks: flags.tasks,
        data: flags.data,
        strategies,
        strategyOptions: strategyOptionsByName,
        seeds: flags.seeds,
        backbone,
        epochs: flags.iterations === undefined ? flags.epochs : undefined,
        iterations: flags.iterations,
        batchSize: flags.batchSize,
        backend: flags.backend,
        inferTask: inferences(flags),
        inferBatch: flags.inferBatch,
        grid,
        validation: flags.validation,
        choose: flags.choose,
      },
      { folder, workers: flags.workers, queue: flags.queue, signal: interrupt.signal, hooks: display },
    );
  } finally {
    display.stop();
    interrupt.release();
  }
  const seconds = (performance.now() - started) / 1000;
  const { records, runs, failed } = outcome;
  if (outcome.stopped) {
    console.error(
      `unforget: stopped with ${records.length} of ${runs.length} runs done (saved in ${folder}); ` +
        (flags.queue
          ? 'the other runs stay on the queue and the workers go on; rerun the same command to collect them'
          : 'rerun the same command to do the rest'),
    );
    process.exitCode = 130;
    return;
  }
  if (records.length > 0) {
    const summary = summarize(records, strategies, { choose: flags.choose });
    const report = await writeReport(folder);
    if (flags.json) {
      console.log(
        JSON.stringify({ folder, csv: outcome.csvPath, report: report.path, seconds, summary }, null, 2),
      );
    } else {
      console.log(comparisonTable(summary));
      console.log(
        `\n${outcome.ran} run${outcome.ran === 1 ? '' : 's'} done now, ${outcome.skipped} already done, in ${seconds.toFixed(0)} s ` +
          `(${flags.queue ? `on the queue ${flags.queue}` : `${flags.workers} at a time`}).\nResults: ${folder}/ (one JSON per run), ${outcome.csvPath}; ` +
          `report: ${report.path}`,
      );
    }
  }
  if (failed.length > 0) {
    throw new OptionError(
      `${failed.length} run(s) failed: ${failed.map((f) => `${f.spec.id} (${f.error.message})`).join('; ')}; ` +
        'fix the cause and rerun the same command: finished runs are kept',
    );
  }
}
