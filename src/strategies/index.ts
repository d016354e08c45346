import { OptionError } from '../errors.js';
import type { Strategy } from '../train/strategy.js';
import { featureExtraction } from './feature-extraction.js';
import { finetune, type FinetuneOptions } from './finetune.js';
import { joint } from './joint.js';

export { finetune, featureExtraction, joint };
export type { FinetuneOptions };

/** An option a strategy takes, described for the command line and the web page. */
export interface StrategyOption {
  name: string;
  kind: 'number' | 'integer' | 'choice';
  description: string;
  choices?: readonly string[];
}

/** A strategy the command line and web page can build by name. */
export interface StrategyEntry {
  name: string;
  summary: string;
  needsOldData: boolean;
  options: readonly StrategyOption[];
  create(options: Record<string, number | string>): Strategy;
}

const stepOptionList: StrategyOption[] = [
  { name: 'learningRate', kind: 'number', description: 'step size (default 1e-3)' },
  { name: 'optimizer', kind: 'choice', choices: ['adam', 'sgd'], description: 'adam or sgd (default adam)' },
  { name: 'momentum', kind: 'number', description: 'momentum for sgd (default 0)' },
];

/** Every strategy by name, in the order they are compared. */
export const registry: readonly StrategyEntry[] = [
  {
    name: 'finetune',
    summary: 'train the whole network on each new task',
    needsOldData: false,
    options: [
      ...stepOptionList,
      {
        name: 'freezeLayers',
        kind: 'integer',
        description: 'leading trunk layers to keep frozen (default 0)',
      },
    ],
    create: (o) => finetune(o as FinetuneOptions),
  },
  {
    name: 'featureExtraction',
    summary: 'freeze the trunk after the first task; train only new heads',
    needsOldData: false,
    options: stepOptionList,
    create: (o) => featureExtraction(o),
  },
  {
    name: 'joint',
    summary: "train on all tasks' data so far (needs the old data; the upper bound)",
    needsOldData: true,
    options: stepOptionList,
    create: (o) => joint(o),
  },
];

/** Looks a strategy up by name; the error lists the names there are. */
export function strategyEntry(name: string): StrategyEntry {
  const entry = registry.find((e) => e.name.toLowerCase() === name.toLowerCase());
  if (!entry) {
    throw new OptionError(
      `unknown strategy '${name}'; use one of: ${registry.map((e) => e.name).join(', ')}`,
    );
  }
  return entry;
}
