/**
 * Runs on many machines through a BullMQ queue in Redis. `queueRunner` is a `Runner` (like the local
 * pool) that puts runs on the queue and collects their results; `serveQueue`, behind
 * `unforget worker`, takes runs from the queue on any machine, each in a process of its own.
 *
 * One queue serves every comparison: a job's id is the comparison's key, the run's id and a hash of
 * its spec, so two comparisons never share a run, the same run is never queued twice, and a
 * comparison started again finds the runs its workers finished while it was away.
 */
import { createHash, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents, WaitingError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { OptionError } from '../errors.js';
import type { RunResult } from '../eval/result.js';
import type { Progress } from '../train/loop.js';
import { canonicalJson, type RunSpec } from './plan.js';
import { processSlot, RunFailedError, type RunEnd, type Runner, type RunSlot } from './pool.js';
import { thisHost, type RunHost } from './store.js';

/** The BullMQ queue every comparison and worker on one Redis shares. */
export const queueName = 'unforget-runs';

/** What a job carries to a worker, what it reports while it runs, and what it gives back. */
interface JobData {
  spec: RunSpec;
  /** The comparison's key (see `comparisonKey`), for whoever looks at the queue. */
  comparison: string;
}
interface JobProgress {
  /** host:pid of the worker process, with #slot when it runs several at once. */
  worker: string;
  progress: Progress | null;
}
interface JobReturn {
  result: RunResult;
  host: RunHost;
  worker: string;
}
type RunJob = Job<JobData, JobReturn>;

/** A Redis server to reach, from a `redis://[user:password@]HOST:PORT[/db]` address. */
export interface QueueAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** The address without its password, for messages. */
  label: string;
}

/**
 * Reads a queue address; a mistake throws an `OptionError` that shows the expected form.
 *
 * ```ts
 * parseQueueUrl('redis://10.0.0.5:6379'); // { host: '10.0.0.5', port: 6379, db: 0, label: 'redis://10.0.0.5:6379' }
 * ```
 */
export function parseQueueUrl(text: string): QueueAddress {
  const form = 'give the queue as redis://HOST:PORT, e.g. redis://127.0.0.1:6379';
  const port = /^[a-z]+:\/\/[^/]*:(\d+)(\/|$)/i.exec(text)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new OptionError(`the port of --queue '${text}' is ${port}; a port is 1 to 65535 (${form})`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OptionError(`--queue '${text}' is not an address; ${form}`);
  }
  if (url.protocol !== 'redis:') {
    throw new OptionError(`--queue '${text}' is not a Redis address (${url.protocol}//); ${form}`);
  }
  if (url.hostname === '') throw new OptionError(`--queue '${text}' names no host; ${form}`);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) {
    throw new OptionError(`--queue '${text}': after the port only a database number may follow; ${form}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const portNumber = url.port === '' ? 6379 : Number(url.port);
  return {
    host,
    port: portNumber,
    db: path === '' ? 0 : Number(path),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    label: `redis://${url.host}${path ? `/${path}` : ''}`,
  };
}

const redisOptions = (a: QueueAddress): RedisOptions => ({
  host: a.host,
  port: a.port,
  db: a.db,
  username: a.username,
  password: a.password,
});

/**
 * Checks that Redis answers, within a few seconds: ioredis alone would retry forever, and a
 * command line that hangs on a typo helps nobody.
 */
