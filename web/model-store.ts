/**
 * Where the page keeps a learner: in this browser (IndexedDB), or as a download. Both hold the same
 * folder `learner.save` writes in Node (see learner-folder.ts); a download is that folder in a ZIP,
 * which unzips to a folder `Learner.load` reads, and a folder saved in Node can be picked here.
 */
import { PersistenceError, type BackboneSpec } from '../src/browser.js';
import { openLearnerFolder, type Folder, type OpenedLearner } from './learner-folder.js';
import { unzip, zip } from './zip.js';

/** What the page saves beside the learner to show the run again. */
export interface PageNotes {
  savedAt: string;
  /** How the page built the scenario: its kind, and the seed its permutations came from. */
  scenario: { kind: string; seed: number; tasks: number };
  backbone: BackboneSpec;
  accuracyMatrix: number[][];
}

const database = 'unforget';
const store = 'learners';
const key = 'saved';

function open(): Promise<IDBDatabase> {
  return new Promise((done, fail) => {
    const request = indexedDB.open(database, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(store);
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
}

async function withStore<T>(mode: IDBTransactionMode, use: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((done, fail) => {
      const transaction = db.transaction(store, mode);
      const request = use(transaction.objectStore(store));
      transaction.oncomplete = () => done(request.result);
      transaction.onerror = () => fail(transaction.error);
      transaction.onabort = () => fail(transaction.error ?? new Error('the save was aborted'));
    });
  } finally {
    db.close();
  }
}

interface Stored {
  savedAt: string;
  name: string;
  files: Folder;
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Keeps the folder in this browser, replacing what was saved before (in one transaction). */
export async function saveInBrowser(folder: Folder, name: string): Promise<void> {
  try {
    await withStore('readwrite', (s) =>
      s.put({ savedAt: new Date().toISOString(), name, files: folder }, key),
    );
  } catch (e) {
    throw new PersistenceError(`could not save in this browser: ${reason(e)} (is storage full or blocked?)`);
  }
}

/** When and what was saved in this browser, if anything. */
export async function savedInBrowser(): Promise<{ savedAt: string; name: string } | null> {
  try {
    const found = (await withStore('readonly', (s) => s.get(key))) as Stored | undefined;
    return found ? { savedAt: found.savedAt, name: found.name } : null;
  } catch {
    return null;
  }
}

export async function loadFromBrowser(): Promise<OpenedLearner> {
  let found: Stored | undefined;
  try {
    found = (await withStore('readonly', (s) => s.get(key))) as Stored | undefined;
  } catch (e) {
    throw new PersistenceError(`could not read this browser's storage: ${reason(e)}`);
  }
  if (!found)
    throw new PersistenceError('no learner is saved in this browser yet; train one and save it first');
  return openLearnerFolder(found.files);
}

/** Downloads the folder as `unforget-learner.zip` (unzip it and `Learner.load` the folder in Node). */
export function download(folder: Folder): string {
  const name = 'unforget-learner.zip';
  const prefixed = new Map([...folder].map(([p, b]) => [`unforget-learner/${p}`, b] as [string, Uint8Array]));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([zip(prefixed) as BlobPart], { type: 'application/zip' }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 30_000);
  return name;
}

/** Opens what the user picked: a ZIP of a saved folder, or the files of the folder itself. */
export async function loadFromFiles(files: readonly File[]): Promise<OpenedLearner> {
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) {
    let folder: Folder;
    try {
      folder = await unzip(new Uint8Array(await files[0].arrayBuffer()));
    } catch (e) {
      throw new PersistenceError(`${files[0].name} cannot be read: ${reason(e)}`);
    }
    return openLearnerFolder(folder);
  }
  const folder: Folder = new Map();
  for (const f of files) {
    const path = f.webkitRelativePath || f.name;
    folder.set(path, new Uint8Array(await f.arrayBuffer()));
  }
  return openLearnerFolder(folder);
}

/** A task's test images kept by the page, to test the task again after later tasks. */
export interface KeptTest {
  inputs: Float32Array;
  labels: Int32Array;
  shape: number[];
  classNames: string[];
  /** A built-in digit set's digits: its test images come from the bundled MNIST, none are stored. */
  digits?: number[];
}

/** What the page keeps of a model's life: the learner's folder and each task's test images. */
export interface LifeRecord {
  savedAt: string;
  files: Folder;
  tests: Record<string, KeptTest>;
}

const lifeKey = 'life';

/** Keeps the learner of the page's model's life in this browser (replacing the one before in one transaction). */
export async function saveLife(files: Folder, tests: Record<string, KeptTest>): Promise<LifeRecord> {
  const record: LifeRecord = { savedAt: new Date().toISOString(), files, tests };
  try {
    await withStore('readwrite', (s) => s.put(record, lifeKey));
  } catch (e) {
    const full = e instanceof DOMException && e.name === 'QuotaExceededError';
    throw new PersistenceError(
      `could not save the learner in this browser: ${reason(e)}` +
        (full
          ? ' — this browser’s storage is full: free some space or download the learner; it is still here in the page'
          : ' (is storage full or blocked?); the learner is still here in the page: download it to keep it'),
    );
  }
  return record;
}

export async function loadLife(): Promise<LifeRecord | null> {
  try {
    return ((await withStore('readonly', (s) => s.get(lifeKey))) as LifeRecord | undefined) ?? null;
  } catch {
    return null;
  }
}

/** Forgets the learner of the model's life kept in this browser. */
export async function forgetLife(): Promise<void> {
  await withStore('readwrite', (s) => s.delete(lifeKey));
}

/** Offers `bytes` as a download named `name`. */
export function offer(bytes: Uint8Array, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 30_000);
}

/** Files picked or dropped (a ZIP, or the files of a folder) as a map from path to bytes. */
export async function filesToFolder(files: readonly File[]): Promise<Folder> {
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) {
    try {
      return await unzip(new Uint8Array(await files[0].arrayBuffer()));
    } catch (e) {
      throw new PersistenceError(`${files[0].name} cannot be read: ${reason(e)}`);
    }
  }
  const folder: Folder = new Map();
  for (const f of files) folder.set(f.webkitRelativePath || f.name, new Uint8Array(await f.arrayBuffer()));
  return folder;
}
