import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import { withClasses, type DataSplit } from './dataset.js';
import { describeImages, fitDataset, imageLayout } from './fit.js';
import { fashionMnistFolder, loadFashionMnist, loadIdxFolder } from './idx.js';
import { imageExtensions, imageFileInfo, loadImageFolder } from './images.js';
import { loadMnist } from './mnist.js';
import { imageSplitSeed, imageTestShare } from './image-split.js';

/**
 * Where a task's data comes from, as written on the command line and recorded as the task's source:
 * a built-in set (`mnist`, `mnist:5-9`, `mnist:0,2,4`, `fashion`, `fashion:0-4`), a folder of IDX
 * files (train/t10k images and labels) or an image folder (one sub-folder per class).
 */
export type DataSpec =
  | {
      readonly kind: 'mnist' | 'fashion';
      readonly classes: readonly number[] | null;
      readonly source: string;
    }
  | { readonly kind: 'idx'; readonly path: string; readonly source: string }
  | { readonly kind: 'images'; readonly path: string; readonly source: string };

export { imageSplitSeed, imageTestShare };

const builtIns = 'mnist, mnist:5-9 (a class range), mnist:0,2,4 (a list), fashion, fashion:0-4';

function parseClasses(spec: string, list: string): number[] {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || from > to || to > 9) {
      throw new DataError(
        `'${spec}' names the classes '${list}'; give a range or a list of classes 0-9, e.g. ${spec.split(':')[0]}:5-9 or ${spec.split(':')[0]}:0,2,4`,
      );
    }
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

const isDirectory = (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/**
 * Reads a data spec: a built-in set's name (with an optional class selection) or a folder, resolved
 * to an absolute path and told apart by what it holds. Throws a DataError for anything else.
 */
export async function parseDataSpec(spec: string, cwd = process.cwd()): Promise<DataSpec> {
  const m = /^(mnist|fashion)(?::(.*))?$/.exec(spec.trim());
  if (m) {
    const kind = m[1] as 'mnist' | 'fashion';
    const classes = m[2] === undefined ? null : parseClasses(spec, m[2]);
    if (classes !== null && classes.length < 1) throw new DataError(`'${spec}' selects no classes`);
    return { kind, classes, source: classes === null ? kind : `${kind}:${m[2].replace(/\s+/g, '')}` };
  }
  const path = resolve(cwd, spec);
  if (!(await isDirectory(path))) {
    throw new DataError(
      `unknown data '${spec}': it is neither a folder nor a built-in set (${builtIns}); ` +
        'pass an image folder (one sub-folder per class) or a folder of IDX files',
    );
  }
  const entries = await readdir(path, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && /^train-images[.-]idx3-ubyte(\.gz)?$/.test(e.name))) {
    return { kind: 'idx', path, source: path };
  }
  if (entries.some((e) => e.isDirectory() && !e.name.startsWith('.'))) {
    return { kind: 'images', path, source: path };
  }
  throw new DataError(
    `${path} is neither an image folder (one sub-folder of PNG/JPEG images per class) nor a folder of IDX ` +
      'files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-…): check the path',
  );
}

