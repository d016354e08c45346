import * as tf from '@tensorflow/tfjs';
import { emptyDataset, exampleCount, exampleSize, validateDataset, type Dataset } from '../data/dataset.js';
import { DataError, DivergenceError, OptionError, TaskError } from '../errors.js';
import { accuracyRow, taskAccuracy } from '../eval/evaluate.js';
import { metrics } from '../eval/metrics.js';
import type { Learner } from '../model/learner.js';
import { seededRandom, shuffleInPlace, type Random } from '../random.js';
import { checkCount } from '../scenarios/options.js';
import { activeOutputs, headIndex, taskTargets, type Scenario, type TaskLayout } from '../scenarios/types.js';
import { version } from '../version.js';
import { sparseSoftmaxCrossEntropy } from './cross-entropy.js';
import { fusedPlan, fusedStep, type FusedPlan } from './fused-step.js';
import { makeOptimizer } from './optimizers.js';
import type { RunResult, Workers } from '../eval/result.js';
import { inferredAccuracy } from '../eval/infer.js';
import type { TaskInference } from '../model/infer-task.js';
import { shardOf, solo, type Replica } from './replica.js';
import type { Batch, Phase, Strategy, TaskContext } from './strategy.js';

/** Where training is, reported after every step. */
export interface Progress {
  /** The task being learned (0-based) and how many there are. */
  task: number;
  tasks: number;
  /** 'train', or the name of a strategy's extra phase (e.g. 'warm-up'). */
  phase: string;
  /** The epoch within the phase (0-based) and how many there are. */
  epoch: number;
  epochs: number;
  /** Steps done in this phase, and how many it has. */
  step: number;
  steps: number;
  /** The loss of the last step. */
  loss: number;
  /** Training examples per second over the phase so far. */
  examplesPerSecond: number;
  /** Wall time of the last step (making the batch's tensor, the step, reading the loss back), in ms. */
  stepMs: number;
}

export interface TrainOptions {
  /** Passes over each task's training data. Default 4 (ignored when `iterations` is given). */
  epochs?: number;
  /** Optimizer steps per task, instead of epochs. */
  iterations?: number;
  /** Default 128. */
  batchSize?: number;
  /** Seeds the order of examples. Default 0. */
  seed?: number;
  /** Called after every optimizer step. */
  onProgress?: (progress: Progress) => void;
  /** Called after each task with its row of the accuracy matrix. */
  onTaskEnd?: (task: number, accuracies: number[]) => void;
  /** Stops training after the current step; what was learned so far is kept and evaluated. */
  signal?: AbortSignal;
  /**
   * Task setting: also test without the task label after the last task, the task inferred per example
   * and/or per batch (`RunResult.withoutTaskLabel`).
   */
  inferTask?: readonly TaskInference[];
  /** Test examples per batch when the task is inferred per batch. Default 64. */
  inferBatch?: number;
  /**
   * Threads that share each training step (data-parallel), in Node with `unforget`'s own `train` and
   * `learn` (src/parallel/train.ts): a number, or 'auto' (default) for the cores when the run is long
   * enough to gain; see `workerCount`. The browser entry trains on the page's thread alone.
   */
  workers?: number | 'auto';
}

interface Example {
  task: number;
  index: number;
}

function examplesOf(scenario: Scenario, tasks: readonly number[]): Example[] {
  return tasks.flatMap((task) =>
    Array.from({ length: exampleCount(scenario.tasks[task].train) }, (_, index) => ({ task, index })),
  );
}

/** Cross-entropy of each example's head, averaged over the batch. */
function classificationLoss(learner: Learner, batch: Batch, seen: number): tf.Scalar {
  const groups = new Map<number, number[]>();
  batch.tasks.forEach((task, row) => {
    const key = headIndex(learner.layout, task);
    const rows = groups.get(key) ?? [];
    rows.push(row);
    groups.set(key, rows);
  });
  let total: tf.Scalar | undefined;
  for (const rows of groups.values()) {
    const task = batch.tasks[rows[0]];
    const all = rows.length === batch.tasks.length;
    const features = all ? batch.features : tf.gather(batch.features, tf.tensor1d(rows, 'int32'));
    const logits = learner.headLogits(features, task, seen);
    const targets = tf.tensor1d(
      rows.map((r) => batch.targets[r]),
      'int32',
    );
    const mean = sparseSoftmaxCrossEntropy(logits, targets);
    // Weighed by the group's share of the batch; a batch of one group (the usual case) is its own mean.
    const loss = all ? mean : (mean.mul(rows.length / batch.tasks.length) as tf.Scalar);
    total = total ? (total.add(loss) as tf.Scalar) : loss;
  }
  return total as tf.Scalar;
}

