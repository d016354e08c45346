import type { DataSplit } from '../data/dataset.js';
import { loadFashionMnist } from '../data/idx.js';
import { loadImageFolder } from '../data/images.js';
import { loadMnist } from '../data/mnist.js';
import { OptionError } from '../errors.js';
import { permuted } from './permuted.js';
import { rotated } from './rotated.js';
import { split } from './split.js';
import { transfer } from './transfer.js';
import type { Scenario, Setting } from './types.js';
import { scenarioSummary } from './catalog.js';

/** What every named scenario can be given. */
export interface NamedScenarioOptions {
  setting?: Setting;
  /** Number of tasks, where the scenario lets it vary. */
  tasks?: number;
  seed?: number;
  /** A folder to read: Fashion-MNIST's IDX files, or images with one sub-folder per class. */
  data?: string;
}

export interface NamedScenario {
  name: string;
  summary: string;
  build(options: NamedScenarioOptions): Promise<Scenario>;
}

const mnist = async (): Promise<DataSplit> => loadMnist();
const fashion = (o: NamedScenarioOptions): Promise<DataSplit> => loadFashionMnist(o.data);

const onlyTwo = (name: string, o: NamedScenarioOptions) => {
  if (o.tasks !== undefined && o.tasks !== 2) {
    throw new OptionError(`${name} always has 2 tasks (old, then new); got tasks = ${o.tasks}`);
  }
};

/** The scenarios the command line and web page know by name. */
export const namedScenarios: NamedScenario[] = [
  {
    name: 'split-mnist',
    summary: scenarioSummary('split-mnist'),
    build: async (o) => split(await mnist(), { name: 'split-mnist', ...o }),
  },
  {
    name: 'permuted-mnist',
    summary: scenarioSummary('permuted-mnist'),
    build: async (o) => permuted(await mnist(), { name: 'permuted-mnist', ...o }),
  },
  {
    name: 'rotated-mnist',
    summary: scenarioSummary('rotated-mnist'),
    build: async (o) => rotated(await mnist(), { name: 'rotated-mnist', ...o }),
  },
  {
    name: 'mnist-transfer',
    summary: scenarioSummary('mnist-transfer'),
    build: async (o) => {
      onlyTwo('mnist-transfer', o);
      const data = await mnist();
      return transfer(
        { data, classes: [0, 1, 2, 3, 4], name: 'old: digits 0-4' },
        { data, classes: [5, 6, 7, 8, 9], name: 'new: digits 5-9' },
        { name: 'mnist-transfer', setting: o.setting },
      );
    },
  },
  {
    name: 'split-fashion',
    summary: scenarioSummary('split-fashion'),
    build: async (o) => split(await fashion(o), { name: 'split-fashion', ...o }),
  },
  {
    name: 'permuted-fashion',
    summary: scenarioSummary('permuted-fashion'),
    build: async (o) => permuted(await fashion(o), { name: 'permuted-fashion', ...o }),
  },
  {
    name: 'fashion-to-mnist',
    summary: scenarioSummary('fashion-to-mnist'),
    build: async (o) => {
      onlyTwo('fashion-to-mnist', o);
      return transfer(
        { data: await fashion(o), name: 'old: clothing (Fashion-MNIST)' },
        { data: await mnist(), name: 'new: digits (MNIST)' },
        { name: 'fashion-to-mnist', setting: o.setting },
      );
    },
  },
  {
    name: 'mnist-to-fashion',
    summary: scenarioSummary('mnist-to-fashion'),
    build: async (o) => {
      onlyTwo('mnist-to-fashion', o);
      return transfer(
        { data: await mnist(), name: 'old: digits (MNIST)' },
        { data: await fashion(o), name: 'new: clothing (Fashion-MNIST)' },
        { name: 'mnist-to-fashion', setting: o.setting },
      );
    },
  },
  {
    name: 'images',
    summary: scenarioSummary('images'),
    build: async (o) => {
      if (!o.data)
        throw new OptionError('the images scenario needs --data <folder> with one sub-folder per class');
      const data = await loadImageFolder(o.data, { size: [28, 28], channels: 1, seed: o.seed });
      return split(data, { name: 'images', ...o, tasks: o.tasks ?? 2 });
    },
  },
];

/** Looks a scenario up by name; the error lists the names there are. */
export function namedScenario(name: string): NamedScenario {
  const found = namedScenarios.find((s) => s.name === name);
  if (!found) {
    throw new OptionError(
      `unknown scenario '${name}'; use one of: ${namedScenarios.map((s) => s.name).join(', ')}`,
    );
  }
  return found;
}
