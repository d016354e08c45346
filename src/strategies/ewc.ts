import * as tf from '@tensorflow/tfjs';
import { exampleCount, type Dataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { stepOptions } from '../train/optimizers.js';
import type { Batch, StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import {
  diagonalFisher,
  fisherLabelChoices,
  fisherMethods,
  weightByKey,
  type FisherLabels,
  type FisherMethod,
} from './fisher.js';
import { stepOptionList, type StrategyEntry, type StrategyOption } from './entry.js';

export interface EwcOptions extends StepOptions {
  /**
   * λ, the weight of the penalty. Default 10⁴: on split MNIST (MLP 2×400, Adam 1e-3, batch 128, 4 epochs
   * per task) a search over λ = 1, 10, …, 10⁶ on a validation split of the training data (20% of each
   * task's training set, seed 0; bench/issue4-lambda.ts) found 10⁴ best for ewc and onlineEwc in the task
   * setting and 10⁵ in the domain setting. It depends on the data, the network and the training
   * budget: search again for yours.
   */
  lambda?: number;
  /** Training examples of each task the Fisher is estimated on (all of them if fewer). Default 1000. */
  fisherSamples?: number;
  /** 'sampled' (true Fisher, default) or 'predicted' (argmax label, as van de Ven's code). */
  fisherLabels?: FisherLabels;
  /** 'auto' (default): vectorised per-example gradients for Dense chains, else one sample at a time. */
  fisherMethod?: FisherMethod;
}

export interface OnlineEwcOptions extends EwcOptions {
  /** γ, how much of the running Fisher is kept at each new task: `F ← γ·F + F_new`. Default 1. */
  gamma?: number;
}

/** The defaults, shared with the registry's descriptions. */
export const ewcDefaults = {
  lambda: 10000,
  onlineLambda: 10000,
  fisherSamples: 1000,
  fisherLabels: 'sampled' as FisherLabels,
  fisherMethod: 'auto' as FisherMethod,
  gamma: 1,
};

/** What an EWC strategy reports beyond the Strategy interface (for tests and benchmarks). */
export interface EwcStrategy extends Strategy {
  /** Milliseconds each finished task spent estimating the Fisher, and the way it was computed. */
  readonly fisherTimes: {
    task: number;
    ms: number;
    method: string;
    samples: number;
    /** Whose inputs it was estimated on: the task's own, or (for a task whose data is gone) the new task's. */
    inputs: 'own' | 'new task';
  }[];
  /** The penalty `(λ/2) Σ_i F_i (θ_i − θ*_i)²` at the learner's current weights (0 before any task). */
  penalty(ctx: Pick<TaskContext, 'learner'>): number;
}

function checkOptions(o: OnlineEwcOptions, online: boolean) {
  const lambda = o.lambda ?? (online ? ewcDefaults.onlineLambda : ewcDefaults.lambda);
  if (!(lambda >= 0 && Number.isFinite(lambda))) {
    throw new OptionError(`lambda must be a number ≥ 0; got ${lambda}`);
  }
  const fisherSamples = o.fisherSamples ?? ewcDefaults.fisherSamples;
  if (!Number.isInteger(fisherSamples) || fisherSamples < 1) {
    throw new OptionError(`fisherSamples must be a whole number ≥ 1; got ${fisherSamples}`);
  }
  const fisherLabels = o.fisherLabels ?? ewcDefaults.fisherLabels;
  if (!fisherLabelChoices.includes(fisherLabels)) {
    throw new OptionError(
      `fisherLabels must be one of ${fisherLabelChoices.join(', ')}; got '${String(fisherLabels)}'`,
    );
  }
  const fisherMethod = o.fisherMethod ?? ewcDefaults.fisherMethod;
  if (!fisherMethods.includes(fisherMethod)) {
    throw new OptionError(
      `fisherMethod must be one of ${fisherMethods.join(', ')}; got '${String(fisherMethod)}'`,
    );
  }
  const gamma = o.gamma ?? ewcDefaults.gamma;
  if (online && !(gamma >= 0 && gamma <= 1)) {
    throw new OptionError(`gamma must be in [0, 1]; got ${gamma}`);
  }
  return { lambda, fisherSamples, fisherLabels, fisherMethod, gamma };
}

/**
 * The quadratic penalty both variants keep, per weight: `Σ_i F_i (θ_i − θ*_i)² + c`.
 *
 * EWC keeps one penalty per earlier task, `Σ_k Σ_i F_k,i (θ_i − θ*_k,i)²`. A sum of quadratics in θ is one
 * quadratic: with `F = Σ_k F_k` and `θ* = Σ_k F_k θ*_k / F` (the Fisher-weighted mean of the anchors),
 * `Σ_k F_k (θ − θ*_k)² = F (θ − θ*)² + c`, where c does not depend on θ. So EWC keeps one Fisher and one
 * anchor however many tasks it has seen, and its step costs the same after 2 tasks or 20, with the same
 * gradients as the per-task sum. Merging a new task (F_new, θ_new) into (F, θ*):
 * `F' = F + F_new`, `θ*' = (F θ* + F_new θ_new) / F'`, `c' = c + Σ_i (F F_new / F')_i (θ*_i − θ_new,i)²`.
 */
interface Quadratic {
  fisher: Map<string, tf.Tensor>;
  anchor: Map<string, tf.Tensor>;
  constant: number;
  tasks: number;
}

function makeEwc(name: 'ewc' | 'onlineEwc', options: OnlineEwcOptions): EwcStrategy {
  const online = name === 'onlineEwc';
  const { lambda, fisherSamples, fisherLabels, fisherMethod, gamma } = checkOptions(options, online);
  const quadratic: Quadratic = { fisher: new Map(), anchor: new Map(), constant: 0, tasks: 0 };
  const fisherTimes: EwcStrategy['fisherTimes'] = [];

  const clear = () => {
    tf.dispose([...quadratic.fisher.values(), ...quadratic.anchor.values()]);
    quadratic.fisher.clear();
    quadratic.anchor.clear();
    quadratic.constant = 0;
    quadratic.tasks = 0;
  };

  /** `Σ_i F_i (θ_i − θ*_i)²` over every protected weight (inside the caller's tidy or tape). */
  /**
   * `Σ_i F_i (θ_i − θ*_i)²` for one weight, with its gradient `2 F (θ − θ*)` written out: one product
   * on the way back instead of the four elementwise ops automatic differentiation would take.
   */
  const quadraticOf = (fisher: tf.Tensor, anchor: tf.Tensor) =>
    tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [theta, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const d = tf.sub(theta, anchor);
      const fd = tf.mul(fisher, d);
      save([fd]);
      return {
        value: tf.sum(tf.mul(fd, d)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.mul(dy, 2)),
      };
    });

  /** `Σ_i F_i (θ_i − θ*_i)²` over every protected weight (inside the caller's tidy or tape). */
  const quadraticTerm = (ctx: Pick<TaskContext, 'learner'>): tf.Scalar | undefined => {
    let total: tf.Scalar | undefined;
    for (const [key, fisher] of quadratic.fisher) {
      const theta = weightByKey(ctx.learner, key).read();
      const anchor = quadratic.anchor.get(key) as tf.Tensor;
      // (λ/2) Σ_i F_i (θ_i − θ*_i)²  (the λ/2 is applied below)
      const term = quadraticOf(fisher, anchor)(theta) as tf.Scalar;
      total = total ? (total.add(term) as tf.Scalar) : term;
    }
    return total;
  };

  const mergeTask = (fisherNew: Map<string, tf.Tensor>, ctx: TaskContext) => {
    for (const [key, fNew] of fisherNew) {
      const thetaNew = weightByKey(ctx.learner, key).read().clone();
      const fOld = quadratic.fisher.get(key);
      const aOld = quadratic.anchor.get(key);
      if (!fOld || !aOld) {
        quadratic.fisher.set(key, fNew);
        quadratic.anchor.set(key, thetaNew);
        continue;
      }
      if (online) {
        // Online EWC (Schwarz et al. 2018): F ← γ·F + F_new, anchored at the latest weights.
        quadratic.fisher.set(
          key,
          tf.tidy(() => fOld.mul(gamma).add(fNew)),
        );
        quadratic.anchor.set(key, thetaNew);
      } else {
        const [f, a, c] = tf.tidy(() => {
          const f = fOld.add(fNew);
          const safe = tf.where(f.greater(0), f, tf.onesLike(f));
          const a = tf.where(f.greater(0), fOld.mul(aOld).add(fNew.mul(thetaNew)).div(safe), thetaNew);
          const c = fOld.mul(fNew).div(safe).mul(aOld.sub(thetaNew).square()).sum();
          return [f, a, c];
        });
        quadratic.constant += (c.dataSync() as Float32Array)[0];
        c.dispose();
        thetaNew.dispose();
        quadratic.fisher.set(key, f);
        quadratic.anchor.set(key, a);
      }
      tf.dispose([fOld, aOld, fNew]);
    }
    quadratic.tasks++;
  };

  /** Estimates task `task`'s Fisher (on `inputs` when given) and merges it into the quadratic. */
  const addFisher = (ctx: TaskContext, task: number, inputs: Dataset | undefined) => {
    const started = performance.now();
    const result = diagonalFisher(ctx.learner, ctx.scenario, task, {
      samples: fisherSamples,
      labels: fisherLabels,
      random: ctx.random,
      method: fisherMethod,
      inputs,
    });
    fisherTimes.push({
      task,
      ms: performance.now() - started,
      method: result.method,
      samples: result.samples,
      inputs: inputs === undefined ? 'own' : 'new task',
    });
    mergeTask(result.fisher, ctx);
  };

  /**
   * A shared head that grew new outputs (class setting) has weights wider than their Fisher: the new
   * outputs get a zero Fisher (nothing to keep) and their current values as anchor.
   */
  const fitShapes = (ctx: TaskContext) => {
    for (const [key, fisher] of [...quadratic.fisher]) {
      const weight = weightByKey(ctx.learner, key).read();
      if (weight.shape.join('x') === fisher.shape.join('x')) continue;
      const axis = weight.shape.length - 1;
      const had = fisher.shape[axis];
      const anchor = quadratic.anchor.get(key) as tf.Tensor;
      const [f, a] = tf.tidy(() => {
        const begin = weight.shape.map((_, i) => (i === axis ? had : 0));
        const fresh = tf.slice(
          weight,
          begin,
          weight.shape.map((d, i) => (i === axis ? d - had : d)),
        );
        return [tf.concat([fisher, tf.zerosLike(fresh)], axis), tf.concat([anchor, fresh], axis)];
      });
      tf.dispose([fisher, anchor]);
      quadratic.fisher.set(key, f);
      quadratic.anchor.set(key, a);
    }
  };

  const strategy: EwcStrategy = {
    name,
    needsOldData: false,
    options: {
      ...stepOptions(options),
      lambda,
      fisherSamples,
      fisherLabels,
      fisherMethod,
      ...(online ? { gamma } : {}),
    },
    fisherTimes,

    extraLoss(ctx: TaskContext, _batch: Batch): tf.Scalar | undefined {
      if (lambda === 0 || quadratic.tasks === 0) return undefined;
      const term = quadraticTerm(ctx);
      return term ? (term.add(quadratic.constant).mul(lambda / 2) as tf.Scalar) : undefined;
    },

    prepareTask(ctx: TaskContext) {
      if (lambda === 0) return;
      fitShapes(ctx);
      // Tasks learned before this strategy saw the learner (a trained model's own classifier, an
      // earlier session without EWC): their Fisher, at the weights as they are now. It needs inputs
      // only (labels are drawn from the model): the task's own when given as old data, else the new
      // task's inputs seen through the old task's head.
      for (let t = quadratic.tasks; t < ctx.task; t++) {
        const own = exampleCount(ctx.scenario.tasks[t].train) > 0;
        addFisher(ctx, t, own ? undefined : ctx.scenario.tasks[ctx.task].train);
      }
    },

    finishTask(ctx: TaskContext) {
      // λ = 0 is plain fine-tuning: no Fisher (and no random draws, so the data order is fine-tuning's too).
      if (lambda === 0) return;
      addFisher(ctx, ctx.task, undefined);
    },

    penalty(ctx) {
      if (quadratic.tasks === 0) return 0;
      const value = tf.tidy(() =>
        (quadraticTerm(ctx) ?? tf.scalar(0)).add(quadratic.constant).mul(lambda / 2),
      );
      const out = (value.dataSync() as Float32Array)[0];
      value.dispose();
      return out;
    },

    memoryBytes() {
      let n = 0;
      for (const t of [...quadratic.fisher.values(), ...quadratic.anchor.values()]) n += t.size * 4;
      return n;
    },

    state(): StrategyState {
      const tensors: Record<string, tf.Tensor> = {};
      for (const [key, t] of quadratic.fisher) tensors[`fisher/${key}`] = t;
      for (const [key, t] of quadratic.anchor) tensors[`anchor/${key}`] = t;
      return { values: { tasks: quadratic.tasks, constant: quadratic.constant }, tensors };
    },

    load(state: StrategyState) {
      clear();
      for (const [tensorName, t] of Object.entries(state.tensors)) {
        const [kind, ...rest] = tensorName.split('/');
        const key = rest.join('/');
        if (kind === 'fisher') quadratic.fisher.set(key, t.clone());
        else if (kind === 'anchor') quadratic.anchor.set(key, t.clone());
        else throw new OptionError(`unexpected tensor '${tensorName}' in a saved ${name} state`);
      }
      for (const key of quadratic.fisher.keys()) {
        if (!quadratic.anchor.has(key))
          throw new OptionError(`the saved ${strategy.name} state has no anchor for '${key}'`);
      }
      quadratic.tasks = Number(state.values.tasks ?? (quadratic.fisher.size > 0 ? 1 : 0));
      quadratic.constant = Number(state.values.constant ?? 0);
    },

    dispose: clear,
  };
  return strategy;
}

/**
 * Elastic Weight Consolidation (Kirkpatrick et al., arXiv 1612.00796). After each task the diagonal
 * Fisher information F_k at the learned weights θ*_k says how much each weight mattered; later tasks
 * train with `L(θ) = L_B(θ) + (λ/2) Σ_k Σ_i F_k,i (θ_i − θ*_k,i)²`, one penalty per earlier task
 * (kept merged into one quadratic with the same gradients: see `Quadratic`).
 *
 * ```ts
 * const r = await train(l, s, strategies.ewc({ lambda: 10000 }), { epochs: 4 });
 * ```
 */
export function ewc(options: EwcOptions = {}): EwcStrategy {
  return makeEwc('ewc', options);
}

/**
 * Online EWC (Schwarz et al. 2018, "Progress & Compress"): one running Fisher `F ← γ·F + F_new`, anchored
 * at the weights after the latest task: `L(θ) = L_B(θ) + (λ/2) Σ_i F_i (θ_i − θ*_i)²`.
 */
export function onlineEwc(options: OnlineEwcOptions = {}): EwcStrategy {
  return makeEwc('onlineEwc', options);
}

const fisherOptionList: StrategyOption[] = [
  {
    name: 'fisherSamples',
    kind: 'integer',
    description: `training examples per task the Fisher is estimated on (default ${ewcDefaults.fisherSamples})`,
  },
  {
    name: 'fisherLabels',
    kind: 'choice',
    choices: fisherLabelChoices,
    description: 'sampled: labels drawn from the model (true Fisher, default); predicted: its argmax label',
  },
  {
    name: 'fisherMethod',
    kind: 'choice',
    choices: fisherMethods,
    description:
      'auto (default): vectorised per-example gradients for Dense trunks, else one sample at a time',
  },
];

export const ewcEntry: StrategyEntry = {
  name: 'ewc',
  summary: 'Elastic Weight Consolidation: a Fisher-weighted pull towards each old task’s weights',
  needsOldData: false,
  options: [
    ...stepOptionList,
    {
      name: 'lambda',
      kind: 'number',
      description: `λ, weight of the penalty (default ${ewcDefaults.lambda})`,
    },
    ...fisherOptionList,
  ],
  create: (o) => ewc(o as EwcOptions),
};

export const onlineEwcEntry: StrategyEntry = {
  name: 'onlineEwc',
  summary: 'online EWC: one running Fisher (F ← γF + F_new), anchored at the latest weights',
  needsOldData: false,
  options: [
    ...stepOptionList,
    {
      name: 'lambda',
      kind: 'number',
      description: `λ, weight of the penalty (default ${ewcDefaults.onlineLambda})`,
    },
    {
      name: 'gamma',
      kind: 'number',
      description: `decay γ of the running Fisher (default ${ewcDefaults.gamma})`,
    },
    ...fisherOptionList,
  ],
  create: (o) => onlineEwc(o as OnlineEwcOptions),
};
