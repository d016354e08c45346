import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compare, type ComparisonOutcome } from '../src/experiments/compare.js';
import { startRedis, startWorker, stopWorker, tinyPlan, type WorkerProcess } from './redis.js';

let redis: Awaited<ReturnType<typeof startRedis>>;
let workers: WorkerProcess[] = [];
let root: string;
let local: ComparisonOutcome;

/** Every run's accuracy matrix, by run id. */
const matrices = (o: ComparisonOutcome) =>
  Object.fromEntries(o.records.map((r) => [r.spec.id, r.result.accuracyMatrix]));
const doneLines = () => workers.flatMap((w) => w.done()).length;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'unforget-queue-'));
  redis = await startRedis();
  workers = [startWorker(redis.url), startWorker(redis.url)];
  // The local pool's numbers, while the workers start.
  local = await compare(tinyPlan, { folder: join(root, 'local'), workers: 1 });
  await Promise.all(workers.map((w) => w.waitFor(/takes runs from/)));
});

after(async () => {
  const codes = await Promise.all(workers.map(stopWorker));
  await redis.stop();
  await rm(root, { recursive: true, force: true });
  assert.deepEqual(codes, [0, 0], 'Ctrl-C stops an idle worker cleanly');
});

test('compare --queue with two workers gives exactly the local pool’s results', async () => {
  const starts: string[] = [];
  const out = await compare(tinyPlan, {
    folder: join(root, 'queue'),
    queue: redis.url,
    hooks: { onRunStart: (spec, worker) => starts.push(`${spec.id}@${worker}`) },
  });
  assert.equal(out.ran, 4);
  assert.equal(out.failed.length, 0);
  assert.deepEqual(matrices(out), matrices(local), 'same plan, same backend: the same numbers');
  assert.deepEqual(
    out.records.map((r) => r.spec.id),
    local.records.map((r) => r.spec.id),
  );
  assert.equal(starts.length, 4);
  for (const s of starts) assert.match(s, /@.+:\d+$/, 'each run names the worker (host:pid) it ran on');
  assert.equal(doneLines(), 4, 'the workers ran each run once');
  assert.deepEqual((await readdir(join(root, 'queue'))).filter((f) => f.endsWith('-seed0.json')).sort(), [
    'ewc-seed0.json',
    'finetune-seed0.json',
  ]);
});

test('a compare stopped and started again collects what the workers finished and redoes nothing', async () => {
  const folder = join(root, 'resume');
  const controller = new AbortController();
  const first = await compare(tinyPlan, {
    folder,
    queue: redis.url,
    signal: controller.signal,
    hooks: { onRunEnd: (_s, _w, o) => o.status === 'done' && controller.abort() },
  });
  assert.equal(first.stopped, true);
  const saved = first.records.length;
  assert.ok(saved >= 1 && saved < 4, `stopped after the first run: ${saved} saved`);
  // The workers go on while no compare listens; wait until they have done the whole plan.
  for (let i = 0; doneLines() < 8; i++) {
    assert.ok(i < 1200, 'the workers finish the runs left on the queue');
    await sleep(50);
  }
  const second = await compare(tinyPlan, { folder, queue: redis.url });
  assert.equal(second.skipped, saved, 'the runs saved before are not redone');
  assert.equal(second.ran, 4 - saved, 'the runs finished while compare was away are collected');
  assert.deepEqual(matrices(second), matrices(local));
  await sleep(200);
  assert.equal(doneLines(), 8, 'no run was done twice');
});

test('a run that fails on a worker is reported with its reason, and queued again by the next compare', async () => {
  // A learning rate this large makes the loss overflow at once: the worker's run throws.
  const failing = {
    ...tinyPlan,
    strategies: ['finetune'],
    seeds: [0],
    strategyOptions: { finetune: { learningRate: 1e30 } },
  };
  const folder = join(root, 'failing');
  const started = () =>
    workers.flatMap((w) => w.log().split('\n')).filter((l) => /finetune-seed0 started/.test(l)).length;
  const before = started();
  for (const attempt of [1, 2]) {
    const out = await compare(failing, { folder, queue: redis.url });
    assert.equal(out.ran, 0);
    assert.deepEqual(
      out.failed.map((f) => f.spec.id),
      ['finetune-seed0'],
    );
    assert.match(out.failed[0].error.message, /loss|diverg/i, 'the worker’s own message');
    assert.equal(started() - before, attempt, 'each compare has the failed run done again');
  }
});

test('two compares on one queue do not mix their runs', async () => {
  const [a, b] = await Promise.all([
    compare(tinyPlan, { folder: join(root, 'a'), queue: redis.url }),
    compare({ ...tinyPlan, seeds: [0] }, { folder: join(root, 'b'), queue: redis.url }),
  ]);
  assert.equal(a.ran, 4);
  assert.equal(b.ran, 2);
  assert.deepEqual(matrices(a), matrices(local));
  assert.deepEqual(Object.keys(matrices(b)).sort(), ['ewc-seed0', 'finetune-seed0']);
  assert.equal(doneLines(), 14, 'each comparison had its own runs done: 4 + 2');
});
