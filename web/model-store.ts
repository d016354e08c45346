/**
 * Saving and loading the page's learner. Until the learner's one-folder format (src/model/save.ts)
 * is in the library, the trunk and each head are saved with TensorFlow.js's own browser handlers in
 * the TensorFlow.js layers format (`indexeddb://` in this browser; `model.json`-style files plus
 * `.weights.bin` when downloaded, which `tf.loadLayersModel` reads in Node too), and a small
 * `unforget-learner.json` says how they fit together.
 */
import * as tf from '@tensorflow/tfjs';
import {
  Learner,
  ModelError,
  PersistenceError,
  headSizes,
  type BackboneSpec,
  type ScenarioLayout,
} from '../src/browser.js';

export const learnerFormat = 'unforget-web-learner';

/** What, beside the weights, the page needs to rebuild and show a learner. */
export interface LearnerMeta {
  format: typeof learnerFormat;
  version: 1;
  savedAt: string;
  layout: ScenarioLayout;
  backbone: BackboneSpec;
  trainedTasks: number;
  /** The scenario as the page built it: which kind, and the seed its permutations came from. */
  scenario: { kind: string; seed: number; tasks: number };
  strategy: { name: string; options: Record<string, unknown> };
  accuracyMatrix: number[][];
  /** The models saved, in order: 'trunk', then 'head1', 'head2', … */
  models: string[];
}

const storageKey = 'unforget:learner';
const storeUrl = (model: string) => `indexeddb://unforget-${model}`;

function modelsOf(learner: Learner): [string, tf.LayersModel][] {
  return [
    ['trunk', learner.trunk],
    ...learner.heads.map((h, i): [string, tf.LayersModel] => [`head${i + 1}`, h]),
  ];
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Saves into this browser's IndexedDB (weights) and localStorage (the description). */
export async function saveInBrowser(learner: Learner, meta: Omit<LearnerMeta, 'models'>): Promise<void> {
  const models = modelsOf(learner);
  try {
    for (const [name, model] of models) await model.save(storeUrl(name));
    localStorage.setItem(storageKey, JSON.stringify({ ...meta, models: models.map(([n]) => n) }));
  } catch (error) {
    throw new PersistenceError(
      `could not save in this browser: ${reason(error)} (is storage full or blocked?)`,
    );
  }
}

/** Whether a learner was saved in this browser. */
export function savedInBrowser(): LearnerMeta | null {
  const text = localStorage.getItem(storageKey);
  if (!text) return null;
  try {
    return checkMeta(JSON.parse(text));
  } catch {
    return null;
  }
}

/** Downloads the description and each model's two files (the browser may ask to allow several downloads). */
export async function download(learner: Learner, meta: Omit<LearnerMeta, 'models'>): Promise<string[]> {
  const models = modelsOf(learner);
  const full: LearnerMeta = { ...meta, models: models.map(([n]) => n) };
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([JSON.stringify(full, null, 2)], { type: 'application/json' }));
  link.download = 'unforget-learner.json';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  const names = ['unforget-learner.json'];
  for (const [name, model] of models) {
    await model.save(`downloads://unforget-${name}`);
    names.push(`unforget-${name}.json`, `unforget-${name}.weights.bin`);
  }
  return names;
}

/** Checks that parsed JSON is a learner description this page wrote. */
export function checkMeta(value: unknown): LearnerMeta {
  const m = value as Partial<LearnerMeta> | null;
  if (!m || typeof m !== 'object' || m.format !== learnerFormat) {
    throw new ModelError(
      'this is not an unforget learner description (no "format": "unforget-web-learner"); ' +
        'pick the unforget-learner.json this page downloaded, with its model files',
    );
  }
  if (m.version !== 1)
    throw new ModelError(`unforget-learner.json version ${m.version} is newer than this page`);
  if (!m.layout || !m.backbone || !Array.isArray(m.models) || typeof m.trainedTasks !== 'number') {
    throw new ModelError(
      'unforget-learner.json is incomplete (layout, backbone, models or trainedTasks missing)',
    );
  }
  return m as LearnerMeta;
}

/** Rebuilds a learner from its trunk and heads as loaded models; checks they fit the description. */
async function assemble(
  meta: LearnerMeta,
  load: (model: string) => Promise<tf.LayersModel>,
): Promise<Learner> {
  const expected = ['trunk', ...headSizes(meta.layout).map((_, i) => `head${i + 1}`)];
  if (expected.join() !== meta.models.join()) {
    throw new ModelError(
      `the description lists models ${meta.models.join(', ')}; expected ${expected.join(', ')}`,
    );
  }
  const loaded: tf.LayersModel[] = [];
  let learner: Learner | undefined;
  try {
    for (const name of expected) loaded.push(await load(name));
    const [trunk, ...heads] = loaded;
    learner = new Learner(trunk, meta.layout);
    for (const [i, head] of learner.heads.entries()) {
      const want = head.getWeights().map((w) => w.shape.join('x'));
      const saved = heads[i].getWeights();
      if (saved.map((w) => w.shape.join('x')).join() !== want.join()) {
        throw new ModelError(`head ${i + 1} has weights of another shape than its task needs`);
      }
      head.setWeights(saved);
    }
    learner.trainedTasks = meta.trainedTasks;
    for (const h of heads) h.dispose();
    return learner;
  } catch (error) {
    // The learner owns the trunk once built; before that, the loaded trunk is ours to free.
    if (learner) learner.dispose();
    else loaded[0]?.dispose();
    for (const m of loaded.slice(1)) m.dispose();
    throw error instanceof ModelError
      ? error
      : new ModelError(`the model files do not load: ${reason(error)}`);
  }
}

/** Loads what `saveInBrowser` saved. */
export async function loadFromBrowser(): Promise<{ learner: Learner; meta: LearnerMeta }> {
  const meta = savedInBrowser();
  if (!meta)
    throw new PersistenceError('no learner is saved in this browser yet; train one and save it first');
  const learner = await assemble(meta, (name) => tf.loadLayersModel(storeUrl(name)));
  return { learner, meta };
}

/** Loads from files the user picked: unforget-learner.json plus each model's .json and .weights.bin. */
export async function loadFromFiles(
  files: readonly File[],
): Promise<{ learner: Learner; meta: LearnerMeta }> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const described =
    files.find((f) => f.name.endsWith('learner.json')) ?? (files.length === 1 ? files[0] : undefined);
  if (!described) {
    throw new ModelError(
      'pick unforget-learner.json together with its model files (unforget-trunk.json, unforget-trunk.weights.bin, …)',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await described.text());
  } catch {
    throw new ModelError(
      `${described.name} is not JSON; pick the unforget-learner.json this page downloaded`,
    );
  }
  const meta = checkMeta(parsed);
  const missing = meta.models
    .flatMap((m) => [`unforget-${m}.json`, `unforget-${m}.weights.bin`])
    .filter((n) => !byName.has(n));
  if (missing.length > 0) throw new ModelError(`also pick these files: ${missing.join(', ')}`);
  const learner = await assemble(meta, (name) =>
    tf.loadLayersModel(
      tf.io.browserFiles([
        byName.get(`unforget-${name}.json`) as File,
        byName.get(`unforget-${name}.weights.bin`) as File,
      ]),
    ),
  );
  return { learner, meta };
}
