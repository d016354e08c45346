/**
 * The third task of bench/model-life.ts, in a process of its own: loads the learner saved after
 * 'clothing' and 'digits' (with its strategy), learns 'digits-transposed' (the MNIST digits with each
 * image transposed) and prints one JSON line: the test accuracy of all three tasks and the times.
 *
 *   node --import tsx bench/model-life-third.ts <folder> [--seed 0] [--epochs 2] [--old-train]
 *
 * --old-train gives the old tasks' training data too (for joint).
 */
import { useBackend } from '../src/backend/select.js';
import { mapExamples, type Dataset } from '../src/data/dataset.js';
import { loadFashionMnist } from '../src/data/idx.js';
import { loadMnist } from '../src/data/mnist.js';
import { loadLearner } from '../src/persist/save.js';
import { learn } from '../src/train/loop.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : fallback;
}

const folder = process.argv[2];
if (folder === undefined || folder.startsWith('--')) {
  console.error(
    'usage: node --import tsx bench/model-life-third.ts <folder> [--seed 0] [--epochs 2] [--old-train]',
  );
  process.exit(2);
}
const seed = Number(arg('seed', '0'));
const epochs = Number(arg('epochs', '2'));
const oldTrain = process.argv.includes('--old-train');

await useBackend('wasm', null);
const fashion = await loadFashionMnist();
const mnist = loadMnist();
const transpose = (d: Dataset): Dataset =>
  mapExamples(d, (x, out) => {
    for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) out[c * 28 + r] = x[r * 28 + c];
  });

const t0 = performance.now();
const { learner, strategy } = await loadLearner(folder);
const loadMs = performance.now() - t0;
if (strategy === undefined) throw new Error(`${folder} was saved without its strategy`);
const r = await learn(
  learner,
  {
    name: 'digits-transposed',
    train: transpose(mnist.train),
    test: transpose(mnist.test),
    source: 'mnist, transposed',
  },
  strategy,
  {
    epochs,
    batchSize: 128,
    seed,
    oldData: {
      clothing: oldTrain ? { train: fashion.train, test: fashion.test } : { test: fashion.test },
      digits: oldTrain ? { train: mnist.train, test: mnist.test } : { test: mnist.test },
    },
  },
);
console.log(
  JSON.stringify({ accuracies: r.accuracies, trainMs: r.trainMs, loadMs, strategy: strategy.name }),
);
