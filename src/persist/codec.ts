import * as tf from '@tensorflow/tfjs';
import { OptionError, PersistenceError } from '../errors.js';
import { Learner } from '../model/learner.js';
import { maskedLayers } from '../model/masked.js';
import { headSizes, layoutOf } from '../scenarios/types.js';
import { strategyEntry } from '../strategies/index.js';
import type { Strategy } from '../train/strategy.js';
import { version } from '../version.js';
import {
  checkManifest,
  decode,
  encodeState,
  formatName,
  learnerFormatVersion,
  manifestName,
  stateName,
  type Manifest,
} from './format.js';

/**
 * The learner folder as a map from relative path to bytes, without a file system: what Node's saver
 * writes to disk (atomically) and reads back, and what the page keeps in IndexedDB or a ZIP. Browser-safe.
 *
 * ```
 * unforget.json        the manifest: tasks (names, classes, setting), trained tasks, history, strategy
 *                      name, options and state values, library version, and a size and SHA-256 per file
 * trunk/               the trunk as a TensorFlow.js layers model (model.json + weights.bin)
 * heads/1/, heads/2/…  every head, the same way
 * state.bin            the strategy's tensors; binary ones as bits, small integers as bytes
 * ```
 */
export type Folder = Map<string, Uint8Array>;

/** A learner read back, with the strategy that trained it (rebuilt, holding its state) when it was saved with one. */
export interface LoadedLearner {
  learner: Learner;
  strategy: Strategy | undefined;
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** SHA-256 of `bytes` as hex, by the Web Crypto API (in browsers and in Node ≥ 20). */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether JSON gives `value` back unchanged: plain numbers (finite), strings, booleans, null, arrays, objects. */
function jsonSafe(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(jsonSafe);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value as Record<string, unknown>).every(jsonSafe);
  }
  return false;
}

/** The strategy's plain values, refused when JSON would change them (NaN, undefined, typed arrays…). */
function checkValues(name: string, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (!jsonSafe({ ...values })) {
    throw new PersistenceError(
      `the ${name} strategy's state values do not survive JSON unchanged (NaN, undefined or typed arrays?); ` +
        'keep numbers, strings, booleans and plain arrays there and tensors in its tensors',
    );
  }
  return JSON.parse(JSON.stringify(values)) as Record<string, unknown>;
}

/** A layers model as `model.json` and `weights.bin`, as tfjs-node's file handler writes them. */
async function modelFiles(model: tf.LayersModel, folder: string, out: Folder): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const weights = new Uint8Array(
        weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(weightData),
      );
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
      };
      if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      out.set(`${folder}/model.json`, new TextEncoder().encode(JSON.stringify(json)));
      out.set(`${folder}/weights.bin`, weights);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/**
 * Everything that makes up a saved `learner` (with the state of the `strategy` that trained it), and
 * `extra` files listed and checked with the rest (e.g. the page's notes).
 */
export async function encodeLearner(
  learner: Learner,
  strategy?: Strategy,
  extra: Folder = new Map(),
): Promise<Folder> {
  if (strategy === undefined && maskedLayers(learner.trunk).length > 0) {
    throw new PersistenceError(
      "this learner's trunk is masked per task by its strategy, and the masks live in the strategy: " +
        'pass it too, saveLearner(path, learner, strategy)',
    );
  }
  const folder: Folder = new Map(extra);
  await modelFiles(learner.trunk, 'trunk', folder);
  for (const [i, head] of learner.heads.entries()) await modelFiles(head, `heads/${i + 1}`, folder);
  let saved: Manifest['strategy'] = null;
  if (strategy !== undefined) {
    const { entry, bytes } = await encodeState(strategy, checkValues);
    folder.set(stateName, bytes);
    saved = entry;
  }
  const paths = [...folder.keys()].sort();
  const files = await Promise.all(
    paths.map(async (path) => {
      const bytes = folder.get(path) as Uint8Array;
      return { path, bytes: bytes.length, sha256: await sha256(bytes) };
    }),
  );
  const manifest: Manifest = {
    format: formatName,
    formatVersion: learnerFormatVersion,
    versions: { unforget: version, tfjs: tf.version.tfjs },
    scenario: layoutOf(learner.layout),
    trainedTasks: learner.trainedTasks,
    pretrained: learner.pretrained,
    heads: learner.heads.length,
    headSeed: learner.headSeed,
    history: learner.history.slice(0, learner.trainedTasks),
    strategy: saved,
    files,
  };
  folder.set(manifestName, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
  return folder;
}

/** The manifest of `folder`, checked. */
export function readManifest(folder: Folder, where = manifestName): Manifest {
  const bytes = folder.get(manifestName);
  if (!bytes) {
    throw new PersistenceError(
      `there is no ${manifestName}, so this is not a learner saved by unforget ` +
        '(pick the folder or .zip that unforget or its page saved)',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new PersistenceError(
      `${where} is not valid JSON (${reason(e)}); the save is damaged: save the learner again`,
    );
  }
  return checkManifest(json, where);
}

/** Checks every file the manifest lists: there, of its size, with its checksum. */
export async function checkFolder(folder: Folder, manifest: Manifest): Promise<void> {
  for (const file of manifest.files) {
    const bytes = folder.get(file.path);
    if (!bytes)
      throw new PersistenceError(`${file.path} is missing; the save is incomplete: save the learner again`);
    if (bytes.length !== file.bytes) {
      throw new PersistenceError(
        `${file.path} holds ${bytes.length} bytes but the save wrote ${file.bytes}; it is truncated or was replaced: save the learner again`,
      );
    }
    if ((await sha256(bytes)) !== file.sha256) {
      throw new PersistenceError(
        `${file.path} is corrupt (its checksum differs from the one saved): save the learner again`,
      );
    }
  }
}

async function loadModel(folder: Folder, path: string, what: string): Promise<tf.LayersModel> {
  const json = folder.get(`${path}/model.json`);
  const weights = folder.get(`${path}/weights.bin`);
  if (!json || !weights) throw new PersistenceError(`${path}/model.json or ${path}/weights.bin is missing`);
  try {
    const model = JSON.parse(new TextDecoder().decode(json)) as tf.io.ModelJSON;
    const specs = model.weightsManifest.flatMap((group) => group.weights);
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: model.modelTopology,
        weightSpecs: specs,
        weightData: new Uint8Array(weights).buffer,
      }),
    );
  } catch (e) {
    throw new PersistenceError(`cannot load the ${what} (${path}): ${reason(e)}`);
  }
}

