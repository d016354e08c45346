import * as tf from '@tensorflow/tfjs';
import { ModelError, OptionError } from '../errors.js';
import { settings, type ScenarioLayout, type Setting } from '../scenarios/types.js';
import { Learner } from './learner.js';

/** The trained model's own classifier, kept as the learner's first task. */
export interface KeptHead {
  /** The first task's name, e.g. 'clothing'. */
  name: string;
  /** The names of its outputs, in order. Default '0', '1', …. */
  classNames?: readonly string[];
}

export interface PretrainedOptions {
  /**
   * The scenario (or its layout) to learn with the pretrained network, when known up front. Leave it
   * out to add tasks one at a time with `learn`.
   */
  scenario?: ScenarioLayout;
  /** Without a scenario: 'task' (default), 'domain' or 'class'. */
  setting?: Setting;
  /**
   * The name of the layer whose output becomes the features; the layers after it are the old
   * classifier. Default: the layer feeding the model's last layer with weights.
   */
  cutAt?: string;
  /**
   * Keep the classifier (the layers after `cutAt`) as the first task, already learned: its answers are
   * the model's own. Without it the classifier is dropped.
   */
  keepHead?: KeptHead;
  /** Seeds the new heads. Default 0. */
  seed?: number;
}

/** A new layer of the registered class `className` built from `config`. */
function layerFromConfig(className: string, config: tf.serialization.ConfigDict): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw new ModelError(`TensorFlow.js has no layer class '${className}' registered`);
  return entry[1](
    entry[0] as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    JSON.parse(JSON.stringify(config)) as tf.serialization.ConfigDict,
  ) as unknown as tf.layers.Layer;
}

/** A copy of `model` with its own layers and weights (the same architecture and values). */
function copyOf(model: tf.LayersModel): tf.LayersModel {
  const copy = layerFromConfig(model.getClassName(), model.getConfig()) as unknown as tf.LayersModel;
  copy.setWeights(model.getWeights());
  return copy;
}

function isSoftmax(layer: tf.layers.Layer): boolean {
  const name = layer.getClassName();
  return name === 'Softmax' || (name === 'Activation' && layer.getConfig().activation === 'softmax');
}

/** The default cut: the layer feeding the model's last layer with weights. */
function defaultCut(model: tf.LayersModel): tf.layers.Layer {
  const layers = model.layers;
  let last = layers.length - 1;
  while (last > 0 && layers[last].weights.length === 0) last--;
  if (last < 1 || layers[last - 1].getClassName() === 'InputLayer') {
    throw new ModelError(
      'the model has a single layer with weights; there is nothing to keep once its classifier is cut off',
    );
  }
  return layers[last - 1];
}

/** The layers after `cut` up to the output, checked to be one chain. */
function layersAfter(model: tf.LayersModel, cut: tf.layers.Layer): tf.layers.Layer[] {
  const at = model.layers.indexOf(cut);
  const rest = model.layers.slice(at + 1);
  let previous = cut;
  for (const layer of rest) {
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1 || nodes[0].inboundLayers.length !== 1 || nodes[0].inboundLayers[0] !== previous) {
      throw new ModelError(
        `the layers after '${cut.name}' are not one chain ('${layer.name}' does not simply follow '${previous.name}'); ` +
          'keepHead needs a classifier that is a chain of layers: cut at a later layer',
      );
    }
    previous = layer;
  }
  if (model.outputs.length !== 1 || model.outputs[0].sourceLayer !== previous) {
    throw new ModelError(
      `the model's output is not the end of the layers after '${cut.name}'; keepHead needs one output`,
    );
  }
  return rest;
}

/**
 * The classifier after the cut as a head from the flattened features to logits. A softmax at the end is
 * left out (the learner applies it), so the learner's answers are the model's own.
 */
function keptHead(model: tf.LayersModel, cut: tf.layers.Layer, featureShape: number[]): tf.LayersModel {
  const rest = layersAfter(model, cut);
  if (rest.length === 0) {
    throw new ModelError(
      `'${cut.name}' is the model's last layer: there is no classifier after it to keep; cut at an earlier layer`,
    );
  }
  let chain = rest;
  let last: tf.layers.Layer | null = null;
  const end = rest[rest.length - 1];
  if (isSoftmax(end)) {
    chain = rest.slice(0, -1);
    if (chain.length === 0)
      throw new ModelError(`nothing but a softmax follows '${cut.name}'; cut at an earlier layer`);
  } else if (end.getClassName() === 'Dense') {
    const activation = end.getConfig().activation;
    if (activation === 'softmax') {
      // The same Dense layer without its softmax: its own weights, copied.
      const config = end.getConfig();
      last = tf.layers.dense({
        units: config.units as number,
        useBias: config.useBias as boolean,
        name: `${end.name}_logits`,
      });
      chain = rest.slice(0, -1);
    } else if (activation !== 'linear') {
      throw new ModelError(
        `the classifier ends in a Dense layer with activation '${String(activation)}'; keepHead needs class ` +
          'probabilities (softmax) or logits (linear) at the end',
      );
    }
  } else {
    throw new ModelError(
      `the classifier after '${cut.name}' ends in a ${end.getClassName()} layer; keepHead needs it to end in a Dense ` +
        'layer (with or without softmax) or a softmax',
    );
  }
  const size = featureShape.reduce((a, b) => a * b, 1);
  const input = tf.input({ shape: [size] });
  let y: tf.SymbolicTensor = input;
  if (featureShape.length > 1)
    y = tf.layers.reshape({ targetShape: featureShape }).apply(y) as tf.SymbolicTensor;
  // Fresh layers with the classifier's configs and weights: the head owns its weights, and the
  // model the user gave stays theirs.
  const copies = chain.map((layer) => {
    const copy = layerFromConfig(layer.getClassName(), layer.getConfig());
    y = copy.apply(y) as tf.SymbolicTensor;
    copy.setWeights(layer.getWeights());
    return copy;
  });
  void copies;
  if (last !== null) {
    y = last.apply(y) as tf.SymbolicTensor;
    last.setWeights(end.getWeights());
  }
  if (y.shape.length !== 2) {
    throw new ModelError(
      `the classifier after '${cut.name}' gives outputs of shape [${y.shape.slice(1).join(', ')}]; it must give one score per class`,
    );
  }
  return tf.model({ inputs: input, outputs: y, name: 'kept-head' });
}

