import * as tf from '@tensorflow/tfjs';
import { ModelError, OptionError, PersistenceError } from '../errors.js';
import type { Learner } from '../model/learner.js';
import {
  attachMasks,
  binarizer,
  bitsTensor,
  InferenceKernels,
  maskableSizes,
  maskSize,
  packBits,
  unpackBits,
  type KernelTransform,
  type MaskAttachment,
} from '../model/masked.js';
import { headIndex } from '../scenarios/types.js';
import { stepOptions } from '../train/optimizers.js';
import type { StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import { flagOption, stepOptionList, type StrategyEntry } from './entry.js';
import { scoreDefaults } from './piggyback.js';

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
  /**
   * What the weights a task releases hold when the next task starts training them: 'zero' (the paper's:
   * pruned to 0) or 'keep' (the values the releasing task trained, which it no longer uses). Default 'zero'.
   */
  released?: Released;
  /**
   * Each task after the first learns which of the earlier tasks' weights it uses: a binary mask over
   * them, trained as Piggyback's (real-valued scores cut at 5e-3, straight-through gradients) while the
   * free weights train as usual, and kept as bits. Off by default: a task uses every earlier weight.
   */
  pick?: boolean;
}

/** What released weights start the next task from. */
export type Released = 'zero' | 'keep';
const releasedChoices: readonly Released[] = ['zero', 'keep'];

/** PackNet, with what it can tell about the weights it hands out. */
export interface PacknetStrategy extends Strategy {
  /** Binds the strategy to `learner` (done by the first task, or by loading a saved learner). */
  attach(learner: Learner): void;
  /** The fraction of maskable weights no task owns yet. */
  freeFraction(): number;
  /** Per masked layer, each weight's owner: 0 when free, t + 1 when task t owns it. */
  owners(): readonly Uint8Array[];
  /**
   * With `pick`: per task, per masked layer, 1 where the task uses a weight an earlier task owns (one
   * byte per weight); null for a task that uses every earlier weight (the first, or without `pick`).
   */
  picked(): (Uint8Array[] | null)[];
  dispose(): void;
}

/** Owner values fit a byte: 0 is free, 1..255 are tasks 0..254. */
const maxTasks = 255;

