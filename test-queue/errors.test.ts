import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '../src/errors.js';
import { parseQueueUrl, queueRunner, serveQueue } from '../src/experiments/queue.js';
import { unforget } from '../test/cli/spawn.js';
import { freePort, startRedis, startWorker } from './redis.js';

test('a queue address that is not redis://HOST:PORT is refused with the form to use', () => {
  assert.deepEqual(parseQueueUrl('redis://10.0.0.5:6400'), {
    host: '10.0.0.5',
    port: 6400,
    db: 0,
    label: 'redis://10.0.0.5:6400',
  });
  const p = parseQueueUrl('redis://me:secret@cluster-head/2');
  assert.equal(p.port, 6379);
  assert.equal(p.db, 2);
  assert.equal(p.password, 'secret');
  assert.equal(p.label, 'redis://cluster-head/2', 'the password stays out of messages');
  const cases: [string, RegExp][] = [
    ['http://127.0.0.1:6379', /not a Redis address \(http:\/\/\).*redis:\/\/HOST:PORT/],
    ['127.0.0.1:6379', /not a Redis address|not an address/],
    ['redis://127.0.0.1:70000', /port .* is 70000; a port is 1 to 65535/],
    ['redis://127.0.0.1:0', /port .* is 0/],
    ['redis://127.0.0.1:abc', /not an address; give the queue as redis:\/\/HOST:PORT/],
    ['redis://127.0.0.1:6379/queue', /only a database number/],
  ];
  for (const [url, message] of cases) {
    assert.throws(
      () => parseQueueUrl(url),
      (e: Error) => e instanceof OptionError && message.test(e.message),
      url,
    );
  }
});

test('an unreachable Redis is a clear error within seconds, for compare and for a worker', async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  for (const start of [() => queueRunner(url, { namespace: 'x' }), () => serveQueue(url)]) {
    const t0 = Date.now();
    await assert.rejects(start(), (e: Error) => {
      assert.ok(e instanceof OptionError);
      assert.match(
        e.message,
        /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED.*start redis-server/,
      );
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, `refused in ${Date.now() - t0} ms`);
  }
  // A host that does not answer at all: the connection times out instead of retrying forever.
  const t0 = Date.now();
  await assert.rejects(queueRunner('redis://10.255.255.1:6379', { namespace: 'x' }), /cannot reach Redis/);
  assert.ok(Date.now() - t0 < 6000, `gave up after ${Date.now() - t0} ms`);
});

test('the command line says so and exits 1, before making a results folder', async () => {
  const port = await freePort();
  const folder = join(tmpdir(), `unforget-queue-none-${process.pid}`);
  const [worker, bad, down] = await Promise.all([
    unforget('worker', '--queue', `redis://127.0.0.1:${port}`),
    unforget('compare', '--queue', 'https://127.0.0.1:6379', '--results', folder),
    unforget(
      'compare',
      '--queue',
      `redis://127.0.0.1:${port}`,
      '--strategies',
      'finetune',
      '--results',
      folder,
    ),
  ]);
  assert.equal(worker.code, 1);
  assert.match(
    worker.stderr,
    /^unforget: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/m,
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a Redis address/);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach Redis/);
  assert.equal(existsSync(folder), false);
});

test('a worker whose Redis went away still quits on Ctrl-C, within seconds', async () => {
  const redis = await startRedis();
  const worker = startWorker(redis.url);
  try {
    await worker.waitFor(/takes runs from/);
  } finally {
    await redis.stop();
  }
  const t0 = Date.now();
  worker.child.kill('SIGINT');
  assert.equal(await worker.exited, 0);
  assert.ok(Date.now() - t0 < 20_000, `quit after ${Date.now() - t0} ms`);
  assert.match(worker.log(), /does not answer; quitting without it/);
});
