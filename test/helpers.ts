import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/select.js';

/** Starts the backend the tests run on (UNFORGET_TEST_BACKEND, default: the automatic choice). */
export async function testBackend(): Promise<string> {
  const name = (process.env.UNFORGET_TEST_BACKEND ?? 'auto') as Parameters<typeof useBackend>[0];
  return useBackend(name, null);
}

/** Runs `f` and returns how many tensors it left behind. */
export async function leakedTensors(f: () => Promise<unknown> | unknown): Promise<number> {
  const before = tf.memory().numTensors;
  await f();
  return tf.memory().numTensors - before;
}
