import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import type { Learner } from './learner.js';

/**
 * Masked layers: Dense, Conv2D and DepthwiseConv2D layers whose kernel W is replaced, in the forward
 * pass, by whatever a strategy makes of it, usually W ⊙ M for a per-task binary mask M (PackNet,
 * Piggyback). A masked layer has exactly the weights of the layer it twins (kernel, bias), computes
 * with the same TensorFlow.js kernels, and serialises under the same class name, so a trunk of masked
 * layers saves as a plain TensorFlow.js model.
 */

/** Turns a layer's kernel into the kernel its forward pass uses, e.g. `w => w.mul(mask)`. */
export type KernelTransform = (kernel: tf.Tensor) => tf.Tensor;

/** A layer whose kernel passes through `transform` (when set) on every forward pass. */
export interface MaskedLayer extends tf.layers.Layer {
  /** null: the layer computes exactly as its unmasked twin. */
  transform: KernelTransform | null;
  /** The weight the mask applies to (the kernel; the depthwise kernel of a depthwise convolution). */
  readonly maskedWeight: tf.LayerVariable;
  /** The class of the layer it twins: 'Dense', 'Conv2D' or 'DepthwiseConv2D'. */
  readonly twinOf: string;
}

type LayerClass = new (args: object) => tf.layers.Layer;
interface ReadsKernel {
  read(): tf.Tensor;
}

/** The registered TensorFlow.js class of a built-in layer, found by its serialised name. */
function registeredClass(className: string): LayerClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className] as unknown as
    [LayerClass, unknown] | undefined;
  if (entry === undefined) {
    throw new ModelError(`TensorFlow.js has no layer class '${className}' registered; masked layers need it`);
  }
  return entry[0];
}

/** The layer classes that can be masked, and the field that holds the kernel a mask applies to. */
const maskableKernels: Readonly<Record<string, string>> = {
  Dense: 'kernel',
  Conv2D: 'kernel',
  DepthwiseConv2D: 'depthwiseKernel',
};

/** Layers whose weights are shared by every task as they are (frozen after the first task), not masked. */
const sharedLayers: readonly string[] = ['BatchNormalization', 'LayerNormalization'];

const maskedClasses = new Map<string, LayerClass>();

/**
 * The masked class twinning `className`. Its `call` hands the base class's `call` a kernel stand-in
 * whose `read()` gives the transformed kernel, so the base computes exactly as it always does.
 */
function maskedClass(className: string): LayerClass {
  const existing = maskedClasses.get(className);
  if (existing) return existing;
  const Base = registeredClass(className);
  const field = maskableKernels[className];
  class Masked extends Base {
    // Serialised under the base class's name: a saved masked trunk loads as a plain model.
    static readonly className = className;
    transform: KernelTransform | null = null;
    readonly twinOf = className;

    get maskedWeight(): tf.LayerVariable {
      return (this as unknown as Record<string, tf.LayerVariable>)[field];
    }

    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
      const transform = this.transform;
      if (transform === null) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const self = this as unknown as Record<string, ReadsKernel>;
        const variable = this.maskedWeight;
        const effective = transform(variable.read());
        // The base class reads its kernel through `read()`: hand it the transformed one for this call.
        self[field] = { read: () => effective };
        try {
          return super.call(inputs, kwargs);
        } finally {
          self[field] = variable;
        }
      });
    }
  }
  maskedClasses.set(className, Masked);
  return Masked;
}

/** Whether `layer` is a masked layer. */
export function isMasked(layer: tf.layers.Layer): layer is MaskedLayer {
  return 'transform' in layer && 'twinOf' in layer;
}

/** Every masked layer of `model`, nested models included, in the order of its weights. */
export function maskedLayers(model: tf.LayersModel): MaskedLayer[] {
  const out: MaskedLayer[] = [];
  const visit = (layer: tf.layers.Layer) => {
    if (layer instanceof tf.LayersModel) layer.layers.forEach(visit);
    else if (isMasked(layer)) out.push(layer);
  };
  model.layers.forEach(visit);
  return out;
}

/** The name and kernel size of every layer of `model` (nested models included) a mask would cover. */
export function maskableSizes(model: tf.LayersModel): { name: string; size: number }[] {
  const out: { name: string; size: number }[] = [];
  const visit = (layer: tf.layers.Layer) => {
    if (layer instanceof tf.LayersModel) return layer.layers.forEach(visit);
    const className = isMasked(layer) ? layer.twinOf : layer.getClassName();
    if (!(className in maskableKernels) || layer.weights.length === 0) return;
    out.push({ name: layer.name, size: layer.weights[0].shape.reduce((n: number, d) => n * (d ?? 1), 1) });
  };
  model.layers.forEach(visit);
  return out;
}

/** A layer of a model that has weights but cannot be masked. */
export interface UnmaskableLayer {
  readonly name: string;
  readonly className: string;
}