/**
 * Reads a learner back from its files (checked unless `checked` says the caller did): the trunk and
 * heads, its tasks and history, and the strategy rebuilt by name with its saved options and state,
 * bound to the learner when it keeps masks. Predictions for every task are exactly what they were.
 */
export async function decodeLearner(
  folder: Folder,
  options: { checked?: boolean } = {},
): Promise<LoadedLearner> {
  const manifest = readManifest(folder);
  if (!options.checked) await checkFolder(folder, manifest);
  const models: tf.LayersModel[] = [];
  let learner: Learner | undefined;
  let strategy: Strategy | undefined;
  try {
    const trunk = await loadModel(folder, 'trunk', 'trunk');
    models.push(trunk);
    const heads: tf.LayersModel[] = [];
    for (let i = 0; i < manifest.heads; i++) {
      const head = await loadModel(folder, `heads/${i + 1}`, `head ${i + 1}`);
      models.push(head);
      heads.push(head);
    }
    const input = trunk.inputs[0].shape.slice(1);
    if (input.join('x') !== manifest.scenario.inputShape.join('x')) {
      throw new PersistenceError(
        `the saved trunk takes examples of shape [${input.join(', ')}] but the manifest says [${manifest.scenario.inputShape.join(', ')}]; ` +
          'the save is damaged: save the learner again',
      );
    }
    const expected = manifest.scenario.tasks.length === 0 ? [] : headSizes(manifest.scenario);
    if (heads.length !== expected.length || heads.some((h, i) => h.outputs[0].shape[1] !== expected[i])) {
      throw new PersistenceError(
        `the save holds heads of ${heads.map((h) => h.outputs[0].shape[1]).join(', ') || 'no'} outputs but its tasks need ` +
          `${expected.join(', ') || 'none'}; the save is damaged: save the learner again`,
      );
    }
    learner = new Learner(trunk, manifest.scenario, {
      pretrained: manifest.pretrained,
      seed: manifest.headSeed ?? 0,
      heads,
    });
    if (manifest.trainedTasks > manifest.scenario.tasks.length) {
      throw new PersistenceError(
        `the manifest says ${manifest.trainedTasks} tasks were learned but names ${manifest.scenario.tasks.length}; the save is damaged`,
      );
    }
    learner.trainedTasks = manifest.trainedTasks;
    learner.history.push(...(manifest.history ?? []));
    if (manifest.strategy !== null) {
      strategy = rebuildStrategy(folder, manifest.strategy);
      strategy.attach?.(learner);
    }
    return { learner, strategy };
  } catch (e) {
    strategy?.dispose?.();
    if (learner) learner.dispose();
    else for (const m of models) m.dispose();
    if (e instanceof PersistenceError) throw e;
    throw new PersistenceError(`cannot load the learner: ${reason(e)}`);
  }
}

function rebuildStrategy(folder: Folder, saved: NonNullable<Manifest['strategy']>): Strategy {
  let strategy: Strategy;
  try {
    strategy = strategyEntry(saved.name).create(saved.options as Record<string, number | string>);
  } catch (e) {
    if (e instanceof OptionError) {
      throw new PersistenceError(
        `the learner was trained with the strategy '${saved.name}', which this unforget (${version}) cannot build: ${reason(e)}`,
      );
    }
    throw e;
  }
  const hasState = saved.tensors.length > 0 || Object.keys(saved.values).length > 0;
  if (!strategy.load) {
    if (!hasState) return strategy;
    strategy.dispose?.();
    throw new PersistenceError(
      `the ${saved.name} strategy of this unforget cannot take back the state that was saved`,
    );
  }
  const bytes = folder.get(stateName) ?? new Uint8Array(0);
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const entry of saved.tensors) {
      if (entry.offset + entry.bytes > bytes.length) {
        throw new PersistenceError(
          `${stateName} is shorter than the state saved in it; save the learner again`,
        );
      }
      tensors[entry.name] = decode(entry, bytes.subarray(entry.offset, entry.offset + entry.bytes));
    }
    strategy.load({ values: saved.values, tensors });
  } catch (e) {
    strategy.dispose?.();
    throw e;
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return strategy;
}
