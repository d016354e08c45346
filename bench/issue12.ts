/**
 * Issue 12's measurements: `unforget run` on split MNIST (5 tasks, MLP 2×400, Adam 1e-3, batch 128,
 * 4 epochs per task): class-incremental finetune, lwf, ewc, si, replay (1,100 examples) and replay with
 * logits (DER++, α = 0.5), seeds 0–2; domain-incremental si, seeds 0–2; and, task-incremental, the
 * accuracy without the task label (task inferred per example and per batch of 64) for finetune, PackNet
 * and Piggyback on split MNIST and permuted MNIST (5 tasks). Each run is its own CLI process writing
 * JSON to --dir; runs whose file exists are skipped, so the script resumes. At most --jobs at once.
 * It writes the tables to docs/issue12-tables.md (--render: only that, from the runs done).
 *
 *   npx tsx bench/issue12.ts [--jobs 2] [--dir .tmp/issue12] [--seeds 0,1,2] [--infer-seeds 0] [--render]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/eval/result.js';
import { arg, meanStd, runProcesses } from './common.js';

const jobs = Number(arg('jobs', '2'));
const dir = arg('dir', '.tmp/issue12');
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
const inferSeeds = arg('infer-seeds', '0').split(',').map(Number);
const renderOnly = process.argv.includes('--render');
mkdirSync(dir, { recursive: true });

interface Run {
  group: 'class' | 'domain' | 'infer';
  scenario: string;
  setting: string;
  label: string;
  seed: number;
  file: string;
  args: string[];
}
const common = ['--tasks', '5', '--backbone', 'mlp', '--hidden', '400,400', '--epochs', '4'];
const common2 = ['--batch-size', '128', '--learning-rate', '0.001', '--optimizer', 'adam'];
const runs: Run[] = [];
const add = (
  group: Run['group'],
  scenario: string,
  setting: string,
  label: string,
  flags: string[],
  seed: number,
) => {
  const file = join(dir, `${scenario}-${setting}-${label.replace(/[^a-z0-9]+/gi, '_')}-seed${seed}.json`);
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'run', '--scenario', scenario, '--setting', setting];
  args.push(
    ...common,
    ...common2,
    ...flags,
    '--seed',
    String(seed),
    '--json',
    '--no-progress',
    '--output',
    file,
  );
  runs.push({ group, scenario, setting, label, seed, file, args });
};
const classRuns: [string, string[]][] = [
  ['finetune', ['--strategy', 'finetune']],
  ['lwf', ['--strategy', 'lwf']],
  ['ewc', ['--strategy', 'ewc']],
  ['si', ['--strategy', 'si']],
  ['replay (1,100)', ['--strategy', 'replay', '--memory', '1100']],
  ['replay + logits (DER++, α 0.5)', ['--strategy', 'replay', '--memory', '1100', '--alpha', '0.5']],
];
for (const seed of seeds)
  for (const [label, flags] of classRuns) add('class', 'split-mnist', 'class', label, flags, seed);
for (const seed of seeds) add('domain', 'split-mnist', 'domain', 'si', ['--strategy', 'si'], seed);
for (const scenario of ['split-mnist', 'permuted-mnist'])
  for (const strategy of ['finetune', 'packnet', 'piggyback'])
    for (const seed of inferSeeds)
      add('infer', scenario, 'task', strategy, ['--strategy', strategy, '--infer-task', 'both'], seed);

function result(run: Run): RunResult | null {
  if (!existsSync(run.file)) return null;
  try {
    const r = JSON.parse(readFileSync(run.file, 'utf8')) as RunResult;
    return r.metrics === null ? null : r;
  } catch {
    return null;
  }
}

if (!renderOnly) {
  const pending = runs.filter((r) => !result(r));
  console.log(`${runs.length} runs, ${pending.length} to do, ${jobs} at a time`);
  await runProcesses(pending, jobs, (run) => `${run.scenario} ${run.setting} ${run.label} seed ${run.seed}`);
}

const cell = (xs: number[]) => {
  if (xs.length === 0) return '–';
  const v = xs.map((x) => x * 100);
  const { m, sd } = meanStd(v);
  return v.length === 1 ? `${m.toFixed(1)} (n=1)` : `${m.toFixed(1)} ± ${sd.toFixed(1)} (n=${v.length})`;
};
const groupOf = (group: Run['group'], scenario: string, label: string) =>
  runs.filter((r) => r.group === group && r.scenario === scenario && r.label === label);
const results = (rs: Run[]) => rs.map(result).filter((r): r is RunResult => r !== null);
const lines: string[] = [];
lines.push('### Split MNIST, class-incremental (average accuracy after the 5th task)', '');
lines.push('| strategy | ACC (%) | BWT (pp) | extra memory | old data |', '|---|---:|---:|---:|---|');
for (const [label] of classRuns) {
  const rs = results(groupOf('class', 'split-mnist', label));
  const mem = rs.length
    ? `${(Math.max(...rs.map((r) => r.cost.strategyBytes)) / 2 ** 20).toFixed(2)} MiB`
    : '–';
  const kept = rs[0]?.cost.keptExamples ? `keeps ${rs[0].cost.keptExamples} examples` : 'none';
  lines.push(
    `| ${label} | ${cell(rs.map((r) => r.metrics?.averageAccuracy ?? NaN))} | ${cell(rs.map((r) => r.metrics?.backwardTransfer ?? NaN))} | ${mem} | ${kept} |`,
  );
}
lines.push('', '### Split MNIST, domain-incremental SI', '');
lines.push('| strategy | ACC (%) | BWT (pp) |', '|---|---:|---:|');
const si = results(groupOf('domain', 'split-mnist', 'si'));
lines.push(
  `| si | ${cell(si.map((r) => r.metrics?.averageAccuracy ?? NaN))} | ${cell(si.map((r) => r.metrics?.backwardTransfer ?? NaN))} |`,
);
lines.push('', '### Task-incremental: accuracy with and without the task label (after the 5th task)', '');
lines.push(
  '| scenario | strategy | ACC, task given (%) | ACC, task inferred per example (%) | task inferred right, per example (%) | ACC, task inferred per batch of 64 (%) | task inferred right, per batch (%) |',
  '|---|---|---:|---:|---:|---:|---:|',
);
for (const scenario of ['split-mnist', 'permuted-mnist']) {
  for (const label of ['finetune', 'packnet', 'piggyback']) {
    const rs = results(groupOf('infer', scenario, label));
    const w = (per: string) => rs.map((r) => (r.withoutTaskLabel ?? []).find((x) => x.per === per));
    const ex = w('example');
    const ba = w('batch');
    lines.push(
      `| ${scenario} | ${label} | ${cell(rs.map((r) => r.metrics?.averageAccuracy ?? NaN))} | ${cell(ex.map((x) => x?.averageAccuracy ?? NaN))} | ${cell(ex.map((x) => x?.averageTaskInferred ?? NaN))} | ${cell(ba.map((x) => x?.averageAccuracy ?? NaN))} | ${cell(ba.map((x) => x?.averageTaskInferred ?? NaN))} |`,
    );
  }
}
lines.push(
  '',
  `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), no GPU, TensorFlow.js wasm backend, Node ${process.version}; ` +
    `rendered ${new Date().toISOString()}.`,
);
const table = lines.join('\n');
console.log(`\n${table}`);
writeFileSync('docs/issue12-tables.md', `${table}\n`);
