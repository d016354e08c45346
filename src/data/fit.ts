import { DataError } from '../errors.js';
import { exampleCount, exampleSize, type Dataset } from './dataset.js';
import { resizeBilinear } from './resize.js';

/** How images are laid out for a model input: height × width × channels, then reshaped to `shape`. */
export interface ImageLayout {
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  /** The model's own input shape (e.g. [784] for flattened 28×28 grayscale images). */
  readonly shape: readonly number[];
}

const isWhole = (n: number): boolean => Number.isInteger(n) && n > 0;

/**
 * How images fit a model input of shape `inputShape`: [h, w, 1 or 3] as it is, [h, w] as grayscale,
 * and a flat [n] as a square grayscale image (n = s²) or a square RGB one (n = 3s²). Null when the
 * input is not image-like.
 */
export function imageLayout(inputShape: readonly number[]): ImageLayout | null {
  const shape = [...inputShape];
  if (shape.length === 3 && (shape[2] === 1 || shape[2] === 3)) {
    return { height: shape[0], width: shape[1], channels: shape[2], shape };
  }
  if (shape.length === 2) return { height: shape[0], width: shape[1], channels: 1, shape };
  if (shape.length === 1) {
    const gray = Math.sqrt(shape[0]);
    if (isWhole(gray)) return { height: gray, width: gray, channels: 1, shape };
    const rgb = Math.sqrt(shape[0] / 3);
    if (isWhole(rgb)) return { height: rgb, width: rgb, channels: 3, shape };
  }
  return null;
}

/** '28×28 grayscale' or '32×32 RGB'. */
export const describeImages = (l: Pick<ImageLayout, 'height' | 'width' | 'channels'>): string =>
  `${l.height}×${l.width} ${l.channels === 1 ? 'grayscale' : 'RGB'}`;

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Bilinear resize (resize.ts) with a change of channels (RGB→gray as TensorFlow weighs it). */
function resizeExample(from: Float32Array, src: ImageLayout, dst: ImageLayout, out: Float32Array): void {
  const { height: h, width: w } = src;
  const plane = new Float32Array(h * w * dst.channels);
  for (let p = 0; p < h * w; p++) {
    if (src.channels === dst.channels) {
      for (let c = 0; c < dst.channels; c++) plane[p * dst.channels + c] = from[p * src.channels + c];
    } else if (dst.channels === 1) {
      plane[p] = 0.2989 * from[3 * p] + 0.587 * from[3 * p + 1] + 0.114 * from[3 * p + 2];
    } else {
      plane[3 * p] = plane[3 * p + 1] = plane[3 * p + 2] = from[p];
    }
  }
  resizeBilinear(plane, [h, w], [dst.height, dst.width], dst.channels, out);
}

/** A dataset brought to a model's input shape, and what was done to it ('' when nothing). */
export interface FittedData {
  readonly data: Dataset;
  readonly note: string;
}

/**
 * Brings `d` to examples of shape `inputShape`: as it is when the shapes agree, reshaped when the
 * example sizes agree (e.g. [28, 28, 1] images for a [784] model), else resized bilinearly (and made
 * grayscale or RGB) when both are images. Throws a DataError saying why when it cannot.
 *
 * @example
 * const { data, note } = fitDataset(loadMnist().train, [32, 32, 3], 'mnist'); // resized 28×28 grayscale → 32×32 RGB
 */
export function fitDataset(d: Dataset, inputShape: readonly number[], what = 'the data'): FittedData {
  const from = d.shape.slice(1);
  if (from.join('x') === inputShape.join('x')) return { data: d, note: '' };
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (size === exampleSize(d)) {
    return {
      data: { ...d, shape: [exampleCount(d), ...inputShape] },
      note: `reshaped ${shapeText(from)} → ${shapeText(inputShape)}`,
    };
  }
  const src = imageLayout(from);
  const dst = imageLayout(inputShape);
  if (src === null || dst === null) {
    throw new DataError(
      `${what} has examples of shape ${shapeText(from)} and the learner takes ${shapeText(inputShape)}: ` +
        `they hold different numbers of values and ${src === null ? 'the data are' : "the learner's input is"} ` +
        'not images that could be resized; bring the data to the learner’s input shape',
    );
  }
  const count = exampleCount(d);
  const inSize = exampleSize(d);
  const inputs = new Float32Array(count * size);
  for (let i = 0; i < count; i++) {
    resizeExample(
      d.inputs.subarray(i * inSize, (i + 1) * inSize),
      src,
      dst,
      inputs.subarray(i * size, (i + 1) * size),
    );
  }
  const flat = dst.shape.length !== 3 ? `, flattened to ${shapeText(inputShape)}` : '';
  return {
    data: { ...d, inputs, shape: [count, ...inputShape] },
    note: `resized ${describeImages(src)} → ${describeImages(dst)}${flat}`,
  };
}

/** What a task is, as far as its data is concerned: its label values and their names. */
export interface TaskClasses {
  readonly name: string;
  readonly classes: readonly number[];
  readonly classNames: readonly string[];
}

/**
 * Relabels `d` for a task the learner knows, matching classes by name: an example of the data's class
 * 'cat' gets the label value the task gave 'cat'. Throws a DataError naming a class the task does not
 * have.
 */
export function matchClasses(d: Dataset, task: TaskClasses, what = 'the data'): Dataset {
  const valueOf = new Map(task.classNames.map((n, i) => [n, task.classes[i]]));
  const present = [...new Set(d.labels)].sort((a, b) => a - b);
  const mapping = new Map<number, number>();
  for (const label of present) {
    const name = d.classNames[label] ?? String(label);
    const value = valueOf.get(name);
    if (value === undefined) {
      throw new DataError(
        `${what} has the class '${name}', which task '${task.name}' does not have; its classes are: ` +
          `${task.classNames.join(', ')}`,
      );
    }
    mapping.set(label, value);
  }
  const labels = d.labels.map((y) => mapping.get(y) as number);
  const classNames: string[] = Array.from({ length: Math.max(0, ...task.classes) + 1 }, (_, i) => String(i));
  task.classes.forEach((c, i) => (classNames[c] = task.classNames[i]));
  return { ...d, labels, classNames };
}
