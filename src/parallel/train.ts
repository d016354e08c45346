/**
 * Both cores for one run: `train` and `learn` with the training step shared by worker threads
 * (data-parallel, as PyTorch's DDP). Every thread is a replica running the same program on a copy of
 * the learner and strategy and the same data (shared memory, not copied per thread) and seed; each
 * takes its share of every batch, and the gradients are summed through shared memory in a fixed
 * order (shared.ts), so that every replica applies the same update and they stay identical. This
 * thread is replica 0: it alone tests and reports progress, and its learner is the one trained.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { nativeBlasStatus } from '../backend/wasm/index.js';
import { askedBlasThreads, withBlasThreads } from '../backend/wasm/native-blas.js';
import { exampleCount, type Dataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import type { RunResult, Workers } from '../eval/result.js';
import type { Learner } from '../model/learner.js';
import { encodeLearner, type Folder } from '../persist/codec.js';
import type { Scenario } from '../scenarios/types.js';
import { strategyEntry } from '../strategies/index.js';
import {
  learnOn,
  trainOn,
  type LearnOptions,
  type LearnResult,
  type NewTask,
  type OldTaskData,
  type TrainOptions,
} from '../train/loop.js';
import { solo, type Replica } from '../train/replica.js';
import type { Strategy } from '../train/strategy.js';
import { failShared, sharedMemory, sharedReplica, type SharedMemory } from './shared.js';

/** What a worker thread runs: the same program as this thread, as replica `index` of `count`. */
export interface Program {
  /** Which run this is (a thread serves one run after another). */
  readonly id: number;
  readonly index: number;
  readonly count: number;
  readonly memory: SharedMemory;
  readonly backend: string;
  readonly nativeBlas: boolean;
  /** The learner with its strategy, as the learner folder's files (persist/codec.ts). */
  readonly folder: Folder;
  readonly options: Pick<TrainOptions, 'epochs' | 'iterations' | 'batchSize' | 'seed'>;
  /** `train`'s scenario, or `learn`'s task and old data; their data in shared memory. */
  readonly run:
    | { kind: 'train'; scenario: Scenario }
    | { kind: 'learn'; task: NewTask; oldData: Record<string, OldTaskData> };
}

/** Messages from a worker thread. */
export type WorkerMessage =
  | { type: 'ready'; id: number }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

/** Rows a thread's share of a batch should have at least, for the split to gain anything. */
const minimumShard = 32;
/** Threads 'auto' uses at most: beyond that the shards of a usual batch get too small. */
const maximumAuto = 4;
/** Steps a run needs for 'auto' to start threads: starting one costs about as much as 50–150 steps. */
const minimumSteps = 200;
/** Layers whose training pass depends on the whole batch or on unseeded randomness: replicas would differ. */
const batchDependentLayers = [
  'BatchNormalization',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
];

/** What a run is, as far as choosing how many threads share it goes. */
interface RunShape {
  learner: Learner;
  strategy: Strategy;
  batchSize: number;
  /** Optimizer steps the run plans (its main phase). */
  steps: number;
}