/** The first image of an image folder (first class, first file, by name), or undefined. */
async function firstImage(folder: string): Promise<string | undefined> {
  const classes = (await readdir(folder, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const c of classes) {
    const files = (await readdir(join(folder, c), { withFileTypes: true }))
      .filter(
        (e) =>
          e.isFile() &&
          !e.name.startsWith('.') &&
          imageExtensions.some((x) => e.name.toLowerCase().endsWith(x)),
      )
      .map((e) => e.name)
      .sort();
    if (files.length > 0) return join(folder, c, files[0]);
  }
  return undefined;
}

/** Options of `loadDataSpec`. */
export interface LoadSpecOptions {
  /**
   * The learner's input shape: the data are brought to it (reshaped, or resized when they are images).
   * Leave it out for a new learner: then the data keep their own shape (an image folder: `imageSize`
   * and `channels`, by default those of its first image).
   */
  readonly inputShape?: readonly number[];
  /** An image folder's size for a new learner, [height, width]. */
  readonly imageSize?: readonly [number, number];
  /** An image folder's channels for a new learner (1 grayscale, 3 RGB). */
  readonly channels?: 1 | 3;
}

/** A data spec loaded: its training and test sets at the learner's shape, and what was done to them. */
export interface LoadedData extends DataSplit {
  readonly source: string;
  /** Lines saying what the data are and what was done to fit them (sizes, resizing). */
  readonly notes: readonly string[];
}

/**
 * Loads the data a spec names, brought to `options.inputShape`. An image folder is split the same way
 * on every load (a fixed seed), so its test part is the same when a later session reads it again.
 *
 * @example
 * const d = await loadDataSpec(await parseDataSpec('mnist:5-9'), { inputShape: [784] });
 */
export async function loadDataSpec(spec: DataSpec, options: LoadSpecOptions = {}): Promise<LoadedData> {
  const notes: string[] = [];
  let split: DataSplit;
  if (spec.kind === 'images') {
    const first = await firstImage(spec.path);
    const info = first === undefined ? undefined : await imageFileInfo(first);
    let size: [number, number];
    let channels: 1 | 3;
    let shape: readonly number[] | undefined;
    if (options.inputShape !== undefined) {
      const layout = imageLayout(options.inputShape);
      if (layout === null) {
        throw new DataError(
          `the learner takes examples of shape [${options.inputShape.join(', ')}], which are not images; ` +
            `the image folder ${spec.path} cannot be brought to that shape`,
        );
      }
      size = [layout.height, layout.width];
      channels = layout.channels;
      shape = layout.shape.length === 3 ? undefined : layout.shape;
    } else {
      size = options.imageSize
        ? [options.imageSize[0], options.imageSize[1]]
        : [info?.height ?? 28, info?.width ?? 28];
      channels = options.channels ?? (info?.colour ? 3 : 1);
    }
    split = await loadImageFolder(spec.path, {
      size,
      channels,
      testShare: imageTestShare,
      seed: imageSplitSeed,
      log: null,
    });
    const loadedAs = describeImages({ height: size[0], width: size[1], channels });
    if (info !== undefined) {
      const own = describeImages({ height: info.height, width: info.width, channels: info.colour ? 3 : 1 });
      notes.push(
        own === loadedAs
          ? `images loaded at ${loadedAs}`
          : `images resized to ${loadedAs} (the first one is ${own})`,
      );
    }
    if (shape !== undefined) {
      const fitted = (d: typeof split.train) => fitDataset(d, shape, spec.path);
      const train = fitted(split.train);
      split = { train: train.data, test: fitted(split.test).data };
      notes.push(train.note);
    }
  } else {
    if (spec.kind === 'idx') {
      split = await (spec.path === fashionMnistFolder
        ? loadFashionMnist(spec.path)
        : loadIdxFolder(spec.path));
    } else {
      split = spec.kind === 'mnist' ? loadMnist() : await loadFashionMnist();
      const { classes } = spec;
      if (classes !== null) {
        split = { train: withClasses(split.train, classes), test: withClasses(split.test, classes) };
      }
    }
    if (options.inputShape !== undefined) {
      const train = fitDataset(split.train, options.inputShape, spec.source);
      const test = fitDataset(split.test, options.inputShape, spec.source);
      split = { train: train.data, test: test.data };
      if (train.note) notes.push(train.note);
    }
  }
  const present = new Set<number>();
  for (const d of [split.train, split.test]) for (const y of d.labels) present.add(y);
  const names = [...present].sort((a, b) => a - b).map((y) => split.train.classNames[y] ?? String(y));
  notes.unshift(
    `${names.length} classes (${names.length > 12 ? `${names.slice(0, 12).join(', ')}, …` : names.join(', ')}), ` +
      `${split.train.labels.length} training and ${split.test.labels.length} test examples`,
  );
  return { ...split, source: spec.source, notes };
}
