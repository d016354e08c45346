/**
 * Issue 13's cost as tasks grow: every strategy of the registry (task setting, its defaults) learns 20
 * permuted-MNIST tasks one after another (bench/task-costs-measure.ts), each in its own process with
 * one core (UNFORGET_WORKERS=1, OPENBLAS_NUM_THREADS=1), two at a time. Per task: median step time,
 * training time, the strategy's finishTask time (Fisher, pruning), memory kept (strategy + network) and
 * the time to test every task so far. Each strategy's measurements go to <dir>/<strategy>.json (a
 * strategy whose file exists is not run again: the script resumes; --fresh runs all again); then the
 * script writes every strategy measured in <dir> together as JSON, the tables into docs/task-costs.md
 * (between its table markers, the text around them kept) and a page with one chart per cost (--render:
 * only that, from the files).
 *
 *   npm run bench:tasks -- [--tasks 20] [--train 2000] [--test 500] [--hidden 200,200] [--epochs 1]
 *     [--batch-size 128] [--seed 0] [--strategies ewc,packnet] [--jobs 2] [--dir .tmp/task-costs]
 *     [--json docs/task-costs.json] [--md docs/task-costs.md] [--html .tmp/task-costs/report.html]
 *     [--fresh] [--render]
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { useBackend } from '../src/backend/select.js';
import { loadMnist } from '../src/data/mnist.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/experiments/files.js';
import { chartsPage, escapeHtml, lineChart, type ReportChart } from '../src/report/html.js';
import { registry } from '../src/strategies/index.js';
import { arg, runProcesses } from './common.js';
import { taskCosts, type TaskCost } from './task-costs-measure.js';

const budget = {
  tasks: Number(arg('tasks', '20')),
  trainPerTask: Number(arg('train', '2000')),
  testPerTask: Number(arg('test', '500')),
  hidden: arg('hidden', '200,200').split(',').map(Number),
  epochs: Number(arg('epochs', '1')),
  batchSize: Number(arg('batch-size', '128')),
  seed: Number(arg('seed', '0')),
};
const dir = arg('dir', '.tmp/task-costs');
const fileOf = (strategy: string) => join(dir, `${strategy}.json`);

/** One strategy's measurements, as a child process writes them. */
interface StrategyCosts {
  strategy: string;
  backend: string;
  budget: typeof budget;
  /** The 1-minute load average when the child started and ended (the machine is shared). */
  load: [number, number];
  seconds: number;
  finishedAt: string;
  costs: TaskCost[];
}

const child = arg('child', '');
if (child !== '') {
  const started = performance.now();
  const load = loadavg()[0];
  const backend = await useBackend('auto', null);
  const costs = await taskCosts(child, loadMnist(), budget);
  const out: StrategyCosts = {
    strategy: child,
    backend,
    budget,
    load: [load, loadavg()[0]],
    seconds: (performance.now() - started) / 1000,
    finishedAt: new Date().toISOString(),
    costs,
  };
  await writeJsonAtomic(fileOf(child), out);
  process.exit(0);
}

// Task-setting strategies of the registry; joint (whose training grows with every task) starts first.
const inTaskSetting = registry
  .filter((e) => e.create({}).settings?.includes('task') ?? true)
  .map((e) => e.name);
const wanted = arg('strategies', '');
const strategies = inTaskSetting.filter((s) => wanted === '' || wanted.split(',').includes(s));
mkdirSync(dir, { recursive: true });
if (!process.argv.includes('--render')) {
  const pass = process.argv.slice(2).filter((a) => a !== '--fresh');
  const runs = strategies
    .filter((s) => process.argv.includes('--fresh') || !existsSync(fileOf(s)))
    .sort((a, b) => Number(b === 'joint') - Number(a === 'joint'))
    .map((strategy) => ({
      strategy,
      args: ['--import', 'tsx', process.argv[1], ...pass, '--child', strategy],
    }));
  // One core per child: no worker threads, no BLAS threads (the children inherit this environment).
  process.env.UNFORGET_WORKERS = '1';
  process.env.OPENBLAS_NUM_THREADS = '1';
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  await runProcesses(runs, Number(arg('jobs', '2')), (r) => r.strategy);
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
}

// Every strategy measured so far in this folder, whichever this invocation ran.
const results = inTaskSetting
  .filter((s) => existsSync(fileOf(s)))
  .map((s) => JSON.parse(readFileSync(fileOf(s), 'utf8')) as StrategyCosts);
if (results.length === 0) throw new Error(`no measurements in ${dir}: run without --render first`);
const tasks = Math.max(...results.map((r) => r.costs.length));
const b = results[0].budget;
const setup =
  `${tasks} permuted-MNIST tasks, task setting (a head per task), MLP 784-${b.hidden.join('-')}-10, ` +
  `${b.trainPerTask} training and ${b.testPerTask} test images per task, ${b.epochs} epoch(s) per task, ` +
  `batch ${b.batchSize}, Adam; each strategy with its defaults, in its own process on one core ` +
  `(${results[0].backend} backend), two processes at a time on ${cpus().length} × ${cpus()[0]?.model ?? '?'}`;
const loads = results.flatMap((r) => r.load);
const loadNote = `1-minute load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the runs (a shared machine)`;

