/**
 * What the queue tests share: a Redis server of their own (Debian's redis-server on a free loopback
 * port, nothing saved to disk), `unforget worker` processes, and the plan they run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { ComparisonOptions } from '../src/experiments/plan.js';
import { cli } from '../test/cli/spawn.js';

/** A loopback port nothing listens on (the system's choice, then closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts redis-server on a free loopback port and waits until it answers. */
export async function startRedis(): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    server.once('error', (e) =>
      reject(new Error(`redis-server did not start (${e.message}); apt-get install redis-server`)),
    );
  });
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => {});
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`redis-server on port ${port} did not answer within 10 s`);
  })();
  try {
    await Promise.race([ready, failed]);
  } finally {
    client.disconnect();
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/** An `unforget worker` process, its stderr kept as it comes. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  log(): string;
  /** Lines that say a run finished on it. */
  done(): string[];
  /** Waits until `pattern` shows up in its output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal) once it exits. */
  exited: Promise<number | string>;
}

export function startWorker(url: string, ...flags: string[]): WorkerProcess {
  const child = spawn(process.execPath, [...cli, 'worker', '--queue', url, ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    log: () => text,
    done: () => text.split('\n').filter((l) => / done on /.test(l)),
    exited,
    async waitFor(pattern, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (child.exitCode !== null)
          throw new Error(`the worker exited (${child.exitCode}) before ${pattern}:\n${text}`);
        if (Date.now() > until)
          throw new Error(`the worker did not print ${pattern} in ${timeoutMs} ms:\n${text}`);
        await sleep(50);
      }
    },
  };
}

/** Stops a worker as Ctrl-C would and waits for it; kills it if it hangs. */
export async function stopWorker(w: WorkerProcess): Promise<number | string> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return w.exited;
  w.child.kill('SIGINT');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 20_000);
  try {
    return await w.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The comparison the tests run: 2 strategies × 2 seeds, a tiny network and budget, on the cpu backend. */
export const tinyPlan: ComparisonOptions = {
  scenario: 'mnist-transfer',
  setting: 'task',
  strategies: ['finetune', 'ewc'],
  seeds: [0, 1],
  backbone: { kind: 'mlp', hidden: [16] },
  iterations: 5,
  batchSize: 32,
  backend: 'cpu',
};
