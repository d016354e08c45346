import type { DataSplit } from '../data/dataset.js';
import { loadMnist } from '../data/mnist.js';
import { OptionError } from '../errors.js';
import { permuted } from './permuted.js';
import { rotated } from './rotated.js';
import { split } from './split.js';
import { transfer } from './transfer.js';
import type { Scenario, Setting } from './types.js';

/** What every named scenario can be given. */
export interface NamedScenarioOptions {
  setting?: Setting;
  /** Number of tasks, where the scenario lets it vary. */
  tasks?: number;
  seed?: number;
}

export interface NamedScenario {
  name: string;
  summary: string;
  build(options: NamedScenarioOptions): Promise<Scenario>;
}

const mnist = async (): Promise<DataSplit> => loadMnist();

/** The scenarios the command line and web page know by name. */
export const namedScenarios: NamedScenario[] = [
  {
    name: 'split-mnist',
    summary: 'bundled MNIST, digits split into tasks (default 5 tasks: 0/1, 2/3, …)',
    build: async (o) => split(await mnist(), { name: 'split-mnist', ...o }),
  },
  {
    name: 'permuted-mnist',
    summary: 'bundled MNIST, a fixed pixel permutation per task (default 10 tasks)',
    build: async (o) => permuted(await mnist(), { name: 'permuted-mnist', ...o }),
  },
  {
    name: 'rotated-mnist',
    summary: 'bundled MNIST, a fixed rotation per task (default 5 tasks, 0° to 144°)',
    build: async (o) => rotated(await mnist(), { name: 'rotated-mnist', ...o }),
  },
  {
    name: 'mnist-transfer',
    summary: 'bundled MNIST, an old task (digits 0-4) then a new one (digits 5-9)',
    build: async (o) => {
      if (o.tasks !== undefined && o.tasks !== 2) {
        throw new OptionError(`mnist-transfer always has 2 tasks (old, then new); got tasks = ${o.tasks}`);
      }
      const data = await mnist();
      return transfer(
        { data, classes: [0, 1, 2, 3, 4], name: 'old: digits 0-4' },
        { data, classes: [5, 6, 7, 8, 9], name: 'new: digits 5-9' },
        { name: 'mnist-transfer', setting: o.setting },
      );
    },
  },
];

/** Looks a scenario up by name; the error lists the names there are. */
export function namedScenario(name: string): NamedScenario {
  const found = namedScenarios.find((s) => s.name === name);
  if (!found) {
    throw new OptionError(`unknown scenario '${name}'; use one of: ${namedScenarios.map((s) => s.name).join(', ')}`);
  }
  return found;
}
