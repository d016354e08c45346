import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../errors.js';
import { childSeed, seededRandom } from '../random.js';

/** A multi-layer perceptron: flatten, then fully connected ReLU layers. */
export interface MlpSpec {
  kind: 'mlp';
  /** Widths of the hidden layers. Default [400, 400]. */
  hidden?: readonly number[];
}

/** A small convolutional network: 3×3 convolutions with ReLU, each followed by 2×2 max-pooling, then a dense layer. */
export interface CnnSpec {
  kind: 'cnn';
  /** Filters of each convolution. Default [32, 64]. */
  filters?: readonly number[];
  /** Width of the dense layer after the convolutions. Default 128. */
  dense?: number;
}

export type BackboneSpec = MlpSpec | CnnSpec;
export const backboneKinds = ['mlp', 'cnn'] as const;

function checkWidths(name: string, widths: readonly number[]): void {
  for (const w of widths) {
    if (!Number.isInteger(w) || w < 1) {
      throw new OptionError(`${name} must be positive whole numbers; got [${widths.join(', ')}]`);
    }
  }
}

/**
 * Builds a trunk (input → features) for examples of `inputShape`. Weights are initialised from `seed`,
 * so the same seed gives the same network.
 */
export function buildBackbone(spec: BackboneSpec, inputShape: readonly number[], seed = 0): tf.LayersModel {
  const random = seededRandom(seed);
  const init = () => tf.initializers.glorotUniform({ seed: childSeed(random) });
  const input = tf.input({ shape: [...inputShape] });
  let x: tf.SymbolicTensor;
  if (spec.kind === 'mlp') {
    const hidden = spec.hidden ?? [400, 400];
    checkWidths('hidden layer widths', hidden);
    x =
      inputShape.length > 1
        ? (tf.layers.flatten({ name: 'flatten' }).apply(input) as tf.SymbolicTensor)
        : input;
    hidden.forEach((units, i) => {
      x = tf.layers
        .dense({ units, activation: 'relu', kernelInitializer: init(), name: `dense${i + 1}` })
        .apply(x) as tf.SymbolicTensor;
    });
  } else if (spec.kind === 'cnn') {
    const filters = spec.filters ?? [32, 64];
    const dense = spec.dense ?? 128;
    checkWidths('filters', filters);
    checkWidths('dense width', [dense]);
    if (inputShape.length !== 3) {
      throw new OptionError(
        `the cnn backbone needs images [height, width, channels]; got examples of shape [${inputShape.join(', ')}]`,
      );
    }
    x = input;
    filters.forEach((f, i) => {
      x = tf.layers
        .conv2d({
          filters: f,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: init(),
          name: `conv${i + 1}`,
        })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers.maxPooling2d({ poolSize: 2, name: `pool${i + 1}` }).apply(x) as tf.SymbolicTensor;
    });
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .dense({ units: dense, activation: 'relu', kernelInitializer: init(), name: 'dense1' })
      .apply(x) as tf.SymbolicTensor;
  } else {
    const kind = (spec as { kind: unknown }).kind;
    throw new OptionError(`unknown backbone '${String(kind)}'; use one of: ${backboneKinds.join(', ')}`);
  }
  return tf.model({ inputs: input, outputs: x, name: `${spec.kind}-trunk` });
}
