import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { DataError, OptionError } from '../errors.js';
import type { DataSplit } from './dataset.js';
import { rgbaToInput, splitPerClass, type Rgba } from './image-split.js';

/** Options of `loadImageFolder`. */
export interface ImageFolderOptions {
  /** The model's input size, [height, width]; every image is resized to it (bilinear). */
  readonly size: readonly [number, number];
  /** 1: grayscale, 3: RGB. */
  readonly channels: 1 | 3;
  /** The share of each class's images that goes to the test set, in [0, 1). Default 0.2. */
  readonly testShare?: number;
  /** Seeds the split. Default 0. */
  readonly seed?: number;
  /** What to do with a file that does not decode: 'fail' (default) or 'skip' it with a warning. */
  readonly onBadImage?: 'fail' | 'skip';
  /** Where warnings go (skipped files). Default: console.error; null for quiet. */
  readonly log?: ((line: string) => void) | null;
}

/** The file extensions read, compared case-insensitively. Other files are ignored. */
export const imageExtensions: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** The PNG and JPEG decoders, loaded on first use: most runs read no image and need not load them. */
interface Codecs {
  png: typeof import('pngjs').PNG;
  jpeg: typeof import('jpeg-js');
}
let loaded: Promise<Codecs> | undefined;
function codecs(): Promise<Codecs> {
  loaded ??= Promise.all([import('pngjs'), import('jpeg-js')]).then(([png, jpeg]) => ({
    png: png.PNG,
    jpeg: jpeg.default,
  }));
  return loaded;
}

function decode(bytes: Buffer, { png: PNG, jpeg }: Codecs): Rgba {
  const isPng = bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (isPng) {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, data: png.data };
  }
  if (isJpeg) {
    return jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  }
  throw new Error('it is neither a PNG nor a JPEG (its first bytes say otherwise)');
}

const toInput = rgbaToInput;

function checkOptions(options: ImageFolderOptions): void {
  const { size, channels, testShare = 0.2, seed = 0, onBadImage = 'fail' } = options;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new OptionError(
      `size must be [height, width] in whole pixels above 0; got ${JSON.stringify(size)}`,
    );
  }
  if (channels !== 1 && channels !== 3) {
    throw new OptionError(`channels must be 1 (grayscale) or 3 (RGB); got ${String(channels)}`);
  }
  if (!(testShare >= 0 && testShare < 1)) {
    throw new OptionError(
      `testShare must be in [0, 1), e.g. 0.2 for a fifth of each class; got ${testShare}`,
    );
  }
  if (!Number.isFinite(seed)) throw new OptionError(`seed must be a number; got ${seed}`);
  if (onBadImage !== 'fail' && onBadImage !== 'skip') {
    throw new OptionError(`onBadImage must be 'fail' or 'skip'; got ${String(onBadImage)}`);
  }
}

/**
 * Reads a folder with one sub-folder per class into a training and a test set. The class names are
 * the sub-folder names, sorted; label i is the i-th name. PNG and JPEG files (.png, .jpg, .jpeg, any
 * case; the format is told by the file's first bytes) are decoded, made grayscale (channels 1) or RGB
 * (channels 3, alpha dropped), resized bilinearly to `size` and scaled to [0, 1]: inputs shaped
 * [count, height, width, channels]. Files with other extensions, hidden files and files directly in
 * `folder` are ignored. In each class, `round(testShare × count)` images chosen at random by `seed`
 * go to the test set and the rest to the training set; each set lists its images by class, then by
 * file name.
 *
 * A file that does not decode stops the load with a DataError naming it (`onBadImage: 'fail'`), or is
 * left out with a warning (`onBadImage: 'skip'`).
 *
 * @example
 * const { train, test } = await loadImageFolder('./photos', { size: [32, 32], channels: 3, seed: 1 });
 */