function snapshot(learner: Learner): tf.Tensor[] {
  return [learner.trunk, ...learner.heads].flatMap((m) => m.getWeights().map((w) => w.clone()));
}

function restore(learner: Learner, weights: tf.Tensor[]): void {
  let at = 0;
  for (const m of [learner.trunk, ...learner.heads]) {
    const count = m.getWeights().length;
    m.setWeights(weights.slice(at, at + count));
    at += count;
  }
}

/** The loop's options: the caller's, and the replica this thread is when several share each step. */
type RunOptions = TrainOptions & { replica?: Replica };

class TaskRun implements TaskContext {
  steps = 0;
  stepMs = 0;
  /** Steps taken by the fused native step (train/fused-step.ts). */
  fusedSteps = 0;
  stopped = false;
  private readonly targets: Int32Array[];

  constructor(
    readonly learner: Learner,
    readonly scenario: Scenario,
    readonly task: number,
    readonly random: Random,
    private readonly strategy: Strategy,
    private readonly options: RunOptions & { batchSize: number },
  ) {
    this.targets = scenario.tasks.map((_, t) => taskTargets(scenario, t, 'train'));
  }

  get replica(): Replica {
    return this.options.replica ?? solo;
  }

  /** Trains on `tasks`' training data for `epochs` (or `iterations` steps). */
  async run(phase: Phase & { tasks: number[]; iterations?: number }): Promise<void> {
    const { learner, scenario, strategy } = this;
    const examples = examplesOf(scenario, phase.tasks);
    if (examples.length === 0) {
      // Without examples no step can be made: an error, never a loop that spins.
      throw new DataError(
        `task ${this.task + 1} ('${scenario.tasks[this.task].name}') has no training examples for its ${phase.name} phase; ` +
          'give every task training examples (does the training data hold each of its classes?)',
      );
    }
    const { batchSize } = this.options;
    const perEpoch = Math.ceil(examples.length / batchSize);
    const steps = phase.iterations ?? phase.epochs * perEpoch;
    const epochs = Math.ceil(steps / perEpoch);
    const variables =
      phase.variables ?? strategy.trainableVariables?.(this) ?? this.defaultVariables(phase.tasks);
    const optimizer = makeOptimizer(strategy.options);
    const shape = scenario.inputShape;
    const size = exampleSize(scenario.tasks[this.task].train);
    const order = examples.map((_, i) => i);
    const fused = this.fusedPlanFor(phase, variables, size);
    // The batch's inputs, every row written each step: one buffer for the phase rather than a new
    // array each step (0.4 MB for MNIST at batch 128).
    let buffer = new Float32Array(0);
    const started = performance.now();
    let lastYield = started;
    try {
      let step = 0;
      for (let epoch = 0; epoch < epochs && step < steps; epoch++) {
        shuffleInPlace(order, this.random);
        for (let start = 0; start < examples.length && step < steps; start += batchSize, step++) {
          if (this.replica.stopping(this.options.signal)) {
            this.stopped = true;
            return;
          }
          const picked = order.slice(start, start + batchSize).map((i) => examples[i]);
          const extra = phase.classification === false ? undefined : strategy.replay?.(this, batchSize);
          const replayed = extra?.tasks.length ?? 0;
          const rows = picked.length + replayed;
          if (buffer.length < rows * size) buffer = new Float32Array(rows * size);
          const inputs = buffer.subarray(0, rows * size);
          const tasks = new Int32Array(rows);
          const indices = new Int32Array(rows);
          const targets = new Int32Array(rows);
          if (extra) {
            inputs.set(extra.inputs, picked.length * size);
            tasks.set(extra.tasks, picked.length);
            indices.set(extra.indices, picked.length);
            targets.set(extra.targets, picked.length);
          }
          picked.forEach((e, i) => {
            const d = scenario.tasks[e.task].train;
            inputs.set(d.inputs.subarray(e.index * size, (e.index + 1) * size), i * size);
            tasks[i] = e.task;
            indices[i] = e.index;
            targets[i] = this.targets[e.task][e.index];
          });
          const stepStart = performance.now();
          const { replica } = this;
          const { start: first, end } = shardOf(rows, replica.index, replica.count);
          const share = (end - first) / rows;
          const lossOf = (): tf.Scalar => {
            const x = tf.tensor(inputs.subarray(first * size, end * size), [end - first, ...shape]);
            const features = learner.features(x, this.task, true);
            const batch: Batch = {
              x,
              features,
              tasks: tasks.subarray(first, end),
              indices: indices.subarray(first, end),
              targets: targets.subarray(first, end),
              replayed: Math.max(0, end - Math.max(first, picked.length)),
              ...(replica.count > 1 ? { whole: { tasks, indices, targets, replayed } } : {}),
            };
            const base =
              phase.classification === false ? undefined : classificationLoss(learner, batch, this.task);
            const more = phase.extraLoss === false ? undefined : strategy.extraLoss?.(this, batch);
            if (!base && !more) {
              throw new OptionError(
                `the phase '${phase.name}' has no loss: it needs a classification or an extra loss`,
              );
            }
            const loss = (base && more ? base.add(more) : (base ?? more)) as tf.Scalar;
            // A shard's mean weighs by its share of the batch, so that the shards' losses sum to the batch's.
            return share === 1 ? loss : (loss.mul(share) as tf.Scalar);
          };
          let value: number;
          if (fused) {
            value = this.fusedStep(optimizer, fused, inputs, tasks, targets);
            this.fusedSteps++;
          } else if (replica.count > 1)
            value = this.sharedStep(optimizer, end > first ? lossOf : null, variables);
          else {
            const loss = strategy.observeGradients
              ? this.observedStep(optimizer, lossOf, variables)
              : (optimizer.minimize(lossOf, true, variables) as tf.Scalar);
            value = (await loss.data())[0];
            loss.dispose();
          }
          if (!Number.isFinite(value)) {
            throw new DivergenceError(
              `the loss became ${value} at task ${this.task + 1}, ${phase.name} epoch ${epoch + 1}, step ${step + 1}; ` +
                `lower the learning rate (now ${strategy.options.learningRate}) or check the inputs for NaN values. ` +
                "The learner's weights were restored to what they were before this task.",
            );
          }
          strategy.afterStep?.(this);
          if (performance.now() - lastYield > 100) {
            // Let timers, signals (Ctrl-C) and the page's events through: awaiting tensor data alone
            // resolves as a microtask and would keep the event loop busy for the whole run.
            await new Promise((resolve) => setTimeout(resolve, 0));
            lastYield = performance.now();
          }
          this.steps++;
          const stepMs = performance.now() - stepStart;
          this.stepMs += stepMs;
          const seconds = (performance.now() - started) / 1000;
          this.options.onProgress?.({
            task: this.task,
            tasks: scenario.tasks.length,
            phase: phase.name,
            epoch,
            epochs,
            step: step + 1,
            steps,
            loss: value,
            examplesPerSecond: ((step * batchSize + picked.length) / seconds) | 0,
            stepMs,
          });
        }
      }
    } finally {
      optimizer.dispose();
    }
  }

