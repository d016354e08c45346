import * as tf from '@tensorflow/tfjs';
import { ModelError, TaskError } from '../errors.js';
import { childSeed, seededRandom } from '../random.js';
import {
  activeOutputs,
  headIndex,
  headSizes,
  layoutOf,
  settings,
  type ScenarioLayout,
  type Setting,
  type TaskLayout,
} from '../scenarios/types.js';
import { buildBackbone, type BackboneSpec } from './backbones.js';
import { inferTask, type TaskInference } from './infer-task.js';

/** What the learner remembers of a task it learned: where its data came from and how it did. */
export interface TaskRecord {
  /** The task's name (as in the layout). */
  readonly name: string;
  /** Where its data came from, e.g. 'mnist:0-4' or a folder path; '' when not said. */
  readonly source: string;
  /** Test accuracy on every task learned so far, measured right after this one (null where a task had no test data). */
  readonly accuracies: readonly (number | null)[];
  /** When it was learned (ISO 8601). */
  readonly learnedAt: string;
  /** The strategy that learned it ('adopted' for a trained model's own classifier). */
  readonly strategy: string;
}

export interface LearnerOptions {
  backbone: BackboneSpec;
  /**
   * The scenario (or its layout) the learner will learn, when known up front: it fixes the input
   * shape, the setting and the heads. Leave it out to add tasks as they come (then give `inputShape`).
   */
  scenario?: ScenarioLayout;
  /** The shape of one example, e.g. [28, 28, 1] (without a scenario). */
  inputShape?: readonly number[];
  /** 'task' (default), 'domain' or 'class' (without a scenario). */
  setting?: Setting;
  /** Seeds the weights of the trunk and heads. Default 0. */
  seed?: number;
}

/** The `k`-th seed drawn from a generator seeded with `seed`: head k's, whenever it is made. */
function nthSeed(seed: number, k: number): number {
  const random = seededRandom(seed);
  let out = 0;
  for (let i = 0; i <= k; i++) out = childSeed(random);
  return out;
}

function denseHead(name: string, features: number, units: number, seed: number): tf.LayersModel {
  return tf.sequential({
    name,
    layers: [
      tf.layers.dense({
        inputShape: [features],
        units,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        name: `${name}_dense`,
      }),
    ],
  });
}

/**
 * A network shared across tasks: a trunk (any `tf.LayersModel` from input to features) and heads as the
 * setting needs (one per task in the task setting, one shared otherwise). It knows the tasks it has
 * learned and takes new ones as they come (`addTask`, or `learn` which calls it).
 */
export class Learner {
  private currentTrunk: tf.LayersModel;
  readonly heads: tf.LayersModel[];
  private currentLayout: ScenarioLayout;
  /** True when the trunk came trained (fromPretrained): strategies may keep it as it is from the start. */
  readonly pretrained: boolean;
  /** Seeds every head, the ones made later included (saved with the learner). */
  readonly headSeed: number;
  /** How many tasks have been trained so far, in order. */
  trainedTasks = 0;
  /** One record per task learned, in order: the learner's history, saved with it. */
  readonly history: TaskRecord[] = [];
  /**
   * Called with the task index (and whether the pass trains) before every forward pass, so that a
   * strategy can switch what the trunk uses for that task (e.g. a weight mask).
   */
  readonly beforeForward: ((task: number, training: boolean) => void)[] = [];
  private readonly featureSize: number;

  /**
   * `layout` names the tasks known so far (learned or planned; it may have none, then heads come with
   * the tasks). `options.heads` gives heads already made (loaded, or a trained model's classifier);
   * otherwise they are made fresh, seeded by `options.seed`.
   */
  constructor(
    trunk: tf.LayersModel,
    layout: ScenarioLayout,
    options: { seed?: number; pretrained?: boolean; heads?: tf.LayersModel[] } = {},
  ) {
    this.currentTrunk = trunk;
    this.currentLayout = layoutOf(layout);
    this.pretrained = options.pretrained ?? false;
    this.headSeed = options.seed ?? 0;
    const modelShape = trunk.inputs[0].shape.slice(1);
    if (modelShape.join('x') !== layout.inputShape.join('x')) {
      throw new ModelError(
        `the model takes examples of shape [${modelShape.join(', ')}] but the scenario's are ` +
          `[${layout.inputShape.join(', ')}]; load the data at the model's input size or pick another model`,
      );
    }
    const outShape = trunk.outputs[0].shape.slice(1);
    this.featureSize = outShape.reduce((a: number, b) => a * (b ?? 1), 1);
    this.heads =
      options.heads ??
      (layout.tasks.length === 0
        ? []
        : headSizes(layout).map((units, i) =>
            denseHead(`head${i + 1}`, this.featureSize, units, nthSeed(this.headSeed, i)),
          ));
  }

