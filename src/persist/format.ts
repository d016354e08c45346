import * as tf from '@tensorflow/tfjs';
import { PersistenceError } from '../errors.js';
import { settings, type ScenarioLayout } from '../scenarios/types.js';
import type { TaskRecord } from '../model/learner.js';
import { version } from '../version.js';
import type { Strategy } from '../train/strategy.js';
import { packBits, unpackBits } from '../model/masked.js';

/**
 * The learner's one-folder save format, without the file system: the names, the manifest's shape and
 * how strategy tensors are encoded in state.bin. Node's saver (save.ts) and the web page (which keeps
 * a "folder" as a map from path to bytes) both build on it, so they cannot drift apart.
 */

export const manifestName = 'unforget.json';
export const stateName = 'state.bin';
export const formatName = 'unforget-learner';
/** Bumped when a change makes older versions of unforget unable to read a save. */
export const learnerFormatVersion = 1;

export type Encoding = 'float32' | 'int32' | 'uint16' | 'uint8' | 'bits';

export interface TensorEntry {
  name: string;
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  encoding: Encoding;
  offset: number;
  bytes: number;
}

export interface FileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof formatName;
  formatVersion: number;
  versions: { unforget: string; tfjs: string };
  scenario: ScenarioLayout;
  trainedTasks: number;
  pretrained: boolean;
  heads: number;
  /** Seeds the heads the learner makes for new tasks (absent in saves before sessions: 0). */
  headSeed?: number;
  /** One record per learned task: its data's source and the accuracy row measured after it. */
  history?: TaskRecord[];
  strategy: {
    name: string;
    options: Record<string, number | string | boolean>;
    values: Record<string, unknown>;
    tensors: TensorEntry[];
  } | null;
  files: FileEntry[];
}

/** The narrowest encoding that holds `values` exactly. */
export function encodingOf(dtype: string, values: ArrayLike<number>): Encoding {
  if (dtype === 'float32') return 'float32';
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  if (min < 0) return 'int32';
  if (max <= 1) return 'bits';
  if (max <= 0xff) return 'uint8';
  return max <= 0xffff ? 'uint16' : 'int32';
}

export function encode(encoding: Encoding, values: ArrayLike<number>): Uint8Array {
  switch (encoding) {
    case 'bits':
      return packBits(values);
    case 'uint8':
      return Uint8Array.from(values);
    case 'uint16':
      return new Uint8Array(Uint16Array.from(values).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(values).buffer);
    case 'float32':
      return new Uint8Array(Float32Array.from(values).buffer);
  }
}

export function decode(entry: TensorEntry, bytes: Uint8Array): tf.Tensor {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  // A copy on its own buffer (a Buffer's slice would share the file's), aligned for wider views.
  const copy = new Uint8Array(bytes);
  const values: ArrayLike<number> =
    entry.encoding === 'bits'
      ? unpackBits(copy, count)
      : entry.encoding === 'uint8'
        ? copy
        : entry.encoding === 'uint16'
          ? new Uint16Array(copy.buffer)
          : entry.encoding === 'int32'
            ? new Int32Array(copy.buffer)
            : new Float32Array(copy.buffer);
  if (values.length !== count) {
    throw new PersistenceError(
      `tensor '${entry.name}' in ${stateName} holds ${values.length} values, not ${count}`,
    );
  }
  const typed =
    entry.dtype === 'float32'
      ? Float32Array.from(values)
      : entry.dtype === 'bool'
        ? Uint8Array.from(values)
        : Int32Array.from(values);
  return tf.tensor(typed, entry.shape, entry.dtype);
}

/**
 * A strategy's state as the bytes of state.bin and the manifest entry that describes them. `values`
 * are checked (or normalised) by `checkValues`, which may differ where the file layer does.
 */
export async function encodeState(
  strategy: Strategy,
  checkValues: (name: string, values: Readonly<Record<string, unknown>>) => Record<string, unknown>,
): Promise<{ entry: NonNullable<Manifest['strategy']>; bytes: Uint8Array }> {
  const state = strategy.state?.() ?? { values: {}, tensors: {} };
  const tensors: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(state.tensors)) {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
      throw new PersistenceError(
        `the ${strategy.name} strategy's tensor '${name}' is ${tensor.dtype}; only float32, int32 and bool can be saved`,
      );
    }
    const values = (await tensor.data()) as ArrayLike<number>;
    const encoding = encodingOf(tensor.dtype, values);
    const bytes = encode(encoding, values);
    tensors.push({
      name,
      dtype: tensor.dtype,
      shape: [...tensor.shape],
      encoding,
      offset,
      bytes: bytes.length,
    });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const bytes = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return {
    entry: {
      name: strategy.name,
      options: { ...strategy.options },
      values: checkValues(strategy.name, state.values),
      tensors,
    },
    bytes,
  };
}

/**
 * Checks that parsed JSON is a manifest this version can read: the format's name, a format version
 * no newer than ours, and the fields a saved learner has. `where` names the manifest in messages.
 */
export function checkManifest(json: unknown, where: string): Manifest {
  const m = json as Partial<Manifest>;
  if (typeof json !== 'object' || json === null || m.format !== formatName) {
    throw new PersistenceError(
      `${where} is not an unforget learner manifest (made by another tool?); pick the folder learner.save or the page wrote`,
    );
  }
  if (typeof m.formatVersion !== 'number' || m.formatVersion > learnerFormatVersion) {
    throw new PersistenceError(
      `${where} was saved by unforget ${m.versions?.unforget ?? '?'} in format ${String(m.formatVersion)}; ` +
        `this unforget (${version}) reads format ${learnerFormatVersion} and older: upgrade unforget to load it`,
    );
  }
  const scenario = m.scenario;
  if (
    !scenario ||
    !settings.includes(scenario.setting) ||
    !Array.isArray(scenario.tasks) ||
    !Array.isArray(scenario.inputShape) ||
    !Array.isArray(m.files) ||
    typeof m.trainedTasks !== 'number' ||
    typeof m.heads !== 'number' ||
    (m.history !== undefined && !Array.isArray(m.history)) ||
    (m.headSeed !== undefined && !Number.isInteger(m.headSeed))
  ) {
    throw new PersistenceError(
      `${where} lacks fields a saved learner has; the save is damaged: save the learner again`,
    );
  }
  return m as Manifest;
}