  /**
   * The fused plan for this phase (train/fused-step.ts), or null when its steps need TensorFlow.js's
   * gradients: an extra loss, replayed examples, several heads in a batch, several threads.
   */
  private fusedPlanFor(
    phase: Phase & { tasks: number[] },
    variables: tf.Variable[],
    size: number,
  ): FusedPlan | null {
    const { learner, strategy } = this;
    const heads = new Set(phase.tasks.map((t) => headIndex(learner.layout, t)));
    const extraLoss = phase.extraLoss !== false && strategy.extraLoss !== undefined;
    if (phase.classification === false || extraLoss || strategy.replay || heads.size !== 1) return null;
    if (this.replica.count > 1) return null;
    const plan = fusedPlan(learner, [...heads][0], variables);
    return plan && plan.inputSize === size ? plan : null;
  }

  /** One step of a fused plan on the batch; returns the loss. */
  private fusedStep(
    optimizer: tf.Optimizer,
    plan: FusedPlan,
    inputs: Float32Array,
    tasks: Int32Array,
    targets: Int32Array,
  ): number {
    const active = activeOutputs(this.learner.layout, tasks[0], this.task);
    const { loss, gradients } = fusedStep(plan, inputs, targets, tasks.length, active);
    try {
      this.strategy.observeGradients?.(this, gradients);
      optimizer.applyGradients(gradients);
    } finally {
      tf.dispose(gradients);
    }
    return loss;
  }

  /** `optimizer.minimize`'s own two halves, with the strategy shown the gradients in between. */
  private observedStep(
    optimizer: tf.Optimizer,
    lossOf: () => tf.Scalar,
    variables: tf.Variable[],
  ): tf.Scalar {
    const { value, grads } = tf.variableGrads(lossOf, variables);
    this.strategy.observeGradients?.(this, grads);
    optimizer.applyGradients(grads);
    tf.dispose(grads);
    return value;
  }

