import * as tf from '@tensorflow/tfjs';

/**
 * A trunk read as a chain of layers, for the code that computes a network's passes itself instead of
 * through TensorFlow.js's layers: the vectorised Fisher (strategies/fisher.ts) and the fused training
 * step of Dense networks (train/dense-step.ts).
 */

/** A layer with weights, y = activation(x ∗ kernel + bias). */
export interface WeightStep {
  layer: tf.layers.Layer;
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: tf.layers.Layer | null;
  /** The activation's name in the layer's config ('linear' when none). */
  activationName: string;
}
export interface DenseStep extends WeightStep {
  kind: 'dense';
}
export interface ConvStep extends WeightStep {
  kind: 'conv';
  strides: [number, number];
  padding: 'valid' | 'same';
}
export interface PlainStep {
  kind: 'plain';
  layer: tf.layers.Layer;
}
export type Step = DenseStep | ConvStep | PlainStep;

/** The kernel, bias and activation of a layer whose weights are [kernel of rank `rank`, bias?]. */
function weightStep(layer: tf.layers.Layer, rank: number): WeightStep | null {
  const config = layer.getConfig();
  const kernel = layer.weights[0];
  if (!kernel || kernel.shape.length !== rank || layer.weights.length > 2) return null;
  const bias = config.useBias === false ? null : (layer.weights[1] ?? null);
  if (config.useBias !== false && !bias) return null;
  const name = typeof config.activation === 'string' ? config.activation : 'linear';
  let activation: tf.layers.Layer | null = null;
  if (name !== 'linear') {
    try {
      activation = tf.layers.activation({ activation: name as 'relu' });
    } catch {
      return null;
    }
  }
  return { layer, kernel, bias, activation, activationName: name };
}

export function denseStep(layer: tf.layers.Layer): DenseStep | null {
  const step = weightStep(layer, 2);
  return step && { kind: 'dense', ...step };
}

/** A Conv2D layer read as a step: channels last, no dilation, valid or same padding. */
function convStep(layer: tf.layers.Layer): ConvStep | null {
  const config = layer.getConfig();
  const pair = (v: unknown) => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);
  const dilation = pair(config.dilationRate ?? 1);
  const strides = pair(config.strides ?? 1);
  const padding = config.padding ?? 'valid';
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') return null;
  if (dilation.some((d) => d !== 1) || (padding !== 'valid' && padding !== 'same')) return null;
  const step = weightStep(layer, 4);
  return step && { kind: 'conv', ...step, strides: [strides[0], strides[1]], padding };
}

/**
 * The trunk as a chain of steps, or null when it is not a single chain of Dense,
 * Conv2D and weightless layers.
 */
export function layerChain(trunk: tf.LayersModel): Step[] | null {
  const steps: Step[] = [];
  let previous: tf.layers.Layer | null = null;
  for (const layer of trunk.layers) {
    const className = layer.getClassName();
    if (className === 'InputLayer') {
      if (previous !== null) return null;
      previous = layer;
      continue;
    }
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1 || nodes[0].inboundLayers.length !== 1) return null;
    if (previous !== null && nodes[0].inboundLayers[0] !== previous) return null;
    if (className === 'Dense' || className === 'Conv2D') {
      const step = className === 'Dense' ? denseStep(layer) : convStep(layer);
      if (!step) return null;
      steps.push(step);
    } else if (layer.weights.length === 0 && className !== 'BatchNormalization') {
      steps.push({ kind: 'plain', layer });
    } else {
      return null;
    }
    previous = layer;
  }
  const last = trunk.outputs[0];
  if (trunk.outputs.length !== 1 || !previous || last.sourceLayer !== previous) return null;
  return steps;
}
