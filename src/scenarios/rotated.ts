import type { DataSplit, Dataset } from '../data/dataset.js';
import { mapExamples, validateDataset } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { checkCount, checkSetting } from './options.js';
import type { Scenario, Setting } from './types.js';

export interface RotatedOptions {
  /** Number of tasks. Default 5. */
  tasks?: number;
  /** The angle of each task in degrees. Default: evenly spaced from 0 up to (not including) 180. */
  angles?: readonly number[];
  setting?: Setting;
  name?: string;
}

/** Rotates every [height, width, channels] image by `degrees` about its centre (bilinear, zero fill). */
export function rotateImages(d: Dataset, degrees: number): Dataset {
  const [, height, width, channels = 1] = d.shape;
  if (height === undefined || width === undefined) {
    throw new OptionError(
      `rotation needs images of shape [height, width, channels]; got [${d.shape.slice(1)}]`,
    );
  }
  // The same rotation applies to every image, so work out once, for each output pixel, which four
  // source pixels it blends and with what weights (inverse mapping; outside the image counts as 0).
  const pixels = height * width;
  const sources = new Int32Array(pixels * 4).fill(-1);
  const weights = new Float32Array(pixels * 4);
  const rad = (degrees * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const sy = cos * (r - cy) + sin * (c - cx) + cy;
      const sx = -sin * (r - cy) + cos * (c - cx) + cx;
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      const corners = [
        [y0, x0, (1 - fy) * (1 - fx)],
        [y0, x0 + 1, (1 - fy) * fx],
        [y0 + 1, x0, fy * (1 - fx)],
        [y0 + 1, x0 + 1, fy * fx],
      ];
      corners.forEach(([y, x, w], k) => {
        if (y >= 0 && y < height && x >= 0 && x < width) {
          sources[(r * width + c) * 4 + k] = y * width + x;
          weights[(r * width + c) * 4 + k] = w;
        }
      });
    }
  }
  return mapExamples(d, (x, out) => {
    for (let p = 0; p < pixels; p++) {
      for (let ch = 0; ch < channels; ch++) {
        let v = 0;
        for (let k = 0; k < 4; k++) {
          const s = sources[p * 4 + k];
          if (s >= 0) v += weights[p * 4 + k] * x[s * channels + ch];
        }
        out[p * channels + ch] = v;
      }
    }
  });
}

/** Rotated: every task holds all the classes, with every image rotated by a fixed angle per task. */
export function rotated(data: DataSplit, options: RotatedOptions = {}): Scenario {
  const setting = checkSetting(options.setting);
  const train = validateDataset(data.train, 'training set');
  const test = validateDataset(data.test, 'test set');
  const tasks = checkCount('tasks', options.angles?.length ?? options.tasks ?? 5, 1);
  const angles = options.angles ?? Array.from({ length: tasks }, (_, t) => (180 * t) / tasks);
  if (options.angles && options.tasks !== undefined && options.tasks !== options.angles.length) {
    throw new OptionError(
      `tasks is ${options.tasks} but ${options.angles.length} angles were given; give one angle per task`,
    );
  }
  const classes = train.classNames.map((_, i) => i);
  return {
    name: options.name ?? 'rotated',
    setting,
    inputShape: train.shape.slice(1),
    tasks: angles.map((angle, t) => ({
      name: `task ${t + 1} (${Math.round(angle)}°)`,
      classes,
      classNames: train.classNames,
      train: rotateImages(train, angle),
      test: rotateImages(test, angle),
    })),
  };
}