  /**
   * One step of data-parallel training: this replica's gradient of its shard (`lossOf`, null for an
   * empty shard), summed with the other replicas', seen by the strategy and applied. Returns the batch's loss.
   */
  private sharedStep(
    optimizer: tf.Optimizer,
    lossOf: (() => tf.Scalar) | null,
    variables: tf.Variable[],
  ): number {
    let gradients: tf.NamedTensorMap = {};
    let loss = 0;
    if (lossOf) {
      const { value, grads } = tf.variableGrads(lossOf, variables);
      gradients = grads;
      loss = (value.dataSync() as Float32Array)[0];
      value.dispose();
    }
    const summed = this.replica.reduce(variables, gradients, loss, this.options.signal?.aborted ?? false);
    tf.dispose(gradients);
    this.strategy.observeGradients?.(this, summed.gradients);
    optimizer.applyGradients(summed.gradients);
    tf.dispose(summed.gradients);
    return summed.loss;
  }

  fit(phase: Phase): Promise<void> {
    return this.run({ ...phase, tasks: [this.task] });
  }

  private defaultVariables(tasks: readonly number[]): tf.Variable[] {
    const heads = [...new Set(tasks.map((t) => headIndex(this.learner.layout, t)))];
    return this.learner.trainableVariables(heads);
  }
}

/** A task to learn: its name and classes, training data and (optionally) test data. */
export interface NewTask {
  /** A name unique among the learner's tasks, e.g. 'digits' or 'sausages'. */
  readonly name: string;
  readonly train: Dataset;
  /** Test data, measured after learning (and by later tasks, while it is given to them as old data). */
  readonly test?: Dataset;
  /**
   * The label values that are this task's classes, in output order. Default: every label found in
   * its training and test data, in increasing order.
   */
  readonly classes?: readonly number[];
  /** Where the data came from, kept in the learner's history (e.g. 'mnist:5-9', a folder path). */
  readonly source?: string;
}

/** Data of a task the learner already learned, given back to a later task. */
export interface OldTaskData {
  /** Training data: joint trains on it; EWC's Fisher for an adopted task reads its inputs (labels unused). */
  readonly train?: Dataset;
  /** Test data: its accuracy is measured again after the new task. */
  readonly test?: Dataset;
}

export interface LearnOptions extends Omit<TrainOptions, 'onTaskEnd'> {
  /** Earlier tasks' data by task name, for the strategies that need or can use it, and for testing them again. */
  readonly oldData?: Readonly<Record<string, OldTaskData>>;
}

/** What learning one task gave. */
export interface LearnResult {
  /** The new task's index in the learner. */
  readonly task: number;
  /**
   * Test accuracy on every task learned so far after this one, in task order; null where no test data
   * was at hand (an old task whose data was not given back).
   */
  readonly accuracies: readonly (number | null)[];
  /** Wall time of the task, the strategy's work before and after included, in ms. */
  readonly trainMs: number;
  readonly steps: number;
  readonly msPerStep: number;
  /** Steps taken by the fused native step of Dense networks (train/fused-step.ts). */
  readonly fusedSteps: number;
  /** Wall time of the strategy's work after training (EWC's Fisher, PackNet's pruning and retraining), in ms. */
  readonly finishMs: number;
  /** True when the abort signal stopped training early (what was learned is kept). */
  readonly stopped: boolean;
  /** Threads that shared each step (see RunResult.workers). */
  readonly workers: Workers;
}

/** This loop trains on one thread: more workers come with `unforget`'s own train and learn (Node). */
function oneThread(options: TrainOptions): void {
  if (options.workers !== undefined && options.workers !== 'auto' && options.workers !== 1) {
    throw new OptionError(
      `workers: ${options.workers} needs threads, which this train and learn do not start (the browser entry trains ` +
        "on the page's thread); in Node import train and learn from 'unforget', or leave workers out",
    );
  }
}

interface Budget {
  epochs: number | null;
  iterations: number | null;
  batchSize: number;
  seed: number;
}

function checkBudget(options: TrainOptions): Budget {
  const epochs = options.iterations === undefined ? checkCount('epochs', options.epochs ?? 4, 1) : null;
  const iterations =
    options.iterations === undefined ? null : checkCount('iterations', options.iterations, 1);
  const batchSize = checkCount('batchSize', options.batchSize ?? 128, 1);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new OptionError(`seed must be a whole number; got ${seed}`);
  return { epochs, iterations, batchSize, seed };
}

/**
 * Trains task `task` of `scenario` (the learner's layout with data) and marks it learned: the one code
 * path under both `learn` and `train`. A diverging task leaves the weights as they were before it.
 */
