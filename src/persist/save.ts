import * as tf from '@tensorflow/tfjs';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { OptionError, PersistenceError } from '../errors.js';
import { headSizes, layoutOf } from '../scenarios/types.js';
import { strategyEntry } from '../strategies/index.js';
import type { Strategy } from '../train/strategy.js';
import { version } from '../version.js';
import { fileHandler, writeDurably } from './io.js';
import { Learner } from '../model/learner.js';
import { maskedLayers } from '../model/masked.js';
import {
  decode,
  encodeState,
  formatName,
  learnerFormatVersion,
  manifestName,
  stateName,
  type FileEntry,
  type Manifest,
  checkManifest,
} from './format.js';

export { learnerFormatVersion };

/** A learner loaded from a folder, with the strategy it was trained with (when it was saved with one). */
export interface LoadedLearner {
  learner: Learner;
  strategy: Strategy | undefined;
}

/**
 * Saving a learner, with the state of the strategy that trained it, as one folder:
 *
 * ```
 * unforget.json        the manifest: scenario layout (tasks, classes, setting), trained tasks, strategy
 *                      name, options and state values, library version, and a size and SHA-256 per file
 * trunk/               the trunk as a TensorFlow.js layers model (model.json + weights.bin)
 * heads/1/, heads/2/…  every head, the same way
 * state.bin            the strategy's tensors; binary ones as bits, small integers as bytes
 * ```
 * The folder is written beside its destination and renamed into place, so a failure leaves the
 * previous save whole.
 */

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The strategy's plain values as JSON gives them back; fails if JSON would change them (NaN, typed arrays…). */
function checkValues(name: string, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let back: Record<string, unknown>;
  try {
    back = JSON.parse(JSON.stringify(values)) as Record<string, unknown>;
  } catch (e) {
    throw new PersistenceError(`the ${name} strategy's state cannot be written as JSON (${reason(e)})`);
  }
  if (!isDeepStrictEqual(back, { ...values })) {
    throw new PersistenceError(
      `the ${name} strategy's state values do not survive JSON unchanged (NaN, undefined or typed arrays?); ` +
        'keep numbers, strings, booleans and plain arrays there and tensors in its tensors',
    );
  }
  return back;
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => {
      // Node 20 before 20.12 names the folder `path`.
      const at = e as unknown as { parentPath?: string; path?: string };
      return relative(folder, join(at.parentPath ?? at.path ?? folder, e.name))
        .split(sep)
        .join('/');
    })
    .sort();
}

