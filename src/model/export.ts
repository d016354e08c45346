import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors.js';
import { activeOutputs, headIndex } from '../scenarios/types.js';
import type { Learner } from './learner.js';
import { isMasked } from './masked.js';

/**
 * One task of a learner as a plain `tf.LayersModel`: the trunk with the task's weights baked in (a
 * PackNet or Piggyback mask applied), the task's head, and a softmax. It needs nothing of unforget:
 * save it with `model.save(...)` and any TensorFlow.js app loads it with `tf.loadLayersModel`, with the
 * learner's answers for that task. In the class setting it answers over every class learned so far;
 * in the domain setting over the shared head's outputs.
 *
 * ```ts
 * const model = exportTask(learner, 'digits');
 * await model.save('file://exported/digits'); // in Node: fileHandler('exported/digits')
 * ```
 */
export function exportTask(learner: Learner, task: number | string): tf.LayersModel {
  const index = learner.taskIndex(task);
  const seen = learner.trainedTasks - 1;
  // Let the strategies set each masked layer's kernel for this task, as for an inference pass.
  for (const hook of learner.beforeForward) hook(index, false);
  const trunk = learner.trunk;
  const effective = tf.tidy(() =>
    trunk.layers.flatMap((layer) => {
      const masked = isMasked(layer) && layer.transform !== null ? layer : null;
      return layer.weights.map((w) =>
        masked && w === masked.maskedWeight && masked.transform
          ? tf.clone(masked.transform(w.read()))
          : w.read().clone(),
      );
    }),
  );
  // A plain copy of the trunk: masked layers serialise under their plain class names.
  const trunkCopy = deserialize(trunk);
  trunkCopy.setWeights(effective);
  tf.dispose(effective);
  const head = learner.heads[headIndex(learner.layout, index)];
  const active = activeOutputs(learner.layout, index, seen);
  // The class setting's head has room for classes not learned yet: keep the live outputs only. The
  // head's last Dense layer gives probabilities (softmax), computed as the learner computes them.
  const headCopy = deserialize(head, active);
  tf.tidy(() => {
    const weights = head.getWeights();
    const last = head.layers[head.layers.length - 1].weights.length;
    const at = weights.length - last;
    headCopy.setWeights(
      weights.map((w, i) => {
        if (i < at || w.shape[w.rank - 1] === active) return w;
        return w.rank === 1 ? w.slice([0], [active]) : w.slice([0, 0], [-1, active]);
      }),
    );
  });

  const input = tf.input({ shape: [...learner.layout.inputShape] });
  let y = trunkCopy.apply(input) as tf.SymbolicTensor;
  if (y.shape.length !== 2) y = tf.layers.flatten({ name: 'features_flat' }).apply(y) as tf.SymbolicTensor;
  y = headCopy.apply(y) as tf.SymbolicTensor;
  const name = learner.layout.tasks[index].name.replace(/[^A-Za-z0-9_-]+/g, '_');
  return tf.model({ inputs: input, outputs: y, name: `unforget_${name}` });
}

/**
 * A fresh model with the same architecture as `model` (masked layers come back as their plain twins),
 * its last layer narrowed to `units` outputs when given.
 */
function deserialize(model: tf.LayersModel, units?: number): tf.LayersModel {
  const config = JSON.parse(JSON.stringify(model.getConfig())) as tf.serialization.ConfigDict;
  if (units !== undefined) {
    const layers = config.layers as unknown as object[];
    const last = layers[layers.length - 1] as unknown as {
      className: string;
      config: Record<string, unknown>;
    };
    if (last.className !== 'Dense')
      throw new ModelError(`the head ends in a ${last.className} layer, not Dense`);
    if (last.config.activation !== 'linear') {
      throw new ModelError(
        `the head's last Dense layer has activation '${String(last.config.activation)}'; it must give logits`,
      );
    }
    last.config.units = units;
    last.config.activation = 'softmax';
  }
  const className = model.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  return entry[1](
    entry[0] as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    config,
  ) as tf.LayersModel;
}
