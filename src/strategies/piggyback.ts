import * as tf from '@tensorflow/tfjs';
import { ModelError, OptionError, PersistenceError } from '../errors.js';
import type { Learner } from '../model/learner.js';
import {
  attachMasks,
  binarizer,
  bitsTensor,
  InferenceKernels,
  maskSize,
  packBits,
  unpackBits,
  type MaskAttachment,
} from '../model/masked.js';
import { headIndex } from '../scenarios/types.js';
import { stepOptions } from '../train/optimizers.js';
import type { StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';

export interface PiggybackOptions extends StepOptions {
  /** A weight is used where its real-valued mask score is above this. Default 5e-3. */
  threshold?: number;
  /** The value every mask score starts at (above the threshold: a task starts from the whole trunk). Default 1e-2. */
  maskInit?: number;
}

/** Piggyback, with what it can tell about its masks. */
export interface PiggybackStrategy extends Strategy {
  /** Binds the strategy to `learner` (done by the first task, or by loading a saved learner). */
  attach(learner: Learner): void;
  /** For each task learned with a mask, the fraction of the maskable weights it uses; null when it used the whole trunk. */
  keptFractions(): (number | null)[];
  dispose(): void;
}

/** Piggyback's mask scores by default: where a weight's cut lies, and where every score starts (above it). */
export const scoreDefaults = { threshold: 5e-3, maskInit: 1e-2 } as const;

/**
 * Piggyback (Mallya, Davis & Lazebnik, 2018): the trunk stays frozen, as the first task trained it (or
 * as it came, when pretrained). Each later task learns a real-valued score per weight of the trunk's
 * Dense and Conv2D layers, binarised by `threshold` in the forward pass (W ⊙ [s > threshold]) and
 * trained through the straight-through estimator, together with its own head. After training, the mask
 * is kept as bits, one per weight per task; inference for task t applies mask t, so old tasks give
 * exactly what they gave. Needs the task setting: the task picks the mask.
 */
export function piggyback(options: PiggybackOptions = {}): PiggybackStrategy {
  const threshold = options.threshold ?? scoreDefaults.threshold;
  const maskInit = options.maskInit ?? scoreDefaults.maskInit;
  if (!Number.isFinite(threshold)) throw new OptionError(`threshold must be a number; got ${threshold}`);
  if (!Number.isFinite(maskInit)) throw new OptionError(`maskInit must be a number; got ${maskInit}`);
  if (!(maskInit > threshold)) {
    throw new OptionError(
      `maskInit (${maskInit}) must be above threshold (${threshold}), so that each task starts from the whole trunk`,
    );
  }
  const binarize = binarizer(threshold);
  let learner: Learner | undefined;
  let attachment: MaskAttachment | undefined;
  let sizes: number[] = [];
  /** Per task: its masks as bits (one array per masked layer), or null when it used the whole trunk. */
  let masks: (Uint8Array[] | null)[] = [];
  /** The mask scores of the task being learned (empty when it trains the trunk itself). */
  let scores: tf.Variable[] = [];
  let trunkBefore: Float32Array[] = [];
  const inference = new InferenceKernels();
  let stateTensors: tf.Tensor[] = [];

  const layers = () => attachment?.layers ?? [];

  function inferenceKernels(task: number): tf.Tensor[] {
    const bits = masks[task] as Uint8Array[];
    return layers().map((layer, i) => {
      const kernel = layer.maskedWeight.read();
      const mask = new Float32Array(unpackBits(bits[i], sizes[i]));
      return tf.mul(kernel, tf.tensor(mask, kernel.shape));
    });
  }

  function onForward(task: number, training: boolean): void {
    if (training && scores.length > 0) {
      inference.forget();
      layers().forEach((layer, i) => {
        const s = scores[i];
        // W ⊙ binarize(s): the kernel as the task's mask sees it.
        layer.transform = (kernel) => tf.mul(kernel, binarize(s));
      });
    } else if (masks[task]) {
      inference.use(layers(), task, inferenceKernels);
    } else {
      for (const layer of layers()) layer.transform = null;
    }
  }

  function dropState(): void {
    tf.dispose(stateTensors);
    stateTensors = [];
  }

  const strategy: PiggybackStrategy = {
    name: 'piggyback',
    needsOldData: false,
    settings: ['task'],
    options: { ...stepOptions(options), threshold, maskInit },

    attach(target: Learner) {
      if (learner === target) return;
      if (learner !== undefined) {
        throw new OptionError(
          'this piggyback strategy already serves another learner; create one per learner',
        );
      }
      const attached = attachMasks(target, onForward);
      const layerSizes = attached.layers.map(maskSize);
      const saved = masks.find((m) => m !== null);
      if (
        saved &&
        (saved.length !== layerSizes.length ||
          saved.some((b, i) => b.length !== Math.ceil(layerSizes[i] / 8)))
      ) {
        attached.detach();
        throw new PersistenceError(
          "the saved Piggyback masks do not fit the trunk's masked layers; the save is damaged or mixes files of different saves: save again",
        );
      }
      sizes = layerSizes;
      learner = target;
      attachment = attached;
    },

    prepareTask(ctx: TaskContext) {
      if (ctx.learner.setting !== 'task') {
        throw new OptionError(
          `piggyback picks each task's mask by the task's identity, so it needs the task setting; the learner is ${ctx.learner.setting}-incremental: use --setting task`,
        );
      }
      strategy.attach(ctx.learner);
      // Tasks the learner had before piggyback saw it (a trained model's own classifier) use the whole trunk.
      while (masks.length < ctx.task) masks.push(null);
      inference.forget();
      tf.dispose(scores);
      scores = [];
      // The first task trains the trunk itself, unless it came pretrained.
      if (ctx.task === 0 && !ctx.learner.pretrained) return;
      trunkBefore = ctx.learner.trunk.weights.map((w) => w.read().dataSync().slice() as Float32Array);
      scores = tf.tidy(() =>
        layers().map((layer) => tf.variable(tf.fill(layer.maskedWeight.shape as number[], maskInit), true)),
      );
    },

    trainableVariables(ctx: TaskContext) {
      const head = headIndex(ctx.learner.layout, ctx.task);
      if (scores.length === 0) return ctx.learner.trainableVariables([head]);
      return [...scores, ...ctx.learner.heads[head].trainableWeights.map((w) => w.read() as tf.Variable)];
    },

    afterStep() {
      // Batch-norm moving statistics (the only trunk weights a step can move) stay as they were.
      if (trunkBefore.length === 0 || learner === undefined) return;
      const trunk = learner.trunk;
      tf.tidy(() => {
        for (const w of trunk.nonTrainableWeights) {
          w.write(tf.tensor(trunkBefore[trunk.weights.indexOf(w)], w.shape as number[]));
        }
      });
    },

    finishTask(ctx: TaskContext) {
      dropState();
      inference.forget();
      if (scores.length === 0) {
        masks[ctx.task] = null;
        return;
      }
      // Compare as the forward pass did: against the threshold in float32.
      const cut = Math.fround(threshold);
      masks[ctx.task] = scores.map((s) => {
        const values = s.dataSync();
        const bits = new Uint8Array(values.length);
        for (let j = 0; j < values.length; j++) bits[j] = values[j] > cut ? 1 : 0;
        return packBits(bits);
      });
      tf.dispose(scores);
      scores = [];
      const moved = ctx.learner.trunk.weights.filter((w, k) => {
        const now = w.read().dataSync();
        return now.some((v, j) => !Object.is(v, trunkBefore[k][j]));
      });
      trunkBefore = [];
      if (moved.length > 0) {
        throw new ModelError(
          `Piggyback found trunk weights changed while learning task ${ctx.task + 1} (${moved.map((w) => w.name).join(', ')}); ` +
            'something outside the strategy trained them: train with piggyback alone',
        );
      }
    },

    keptFractions() {
      return masks.map((m) => {
        if (!m) return null;
        const total = sizes.reduce((a, b) => a + b, 0);
        let ones = 0;
        m.forEach((bits, i) => {
          const values = unpackBits(bits, sizes[i]);
          for (const v of values) ones += v;
        });
        return ones / total;
      });
    },

    memoryBytes: () => masks.reduce((n, m) => n + (m ?? []).reduce((k, b) => k + b.length, 0), 0),

    state(): StrategyState {
      // The tensors stay until the masks change (the next task, load or dispose).
      const tensors: Record<string, tf.Tensor> = {};
      const names = masks.flatMap((m, t) => (m ?? []).map((_, i) => `mask/${t}/${i}`));
      if (stateTensors.length !== names.length) {
        dropState();
        masks.forEach((m) => m?.forEach((bits, i) => stateTensors.push(bitsTensor(bits, sizes[i]))));
      }
      names.forEach((name, k) => (tensors[name] = stateTensors[k]));
      const wholeTrunk = masks.flatMap((m, t) => (m === null ? [t] : []));
      return { values: { tasks: masks.length, wholeTrunk, layers: layers().length }, tensors };
    },

    load(state: StrategyState) {
      const tasks = Number(state.values.tasks ?? 0);
      const layerCount = Number(state.values.layers ?? 0);
      const wholeTrunk = new Set((state.values.wholeTrunk as number[] | undefined) ?? []);
      masks = Array.from({ length: tasks }, (_, t) => {
        if (wholeTrunk.has(t)) return null;
        return Array.from({ length: layerCount }, (_, i) => {
          const mask = state.tensors[`mask/${t}/${i}`];
          if (mask === undefined) {
            throw new PersistenceError(
              `the saved Piggyback state lacks mask/${t}/${i}; the save is damaged: save again`,
            );
          }
          return packBits(mask.dataSync());
        });
      });
      inference.forget();
      dropState();
    },

    dispose() {
      inference.forget();
      dropState();
      tf.dispose(scores);
      scores = [];
      attachment?.detach();
      attachment = undefined;
      learner = undefined;
    },
  };
  return strategy;
}

export const piggybackEntry: StrategyEntry = {
  name: 'piggyback',
  summary: 'Piggyback: a frozen trunk and a learned binary weight mask per task (task setting)',
  needsOldData: false,
  options: [
    ...stepOptionList,
    {
      name: 'threshold',
      kind: 'number',
      description: 'mask scores above it keep their weight (default 5e-3)',
    },
    { name: 'maskInit', kind: 'number', description: 'starting value of every mask score (default 1e-2)' },
  ],
  create: (o) => piggyback(o as PiggybackOptions),
};
