/** The page's data: the bundled MNIST from the server, and the user's own image folders. */
import {
  DataError,
  decodeImageSplit,
  imageSplitSeed,
  imageTestShare,
  rgbaToInput,
  splitPerClass,
  validateDataset,
  withClasses,
  type DataSplit,
  type Dataset,
  type Scenario,
  type Setting,
} from '../src/browser.js';

let mnist: Promise<DataSplit> | undefined;

/** The 10,000 bundled MNIST digits (the same split as `loadMnist` in Node), fetched once. */
export function bundledMnist(): Promise<DataSplit> {
  mnist ??= (async () => {
    const response = await fetch('data/mnist.bin');
    if (!response.ok) throw new DataError(`the server did not send MNIST (HTTP ${response.status})`);
    return decodeImageSplit(await response.arrayBuffer());
  })();
  mnist.catch(() => (mnist = undefined));
  return mnist;
}

/** A file with its folder path below what the user picked or dropped. */
export interface PickedFile {
  folders: string[];
  file: File;
}

const imagePattern = /\.(png|jpe?g|gif|bmp|webp|avif)$/i;

/** Files from an `<input webkitdirectory>`: the first folder of each path is the one picked. */
export function fromInput(files: FileList): PickedFile[] {
  return [...files].map((file) => {
    const parts = (file.webkitRelativePath || file.name).split('/');
    return { folders: parts.slice(1, -1), file };
  });
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((done, fail) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return done(all);
        all.push(...batch);
        next();
      }, fail);
    next();
  });
}

async function walk(entry: FileSystemEntry, folders: string[], out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((done, fail) => (entry as FileSystemFileEntry).file(done, fail));
    out.push({ folders, file });
  } else if (entry.isDirectory) {
    const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
    for (const child of children) await walk(child, [...folders, entry.name], out);
  }
}

/**
 * Files from a drop. A single folder dropped is the one "picked" (its sub-folders are classes or
 * tasks); several folders dropped together are taken as the sub-folders themselves.
 */
export async function fromDrop(items: DataTransferItemList): Promise<PickedFile[]> {
  const list = [...items].filter((i) => i.kind === 'file');
  const entries = list.map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => !!e);
  const out: PickedFile[] = [];
  // Loose files (or a browser that gives no entries) have no folder, so no class.
  if (entries.length === 0) {
    return list.flatMap((i) => {
      const file = i.getAsFile();
      return file ? [{ folders: [], file }] : [];
    });
  }
  const single = entries.length === 1 && entries[0].isDirectory;
  for (const entry of entries) await walk(entry, [], out);
  return single ? out.map((p) => ({ ...p, folders: p.folders.slice(1) })) : out;
}

/**
 * An image file as 28×28 grayscale values in [0, 1]: the browser decodes it at its own size, then the
 * library turns the pixels into inputs exactly as Node's image-folder loader does (rgbaToInput).
 */
export async function decodeImage(file: Blob): Promise<Float32Array> {
  const bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D;
  g.drawImage(bitmap, 0, 0);
  const rgba = g.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  const out = new Float32Array(784);
  rgbaToInput(rgba, 28, 28, 1, out);
  return out;
}
const decode = decodeImage;

/** What reading a folder gave: the data, how it is grouped, and what was skipped. */
export interface ImageFolders {
  data: DataSplit;
  /** With tasks: the classes (label values) of each task, when the folders were tasks/classes. */
  taskClasses: number[][] | null;
  taskNames: string[];
  skipped: string[];
  images: number;
}

/**
 * Reads picked image files into a seeded 80/20 train/test split per class. Files right under a class
 * folder are images of that class; with two folder levels, the outer ones are tasks.
 */
export async function readImageFolders(
  files: readonly PickedFile[],
  seed: number = imageSplitSeed,
  onProgress?: (done: number, total: number) => void,
): Promise<ImageFolders> {
  const skipped: string[] = [];
  const images = files.filter((f) => {
    if (f.file.name.startsWith('.')) return false;
    if (!imagePattern.test(f.file.name) || f.folders.length === 0 || f.folders.length > 2) {
      skipped.push([...f.folders, f.file.name].join('/'));
      return false;
    }
    return true;
  });
  if (images.length === 0) {
    throw new DataError(
      'no images found in sub-folders; drop a folder with one sub-folder of images per class (PNG, JPEG, GIF, BMP, WebP)',
    );
  }
  const depth = Math.max(...images.map((f) => f.folders.length));
  const usable = images.filter((f) => {
    if (f.folders.length === depth) return true;
    skipped.push([...f.folders, f.file.name].join('/'));
    return false;
  });
  const classKey = (f: PickedFile) => f.folders.join('/');
  // Each class's images in file-name order (as Node reads a folder), so the seeded split picks alike.
  usable.sort((a, b) => (a.file.name < b.file.name ? -1 : a.file.name > b.file.name ? 1 : 0));
  const classNames = [...new Set(usable.map(classKey))].sort();
  const byClass = new Map<string, Float32Array[]>(classNames.map((c) => [c, []]));
  let done = 0;
  for (const f of usable) {
    try {
      byClass.get(classKey(f))?.push(await decode(f.file));
    } catch {
      skipped.push(`${classKey(f)}/${f.file.name} (does not decode)`);
    }
    onProgress?.(++done, usable.length);
  }
  const empty = classNames.filter((c) => (byClass.get(c)?.length ?? 0) < 2);
  if (empty.length > 0) {
    throw new DataError(
      `every class needs at least 2 images that decode (one to train, one to test); ` +
        `these have fewer: ${empty.join(', ')}`,
    );
  }
  if (classNames.length < 2) {
    throw new DataError(
      `found one class (${classNames[0]}); a task needs at least two: put each class's images in its own sub-folder`,
    );
  }
  // The library's own split (the same as Node's image folders: a fifth of each class, seed 0).
  const split = splitPerClass(
    classNames.map((c) => byClass.get(c) ?? []),
    classNames,
    [28, 28, 1],
    imageTestShare,
    seed,
  );
  const pack = (d: Dataset): Dataset => validateDataset(d);
  const train = pack(split.train);
  const test = pack(split.test);
  let taskClasses: number[][] | null = null;
  let taskNames: string[] = [];
  if (depth === 2) {
    taskNames = [...new Set(usable.map((f) => f.folders[0]))].sort();
    taskClasses = taskNames.map((t) =>
      classNames.flatMap((c, label) => (c.startsWith(`${t}/`) ? [label] : [])),
    );
    const lonely = taskNames.filter((_, i) => (taskClasses as number[][])[i].length < 2);
    if (lonely.length > 0) {
      throw new DataError(
        `each task folder needs at least two class folders; these have one: ${lonely.join(', ')}`,
      );
    }
  }
  return { data: { train, test }, taskClasses, taskNames, skipped, images: done };
}

/** A scenario whose tasks are the task folders, each with its own classes. */
export function taskFolderScenario(folders: ImageFolders, setting: Setting): Scenario {
  const { data, taskClasses, taskNames } = folders;
  if (!taskClasses) throw new DataError('the folders are classes, not tasks');
  return {
    name: 'images',
    setting,
    inputShape: [28, 28, 1],
    tasks: taskClasses.map((classes, t) => ({
      name: taskNames[t],
      classes,
      classNames: classes.map((c) => data.train.classNames[c].split('/').slice(1).join('/')),
      train: withClasses(data.train, classes),
      test: withClasses(data.test, classes),
    })),
  };
}
