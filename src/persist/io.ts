import * as tf from '@tensorflow/tfjs';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelError, PersistenceError } from '../errors.js';

/**
 * Saving and loading TensorFlow.js layers models in a folder, in the format tfjs-node's `file://`
 * handler uses: `model.json` (the topology, a weights manifest and metadata) beside `weights.bin`
 * (every weight's values, concatenated in manifest order). Plain @tensorflow/tfjs has no file system
 * handler in Node; these fill that gap, and a model saved by either loads in the other.
 */

const modelJsonName = 'model.json';
const weightsName = 'weights.bin';
const scheme = 'file://';

/** The file operations a save uses; tests replace them to simulate a failure at any step. */
export interface SaveFileSystem {
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string): Promise<void>;
}

/** Writes a file and flushes it to disk before returning, so a rename after it publishes whole data. */
export async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const file = await fs.open(path, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

const nodeFileSystem: SaveFileSystem = {
  writeFile: writeDurably,
  rename: (from, to) => fs.rename(from, to),
  rm: (path) => fs.rm(path, { recursive: true, force: true }),
};

/** Options of `fileHandler`. */
export interface FileHandlerOptions {
  /** Replaces the file operations of a save (for tests that simulate a crash). */
  readonly fileSystem?: Partial<SaveFileSystem>;
}

const exists = (path: string): Promise<boolean> =>
  fs.stat(path).then(
    () => true,
    () => false,
  );

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The folder's sibling that holds the previous save while the new one is renamed into place. */
const asideOf = (folder: string): string => join(dirname(folder), `.${basename(folder)}.previous`);

/** Bytes one weight takes in the weights file, or undefined when it cannot be known (strings). */
function weightBytes(spec: tf.io.WeightsManifestEntry): number | undefined {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const quantized = spec.quantization?.dtype;
  if (quantized !== undefined) return count * (quantized === 'uint8' ? 1 : 2);
  const sizes: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
  const size = sizes[spec.dtype];
  return size === undefined ? undefined : count * size;
}

/** The weights of one save as a single buffer. */
function joinWeights(weightData: tf.io.WeightData | undefined): Uint8Array {
  if (weightData === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData));
}

/** The optional fields model.json and ModelArtifacts share, copied when present (tfjs-node's order). */
const optionalFields = ['trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer'] as const;

function copyOptional(
  from: tf.io.ModelArtifacts | tf.io.ModelJSON,
  to: tf.io.ModelArtifacts | tf.io.ModelJSON,
): void {
  const target = to as Record<string, unknown>;
  for (const field of optionalFields) {
    const value = from[field];
    if (value !== undefined && value !== null) target[field] = value;
  }
}

