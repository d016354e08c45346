import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { matchClasses } from '../data/fit.js';
import { loadDataSpec, parseDataSpec, type LoadSpecOptions } from '../data/spec.js';
import { DataError, OptionError, PersistenceError } from '../errors.js';
import { evaluate } from '../eval/evaluate.js';
import type { Learner } from '../model/learner.js';
import { manifestName, type Manifest } from '../persist/format.js';
import { loadLearner, type LoadedLearner } from '../persist/save.js';

/** What a folder on the command line holds. */
export type FolderKind = 'learner' | 'model' | 'missing' | 'empty' | 'file' | 'other';

export async function folderKind(path: string): Promise<FolderKind> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return 'missing';
  if (!info.isDirectory()) return 'file';
  const inside = await readdir(path);
  if (inside.includes(manifestName)) return 'learner';
  if (inside.includes('model.json')) return 'model';
  return inside.length === 0 ? 'empty' : 'other';
}

/**
 * The manifest of a learner folder read as plain JSON, to check the command line against it before
 * loading anything; undefined when it cannot be read (loading then says what is wrong).
 */
export async function peekManifest(folder: string): Promise<Partial<Manifest> | undefined> {
  try {
    const json = JSON.parse(await readFile(join(folder, manifestName), 'utf8')) as unknown;
    return typeof json === 'object' && json !== null ? (json as Partial<Manifest>) : undefined;
  } catch {
    return undefined;
  }
}

/** Loads the learner folder `path`, with errors that say what the folder is instead. */
export async function openLearner(path: string): Promise<LoadedLearner> {
  const folder = resolve(path);
  const kind = await folderKind(folder);
  if (kind === 'model') {
    throw new PersistenceError(
      `${folder} holds a TensorFlow.js model (model.json), not an unforget learner; ` +
        `make it one with: unforget learn ${path} --keep-head NAME --task NEW --data DATA --out LEARNER`,
    );
  }
  if (kind !== 'learner') {
    throw new PersistenceError(
      kind === 'missing'
        ? `no learner folder at ${folder}: check the path`
        : `${folder} is not an unforget learner folder (it has no ${manifestName}); pass a folder written by unforget learn`,
    );
  }
  return loadLearner(folder);
}

/** Checks that `out` can take a new folder: absent or empty. */
export async function checkNewFolder(out: string, what: string): Promise<void> {
  const kind = await folderKind(out);
  if (kind === 'missing' || kind === 'empty') return;
  throw new OptionError(
    kind === 'file'
      ? `${what} ${resolve(out)} is a file; pass a folder path`
      : `${what} ${resolve(out)} exists and is not empty; pass a new or empty folder`,
  );
}

/** 'name=data' → ['name', 'data'] (the name may not be empty; the data may hold '='). */
export function parseAssignment(value: string, flag: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new OptionError(`${flag} takes NAME=DATA, e.g. ${flag} 'digits=mnist:0-4'; got '${value}'`);
  }
  return [value.slice(0, at), value.slice(at + 1)];
}

/** A learned task's data read from a spec, brought to the learner's shape and labelled with its classes. */
export interface TaskData {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly source: string;
  readonly notes: readonly string[];
}

export async function learnedTaskData(
  learner: Learner,
  task: number,
  spec: string,
  extra: LoadSpecOptions = {},
): Promise<TaskData> {
  const layout = learner.layout.tasks[task];
  const loaded = await loadDataSpec(await parseDataSpec(spec), {
    ...extra,
    inputShape: learner.layout.inputShape,
  });
  const what = `the data ${loaded.source} of task '${layout.name}'`;
  return {
    train: matchClasses(loaded.train, layout, what),
    test: matchClasses(loaded.test, layout, what),
    source: loaded.source,
    notes: loaded.notes,
  };
}

/**
 * A learned task's data read again from the source recorded when it was learned; the reason as a
 * string when it cannot be (no source, an adopted task, a folder gone, classes that no longer fit).
 */
export async function recordedTaskData(learner: Learner, task: number): Promise<TaskData | string> {
  const source = learner.history[task]?.source ?? '';
  if (source === '') return 'no source recorded';
  if (source.startsWith('adopted:')) return 'adopted with the model; its data were never given';
  try {
    return await learnedTaskData(learner, task, source);
  } catch (e) {
    if (e instanceof DataError) return e.message;
    throw e;
  }
}

/** Test accuracy of every learned task that has test data (null for the others), as predict would answer now. */
export function testAccuracies(learner: Learner, tests: readonly (Dataset | undefined)[]): (number | null)[] {
  const learned = learner.layout.tasks.slice(0, learner.trainedTasks);
  const given: Record<string, Dataset> = {};
  learned.forEach((t, i) => {
    const test = tests[i];
    if (test) given[t.name] = test;
  });
  const found = evaluate(learner, given);
  return learned.map((t) => found[t.name]);
}

/** The size in bytes of every file under `folder`. */
export async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, e.name);
    total += e.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return total;
}
