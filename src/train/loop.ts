import * as tf from '@tensorflow/tfjs';
import { exampleCount, exampleSize } from '../data/dataset.js';
import { DivergenceError, OptionError } from '../errors.js';
import { accuracyRow, taskAccuracy } from '../eval/evaluate.js';
import { metrics } from '../eval/metrics.js';
import type { Learner } from '../model/learner.js';
import { seededRandom, shuffleInPlace, type Random } from '../random.js';
import { checkCount } from '../scenarios/options.js';
import { headIndex, taskTargets, type Scenario } from '../scenarios/types.js';
import { version } from '../version.js';
import { makeOptimizer } from './optimizers.js';
import type { RunResult } from './result.js';
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
    const loss = tf.losses
      .softmaxCrossEntropy(tf.oneHot(targets, logits.shape[1]), logits)
      .mul(rows.length / batch.tasks.length) as tf.Scalar;
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

class TaskRun implements TaskContext {
  steps = 0;
  stepMs = 0;
  stopped = false;
  private readonly targets: Int32Array[];

  constructor(
    readonly learner: Learner,
    readonly scenario: Scenario,
    readonly task: number,
    readonly random: Random,
    private readonly strategy: Strategy,
    private readonly options: TrainOptions & { batchSize: number },
  ) {
    this.targets = scenario.tasks.map((_, t) => taskTargets(scenario, t, 'train'));
  }

  /** Trains on `tasks`' training data for `epochs` (or `iterations` steps). */
  async run(phase: Phase & { tasks: number[]; iterations?: number }): Promise<void> {
    const { learner, scenario, strategy } = this;
    const examples = examplesOf(scenario, phase.tasks);
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
    const started = performance.now();
    let lastYield = started;
    try {
      let step = 0;
      for (let epoch = 0; epoch < epochs && step < steps; epoch++) {
        shuffleInPlace(order, this.random);
        for (let start = 0; start < examples.length && step < steps; start += batchSize, step++) {
          if (this.options.signal?.aborted) {
            this.stopped = true;
            return;
          }
          const picked = order.slice(start, start + batchSize).map((i) => examples[i]);
          const inputs = new Float32Array(picked.length * size);
          const tasks = new Int32Array(picked.length);
          const indices = new Int32Array(picked.length);
          const targets = new Int32Array(picked.length);
          picked.forEach((e, i) => {
            const d = scenario.tasks[e.task].train;
            inputs.set(d.inputs.subarray(e.index * size, (e.index + 1) * size), i * size);
            tasks[i] = e.task;
            indices[i] = e.index;
            targets[i] = this.targets[e.task][e.index];
          });
          const stepStart = performance.now();
          const x = tf.tensor(inputs, [picked.length, ...shape]);
          const loss = optimizer.minimize(
            () => {
              const features = learner.features(x, this.task, true);
              const batch: Batch = { x, features, tasks, indices, targets };
              const base = classificationLoss(learner, batch, this.task);
              const extra = phase.extraLoss === false ? undefined : strategy.extraLoss?.(this, batch);
              return extra ? base.add(extra) : base;
            },
            true,
            variables,
          ) as tf.Scalar;
          x.dispose();
          const value = (await loss.data())[0];
          loss.dispose();
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
          this.stepMs += performance.now() - stepStart;
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
          });
        }
      }
    } finally {
      optimizer.dispose();
    }
  }

  fit(phase: Phase): Promise<void> {
    return this.run({ ...phase, tasks: [this.task] });
  }

  private defaultVariables(tasks: readonly number[]): tf.Variable[] {
    const heads = [...new Set(tasks.map((t) => headIndex(this.learner.layout, t)))];
    return this.learner.trainableVariables(heads);
  }
}

