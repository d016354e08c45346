import * as tf from '@tensorflow/tfjs';
import { exampleCount, exampleSize } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { taskTargets } from '../scenarios/types.js';
import { stepOptions } from '../train/optimizers.js';
import type {
  Batch,
  Replayed,
  StepOptions,
  Strategy,
  StrategyState,
  TaskContext,
} from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';
import { itemsOf, makeRoom, offer, reservoir, type Reservoir } from './reservoir.js';

export interface ReplayOptions extends StepOptions {
  /** Examples kept in all, over every task learned. Default 1100 (Hsu et al. 2018's budget on split MNIST). */
  memory?: number;
  /** Memory examples added to each batch of a new task. Default 0: as many as the batch's own. */
  replayBatch?: number;
  /**
   * α, the weight of DER++'s logit term (Buzzega et al. 2020): the memory keeps the network's logits on
   * each stored example too, and later tasks pull today's logits towards them. Default 0: plain replay.
   */
  alpha?: number;
}

export const replayDefaults = { memory: 1100, replayBatch: 0, alpha: 0 };

/** One stored example. */
interface Kept {
  task: number;
  target: number;
  input: Float32Array;
  /** The logits of its task's outputs when it was stored (DER++ only). */
  logits: Float32Array | null;
}

/** What replay reports beyond the Strategy interface (for tests). */
export interface ReplayStrategy extends Strategy {
  /** How many examples the memory keeps of each (task, target) class, e.g. { '0:1': 110 }. */
  counts(): Record<string, number>;
}

/**
 * Experience replay (as in Hsu et al. 2018, "Re-evaluating continual learning scenarios"; Chaudhry et
 * al. 2019): after each task, a class-balanced reservoir sample of its training examples joins a memory
 * of fixed size; every batch of a later task is the task's own examples plus as many drawn from the
 * memory, trained with the same loss. With `alpha > 0` it is DER++ (Buzzega et al. 2020): the memory
 * also keeps the logits z the network gave each example when it was stored, and the loss gains
 * `α · ‖z − h_θ(x)‖²` on the replayed examples. (Here the logits are recorded at the end of the
 * example's task, not at the step it was first seen; the label term, β = 1, is the replayed examples'
 * share of the batch's cross-entropy.) It keeps old data — the memory — but needs none given.
 *
 * ```ts
 * const r = await train(l, s, strategies.replay({ memory: 1100 }), { epochs: 4 });
 * ```
 */
