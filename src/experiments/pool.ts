import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnforgetError } from '../errors.js';
import type { Progress } from '../train/loop.js';
import type { RunResult } from '../eval/result.js';
import { executeRun, warmUp } from './execute.js';
import type { RunSpec } from './plan.js';
import type { RunHost } from './store.js';

export type ParentMessage = { type: 'run'; spec: RunSpec; stopFile: string } | { type: 'stop' };
export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'result'; result: RunResult }
  | { type: 'failed'; name: string; message: string; stack: string };

/** Runs one spec at a time somewhere: in this process, or in a worker process of its own. */
export interface RunSlot {
  run(spec: RunSpec, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<RunResult>;
  close(): Promise<void>;
}

/** A run failed inside a worker; the message is the worker's. */
export class RunFailedError extends UnforgetError {
  constructor(
    message: string,
    readonly originalName: string,
  ) {
    super(message);
  }
}

/** Runs in this process (one at a time: TensorFlow.js has one backend per thread), after a warm-up. */
export function inProcessSlot(): RunSlot {
  return {
    async run(spec, onProgress, signal) {
      await warmUp(spec);
      return executeRun(spec, { onProgress, signal });
    },
    async close() {},
  };
}

const here = fileURLToPath(import.meta.url);
/** worker.ts under tsx, worker.js once built. */
const workerFile = join(dirname(here), `worker${extname(here)}`);

function workerExecArgv(): string[] {
  const argv = process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect'));
  if (extname(here) === '.ts' && !argv.some((a) => a.includes('tsx'))) argv.push('--import', 'tsx');
  return argv;
}

/**
 * Runs in a child process of its own, started on the first run and reused for the next ones, so
 * each worker has its own TensorFlow.js backend and its own core. A worker that crashes fails only
 * the run it was on; the next run starts a new one. When the signal stops the run, the slot writes
 * `stopFile`, which the worker checks between steps (see worker.ts); the caller removes it.
 */
export function processSlot(stopFile: string): RunSlot {
  let child: ChildProcess | undefined;
  let stderr = '';
  const start = (): ChildProcess => {
    const c = fork(workerFile, [], {
      execArgv: workerExecArgv(),
      // One process per core already: no run may take a second core (native BLAS threads, training threads).
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', UNFORGET_BLAS_THREADS: '1', UNFORGET_WORKERS: '1' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    c.on('exit', () => {
      if (child === c) child = undefined;
    });
    return c;
  };
  return {
    run(spec, onProgress, signal) {
      child ??= start();
      const c = child;
      return new Promise<RunResult>((resolve, reject) => {
        const stop = () => {
          writeFileSync(stopFile, `${process.pid}\n`);
          if (c.connected) c.send({ type: 'stop' } satisfies ParentMessage);
        };
        const done = () => {
          c.off('message', onMessage);
          c.off('exit', onExit);
          signal.removeEventListener('abort', stop);
        };
        const onMessage = (m: WorkerMessage) => {
          if (m.type === 'progress') onProgress(m.progress);
          else if (m.type === 'result') {
            done();
            resolve(m.result);
          } else if (m.type === 'failed') {
            done();
            reject(new RunFailedError(m.message, m.name));
          }
        };
        const onExit = (code: number | null, signalName: string | null) => {
          done();
          const tail = stderr.trim().split('\n').slice(-8).join('\n');
          reject(
            new RunFailedError(
              `the worker process running ${spec.id} exited (${signalName ?? `code ${code}`})` +
                (tail ? `:\n${tail}` : ''),
              'WorkerExit',
            ),
          );
        };
        c.on('message', onMessage);
        c.on('exit', onExit);
        signal.addEventListener('abort', stop);
        c.send({ type: 'run', spec, stopFile } satisfies ParentMessage);
        if (signal.aborted) stop();
      });
    },
    async close() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        c.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        c.disconnect();
      });
    },
  };
}

/** How one run ended on a runner: its result (and the machine it ran on), stopped, or failed. */
export type RunEnd =
  | { status: 'done'; result: RunResult; host?: RunHost }
  | { status: 'stopped' }
  | { status: 'failed'; error: Error };

/** What a runner tells as runs go; `worker` names where a run is (a local slot, or host:pid). */
export interface RunEvents {
  onStart(spec: RunSpec, worker: string): void;
  onProgress(spec: RunSpec, worker: string, progress: Progress): void;
  /** Awaited before the runner counts the run as ended (the caller saves the result here). */
  onEnd(spec: RunSpec, worker: string, end: RunEnd): Promise<void> | void;
  /** Something the user should know that is not an error (e.g. a run given back to a queue). */
  onNote?(message: string): void;
}

/**
 * Runs a list of specs somewhere, each once, and reports every start, progress and end. The local
 * pool is one; `queueRunner` (queue.ts) sends the runs to workers on other machines.
 */
export interface Runner {
  /** Resolves when every spec has ended, or soon after the signal stops the runs. */
  runAll(specs: readonly RunSpec[], events: RunEvents, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * The local pool: `workers` runs at once, each in a process of its own (0: one by one in this
 * process), taken in the order given.
 *
 * ```ts
 * const runner = poolRunner(2);
 * await runner.runAll(planRuns(options), { onStart() {}, onProgress() {}, onEnd: (s, w, end) => save(s, end) }, signal);
 * await runner.close();
 * ```
 */
export function poolRunner(workers: number): Runner {
  const stopFile = join(tmpdir(), `unforget-stop-${process.pid}-${randomUUID()}`);
  const removeStopFile = () => rmSync(stopFile, { force: true });
  const slots: RunSlot[] = [];
  return {
    async runAll(specs, events, signal) {
      const width = Math.min(Math.max(workers, 1), Math.max(specs.length, 1));
      while (slots.length < width) slots.push(workers === 0 ? inProcessSlot() : processSlot(stopFile));
      process.on('exit', removeStopFile);
      const queue = [...specs];
      const work = async (slot: RunSlot, worker: string) => {
        for (let spec = queue.shift(); spec && !signal.aborted; spec = queue.shift()) {
          const current = spec;
          events.onStart(current, worker);
          let end: RunEnd;
          try {
            const result = await slot.run(current, (p) => events.onProgress(current, worker, p), signal);
            end = result.stopped ? { status: 'stopped' } : { status: 'done', result };
          } catch (error) {
            end = { status: 'failed', error: error instanceof Error ? error : new Error(String(error)) };
          }
          await events.onEnd(current, worker, end);
        }
      };
      try {
        await Promise.all(slots.slice(0, width).map((slot, i) => work(slot, String(i + 1))));
      } finally {
        removeStopFile();
        process.off('exit', removeStopFile);
      }
    },
    async close() {
      await Promise.all(slots.map((s) => s.close()));
      removeStopFile();
    },
  };
}
