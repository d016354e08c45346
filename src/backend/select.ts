import * as tf from '@tensorflow/tfjs';
import { OptionError } from '../errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'webgl';
export const backendNames: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu', 'webgl'];

let announced = false;

async function tryTfjsNode(): Promise<boolean> {
  try {
    // Optional: present only where the user installed it (its install downloads libtensorflow).
    const name = '@tensorflow/tfjs-node';
    await import(/* @vite-ignore */ name);
    return tf.findBackend('tensorflow') !== null;
  } catch {
    return false;
  }
}

async function activate(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow' && !(await tryTfjsNode())) return false;
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/**
 * Picks the TensorFlow.js backend: `tensorflow` when @tensorflow/tfjs-node is installed, else `wasm`,
 * else `cpu`. A name given overrides the choice and fails if that backend cannot start.
 * On `wasm`, unforget's training kernels are enabled, with the native BLAS addon where it builds.
 * The choice is announced once through `log` (pass `null` to stay quiet), with the reason when
 * the native BLAS could not be used.
 */
export async function useBackend(
  name?: BackendName | 'auto',
  log: ((line: string) => void) | null = (line) => console.error(line),
): Promise<BackendName> {
  if (name !== undefined && name !== 'auto' && !backendNames.includes(name)) {
    throw new OptionError(`unknown backend '${String(name)}'; use one of: auto, ${backendNames.join(', ')}`);
  }
  const candidates: BackendName[] =
    name === undefined || name === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [name];
  for (const candidate of candidates) {
    if (tf.getBackend() === candidate || (await activate(candidate))) {
      await tf.ready();
      let blasOff: string | undefined;
      if (candidate === 'wasm') {
        // The shipped wasm backend cannot train conv nets and trains Dense layers slowly; see src/backend/wasm/.
        const { enableWasmTrainingKernels, nativeBlasStatus } = await import('./wasm/index.js');
        enableWasmTrainingKernels();
        const blas = nativeBlasStatus();
        // Said only where the user did not turn it off themselves.
        if (!blas.active && !blas.reason?.startsWith('turned off')) blasOff = blas.reason;
      }
      if (!announced && log) {
        log(`unforget: using the TensorFlow.js '${candidate}' backend`);
        if (blasOff) log(`unforget: native BLAS off: ${blasOff}; using the wasm kernels`);
      }
      announced = true;
      return candidate;
    }
  }
  throw new OptionError(
    `the '${String(name)}' backend could not start; ` +
      (name === 'tensorflow' ? 'install @tensorflow/tfjs-node, or ' : '') +
      'use --backend auto to pick one that works here',
  );
}
