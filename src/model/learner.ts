import * as tf from '@tensorflow/tfjs';
import { ModelError, TaskError } from '../errors.js';
import { childSeed, seededRandom } from '../random.js';
import {
  activeOutputs,
  headIndex,
  headSizes,
  layoutOf,
  type ScenarioLayout,
  type Setting,
} from '../scenarios/types.js';
import type { Strategy } from '../train/strategy.js';
import { buildBackbone, type BackboneSpec } from './backbones.js';

/** A learner loaded from a folder, with the strategy it was trained with (when it was saved with one). */
export interface LoadedLearner {
  learner: Learner;
  strategy: Strategy | undefined;
}

export interface LearnerOptions {
  backbone: BackboneSpec;
  /** The scenario (or its layout) the learner will learn: it fixes the input shape and the heads. */
  scenario: ScenarioLayout;
  /** Seeds the weights of the trunk and heads. Default 0. */
  seed?: number;
}

/**
 * A network shared across tasks: a trunk (any `tf.LayersModel` from input to features) and heads as the
 * setting needs (one per task in the task setting, one shared otherwise).
 */
export class Learner {
  private currentTrunk: tf.LayersModel;
  readonly heads: tf.LayersModel[];
  readonly layout: ScenarioLayout;
  /** True when the trunk came trained (fromPretrained): strategies may keep it as it is from the start. */
  readonly pretrained: boolean;
  /** How many tasks have been trained so far, in order. */
  trainedTasks = 0;
  /**
   * Called with the task index (and whether the pass trains) before every forward pass, so that a
   * strategy can switch what the trunk uses for that task (e.g. a weight mask).
   */
  readonly beforeForward: ((task: number, training: boolean) => void)[] = [];
  private readonly featureSize: number;

  constructor(
    trunk: tf.LayersModel,
    layout: ScenarioLayout,
    options: { seed?: number; pretrained?: boolean } = {},
  ) {
    this.currentTrunk = trunk;
    this.layout = layoutOf(layout);
    this.pretrained = options.pretrained ?? false;
    const modelShape = trunk.inputs[0].shape.slice(1);
    if (modelShape.join('x') !== layout.inputShape.join('x')) {
      throw new ModelError(
        `the model takes examples of shape [${modelShape.join(', ')}] but the scenario's are ` +
          `[${layout.inputShape.join(', ')}]; load the data at the model's input size or pick another model`,
      );
    }
    const outShape = trunk.outputs[0].shape.slice(1);
    this.featureSize = outShape.reduce((a: number, b) => a * (b ?? 1), 1);
    const random = seededRandom(options.seed ?? 0);
    this.heads = headSizes(layout).map((units, i) =>
      tf.sequential({
        name: `head${i + 1}`,
        layers: [
          tf.layers.dense({
            inputShape: [this.featureSize],
            units,
            kernelInitializer: tf.initializers.glorotUniform({ seed: childSeed(random) }),
            name: `head${i + 1}_dense`,
          }),
        ],
      }),
    );
  }

  /** The network from input to features (any `tf.LayersModel`). */
  get trunk(): tf.LayersModel {
    return this.currentTrunk;
  }

  /**
   * Puts `trunk` in place of the current trunk, which is disposed; e.g. a strategy swaps in the trunk's
   * masked twin. It must take the same inputs and give features of the same size.
   */
  replaceTrunk(trunk: tf.LayersModel): void {
    const inputs = trunk.inputs[0].shape.slice(1);
    const outputs = trunk.outputs[0].shape.slice(1);
    const size = outputs.reduce((n: number, d) => n * (d ?? 1), 1);
    if (inputs.join('x') !== this.layout.inputShape.join('x') || size !== this.featureSize) {
      throw new ModelError(
        `the new trunk takes [${inputs.join(', ')}] and gives [${outputs.join(', ')}]; it must take ` +
          `[${this.layout.inputShape.join(', ')}] and give ${this.featureSize} features like the one it replaces`,
      );
    }
    if (trunk === this.currentTrunk) return;
    this.currentTrunk.dispose();
    this.currentTrunk = trunk;
  }

  get setting(): Setting {
    return this.layout.setting;
  }

  get taskCount(): number {
    return this.layout.tasks.length;
  }

  /** The trunk's output for `x`, flattened to [batch, features]. */
  features(x: tf.Tensor, task: number, training = false): tf.Tensor2D {
    for (const hook of this.beforeForward) hook(task, training);
    const out = this.trunk.apply(x, { training }) as tf.Tensor;
    return out.rank === 2 ? (out as tf.Tensor2D) : out.reshape([out.shape[0], this.featureSize]);
  }

