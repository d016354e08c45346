/**
 * PackNet and Piggyback beside fine-tuning on split MNIST, task-incremental, MLP 2×400, batch 128.
 *
 *   node --import tsx bench/masks.ts accuracy   # 3 seeds × each strategy through the CLI, 4 epochs per task
 *   node --import tsx bench/masks.ts cost       # step cost (training, inference), free weights, bytes per task
 *   node --import tsx bench/masks.ts            # both
 *
 * Runs at most two processes at once and writes everything to .tmp/masks/. Timings on a shared machine
 * are noisy: the cost part interleaves the strategies round by round and reports medians, and ratios
 * to fine-tuning taken within each round.
 */
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useBackend } from '../src/backend/select.js';
import { learner, type Learner } from '../src/model/learner.js';
import { namedScenario } from '../src/scenarios/named.js';
import type { Scenario } from '../src/scenarios/types.js';
import { strategyEntry } from '../src/strategies/index.js';
import type { PacknetStrategy } from '../src/strategies/packnet.js';
import { train } from '../src/train/loop.js';
import type { RunResult } from '../src/eval/result.js';
import type { Strategy } from '../src/train/strategy.js';

const out = '.tmp/masks';
const seeds = [0, 1, 2];

interface Config {
  label: string;
  strategy: string;
  flags: string[];
  options: Record<string, number>;
}

const configs: Config[] = [
  { label: 'finetune', strategy: 'finetune', flags: [], options: {} },
  { label: 'packnet', strategy: 'packnet', flags: [], options: {} },
  {
    label: 'packnet-0.75',
    strategy: 'packnet',
    flags: ['--prune-ratio', '0.75'],
    options: { pruneRatio: 0.75 },
  },
  { label: 'piggyback', strategy: 'piggyback', flags: [], options: {} },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));

function runCli(config: Config, seed: number): Promise<void> {
  const file = join(out, `${config.label}-${seed}.json`);
  const args = ['tsx', 'src/cli/main.ts', 'run', '--scenario', 'split-mnist', '--setting', 'task'];
  args.push('--strategy', config.strategy, ...config.flags, '--epochs', '4', '--batch-size', '128');
  args.push('--seed', String(seed), '--json', '--no-progress', '--output', file);
  console.error(`npx ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn('npx', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${config.label} seed ${seed}: exit ${code}`)),
    );
  });
}

async function accuracy(): Promise<void> {
  const jobs = configs.flatMap((c) => seeds.map((s) => () => runCli(c, s)));
  // Two at a time.
  const next = async (): Promise<void> => {
    const job = jobs.shift();
    if (job) {
      await job();
      await next();
    }
  };
  await Promise.all([next(), next()]);
  const lines = [
    '| strategy | options | average accuracy (mean ± std, 3 seeds) | BWT | per seed |',
    '|---|---|---|---|---|',
  ];
  for (const c of configs) {
    const runs: RunResult[] = [];
    for (const s of seeds) runs.push(JSON.parse(await readFile(join(out, `${c.label}-${s}.json`), 'utf8')));
    const acc = runs.map((r) => r.metrics?.averageAccuracy ?? NaN);
    const bwt = runs.map((r) => r.metrics?.backwardTransfer ?? NaN);
    const options = Object.entries(runs[0].strategyOptions)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    lines.push(
      `| ${c.label} | ${options} | ${(100 * mean(acc)).toFixed(2)} ± ${(100 * std(acc)).toFixed(2)} % | ` +
        `${(100 * mean(bwt)).toFixed(2)} ± ${(100 * std(bwt)).toFixed(2)} % | ${acc.map((a) => (100 * a).toFixed(2)).join(', ')} |`,
    );
  }
  const text = lines.join('\n');
  await writeFile(join(out, 'accuracy.md'), text + '\n');
  console.log(text);
}

/** Milliseconds of one forward pass of a 128-example batch for `task`, waiting for the result. */
function inferenceMs(l: Learner, x: tf.Tensor, task: number): number {
  const start = performance.now();
  const y = l.logits(x, task, 4);
  y.dataSync();
  const ms = performance.now() - start;
  y.dispose();
  return ms;
}

