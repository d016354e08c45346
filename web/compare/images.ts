/** Your images on the "Compare methods" page: a folder dropped or picked, read into a scenario's data. */
import { fromDrop, fromInput, readImageFolders, type PickedFile } from '../data.js';
import { showError, showMessage } from '../messages.js';
import { state, ui } from './state.js';

// ---------- your images ----------

async function takeImages(files: PickedFile[]): Promise<void> {
  state.images = null;
  ui.imagesSummary.textContent = 'Reading images…';
  try {
    const folders = await readImageFolders(files, undefined, (done, total) => {
      ui.imagesSummary.textContent = `Reading images… ${done}/${total}`;
    });
    state.images = folders;
    const classes = folders.data.train.classNames.length;
    const how = folders.taskClasses
      ? `${folders.taskClasses.length} tasks (${folders.taskNames.join(', ')})`
      : `${classes} classes, dealt into tasks`;
    ui.imagesSummary.textContent =
      `${folders.images - folders.skipped.filter((s) => s.endsWith('(does not decode)')).length} images, ` +
      `${classes} classes: ${how}.`;
    if (folders.taskClasses) ui.tasks.value = String(folders.taskClasses.length);
    if (folders.skipped.length > 0) {
      const shown = folders.skipped.slice(0, 8).join('\n');
      const more = folders.skipped.length > 8 ? `\n…and ${folders.skipped.length - 8} more` : '';
      showMessage(
        `Skipped ${folders.skipped.length} file(s) that are not usable images:\n${shown}${more}`,
        'info',
      );
    }
  } catch (error) {
    ui.imagesSummary.textContent = 'No usable images yet.';
    showError(error);
  }
}

export function initImages(): void {
  ui.drop.addEventListener('click', () => ui.folder.click());
  ui.drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      ui.folder.click();
    }
  });
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  // A folder dropped anywhere on the page is taken as your images (and the browser does not leave the
  // page to show a dropped file).
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    if (!e.dataTransfer || state.running) return;
    ui.scenario.value = 'images';
    ui.scenario.dispatchEvent(new Event('change'));
    void fromDrop(e.dataTransfer.items).then(takeImages, showError);
  });
  ui.folder.addEventListener('change', () => {
    const picked = ui.folder.files && ui.folder.files.length > 0 ? fromInput(ui.folder.files) : [];
    ui.folder.value = ''; // so that picking the same folder again (after fixing it) reads it again
    if (picked.length > 0) void takeImages(picked);
  });
}