function checkScenario(learner: Learner, scenario: Scenario): void {
  if (scenario.setting !== learner.setting) {
    throw new OptionError(
      `the learner was built for the ${learner.setting} setting but the scenario is ${scenario.setting}-incremental; ` +
        'build the learner for this scenario',
    );
  }
  if (scenario.tasks.length !== learner.taskCount) {
    throw new OptionError(
      `the learner was built for ${learner.taskCount} tasks but the scenario has ${scenario.tasks.length}; ` +
        'build the learner for this scenario',
    );
  }
  // Building the learner already checked the input shape against the scenario's layout.
  for (const [t, task] of scenario.tasks.entries()) {
    const shape = task.train.shape.slice(1).join('x');
    if (shape !== learner.layout.inputShape.join('x') || task.test.shape.slice(1).join('x') !== shape) {
      throw new OptionError(
        `task ${t + 1} has examples of shape [${task.train.shape.slice(1)}]; the learner takes [${learner.layout.inputShape}]`,
      );
    }
  }
}

/**
 * Learns the scenario's tasks in order with one strategy, testing every task after each one, and
 * returns the accuracy matrix, the metrics and the costs.
 *
 * ```ts
 * const s = await scenarios.splitMnist({ tasks: 5, setting: 'task' });
 * const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario: s });
 * const r = await train(l, s, strategies.finetune({ learningRate: 1e-3 }), { epochs: 4, batchSize: 128 });
 * console.log(r.metrics?.averageAccuracy);
 * ```
 */
export async function train(
  learner: Learner,
  scenario: Scenario,
  strategy: Strategy,
  options: TrainOptions = {},
): Promise<RunResult> {
  const epochs = options.iterations === undefined ? checkCount('epochs', options.epochs ?? 4, 1) : null;
  const iterations =
    options.iterations === undefined ? null : checkCount('iterations', options.iterations, 1);
  const batchSize = checkCount('batchSize', options.batchSize ?? 128, 1);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new OptionError(`seed must be a whole number; got ${seed}`);
  checkScenario(learner, scenario);
  if (learner.trainedTasks !== 0) {
    throw new OptionError(
      `this learner has already learned ${learner.trainedTasks} task(s); build a fresh learner for a new run`,
    );
  }
  const random = seededRandom(seed);
  const initialAccuracy = scenario.tasks.map((_, j) => taskAccuracy(learner, scenario, j, j));
  const accuracyMatrix: number[][] = [];
  const trainMs: number[] = [];
  let steps = 0;
  let stepMs = 0;
  let stopped = false;
  for (let task = 0; task < scenario.tasks.length && !stopped; task++) {
    const started = performance.now();
    const run = new TaskRun(learner, scenario, task, random, strategy, { ...options, batchSize });
    const before = snapshot(learner);
    try {
      await strategy.prepareTask?.(run);
      const tasks = strategy.trainingTasks?.(run) ?? [task];
      await run.run({ name: 'train', epochs: epochs ?? 1, iterations: iterations ?? undefined, tasks });
      stopped = run.stopped;
      await strategy.finishTask?.(run);
    } catch (error) {
      if (error instanceof DivergenceError) restore(learner, before);
      throw error;
    } finally {
      tf.dispose(before);
    }
    learner.trainedTasks = task + 1;
    trainMs.push(performance.now() - started);
    steps += run.steps;
    stepMs += run.stepMs;
    const row = accuracyRow(learner, scenario, task);
    accuracyMatrix.push(row);
    options.onTaskEnd?.(task, row);
  }
  const testStart = performance.now();
  accuracyRow(learner, scenario, accuracyMatrix.length - 1);
  const testExamples = scenario.tasks.reduce((n, t) => n + exampleCount(t.test), 0);
  const testMsPerExample = (performance.now() - testStart) / testExamples;
  const complete = accuracyMatrix.length === scenario.tasks.length && !stopped;
  return {
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
    metrics: complete ? metrics(accuracyMatrix, initialAccuracy) : null,
    cost: {
      trainMs,
      msPerStep: steps === 0 ? 0 : stepMs / steps,
      testMsPerExample,
      parameters: learner.parameterCount(),
      strategyBytes: strategy.memoryBytes?.() ?? 0,
      needsOldData: strategy.needsOldData,
    },
    stopped,
  };
}
