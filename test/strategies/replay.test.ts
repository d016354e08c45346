import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subset } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { learner } from '../../src/model/learner.js';
import { loadLearner, saveLearner } from '../../src/persist/save.js';
import { split } from '../../src/scenarios/split.js';
import type { Scenario } from '../../src/scenarios/types.js';
import { finetune } from '../../src/strategies/finetune.js';
import { replay, type ReplayStrategy } from '../../src/strategies/replay.js';
import { train } from '../../src/train/loop.js';
import type { Strategy } from '../../src/train/strategy.js';
import { leakedTensors, testBackend } from '../helpers.js';

let folder: string;
before(async () => {
  await testBackend();
  folder = await mkdtemp(join(tmpdir(), 'unforget-replay-'));
});
after(() => rm(folder, { recursive: true, force: true }));

/** Class-incremental split MNIST on every `k`-th image. */
function classMnist(k: number): Scenario {
  const data = loadMnist();
  const every = (n: number) => Array.from({ length: Math.floor(n / k) }, (_, i) => i * k);
  return split(
    {
      train: subset(data.train, every(data.train.labels.length)),
      test: subset(data.test, every(data.test.labels.length)),
    },
    { tasks: 5, setting: 'class' },
  );
}

const budget = { iterations: 40, batchSize: 32, seed: 2 };

async function average(scenario: Scenario, strategy: Strategy) {
  const l = learner({ backbone: { kind: 'mlp', hidden: [100] }, scenario, seed: 1 });
  const r = await train(l, scenario, strategy, budget);
  return { l, r };
}

test('replay learns split MNIST class-incrementally far above fine-tuning with a small memory', async () => {
  const scenario = classMnist(8);
  const plain = await average(scenario, finetune());
  plain.l.dispose();
  const s = replay({ memory: 200 });
  const { l, r } = await average(scenario, s);
  const withReplay = r.metrics?.averageAccuracy ?? 0;
  const without = plain.r.metrics?.averageAccuracy ?? 0;
  assert.ok(without < 0.3, `fine-tuning keeps only the last task: ${without}`);
  assert.ok(withReplay > without + 0.3, `replay ${withReplay} vs fine-tuning ${without}`);
  assert.equal(r.cost.keptExamples, 200);
  assert.deepEqual(Object.values(s.counts()), Array(10).fill(20), 'class-balanced: 20 of each digit');
  assert.equal(s.memoryBytes?.(), 200 * (784 * 4 + 8));
  s.dispose?.();
  l.dispose();
});

test('the memory (with DER++ logits) is saved with the learner and loaded back; no tensors leak', async () => {
  const scenario = classMnist(16);
  const s = replay({ memory: 60, alpha: 0.5 });
  const l = learner({ backbone: { kind: 'mlp', hidden: [32] }, scenario, seed: 1 });
  const leaked = await leakedTensors(async () => {
    await train(l, scenario, s, { iterations: 5, batchSize: 16, seed: 2 });
  });
  // The learner's weights are made before; the memory lives on the host until it is saved.
  assert.equal(leaked, 0, 'no tensor growth over the tasks');
  const path = join(folder, 'der');
  await saveLearner(path, l, s);
  const loaded = await loadLearner(path);
  const t = loaded.strategy as ReplayStrategy;
  assert.deepEqual(t.counts(), s.counts());
  assert.equal(t.memoryBytes?.(), s.memoryBytes?.());
  const a = s.state?.();
  const b = t.state?.();
  for (const name of ['inputs', 'tasks', 'targets', 'logits', 'widths']) {
    assert.deepEqual(
      Array.from(b?.tensors[name]?.dataSync() ?? []),
      Array.from(a?.tensors[name]?.dataSync() ?? []),
      `${name} round-trips`,
    );
  }
  assert.equal(a?.tensors.logits.shape[1], 10, 'the last classes were stored with all 10 outputs');
  for (const x of [s, t]) x.dispose?.();
  loaded.learner.dispose();
  l.dispose();
});
