/**
 * The queue's overhead on a real run: the same small run through the local pool (one worker process)
 * and through the queue (one `serveQueue` worker process slot), alternating, both warm. Overhead =
 * (enqueue → result back) on the queue − (start → result) in the pool.
 *
 *   node --import tsx bench/issue14-overhead.ts [--repeats 6] [--iterations 20]
 */
import { hostname } from 'node:os';
import { planRuns, type RunSpec } from '../src/experiments/plan.js';
import { poolRunner, type Runner } from '../src/experiments/pool.js';
import { queueRunner, serveQueue } from '../src/experiments/queue.js';
import { startRedis } from '../test-queue/redis.js';
import { arg, meanStd } from './common.js';

const repeats = Number(arg('repeats', '6'));
const specs = planRuns({
  scenario: 'mnist-transfer',
  setting: 'task',
  strategies: ['finetune'],
  seeds: Array.from({ length: 2 * repeats + 2 }, (_, i) => i),
  backbone: { kind: 'mlp', hidden: [100] },
  iterations: Number(arg('iterations', '20')),
  batchSize: 32,
  backend: 'wasm',
});

const redis = await startRedis();
const stop = new AbortController();
const worker = serveQueue(redis.url, { signal: stop.signal });
const queue = await queueRunner(redis.url, { namespace: `bench-${hostname()}` });
const pool = poolRunner(1);

/** Wall time of one run from the call until its result is back; and until a worker started it. */
async function time(runner: Runner, spec: RunSpec): Promise<{ total: number; toStart: number }> {
  const t0 = performance.now();
  let started = NaN;
  let failed: Error | undefined;
  await runner.runAll(
    [spec],
    {
      onStart: () => (started = performance.now() - t0),
      onProgress() {},
      onEnd: (_s, _w, end) => {
        if (end.status !== 'done') failed = new Error(`${spec.id}: ${end.status}`);
      },
    },
    new AbortController().signal,
  );
  if (failed) throw failed;
  return { total: performance.now() - t0, toStart: started };
}

// Warm both: the first run of a worker process starts its backend.
await time(pool, specs[0]);
await time(queue, specs[1]);
const pooled: number[] = [];
const queued: number[] = [];
const toStart: number[] = [];
for (let i = 0; i < repeats; i++) {
  pooled.push((await time(pool, specs[2 + 2 * i])).total);
  const q = await time(queue, specs[3 + 2 * i]);
  queued.push(q.total);
  toStart.push(q.toStart);
}
const show = (xs: number[]) => {
  const { m, sd } = meanStd(xs);
  return `${m.toFixed(0)} ± ${sd.toFixed(0)} ms`;
};
console.log(
  `one run, local pool: ${show(pooled)}; on the queue: ${show(queued)} (${repeats} each, alternating)`,
);
console.log(
  `queue overhead per run: ${show(queued.map((q, i) => q - pooled[i]))}; enqueue → worker started: ${show(toStart)}`,
);
stop.abort();
await worker;
await Promise.all([queue.close(), pool.close()]);
await redis.stop();
process.exit(0);
