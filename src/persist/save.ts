import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PersistenceError } from '../errors.js';
import type { Learner } from '../model/learner.js';
import type { Strategy } from '../train/strategy.js';
import { decodeLearner, encodeLearner, type Folder, type LoadedLearner } from './codec.js';
import { checkManifest, learnerFormatVersion, manifestName, type Manifest } from './format.js';
import { writeDurably } from './io.js';
import { learnerLockPath, removeLeftovers, takeLock } from './lock.js';

export { learnerFormatVersion, type LoadedLearner };

/**
 * Saving a learner, with the state of the strategy that trained it, as one folder (the files of
 * `encodeLearner` in codec.ts). The folder is written beside its destination and renamed into place,
 * so a failure leaves the previous save whole.
 */

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes every file of `files` under `folder` (which exists and is empty), each flushed to disk. */
async function writeInto(folder: string, files: Folder): Promise<void> {
  for (const [path, bytes] of files) {
    const target = join(folder, ...path.split('/'));
    await fs.mkdir(dirname(target), { recursive: true });
    await writeDurably(target, bytes);
  }
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
  // Everything is encoded before the disk is touched: a strategy whose state cannot be saved fails here.
  let files: Folder;
  try {
    files = await encodeLearner(learner, strategy);
  } catch (e) {
    if (e instanceof PersistenceError) throw e;
    throw new PersistenceError(
      `saving the learner to ${target} failed (${reason(e)}); nothing was written, and any previous save there is left as it was`,
    );
  }
  await checkSaveTarget(target);
  const lock = await takeLock(learnerLockPath(target), `the learner folder ${target}`);
  try {
    await removeLeftovers(dirname(target), `${basename(target)}.saving-`);
    await writeLearnerFolder(target, files);
  } finally {
    await lock.release();
  }
}

/**
 * Checks, before any work, that a learner can be saved at `path`: not a file, not a folder holding
 * anything but a saved learner, and inside a folder that can be written to. Throws a PersistenceError
 * saying what to change.
 */
export async function checkSaveTarget(path: string): Promise<void> {
  const target = resolve(path);
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
  await checkWritableParent(target, 'save the learner to');
}

/** Checks that `target` can be created: its nearest existing ancestor is a folder this process can write to. */
export async function checkWritableParent(target: string, doing: string): Promise<void> {
  let parent = dirname(resolve(target));
  for (;;) {
    const info = await fs.stat(parent).catch((e: NodeJS.ErrnoException) => e);
    if (!(info instanceof Error)) {
      if (!info.isDirectory()) {
        throw new PersistenceError(
          `cannot ${doing} ${target}: ${parent} is a file, not a folder; pick another path`,
        );
      }
      try {
        await fs.access(parent, fsConstants.W_OK);
      } catch {
        throw new PersistenceError(
          `cannot ${doing} ${target}: the folder ${parent} cannot be written to (permissions); pick a path you can write to`,
        );
      }
      return;
    }
    if (info.code !== 'ENOENT' || dirname(parent) === parent) {
      throw new PersistenceError(`cannot ${doing} ${target}: ${info.message}; pick another path`);
    }
    parent = dirname(parent);
  }
}

async function writeLearnerFolder(target: string, files: Folder): Promise<void> {
  const info = await fs.stat(target).catch(() => undefined);
  const parent = dirname(target);
  const staging = join(
    parent,
    `.${basename(target)}.saving-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const aside = join(parent, `.${basename(target)}.previous`);
  let movedAside = false;
  try {
    await fs.mkdir(staging, { recursive: true });
    await writeInto(staging, files);
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

async function readManifestFile(folder: string): Promise<Manifest> {
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

/**
 * Loads a learner saved by `saveLearner`. The strategy is rebuilt by name with its saved options and
 * given back its state, and bound to the learner when it needs to be (masks), so predictions for
 * every trained task are exactly what they were at saving, and learning can go on where it stopped.
 * Fails with a PersistenceError naming the problem when the folder is incomplete, corrupt or from a
 * newer format.
 *
 * ```ts
 * const { learner, strategy } = await loadLearner('models/digits');
 * await learn(learner, nextTask, strategy as Strategy);
 * await saveLearner('models/digits', learner, strategy);
 * ```
 */
export async function loadLearner(path: string): Promise<LoadedLearner> {
  const folder = resolve(path);
  const manifest = await readManifestFile(folder);
  await checkFiles(folder, manifest);
  const files: Folder = new Map();
  files.set(manifestName, await fs.readFile(join(folder, manifestName)));
  for (const file of manifest.files) files.set(file.path, await fs.readFile(join(folder, file.path)));
  return decodeLearner(files, { checked: true });
}

if (!littleEndian) {
  throw new PersistenceError(
    'unforget saves learners in little-endian byte order; this machine is big-endian',
  );
}
