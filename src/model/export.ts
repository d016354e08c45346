import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import { activeOutputs, headIndex } from '../scenarios/types.js';
import type { Learner } from './learner.js';
import { isMasked } from './masked.js';

/** A layer's entry in a functional model's config: its class, config, name and where its inputs come from. */
interface LayerEntry {
  className: string;
  config: Record<string, unknown>;
  name: string;
  inboundNodes: unknown[];
}

/** A functional model's config, as `getConfig()` gives it. */
interface ModelConfig {
  name: string;
  layers: LayerEntry[];
  inputLayers: unknown[];
  outputLayers: [string, number, number][];
}

/**
 * One task of a learner as a plain `tf.LayersModel`: the trunk's layers with the task's weights baked
 * in (a PackNet or Piggyback mask applied), the task's head, its last Dense layer giving probabilities
 * (softmax). One flat model of built-in layers: save it with `model.save(...)` and any TensorFlow.js app
 * loads it with `tf.loadLayersModel`, without unforget, and gets the learner's answers for that task.
 * In the class setting it answers over every class learned so far; in the domain setting over the
 * shared head's outputs.
 *
 * ```ts
 * const model = exportTask(learner, 'digits');
 * await model.save(fileHandler('exported/digits')); // in a browser: 'downloads://digits'
 * ```
 */
export function exportTask(learner: Learner, task: number | string): tf.LayersModel {
  const index = learner.taskIndex(task);
  const seen = learner.trainedTasks - 1;
  const trunk = learner.trunk;
  const head = learner.heads[headIndex(learner.layout, index)];
  const active = activeOutputs(learner.layout, index, seen);
  const name = `unforget_${learner.layout.tasks[index].name.replace(/[^A-Za-z0-9_-]+/g, '_')}`;
  const config = flatConfig(trunk, head, active, name);

  // Let the strategies set each masked layer's kernel for this task, as for an inference pass, and
  // take the kernels it would compute with.
  for (const hook of learner.beforeForward) hook(index, false);
  const model = fromConfig('Model', config as unknown as tf.serialization.ConfigDict) as tf.LayersModel;
  tf.tidy(() => {
    const trunkWeights = trunk.layers.flatMap((layer) => {
      const masked = isMasked(layer) && layer.transform !== null ? layer : null;
      return layer.weights.map((w) =>
        masked?.transform && w === masked.maskedWeight ? masked.transform(w.read()) : w.read(),
      );
    });
    // The class setting's head has room for classes not learned yet: its live outputs only.
    const headWeights = head.getWeights();
    const lastCount = head.layers[head.layers.length - 1].weights.length;
    const narrowed = headWeights.map((w, i) => {
      if (i < headWeights.length - lastCount || w.shape[w.rank - 1] === active) return w;
      return w.rank === 1 ? w.slice([0], [active]) : w.slice([0, 0], [-1, active]);
    });
    model.setWeights([...trunkWeights, ...narrowed]);
  });
  return model;
}

/** A new layer or model of the registered class `className`, built from `config`. */
function fromConfig(className: string, config: tf.serialization.ConfigDict): tf.serialization.Serializable {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw new ModelError(`TensorFlow.js has no class '${className}' registered`);
  return entry[1](
    entry[0] as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    config,
  );
}

/**
 * The config of one functional model: the trunk's layers (masked layers serialise as their plain
 * twins), a Flatten when the features are not flat, then the head's layers, its last Dense narrowed
 * to `units` outputs with a softmax.
 */
function flatConfig(trunk: tf.LayersModel, head: tf.LayersModel, units: number, name: string): ModelConfig {
  const model = JSON.parse(JSON.stringify(trunk.getConfig())) as ModelConfig;
  if (!Array.isArray(model.layers) || !Array.isArray(model.outputLayers) || model.outputLayers.length !== 1) {
    throw new ModelError(
      `the trunk '${trunk.name}' is not a functional model with one output; it cannot be exported as one`,
    );
  }
  const names = new Set(model.layers.map((l) => l.name));
  let [from, node, tensor] = model.outputLayers[0];
  const append = (className: string, config: Record<string, unknown>) => {
    let layerName = String(config.name);
    while (names.has(layerName)) layerName += '_head';
    names.add(layerName);
    model.layers.push({
      className,
      config: { ...config, name: layerName },
      name: layerName,
      inboundNodes: [[[from, node, tensor, {}]]],
    });
    [from, node, tensor] = [layerName, 0, 0];
  };
  if (trunk.outputs[0].shape.length !== 2)
    append('Flatten', { name: 'features_flat', trainable: true, dtype: 'float32' });
  const headConfig = JSON.parse(JSON.stringify(head.getConfig())) as {
    layers: { className: string; config: Record<string, unknown> }[];
  };
  const layers = headConfig.layers.filter((l) => l.className !== 'InputLayer');
  const last = layers[layers.length - 1];
  if (last.className !== 'Dense' || last.config.activation !== 'linear') {
    throw new ModelError(
      `the head ends in a ${last.className} layer; exporting needs it to end in a linear Dense layer`,
    );
  }
  for (const layer of layers.slice(0, -1)) {
    const config = { ...layer.config };
    delete config.batchInputShape;
    append(layer.className, config);
  }
  const config: Record<string, unknown> = { ...last.config, units, activation: 'softmax' };
  delete config.batchInputShape;
  append('Dense', config);
  model.outputLayers = [[from, node, tensor]];
  model.name = name;
  return model;
}
