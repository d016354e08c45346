import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeRun } from '../../src/experiments/execute.js';
import { planRuns } from '../../src/experiments/plan.js';
import { processSlot } from '../../src/experiments/pool.js';
import { testBackend } from '../helpers.js';

test('a worker process gives the numbers this process gives, reports progress, and stops when asked', async () => {
  const backend = (await testBackend()) as 'cpu';
  const [spec, longer] = planRuns({
    scenario: 'mnist-transfer',
    setting: 'task',
    strategies: ['finetune'],
    seeds: [3, 4],
    backbone: { kind: 'mlp', hidden: [16] },
    iterations: 5,
    batchSize: 32,
    backend,
  });
  const stopFile = join(tmpdir(), `unforget-pool-test-${process.pid}`);
  const slot = processSlot(stopFile);
  try {
    const steps: number[] = [];
    const there = await slot.run(spec, (p) => steps.push(p.task * 5 + p.step), new AbortController().signal);
    const here = await executeRun(spec);
    assert.equal(there.backend, here.backend);
    assert.deepEqual(there.accuracyMatrix, here.accuracyMatrix, 'same seed, same backend: same numbers');
    assert.equal(steps.at(-1), 10, 'the last step of the last task is always reported');

    // The same process takes the next run; a stop reaches it between steps.
    const controller = new AbortController();
    const stopped = await slot.run(
      { ...longer, iterations: 5000 },
      (p) => p.step >= 3 && controller.abort(),
      controller.signal,
    );
    assert.equal(stopped.stopped, true);
    assert.equal(stopped.accuracyMatrix.length, 1);
    assert.ok(existsSync(stopFile), 'the stop was written for the worker');
  } finally {
    await slot.close();
    rmSync(stopFile, { force: true });
  }
});