async function reach(address: QueueAddress, timeoutMs = 3000): Promise<void> {
  const probe = new Redis({
    ...redisOptions(address),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause: Error | undefined; // what the socket said (connect() only says the connection closed)
  probe.on('error', (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const why = cause?.message ?? (error instanceof Error ? error.message : String(error));
    throw new OptionError(
      `cannot reach Redis at ${address.label} (${why}); start redis-server there, or fix the host and port of --queue`,
    );
  } finally {
    probe.disconnect();
  }
}

/** Checks a queue address and that its Redis answers; throws an `OptionError` within seconds if not. */
export async function checkQueue(url: string): Promise<void> {
  await reach(parseQueueUrl(url));
}

/** The connections BullMQ uses once Redis has answered: they wait and retry through short outages. */
function connections(address: QueueAddress) {
  const open: Redis[] = [];
  return {
    make(onError: (e: Error) => void): Redis {
      const r = new Redis({
        ...redisOptions(address),
        maxRetriesPerRequest: null,
        retryStrategy: (times) => Math.min(500 * times, 5000),
      });
      r.on('error', onError);
      open.push(r);
      return r;
    },
    close() {
      for (const r of open) r.disconnect();
    },
  };
}

/** Tells about Redis errors without flooding: the first, then at most one every 30 s. */
function errorNotes(note: (message: string) => void): (error: Error) => void {
  let last = 0;
  return (error) => {
    if (Date.now() - last < 30_000) return;
    last = Date.now();
    note(`Redis: ${error.message} (retrying)`);
  };
}

/** A run's job id on the queue: the comparison, the run's name, and its spec (a changed plan is a new job). */
export function jobId(namespace: string, spec: RunSpec): string {
  const hash = createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 10);
  return `${namespace}.${spec.id}.${hash}`.replaceAll(':', '_');
}

/**
 * A `Runner` that puts the runs on the queue at `url` under `namespace` (a comparison's key) and
 * collects what `unforget worker`s send back. Runs already finished on the queue are collected at
 * once; failed ones are queued again; runs still waiting or running are watched, not queued twice.
 * A stop (the signal) leaves the runs on the queue: the workers go on, and the next call collects them.
 * Fails within seconds when Redis cannot be reached.
 *
 * ```ts
 * const runner = await queueRunner('redis://10.0.0.5:6379', { namespace: comparisonKey('results/x') });
 * await runner.runAll(specs, { onStart() {}, onProgress() {}, onEnd: (spec, worker, end) => save(spec, end) }, signal);
 * await runner.close();
 * ```
 */
export async function queueRunner(
  url: string,
  options: { namespace: string; pollMs?: number; onNote?: (message: string) => void },
): Promise<Runner> {
  const address = parseQueueUrl(url);
  await reach(address);
  let note = options.onNote ?? (() => {});
  const onError = errorNotes((m) => note(m));
  const redis = connections(address);
  const queue = new Queue<JobData, JobReturn>(queueName, { connection: redis.make(onError) });
  const events = new QueueEvents(queueName, { connection: redis.make(onError) });
  queue.on('error', onError);
  events.on('error', onError);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const pollMs = options.pollMs ?? 3000;

  return {
    async runAll(specs, on, signal) {
      if (on.onNote) note = on.onNote;
      /** The runs not ended yet, by job id, with the worker they are on ('' while waiting). */
      const open = new Map<string, { spec: RunSpec; worker: string; ending: boolean }>();
      for (const spec of specs) open.set(jobId(options.namespace, spec), { spec, worker: '', ending: false });
      let finish = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      if (open.size === 0) finish();

      const end = async (id: string, how: RunEnd, worker: string) => {
        const run = open.get(id);
        if (!run || run.ending) return;
        run.ending = true;
        try {
          await on.onEnd(run.spec, worker || run.worker, how);
        } catch (error) {
          run.ending = false;
          throw error;
        }
        open.delete(id);
        if (how.status === 'done') await queue.remove(id).catch(onError); // saved: the queue can forget it
        if (open.size === 0) finish();
      };
      /** Ends the run if its job has finished; `retry` queues a failed one again instead. */
      const settle = async (id: string, retry = false): Promise<'open' | 'ended' | 'missing'> => {
        const job = (await queue.getJob(id)) as RunJob | undefined;
        if (!job) return 'missing';
        const state = await job.getState();
        if (state === 'completed') {
          const r = job.returnvalue;
          await end(id, { status: 'done', result: r.result, host: r.host }, r.worker);
          return 'ended';
        }
        if (state === 'failed') {
          if (retry) {
            await job.retry('failed');
            return 'open';
          }
          const reason = job.failedReason || 'no reason given';
          await end(id, { status: 'failed', error: new RunFailedError(reason, 'QueueJobFailed') }, '');
          return 'ended';
        }
        return 'open';
      };
      const safely = (work: Promise<unknown>) => void work.catch((e: Error) => onError(e));

      const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
        const run = open.get(id);
        if (!run || typeof data !== 'object' || data === null) return;
        const { worker, progress } = data as JobProgress;
        if (worker !== run.worker) {
          run.worker = worker;
          on.onStart(run.spec, worker);
        }
        if (progress) on.onProgress(run.spec, worker, progress);
      };
      const onFinished = ({ jobId: id }: { jobId: string }) => {
        if (open.has(id)) safely(settle(id));
      };
      const onWaiting = ({ jobId: id, prev }: { jobId: string; prev?: string }) => {
        const run = open.get(id);
        if (!run || run.worker === '' || prev === undefined) return;
        const was = run.worker;
        run.worker = '';
        on.onNote?.(`${run.spec.id} went back on the queue (its worker ${was} stopped or stopped answering)`);
        safely(Promise.resolve(on.onEnd(run.spec, was, { status: 'stopped' })));
      };
      events.on('progress', onProgress);
      events.on('completed', onFinished);
      events.on('failed', onFinished);
      events.on('waiting', onWaiting);
      const onAbort = () => finish();
      signal.addEventListener('abort', onAbort);
      // Missed events (before the listener started, or while Redis was away) are caught by a slow poll.
      const poll = setInterval(() => {
        for (const [id, run] of open) if (!run.ending) safely(settle(id));
      }, pollMs);
      try {
        const toAdd: RunSpec[] = [];
        for (const [id, run] of open) {
          if ((await settle(id, true)) === 'missing') toAdd.push(run.spec);
        }
        await queue.addBulk(
          toAdd.map((spec) => ({
            name: spec.id,
            data: { spec, comparison: options.namespace },
            opts: { jobId: jobId(options.namespace, spec), removeOnComplete: false, removeOnFail: false },
          })),
        );
        if (signal.aborted) finish();
        await finished;
      } finally {
        clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        events.off('progress', onProgress);
        events.off('completed', onFinished);
        events.off('failed', onFinished);
        events.off('waiting', onWaiting);
      }
    },
    async close() {
      await Promise.allSettled([events.close(), queue.close()]);
      redis.close();
    },
  };
}

/** How `serveQueue` works; every field has a default. */
export interface ServeOptions {
  /** Runs at once, each in a process of its own. Default 1. */
  concurrency?: number;
  /**
   * How long a run stays taken by a worker that stopped answering (killed, cut off) before another
   * worker takes it up. Default 30 s; a live worker renews its hold every half of it.
   */
  lockSeconds?: number;
  /** Stops taking runs; the running ones stop after their step and go back on the queue. */
  signal?: AbortSignal;
  /** One line per event: ready, a run taken, done, failed, given back. */
  onEvent?: (line: string) => void;
}

/**
 * Takes runs from the queue at `url` until the signal stops it: each run in a child process of its
 * own (one TensorFlow.js backend per process, as in the local pool), its progress and its result
 * sent back through the queue. Fails within seconds when Redis cannot be reached.
 *
 * ```ts
 * const controller = new AbortController();
 * process.on('SIGINT', () => controller.abort());
 * await serveQueue('redis://10.0.0.5:6379', { concurrency: 2, signal: controller.signal, onEvent: console.log });
 * ```
 */
export async function serveQueue(url: string, options: ServeOptions = {}): Promise<void> {
  const concurrency = options.concurrency ?? 1;
  const lockSeconds = options.lockSeconds ?? 30;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new OptionError(`concurrency must be a whole number ≥ 1; got ${concurrency}`);
  }
  if (!(lockSeconds >= 1)) throw new OptionError(`the lock must last at least 1 s; got ${lockSeconds}`);
  const address = parseQueueUrl(url);
  await reach(address);
  const log = options.onEvent ?? (() => {});
  const onError = errorNotes(log);
  const redis = connections(address);
  const name = `${hostname()}:${process.pid}`;
  const stopFile = join(tmpdir(), `unforget-stop-${process.pid}-${randomUUID()}`);
  const free: { slot: RunSlot; label: string }[] = Array.from({ length: concurrency }, (_, i) => ({
    slot: processSlot(stopFile),
    label: concurrency === 1 ? name : `${name}#${i + 1}`,
  }));
  const stopRuns = new AbortController();

  const giveBack = async (job: RunJob, token: string | undefined): Promise<never> => {
    await job.moveToWait(token);
    log(`${job.name} given back to the queue`);
    throw new WaitingError();
  };
  const processor = async (job: RunJob, token?: string): Promise<JobReturn> => {
    const taken = free.pop();
    if (!taken) throw new Error(`no free slot for ${job.name} (more jobs than --concurrency)`);
    try {
      if (stopRuns.signal.aborted) return await giveBack(job, token);
      const { slot, label } = taken;
      log(`${job.name} started on ${label}`);
      let sending = job.updateProgress({ worker: label, progress: null } satisfies JobProgress);
      let sentAt = 0;
      const onProgress = (progress: Progress) => {
        const now = Date.now();
        if (now - sentAt < 500 && progress.step < progress.steps) return;
        sentAt = now;
        sending = sending.then(() => job.updateProgress({ worker: label, progress } satisfies JobProgress));
      };
      const result = await slot.run(job.data.spec, onProgress, stopRuns.signal);
      await sending;
      if (result.stopped) return await giveBack(job, token);
      const seconds = result.cost.trainMs.reduce((a, b) => a + b, 0) / 1000;
      log(`${job.name} done on ${label} (${seconds.toFixed(1)} s of training)`);
      return { result, host: thisHost(), worker: label };
    } finally {
      free.push(taken);
    }
  };
  const worker = new Worker<JobData, JobReturn>(queueName, processor, {
    connection: redis.make(onError),
    concurrency,
    name,
    lockDuration: lockSeconds * 1000,
    stalledInterval: (lockSeconds * 1000) / 2,
    maxStalledCount: 3,
    autorun: false,
  });
  worker.on('error', onError);
  worker.on('failed', (job, error) => log(`${job?.name ?? 'a run'} failed: ${error.message}`));
  const stopped = new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  const running = worker.run().catch((e: Error) => onError(e));
  try {
    await worker.waitUntilReady();
    log(`worker ${name} takes runs from ${address.label} (${concurrency} at a time)`);
    await stopped;
    stopRuns.abort();
    // Giving the runs back needs Redis. When it is gone, do not wait for it forever: the runs held
    // here go back to the queue anyway once their locks run out.
    const closing = worker.close().then(() => running);
    closing.catch(() => {});
    const gaveUp = await Promise.race([closing.then(() => false), sleep(10_000, true, { ref: false })]);
    if (gaveUp) {
      log(`Redis at ${address.label} does not answer; quitting without it`);
      void worker.disconnect().catch(() => {});
    }
  } finally {
    await Promise.all(free.map((f) => f.slot.close()));
    rmSync(stopFile, { force: true });
    redis.close();
  }
}