async function trainTask(
  learner: Learner,
  scenario: Scenario,
  task: number,
  strategy: Strategy,
  random: Random,
  budget: Budget,
  options: RunOptions,
): Promise<{ run: TaskRun; ms: number; finishMs: number }> {
  const started = performance.now();
  const run = new TaskRun(learner, scenario, task, random, strategy, {
    ...options,
    batchSize: budget.batchSize,
  });
  const before = snapshot(learner);
  let finishMs = 0;
  try {
    await strategy.prepareTask?.(run);
    const tasks = strategy.trainingTasks?.(run) ?? [task];
    await run.run({
      name: 'train',
      epochs: budget.epochs ?? 1,
      iterations: budget.iterations ?? undefined,
      tasks,
    });
    const finishing = performance.now();
    await strategy.finishTask?.(run);
    finishMs = performance.now() - finishing;
  } catch (error) {
    // Whatever went wrong, the learner is left as it was after the last good task.
    try {
      restore(learner, before);
    } catch {
      // A strategy changed the learner's structure; the error below says what went wrong first.
    }
    throw error;
  } finally {
    tf.dispose(before);
  }
  learner.trainedTasks = task + 1;
  return { run, ms: performance.now() - started, finishMs };
}

/** The label values of a new task: the ones given, or every label in its data. */
function classesOf(task: NewTask): number[] {
  if (task.classes !== undefined) return [...task.classes];
  const found = new Set<number>();
  for (const d of [task.train, task.test]) if (d) for (const y of d.labels) found.add(y);
  return [...found].sort((a, b) => a - b);
}

function checkTaskData(learner: Learner, what: string, d: Dataset, classes: readonly number[]): void {
  validateDataset(d, what);
  const shape = d.shape.slice(1);
  if (shape.join('x') !== learner.layout.inputShape.join('x')) {
    throw new DataError(
      `${what} has examples of shape [${shape.join(', ')}]; the learner takes [${learner.layout.inputShape.join(', ')}]: ` +
        'fitDataset(data, learner.layout.inputShape) reshapes it when the sizes agree and resizes images otherwise',
    );
  }
  const known = new Set(classes);
  for (let i = 0; i < d.labels.length; i++) {
    if (!known.has(d.labels[i])) {
      throw new DataError(
        `${what} has label ${d.labels[i]} at index ${i}, which is not one of the task's classes (${classes.join(', ')})`,
      );
    }
  }
}

/**
 * Learns one new task onto `learner`, whatever it has learned before (nothing, a trained model's own
 * classifier, tasks of an earlier session), and grows it: a new head (task setting), new outputs beside
 * the old ones (class setting) or the same head (domain setting). Then tests every task whose test data
 * is at hand and adds a record to the learner's history. Give the same `strategy` object for every task
 * of a learner: it carries what the method keeps between tasks (Fisher, masks…), and it is saved with
 * the learner.
 *
 * ```ts
 * const l = learner({ backbone: { kind: 'mlp', hidden: [400] }, inputShape: [28, 28, 1] });
 * const s = strategies.lwf();
 * await learn(l, { name: 'digits 0-4', train: old.train, test: old.test }, s, { epochs: 2 });
 * const r = await learn(l, { name: 'digits 5-9', train: now.train, test: now.test }, s, { epochs: 2 });
 * console.log(r.accuracies); // [old task, new task]
 * ```
 */
export function learn(
  learner: Learner,
  task: NewTask,
  strategy: Strategy,
  options: LearnOptions = {},
): Promise<LearnResult> {
  oneThread(options);
  return learnOn(solo, learner, task, strategy, options);
}

