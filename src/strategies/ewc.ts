import * as tf from '@tensorflow/tfjs';
import { exampleCount, type Dataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { stepOptions } from '../train/optimizers.js';
import type { Batch, StepOptions, Strategy, StrategyState, TaskContext } from '../train/strategy.js';
import {
  diagonalFisher,
  fisherLabelChoices,
  fisherMethods,
  type FisherLabels,
  type FisherMethod,
} from './fisher.js';
import { stepOptionList, type StrategyEntry, type StrategyOption } from './entry.js';
import {
  clearQuadratic,
  emptyQuadratic,
  fitShapes,
  loadQuadratic,
  mergeTask,
  quadraticBytes,
  quadraticState,
  quadraticTerm,
  type Quadratic,
} from './quadratic.js';

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
  /** 'auto' (default): vectorised per-example gradients for Dense and Conv2D chains, else one sample at a time. */
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

function makeEwc(name: 'ewc' | 'onlineEwc', options: OnlineEwcOptions): EwcStrategy {
  const online = name === 'onlineEwc';
  const { lambda, fisherSamples, fisherLabels, fisherMethod, gamma } = checkOptions(options, online);
  const quadratic: Quadratic = emptyQuadratic();
  const fisherTimes: EwcStrategy['fisherTimes'] = [];
  const clear = () => clearQuadratic(quadratic);

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
    mergeTask(quadratic, result.fisher, ctx.learner, online ? 'latest' : 'mean', gamma);
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
      const term = quadraticTerm(quadratic, ctx.learner);
      return term ? (term.add(quadratic.constant).mul(lambda / 2) as tf.Scalar) : undefined;
    },

    prepareTask(ctx: TaskContext) {
      if (lambda === 0) return;
      fitShapes(quadratic, ctx.learner);
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
        (quadraticTerm(quadratic, ctx.learner) ?? tf.scalar(0)).add(quadratic.constant).mul(lambda / 2),
      );
      const out = (value.dataSync() as Float32Array)[0];
      value.dispose();
      return out;
    },

    memoryBytes() {
      return quadraticBytes(quadratic);
    },

    state(): StrategyState {
      return quadraticState(quadratic, 'fisher');
    },

    load(state: StrategyState) {
      loadQuadratic(quadratic, state, 'fisher', name);
    },

    dispose: clear,
  };
  return strategy;
}

/**
 * Elastic Weight Consolidation (Kirkpatrick et al., arXiv 1612.00796). After each task the diagonal
 * Fisher information F_k at the learned weights θ*_k says how much each weight mattered; later tasks
 * train with `L(θ) = L_B(θ) + (λ/2) Σ_k Σ_i F_k,i (θ_i − θ*_k,i)²`, one penalty per earlier task
 * (kept merged into one quadratic with the same gradients: see `Quadratic` in quadratic.ts).
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
      'auto (default): vectorised per-example gradients for Dense and Conv2D trunks, else one sample at a time',
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
