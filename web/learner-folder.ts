/**
 * The page's side of the learner folder: the library's own codec (src/persist/codec.ts, the same files
 * Node's `saveLearner` writes and `loadLearner` reads), kept in a map from relative path to bytes, plus
 * `page.json`, the page's notes (the accuracy matrix, how the scenario was built), listed in the
 * manifest like every file. Node's loader reads the folder as it is.
 */
import { decodeLearner, encodeLearner, type Folder } from '../src/persist/codec.js';
import { manifestName } from '../src/persist/format.js';
import type { Learner, Strategy } from '../src/browser.js';

export type { Folder };

const pageNotes = 'page.json';

/** Everything `saveLearner` would write for this learner and strategy, plus the page's own notes. */
export function learnerFolder(learner: Learner, strategy: Strategy | null, page: unknown): Promise<Folder> {
  const notes = new TextEncoder().encode(JSON.stringify(page, null, 2) + '\n');
  return encodeLearner(learner, strategy ?? undefined, new Map([[pageNotes, notes]]));
}

/** What a saved folder gives back: the learner, its strategy (holding its state), and the page's notes. */
export interface OpenedLearner {
  learner: Learner;
  strategy: Strategy | null;
  page: unknown;
}

/**
 * Reads a saved learner (checking every listed file's size and checksum). Paths may sit under one top
 * folder (as in a ZIP of the folder).
 */
export async function openLearnerFolder(input: Folder): Promise<OpenedLearner> {
  const folder = stripTopFolder(input);
  const { learner, strategy } = await decodeLearner(folder);
  const notes = folder.get(pageNotes);
  return {
    learner,
    strategy: strategy ?? null,
    page: notes ? JSON.parse(new TextDecoder().decode(notes)) : null,
  };
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
