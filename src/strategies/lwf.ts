import * as tf from '@tensorflow/tfjs';
import { exampleCount, exampleSize } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { activeOutputs, headIndex } from '../scenarios/types.js';
import { stepOptions } from '../train/optimizers.js';
import type { Batch, StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';

export interface LwfOptions extends StepOptions {
  /** λo, the weight of the old tasks' distillation loss. Default 1 (the paper's). */
  lambda?: number;
  /** T, the distillation temperature. Default 2 (the paper's). */
  temperature?: number;
  /**
   * The paper's warm-up: before training everything, train only the new task's parameters (the trunk
   * frozen) for this many epochs. In the task setting that is the new head (without the distillation
   * term, which cannot change); with a shared head (domain, class) it is the shared head, with the
   * distillation term. Default 0: the paper trains the new head "to convergence" first, which has no
   * epoch count; 0 keeps LwF on the same budget as the other methods (and matches van de Ven's code).
   */
  warmupEpochs?: number;
}

export const lwfDefaults = { lambda: 1, temperature: 2, warmupEpochs: 0 };

/** The outputs of one old head on the new task's training inputs, recorded before training it. */
interface Recorded {
  /** The old task whose head (or old classes) this is. */
  task: number;
  /** Outputs recorded: all of the old head's (task, domain) or the old classes' (class). */
  outputs: number;
  /** [examples of the new task, outputs]: logits, row i for training example i. */
  logits: tf.Tensor2D;
}

/** What LwF reports beyond the Strategy interface (for tests). */
export interface LwfStrategy extends Strategy {
  /** The logits recorded for the task being trained, by old task (empty between tasks). */
  recorded(): ReadonlyMap<number, tf.Tensor2D>;
}

/**
 * Learning without Forgetting (Li & Hoiem, arXiv 1606.09282). Before training a new task, record what
 * the network answers on the new task's inputs, for every old head (task setting) or for the old classes
 * (class and domain settings). While training, keep those answers with knowledge distillation:
 * `L = λo · L_old(Y_o, Ŷ_o) + L_new(Y_n, Ŷ_n)`, where `L_old = −Σ_j y'_o,j log ŷ'_o,j` and the primes mean
 * softmax at temperature T. It needs no old data. With several old heads, L_old is their mean, so λo
 * weighs the old tasks together as much as the paper's one old task.
 *
 * L_old is the knowledge-distillation loss of Hinton et al. (2015), which the paper builds on: the
 * cross-entropy of the softened outputs times T², so that its gradients keep their size whatever T is
 * (without it, T = 2 would quarter the old tasks' weight). The paper's formula leaves the T² out; van de
 * Ven's code, whose split-MNIST numbers we compare with, keeps it. On split MNIST (domain setting)
 * λo = 1 without T² protects the first task hardly at all (36% vs fine-tuning's 36% after 5 tasks in a
 * short test), with it 78–85%.
 *
 * ```ts
 * const r = await train(l, s, strategies.lwf({ lambda: 1, temperature: 2 }), { epochs: 4 });
 * ```
 */
export function lwf(options: LwfOptions = {}): LwfStrategy {
  const lambda = options.lambda ?? lwfDefaults.lambda;
  const temperature = options.temperature ?? lwfDefaults.temperature;
  const warmupEpochs = options.warmupEpochs ?? lwfDefaults.warmupEpochs;
  if (!(lambda >= 0 && Number.isFinite(lambda))) {
    throw new OptionError(`lambda must be a number ≥ 0; got ${lambda}`);
  }
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new OptionError(`temperature must be a positive number; got ${temperature}`);
  }
  if (!Number.isInteger(warmupEpochs) || warmupEpochs < 0) {
    throw new OptionError(`warmupEpochs must be a whole number ≥ 0; got ${warmupEpochs}`);
  }
  let records: Recorded[] = [];
  /** y'_o = softmax(recorded / T) of every record side by side, [examples, Σ outputs]: fixed while a task trains. */
  let targets: tf.Tensor2D | null = null;
  let peakBytes = 0;

  const clear = () => {
    tf.dispose(records.map((r) => r.logits));
    targets?.dispose();
    targets = null;
    records = [];
  };

  /** Computes the soft targets of the records once, and notes the memory they take. */
  const soften = () => {
    targets?.dispose();
    targets = tf.tidy(
      () =>
        tf.concat(
          records.map((r) => tf.softmax(r.logits.div(temperature))),
          1,
        ) as tf.Tensor2D,
    );
    peakBytes = Math.max(peakBytes, records.reduce((b, r) => b + r.logits.size * 4, 0) + targets.size * 4);
  };

  /**
   * The current logits of every old head at once, [batch, heads, outputs], when there are several old
   * heads of one width (task setting): one product with the heads' kernels side by side instead of one
   * per head.
   */
  const allOldHeads = (ctx: TaskContext, features: tf.Tensor2D): tf.Tensor3D | null => {
    const width = records[0].outputs;
    if (ctx.learner.setting !== 'task' || records.length < 2 || records.some((r) => r.outputs !== width))
      return null;
    const layers = records.map((r) => ctx.learner.heads[r.task].layers);
    if (layers.some((l) => l.length !== 1 || l[0].getClassName() !== 'Dense' || l[0].weights.length !== 2))
      return null;
    const kernel = tf.concat(
      layers.map((l) => l[0].weights[0].read()),
      1,
    );
    const bias = tf.concat(
      layers.map((l) => l[0].weights[1].read()),
      0,
    );
    return tf
      .matMul(features, kernel)
      .add(bias)
      .reshape([features.shape[0], records.length, width]) as tf.Tensor3D;
  };

  /** Records, for each old head, its logits on every training example of task `ctx.task`. */
  const record = (ctx: TaskContext) => {
    const { learner, scenario, task } = ctx;
    const data = scenario.tasks[task].train;
    const n = exampleCount(data);
    const size = exampleSize(data);
    // Every old head (task setting), or the shared head as it was after the last task (its old classes).
    const old = learner.setting === 'task' ? Array.from({ length: task }, (_, t) => t) : [task - 1];
    const chunk = 512;
    // One pass of the trunk per chunk, every old head on its features (the features training compares
    // the old heads on): the cost of recording grows with the heads' small products, not with a trunk
    // pass per old task.
    const parts: tf.Tensor2D[][] = old.map(() => []);
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      tf.tidy(() => {
        const x = tf.tensor(data.inputs.subarray(start * size, (start + count) * size), [
          count,
          ...data.shape.slice(1),
        ]);
        const features = learner.features(x, task);
        old.forEach((t, k) => parts[k].push(tf.keep(learner.headLogits(features, t, task - 1))));
      });
    }
    old.forEach((t, k) => {
      const logits = parts[k].length === 1 ? parts[k][0] : (tf.concat(parts[k], 0) as tf.Tensor2D);
      if (parts[k].length > 1) tf.dispose(parts[k]);
      records.push({ task: t, outputs: activeOutputs(learner.layout, t, task - 1), logits });
    });
    soften();
  };

  const strategy: LwfStrategy = {
    name: 'lwf',
    needsOldData: false,
    options: { ...stepOptions(options), lambda, temperature, warmupEpochs },

    async prepareTask(ctx: TaskContext) {
      clear();
      if (ctx.task === 0) return;
      // Y_o ← CNN(X_n, θs, θo): the old outputs on the new inputs, before anything changes.
      record(ctx);
      if (warmupEpochs > 0) {
        const { learner, task } = ctx;
        const head = learner.heads[headIndex(learner.layout, task)];
        await ctx.fit({
          name: 'warm-up',
          epochs: warmupEpochs,
          variables: head.trainableWeights.map((w) => w.read() as tf.Variable),
          // With one head per task the old heads and the (frozen) trunk cannot move: nothing to distil.
          extraLoss: learner.setting !== 'task',
        });
      }
    },

    extraLoss(ctx: TaskContext, batch: Batch): tf.Scalar | undefined {
      if (lambda === 0 || records.length === 0) return undefined;
      if (batch.tasks.some((t) => t !== ctx.task)) {
        throw new OptionError('lwf trains on the current task only; its recorded outputs are for that task');
      }
      const rows = tf.tensor1d(batch.indices, 'int32');
      const target = tf.gather(targets as tf.Tensor2D, rows); // y'_o for the batch, every record side by side
      const n = batch.indices.length;
      // L_old = −T² Σ_j y'_o,j log ŷ'_o,j, with y' = softmax(recorded / T), ŷ' = softmax(current / T),
      // averaged over the examples and the old heads; L = λo · L_old + L_new (the loop adds L_new).
      const scale = (-lambda * temperature * temperature) / (n * records.length);
      const fused = allOldHeads(ctx, batch.features);
      if (fused) {
        const [, heads, width] = fused.shape;
        const logProbs = tf.logSoftmax(fused.div(temperature));
        return tf.sum(tf.mul(target.reshape([n, heads, width]), logProbs)).mul(scale) as tf.Scalar;
      }
      const shared = ctx.learner.setting !== 'task';
      const current = shared ? ctx.learner.headLogits(batch.features, ctx.task, ctx.task) : null;
      let total: tf.Scalar | undefined;
      let offset = 0;
      for (const r of records) {
        let now = current ?? ctx.learner.headLogits(batch.features, r.task, ctx.task);
        if (now.shape[1] !== r.outputs) now = now.slice([0, 0], [-1, r.outputs]);
        const y = records.length === 1 ? target : target.slice([0, offset], [-1, r.outputs]);
        offset += r.outputs;
        const term = tf.sum(tf.mul(y, tf.logSoftmax(now.div(temperature)))) as tf.Scalar;
        total = total ? (total.add(term) as tf.Scalar) : term;
      }
      return (total as tf.Scalar).mul(scale) as tf.Scalar;
    },

    finishTask() {
      // The recorded outputs are needed only while their task trains.
      clear();
    },

    recorded() {
      return new Map(records.map((r) => [r.task, r.logits]));
    },

    /** The most the recorded outputs and their soft targets took (kept only while a task trains). */
    memoryBytes() {
      return peakBytes;
    },

    state(): StrategyState {
      const tensors: Record<string, tf.Tensor> = {};
      for (const r of records) tensors[`recorded/${r.task}`] = r.logits;
      return { values: { peakBytes }, tensors };
    },

    load(state: StrategyState) {
      clear();
      for (const [name, t] of Object.entries(state.tensors)) {
        const [kind, task] = name.split('/');
        if (kind !== 'recorded' || !(Number(task) >= 0)) {
          throw new OptionError(`unexpected tensor '${name}' in a saved lwf state`);
        }
        records.push({ task: Number(task), outputs: t.shape[1] as number, logits: t.clone() as tf.Tensor2D });
      }
      records.sort((a, b) => a.task - b.task);
      peakBytes = Number(state.values.peakBytes ?? 0);
      if (records.length > 0) soften();
    },

    dispose: clear,
  };
  return strategy;
}

export const lwfEntry: StrategyEntry = {
  name: 'lwf',
  summary: 'Learning without Forgetting: distil the old heads’ answers on the new data',
  needsOldData: false,
  options: [
    ...stepOptionList,
    {
      name: 'lambda',
      kind: 'number',
      description: `λo, weight of the old tasks' distillation term (default ${lwfDefaults.lambda})`,
    },
    {
      name: 'temperature',
      kind: 'number',
      description: `distillation temperature T (default ${lwfDefaults.temperature})`,
    },
    {
      name: 'warmupEpochs',
      kind: 'integer',
      description: `epochs training only the new head before the rest (default ${lwfDefaults.warmupEpochs})`,
    },
  ],
  create: (o) => lwf(o as LwfOptions),
};