/** A cost shown in the tables and charts: how to read it from a task's record, its unit and scale. */
interface Cost {
  key: string;
  title: string;
  unit: string;
  digits: number;
  value: (c: TaskCost) => number;
}
const costs: Cost[] = [
  { key: 'step-cpu', title: 'Step, CPU time (median)', unit: 'ms', digits: 1, value: (c) => c.stepCpuMs },
  { key: 'step', title: 'Step, wall time (median)', unit: 'ms', digits: 1, value: (c) => c.stepMs },
  {
    key: 'train-cpu',
    title: 'Learning the task, CPU time',
    unit: 's',
    digits: 2,
    value: (c) => c.trainCpuMs / 1000,
  },
  {
    key: 'train',
    title: 'Training the task, wall time',
    unit: 's',
    digits: 2,
    value: (c) => c.trainMs / 1000,
  },
  {
    key: 'finish',
    title: "The strategy's finishTask (Fisher, pruning…), wall time",
    unit: 'ms',
    digits: 0,
    value: (c) => c.finishMs,
  },
  {
    key: 'memory',
    title: 'Memory kept: strategy + network',
    unit: 'MiB',
    digits: 2,
    value: (c) => c.memoryBytes / 1024 ** 2,
  },
  {
    key: 'strategy-memory',
    title: 'Memory kept by the strategy alone',
    unit: 'MiB',
    digits: 2,
    value: (c) => c.strategyBytes / 1024 ** 2,
  },
  {
    key: 'test-cpu',
    title: 'Testing every task learned so far, CPU time',
    unit: 'ms',
    digits: 0,
    value: (c) => c.testCpuMs,
  },
  {
    key: 'test-example-cpu',
    title: 'Testing, CPU time per test example',
    unit: 'µs',
    digits: 0,
    value: (c) => c.testCpuMsPerExample * 1000,
  },
  {
    key: 'accuracy',
    title: 'Mean accuracy over the tasks learned so far',
    unit: '%',
    digits: 1,
    value: (c) => 100 * c.averageAccuracy,
  },
];

// The markdown tables: a few tasks as columns, and how much the cost grew from task 2 to the last
// (task 1 is special for most methods: there is nothing to protect yet).
const shown = [...new Set([1, 2, 5, 10, 15, tasks])].filter((t) => t <= tasks);
const table = (c: Cost) => {
  const head = ['strategy', ...shown.map((t) => `T${t}`), ...(tasks >= 2 ? [`T${tasks} ÷ T2`] : [])];
  const rows = results.map((r) => {
    // NaN where a task or a field (files of an older version of this script) is missing.
    const at = (t: number) => (r.costs[t - 1] ? (c.value(r.costs[t - 1]) ?? Number.NaN) : Number.NaN);
    const shownValue = (t: number) => (Number.isNaN(at(t)) ? '-' : at(t).toFixed(c.digits));
    // No ratio of costs too small to show (a strategy without a finishTask times almost nothing).
    const growth = Number(at(2).toFixed(c.digits)) > 0 ? (at(tasks) / at(2)).toFixed(2) : '-';
    return [
      r.strategy,
      ...shown.map(shownValue),
      ...(tasks >= 2 ? [c.key === 'accuracy' ? '-' : growth] : []),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `**${c.title} (${c.unit})**`,
    '',
    line(head),
    line(head.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map(line),
  ].join('\n');
};
const flags = process.argv.slice(2).filter((a) => a !== '--render' && a !== '--fresh');
const command = `npm run bench:tasks${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}`;
const tablesMd = [
  `Measured by \`${command}\` (bench/task-costs.ts), finished ${results
    .map((r) => r.finishedAt)
    .sort()
    .at(-1)}: ${setup}; ${loadNote}.`,
  '',
  ...costs.flatMap((c) => [table(c), '']),
].join('\n');

const mdFile = arg('md', 'docs/task-costs.md');
const [open, close] = ['<!-- task-costs:tables -->', '<!-- /task-costs:tables -->'];
const previous = existsSync(mdFile) ? readFileSync(mdFile, 'utf8') : '';
const markdown =
  previous.includes(open) && previous.includes(close)
    ? `${previous.slice(0, previous.indexOf(open) + open.length)}\n${tablesMd}\n${previous.slice(previous.indexOf(close))}`
    : `# Cost as tasks grow\n\n${open}\n${tablesMd}\n${close}\n`;
// Laid out as the repository's Prettier would, so that format:check passes on the files in docs/.
const config = (await resolveConfig(fileURLToPath(import.meta.url))) ?? {};
await writeFileAtomic(mdFile, await format(markdown, { ...config, parser: 'markdown' }));

const jsonFile = arg('json', 'docs/task-costs.json');
const json = JSON.stringify({ command, setup, load: loadNote, strategies: results });
await writeFileAtomic(jsonFile, await format(json, { ...config, parser: 'json' }));

const taskLabels = Array.from({ length: tasks }, (_, t) => `T${t + 1}`);
const charts: ReportChart[] = costs.map((c) =>
  lineChart({
    id: `cost-${c.key}`,
    section: 'costs',
    title: c.title,
    x: { name: 'task', data: taskLabels },
    y: { name: c.unit, min: 0 },
    series: results.map((r) => ({
      name: r.strategy,
      data: r.costs.map((x) => {
        const v = c.value(x) ?? Number.NaN;
        return Number.isNaN(v) ? null : Number(v.toFixed(Math.max(c.digits, 2)));
      }),
    })),
  }),
);
const htmlFile = arg('html', join(dir, 'report.html'));
await writeFileAtomic(
  htmlFile,
  chartsPage({
    title: 'unforget: cost as tasks grow',
    intro: [setup, loadNote, `Command: ${command}`]
      .map((t) => `<p class="note">${escapeHtml(t)}.</p>`)
      .join('\n'),
    sections: [
      {
        heading: 'Each cost against the number of tasks learned',
        text: "One line per strategy; a line that climbs is a cost that grows with the number of tasks. CPU time counts the process's own work; wall time also the time other processes had the core (a shared machine): read trends from the CPU-time charts.",
        charts,
        wide: true,
      },
    ],
  }),
);
console.log(`wrote ${jsonFile}, ${mdFile} and ${htmlFile}`);