/** The layers of `model` (nested models included) that have weights a mask cannot cover. */
export function unmaskableLayers(model: tf.LayersModel): UnmaskableLayer[] {
  const out: UnmaskableLayer[] = [];
  const visit = (layer: tf.layers.Layer) => {
    if (layer instanceof tf.LayersModel) return layer.layers.forEach(visit);
    const className = layer.getClassName();
    if (layer.weights.length === 0 || className in maskableKernels || sharedLayers.includes(className))
      return;
    out.push({ name: layer.name, className });
  };
  model.layers.forEach(visit);
  return out;
}

type ConfigNode = { className?: unknown } & Record<string, unknown>;

/** Swaps, in a model's serialised config, every maskable layer's class for its masked twin. */
function useMaskedClasses(node: unknown, classes: Map<string, LayerClass>): void {
  if (Array.isArray(node)) {
    for (const item of node) useMaskedClasses(item, classes);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const entry = node as ConfigNode;
  if (typeof entry.className === 'string' && entry.className in maskableKernels) {
    classes.set(entry.className, maskedClass(entry.className));
    entry.className = `${entry.className}Masked`;
  }
  for (const value of Object.values(entry)) useMaskedClasses(value, classes);
}

/**
 * Builds the masked twin of `model`: the same graph and the same weight values, with every Dense,
 * Conv2D and DepthwiseConv2D layer (also inside nested models) replaced by a masked layer. Until a
 * strategy sets a layer's `transform`, the twin computes exactly what `model` computes. Batch and
 * layer normalisation are kept as they are; any other layer with weights (LSTM, Conv1D, Embedding,
 * SeparableConv2D, Conv2DTranspose…) makes it fail with a list of them, since a mask could not keep
 * tasks apart in those weights. `model` itself is left as it was.
 *
 * ```ts
 * const twin = maskedTwin(learner.trunk);
 * maskedLayers(twin)[0].transform = (w) => w.mul(mask);
 * ```
 */
export function maskedTwin(model: tf.LayersModel): tf.LayersModel {
  const unmaskable = unmaskableLayers(model);
  if (unmaskable.length > 0) {
    throw new ModelError(
      `cannot mask ${unmaskable.length === 1 ? 'this layer' : 'these layers'} of '${model.name}': ` +
        unmaskable.map((l) => `${l.name} (${l.className})`).join(', ') +
        `; masks cover ${Object.keys(maskableKernels).join(', ')} layers (and keep ${sharedLayers.join(', ')} ` +
        'as they are): cut the model before these layers (fromPretrained cutAt) or use a strategy without masks',
    );
  }
  if (maskedLayers(model).length > 0) {
    throw new ModelError(`'${model.name}' is already masked; use it as it is`);
  }
  // The config in TensorFlow.js's own (camel-case) form, a fresh copy we may rewrite.
  const config = JSON.parse(JSON.stringify(model.getConfig())) as tf.serialization.ConfigDict;
  const modelClass = model.getClassName();
  const classes = new Map<string, LayerClass>();
  useMaskedClasses(config, classes);
  const custom: Record<string, LayerClass> = {};
  for (const [name, cls] of classes) custom[`${name}Masked`] = cls;
  const twin = withCustomClasses(custom, () =>
    tf.serialization.SerializationMap.getMap().classNameMap[modelClass][1](
      registeredClass(
        modelClass,
      ) as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
      config,
    ),
  ) as tf.LayersModel;
  const weights = model.getWeights();
  twin.setWeights(weights);
  for (const [i, w] of twin.weights.entries()) {
    if (w.shape.join('x') !== weights[i].shape.join('x')) {
      throw new ModelError(`internal: weight ${w.name} of the masked twin does not line up with the model's`);
    }
  }
  return twin;
}

/** Registers `classes` under their keys while `f` runs (deserialisation looks classes up by name). */
function withCustomClasses<T>(classes: Record<string, LayerClass>, f: () => T): T {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
  const added: string[] = [];
  for (const [name, cls] of Object.entries(classes)) {
    if (map[name] !== undefined) continue;
    const fromConfig = (cls as unknown as { fromConfig: unknown }).fromConfig;
    map[name] = [cls, fromConfig];
    added.push(name);
  }
  try {
    return f();
  } finally {
    for (const name of added) delete map[name];
  }
}

/** How many weights a masked layer's mask covers. */
export function maskSize(layer: MaskedLayer): number {
  return layer.maskedWeight.shape.reduce((n: number, d) => n * (d ?? 1), 1);
}

/**
 * Binarises real-valued mask scores: 1 above `threshold`, else 0, with the gradient passed straight
 * through to the scores (Piggyback's straight-through estimator, also PackNet's picking).
 *
 * ```ts
 * const binarize = binarizer(5e-3);
 * layer.transform = (w) => w.mul(binarize(scores));
 * ```
 */
export function binarizer(threshold: number): (scores: tf.Tensor) => tf.Tensor {
  const f = tf.customGrad((...inputs) => ({
    value: tf.cast(tf.greater(inputs[0] as tf.Tensor, threshold), 'float32'),
    // Straight-through estimator: d mask / d scores taken as 1.
    gradFunc: (dy: tf.Tensor) => [dy],
  }));
  return (scores) => f(scores);
}

/**
 * `count` bits packed by `packBits` as a 'bool' tensor: how a strategy hands a binary mask to the saver,
 * which stores it as bits again.
 */
export function bitsTensor(bits: Uint8Array, count: number): tf.Tensor1D {
  const values = new Int32Array(unpackBits(bits, count));
  return tf.tidy(() => tf.tensor1d(values, 'int32').cast('bool') as tf.Tensor1D);
}

/** Packs 0/1 values (anything non-zero counts as 1) into bits, eight to a byte, first value in the lowest bit. */
export function packBits(values: ArrayLike<number>): Uint8Array {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** Unpacks `count` bits packed by `packBits` into 0/1 bytes. */
export function unpackBits(bits: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  const whole = count >> 3;
  for (let k = 0; k < whole; k++) {
    const byte = bits[k];
    const at = k << 3;
    out[at] = byte & 1;
    out[at + 1] = (byte >> 1) & 1;
    out[at + 2] = (byte >> 2) & 1;
    out[at + 3] = (byte >> 3) & 1;
    out[at + 4] = (byte >> 4) & 1;
    out[at + 5] = (byte >> 5) & 1;
    out[at + 6] = (byte >> 6) & 1;
    out[at + 7] = (byte >> 7) & 1;
  }
  for (let i = whole << 3; i < count; i++) out[i] = (bits[i >> 3] >> (i & 7)) & 1;
  return out;
}

/**
 * Keeps the kernels masked layers use at inference, per task, so that predictions multiply W ⊙ M once
 * per task rather than on every call. The least recently used tasks' kernels are dropped beyond
 * `budgetBytes` (default 32 MB; the current task's are always kept); `forget()` drops them all (after
 * any change of the weights).
 */
export class InferenceKernels {
  private readonly cached = new Map<number, tf.Tensor[]>();
  private bytes = 0;

  constructor(private readonly budgetBytes = 32 * 2 ** 20) {}

  /**
   * Sets every layer's transform to its kernel for `task`, computed by `kernels(task)` when not cached
   * (the tensors it returns become owned by this cache).
   */
  use(layers: readonly MaskedLayer[], task: number, kernels: (task: number) => tf.Tensor[]): void {
    let found = this.cached.get(task);
    if (found === undefined || found.length !== layers.length) {
      if (found) this.drop(task);
      found = tf.tidy(() => kernels(task)).map((k) => tf.keep(k));
      this.bytes += found.reduce((n, k) => n + 4 * k.size, 0);
    } else {
      this.cached.delete(task);
    }
    this.cached.set(task, found);
    for (const older of this.cached.keys()) {
      if (this.bytes <= this.budgetBytes || older === task) break;
      this.drop(older);
    }
    const current = found;
    layers.forEach((layer, i) => {
      const kernel = current[i];
      layer.transform = () => kernel;
    });
  }

  private drop(task: number): void {
    const kernels = this.cached.get(task) ?? [];
    this.bytes -= kernels.reduce((n, k) => n + 4 * k.size, 0);
    tf.dispose(kernels);
    this.cached.delete(task);
  }

  forget(): void {
    for (const task of [...this.cached.keys()]) this.drop(task);
  }
}

/** A strategy's hold on a learner whose trunk it masks. */
export interface MaskAttachment {
  readonly layers: readonly MaskedLayer[];
  /** Unhooks the strategy and lets every layer compute unmasked again. */
  detach(): void;
}

/**
 * Gives `learner` its masked trunk (swapping in the trunk's masked twin unless it is masked already) and
 * calls `onForward(task, training)` before each of its forward passes, where the strategy sets the
 * masked layers' transforms.
 */
export function attachMasks(
  learner: Learner,
  onForward: (task: number, training: boolean) => void,
): MaskAttachment {
  if (maskedLayers(learner.trunk).length === 0) learner.replaceTrunk(maskedTwin(learner.trunk));
  const layers = maskedLayers(learner.trunk);
  if (layers.length === 0) {
    throw new ModelError(
      `the trunk '${learner.trunk.name}' has no Dense, Conv2D or DepthwiseConv2D layer for a mask to cover; use a strategy without masks`,
    );
  }
  learner.beforeForward.push(onForward);
  return {
    layers,
    detach() {
      const at = learner.beforeForward.indexOf(onForward);
      if (at >= 0) learner.beforeForward.splice(at, 1);
      for (const layer of layers) layer.transform = null;
    },
  };
}