  /** The tasks the learner knows (learned, then any planned), its setting and input shape. */
  get layout(): ScenarioLayout {
    return this.currentLayout;
  }

  /** How many numbers the trunk gives per example (its output, flattened): the heads' input size. */
  get featureCount(): number {
    return this.featureSize;
  }

  /**
   * Makes room for a new task after the known ones and returns its index: a new head (task setting),
   * new outputs beside the old ones (class setting), or the same head, widened if the task has more
   * classes (domain setting). The old outputs keep their weights; the new ones are seeded by the
   * learner's `headSeed` and the task's index, so the same learner grows the same way every time.
   */
  addTask(task: TaskLayout): number {
    const layout = this.currentLayout;
    if (layout.tasks.some((t) => t.name === task.name)) {
      throw new TaskError(
        `the learner already has a task named '${task.name}'; give the new task another name`,
      );
    }
    if (task.classes.length < 1 || task.classes.length !== task.classNames.length) {
      throw new TaskError(
        `task '${task.name}' needs one class name per class; got ${task.classes.length} classes and ${task.classNames.length} names`,
      );
    }
    const index = layout.tasks.length;
    const tasks = [
      ...layout.tasks,
      { name: task.name, classes: [...task.classes], classNames: [...task.classNames] },
    ];
    const grown: ScenarioLayout = { ...layout, tasks };
    const seed = nthSeed(this.headSeed, index);
    if (layout.setting === 'task' || this.heads.length === 0) {
      const units = layout.setting === 'task' ? task.classes.length : headSizes(grown)[0];
      this.heads.push(denseHead(`head${this.heads.length + 1}`, this.featureSize, units, seed));
    } else {
      const units = headSizes(grown)[0];
      const head = this.heads[0];
      const now = head.outputs[0].shape[1] as number;
      if (units > now) {
        this.heads[0] = widenHead(head, units, seed);
        head.dispose();
      }
    }
    this.currentLayout = grown;
    return index;
  }

  /** The index of the task named `name` (or given by index), checked to be learned. */
  taskIndex(task: number | string): number {
    const names = this.layout.tasks.slice(0, this.trainedTasks).map((t) => t.name);
    const index = typeof task === 'number' ? task : names.indexOf(task);
    if (!Number.isInteger(index) || index < 0 || index >= this.trainedTasks) {
      const known = names.length === 0 ? 'it has learned none yet' : `its tasks are: ${names.join(', ')}`;
      // A number given as text ('1') is a name first; when no task has that name, say how to give an index.
      const asIndex =
        typeof task === 'string' && /^\d+$/.test(task.trim())
          ? `; to pick a task by its index, pass the number: predict(x, ${Number(task)})` +
            (Number(task) < this.trainedTasks ? ` is '${names[Number(task)]}'` : '')
          : '';
      throw new TaskError(
        typeof task === 'string'
          ? `the learner has no task named '${task}'; ${known}${asIndex}`
          : `task ${task} has not been learned; ${known} (indices 0..${this.trainedTasks - 1})`,
      );
    }
    return index;
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

  /** How many tasks the learner knows: learned, and planned by the scenario it was built for. */
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
    const logits = applyHead(this.heads[headIndex(this.layout, task)], features);
    const active = activeOutputs(this.layout, task, seen);
    return active === logits.shape[1] ? logits : logits.slice([0, 0], [-1, active]);
  }

  /** Logits for `x` as seen when evaluating task `task` after `seen + 1` tasks. No checks: for the training loop. */
  logits(x: tf.Tensor, task: number, seen = task, training = false): tf.Tensor2D {
    return tf.tidy(() => this.headLogits(this.features(x, task, training), task, seen));
  }

