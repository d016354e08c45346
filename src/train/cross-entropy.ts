import * as tf from '@tensorflow/tfjs';
import {
  softmaxCrossEntropyGradKernel,
  softmaxCrossEntropyKernel,
} from '../backend/wasm/softmax-cross-entropy.js';

/**
 * The classification loss: the mean over rows of −log softmax(logits)[target], as
 * `tf.losses.softmaxCrossEntropy(tf.oneHot(targets, classes), logits)`, which it is on backends
 * without unforget's kernels (the same numbers, bit for bit). On wasm with unforget's kernels the loss
 * and its gradient, (softmax − one-hot) / rows, are one kernel each instead of about 25.
 *
 * ```ts
 * const loss = sparseSoftmaxCrossEntropy(model.predict(x) as tf.Tensor2D, tf.tensor1d([3, 1], 'int32'));
 * ```
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const classes = logits.shape[1];
  if (tf.getKernel(softmaxCrossEntropyKernel, tf.getBackend()) === undefined) {
    return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(targets, classes), logits) as tf.Scalar);
  }
  const f = tf.customGrad((x, save) => {
    const [loss, probs] = tf.engine().runKernel<tf.Tensor[]>(softmaxCrossEntropyKernel, {
      logits: x as tf.Tensor2D,
      targets,
    }) as [tf.Scalar, tf.Tensor2D];
    // Kept with the softmax: the caller's targets may be gone by the time the gradient runs.
    (save as tf.GradSaveFunc)([probs, targets]);
    probs.dispose();
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, [p, t]: tf.Tensor[]) =>
        tf.engine().runKernel(softmaxCrossEntropyGradKernel, { probs: p, targets: t, dy }),
    };
  });
  return f(logits) as tf.Scalar;
}