async function describe(folder: string, path: string): Promise<FileEntry> {
  const data = await fs.readFile(join(folder, path));
  return { path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/** Writes everything into `folder` (which exists and is empty). */
async function writeInto(folder: string, learner: Learner, strategy: Strategy | undefined): Promise<void> {
  await learner.trunk.save(fileHandler(join(folder, 'trunk')));
  for (const [i, head] of learner.heads.entries())
    await head.save(fileHandler(join(folder, 'heads', String(i + 1))));
  let strategyEntryOut: Manifest['strategy'] = null;
  if (strategy !== undefined) {
    const { entry, bytes } = await encodeState(strategy, checkValues);
    await writeDurably(join(folder, stateName), bytes);
    strategyEntryOut = entry;
  }
  const files = await Promise.all((await filesUnder(folder)).map((p) => describe(folder, p)));
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
    strategy: strategyEntryOut,
    files,
  };
  await writeDurably(join(folder, manifestName), JSON.stringify(manifest, null, 2) + '\n');
}

const exists = (path: string): Promise<boolean> =>
  fs.stat(path).then(
    () => true,
    () => false,
  );

/**
 * Saves `learner` (and, when given, the state of the `strategy` that trained it) into the folder
 * `path`. Everything is first written into a sibling folder, which then takes the place of `path`; a
 * failure at any step leaves what was at `path` as it was. `path` must be a new folder, an empty one or
 * an earlier save (a folder holding anything else is not replaced).
 */
export async function saveLearner(path: string, learner: Learner, strategy?: Strategy): Promise<void> {
  const target = resolve(path);
  if (strategy === undefined && maskedLayers(learner.trunk).length > 0) {
    throw new PersistenceError(
      "this learner's trunk is masked per task by its strategy, and the masks live in the strategy: " +
        'pass it too, saveLearner(path, learner, strategy)',
    );
  }
  const info = await fs.stat(target).catch(() => undefined);
  if (info !== undefined) {
    if (!info.isDirectory())
      throw new PersistenceError(`cannot save the learner to ${target}: it is a file; pass a folder path`);
    const inside = await fs.readdir(target);
    if (inside.length > 0 && !inside.includes(manifestName)) {
      throw new PersistenceError(
        `${target} holds files but no saved learner (${manifestName}); saving would replace them: pick a new or empty folder`,
      );
    }
  }
  const parent = dirname(target);
  const staging = join(
    parent,
    `.${basename(target)}.saving-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const aside = join(parent, `.${basename(target)}.previous`);
  let movedAside = false;
  try {
    await fs.mkdir(staging, { recursive: true });
    await writeInto(staging, learner, strategy);
    if (info !== undefined) {
      await fs.rm(aside, { recursive: true, force: true });
      await fs.rename(target, aside);
      movedAside = true;
    }
    await fs.rename(staging, target);
  } catch (e) {
    if (movedAside && !(await exists(target))) await fs.rename(aside, target).catch(() => undefined);
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof PersistenceError) throw e;
    throw new PersistenceError(
      `saving the learner to ${target} failed (${reason(e)}); ` +
        (info === undefined ? '' : 'the previous save there is left as it was; ') +
        'check the path, permissions and free disk space, then save again',
    );
  }
  await fs.rm(aside, { recursive: true, force: true }).catch(() => undefined);
}

async function readManifest(folder: string): Promise<Manifest> {
  const path = join(folder, manifestName);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PersistenceError(`cannot read ${path}: ${reason(e)}`);
    const aside = join(dirname(folder), `.${basename(folder)}.previous`);
    throw new PersistenceError(
      !(await exists(folder))
        ? `no saved learner at ${folder}` +
            ((await exists(aside))
              ? `; a save there was interrupted and the previous one is whole at ${aside}: rename it to ${folder}`
              : ': check the path')
        : `${folder} has no ${manifestName}, so it holds no saved learner (or an incomplete one): save the learner there again`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PersistenceError(
      `${path} is not valid JSON (${reason(e)}); the save is damaged: save the learner again`,
    );
  }
  return checkManifest(json, path);
}

/** Checks that every file the manifest lists is there, whole and unchanged. */
async function checkFiles(folder: string, manifest: Manifest): Promise<void> {
  for (const file of manifest.files) {
    const path = join(folder, file.path);
    const data = await fs.readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new PersistenceError(
        e.code === 'ENOENT'
          ? `${path} is missing; the save is incomplete: save the learner again or restore a whole copy`
          : `cannot read ${path}: ${reason(e)}`,
      );
    });
    if (data.length !== file.bytes) {
      throw new PersistenceError(
        `${path} holds ${data.length} bytes but the save wrote ${file.bytes}; it is truncated or was replaced: save the learner again`,
      );
    }
    if (createHash('sha256').update(data).digest('hex') !== file.sha256) {
      throw new PersistenceError(
        `${path} is corrupt (its checksum differs from the one saved): save the learner again`,
      );
    }
  }
}

async function loadModel(folder: string, what: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(fileHandler(folder));
  } catch (e) {
    throw new PersistenceError(`cannot load the ${what} from ${folder}: ${reason(e)}`);
  }
}

/**
 * Loads a learner saved by `saveLearner` (or `learner.save`). The strategy is rebuilt by name with
 * its saved options and given back its state, and bound to the learner when it needs to be (masks),
 * so predictions for every trained task are exactly what they were at saving. Fails with a
 * PersistenceError naming the problem when the folder is incomplete, corrupt or from a newer format.
 */
export async function loadLearner(path: string): Promise<LoadedLearner> {
  const folder = resolve(path);
  const manifest = await readManifest(folder);
  await checkFiles(folder, manifest);
  const trunk = await loadModel(join(folder, 'trunk'), 'trunk');
  const loaded: tf.LayersModel[] = [];
  let learner: Learner | undefined;
  let strategy: Strategy | undefined;
  try {
    for (let i = 0; i < manifest.heads; i++) {
      loaded.push(await loadModel(join(folder, 'heads', String(i + 1)), `head ${i + 1}`));
    }
    learner = new Learner(trunk, manifest.scenario, {
      pretrained: manifest.pretrained,
      seed: manifest.headSeed ?? 0,
      heads: loaded,
    });
    const expected = manifest.scenario.tasks.length === 0 ? 0 : headSizes(manifest.scenario).length;
    if (manifest.heads !== expected) {
      throw new PersistenceError(
        `${folder} holds ${manifest.heads} heads but its tasks need ${expected}; the save is damaged: save the learner again`,
      );
    }
    learner.history.push(...(manifest.history ?? []));
    learner.trainedTasks = manifest.trainedTasks;
    if (manifest.strategy !== null) {
      strategy = await rebuildStrategy(folder, manifest.strategy);
      strategy.attach?.(learner);
    }
    return { learner, strategy };
  } catch (e) {
    strategy?.dispose?.();
    if (learner) learner.dispose();
    else {
      trunk.dispose();
      for (const m of loaded) m.dispose();
    }
    if (e instanceof PersistenceError) throw e;
    throw new PersistenceError(`cannot load the learner from ${folder}: ${reason(e)}`);
  }
}

async function rebuildStrategy(folder: string, saved: NonNullable<Manifest['strategy']>): Promise<Strategy> {
  let strategy: Strategy;
  try {
    strategy = strategyEntry(saved.name).create(saved.options as Record<string, number | string>);
  } catch (e) {
    if (e instanceof OptionError) {
      throw new PersistenceError(
        `${folder} was trained with the strategy '${saved.name}', which this unforget (${version}) cannot build: ${reason(e)}`,
      );
    }
    throw e;
  }
  if (saved.tensors.length === 0 && Object.keys(saved.values).length === 0 && !strategy.load) return strategy;
  if (!strategy.load) {
    strategy.dispose?.();
    throw new PersistenceError(
      `the ${saved.name} strategy of this unforget cannot take back the state saved in ${folder}`,
    );
  }
  const bytes = saved.tensors.length > 0 ? await fs.readFile(join(folder, stateName)) : new Uint8Array(0);
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const entry of saved.tensors) {
      if (entry.offset + entry.bytes > bytes.length) {
        throw new PersistenceError(
          `${join(folder, stateName)} is shorter than the state saved in it; save the learner again`,
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

if (!littleEndian) {
  throw new PersistenceError(
    'unforget saves learners in little-endian byte order; this machine is big-endian',
  );
}
