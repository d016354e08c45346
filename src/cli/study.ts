import { Command, InvalidArgumentError, Option } from 'commander';
import { backendNames, type BackendName } from '../backend/select.js';
import { OptionError } from '../errors.js';
import { points } from '../experiments/study/answers.js';
import { questionNames, type QuestionName } from '../experiments/study/questions.js';
import { study, type StudyOutcome } from '../experiments/study/study.js';
import { progressDisplay, seedList, stopOnCtrlC } from './compare.js';
import { numberList, wholeNumber } from './options.js';

interface StudyFlags {
  seeds: number[];
  out: string;
  epochs: number;
  iterations?: number;
  batchSize: number;
  hidden: number[];
  ratios?: number[];
  data?: string;
  fashion: boolean;
  workers: number;
  queue?: string;
  backend: BackendName | 'auto';
  json?: boolean;
  progress: boolean;
}

/** `0.5,0.9` → [0.5, 0.9], each strictly between 0 and 1. */
function fractionList(value: string): number[] {
  const parts = value
    .split(',')
    .filter((p) => p.trim() !== '')
    .map(Number);
  if (parts.length === 0 || parts.some((r) => !(r > 0 && r < 1))) {
    throw new InvalidArgumentError(`expected fractions between 0 and 1, e.g. 0.5,0.9,0.95; got '${value}'`);
  }
  return parts;
}

export function studyCommand(): Command {
  return new Command('study')
    .description(
      'answer the seed text’s questions by measurement: PackNet’s released weights (released), picking among old ' +
        'weights (pick), pruning most of a network (prune), and Piggyback’s masks against fine-tuning (mask); ' +
        'writes study.json and study.html (an interrupted study resumes where it stopped)',
    )
    .argument('[questions...]', `which questions (default all: ${questionNames.join(' ')})`)
    .option('--seeds <n|list>', 'how many seeds (from 0), or a list of seeds', seedList, [0, 1, 2, 3, 4])
    .option('--out <folder>', 'where the runs, study.json and study.html go', 'study')
    .option('--epochs <n>', 'passes over each task’s training data', wholeNumber(1), 1)
    .option('--iterations <n>', 'optimizer steps per task (instead of epochs)', wholeNumber(1))
    .option('--batch-size <n>', 'examples per step', wholeNumber(1), 128)
    .option('--hidden <widths>', 'hidden layer widths of the mlp', numberList(1, '400,400'), [400, 400])
    .option(
      '--ratios <list>',
      'fractions pruned in the prune question (default 0.5,0.75,0.9,0.95,0.98)',
      fractionList,
    )
    .option('--data <folder>', 'Fashion-MNIST’s IDX folder (default /usr/share/datasets/fashion-mnist)')
    .option('--no-fashion', 'leave Fashion-MNIST out even where it is installed (MNIST only)')
    .option('--workers <n>', 'runs at once, each in its own process', wholeNumber(1), 2)
    .option(
      '--queue <url>',
      'put the runs on a BullMQ queue in Redis (redis://HOST:PORT) for `unforget worker`s on any machine ' +
        '(instead of --workers); study.json and study.html are still written here',
    )
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend of every worker')
        .choices(['auto', ...backendNames])
        .default('auto'),
    )
    .option('--json', 'print study.json instead of the answers')
    .option('--no-progress', 'do not draw the progress bars')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  unforget study                          all four questions, seeds 0-4, 1 epoch per task',
        '  unforget study prune mask --seeds 3     two questions, seeds 0, 1, 2',
        '  unforget study --no-fashion --out study-mnist',
      ].join('\n'),
    )
    .action(async (names: string[], flags: StudyFlags) => studyAction(names, flags));
}

function checkQuestions(names: readonly string[]): QuestionName[] {
  const unknown = names.filter((n) => !(questionNames as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new OptionError(
      `unknown question(s) ${unknown.join(', ')}; ask any of: ${questionNames.join(', ')}`,
    );
  }
  return names as QuestionName[];
}

/** The answers as text for the terminal: per question and part, the effects and the answer. */
export function studyText(outcome: StudyOutcome): string {
  const lines: string[] = [];
  outcome.file.questions.forEach((q, i) => {
    lines.push(`${i + 1}. ${q.name}: ${q.asks}`);
    if (q.note) lines.push(`   Note: ${q.note}`);
    if (q.parts.length === 0) lines.push(`   not answered (${q.status})`);
    for (const part of q.parts) {
      lines.push(`   ${part.label}, seeds ${part.seeds.join(', ')}:`);
      for (const e of part.effects) {
        const interval = e.low === null || e.high === null ? '' : ` [${points(e.low)}, ${points(e.high)}]`;
        lines.push(`     ${e.label}: ${points(e.mean)} points${interval}`);
      }
      lines.push(`   ${part.answer}`);
    }
    lines.push('');
  });
  return lines.join('\n');
}

async function studyAction(names: string[], flags: StudyFlags): Promise<void> {
  const display = progressDisplay(flags.progress && !flags.json);
  const interrupt = stopOnCtrlC(display);
  const started = performance.now();
  let outcome: StudyOutcome;
  try {
    outcome = await study(
      {
        questions: checkQuestions(names),
        seeds: flags.seeds,
        epochs: flags.epochs,
        iterations: flags.iterations,
        batchSize: flags.batchSize,
        backbone: { kind: 'mlp', hidden: flags.hidden },
        ratios: flags.ratios,
        data: flags.data,
        // --no-fashion leaves it out; otherwise it is used where installed (and required with --data).
        fashion: flags.fashion ? (flags.data === undefined ? undefined : true) : false,
        backend: flags.backend,
      },
      {
        out: flags.out,
        workers: flags.workers,
        queue: flags.queue,
        signal: interrupt.signal,
        hooks: display,
      },
    );
  } finally {
    display.stop();
    interrupt.release();
  }
  const seconds = (performance.now() - started) / 1000;
  const { runs } = outcome;
  if (flags.json) console.log(JSON.stringify(outcome.file, null, 2));
  else {
    console.log(studyText(outcome));
    console.log(
      `${runs.ran} run${runs.ran === 1 ? '' : 's'} done now, ${runs.skipped} already done, in ${seconds.toFixed(0)} s ` +
        `(${flags.queue ? `on the queue ${flags.queue}` : `${flags.workers} at a time`}).\nFigures: ${outcome.jsonPath}; page: ${outcome.htmlPath}`,
    );
  }
  if (runs.stopped) {
    console.error(
      `unforget: stopped with ${runs.records.length} of ${runs.runs.length} runs done (saved in ${flags.out}/runs); ` +
        'the page shows what is finished; rerun the same command to do the rest',
    );
    process.exitCode = 130;
  }
  if (runs.failed.length > 0) {
    throw new OptionError(
      `${runs.failed.length} run(s) failed: ${runs.failed.map((f) => `${f.spec.id} (${f.error.message})`).join('; ')}; ` +
        'fix the cause and rerun the same command: finished runs are kept',
    );
  }
}