function checkOptions(
  pruneRatio: number,
  retrainEpochs: number,
  distillEpochs: number,
  released: string,
  pick: unknown,
): void {
  if (!releasedChoices.includes(released as Released)) {
    throw new OptionError(`released must be one of: ${releasedChoices.join(', ')}; got '${released}'`);
  }
  if (typeof pick !== 'boolean') throw new OptionError(`pick is true or false; got ${String(pick)}`);
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
 * (and are checked unchanged); then the smallest `pruneRatio` of them are released (set to 0, or left
 * as trained with `released: 'keep'`) and the kept ones briefly retrained. Inference for task t uses
 * only weights owned by tasks 0..t (with `pick`, only the earlier ones task t chose), so old tasks
 * give exactly what they gave. Biases and normalisation are trained on the first task only. Needs
 * the task setting: the task picks the weights.
 *
 * ```ts
 * const strategy = packnet({ pruneRatio: 0.75, released: 'keep', pick: true });
 * await train(learner, scenario, strategy, { epochs: 2 });
 * ```
 */
export function packnet(options: PacknetOptions = {}): PacknetStrategy {
  const pruneRatio = options.pruneRatio ?? 0.5;
  const retrainEpochs = options.retrainEpochs ?? 1;
  const distillEpochs = options.distillEpochs ?? 1;
  const released = options.released ?? 'zero';
  const pick = options.pick ?? false;
  checkOptions(pruneRatio, retrainEpochs, distillEpochs, released, pick);
  const binarize = binarizer(scoreDefaults.threshold);
  /** While an adopted task is distilled: its heads' soft answers on the new task's inputs, before pruning. */
  let distilled: { heads: number[]; targets: tf.Tensor2D[] } | null = null;
  let learner: Learner | undefined;
  let attachment: MaskAttachment | undefined;
  let owner: Uint8Array[] = [];
  /** Per task, per masked layer: the earlier tasks' weights it picked, as bits (null: all of them). */
  let picks: (Uint8Array[] | null)[] = [];
  let tasksDone = 0;
  /** While a task trains: the kernel each masked layer computes with, its gradient on trained weights only. */
  let training: (KernelTransform | null)[] | null = null;
  /** The masks `training` uses, freed when it ends. */
  let trainingMasks: tf.Tensor[] = [];
  /** With `pick`, while a task trains: its real-valued scores over the earlier tasks' weights. */
  let scores: tf.Variable[] = [];
  /** At the start of a task (t ≥ 1): every trunk weight, to check the owned and frozen ones after it. */
  let before: Float32Array[] = [];
  const inference = new InferenceKernels();
  let stateTensors: tf.Tensor[] = [];

  const layers = () => attachment?.layers ?? [];

  /**
   * 1 where task `task` uses a weight of masked layer `i`: its own, and those of tasks 0..task − 1 (only
   * the ones it picked, when it picked).
   */
  function usedMask(task: number, i: number): Float32Array {
    const own = owner[i];
    const mask = new Float32Array(own.length);
    const picked = picks[task];
    if (picked) {
      const chosen = unpackBits(picked[i], own.length);
      for (let j = 0; j < own.length; j++) mask[j] = own[j] === task + 1 || chosen[j] === 1 ? 1 : 0;
      return mask;
    }
    // Owner → 0/1 by table: owners 1..task + 1 are in, free (0) and later tasks are out.
    const used = new Float32Array(256);
    used.fill(1, 1, task + 2);
    for (let j = 0; j < own.length; j++) mask[j] = used[own[j]];
    return mask;
  }

  /** Each masked layer's kernel as task `task` computes with it: W ⊙ M_task. */
  function inferenceKernels(task: number): tf.Tensor[] {
    return layers().map((layer, i) => {
      const kernel = layer.maskedWeight.read();
      return tf.mul(kernel, tf.tensor(usedMask(task, i), kernel.shape));
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

  /** A mask tensor of masked layer `i`: 1 where `where` holds for the weight's owner. */
  function ownerMask(i: number, where: (owner: number) => boolean): tf.Tensor {
    const mask = Float32Array.from(owner[i], (o) => (where(o) ? 1 : 0));
    return tf.tensor(mask, layers()[i].maskedWeight.shape as number[]);
  }

  /**
   * From now on training passes compute with W ⊙ uses(i) (W itself without `uses`), and only weights
   * whose owner `trains` holds for get gradients. Returns those weights' masks (kept until training ends).
   */
  function setTraining(trains: (owner: number) => boolean, uses?: (i: number) => tf.Tensor): tf.Tensor[] {
    endTraining();
    const trained = layers().map((_, i) => ownerMask(i, trains));
    trainingMasks.push(...trained);
    training = trained.map((mask, i) => {
      const onlyTrained = gradientMasked(mask);
      if (uses === undefined) return onlyTrained;
      return (kernel) => tf.mul(onlyTrained(kernel), uses(i));
    });
    return trained;
  }

  /** Training passes compute with task `task`'s own kernels (W ⊙ M_task), training the weights it owns. */
  function setRetraining(task: number): void {
    const used = layers().map((layer, i) =>
      tf.tensor(usedMask(task, i), layer.maskedWeight.shape as number[]),
    );
    setTraining(
      (o) => o === task + 1,
      (i) => used[i],
    );
    trainingMasks.push(...used);
  }

  function endTraining(): void {
    tf.dispose(trainingMasks);
    trainingMasks = [];
    training = null;
    inference.forget();
  }

  function dropScores(): void {
    tf.dispose(scores);
    scores = [];
  }

  /**
   * Task `task` (≥ 1) starts picking: a score per weight, every one above the cut (the task starts from
   * all the earlier weights), and training passes compute with W ⊙ (F + O ⊙ [s > threshold]), F the
   * free weights (trained), O those of tasks 0..task − 1 (never trained).
   */
  function startPicking(task: number): void {
    dropScores();
    scores = tf.tidy(() =>
      layers().map((layer) =>
        tf.variable(tf.fill(layer.maskedWeight.shape as number[], scoreDefaults.maskInit), true),
      ),
    );
    const old = layers().map((_, i) => ownerMask(i, (o) => o !== 0 && o <= task));
    // F + O ⊙ binarize(s): the free weights, and the earlier ones the scores pick.
    const free = setTraining(
      (o) => o === 0,
      (i) => tf.add(free[i], tf.mul(old[i], binarize(scores[i]))),
    );
    trainingMasks.push(...old);
  }

  /** Ends task `task`'s picking: keeps, as bits, the earlier weights whose score is above the cut. */
  function keepPicks(task: number): void {
    if (scores.length === 0) {
      picks[task] = null;
      return;
    }
    // Compare as the forward pass did: against the threshold in float32.
    const cut = Math.fround(scoreDefaults.threshold);
    picks[task] = scores.map((s, i) => {
      const values = s.dataSync();
      const own = owner[i];
      const chosen = new Uint8Array(values.length);
      for (let j = 0; j < values.length; j++)
        chosen[j] = own[j] !== 0 && own[j] <= task && values[j] > cut ? 1 : 0;
      return packBits(chosen);
    });
    dropScores();
  }

  function dropState(): void {
    tf.dispose(stateTensors);
    stateTensors = [];
  }

  function variables(ctx: TaskContext): tf.Variable[] {
    const head = headIndex(ctx.learner.layout, ctx.task);
    if (ctx.task === 0) return ctx.learner.trainableVariables([head]);
    const kernels = layers().map((l) => l.maskedWeight.read() as tf.Variable);
    const headWeights = ctx.learner.heads[head].trainableWeights.map((w) => w.read() as tf.Variable);
    return [...kernels, ...headWeights, ...scores];
  }

  /**
   * Releases the weights of masked layer `i` at `indices`: with `released: 'zero'`, as the paper, sets
   * them to 0; with 'keep' leaves them as trained (no task uses them until one trains them again).
   */
  function release(i: number, indices: readonly number[]): void {
    if (released === 'keep' || indices.length === 0) return;
    const variable = layers()[i].maskedWeight;
    const values = variable.read().dataSync().slice() as Float32Array;
    for (const j of indices) values[j] = 0;
    tf.tidy(() => {
      variable.write(tf.tensor(values, variable.shape as number[]));
    });
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
    layers().forEach((layer, i) => {
      const values = layer.maskedWeight.read().dataSync() as Float32Array;
      const total = owner[i].length;
      release(i, assignLargest(values, owner[i], total - Math.round(total * pruneRatio), 0));
    });
    while (picks.length < ctx.task) picks.push(null);
    tasksDone = ctx.task;
    inference.forget();
    if (distilled === null) return;
    // The adopted tasks compute with their own weights only (owner 1), and train them.
    setRetraining(0);
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
    options: {
      ...stepOptions(options),
      pruneRatio,
      retrainEpochs,
      distillEpochs,
      released,
      pick: pick ? 1 : 0,
    },

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
      const misfit = picks.findIndex(
        (p) =>
          p !== null && (p.length !== sizes.length || p.some((b, i) => b.length !== Math.ceil(sizes[i] / 8))),
      );
      if (misfit >= 0) {
        attached.detach();
        throw new PersistenceError(
          `the saved PackNet picks of task ${misfit + 1} do not fit the trunk's masked layers; the save is damaged ` +
            'or mixes files of different saves: save again',
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
      // The first task trains every weight; later ones only the free weights (picking among the old).
      dropScores();
      if (ctx.task === 0) {
        endTraining();
        training = layers().map(() => null);
      } else if (pick) startPicking(ctx.task);
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
      keepPicks(ctx.task);
      // Prune: keep the largest (1 − pruneRatio) of the free weights for this task; release the rest.
      layers().forEach((layer, i) => {
        const values = layer.maskedWeight.read().dataSync() as Float32Array;
        const freeCount = owner[i].reduce((n, o) => n + (o === 0 ? 1 : 0), 0);
        const keep = freeCount - Math.round(freeCount * pruneRatio);
        release(i, assignLargest(values, owner[i], keep, ctx.task));
      });
      if (retrainEpochs > 0) {
        // Retraining sees the task's weights as its inference will (the released ones out).
        setRetraining(ctx.task);
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

    picked: () => picks.map((p) => p?.map((bits, i) => unpackBits(bits, owner[i].length)) ?? null),

    // A byte per weight for its owner, and a bit per weight for each task that picked.
    memoryBytes: () =>
      owner.reduce((n, o) => n + o.length, 0) +
      picks.reduce((n, p) => n + (p ?? []).reduce((k, bits) => k + bits.length, 0), 0),

    state(): StrategyState {
      // The tensors stay until the owners or picks change (the next task, load or dispose).
      const names = [
        ...owner.map((_, i) => `owner/${i}`),
        ...picks.flatMap((p, t) => (p ?? []).map((_, i) => `picked/${t}/${i}`)),
      ];
      if (stateTensors.length !== names.length) {
        dropState();
        stateTensors = owner.map((o) => tf.tensor1d(Int32Array.from(o), 'int32'));
        picks.forEach((p) => p?.forEach((bits, i) => stateTensors.push(bitsTensor(bits, owner[i].length))));
      }
      const tensors: Record<string, tf.Tensor> = {};
      names.forEach((name, k) => (tensors[name] = stateTensors[k]));
      const picked = picks.flatMap((p, t) => (p === null ? [] : [t]));
      return { values: { tasksDone, layers: layers().map((l) => l.name), picked }, tensors };
    },

    load(state: StrategyState) {
      const count = Object.keys(state.tensors).filter((name) => name.startsWith('owner/')).length;
      const lacks = (name: string) =>
        new PersistenceError(`the saved PackNet state lacks ${name}; the save is damaged: save again`);
      owner = Array.from({ length: count }, (_, i) => {
        const t = state.tensors[`owner/${i}`];
        if (t === undefined) throw lacks(`owner/${i}`);
        return Uint8Array.from(t.dataSync());
      });
      tasksDone = Number(state.values.tasksDone ?? 0);
      const picked = new Set((state.values.picked as number[] | undefined) ?? []);
      picks = Array.from({ length: tasksDone }, (_, t) => {
        if (!picked.has(t)) return null;
        return owner.map((_, i) => {
          const mask = state.tensors[`picked/${t}/${i}`];
          if (mask === undefined) throw lacks(`picked/${t}/${i}`);
          return packBits(mask.dataSync());
        });
      });
      inference.forget();
      dropState();
    },

    dispose() {
      endTraining();
      dropScores();
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
    {
      name: 'released',
      kind: 'choice',
      choices: releasedChoices,
      description:
        "what the weights a task releases start the next task from: zero (the paper's) or keep (their trained values) (default zero)",
    },
    {
      name: 'pick',
      kind: 'flag',
      description:
        "each task after the first learns a binary mask choosing which earlier tasks' weights it uses (default off: all of them)",
    },
  ],
  create: (o) => packnet({ ...(o as PacknetOptions), pick: flagOption(o, 'pick') }),
};
