/**
 * What the queue itself costs, without training: no-op jobs through BullMQ on a Redis server the
 * script starts (a free loopback port), each carrying a result of a real run's size.
 *
 *   node --import tsx bench/issue14-queue.ts [--jobs 1000] [--latency 100] [--concurrency 50]
 *
 * Prints: the round trip of one job (add → a worker takes it → completed event), the jobs per second
 * when many are queued at once, and Redis commands and bytes per job (INFO before and after).
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedis } from '../test-queue/redis.js';
import { arg, meanStd } from './common.js';

const jobs = Number(arg('jobs', '1000'));
const latencyJobs = Number(arg('latency', '100'));
const concurrency = Number(arg('concurrency', '50'));
// A run's result: about 1.9 KB of JSON for two tasks (a results folder's <run>.json); 5 tasks ≈ 3 KB.
const result = {
  accuracyMatrix: Array.from({ length: 5 }, () => Array(5).fill(0.9731)),
  pad: 'x'.repeat(2500),
};

const redis = await startRedis();
const conn = () => new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null });
const stats = async (): Promise<{ commands: number; bytesIn: number; bytesOut: number }> => {
  const info = await admin.info('stats');
  const n = (k: string) => Number(new RegExp(`${k}:(\\d+)`).exec(info)?.[1] ?? NaN);
  return {
    commands: n('total_commands_processed'),
    bytesIn: n('total_net_input_bytes'),
    bytesOut: n('total_net_output_bytes'),
  };
};
const admin = conn();
const queue = new Queue('bench', { connection: conn() });
const events = new QueueEvents('bench', { connection: conn() });
const worker = new Worker('bench', async (job) => ({ ...result, id: job.id }), {
  connection: conn(),
  concurrency,
});
await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
const waiters = new Map<string, () => void>();
events.on('completed', ({ jobId }) => waiters.get(jobId)?.());
const completion = (id: string) => new Promise<void>((resolve) => waiters.set(id, resolve));

// Round trip of one job at a time (the queue's overhead per run, without the run).
const trips: number[] = [];
for (let i = 0; i < latencyJobs; i++) {
  const id = `lat-${i}`;
  const done = completion(id);
  const t0 = performance.now();
  await queue.add('noop', { spec: { id, pad: 'y'.repeat(400) } }, { jobId: id, removeOnComplete: false });
  await done;
  trips.push(performance.now() - t0);
  await queue.remove(id);
}
const lat = meanStd(trips);
trips.sort((a, b) => a - b);
console.log(
  `round trip of one job: ${lat.m.toFixed(2)} ± ${lat.sd.toFixed(2)} ms (median ${trips[trips.length >> 1].toFixed(2)} ms, ` +
    `max ${trips.at(-1)?.toFixed(1)} ms; ${latencyJobs} jobs one after another)`,
);

// Many at once: what one Redis and one collecting process sustain.
const before = await stats();
const all = Array.from({ length: jobs }, (_, i) => `bulk-${i}`);
const finished = Promise.all(all.map(completion));
const t0 = performance.now();
await queue.addBulk(
  all.map((id) => ({ name: 'noop', data: { spec: { id, pad: 'y'.repeat(400) } }, opts: { jobId: id } })),
);
await finished;
const seconds = (performance.now() - t0) / 1000;
// As compare does: read each result back and remove the job.
for (const id of all) {
  await queue.getJob(id);
  await queue.remove(id);
}
const after = await stats();
const per = (k: keyof typeof before) => (after[k] - before[k]) / jobs;
console.log(
  `${jobs} jobs through one worker process (concurrency ${concurrency}): ${seconds.toFixed(2)} s, ` +
    `${(jobs / seconds).toFixed(0)} jobs/s`,
);
console.log(
  `per job (add, take, complete, event, read back, remove): ${per('commands').toFixed(1)} Redis commands, ` +
    `${(per('bytesIn') / 1024).toFixed(1)} KiB in, ${(per('bytesOut') / 1024).toFixed(1)} KiB out`,
);
await worker.close();
await Promise.all([events.close(), queue.close()]);
admin.disconnect();
await redis.stop();
process.exit(0);
