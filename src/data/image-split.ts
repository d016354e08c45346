/**
 * The browser-safe half of reading an image folder, shared by Node (`loadImageFolder`) and the page:
 * turning decoded RGBA pixels into model inputs, and the seeded per-class train/test split. The same
 * folder gives the same test set on both sides.
 */
import { permutation, seededRandom } from '../random.js';
import type { DataSplit, Dataset } from './dataset.js';
import { resizeBilinear } from './resize.js';

/** The share of each class of an image folder held out for testing, and the seed that picks it: fixed, so every load splits alike. */
export const imageTestShare = 0.2;
export const imageSplitSeed = 0;

/** A decoded image: RGBA bytes, row-major. */
export interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * Converts RGBA bytes to `channels` values in [0, 1] per pixel (alpha is dropped; grayscale is
 * 0.2989 R + 0.5870 G + 0.1140 B, as in TensorFlow) and resizes bilinearly with half-pixel centres to
 * height × width, writing into `out`.
 */
export function rgbaToInput(
  image: Rgba,
  height: number,
  width: number,
  channels: 1 | 3,
  out: Float32Array,
): void {
  const { width: w, height: h, data } = image;
  const plane = new Float32Array(w * h * channels);
  for (let p = 0; p < w * h; p++) {
    const r = data[4 * p] / 255;
    const g = data[4 * p + 1] / 255;
    const b = data[4 * p + 2] / 255;
    if (channels === 1) plane[p] = 0.2989 * r + 0.587 * g + 0.114 * b;
    else {
      plane[3 * p] = r;
      plane[3 * p + 1] = g;
      plane[3 * p + 2] = b;
    }
  }
  resizeBilinear(plane, [h, w], [height, width], channels, out, true);
}

/**
 * Splits each class's examples (listed in file-name order) into a training and a test set: in each
 * class, `min(round(testShare × count), count − 1)` examples picked at random by `seed` go to the test
 * set. Each set lists its examples by class, then in their given order.
 *
 * @example
 * const { train, test } = splitPerClass([cats, dogs], ['cat', 'dog'], [28, 28, 1]);
 */
export function splitPerClass(
  perClass: readonly (readonly Float32Array[])[],
  classNames: readonly string[],
  exampleShape: readonly number[],
  testShare = imageTestShare,
  seed = imageSplitSeed,
): DataSplit {
  const exampleSize = exampleShape.reduce((a, b) => a * b, 1);
  const random = seededRandom(seed);
  const trainParts: Array<{ label: number; input: Float32Array }> = [];
  const testParts: Array<{ label: number; input: Float32Array }> = [];
  perClass.forEach((images, label) => {
    const testCount = Math.max(0, Math.min(Math.round(images.length * testShare), images.length - 1));
    const order = permutation(images.length, random);
    const toTest = new Uint8Array(images.length);
    for (let i = 0; i < testCount; i++) toTest[order[i]] = 1;
    images.forEach((input, i) => (toTest[i] ? testParts : trainParts).push({ label, input }));
  });
  const build = (parts: Array<{ label: number; input: Float32Array }>): Dataset => {
    const inputs = new Float32Array(parts.length * exampleSize);
    const labels = new Int32Array(parts.length);
    parts.forEach((part, i) => {
      inputs.set(part.input, i * exampleSize);
      labels[i] = part.label;
    });
    return { inputs, labels, shape: [parts.length, ...exampleShape], classNames: [...classNames] };
  };
  return { train: build(trainParts), test: build(testParts) };
}
