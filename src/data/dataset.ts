import { DataError } from '../errors.js';

/**
 * A labelled set of examples kept on the host. Inputs are one Float32Array in row-major order with
 * `shape = [count, ...exampleShape]`; labels are class indices into `classNames`.
 */
export interface Dataset {
  readonly inputs: Float32Array;
  readonly shape: readonly number[];
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
}

/** A training set and a test set over the same classes. */
export interface DataSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** A dataset with no examples of shape `exampleShape`: a task whose data is not at hand. */
export function emptyDataset(exampleShape: readonly number[]): Dataset {
  return {
    inputs: new Float32Array(0),
    shape: [0, ...exampleShape],
    labels: new Int32Array(0),
    classNames: [],
  };
}

export function exampleCount(d: Dataset): number {
  return d.shape[0];
}

/** Number of values in one example (e.g. 784 for 28×28×1). */
export function exampleSize(d: Dataset): number {
  return d.shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * Checks that a dataset is consistent: the shape matches the inputs, one label per example, and every
 * label is an integer in [0, classNames.length). Throws a DataError naming the first problem.
 */
export function validateDataset(d: Dataset, what = 'dataset'): Dataset {
  const given = d as Partial<Record<keyof Dataset, unknown>> | null | undefined;
  if (typeof given !== 'object' || given === null) {
    throw new DataError(`${what} is missing: give { inputs, shape, labels, classNames }`);
  }
  for (const field of ['inputs', 'shape', 'labels', 'classNames'] as const) {
    const v = given[field];
    if (typeof v !== 'object' || v === null || typeof (v as { length?: unknown }).length !== 'number') {
      throw new DataError(`${what} has no ${field}: give { inputs, shape, labels, classNames }`);
    }
  }
  if (d.shape.length < 2) {
    throw new DataError(`${what}: shape must be [count, ...exampleShape]; got [${d.shape.join(', ')}]`);
  }
  if (!d.shape.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new DataError(`${what}: shape must hold whole numbers ≥ 0; got [${d.shape.join(', ')}]`);
  }
  if (!(d.inputs instanceof Float32Array)) {
    throw new DataError(`${what}: inputs must be a Float32Array`);
  }
  const n = d.shape[0];
  const size = exampleSize(d);
  if (d.inputs.length !== n * size) {
    throw new DataError(
      `${what}: inputs hold ${d.inputs.length} values but shape [${d.shape.join(', ')}] needs ${n * exampleSize(d)}`,
    );
  }
  if (d.labels.length !== n) {
    throw new DataError(
      `${what}: ${d.labels.length} labels for ${n} examples; give exactly one label per example`,
    );
  }
  const k = d.classNames.length;
  for (let i = 0; i < n; i++) {
    const y: unknown = d.labels[i];
    if (typeof y !== 'number' || !Number.isInteger(y) || y < 0 || y >= k) {
      const shown = typeof y === 'string' ? `the string '${y}'` : String(y);
      throw new DataError(
        `${what}: labels must be integers in [0, ${k}); got ${shown} at index ${i}: ` +
          'give labels as an Int32Array of class indices into classNames',
      );
    }
  }
  const inputs = d.inputs;
  for (let i = 0; i < inputs.length; i++) {
    if (!Number.isFinite(inputs[i])) {
      throw new DataError(
        `${what}: input value ${i % size} of example ${Math.floor(i / size)} is ${inputs[i]}; ` +
          'every input must be a finite number: replace or drop the examples with NaN or infinite values',
      );
    }
  }
  return d;
}

/**
 * The examples at the given indices, in that order. A run of consecutive indices (a class of data
 * stored class by class, as MNIST is) shares the inputs of `d` instead of copying them; datasets are
 * never changed in place, so the two cannot tell.
 */
export function subset(d: Dataset, indices: ArrayLike<number>): Dataset {
  const size = exampleSize(d);
  const first = indices.length > 0 ? indices[0] : 0;
  let consecutive = true;
  for (let i = 1; i < indices.length && consecutive; i++) consecutive = indices[i] === first + i;
  if (
    consecutive &&
    indices.length > 0 &&
    Number.isInteger(first) &&
    first >= 0 &&
    first + indices.length <= exampleCount(d)
  ) {
    return {
      inputs: d.inputs.subarray(first * size, (first + indices.length) * size),
      labels: d.labels.slice(first, first + indices.length),
      shape: [indices.length, ...d.shape.slice(1)],
      classNames: d.classNames,
    };
  }
  const inputs = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    inputs.set(d.inputs.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = d.labels[j];
  }
  return { inputs, labels, shape: [indices.length, ...d.shape.slice(1)], classNames: d.classNames };
}

/** The examples whose label is one of `classes`, in their original order. */
export function withClasses(d: Dataset, classes: readonly number[]): Dataset {
  const keep = new Set(classes);
  const indices: number[] = [];
  for (let i = 0; i < d.labels.length; i++) if (keep.has(d.labels[i])) indices.push(i);
  return subset(d, indices);
}

/** Applies `f` to every example's values (e.g. a pixel permutation), keeping the labels. */
export function mapExamples(d: Dataset, f: (example: Float32Array, out: Float32Array) => void): Dataset {
  const size = exampleSize(d);
  const inputs = new Float32Array(d.inputs.length);
  for (let i = 0; i < exampleCount(d); i++) {
    f(d.inputs.subarray(i * size, (i + 1) * size), inputs.subarray(i * size, (i + 1) * size));
  }
  return { ...d, inputs };
}