/** `learn` as replica `replica` of a data-parallel run (src/parallel/); only replica 0 tests. */
export async function learnOn(
  replica: Replica,
  learner: Learner,
  task: NewTask,
  strategy: Strategy,
  options: LearnOptions,
): Promise<LearnResult> {
  const budget = checkBudget(options);
  if (typeof task.name !== 'string' || task.name.trim() === '') {
    throw new OptionError('a task needs a name: learn(learner, { name: "digits", train, test }, strategy)');
  }
  const learned = learner.layout.tasks.slice(0, learner.trainedTasks);
  if (learned.some((t) => t.name === task.name)) {
    throw new TaskError(
      `the learner has already learned a task named '${task.name}'; give the new task another name ` +
        `(its tasks: ${learned.map((t) => t.name).join(', ')})`,
    );
  }
  checkSetting(learner, strategy);
  const classes = classesOf(task);
  if (classes.length < 2 && (learner.setting !== 'class' || learner.trainedTasks === 0)) {
    throw new DataError(
      `task '${task.name}' has ${classes.length} class; a task needs at least 2 classes to learn to tell apart ` +
        '(in the class setting one new class per task is allowed after the first task)',
    );
  }
  if (classes.length < 1) throw new DataError(`task '${task.name}' has no examples`);
  checkTaskData(learner, `task '${task.name}' training data`, task.train, classes);
  if (exampleCount(task.train) === 0) {
    throw new DataError(`task '${task.name}' has no training examples; give it some`);
  }
  if (task.test) checkTaskData(learner, `task '${task.name}' test data`, task.test, classes);
  const old = options.oldData ?? {};
  for (const name of Object.keys(old)) {
    if (!learned.some((t) => t.name === name)) {
      throw new TaskError(
        `oldData names the task '${name}', which the learner has not learned; its tasks: ${learned.map((t) => t.name).join(', ') || 'none'}`,
      );
    }
  }
  if (strategy.needsOldData) {
    const missing = learned.filter(
      (t) => !(old[t.name]?.train && exampleCount(old[t.name].train as Dataset) > 0),
    );
    if (missing.length > 0) {
      throw new OptionError(
        `${strategy.name} trains on every earlier task's data too, and none was given for ${missing.map((t) => `'${t.name}'`).join(', ')}; ` +
          `pass it as learn(…, { oldData: { '${missing[0].name}': { train } } }) (on the command line: --old-data '${missing[0].name}=DATA'), ` +
          'or pick a strategy that does without it (lwf, ewc, featureExtraction…)',
      );
    }
  }
  const layout: TaskLayout = {
    name: task.name,
    classes,
    classNames: classes.map((c) => task.train.classNames[c] ?? String(c)),
  };
  // The learner may have been built for a scenario whose next task this is; otherwise it grows.
  let index = learner.trainedTasks;
  const planned = learner.layout.tasks[index];
  if (planned === undefined) index = learner.addTask(layout);
  else if (planned.name !== layout.name || planned.classes.join() !== classes.join()) {
    throw new TaskError(
      `the learner was built expecting task '${planned.name}' (classes ${planned.classes.join(', ')}) next; ` +
        `learn that one, or build the learner without a scenario to add any task`,
    );
  }
  for (const [name, d] of Object.entries(old)) {
    const t = learned.find((k) => k.name === name) as TaskLayout;
    if (d.train) checkTaskData(learner, `old data of '${name}' (training)`, d.train, t.classes);
    if (d.test) checkTaskData(learner, `old data of '${name}' (test)`, d.test, t.classes);
  }
  const scenario: Scenario = {
    name: learner.layout.name,
    setting: learner.setting,
    inputShape: learner.layout.inputShape,
    tasks: learner.layout.tasks.map((t, i) => {
      if (i === index)
        return { ...t, train: task.train, test: task.test ?? emptyDataset(learner.layout.inputShape) };
      const data = old[t.name] ?? {};
      return {
        ...t,
        train: data.train ?? emptyDataset(learner.layout.inputShape),
        test: data.test ?? emptyDataset(learner.layout.inputShape),
      };
    }),
  };
  // Each task's own stream of random numbers, from the seed and its index: the same whether the learner
  // went on in memory or was saved and loaded in between.
  const random = seededRandom(budget.seed ^ Math.imul(index, 0x9e3779b1));
  const { run, ms, finishMs } = await trainTask(learner, scenario, index, strategy, random, budget, {
    ...options,
    replica,
  });
  const accuracies = scenario.tasks
    .slice(0, index + 1)
    .map((t, j) =>
      exampleCount(t.test) === 0 || replica.index > 0 ? null : taskAccuracy(learner, scenario, j, index),
    );
  learner.history[index] = {
    name: task.name,
    source: task.source ?? '',
    accuracies,
    learnedAt: new Date().toISOString(),
    strategy: strategy.name,
  };
  return {
    task: index,
    accuracies,
    trainMs: ms,
    steps: run.steps,
    msPerStep: run.steps === 0 ? 0 : run.stepMs / run.steps,
    fusedSteps: run.fusedSteps,
    finishMs,
    stopped: run.stopped,
    workers: { count: replica.count },
  };
}

/** Refuses a strategy that does not work in the learner's setting, before anything changes. */
function checkSetting(learner: Learner, strategy: Strategy): void {
  if (strategy.settings && !strategy.settings.includes(learner.setting)) {
    throw new OptionError(
      `${strategy.name} needs the ${strategy.settings.join(' or ')} setting; the learner is ${learner.setting}-incremental: ` +
        `use another strategy, or a learner in the ${strategy.settings[0]} setting (--setting ${strategy.settings[0]})`,
    );
  }
}

