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
    throw new OptionError(`rotation needs images of shape [height, width, channels]; got [${d.shape.slice(1)}]`);
  }
  const rad = (degrees * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  return mapExamples(d, (x, out) => {
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        // Inverse mapping: where in the source does this output pixel come from?
        const sy = cos * (r - cy) + sin * (c - cx) + cy;
        const sx = -sin * (r - cy) + cos * (c - cx) + cx;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const fy = sy - y0;
        const fx = sx - x0;
        for (let ch = 0; ch < channels; ch++) {
          const at = (y: number, xx: number) =>
            y >= 0 && y < height && xx >= 0 && xx < width ? x[(y * width + xx) * channels + ch] : 0;
          out[(r * width + c) * channels + ch] =
            (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
            fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        }
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
    throw new OptionError(`tasks is ${options.tasks} but ${options.angles.length} angles were given; give one angle per task`);
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
