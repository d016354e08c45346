import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../errors.js';
import { optimizerNames, type OptimizerName, type StepOptions } from './strategy.js';

/** Fills in and checks the options every strategy takes. */
export function stepOptions(options: StepOptions = {}): Required<StepOptions> {
  const learningRate = options.learningRate ?? 1e-3;
  const optimizer = options.optimizer ?? 'adam';
  const momentum = options.momentum ?? 0;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new OptionError(`learningRate must be a positive number; got ${learningRate}`);
  }
  if (!optimizerNames.includes(optimizer)) {
    throw new OptionError(
      `unknown optimizer '${String(optimizer)}'; use one of: ${optimizerNames.join(', ')}`,
    );
  }
  if (!(momentum >= 0 && momentum < 1)) {
    throw new OptionError(`momentum must be in [0, 1); got ${momentum}`);
  }
  return { learningRate, optimizer, momentum };
}

/** A fresh optimizer (one per task, so no state carries over from the previous task). */
export function makeOptimizer(options: Required<StepOptions>): tf.Optimizer {
  const { learningRate, momentum } = options;
  const name: OptimizerName = options.optimizer;
  if (name === 'adam') return tf.train.adam(learningRate);
  return momentum > 0 ? tf.train.momentum(learningRate, momentum) : tf.train.sgd(learningRate);
}