function checkScenario(learner: Learner, scenario: Scenario): void {
  if (scenario.setting !== learner.setting) {
    throw new OptionError(
      `the learner was built for the ${learner.setting} setting but the scenario is ${scenario.setting}-incremental; ` +
        'build the learner for this scenario',
    );
  }
  if (learner.trainedTasks !== 0) {
    throw new OptionError(
      `this learner has already learned ${learner.trainedTasks} task(s); train runs a whole scenario from the start: ` +
        'build a fresh learner, or add tasks to this one with learn(learner, task, strategy)',
    );
  }
  if (learner.taskCount === 0) {
    // Tasks to come: make room for the scenario's tasks now, so that every task can be tested from the start.
    for (const t of scenario.tasks) learner.addTask(t);
  }
  if (scenario.tasks.length !== learner.taskCount) {
    throw new OptionError(
      `the learner was built for ${learner.taskCount} tasks but the scenario has ${scenario.tasks.length}; ` +
        'build the learner for this scenario',
    );
  }
  const wanted = learner.layout.inputShape;
  for (const [t, task] of scenario.tasks.entries()) {
    for (const part of ['train', 'test'] as const) {
      const what = `task ${t + 1} ('${task.name}') ${part === 'train' ? 'training' : 'test'} data`;
      const d = task[part];
      validateDataset(d, what);
      const shape = d.shape.slice(1);
      if (shape.join('x') !== wanted.join('x')) {
        throw new DataError(
          `${what} has examples of shape [${shape.join(', ')}]; the learner takes [${wanted.join(', ')}]: ` +
            'give every task examples of one shape (fitDataset(data, learner.layout.inputShape) reshapes or resizes them)',
        );
      }
      if (exampleCount(d) === 0) {
        throw new DataError(
          `${what} is empty (its classes: ${task.classNames.join(', ')}), so the task cannot be ` +
            (part === 'train' ? 'learned' : 'tested') +
            `: give every task ${part === 'train' ? 'training' : 'test'} examples ` +
            '(does the data hold examples of each class in both its training and its test part?)',
        );
      }
      const counts = new Map(task.classes.map((c) => [c, 0]));
      for (let i = 0; i < d.labels.length; i++) {
        const n = counts.get(d.labels[i]);
        if (n === undefined) {
          throw new DataError(
            `${what} has label ${d.labels[i]} at index ${i}, which is not one of the task's classes (${task.classes.join(', ')}); ` +
              "keep only the task's classes in its data (withClasses(data, classes))",
          );
        }
        counts.set(d.labels[i], n + 1);
      }
      const absent = task.classes.filter((c) => counts.get(c) === 0);
      if (absent.length > 0) {
        const names = absent.map((c, i) => `'${task.classNames[task.classes.indexOf(c)] ?? absent[i]}'`);
        throw new DataError(
          `${what} has no examples of class ${names.join(', ')}, so the task would be ` +
            (part === 'train' ? 'learned without it' : 'scored without it') +
            `: give every class ${part === 'train' ? 'training' : 'test'} examples` +
            (part === 'test'
              ? ' (an image folder needs at least 2 images per class: one goes to the test set)'
              : ''),
        );
      }
    }
    if (activeOutputs(learner.layout, t) < 2) {
      throw new DataError(
        `task ${t + 1} ('${task.name}') would be learned with a single output (class ${task.classNames.join(', ')}), ` +
          'and one output cannot tell anything apart: give each task at least 2 classes (fewer tasks)',
      );
    }
  }
}

/** What a run finished before it failed, for `partialResult`. */
const partials = new WeakMap<object, RunResult>();

/**
 * The result of the tasks a run finished before `error` stopped it (marked incomplete with the
 * reason), when `error` came out of `train`; undefined otherwise. The learner is as it was after the
 * last of those tasks.
 */
export function partialResult(error: unknown): RunResult | undefined {
  return typeof error === 'object' && error !== null ? partials.get(error) : undefined;
}

/**
 * Learns the scenario's tasks in order with one strategy (`learn`'s own training, task after task),
 * testing every task after each one, and returns the accuracy matrix, the metrics and the costs.
 *
 * ```ts
 * const s = await scenarios.splitMnist({ tasks: 5, setting: 'task' });
 * const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario: s });
 * const r = await train(l, s, strategies.finetune({ learningRate: 1e-3 }), { epochs: 4, batchSize: 128 });
 * console.log(r.metrics?.averageAccuracy);
 * ```
 */
export function train(
  learner: Learner,
  scenario: Scenario,
  strategy: Strategy,
  options: TrainOptions = {},
): Promise<RunResult> {
  oneThread(options);
  return trainOn(solo, learner, scenario, strategy, options);
}