function parseWorkers(value: unknown, where: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new OptionError(`${where} must be a whole number ≥ 1 or 'auto'; got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * How many threads share each step of a run, and why not more. `workers` (default 'auto') is a
 * number to use, or 'auto': the cores (at most 4), fewer when a thread's share of the batch would
 * be under 32 examples, and 1 for short runs (under 200 steps), where starting threads costs more
 * than it gains, and on a busy machine (a load average of more than one above the cores: the threads
 * would wait for each other's turns). UNFORGET_WORKERS (a number or 'auto') overrides 'auto'. Whatever is asked, a run
 * trains alone on a backend other than wasm or cpu (tfjs-node uses every core already), with layers
 * whose training depends on the whole batch or on chance (batch normalisation, dropout), or with a
 * strategy that is not one of unforget's (the threads rebuild it by name).
 */
export function workerCount(workers: number | 'auto' | undefined, run: RunShape): Workers {
  let asked = parseWorkers(workers ?? 'auto', 'workers');
  const env = process.env.UNFORGET_WORKERS;
  if (asked === 'auto' && env !== undefined && env !== '') asked = parseWorkers(env, 'UNFORGET_WORKERS');
  if (asked === 1) return { count: 1 };
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') {
    return { count: 1, reason: `the ${backend} backend shares the work among the cores itself` };
  }
  // With the addon the cores go to its products instead: one thread with a BLAS on two beats two
  // threads of the wasm kernels, and replicas would each repeat the step's other work.
  if (backend === 'wasm' && nativeBlasStatus().active) return blasInstead(asked);
  const layers = [run.learner.trunk, ...run.learner.heads].flatMap((m) => m.layers);
  const odd = layers.find((l) => batchDependentLayers.includes(l.getClassName()));
  if (odd) {
    return {
      count: 1,
      reason: `the network's ${odd.getClassName()} layer (${odd.name}) would train differently on a share of the batch`,
    };
  }
  const foreign = foreignStrategy(run.strategy);
  if (foreign) return { count: 1, reason: foreign };
  if (asked !== 'auto') return { count: asked };
  const cores = availableParallelism();
  const count = Math.min(cores, maximumAuto, Math.floor(run.batchSize / minimumShard));
  if (cores < 2) return { count: 1, reason: 'one core' };
  if (count < 2) return { count: 1, reason: `batches of ${run.batchSize} are too small to share` };
  if (run.steps < minimumSteps) {
    return { count: 1, reason: `${run.steps} steps are too few to pay for starting threads` };
  }
  const load = loadavg()[0];
  if (load >= cores + 1) {
    return { count: 1, reason: `the machine is busy (load average ${load.toFixed(1)} on ${cores} cores)` };
  }
  return { count };
}

/** Training on one thread with the native BLAS on the cores (`asked`, the cores when 'auto', one on a busy machine). */
function blasInstead(asked: number | 'auto'): Workers {
  const reason = 'the native BLAS is on: the cores multiply for one thread';
  const own = askedBlasThreads();
  if (own !== undefined) return { count: 1, reason, blasThreads: own };
  if (asked !== 'auto') return { count: 1, reason, blasThreads: asked };
  const cores = availableParallelism();
  const load = loadavg()[0];
  if (cores >= 2 && load >= cores + 1) {
    return {
      count: 1,
      reason: `the native BLAS is on, on one thread: the machine is busy (load average ${load.toFixed(1)} on ${cores} cores)`,
      blasThreads: 1,
    };
  }
  return { count: 1, reason, blasThreads: Math.min(cores, maximumAuto) };
}

/**
 * Why `strategy` cannot be rebuilt in another thread, or null when it can: the threads build it from
 * the registry by name and options, so it must be the registry's own (the same hooks, same code).
 */
function foreignStrategy(strategy: Strategy): string | null {
  const why = `the strategy '${strategy.name}' is not one of unforget's, and other threads could not rebuild it`;
  let twin: Strategy;
  try {
    twin = strategyEntry(strategy.name).create(strategy.options as Record<string, number | string>);
  } catch {
    return why;
  }
  try {
    const hooks = (s: Strategy) =>
      Object.entries(s)
        .filter(([, v]) => typeof v === 'function')
        .map(([k, v]) => `${k}:${String(v)}`)
        .sort()
        .join('\n');
    return hooks(twin) === hooks(strategy) ? null : why;
  } finally {
    twin.dispose?.();
  }
}

const sharedCopies = new WeakMap<Dataset, Dataset>();

/** `d` with its inputs and labels in shared memory (copied once per dataset), for every thread to read. */
function shared(d: Dataset): Dataset {
  if (d.inputs.buffer instanceof SharedArrayBuffer && d.labels.buffer instanceof SharedArrayBuffer) return d;
  let copy = sharedCopies.get(d);
  if (!copy) {
    const inputs = new Float32Array(new SharedArrayBuffer(d.inputs.byteLength));
    inputs.set(d.inputs);
    const labels = new Int32Array(new SharedArrayBuffer(d.labels.byteLength));
    labels.set(d.labels);
    copy = { inputs, labels, shape: [...d.shape], classNames: [...d.classNames] };
    sharedCopies.set(d, copy);
  }
  return copy;
}