/**
 * Builds a learner on a trained TensorFlow.js model: its layers up to `cutAt` become the trunk. With
 * `keepHead`, the layers after the cut become the first task's head, already learned (its answers are
 * bit for bit the model's own); without it they are dropped and new heads come with the tasks. This is
 * how a network trained for one job (clothing) is brought to a new one (digits) without its old data.
 *
 * ```ts
 * const model = await tf.loadLayersModel('file://models/clothing/model.json');
 * const l = fromPretrained(model, { cutAt: 'features', keepHead: { name: 'clothing', classNames } });
 * await learn(l, { name: 'digits', train, test }, strategies.lwf());
 * ```
 */
export function fromPretrained(given: tf.LayersModel, options: PretrainedOptions = {}): Learner {
  // The learner works on its own copy: training it leaves the given model as it was, and either can
  // be disposed without the other.
  const model = copyOf(given);
  try {
    const learner = adopt(model, options);
    // The copy's layers after the cut are not the learner's (the kept head has copies of its own).
    const cut = learner.trunk.outputs[0].sourceLayer;
    for (const layer of model.layers.slice(model.layers.indexOf(cut) + 1)) layer.dispose();
    return learner;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function adopt(model: tf.LayersModel, options: PretrainedOptions): Learner {
  const names = model.layers.map((l) => l.name);
  let cut: tf.layers.Layer;
  if (options.cutAt === undefined) cut = defaultCut(model);
  else {
    if (!names.includes(options.cutAt)) {
      throw new ModelError(
        `the model has no layer named '${options.cutAt}'; its layers are: ${names.join(', ')}`,
      );
    }
    cut = model.getLayer(options.cutAt);
  }
  if (Array.isArray(cut.output)) {
    throw new ModelError(`layer '${cut.name}' has several outputs; cut at a layer with one output`);
  }
  if (model.inputs.length !== 1) {
    throw new ModelError(
      `the model has ${model.inputs.length} inputs; unforget works with models of one input`,
    );
  }
  if (options.keepHead && options.scenario) {
    throw new OptionError(
      'give keepHead or a scenario, not both: with keepHead the learner starts from the model’s own task and takes new ones with learn',
    );
  }
  const setting = options.scenario?.setting ?? options.setting ?? 'task';
  if (!settings.includes(setting)) {
    throw new OptionError(`setting must be one of ${settings.join(', ')}; got '${String(setting)}'`);
  }
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  if (inputShape.some((d) => d === null)) {
    throw new ModelError(
      `the model's input shape [${inputShape.join(', ')}] is not fixed; unforget needs a fixed example shape`,
    );
  }
  const output = cut.output as tf.SymbolicTensor;
  const trunk = tf.model({ inputs: model.inputs, outputs: output, name: 'pretrained-trunk' });
  if (!options.keepHead) {
    const layout = options.scenario ?? { name: 'tasks', setting, inputShape, tasks: [] };
    return new Learner(trunk, layout, { seed: options.seed, pretrained: true });
  }
  const { name } = options.keepHead;
  if (typeof name !== 'string' || name.trim() === '') {
    throw new OptionError("keepHead needs the first task's name: keepHead: { name: 'clothing', classNames }");
  }
  const head = keptHead(model, cut, output.shape.slice(1) as number[]);
  const units = head.outputs[0].shape[1] as number;
  const classNames = options.keepHead.classNames ?? Array.from({ length: units }, (_, i) => String(i));
  if (classNames.length !== units) {
    throw new OptionError(
      `the model's classifier has ${units} outputs but ${classNames.length} class names were given; name each output once`,
    );
  }
  if (new Set(classNames).size !== classNames.length) {
    throw new OptionError(`the class names must differ; got ${classNames.join(', ')}`);
  }
  const layout: ScenarioLayout = {
    name: 'tasks',
    setting,
    inputShape,
    tasks: [{ name, classes: classNames.map((_, i) => i), classNames: [...classNames] }],
  };
  const learner = new Learner(trunk, layout, { seed: options.seed, pretrained: true, heads: [head] });
  learner.trainedTasks = 1;
  learner.history.push({
    name,
    source: `adopted: ${model.name}`,
    accuracies: [null],
    learnedAt: new Date().toISOString(),
    strategy: 'adopted',
  });
  return learner;
}
