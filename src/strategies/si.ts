import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../errors.js';
import { stepOptions } from '../train/optimizers.js';
import type { Batch, StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import { stepOptionList, type StrategyEntry } from './entry.js';
import { fisherParameters, weightByKey } from './fisher.js';
import {
  clearQuadratic,
  emptyQuadratic,
  fitShapes,
  loadQuadratic,
  mergeTask,
  quadraticBytes,
  quadraticState,
  quadraticTerm,
} from './quadratic.js';

export interface SiOptions extends StepOptions {
  /** c, the strength of the penalty. Default 1 (the paper's on split MNIST). */
  c?: number;
  /** ξ, the damping in Ω's denominator. Default 1e-3 (the paper's). */
  xi?: number;
}

export const siDefaults = { c: 1, xi: 1e-3 };

/** What SI reports beyond the Strategy interface (for tests). */
export interface SiStrategy extends Strategy {
  /** The importance Ω by weight key (e.g. 'trunk/0'), summed over the tasks learned; owned by the strategy. */
  importance(): ReadonlyMap<string, tf.Tensor>;
}

/**
 * Synaptic Intelligence (Zenke, Poole & Ganguli 2017, arXiv 1703.04200). While a task trains, each
 * weight's contribution to the drop in the loss is summed along the path: `ω_k += −g_k · Δθ_k` per step,
 * with g the gradient of the task's loss (without the penalty). After the task,
 * `Ω_k ← Ω_k + ω_k / ((Δθ_k)² + ξ)`, Δθ_k the weight's total change over the task, and later tasks
 * train with `L̃ = L + c Σ_k Ω_k (θ̃_k − θ_k)²`, θ̃ the weights at the end of the last task. No Fisher
 * pass: the importance comes for free from the training steps. The quadratic is EWC's (quadratic.ts).
 *
 * ```ts
 * const r = await train(l, s, strategies.si({ c: 1, xi: 1e-3 }), { epochs: 4 });
 * ```
 */
export function si(options: SiOptions = {}): SiStrategy {
  const c = options.c ?? siDefaults.c;
  const xi = options.xi ?? siDefaults.xi;
  if (!(c >= 0 && Number.isFinite(c))) throw new OptionError(`c must be a number ≥ 0; got ${c}`);
  if (!(xi > 0 && Number.isFinite(xi))) throw new OptionError(`xi must be a positive number; got ${xi}`);
  const quadratic = emptyQuadratic();
  /** Per weight key while a task trains: its variable's name, ω, θ at the task's start and before this step. */
  let path = new Map<string, { name: string; omega: tf.Tensor; start: tf.Tensor; previous: tf.Tensor }>();
  /** The task-loss gradient of the step being taken, by weight key. */
  let gradients = new Map<string, tf.Tensor>();

  const clearPath = () => {
    tf.dispose([...path.values()].flatMap((p) => [p.omega, p.start, p.previous]));
    tf.dispose([...gradients.values()]);
    path = new Map();
    gradients = new Map();
  };

  const strategy: SiStrategy = {
    name: 'si',
    needsOldData: false,
    options: { ...stepOptions(options), c, xi },

    prepareTask(ctx: TaskContext) {
      clearPath();
      fitShapes(quadratic, ctx.learner);
      for (const { key, weight } of fisherParameters(ctx.learner, ctx.task)) {
        const theta = weight.read() as tf.Variable;
        path.set(key, {
          name: theta.name,
          omega: tf.zerosLike(theta),
          start: theta.clone(),
          previous: theta.clone(),
        });
      }
    },

    extraLoss(ctx: TaskContext, _batch: Batch): tf.Scalar | undefined {
      if (c === 0 || quadratic.tasks === 0) return undefined;
      // c Σ_k Ω_k (θ̃_k − θ_k)²
      return quadraticTerm(quadratic, ctx.learner)?.mul(c) as tf.Scalar | undefined;
    },

    observeGradients(_ctx: TaskContext, grads: tf.NamedTensorMap) {
      for (const [key, p] of path) {
        const g = grads[p.name];
        if (!g) continue;
        const importance = quadratic.importance.get(key);
        const anchor = quadratic.anchor.get(key);
        // The task loss's gradient: the step's minus the penalty's, 2c Ω (θ − θ̃).
        const task =
          c === 0 || !importance || !anchor
            ? g.clone()
            : tf.tidy(() => g.sub(importance.mul(p.previous.sub(anchor)).mul(2 * c)));
        gradients.get(key)?.dispose();
        gradients.set(key, task);
      }
    },

    afterStep(ctx: TaskContext) {
      for (const [key, p] of path) {
        const g = gradients.get(key);
        if (!g) continue;
        const theta = weightByKey(ctx.learner, key).read();
        // ω_k += −g_k · Δθ_k
        const omega = tf.tidy(() => p.omega.sub(g.mul(theta.sub(p.previous))));
        tf.dispose([p.omega, p.previous, g]);
        p.omega = omega;
        p.previous = theta.clone();
        gradients.delete(key);
      }
    },

    finishTask(ctx: TaskContext) {
      const fresh = new Map<string, tf.Tensor>();
      for (const [key, p] of path) {
        const theta = weightByKey(ctx.learner, key).read();
        // Ω_k = ω_k / ((Δθ_k)² + ξ), Δθ_k the change over the whole task
        fresh.set(
          key,
          tf.tidy(() => p.omega.div(theta.sub(p.start).square().add(xi))),
        );
      }
      // Ω summed over the tasks, anchored at the weights after the latest one.
      mergeTask(quadratic, fresh, ctx.learner, 'latest', 1);
      clearPath();
    },

    importance() {
      return quadratic.importance;
    },

    memoryBytes() {
      return quadraticBytes(quadratic);
    },

    state(): StrategyState {
      return quadraticState(quadratic, 'omega');
    },

    load(state: StrategyState) {
      loadQuadratic(quadratic, state, 'omega', 'si');
    },

    dispose() {
      clearPath();
      clearQuadratic(quadratic);
    },
  };
  return strategy;
}

export const siEntry: StrategyEntry = {
  name: 'si',
  summary: 'Synaptic Intelligence: importance summed along the training path, a quadratic pull like EWC’s',
  needsOldData: false,
  options: [
    ...stepOptionList,
    { name: 'c', kind: 'number', description: `c, strength of the penalty (default ${siDefaults.c})` },
    { name: 'xi', kind: 'number', description: `ξ, damping of the importance (default ${siDefaults.xi})` },
  ],
  create: (o) => si(o as SiOptions),
};
