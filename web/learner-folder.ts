/**
 * The learner's one-folder save format (the one `learner.save` writes and `Learner.load` reads in
 * Node; see src/persist/save.ts), written and read in the browser, where a "folder" is a map from
 * relative path to bytes:
 *
 *   unforget.json       manifest: scenario layout, trained tasks, strategy name, options, state
 *                       values and tensor table, and a size and SHA-256 per file
 *   trunk/model.json    the trunk as a TensorFlow.js layers model, with trunk/weights.bin
 *   heads/N/model.json  every head the same way
 *   state.bin           the strategy's tensors (binary ones as bits, small integers as bytes)
 *
 * The page adds `page.json` (what it needs to show the run again: the accuracy matrix, how the
 * scenario was built); Node's loader ignores files its manifest does not list.
 */
import * as tf from '@tensorflow/tfjs';
import {
  Learner,
  PersistenceError,
  layoutOf,
  strategyEntry,
  version,
  type Strategy,
} from '../src/browser.js';
import {
  decode,
  encodeState,
  formatName,
  learnerFormatVersion as formatVersion,
  manifestName,
  stateName,
  type Manifest,
  checkManifest,
} from '../src/persist/format.js';

export type Folder = Map<string, Uint8Array>;

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
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

/** Everything `learner.save` would write for this learner and strategy, plus the page's own notes. */
export async function learnerFolder(
  learner: Learner,
  strategy: Strategy | null,
  page: unknown,
): Promise<Folder> {
  const folder: Folder = new Map();
  await modelFiles(learner.trunk, 'trunk', folder);
  for (const [i, head] of learner.heads.entries()) await modelFiles(head, `heads/${i + 1}`, folder);
  let saved: Manifest['strategy'] = null;
  if (strategy) {
    // JSON is what the manifest keeps of the values; Node's saver also refuses values JSON would change.
    const { entry, bytes } = await encodeState(strategy, (_, values) => JSON.parse(JSON.stringify(values)));
    folder.set(stateName, bytes);
    saved = entry;
  }
  folder.set('page.json', new TextEncoder().encode(JSON.stringify(page, null, 2) + '\n'));
  const paths = [...folder.keys()].sort();
  const files = await Promise.all(
    paths.map(async (path) => {
      const bytes = folder.get(path) as Uint8Array;
      return { path, bytes: bytes.length, sha256: await sha256(bytes) };
    }),
  );
  const manifest: Manifest = {
    format: formatName,
    formatVersion,
    versions: { unforget: version, tfjs: tf.version.tfjs },
    scenario: layoutOf(learner.layout),
    trainedTasks: learner.trainedTasks,
    pretrained: learner.pretrained,
    heads: learner.heads.length,
    strategy: saved,
    files,
  };
  folder.set(manifestName, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
  return folder;
}

function readManifest(folder: Folder): Manifest {
  const bytes = folder.get(manifestName);
  if (!bytes) {
    throw new PersistenceError(
      `there is no ${manifestName}, so this is not a learner saved by unforget ` +
        '(pick the .zip or folder that unforget or this page saved)',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new PersistenceError(`${manifestName} is not valid JSON (${reason(e)}); the save is damaged`);
  }
  return checkManifest(json, manifestName);
}

async function loadModel(folder: Folder, path: string): Promise<tf.LayersModel> {
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
        weightData: weights.slice().buffer,
      }),
    );
  } catch (e) {
    throw new PersistenceError(`cannot load ${path}: ${reason(e)}`);
  }
}

/** What a saved folder gives back: the learner, its strategy (holding its state), and the page's notes. */
export interface OpenedLearner {
  learner: Learner;
  strategy: Strategy | null;
  page: unknown;
}

/**
 * Reads a saved learner: checks every listed file's size and checksum, rebuilds the trunk and heads,
 * and the strategy by name with its options and state (bound to the learner when it keeps masks).
 * Paths may sit under one top folder (as in a ZIP of the folder).
 */
export async function openLearnerFolder(input: Folder): Promise<OpenedLearner> {
  const folder = stripTopFolder(input);
  const manifest = readManifest(folder);
  for (const file of manifest.files) {
    const bytes = folder.get(file.path);
    if (!bytes) throw new PersistenceError(`${file.path} is missing; the save is incomplete`);
    if (bytes.length !== file.bytes || (await sha256(bytes)) !== file.sha256) {
      throw new PersistenceError(`${file.path} is damaged (its size or checksum differs from the one saved)`);
    }
  }
  const trunk = await loadModel(folder, 'trunk');
  let learner: Learner | undefined;
  let strategy: Strategy | null = null;
  const loaded: tf.LayersModel[] = [];
  try {
    learner = new Learner(trunk, manifest.scenario, { pretrained: manifest.pretrained });
    if (learner.heads.length !== manifest.heads) {
      throw new PersistenceError(
        `the save holds ${manifest.heads} heads but its scenario needs ${learner.heads.length}`,
      );
    }
    for (const [i, head] of learner.heads.entries()) {
      const saved = await loadModel(folder, `heads/${i + 1}`);
      loaded.push(saved);
      head.setWeights(saved.getWeights());
    }
    learner.trainedTasks = manifest.trainedTasks;
    if (manifest.strategy) strategy = rebuildStrategy(folder, manifest.strategy, learner);
    const notes = folder.get('page.json');
    return { learner, strategy, page: notes ? JSON.parse(new TextDecoder().decode(notes)) : null };
  } catch (e) {
    strategy?.dispose?.();
    if (learner) learner.dispose();
    else trunk.dispose();
    throw e instanceof PersistenceError ? e : new PersistenceError(`cannot load the learner: ${reason(e)}`);
  } finally {
    for (const m of loaded) m.dispose();
  }
}

function rebuildStrategy(
  folder: Folder,
  saved: NonNullable<Manifest['strategy']>,
  learner: Learner,
): Strategy {
  let strategy: Strategy;
  try {
    strategy = strategyEntry(saved.name).create(saved.options as Record<string, number | string>);
  } catch (e) {
    throw new PersistenceError(
      `the learner was trained with '${saved.name}', which this page cannot build: ${reason(e)}`,
    );
  }
  const hasState = saved.tensors.length > 0 || Object.keys(saved.values).length > 0;
  if (hasState && !strategy.load) {
    strategy.dispose?.();
    throw new PersistenceError(`the ${saved.name} strategy here cannot take back the state that was saved`);
  }
  if (strategy.load) {
    const bytes = folder.get(stateName) ?? new Uint8Array(0);
    const tensors: Record<string, tf.Tensor> = {};
    try {
      for (const entry of saved.tensors) {
        if (entry.offset + entry.bytes > bytes.length) {
          throw new PersistenceError(`${stateName} is shorter than the state saved in it`);
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
  }
  const attach = (strategy as Partial<{ attach(l: Learner): void }>).attach;
  if (typeof attach === 'function') attach.call(strategy, learner);
  return strategy;
}

/** Drops a single top folder shared by every path (a ZIP of the folder, or a picked folder). */
export function stripTopFolder(folder: Folder): Folder {
  if (folder.has(manifestName)) return folder;
  const tops = new Set([...folder.keys()].map((p) => p.split('/')[0]));
  if (tops.size !== 1) return folder;
  const [top] = tops;
  const inner = new Map([...folder].map(([p, b]) => [p.slice(top.length + 1), b] as [string, Uint8Array]));
  return inner.has(manifestName) ? inner : folder;
}
