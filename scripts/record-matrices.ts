/**
 * Records the accuracy matrix (and the accuracy before training) of every strategy in every setting it
 * supports, on a small split MNIST, so that a change to the training loop can be checked to give the
 * same numbers bit for bit. Runs on the 'cpu' backend (deterministic, no wasm kernels).
 * Run with `node --import tsx scripts/record-matrices.ts <out.json>`.
 *
 * Every run: split MNIST (5 tasks) on every 20th training and test image, an MLP [32] learner seeded 3,
 * 6 steps per task of batch 32 seeded 5, every strategy at its defaults except ewc/onlineEwc, which
 * estimate the Fisher on 50 examples. The JSON is keyed "<strategy>/<setting>", each with
 * { accuracyMatrix, initialAccuracy }; the numbers are written exactly (shortest round-trip doubles).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { useBackend } from '../src/backend/select.js';
import { subset } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { learner } from '../src/model/learner.js';
import { split } from '../src/scenarios/split.js';
import type { Scenario, Setting } from '../src/scenarios/types.js';
import { registry, strategyEntry } from '../src/strategies/index.js';
import { train } from '../src/train/loop.js';

const every = 20;
const allSettings: readonly Setting[] = ['task', 'domain', 'class'];
/** Strategies that pick weights by the task's identity and so need the task setting. */
const taskOnly = new Set(['packnet', 'piggyback']);
const optionsOf: Record<string, Record<string, number | string>> = {
  ewc: { fisherSamples: 50 },
  onlineEwc: { fisherSamples: 50 },
};

function sampledSplitMnist(k: number, setting: Setting): Scenario {
  const data = loadMnist();
  const indices = (n: number) => Array.from({ length: Math.floor(n / k) }, (_, i) => i * k);
  return split(
    {
      train: subset(data.train, indices(data.train.labels.length)),
      test: subset(data.test, indices(data.test.labels.length)),
    },
    { tasks: 5, setting },
  );
}

export interface Recorded {
  accuracyMatrix: number[][];
  initialAccuracy: number[];
  /** After the last task: every task's logits on the first 4 test images of task 1, as float32 values. */
  logits: number[][];
}

/**
 * Runs every strategy named (default: the registry's) in every setting it supports and returns what it
 * recorded, keyed "<strategy>/<setting>".
 */
export async function recordAll(
  log: (line: string) => void = () => undefined,
  names: readonly string[] = registry.map((e) => e.name),
): Promise<Record<string, Recorded>> {
  await useBackend('cpu', null);
  const recorded: Record<string, Recorded> = {};
  for (const name of names) {
    const settings = taskOnly.has(name) ? (['task'] as const) : allSettings;
    for (const setting of settings) {
      const started = performance.now();
      const scenario = sampledSplitMnist(every, setting);
      const l = learner({ backbone: { kind: 'mlp', hidden: [32] }, scenario, seed: 3 });
      const strategy = strategyEntry(name).create(optionsOf[name] ?? {});
      const result = await train(l, scenario, strategy, { iterations: 6, batchSize: 32, seed: 5 });
      const test = scenario.tasks[0].test;
      const x = tf.tensor(test.inputs.subarray(0, 4 * 784), [4, 28, 28, 1]);
      const logits = scenario.tasks.map((_, t) => {
        const y = l.logits(x, t, scenario.tasks.length - 1);
        const values = Array.from(y.dataSync());
        y.dispose();
        return values;
      });
      x.dispose();
      strategy.dispose?.();
      l.dispose();
      recorded[`${name}/${setting}`] = {
        accuracyMatrix: result.accuracyMatrix,
        initialAccuracy: result.initialAccuracy,
        logits,
      };
      log(`${name}/${setting}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  return recorded;
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node --import tsx scripts/record-matrices.ts <out.json>');
  const recorded = await recordAll((line) => console.error(line));
  await mkdir(dirname(out), { recursive: true });
  // Laid out as the repository's Prettier would (so format:check passes), wherever it is written;
  // the numbers stay as JSON.stringify wrote them.
  const config = (await resolveConfig(fileURLToPath(import.meta.url))) ?? {};
  await writeFile(out, await format(JSON.stringify(recorded), { ...config, parser: 'json' }));
  console.error(`wrote ${Object.keys(recorded).length} matrices to ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
