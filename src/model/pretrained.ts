import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import type { ScenarioLayout } from '../scenarios/types.js';
import { Learner } from './learner.js';

export interface PretrainedOptions {
  /** The scenario (or its layout) to learn with the pretrained network. */
  scenario: ScenarioLayout;
  /**
   * The name of the layer whose output becomes the features; the layers after it (the old
   * classifier) are dropped. Default: the layer before the model's last layer.
   */
  cutAt?: string;
  /** Seeds the new heads. Default 0. */
  seed?: number;
}

/**
 * Builds a learner on a trained TensorFlow.js model: its layers up to `cutAt` become the trunk, and new
 * heads are added for the scenario. This is how a network trained for one job (faces) is brought to a
 * new one (sausages).
 *
 * ```ts
 * const model = await tf.loadLayersModel('file://models/faces/model.json');
 * const l = fromPretrained(model, { scenario, cutAt: 'dense1' });
 * ```
 */
export function fromPretrained(model: tf.LayersModel, options: PretrainedOptions): Learner {
  const names = model.layers.map((l) => l.name);
  let cut: tf.layers.Layer;
  if (options.cutAt === undefined) {
    if (model.layers.length < 2) {
      throw new ModelError(
        'the model has a single layer; there is nothing to keep once its classifier is cut off',
      );
    }
    cut = model.layers[model.layers.length - 2];
  } else {
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
  const trunk = tf.model({
    inputs: model.inputs,
    outputs: cut.output as tf.SymbolicTensor,
    name: 'pretrained-trunk',
  });
  return new Learner(trunk, options.scenario, { seed: options.seed, pretrained: true });
}
