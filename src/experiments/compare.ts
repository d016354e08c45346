import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { OptionError } from '../errors.js';
import { removeLeftovers, takeLock } from '../persist/lock.js';
import { strategyEntry } from '../strategies/index.js';
import type { Progress } from '../train/loop.js';
import { comparisonCsv } from './csv.js';
import { writeFileAtomic, writeJsonAtomic } from './files.js';
import { planRuns, specDifferences, type ComparisonOptions, type RunSpec } from './plan.js';
import { poolRunner, RunFailedError, type RunEnd } from './pool.js';
import { incompleteReason, makeRecord, readSavedRun, saveRun, type RunRecord } from './store.js';

/** How a run of the comparison ended this time. */
export type RunOutcome =
  | { status: 'done'; record: RunRecord; path: string }
  | { status: 'stopped' }
  | { status: 'failed'; error: Error };

/** What a caller can watch while a comparison runs (the CLI draws its progress bars from these). */
export interface CompareHooks {
  /** Once the folder is read: every planned run, those already done, and those redone (and why). */
  onPlan?(plan: { runs: RunSpec[]; done: RunSpec[]; redo: { spec: RunSpec; reason: string }[] }): void;
  /** `worker` names where the run is: '1', '2', … for the local pool, host:pid for a queue's worker. */
  onRunStart?(spec: RunSpec, worker: string): void;
  onRunProgress?(spec: RunSpec, worker: string, progress: Progress): void;
  /** A run on a queue whose worker stopped or died ends 'stopped' here and starts again elsewhere. */
  onRunEnd?(spec: RunSpec, worker: string, outcome: RunOutcome): void;
  /** Something the user should know that is not an error (a stale lock taken over, leftovers removed). */
  onNote?(message: string): void;
}

export interface CompareOptions {
  /** The results folder: one `<strategy>-seed<seed>.json` per run, `comparison.csv`, `comparison.json`. */
  folder: string;
  /** Runs at once, each in a worker process of its own. Default 2. 0 runs them one by one in this process. */
  workers?: number;
  /**
   * A Redis URL (redis://HOST:PORT): put the runs on that BullMQ queue for `unforget worker`s to
   * take, instead of running them here (`workers` is then unused). Results are still saved here.
   */
  queue?: string;
  /**
   * Stops the running runs after their current step; they are not saved, and the next call redoes
   * them. On a queue the runs stay there for the workers; the next call collects what they finished.
   */
  signal?: AbortSignal;
  hooks?: CompareHooks;
}

/** What running a list of specs gave: the finished records and what happened to the rest. */
export interface RunsOutcome {
  folder: string;
  runs: RunSpec[];
  /** The finished runs, in plan order (skipped ones read from the folder, and those done now). */
  records: RunRecord[];
  /** Runs found finished in the folder and not redone. */
  skipped: number;
  /** Runs finished by this call. */
  ran: number;
  failed: { spec: RunSpec; error: Error }[];
  /** True when the signal stopped the runs before every one was done. */
  stopped: boolean;
}

export interface ComparisonOutcome extends RunsOutcome {
  csvPath: string;
}

/** What a caller of `runSpecs` writes beside the runs (compare: its plan file and CSV). */
export interface RunsSteps {
  /** Once the folder is read and agrees with the plan, before the first run starts. */
  ready?(): Promise<void>;
  /** The finished records in plan order, after each run is saved and once at the end. */
  records?(records: RunRecord[]): Promise<void>;
}

/** What `comparison.json` holds: the plan, so `report` can order the methods and title the page. */
export interface ComparisonFile {
  format: 'unforget-comparison';
  options: ComparisonOptions;
  runs: string[];
}

/**
 * Runs every strategy × seed (× grid point) of `options` and saves each run's record in `folder` as soon as it
 * finishes. Runs whose record is already there, whole and complete, are not redone, so a comparison
 * that was interrupted resumes where it stopped; a half-written or unfinished record is redone.
 *
 * ```ts
 * const out = await compare(
 *   { scenario: 'mnist-transfer', setting: 'task', strategies: ['finetune', 'joint'], seeds: [0, 1],
 *     backbone: { kind: 'mlp', hidden: [400, 400] }, epochs: 2, batchSize: 128 },
 *   { folder: 'results/mnist-transfer-task', workers: 2 },
 * );
 * console.log(comparisonTable(summarize(out.records)));
 * ```
 */
export async function compare(options: ComparisonOptions, run: CompareOptions): Promise<ComparisonOutcome> {
  const strategies = options.strategies.map((s) => strategyEntry(s).name);
  const runs = planRuns({ ...options, strategies });
  const file: ComparisonFile = {
    format: 'unforget-comparison',
    options: { ...options, strategies },
    runs: runs.map((r) => r.id),
  };
  const csvPath = join(run.folder, 'comparison.csv');
  let csvWrite = Promise.resolve();
  const outcome = await runSpecs(runs, run, {
    ready: () => writeJsonAtomic(join(run.folder, 'comparison.json'), file),
    records(records) {
      csvWrite = csvWrite.then(() =>
        writeFileAtomic(csvPath, comparisonCsv(records, { choose: options.choose })),
      );
      return csvWrite;
    },
  });
  return { ...outcome, csvPath };
}

