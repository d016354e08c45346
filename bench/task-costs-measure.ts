/**
 * The costs of one strategy as tasks are added, task after task through `learn` (the learner grows a
 * head per task, as a user's would): per task, the median optimizer step, the task's training time, the
 * time of the strategy's work after training (`finishTask`: EWC's Fisher, PackNet's pruning and
 * retraining), the memory the strategy and the network keep, and the time to test every task learned so
 * far. bench/task-costs.ts runs it for every strategy and draws the results.
 */
import { exampleCount, subset, type DataSplit, type Dataset } from '../src/data/dataset.js';
import { evaluate } from '../src/eval/evaluate.js';
import { learner } from '../src/model/learner.js';
import { permutation, seededRandom } from '../src/random.js';
import { permuted } from '../src/scenarios/permuted.js';
import { strategyEntry } from '../src/strategies/index.js';
import { learn, type OldTaskData } from '../src/train/loop.js';

/** What one task cost, measured right after it was learned. */
export interface TaskCost {
  /** 1-based. */
  task: number;
  /** Optimizer steps of the training phase, and their median wall time (ms). */
  steps: number;
  stepMs: number;
  /**
   * The median CPU time of the process from one step to the next (ms): on a shared machine the wall
   * time also counts the time other processes had the core, the CPU time does not.
   */
  stepCpuMs: number;
  /** The whole task: the strategy's work before and after training included (ms). */
  trainMs: number;
  /** The CPU time of the whole `learn` call (its test of the new task included), in ms. */
  trainCpuMs: number;
  /** The strategy's `finishTask` alone (ms). */
  finishMs: number;
  /** Bytes the strategy keeps (`memoryBytes()`), the network's weights (float32), and their sum. */
  strategyBytes: number;
  parameterBytes: number;
  memoryBytes: number;
  /** Testing every task learned so far: the whole of it, and per test example (ms); and in CPU time. */
  testMs: number;
  testMsPerExample: number;
  testCpuMs: number;
  testCpuMsPerExample: number;
  /** Accuracy on the task just learned, and the mean over every task learned so far. */
  accuracy: number;
  averageAccuracy: number;
}

export interface TaskCostOptions {
  /** Default 20. */
  tasks?: number;
  /** Training and test images per task, drawn once from MNIST's and permuted per task. Default 3,000 and 500. */
  trainPerTask?: number;
  testPerTask?: number;
  /** The MLP's hidden layers. Default [400, 400]. */
  hidden?: readonly number[];
  /** Default 1 and 128. */
  epochs?: number;
  batchSize?: number;
  seed?: number;
  /** Called with each task's costs as soon as it is measured. */
  onTask?: (cost: TaskCost) => void;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? 0
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** CPU time of this process (every thread) so far, in ms. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** `count` examples of `d` picked at random (seeded), in random order. */
const sample = (d: Dataset, count: number, seed: number) =>
  subset(d, permutation(exampleCount(d), seededRandom(seed)).subarray(0, Math.min(count, exampleCount(d))));

/**
 * Learns permuted-MNIST tasks one by one in the task setting with the registry's strategy `name` (its
 * defaults) and returns what each task cost.
 *
 * ```ts
 * const costs = await taskCosts('ewc', loadMnist(), { tasks: 5 });
 * console.log(costs.map((c) => c.memoryBytes)); // grows by a Fisher and an anchor per task
 * ```
 */
export async function taskCosts(
  name: string,
  data: DataSplit,
  options: TaskCostOptions = {},
): Promise<TaskCost[]> {
  const {
    tasks = 20,
    trainPerTask = 3000,
    testPerTask = 500,
    epochs = 1,
    batchSize = 128,
    seed = 0,
  } = options;
  const scenario = permuted(
    { train: sample(data.train, trainPerTask, seed), test: sample(data.test, testPerTask, seed + 1) },
    { tasks, setting: 'task', seed },
  );
  const entry = strategyEntry(name);
  const strategy = entry.create({});
  const l = learner({
    backbone: { kind: 'mlp', hidden: [...(options.hidden ?? [400, 400])] },
    inputShape: scenario.inputShape,
    setting: 'task',
    seed,
  });
  const costs: TaskCost[] = [];
  const old: Record<string, OldTaskData> = {};
  const tests: Record<string, Dataset> = {};
  try {
    for (const [t, task] of scenario.tasks.entries()) {
      const stepTimes: number[] = [];
      const stepCpu: number[] = [];
      let lastCpu: number | undefined;
      const trainCpu = cpuMs();
      const r = await learn(
        l,
        { name: task.name, train: task.train, test: task.test, classes: task.classes },
        strategy,
        {
          epochs,
          batchSize,
          seed,
          oldData: entry.needsOldData ? old : undefined,
          onProgress: (p) => {
            if (p.phase !== 'train') return;
            stepTimes.push(p.stepMs);
            const now = cpuMs();
            if (lastCpu !== undefined) stepCpu.push(now - lastCpu);
            lastCpu = now;
          },
        },
      );
      const trainCpuMs = cpuMs() - trainCpu;
      old[task.name] = { train: task.train };
      tests[task.name] = task.test;
      const [started, testCpu] = [performance.now(), cpuMs()];
      const accuracies = Object.values(evaluate(l, tests)) as number[];
      const [testMs, testCpuMs] = [performance.now() - started, cpuMs() - testCpu];
      const tested = (t + 1) * exampleCount(task.test);
      const strategyBytes = strategy.memoryBytes?.() ?? 0;
      const parameterBytes = 4 * l.parameterCount();
      const cost: TaskCost = {
        task: t + 1,
        steps: stepTimes.length,
        stepMs: median(stepTimes),
        stepCpuMs: median(stepCpu),
        trainMs: r.trainMs,
        trainCpuMs,
        finishMs: r.finishMs,
        strategyBytes,
        parameterBytes,
        memoryBytes: strategyBytes + parameterBytes,
        testMs,
        testMsPerExample: testMs / tested,
        testCpuMs,
        testCpuMsPerExample: testCpuMs / tested,
        accuracy: r.accuracies[t] ?? 0,
        averageAccuracy: accuracies.reduce((a, b) => a + b, 0) / accuracies.length,
      };
      costs.push(cost);
      options.onTask?.(cost);
    }
  } finally {
    strategy.dispose?.();
    l.dispose();
  }
  return costs;
}
