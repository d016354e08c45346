import * as tf from '@tensorflow/tfjs';
import { ModelError, OptionError, PersistenceError } from '../errors.js';
import type { Learner } from '../model/learner.js';
import {
  attachMasks,
  InferenceKernels,
  maskableSizes,
  maskSize,
  type KernelTransform,
  type MaskAttachment,
} from '../model/masked.js';
import { headIndex } from '../scenarios/types.js';
import { stepOptions } from '../train/optimizers.js';
import type { StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';

export interface PacknetOptions extends StepOptions {
  /**
   * The fraction of a task's trained free weights released (pruned, by smallest magnitude) for later
   * tasks. Default 0.5; the paper uses 0.5–0.75.
   */
  pruneRatio?: number;
  /** Epochs of retraining the kept weights after pruning. Default 1. */
  retrainEpochs?: number;
  /**
   * For tasks the learner had before PackNet saw it (a trained model's own classifier, whose data is
   * gone): after pruning them by magnitude, epochs retraining their kept weights to give the answers
   * they gave before pruning, on the new task's inputs (distillation, temperature 2). Default 1.
   */
  distillEpochs?: number;
}

/** PackNet, with what it can tell about the weights it hands out. */
export interface PacknetStrategy extends Strategy {
  /** Binds the strategy to `learner` (done by the first task, or by loading a saved learner). */
  attach(learner: Learner): void;
  /** The fraction of maskable weights no task owns yet. */
  freeFraction(): number;
  /** Per masked layer, each weight's owner: 0 when free, t + 1 when task t owns it. */
  owners(): readonly Uint8Array[];
  dispose(): void;
}

/** Owner values fit a byte: 0 is free, 1..255 are tasks 0..254. */
const maxTasks = 255;

function checkOptions(pruneRatio: number, retrainEpochs: number, distillEpochs: number): void {
  if (!Number.isInteger(distillEpochs) || distillEpochs < 0) {
    throw new OptionError(`distillEpochs must be a whole number ≥ 0; got ${distillEpochs}`);
  }
  if (!(pruneRatio > 0 && pruneRatio < 1)) {
    throw new OptionError(
      `pruneRatio must be between 0 and 1 (the fraction released per task); got ${pruneRatio}`,
    );
  }
  if (!Number.isInteger(retrainEpochs) || retrainEpochs < 0) {
    throw new OptionError(`retrainEpochs must be a whole number ≥ 0; got ${retrainEpochs}`);
  }
}

/** A kernel passed through unchanged, whose gradient only reaches the weights where `mask` is 1. */
function gradientMasked(mask: tf.Tensor): KernelTransform {
  const f = tf.customGrad((...inputs) => ({
    value: tf.clone(inputs[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => [tf.mul(dy, mask)],
  }));
  return (kernel) => f(kernel);
}

/**
 * Keeps the `keep` largest-magnitude weights among the free ones (owner 0): they become task
 * `task`'s (owner task + 1). Ties at the cut go to the lower indices. Returns the released indices.
 */
function assignLargest(kernel: Float32Array, owner: Uint8Array, keep: number, task: number): number[] {
  const magnitudes: number[] = [];
  for (let i = 0; i < owner.length; i++) if (owner[i] === 0) magnitudes.push(Math.abs(kernel[i]));
  const sorted = Float32Array.from(magnitudes).sort();
  const cut = keep > 0 ? sorted[sorted.length - keep] : Infinity;
  let above = 0;
  for (const m of magnitudes) if (m > cut) above++;
  let ties = keep - above;
  const released: number[] = [];
  for (let i = 0; i < owner.length; i++) {
    if (owner[i] !== 0) continue;
    const m = Math.abs(kernel[i]);
    if (m > cut || (m === cut && ties-- > 0)) owner[i] = task + 1;
    else released.push(i);
  }
  return released;
}

/**
 * PackNet (Mallya & Lazebnik, 2018): each weight of the trunk's Dense and Conv2D layers belongs to at
 * most one task. Task t trains the free weights, while weights owned by earlier tasks get no gradient
 * (and are checked unchanged); then the smallest `pruneRatio` of them are released (set to 0) and the
 * kept ones briefly retrained. Inference for task t uses only weights owned by tasks 0..t, so old
 * tasks give exactly what they gave. Biases and normalisation are trained on the first task only.
 * Needs the task setting: the task picks the weights.
 */
export function packnet(options: PacknetOptions = {}): PacknetStrategy {
  const pruneRatio = options.pruneRatio ?? 0.5;
  const retrainEpochs = options.retrainEpochs ?? 1;
  const distillEpochs = options.distillEpochs ?? 1;
  checkOptions(pruneRatio, retrainEpochs, distillEpochs);
  /** While an adopted task is distilled: its heads' soft answers on the new task's inputs, before pruning. */
  let distilled: { heads: number[]; targets: tf.Tensor2D[] } | null = null;
  let learner: Learner | undefined;
  let attachment: MaskAttachment | undefined;
  let owner: Uint8Array[] = [];
  let tasksDone = 0;
  /** While a task trains: which weights take gradients, as one transform per masked layer. */
  let training: (KernelTransform | null)[] | null = null;
  let gradientMasks: tf.Tensor[] = [];
  /** At the start of a task (t ≥ 1): every trunk weight, to check the owned and frozen ones after it. */
  let before: Float32Array[] = [];
  const inference = new InferenceKernels();
  let stateTensors: tf.Tensor[] = [];

  const layers = () => attachment?.layers ?? [];

  /** 1 where a weight is used for task `task`: owned by tasks 0..task. */
  function inferenceKernels(task: number): tf.Tensor[] {
    // Owner → 0/1 by table: owners 1..task + 1 are in, free (0) and later tasks are out.
    const used = new Float32Array(256);
    used.fill(1, 1, task + 2);
    return layers().map((layer, i) => {
      const own = owner[i];
      const mask = new Float32Array(own.length);
      for (let j = 0; j < own.length; j++) mask[j] = used[own[j]];
      const kernel = layer.maskedWeight.read();
      return tf.mul(kernel, tf.tensor(mask, kernel.shape));
    });
  }

  function onForward(task: number, isTraining: boolean): void {
    if (isTraining && training !== null) {
      inference.forget();
      const transforms = training;
      layers().forEach((layer, i) => (layer.transform = transforms[i]));
    } else if (task < tasksDone) {
      inference.use(layers(), task, inferenceKernels);
    } else {
      // A task not learned yet sees the whole trunk: what it would start training from.
      for (const layer of layers()) layer.transform = null;
    }
  }

  function setTraining(where: (owner: number) => boolean): void {
    tf.dispose(gradientMasks);
    gradientMasks = layers().map((layer, i) => {
      const mask = Float32Array.from(owner[i], (o) => (where(o) ? 1 : 0));
      return tf.tensor(mask, layer.maskedWeight.shape as number[]);
    });
    training = gradientMasks.map(gradientMasked);
    inference.forget();
  }

  function endTraining(): void {
    tf.dispose(gradientMasks);
    gradientMasks = [];
    training = null;
    inference.forget();
  }

  function dropState(): void {
    tf.dispose(stateTensors);
    stateTensors = [];
  }

  function variables(ctx: TaskContext): tf.Variable[] {
    const head = headIndex(ctx.learner.layout, ctx.task);
    if (ctx.task === 0) return ctx.learner.trainableVariables([head]);
    const kernels = layers().map((l) => l.maskedWeight.read() as tf.Variable);
    return [...kernels, ...ctx.learner.heads[head].trainableWeights.map((w) => w.read() as tf.Variable)];
  }

  /** Throws if a weight owned by an earlier task, or a frozen bias or normalisation weight, moved. */
  function checkUnchanged(ctx: TaskContext): void {
    if (before.length === 0) return;
    const masked = new Map(layers().map((l, i) => [l.maskedWeight.read().id, i]));
    const moved: string[] = [];
    ctx.learner.trunk.weights.forEach((w, k) => {
      const now = w.read().dataSync();
      const was = before[k];
      const layer = masked.get(w.read().id);
      for (let j = 0; j < now.length; j++) {
        const kept = layer === undefined || (owner[layer][j] !== 0 && owner[layer][j] <= ctx.task);
        if (kept && !Object.is(now[j], was[j])) {
          moved.push(w.name);
          break;
        }
      }
    });
    if (moved.length > 0) {
      throw new ModelError(
        `PackNet found weights of earlier tasks changed while learning task ${ctx.task + 1} (in ${moved.join(', ')}); ` +
          'something outside the strategy trained them (a weight decay, a custom optimizer or a second strategy): train with packnet alone',
      );
    }
  }

  /** T of the adopted tasks' distillation. */
  const temperature = 2;

  /**
   * The learner had tasks 0..t−1 before PackNet saw it (a trained model's own classifier): they share
   * the whole trunk. Prune it for them as for one PackNet task (the largest weights kept, owner 1), then
   * distil their answers back into the kept weights on the new task's inputs, since their data is gone.
   */
  async function adopt(ctx: TaskContext): Promise<void> {
    const old = Array.from({ length: ctx.task }, (_, t) => t);
    const data = ctx.scenario.tasks[ctx.task].train;
    if (distillEpochs > 0) {
      const size = data.inputs.length / Math.max(1, data.shape[0]);
      const targets = old.map((t) => {
        const parts: tf.Tensor2D[] = [];
        for (let start = 0; start < data.shape[0]; start += 512) {
          const count = Math.min(512, data.shape[0] - start);
          parts.push(
            tf.tidy(() => {
              const x = tf.tensor(data.inputs.subarray(start * size, (start + count) * size), [
                count,
                ...data.shape.slice(1),
              ]);
              return tf.softmax(ctx.learner.logits(x, t, ctx.task - 1).div(temperature)) as tf.Tensor2D;
            }),
          );
        }
        const all = tf.concat(parts, 0) as tf.Tensor2D;
        tf.dispose(parts);
        return all;
      });
      distilled = { heads: old, targets };
    }
    tf.tidy(() => {
      layers().forEach((layer, i) => {
        const variable = layer.maskedWeight;
        const values = variable.read().dataSync().slice() as Float32Array;
        const total = owner[i].length;
        const released = assignLargest(values, owner[i], total - Math.round(total * pruneRatio), 0);
        for (const j of released) values[j] = 0;
        variable.write(tf.tensor(values, variable.shape as number[]));
      });
    });
    tasksDone = ctx.task;
    inference.forget();
    if (distilled === null) return;
    setTraining((o) => o === 1);
    try {
      const kernels = layers().map((l) => l.maskedWeight.read() as tf.Variable);
      await ctx.fit({ name: 'distil', epochs: distillEpochs, variables: kernels, classification: false });
    } finally {
      endTraining();
      tf.dispose(distilled.targets);
      distilled = null;
    }
  }

  const strategy: PacknetStrategy = {
    name: 'packnet',
    needsOldData: false,
    settings: ['task'],
    options: { ...stepOptions(options), pruneRatio, retrainEpochs, distillEpochs },

    attach(target: Learner) {
      if (learner === target) return;
      if (learner !== undefined) {
        throw new OptionError('this packnet strategy already serves another learner; create one per learner');
      }
      const attached = attachMasks(target, onForward);
      const sizes = attached.layers.map(maskSize);
      if (
        owner.length > 0 &&
        (owner.length !== sizes.length || owner.some((o, i) => o.length !== sizes[i]))
      ) {
        attached.detach();
        throw new PersistenceError(
          `the saved PackNet owner arrays (${owner.map((o) => o.length).join(', ')} weights) do not fit the trunk's ` +
            `masked layers (${sizes.join(', ')}); the save is damaged or mixes files of different saves: save again`,
        );
      }
      if (owner.length === 0) owner = sizes.map((n) => new Uint8Array(n));
      learner = target;
      attachment = attached;
    },

    checkPlan(target: Learner, tasks: number) {
      if (tasks > maxTasks) {
        throw new OptionError(
          `packnet keeps at most ${maxTasks} tasks (one byte per weight names its task); got ${tasks}`,
        );
      }
      // Each task keeps the largest (1 − pruneRatio) of the free weights and releases the rest: after
      // t tasks, round(round(n · r) · r)… remain free, and every task needs some.
      if (owner.length > 0) return; // a loaded strategy: prepareTask checks each task
      for (const { name, size } of maskableSizes(target.trunk)) {
        let free = size;
        for (let t = 0; t < tasks; t++) {
          if (free === 0) {
            throw new OptionError(
              `no free weights remain in ${name} after ${t} tasks (${size} weights, pruneRatio ${pruneRatio}), so packnet cannot ` +
                `learn task ${t + 1} of ${tasks}; use a higher pruneRatio (now ${pruneRatio}) so each task releases more weights, ` +
                'fewer tasks, or a wider trunk (checked before any training)',
            );
          }
          free = Math.round(free * pruneRatio);
        }
      }
    },

    async prepareTask(ctx: TaskContext) {
      if (ctx.learner.setting !== 'task') {
        throw new OptionError(
          `packnet picks each task's weights by the task's identity, so it needs the task setting; the learner is ${ctx.learner.setting}-incremental: use --setting task`,
        );
      }
      strategy.attach(ctx.learner);
      if (ctx.task >= maxTasks) {
        throw new OptionError(`packnet keeps at most ${maxTasks} tasks (one byte per weight names its task)`);
      }
      if (ctx.task > 0) {
        const full = layers().filter((_, i) => !owner[i].includes(0));
        if (full.length > 0) {
          throw new OptionError(
            `no free weights remain in ${full.map((l) => l.name).join(', ')} after ${ctx.task} tasks, so packnet cannot ` +
              `learn task ${ctx.task + 1}; use a higher pruneRatio (now ${pruneRatio}) so each task releases more weights, ` +
              'or a wider trunk',
          );
        }
        if (tasksDone < ctx.task) await adopt(ctx);
        before = ctx.learner.trunk.weights.map((w) => w.read().dataSync().slice() as Float32Array);
      }
      // The first task trains every weight; later ones only the free weights.
      if (ctx.task === 0) training = layers().map(() => null);
      else setTraining((o) => o === 0);
    },

    trainableVariables: variables,

    extraLoss(ctx: TaskContext, batch) {
      if (distilled === null) return undefined;
      // T² · KL-free distillation: −T² Σ_j y'_j log ŷ'_j, averaged over examples and adopted tasks.
      const rows = tf.tensor1d(batch.indices, 'int32');
      const { heads, targets } = distilled;
      let total: tf.Scalar | undefined;
      heads.forEach((t, k) => {
        const now = ctx.learner.headLogits(batch.features, t, t);
        const y = tf.gather(targets[k], rows);
        const term = tf.sum(tf.mul(y, tf.logSoftmax(now.div(temperature)))) as tf.Scalar;
        total = total ? (total.add(term) as tf.Scalar) : term;
      });
      const scale = (-temperature * temperature) / (batch.indices.length * heads.length);
      return (total as tf.Scalar).mul(scale) as tf.Scalar;
    },

    async finishTask(ctx: TaskContext) {
      endTraining();
      dropState();
      // Prune: keep the largest (1 − pruneRatio) of the free weights for this task; zero the rest.
      tf.tidy(() => {
        layers().forEach((layer, i) => {
          const variable = layer.maskedWeight;
          const values = variable.read().dataSync().slice() as Float32Array;
          const freeCount = owner[i].reduce((n, o) => n + (o === 0 ? 1 : 0), 0);
          const released = assignLargest(
            values,
            owner[i],
            freeCount - Math.round(freeCount * pruneRatio),
            ctx.task,
          );
          for (const j of released) values[j] = 0;
          variable.write(tf.tensor(values, variable.shape as number[]));
        });
      });
      if (retrainEpochs > 0) {
        setTraining((o) => o === ctx.task + 1);
        try {
          await ctx.fit({ name: 'retrain', epochs: retrainEpochs, variables: variables(ctx) });
        } finally {
          endTraining();
        }
      }
      checkUnchanged(ctx);
      before = [];
      tasksDone = ctx.task + 1;
    },

    afterStep() {
      // Any non-trainable trunk state (batch-norm moving statistics) stays as the first task left it.
      if (before.length === 0 || learner === undefined) return;
      const trunk = learner.trunk;
      tf.tidy(() => {
        for (const w of trunk.nonTrainableWeights) {
          w.write(tf.tensor(before[trunk.weights.indexOf(w)], w.shape as number[]));
        }
      });
    },

    freeFraction() {
      const total = owner.reduce((n, o) => n + o.length, 0);
      const freeCount = owner.reduce((n, o) => n + o.reduce((m, v) => m + (v === 0 ? 1 : 0), 0), 0);
      return total === 0 ? 1 : freeCount / total;
    },

    owners: () => owner,

    memoryBytes: () => owner.reduce((n, o) => n + o.length, 0),

    state(): StrategyState {
      // The tensors stay until the owners change (the next task, load or dispose).
      if (stateTensors.length !== owner.length) {
        dropState();
        stateTensors = owner.map((o) => tf.tensor1d(Int32Array.from(o), 'int32'));
      }
      const tensors: Record<string, tf.Tensor> = {};
      stateTensors.forEach((t, i) => (tensors[`owner/${i}`] = t));
      return { values: { tasksDone, layers: layers().map((l) => l.name) }, tensors };
    },

    load(state: StrategyState) {
      const count = Object.keys(state.tensors).length;
      owner = Array.from({ length: count }, (_, i) => {
        const t = state.tensors[`owner/${i}`];
        if (t === undefined)
          throw new PersistenceError(
            `the saved PackNet state lacks owner/${i}; the save is damaged: save again`,
          );
        return Uint8Array.from(t.dataSync());
      });
      tasksDone = Number(state.values.tasksDone ?? 0);
      inference.forget();
      dropState();
    },

    dispose() {
      endTraining();
      dropState();
      attachment?.detach();
      attachment = undefined;
      learner = undefined;
    },
  };
  return strategy;
}

export const packnetEntry: StrategyEntry = {
  name: 'packnet',
  summary: 'PackNet: each task owns the weights it kept after pruning; old tasks stay exact (task setting)',
  needsOldData: false,
  options: [
    ...stepOptionList,
    {
      name: 'pruneRatio',
      kind: 'number',
      description: "fraction of a task's free weights released for later tasks (default 0.5)",
    },
    {
      name: 'retrainEpochs',
      kind: 'integer',
      description: 'epochs retraining the kept weights after pruning (default 1)',
    },
    {
      name: 'distillEpochs',
      kind: 'integer',
      description:
        "for an adopted model's own task (no data): epochs distilling its answers back after pruning it, on the new task's inputs (default 1)",
    },
  ],
  create: (o) => packnet(o as PacknetOptions),
};