/** `train` as replica `replica` of a data-parallel run (src/parallel/); only replica 0 tests. */
export async function trainOn(
  replica: Replica,
  learner: Learner,
  scenario: Scenario,
  strategy: Strategy,
  options: TrainOptions,
): Promise<RunResult> {
  const budget = checkBudget(options);
  const { epochs, iterations, batchSize, seed } = budget;
  checkSetting(learner, strategy);
  checkScenario(learner, scenario);
  if ((options.inferTask ?? []).length > 0 && learner.setting !== 'task') {
    throw new OptionError(
      `inferTask is for the task setting, where a task's head must be picked; in the ${learner.setting} setting ` +
        'predict needs no task: leave inferTask out',
    );
  }
  const random = seededRandom(seed);
  const tests = replica.index === 0;
  const initialAccuracy = tests ? scenario.tasks.map((_, j) => taskAccuracy(learner, scenario, j, j)) : [];
  const accuracyMatrix: number[][] = [];
  const trainMs: number[] = [];
  let steps = 0;
  let stepMs = 0;
  let fusedSteps = 0;
  let lastRowMs = 0;
  let stopped = false;
  strategy.checkPlan?.(learner, scenario.tasks.length);
  let failure: { task: number; error: unknown } | undefined;
  for (let task = 0; task < scenario.tasks.length && !stopped; task++) {
    let done: Awaited<ReturnType<typeof trainTask>>;
    try {
      done = await trainTask(learner, scenario, task, strategy, random, budget, { ...options, replica });
    } catch (error) {
      failure = { task, error };
      break;
    }
    const { run, ms } = done;
    stopped = run.stopped;
    trainMs.push(ms);
    steps += run.steps;
    stepMs += run.stepMs;
    fusedSteps += run.fusedSteps;
    const testStart = performance.now();
    const row = tests ? accuracyRow(learner, scenario, task) : [];
    lastRowMs = performance.now() - testStart;
    accuracyMatrix.push(row);
    learner.history[task] = {
      name: scenario.tasks[task].name,
      source: scenario.name,
      accuracies: row.slice(0, task + 1),
      learnedAt: new Date().toISOString(),
      strategy: strategy.name,
    };
    options.onTaskEnd?.(task, row);
  }
  // The test time is that of the last row: every task tested after the last one learned.
  let testMsPerExample = 0;
  if (accuracyMatrix.length > 0 && tests) {
    const testExamples = scenario.tasks.reduce((n, t) => n + exampleCount(t.test), 0);
    testMsPerExample = testExamples === 0 ? 0 : lastRowMs / testExamples;
  }
  const complete = accuracyMatrix.length === scenario.tasks.length && !stopped && !failure;
  const withoutTaskLabel =
    accuracyMatrix.length === 0 || !tests
      ? []
      : (options.inferTask ?? []).map((per) =>
          inferredAccuracy(learner, scenario, per, per === 'batch' ? (options.inferBatch ?? 64) : 1000),
        );
  const result: RunResult = {
    scenario: scenario.name,
    setting: scenario.setting,
    strategy: strategy.name,
    strategyOptions: { ...strategy.options },
    training: { epochs, iterations, batchSize, seed },
    backend: tf.getBackend(),
    versions: { unforget: version, tfjs: tf.version.tfjs },
    taskNames: scenario.tasks.map((t) => t.name),
    accuracyMatrix,
    initialAccuracy,
    metrics: complete && tests ? metrics(accuracyMatrix, initialAccuracy) : null,
    ...(withoutTaskLabel.length > 0 ? { withoutTaskLabel } : {}),
    cost: {
      trainMs,
      msPerStep: steps === 0 ? 0 : stepMs / steps,
      fusedSteps,
      testMsPerExample,
      parameters: learner.parameterCount(),
      strategyBytes: strategy.memoryBytes?.() ?? 0,
      needsOldData: strategy.needsOldData,
      ...(strategy.keptExamples?.() ? { keptExamples: strategy.keptExamples() } : {}),
    },
    workers: { count: replica.count },
    stopped,
  };
  if (stopped) {
    result.incomplete = {
      tasks: accuracyMatrix.length,
      reason: `stopped during task ${accuracyMatrix.length} of ${scenario.tasks.length}`,
    };
  }
  if (failure) {
    const { task, error } = failure;
    result.incomplete = {
      tasks: task,
      reason: `task ${task + 1} of ${scenario.tasks.length} failed: ${error instanceof Error ? error.message : String(error)}`,
    };
    if (typeof error === 'object' && error !== null) partials.set(error, result);
    throw error;
  }
  return result;
}
