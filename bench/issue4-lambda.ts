/**
 * Chooses EWC's and online EWC's λ for split MNIST without looking at the test set: each task's
 * training set is split (seeded) into 80% for training and 20% for validation, and every λ in a grid of
 * powers of ten is run once (seed 0) under the issue-4 protocol (MLP 2×400, Adam 1e-3, batch 128,
 * 4 epochs per task). The λ with the best average validation accuracy after the last task wins.
 *
 *   npx tsx bench/issue4-lambda.ts [--settings task,domain] [--methods ewc,onlineEwc] [--out .tmp/issue4-lambda.json]
 */
import { writeFileSync } from 'node:fs';
import { useBackend } from '../src/backend/select.js';
import { exampleCount, subset } from '../src/data/dataset.js';
import { learner } from '../src/model/learner.js';
import { permutation, seededRandom } from '../src/random.js';
import { namedScenario } from '../src/scenarios/named.js';
import type { Scenario, Setting } from '../src/scenarios/types.js';
import { strategyEntry } from '../src/strategies/index.js';
import { train } from '../src/train/loop.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The scenario with each task's training set split into training (80%) and validation (20%, as "test"). */
function withValidation(s: Scenario, seed: number): Scenario {
  const random = seededRandom(seed);
  return {
    ...s,
    tasks: s.tasks.map((t) => {
      const order = permutation(exampleCount(t.train), random);
      const cut = Math.round(order.length * 0.8);
      return {
        ...t,
        train: subset(t.train, order.subarray(0, cut)),
        test: subset(t.train, order.subarray(cut)),
      };
    }),
  };
}

await useBackend('auto', null);
const settings = arg('settings', 'task,domain').split(',') as Setting[];
const methods = arg('methods', 'ewc,onlineEwc').split(',');
const grid = arg('grid', '1,10,100,1000,10000,100000,1000000').split(',').map(Number);
const out = arg('out', '.tmp/issue4-lambda.json');
const seed = 0;
const rows: { setting: Setting; method: string; lambda: number; validation: number; bwt: number }[] = [];
for (const setting of settings) {
  const full = await namedScenario('split-mnist').build({ setting, seed });
  const s = withValidation(full, 1000 + seed);
  for (const method of methods) {
    for (const lambda of grid) {
      const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario: s, seed });
      const strategy = strategyEntry(method).create({ lambda });
      const r = await train(l, s, strategy, { epochs: 4, batchSize: 128, seed });
      strategy.dispose?.();
      l.dispose();
      const row = {
        setting,
        method,
        lambda,
        validation: r.metrics?.averageAccuracy ?? NaN,
        bwt: r.metrics?.backwardTransfer ?? NaN,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
      writeFileSync(out, JSON.stringify(rows, null, 2));
    }
    const best = rows
      .filter((r) => r.setting === setting && r.method === method)
      .reduce((a, b) => (b.validation > a.validation ? b : a));
    console.log(
      `best λ for ${method}, ${setting}: ${best.lambda} (validation ${(100 * best.validation).toFixed(1)}%)`,
    );
  }
}