export function replay(options: ReplayOptions = {}): ReplayStrategy {
  const capacity = options.memory ?? replayDefaults.memory;
  const replayBatch = options.replayBatch ?? replayDefaults.replayBatch;
  const alpha = options.alpha ?? replayDefaults.alpha;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new OptionError(`memory must be a whole number of examples ≥ 1; got ${capacity}`);
  }
  if (!Number.isInteger(replayBatch) || replayBatch < 0) {
    throw new OptionError(`replayBatch must be a whole number ≥ 0 (0: the batch size); got ${replayBatch}`);
  }
  if (!(alpha >= 0 && Number.isFinite(alpha)))
    throw new OptionError(`alpha must be a number ≥ 0; got ${alpha}`);
  let memory: Reservoir<Kept> = reservoir(capacity);
  /** The memory as a list, rebuilt after each task (its order is the slots replay draws from). */
  let slots: Kept[] = [];
  /** The memory as tensors, built by `state()` and kept until the memory changes (or `dispose`). */
  let saved: StrategyState | null = null;

  const freeSaved = () => {
    if (saved) tf.dispose(Object.values(saved.tensors));
    saved = null;
  };

  /** Stores the logits of task `task`'s head on the newly kept examples (DER++). */
  const recordLogits = (ctx: TaskContext, kept: Kept[]) => {
    for (let start = 0; start < kept.length; start += 512) {
      const part = kept.slice(start, start + 512);
      const logits = tf.tidy(() => {
        const x = tf.tensor(concat(part.map((k) => k.input)), [part.length, ...ctx.scenario.inputShape]);
        return ctx.learner.logits(x, ctx.task, ctx.task);
      });
      const values = logits.dataSync() as Float32Array;
      const width = logits.shape[1];
      logits.dispose();
      part.forEach((k, i) => (k.logits = values.slice(i * width, (i + 1) * width)));
    }
  };

  const strategy: ReplayStrategy = {
    name: 'replay',
    needsOldData: false,
    options: { ...stepOptions(options), memory: capacity, replayBatch, alpha },

    replay(ctx: TaskContext, batchSize: number): Replayed | undefined {
      const old = slots.flatMap((k, slot) => (k.task < ctx.task ? [slot] : []));
      if (old.length === 0) return undefined;
      const count = Math.min(replayBatch || batchSize, old.length);
      const size = slots[0].input.length;
      const inputs = new Float32Array(count * size);
      const tasks = new Int32Array(count);
      const targets = new Int32Array(count);
      const indices = new Int32Array(count);
      // A uniform draw without replacement: a partial Fisher–Yates shuffle of the slot numbers.
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(ctx.random() * (old.length - i));
        [old[i], old[j]] = [old[j], old[i]];
        const k = slots[old[i]];
        inputs.set(k.input, i * size);
        tasks[i] = k.task;
        targets[i] = k.target;
        indices[i] = old[i];
      }
      return { inputs, tasks, targets, indices };
    },

    extraLoss(ctx: TaskContext, batch: Batch): tf.Scalar | undefined {
      const replayed = batch.replayed ?? 0;
      if (alpha === 0 || replayed === 0) return undefined;
      const n = batch.tasks.length;
      // Group the replayed rows by task: each task's logits come from its head, over its width.
      const groups = new Map<number, number[]>();
      for (let r = n - replayed; r < n; r++) {
        const rows = groups.get(batch.tasks[r]) ?? [];
        rows.push(r);
        groups.set(batch.tasks[r], rows);
      }
      let total: tf.Scalar | undefined;
      let outputs = 0;
      for (const [task, rows] of groups) {
        const stored = rows.map((r) => slots[batch.indices[r]].logits as Float32Array);
        const width = stored[0].length;
        const features = tf.gather(batch.features, tf.tensor1d(rows, 'int32'));
        let now = ctx.learner.headLogits(features, task, ctx.task);
        if (now.shape[1] !== width) now = now.slice([0, 0], [-1, width]);
        // α ‖z − h_θ(x)‖²: the squared distance to the stored logits (averaged over examples and outputs below).
        const term = tf.sum(tf.squaredDifference(now, tf.tensor2d(concat(stored), [rows.length, width])));
        total = total ? (total.add(term) as tf.Scalar) : (term as tf.Scalar);
        outputs += rows.length * width;
      }
      if (batch.whole) {
        // One replica's shard (data-parallel): average over the whole batch's replayed outputs, and
        // undo the shard's weight, which the loop applies to every term.
        const all = batch.whole;
        const wholeRows = all.tasks.length;
        outputs = 0;
        for (let r = wholeRows - (all.replayed ?? 0); r < wholeRows; r++) {
          outputs += (slots[all.indices[r]].logits as Float32Array).length;
        }
        outputs *= n / wholeRows;
      }
      return (total as tf.Scalar).mul(alpha / outputs) as tf.Scalar;
    },

    finishTask(ctx: TaskContext) {
      const { scenario, task, random } = ctx;
      const data = scenario.tasks[task].train;
      const n = exampleCount(data);
      const size = exampleSize(data);
      const targets = taskTargets(scenario, task, 'train');
      const byTarget = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const rows = byTarget.get(targets[i]) ?? [];
        rows.push(i);
        byTarget.set(targets[i], rows);
      }
      const classes = [...byTarget.keys()].sort((a, b) => a - b);
      makeRoom(
        memory,
        classes.map((c) => `${task}:${c}`),
        random,
      );
      const fresh: Kept[] = [];
      for (const c of classes) {
        const rows = byTarget.get(c) as number[];
        offer(
          memory,
          `${task}:${c}`,
          rows.length,
          (i) => {
            const input = data.inputs.slice(rows[i] * size, (rows[i] + 1) * size);
            const k: Kept = { task, target: c, input, logits: null };
            fresh.push(k);
            return k;
          },
          random,
        );
      }
      slots = itemsOf(memory);
      freeSaved();
      if (alpha > 0) {
        const live = new Set(slots);
        recordLogits(
          ctx,
          fresh.filter((k) => live.has(k)),
        );
      }
    },

    counts() {
      return Object.fromEntries([...memory.classes].map(([key, items]) => [key, items.length]));
    },

    keptExamples() {
      return slots.length;
    },

    memoryBytes() {
      return slots.reduce((b, k) => b + k.input.length * 4 + 8 + (k.logits?.length ?? 0) * 4, 0);
    },

    state(): StrategyState {
      if (saved) return saved;
      if (slots.length === 0) return { values: { classes: [] }, tensors: {} };
      const size = slots[0].input.length;
      const width = Math.max(0, ...slots.map((k) => k.logits?.length ?? 0));
      const logits = new Float32Array(slots.length * width);
      slots.forEach((k, i) => k.logits && logits.set(k.logits, i * width));
      const tensors: Record<string, tf.Tensor> = {
        inputs: tf.tensor2d(concat(slots.map((k) => k.input)), [slots.length, size]),
        tasks: tf.tensor1d(
          Int32Array.from(slots, (k) => k.task),
          'int32',
        ),
        targets: tf.tensor1d(
          Int32Array.from(slots, (k) => k.target),
          'int32',
        ),
      };
      if (width > 0) {
        tensors.logits = tf.tensor2d(logits, [slots.length, width]);
        tensors.widths = tf.tensor1d(
          Int32Array.from(slots, (k) => k.logits?.length ?? 0),
          'int32',
        );
      }
      saved = { values: { classes: [...memory.classes.keys()] }, tensors };
      return saved;
    },

    load(state: StrategyState) {
      freeSaved();
      memory = reservoir(capacity);
      const { inputs, tasks, targets, logits, widths } = state.tensors;
      const classes = (state.values.classes ?? []) as string[];
      for (const key of classes) memory.classes.set(key, []);
      if (inputs) {
        if (!tasks || !targets)
          throw new OptionError('the saved replay state has inputs without tasks or targets');
        const x = inputs.dataSync() as Float32Array;
        const t = tasks.dataSync();
        const y = targets.dataSync();
        const z = logits?.dataSync() as Float32Array | undefined;
        const w = widths?.dataSync();
        const n = t.length;
        const size = x.length / n;
        const width = logits ? (logits.shape[1] as number) : 0;
        for (let i = 0; i < n; i++) {
          const key = `${t[i]}:${y[i]}`;
          const items = memory.classes.get(key);
          if (!items)
            throw new OptionError(`the saved replay state keeps class '${key}' but does not list it`);
          items.push({
            task: t[i],
            target: y[i],
            input: x.slice(i * size, (i + 1) * size),
            logits: z && w && w[i] > 0 ? z.slice(i * width, i * width + w[i]) : null,
          });
        }
      }
      slots = itemsOf(memory);
    },

    dispose: freeSaved,
  };
  return strategy;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const replayEntry: StrategyEntry = {
  name: 'replay',
  summary:
    'experience replay: a class-balanced memory of old examples mixed into every batch (DER++ with --alpha)',
  needsOldData: false,
  options: [
    ...stepOptionList,
    {
      name: 'memory',
      kind: 'integer',
      description: `examples kept in all, class-balanced (default ${replayDefaults.memory})`,
    },
    {
      name: 'replayBatch',
      kind: 'integer',
      description: 'memory examples added to each batch (default 0: as many as the batch size)',
    },
    {
      name: 'alpha',
      kind: 'number',
      description: 'α of DER++: keep the logits too and pull towards them (default 0: plain replay)',
    },
  ],
  create: (o) => replay(o as ReplayOptions),
};