  /**
   * Class probabilities for `x`. In the task setting, `task` says which task's head to use; otherwise it
   * may be left out, and the outputs are those of every class learned so far. In the task setting,
   * `{ inferTask: 'example' }` (or `'batch'`, for a batch known to be one task) picks the task by the
   * lowest entropy of each task's answer (see `inferTask`, which also says which task was picked); the
   * rows are then padded with zeros to the widest head.
   *
   * ```ts
   * l.predict(x, 'digits 0-1'); // the task said
   * l.predict(x, { inferTask: 'batch' }); // the task guessed, once for the whole batch
   * ```
   */
  predict(x: tf.Tensor, task?: number | string | { inferTask: TaskInference }): tf.Tensor2D {
    const shape = x.shape.slice(1);
    if (shape.join('x') !== this.layout.inputShape.join('x')) {
      throw new ModelError(
        `predict got a batch of examples of shape [${shape.join(', ')}]; this learner takes examples of shape ` +
          `[${this.layout.inputShape.join(', ')}] (pass a batch: [count, ...exampleShape])`,
      );
    }
    if (this.trainedTasks === 0)
      throw new TaskError('the learner has not been trained on any task yet; train it first');
    if (typeof task === 'object') return inferTask(this, x, task.inferTask).probabilities;
    let t: number;
    if (task === undefined) {
      if (this.setting === 'task') {
        const names = this.layout.tasks.slice(0, this.trainedTasks).map((k) => `'${k.name}'`);
        throw new TaskError(
          `in the task-incremental setting predict needs the task: predict(x, task) with one of ${names.join(', ')} ` +
            `(or its index 0..${this.trainedTasks - 1}), or predict(x, { inferTask: 'example' }) to guess it`,
        );
      }
      t = this.trainedTasks - 1;
    } else {
      t = this.taskIndex(task);
    }
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

  dispose(): void {
    this.trunk.dispose();
    for (const h of this.heads) h.dispose();
  }
}

/**
 * Builds a learner with a built-in backbone, for a scenario known up front or for tasks that come one
 * at a time.
 *
 * ```ts
 * const s = await scenarios.splitMnist({ tasks: 5, setting: 'task' });
 * const l = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, scenario: s, seed: 1 });
 * // or, tasks to come:
 * const m = learner({ backbone: { kind: 'mlp', hidden: [400, 400] }, inputShape: [28, 28, 1] });
 * ```
 */
export function learner(options: LearnerOptions): Learner {
  const layout = options.scenario ?? {
    name: 'tasks',
    setting: options.setting ?? 'task',
    inputShape: options.inputShape ?? [],
    tasks: [],
  };
  if (options.scenario === undefined && (options.inputShape ?? []).length === 0) {
    throw new ModelError(
      'a learner needs the shape of its examples: give learner({ inputShape: [28, 28, 1], … }) or a scenario',
    );
  }
  if (!settings.includes(layout.setting)) {
    throw new ModelError(`setting must be one of ${settings.join(', ')}; got '${String(layout.setting)}'`);
  }
  const random = seededRandom(options.seed ?? 0);
  const trunk = buildBackbone(options.backbone, layout.inputShape, childSeed(random));
  return new Learner(trunk, layout, { seed: childSeed(random) });
}

/**
 * A head's logits for `features`. Its last Dense layer is computed as a product and then a bias added,
 * the way TensorFlow.js computes a classifier ending in softmax, rather than fused (which some backends
 * round differently): an adopted model's classifier then answers bit for bit as the model itself, and
 * an exported task (ending in Dense + softmax) as the learner.
 */
export function applyHead(head: tf.LayersModel, features: tf.Tensor2D): tf.Tensor2D {
  const layers = head.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const last = layers[layers.length - 1];
  const linear = last.getClassName() === 'Dense' && last.getConfig().activation === 'linear';
  if (!linear) return head.apply(features) as tf.Tensor2D;
  return tf.tidy(() => {
    let y: tf.Tensor = features;
    for (const layer of layers.slice(0, -1)) y = layer.apply(y) as tf.Tensor;
    const [kernel, bias] = last.weights;
    y = tf.matMul(y as tf.Tensor2D, kernel.read() as tf.Tensor2D);
    return (bias ? tf.add(y, bias.read()) : y) as tf.Tensor2D;
  });
}

/**
 * A copy of `head` with `units` outputs: the old outputs keep their weights, the new ones start from
 * Glorot-uniform weights seeded by `seed` and zero bias. The head's last layer must be Dense.
 */
export function widenHead(head: tf.LayersModel, units: number, seed: number): tf.LayersModel {
  const last = head.layers[head.layers.length - 1];
  if (last.getClassName() !== 'Dense') {
    throw new ModelError(
      `the shared head ends in a ${last.getClassName()} layer; to grow it by new classes it must end in a Dense layer`,
    );
  }
  const [kernel, bias] = last.getWeights();
  const [features, now] = kernel.shape;
  const config = last.getConfig();
  const wider = tf.layers.dense({
    units,
    activation: config.activation as 'linear',
    useBias: bias !== undefined,
    name: `${last.name}_${units}`,
  });
  const input = tf.input({ shape: head.inputs[0].shape.slice(1) as number[] });
  let y: tf.SymbolicTensor = input;
  for (const layer of head.layers.slice(0, -1)) {
    if (layer.getClassName() === 'InputLayer') continue;
    y = layer.apply(y) as tf.SymbolicTensor;
  }
  const out = wider.apply(y) as tf.SymbolicTensor;
  const grown = tf.model({ inputs: input, outputs: out, name: head.name });
  tf.tidy(() => {
    const fresh = tf.initializers.glorotUniform({ seed }).apply([features, units - now]) as tf.Tensor;
    const weights = [tf.concat([kernel, fresh], 1)];
    if (bias !== undefined) weights.push(tf.concat([bias, tf.zeros([units - now])]));
    wider.setWeights(weights);
  });
  return grown;
}
