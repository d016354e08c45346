import * as tf from '@tensorflow/tfjs';
import { f32, type WasmBackend } from '../backend/wasm/backend.js';
import { UnforgetError } from '../errors.js';
import type { Replica } from '../train/replica.js';

/**
 * The memory the replicas of one run share: a small control block (a barrier, and a failure flag with
 * its message) and a growable block for the gradients. Both cross to worker threads as they are.
 */
export interface SharedMemory {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

/** A replica stopped because another one failed (or the run was called off). */
export class ReplicaError extends UnforgetError {}

// The control block, as Int32 slots: the barrier's arrivals and generation, who failed, the message.
const ARRIVED = 0;
const GENERATION = 1;
const FAILED = 2;
const MESSAGE_BYTES = 3;
const MESSAGE_AT = 16;
const MESSAGE_MAX = 2048;
/** The gradients of a very large network (or many replicas) would not fit: say so rather than fail oddly. */
const DATA_MAX = 2 ** 31;

/** A float32 tensor's values: on wasm a view of its bytes on the heap (no copy), else a copy. */
function valuesOf(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') return f32(tf.backend() as unknown as WasmBackend, t);
  return t.dataSync() as Float32Array;
}

/** Fresh shared memory for `count` replicas. */
export function sharedMemory(): SharedMemory {
  // Node ≥ 20 grows SharedArrayBuffers in place (ES2024); the TypeScript library here predates it.
  const Growable = SharedArrayBuffer as unknown as new (
    bytes: number,
    options: { maxByteLength: number },
  ) => SharedArrayBuffer;
  return {
    control: new SharedArrayBuffer(MESSAGE_AT + MESSAGE_MAX),
    data: new Growable(0, { maxByteLength: DATA_MAX }),
  };
}

/** Marks the run failed with `message` and wakes every replica waiting at the barrier. */
export function failShared(memory: SharedMemory, by: number, message: string): void {
  const control = new Int32Array(memory.control);
  if (Atomics.compareExchange(control, FAILED, 0, by + 1) !== 0) return;
  const bytes = new TextEncoder().encode(message).subarray(0, MESSAGE_MAX);
  new Uint8Array(memory.control, MESSAGE_AT, MESSAGE_MAX).set(bytes);
  Atomics.store(control, MESSAGE_BYTES, bytes.length);
  Atomics.notify(control, GENERATION);
}

/** Why the run failed, when a replica marked it failed. */
export function sharedFailure(memory: SharedMemory): { by: number; message: string } | null {
  const control = new Int32Array(memory.control);
  const by = Atomics.load(control, FAILED);
  if (by === 0) return null;
  const length = Atomics.load(control, MESSAGE_BYTES);
  const message = new TextDecoder().decode(new Uint8Array(memory.control, MESSAGE_AT, length).slice());
  return { by: by - 1, message };
}

/**
 * Replica `index` of `count`, summing gradients through `memory`. Each replica writes its gradients
 * to its own slot, waits at a barrier, then adds every slot up in replica order (so all of them get
 * the same bits). The slots alternate between two halves from step to step, so that one barrier per
 * step keeps a replica from overwriting a slot another one still reads.
 */
export function sharedReplica(memory: SharedMemory, index: number, count: number): Replica {
  const control = new Int32Array(memory.control);
  const data = memory.data as SharedArrayBuffer & { grow(bytes: number): void };
  let step = 0;
  let stop = false;

  const checkFailed = () => {
    const failure = sharedFailure(memory);
    if (failure) {
      throw new ReplicaError(
        failure.by === index
          ? failure.message
          : `training thread ${failure.by + 1} of ${count} failed: ${failure.message}`,
      );
    }
  };

  const barrier = () => {
    const generation = Atomics.load(control, GENERATION);
    checkFailed();
    if (Atomics.add(control, ARRIVED, 1) === count - 1) {
      Atomics.store(control, ARRIVED, 0);
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      return;
    }
    while (Atomics.load(control, GENERATION) === generation) {
      Atomics.wait(control, GENERATION, generation, 250);
      checkFailed();
    }
  };

  return {
    index,
    count,
    stopping: () => stop,
    reduce(variables, gradients, loss, stopHere) {
      const sizes = variables.map((v) => v.size);
      // A slot: the loss and the stop flag (float64), a flag per variable (its gradient is there), the gradients.
      const headBytes = 16 + 4 * variables.length;
      const slotBytes = Math.ceil((headBytes + 4 * sizes.reduce((a, b) => a + b, 0)) / 8) * 8;
      const needed = 2 * count * slotBytes;
      if (needed > DATA_MAX) {
        throw new ReplicaError(
          `the gradients of ${variables.length} variables take ${slotBytes} bytes per thread, too many to share; train with workers: 1`,
        );
      }
      if (data.byteLength < needed) {
        try {
          data.grow(needed);
        } catch (e) {
          // Another replica grew it first (every replica asks for the same size).
          if (data.byteLength < needed) throw e;
        }
      }
      const slot = (k: number) => ((step % 2) * count + k) * slotBytes;
      const mine = slot(index);
      const head = new Float64Array(data, mine, 2);
      head[0] = loss;
      head[1] = stopHere ? 1 : 0;
      const present = new Float32Array(data, mine + 16, variables.length);
      let at = mine + headBytes;
      variables.forEach((v, i) => {
        const g = gradients[v.name];
        present[i] = g ? 1 : 0;
        if (g) new Float32Array(data, at, sizes[i]).set(valuesOf(g));
        at += 4 * sizes[i];
      });
      barrier();
      const wasm = tf.getBackend() === 'wasm';
      let total = 0;
      stop = false;
      const parts: tf.Tensor[][] = variables.map(() => []);
      for (let k = 0; k < count; k++) {
        const from = slot(k);
        const [l, s] = new Float64Array(data, from, 2);
        total += l;
        stop ||= s !== 0;
        const there = new Float32Array(data, from + 16, variables.length);
        let offset = from + headBytes;
        variables.forEach((v, i) => {
          // wasm copies the values onto its heap; other backends may keep the array, which the next steps overwrite.
          const values = new Float32Array(data, offset, sizes[i]);
          if (there[i] !== 0) parts[i].push(tf.tensor(wasm ? values : values.slice(), v.shape));
          offset += 4 * sizes[i];
        });
      }
      step++;
      // In replica order, on every replica alike: the same sums to the bit.
      const summed: tf.NamedTensorMap = {};
      variables.forEach((v, i) => {
        const [first, ...more] = parts[i];
        if (first) summed[v.name] = tf.tidy(() => more.reduce((a, b) => a.add(b), first.clone()));
      });
      tf.dispose(parts.flat());
      return { gradients: summed, loss: total, stop };
    },
  };
}