export async function loadImageFolder(folder: string, options: ImageFolderOptions): Promise<DataSplit> {
  checkOptions(options);
  const { size, channels, testShare = 0.2, seed = 0, onBadImage = 'fail' } = options;
  const log = options.log === undefined ? (line: string) => console.error(line) : options.log;
  const [height, width] = size;

  let entries;
  try {
    if (!(await stat(folder)).isDirectory()) throw new Error('not a folder');
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    throw new DataError(
      `image folder ${folder} not found; pass a folder that holds one sub-folder of images per class`,
    );
  }
  const classNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classNames.length === 0) {
    throw new DataError(
      `${folder} has no class sub-folders; put the images of each class in a sub-folder named after the class`,
    );
  }
  if (classNames.length < 2) {
    throw new DataError(
      `${folder} has only one class sub-folder (${classNames[0]}); a classifier needs at least 2 classes: add another sub-folder of images`,
    );
  }

  const exampleSize = height * width * channels;
  const perClass: Float32Array[][] = [];
  for (const name of classNames) {
    const classFolder = join(folder, name);
    const files = (await readdir(classFolder, { withFileTypes: true }))
      .filter(
        (e) =>
          e.isFile() && !e.name.startsWith('.') && imageExtensions.includes(extname(e.name).toLowerCase()),
      )
      .map((e) => e.name)
      .sort();
    const images: Float32Array[] = [];
    for (const file of files) {
      const path = join(classFolder, file);
      let image: Rgba;
      try {
        image = decode(await readFile(path), await codecs());
        if (!(image.width > 0 && image.height > 0)) throw new Error('it has no pixels');
      } catch (e) {
        const message = `${path} does not decode as an image (${(e as Error).message})`;
        if (onBadImage === 'fail') {
          throw new DataError(
            `${message}; remove it or convert it to PNG or JPEG, or pass onBadImage: 'skip' to leave such files out`,
          );
        }
        log?.(`unforget: skipping ${message}`);
        continue;
      }
      const input = new Float32Array(exampleSize);
      toInput(image, height, width, channels, input);
      images.push(input);
    }
    if (images.length === 0) {
      throw new DataError(
        `class ${name} (${classFolder}) has no images that can be read; add PNG or JPEG files (${imageExtensions.join(', ')}) or remove the sub-folder`,
      );
    }
    perClass.push(images);
  }

  return splitPerClass(perClass, classNames, [height, width, channels], testShare, seed);
}

/** An image file's size in pixels and whether it has colour (some pixel whose R, G and B differ). */
export async function imageFileInfo(
  path: string,
): Promise<{ width: number; height: number; colour: boolean }> {
  const image = decodeFile(path, await readFileOrFail(path), await codecs());
  let colour = false;
  for (let p = 0; p < image.data.length && !colour; p += 4) {
    colour = image.data[p] !== image.data[p + 1] || image.data[p + 1] !== image.data[p + 2];
  }
  return { width: image.width, height: image.height, colour };
}

/**
 * One PNG or JPEG file prepared exactly as `loadImageFolder` prepares each image (grayscale or RGB,
 * bilinear resize to `size`, values in [0, 1]): `size[0] × size[1] × channels` values, row-major.
 */
export async function loadImageFile(
  path: string,
  options: Pick<ImageFolderOptions, 'size' | 'channels'>,
): Promise<Float32Array> {
  checkOptions(options);
  const [height, width] = options.size;
  const image = decodeFile(path, await readFileOrFail(path), await codecs());
  const out = new Float32Array(height * width * options.channels);
  toInput(image, height, width, options.channels, out);
  return out;
}

async function readFileOrFail(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new DataError(`cannot read the image ${path}: ${(e as Error).message}`);
  }
}

function decodeFile(path: string, bytes: Buffer, decoders: Codecs): Rgba {
  try {
    const image = decode(bytes, decoders);
    if (!(image.width > 0 && image.height > 0)) throw new Error('it has no pixels');
    return image;
  } catch (e) {
    throw new DataError(
      `${path} does not decode as an image (${(e as Error).message}); pass a PNG or JPEG file`,
    );
  }
}
