import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, type RunOutcome } from '../src/experiments/compare.js';
import type { ComparisonOptions } from '../src/experiments/plan.js';
import { startRedis, startWorker, stopWorker, tinyPlan, type WorkerProcess } from './redis.js';

// One run long enough to be stopped in the middle.
const plan: ComparisonOptions = { ...tinyPlan, strategies: ['finetune'], seeds: [0], iterations: 150 };

test('a worker killed mid-run, and one stopped by Ctrl-C: the run is redone elsewhere and counted once', async () => {
  const root = await mkdtemp(join(tmpdir(), 'unforget-queue-stalled-'));
  const redis = await startRedis();
  const lock = ['--lock-seconds', '2'];
  const killed = startWorker(redis.url, ...lock);
  let stopped: WorkerProcess | undefined;
  let last: WorkerProcess | undefined;
  try {
    const [local] = await Promise.all([
      compare(plan, { folder: join(root, 'local'), workers: 1 }),
      killed.waitFor(/takes runs from/),
    ]);
    const killedName = `${killed.log().match(/worker (\S+) takes runs/)?.[1]}`;
    const events: string[] = [];
    let progressed = '';
    const ends: RunOutcome['status'][] = [];
    const out = await compare(plan, {
      folder: join(root, 'queue'),
      queue: redis.url,
      hooks: {
        onRunStart: (_s, worker) => events.push(`start ${worker}`),
        onRunProgress(_s, worker, p) {
          if (progressed === worker || p.step < 1) return;
          progressed = worker;
          if (worker === killedName) {
            // Mid-run: SIGKILL, no goodbye. Its lock runs out and the next worker takes the run up.
            killed.child.kill('SIGKILL');
            stopped = startWorker(redis.url, ...lock);
          } else if (stopped && last === undefined) {
            // Ctrl-C on the second one: it gives the run back to the queue and exits.
            stopped.child.kill('SIGINT');
            void stopped.exited.then(() => (last = startWorker(redis.url, ...lock)));
          }
        },
        onRunEnd: (_s, worker, o) => {
          ends.push(o.status);
          events.push(`${o.status} ${worker}`);
        },
      },
    });
    assert.equal(await killed.exited, 'SIGKILL');
    assert.ok(stopped && last);
    assert.equal(await stopped.exited, 0, 'Ctrl-C: a clean exit');
    assert.match(stopped.log(), /finetune-seed0 given back to the queue/);
    assert.equal(stopped.done().length, 0);
    assert.equal(last.done().length, 1, 'the third worker finished the run');
    assert.deepEqual(ends, ['stopped', 'stopped', 'done'], events.join(', '));
    assert.equal(new Set(events.filter((e) => e.startsWith('start'))).size, 3, 'three workers held the run');
    assert.equal(out.ran, 1, 'counted once');
    assert.equal(out.records.length, 1);
    assert.deepEqual(out.records[0].result.accuracyMatrix, local.records[0].result.accuracyMatrix);
  } finally {
    killed.child.kill('SIGKILL');
    await Promise.all([stopped, last].filter((w) => w !== undefined).map(stopWorker));
    await redis.stop();
    await rm(root, { recursive: true, force: true });
  }
});