  /**
   * The logits of task `task`'s head on `features`, restricted to the outputs that are live after
   * `seen + 1` tasks (only the class setting depends on it).
   */
  headLogits(features: tf.Tensor2D, task: number, seen = task): tf.Tensor2D {
    const logits = this.heads[headIndex(this.layout, task)].apply(features) as tf.Tensor2D;
    const active = activeOutputs(this.layout, task, seen);
    return active === logits.shape[1] ? logits : logits.slice([0, 0], [-1, active]);
  }

  /** Logits for `x` as seen when evaluating task `task` after `seen + 1` tasks. No checks: for the training loop. */
  logits(x: tf.Tensor, task: number, seen = task, training = false): tf.Tensor2D {
    return tf.tidy(() => this.headLogits(this.features(x, task, training), task, seen));
  }

  /**
   * Class probabilities for `x`. In the task setting, `task` says which task's head to use; otherwise it
   * may be left out, and the outputs are those of every class learned so far.
   */
  predict(x: tf.Tensor, task?: number): tf.Tensor2D {
    const shape = x.shape.slice(1);
    if (shape.join('x') !== this.layout.inputShape.join('x')) {
      throw new ModelError(
        `predict got examples of shape [${shape.join(', ')}]; this learner takes [${this.layout.inputShape.join(', ')}] ` +
          '(pass a batch: [count, ...exampleShape])',
      );
    }
    if (this.trainedTasks === 0)
      throw new TaskError('the learner has not been trained on any task yet; train it first');
    if (task === undefined) {
      if (this.setting === 'task') {
        throw new TaskError(
          `in the task-incremental setting predict needs the task: predict(x, task) with task in 0..${this.trainedTasks - 1}`,
        );
      }
      task = this.trainedTasks - 1;
    }
    if (!Number.isInteger(task) || task < 0 || task >= this.trainedTasks) {
      throw new TaskError(
        `task ${task} has not been trained; trained tasks are 0..${this.trainedTasks - 1}` +
          (task < this.taskCount ? ` (train task ${task} first)` : ` of ${this.taskCount} in the scenario`),
      );
    }
    const t = task;
    return tf.tidy(() => tf.softmax(this.logits(x, t, this.trainedTasks - 1)));
  }

  /** The variables of the trunk layers that are trainable, and of the heads given. */
  trainableVariables(heads: readonly number[]): tf.Variable[] {
    const weights = [...this.trunk.trainableWeights, ...heads.flatMap((h) => this.heads[h].trainableWeights)];
    return weights.map((w) => w.read() as tf.Variable);
  }

  /** Number of weights in the trunk and all heads. */
  parameterCount(): number {
    return [this.trunk, ...this.heads].reduce((n, m) => n + m.countParams(), 0);
  }

  /**
   * Saves the learner into the folder `path` as one model for all its tasks: the trunk (TensorFlow.js
   * format), every head, the strategy's state (masks, owner arrays, Fisher information… when the
   * strategy is given) and a manifest. The save is atomic: a failure leaves the previous save whole.
   * Node only.
   *
   * ```ts
   * await l.save('models/digits', strategy);
   * const { learner, strategy } = await Learner.load('models/digits');
   * learner.predict(x, 2);
   * ```
   */
  async save(path: string, strategy?: Strategy): Promise<void> {
    const { saveLearner } = await import('./save.js');
    await saveLearner(path, this, strategy);
  }

  /**
   * Loads a learner saved by `save`, with its strategy rebuilt and holding its saved state. Inference
   * for every trained task gives exactly what it gave before saving. Dispose both when done.
   */
  static async load(path: string): Promise<LoadedLearner> {
    const { loadLearner } = await import('./save.js');
    return loadLearner(path);
  }

  dispose(): void {
    this.trunk.dispose();
    for (const h of this.heads) h.dispose();
  }
}

/**
 * Builds a learner with a built-in backbone for a scenario.
 *
 * ```ts
 * const s = await scenarios.splitMnist({ tasks: 5, setting: 'task' });
 * const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario: s, seed: 1 });
 * ```
 */
export function learner(options: LearnerOptions): Learner {
  const random = seededRandom(options.seed ?? 0);
  const trunk = buildBackbone(options.backbone, options.scenario.inputShape, childSeed(random));
  return new Learner(trunk, options.scenario, { seed: childSeed(random) });
}