/**
 * Runs the planned `runs` (each with its own `id`) and saves each run's record in `run.folder` as soon
 * as it finishes: the one place the library executes a list of specs (compare and study call it).
 * Runs whose record is already there, whole and complete, are not redone, so an interrupted call
 * resumes where it stopped; a half-written or unfinished record is redone; a record of a different
 * spec under the same id is an error. One call per folder at a time (a lock file).
 *
 * ```ts
 * const specs = planRuns({ scenario: 'mnist-transfer', setting: 'task', strategies: ['finetune'],
 *   seeds: [0, 1], backbone: { kind: 'mlp' }, epochs: 1, batchSize: 128 });
 * const out = await runSpecs(specs, { folder: 'results/mine', workers: 2 });
 * out.records.length; // 2
 * ```
 */
export async function runSpecs(
  runs: RunSpec[],
  run: CompareOptions,
  steps: RunsSteps = {},
): Promise<RunsOutcome> {
  const workers = run.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 0) {
    throw new OptionError(`workers must be a whole number ≥ 0; got ${workers}`);
  }
  const repeated = runs.find((r, i) => runs.findIndex((x) => x.id === r.id) !== i);
  if (repeated) throw new OptionError(`run ${repeated.id} is planned twice; give each run its own id`);
  const { folder, hooks = {} } = run;
  // The queue first: a bad address or an unreachable Redis fails before the folder is touched.
  if (run.queue) await (await import('./queue.js')).checkQueue(run.queue);
  await mkdir(folder, { recursive: true });
  // One call per folder at a time: a second one would redo the same runs and overwrite the plan.
  const lock = await takeLock(join(folder, lockName), `the results folder ${folder}`);
  try {
    if (lock.tookOverFrom !== undefined) {
      hooks.onNote?.(
        `took over the lock of ${folder} from process ${lock.tookOverFrom}, which is no longer running`,
      );
    }
    const removed = await removeLeftovers(folder);
    if (removed.length > 0) {
      hooks.onNote?.(`removed ${removed.length} temporary file(s) an interrupted run left in ${folder}`);
    }
    return await runLocked(runs, run, steps, workers);
  } finally {
    await lock.release();
  }
}

/**
 * The name of a comparison on a shared queue: its machine and results folder, so two comparisons
 * never mix their runs and the same one, started again, finds its own.
 */
export function comparisonKey(folder: string): string {
  return createHash('sha256')
    .update(`${hostname()}:${resolve(folder)}`)
    .digest('hex')
    .slice(0, 12);
}

/** The lock file a comparison holds in its results folder. */
export const lockName = '.unforget.lock';

async function runLocked(
  runs: RunSpec[],
  run: CompareOptions,
  steps: RunsSteps,
  workers: number,
): Promise<RunsOutcome> {
  const { folder, hooks = {} } = run;

  const records = new Map<string, RunRecord>();
  const redo: { spec: RunSpec; reason: string }[] = [];
  const pending: RunSpec[] = [];
  for (const spec of runs) {
    const saved = await readSavedRun(folder, spec.id);
    if (saved.status === 'done') {
      const differences = specDifferences(saved.record.spec, spec);
      if (differences.length > 0) {
        throw new OptionError(
          `${join(folder, `${spec.id}.json`)} is a run of a different comparison (${differences.join('; ')}); ` +
            'give another --results folder, or delete that one to start over',
        );
      }
      records.set(spec.id, saved.record);
    } else {
      if (saved.status === 'unusable') redo.push({ spec, reason: saved.reason });
      pending.push(spec);
    }
  }
  const skipped = records.size;
  hooks.onPlan?.({ runs, done: runs.filter((r) => records.has(r.id)), redo });
  await steps.ready?.();
  const inOrder = () => runs.flatMap((r) => records.get(r.id) ?? []);
  const writeRecords = () => steps.records?.(inOrder()) ?? Promise.resolve();

  const failed: { spec: RunSpec; error: Error }[] = [];
  const signal = run.signal ?? new AbortController().signal;
  let ran = 0;
  /** Saves a finished run, once: a queue may report one run twice (a worker that seemed dead). */
  const keep = async (spec: RunSpec, end: RunEnd): Promise<RunOutcome> => {
    if (end.status !== 'done') return end;
    const record = makeRecord(spec, end.result, end.host);
    const reason = incompleteReason(record);
    if (reason) {
      return {
        status: 'failed',
        error: new RunFailedError(`its result is not a whole run: ${reason}`, 'Incomplete'),
      };
    }
    const path = await saveRun(folder, record);
    records.set(spec.id, record);
    ran++;
    await writeRecords();
    return { status: 'done', record, path };
  };
  // BullMQ and ioredis load only for a queue.
  const runner = run.queue
    ? await (await import('./queue.js')).queueRunner(run.queue, { namespace: comparisonKey(folder) })
    : poolRunner(workers);
  try {
    await runner.runAll(
      pending,
      {
        onStart: (spec, worker) => hooks.onRunStart?.(spec, worker),
        onProgress: (spec, worker, p) => hooks.onRunProgress?.(spec, worker, p),
        onNote: (message) => hooks.onNote?.(message),
        async onEnd(spec, worker, end) {
          if (records.has(spec.id)) return;
          const outcome = await keep(spec, end);
          if (outcome.status === 'failed') failed.push({ spec, error: outcome.error });
          hooks.onRunEnd?.(spec, worker, outcome);
        },
      },
      signal,
    );
  } finally {
    await runner.close();
  }
  await writeRecords();
  const finished = inOrder();
  return {
    folder,
    runs,
    records: finished,
    skipped,
    ran,
    failed,
    stopped: signal.aborted && finished.length < runs.length,
  };
}
