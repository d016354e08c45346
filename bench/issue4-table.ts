/**
 * Issue 4's comparison table: `unforget run` on split MNIST (5 tasks; task- and domain-incremental;
 * MLP 2×400, Adam 1e-3, batch 128, 4 epochs per task; seeds 0, 1, 2) for finetune, featureExtraction,
 * joint, lwf, ewc and onlineEwc. Each run is its own CLI process writing JSON to --dir; runs whose file
 * exists are skipped, so the script resumes. At most --jobs processes at once (default 2).
 *
 *   npx tsx bench/issue4-table.ts [--jobs 2] [--dir .tmp/issue4] [--seeds 0,1,2]
 *       [--lambda ewc:task=10000,ewc:domain=...,onlineEwc:task=...,onlineEwc:domain=...]
 *       [--strategies lwf --extra '--warmup-epochs 1' --tag warmup1]   (a variant, kept apart by its tag)
 *
 * EWC's λ per setting comes from bench/issue4-lambda.ts (a validation split of the training data, seed 0):
 * 10⁴ in the task setting and 10⁵ in the domain setting, for ewc and onlineEwc alike (the default).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../src/eval/result.js';
import { arg, meanStd, runProcesses } from './common.js';

const jobs = Number(arg('jobs', '2'));
const dir = arg('dir', '.tmp/issue4');
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
const settings = arg('settings', 'task,domain').split(',');
const strategies = arg('strategies', 'finetune,featureExtraction,joint,lwf,ewc,onlineEwc').split(',');
// A variant: more options for every run (e.g. --extra '--warmup-epochs 1'), kept apart by --tag.
const extra = arg('extra', '').split(' ').filter(Boolean);
const tag = arg('tag', '');
const lambdas = new Map(
  arg('lambda', 'ewc:task=10000,ewc:domain=100000,onlineEwc:task=10000,onlineEwc:domain=100000')
    .split(',')
    .filter(Boolean)
    .map((part) => part.split('=') as [string, string]),
);
mkdirSync(dir, { recursive: true });

interface Run {
  setting: string;
  strategy: string;
  seed: number;
  file: string;
  args: string[];
}
const runs: Run[] = [];
for (const setting of settings) {
  for (const strategy of strategies) {
    for (const seed of seeds) {
      const lambda = lambdas.get(`${strategy}:${setting}`);
      const file = join(dir, `${setting}-${strategy}${tag ? `-${tag}` : ''}-seed${seed}.json`);
      const args = [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'run',
        '--scenario',
        'split-mnist',
        '--tasks',
        '5',
        '--setting',
        setting,
        '--strategy',
        strategy,
        '--backbone',
        'mlp',
        '--hidden',
        '400,400',
        '--epochs',
        '4',
        '--batch-size',
        '128',
        '--learning-rate',
        '0.001',
        '--optimizer',
        'adam',
        '--seed',
        String(seed),
        ...(lambda ? ['--lambda', lambda] : []),
        ...extra,
        '--json',
        '--no-progress',
        '--output',
        file,
      ];
      runs.push({ setting, strategy, seed, file, args });
    }
  }
}

function done(run: Run): boolean {
  if (!existsSync(run.file)) return false;
  try {
    const r = JSON.parse(readFileSync(run.file, 'utf8')) as RunResult;
    const lambda = lambdas.get(`${run.strategy}:${run.setting}`);
    return (
      r.metrics !== null && (lambda === undefined || Number(r.strategyOptions.lambda) === Number(lambda))
    );
  } catch {
    return false;
  }
}

const pending = runs.filter((r) => !done(r));
console.log(`${runs.length} runs, ${pending.length} to do, ${jobs} at a time`);
await runProcesses(pending, jobs, (run) => `${run.setting} ${run.strategy} seed ${run.seed}`);

// The table: mean ± standard deviation (over seeds) of average accuracy and backward transfer. Step
// times are left out: runs in separate processes at different moments do not compare (see
// bench/strategies-step-time.ts for that).
const cell = (xs: number[], scale: number, digits: number) => {
  if (xs.length === 0) return '–';
  const { m, sd } = meanStd(xs.map((x) => x * scale));
  return `${m.toFixed(digits)} ± ${sd.toFixed(digits)}`;
};
const lines = [
  `| strategy | ${settings.map((s) => `${s}: ACC (%) | ${s}: BWT (pp)`).join(' | ')} | extra memory | λ |`,
  `|---|${settings.map(() => '---:|---:').join('|')}|---:|---|`,
];
const summary: Record<string, unknown>[] = [];
for (const strategy of strategies) {
  const cells: string[] = [];
  let memory = '–';
  const lambdaNote: string[] = [];
  for (const setting of settings) {
    const results = runs
      .filter((r) => r.strategy === strategy && r.setting === setting && done(r))
      .map((r) => JSON.parse(readFileSync(r.file, 'utf8')) as RunResult);
    const acc = results.map((r) => r.metrics?.averageAccuracy ?? NaN);
    const bwt = results.map((r) => r.metrics?.backwardTransfer ?? NaN);
    cells.push(`${cell(acc, 100, 1)} (n=${results.length})`, cell(bwt, 100, 1));
    if (setting === settings[0] && results.length > 0) {
      memory = `${(Math.max(...results.map((r) => r.cost.strategyBytes)) / 2 ** 20).toFixed(2)} MiB`;
    }
    if (results[0]?.strategyOptions.lambda !== undefined)
      lambdaNote.push(`${setting} ${results[0].strategyOptions.lambda}`);
    summary.push({ strategy, setting, seeds: results.map((r) => r.training.seed), acc, bwt });
  }
  lines.push(
    `| ${strategy}${tag ? ` (${tag})` : ''} | ${cells.join(' | ')} | ${memory} | ${lambdaNote.join(', ')} |`,
  );
}
const table = lines.join('\n');
console.log(`\n${table}`);
writeFileSync(join(dir, `table${tag ? `-${tag}` : ''}.md`), `${table}\n`);
writeFileSync(join(dir, `summary${tag ? `-${tag}` : ''}.json`), JSON.stringify(summary, null, 2));
