/** Keeping it on the "Compare methods" page: saving the learner and loading one back. */
import { taskPermutations, OptionError, type BrowserBackend } from '../../src/browser.js';
import { startBackend } from '../backend.js';
import { showError, showMessage } from '../messages.js';
import { download, loadFromBrowser, loadFromFiles, saveInBrowser, type PageNotes } from '../model-store.js';
import { learnerFolder, type Folder, type OpenedLearner } from '../learner-folder.js';
import { countTensors, forgetLearner, setBusy, state, ui } from './state.js';
import { showRows } from './training.js';
import { predict } from './try.js';

// ---------- keeping it ----------

function isNotes(value: unknown): value is PageNotes {
  const n = value as Partial<PageNotes> | null;
  return !!n && typeof n === 'object' && Array.isArray(n.accuracyMatrix) && typeof n.scenario === 'object';
}

function adopt(opened: OpenedLearner, from: string): void {
  forgetLearner();
  state.learner = opened.learner;
  state.strategy = opened.strategy;
  const notes = isNotes(opened.page) ? opened.page : null;
  state.notes = notes;
  const layout = opened.learner.layout;
  state.permutations =
    notes?.scenario.kind === 'permuted-mnist'
      ? taskPermutations(notes.scenario.tasks, 784, notes.scenario.seed)
      : null;
  state.samples = layout.name === 'images' ? (state.images?.data.test ?? null) : null;
  showRows(layout, notes?.accuracyMatrix ?? []);
  const trained = opened.learner.trainedTasks;
  document.body.dataset.trained = String(trained);
  const strategy = opened.strategy?.name ?? 'no strategy saved';
  ui.metrics.textContent = `Loaded (${strategy}, ${trained} task(s) learned).`;
  ui.modelStatus.textContent = `Loaded from ${from}: ${layout.name}, ${trained} task(s), ${strategy}.`;
  if (!notes && layout.name.startsWith('permuted')) {
    showMessage(
      'This learner was saved outside the page: its pixel permutations are unknown here, so drawings are shown to it unpermuted.',
      'info',
    );
  }
  setBusy(false);
  countTensors();
  predict();
}

async function currentFolder(): Promise<Folder> {
  if (!state.learner || !state.notes) throw new OptionError('train a learner first');
  return learnerFolder(state.learner, state.strategy, { ...state.notes, savedAt: new Date().toISOString() });
}

async function loadPicked(input: HTMLInputElement): Promise<void> {
  const files = [...(input.files ?? [])];
  input.value = '';
  if (files.length === 0) return;
  try {
    await startBackend(ui.backendChoice.value as BrowserBackend);
    adopt(await loadFromFiles(files), files.length === 1 ? files[0].name : 'a folder');
  } catch (error) {
    showError(error);
  }
}

export function initKeep(): void {
  ui.saveBrowser.addEventListener('click', async () => {
    try {
      const folder = await currentFolder();
      const name = `${state.learner?.layout.name}, ${state.learner?.trainedTasks} task(s)`;
      await saveInBrowser(folder, name);
      ui.modelStatus.textContent = `Saved in this browser (${name}).`;
    } catch (error) {
      showError(error);
    }
  });
  ui.loadBrowser.addEventListener('click', async () => {
    try {
      await startBackend(ui.backendChoice.value as BrowserBackend);
      adopt(await loadFromBrowser(), 'this browser');
    } catch (error) {
      showError(error);
    }
  });
  ui.download.addEventListener('click', async () => {
    try {
      const name = download(await currentFolder());
      ui.modelStatus.textContent = `Downloaded ${name}: unzip it and Learner.load the folder in Node.`;
    } catch (error) {
      showError(error);
    }
  });
  ui.loadFilesButton.addEventListener('click', () => ui.loadFiles.click());
  ui.loadFiles.addEventListener('change', () => void loadPicked(ui.loadFiles));
  ui.loadFolderButton.addEventListener('click', () => ui.loadFolder.click());
  ui.loadFolder.addEventListener('change', () => void loadPicked(ui.loadFolder));
}
