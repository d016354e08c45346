import * as tf from '@tensorflow/tfjs';
import { asKernelFunc, callKernel, type KernelArgs } from './backend.js';

/**
 * Identity (`tf.clone`, and the engine's copy of every tensor a gradient keeps for the backward
 * pass): the same bytes under a new tensor, counted by reference, as the cpu backend does and as
 * the wasm backend's own Reshape does. Strings go to the shipped kernel.
 *
 * Why faster: the shipped kernel copies the bytes, and training clones each layer's input, weights and
 * output on every step (a few MB per step of a 784-400-400-10 network at batch 128). Sharing is safe
 * because no kernel on the wasm backend writes into a tensor's bytes after the kernel that made them
 * (the fused Adam's moments, which it overwrites, are never cloned, and it checks).
 */
function identity({ inputs, backend }: KernelArgs<tf.IdentityInputs, tf.NamedAttrMap>): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return callKernel(backend, tf.Identity, { x }, {});
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: asKernelFunc(identity),
};
