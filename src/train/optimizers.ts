import * as tf from '@tensorflow/tfjs';
import { fusedAdamKernel, fusedAdamNative, type FusedAdamAttrs } from '../backend/wasm/adam.js';
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
  if (name === 'adam')
    return fusedAdamAvailable() ? new FusedAdam(learningRate) : tf.train.adam(learningRate);
  return momentum > 0 ? tf.train.momentum(learningRate, momentum) : tf.train.sgd(learningRate);
}

/**
 * Whether `makeOptimizer` uses the fused Adam: the current backend has its kernel (wasm with
 * unforget's training kernels) and runs it natively. Its JavaScript loop is no faster than
 * TensorFlow.js's own Adam on wasm (bench/kernels.ts --adam tf,fused), so it is not chosen alone.
 */
export function fusedAdamAvailable(): boolean {
  return tf.getKernel(fusedAdamKernel, tf.getBackend()) !== undefined && fusedAdamNative();
}

/**
 * Adam with tf.train.adam's defaults and math (β₁ 0.9, β₂ 0.999, the backend's ε, bias correction),
 * each variable updated by one fused kernel instead of about ten element-wise ones. Only for
 * backends that register the kernel; `makeOptimizer` picks it where `fusedAdamAvailable()`.
 *
 * ```ts
 * const optimizer = new FusedAdam(1e-3);
 * optimizer.minimize(() => loss(model, batch));
 * ```
 */
export class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return 'UnforgetFusedAdam';
  }

  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private step = 0;

  constructor(
    readonly learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = tf.backend().epsilon(),
  ) {
    super();
  }

  applyGradients(variableGradients: Parameters<tf.Optimizer['applyGradients']>[0]): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients.map(({ name, tensor }) => [name, tensor] as const)
      : Object.entries(variableGradients);
    this.step++;
    const attrs: FusedAdamAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      step: this.step,
    };
    for (const [name, gradient] of named) {
      if (gradient === null || gradient === undefined) continue;
      const value = tf.engine().registeredVariables[name];
      let moment = this.moments.get(name);
      if (!moment) {
        const zeros = () => tf.tidy(() => tf.zerosLike(value).variable(false));
        moment = { m: zeros(), v: zeros() };
        this.moments.set(name, moment);
      }
      const { m, v } = moment;
      // The kernel updates m and v in place (they are this optimizer's own) and returns the new value.
      const out = tf.engine().runKernel<tf.Tensor>(fusedAdamKernel, { value, gradient, m, v }, attrs);
      value.assign(out);
      out.dispose();
    }
    this.incrementIterations();
  }

  override dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }

  getConfig(): tf.serialization.ConfigDict {
    const { learningRate, beta1, beta2, epsilon } = this;
    return { learningRate, beta1, beta2, epsilon };
  }
}