async function save(
  target: string,
  artifacts: tf.io.ModelArtifacts,
  fileSystem: SaveFileSystem,
): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ModelError(
      'only layers models (JSON topology) can be saved to a folder; this model has a binary (GraphDef) topology',
    );
  }
  const parent = dirname(target);
  const info = await fs.stat(target).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new PersistenceError(`cannot save the model to ${target}: it is a file; pass a folder path`);
  }
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  copyOptional(artifacts, modelJson);

  const staging = join(
    parent,
    `.${basename(target)}.saving-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const aside = asideOf(target);
  let step = `create ${staging}`;
  let movedAside = false;
  try {
    await fs.mkdir(parent, { recursive: true });
    await fs.mkdir(staging);
    step = `write ${join(staging, modelJsonName)}`;
    await fileSystem.writeFile(join(staging, modelJsonName), JSON.stringify(modelJson));
    step = `write ${join(staging, weightsName)}`;
    await fileSystem.writeFile(join(staging, weightsName), joinWeights(artifacts.weightData));
    if (info !== undefined) {
      // A leftover from an interrupted save is older than the whole save now at `target`.
      step = `remove the leftover ${aside}`;
      await fileSystem.rm(aside);
      step = `move the previous save aside to ${aside}`;
      await fileSystem.rename(target, aside);
      movedAside = true;
    }
    step = `rename ${staging} to ${target}`;
    await fileSystem.rename(staging, target);
  } catch (e) {
    const restored =
      !movedAside ||
      (await fs.rename(aside, target).then(
        () => true,
        () => false,
      ));
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    const previous =
      info === undefined
        ? ''
        : restored
          ? 'the previous save there is left as it was; '
          : `the previous save is whole at ${aside}: rename it to ${target}; `;
    throw new PersistenceError(
      `saving the model to ${target} failed (could not ${step}: ${reason(e)}); ${previous}` +
        'check the path, permissions and free disk space, then save again',
    );
  }
  // The new save is in place; removing the old one is housekeeping and must not fail the save.
  await fileSystem.rm(aside).catch(() => undefined);
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function readJson(path: string): Promise<tf.io.ModelJSON> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new PersistenceError(
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${path} not found; the folder holds no saved model: save one there first or pass the folder of a saved model`
        : `cannot read ${path}: ${reason(e)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PersistenceError(
      `${path} is not valid JSON (${reason(e)}); the save is damaged: save the model again or restore a copy`,
    );
  }
  if (typeof json !== 'object' || json === null || !('modelTopology' in json)) {
    throw new ModelError(
      `${path} has no modelTopology; it is not a TensorFlow.js layers model (model.json written by model.save)`,
    );
  }
  return json as tf.io.ModelJSON;
}

async function load(path: string): Promise<tf.io.ModelArtifacts> {
  const info = await fs.stat(path).catch(() => undefined);
  const jsonPath =
    info?.isDirectory() || (info === undefined && !path.endsWith('.json')) ? join(path, modelJsonName) : path;
  const folder = dirname(jsonPath);
  if (!(await exists(folder))) {
    const aside = asideOf(folder);
    throw new PersistenceError(
      `model folder ${folder} not found` +
        ((await exists(aside))
          ? `; a save there was interrupted and the previous save is at ${aside}: rename it to ${folder}`
          : '; save a model there first or check the path'),
    );
  }
  const modelJson = await readJson(jsonPath);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
  };
  if (modelJson.weightsManifest !== undefined && modelJson.weightsManifest !== null) {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: Uint8Array[] = [];
    const files: string[] = [];
    for (const group of modelJson.weightsManifest) {
      for (const file of group.paths) {
        const filePath = join(folder, file);
        try {
          buffers.push(await fs.readFile(filePath));
        } catch (e) {
          throw new PersistenceError(
            (e as NodeJS.ErrnoException).code === 'ENOENT'
              ? `weights file ${filePath} listed in ${jsonPath} is missing; copy it next to model.json or save the model again`
              : `cannot read the weights file ${filePath}: ${reason(e)}`,
          );
        }
        files.push(file);
      }
      specs.push(...group.weights);
    }
    const sizes = specs.map(weightBytes);
    const actual = buffers.reduce((a, b) => a + b.length, 0);
    if (sizes.every((s) => s !== undefined)) {
      const expected = sizes.reduce((a: number, b) => a + (b as number), 0);
      if (actual !== expected) {
        throw new PersistenceError(
          `the weights file${files.length > 1 ? 's' : ''} ${files.join(', ')} in ${folder} hold ${actual} bytes but ` +
            `${jsonPath} lists weights of ${expected} bytes; the save is incomplete or its files come from ` +
            'different saves: save the model again',
        );
      }
    }
    const weightData = new Uint8Array(actual);
    let at = 0;
    for (const buffer of buffers) {
      weightData.set(buffer, at);
      at += buffer.length;
    }
    artifacts.weightSpecs = specs;
    artifacts.weightData = weightData.buffer;
  }
  copyOptional(modelJson, artifacts);
  return artifacts;
}

/**
 * An IO handler that saves a layers model into `folder` (created if needed) and loads it from there;
 * `folder` may also be the path of a model.json. Saving is atomic: the files are written into a
 * temporary sibling folder that then replaces `folder` by renames, so a failure at any point leaves
 * the previous save whole. Loading accepts weights split over several shard files.
 *
 * @example
 * await model.save(fileHandler('./models/mnist'));
 * const again = await tf.loadLayersModel(fileHandler('./models/mnist'));
 */
export function fileHandler(folder: string, options: FileHandlerOptions = {}): tf.io.IOHandler {
  const path = resolve(folder);
  const fileSystem = { ...nodeFileSystem, ...options.fileSystem };
  return {
    save: (artifacts) => save(path, artifacts, fileSystem),
    load: () => load(path),
  };
}

type Router = Parameters<typeof tf.io.registerSaveRouter>[0];

// Routers return null for URLs they do not handle, though tf.io's type says otherwise.
const fileRouter = ((url: string | string[]) =>
  typeof url === 'string' && url.startsWith(scheme) ? fileHandler(url.slice(scheme.length)) : null) as Router;

/**
 * Makes `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` work in plain
 * @tensorflow/tfjs by registering `fileHandler` for `file://` URLs. Does nothing for saving or
 * loading where a `file://` handler is already registered (e.g. by @tensorflow/tfjs-node).
 * Safe to call more than once.
 */
export function registerFileRouter(): void {
  const probe = `${scheme}${resolve('unforget-probe')}`;
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(fileRouter);
  if (tf.io.getLoadHandlers(`${probe}/${modelJsonName}`).length === 0) tf.io.registerLoadRouter(fileRouter);
}