/** The entry file of a worker thread, and how to start it: under tsx the thread registers tsx first. */
function workerSource(): string {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./worker.${ts ? 'ts' : 'js'}`, import.meta.url).href;
  if (!ts) return `import(${JSON.stringify(entry)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
}

/** Threads kept between runs (unreferenced: they never keep the process alive), by what they run on. */
let idle: { key: string; workers: Worker[]; timer: NodeJS.Timeout } | undefined;
/** Kept threads unused this long are stopped (they hold a backend and its memory each). */
const idleMs = 60_000;
let runs = 0;

/**
 * Stops the threads kept for the next data-parallel run now (they stop by themselves after a minute
 * unused, and never keep the process from exiting).
 */
export async function closeWorkers(): Promise<void> {
  const kept = idle;
  idle = undefined;
  if (kept) clearTimeout(kept.timer);
  if (kept) await Promise.all(kept.workers.map((w) => w.terminate()));
}

/** The other threads of a run, started (or taken from the last run) and ready. */
interface Team {
  replica: Replica;
  /** After a good run: keeps the threads for the next run. */
  keep(): void;
  /** Calls the run off (the other threads stop at their next step) and stops the threads. */
  stop(message: string): Promise<void>;
}

/** How long a thread may take to start (load TensorFlow.js, its backend and the learner). */
const startTimeoutMs = 120_000;

/** Waits for `worker`'s answer to run `id`: ready, or why not. */
function readiness(worker: Worker, id: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (m: WorkerMessage) => {
      if (m.id !== id) return;
      if (m.type === 'ready') settle();
      else if (m.type === 'failed') settle(new Error(`a thread could not start: ${m.message}`));
    };
    const onError = (e: Error) => settle(new Error(`a thread could not start: ${e.message}`));
    const onExit = (code: number) => settle(new Error(`a thread exited (code ${code}) while starting`));
    const timer = setTimeout(
      () => settle(new Error(`a thread did not start within ${startTimeoutMs / 1000} s`)),
      startTimeoutMs,
    );
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}

/** Gets `count − 1` threads (the last run's when they fit) to run `program`; resolves once all are ready, or with why not. */
async function startTeam(count: number, program: ProgramPart): Promise<Team | { reason: string }> {
  const memory = sharedMemory();
  const backend = tf.getBackend();
  const nativeBlas = backend === 'wasm' && nativeBlasStatus().active;
  const key = `${count}/${backend}/${nativeBlas}`;
  let workers: Worker[];
  if (idle?.key === key) {
    workers = idle.workers;
    clearTimeout(idle.timer);
    idle = undefined;
  } else {
    await closeWorkers();
    workers = [];
  }
  const stop = async (message: string) => {
    failShared(memory, 0, message);
    await Promise.all(workers.map((w) => w.terminate()));
  };
  try {
    const source = workerSource();
    while (workers.length < count - 1) {
      const worker = new Worker(source, { eval: true });
      worker.unref();
      workers.push(worker);
    }
    const id = ++runs;
    await Promise.all(
      workers.map((worker, k) => {
        const message: Program = { ...program, id, index: k + 1, count, memory, backend, nativeBlas };
        worker.postMessage(message);
        return readiness(worker, id);
      }),
    );
  } catch (e) {
    await stop('the run went on in one thread');
    return { reason: e instanceof Error ? e.message : String(e) };
  }
  return {
    replica: sharedReplica(memory, 0, count),
    keep: () => {
      if (idle) void closeWorkers();
      idle = { key, workers, timer: setTimeout(() => void closeWorkers(), idleMs).unref() };
    },
    stop,
  };
}

/** A program without what `startTeam` adds for each thread. */
type ProgramPart = Omit<Program, 'id' | 'index' | 'count' | 'memory' | 'backend' | 'nativeBlas'>;

/**
 * Runs `program` on this thread as replica 0 of `workers.count` (alone when 1, or when the other
 * threads do not start: then with the reason); the other threads are kept for the next run.
 */
async function together<R extends { workers?: Workers }>(
  workers: Workers,
  describe: () => Promise<ProgramPart>,
  program: (replica: Replica) => Promise<R>,
): Promise<R> {
  let team: Team | { reason: string } | undefined;
  if (workers.count > 1) {
    try {
      team = await startTeam(workers.count, await describe());
    } catch (e) {
      team = {
        reason: `the learner could not be copied to the threads: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }
  if (!team || 'reason' in team) {
    const reason = team?.reason ?? workers.reason;
    const { blasThreads } = workers;
    const result = await withBlasThreads(blasThreads, () => program(solo));
    return {
      ...result,
      workers: { count: 1, ...(reason ? { reason } : {}), ...(blasThreads ? { blasThreads } : {}) },
    };
  }
  const { replica, stop } = team;
  // Each replica's BLAS (when a thread has one) multiplies on its own thread: the cores are taken.
  const result = await withBlasThreads(1, () =>
    program(replica).catch(async (e: unknown) => {
      await stop(e instanceof Error ? e.message : String(e));
      throw e;
    }),
  );
  team.keep();
  return result;
}

function plannedSteps(datasets: readonly Dataset[], options: TrainOptions): number {
  const batchSize = options.batchSize ?? 128;
  if (options.iterations !== undefined) return options.iterations * datasets.length;
  const epochs = options.epochs ?? 4;
  return datasets.reduce((n, d) => n + Math.ceil(exampleCount(d) / batchSize) * epochs, 0);
}

/** How many threads train on `datasets` (see `workerCount`), and the options the loop itself takes. */
function threadsFor<O extends TrainOptions>(
  learner: Learner,
  strategy: Strategy,
  datasets: readonly Dataset[],
  options: O,
): { workers: Workers; rest: O } {
  const workers = workerCount(options.workers, {
    learner,
    strategy,
    batchSize: options.batchSize ?? 128,
    steps: plannedSteps(datasets, options),
  });
  return { workers, rest: { ...options, workers: undefined } };
}

const budgetOf = (o: TrainOptions): Program['options'] => ({
  epochs: o.epochs,
  iterations: o.iterations,
  batchSize: o.batchSize,
  seed: o.seed,
});

/** What the other threads are sent for a run: the learner and strategy as bytes, the budget, the data (made when needed). */
function describe(
  learner: Learner,
  strategy: Strategy,
  options: TrainOptions,
  run: () => ProgramPart['run'],
): () => Promise<ProgramPart> {
  return async () => ({
    folder: await encodeLearner(learner, strategy),
    options: budgetOf(options),
    run: run(),
  });
}

/**
 * The loop's `train` (src/train/loop.ts), with the training step shared by `options.workers`
 * threads (default 'auto', see `workerCount`); `result.workers` says how many took part, and why
 * not more. The same seed gives the same numbers with any number of threads, up to float rounding.
 *
 * ```ts
 * const r = await train(l, s, strategies.ewc(), { epochs: 4, workers: 'auto' });
 * console.log(r.workers); // { count: 2 } on a machine with two cores
 * ```
 */
export async function train(
  learner: Learner,
  scenario: Scenario,
  strategy: Strategy,
  options: TrainOptions = {},
): Promise<RunResult> {
  const { workers, rest } = threadsFor(
    learner,
    strategy,
    scenario.tasks.map((t) => t.train),
    options,
  );
  return together(
    workers,
    describe(learner, strategy, options, () => ({
      kind: 'train',
      scenario: {
        ...scenario,
        tasks: scenario.tasks.map((t) => ({ ...t, train: shared(t.train), test: shared(t.test) })),
      },
    })),
    (replica) => trainOn(replica, learner, scenario, strategy, rest),
  );
}

/**
 * The loop's `learn` (src/train/loop.ts), with the training step shared by `options.workers`
 * threads (default 'auto', see `workerCount`); `result.workers` says how many took part.
 *
 * ```ts
 * const r = await learn(l, { name: 'digits 5-9', train, test }, s, { epochs: 4, workers: 2 });
 * ```
 */
export async function learn(
  learner: Learner,
  task: NewTask,
  strategy: Strategy,
  options: LearnOptions = {},
): Promise<LearnResult> {
  const { workers, rest } = threadsFor(learner, strategy, [task.train], options);
  return together(
    workers,
    describe(learner, strategy, options, () => ({
      kind: 'learn',
      task: { ...task, train: shared(task.train), ...(task.test ? { test: shared(task.test) } : {}) },
      // Old tasks' test data only measures them again, which the other threads do not do.
      oldData: Object.fromEntries(
        Object.entries(options.oldData ?? {}).map(([name, d]) => [
          name,
          d.train ? { train: shared(d.train) } : {},
        ]),
      ),
    })),
    (replica) => learnOn(replica, learner, task, strategy, rest),
  );
}