async function cost(): Promise<void> {
  const backend = await useBackend('auto');
  const scenario: Scenario = await namedScenario('split-mnist').build({ setting: 'task', seed: 0 });
  const x = tf.tensor(scenario.tasks[0].test.inputs.subarray(0, 128 * 784), [128, 28, 28, 1]);
  const rounds = 7;
  const names = ['finetune', 'packnet', 'piggyback'];
  const steps: Record<string, number[]> = {};
  const free: number[] = [];
  const bytes: Record<string, number[]> = {};
  const trained = new Map<string, { l: Learner; strategy: Strategy }>();
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so that no strategy always runs first (or last) in a round.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario, seed: round });
      const strategy: Strategy = strategyEntry(name).create({});
      const perTask: number[] = [];
      const r = await train(l, scenario, strategy, {
        iterations: 20,
        batchSize: 128,
        seed: round,
        onTaskEnd: () => {
          perTask.push(strategy.memoryBytes?.() ?? 0);
          if (round === 0 && name === 'packnet') free.push((strategy as PacknetStrategy).freeFraction());
        },
      });
      if (round === 0) bytes[name] = perTask;
      (steps[name] ??= []).push(r.cost.msPerStep);
      trained.get(name)?.strategy.dispose?.();
      trained.get(name)?.l.dispose();
      trained.set(name, { l, strategy });
      console.error(`round ${round + 1} ${name}: ${r.cost.msPerStep.toFixed(1)} ms/step`);
    }
  }
  // Inference, interleaved call by call so that the machine's load hits every strategy alike.
  const calls = 300;
  const same: Record<string, number[]> = {};
  const cycling: Record<string, number[]> = {};
  for (const name of names) inferenceMs(trained.get(name)!.l, x, 0);
  for (let i = 0; i < calls; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      const l = trained.get(name)!.l;
      (same[name] ??= []).push(inferenceMs(l, x, 2));
    }
  }
  for (let i = 0; i < calls; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      const l = trained.get(name)!.l;
      (cycling[name] ??= []).push(inferenceMs(l, x, i % 5));
    }
  }
  for (const { l, strategy } of trained.values()) {
    strategy.dispose?.();
    l.dispose();
  }
  x.dispose();
  const ratio = (m: Record<string, number[]>, name: string) =>
    median(m[name].map((v, i) => v / m.finetune[i])).toFixed(2);
  const lines = [
    `backend ${backend}; MLP 784-400-400, batch 128. Training: ${rounds} rounds, strategies in rotating order, 20 steps ` +
      'per task, 5 tasks (packnet adds its retraining epoch); ratio = median over rounds of (strategy / finetune in the ' +
      `same round). Inference: ${calls} calls each, interleaved call by call; ratio = median of per-call ratios.`,
    '',
    '| strategy | training ms/step (median) | × finetune | inference ms/batch, same task | × finetune | inference, task changes every call | × finetune |',
    '|---|---|---|---|---|---|---|',
    ...names.map(
      (n) =>
        `| ${n} | ${median(steps[n]).toFixed(1)} | ${ratio(steps, n)} | ${median(same[n]).toFixed(2)} | ${ratio(same, n)} | ` +
        `${median(cycling[n]).toFixed(2)} | ${ratio(cycling, n)} |`,
    ),
    '',
    `packnet (pruneRatio 0.5) free-weight fraction after each task: ${free.map((f) => f.toFixed(4)).join(', ')}`,
    ...names.map((n) => `${n} strategy bytes after each task: ${bytes[n].join(', ')}`),
    `(each task also adds its head: ${(400 * 2 + 2) * 4} bytes of float32 weights)`,
    '',
    `raw training ms/step: ${JSON.stringify(steps)}`,
  ];
  const text = lines.join('\n');
  await writeFile(join(out, 'cost.md'), text + '\n');
  console.log(text);
}

await mkdir(out, { recursive: true });
const what = process.argv[2] ?? 'all';
if (what === 'accuracy' || what === 'all') await accuracy();
if (what === 'cost' || what === 'all') await cost();
