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
  const mismatch = firstMismatch(m as Manifest);
  if (mismatch !== null) {
    throw new PersistenceError(
      `${where} does not agree with itself: ${mismatch}; the save is damaged: save the learner again`,
    );
  }
  return m as Manifest;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Bytes a tensor of `count` values takes in `encoding`. */
function encodedBytes(encoding: Encoding, count: number): number {
  if (encoding === 'bits') return Math.ceil(count / 8);
  if (encoding === 'uint8') return count;
  if (encoding === 'uint16') return 2 * count;
  return 4 * count;
}

/**
 * The first way the manifest's counts, shapes and sizes disagree with each other or with the files it
 * lists, or null: learned tasks, heads, classes, history, files of every model, state tensors.
 */
function firstMismatch(m: Manifest): string | null {
  const tasks = m.scenario.tasks;
  if (!m.scenario.inputShape.every((d) => isCount(d) && d > 0)) {
    return `its input shape [${m.scenario.inputShape.join(', ')}] is not a list of sizes`;
  }
  for (const [i, t] of tasks.entries()) {
    const task = t as Partial<typeof t> | null;
    if (typeof task !== 'object' || task === null || typeof task.name !== 'string')
      return `task ${i + 1} has no name`;
    if (!Array.isArray(task.classes) || !task.classes.every((c) => Number.isInteger(c)))
      return `task ${i + 1} ('${task.name}') has no list of classes`;
    if (!Array.isArray(task.classNames) || task.classNames.length !== task.classes.length)
      return `task ${i + 1} ('${task.name}') has ${task.classes.length} classes but ${Array.isArray(task.classNames) ? task.classNames.length : 'no'} class names`;
    if (task.classes.length === 0) return `task ${i + 1} ('${task.name}') has no classes`;
  }
  if (!isCount(m.trainedTasks) || m.trainedTasks > tasks.length) {
    return `it says ${m.trainedTasks} tasks were learned but names ${tasks.length}`;
  }
  const heads = m.scenario.setting === 'task' ? tasks.length : Math.min(tasks.length, 1);
  if (m.heads !== heads) {
    return `it says ${m.heads} heads but its ${tasks.length} task(s) in the ${m.scenario.setting} setting need ${heads}`;
  }
  if (m.history !== undefined && m.history.length > m.trainedTasks) {
    return `it holds ${m.history.length} history records for ${m.trainedTasks} learned task(s)`;
  }
  const sizes = new Map<string, number>();
  for (const [i, f] of m.files.entries()) {
    const file = f as Partial<FileEntry> | null;
    if (typeof file !== 'object' || file === null || typeof file.path !== 'string' || !isCount(file.bytes))
      return `file entry ${i + 1} has no path or size`;
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256))
      return `file ${file.path} has no SHA-256`;
    sizes.set(file.path, file.bytes);
  }
  for (const folder of ['trunk', ...Array.from({ length: heads }, (_, i) => `heads/${i + 1}`)]) {
    for (const name of ['model.json', 'weights.bin']) {
      if (!sizes.has(`${folder}/${name}`)) return `it lists no ${folder}/${name}`;
    }
  }
  const strategy = m.strategy as Partial<NonNullable<Manifest['strategy']>> | null;
  if (strategy === null) return null;
  if (
    typeof strategy !== 'object' ||
    typeof strategy.name !== 'string' ||
    typeof strategy.options !== 'object' ||
    strategy.options === null ||
    typeof strategy.values !== 'object' ||
    strategy.values === null ||
    !Array.isArray(strategy.tensors)
  ) {
    return 'its strategy entry lacks a name, options, values or tensors';
  }
  const stateBytes = sizes.get(stateName) ?? 0;
  if (strategy.tensors.length > 0 && !sizes.has(stateName))
    return `it lists no ${stateName} for the strategy's tensors`;
  for (const t of strategy.tensors) {
    const e = t as Partial<TensorEntry> | null;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string')
      return 'a strategy tensor has no name';
    if (!['float32', 'int32', 'bool'].includes(e.dtype as string))
      return `tensor '${e.name}' has no known dtype`;
    if (!['float32', 'int32', 'uint16', 'uint8', 'bits'].includes(e.encoding as string))
      return `tensor '${e.name}' has no known encoding`;
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) return `tensor '${e.name}' has no shape`;
    if (!isCount(e.offset) || !isCount(e.bytes)) return `tensor '${e.name}' has no offset or size`;
    const count = e.shape.reduce((a, b) => a * b, 1);
    const want = encodedBytes(e.encoding as Encoding, count);
    if (e.bytes !== want) {
      return `tensor '${e.name}' of shape [${e.shape.join(', ')}] takes ${want} bytes as ${e.encoding as string}, but ${e.bytes} are listed`;
    }
    if (e.offset + e.bytes > stateBytes) {
      return `tensor '${e.name}' ends at byte ${e.offset + e.bytes} of ${stateName}, which holds ${stateBytes}`;
    }
  }
  return null;
}
