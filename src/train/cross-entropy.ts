import * as tf from '@tensorflow/tfjs';
import {
  softmaxCrossEntropyGradKernel,
  softmaxCrossEntropyKernel,
} from '../backend/wasm/softmax-cross-entropy.js';

/**
 * The classification loss: the mean over rows of −log softmax(logits)[target] (as
 * `tf.losses.softmaxCrossEntropy(tf.oneHot(targets, classes), logits)`), with its gradient
 * (softmax − one-hot) / rows. On wasm with unforget's kernels the loss and its gradient are one kernel
 * each; elsewhere they are built from TensorFlow.js ops.
 *
 * ```ts
 * const loss = sparseSoftmaxCrossEntropy(model.predict(x) as tf.Tensor2D, tf.tensor1d([3, 1], 'int32'));
 * ```
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const fused = tf.getKernel(softmaxCrossEntropyKernel, tf.getBackend()) !== undefined;
  const classes = logits.shape[1];
  const f = tf.customGrad((x, save) => {
    const input = x as tf.Tensor2D;
    let loss: tf.Scalar;
    let probs: tf.Tensor2D;
    if (fused) {
      [loss, probs] = tf.engine().runKernel<tf.Tensor[]>(softmaxCrossEntropyKernel, {
        logits: input,
        targets,
      }) as [tf.Scalar, tf.Tensor2D];
    } else {
      [loss, probs] = tf.tidy(() => {
        const logProbs = tf.logSoftmax(input);
        const picked = tf.sum(tf.mul(logProbs, tf.oneHot(targets, classes)), 1);
        return [tf.neg(tf.mean(picked)) as tf.Scalar, tf.exp(logProbs) as tf.Tensor2D];
      });
    }
    // Kept with the softmax: the caller's targets may be gone by the time the gradient runs.
    (save as tf.GradSaveFunc)([probs, targets]);
    probs.dispose();
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, t] = saved;
        if (fused) return tf.engine().runKernel(softmaxCrossEntropyGradKernel, { probs: p, targets: t, dy });
        return tf.tidy(() => tf.sub(p, tf.oneHot(t as tf.Tensor1D, classes)).mul(tf.div(dy, p.shape[0])));
      },
    };
  });
  return f(logits) as tf.Scalar;
}
